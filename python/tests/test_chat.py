"""MSRP chat through the Python API: alice calls bob on loopback offering a
ChatStream (MSRP over TCP), bob accepts the proposed one. Messages go both
ways wrapped in CPIM and are reported delivered; the receiver sees the
CPIM fields (sender, recipients, subject with translations, timestamp,
required, additional headers) as Python objects; a message sent before the
call arrives first; is-composing; nicknames (501 from a peer that is no
conference); a stream without CPIM refuses CPIM-only options with
ChatStreamError. Also the chat value classes and FileSelector."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from calls import Endpoints, start_endpoints
from conftest import Recorder
from sipsimple import _core
from sipsimple.application import SIPApplication
from sipsimple.notification import Notification
from sipsimple.session import Session
from sipsimple.storage import FileStorage
from sipsimple.streams import MediaStreamRegistry
from sipsimple.streams.msrp import MSRPStreamBase, MSRPStreamError
from sipsimple.streams.msrp.chat import (
    ChatIdentity,
    ChatMessage,
    ChatStream,
    ChatStreamError,
    CPIMHeader,
    CPIMIdentity,
    CPIMMessage,
    CPIMNamespace,
    CPIMParserError,
    CPIMPayload,
    MultilingualText,
)
from sipsimple.streams.msrp.filetransfer import FileSelector


class PlainChatStream(ChatStream):
    """A chat stream that accepts plain text only: no CPIM."""

    accept_types = ["text/plain"]
    accept_wrapped_types = []


@pytest.fixture
def ends(app: SIPApplication, recorder: Recorder, tmp_path: Path) -> Endpoints:
    ends = start_endpoints(app, recorder, tmp_path)
    for account in (ends.alice, ends.bob):
        account.msrp.transport = "tcp"
        account.save()
    return ends


def chat_call(ends: Endpoints, stream: ChatStream) -> tuple[Session, Session, ChatStream]:
    """Alice calls bob offering ``stream``; bob accepts the proposed chat stream."""
    outgoing = Session(ends.alice)
    outgoing.connect(ends.bob_uri, streams=[stream])
    incoming = ends.incoming()
    proposed = ends.from_sender("SIPSessionNewIncoming", incoming).data.streams
    assert len(proposed) == 1 and isinstance(proposed[0], ChatStream)
    incoming.accept(proposed)
    ends.from_sender("SIPSessionDidStart", outgoing)
    ends.from_sender("SIPSessionDidStart", incoming)
    bob_stream = proposed[0]
    for s in (stream, bob_stream):
        ends.from_sender("MediaStreamDidStart", s)
    return outgoing, incoming, bob_stream


def messages(ends: Endpoints, stream: ChatStream, count: int) -> list[ChatMessage]:
    """The first ``count`` messages ``stream`` received (waits for them)."""
    ends.recorder.wait_for(
        "ChatStreamGotMessage",
        lambda n: n.sender is stream and len([m for m in ends.recorder.named(n.name) if m.sender is stream]) >= count,
    )
    got = [n.data.message for n in ends.recorder.named("ChatStreamGotMessage") if n.sender is stream]
    assert all(isinstance(m, ChatMessage) for m in got)
    return got[:count]


def delivered(ends: Endpoints, stream: ChatStream, message_id: str) -> Notification:
    """The ChatStreamDidDeliverMessage of ``message_id`` (waits for it)."""
    return ends.recorder.wait_for(
        "ChatStreamDidDeliverMessage", lambda n: n.sender is stream and n.data.message_id == message_id
    )


def test_chat_messages_flow_both_ways_with_cpim_fields_and_delivery(ends: Endpoints) -> None:
    alice_stream = ChatStream(ends.alice)
    assert MediaStreamRegistry.get("chat") is ChatStream and MediaStreamRegistry.ChatStream is ChatStream
    assert alice_stream.type == "chat" and alice_stream.media_type == "message"
    assert alice_stream.local_uri is None and alice_stream.cpim_enabled is None and alice_stream.remote_path == []
    assert not alice_stream.hold_supported and not alice_stream.on_hold
    early = alice_stream.send_message("before the call")
    outgoing, incoming, bob_stream = chat_call(ends, alice_stream)
    assert outgoing.streams == [alice_stream] and incoming.streams == [bob_stream]
    assert alice_stream.account is ends.alice and bob_stream.account is ends.bob

    assert alice_stream.cpim_enabled is True and bob_stream.cpim_enabled is True
    assert alice_stream.local_uri is not None and alice_stream.local_uri.startswith("msrp://")
    assert bob_stream.local_uri is not None and alice_stream.remote_path[-1] == bob_stream.local_uri

    (first,) = messages(ends, bob_stream, 1)
    assert (first.content, first.content_type) == ("before the call", "text/plain")
    assert first.sender == ChatIdentity("sip:alice@127.0.0.1")
    delivered(ends, alice_stream, early)

    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    header = CPIMHeader("Feature", CPIMNamespace("urn:example:features", "EX"), "on")
    with_fields = alice_stream.send_message(
        "hello bob",
        subject=MultilingualText("greetings", fr="salutations"),
        timestamp=stamp,
        required=["x-test"],
        additional_headers=[header],
        courtesy_recipients=[ChatIdentity("sip:carol@127.0.0.1", "Carol")],
    )
    sent = ends.recorder.wait_for("ChatStreamDidSendMessage", lambda n: n.sender is alice_stream)
    assert sent.data.message["content_type"] == "message/cpim"
    _, second = messages(ends, bob_stream, 2)
    assert isinstance(second, CPIMMessage)
    assert second.content == "hello bob"
    assert isinstance(second.sender, ChatIdentity) and second.sender.uri == "sip:alice@127.0.0.1"
    assert len(second.recipients) == 1 and second.recipients[0].uri.startswith("sip:")
    assert second.courtesy_recipients == [ChatIdentity("sip:carol@127.0.0.1")]
    assert second.courtesy_recipients[0].display_name == "Carol"
    assert isinstance(second.subject, MultilingualText) and second.subject == "greetings"
    assert second.timestamp == stamp and second.timestamp.tzinfo is not None
    assert second.required == ["x-test"]
    assert [(h.name, h.value) for h in second.additional_headers] == [("Feature", "on")]
    delivered(ends, alice_stream, with_fields)

    reply = bob_stream.send_message(b"hi alice", recipients=["Alice <sip:alice@127.0.0.1>"])
    (answer,) = messages(ends, alice_stream, 1)
    assert answer.content == "hi alice"
    assert answer.recipients == [ChatIdentity("sip:alice@127.0.0.1", "Alice")]
    assert answer.recipients[0].display_name == "Alice"
    assert answer.sender is not None and answer.sender.uri == "sip:bob@127.0.0.1"
    assert delivered(ends, bob_stream, reply).data.code == 200
    assert ends.recorder.named("ChatStreamDidNotDeliverMessage") == []

    last_active = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    alice_stream.send_composing_indication("active", 30, last_active=last_active)
    composing = ends.from_sender("ChatStreamGotComposingIndication", bob_stream)
    assert (composing.data.state, composing.data.refresh) == ("active", 30)
    assert composing.data.last_active == last_active
    assert composing.data.sender == ChatIdentity("sip:alice@127.0.0.1")
    bob_stream.send_composing_indication("idle")
    assert ends.from_sender("ChatStreamGotComposingIndication", alice_stream).data.state == "idle"
    with pytest.raises(ChatStreamError):
        alice_stream.send_composing_indication("typing")
    with pytest.raises(ChatStreamError):
        alice_stream.send_composing_indication("idle", recipients=[ChatIdentity("sip:carol@127.0.0.1")])

    alice_stream.set_local_nickname("Alice in chains")
    refused = ends.from_sender("ChatStreamDidNotSetNickname", alice_stream)
    assert (refused.data.nickname, refused.data.code) == ("Alice in chains", 501)
    with pytest.raises(ChatStreamError):
        alice_stream.set_local_nickname("")

    outgoing.end()
    ends.from_sender("SIPSessionDidEnd", incoming)
    ends.from_sender("MediaStreamDidEnd", alice_stream)
    ends.from_sender("MediaStreamDidEnd", bob_stream)
    with pytest.raises(ChatStreamError):
        alice_stream.send_message("too late")


def test_a_stream_without_cpim_sends_plain_text_and_refuses_cpim_only_options(ends: Endpoints) -> None:
    alice_stream = PlainChatStream()
    with pytest.raises(ChatStreamError):
        alice_stream.send_message("no core stream yet")
    _, _, bob_stream = chat_call(ends, alice_stream)
    assert alice_stream.cpim_enabled is False
    with pytest.raises(ChatStreamError, match="CPIM"):
        alice_stream.send_message("with a subject", subject="s")
    with pytest.raises(ChatStreamError):
        alice_stream.send_message(b"\x89PNG", content_type="image/png")
    message_id = alice_stream.send_message("plain")
    (got,) = messages(ends, bob_stream, 1)
    assert (got.content, got.subject, got.timestamp) == ("plain", None, None)
    assert isinstance(got.sender, ChatIdentity)  # the remote identity of bob's session
    delivered(ends, alice_stream, message_id)


def test_chat_streams_of_an_ended_run_are_stale(app: SIPApplication, ends: Endpoints, tmp_path: Path) -> None:
    alice_stream = ChatStream()
    outgoing, incoming, bob_stream = chat_call(ends, alice_stream)
    handles = [alice_stream._handle, bob_stream._handle]
    assert all(_core.CoreChatStream.resolve(h) is not None for h in handles)
    outgoing.end()
    ends.from_sender("SIPSessionDidEnd", incoming)
    app.stop()
    ends.recorder.wait_for("SIPApplicationDidEnd")
    app.start(FileStorage(tmp_path))
    ends.recorder.wait_for("SIPApplicationDidStart", lambda n: len(ends.recorder.named(n.name)) == 2)
    for handle in handles:
        assert _core.CoreChatStream.resolve(handle) is None and not handle.live
    with pytest.raises(ChatStreamError):
        alice_stream.send_message("from an earlier run")


def test_chat_stream_arguments() -> None:
    with pytest.raises(ValueError):
        ChatStream(direction="sendonly")
    stream = ChatStream()
    assert isinstance(stream, MSRPStreamBase) and repr(stream) == "<ChatStream unbound>"
    with pytest.raises(ChatStreamError) as error:
        stream.send_composing_indication("active")
    assert isinstance(error.value, MSRPStreamError)
    with pytest.raises(RuntimeError):
        stream._handle


def test_chat_identities_texts_and_headers() -> None:
    alice = ChatIdentity.parse('"Alice Liddell" <sip:alice@example.com>')
    assert (alice.uri, alice.display_name) == ("sip:alice@example.com", "Alice Liddell")
    assert str(alice) == "Alice Liddell <sip:alice@example.com>"
    assert str(ChatIdentity("sip:john@example.com", "Doe, John")) == '"Doe, John" <sip:john@example.com>'
    assert str(ChatIdentity("sip:bob@example.com", "Bob")) == "Bob <sip:bob@example.com>"
    assert str(ChatIdentity("sip:bob@example.com")) == "<sip:bob@example.com>"
    assert alice == ChatIdentity("sips:alice@EXAMPLE.com:5061;transport=tls")
    assert alice == "<sip:alice@example.com>" and alice != "sip:bob@example.com"
    assert hash(alice) == hash(ChatIdentity("sip:alice@example.com"))
    assert CPIMIdentity is ChatIdentity
    with pytest.raises(ValueError):
        ChatIdentity.parse("no identity here")

    subject = MultilingualText("hello", fr="salut")
    assert (subject, subject.get_translation("fr"), subject.get_translation("de")) == ("hello", "salut", "hello")
    assert MultilingualText(en="hi") == "hi"
    with pytest.raises(TypeError):
        MultilingualText("a", "b")

    namespace = CPIMNamespace("urn:x", "X")
    assert (namespace, namespace.prefix) == ("urn:x", "X")
    assert CPIMHeader("A", namespace, "1") == CPIMHeader("A", CPIMNamespace("urn:x", "X"), "1")
    assert CPIMHeader("A", None, "1").namespace == "urn:ietf:params:cpim-headers:"


def test_file_selector_for_a_file_hashes_it_as_hashlib_does(tmp_path: Path) -> None:
    path = tmp_path / "a report.pdf"
    data = bytes(range(256)) * 1000 + b"tail"
    path.write_bytes(data)
    selector = FileSelector.for_file(path)
    try:
        digest = hashlib.sha1(data).hexdigest().upper()
        expected_hash = "sha-1:" + ":".join(digest[i : i + 2] for i in range(0, 40, 2))
        assert (selector.name, selector.type, selector.size, selector.hash) == (
            "a report.pdf",
            "application/pdf",
            len(data),
            expected_hash,
        )
        assert selector.fd is not None and selector.fd.read(4) == data[:4]
    finally:
        assert selector.fd is not None
        selector.fd.close()

    unhashed = FileSelector.for_file(str(path), "application/x-test", compute_hash=False)
    assert unhashed.fd is not None
    unhashed.fd.close()
    assert (unhashed.type, unhashed.hash) == ("application/x-test", None)
    with pytest.raises(ValueError):
        FileSelector.for_file(tmp_path)
    with pytest.raises(ValueError):
        FileSelector.for_file(tmp_path / "missing")


def test_file_selector_parse_and_sdp_repr_round_trip() -> None:
    value = (
        'name:"My cool picture.jpg" type:image/jpeg size:32349 '
        "hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E"
    )
    selector = FileSelector.parse(value)
    assert (selector.name, selector.type, selector.size) == ("My cool picture.jpg", "image/jpeg", 32349)
    assert selector.hash == "sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E"
    assert selector.sdp_repr == value
    assert FileSelector.parse(selector.sdp_repr) == selector
    assert FileSelector.parse(value.encode()) == selector
    assert FileSelector(name="x").sdp_repr == 'name:"x"'
    assert FileSelector.parse("") == FileSelector()
    with pytest.raises(ValueError):
        FileSelector.parse('name:"unterminated')
    with pytest.raises(ValueError):
        FileSelector(hash="md5:00").sdp_repr


def test_cpim_payloads_encode_and_decode() -> None:
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    payload = CPIMPayload(
        "héllo",
        "text/plain",
        charset="utf-8",
        sender=ChatIdentity("sip:alice@example.com", "Alice"),
        recipients=[ChatIdentity("sip:bob@example.com")],
        courtesy_recipients=[ChatIdentity("sip:carol@example.com", "Carol C")],
        subject=MultilingualText("hi", fr="salut"),
        timestamp=stamp,
        required=["x-test"],
        additional_headers=[CPIMHeader("Feature", CPIMNamespace("urn:example:features", "EX"), "on")],
    )
    data, content_type = payload.encode()
    assert content_type == "message/cpim"
    text = data.decode()
    assert "From: Alice <sip:alice@example.com>" in text and "DateTime: 2026-01-02T03:04:05+02:00" in text
    assert "NS: EX <urn:example:features>" in text and "EX.Feature: on" in text
    decoded = CPIMPayload.decode(data)
    assert (decoded.content, decoded.content_type, decoded.charset) == ("héllo".encode(), "text/plain", "utf-8")
    assert decoded.sender == ChatIdentity("sip:alice@example.com") and decoded.sender.display_name == "Alice"
    assert decoded.recipients == [ChatIdentity("sip:bob@example.com")]
    assert decoded.courtesy_recipients[0].display_name == "Carol C"
    assert decoded.subject == "hi" and decoded.subject is not None
    assert decoded.subject.get_translation("fr") == "salut"
    assert decoded.timestamp == stamp
    assert decoded.required == ["x-test"]
    assert decoded.additional_headers == [CPIMHeader("Feature", CPIMNamespace("urn:example:features", "EX"), "on")]
    assert CPIMPayload.decode(data.decode()).content == decoded.content
    with pytest.raises(CPIMParserError):
        CPIMPayload.decode(b"no headers and no body")
    with pytest.raises(ValueError):
        CPIMPayload("x", "no type").encode()
