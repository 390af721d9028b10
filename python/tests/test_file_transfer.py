"""File transfer and desktop sharing over MSRP through the Python API:
alice calls bob on loopback (SIP over UDP, MSRP over TCP) offering a
FileTransferStream for a 1 MiB file of random bytes; bob accepts the
proposed receiving stream. Progress notifications grow to the file size on
both sides, both finish, and bob's file (in the ``file_transfer.directory``
setting) has alice's bytes. File selectors are checked against hashlib;
desktop sharing with the internal viewer and server handlers carries bytes
both ways (``DesktopSharingStreamGotData`` with the handler as sender)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from calls import Endpoints, start_endpoints
from conftest import Recorder
from sipsimple.application import SIPApplication
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.session import Session
from sipsimple.streams import MediaStreamRegistry
from sipsimple.streams.msrp import MSRPStreamError
from sipsimple.streams.msrp.filetransfer import FileSelector, FileTransferStream
from sipsimple.streams.msrp.screensharing import (
    DesktopSharingError,
    DesktopSharingStream,
    ExternalVNCServerHandler,
    ExternalVNCViewerHandler,
    InternalVNCServerHandler,
    InternalVNCViewerHandler,
)

SIZE = 1024 * 1024
#: A transfer of SIZE bytes in a debug build may take a while.
TRANSFER_TIMEOUT = 60.0


def sha1_selector_hash(data: bytes) -> str:
    """The ``hash`` of a file selector for ``data``: ``sha-1:`` and the
    digest as colon-separated upper-case hex pairs."""
    digest = hashlib.sha1(data).hexdigest().upper()
    return "sha-1:" + ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@pytest.fixture
def ends(app: SIPApplication, recorder: Recorder, tmp_path: Path) -> Endpoints:
    ends = start_endpoints(app, recorder, tmp_path)
    for account in (ends.alice, ends.bob):
        account.msrp.transport = "tcp"
        account.save()
    settings = SIPSimpleSettings()
    settings.file_transfer.directory = str(tmp_path / "downloads")
    settings.save()
    return ends


def offer(ends: Endpoints, stream: object) -> tuple[Session, Session, object]:
    """Alice calls bob offering ``stream``; returns both sessions and the
    stream proposed to bob (not accepted yet)."""
    outgoing = Session(ends.alice)
    outgoing.connect(ends.bob_uri, streams=[stream])  # type: ignore[list-item]
    incoming = ends.incoming()
    proposed = ends.from_sender("SIPSessionNewIncoming", incoming).data.streams
    assert len(proposed) == 1
    return outgoing, incoming, proposed[0]


def test_file_selectors_describe_files(tmp_path: Path) -> None:
    data = os.urandom(100_000)
    path = tmp_path / "My picture.jpg"
    path.write_bytes(data)
    selector = FileSelector.for_file(path)
    try:
        assert (selector.name, selector.type, selector.size) == ("My picture.jpg", "image/jpeg", len(data))
        assert selector.hash == sha1_selector_hash(data)
        assert selector.fd is not None and selector.fd.read() == data
    finally:
        assert selector.fd is not None
        selector.fd.close()
    repr_ = selector.sdp_repr
    assert repr_ == f'name:"My picture.jpg" type:image/jpeg size:{len(data)} hash:{selector.hash}'
    assert FileSelector.parse(repr_) == selector
    assert FileSelector.parse(repr_.encode()) == selector

    unhashed = FileSelector.for_file(path, content_type="application/x-test", compute_hash=False)
    assert unhashed.fd is not None
    unhashed.fd.close()
    assert (unhashed.type, unhashed.hash) == ("application/x-test", None)
    assert FileSelector(name="a b.txt", size=3).sdp_repr == 'name:"a b.txt" size:3'
    with pytest.raises(ValueError):
        FileSelector.parse('name:"unterminated')
    with pytest.raises(ValueError):
        FileSelector.for_file(tmp_path / "missing")


def test_stream_classes_are_registered_and_checked(tmp_path: Path) -> None:
    assert MediaStreamRegistry.get("file-transfer") is FileTransferStream
    assert MediaStreamRegistry.get("desktop-sharing") is DesktopSharingStream
    assert (FileTransferStream.type, FileTransferStream.priority) == ("file-transfer", 10)
    with pytest.raises(ValueError):
        FileTransferStream()
    with pytest.raises(ValueError):
        FileTransferStream(file_selector=FileSelector(name="x", size=1))  # no open file
    with pytest.raises(ValueError):
        DesktopSharingStream()
    path = tmp_path / "f.txt"
    path.write_bytes(b"abc")
    selector = FileSelector.for_file(path)
    stream = FileTransferStream(file_selector=selector)
    assert (stream.direction, stream.file_selector, stream.file_size) == ("sendonly", selector, 3)
    assert stream.file_path == str(path) and stream.transferred_bytes == 0 and not stream.finished
    with pytest.raises(MSRPStreamError):
        stream.save_directory = str(tmp_path)
    assert selector.fd is not None
    selector.fd.close()

    viewer = InternalVNCViewerHandler()
    assert viewer.type == "active" and InternalVNCServerHandler().type == "passive"
    with pytest.raises(DesktopSharingError):
        viewer.send(b"serves no stream yet")
    external = ExternalVNCViewerHandler(("127.0.0.1", 0), connect_timeout=2)
    host, port = external.address
    assert host == "127.0.0.1" and port > 0 and external.connect_timeout == 2.0
    assert external.type == "active"
    server = ExternalVNCServerHandler(("127.0.0.1", 5900))
    assert server.address == ("127.0.0.1", 5900) and server.type == "passive" and server.connect_timeout == 3.0
    with pytest.raises(ValueError):
        ExternalVNCServerHandler(("", 5900))


def test_a_file_sent_by_alice_arrives_intact_at_bob(ends: Endpoints, tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    path = tmp_path / "random data.bin"
    path.write_bytes(data)
    selector = FileSelector.for_file(path)
    alice_stream = FileTransferStream(ends.alice, selector)
    assert alice_stream.transfer_id

    outgoing, incoming, bob_stream = offer(ends, alice_stream)
    assert isinstance(bob_stream, FileTransferStream)
    assert bob_stream.direction == "recvonly"
    assert bob_stream.file_selector == selector
    assert bob_stream.transfer_id == alice_stream.transfer_id
    assert bob_stream.save_directory is None
    incoming.accept([bob_stream])

    ends.recorder.wait_for("FileTransferStreamDidFinish", lambda n: n.sender is bob_stream, TRANSFER_TIMEOUT)
    ends.recorder.wait_for("FileTransferStreamDidFinish", lambda n: n.sender is alice_stream, TRANSFER_TIMEOUT)
    assert not ends.recorder.named("MediaStreamDidFail")
    assert not ends.recorder.named("FileTransferStreamDidNotDeliverChunk")

    delivered = [n.data for n in ends.recorder.named("FileTransferStreamDidDeliverChunk") if n.sender is alice_stream]
    assert delivered, "no progress at alice"
    progress = [d.transferred_bytes for d in delivered]
    assert progress == sorted(progress) and progress[-1] == SIZE
    assert {(d.code, d.file_size) for d in delivered} == {(200, SIZE)}
    assert all(d.message_id == delivered[0].message_id for d in delivered)

    chunks = [n.data for n in ends.recorder.named("FileTransferStreamGotChunk") if n.sender is bob_stream]
    assert chunks, "no chunks at bob"
    counts = [c.transferred_bytes for c in chunks]
    assert counts == sorted(counts) and counts[-1] == SIZE
    assert {c.file_size for c in chunks} == {SIZE}
    assert {c.content_type for c in chunks} == {"application/octet-stream"}
    assert b"".join(c.content for c in chunks) == data  # in order on loopback

    received = tmp_path / "downloads" / "random data.bin"
    assert bob_stream.file_path == str(received)
    assert received.read_bytes() == data
    assert alice_stream.transferred_bytes == bob_stream.transferred_bytes == SIZE
    assert alice_stream.finished and bob_stream.finished

    outgoing.end()
    ends.from_sender("SIPSessionDidEnd", incoming)
    ends.from_sender("MediaStreamDidEnd", alice_stream)
    assert selector.fd is not None
    selector.fd.close()


def test_a_received_file_goes_to_the_save_directory_set_before_accepting(ends: Endpoints, tmp_path: Path) -> None:
    data = b"hello file\n" * 1000
    path = tmp_path / "note.txt"
    path.write_bytes(data)
    selector = FileSelector.for_file(path)
    outgoing, incoming, bob_stream = offer(ends, FileTransferStream(ends.alice, selector))
    assert isinstance(bob_stream, FileTransferStream)
    target = tmp_path / "elsewhere"
    target.mkdir()
    bob_stream.save_directory = target
    assert bob_stream.save_directory == str(target)
    incoming.accept([bob_stream])
    ends.recorder.wait_for("FileTransferStreamDidFinish", lambda n: n.sender is bob_stream, TRANSFER_TIMEOUT)
    assert (target / "note.txt").read_bytes() == data
    with pytest.raises(MSRPStreamError):
        bob_stream.save_directory = tmp_path
    outgoing.end()
    ends.from_sender("SIPSessionDidEnd", incoming)
    assert selector.fd is not None
    selector.fd.close()


def test_desktop_sharing_carries_rfb_data_between_internal_handlers(ends: Endpoints) -> None:
    viewer = InternalVNCViewerHandler()
    alice_stream = DesktopSharingStream(ends.alice, viewer)
    assert alice_stream.handler is viewer
    with pytest.raises(DesktopSharingError):
        DesktopSharingStream(ends.alice, viewer)  # a handler serves one stream
    viewer.send(b"RFB 003.008\n")  # queued until the stream starts

    outgoing, incoming, bob_stream = offer(ends, alice_stream)
    assert isinstance(bob_stream, DesktopSharingStream)
    server = bob_stream.handler
    assert isinstance(server, InternalVNCServerHandler) and bob_stream.handler is server
    with pytest.raises(DesktopSharingError):
        bob_stream.handler = InternalVNCViewerHandler()  # the offer asks bob for a server
    incoming.accept([bob_stream])
    ends.from_sender("MediaStreamDidStart", bob_stream)

    got = ends.recorder.wait_for("DesktopSharingStreamGotData", lambda n: n.sender is server)
    assert got.data.data == b"RFB 003.008\n"
    server.send(b"\x00\x01binary\xff")
    got = ends.recorder.wait_for("DesktopSharingStreamGotData", lambda n: n.sender is viewer)
    assert got.data.data == b"\x00\x01binary\xff"
    with pytest.raises(DesktopSharingError):
        alice_stream.handler = InternalVNCViewerHandler()  # started

    outgoing.end()
    ends.from_sender("SIPSessionDidEnd", incoming)
    ends.from_sender("MediaStreamDidEnd", alice_stream)
    with pytest.raises(DesktopSharingError):
        viewer.send(b"too late")
