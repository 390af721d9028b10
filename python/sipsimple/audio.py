"""Audio: :class:`AudioMixer`, :class:`AudioDevice`, :class:`AudioBridge`,
:class:`WavePlayer`, :class:`WaveRecorder` and :class:`AudioConference`.

A port (:class:`IAudioPort`) is anything with ``mixer``, ``consumer_slot``
and ``producer_slot``: the slots it consumes from and produces on. Only
ports of the same mixer exchange audio. The application has two mixers,
``SIPApplication.voice_audio_mixer`` and ``alert_audio_mixer``, each on a
sound device (the null device when there is no sound card) and each with
a bridge holding that device. An :class:`AudioBridge` connects every
producer in it to every other member's consumer; it holds its members
weakly. To play a file into a call and record the peer::

    from sipsimple.application import SIPApplication

    player = WavePlayer(SIPApplication.voice_audio_mixer, "/tmp/tone.wav")
    stream.bridge.add(player)        # the peer hears it
    player.start()                   # WavePlayerDidStart ... WavePlayerDidEnd

    recorder = WaveRecorder(SIPApplication.voice_audio_mixer, "/tmp/peer.wav")
    stream.bridge.add(recorder)      # records the peer (and the device)
    recorder.start()                 # ... recorder.stop()

Objects need the application running (a mixer exists from
``SIPApplicationWillStart`` until it stopped): passing ``None`` as the
mixer means the voice mixer, and ``RuntimeError`` is raised while there is
none. Notifications carry *the* Python object for each core object:
``WavePlayerDidStart``, ``WavePlayerDidEnd``, ``WavePlayerDidFail``
(``error``) with the player as sender, ``AudioPortDidChangeSlots`` with the
port as sender.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, Union

from sipsimple import _core
from sipsimple._objects import CoreObject
from sipsimple.notification import Notification, NotificationCenter

if TYPE_CHECKING:
    from sipsimple.streams.rtp.audio import AudioStream

__all__ = [
    "IAudioPort",
    "AudioMixer",
    "AudioDevice",
    "AudioBridge",
    "AudioConference",
    "WavePlayer",
    "WavePlayerError",
    "WaveRecorder",
]

_lock = threading.RLock()
_objects: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()


def _wrap(cls: type, core: Any) -> Any:
    """The one Python object of class ``cls`` for a core object."""
    with _lock:
        raw = core.handle.raw
        obj = _objects.get(raw)
        if obj is None:
            obj = cls.__new__(cls)
            obj._core = core
            _objects[raw] = obj
        return obj


def _register(obj: Any) -> None:
    with _lock:
        _objects[obj._core.handle.raw] = obj


def _wrap_optional(cls: type, core: Any) -> Any:
    """:func:`_wrap`, or ``None`` when there is no core object."""
    return None if core is None else _wrap(cls, core)


def _same(value: Any) -> Any:
    return value


def _core_attribute(
    name: str, doc: str, get: Callable[[Any], Any] = _same, set: Optional[Callable[[Any], Any]] = None
) -> Any:
    """A property reading the core object's attribute ``name`` through
    ``get`` and, with ``set``, writing it through ``set``."""

    def fget(self: Any) -> Any:
        return get(getattr(self._core, name))

    def fset(self: Any, value: Any) -> None:
        setattr(self._core, name, set(value))

    return property(fget, None if set is None else fset, doc=doc)


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


class AudioMixer(CoreObject):
    """A mixer on a sound device (``SIPApplication.voice_audio_mixer``,
    ``alert_audio_mixer``). Mixers are made by the application."""

    _core: Any

    def __init__(self) -> None:
        raise TypeError("mixers are made by the application: use SIPApplication.voice_audio_mixer")

    @classmethod
    def voice(cls) -> Optional[AudioMixer]:
        """The voice mixer, ``None`` while the application is stopped."""
        core = _core.CoreAudioMixer.voice()
        return _wrap_optional(cls, core)  # type: ignore[no-any-return]

    @classmethod
    def alert(cls) -> Optional[AudioMixer]:
        """The alert mixer, ``None`` while the application is stopped."""
        core = _core.CoreAudioMixer.alert()
        return _wrap_optional(cls, core)  # type: ignore[no-any-return]

    @property
    def _handle(self) -> _core.Handle:
        handle: _core.Handle = self._core.handle
        return handle

    @property
    def sample_rate(self) -> int:
        """The sample rate (the ``audio.sample_rate`` setting at start)."""
        rate: int = self._core.sample_rate
        return rate

    input_device = _core_attribute("input_device", "The input device setting (``None``: no input).")
    output_device = _core_attribute("output_device", "The output device setting (``None``: no output).")
    real_input_device = _core_attribute("real_input_device", "The input device in use (``system_default`` resolved).")
    real_output_device = _core_attribute(
        "real_output_device", "The output device in use (``system_default`` resolved)."
    )
    muted = _core_attribute("muted", "Whether the input is muted.", bool, set=bool)
    running = _core_attribute("is_running", "True while the mixer ticks (until the application stopped).", bool)

    def __repr__(self) -> str:
        return f"<AudioMixer {self.sample_rate} Hz input={self.input_device!r} output={self.output_device!r}>"


def _mixer_handle(mixer: Optional[AudioMixer]) -> _core.Handle:
    if mixer is None:
        mixer = AudioMixer.voice()
        if mixer is None:
            raise RuntimeError("the voice mixer is not running (start the SIPApplication)")
    elif not isinstance(mixer, AudioMixer):
        raise TypeError("mixer must be an AudioMixer")
    return mixer._handle


class _Port(CoreObject):
    """The attributes every port object has."""

    _core: Any

    @property
    def _handle(self) -> _core.Handle:
        handle: _core.Handle = self._core.handle
        return handle

    @property
    def mixer(self) -> Optional[AudioMixer]:
        """The mixer of the port."""
        core = _core.CoreAudioMixer.resolve(self._core.mixer)
        return _wrap_optional(AudioMixer, core)  # type: ignore[no-any-return]

    @property
    def consumer_slot(self) -> Optional[int]:
        """The slot it consumes from, ``None`` if it consumes nothing."""
        return self._core.slots[0]  # type: ignore[no-any-return]

    @property
    def producer_slot(self) -> Optional[int]:
        """The slot it produces on, ``None`` if it produces nothing."""
        return self._core.slots[1]  # type: ignore[no-any-return]


class AudioDevice(_Port):
    """The sound device of ``mixer`` as a port (the voice and alert bridges
    hold one each; every audio stream's bridge holds its own).
    ``input_muted`` stops it producing, ``output_muted`` consuming."""

    def __init__(self, mixer: Optional[AudioMixer], input_muted: bool = False, output_muted: bool = False) -> None:
        self._core = _core.CoreAudioDevice(_mixer_handle(mixer), input_muted, output_muted)
        _register(self)

    input_muted = _core_attribute(
        "input_muted", "Whether it does not produce (posts ``AudioPortDidChangeSlots`` when changed).", bool, set=bool
    )
    output_muted = _core_attribute(
        "output_muted", "Whether it does not consume (posts ``AudioPortDidChangeSlots`` when changed).", bool, set=bool
    )


class AudioBridge(_Port):
    """Connects every producer in it to every other member's consumer (a
    port never hears itself). A bridge is a port too and nests (no
    cycles). Members are held weakly: a port that goes away leaves."""

    def __init__(self, mixer: Optional[AudioMixer]) -> None:
        self._core = _core.CoreAudioBridge(_mixer_handle(mixer))
        _register(self)

    def add(self, port: IAudioPort) -> None:
        """Connects ``port`` with every member (adding a member twice does
        nothing). ``ValueError`` for a port of another mixer or the bridge
        itself, ``RuntimeError`` for a stopped bridge or an audio stream
        that is not initialized."""
        if not isinstance(port, CoreObject):
            raise TypeError(f"{port!r} is not an audio port")
        self._core.add(port._handle)

    def remove(self, port: IAudioPort) -> None:
        """Disconnects ``port``; ``ValueError`` if it is not a member."""
        if not isinstance(port, CoreObject):
            raise ValueError(f"{port!r} is not part of this bridge")
        try:
            self._core.remove(port._handle)
        except KeyError as e:
            raise ValueError(str(e).strip("'\"")) from None

    def __contains__(self, port: object) -> bool:
        try:
            return isinstance(port, CoreObject) and bool(self._core.contains(port._handle))
        except RuntimeError:  # a stream with no core object yet
            return False

    def __iter__(self) -> Iterator[Any]:
        return iter([_from_core_handle_any(h) for h in self._core.ports()])

    def stop(self) -> None:
        """Disconnects every member; the bridge is unusable afterwards."""
        self._core.stop()

    def __repr__(self) -> str:
        return f"<AudioBridge with {len(self._core.ports())} members>"


class WavePlayer(_Port):
    """Plays a WAV file (any PCM or float WAV, resampled to the mixer rate)
    as a producer port. ``volume`` is 0-200 (100 plays the file as
    recorded), ``loop_count`` 0 plays forever, ``pause_time`` is the silence
    in seconds between plays and ``initial_play=False`` waits
    ``pause_time`` before the first play. Reusable: it can be started again
    once it ended; the attributes may be changed while it is stopped.

    Notifications (sender: the player): ``WavePlayerDidStart``,
    ``WavePlayerDidEnd`` (all loops played or :meth:`stop`) and
    ``WavePlayerDidFail`` (``error``, when the file cannot be played).
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
        self._core = _core.CoreWavePlayer(
            _mixer_handle(mixer), os.fspath(filename), volume, loop_count, float(pause_time), initial_play
        )
        _register(self)

    filename = _core_attribute("filename", "The file played.", set=os.fspath)
    volume = _core_attribute("volume", "Volume, 0-200.", set=_same)
    loop_count = _core_attribute("loop_count", "Plays per start; 0 is forever.", set=_same)
    pause_time = _core_attribute("pause_time", "Seconds of silence between plays.", set=float)
    initial_play = _core_attribute("initial_play", "Whether the first play starts at once.", bool, set=bool)
    is_active = _core_attribute("is_active", "Playing, or waiting between plays.", bool)

    def start(self) -> None:
        """Starts playing; ``RuntimeError`` if it is active already."""
        self._core.start()

    def stop(self) -> None:
        """Stops at once (``WavePlayerDidEnd`` follows if it was active)."""
        self._core.stop()

    def play(self) -> _PlayOperation:
        """Starts playing and returns an object whose ``wait(timeout=None)``
        blocks until the playback ended (:class:`WavePlayerError` if the
        file could not be played)."""
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


class WaveRecorder(_Port):
    """Records what it consumes into a 16-bit mono WAV file at the mixer
    rate; missing directories are created on :meth:`start`. Nothing is
    written unless it is in an :class:`AudioBridge`. Restarting it with the
    same ``filename`` overwrites the file."""

    def __init__(self, mixer: Optional[AudioMixer], filename: Union[str, os.PathLike[str]]) -> None:
        self._core = _core.CoreWaveRecorder(_mixer_handle(mixer), os.fspath(filename))
        _register(self)

    filename = _core_attribute(
        "filename", "The file written; change it (while stopped) to keep the previous recording.", set=os.fspath
    )
    is_active = _core_attribute("is_active", "Recording.", bool)
    duration = _core_attribute("duration", "Seconds of audio written since :meth:`start`.")

    def start(self) -> None:
        """Creates the file and starts writing."""
        self._core.start()

    def stop(self) -> None:
        """Stops and completes the file."""
        self._core.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.filename!r})"


class AudioConference(CoreObject):
    """Mixes local audio between audio streams on the voice mixer: every
    participant hears every other and the local device. :attr:`bridge`
    takes players (heard by everybody) and recorders (recording everybody).
    :meth:`hold` takes the local device out (the streams stay as they are),
    :meth:`unhold` brings it back."""

    _core: Any

    def __init__(self) -> None:
        self._core = _core.CoreAudioConference()
        _register(self)

    @property
    def _handle(self) -> _core.Handle:
        handle: _core.Handle = self._core.handle
        return handle

    @property
    def bridge(self) -> AudioBridge:
        """The conference's bridge."""
        bridge: AudioBridge = _from_core_handle(self._core.bridge)
        return bridge

    on_hold = _core_attribute("on_hold", "Whether the local device is out of the conference.", bool)

    @property
    def streams(self) -> list[AudioStream]:
        """The member streams (a copy)."""
        from sipsimple.streams.rtp.audio import _from_core_handle as stream_from_handle

        return [stream_from_handle(h) for h in self._core.streams]

    def add(self, stream: AudioStream) -> None:
        """Adds an audio stream (started, so that it has a bridge)."""
        self._core.add(stream._handle)

    def remove(self, stream: AudioStream) -> None:
        """Removes an audio stream; ``ValueError`` if it is not a member."""
        try:
            self._core.remove(stream._handle)
        except KeyError as e:
            raise ValueError(str(e).strip("'\"")) from None

    def hold(self) -> None:
        """Takes the local device out of the conference."""
        self._core.hold()

    def unhold(self) -> None:
        """Brings the local device back."""
        self._core.unhold()


_CLASSES: dict[str, tuple[Any, type]] = {
    "AudioMixer": (_core.CoreAudioMixer, AudioMixer),
    "AudioDevice": (_core.CoreAudioDevice, AudioDevice),
    "AudioBridge": (_core.CoreAudioBridge, AudioBridge),
    "WavePlayer": (_core.CoreWavePlayer, WavePlayer),
    "WaveRecorder": (_core.CoreWaveRecorder, WaveRecorder),
}


def _from_core_handle(handle: _core.Handle) -> Any:
    """The Python object for an audio object's handle (the handle if it is gone)."""
    with _lock:
        obj = _objects.get(handle.raw)
        if obj is not None:
            return obj
    entry = _CLASSES.get(handle.kind)
    if entry is None:
        return handle
    core = entry[0].resolve(handle)
    return handle if core is None else _wrap(entry[1], core)


def _from_core_handle_any(handle: _core.Handle) -> Any:
    if handle.kind == "AudioStream":
        from sipsimple.streams.rtp.audio import _from_core_handle as stream_from_handle

        return stream_from_handle(handle)
    return _from_core_handle(handle)


def _application_voice_mixer() -> Optional[AudioMixer]:
    return AudioMixer.voice()


def _application_alert_mixer() -> Optional[AudioMixer]:
    return AudioMixer.alert()


def _application_voice_bridge() -> Optional[AudioBridge]:
    """The application's voice bridge (holding the voice device), ``None`` while stopped."""
    core = _core.CoreAudioBridge.voice()
    return _wrap_optional(AudioBridge, core)  # type: ignore[no-any-return]


def _application_alert_bridge() -> Optional[AudioBridge]:
    """The application's alert bridge (holding the alert device), ``None`` while stopped."""
    core = _core.CoreAudioBridge.alert()
    return _wrap_optional(AudioBridge, core)  # type: ignore[no-any-return]


def _application_voice_device() -> Optional[AudioDevice]:
    """The application's voice device, ``None`` while stopped."""
    core = _core.CoreAudioDevice.voice()
    return _wrap_optional(AudioDevice, core)  # type: ignore[no-any-return]


def _application_alert_device() -> Optional[AudioDevice]:
    """The application's alert device, ``None`` while stopped."""
    core = _core.CoreAudioDevice.alert()
    return _wrap_optional(AudioDevice, core)  # type: ignore[no-any-return]
