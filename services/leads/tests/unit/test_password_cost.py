"""The password hash's cost: lowered for tests, never in production."""

from __future__ import annotations

import argon2
import pytest
from leads.config import LeadsSettings


def test_production_refuses_a_password_hash_cheaper_than_argon2s_defaults() -> None:
    with pytest.raises(ValueError, match="for tests only"):
        LeadsSettings(_env_file=None, LEADFLOW_ENV="production", PASSWORD_HASH_TIME_COST=1)


def test_the_hasher_uses_the_configured_cost_and_verifies_hashes_of_any_cost() -> None:
    cheap = LeadsSettings(
        _env_file=None, PASSWORD_HASH_TIME_COST=1, PASSWORD_HASH_MEMORY_KIB=1024
    ).password_hasher()
    parameters = argon2.extract_parameters(cheap.hash("senha-forte-123"))
    assert (parameters.time_cost, parameters.memory_cost) == (1, 1024)
    # Hashes carry their parameters: one made at full cost still verifies.
    assert cheap.verify(argon2.PasswordHasher().hash("senha-forte-123"), "senha-forte-123")
