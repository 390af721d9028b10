"""Accounts: :class:`AccountManager`, :class:`Account`, :class:`BonjourAccount`.

An account is a settings object (see :mod:`sipsimple.configuration`) with an
identity. ``Account(id)`` returns *the* object for an id -- the saved
account, or a new one that exists only in memory until :meth:`Account.save`
(which posts ``SIPAccountManagerDidAddAccount``). Accounts need a started
:class:`~sipsimple.application.SIPApplication` (``RuntimeError`` before).

Notifications: ``SIPAccountManagerDidAddAccount`` / ``DidRemoveAccount``
(``data.account``), ``SIPAccountManagerDidChangeDefaultAccount``
(``data.old_account``, ``data.account``), and the settings notifications
``CFGSettingsObjectWasCreated`` / ``DidChange`` / ``WasDeleted`` sent by the
account itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional, Union

from sipsimple import _core
from sipsimple._objects import CoreObject, wrap_account
from sipsimple._singleton import Singleton
from sipsimple.configuration import SettingsObject
from sipsimple.configuration.datatypes import SIPAddress
from sipsimple.core import Credentials

__all__ = ["AccountManager", "Account", "BonjourAccount", "ContactURIFactory"]

BONJOUR_ID = "bonjour@local"


class ContactURIFactory:
    """Builds the account's Contact URIs: ``username`` is their user part and
    ``contact['udp']`` (``tcp``, ``tls``) the URI for a transport, which needs
    the SIP engine to run that transport (``RuntimeError`` otherwise).
    """

    __slots__ = ("_core_account",)

    def __init__(self, core_account: _core.CoreAccount) -> None:
        self._core_account = core_account

    @property
    def username(self) -> str:
        """The user part of the Contact URIs."""
        return self._core_account.contact_username

    def __getitem__(self, transport: str) -> str:
        return self._core_account.contact_uri(transport)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(username={self.username!r})"


class _AccountBase(SettingsObject):
    __slots__ = ()

    _core_account: _core.CoreAccount

    @property
    def id(self) -> SIPAddress:
        """The SIP id (``user@domain``) with ``username`` and ``domain``."""
        return SIPAddress(self._core_account.id)

    @property
    def uri(self) -> str:
        """``sip:<id>`` (the BonjourAccount: its contact address)."""
        return self._core_account.uri

    @property
    def credentials(self) -> Credentials:
        """Digest credentials: ``auth.username`` (or the id's user part) and ``auth.password``."""
        username, password = self._core_account.credentials
        return Credentials(username, password)

    @property
    def contact(self) -> ContactURIFactory:
        """The Contact URI factory."""
        return ContactURIFactory(self._core_account)

    @property
    def registered(self) -> bool:
        """True while a registration is active."""
        return self._core_account.registered

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.id)!r})"


class Account(_AccountBase):
    """A SIP account. ``Account(id)`` returns the one object for ``id``: the
    existing account or a new, unsaved one. ``ValueError`` for an invalid id
    (use :class:`BonjourAccount` for ``bonjour@local``), ``RuntimeError``
    before the application started.
    """

    __slots__ = ()
    _core_class_name = "Account"

    def __new__(cls, id: str) -> Account:
        if str(id) == BONJOUR_ID:
            raise ValueError("bonjour@local is the BonjourAccount: use BonjourAccount()")
        account = wrap_account(_core.CoreAccountManager.get_or_create(str(id)))
        assert isinstance(account, Account)
        return account

    def __reduce__(self) -> tuple[type[Account], tuple[str]]:
        return (Account, (str(self.id),))


class BonjourAccount(_AccountBase):
    """The Bonjour (link-local) account, ``bonjour@local``: a singleton that
    always exists once the application started. It cannot be deleted.
    """

    __slots__ = ()
    _core_class_name = "BonjourAccount"

    def __new__(cls) -> BonjourAccount:
        account = wrap_account(_core.CoreAccountManager.get_or_create(BONJOUR_ID))
        assert isinstance(account, BonjourAccount)
        return account

    def __reduce__(self) -> tuple[type[BonjourAccount], tuple[()]]:
        return (BonjourAccount, ())


def _wrap_optional(core: Optional[_core.CoreAccount]) -> Union[Account, BonjourAccount, None]:
    return wrap_account(core) if core is not None else None


class AccountManager(CoreObject, metaclass=Singleton):
    """The registry of saved accounts (a singleton). The application loads
    it on start (posting ``SIPAccountManagerDidAddAccount`` for each stored
    account) and stops it on stop.
    """

    __slots__ = ("__weakref__", "__dict__")

    @property
    def _handle(self) -> _core.Handle:
        return _core.CoreAccountManager.handle()

    def start(self) -> None:
        """Kept for compatibility: :class:`SIPApplication` starts the manager."""

    def stop(self) -> None:
        """Kept for compatibility: :class:`SIPApplication` stops the manager."""

    def has_account(self, id: str) -> bool:
        """True if a saved account (or the BonjourAccount) has this id."""
        return _core.CoreAccountManager.has_account(str(id))

    def get_account(self, id: str) -> Union[Account, BonjourAccount]:
        """The saved account with this id; ``KeyError`` if there is none."""
        return wrap_account(_core.CoreAccountManager.get_account(str(id)))

    def get_accounts(self) -> list[Union[Account, BonjourAccount]]:
        """Every saved account, the BonjourAccount included."""
        return [wrap_account(a) for a in _core.CoreAccountManager.get_accounts()]

    def iter_accounts(self) -> Iterator[Union[Account, BonjourAccount]]:
        """Iterates over :meth:`get_accounts`."""
        return iter(self.get_accounts())

    def find_account(self, contact_uri: object) -> Union[Account, BonjourAccount, None]:
        """The enabled account a request addressed to ``contact_uri`` belongs
        to (contact user or id match first, then user name alone), or ``None``.
        """
        return _wrap_optional(_core.CoreAccountManager.find_account(str(contact_uri)))

    @property
    def default_account(self) -> Union[Account, BonjourAccount, None]:
        """The account new sessions use, if any. Setting it needs a saved,
        enabled account (``ValueError`` otherwise) or ``None``; it is saved
        and ``SIPAccountManagerDidChangeDefaultAccount`` is posted.
        """
        return _wrap_optional(_core.CoreAccountManager.default_account())

    @default_account.setter
    def default_account(self, account: Union[Account, BonjourAccount, None]) -> None:
        if account is not None and not isinstance(account, _AccountBase):
            raise TypeError("default_account must be an Account, the BonjourAccount or None")
        _core.CoreAccountManager.set_default_account(account._core_account if account is not None else None)
