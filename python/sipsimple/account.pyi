from collections.abc import Iterator
from sipsimple import _core
from sipsimple._objects import CoreObject
from sipsimple.configuration import SettingsObject
from sipsimple.configuration.datatypes import SIPAddress
from sipsimple.core import Credentials
from sipsimple._singleton import Singleton

__all__ = ['AccountManager', 'Account', 'BonjourAccount', 'ContactURIFactory']

class ContactURIFactory:
    """Builds the account's Contact URIs: ``username`` is their user part and
    ``contact['udp']`` (``tcp``, ``tls``) the URI for a transport, which needs
    the SIP engine to run that transport (``RuntimeError`` otherwise).
    """
    def __init__(self, core_account: _core.CoreAccount) -> None: ...
    @property
    def username(self) -> str:
        """The user part of the Contact URIs."""
    def __getitem__(self, transport: str) -> str: ...

class _AccountBase(SettingsObject):
    @property
    def id(self) -> SIPAddress:
        """The SIP id (``user@domain``) with ``username`` and ``domain``."""
    @property
    def uri(self) -> str:
        """``sip:<id>`` (the BonjourAccount: its contact address)."""
    @property
    def credentials(self) -> Credentials:
        """Digest credentials: ``auth.username`` (or the id's user part) and ``auth.password``."""
    @property
    def contact(self) -> ContactURIFactory:
        """The Contact URI factory."""
    @property
    def registered(self) -> bool:
        """True while a registration is active."""

class Account(_AccountBase):
    """A SIP account. ``Account(id)`` returns the one object for ``id``: the
    existing account or a new, unsaved one. ``ValueError`` for an invalid id
    (use :class:`BonjourAccount` for ``bonjour@local``), ``RuntimeError``
    before the application started.
    """
    def __new__(cls, id: str) -> Account: ...
    def __reduce__(self) -> tuple[type[Account], tuple[str]]: ...

class BonjourAccount(_AccountBase):
    """The Bonjour (link-local) account, ``bonjour@local``: a singleton that
    always exists once the application started. It cannot be deleted.
    """
    def __new__(cls) -> BonjourAccount: ...
    def __reduce__(self) -> tuple[type[BonjourAccount], tuple[()]]: ...

class AccountManager(CoreObject, metaclass=Singleton):
    """The registry of saved accounts (a singleton). The application loads
    it on start (posting ``SIPAccountManagerDidAddAccount`` for each stored
    account) and stops it on stop.
    """
    def start(self) -> None:
        """Kept for compatibility: :class:`SIPApplication` starts the manager."""
    def stop(self) -> None:
        """Kept for compatibility: :class:`SIPApplication` stops the manager."""
    def has_account(self, id: str) -> bool:
        """True if a saved account (or the BonjourAccount) has this id."""
    def get_account(self, id: str) -> Account | BonjourAccount:
        """The saved account with this id; ``KeyError`` if there is none."""
    def get_accounts(self) -> list[Account | BonjourAccount]:
        """Every saved account, the BonjourAccount included."""
    def iter_accounts(self) -> Iterator[Account | BonjourAccount]:
        """Iterates over :meth:`get_accounts`."""
    def find_account(self, contact_uri: object) -> Account | BonjourAccount | None:
        """The enabled account a request addressed to ``contact_uri`` belongs
        to (contact user or id match first, then user name alone), or ``None``.
        """
    @property
    def default_account(self) -> Account | BonjourAccount | None:
        """The account new sessions use, if any. Setting it needs a saved,
        enabled account (``ValueError`` otherwise) or ``None``; it is saved
        and ``SIPAccountManagerDidChangeDefaultAccount`` is posted.
        """
    @default_account.setter
    def default_account(self, account: Account | BonjourAccount | None) -> None: ...
