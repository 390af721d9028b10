"""DNS lookups (``sipsimple.lookup``): routes for numeric-IP URIs (no DNS
needed), failures (unsupported transports, a name under ``.invalid``, a
nameserver that never answers), services and XCAP roots, the waitable the
methods return and the notifications, with the DNSLookup object as sender."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from conftest import TIMEOUT, Recorder
from sipsimple.application import SIPApplication
from sipsimple.core import Route
from sipsimple.lookup import DNSLookup, DNSLookupError, DNSManager, PendingLookup
from sipsimple.notification import Notification, NotificationCenter


def outcome_of(recorder: Recorder, lookup: DNSLookup) -> Notification:
    """The first DNSLookupDidSucceed or DNSLookupDidFail sent by ``lookup``."""
    with recorder.condition:
        found = recorder.condition.wait_for(
            lambda: [
                n
                for n in recorder.notifications
                if n.name in ("DNSLookupDidSucceed", "DNSLookupDidFail") and n.sender is lookup
            ],
            TIMEOUT,
        )
    assert found, f"no outcome for {lookup!r} within {TIMEOUT}s; got {recorder.names()}"
    return found[0]


def test_route_is_a_checked_value() -> None:
    route = Route("10.0.0.1", 5070, "TCP")
    assert (route.address, route.port, route.transport, route.tls_name) == ("10.0.0.1", 5070, "tcp", None)
    assert route.get_uri() == route.uri == str(route) == "sip:10.0.0.1:5070;transport=tcp"
    assert Route("10.0.0.1").port == 5060
    assert Route("10.0.0.1", transport="tls").port == 5061
    v6 = Route("::1", 5060, "udp", tls_name="proxy.example.com")
    assert v6.get_uri() == "sip:[::1]:5060;transport=udp"
    assert v6.tls_name == "proxy.example.com"
    assert Route("10.0.0.1", 5061, "tls") == Route("10.0.0.1", None, "tls")
    assert Route("10.0.0.1", 5061, "tls") != Route("10.0.0.1", 5061, "tls", "x.example.com")
    assert "tcp" in repr(route)
    for address, port in [("example.com", None), ("10.0.0.1", 0), ("10.0.0.1", 70000)]:
        with pytest.raises(ValueError):
            Route(address, port)
    with pytest.raises(ValueError, match="illegal transport"):
        route.transport = "sctp"
    assert route.transport == "tcp"


def test_lookups_need_the_running_application(app: SIPApplication, recorder: Recorder) -> None:
    assert not app.running
    lookup = DNSLookup()
    pending = lookup.lookup_sip_proxy("sip:127.0.0.1", ["udp"])
    assert isinstance(pending, PendingLookup)
    assert pending.lookup is lookup
    with pytest.raises(DNSLookupError, match="DNSManager is not running"):
        pending.wait(TIMEOUT)
    failed = outcome_of(recorder, lookup)
    assert failed.name == "DNSLookupDidFail"
    assert failed.data.error == "DNSManager is not running"


def test_numeric_ip_uris_need_no_dns(started: SIPApplication, recorder: Recorder) -> None:
    lookup = DNSLookup()
    pending = lookup.lookup_sip_proxy("sip:127.0.0.1:5070;transport=tcp", ["udp", "tcp"])
    routes = pending.wait(TIMEOUT)
    assert routes == [Route("127.0.0.1", 5070, "tcp")]
    assert isinstance(routes[0], Route)
    assert pending.ready
    assert pending.wait() == routes, "waiting again gives the same result"

    done = outcome_of(recorder, lookup)
    assert done.name == "DNSLookupDidSucceed"
    assert done.sender is lookup
    assert done.data.result == [Route("127.0.0.1", 5070, "tcp")]
    assert all(isinstance(r, Route) for r in done.data.result)

    # sips means TLS, on its default port; an explicit tls_name is kept.
    tls = DNSLookup()
    routes = tls.lookup_sip_proxy("sips:alice@127.0.0.1", ["udp", "tls"], tls_name="proxy.example.com").wait(TIMEOUT)
    assert routes == [Route("127.0.0.1", 5061, "tls", "proxy.example.com")]
    assert routes[0].get_uri() == "sip:127.0.0.1:5061;transport=tls"
    assert outcome_of(recorder, tls).data.result == routes
    # IPv6 literals too, with the default transport (udp).
    assert DNSLookup().lookup_sip_proxy("sip:[::1]", ["tcp", "udp"]).wait(TIMEOUT) == [Route("::1", 5060, "udp")]


def test_unsupported_transports_fail_the_lookup(started: SIPApplication, recorder: Recorder) -> None:
    lookup = DNSLookup()
    with pytest.raises(DNSLookupError, match="IP transport tcp dictated by URI is not supported"):
        lookup.lookup_sip_proxy("sip:127.0.0.1;transport=tcp", ["udp"]).wait(TIMEOUT)
    failed = outcome_of(recorder, lookup)
    assert failed.name == "DNSLookupDidFail"
    assert failed.sender is lookup
    assert failed.data.error == "IP transport tcp dictated by URI is not supported"

    for uri, transports, message in [
        ("sips:127.0.0.1", ["udp", "tcp"], "not supported"),
        ("sip:127.0.0.1", ["udp", "sctp"], "Unknown transports: sctp"),
        ("sip:127.0.0.1", [], "No transports are supported"),
        ("sip:bad host", ["udp"], "Invalid URI"),
    ]:
        with pytest.raises(DNSLookupError, match=message):
            DNSLookup().lookup_sip_proxy(uri, transports).wait(TIMEOUT)
    with pytest.raises(TypeError):
        lookup.lookup_sip_proxy("sip:127.0.0.1", "udp")
    with pytest.raises(ValueError):
        lookup.lookup_sip_proxy("sip:127.0.0.1", ["udp"], timeout=-1.0)


def test_a_name_under_invalid_fails_within_the_lifetime(started: SIPApplication, recorder: Recorder) -> None:
    lookup = DNSLookup()
    began = time.monotonic()
    pending = lookup.lookup_sip_proxy("sip:alice@nonexistent.invalid", ["udp", "tcp", "tls"], timeout=1.0, lifetime=3.0)
    with pytest.raises(DNSLookupError) as failure:
        pending.wait(TIMEOUT)
    assert time.monotonic() - began < TIMEOUT
    error = str(failure.value)
    assert "nonexistent.invalid" in error or "nameservers" in error, error
    failed = outcome_of(recorder, lookup)
    assert (failed.name, failed.data.error) == ("DNSLookupDidFail", error)
    if "No nameservers" not in error:
        traces = [n for n in recorder.named("DNSLookupTrace") if n.sender is lookup]
        assert traces, recorder.names()
        first = traces[0].data
        assert (first.query_type, first.query_name) == ("NAPTR", "nonexistent.invalid")
        assert first.context == "lookup_sip_proxy"
        assert first.uri == "sip:nonexistent.invalid", "the user part stays out of traces"
        assert isinstance(first.nameservers, list)
        assert first.answer is None and isinstance(first.error, str)


def test_services_and_xcap_servers(started: SIPApplication, recorder: Recorder) -> None:
    lookup = DNSLookup()
    assert lookup.lookup_service("sip:10.1.2.3", "stun").wait(TIMEOUT) == [("10.1.2.3", 3478)]
    assert lookup.lookup_service("sip:10.1.2.3", "msrprelay", port=4000).wait(TIMEOUT) == [("10.1.2.3", 4000)]
    assert lookup.lookup_service("sip:10.1.2.3:2856", "msrprelay").wait(TIMEOUT) == [("10.1.2.3", 2856)]
    with pytest.raises(DNSLookupError, match="Unknown service: turn"):
        lookup.lookup_service("sip:10.1.2.3", "turn").wait(TIMEOUT)
    with pytest.raises(DNSLookupError, match="the host is an IP address"):
        lookup.lookup_xcap_server("sip:10.1.2.3").wait(TIMEOUT)
    # The same outcomes as notifications, in order, sent by the lookup.
    assert NotificationCenter()._flush(TIMEOUT)
    outcomes = [
        (n.name, n.data.result if n.name == "DNSLookupDidSucceed" else n.data.error)
        for n in recorder.notifications
        if n.name in ("DNSLookupDidSucceed", "DNSLookupDidFail") and n.sender is lookup
    ]
    assert outcomes == [
        ("DNSLookupDidSucceed", [("10.1.2.3", 3478)]),
        ("DNSLookupDidSucceed", [("10.1.2.3", 4000)]),
        ("DNSLookupDidSucceed", [("10.1.2.3", 2856)]),
        ("DNSLookupDidFail", "Unknown service: turn"),
        ("DNSLookupDidFail", "Invalid URI: Cannot perform DNS query because the host is an IP address"),
    ]


@pytest.fixture
def silent_nameserver() -> Iterator[int]:
    """A UDP port on 127.0.0.1 that receives queries and never answers, set
    as the only nameserver; the system's nameservers are restored after."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    manager = DNSManager()
    manager.nameservers = [f"127.0.0.1:{port}"]
    try:
        yield port
    finally:
        manager.nameservers = None
        sock.close()


def test_nameservers_can_be_set(silent_nameserver: int) -> None:
    manager = DNSManager()
    assert manager is DNSManager()
    assert manager.nameservers == [f"127.0.0.1:{silent_nameserver}"]
    with pytest.raises(ValueError, match="not a nameserver address"):
        manager.nameservers = ["dns.example.com"]
    assert manager.nameservers == [f"127.0.0.1:{silent_nameserver}"], "unchanged after a bad list"
    with pytest.raises(TypeError):
        manager.nameservers = "127.0.0.1"


def test_waiting_releases_the_gil_and_can_time_out(
    silent_nameserver: int, started: SIPApplication, recorder: Recorder
) -> None:
    lookup = DNSLookup()
    began = time.monotonic()
    pending = lookup.lookup_sip_proxy("sip:example.test", ["udp"], timeout=0.3, lifetime=1.5)
    with pytest.raises(TimeoutError):
        pending.wait(0.05)
    assert not pending.ready

    # Another Python thread keeps running while this one waits.
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        with pytest.raises(DNSLookupError, match="Timeout in lookup for routes for SIP URI sip:example.test"):
            pending.wait()
    finally:
        stop.set()
        spinner.join(TIMEOUT)
    elapsed = time.monotonic() - began
    assert 0.3 <= elapsed < TIMEOUT, elapsed
    assert ticks > 10
    assert pending.ready
    assert outcome_of(recorder, lookup).name == "DNSLookupDidFail"
    traces = [n.data for n in recorder.named("DNSLookupTrace") if n.sender is lookup]
    assert traces and traces[0].query_type == "NAPTR"
    assert traces[0].nameservers == [f"127.0.0.1:{silent_nameserver}"]
