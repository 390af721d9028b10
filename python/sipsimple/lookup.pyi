from collections.abc import Sequence
from typing import Any, Generic, Optional, TypeVar
from sipsimple import _core
from sipsimple._core import DNSLookupError as DNSLookupError
from sipsimple._objects import CoreObject
from sipsimple._singleton import Singleton
from sipsimple.core import Route as Route

__all__ = ['DNSLookup', 'DNSLookupError', 'DNSManager', 'PendingLookup', 'Route']

T = TypeVar('T')

class PendingLookup(Generic[T]):
    """A lookup under way, as returned by the :class:`DNSLookup` methods."""
    lookup: DNSLookup
    def __init__(self, core_pending: _core.CorePendingLookup, lookup: DNSLookup) -> None: ...
    @property
    def ready(self) -> bool:
        """True once the lookup has ended."""
    def wait(self, timeout: Optional[float] = None) -> T:
        """Blocks (other Python threads run meanwhile) until the lookup ends,
        at most ``timeout`` seconds when given, and returns its result.
        Raises :class:`DNSLookupError` if the lookup failed, and
        ``TimeoutError`` if it has not ended within ``timeout`` (it goes on:
        wait again, or observe its notification). Without a timeout the wait
        is bounded by the lookup's ``lifetime``. May be called again: it gives
        the same result.
        """

class DNSLookup(CoreObject):
    """Finds SIP proxies (RFC 3263), STUN servers and MSRP relays, and XCAP
    servers. Each method takes the two time limits of the original:
    ``timeout``, the seconds to wait for one nameserver, and ``lifetime``,
    the seconds the whole lookup may take. Several lookups may run at once
    on one object; each notification names its method in ``DNSLookupTrace``
    (``context``).

    ``uri`` is a SIP URI as text (``sip:alice@example.com``,
    ``sips:example.com``, ``sip:10.0.0.1:5070;transport=tcp``) or any object
    whose ``str()`` is one. Only its host, port, ``transport`` parameter
    and scheme are used. A negative, infinite or NaN ``timeout`` or
    ``lifetime`` raises ``ValueError``; every other problem fails the
    lookup (``DNSLookupDidFail``, :class:`DNSLookupError` from ``wait``).
    """
    def __init__(self) -> None: ...
    @property
    def _handle(self) -> _core.Handle: ...
    def lookup_service(self, uri: Any, service: str, timeout: float = 3.0, lifetime: float = 15.0, port: Optional[int] = None) -> PendingLookup[list[tuple[str, int]]]:
        """The servers of ``service`` (``stun`` or ``msrprelay``) for the
        domain of ``uri``: SRV records (``_stun._udp``, ``_msrps._tcp``), else
        the domain's addresses with ``port``, or with the service's default
        port (3478, 2855). An IP address host is returned as is. Result: a
        list of ``(address, port)`` tuples.
        """
    def lookup_sip_proxy(self, uri: Any, supported_transports: Sequence[str], timeout: float = 3.0, lifetime: float = 15.0, tls_name: Optional[str] = None) -> PendingLookup[list[Route]]:
        """An RFC 3263 lookup of the routes to the SIP proxy of ``uri``, in
        order of preference. ``supported_transports`` lists ``udp``, ``tcp``
        and ``tls`` in the application's order of preference. ``tls_name`` is
        the name a TLS server certificate must match (by default the URI's
        host, for routes found through DNS). Result: a list of :class:`Route`.
        An unsupported or unknown transport fails the lookup.
        """
    def lookup_xcap_server(self, uri: Any, timeout: float = 3.0, lifetime: float = 15.0) -> PendingLookup[list[str]]:
        """The XCAP roots of the domain of ``uri``: the ``http``/``https``
        URLs among the TXT records of ``xcap.<domain>``. An IP address host
        fails. Result: a list of URLs.
        """

class DNSManager(CoreObject, metaclass=Singleton):
    """The nameservers every :class:`DNSLookup` asks (a singleton).

    They come from the system configuration (``/etc/resolv.conf``) unless
    :attr:`nameservers` is set. Unlike the original, the manager does not
    probe public nameservers. The application starts and stops it; once
    started it posts ``DNSResolverDidInitialize`` (``data.nameservers``),
    and ``DNSNameserversDidChange`` when the list changes.
    """
    @property
    def _handle(self) -> _core.Handle: ...
    @property
    def nameservers(self) -> list[str]:
        """The nameservers in use, as text (``1.2.3.4``, ``1.2.3.4:5353``).
        Assign a list of addresses (a port is optional, IPv6 with one in
        brackets) to use those, or ``None`` to go back to the system's;
        ``ValueError`` if an entry is not an address."""
    @nameservers.setter
    def nameservers(self, nameservers: Optional[Sequence[str]]) -> None: ...
