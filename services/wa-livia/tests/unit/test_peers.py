"""What wa-livia does when the services it asks answer, fail, or say no."""

from __future__ import annotations

from typing import Any

from leadflow.rpc import RpcClient, Unavailable
from wa_livia.peers import ConsultantSession, SpeechToText


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


async def test_a_voice_note_is_its_transcript_or_none_when_it_could_not_be_heard() -> None:
    answers = Answers(
        {"transcribed": True, "text": " quero um carro ", "model": "whisper"},
        {"transcribed": False, "text": "", "reason": "unavailable"},
        {"transcribed": True, "text": "   "},
        Unavailable("ai did not answer in time"),
    )
    speech = SpeechToText(client(answers))
    heard = [await speech.transcribe(b"OggS", "audio/ogg; codecs=opus") for _ in range(4)]
    assert heard == ["quero um carro", None, None, None]
    method, params = answers.calls[0]
    assert (method, params["audio_b64"], params["mime_type"]) == (
        "transcribe",
        "T2dnUw==",
        "audio/ogg; codecs=opus",
    )
