"""Calls with real audio through the Python API: alice calls bob on UDP
loopback, bob accepts the proposed AudioStream, a 440 Hz WAV file plays
into alice's stream through its bridge and bob records what arrives. The
recording must hold the tone (440 Hz ± 2%) for at least 90% of the played
duration. Also: DTMF digits arrive in order, recording notifications, and
the WavePlayer's own notifications."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from calls import (
    Endpoints,
    dominant_frequency,
    establish,
    loud_part,
    median_window_frequency,
    poll_until,
    read_wav,
    start_endpoints,
    write_tone,
)
from conftest import TIMEOUT, Recorder
from sipsimple.application import SIPApplication
from sipsimple.audio import AudioBridge, AudioMixer, WavePlayer, WavePlayerError, WaveRecorder
from sipsimple.notification import Notification

TONE = 440.0
PLAYED = 2.0


@pytest.fixture
def ends(app: SIPApplication, recorder: Recorder, tmp_path: Path) -> Endpoints:
    return start_endpoints(app, recorder, tmp_path)


def test_a_440_hz_tone_played_into_the_call_is_recorded_by_the_peer(ends: Endpoints, tmp_path: Path) -> None:
    call = establish(ends)
    mixer = AudioMixer.voice()
    assert mixer is not None and call.alice_stream.mixer is mixer
    assert call.alice_stream.codec == call.bob_stream.codec is not None
    assert call.alice_stream.remote_rtp_port_sdp == call.bob_stream.local_rtp_port
    assert call.bob_stream.remote_rtp_port_sdp == call.alice_stream.local_rtp_port

    recording = tmp_path / "received" / "bob.wav"
    call.bob_stream.start_recording(recording)
    started = ends.from_sender("AudioStreamDidStartRecordingAudio", call.bob_stream)
    assert started.data.filename == str(recording)
    assert call.bob_stream.recording_filename == str(recording)
    ends.from_sender("AudioStreamWillStartRecordingAudio", call.bob_stream)

    tone = tmp_path / "tone.wav"
    write_tone(tone, TONE, PLAYED, mixer.sample_rate)
    player = WavePlayer(mixer, tone)
    call.alice_stream.bridge.add(player)
    assert player in call.alice_stream.bridge
    player.play().wait(TIMEOUT)
    ends.from_sender("WavePlayerDidStart", player)
    ends.from_sender("WavePlayerDidEnd", player)
    assert not player.is_active

    # Everything alice sent (and two frames more) has been played out at bob.
    sent = call.alice_stream.statistics["packets_sent"] + 2
    assert poll_until(
        lambda: (
            lambda s: s["frames_played"] + s["frames_lost"] + s["frames_discarded"] + s["frames_other"] >= sent
        )(call.bob_stream.statistics)
    )
    received = call.bob_stream.statistics
    assert received["packets_received"] >= 100, received
    assert received["srtp_failures"] == 0, received
    assert call.bob_stream.remote_rtp_port_received == call.alice_stream.local_rtp_port

    call.outgoing.end()
    ends.from_sender("SIPSessionDidEnd", call.incoming)
    stopped = ends.from_sender("AudioStreamDidStopRecordingAudio", call.bob_stream)
    assert stopped.data.filename == str(recording)
    assert call.bob_stream.recording_filename is None

    rate, samples = read_wav(recording)
    assert rate == mixer.sample_rate
    loud = loud_part(samples, rate)
    arrived = len(loud) / rate
    crossing = median_window_frequency(samples, rate)
    dominant = dominant_frequency(loud, rate)
    print(f"recorded {crossing:.2f} Hz (zero crossings), {dominant:.1f} Hz (DFT) for {arrived:.2f} of {PLAYED} s")
    assert abs(crossing - TONE) <= TONE * 0.02, crossing
    assert abs(dominant - TONE) <= TONE * 0.02, dominant
    assert arrived >= 0.9 * PLAYED, arrived
    assert arrived <= PLAYED + 0.1, arrived


def test_dtmf_digits_arrive_in_order(ends: Endpoints) -> None:
    call = establish(ends)
    digits = "159#*0AD"
    got: list[str] = []
    done = threading.Event()

    class Observer:
        def handle_notification(self, notification: Notification) -> None:
            got.append(notification.data.digit)
            if len(got) == len(digits):
                done.set()

    observer = Observer()
    from sipsimple.notification import NotificationCenter

    NotificationCenter().add_observer(observer, name="AudioStreamGotDTMF", sender=call.bob_stream)
    try:
        for digit in digits:
            call.alice_stream.send_dtmf(digit)
            # One digit at a time: the next waits until this one arrived.
            ends.recorder.wait_for(
                "AudioStreamGotDTMF",
                lambda n, d=digit: n.sender is call.bob_stream and n.data.digit == d,  # type: ignore[misc]
            )
        assert done.wait(TIMEOUT)
    finally:
        NotificationCenter().purge_observer(observer)
    assert "".join(got) == digits
    with pytest.raises(ValueError):
        call.alice_stream.send_dtmf("x")
    with pytest.raises(ValueError):
        call.alice_stream.send_dtmf("12")
    call.outgoing.end()
    ends.from_sender("SIPSessionDidEnd", call.outgoing)
    with pytest.raises(RuntimeError):
        call.alice_stream.send_dtmf("1")


def test_dtmf_digits_sent_back_to_back_keep_their_order(ends: Endpoints) -> None:
    call = establish(ends)
    digits = "0123456789"
    for digit in digits:
        call.bob_stream.send_dtmf(digit)
    with ends.recorder.condition:
        ends.recorder.condition.wait_for(
            lambda: len([n for n in ends.recorder.notifications if n.name == "AudioStreamGotDTMF"]) >= len(digits),
            TIMEOUT,
        )
    received = [n for n in ends.recorder.named("AudioStreamGotDTMF")]
    assert all(n.sender is call.alice_stream for n in received)
    assert "".join(n.data.digit for n in received) == digits
    call.incoming.end()
    ends.from_sender("SIPSessionDidEnd", call.outgoing)


def test_wave_recorder_in_the_stream_bridge_records_the_peer(ends: Endpoints, tmp_path: Path) -> None:
    call = establish(ends)
    mixer = AudioMixer.voice()
    assert mixer is not None
    tone = tmp_path / "tone.wav"
    write_tone(tone, 1000.0, 1.0, mixer.sample_rate)
    # Alice plays, bob's bridge holds a recorder: it hears alice through bob's stream.
    recorder = WaveRecorder(mixer, tmp_path / "out" / "bob-bridge.wav")
    call.bob_stream.bridge.add(recorder)
    recorder.start()
    player = WavePlayer(mixer, tone, volume=100)
    call.alice_stream.bridge.add(player)
    player.play().wait(TIMEOUT)
    # Wait until the recorder holds the whole tone plus the network delay.
    assert poll_until(lambda: recorder.duration >= 1.5)
    recorder.stop()
    assert not recorder.is_active
    call.bob_stream.bridge.remove(recorder)
    with pytest.raises(ValueError):
        call.bob_stream.bridge.remove(recorder)
    rate, samples = read_wav(Path(recorder.filename))
    loud = loud_part(samples, rate)
    envelope = [max(abs(x) for x in samples[i : i + rate // 50]) for i in range(0, len(samples) - rate // 50, rate // 50)]
    assert len(loud) / rate >= 0.9, envelope
    assert abs(dominant_frequency(loud, rate) - 1000.0) <= 20.0
    call.outgoing.end()
    ends.from_sender("SIPSessionDidEnd", call.incoming)


def test_wave_player_reports_a_missing_file(ends: Endpoints, tmp_path: Path) -> None:
    mixer = AudioMixer.voice()
    player = WavePlayer(mixer, tmp_path / "missing.wav")
    assert (player.volume, player.loop_count, player.pause_time, player.initial_play) == (100, 1, 0, True)
    assert player.consumer_slot is None and player.producer_slot is None  # a slot only while active
    with pytest.raises(WavePlayerError):
        player.play().wait(TIMEOUT)
    failed = ends.from_sender("WavePlayerDidFail", player)
    assert "missing.wav" in str(failed.data.error)
    assert not player.is_active


def test_wave_player_loops_and_stops(ends: Endpoints, tmp_path: Path) -> None:
    mixer = AudioMixer.voice()
    assert mixer is not None
    tone = tmp_path / "short.wav"
    write_tone(tone, 440.0, 0.2, mixer.sample_rate)
    player = WavePlayer(mixer, tone, loop_count=0)
    bridge = AudioBridge(mixer)
    recorder = WaveRecorder(mixer, tmp_path / "loop.wav")
    bridge.add(player)
    bridge.add(recorder)
    recorder.start()
    player.start()
    ends.from_sender("WavePlayerDidStart", player)
    with pytest.raises(RuntimeError):
        player.start()
    assert poll_until(lambda: recorder.duration >= 0.7)
    assert player.is_active  # 0 loops forever: still playing after three plays
    player.stop()
    ends.from_sender("WavePlayerDidEnd", player)
    recorder.stop()
    rate, samples = read_wav(tmp_path / "loop.wav")
    assert len(loud_part(samples, rate)) / rate >= 0.6


def test_audio_ports_need_the_running_application(app: SIPApplication, tmp_path: Path) -> None:
    assert AudioMixer.voice() is None
    with pytest.raises(RuntimeError):
        WavePlayer(None, tmp_path / "x.wav")
    with pytest.raises(RuntimeError):
        WaveRecorder(None, tmp_path / "x.wav")
    with pytest.raises(RuntimeError):
        AudioBridge(None)
