"""The real WhatsApp adapter, fed hand-built neonize protobuf events (no network)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock

import pytest
from leadflow.events import MessageStatus, SessionStatus
from leadflow.whatsapp.neonize_transport import (
    NeonizeTransport,
    SessionInUse,
    inbound_from_event,
    receipt_from_event,
)
from leadflow.whatsapp.transport import InboundMessage, Receipt, SessionState
from neonize.proto import Neonize_pb2 as N
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    AudioMessage,
    ExtendedTextMessage,
    ImageMessage,
)
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.utils import build_jid

CONTACT = build_jid("5511987654321")


def message_event(
    message: WAMessage,
    *,
    chat: Any = CONTACT,
    group: bool = False,
    from_me: bool = False,
    sender_alt: Any = None,
    timestamp: int = 1767225600000,
) -> Any:
    source = N.MessageSource(Chat=chat, Sender=chat, IsFromMe=from_me, IsGroup=group)
    if sender_alt is not None:
        source.SenderAlt.CopyFrom(sender_alt)
    return N.Message(
        Info=N.MessageInfo(MessageSource=source, ID="3EB0ABC", Timestamp=timestamp, Pushname="Ana"),
        Message=message,
    )


class Recorder:
    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self.receipts: list[Receipt] = []
        self.states: list[SessionState] = []

    async def on_message(self, message: InboundMessage) -> None:
        self.messages.append(message)

    async def on_receipt(self, receipt: Receipt) -> None:
        self.receipts.append(receipt)

    async def on_state(self, state: SessionState) -> None:
        self.states.append(state)


def listened_to(tmp_path: Path, session: str) -> tuple[NeonizeTransport, Recorder]:
    """A transport of `session` whose listener records what it is told."""
    transport, recorder = NeonizeTransport(tmp_path, session), Recorder()
    transport._listener = recorder
    return transport, recorder


def test_plain_and_extended_text_become_inbound_messages_with_phone_and_time() -> None:
    plain = inbound_from_event(message_event(WAMessage(conversation="Oi")))
    extended = inbound_from_event(
        message_event(
            WAMessage(extendedTextMessage=ExtendedTextMessage(text="Olá!")), timestamp=1767225600
        )
    )
    assert plain is not None and extended is not None
    assert (plain.text, plain.phone, plain.chat_jid, plain.push_name, plain.from_me) == (
        "Oi",
        "+5511987654321",
        "5511987654321@s.whatsapp.net",
        "Ana",
        False,
    )
    assert plain.sent_at == extended.sent_at  # milliseconds and seconds both understood
    assert plain.sent_at.isoformat() == "2026-01-01T00:00:00+00:00"


def test_media_is_stored_as_a_placeholder_with_its_type_and_caption() -> None:
    image = inbound_from_event(
        message_event(WAMessage(imageMessage=ImageMessage(caption="fachada")))
    )
    audio = inbound_from_event(message_event(WAMessage(audioMessage=AudioMessage())))
    assert image is not None and audio is not None
    assert (image.text, image.media_type) == ("[image] fachada", "image")
    assert (audio.text, audio.media_type) == ("[audio]", "audio")


def test_groups_and_status_broadcasts_are_ignored() -> None:
    group = build_jid("120363000000000000", "g.us")
    status = build_jid("status", "broadcast")
    assert (
        inbound_from_event(message_event(WAMessage(conversation="x"), chat=group, group=True))
        is None
    )
    assert inbound_from_event(message_event(WAMessage(conversation="x"), chat=status)) is None


def test_a_contact_addressed_by_lid_is_one_chat_with_its_phone_number() -> None:
    lid = build_jid("987654321012345", "lid")
    via_alt = inbound_from_event(
        message_event(WAMessage(conversation="oi"), chat=lid, sender_alt=CONTACT)
    )
    via_lookup = inbound_from_event(
        message_event(WAMessage(conversation="oi"), chat=lid), phone_of_lid="5511987654321"
    )
    unresolved = inbound_from_event(message_event(WAMessage(conversation="oi"), chat=lid))
    assert via_alt is not None and via_lookup is not None
    assert via_alt.chat_jid == via_lookup.chat_jid == "5511987654321@s.whatsapp.net"
    assert unresolved is None


def test_delivery_and_read_receipts_name_the_messages_we_sent() -> None:
    source = N.MessageSource(Chat=CONTACT, Sender=CONTACT, IsFromMe=True, IsGroup=False)
    delivered = N.Receipt(MessageSource=source, MessageIDs=["A1", "A2"], Timestamp=1, Type=1)
    read = N.Receipt(MessageSource=source, MessageIDs=["A1"], Timestamp=1, Type=4)
    assert receipt_from_event(delivered) == Receipt(
        "5511987654321@s.whatsapp.net", ("A1", "A2"), MessageStatus.DELIVERED
    )
    assert receipt_from_event(read).status is MessageStatus.READ  # type: ignore[union-attr]


async def test_the_adapter_publishes_messages_and_ignores_a_failing_listener(
    tmp_path: Path,
) -> None:
    transport, recorder = listened_to(tmp_path, "consultant")
    await transport.handle_message(AsyncMock(), message_event(WAMessage(conversation="Oi")))
    assert [m.text for m in recorder.messages] == ["Oi"]

    async def broken(message: InboundMessage) -> None:
        raise RuntimeError("listener bug")

    recorder.on_message = broken  # type: ignore[method-assign]
    guarded = transport._guarded(transport.handle_message)
    await guarded(AsyncMock(), message_event(WAMessage(conversation="again")))  # logged, not raised


async def test_a_voice_note_is_downloaded_for_transcription_or_kept_as_a_placeholder(
    tmp_path: Path,
) -> None:
    transport, recorder = listened_to(tmp_path, "livia")
    note = WAMessage(audioMessage=AudioMessage(mimetype="audio/ogg; codecs=opus", PTT=True))
    client = AsyncMock()
    client.download_any.return_value = b"OggS-voice"
    await transport.handle_message(client, message_event(note))
    client.download_any.side_effect = ConnectionError("media server gone")
    await transport.handle_message(client, message_event(note))
    heard, unheard = recorder.messages
    assert (heard.media_type, heard.audio, heard.audio_mime_type) == (
        "audio",
        b"OggS-voice",
        "audio/ogg; codecs=opus",
    )
    assert (unheard.media_type, unheard.audio, unheard.text) == ("audio", None, "[audio]")


async def test_pairing_connection_and_logout_are_reported_as_session_states(tmp_path: Path) -> None:
    transport, recorder = listened_to(tmp_path, "livia")
    client = AsyncMock()
    client.get_me.return_value = SimpleNamespace(JID=SimpleNamespace(User="5511900000002"))
    await transport.handle_qr(client, b"2@abc,def,ghi")
    await transport.handle_connected(client, N.Connected())
    await transport.handle_logged_out(client, N.LoggedOut())
    assert [(s.status, s.qr, s.phone) for s in recorder.states] == [
        (SessionStatus.PAIRING, "2@abc,def,ghi", None),
        (SessionStatus.CONNECTED, None, "+5511900000002"),
        (SessionStatus.LOGGED_OUT, None, None),
    ]


async def test_sending_goes_through_the_neonize_client_to_the_contacts_jid(tmp_path: Path) -> None:
    transport = NeonizeTransport(tmp_path, "consultant")
    transport.client = AsyncMock()
    transport.client.send_message.return_value = SimpleNamespace(ID="3EB0SENT")
    transport.state = SessionState(status=SessionStatus.CONNECTED)
    assert await transport.send_text("5511987654321@s.whatsapp.net", "Olá") == "3EB0SENT"
    [call] = transport.client.send_message.await_args_list
    jid, text = call.args
    assert (jid.User, jid.Server, text) == ("5511987654321", "s.whatsapp.net", "Olá")


async def test_a_disconnected_session_refuses_to_send(tmp_path: Path) -> None:
    transport = NeonizeTransport(tmp_path, "consultant")
    transport.client = AsyncMock()
    with pytest.raises(ConnectionError):
        await transport.send_text("5511987654321@s.whatsapp.net", "Olá")
    transport.client.send_message.assert_not_awaited()


def test_a_second_process_for_the_same_session_refuses_to_start(tmp_path: Path) -> None:
    first, second = NeonizeTransport(tmp_path, "livia"), NeonizeTransport(tmp_path, "livia")
    first._acquire_singleton()
    with pytest.raises(SessionInUse):
        second._acquire_singleton()
    NeonizeTransport(tmp_path, "consultant")._acquire_singleton()  # another session is fine
