from sipsimple._objects import CoreObject
from sipsimple.account import Account, BonjourAccount
from sipsimple.streams import IMediaStream, StreamError
from typing import ClassVar

__all__ = ['MSRPStreamError', 'MSRPStreamBase']

class MSRPStreamError(StreamError):
    """A failure of an MSRP stream operation."""

class MSRPStreamBase(CoreObject, IMediaStream):
    """What every MSRP stream has. Subclasses define ``type``,
    ``priority``, ``media_type`` (``"message"`` or ``"application"``),
    ``accept_types`` and ``accept_wrapped_types`` (the MIME types accepted
    plain and inside ``message/cpim``) and the core class that implements
    them."""
    media_type: ClassVar[str | None]
    accept_types: ClassVar[list[str] | None]
    accept_wrapped_types: ClassVar[list[str] | None]
    use_msrp_session: ClassVar[bool]
    direction: str
    def __init__(self, account: Account | BonjourAccount | None = None, direction: str = 'sendrecv') -> None: ...
    @property
    def account(self) -> Account | BonjourAccount | None:
        """The account of the stream (of its session), once known."""
    @property
    def local_uri(self) -> str | None:
        """Our MSRP URI (``msrp://host:port/id;tcp``), once initialized."""
    @property
    def remote_path(self) -> list[str]:
        """The peer's MSRP path (its own URI last), once negotiated."""
    @property
    def cpim_enabled(self) -> bool | None:
        """Whether messages are wrapped in CPIM (both sides accept
        ``message/cpim``); ``None`` until negotiated."""
