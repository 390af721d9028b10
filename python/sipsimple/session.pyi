from collections.abc import Iterable, Sequence
from datetime import datetime
from sipsimple._objects import CoreObject
from sipsimple._singleton import Singleton
from sipsimple.account import Account, BonjourAccount
from sipsimple.streams import IMediaStream
from typing import Any

__all__ = ['Session', 'SessionManager']

class Session(CoreObject):
    """One INVITE session of ``account`` (an Account or the BonjourAccount),
    in state ``None`` until :meth:`connect`."""
    subject: str | None
    def __init__(self, account: Account | BonjourAccount) -> None: ...
    @property
    def state(self) -> str | None:
        """``None``, ``connecting``, ``incoming``, ``accepting``, ``connected``,
        ``sending_proposal``, ``received_proposal``, ``terminating`` or
        ``terminated``."""
    @property
    def account(self) -> Account | BonjourAccount:
        """The account of the session."""
    @property
    def direction(self) -> str | None:
        """``incoming``, ``outgoing``, or ``None`` before either."""
    @property
    def transport(self) -> str | None:
        """``udp``, ``tcp`` or ``tls``, once the route is known."""
    @property
    def start_time(self) -> datetime | None:
        """When the session started (``SIPSessionDidStart``)."""
    @property
    def stop_time(self) -> datetime | None:
        """When the session ended or failed."""
    @property
    def on_hold(self) -> bool:
        """Some stream is on hold, by either side."""
    @property
    def remote_user_agent(self) -> str | None:
        """The peer's User-Agent (or Server), once known."""
    @property
    def local_identity(self) -> str | None:
        '''Our address (``"Alice" <sip:alice@example.com>``).'''
    @property
    def remote_identity(self) -> str | None:
        """The peer's address, once known."""
    @property
    def streams(self) -> list[IMediaStream]:
        """The active streams."""
    @property
    def proposed_streams(self) -> list[IMediaStream] | None:
        """The streams of the pending offer; ``None`` when none is pending."""
    @property
    def conference(self) -> None:
        """The conference handler (not implemented: ``None``)."""
    @property
    def replaced_session(self) -> None:
        """The session an attended transfer replaces (not implemented: ``None``)."""
    @property
    def transfer_handler(self) -> None:
        """The transfer handler (not implemented: ``None``)."""
    @property
    def transfer_info(self) -> None:
        """The transfer details (not implemented: ``None``)."""
    def connect(self, to_header: Any, routes: Iterable[Any] | None = None, streams: Sequence[IMediaStream] | None = None, is_focus: bool = False, subject: str | None = None) -> None:
        """Calls ``to_header`` (a SIP URI string such as
        ``sip:bob@example.com``, or an object with a ``uri``) offering
        ``streams``; state becomes ``connecting``. Posts
        ``SIPSessionNewOutgoing``, then ``SIPSessionDidStart`` or
        ``SIPSessionDidFail``. ``routes`` is accepted for compatibility but
        not used. ``ValueError`` without streams or for a malformed URI,
        ``RuntimeError`` unless the state is ``None``."""
    def send_ring_indication(self) -> None:
        """Sends 180 Ringing on an incoming session."""
    def accept(self, streams: Sequence[IMediaStream], is_focus: bool = False) -> None:
        """Accepts the incoming session with ``streams``, a subset of the
        proposed streams (the others are refused). ``RuntimeError`` unless
        the state is ``incoming``; ``ValueError`` if none of ``streams`` was
        proposed."""
    def reject(self, code: int = 603, reason: str | None = None) -> None:
        """Rejects the incoming session (486 Busy Here, 603 Decline...);
        ``SIPSessionDidFail`` follows."""
    def accept_proposal(self, streams: Sequence[IMediaStream]) -> None:
        """Accepts the peer's proposal with ``streams`` (the others are refused)."""
    def reject_proposal(self, code: int = 488, reason: str | None = None) -> None:
        """Rejects the peer's proposal."""
    def add_stream(self, stream: IMediaStream) -> None:
        """Proposes one more stream in a re-INVITE (state ``connected``)."""
    def remove_stream(self, stream: IMediaStream) -> None:
        """Removes an active stream by a re-INVITE; the stream ends at once."""
    def cancel_proposal(self) -> None:
        """Cancels our pending proposal (``SIPSessionGotRejectProposal`` with 487)."""
    def hold(self) -> None:
        """Puts the streams on hold by a re-INVITE; ``SIPSessionDidChangeHoldState``
        follows. ``RuntimeError`` unless the session is ``connected`` with streams."""
    def unhold(self) -> None:
        """Takes the streams off hold (see :meth:`hold`)."""
    def end(self) -> None:
        """Ends the session: CANCEL before the answer, a decline while
        incoming, BYE once started. ``SIPSessionWillEnd`` and
        ``SIPSessionDidEnd`` follow (``SIPSessionDidFail`` before it started)."""

class SessionManager(metaclass=Singleton):
    """The registry of sessions (a singleton). The application starts it
    (it serves incoming INVITEs) and stops it (ending every session)."""
    @property
    def sessions(self) -> list[Session]:
        """The sessions neither new nor terminated (a copy)."""
    def start(self) -> None:
        """Does nothing: :class:`~sipsimple.application.SIPApplication` starts the manager."""
    def stop(self) -> None:
        """Ends every session (the application does this when it stops)."""
