from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.leads.tests.support import LeadsUnderTest, leads_under_test


@pytest.fixture
async def leads(database_url: str) -> AsyncIterator[LeadsUnderTest]:
    async with leads_under_test(database_url) as running:
        yield running
