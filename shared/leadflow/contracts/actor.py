"""Who calls a service: what the gateway sends with every request it makes for a person."""

from __future__ import annotations

from pydantic import BaseModel

from leadflow.events import Role


class Actor(BaseModel):
    """Who is calling, as the gateway authenticated them."""

    id: str
    role: Role

    @property
    def is_staff(self) -> bool:
        """Admins and managers see everyone's data; a consultant their own."""
        return self.role in (Role.ADMIN, Role.MANAGER)
