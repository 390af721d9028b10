from abc import ABCMeta
from collections.abc import Iterator
from sipsimple.streams.msrp.chat import ChatStream as ChatStream
from sipsimple.streams.rtp.audio import AudioStream as AudioStream
from typing import Any, ClassVar

__all__ = ['StreamError', 'InvalidStreamError', 'UnknownStreamError', 'IMediaStream', 'MediaStreamRegistry', 'MediaStreamType', 'AudioStream', 'ChatStream']

class StreamError(Exception):
    """Base class of the stream errors."""
class InvalidStreamError(StreamError):
    """A stream object cannot be used here (wrong type, another account's...)."""
class UnknownStreamError(StreamError):
    """No stream type has this name."""

class _StreamDescriptor:
    """``MediaStreamRegistry.<Type>Stream``: the class registered for a type."""
    type: str
    def __init__(self, type: str) -> None: ...
    def __get__(self, obj: Any, owner: Any) -> Any: ...
    def __set__(self, obj: Any, value: Any) -> None: ...
    def __delete__(self, obj: Any) -> None: ...

class _MediaStreamRegistry:
    AudioStream: _StreamDescriptor
    ChatStream: _StreamDescriptor
    DesktopSharingStream: _StreamDescriptor
    FileTransferStream: _StreamDescriptor
    """The stream types, highest ``priority`` first."""
    __types__: list[type[IMediaStream]]
    def __init__(self) -> None: ...
    def __iter__(self) -> Iterator[type[IMediaStream]]: ...
    def add(self, cls: type[IMediaStream]) -> None:
        """Registers ``cls`` (it needs ``type`` and ``priority``; registering
        a class twice does nothing)."""
    def get(self, type: str) -> type[IMediaStream]:
        """The class registered for ``type``; :class:`UnknownStreamError` if none."""

MediaStreamRegistry: _MediaStreamRegistry

class MediaStreamType(ABCMeta):
    """Metaclass of the stream classes: adds each one that defines ``type``
    and ``priority`` to :data:`MediaStreamRegistry`."""
    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> None: ...

class IMediaStream(metaclass=MediaStreamType):
    '''The contract between a Session and its streams. ``type`` names the
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
    '''
    type: ClassVar[str | None]
    priority: ClassVar[int | None]
    @property
    def hold_supported(self) -> bool:
        """Whether the stream supports hold."""
    @property
    def on_hold_by_local(self) -> bool:
        """Held by the local party."""
    @property
    def on_hold_by_remote(self) -> bool:
        """Held by the remote party."""
    @property
    def on_hold(self) -> bool:
        """``on_hold_by_local or on_hold_by_remote``."""
