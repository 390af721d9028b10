"""Two endpoints on loopback call each other: alice plays a 440 Hz WAV file
into the call, bob records it, and the recorded frequency is printed.

    python3 examples/call_demo.py
"""

import math
import os
import struct
import tempfile
import threading
import wave

from sipsimple.account import Account
from sipsimple.application import SIPApplication
from sipsimple.audio import WavePlayer
from sipsimple.notification import NotificationCenter
from sipsimple.session import Session
from sipsimple.storage import FileStorage
from sipsimple.streams.rtp.audio import AudioStream

seen, arrived = [], threading.Condition()


class Observer:
    def handle_notification(self, notification):
        with arrived:
            seen.append(notification)
            arrived.notify_all()


def wait_for(name, sender=None):
    with arrived:
        found = arrived.wait_for(
            lambda: next((n for n in seen if n.name == name and sender in (None, n.sender)), None), 10
        )
    assert found, f"no {name}"
    return found


NotificationCenter().add_observer(Observer())
directory = tempfile.mkdtemp()
with open(os.path.join(directory, "config"), "w") as config:
    config.write("SIPSimpleSettings:\n    sip:\n        transport_list = udp\n")
SIPApplication().start(FileStorage(directory))
wait_for("SIPApplicationDidStart")
alice, bob = Account("alice@127.0.0.1"), Account("bob@127.0.0.1")
for account in (alice, bob):
    account.sip.register = False
    account.enabled = True
    account.save()

# A 2 s 440 Hz tone at the mixer's rate.
rate = SIPApplication.voice_audio_mixer.sample_rate
tone = os.path.join(directory, "tone.wav")
with wave.open(tone, "wb") as w:
    w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
    w.writeframes(b"".join(struct.pack("<h", int(16000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(2 * rate)))

# Alice calls bob; bob accepts the proposed audio stream and records it.
port = next(p for transport, _, p in SIPApplication().engine_addresses() if transport == "udp")
call = Session(alice)
call.connect(f"sip:{bob.contact.username}@127.0.0.1:{port}", streams=[AudioStream()])
incoming = wait_for("SIPSessionNewIncoming")
incoming.sender.accept(incoming.data.streams)
wait_for("SIPSessionDidStart", call)
recording = os.path.join(directory, "bob.wav")
incoming.data.streams[0].start_recording(recording)

player = WavePlayer(SIPApplication.voice_audio_mixer, tone)
call.streams[0].bridge.add(player)
player.play().wait(10)
call.end()
wait_for("AudioStreamDidStopRecordingAudio")

with wave.open(recording) as w:
    samples = struct.unpack(f"<{w.getnframes()}h", w.readframes(w.getnframes()))
# The 20 ms windows that carry sound: their rising zero crossings per second.
frame = rate // 50
windows = [samples[i : i + frame] for i in range(0, len(samples) - frame + 1, frame)]
loud = [w for w in windows if math.sqrt(sum(x * x for x in w) / frame) > 1000]
rising = sum(1 for w in loud for a, b in zip(w, w[1:]) if a < 0 <= b)
seconds = len(loud) * frame / rate
print(f"bob recorded {rising / seconds:.1f} Hz for {seconds:.2f} s of 2 s (codec {incoming.data.streams[0].codec})")
SIPApplication().stop()
wait_for("SIPApplicationDidEnd")
