from sipsimple._objects import CoreObject
from sipsimple.account import Account, BonjourAccount
from sipsimple.streams import IMediaStream
from sipsimple.streams.rtp.audio import AudioStream as AudioStream

__all__ = ['RTPStream', 'AudioStream']

class RTPStream(CoreObject, IMediaStream):
    """Attributes shared by the RTP streams. A stream created by the
    application has no core object until it is offered in a session (or an
    account is given to the constructor); until then the attributes read
    ``None`` (``False``, ``{}``)."""
    def __init__(self, account: Account | BonjourAccount | None = None) -> None: ...
    @property
    def account(self) -> Account | BonjourAccount | None:
        """The account of the stream (of its session), once known."""
    @property
    def hold_supported(self) -> bool:
        """RTP streams support hold."""
    @property
    def on_hold_by_local(self) -> bool:
        """Held by the local party."""
    @property
    def on_hold_by_remote(self) -> bool:
        """Held by the remote party."""
    @property
    def codec(self) -> str | None:
        """The negotiated codec (``PCMU``, ``opus``...), once started."""
    @property
    def sample_rate(self) -> int | None:
        """The negotiated codec's sample rate, once started."""
    @property
    def srtp_active(self) -> bool:
        """Whether SRTP protects the media."""
    @property
    def ice_active(self) -> bool:
        """Whether ICE candidates are in use (ICE is not implemented: always False)."""
    @property
    def local_rtp_address(self) -> str | None:
        """The local RTP address (the one our SDP names), once initialized."""
    @property
    def local_rtp_port(self) -> int | None:
        """The local RTP port (RTCP uses the next one), once initialized."""
    @property
    def remote_rtp_address(self) -> str | None:
        """The RTP address the peer's SDP gives, once started."""
    @property
    def remote_rtp_port(self) -> int | None:
        """The port the peer's RTP arrives from (the SDP's until some arrived)."""
    @property
    def remote_rtp_address_sdp(self) -> str | None:
        """The RTP address the peer's SDP gives."""
    @property
    def remote_rtp_port_sdp(self) -> int | None:
        """The RTP port the peer's SDP gives."""
    @property
    def remote_rtp_address_received(self) -> str | None:
        """The address the peer's RTP really comes from."""
    @property
    def remote_rtp_port_received(self) -> int | None:
        """The port the peer's RTP really comes from."""
    @property
    def local_rtp_candidate_type(self) -> str | None:
        """The selected local ICE candidate type (ICE is not implemented: None)."""
    @property
    def remote_rtp_candidate_type(self) -> str | None:
        """The selected remote ICE candidate type (ICE is not implemented: None)."""
    @property
    def statistics(self) -> dict[str, int]:
        """RTP and jitter-buffer counters (``packets_sent``,
        ``packets_received``, ``frames_played``...); empty before the core
        stream exists."""
