"""The fake Groq server the ai service's integration tests talk to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from leadflow.testing.fake_groq import FakeGroq


@pytest.fixture
def fake() -> Iterator[FakeGroq]:
    """A fake Groq server: it answers what each test scripts, then its default responder."""
    with FakeGroq() as server:
        yield server
