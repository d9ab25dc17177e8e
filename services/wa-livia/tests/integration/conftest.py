from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from wa_livia.testing import LiviaUnderTest, livia_under_test


@pytest.fixture
def debounce_ms() -> int:
    return 0


@pytest.fixture
async def livia(database_url: str, debounce_ms: int) -> AsyncIterator[LiviaUnderTest]:
    async with livia_under_test(database_url, debounce_ms) as running:
        yield running
