"""Desktop sharing: RFB (the VNC protocol) carried over MSRP, with
:class:`DesktopSharingStream` and the handlers that produce and consume
its RFB data.

::

    viewer = InternalVNCViewerHandler()
    stream = DesktopSharingStream(account, viewer)
    session.connect("sip:bob@example.com", streams=[stream])
    viewer.send(b"RFB 003.008\\n")  # queued until the stream starts

No standard defines desktop sharing over MSRP: the stream is an
``m=application`` MSRP m-line accepting ``application/x-rfb`` whose
``a=rfbsetup`` says which side views (``active``) and which side shares
its screen (``passive``). The handlers:

* :class:`InternalVNCViewerHandler` and :class:`InternalVNCServerHandler`:
  the application views or shares its screen. It sends RFB bytes with
  ``send(data)`` and gets the peer's as ``DesktopSharingStreamGotData``
  notifications (sender: the handler; ``data``, the bytes).
* :class:`ExternalVNCViewerHandler`: listens on a TCP address at once
  (:attr:`~ExternalVNCViewerHandler.address`); once the stream starts a VNC
  viewer must connect within ``connect_timeout`` seconds, and it is
  bridged to the stream.
* :class:`ExternalVNCServerHandler`: once the stream starts, connects to a
  VNC server that already listens, and bridges it to the stream.

When an external handler cannot connect or its connection breaks, it
posts ``DesktopSharingHandlerDidFail`` (``context``: ``"connecting"``,
``"reading"`` or ``"sending"``; ``failure``; ``reason``) and its stream
fails. A handler serves one stream. A stream offered by the peer comes
with an internal handler of the role the offer asks for; set
:attr:`DesktopSharingStream.handler` before accepting to use another.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any, Optional, Union

from sipsimple import _core
from sipsimple._objects import CoreObject
from sipsimple.streams.msrp import MSRPStreamBase, MSRPStreamError

if TYPE_CHECKING:
    from sipsimple.account import Account, BonjourAccount

__all__ = [
    "DesktopSharingStream",
    "DesktopSharingHandler",
    "DesktopSharingError",
    "VNCConnectionError",
    "InternalVNCViewerHandler",
    "InternalVNCServerHandler",
    "ExternalVNCViewerHandler",
    "ExternalVNCServerHandler",
]


class DesktopSharingError(MSRPStreamError):
    """A desktop sharing operation that cannot be done: a handler used by
    another stream, of the wrong role, or set once the stream started."""


class VNCConnectionError(Exception):
    """The connection with an external VNC program failed (the ``failure``
    of ``DesktopSharingHandlerDidFail`` names it)."""


_lock = threading.RLock()
_handlers: weakref.WeakValueDictionary[int, DesktopSharingHandler] = weakref.WeakValueDictionary()


class DesktopSharingHandler(CoreObject):
    """What produces and consumes the RFB data of a desktop sharing stream
    (the original's ``IDesktopSharingHandler``); one of the four
    subclasses. ``type`` is ``"active"`` for a viewer, ``"passive"`` for a
    server."""

    __slots__ = ("_core_handler", "__weakref__")

    _core_handler: Any

    def _adopt(self, core: Any) -> None:
        self._core_handler = core
        with _lock:
            _handlers[core.handle.raw] = self

    @property
    def _handle(self) -> _core.Handle:
        handle: _core.Handle = self._core_handler.handle
        return handle

    @property
    def type(self) -> str:
        """``"active"`` for a viewer, ``"passive"`` for a server."""
        handler_type: str = self._core_handler.type
        return handler_type

    def __repr__(self) -> str:
        return f"<{type(self).__name__} handle={self._core_handler.handle.raw:#x}>"


class _InternalHandler(DesktopSharingHandler):
    __slots__ = ()

    def send(self, data: bytes) -> None:
        """Sends RFB bytes to the peer (one MSRP message; queued until the
        stream starts). :class:`DesktopSharingError` when the handler
        serves no stream or the stream ended."""
        try:
            self._core_handler.send(bytes(data))
        except RuntimeError as e:
            raise DesktopSharingError(str(e)) from e


class InternalVNCViewerHandler(_InternalHandler):
    """The application views the peer's screen: it gets the server's RFB
    data as ``DesktopSharingStreamGotData`` and answers with :meth:`send`."""

    __slots__ = ()

    def __init__(self) -> None:
        self._adopt(_core.CoreDesktopSharingHandler.internal_viewer())


class InternalVNCServerHandler(_InternalHandler):
    """The application shares its screen: it sends RFB data with
    :meth:`send` and gets the viewer's as ``DesktopSharingStreamGotData``."""

    __slots__ = ()

    def __init__(self) -> None:
        self._adopt(_core.CoreDesktopSharingHandler.internal_server())


class ExternalVNCViewerHandler(DesktopSharingHandler):
    """Listens on ``address`` now (port 0: the system picks; see
    :attr:`address`) and, once the stream starts, accepts one connection
    from a VNC viewer within ``connect_timeout`` seconds and bridges it to
    the stream. :class:`ValueError` when the address cannot be listened
    on."""

    __slots__ = ()

    def __init__(self, address: tuple[str, int] = ("localhost", 0), connect_timeout: float = 3) -> None:
        host, port = address
        self._adopt(_core.CoreDesktopSharingHandler.external_viewer(host, int(port), float(connect_timeout)))

    @property
    def address(self) -> tuple[str, int]:
        """The ``(ip, port)`` listened on."""
        address: tuple[str, int] = self._core_handler.address
        return address

    @property
    def connect_timeout(self) -> float:
        """Seconds a VNC viewer has to connect once the stream starts."""
        seconds: float = self._core_handler.connect_timeout
        return seconds


class ExternalVNCServerHandler(DesktopSharingHandler):
    """Once the stream starts, connects to the VNC server at ``address``
    (which must already listen), giving up after ``connect_timeout``
    seconds, and bridges it to the stream. :class:`ValueError` for an
    empty host or port 0."""

    __slots__ = ()

    def __init__(self, address: tuple[str, int], connect_timeout: float = 3) -> None:
        host, port = address
        self._adopt(_core.CoreDesktopSharingHandler.external_server(host, int(port), float(connect_timeout)))

    @property
    def address(self) -> tuple[str, int]:
        """The ``(host, port)`` connected to."""
        address: tuple[str, int] = self._core_handler.address
        return address

    @property
    def connect_timeout(self) -> float:
        """Seconds the connection may take once the stream starts."""
        seconds: float = self._core_handler.connect_timeout
        return seconds


_HANDLER_CLASSES: dict[str, type[DesktopSharingHandler]] = {
    "InternalVNCViewerHandler": InternalVNCViewerHandler,
    "InternalVNCServerHandler": InternalVNCServerHandler,
    "ExternalVNCViewerHandler": ExternalVNCViewerHandler,
    "ExternalVNCServerHandler": ExternalVNCServerHandler,
}


def _wrap_handler(core: Any) -> DesktopSharingHandler:
    """The one Python object for a core handler (created on first use)."""
    with _lock:
        obj = _handlers.get(core.handle.raw)
        if obj is None:
            cls = _HANDLER_CLASSES[core.kind]
            obj = cls.__new__(cls)
            obj._adopt(core)
        return obj


class DesktopSharingStream(MSRPStreamBase):
    """A desktop sharing stream: RFB data between its :attr:`handler` and
    the peer's (see the module documentation).
    ``DesktopSharingStream(account, handler)`` creates the core stream at
    once; ``DesktopSharingStream(handler=handler)`` gets it when offered."""

    type = "desktop-sharing"
    priority = 1
    media_type = "application"
    accept_types = ["application/x-rfb"]
    accept_wrapped_types = None

    _core_class = _core.CoreDesktopSharingStream

    def __init__(
        self, account: Union[Account, BonjourAccount, None] = None, handler: Optional[DesktopSharingHandler] = None
    ) -> None:
        if handler is None:
            raise ValueError("a desktop sharing stream needs a handler")
        if not isinstance(handler, DesktopSharingHandler):
            raise TypeError(f"{handler!r} is no desktop sharing handler")
        self._pending_handler: Optional[DesktopSharingHandler] = handler
        super().__init__(account)

    def _new_core(self, account: _core.Handle) -> Any:
        handler = self._pending_handler
        assert handler is not None
        try:
            return _core.CoreDesktopSharingStream.new(account, handler._core_handler)
        except RuntimeError as e:
            raise DesktopSharingError(str(e)) from e

    @property
    def handler(self) -> DesktopSharingHandler:
        """What produces and consumes the RFB data. Set it before the
        stream starts (an incoming stream comes with an internal handler
        of the role the offer asks for): :class:`DesktopSharingError` for a
        handler of the wrong role or used by another stream, or once the
        stream started."""
        if self._core_stream is None:
            handler = self._pending_handler
            assert handler is not None
            return handler
        return _wrap_handler(self._core_stream.handler)

    @handler.setter
    def handler(self, handler: DesktopSharingHandler) -> None:
        if not isinstance(handler, DesktopSharingHandler):
            raise TypeError(f"{handler!r} is no desktop sharing handler")
        if self._core_stream is None:
            self._pending_handler = handler
            return
        try:
            self._core_stream.set_handler(handler._core_handler)
        except (ValueError, RuntimeError) as e:
            raise DesktopSharingError(str(e)) from e


def _from_core_handle(handle: _core.Handle) -> Any:
    """The Python object for a desktop sharing stream or handler handle
    (the handle if it is gone)."""
    if handle.kind == "DesktopSharingHandler":
        handler = _core.CoreDesktopSharingHandler.resolve(handle)
        return handle if handler is None else _wrap_handler(handler)
    core = _core.CoreDesktopSharingStream.resolve(handle)
    if core is None:
        return handle
    return DesktopSharingStream._wrap(core)
