from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from assignment.testing import Assigner, assigner_under_test


@pytest.fixture
async def assigner(database_url: str) -> AsyncIterator[Assigner]:
    async with assigner_under_test(database_url) as running:
        yield running
