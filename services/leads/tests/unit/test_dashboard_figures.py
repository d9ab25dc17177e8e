"""The dashboard's arithmetic: stable shapes for charts, honest empty values."""

from __future__ import annotations

from leads.domain import LeadCount, count_by, dashboard_figures, first_contact_summary


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


def test_a_consultants_own_figures_count_no_unassigned_lead_and_the_funnel_is_whole() -> None:
    counts = [
        LeadCount("NEW", None, True, 2),
        LeadCount("NEW", "HOT", False, 1),
        LeadCount("WON", "HOT", False, 1),
    ]
    everyone = dashboard_figures(counts, [-3.0, 30.0], own=False, since=None)
    assert (everyone["scope"], everyone["total"], everyone["unassigned"]) == ("all", 4, 2)
    assert everyone["by_status"]["NEW"] == 3 and everyone["by_status"]["LOST"] == 0
    assert everyone["by_temperature"] == {"HOT": 2, "WARM": 0, "COLD": 0, "unclassified": 2}
    # A clock a little behind the database's counts as no wait, not a negative one.
    assert everyone["first_contact"]["median_seconds"] == 15.0
    assert everyone["first_contact"]["waiting"] == 3
    own = dashboard_figures(counts[1:], [], own=True, since=None)
    assert (own["scope"], own["total"], own["unassigned"]) == ("own", 2, 0)
