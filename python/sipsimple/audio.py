"""Audio ports on the voice mixer: :class:`WavePlayer`, :class:`WaveRecorder`,
:class:`AudioBridge` and :class:`AudioConference`.

A port is anything with ``mixer``, ``consumer_slot`` and ``producer_slot``
(:class:`IAudioPort`): the slots it consumes from and produces on. Only
ports of the same mixer exchange audio; the one mixer is the application's
voice mixer (:meth:`AudioMixer.voice`, ``SIPApplication.voice_audio_mixer``),
which runs while the application runs. An :class:`AudioBridge` connects
every producer in it to every other member's consumer. To play a file into
a call and record the peer::

    player = WavePlayer(SIPApplication.voice_audio_mixer, "/tmp/tone.wav")
    stream.bridge.add(player)
    player.start()                       # WavePlayerDidStart ... WavePlayerDidEnd

    recorder = WaveRecorder(SIPApplication.voice_audio_mixer, "/tmp/peer.wav")
    stream.bridge.add(recorder)
    recorder.start()                     # ... recorder.stop()

Ports are created in the running mixer (``RuntimeError`` while the
application is stopped) and keep their slots for life. There is no sound
device in the core yet: no :class:`AudioDevice`, no alert mixer; what is
played or recorded goes through bridges only.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from typing import Any, Optional, Protocol, Union

from sipsimple import _core
from sipsimple.notification import Notification, NotificationCenter

__all__ = [
    "IAudioPort",
    "AudioMixer",
    "AudioBridge",
    "AudioConference",
    "WavePlayer",
    "WavePlayerError",
    "WaveRecorder",
]


class WavePlayerError(Exception):
    """A WAV file could not be played."""


class IAudioPort(Protocol):
    """Anything that produces or consumes audio on a mixer."""

    @property
    def mixer(self) -> Optional[AudioMixer]:
        """The mixer of the port."""

    @property
    def consumer_slot(self) -> Optional[int]:
        """The slot it consumes from, ``None`` if it consumes nothing."""

    @property
    def producer_slot(self) -> Optional[int]:
        """The slot it produces on, ``None`` if it produces nothing."""


class AudioMixer:
    """The application's voice mixer (one instance per application run).
    ``sample_rate`` is the ``audio.sample_rate`` setting at start."""

    __slots__ = ("_instance_id", "sample_rate", "__weakref__")

    _lock = threading.Lock()
    _current: Optional[AudioMixer] = None

    def __init__(self, instance_id: int, sample_rate: int) -> None:
        self._instance_id = instance_id
        self.sample_rate = sample_rate

    @classmethod
    def voice(cls) -> Optional[AudioMixer]:
        """The running voice mixer, ``None`` while the application is stopped."""
        instance_id = _core.CoreAudioMixer.instance_id()
        rate = _core.CoreAudioMixer.sample_rate()
        if instance_id is None or rate is None:
            return None
        with cls._lock:
            current = cls._current
            if current is None or current._instance_id != instance_id:
                current = cls(instance_id, rate)
                cls._current = current
            return current

    @property
    def running(self) -> bool:
        """True while this mixer runs."""
        return _core.CoreAudioMixer.instance_id() == self._instance_id

    def __repr__(self) -> str:
        return f"<AudioMixer {self.sample_rate} Hz{'' if self.running else ' (stopped)'}>"


def _check_mixer(mixer: Optional[AudioMixer]) -> AudioMixer:
    voice = AudioMixer.voice()
    if voice is None:
        raise RuntimeError("the voice mixer is not running (start the SIPApplication)")
    if mixer is not None and mixer is not voice:
        raise ValueError("only the running voice mixer can host audio ports")
    return voice


class WavePlayer:
    """Plays a WAV file (any PCM or float WAV, resampled to the mixer rate)
    as a producer port. ``volume`` is 0-200 (100 plays the file as recorded),
    ``loop_count`` 0 plays forever, ``pause_time`` is the silence in seconds
    between plays and ``initial_play=False`` waits ``pause_time`` before the
    first play. Reusable: it can be started again once it ended.

    Notifications (sender: the player): ``WavePlayerDidStart``,
    ``WavePlayerDidEnd`` (all loops played or :meth:`stop`) and
    ``WavePlayerDidFail`` (``error``, when the file cannot be played; no
    ``DidEnd`` follows).
    """

    def __init__(
        self,
        mixer: Optional[AudioMixer],
        filename: Union[str, os.PathLike[str]],
        volume: int = 100,
        loop_count: int = 1,
        pause_time: float = 0,
        initial_play: bool = True,
    ) -> None:
        self.mixer: AudioMixer = _check_mixer(mixer)
        self.filename = os.fspath(filename)
        self.volume = volume
        self.loop_count = loop_count
        self.pause_time = pause_time
        self.initial_play = initial_play
        self._core = _core.CoreWavePlayer(self.filename, volume, loop_count, float(pause_time), initial_play)

    @property
    def is_active(self) -> bool:
        """Playing, or waiting between plays."""
        return self._core.is_active

    @property
    def consumer_slot(self) -> Optional[int]:
        """A player consumes nothing: ``None``."""
        return None

    @property
    def producer_slot(self) -> Optional[int]:
        """The slot the player produces on."""
        return self._core.producer_slot

    def start(self) -> None:
        """Starts playing; ``RuntimeError`` if it is active already."""
        self._core.start(self)

    def stop(self) -> None:
        """Stops at once (``WavePlayerDidEnd`` follows if it was active)."""
        self._core.stop()

    def play(self) -> _PlayOperation:
        """Starts playing and returns an object whose ``wait(timeout=None)``
        blocks until the playback ended (it raises :class:`WavePlayerError`
        if the file could not be played)."""
        operation = _PlayOperation(self)
        try:
            self.start()
        except BaseException:
            operation._detach()
            raise
        return operation

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.filename!r}, volume={self.volume}, loop_count={self.loop_count})"


class _PlayOperation:
    """The pending playback of :meth:`WavePlayer.play`."""

    def __init__(self, player: WavePlayer) -> None:
        self._done = threading.Event()
        self._error: Optional[str] = None
        self._player = player
        center = NotificationCenter()
        center.add_observer(self, name="WavePlayerDidEnd", sender=player)
        center.add_observer(self, name="WavePlayerDidFail", sender=player)

    def handle_notification(self, notification: Notification) -> None:
        if notification.name == "WavePlayerDidFail":
            self._error = str(notification.data.error)
        self._done.set()
        self._detach()

    def _detach(self) -> None:
        NotificationCenter().purge_observer(self)

    def wait(self, timeout: Optional[float] = None) -> None:
        """Blocks until the playback ended; ``TimeoutError`` after ``timeout``
        seconds, :class:`WavePlayerError` if the file could not be played."""
        if not self._done.wait(timeout):
            raise TimeoutError("the playback did not end in time")
        if self._error is not None:
            raise WavePlayerError(self._error)


class WaveRecorder:
    """Records what it consumes into a 16-bit mono WAV file at the mixer
    rate; missing directories are created on :meth:`start`. Nothing is
    written unless it is in an :class:`AudioBridge`. Restarting it with the
    same ``filename`` overwrites the file."""

    def __init__(self, mixer: Optional[AudioMixer], filename: Union[str, os.PathLike[str]]) -> None:
        self.mixer: AudioMixer = _check_mixer(mixer)
        self._core = _core.CoreWaveRecorder(os.fspath(filename))

    @property
    def filename(self) -> str:
        """The file written; change it (while stopped) to keep the previous recording."""
        return self._core.filename

    @filename.setter
    def filename(self, filename: Union[str, os.PathLike[str]]) -> None:
        self._core.filename = os.fspath(filename)

    @property
    def is_active(self) -> bool:
        """Recording."""
        return self._core.is_active

    @property
    def duration(self) -> float:
        """Seconds of audio written since :meth:`start`."""
        return self._core.duration

    @property
    def consumer_slot(self) -> Optional[int]:
        """The slot the recorder consumes from."""
        return self._core.consumer_slot

    @property
    def producer_slot(self) -> Optional[int]:
        """A recorder produces nothing: ``None``."""
        return None

    def start(self) -> None:
        """Creates the file and starts writing."""
        self._core.start()

    def stop(self) -> None:
        """Stops and completes the file."""
        self._core.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.filename!r})"


class AudioBridge:
    """Connects every producer in it to every other member's consumer (a
    port never hears itself). A bridge is a port too and can be nested in
    another one (no cycles). Members are held by weak references: a port
    that goes away leaves the bridge."""

    def __init__(self, mixer: Optional[AudioMixer]) -> None:
        self.mixer: AudioMixer = _check_mixer(mixer)
        self._core = _core.CoreAudioBridge()
        self._lock = threading.RLock()
        self._members: dict[int, weakref.ReferenceType[Any]] = {}
        self._slots: dict[int, tuple[Optional[int], Optional[int]]] = {}
        self._next_key = 0
        self._keys: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()

    @property
    def consumer_slot(self) -> Optional[int]:
        """The slot whose audio every member hears."""
        return self._core.slots[0]

    @property
    def producer_slot(self) -> Optional[int]:
        """The slot carrying the mix of every member."""
        return self._core.slots[1]

    def _key(self, port: Any, create: bool) -> Optional[int]:
        key = self._keys.get(port)
        if key is None and create:
            self._next_key += 1
            key = self._next_key
            self._keys[port] = key
        return key

    def __contains__(self, port: object) -> bool:
        with self._lock:
            try:
                return self._key(port, False) in self._members
            except TypeError:
                return False

    def __iter__(self) -> Iterator[Any]:
        with self._lock:
            ports = [ref() for ref in self._members.values()]
        return iter([p for p in ports if p is not None])

    def add(self, port: IAudioPort) -> None:
        """Connects ``port`` with every member. ``ValueError`` if it is on
        another mixer; adding a member twice does nothing."""
        if port.mixer is not None and port.mixer is not self.mixer:
            raise ValueError("the port belongs to another mixer")
        with self._lock:
            key = self._key(port, True)
            assert key is not None
            if key in self._members:
                return
            slots = (port.consumer_slot, port.producer_slot)
            self._core.add(key, *slots)
            self._members[key] = weakref.ref(port, self._port_gone(key))
            self._slots[key] = slots

    def _port_gone(self, key: int) -> Any:
        bridge = weakref.ref(self)

        def gone(_: Any) -> None:
            b = bridge()
            if b is not None:
                with b._lock:
                    b._members.pop(key, None)
                    b._slots.pop(key, None)
                    if b._core.contains(key):
                        b._core.remove(key)

        return gone

    def _update(self, port: IAudioPort) -> None:
        """Reconnects ``port`` if its slots changed."""
        with self._lock:
            key = self._key(port, False)
            if key is None or key not in self._members:
                return
            slots = (port.consumer_slot, port.producer_slot)
            if self._slots.get(key) != slots:
                self._core.update(key, *slots)
                self._slots[key] = slots

    def remove(self, port: IAudioPort) -> None:
        """Disconnects ``port``; ``ValueError`` if it is not a member."""
        with self._lock:
            key = self._key(port, False)
            if key is None or key not in self._members:
                raise ValueError(f"{port!r} is not part of this bridge")
            del self._members[key]
            del self._slots[key]
            self._core.remove(key)

    def __repr__(self) -> str:
        return f"<AudioBridge with {len(self._members)} members>"


class AudioConference:
    """Mixes local audio between audio streams: every participant hears
    every other. :attr:`bridge` takes players (heard by everybody) and
    recorders (recording everybody). :meth:`hold` and :meth:`unhold` take
    the local device out of the conference and back; the core has no sound
    device, so they only change :attr:`on_hold`."""

    def __init__(self) -> None:
        self.bridge = AudioBridge(None)
        self.on_hold = False
        self._streams: list[Any] = []

    @property
    def streams(self) -> list[Any]:
        """The member streams (a copy)."""
        return list(self._streams)

    def add(self, stream: Any) -> None:
        """Adds an audio stream; ``ValueError`` if it is a member already."""
        if stream in self._streams:
            raise ValueError(f"{stream!r} is already part of the conference")
        self.bridge.add(stream)
        self._streams.append(stream)

    def remove(self, stream: Any) -> None:
        """Removes an audio stream; ``ValueError`` if it is not a member."""
        if stream not in self._streams:
            raise ValueError(f"{stream!r} is not part of the conference")
        self.bridge.remove(stream)
        self._streams.remove(stream)

    def hold(self) -> None:
        """Takes the local party out of the conference (see the class documentation)."""
        self.on_hold = True

    def unhold(self) -> None:
        """Brings the local party back."""
        self.on_hold = False
