import os
from typing import ClassVar
from sipsimple.audio import AudioBridge, AudioMixer
from sipsimple.streams.rtp import RTPStream

__all__ = ['AudioStream']

class AudioStream(RTPStream):
    """One RTP audio stream (see the module documentation)."""
    type: ClassVar[str]
    priority: ClassVar[int]
    @property
    def mixer(self) -> AudioMixer | None:
        """The voice mixer the stream plays into (``None`` while the application is stopped)."""
    @property
    def consumer_slot(self) -> int | None:
        """The voice mixer slot the stream consumes (what it sends), once initialized."""
    @property
    def producer_slot(self) -> int | None:
        """The voice mixer slot the stream produces (what it received), once initialized."""
    @property
    def bridge(self) -> AudioBridge:
        """The stream's own :class:`~sipsimple.audio.AudioBridge`: it holds a
        voice :class:`~sipsimple.audio.AudioDevice` and, while the stream
        runs, the stream itself, so its members hear the peer and the peer
        hears them. ``RuntimeError`` before the stream is initialized and
        after it ended."""
    @property
    def recording_filename(self) -> str | None:
        """The WAV file being recorded, if any."""
    @property
    def recording_active(self) -> bool:
        """True while recording."""
    def send_dtmf(self, digit: str) -> None:
        """Sends one DTMF digit (``0-9``, ``*``, ``#``, ``A-D``) as an RFC 4733
        telephone event; the peer posts ``AudioStreamGotDTMF``. ``ValueError``
        for another character, ``RuntimeError`` unless the stream is started
        and the peer accepted telephone events."""
    def start_recording(self, filename: str | os.PathLike[str] | None = None) -> None:
        """Records the call (what the peer sends) into a 16-bit mono WAV file
        at the mixer rate. ``filename=None`` names the file after the
        stream's account and the time, in the ``audio.recordings_directory``
        setting (or the current directory). Posts
        ``AudioStreamWillStartRecordingAudio`` and
        ``AudioStreamDidStartRecordingAudio`` (``filename``, the absolute
        path). ``RuntimeError`` unless the stream is initialized or while it
        records already."""
    def stop_recording(self) -> None:
        """Completes the recording: posts ``AudioStreamWillStopRecordingAudio``
        and ``AudioStreamDidStopRecordingAudio``. Does nothing when not
        recording. The session's end stops it too."""
