"""The notification system: :class:`NotificationCenter` and its data types.

Observers are objects with a ``handle_notification(notification)`` method.
They subscribe to a notification name and/or a sender (``None`` = any) and
get every matching notification once, on the middleware's notification
delivery thread, in posting order. An observer that raises is logged (logger
``sipsimple.notification``) and the other observers still get the
notification. Observers may add or remove observers, themselves included,
while handling a notification.

Senders and data values are delivered as the very objects that were posted:
core objects arrive as the Python object the application holds (the
:class:`~sipsimple.account.Account` instance, the
:class:`~sipsimple.application.SIPApplication` ...), other Python objects as
themselves. Sender filters match core objects by the object they stand for
and other objects by identity (plain ``str``/``int``/``float``/``bool``
senders by value).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Optional, Protocol, Union

from sipsimple import _core
from sipsimple._objects import to_core
from sipsimple._singleton import Singleton

__all__ = ["IObserver", "NotificationCenter", "NotificationData", "Notification"]

log = logging.getLogger("sipsimple.notification")


class IObserver(Protocol):
    """What an observer implements."""

    def handle_notification(self, notification: Notification) -> None:
        """Called on the delivery thread for each matching notification."""


class NotificationData:
    """The data of a notification: keyword arguments become attributes."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def __getattr__(self, name: str) -> Any:
        # Only reached for missing attributes; gives a helpful message.
        raise AttributeError(f"notification data has no attribute {name!r}")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NotificationData):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]


class Notification:
    """One notification: ``name``, ``sender`` and ``data``.

    ``data.timestamp`` (a naive local :class:`datetime.datetime`) is the
    moment it was posted, also available as :attr:`datetime`.
    """

    __slots__ = ("name", "sender", "data")

    def __init__(self, name: str, sender: Any = None, data: Optional[NotificationData] = None) -> None:
        self.name = name
        self.sender = sender
        self.data = data if data is not None else NotificationData()

    @property
    def datetime(self) -> Optional[datetime]:
        """When the notification was posted (``data.timestamp``)."""
        value = self.data.__dict__.get("timestamp")
        return value if isinstance(value, datetime) else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.sender!r}, {self.data!r})"


def _pairs_as_tuples(value: Any) -> Any:
    """``[address, port]`` lists (a ``lookup_service`` result) become
    ``(address, port)`` tuples, as in the original."""
    if isinstance(value, list) and all(
        isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], int)
        for item in value
    ):
        return [tuple(item) for item in value]
    return value


def _dispatch(observer: IObserver, name: str, sender: Any, data: dict[str, Any]) -> None:
    """Called by the core on the delivery thread for each delivery."""
    if name == "DNSLookupDidSucceed" and "result" in data:
        data = dict(data, result=_pairs_as_tuples(data["result"]))
    elif name.startswith("ChatStream"):
        from sipsimple.streams.msrp import chat

        data = chat._notification_data(name, data)
    notification = Notification(name, sender, NotificationData(**data))
    try:
        observer.handle_notification(notification)
    except Exception:
        log.exception("Exception occurred in observer %r while handling notification %r", observer, name)


class NotificationCenter(metaclass=Singleton):
    """The process-wide notification center (a singleton)."""

    def add_observer(self, observer: IObserver, name: Optional[str] = None, sender: Any = None) -> None:
        """Subscribes ``observer`` to notifications named ``name`` posted by
        ``sender`` (``None`` = any). Adding the same subscription twice keeps
        one. ``TypeError`` if ``observer`` has no ``handle_notification``.
        """
        if not callable(getattr(observer, "handle_notification", None)):
            raise TypeError(f"observer {observer!r} does not implement handle_notification(notification)")
        if name is not None and not isinstance(name, str):
            raise TypeError("name must be a string or None")
        _core.CoreNotificationCenter.add_observer(observer, _dispatch, name, to_core(sender))

    def remove_observer(self, observer: IObserver, name: Optional[str] = None, sender: Any = None) -> None:
        """Removes the subscription made with exactly these arguments;
        ``KeyError`` if there is none."""
        _core.CoreNotificationCenter.remove_observer(observer, name, to_core(sender))

    def discard_observer(self, observer: IObserver, name: Optional[str] = None, sender: Any = None) -> None:
        """Like :meth:`remove_observer`, but silent when there is no such subscription."""
        _core.CoreNotificationCenter.discard_observer(observer, name, to_core(sender))

    def purge_observer(self, observer: IObserver) -> None:
        """Removes every subscription of ``observer``."""
        _core.CoreNotificationCenter.purge_observer(observer)

    def post_notification(
        self,
        name: str,
        sender: Any = None,
        data: Union[NotificationData, Mapping[str, Any], None] = None,
    ) -> None:
        """Posts a notification; it is delivered on the delivery thread after
        every notification posted before it. ``data`` is a
        :class:`NotificationData` (or a mapping of its fields); a
        ``timestamp`` is added unless given.
        """
        if not isinstance(name, str):
            raise TypeError("name must be a string")
        if data is None:
            fields: dict[str, Any] = {}
        elif isinstance(data, NotificationData):
            fields = dict(data.__dict__)
        elif isinstance(data, Mapping):
            fields = dict(data)
        else:
            raise TypeError("data must be a NotificationData, a mapping or None")
        _core.CoreNotificationCenter.post_notification(
            name, to_core(sender), {str(k): to_core(v) for k, v in fields.items()}
        )

    def _flush(self, timeout: float = 10.0) -> bool:
        """Waits until every notification posted before the call has been
        delivered (at most ``timeout`` seconds); ``False`` on timeout. On the
        delivery thread it returns ``True`` at once.
        """
        return _core.CoreNotificationCenter.flush(timeout)
