"""Python objects for core values: wrapper cache and conversions.

Core objects travel through the core as handles. This module turns them back
into *the* Python object the application holds (``notification.sender is
account``, ``notification.sender is message``): accounts, sent paging
messages and DNS lookup objects are cached by handle with weak references,
singletons are looked up by kind. It also gives core maps their Python types
(:class:`~sipsimple.configuration.datatypes.PortRange`,
:class:`~sipsimple.configuration.ModifiedValue`,
:class:`~sipsimple.core.Route`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sipsimple import _core

if TYPE_CHECKING:
    from sipsimple.account import Account, BonjourAccount

__all__ = [
    "CoreObject",
    "to_core",
    "from_core_handle",
    "from_core_map",
    "wrap_account",
    "send_message",
    "register_lookup",
]


class CoreObject:
    """Base of the Python objects that stand for a core object."""

    __slots__ = ()

    @property
    def _handle(self) -> _core.Handle:
        raise NotImplementedError


def to_core(value: Any) -> Any:
    """The value to hand to the core: core objects become their handle."""
    if isinstance(value, CoreObject):
        return value._handle
    return value


_lock = threading.RLock()
_accounts: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_messages: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_lookups: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()


def wrap_account(core: _core.CoreAccount) -> Account | BonjourAccount:
    """The one Python object for a core account (created on first use)."""
    from sipsimple.account import Account, BonjourAccount

    raw = core.handle.raw
    with _lock:
        obj = _accounts.get(raw)
        if obj is None:
            cls = BonjourAccount if core.is_bonjour else Account
            obj = object.__new__(cls)
            object.__setattr__(obj, "_core_account", core)
            object.__setattr__(obj, "_settings", core.settings)
            _accounts[raw] = obj
        return obj  # type: ignore[return-value]


def send_message(send: Callable[[], _core.Handle], message: Any) -> _core.Handle:
    """Calls ``send`` (which sends a paging message and returns its handle) and
    makes ``message`` the Python object for that handle. Both happen under the
    wrapper lock, so a notification about the message delivered before
    ``send`` returns still converts its sender to ``message``."""
    with _lock:
        handle = send()
        _messages[handle.raw] = message
        return handle


def register_lookup(handle: _core.Handle, lookup: Any) -> None:
    """Makes ``lookup`` (a :class:`~sipsimple.lookup.DNSLookup`) the Python
    object for its core handle, the sender of its notifications."""
    with _lock:
        _lookups[handle.raw] = lookup


def from_core_handle(handle: _core.Handle) -> Any:
    """The Python object for a core handle (the handle itself if unknown or gone)."""
    kind = handle.kind
    if kind in ("Account", "BonjourAccount"):
        core = _core.CoreAccountManager.resolve(handle)
        return wrap_account(core) if core is not None else handle
    if kind == "Message":
        with _lock:
            return _messages.get(handle.raw, handle)
    if kind == "DNSLookup":
        with _lock:
            return _lookups.get(handle.raw, handle)
    if kind == "SIPApplication":
        from sipsimple.application import SIPApplication

        return SIPApplication()
    if kind == "AccountManager":
        from sipsimple.account import AccountManager

        return AccountManager()
    if kind == "SIPSimpleSettings":
        from sipsimple.configuration.settings import SIPSimpleSettings

        return SIPSimpleSettings()
    if kind == "ConfigurationManager":
        from sipsimple.configuration import ConfigurationManager

        return ConfigurationManager()
    if kind == "DNSManager":
        from sipsimple.lookup import DNSManager

        return DNSManager()
    return handle


_ROUTE_KEYS = {"address", "port", "transport", "tls_name", "uri"}


def from_core_map(value: dict[str, Any]) -> Any:
    """Port ranges (``start``/``end``), modified values (``old``/``new``)
    and routes (``address``, ``port``, ``transport``, ``tls_name``, ``uri``)."""
    keys = value.keys()
    if keys == _ROUTE_KEYS:
        from sipsimple.core import Route

        try:
            return Route(value["address"], value["port"], value["transport"], value["tls_name"])
        except (TypeError, ValueError):
            return value
    if keys == {"start", "end"}:
        from sipsimple.configuration.datatypes import PortRange

        return PortRange(value["start"], value["end"])
    if keys == {"old", "new"}:
        from sipsimple.configuration import ModifiedValue

        return ModifiedValue(value["old"], value["new"])
    return value


try:
    _core.set_conversion_hooks(from_core_handle, from_core_map)
except RuntimeError:  # already installed (the module was reloaded)
    pass
