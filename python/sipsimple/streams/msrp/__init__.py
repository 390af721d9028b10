"""MSRP media streams: :class:`MSRPStreamBase`, the base of the stream
types that carry their media over MSRP (RFC 4975), and
:class:`MSRPStreamError`.

The stream types live in submodules, as in the original middleware:
:mod:`sipsimple.streams.msrp.chat` (:class:`~sipsimple.streams.msrp.chat.ChatStream`),
:mod:`sipsimple.streams.msrp.filetransfer`
(:class:`~sipsimple.streams.msrp.filetransfer.FileTransferStream`,
:class:`~sipsimple.streams.msrp.filetransfer.FileSelector`) and
:mod:`sipsimple.streams.msrp.screensharing`
(:class:`~sipsimple.streams.msrp.screensharing.DesktopSharingStream` and
its handlers). Importing this package registers them in
:data:`~sipsimple.streams.MediaStreamRegistry`.

An MSRP stream created by the application has no core object until it is
offered in a session (or an account is given to the constructor); the
session creates it for its account. MSRP streams do not support hold.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any, ClassVar, Optional, Union

from sipsimple import _core
from sipsimple._objects import CoreObject
from sipsimple.streams import IMediaStream, StreamError

if TYPE_CHECKING:
    from sipsimple.account import Account, BonjourAccount

__all__ = ["MSRPStreamError", "MSRPStreamBase"]


class MSRPStreamError(StreamError):
    """A failure of an MSRP stream operation."""


class MSRPStreamBase(CoreObject, IMediaStream):
    """What every MSRP stream has. Subclasses define ``type``,
    ``priority``, ``media_type`` (``"message"`` or ``"application"``),
    ``accept_types`` and ``accept_wrapped_types`` (the MIME types accepted
    plain and inside ``message/cpim``) and the core class that implements
    them."""

    media_type: ClassVar[Optional[str]] = None
    accept_types: ClassVar[Optional[list[str]]] = None
    accept_wrapped_types: ClassVar[Optional[list[str]]] = None
    use_msrp_session: ClassVar[bool] = True

    _core_class: ClassVar[Any] = None
    _lock = threading.RLock()
    _objects: weakref.WeakValueDictionary[int, MSRPStreamBase] = weakref.WeakValueDictionary()

    def __init__(self, account: Union[Account, BonjourAccount, None] = None, direction: str = "sendrecv") -> None:
        if direction != "sendrecv":
            raise ValueError(f"unsupported direction {direction!r} for a {type(self).__name__} (only 'sendrecv')")
        self.direction = direction
        self._core_stream: Any = None
        if account is not None:
            self._bind(account)

    # -- core object -------------------------------------------------------

    def _new_core(self, account: _core.Handle) -> Any:
        """Creates the core stream for the account handle ``account``."""
        return self._core_class.new(account)

    def _bind(self, account: Union[Account, BonjourAccount]) -> None:
        """Creates the core stream for ``account`` (once)."""
        with MSRPStreamBase._lock:
            if self._core_stream is not None:
                return
            core = self._new_core(account._core_account.handle)
            self._core_stream = core
            MSRPStreamBase._objects[core.handle.raw] = self

    @classmethod
    def _wrap(cls, core: Any) -> MSRPStreamBase:
        """The one Python object for a core stream (created on first use)."""
        with MSRPStreamBase._lock:
            obj = MSRPStreamBase._objects.get(core.handle.raw)
            if obj is None:
                obj = cls.__new__(cls)
                obj.direction = "sendrecv"
                obj._core_stream = core
                MSRPStreamBase._objects[core.handle.raw] = obj
            return obj

    @property
    def _handle(self) -> _core.Handle:
        if self._core_stream is None:
            raise RuntimeError(
                f"this {type(self).__name__} has no core object yet: offer it in a session or create it with an account"
            )
        handle: _core.Handle = self._core_stream.handle
        return handle

    # -- attributes ----------------------------------------------------------

    @property
    def account(self) -> Union[Account, BonjourAccount, None]:
        """The account of the stream (of its session), once known."""
        if self._core_stream is None:
            return None
        from sipsimple._objects import from_core_handle

        account: Union[Account, BonjourAccount, None] = from_core_handle(self._core_stream.account)
        return account

    @property
    def local_uri(self) -> Optional[str]:
        """Our MSRP URI (``msrp://host:port/id;tcp``), once initialized."""
        return None if self._core_stream is None else self._core_stream.local_uri  # type: ignore[no-any-return]

    @property
    def remote_path(self) -> list[str]:
        """The peer's MSRP path (its own URI last), once negotiated."""
        return [] if self._core_stream is None else list(self._core_stream.remote_path)

    @property
    def cpim_enabled(self) -> Optional[bool]:
        """Whether messages are wrapped in CPIM (both sides accept
        ``message/cpim``); ``None`` until negotiated."""
        return None if self._core_stream is None else self._core_stream.cpim_enabled  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        state = "unbound" if self._core_stream is None else f"handle={self._core_stream.handle.raw:#x}"
        return f"<{type(self).__name__} {state}>"


# The stream modules register their classes on import (as in the original).
from sipsimple.streams.msrp import chat, filetransfer, screensharing  # noqa: E402,F401
