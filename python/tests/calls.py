"""Helpers of the call tests: the application on UDP loopback with two
accounts (alice and bob) that do not register, bob's URI on the running SIP
engine, and WAV writing and tone analysis in pure Python."""

from __future__ import annotations

import math
import struct
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conftest import Recorder
from sipsimple.account import Account
from sipsimple.application import SIPApplication
from sipsimple.notification import Notification
from sipsimple.session import Session
from sipsimple.storage import FileStorage
from sipsimple.streams.rtp.audio import AudioStream


@dataclass
class Endpoints:
    """The running application with alice and bob."""

    app: SIPApplication
    recorder: Recorder
    alice: Account
    bob: Account

    @property
    def bob_uri(self) -> str:
        """bob's Contact on the application's UDP listener."""
        port = next(p for t, _, p in self.app.engine_addresses() if t == "udp")
        return f"sip:{self.bob.contact.username}@127.0.0.1:{port}"

    def from_sender(self, name: str, sender: object) -> Notification:
        """The first ``name`` sent by ``sender`` (waits for it)."""
        return self.recorder.wait_for(name, lambda n: n.sender is sender)

    def incoming(self) -> Session:
        """The session of the first ``SIPSessionNewIncoming``."""
        session = self.recorder.wait_for("SIPSessionNewIncoming").sender
        assert isinstance(session, Session)
        return session


def start_endpoints(app: SIPApplication, recorder: Recorder, directory: Path) -> Endpoints:
    """Starts the application on UDP only and creates alice and bob."""
    (directory / "config").write_text("SIPSimpleSettings:\n    sip:\n        transport_list = udp\n")
    app.start(FileStorage(directory))
    recorder.wait_for("SIPApplicationDidStart")
    accounts = []
    for account_id in ("alice@127.0.0.1", "bob@127.0.0.1"):
        account = Account(account_id)
        account.sip.register = False
        account.enabled = True
        account.save()
        accounts.append(account)
    return Endpoints(app, recorder, accounts[0], accounts[1])


@dataclass
class Call:
    """An established call: alice's session and stream, bob's session and stream."""

    outgoing: Session
    incoming: Session
    alice_stream: AudioStream
    bob_stream: AudioStream


def establish(ends: Endpoints) -> Call:
    """Alice calls bob offering an AudioStream; bob accepts the proposed one."""
    outgoing = Session(ends.alice)
    alice_stream = AudioStream()
    outgoing.connect(ends.bob_uri, streams=[alice_stream])
    incoming = ends.incoming()
    proposed = ends.from_sender("SIPSessionNewIncoming", incoming).data.streams
    assert len(proposed) == 1 and isinstance(proposed[0], AudioStream)
    incoming.accept(proposed)
    ends.from_sender("SIPSessionDidStart", outgoing)
    ends.from_sender("SIPSessionDidStart", incoming)
    return Call(outgoing, incoming, alice_stream, proposed[0])


def write_tone(path: Path, frequency: float, seconds: float, rate: int, amplitude: int = 16000) -> None:
    """A mono 16-bit WAV file of a sine tone."""
    count = int(seconds * rate)
    frames = b"".join(
        struct.pack("<h", int(amplitude * math.sin(2 * math.pi * frequency * i / rate))) for i in range(count)
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def read_wav(path: Path) -> tuple[int, list[int]]:
    """The sample rate and the samples of a mono 16-bit WAV file."""
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        rate = w.getframerate()
        data = w.readframes(w.getnframes())
    return rate, list(struct.unpack(f"<{len(data) // 2}h", data))


def loud_part(samples: list[int], rate: int, threshold: float = 1000.0) -> list[int]:
    """The 20 ms windows whose RMS is above ``threshold``, concatenated."""
    frame = rate // 50
    out: list[int] = []
    for start in range(0, len(samples) - frame + 1, frame):
        chunk = samples[start : start + frame]
        if math.sqrt(sum(s * s for s in chunk) / frame) > threshold:
            out.extend(chunk)
    return out


def zero_crossing_frequency(samples: list[int], rate: int) -> float:
    """The frequency of a pure tone from its rising zero crossings
    (interpolated between samples): cycles over the time they span."""
    crossings: list[float] = []
    for i in range(1, len(samples)):
        a, b = samples[i - 1], samples[i]
        if a < 0 <= b:
            crossings.append(i - 1 + (-a) / (b - a))
    if len(crossings) < 2:
        return 0.0
    return (len(crossings) - 1) * rate / (crossings[-1] - crossings[0])


def goertzel_power(samples: list[int], rate: int, frequency: float) -> float:
    """The power of ``samples`` at ``frequency`` (one DFT bin, Goertzel)."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coefficient * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coefficient * s1 * s2


def dominant_frequency(samples: list[int], rate: int, low: float = 100.0, high: float = 2000.0) -> float:
    """The strongest frequency between ``low`` and ``high`` Hz: a coarse
    Goertzel scan in 10 Hz steps over the first 250 ms, then a 0.5 Hz scan
    around the peak."""
    part = samples[: rate // 4]
    coarse = max(range(int(low), int(high) + 1, 10), key=lambda f: goertzel_power(part, rate, f))
    fine = [coarse - 10 + 0.5 * i for i in range(41)]
    return max(fine, key=lambda f: goertzel_power(part, rate, f))


def poll_until(condition: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Polls ``condition`` until it holds (True) or ``timeout`` passed (False):
    for states that change without a notification (counters, durations)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def median_window_frequency(samples: list[int], rate: int, threshold: float = 1000.0) -> float:
    """The median, over the 20 ms windows louder than ``threshold``, of each
    window's zero-crossing frequency: gaps in a recording (lost frames)
    do not add crossings, as they would in the concatenated loud part."""
    frame = rate // 50
    estimates = sorted(
        zero_crossing_frequency(chunk, rate)
        for chunk in (samples[i : i + frame] for i in range(0, len(samples) - frame + 1, frame))
        if math.sqrt(sum(s * s for s in chunk) / frame) > threshold
    )
    return estimates[len(estimates) // 2] if estimates else 0.0
