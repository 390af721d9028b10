"""The application: :class:`SIPApplication`.

Usage::

    from sipsimple.application import SIPApplication
    from sipsimple.storage import FileStorage

    SIPApplication().start(FileStorage("~/.sipclient"))

``start`` loads the configuration and the accounts synchronously (a broken
configuration file raises
:class:`~sipsimple.configuration.ConfigurationError` naming the file and the
line; nothing changes and ``start`` may be called again), then
``SIPApplicationWillStart`` and ``SIPApplicationDidStart`` follow.
``stop`` returns at once after posting ``SIPApplicationWillEnd``;
``SIPApplicationDidEnd`` follows when every component stopped.
"""

from __future__ import annotations

from typing import Any, Optional

from sipsimple import _core
from sipsimple._objects import CoreObject
from sipsimple._singleton import Singleton
from sipsimple.configuration import ConfigurationError
from sipsimple.storage import ISIPSimpleStorage

__all__ = ["SIPApplication", "ConfigurationError"]


class _AudioAttribute:
    """A read-only attribute of the application's audio objects that reads
    the same through the class and the instance
    (``SIPApplication.voice_audio_mixer``), ``None`` while they do not exist."""

    def __init__(self, name: str, doc: str) -> None:
        self._name = name
        self.__doc__ = doc

    def __get__(self, obj: object, owner: Optional[type] = None) -> Any:
        from sipsimple import audio

        return getattr(audio, f"_application_{self._name}")()

    def __set__(self, obj: object, value: object) -> None:
        raise AttributeError("read-only attribute")


class SIPApplication(CoreObject, metaclass=Singleton):
    """The middleware application (a singleton)."""

    __slots__ = ("__weakref__", "__dict__")

    def __init__(self) -> None:
        self._storage: Optional[ISIPSimpleStorage] = None

    @property
    def _handle(self) -> _core.Handle:
        return _core.CoreApplication.handle()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return _core.CoreApplication.running()

    @property
    def storage(self) -> Optional[ISIPSimpleStorage]:
        """The storage given to the last successful :meth:`start`."""
        return self._storage

    def start(self, storage: ISIPSimpleStorage) -> None:
        """Starts the middleware with ``storage``. ``RuntimeError`` if it is
        already running, :class:`ConfigurationError` if the configuration
        cannot be loaded (then it may be retried).
        """
        if not isinstance(storage, ISIPSimpleStorage):
            raise TypeError("storage must be a FileStorage or a MemoryStorage")
        if _core.CoreApplication.running():
            raise RuntimeError("SIPApplication is already running")
        previous = self._storage
        # Set before starting so observers of SIPApplicationWillStart see it.
        self._storage = storage
        try:
            _core.CoreApplication.start(storage._core_storage)
        except BaseException:
            self._storage = previous
            raise

    voice_audio_mixer: _AudioAttribute = _AudioAttribute(
        "voice_mixer",
        """The mixer on the ``audio.input_device`` and ``audio.output_device``
        settings, from ``SIPApplicationWillStart`` until the application
        stopped (``None`` otherwise).""",
    )
    voice_audio_bridge: _AudioAttribute = _AudioAttribute(
        "voice_bridge", "Add ports here to play to the output device or record from the input device."
    )
    voice_audio_device: _AudioAttribute = _AudioAttribute(
        "voice_device", "The voice device, always a member of ``voice_audio_bridge``."
    )
    alert_audio_mixer: _AudioAttribute = _AudioAttribute(
        "alert_mixer", "The mixer on the ``audio.alert_device`` setting (playback only)."
    )
    alert_audio_bridge: _AudioAttribute = _AudioAttribute("alert_bridge", "Add ports here to play on the alert device.")
    alert_audio_device: _AudioAttribute = _AudioAttribute(
        "alert_device", "The alert device, always a member of ``alert_audio_bridge``."
    )

    def engine_addresses(self) -> list[tuple[str, str, int]]:
        """The addresses the SIP engine listens on, as ``(transport, ip,
        port)`` tuples (``transport`` is ``udp``, ``tcp`` or ``tls``; ``ip`` is
        ``0.0.0.0`` or ``::`` when it listens on every interface). The engine
        runs from ``SIPApplicationDidStart`` to ``SIPApplicationWillEnd``;
        the list is empty otherwise.
        """
        return _core.CoreApplication.engine_addresses()

    def stop(self) -> None:
        """Stops the middleware: returns at once, ``SIPApplicationDidEnd``
        follows. ``RuntimeError`` if it is not running.
        """
        _core.CoreApplication.stop()
