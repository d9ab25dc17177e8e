from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from leads.testing import LeadsUnderTest, leads_under_test


@pytest.fixture
def debounce_ms() -> int:
    return 0


@pytest.fixture
async def leads(database_url: str, debounce_ms: int) -> AsyncIterator[LeadsUnderTest]:
    async with leads_under_test(database_url, debounce_ms) as running:
        yield running
