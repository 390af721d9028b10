from sipsimple._objects import CoreObject
from sipsimple.account import Account, BonjourAccount
from sipsimple.streams.msrp import MSRPStreamBase, MSRPStreamError

__all__ = ['DesktopSharingStream', 'DesktopSharingHandler', 'DesktopSharingError', 'VNCConnectionError', 'InternalVNCViewerHandler', 'InternalVNCServerHandler', 'ExternalVNCViewerHandler', 'ExternalVNCServerHandler']

class DesktopSharingError(MSRPStreamError):
    """A desktop sharing operation that cannot be done: a handler used by
    another stream, of the wrong role, or set once the stream started."""

class VNCConnectionError(Exception):
    """The connection with an external VNC program failed (the ``failure``
    of ``DesktopSharingHandlerDidFail`` names it)."""

class DesktopSharingHandler(CoreObject):
    """What produces and consumes the RFB data of a desktop sharing stream
    (the original's ``IDesktopSharingHandler``); one of the four
    subclasses. ``type`` is ``"active"`` for a viewer, ``"passive"`` for a
    server."""
    @property
    def type(self) -> str:
        """``"active"`` for a viewer, ``"passive"`` for a server."""

class _InternalHandler(DesktopSharingHandler):
    def send(self, data: bytes) -> None:
        """Sends RFB bytes to the peer (one MSRP message; queued until the
        stream starts). :class:`DesktopSharingError` when the handler
        serves no stream or the stream ended."""

class InternalVNCViewerHandler(_InternalHandler):
    """The application views the peer's screen: it gets the server's RFB
    data as ``DesktopSharingStreamGotData`` and answers with :meth:`send`."""
    def __init__(self) -> None: ...

class InternalVNCServerHandler(_InternalHandler):
    """The application shares its screen: it sends RFB data with
    :meth:`send` and gets the viewer's as ``DesktopSharingStreamGotData``."""
    def __init__(self) -> None: ...

class ExternalVNCViewerHandler(DesktopSharingHandler):
    """Listens on ``address`` now (port 0: the system picks; see
    :attr:`address`) and, once the stream starts, accepts one connection
    from a VNC viewer within ``connect_timeout`` seconds and bridges it to
    the stream. :class:`ValueError` when the address cannot be listened
    on."""
    def __init__(self, address: tuple[str, int] = ('localhost', 0), connect_timeout: float = 3) -> None: ...
    @property
    def address(self) -> tuple[str, int]:
        """The ``(ip, port)`` listened on."""
    @property
    def connect_timeout(self) -> float:
        """Seconds a VNC viewer has to connect once the stream starts."""

class ExternalVNCServerHandler(DesktopSharingHandler):
    """Once the stream starts, connects to the VNC server at ``address``
    (which must already listen), giving up after ``connect_timeout``
    seconds, and bridges it to the stream. :class:`ValueError` for an
    empty host or port 0."""
    def __init__(self, address: tuple[str, int], connect_timeout: float = 3) -> None: ...
    @property
    def address(self) -> tuple[str, int]:
        """The ``(host, port)`` connected to."""
    @property
    def connect_timeout(self) -> float:
        """Seconds the connection may take once the stream starts."""

class DesktopSharingStream(MSRPStreamBase):
    """A desktop sharing stream: RFB data between its :attr:`handler` and
    the peer's (see the module documentation).
    ``DesktopSharingStream(account, handler)`` creates the core stream at
    once; ``DesktopSharingStream(handler=handler)`` gets it when offered."""
    def __init__(self, account: Account | BonjourAccount | None = None, handler: DesktopSharingHandler | None = None) -> None: ...
    @property
    def handler(self) -> DesktopSharingHandler:
        """What produces and consumes the RFB data. Set it before the
        stream starts (an incoming stream comes with an internal handler
        of the role the offer asks for): :class:`DesktopSharingError` for a
        handler of the wrong role or used by another stream, or once the
        stream started."""
    @handler.setter
    def handler(self, handler: DesktopSharingHandler) -> None: ...
