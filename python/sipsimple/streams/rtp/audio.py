"""The RTP audio stream: :class:`AudioStream`.

::

    stream = AudioStream()
    session.connect("sip:bob@example.com", streams=[stream])

``AudioStream()`` takes no account, as in the original: the core stream is
created for the session's account when the stream is offered
(:meth:`Session.connect <sipsimple.session.Session.connect>`,
:meth:`Session.add_stream <sipsimple.session.Session.add_stream>`).
``AudioStream(account)`` creates it at once, which is needed only to
observe the stream (``add_observer(sender=stream)``) before it is offered.
Incoming streams (``SIPSessionNewIncoming``'s ``data.streams``) exist
already.

The stream is a port of the voice mixer (``consumer_slot`` and
``producer_slot``, once initialized). Its :attr:`~AudioStream.bridge`
holds the stream and a voice :class:`~sipsimple.audio.AudioDevice` (the
sound card, or the null device): add a :class:`~sipsimple.audio.WavePlayer`
to play into the call, a :class:`~sipsimple.audio.WaveRecorder` to record
the call.

Notifications (sender: the stream): ``MediaStreamDidInitialize``,
``MediaStreamDidStart``, ``MediaStreamDidFail`` (``context``, ``reason``),
``MediaStreamWillEnd``, ``MediaStreamDidEnd``;
``AudioStreamDidChangeHoldState`` (``originator``, ``on_hold``),
``AudioStreamWillStartRecordingAudio`` / ``DidStartRecordingAudio`` /
``WillStopRecordingAudio`` / ``DidStopRecordingAudio`` (``filename``),
``AudioStreamDidChangeRTPParameters``, ``AudioStreamGotDTMF`` (``digit``)
and ``AudioStreamDidTimeout``.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional, Union

from sipsimple import _core
from sipsimple.streams.rtp import RTPStream

if TYPE_CHECKING:
    from sipsimple.audio import AudioBridge, AudioMixer

__all__ = ["AudioStream"]


class AudioStream(RTPStream):
    """One RTP audio stream (see the module documentation)."""

    type = "audio"
    priority = 1

    _core_class = _core.CoreAudioStream

    @property
    def mixer(self) -> Optional[AudioMixer]:
        """The voice mixer the stream plays into (``None`` while the application is stopped)."""
        from sipsimple.audio import AudioMixer

        return AudioMixer.voice()

    @property
    def consumer_slot(self) -> Optional[int]:
        """The voice mixer slot the stream consumes (what it sends), once initialized."""
        return None if self._core_stream is None else self._core_stream.slot  # type: ignore[no-any-return]

    @property
    def producer_slot(self) -> Optional[int]:
        """The voice mixer slot the stream produces (what it received), once initialized."""
        return self.consumer_slot

    @property
    def bridge(self) -> AudioBridge:
        """The stream's own :class:`~sipsimple.audio.AudioBridge`: it holds a
        voice :class:`~sipsimple.audio.AudioDevice` and, while the stream
        runs, the stream itself, so its members hear the peer and the peer
        hears them. ``RuntimeError`` before the stream is initialized and
        after it ended."""
        from sipsimple import audio

        core = None if self._core_stream is None else _core.CoreAudioBridge.of_stream(self._core_stream.handle)
        if core is None:
            raise RuntimeError("the audio stream has no bridge: it is not initialized or it ended")
        bridge: AudioBridge = audio._wrap(audio.AudioBridge, core)
        return bridge

    @property
    def recording_filename(self) -> Optional[str]:
        """The WAV file being recorded, if any."""
        return None if self._core_stream is None else self._core_stream.recording_filename  # type: ignore[no-any-return]

    @property
    def recording_active(self) -> bool:
        """True while recording."""
        return self.recording_filename is not None

    def send_dtmf(self, digit: str) -> None:
        """Sends one DTMF digit (``0-9``, ``*``, ``#``, ``A-D``) as an RFC 4733
        telephone event; the peer posts ``AudioStreamGotDTMF``. ``ValueError``
        for another character, ``RuntimeError`` unless the stream is started
        and the peer accepted telephone events."""
        self._started_core().send_dtmf(str(digit))

    def start_recording(self, filename: Union[str, os.PathLike[str], None] = None) -> None:
        """Records the call (what the peer sends) into a 16-bit mono WAV file
        at the mixer rate. ``filename=None`` names the file after the
        stream's account and the time, in the ``audio.recordings_directory``
        setting (or the current directory). Posts
        ``AudioStreamWillStartRecordingAudio`` and
        ``AudioStreamDidStartRecordingAudio`` (``filename``, the absolute
        path). ``RuntimeError`` unless the stream is initialized or while it
        records already."""
        core = self._started_core()
        if filename is None:
            filename = self._default_recording_filename()
        core.start_recording(os.fspath(filename))

    def stop_recording(self) -> None:
        """Completes the recording: posts ``AudioStreamWillStopRecordingAudio``
        and ``AudioStreamDidStopRecordingAudio``. Does nothing when not
        recording. The session's end stops it too."""
        if self._core_stream is not None:
            self._core_stream.stop_recording()

    def _started_core(self) -> Any:
        if self._core_stream is None:
            raise RuntimeError("the audio stream has not been offered in a session yet")
        return self._core_stream

    def _default_recording_filename(self) -> str:
        directory: Any = None
        try:
            from sipsimple.configuration.settings import SIPSimpleSettings

            directory = getattr(SIPSimpleSettings().audio, "recordings_directory", None)
        except Exception:  # settings not loaded: fall back to the current directory
            directory = None
        directory = os.path.expanduser(str(directory)) if directory else os.getcwd()
        account = self.account
        who = str(account.id) if account is not None else "audio"
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return os.path.join(directory, f"{stamp}-{who}.wav")


def _from_core_handle(handle: _core.Handle) -> Any:
    """The Python object for an audio stream handle (the handle if it is gone)."""
    core = _core.CoreAudioStream.resolve(handle)
    if core is None:
        return handle
    return AudioStream._wrap(core)
