"""Settings of the leads service: the shared ones, plus its own knobs."""

from __future__ import annotations

from typing import Self

import argon2
from leadflow.settings import Environment, Settings
from pydantic import Field, model_validator


class LeadsSettings(Settings):
    # argon2id's cost. The defaults are argon2-cffi's (RFC 9106's low-memory profile),
    # 0.1-0.3 s a login on two cores; production refuses anything cheaper. The tests lower
    # them: every system test logs several people in.
    password_hash_time_cost: int = Field(
        argon2.DEFAULT_TIME_COST,
        validation_alias="PASSWORD_HASH_TIME_COST",
        ge=1,
        description="argon2id passes over memory per password hash",
    )
    password_hash_memory_kib: int = Field(
        argon2.DEFAULT_MEMORY_COST,
        validation_alias="PASSWORD_HASH_MEMORY_KIB",
        ge=8 * argon2.DEFAULT_PARALLELISM,
        description="argon2id memory per password hash, in KiB",
    )

    @model_validator(mode="after")
    def _full_cost_in_production(self) -> Self:
        if self.environment is Environment.PRODUCTION and (
            self.password_hash_time_cost < argon2.DEFAULT_TIME_COST
            or self.password_hash_memory_kib < argon2.DEFAULT_MEMORY_COST
        ):
            raise ValueError(
                "PASSWORD_HASH_TIME_COST / PASSWORD_HASH_MEMORY_KIB below argon2's defaults "
                f"({argon2.DEFAULT_TIME_COST} / {argon2.DEFAULT_MEMORY_COST}) are for tests only"
            )
        return self

    def password_hasher(self) -> argon2.PasswordHasher:
        return argon2.PasswordHasher(
            time_cost=self.password_hash_time_cost, memory_cost=self.password_hash_memory_kib
        )
