"""wa-consultant's migrations build exactly the tables its code uses."""

from __future__ import annotations

from leadflow.db.migrate import schema_differences
from wa_consultant.models import CHATS, CONSULTANT_PHONES, LEADS, MESSAGES, OUTBOX

from .conftest import Inbox


async def test_the_migrated_tables_are_the_ones_the_code_uses(inbox: Inbox) -> None:
    tables = [MESSAGES, CHATS, LEADS, CONSULTANT_PHONES, OUTBOX.outbox, OUTBOX.handled]
    assert await schema_differences(inbox.store.engine, tables) == []
