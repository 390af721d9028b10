from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Protocol
from sipsimple._singleton import Singleton

__all__ = ['IObserver', 'NotificationCenter', 'NotificationData', 'Notification']

class IObserver(Protocol):
    """What an observer implements."""
    def handle_notification(self, notification: Notification) -> None:
        """Called on the delivery thread for each matching notification."""

class NotificationData:
    """The data of a notification: keyword arguments become attributes."""
    def __init__(self, **kwargs: Any) -> None: ...
    def __getattr__(self, name: str) -> Any: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

class Notification:
    """One notification: ``name``, ``sender`` and ``data``.

    ``data.timestamp`` (a naive local :class:`datetime.datetime`) is the
    moment it was posted, also available as :attr:`datetime`.
    """
    name: str
    sender: Any
    data: NotificationData
    def __init__(self, name: str, sender: Any = None, data: NotificationData | None = None) -> None: ...
    @property
    def datetime(self) -> datetime | None:
        """When the notification was posted (``data.timestamp``)."""

class NotificationCenter(metaclass=Singleton):
    """The process-wide notification center (a singleton)."""
    def add_observer(self, observer: IObserver, name: str | None = None, sender: Any = None) -> None:
        """Subscribes ``observer`` to notifications named ``name`` posted by
        ``sender`` (``None`` = any). Adding the same subscription twice keeps
        one. ``TypeError`` if ``observer`` has no ``handle_notification``.
        """
    def remove_observer(self, observer: IObserver, name: str | None = None, sender: Any = None) -> None:
        """Removes the subscription made with exactly these arguments;
        ``KeyError`` if there is none."""
    def discard_observer(self, observer: IObserver, name: str | None = None, sender: Any = None) -> None:
        """Like :meth:`remove_observer`, but silent when there is no such subscription."""
    def purge_observer(self, observer: IObserver) -> None:
        """Removes every subscription of ``observer``."""
    def post_notification(self, name: str, sender: Any = None, data: NotificationData | Mapping[str, Any] | None = None) -> None:
        """Posts a notification; it is delivered on the delivery thread after
        every notification posted before it. ``data`` is a
        :class:`NotificationData` (or a mapping of its fields); a
        ``timestamp`` is added unless given.
        """
    def _flush(self, timeout: float = 10.0) -> bool:
        """Waits until every notification posted before the call has been
        delivered (at most ``timeout`` seconds); ``False`` on timeout."""
