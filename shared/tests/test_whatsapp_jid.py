"""One conversion between a phone and its WhatsApp chat, both ways."""

from __future__ import annotations

from leadflow.whatsapp import jid_phone, phone_jid


def test_the_chat_of_a_phone_is_its_digits_at_whatsapp() -> None:
    assert phone_jid("+5511987654321") == "5511987654321@s.whatsapp.net"
    assert phone_jid("5511987654321") == "5511987654321@s.whatsapp.net"


def test_the_phone_of_a_chat_or_of_one_of_its_devices_is_plus_its_digits() -> None:
    assert jid_phone("5511987654321@s.whatsapp.net") == "+5511987654321"
    assert jid_phone("5511987654321:7@s.whatsapp.net") == "+5511987654321"
    assert jid_phone(phone_jid("+15551234567")) == "+15551234567"
