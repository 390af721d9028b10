"""Media streams: the :class:`IMediaStream` contract, the
:data:`MediaStreamRegistry` of stream types and the stream classes.

As in the original middleware, stream classes register themselves: a class
whose metaclass is :class:`MediaStreamType` (every :class:`IMediaStream`
subclass) and that defines ``type`` and ``priority`` is added to
:data:`MediaStreamRegistry`, which keeps them in descending priority and
exposes each as an attribute (``MediaStreamRegistry.AudioStream``)::

    from sipsimple.streams import MediaStreamRegistry
    from sipsimple.streams.rtp.audio import AudioStream

    assert MediaStreamRegistry.get("audio") is AudioStream

The streams the core implements are :class:`~sipsimple.streams.rtp.audio.AudioStream`
(RTP audio) and :class:`~sipsimple.streams.msrp.chat.ChatStream` (MSRP
chat). Incoming offers are matched against the core's own registry:
a class registered here from Python is listed but is not asked to answer
incoming m-lines.
"""

from __future__ import annotations

from abc import ABCMeta
from collections.abc import Iterator
from operator import attrgetter
from typing import Any, ClassVar, Optional

__all__ = [
    "StreamError",
    "InvalidStreamError",
    "UnknownStreamError",
    "IMediaStream",
    "MediaStreamRegistry",
    "MediaStreamType",
    "AudioStream",
    "ChatStream",
]


class StreamError(Exception):
    """Base class of the stream errors."""


class InvalidStreamError(StreamError):
    """A stream object cannot be used here (wrong type, another account's...)."""


class UnknownStreamError(StreamError):
    """No stream type has this name."""


class _StreamDescriptor:
    """``MediaStreamRegistry.<Type>Stream``: the class registered for a type."""

    def __init__(self, type: str) -> None:
        self.type = type

    def __get__(self, obj: Any, owner: Any) -> Any:
        return self if obj is None else obj.get(self.type)

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError("cannot set attribute")

    def __delete__(self, obj: Any) -> None:
        raise AttributeError("cannot delete attribute")


class _MediaStreamRegistry:
    """The stream types, highest ``priority`` first."""

    def __init__(self) -> None:
        self.__types__: list[type[IMediaStream]] = []

    def __iter__(self) -> Iterator[type[IMediaStream]]:
        return iter(list(self.__types__))

    def add(self, cls: type[IMediaStream]) -> None:
        """Registers ``cls`` (it needs ``type`` and ``priority``; registering
        a class twice does nothing)."""
        if cls.type is None or cls.priority is None or cls in self.__types__:
            return
        self.__types__.append(cls)
        self.__types__.sort(key=attrgetter("priority"), reverse=True)
        name = cls.type.title().translate(dict.fromkeys(map(ord, " -_"), None)) + "Stream"
        setattr(type(self), name, _StreamDescriptor(cls.type))

    def get(self, type: str) -> type[IMediaStream]:
        """The class registered for ``type``; :class:`UnknownStreamError` if none."""
        for cls in self.__types__:
            if cls.type == type:
                return cls
        raise UnknownStreamError(f"unknown stream type: {type}")


#: The registry of stream types (a single instance, as in the original).
MediaStreamRegistry = _MediaStreamRegistry()


class MediaStreamType(ABCMeta):
    """Metaclass of the stream classes: adds each one that defines ``type``
    and ``priority`` to :data:`MediaStreamRegistry`."""

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> None:
        super().__init__(name, bases, namespace)
        MediaStreamRegistry.add(cls)  # type: ignore[arg-type]


class IMediaStream(metaclass=MediaStreamType):
    """The contract between a Session and its streams. ``type`` names the
    stream type (``"audio"``) and ``priority`` orders the types (higher is
    asked first for an incoming m-line); ``hold_supported``,
    ``on_hold_by_local``, ``on_hold_by_remote`` and ``on_hold`` give the
    hold state. The session drives the stream; applications only create
    streams and pass them to :meth:`Session.connect
    <sipsimple.session.Session.connect>` or :meth:`Session.accept
    <sipsimple.session.Session.accept>`.

    Every stream posts ``MediaStreamDidInitialize`` (or ``MediaStreamDidFail``),
    ``MediaStreamDidStart`` (or ``MediaStreamDidFail``), then
    ``MediaStreamWillEnd`` and ``MediaStreamDidEnd``, with itself as sender.
    """

    type: ClassVar[Optional[str]] = None
    priority: ClassVar[Optional[int]] = None

    @property
    def hold_supported(self) -> bool:
        """Whether the stream supports hold."""
        return False

    @property
    def on_hold_by_local(self) -> bool:
        """Held by the local party."""
        return False

    @property
    def on_hold_by_remote(self) -> bool:
        """Held by the remote party."""
        return False

    @property
    def on_hold(self) -> bool:
        """``on_hold_by_local or on_hold_by_remote``."""
        return self.on_hold_by_local or self.on_hold_by_remote


# The stream modules register their classes on import (as in the original).
from sipsimple.streams import rtp  # noqa: E402
from sipsimple.streams.rtp.audio import AudioStream  # noqa: E402
from sipsimple.streams import msrp  # noqa: E402
from sipsimple.streams.msrp.chat import ChatStream  # noqa: E402
