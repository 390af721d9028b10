package org.sipsimple

import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** How long a lookup or a notification may take. */
private const val WAIT_MS = 10_000L

/**
 * DNS lookups through the Kotlin binding: numeric-IP URIs (no DNS needed),
 * failures (unsupported transports, a name under `.invalid`, the stopped
 * application), services and XCAP roots, and the notifications the lookup
 * object sends.
 */
class DnsLookupTest {
    private val app = SipApplication()
    private val center = NotificationCenter()
    private val tokens = mutableListOf<ObserverToken>()
    private val events = LinkedBlockingQueue<Notification>()

    /** Records every notification sent by [lookup]. */
    private fun observe(lookup: DnsLookup) {
        tokens.add(center.observe(null, lookup.handle()) { events.put(it) })
    }

    /** Takes recorded notifications until one named [name] arrives. */
    private fun next(name: String): Notification {
        val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS)
        while (true) {
            val left = deadline - System.nanoTime()
            val n = events.poll(left.coerceAtLeast(0), TimeUnit.NANOSECONDS) ?: fail("no $name within $WAIT_MS ms")
            if (n.name == name) return n
        }
    }

    private fun startAndWait() {
        val started = LinkedBlockingQueue<Notification>()
        tokens.add(center.observe("SIPApplicationDidStart", app.handle()) { started.put(it) })
        app.start(Storage.memory())
        assertTrue(started.poll(WAIT_MS, TimeUnit.MILLISECONDS) != null, "SIPApplicationDidStart")
    }

    @AfterEach
    fun cleanUp() {
        if (app.running()) {
            val ended = LinkedBlockingQueue<Notification>()
            tokens.add(center.observe("SIPApplicationDidEnd", app.handle()) { ended.put(it) })
            app.stop()
            assertTrue(ended.poll(WAIT_MS, TimeUnit.MILLISECONDS) != null, "SIPApplicationDidEnd")
        }
        tokens.forEach { it.close() }
        tokens.clear()
    }

    @Test
    fun `a numeric IP URI gives its route without DNS`() {
        startAndWait()
        val lookup = DnsLookup()
        observe(lookup)
        val pending = lookup.lookupSipProxy("sip:127.0.0.1:5070;transport=tcp", listOf("udp", "tcp"))
        val routes = pending.wait(WAIT_MS.toUInt())
        assertEquals(listOf(Route("127.0.0.1", 5070u, "tcp", null, "sip:127.0.0.1:5070;transport=tcp")), routes)
        assertTrue(pending.isDone())
        assertEquals(routes, pending.wait(), "waiting again gives the same result")

        val succeeded = next("DNSLookupDidSucceed")
        assertEquals(lookup.handle(), succeeded.sender?.handle)
        assertEquals("DNSLookup", succeeded.sender?.kind)
        val route = succeeded.data().getJSONArray("result").getJSONObject(0)
        assertEquals("127.0.0.1", route.getString("address"))
        assertEquals(5070, route.getInt("port"))
        assertEquals("tcp", route.getString("transport"))
        assertEquals("sip:127.0.0.1:5070;transport=tcp", route.getString("uri"))

        // sips means TLS on its default port; an explicit TLS name is kept.
        val tls = lookup.lookupSipProxy("sips:alice@127.0.0.1", listOf("tls"), tlsName = "proxy.example.com").wait()
        val expected = Route("127.0.0.1", 5061u, "tls", "proxy.example.com", "sip:127.0.0.1:5061;transport=tls")
        assertEquals(listOf(expected), tls)
        val result = next("DNSLookupDidSucceed").data().getJSONArray("result")
        assertEquals("proxy.example.com", result.getJSONObject(0).getString("tls_name"))
    }

    @Test
    fun `an unsupported transport fails the lookup`() {
        startAndWait()
        val lookup = DnsLookup()
        observe(lookup)
        val failure = assertThrows<SipSimpleException.DnsLookupFailed> {
            lookup.lookupSipProxy("sip:127.0.0.1;transport=tcp", listOf("udp")).wait(WAIT_MS.toUInt())
        }
        assertEquals("IP transport tcp dictated by URI is not supported", failure.error)
        val failed = next("DNSLookupDidFail")
        assertEquals(lookup.handle(), failed.sender?.handle)
        assertEquals(failure.error, failed.data().getString("error"))

        assertThrows<SipSimpleException.DnsLookupFailed> {
            lookup.lookupSipProxy("sip:127.0.0.1", listOf("udp", "sctp")).wait(WAIT_MS.toUInt())
        }
        assertThrows<SipSimpleException.InvalidArgument> {
            lookup.lookupSipProxy("sip:127.0.0.1", listOf("udp"), timeout = -1.0)
        }
    }

    @Test
    fun `a name under invalid fails within the lifetime`() {
        startAndWait()
        val lookup = DnsLookup()
        observe(lookup)
        val began = System.nanoTime()
        val pending =
            lookup.lookupSipProxy("sip:nonexistent.invalid", listOf("udp", "tcp"), timeout = 1.0, lifetime = 3.0)
        val failure = assertThrows<SipSimpleException.DnsLookupFailed> { pending.wait(20_000u) }
        val tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began)
        assertTrue(tookMs < WAIT_MS, "took $tookMs ms")
        val error = failure.error
        assertTrue(error.contains("nonexistent.invalid") || error.contains("nameservers"), error)
        assertEquals(failure.error, next("DNSLookupDidFail").data().getString("error"))
    }

    @Test
    fun `services and XCAP servers`() {
        startAndWait()
        val lookup = DnsLookup()
        assertEquals(
            listOf(ServiceAddress("10.1.2.3", 3478u)),
            lookup.lookupService("sip:10.1.2.3", "stun").wait(WAIT_MS.toUInt()),
        )
        assertEquals(
            listOf(ServiceAddress("10.1.2.3", 4000u)),
            lookup.lookupService("sip:10.1.2.3", "msrprelay", port = 4000u).wait(WAIT_MS.toUInt()),
        )
        val unknown = assertThrows<SipSimpleException.DnsLookupFailed> {
            lookup.lookupService("sip:10.1.2.3", "turn").wait(WAIT_MS.toUInt())
        }
        assertEquals("Unknown service: turn", unknown.error)
        val xcap = assertThrows<SipSimpleException.DnsLookupFailed> {
            lookup.lookupXcapServer("sip:10.1.2.3").wait(WAIT_MS.toUInt())
        }
        assertTrue(xcap.error.contains("the host is an IP address"), xcap.error)
    }

    @Test
    fun `lookups fail while the application is stopped`() {
        assertFalse(app.running())
        val lookup = DnsLookup()
        observe(lookup)
        val failure = assertThrows<SipSimpleException.DnsLookupFailed> {
            lookup.lookupSipProxy("sip:127.0.0.1", listOf("udp")).wait(WAIT_MS.toUInt())
        }
        assertEquals("DNSManager is not running", failure.error)
        val failed = next("DNSLookupDidFail")
        assertEquals("DNSManager is not running", failed.data().getString("error"))
        assertNull(failed.data().opt("result"))
    }
}
