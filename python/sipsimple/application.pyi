from sipsimple._objects import CoreObject
from sipsimple.audio import AudioBridge, AudioDevice, AudioMixer
from sipsimple.configuration import ConfigurationError as ConfigurationError
from sipsimple.storage import ISIPSimpleStorage
from sipsimple._singleton import Singleton

__all__ = ['SIPApplication', 'ConfigurationError']

class SIPApplication(CoreObject, metaclass=Singleton):
    """The middleware application (a singleton)."""
    def __init__(self) -> None: ...
    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
    @property
    def storage(self) -> ISIPSimpleStorage | None:
        """The storage given to the last successful :meth:`start`."""
    def start(self, storage: ISIPSimpleStorage) -> None:
        """Starts the middleware with ``storage``. ``RuntimeError`` if it is
        already running, :class:`ConfigurationError` if the configuration
        cannot be loaded (then it may be retried).
        """
    voice_audio_mixer: AudioMixer | None
    voice_audio_bridge: AudioBridge | None
    voice_audio_device: AudioDevice | None
    alert_audio_mixer: AudioMixer | None
    alert_audio_bridge: AudioBridge | None
    alert_audio_device: AudioDevice | None
    def engine_addresses(self) -> list[tuple[str, str, int]]:
        """The addresses the SIP engine listens on, as ``(transport, ip,
        port)`` tuples (``transport`` is ``udp``, ``tcp`` or ``tls``; ``ip`` is
        ``0.0.0.0`` or ``::`` when it listens on every interface). The engine
        runs from ``SIPApplicationDidStart`` to ``SIPApplicationWillEnd``;
        the list is empty otherwise.
        """
    def stop(self) -> None:
        """Stops the middleware: returns at once, ``SIPApplicationDidEnd``
        follows. ``RuntimeError`` if it is not running.
        """
