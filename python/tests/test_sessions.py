"""Sessions through the Python API, alice calling bob on UDP loopback:
the notifications and their data fields, the same Session and stream
objects in every notification, attributes, SessionManager.sessions,
rejection (486), cancellation before the answer, hold and unhold, and the
errors of calls made in the wrong state."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from calls import Endpoints, establish, start_endpoints
from conftest import Recorder
from sipsimple.application import SIPApplication
from sipsimple.session import Session, SessionManager
from sipsimple.streams import IMediaStream, MediaStreamRegistry
from sipsimple.streams.rtp.audio import AudioStream


@pytest.fixture
def ends(app: SIPApplication, recorder: Recorder, tmp_path: Path) -> Endpoints:
    return start_endpoints(app, recorder, tmp_path)


def test_the_registry_holds_the_audio_stream() -> None:
    registered = list(MediaStreamRegistry)
    assert AudioStream in registered
    priorities = [c.priority or 0 for c in registered]
    assert priorities == sorted(priorities, reverse=True)
    assert MediaStreamRegistry.get("audio") is AudioStream
    assert MediaStreamRegistry.AudioStream is AudioStream
    assert (AudioStream.type, AudioStream.priority) == ("audio", 1)
    stream = AudioStream()
    assert isinstance(stream, IMediaStream)
    assert stream.hold_supported and not stream.on_hold
    assert stream.codec is None and stream.local_rtp_port is None


def test_a_call_carries_the_same_objects_and_the_documented_fields(ends: Endpoints) -> None:
    session = Session(ends.alice)
    assert (session.state, session.direction, session.account) == (None, None, ends.alice)
    stream = AudioStream()
    session.connect(ends.bob_uri, streams=[stream], subject="lunch")
    outgoing = ends.from_sender("SIPSessionNewOutgoing", session)
    assert outgoing.data.streams == [stream] and outgoing.data.streams[0] is stream
    assert isinstance(outgoing.data.timestamp, datetime)

    incoming = ends.incoming()
    new_incoming = ends.from_sender("SIPSessionNewIncoming", incoming)
    (proposed,) = new_incoming.data.streams
    assert isinstance(proposed, AudioStream)
    assert incoming.proposed_streams == [proposed] and incoming.proposed_streams[0] is proposed
    assert (incoming.state, incoming.direction, incoming.account) == ("incoming", "incoming", ends.bob)
    assert incoming.remote_identity is not None and "alice@127.0.0.1" in incoming.remote_identity
    assert incoming in SessionManager().sessions and session in SessionManager().sessions

    incoming.send_ring_indication()
    ends.from_sender("SIPSessionGotRingIndication", session)
    ringing = ends.recorder.wait_for(
        "SIPSessionGotProvisionalResponse", lambda n: n.sender is session and n.data.code == 180
    )
    assert ringing.data.reason == "Ringing"

    incoming.accept([proposed])
    started = ends.from_sender("SIPSessionDidStart", session)
    assert started.data.streams[0] is stream
    assert ends.from_sender("SIPSessionDidStart", incoming).data.streams[0] is proposed
    ends.from_sender("SIPSessionWillStart", session)
    for s in (stream, proposed):
        ends.from_sender("MediaStreamDidInitialize", s)
        ends.from_sender("MediaStreamDidStart", s)
    assert session.state == incoming.state == "connected"
    assert session.direction == "outgoing" and session.transport == "udp"
    assert isinstance(session.start_time, datetime) and session.stop_time is None
    assert session.streams == [stream] and session.proposed_streams is None
    assert session.subject == "lunch"
    assert "alice@127.0.0.1" in (session.local_identity or "")
    assert session.remote_user_agent and incoming.remote_user_agent
    assert stream.account is ends.alice and proposed.account is ends.bob
    assert stream.codec == proposed.codec and stream.sample_rate == proposed.sample_rate
    assert stream.local_rtp_address == "127.0.0.1"
    transaction = ends.recorder.wait_for(
        "SIPSessionDidProcessTransaction", lambda n: n.sender is incoming and n.data.method == "INVITE"
    )
    assert (transaction.data.originator, transaction.data.code) == ("remote", 200)

    session.end()
    ends.from_sender("SIPSessionWillEnd", session)
    ended = ends.from_sender("SIPSessionDidEnd", session)
    assert ended.data.originator == "local" and "user" in ended.data.end_reason
    remote = ends.from_sender("SIPSessionDidEnd", incoming)
    assert remote.data.originator == "remote"
    for s in (stream, proposed):
        ends.from_sender("MediaStreamWillEnd", s)
        ends.from_sender("MediaStreamDidEnd", s)
    assert session.state == "terminated" and isinstance(session.stop_time, datetime)
    assert session not in SessionManager().sessions
    assert not ends.recorder.named("SIPSessionDidFail")


def test_a_rejected_call_fails_with_486_on_both_sides(ends: Endpoints) -> None:
    session = Session(ends.alice)
    session.connect(ends.bob_uri, streams=[AudioStream()])
    incoming = ends.incoming()
    incoming.reject(486)
    failed = ends.from_sender("SIPSessionDidFail", session)
    assert (failed.data.originator, failed.data.code) == ("remote", 486)
    assert failed.data.reason == "Busy Here" and failed.data.failure_reason
    local = ends.from_sender("SIPSessionDidFail", incoming)
    assert (local.data.originator, local.data.code) == ("local", 486)
    assert session.state == incoming.state == "terminated"
    assert not ends.recorder.named("SIPSessionDidEnd")


def test_a_call_cancelled_before_the_answer_fails_on_both_sides(ends: Endpoints) -> None:
    session = Session(ends.alice)
    session.connect(ends.bob_uri, streams=[AudioStream()])
    incoming = ends.incoming()
    incoming.send_ring_indication()
    ends.from_sender("SIPSessionGotRingIndication", session)
    session.end()
    failed = ends.from_sender("SIPSessionDidFail", session)
    assert failed.data.originator == "local" and failed.data.code == 487
    remote = ends.from_sender("SIPSessionDidFail", incoming)
    assert remote.data.originator == "remote"
    assert session.state == incoming.state == "terminated"
    with pytest.raises(RuntimeError):
        incoming.accept(incoming.streams or [AudioStream()])


def test_hold_and_unhold_are_seen_on_both_sides(ends: Endpoints) -> None:
    call = establish(ends)
    call.outgoing.hold()
    held = ends.recorder.wait_for(
        "SIPSessionDidChangeHoldState", lambda n: n.sender is call.outgoing and n.data.on_hold
    )
    assert (held.data.originator, held.data.partial) == ("local", False)
    remote = ends.recorder.wait_for(
        "SIPSessionDidChangeHoldState", lambda n: n.sender is call.incoming and n.data.on_hold
    )
    assert remote.data.originator == "remote"
    stream_held = ends.recorder.wait_for(
        "AudioStreamDidChangeHoldState", lambda n: n.sender is call.bob_stream and n.data.on_hold
    )
    assert stream_held.data.originator == "remote"
    assert call.outgoing.on_hold and call.alice_stream.on_hold_by_local
    assert call.incoming.on_hold and call.bob_stream.on_hold_by_remote

    call.outgoing.unhold()
    ends.recorder.wait_for(
        "SIPSessionDidChangeHoldState", lambda n: n.sender is call.outgoing and not n.data.on_hold
    )
    ends.recorder.wait_for(
        "SIPSessionDidChangeHoldState", lambda n: n.sender is call.incoming and not n.data.on_hold
    )
    assert not call.outgoing.on_hold and not call.alice_stream.on_hold
    assert not call.bob_stream.on_hold
    call.incoming.end()
    assert ends.from_sender("SIPSessionDidEnd", call.outgoing).data.originator == "remote"


def test_calls_in_the_wrong_state_raise(ends: Endpoints) -> None:
    session = Session(ends.alice)
    with pytest.raises(RuntimeError):
        session.accept([AudioStream()])
    with pytest.raises(ValueError):
        session.connect(ends.bob_uri, streams=[])
    with pytest.raises(TypeError):
        Session("alice@127.0.0.1")  # type: ignore[arg-type]
    call = establish(ends)
    with pytest.raises(RuntimeError):
        call.outgoing.connect(ends.bob_uri, streams=[AudioStream()])
    with pytest.raises(RuntimeError):
        call.incoming.reject(486)
    call.outgoing.end()
    ends.from_sender("SIPSessionDidEnd", call.incoming)
