"""Core value types and the base exception of core failures.

In the original middleware this module is the SIP engine binding; here it
holds what the engine-independent API needs: :class:`SIPCoreError`,
:class:`Credentials` and :class:`Route`.
"""

from __future__ import annotations

import ipaddress
from typing import Optional

from sipsimple._core import SIPCoreError

__all__ = ["SIPCoreError", "Credentials", "Route"]


class Credentials:
    """Digest credentials: ``username`` and ``password``.

    The password is never shown by ``repr``.
    """

    __slots__ = ("username", "password")

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def __repr__(self) -> str:
        return f"{type(self).__name__}(username={self.username!r}, password='********')"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.username, self.password) == (other.username, other.password)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]


class Route:
    """A next hop towards a SIP proxy: ``address`` (an IPv4 or IPv6
    address), ``port`` (``None`` reads as the transport's default port, 5061
    for TLS and 5060 otherwise), ``transport`` (``udp``, ``tcp`` or ``tls``,
    given in any case) and ``tls_name`` (the name a TLS server certificate
    must match, or ``None``). :meth:`DNSLookup.lookup_sip_proxy
    <sipsimple.lookup.DNSLookup.lookup_sip_proxy>` returns a list of them.

    Assigning an invalid value raises ``ValueError`` and keeps the old one.
    """

    __slots__ = ("_address", "_port", "_transport", "tls_name")

    _default_ports = {"udp": 5060, "tcp": 5060, "tls": 5061}

    def __init__(
        self, address: str, port: Optional[int] = None, transport: str = "udp", tls_name: Optional[str] = None
    ) -> None:
        self.address = address
        self.transport = transport
        self.port = port
        self.tls_name = tls_name

    @property
    def address(self) -> str:
        """The IP address (IPv6 without brackets)."""
        return self._address

    @address.setter
    def address(self, address: str) -> None:
        try:
            parsed = ipaddress.ip_address(str(address).strip("[]"))
        except ValueError:
            raise ValueError(f"illegal address: {address}") from None
        self._address = str(parsed)

    @property
    def port(self) -> int:
        """The port; the transport's default port when none was given."""
        return self._port if self._port is not None else self._default_ports[self._transport]

    @port.setter
    def port(self, port: Optional[int]) -> None:
        if port is not None:
            port = int(port)
            if not 0 < port < 65536:
                raise ValueError(f"illegal port value: {port}")
        self._port = port

    @property
    def transport(self) -> str:
        """``udp``, ``tcp`` or ``tls``."""
        return self._transport

    @transport.setter
    def transport(self, transport: str) -> None:
        value = str(transport).lower()
        if value not in self._default_ports:
            raise ValueError(f"illegal transport value: {transport}")
        self._transport = value

    def get_uri(self) -> str:
        """The route as a SIP URI: ``sip:<address>:<port>;transport=<transport>``
        (an IPv6 address in brackets; ``sip`` also for TLS, as the original)."""
        host = f"[{self._address}]" if ":" in self._address else self._address
        return f"sip:{host}:{self.port};transport={self._transport}"

    @property
    def uri(self) -> str:
        """The same as :meth:`get_uri`."""
        return self.get_uri()

    def __str__(self) -> str:
        return self.get_uri()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._address!r}, port={self.port!r}, transport={self._transport!r}, "
            f"tls_name={self.tls_name!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Route):
            return NotImplemented
        return (self._address, self.port, self._transport, self.tls_name) == (
            other._address,
            other.port,
            other._transport,
            other.tls_name,
        )

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]
