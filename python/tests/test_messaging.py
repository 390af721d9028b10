"""Paging-mode MESSAGE requests: sent from an account through an outbound
proxy on loopback (refused, answered by a small UDP responder) and received
by the application's own SIP engine."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import TIMEOUT, Recorder
from sipsimple.account import Account
from sipsimple.application import SIPApplication
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.messaging import PagingMessage
from sipsimple.notification import Notification
from sipsimple.storage import FileStorage


@pytest.fixture
def engine_app(app: SIPApplication, recorder: Recorder, tmp_path: Path) -> SIPApplication:
    """The application started with the SIP engine on UDP and TCP only."""
    (tmp_path / "config").write_text("SIPSimpleSettings:\n    sip:\n        transport_list = udp, tcp\n")
    app.start(FileStorage(tmp_path))
    recorder.wait_for("SIPApplicationDidStart")
    return app


def outcome_of(recorder: Recorder, message: PagingMessage) -> Notification:
    """The SIPMessageDidSucceed or SIPMessageDidFail sent by ``message``."""
    with recorder.condition:
        found = recorder.condition.wait_for(
            lambda: [
                n
                for n in recorder.notifications
                if n.name in ("SIPMessageDidSucceed", "SIPMessageDidFail") and n.sender is message
            ],
            TIMEOUT,
        )
    assert found, f"no outcome for {message!r} within {TIMEOUT}s; got {recorder.names()}"
    assert len(found) == 1
    return found[0]


def headers_of(packet: bytes) -> tuple[str, dict[str, list[str]], bytes]:
    """The start line, the headers (lower-case names, compact forms not used
    by the engine) and the body of a SIP message."""
    head, _, body = packet.partition(b"\r\n\r\n")
    lines = head.decode("utf-8").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return lines[0], headers, body


class Responder:
    """A UDP socket on 127.0.0.1 answering every request with ``200 OK``
    (copying Via, From, To, Call-ID and CSeq) and keeping what it received."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                packet, source = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            start, headers, _ = headers_of(packet)
            if start.startswith("SIP/2.0"):
                continue
            self.requests.append(packet)
            lines = ["SIP/2.0 200 OK"]
            lines += [f"Via: {v}" for v in headers.get("via", [])]
            lines += [f"From: {v}" for v in headers.get("from", [])]
            lines += [f"To: {v};tag=responder" for v in headers.get("to", [])]
            lines += [f"Call-ID: {v}" for v in headers.get("call-id", [])]
            lines += [f"CSeq: {v}" for v in headers.get("cseq", [])]
            lines += ["Content-Length: 0", "", ""]
            self.sock.sendto("\r\n".join(lines).encode("utf-8"), source)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(TIMEOUT)
        self.sock.close()


@pytest.fixture
def responder() -> Iterator[Responder]:
    r = Responder()
    yield r
    r.close()


def test_engine_addresses_follow_the_transport_list(engine_app: SIPApplication, recorder: Recorder) -> None:
    assert SIPSimpleSettings().sip.transport_list == ["udp", "tcp"]
    addresses = engine_app.engine_addresses()
    assert sorted(t for t, _, _ in addresses) == ["tcp", "udp"]
    assert all(port > 0 for _, _, port in addresses)
    engine_app.stop()
    recorder.wait_for("SIPApplicationDidEnd")
    assert engine_app.engine_addresses() == []


def test_a_refused_tcp_connection_fails_the_message_with_503(
    engine_app: SIPApplication, recorder: Recorder
) -> None:
    account = Account("alice@127.0.0.1")
    # A bound TCP socket that never listens: connecting to it is refused.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        account.sip.outbound_proxy = f"127.0.0.1:{closed.getsockname()[1]};transport=tcp"

        with pytest.raises(ValueError, match="content type"):
            PagingMessage(account, "sip:bob@127.0.0.1", "plain", "hi").send()
        message = PagingMessage(account, "sip:bob@127.0.0.1", "text/plain", b"hi \x00\xff")
        assert not message.sent
        message.send()
        assert message.sent
        with pytest.raises(RuntimeError, match="already sent"):
            message.send()

        failed = outcome_of(recorder, message)
    assert failed.name == "SIPMessageDidFail"
    assert failed.sender is message
    assert failed.data.code == 503
    assert isinstance(failed.data.reason, str)


def test_a_message_answered_200_succeeds(
    engine_app: SIPApplication, recorder: Recorder, responder: Responder
) -> None:
    account = Account("alice@127.0.0.1")
    account.sip.outbound_proxy = f"127.0.0.1:{responder.port};transport=udp"
    message = PagingMessage(account, "bob@127.0.0.1", "text/plain", "héllo")
    message.send()

    done = outcome_of(recorder, message)
    assert done.name == "SIPMessageDidSucceed"
    assert done.sender is message
    assert (done.data.code, done.data.reason) == (200, "OK")
    assert len(responder.requests) == 1
    start, headers, body = headers_of(responder.requests[0])
    assert start == "MESSAGE sip:bob@127.0.0.1 SIP/2.0"
    assert headers["content-type"] == ["text/plain"]
    assert "alice@127.0.0.1" in headers["from"][0]
    assert body == "héllo".encode("utf-8")


def test_the_engine_posts_an_incoming_message(engine_app: SIPApplication, recorder: Recorder) -> None:
    port = next(p for t, _, p in engine_app.engine_addresses() if t == "udp")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.settimeout(TIMEOUT)
        local_port = peer.getsockname()[1]
        body = "hi from a socket".encode("utf-8")
        request = (
            f"MESSAGE sip:alice@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK{uuid.uuid4().hex};rport\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:carol@127.0.0.1>;tag=peer\r\n"
            "To: <sip:alice@127.0.0.1>\r\n"
            f"Call-ID: {uuid.uuid4().hex}\r\n"
            "CSeq: 1 MESSAGE\r\n"
            "Content-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\n"
            "\r\n"
        ).encode("utf-8") + body
        peer.sendto(request, ("127.0.0.1", port))
        response, _ = peer.recvfrom(65535)
    assert response.startswith(b"SIP/2.0 200 OK\r\n")

    got = recorder.wait_for("SIPEngineGotMessage")
    assert got.data.body == "hi from a socket"
    assert got.data.content_type == "text/plain"
    assert got.data.request_uri == f"sip:alice@127.0.0.1:{port}"
    assert "carol@127.0.0.1" in got.data.from_header
    assert ["CSeq", "1 MESSAGE"] in got.data.headers
