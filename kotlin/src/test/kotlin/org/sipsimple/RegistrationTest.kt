package org.sipsimple

import java.net.DatagramPacket
import java.net.DatagramSocket
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.SocketException
import java.net.SocketTimeoutException
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** How long any expected request or notification may take to arrive. */
private const val WAIT_MS = 10_000L

private const val PASSWORD = "secret-password"

/** A SIP message split into its start line and headers (lower-case names, every value of each). */
private class SipMessage(val bytes: ByteArray) {
    val text = String(bytes, Charsets.UTF_8)
    val startLine: String = text.substringBefore("\r\n")
    val headers: Map<String, List<String>> =
        text.substringBefore("\r\n\r\n").split("\r\n").drop(1).filter { ':' in it }.groupBy(
            { compact(it.substringBefore(':').trim().lowercase()) },
            { it.substringAfter(':').trim() },
        )

    /** The only value of header [name]; fails if it is absent or repeated. */
    fun header(name: String): String {
        val values = headers[name.lowercase()] ?: fail("no $name header in:\n$text")
        assertEquals(1, values.size, "one $name header in:\n$text")
        return values[0]
    }

    private companion object {
        val COMPACT = mapOf("v" to "via", "f" to "from", "t" to "to", "i" to "call-id", "m" to "contact")

        fun compact(name: String) = COMPACT[name] ?: name
    }
}

/** The user part and port of the SIP URI in [text] (`sip:user@host:port`, maybe inside `<...>`). */
private fun userAndPort(text: String): Pair<String, Int> {
    val match = Regex("""sip:([^@;>]+)@(\[[^\]]+\]|[^:;>]+):(\d+)""").find(text) ?: fail("no sip:user@host:port in $text")
    return match.groupValues[1] to match.groupValues[3].toInt()
}

/**
 * A registrar on loopback: a UDP socket on 127.0.0.1 and a thread answering
 * every request with 200 OK (copying Via, From, To with a tag, Call-ID and
 * CSeq; a REGISTER with Expires > 0 gets its Contact back with that expiry,
 * as a registrar does). New requests are queued for the test; a
 * retransmission (same Call-ID and CSeq) is answered again and counted.
 */
private class Registrar : AutoCloseable {
    private val socket = DatagramSocket(InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
    private val received = LinkedBlockingQueue<SipMessage>()
    private val seen = CopyOnWriteArrayList<SipMessage>()
    private val thread = Thread(::serve, "loopback-registrar").apply { isDaemon = true }

    /** Every request received, retransmissions aside. */
    val requests: List<SipMessage> get() = seen

    /** How many requests were received again. */
    val retransmissions = AtomicInteger()

    val port: Int = socket.localPort

    init {
        socket.soTimeout = 200
        thread.start()
    }

    /** The next new request, waiting up to [WAIT_MS]. */
    fun next(): SipMessage = received.poll(WAIT_MS, TimeUnit.MILLISECONDS) ?: fail("no request within $WAIT_MS ms")

    /** Whether a new request is waiting to be taken. */
    fun hasPending(): Boolean = received.isNotEmpty()

    private fun serve() {
        val buffer = ByteArray(65_536)
        while (!socket.isClosed) {
            val packet = DatagramPacket(buffer, buffer.size)
            try {
                socket.receive(packet)
            } catch (_: SocketTimeoutException) {
                continue
            } catch (_: SocketException) {
                return
            }
            val request = SipMessage(packet.data.copyOf(packet.length))
            if (request.startLine.startsWith("SIP/2.0")) continue
            val key = request.headers["call-id"] to request.headers["cseq"]
            if (seen.any { (it.headers["call-id"] to it.headers["cseq"]) == key }) {
                retransmissions.incrementAndGet()
            } else {
                seen.add(request)
                received.put(request)
            }
            val answer = StringBuilder("SIP/2.0 200 OK\r\n")
            request.headers["via"].orEmpty().forEach { answer.append("Via: $it\r\n") }
            request.headers["from"].orEmpty().forEach { answer.append("From: $it\r\n") }
            request.headers["to"].orEmpty().forEach { answer.append("To: $it;tag=kotlin-registrar\r\n") }
            request.headers["call-id"].orEmpty().forEach { answer.append("Call-ID: $it\r\n") }
            request.headers["cseq"].orEmpty().forEach { answer.append("CSeq: $it\r\n") }
            val expires = request.headers["expires"]?.firstOrNull()?.toIntOrNull() ?: 0
            if (request.startLine.startsWith("REGISTER ") && expires > 0) {
                request.headers["contact"].orEmpty().forEach { answer.append("Contact: $it;expires=$expires\r\n") }
            }
            answer.append("Content-Length: 0\r\n\r\n")
            val bytes = answer.toString().toByteArray(Charsets.UTF_8)
            try {
                socket.send(DatagramPacket(bytes, bytes.size, packet.socketAddress))
            } catch (_: SocketException) {
                return
            }
        }
    }

    override fun close() {
        socket.close()
        thread.join(WAIT_MS)
    }
}

/** Every notification, in delivery order; the test takes them with a timeout. */
private class EventLog : NotificationObserver {
    private val queue = LinkedBlockingQueue<Notification>()

    /** The notifications taken so far, in delivery order. */
    val taken = mutableListOf<Notification>()

    override fun handleNotification(notification: Notification) {
        queue.put(notification)
    }

    /** Takes notifications until one named [name] from [sender] arrives. */
    fun next(name: String, sender: ULong): Notification {
        val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS)
        while (true) {
            val left = deadline - System.nanoTime()
            val n = queue.poll(left.coerceAtLeast(0), TimeUnit.NANOSECONDS)
                ?: fail("no $name within $WAIT_MS ms; got ${taken.map { it.name }}")
            taken.add(n)
            if (n.name == name && n.sender?.handle == sender) return n
        }
    }

    /** Position among the taken notifications of the first [name] from [sender]; -1 if none. */
    fun indexOf(name: String, sender: ULong): Int = taken.indexOfFirst { it.name == name && it.sender?.handle == sender }

    /** Forgets the notifications taken so far. */
    fun clear() = taken.clear()
}

/**
 * Account registration through the Kotlin binding: an enabled account
 * registers with a registrar on loopback, `registered()` and `contactUri()`
 * follow, stopping the application unregisters it (the unregistration is
 * answered while the stop proceeds, before `SIPApplicationDidEnd`), and the
 * saved account registers again after a restart while the object from the
 * first run is stale.
 */
class RegistrationTest {
    private val app = SipApplication()
    private val center = NotificationCenter()
    private val tokens = mutableListOf<ObserverToken>()

    private fun record(): EventLog {
        val log = EventLog()
        tokens.add(center.addObserver(log, null, null))
        return log
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

    /**
     * Stops the application while [registrar] answers, and checks that the
     * stop ended with the account unregistered: one REGISTER with
     * `Expires: 0` for the registration [registered] (same Call-ID, higher
     * CSeq), `SIPAccountRegistrationDidEnd` before `SIPApplicationDidEnd`,
     * well before the unregistration would have given up (2 s).
     */
    private fun stopAndCheckUnregistered(
        events: EventLog,
        registrar: Registrar,
        account: Account,
        registered: SipMessage,
    ) {
        val started = System.nanoTime()
        app.stop()
        events.next("SIPApplicationDidEnd", app.handle())
        val elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)
        assertTrue(elapsedMs < 1500, "the answered unregistration ended the stop at once, not after ${elapsedMs} ms")
        assertFalse(app.running())

        val unregister = registrar.next()
        assertEquals("REGISTER sip:127.0.0.1 SIP/2.0", unregister.startLine)
        assertEquals("0", unregister.header("expires"))
        assertEquals(registered.header("call-id"), unregister.header("call-id"))
        val cseq = { m: SipMessage -> m.header("cseq").substringBefore(' ').toLong() }
        assertTrue(cseq(unregister) > cseq(registered))
        assertEquals(userAndPort(registered.header("contact")), userAndPort(unregister.header("contact")))
        assertFalse(registrar.hasPending(), "one unregistration, nothing else")

        val handle = account.handle()
        val willDeactivate = events.indexOf("SIPAccountWillDeactivate", handle)
        val didEnd = events.indexOf("SIPAccountRegistrationDidEnd", handle)
        val willEnd = events.indexOf("SIPApplicationWillEnd", app.handle())
        val appDidEnd = events.indexOf("SIPApplicationDidEnd", app.handle())
        assertTrue(willEnd in 0 until willDeactivate, "${events.taken.map { it.name }}")
        assertTrue(willDeactivate < didEnd, "${events.taken.map { it.name }}")
        assertTrue(didEnd < appDidEnd, "${events.taken.map { it.name }}")
        assertEquals(-1, events.indexOf("SIPAccountRegistrationDidNotEnd", handle))
        assertFalse(account.registered())
    }

    @Test
    fun `an enabled account registers with a loopback registrar and unregisters on stop`(@TempDir dir: Path) {
        Files.writeString(dir.resolve("config"), "SIPSimpleSettings:\n    sip:\n        transport_list = udp\n")
        Registrar().use { registrar ->
            val events = record()
            app.start(Storage.file(dir.toString()))
            events.next("SIPApplicationDidStart", app.handle())

            val account = Account("alice@127.0.0.1")
            assertFalse(account.registered())
            account.setSetting("sip.outbound_proxy", "\"127.0.0.1:${registrar.port};transport=udp\"")
            account.setSetting("sip.register_interval", "120")
            account.setSetting("auth.password", "\"$PASSWORD\"")
            account.setSetting("enabled", "true")
            account.save()

            // The REGISTER.
            val register = registrar.next()
            assertEquals("REGISTER sip:127.0.0.1 SIP/2.0", register.startLine)
            assertEquals("120", register.header("expires"))
            assertTrue(register.header("to").contains("sip:alice@127.0.0.1"), register.text)
            assertTrue(register.header("from").contains("sip:alice@127.0.0.1"), register.text)
            assertNull(register.headers["authorization"], "not challenged, no credentials sent")
            val (contactUser, contactPort) = userAndPort(register.header("contact"))

            // Its notifications: activation, then registration.
            val handle = account.handle()
            val done = events.next("SIPAccountRegistrationDidSucceed", handle)
            // The registration starts during activation: SIPAccountWillRegister
            // may come before or after SIPAccountDidActivate, never before WillActivate.
            assertTrue(events.indexOf("SIPAccountWillActivate", handle) in 0 until events.indexOf("SIPAccountWillRegister", handle))
            if (events.indexOf("SIPAccountDidActivate", handle) < 0) events.next("SIPAccountDidActivate", handle)
            assertEquals(-1, events.indexOf("SIPAccountRegistrationDidFail", handle))
            val data = done.data()
            assertEquals(120, data.getInt("expires"))
            assertTrue(data.getString("contact_header").contains("$contactUser@"), data.toString())
            val route = data.getJSONObject("registrar")
            assertEquals("127.0.0.1", route.getString("address"))
            assertEquals(registrar.port, route.getInt("port"))
            assertEquals("udp", route.getString("transport"))
            assertTrue(account.registered())

            // The Contact URI for UDP: the contact user and the engine's port
            // (its host is the address the system routes outwards from, which
            // may differ from the loopback address the REGISTER went out on).
            val contact = account.contactUri("udp")
            assertTrue(contact.startsWith("sip:$contactUser@"), contact)
            assertEquals(contactPort, userAndPort(contact).second)
            assertFalse(contact.contains("transport="), contact)
            val unknown = assertThrows<SipSimpleException.InvalidArgument> { account.contactUri("sctp") }
            assertTrue(unknown.detail.contains("sctp"), unknown.detail)
            assertThrows<SipSimpleException.NotFound> { account.contactUri("tcp") } // udp only

            // Stop: the unregistration is answered while the stop proceeds.
            stopAndCheckUnregistered(events, registrar, account, register)
            // The object still names the account until a restart; no Contact without an engine.
            assertThrows<SipSimpleException.InvalidState> { account.contactUri("udp") }

            // Restart: the saved account registers again; the object from the first run is stale.
            events.clear()
            app.start(Storage.file(dir.toString()))
            events.next("SIPApplicationDidStart", app.handle())
            val again = AccountManager().getAccount("alice@127.0.0.1")
            assertNotEquals(handle, again.handle())
            val reregister = registrar.next()
            assertEquals("120", reregister.header("expires"))
            events.next("SIPAccountRegistrationDidSucceed", again.handle())
            assertTrue(again.registered())
            assertTrue(again.contactUri("udp").startsWith("sip:"))
            assertThrows<SipSimpleException.InvalidHandle> { account.registered() }
            assertThrows<SipSimpleException.InvalidHandle> { account.contactUri("udp") }

            stopAndCheckUnregistered(events, registrar, again, reregister)

            assertTrue(registrar.requests.none { PASSWORD in String(it.bytes, Charsets.ISO_8859_1) })
        }
    }
}
