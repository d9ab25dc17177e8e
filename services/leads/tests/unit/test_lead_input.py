"""Rules of new leads kept in the leads service (request validation is in
shared/tests/test_request_contracts.py)."""

from leads.domain import changes_between


def test_an_interaction_records_only_what_changed() -> None:
    assert changes_between({"a": 1, "b": 2}, {"a": 1, "b": 3}) == {"b": {"before": 2, "after": 3}}
