"""RTP media streams: :class:`RTPStream`, the base of
:class:`~sipsimple.streams.rtp.audio.AudioStream`."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any, Optional, Union

from sipsimple import _core
from sipsimple._objects import CoreObject
from sipsimple.streams import IMediaStream

if TYPE_CHECKING:
    from sipsimple.account import Account, BonjourAccount

__all__ = ["RTPStream", "AudioStream"]


class RTPStream(CoreObject, IMediaStream):
    """Attributes shared by the RTP streams. A stream created by the
    application has no core object until it is offered in a session (or an
    account is given to the constructor); until then the attributes read
    ``None`` (``False``, ``{}``)."""

    _core_class: Any = None
    _lock = threading.RLock()
    _objects: weakref.WeakValueDictionary[int, RTPStream] = weakref.WeakValueDictionary()

    def __init__(self, account: Union[Account, BonjourAccount, None] = None) -> None:
        self._core_stream: Any = None
        if account is not None:
            self._bind(account)

    # -- core object -------------------------------------------------------

    def _bind(self, account: Union[Account, BonjourAccount]) -> None:
        """Creates the core stream for ``account`` (once)."""
        with RTPStream._lock:
            if self._core_stream is not None:
                return
            core = self._core_class.new(account._core_account.handle)
            self._core_stream = core
            RTPStream._objects[core.handle.raw] = self

    @classmethod
    def _wrap(cls, core: Any) -> RTPStream:
        """The one Python object for a core stream (created on first use)."""
        with RTPStream._lock:
            obj = RTPStream._objects.get(core.handle.raw)
            if obj is None:
                obj = cls.__new__(cls)
                obj._core_stream = core
                RTPStream._objects[core.handle.raw] = obj
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
    def hold_supported(self) -> bool:
        """RTP streams support hold."""
        return True

    @property
    def on_hold_by_local(self) -> bool:
        """Held by the local party."""
        return bool(self._core_stream is not None and self._core_stream.on_hold_by_local)

    @property
    def on_hold_by_remote(self) -> bool:
        """Held by the remote party."""
        return bool(self._core_stream is not None and self._core_stream.on_hold_by_remote)

    @property
    def codec(self) -> Optional[str]:
        """The negotiated codec (``PCMU``, ``opus``...), once started."""
        return None if self._core_stream is None else self._core_stream.codec  # type: ignore[no-any-return]

    @property
    def sample_rate(self) -> Optional[int]:
        """The negotiated codec's sample rate, once started."""
        return None if self._core_stream is None else self._core_stream.sample_rate  # type: ignore[no-any-return]

    @property
    def srtp_active(self) -> bool:
        """Whether SRTP protects the media."""
        return bool(self._core_stream is not None and self._core_stream.srtp_active)

    @property
    def ice_active(self) -> bool:
        """Whether ICE candidates are in use (ICE is not implemented: always False)."""
        return False

    @property
    def local_rtp_address(self) -> Optional[str]:
        """The local RTP address (the one our SDP names), once initialized."""
        return None if self._core_stream is None else self._core_stream.local_rtp_address  # type: ignore[no-any-return]

    @property
    def local_rtp_port(self) -> Optional[int]:
        """The local RTP port (RTCP uses the next one), once initialized."""
        return None if self._core_stream is None else self._core_stream.local_rtp_port  # type: ignore[no-any-return]

    def _remote(self, received: bool) -> Optional[tuple[str, int]]:
        if self._core_stream is None:
            return None
        pair: Optional[tuple[str, int]] = (
            self._core_stream.remote_rtp_received if received else self._core_stream.remote_rtp_sdp
        )
        return pair

    def _remote_part(self, received: bool, index: int) -> Any:
        """Item ``index`` (0: address, 1: port) of :meth:`_remote`, ``None`` before it is known."""
        pair = self._remote(received)
        return None if pair is None else pair[index]

    @property
    def remote_rtp_address(self) -> Optional[str]:
        """The RTP address the peer's SDP gives, once started."""
        return self._remote_part(False, 0)  # type: ignore[no-any-return]

    @property
    def remote_rtp_port(self) -> Optional[int]:
        """The port the peer's RTP arrives from (the SDP's until some arrived)."""
        pair = self._remote(True) or self._remote(False)
        return None if pair is None else pair[1]

    @property
    def remote_rtp_address_sdp(self) -> Optional[str]:
        """The RTP address the peer's SDP gives."""
        return self._remote_part(False, 0)  # type: ignore[no-any-return]

    @property
    def remote_rtp_port_sdp(self) -> Optional[int]:
        """The RTP port the peer's SDP gives."""
        return self._remote_part(False, 1)  # type: ignore[no-any-return]

    @property
    def remote_rtp_address_received(self) -> Optional[str]:
        """The address the peer's RTP really comes from."""
        return self._remote_part(True, 0)  # type: ignore[no-any-return]

    @property
    def remote_rtp_port_received(self) -> Optional[int]:
        """The port the peer's RTP really comes from."""
        return self._remote_part(True, 1)  # type: ignore[no-any-return]

    @property
    def local_rtp_candidate_type(self) -> Optional[str]:
        """The selected local ICE candidate type (ICE is not implemented: None)."""
        return None

    @property
    def remote_rtp_candidate_type(self) -> Optional[str]:
        """The selected remote ICE candidate type (ICE is not implemented: None)."""
        return None

    @property
    def statistics(self) -> dict[str, int]:
        """RTP and jitter-buffer counters (``packets_sent``,
        ``packets_received``, ``frames_played``...); empty before the core
        stream exists."""
        if self._core_stream is None:
            return {}
        stats: dict[str, int] = self._core_stream.statistics
        return stats

    def __repr__(self) -> str:
        state = "unbound" if self._core_stream is None else f"handle={self._core_stream.handle.raw:#x}"
        return f"<{type(self).__name__} {state}>"


from sipsimple.streams.rtp.audio import AudioStream  # noqa: E402
