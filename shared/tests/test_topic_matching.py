import pytest
from leadflow.bus import topic_matches


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("lead.created", "lead.created", True),
        ("lead.*", "lead.created", True),
        ("lead.*", "lead.created.now", False),
        ("lead.*", "lead", False),
        ("lead.#", "lead", True),
        ("lead.#", "lead.a.b", True),
        ("#", "anything.at.all", True),
        ("*.created", "lead.created", True),
        ("*.created", "created", False),
        ("a.#.z", "a.z", True),
        ("a.#.z", "a.b.c.z", True),
        ("a.#.z", "a.b.c", False),
    ],
)
def test_topic_patterns_follow_amqp_rules(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected
