import os
from collections.abc import Iterator
from sipsimple._objects import CoreObject
from sipsimple.notification import Notification
from sipsimple.streams.rtp.audio import AudioStream
from typing import Any, Protocol

__all__ = ['IAudioPort', 'AudioMixer', 'AudioDevice', 'AudioBridge', 'AudioConference', 'WavePlayer', 'WavePlayerError', 'WaveRecorder']

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

class AudioMixer(CoreObject):
    """A mixer on a sound device (``SIPApplication.voice_audio_mixer``,
    ``alert_audio_mixer``). Mixers are made by the application."""
    def __init__(self) -> None: ...
    @classmethod
    def voice(cls) -> AudioMixer | None:
        """The voice mixer, ``None`` while the application is stopped."""
    @classmethod
    def alert(cls) -> AudioMixer | None:
        """The alert mixer, ``None`` while the application is stopped."""
    @property
    def sample_rate(self) -> int:
        """The sample rate (the ``audio.sample_rate`` setting at start)."""
    @property
    def input_device(self) -> str | None:
        """The input device setting (``None``: no input)."""
    @property
    def output_device(self) -> str | None:
        """The output device setting (``None``: no output)."""
    @property
    def real_input_device(self) -> str | None:
        """The input device in use (``system_default`` resolved)."""
    @property
    def real_output_device(self) -> str | None:
        """The output device in use (``system_default`` resolved)."""
    @property
    def muted(self) -> bool:
        """Whether the input is muted."""
    @muted.setter
    def muted(self, muted: bool) -> None: ...
    @property
    def running(self) -> bool:
        """True while the mixer ticks (until the application stopped)."""

class _Port(CoreObject):
    """The attributes every port object has."""
    @property
    def mixer(self) -> AudioMixer | None:
        """The mixer of the port."""
    @property
    def consumer_slot(self) -> int | None:
        """The slot it consumes from, ``None`` if it consumes nothing."""
    @property
    def producer_slot(self) -> int | None:
        """The slot it produces on, ``None`` if it produces nothing."""

class AudioDevice(_Port):
    """The sound device of ``mixer`` as a port (the voice and alert bridges
    hold one each; every audio stream's bridge holds its own).
    ``input_muted`` stops it producing, ``output_muted`` consuming."""
    def __init__(self, mixer: AudioMixer | None, input_muted: bool = False, output_muted: bool = False) -> None: ...
    @property
    def input_muted(self) -> bool:
        """Whether it does not produce (posts ``AudioPortDidChangeSlots`` when changed)."""
    @input_muted.setter
    def input_muted(self, muted: bool) -> None: ...
    @property
    def output_muted(self) -> bool:
        """Whether it does not consume (posts ``AudioPortDidChangeSlots`` when changed)."""
    @output_muted.setter
    def output_muted(self, muted: bool) -> None: ...

class AudioBridge(_Port):
    """Connects every producer in it to every other member's consumer (a
    port never hears itself). A bridge is a port too and nests (no
    cycles). Members are held weakly: a port that goes away leaves."""
    def __init__(self, mixer: AudioMixer | None) -> None: ...
    def add(self, port: IAudioPort) -> None:
        """Connects ``port`` with every member (adding a member twice does
        nothing). ``ValueError`` for a port of another mixer or the bridge
        itself, ``RuntimeError`` for a stopped bridge or an audio stream
        that is not initialized."""
    def remove(self, port: IAudioPort) -> None:
        """Disconnects ``port``; ``ValueError`` if it is not a member."""
    def __contains__(self, port: object) -> bool: ...
    def __iter__(self) -> Iterator[Any]: ...
    def stop(self) -> None:
        """Disconnects every member; the bridge is unusable afterwards."""

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
    def __init__(self, mixer: AudioMixer | None, filename: str | os.PathLike[str], volume: int = 100, loop_count: int = 1, pause_time: float = 0, initial_play: bool = True) -> None: ...
    @property
    def filename(self) -> str:
        """The file played."""
    @filename.setter
    def filename(self, filename: str | os.PathLike[str]) -> None: ...
    @property
    def volume(self) -> int:
        """Volume, 0-200."""
    @volume.setter
    def volume(self, volume: int) -> None: ...
    @property
    def loop_count(self) -> int:
        """Plays per start; 0 is forever."""
    @loop_count.setter
    def loop_count(self, loop_count: int) -> None: ...
    @property
    def pause_time(self) -> float:
        """Seconds of silence between plays."""
    @pause_time.setter
    def pause_time(self, pause_time: float) -> None: ...
    @property
    def initial_play(self) -> bool:
        """Whether the first play starts at once."""
    @initial_play.setter
    def initial_play(self, initial_play: bool) -> None: ...
    @property
    def is_active(self) -> bool:
        """Playing, or waiting between plays."""
    def start(self) -> None:
        """Starts playing; ``RuntimeError`` if it is active already."""
    def stop(self) -> None:
        """Stops at once (``WavePlayerDidEnd`` follows if it was active)."""
    def play(self) -> _PlayOperation:
        """Starts playing and returns an object whose ``wait(timeout=None)``
        blocks until the playback ended (:class:`WavePlayerError` if the
        file could not be played)."""

class _PlayOperation:
    """The pending playback of :meth:`WavePlayer.play`."""
    def __init__(self, player: WavePlayer) -> None: ...
    def handle_notification(self, notification: Notification) -> None: ...
    def wait(self, timeout: float | None = None) -> None:
        """Blocks until the playback ended; ``TimeoutError`` after ``timeout``
        seconds, :class:`WavePlayerError` if the file could not be played."""

class WaveRecorder(_Port):
    """Records what it consumes into a 16-bit mono WAV file at the mixer
    rate; missing directories are created on :meth:`start`. Nothing is
    written unless it is in an :class:`AudioBridge`. Restarting it with the
    same ``filename`` overwrites the file."""
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
    def start(self) -> None:
        """Creates the file and starts writing."""
    def stop(self) -> None:
        """Stops and completes the file."""

class AudioConference(CoreObject):
    """Mixes local audio between audio streams on the voice mixer: every
    participant hears every other and the local device. :attr:`bridge`
    takes players (heard by everybody) and recorders (recording everybody).
    :meth:`hold` takes the local device out (the streams stay as they are),
    :meth:`unhold` brings it back."""
    def __init__(self) -> None: ...
    @property
    def bridge(self) -> AudioBridge:
        """The conference's bridge."""
    @property
    def on_hold(self) -> bool:
        """Whether the local device is out of the conference."""
    @property
    def streams(self) -> list[AudioStream]:
        """The member streams (a copy)."""
    def add(self, stream: AudioStream) -> None:
        """Adds an audio stream (started, so that it has a bridge)."""
    def remove(self, stream: AudioStream) -> None:
        """Removes an audio stream; ``ValueError`` if it is not a member."""
    def hold(self) -> None:
        """Takes the local device out of the conference."""
    def unhold(self) -> None:
        """Brings the local device back."""
