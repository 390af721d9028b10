"""Session-based instant messaging over MSRP: :class:`ChatStream` and the
chat data types (:class:`ChatIdentity`, :class:`ChatMessage`,
:class:`CPIMHeader`, :class:`CPIMNamespace`, :class:`MultilingualText`).

::

    stream = ChatStream()
    session.connect("sip:bob@example.com", streams=[stream])
    message_id = stream.send_message("hello", subject="greetings")

Messages are wrapped in Message/CPIM (RFC 3862) when both sides accept
``message/cpim`` (:attr:`~sipsimple.streams.msrp.MSRPStreamBase.cpim_enabled`)
and sent plain otherwise. What is sent before the stream starts is queued
and goes out in order when it starts; a stream needs its core object to
queue, so send before :meth:`Session.connect
<sipsimple.session.Session.connect>` only with ``ChatStream(account)``.

The account's ``msrp.transport`` setting selects the MSRP transport (TCP
or TLS).

Notifications (sender: the stream), besides the ``MediaStream*`` ones:

* ``ChatStreamGotMessage``: ``message``, a :class:`ChatMessage`
  (:data:`CPIMMessage` is the same class) with ``content``,
  ``content_type``, ``sender`` (a :class:`ChatIdentity`), ``recipients``,
  ``courtesy_recipients``, ``subject`` (a :class:`MultilingualText` or
  ``None``), ``timestamp`` (an aware :class:`~datetime.datetime` or
  ``None``), ``required`` and ``additional_headers`` (:class:`CPIMHeader`);
* ``ChatStreamDidSendMessage``: ``message`` (a dict with ``message_id``,
  ``msrp_message_id`` and ``content_type``);
* ``ChatStreamDidDeliverMessage`` / ``ChatStreamDidNotDeliverMessage``:
  ``message_id`` (what :meth:`ChatStream.send_message` returned), ``code``,
  ``reason``;
* ``ChatStreamGotComposingIndication``: ``state`` (``"active"`` or
  ``"idle"``), ``refresh``, ``last_active`` (an aware datetime or
  ``None``), ``content_type``, ``sender`` and ``recipients``
  (:class:`ChatIdentity`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional, Union

from sipsimple import _core
from sipsimple.streams.msrp import MSRPStreamBase, MSRPStreamError

if TYPE_CHECKING:
    from sipsimple.account import Account, BonjourAccount

__all__ = [
    "ChatStream",
    "ChatStreamError",
    "ChatIdentity",
    "CPIMIdentity",
    "ChatMessage",
    "CPIMMessage",
    "CPIMHeader",
    "CPIMNamespace",
    "CPIMParserError",
    "CPIMPayload",
    "MultilingualText",
]

#: The namespace of the standard CPIM headers.
STANDARD_NAMESPACE = "urn:ietf:params:cpim-headers:"


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

    def __new__(cls, *args: str, **translations: str) -> MultilingualText:
        if len(args) > 1:
            raise TypeError(f"{cls.__name__}() takes at most 1 positional argument ({len(args)} given)")
        default = args[0] if args else translations.get("en", "")
        obj = str.__new__(cls, default)
        obj.translations = dict(translations)
        return obj

    def get_translation(self, language: str) -> str:
        """The translation for ``language``, else the default text."""
        return self.translations.get(language, str(self))


def _uri_key(uri: str) -> tuple[str, str]:
    """``(user, host)`` of a SIP URI (without scheme, port or parameters)."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    rest = re.split(r"[;?>]", rest, maxsplit=1)[0]
    user, _, host = rest.rpartition("@")
    host = host.lower()
    if host.startswith("["):
        host = host.split("]", 1)[0] + "]"
    else:
        host = host.split(":", 1)[0]
    return user, host


class ChatIdentity:
    """A sender or recipient: ``uri`` (a SIP URI as a string) and an
    optional ``display_name``. Identities compare equal when the user and
    host parts of their URIs are equal (a string URI compares too)."""

    __slots__ = ("uri", "display_name")

    def __init__(self, uri: Any, display_name: Optional[str] = None) -> None:
        self.uri = str(uri)
        self.display_name = display_name

    @classmethod
    def parse(cls, value: Union[str, bytes]) -> ChatIdentity:
        """Parses ``Name <sip:alice@example.com>``, ``<sip:...>`` or a bare
        URI; :class:`ValueError` when it is none."""
        text = value.decode() if isinstance(value, bytes) else value
        uri, display_name = _core.cpim_identity_parse(text)
        return cls(uri, display_name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ChatIdentity):
            return _uri_key(self.uri) == _uri_key(other.uri)
        if isinstance(other, str):
            try:
                return _uri_key(self.uri) == _uri_key(ChatIdentity.parse(other).uri)
            except ValueError:
                return False
        uri = getattr(other, "uri", None)
        if uri is not None:
            return _uri_key(self.uri) == _uri_key(str(uri))
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(_uri_key(self.uri))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(uri={self.uri!r}, display_name={self.display_name!r})"

    def __str__(self) -> str:
        try:
            return _core.cpim_identity_encode(self.uri, self.display_name or None)
        except ValueError:
            return f"{self.display_name} <{self.uri}>" if self.display_name else f"<{self.uri}>"


#: The original's name for identities in CPIM payloads: the same class.
CPIMIdentity = ChatIdentity


class CPIMNamespace(str):
    """A CPIM header namespace: the URI (the string value) and the
    ``prefix`` its headers are written with (empty for the default
    namespace)."""

    prefix: str

    def __new__(cls, value: str, prefix: str = "") -> CPIMNamespace:
        obj = str.__new__(cls, value)
        obj.prefix = prefix
        return obj


class CPIMHeader:
    """A CPIM header other than the standard ones: ``name``, ``namespace``
    (a :class:`CPIMNamespace`; the standard namespace for unknown headers
    of the default namespace) and ``value``."""

    __slots__ = ("name", "namespace", "value")

    def __init__(self, name: str, namespace: Union[CPIMNamespace, str, None], value: str) -> None:
        self.name = name
        if namespace is None:
            namespace = CPIMNamespace(STANDARD_NAMESPACE)
        elif not isinstance(namespace, CPIMNamespace):
            namespace = CPIMNamespace(namespace)
        self.namespace = namespace
        self.value = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CPIMHeader):
            return NotImplemented
        return (self.name, str(self.namespace), self.namespace.prefix, self.value) == (
            other.name,
            str(other.namespace),
            other.namespace.prefix,
            other.value,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.namespace!r}, {self.value!r})"


class ChatMessage:
    """A received chat message (``ChatStreamGotMessage.message``): the
    fields of its CPIM wrapper when there was one, the session's remote
    identity as ``sender`` otherwise."""

    __slots__ = (
        "content",
        "content_type",
        "charset",
        "sender",
        "recipients",
        "courtesy_recipients",
        "subject",
        "timestamp",
        "required",
        "additional_headers",
    )

    def __init__(
        self,
        content: Union[str, bytes],
        content_type: str,
        sender: Optional[ChatIdentity] = None,
        recipients: Optional[list[ChatIdentity]] = None,
        courtesy_recipients: Optional[list[ChatIdentity]] = None,
        subject: Optional[MultilingualText] = None,
        timestamp: Optional[datetime] = None,
        required: Optional[list[str]] = None,
        additional_headers: Optional[list[CPIMHeader]] = None,
        charset: Optional[str] = None,
    ) -> None:
        self.content = content
        self.content_type = content_type
        self.charset = charset
        self.sender = sender
        self.recipients = recipients or []
        self.courtesy_recipients = courtesy_recipients or []
        self.subject = subject
        self.timestamp = timestamp
        self.required = required or []
        self.additional_headers = additional_headers or []

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(content={self.content!r}, content_type={self.content_type!r}, "
            f"sender={self.sender!r}, subject={self.subject!r})"
        )


#: A message that came wrapped in CPIM: the same class as :class:`ChatMessage`.
CPIMMessage = ChatMessage


class CPIMPayload:
    """A Message/CPIM payload (RFC 3862): the wrapped ``content`` (bytes)
    of ``content_type`` with its ``charset``, and the CPIM headers
    (``sender``, ``recipients``, ``courtesy_recipients``, ``subject``,
    ``timestamp``, ``required``, ``additional_headers``). ChatStream wraps
    and unwraps messages itself; this is for payloads carried elsewhere."""

    standard_namespace = STANDARD_NAMESPACE

    def __init__(
        self,
        content: Union[str, bytes],
        content_type: str,
        charset: Optional[str] = None,
        sender: Optional[ChatIdentity] = None,
        recipients: Optional[list[ChatIdentity]] = None,
        courtesy_recipients: Optional[list[ChatIdentity]] = None,
        subject: Union[str, MultilingualText, None] = None,
        timestamp: Union[datetime, str, None] = None,
        required: Optional[list[str]] = None,
        additional_headers: Optional[list[CPIMHeader]] = None,
    ) -> None:
        self.content = content.encode(charset or "utf-8") if isinstance(content, str) else bytes(content)
        self.content_type = content_type
        self.charset = charset
        self.sender = sender
        self.recipients = recipients or []
        self.courtesy_recipients = courtesy_recipients or []
        self.subject = None if subject is None else _subject(subject)
        if isinstance(timestamp, str):
            timestamp = _parse_timestamp(timestamp)
        self.timestamp = timestamp
        self.required = required or []
        self.additional_headers = additional_headers or []

    def encode(self) -> tuple[bytes, str]:
        """The payload and its MSRP content type, ``message/cpim``;
        :class:`ValueError` for a malformed field."""
        payload = _core.cpim_payload_encode(
            (
                self.content,
                self.content_type,
                self.charset,
                None if self.sender is None else _identity_parts(self.sender),
                [_identity_parts(r) for r in self.recipients],
                [_identity_parts(r) for r in self.courtesy_recipients],
                None if self.subject is None else _subject_parts(self.subject),
                None if self.timestamp is None else _timestamp_text(self.timestamp),
                [str(r) for r in self.required],
                [_header_parts(h) for h in self.additional_headers],
            )
        )
        return bytes(payload), "message/cpim"

    @classmethod
    def decode(cls, message: Union[str, bytes]) -> CPIMPayload:
        """Parses a payload; :class:`CPIMParserError` when it is no CPIM message."""
        data = message.encode() if isinstance(message, str) else message
        try:
            parts = _core.cpim_payload_decode(data)
        except ValueError as e:
            raise CPIMParserError(str(e)) from e
        content, content_type, charset, sender, recipients, courtesy, subject, timestamp, required, headers = parts
        return cls(
            bytes(content),
            content_type,
            charset,
            None if sender is None else ChatIdentity(*sender),
            [ChatIdentity(*r) for r in recipients],
            [ChatIdentity(*r) for r in courtesy],
            None if subject is None else _subject({"default": subject[0], "translations": dict(subject[1])}),
            timestamp,
            list(required),
            [_header({"name": h[0], "namespace": h[1], "prefix": h[2], "value": h[3]}) for h in headers],
        )


def _parse_timestamp(text: str) -> Optional[datetime]:
    """An aware datetime for RFC 3339 text (``Z`` accepted); ``None`` if it is none."""
    try:
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    return _aware(value)  # type: ignore[no-any-return]


# -- arguments towards the core -------------------------------------------------


def _identity_parts(value: Any) -> tuple[str, Optional[str]]:
    """``(uri, display_name)`` of a ChatIdentity, an identity string or an
    object with ``uri`` (and ``display_name``)."""
    if isinstance(value, ChatIdentity):
        return value.uri, value.display_name
    if isinstance(value, (str, bytes)):
        identity = ChatIdentity.parse(value)
        return identity.uri, identity.display_name
    uri = getattr(value, "uri", None)
    if uri is None:
        raise TypeError(f"{value!r} is no identity (a ChatIdentity, an identity string or an object with a uri)")
    return str(uri), getattr(value, "display_name", None)


def _identities(values: Optional[Iterable[Any]]) -> Optional[list[tuple[str, Optional[str]]]]:
    return None if values is None else [_identity_parts(v) for v in values]


def _timestamp_text(value: Union[datetime, str]) -> str:
    """RFC 3339 text of a datetime (naive means local time) or a string."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.astimezone()
        return value.isoformat()
    return str(value)


def _header_parts(header: CPIMHeader) -> tuple[str, Optional[str], str, str]:
    namespace = header.namespace
    prefix = getattr(namespace, "prefix", "")
    uri = None if str(namespace) == STANDARD_NAMESPACE and not prefix else str(namespace)
    return header.name, uri, prefix, header.value


def _subject_parts(subject: Union[str, MultilingualText]) -> tuple[Optional[str], list[tuple[str, str]]]:
    translations = getattr(subject, "translations", {}) or {}
    default: Optional[str] = str(subject)
    if not default and translations:
        default = None
    return default, [(str(k), str(v)) for k, v in translations.items()]


class ChatStream(MSRPStreamBase):
    """One MSRP chat stream (see the module documentation).
    ``ChatStream(account)`` creates the core stream at once (to send or
    observe before it is offered); ``ChatStream()`` gets it when offered.
    A subclass may change ``accept_types`` and ``accept_wrapped_types``;
    without ``message/cpim`` in ``accept_types`` messages go plain."""

    type = "chat"
    priority = 1
    media_type = "message"
    accept_types = ["message/cpim", "text/*", "application/im-iscomposing+xml"]
    accept_wrapped_types = ["text/*", "application/im-iscomposing+xml"]

    _core_class = _core.CoreChatStream

    def __init__(self, account: Union[Account, BonjourAccount, None] = None, direction: str = "sendrecv") -> None:
        super().__init__(account, direction)

    def _new_core(self, account: _core.Handle) -> Any:
        accept = list(self.accept_types or [])
        wrapped = list(self.accept_wrapped_types or [])
        if accept == ChatStream.accept_types and wrapped == ChatStream.accept_wrapped_types:
            return _core.CoreChatStream.new(account)
        return _core.CoreChatStream.with_accept_types(account, accept, wrapped)

    def _core(self) -> Any:
        if self._core_stream is None:
            raise ChatStreamError(
                "the chat stream has no core object yet: offer it in a session or create it with an account"
            )
        return self._core_stream

    def send_message(
        self,
        content: Union[str, bytes],
        content_type: str = "text/plain",
        recipients: Optional[Iterable[Any]] = None,
        courtesy_recipients: Optional[Iterable[Any]] = None,
        subject: Union[str, MultilingualText, None] = None,
        timestamp: Union[datetime, str, None] = None,
        required: Optional[Iterable[str]] = None,
        additional_headers: Optional[Iterable[CPIMHeader]] = None,
    ) -> str:
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
        core = self._core()
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        try:
            message_id: str = core.send_message(
                data,
                content_type,
                recipients=_identities(recipients),
                courtesy_recipients=_identities(courtesy_recipients) or [],
                subject=None if subject is None else _subject_parts(subject),
                timestamp=None if timestamp is None else _timestamp_text(timestamp),
                required=[str(r) for r in required or []],
                additional_headers=[_header_parts(h) for h in additional_headers or []],
            )
        except (ValueError, RuntimeError) as e:
            raise ChatStreamError(str(e)) from e
        return message_id

    def send_composing_indication(
        self,
        state: str,
        refresh: Optional[int] = None,
        last_active: Optional[datetime] = None,
        recipients: Optional[Iterable[Any]] = None,
    ) -> str:
        """Tells the peer whether a message is being composed: ``state``
        is ``"active"`` or ``"idle"``, ``refresh`` the seconds within which
        an active state will be repeated, ``last_active`` when the user was
        last active. Returns the indication's id; no delivery notification
        follows. Recipients other than the remote identity need private
        messages, which are not supported: :class:`ChatStreamError`."""
        if recipients is not None:
            raise ChatStreamError("recipients for composing indications need private messages (not supported)")
        core = self._core()
        if last_active is not None and last_active.tzinfo is None:
            last_active = last_active.astimezone()
        try:
            indication_id: str = core.send_composing_indication(
                str(state), refresh, None if last_active is None else last_active.timestamp()
            )
        except (ValueError, RuntimeError) as e:
            raise ChatStreamError(str(e)) from e
        return indication_id

    def set_local_nickname(self, nickname: str) -> None:
        """Asks the peer (a conference focus, RFC 7701) to call us
        ``nickname`` in this chat; the outcome is
        ``ChatStreamDidSetNickname`` (``nickname``) or
        ``ChatStreamDidNotSetNickname`` (``nickname``, ``code``, ``reason``;
        a peer that is no conference answers 501). :class:`ChatStreamError`
        for an empty nickname or when the stream is not started."""
        core = self._core()
        try:
            core.set_local_nickname(str(nickname))
        except (ValueError, RuntimeError) as e:
            raise ChatStreamError(str(e)) from e


# -- values from the core ---------------------------------------------------------


def _aware(value: Any) -> Any:
    """A naive local datetime made aware; other values unchanged."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.astimezone()
    return value


def _identity(value: Any) -> Any:
    if isinstance(value, Mapping) and "uri" in value:
        return ChatIdentity(value["uri"], value.get("display_name"))
    return value


def _header(value: Any) -> Any:
    if isinstance(value, Mapping) and "name" in value:
        namespace = value.get("namespace")
        prefix = value.get("prefix") or ""
        return CPIMHeader(str(value["name"]), CPIMNamespace(namespace or STANDARD_NAMESPACE, prefix), value.get("value", ""))
    if isinstance(value, str):
        name, _, text = value.partition(":")
        prefix, dot, bare = name.strip().rpartition(".")
        if dot:
            return CPIMHeader(bare, CPIMNamespace("", prefix), text.strip())
        return CPIMHeader(name.strip(), None, text.strip())
    return value


def _subject(value: Any) -> Any:
    if value is None or isinstance(value, MultilingualText):
        return value
    if isinstance(value, Mapping):
        translations = dict(value.get("translations") or {})
        default = value.get("default")
        return MultilingualText(default, **translations) if default is not None else MultilingualText(**translations)
    return MultilingualText(str(value))


def _message(value: Any) -> Any:
    """A ChatMessage for the ``message`` map of ``ChatStreamGotMessage``."""
    if not isinstance(value, Mapping):
        return value
    return ChatMessage(
        value.get("content", ""),
        value.get("content_type", "text/plain"),
        sender=_identity(value.get("sender")),
        recipients=[_identity(r) for r in value.get("recipients") or []],
        courtesy_recipients=[_identity(r) for r in value.get("courtesy_recipients") or []],
        subject=_subject(value.get("subject")),
        timestamp=_aware(value.get("timestamp")),
        required=list(value.get("required") or []),
        additional_headers=[_header(h) for h in value.get("additional_headers") or []],
        charset=value.get("charset"),
    )


def _notification_data(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """The Python types of a ``ChatStream*`` notification's data."""
    if name == "ChatStreamGotMessage" and "message" in data:
        return dict(data, message=_message(data["message"]))
    if name == "ChatStreamGotComposingIndication":
        return dict(
            data,
            sender=_identity(data.get("sender")),
            recipients=[_identity(r) for r in data.get("recipients") or []],
            last_active=_aware(data.get("last_active")),
        )
    return data


def _from_core_handle(handle: _core.Handle) -> Any:
    """The Python object for a chat stream handle (the handle if it is gone)."""
    core = _core.CoreChatStream.resolve(handle)
    if core is None:
        return handle
    return ChatStream._wrap(core)

