"""One rule applies a change to a lead: the fields that differ, the next version, the
time, and the audit entry that records it."""

from __future__ import annotations

from datetime import UTC, datetime

from leads.domain import change_lead

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_change_moves_the_version_on_once_and_audits_only_what_differs() -> None:
    change = change_lead(
        {"status": "NEW", "notes": None, "name": "Ana"},
        {"status": "CONTACTED", "notes": None, "name": "Ana Paula"},
        version=3,
        now=NOW,
        kind="updated",
        actor_id="manager-1",
    )

    assert change is not None
    assert change.values == {
        "status": "CONTACTED",
        "name": "Ana Paula",
        "version": 4,
        "updated_at": NOW,
    }
    assert change.changed == ["name", "status"]
    assert change.audit == {
        "status": {"before": "NEW", "after": "CONTACTED"},
        "name": {"before": "Ana", "after": "Ana Paula"},
    }
    assert (change.kind, change.actor_id) == ("updated", "manager-1")


def test_a_change_that_changes_nothing_is_none() -> None:
    same = {"status": "NEW", "metadata": {"a": 1}}
    assert change_lead(same, dict(same), version=1, now=NOW, kind="updated", actor_id=None) is None


def test_the_note_goes_into_the_audit_entry_beside_the_fields() -> None:
    change = change_lead(
        {"consultant_id": "ana"},
        {"consultant_id": "bo"},
        version=1,
        now=NOW,
        kind="assigned",
        actor_id=None,
        note={"rule": "sla", "eligible": ["ana", "bo"]},
    )

    assert change is not None
    assert change.audit == {
        "consultant_id": {"before": "ana", "after": "bo"},
        "rule": "sla",
        "eligible": ["ana", "bo"],
    }
