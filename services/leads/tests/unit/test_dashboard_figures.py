"""The dashboard's arithmetic: stable shapes for charts, honest empty values."""

from __future__ import annotations

from leads.reports import count_by, first_contact_summary


def test_every_category_is_present_and_a_null_group_counts_under_the_last() -> None:
    keys = ["HOT", "WARM", "COLD", "unclassified"]
    assert count_by([("HOT", 2), (None, 3)], keys) == {
        "HOT": 2, "WARM": 0, "COLD": 0, "unclassified": 3,
    }  # fmt: skip


def test_first_contact_has_no_average_before_anyone_was_contacted() -> None:
    assert first_contact_summary([], waiting=4) == {
        "contacted": 0, "waiting": 4, "average_seconds": None, "median_seconds": None,
    }  # fmt: skip


def test_first_contact_reports_the_median_beside_the_average() -> None:
    summary = first_contact_summary([60.0, 120.0, 3600.0], waiting=0)
    assert summary["median_seconds"] == 120.0
    assert summary["average_seconds"] == 1260.0
