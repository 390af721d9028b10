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

from typing import Optional

from sipsimple import _core
from sipsimple._objects import CoreObject
from sipsimple._singleton import Singleton
from sipsimple.configuration import ConfigurationError
from sipsimple.storage import ISIPSimpleStorage

__all__ = ["SIPApplication", "ConfigurationError"]


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
