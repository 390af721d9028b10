"""Paging-mode instant messages: :class:`PagingMessage`.

A paging-mode message is one SIP MESSAGE request (RFC 3428) sent from an
account, as the original's ``sipsimple.core.Message`` sends it::

    from sipsimple.messaging import PagingMessage

    message = PagingMessage(account, "sip:bob@example.com", "text/plain", "hello")
    message.send()

The request goes to the account's ``sip.outbound_proxy`` when it is set,
otherwise to the routes DNS gives for the target's domain. ``send`` returns
at once; the outcome is posted with the message as the sender
(``notification.sender is message``):

* ``SIPMessageDidSucceed`` -- a 2xx answer (``data.code``, ``data.reason``);
* ``SIPMessageDidFail`` -- a negative answer, 408 on a timeout, 503 when the
  transport failed, 0 when nothing could be sent (``data.code``,
  ``data.reason``).

The outcome may be delivered before ``send`` returns: observe the names
(``SIPMessageDidSucceed`` / ``SIPMessageDidFail``), then compare
``notification.sender`` with the message. Incoming MESSAGE requests are
posted by the SIP engine as ``SIPEngineGotMessage`` (``request_uri``,
``from_header``, ``to_header``, ``content_type``, ``body``, ``headers``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Union

from sipsimple import _core
from sipsimple._objects import CoreObject, send_message

if TYPE_CHECKING:
    from sipsimple.account import Account, BonjourAccount

__all__ = ["PagingMessage"]


class PagingMessage(CoreObject):
    """One MESSAGE request from ``account`` to ``to`` (a SIP URI such as
    ``sip:bob@example.com``, or ``bob@example.com``) carrying ``body`` (bytes,
    or text sent as UTF-8) of type ``content_type`` (``type/subtype``).
    Nothing is sent until :meth:`send`.
    """

    __slots__ = ("account", "to", "content_type", "body", "_sent_handle", "__weakref__")

    def __init__(
        self,
        account: Union[Account, BonjourAccount],
        to: str,
        content_type: str,
        body: Union[bytes, str],
    ) -> None:
        from sipsimple.account import _AccountBase

        if not isinstance(account, _AccountBase):
            raise TypeError("account must be an Account or the BonjourAccount")
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, (bytes, bytearray, memoryview)):
            raise TypeError("body must be bytes or str")
        self.account = account
        self.to = str(to)
        self.content_type = str(content_type)
        self.body = bytes(body)
        self._sent_handle: Optional[_core.Handle] = None

    @property
    def _handle(self) -> _core.Handle:
        if self._sent_handle is None:
            raise RuntimeError("the message has not been sent")
        return self._sent_handle

    @property
    def sent(self) -> bool:
        """True once :meth:`send` succeeded."""
        return self._sent_handle is not None

    def send(self) -> None:
        """Sends the request; returns at once, the outcome is posted as
        ``SIPMessageDidSucceed`` or ``SIPMessageDidFail``. ``ValueError`` for a
        malformed target or content type, ``RuntimeError`` if the message was
        already sent or while the SIP engine is not running.
        """
        if self._sent_handle is not None:
            raise RuntimeError("the message was already sent")
        core_account = self.account._core_account
        self._sent_handle = send_message(
            lambda: core_account.send_message(self.to, self.content_type, self.body), self
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.account!r}, {self.to!r}, {self.content_type!r}, <{len(self.body)} bytes>)"
