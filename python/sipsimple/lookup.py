"""DNS lookups in the context of SIP, STUN, MSRP relays and XCAP:
:class:`DNSLookup`, :class:`DNSLookupError`, :class:`Route` and the
:class:`DNSManager` that holds the nameservers.

Every lookup method returns at once with a :class:`PendingLookup`; the
lookup runs on the middleware's own thread and ends with a notification sent
by the :class:`DNSLookup` object (``notification.sender is lookup``):

* ``DNSLookupDidSucceed`` -- ``data.result``, in the form the method
  returns (a list of :class:`Route` for :meth:`DNSLookup.lookup_sip_proxy`);
* ``DNSLookupDidFail`` -- ``data.error``, the text of the error;
* ``DNSLookupTrace`` -- once per DNS query: ``query_type``, ``query_name``,
  ``nameservers``, ``answer`` (records as text, or ``None``), ``error``,
  ``context`` (the method's name), ``service`` and ``uri``.

As in the original, ``.wait()`` on the returned object gives the result or
raises :class:`DNSLookupError`::

    from sipsimple.lookup import DNSLookup, DNSLookupError

    lookup = DNSLookup()
    try:
        routes = lookup.lookup_sip_proxy("sip:example.com", ["tls", "tcp", "udp"]).wait()
    except DNSLookupError as e:
        print("no route:", e)

Lookups need the running :class:`~sipsimple.application.SIPApplication`
(its DNS manager); before it started they fail with ``DNSManager is not
running``. A URI whose host is an IP address needs no DNS:
``sip:10.0.0.1:5070;transport=tcp`` gives one TCP route to 10.0.0.1:5070.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, Optional, TypeVar

from sipsimple import _core
from sipsimple._core import DNSLookupError
from sipsimple._objects import CoreObject, register_lookup
from sipsimple._singleton import Singleton
from sipsimple.core import Route

__all__ = ["DNSLookup", "DNSLookupError", "DNSManager", "PendingLookup", "Route"]

T = TypeVar("T")


class PendingLookup(Generic[T]):
    """A lookup under way, as returned by the :class:`DNSLookup` methods."""

    __slots__ = ("_core_pending", "lookup")

    def __init__(self, core_pending: _core.CorePendingLookup, lookup: DNSLookup) -> None:
        self._core_pending = core_pending
        #: The :class:`DNSLookup` that started the lookup (the sender of its notifications).
        self.lookup = lookup

    @property
    def ready(self) -> bool:
        """True once the lookup has ended."""
        return self._core_pending.ready

    def wait(self, timeout: Optional[float] = None) -> T:
        """Blocks (other Python threads run meanwhile) until the lookup ends,
        at most ``timeout`` seconds when given, and returns its result.
        Raises :class:`DNSLookupError` if the lookup failed, and
        ``TimeoutError`` if it has not ended within ``timeout`` (it goes on:
        wait again, or observe its notification). Without a timeout the wait
        is bounded by the lookup's ``lifetime``. May be called again: it gives
        the same result.
        """
        result: T = self._core_pending.wait(timeout)
        return result

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {'ready' if self.ready else 'running'} of {self.lookup!r}>"


def _transports(supported_transports: Sequence[str]) -> list[str]:
    if isinstance(supported_transports, str):
        raise TypeError("supported_transports must be a sequence of transport names, not a string")
    return [str(t) for t in supported_transports]


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

    __slots__ = ("_core_lookup", "__weakref__")

    def __init__(self) -> None:
        self._core_lookup = _core.CoreDNSLookup()
        register_lookup(self._core_lookup.handle, self)

    @property
    def _handle(self) -> _core.Handle:
        return self._core_lookup.handle

    def lookup_service(
        self, uri: Any, service: str, timeout: float = 3.0, lifetime: float = 15.0, port: Optional[int] = None
    ) -> PendingLookup[list[tuple[str, int]]]:
        """The servers of ``service`` (``stun`` or ``msrprelay``) for the
        domain of ``uri``: SRV records (``_stun._udp``, ``_msrps._tcp``), else
        the domain's addresses with ``port``, or with the service's default
        port (3478, 2855). An IP address host is returned as is. Result: a
        list of ``(address, port)`` tuples.
        """
        pending = self._core_lookup.lookup_service(str(uri), str(service), port, timeout, lifetime)
        return PendingLookup(pending, self)

    def lookup_sip_proxy(
        self,
        uri: Any,
        supported_transports: Sequence[str],
        timeout: float = 3.0,
        lifetime: float = 15.0,
        tls_name: Optional[str] = None,
    ) -> PendingLookup[list[Route]]:
        """An RFC 3263 lookup of the routes to the SIP proxy of ``uri``, in
        order of preference. ``supported_transports`` lists ``udp``, ``tcp``
        and ``tls`` in the application's order of preference. ``tls_name`` is
        the name a TLS server certificate must match (by default the URI's
        host, for routes found through DNS). Result: a list of :class:`Route`.
        An unsupported or unknown transport fails the lookup.
        """
        transports = _transports(supported_transports)
        pending = self._core_lookup.lookup_sip_proxy(str(uri), transports, tls_name, timeout, lifetime)
        return PendingLookup(pending, self)

    def lookup_xcap_server(
        self, uri: Any, timeout: float = 3.0, lifetime: float = 15.0
    ) -> PendingLookup[list[str]]:
        """The XCAP roots of the domain of ``uri``: the ``http``/``https``
        URLs among the TXT records of ``xcap.<domain>``. An IP address host
        fails. Result: a list of URLs.
        """
        pending = self._core_lookup.lookup_xcap_server(str(uri), timeout, lifetime)
        return PendingLookup(pending, self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._core_lookup.handle.raw:#x}>"


class DNSManager(CoreObject, metaclass=Singleton):
    """The nameservers every :class:`DNSLookup` asks (a singleton).

    They come from the system configuration (``/etc/resolv.conf``) unless
    :attr:`nameservers` is set. Unlike the original, the manager does not
    probe public nameservers. The application starts and stops it; once
    started it posts ``DNSResolverDidInitialize`` (``data.nameservers``),
    and ``DNSNameserversDidChange`` when the list changes.
    """

    @property
    def _handle(self) -> _core.Handle:
        return _core.CoreDNSManager.handle()

    @property
    def nameservers(self) -> list[str]:
        """The nameservers in use, as text (``1.2.3.4``, ``1.2.3.4:5353``).
        Assign a list of addresses (a port is optional, IPv6 with one in
        brackets) to use those, or ``None`` to go back to the system's;
        ``ValueError`` if an entry is not an address."""
        return _core.CoreDNSManager.nameservers()

    @nameservers.setter
    def nameservers(self, nameservers: Optional[Sequence[str]]) -> None:
        if isinstance(nameservers, str):
            raise TypeError("nameservers must be a sequence of addresses or None, not a string")
        _core.CoreDNSManager.set_nameservers(None if nameservers is None else [str(n) for n in nameservers])
