"""wa-livia's migrations build exactly the tables its models and outbox define."""

from __future__ import annotations

from leadflow.db.migrate import schema_differences
from wa_livia.models import OUTBOX, Conversation, ConversationMessage
from wa_livia.testing import LiviaUnderTest


async def test_the_migrated_tables_are_the_ones_the_code_uses(livia: LiviaUnderTest) -> None:
    tables = [
        Conversation.__table__,  # type: ignore[attr-defined]
        ConversationMessage.__table__,  # type: ignore[attr-defined]
        OUTBOX.outbox,
        OUTBOX.handled,
    ]
    assert await schema_differences(livia.store.engine, tables) == []
