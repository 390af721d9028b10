from sipsimple import _core
from sipsimple.account import Account, BonjourAccount
from collections.abc import Callable
from typing import Any

__all__ = ['CoreObject', 'to_core', 'from_core_handle', 'from_core_map', 'wrap_account', 'send_message', 'register_lookup']

class CoreObject:
    """Base of the Python objects that stand for a core object."""
    @property
    def _handle(self) -> _core.Handle: ...

def to_core(value: Any) -> Any:
    """The value to hand to the core: core objects become their handle."""
def wrap_account(core: _core.CoreAccount) -> Account | BonjourAccount:
    """The one Python object for a core account (created on first use)."""
def send_message(send: Callable[[], _core.Handle], message: Any) -> _core.Handle:
    """Calls ``send`` (which sends a paging message and returns its handle) and
    makes ``message`` the Python object for that handle. Both happen under the
    wrapper lock, so a notification about the message delivered before
    ``send`` returns still converts its sender to ``message``."""
def register_lookup(handle: _core.Handle, lookup: Any) -> None:
    """Makes ``lookup`` (a :class:`~sipsimple.lookup.DNSLookup`) the Python
    object for its core handle, the sender of its notifications."""
def from_core_handle(handle: _core.Handle) -> Any:
    """The Python object for a core handle (the handle itself if unknown or gone)."""
def from_core_map(value: dict[str, Any]) -> Any:
    """Port ranges (``start``/``end``), modified values (``old``/``new``)
    and routes (``address``, ``port``, ``transport``, ``tls_name``, ``uri``)."""
