from collections.abc import Iterable
from datetime import datetime
from sipsimple.account import Account, BonjourAccount
from sipsimple.streams.msrp import MSRPStreamBase, MSRPStreamError
from typing import Any

__all__ = ['ChatStream', 'ChatStreamError', 'ChatIdentity', 'CPIMIdentity', 'ChatMessage', 'CPIMMessage', 'CPIMHeader', 'CPIMNamespace', 'CPIMParserError', 'CPIMPayload', 'MultilingualText']

STANDARD_NAMESPACE: str

class ChatStreamError(MSRPStreamError):
    """A chat operation the stream cannot do: an option that needs CPIM
    when CPIM is not in use, a content type the peer does not accept, a
    stream that ended or has no core object yet."""

class CPIMParserError(Exception):
    """A CPIM payload or identity could not be parsed."""

class MultilingualText(str):
    """A text with translations, as a CPIM Subject is:
    ``MultilingualText("hello", fr="salut")``. The string value is the
    default text (the ``en`` translation when only translations are
    given)."""
    translations: dict[str, str]
    def __new__(cls, *args: str, **translations: str) -> MultilingualText: ...
    def get_translation(self, language: str) -> str:
        """The translation for ``language``, else the default text."""

class ChatIdentity:
    """A sender or recipient: ``uri`` (a SIP URI as a string) and an
    optional ``display_name``. Identities compare equal when the user and
    host parts of their URIs are equal (a string URI compares too)."""
    uri: str
    display_name: str | None
    def __init__(self, uri: Any, display_name: str | None = None) -> None: ...
    @classmethod
    def parse(cls, value: str | bytes) -> ChatIdentity:
        """Parses ``Name <sip:alice@example.com>``, ``<sip:...>`` or a bare
        URI; :class:`ValueError` when it is none."""
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

CPIMIdentity = ChatIdentity

class CPIMNamespace(str):
    """A CPIM header namespace: the URI (the string value) and the
    ``prefix`` its headers are written with (empty for the default
    namespace)."""
    prefix: str
    def __new__(cls, value: str, prefix: str = '') -> CPIMNamespace: ...

class CPIMHeader:
    """A CPIM header other than the standard ones: ``name``, ``namespace``
    (a :class:`CPIMNamespace`; the standard namespace for unknown headers
    of the default namespace) and ``value``."""
    name: str
    namespace: CPIMNamespace
    value: str
    def __init__(self, name: str, namespace: CPIMNamespace | str | None, value: str) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: None  # type: ignore[assignment]

class ChatMessage:
    """A received chat message (``ChatStreamGotMessage.message``): the
    fields of its CPIM wrapper when there was one, the session's remote
    identity as ``sender`` otherwise."""
    content: str | bytes
    content_type: str
    charset: str | None
    sender: ChatIdentity | None
    recipients: list[ChatIdentity]
    courtesy_recipients: list[ChatIdentity]
    subject: MultilingualText | None
    timestamp: datetime | None
    required: list[str]
    additional_headers: list[CPIMHeader]
    def __init__(self, content: str | bytes, content_type: str, sender: ChatIdentity | None = None, recipients: list[ChatIdentity] | None = None, courtesy_recipients: list[ChatIdentity] | None = None, subject: MultilingualText | None = None, timestamp: datetime | None = None, required: list[str] | None = None, additional_headers: list[CPIMHeader] | None = None, charset: str | None = None) -> None: ...

CPIMMessage = ChatMessage

class CPIMPayload:
    """A Message/CPIM payload (RFC 3862): the wrapped ``content`` (bytes)
    of ``content_type`` with its ``charset``, and the CPIM headers
    (``sender``, ``recipients``, ``courtesy_recipients``, ``subject``,
    ``timestamp``, ``required``, ``additional_headers``). ChatStream wraps
    and unwraps messages itself; this is for payloads carried elsewhere."""
    standard_namespace: str
    content: bytes
    content_type: str
    charset: str | None
    sender: ChatIdentity | None
    recipients: list[ChatIdentity]
    courtesy_recipients: list[ChatIdentity]
    subject: MultilingualText | None
    timestamp: datetime | None
    required: list[str]
    additional_headers: list[CPIMHeader]
    def __init__(self, content: str | bytes, content_type: str, charset: str | None = None, sender: ChatIdentity | None = None, recipients: list[ChatIdentity] | None = None, courtesy_recipients: list[ChatIdentity] | None = None, subject: str | MultilingualText | None = None, timestamp: datetime | str | None = None, required: list[str] | None = None, additional_headers: list[CPIMHeader] | None = None) -> None: ...
    def encode(self) -> tuple[bytes, str]:
        """The payload and its MSRP content type, ``message/cpim``;
        :class:`ValueError` for a malformed field."""
    @classmethod
    def decode(cls, message: str | bytes) -> CPIMPayload:
        """Parses a payload; :class:`CPIMParserError` when it is no CPIM message."""

class ChatStream(MSRPStreamBase):
    """One MSRP chat stream (see the module documentation).
    ``ChatStream(account)`` creates the core stream at once (to send or
    observe before it is offered); ``ChatStream()`` gets it when offered.
    A subclass may change ``accept_types`` and ``accept_wrapped_types``;
    without ``message/cpim`` in ``accept_types`` messages go plain."""
    def __init__(self, account: Account | BonjourAccount | None = None, direction: str = 'sendrecv') -> None: ...
    def send_message(self, content: str | bytes, content_type: str = 'text/plain', recipients: Iterable[Any] | None = None, courtesy_recipients: Iterable[Any] | None = None, subject: str | MultilingualText | None = None, timestamp: datetime | str | None = None, required: Iterable[str] | None = None, additional_headers: Iterable[CPIMHeader] | None = None) -> str:
        """Sends an instant message and returns its id, the ``message_id``
        of its ``ChatStreamDidDeliverMessage`` or
        ``ChatStreamDidNotDeliverMessage``. ``content`` is text (sent as
        UTF-8) or bytes; ``recipients`` and ``courtesy_recipients`` are
        :class:`ChatIdentity` objects (or identity strings; the recipient
        is the remote identity by default), ``subject`` a string or a
        :class:`MultilingualText`, ``timestamp`` a datetime (now by
        default), ``required`` capability names, ``additional_headers``
        :class:`CPIMHeader` objects. Everything but the content needs
        CPIM: :class:`ChatStreamError` when the negotiated stream does not
        use it, or when the peer does not accept ``content_type``."""
    def send_composing_indication(self, state: str, refresh: int | None = None, last_active: datetime | None = None, recipients: Iterable[Any] | None = None) -> str:
        """Tells the peer whether a message is being composed: ``state``
        is ``"active"`` or ``"idle"``, ``refresh`` the seconds within which
        an active state will be repeated, ``last_active`` when the user was
        last active. Returns the indication's id; no delivery notification
        follows. Recipients other than the remote identity need private
        messages, which are not supported: :class:`ChatStreamError`."""
    def set_local_nickname(self, nickname: str) -> None:
        """Asks the peer (a conference focus, RFC 7701) to call us
        ``nickname`` in this chat; the outcome is
        ``ChatStreamDidSetNickname`` (``nickname``) or
        ``ChatStreamDidNotSetNickname`` (``nickname``, ``code``, ``reason``;
        a peer that is no conference answers 501). :class:`ChatStreamError`
        for an empty nickname or when the stream is not started."""
