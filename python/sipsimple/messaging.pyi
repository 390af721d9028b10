from sipsimple import _core
from sipsimple._objects import CoreObject
from sipsimple.account import Account, BonjourAccount

__all__ = ['PagingMessage']

class PagingMessage(CoreObject):
    """One MESSAGE request from ``account`` to ``to`` (a SIP URI such as
    ``sip:bob@example.com``, or ``bob@example.com``) carrying ``body`` (bytes,
    or text sent as UTF-8) of type ``content_type`` (``type/subtype``).
    Nothing is sent until :meth:`send`.
    """
    account: Account | BonjourAccount
    to: str
    content_type: str
    body: bytes
    def __init__(self, account: Account | BonjourAccount, to: str, content_type: str, body: bytes | str) -> None: ...
    @property
    def _handle(self) -> _core.Handle: ...
    @property
    def sent(self) -> bool:
        """True once :meth:`send` succeeded."""
    def send(self) -> None:
        """Sends the request; returns at once, the outcome is posted as
        ``SIPMessageDidSucceed`` or ``SIPMessageDidFail``. ``ValueError`` for a
        malformed target or content type, ``RuntimeError`` if the message was
        already sent or while the SIP engine is not running.
        """
