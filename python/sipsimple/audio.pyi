import os
from collections.abc import Iterator
from sipsimple.notification import Notification
from typing import Any, Protocol

__all__ = ['IAudioPort', 'AudioMixer', 'AudioBridge', 'AudioConference', 'WavePlayer', 'WavePlayerError', 'WaveRecorder']

class WavePlayerError(Exception):
    """A WAV file could not be played."""

class IAudioPort(Protocol):
    """Anything that produces or consumes audio on a mixer."""
    @property
    def mixer(self) -> AudioMixer | None:
        """The mixer of the port."""
    @property
    def consumer_slot(self) -> int | None:
        """The slot it consumes from, ``None`` if it consumes nothing."""
    @property
    def producer_slot(self) -> int | None:
        """The slot it produces on, ``None`` if it produces nothing."""

class AudioMixer:
    """The application's voice mixer (one instance per application run).
    ``sample_rate`` is the ``audio.sample_rate`` setting at start."""
    sample_rate: int
    def __init__(self, instance_id: int, sample_rate: int) -> None: ...
    @classmethod
    def voice(cls) -> AudioMixer | None:
        """The running voice mixer, ``None`` while the application is stopped."""
    @property
    def running(self) -> bool:
        """True while this mixer runs."""

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
    mixer: AudioMixer
    filename: str
    volume: int
    loop_count: int
    pause_time: float
    initial_play: bool
    def __init__(self, mixer: AudioMixer | None, filename: str | os.PathLike[str], volume: int = 100, loop_count: int = 1, pause_time: float = 0, initial_play: bool = True) -> None: ...
    @property
    def is_active(self) -> bool:
        """Playing, or waiting between plays."""
    @property
    def consumer_slot(self) -> int | None:
        """A player consumes nothing: ``None``."""
    @property
    def producer_slot(self) -> int | None:
        """The slot the player produces on."""
    def start(self) -> None:
        """Starts playing; ``RuntimeError`` if it is active already."""
    def stop(self) -> None:
        """Stops at once (``WavePlayerDidEnd`` follows if it was active)."""
    def play(self) -> _PlayOperation:
        """Starts playing and returns an object whose ``wait(timeout=None)``
        blocks until the playback ended (it raises :class:`WavePlayerError`
        if the file could not be played)."""

class _PlayOperation:
    """The pending playback of :meth:`WavePlayer.play`."""
    def __init__(self, player: WavePlayer) -> None: ...
    def handle_notification(self, notification: Notification) -> None: ...
    def wait(self, timeout: float | None = None) -> None:
        """Blocks until the playback ended; ``TimeoutError`` after ``timeout``
        seconds, :class:`WavePlayerError` if the file could not be played."""

class WaveRecorder:
    """Records what it consumes into a 16-bit mono WAV file at the mixer
    rate; missing directories are created on :meth:`start`. Nothing is
    written unless it is in an :class:`AudioBridge`. Restarting it with the
    same ``filename`` overwrites the file."""
    mixer: AudioMixer
    def __init__(self, mixer: AudioMixer | None, filename: str | os.PathLike[str]) -> None: ...
    @property
    def filename(self) -> str:
        """The file written; change it (while stopped) to keep the previous recording."""
    @filename.setter
    def filename(self, filename: str | os.PathLike[str]) -> None: ...
    @property
    def is_active(self) -> bool:
        """Recording."""
    @property
    def duration(self) -> float:
        """Seconds of audio written since :meth:`start`."""
    @property
    def consumer_slot(self) -> int | None:
        """The slot the recorder consumes from."""
    @property
    def producer_slot(self) -> int | None:
        """A recorder produces nothing: ``None``."""
    def start(self) -> None:
        """Creates the file and starts writing."""
    def stop(self) -> None:
        """Stops and completes the file."""

class AudioBridge:
    """Connects every producer in it to every other member's consumer (a
    port never hears itself). A bridge is a port too and can be nested in
    another one (no cycles). Members are held by weak references: a port
    that goes away leaves the bridge."""
    mixer: AudioMixer
    def __init__(self, mixer: AudioMixer | None) -> None: ...
    @property
    def consumer_slot(self) -> int | None:
        """The slot whose audio every member hears."""
    @property
    def producer_slot(self) -> int | None:
        """The slot carrying the mix of every member."""
    def __contains__(self, port: object) -> bool: ...
    def __iter__(self) -> Iterator[Any]: ...
    def add(self, port: IAudioPort) -> None:
        """Connects ``port`` with every member. ``ValueError`` if it is on
        another mixer; adding a member twice does nothing."""
    def remove(self, port: IAudioPort) -> None:
        """Disconnects ``port``; ``ValueError`` if it is not a member."""

class AudioConference:
    """Mixes local audio between audio streams: every participant hears
    every other. :attr:`bridge` takes players (heard by everybody) and
    recorders (recording everybody). :meth:`hold` and :meth:`unhold` take
    the local device out of the conference and back; the core has no sound
    device, so they only change :attr:`on_hold`."""
    bridge: AudioBridge
    on_hold: bool
    def __init__(self) -> None: ...
    @property
    def streams(self) -> list[Any]:
        """The member streams (a copy)."""
    def add(self, stream: Any) -> None:
        """Adds an audio stream; ``ValueError`` if it is a member already."""
    def remove(self, stream: Any) -> None:
        """Removes an audio stream; ``ValueError`` if it is not a member."""
    def hold(self) -> None:
        """Takes the local party out of the conference (see the class documentation)."""
    def unhold(self) -> None:
        """Brings the local party back."""
