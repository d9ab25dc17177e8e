import pytest
from wa_consultant.domain import changes_the_projection


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        (["status"], False),
        (["ai_reasons", "ai_score", "temperature"], False),
        (["metadata", "notes"], False),
        ([], False),
        (["phone"], True),
        (["name"], True),
        (["consultant_id", "status"], True),
    ],
)
def test_only_an_update_of_the_phone_name_or_consultant_changes_what_the_inbox_keeps(
    changed: list[str], expected: bool
) -> None:
    assert changes_the_projection(changed) is expected
