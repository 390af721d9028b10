"""Sessions: :class:`Session` and the :class:`SessionManager`.

An outgoing call::

    from sipsimple.session import Session
    from sipsimple.streams.rtp.audio import AudioStream

    session = Session(account)
    session.connect("sip:bob@example.com", streams=[AudioStream()])

An incoming call arrives as ``SIPSessionNewIncoming`` with the new
:class:`Session` as the sender and the proposed streams in
``data.streams``; answer with ``notification.sender.accept(streams)`` or
``reject(486)``. Methods return at once; the outcome is posted with the
session as the sender:

* ``SIPSessionNewOutgoing`` / ``SIPSessionNewIncoming`` (``streams``),
  ``SIPSessionGotRingIndication``, ``SIPSessionGotProvisionalResponse``
  (``code``, ``reason``), ``SIPSessionWillStart``, ``SIPSessionDidStart``
  (``streams``);
* ``SIPSessionDidFail`` (``originator``, ``code``, ``reason``,
  ``failure_reason``) when it fails before it started, never followed by
  ``SIPSessionDidEnd``;
* ``SIPSessionWillEnd``, ``SIPSessionDidEnd`` (``originator``, ``end_reason``);
* ``SIPSessionDidChangeHoldState`` (``originator``, ``on_hold``, ``partial``);
* ``SIPSessionGotProposal`` (``originator``, ``streams``),
  ``SIPSessionGotAcceptProposal`` (``originator``, ``streams``,
  ``proposed_streams``), ``SIPSessionGotRejectProposal`` (``originator``,
  ``code``, ``reason``, ``streams``), ``SIPSessionHadProposalFailure``
  (``failure_reason``, ``streams``), ``SIPSessionDidRenegotiateStreams``
  (``action``, ``streams``);
* ``SIPSessionDidProcessTransaction`` (``originator``, ``method``, ``code``,
  ``reason``, ``ack_received``).

The same :class:`Session` and stream objects come back in every
notification (``notification.sender is session``).

Differences from the original: ``routes`` given to :meth:`Session.connect`
are not used (the core routes through the account's outbound proxy or the
DNS records of the target's domain); there is no conference handler or transfer yet (``conference``, ``replaced_session``,
``transfer_handler`` and ``transfer_info`` are ``None``).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional, Union

from sipsimple import _core
from sipsimple._objects import CoreObject, from_core_handle
from sipsimple._singleton import Singleton
from sipsimple.streams import IMediaStream, InvalidStreamError
from sipsimple.streams.msrp import MSRPStreamBase
from sipsimple.streams.rtp import RTPStream

if TYPE_CHECKING:
    from sipsimple.account import Account, BonjourAccount

__all__ = ["Session", "SessionManager"]

_lock = threading.RLock()
#: Every Session object somebody holds, by handle.
_sessions: weakref.WeakValueDictionary[int, Session] = weakref.WeakValueDictionary()
#: Sessions kept alive until they terminate (as the original's manager keeps them).
_alive: dict[int, Session] = {}


def _target(to_header: Any) -> str:
    """The SIP URI to call: a string, or an object with a ``uri`` (a ToHeader)."""
    if isinstance(to_header, str):
        return to_header
    uri = getattr(to_header, "uri", None)
    return str(uri if uri is not None else to_header)


def _prune() -> None:
    """Lets terminated sessions (and their streams) go."""
    for raw, session in list(_alive.items()):
        if session._core_session.state == "terminated":
            del _alive[raw]


class Session(CoreObject):
    """One INVITE session of ``account`` (an Account or the BonjourAccount),
    in state ``None`` until :meth:`connect`."""

    def __init__(self, account: Union[Account, BonjourAccount]) -> None:
        from sipsimple.account import _AccountBase

        if not isinstance(account, _AccountBase):
            raise TypeError("account must be an Account or the BonjourAccount")
        self._core_session: Any = _core.CoreSession.new(account._core_account.handle)
        self._streams: dict[int, IMediaStream] = {}
        self.subject: Optional[str] = None
        with _lock:
            _sessions[self._core_session.handle.raw] = self

    @classmethod
    def _wrap(cls, core: Any) -> Session:
        with _lock:
            raw = core.handle.raw
            session = _sessions.get(raw)
            if session is None:
                session = cls.__new__(cls)
                session._core_session = core
                session._streams = {}
                session.subject = None
                _sessions[raw] = session
            _prune()
            if core.state not in (None, "terminated"):
                _alive[raw] = session
            return session

    @property
    def _handle(self) -> _core.Handle:
        handle: _core.Handle = self._core_session.handle
        return handle

    # -- attributes ----------------------------------------------------------

    @property
    def state(self) -> Optional[str]:
        """``None``, ``connecting``, ``incoming``, ``accepting``, ``connected``,
        ``sending_proposal``, ``received_proposal``, ``terminating`` or
        ``terminated``."""
        state: Optional[str] = self._core_session.state
        return state

    @property
    def account(self) -> Union[Account, BonjourAccount]:
        """The account of the session."""
        account: Union[Account, BonjourAccount] = from_core_handle(self._core_session.account)
        return account

    @property
    def direction(self) -> Optional[str]:
        """``incoming``, ``outgoing``, or ``None`` before either."""
        direction: Optional[str] = self._core_session.direction
        return direction

    @property
    def transport(self) -> Optional[str]:
        """``udp``, ``tcp`` or ``tls``, once the route is known."""
        transport: Optional[str] = self._core_session.transport
        return transport

    @property
    def start_time(self) -> Optional[datetime]:
        """When the session started (``SIPSessionDidStart``)."""
        time: Optional[datetime] = self._core_session.start_time
        return time

    @property
    def stop_time(self) -> Optional[datetime]:
        """When the session ended or failed."""
        time: Optional[datetime] = self._core_session.stop_time
        return time

    @property
    def on_hold(self) -> bool:
        """Some stream is on hold, by either side."""
        return bool(self._core_session.on_hold)

    @property
    def remote_user_agent(self) -> Optional[str]:
        """The peer's User-Agent (or Server), once known."""
        agent: Optional[str] = self._core_session.remote_user_agent
        return agent

    @property
    def local_identity(self) -> Optional[str]:
        """Our address (``"Alice" <sip:alice@example.com>``)."""
        identity: Optional[str] = self._core_session.local_identity
        return identity

    @property
    def remote_identity(self) -> Optional[str]:
        """The peer's address, once known."""
        identity: Optional[str] = self._core_session.remote_identity
        return identity

    def _stream_objects(self, handles: Iterable[_core.Handle]) -> list[IMediaStream]:
        streams = []
        for handle in handles:
            stream = from_core_handle_stream(handle)
            self._streams[handle.raw] = stream  # the session keeps its streams' objects
            streams.append(stream)
        return streams

    @property
    def streams(self) -> list[IMediaStream]:
        """The active streams."""
        return self._stream_objects(self._core_session.streams)

    @property
    def proposed_streams(self) -> Optional[list[IMediaStream]]:
        """The streams of the pending offer; ``None`` when none is pending."""
        proposed = self._stream_objects(self._core_session.proposed_streams)
        return proposed or None

    @property
    def conference(self) -> None:
        """The conference handler (not implemented: ``None``)."""
        return None

    @property
    def replaced_session(self) -> None:
        """The session an attended transfer replaces (not implemented: ``None``)."""
        return None

    @property
    def transfer_handler(self) -> None:
        """The transfer handler (not implemented: ``None``)."""
        return None

    @property
    def transfer_info(self) -> None:
        """The transfer details (not implemented: ``None``)."""
        return None

    # -- methods ---------------------------------------------------------------

    def _handles(self, streams: Iterable[IMediaStream]) -> list[_core.Handle]:
        handles = []
        for stream in streams:
            if not isinstance(stream, (RTPStream, MSRPStreamBase)):
                raise InvalidStreamError(f"{stream!r} is not a stream the core implements")
            if stream._core_stream is None:
                stream._bind(self.account)
            handles.append(stream._handle)
            self._streams[stream._handle.raw] = stream
        return handles

    def connect(
        self,
        to_header: Any,
        routes: Optional[Iterable[Any]] = None,
        streams: Optional[Sequence[IMediaStream]] = None,
        is_focus: bool = False,
        subject: Optional[str] = None,
    ) -> None:
        """Calls ``to_header`` (a SIP URI string such as
        ``sip:bob@example.com``, or an object with a ``uri``) offering
        ``streams``; state becomes ``connecting``. ``is_focus`` adds
        ``isfocus`` to our Contact (RFC 4579). Posts
        ``SIPSessionNewOutgoing``, then ``SIPSessionDidStart`` or
        ``SIPSessionDidFail``. ``routes`` is accepted for compatibility but
        not used. ``ValueError`` without streams or for a malformed URI,
        ``RuntimeError`` unless the state is ``None``."""
        if not streams:
            raise ValueError("connect needs at least one stream")
        handles = self._handles(streams)
        with _lock:
            self.subject = subject
            self._core_session.set_is_focus(is_focus)
            self._core_session.connect(_target(to_header), handles, subject)
            _alive[self._handle.raw] = self

    def send_ring_indication(self) -> None:
        """Sends 180 Ringing on an incoming session."""
        self._core_session.send_ring_indication()

    def accept(self, streams: Sequence[IMediaStream], is_focus: bool = False) -> None:
        """Accepts the incoming session with ``streams``, a subset of the
        proposed streams (the others are refused). ``RuntimeError`` unless
        the state is ``incoming``; ``ValueError`` if none of ``streams`` was
        proposed."""
        self._core_session.set_is_focus(is_focus)
        self._core_session.accept(self._handles(streams))

    def reject(self, code: int = 603, reason: Optional[str] = None) -> None:
        """Rejects the incoming session (486 Busy Here, 603 Decline...);
        ``SIPSessionDidFail`` follows."""
        self._core_session.reject(code, reason)

    def accept_proposal(self, streams: Sequence[IMediaStream]) -> None:
        """Accepts the peer's proposal with ``streams`` (the others are refused)."""
        self._core_session.accept_proposal(self._handles(streams))

    def reject_proposal(self, code: int = 488, reason: Optional[str] = None) -> None:
        """Rejects the peer's proposal."""
        self._core_session.reject_proposal(code, reason)

    def add_stream(self, stream: IMediaStream) -> None:
        """Proposes one more stream in a re-INVITE (state ``connected``)."""
        (handle,) = self._handles([stream])
        self._core_session.add_stream(handle)

    def remove_stream(self, stream: IMediaStream) -> None:
        """Removes an active stream by a re-INVITE; the stream ends at once."""
        (handle,) = self._handles([stream])
        self._core_session.remove_stream(handle)

    def cancel_proposal(self) -> None:
        """Cancels our pending proposal (``SIPSessionGotRejectProposal`` with 487)."""
        self._core_session.cancel_proposal()

    def hold(self) -> None:
        """Puts the streams on hold by a re-INVITE; ``SIPSessionDidChangeHoldState``
        follows. ``RuntimeError`` unless the session is ``connected`` with streams."""
        self._core_session.hold()

    def unhold(self) -> None:
        """Takes the streams off hold (see :meth:`hold`)."""
        self._core_session.unhold()

    def end(self) -> None:
        """Ends the session: CANCEL before the answer, a decline while
        incoming, BYE once started. ``SIPSessionWillEnd`` and
        ``SIPSessionDidEnd`` follow (``SIPSessionDidFail`` before it started)."""
        self._core_session.end()

    def __repr__(self) -> str:
        return f"<Session {self.direction or 'new'} {self.state} {self.remote_identity or ''}>".replace(" >", ">")


def from_core_handle_stream(handle: _core.Handle) -> IMediaStream:
    """The stream object for a stream handle."""
    stream: Any = handle
    if handle.kind == "AudioStream":
        from sipsimple.streams.rtp import audio

        stream = audio._from_core_handle(handle)
    elif handle.kind == "ChatStream":
        from sipsimple.streams.msrp import chat

        stream = chat._from_core_handle(handle)
    elif handle.kind == "FileTransferStream":
        from sipsimple.streams.msrp import filetransfer

        stream = filetransfer._from_core_handle(handle)
    elif handle.kind == "DesktopSharingStream":
        from sipsimple.streams.msrp import screensharing

        stream = screensharing._from_core_handle(handle)
    if not isinstance(stream, IMediaStream):
        raise InvalidStreamError(f"{handle!r} is not a live stream")
    return stream


class SessionManager(metaclass=Singleton):
    """The registry of sessions (a singleton). The application starts it
    (it serves incoming INVITEs) and stops it (ending every session)."""

    __slots__ = ("__weakref__", "__dict__")

    @property
    def sessions(self) -> list[Session]:
        """The sessions neither new nor terminated (a copy)."""
        return [Session._wrap(core) for core in _core_sessions()]

    def start(self) -> None:
        """Does nothing: :class:`~sipsimple.application.SIPApplication` starts the manager."""

    def stop(self) -> None:
        """Ends every session (the application does this when it stops)."""
        for session in self.sessions:
            try:
                session.end()
            except RuntimeError:
                pass


def _core_sessions() -> list[Any]:
    cores = []
    for handle in _core.CoreSession.sessions():
        core = _core.CoreSession.resolve(handle)
        if core is not None:
            cores.append(core)
    return cores


def _from_core_handle(handle: _core.Handle) -> Any:
    """The Python object for a session handle (the handle if it is gone)."""
    core = _core.CoreSession.resolve(handle)
    if core is None:
        return handle
    return Session._wrap(core)
