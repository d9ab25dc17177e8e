"""What wa-livia does when the services it asks answer, fail, or say no (speech-to-text:
shared/tests/test_voice_notes.py)."""

from __future__ import annotations

from typing import Any

from leadflow.rpc import RpcClient, Unavailable
from wa_livia.peers import ConsultantSession


class Answers:
    """Stands in for another service's request/reply endpoint."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def call(self, method: str, **params: Any) -> Any:
        self.calls.append((method, params))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(answers: Answers) -> RpcClient:
    return answers  # type: ignore[return-value]


async def test_the_consultant_number_is_asked_once_known_and_not_again_soon_after_a_failure() -> (
    None
):
    answers = Answers(Unavailable("down"), {"phone": "+5511900000001"})
    session = ConsultantSession(client(answers), retry_after_s=3600)
    assert await session.number() is None
    assert await session.number() is None  # not asked again within the interval
    assert len(answers.calls) == 1
    session.retry_after_s = 0
    assert await session.number() == "+5511900000001"
    assert await session.number() == "+5511900000001"
    assert len(answers.calls) == 2
