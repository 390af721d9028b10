from typing import ClassVar, Optional
from sipsimple._core import SIPCoreError as SIPCoreError

__all__ = ['SIPCoreError', 'Credentials', 'Route']

class Credentials:
    """Digest credentials: ``username`` and ``password``.

    The password is never shown by ``repr``.
    """
    username: str
    password: str
    def __init__(self, username: str, password: str) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

class Route:
    """A next hop towards a SIP proxy: ``address`` (an IPv4 or IPv6
    address), ``port`` (``None`` reads as the transport's default port, 5061
    for TLS and 5060 otherwise), ``transport`` (``udp``, ``tcp`` or ``tls``,
    given in any case) and ``tls_name`` (the name a TLS server certificate
    must match, or ``None``). :meth:`DNSLookup.lookup_sip_proxy
    <sipsimple.lookup.DNSLookup.lookup_sip_proxy>` returns a list of them.

    Assigning an invalid value raises ``ValueError`` and keeps the old one.
    """
    tls_name: Optional[str]
    def __init__(self, address: str, port: Optional[int] = None, transport: str = 'udp', tls_name: Optional[str] = None) -> None: ...
    @property
    def address(self) -> str:
        """The IP address (IPv6 without brackets)."""
    @address.setter
    def address(self, address: str) -> None: ...
    @property
    def port(self) -> int:
        """The port; the transport's default port when none was given."""
    @port.setter
    def port(self, port: Optional[int]) -> None: ...
    @property
    def transport(self) -> str:
        """``udp``, ``tcp`` or ``tls``."""
    @transport.setter
    def transport(self, transport: str) -> None: ...
    def get_uri(self) -> str:
        """The route as a SIP URI: ``sip:<address>:<port>;transport=<transport>``
        (an IPv6 address in brackets; ``sip`` also for TLS, as the original)."""
    @property
    def uri(self) -> str:
        """The same as :meth:`get_uri`."""
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]
