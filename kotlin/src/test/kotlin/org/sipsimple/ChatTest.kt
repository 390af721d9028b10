package org.sipsimple

import java.nio.file.Files
import java.nio.file.Path
import java.security.MessageDigest
import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock
import org.json.JSONObject
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** How long any expected notification may take. */
private const val CHAT_WAIT_MS = 10_000L

/** SIP over UDP only. */
private const val CHAT_CONFIG = "SIPSimpleSettings:\n    sip:\n        transport_list = udp\n"

/** Every notification delivered, kept in order; the test waits (with a timeout) for the ones it expects. */
private class ChatLog : NotificationObserver {
    private val lock = ReentrantLock()
    private val arrived = lock.newCondition()
    private val seen = mutableListOf<Notification>()

    override fun handleNotification(notification: Notification) {
        lock.withLock {
            seen.add(notification)
            arrived.signalAll()
        }
    }

    /** The first notification [name] from [sender] (any sender if `null`) matching [predicate]. */
    fun await(name: String, sender: ULong? = null, predicate: (Notification) -> Boolean = { true }): Notification {
        val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CHAT_WAIT_MS)
        lock.withLock {
            while (true) {
                seen.firstOrNull { it.name == name && (sender == null || it.sender?.handle == sender) && predicate(it) }
                    ?.let { return it }
                val left = deadline - System.nanoTime()
                if (left <= 0) fail<Nothing>("no $name from $sender within $CHAT_WAIT_MS ms; got ${seen.map { it.name }}")
                arrived.awaitNanos(left)
            }
        }
    }

    /** The `message` of every `ChatStreamGotMessage` from [stream] so far. */
    fun messages(stream: ULong): List<JSONObject> = lock.withLock {
        seen.filter { it.name == "ChatStreamGotMessage" && it.sender?.handle == stream }.map { it.data().getJSONObject("message") }
    }

    /** Every notification [name] so far. */
    fun named(name: String): List<Notification> = lock.withLock { seen.filter { it.name == name } }

    /** How many notifications [name] from [sender] arrived so far. */
    fun count(name: String, sender: ULong): Int = lock.withLock { seen.count { it.name == name && it.sender?.handle == sender } }
}

/**
 * MSRP chat through the Kotlin binding: alice calls bob on loopback offering
 * a ChatStream (MSRP over TCP) and bob accepts the proposed one. A message
 * sent before the call arrives first; messages go both ways wrapped in
 * CPIM, the receiver sees the subject, sender and recipients, every message
 * is reported delivered with the id sendMessage returned; is-composing; a
 * nickname request gets 501 from a peer that is no conference; a stream
 * without CPIM refuses a subject. Also file selectors.
 */
class ChatTest {
    private val app = SipApplication()
    private val center = NotificationCenter()
    private val tokens = mutableListOf<ObserverToken>()
    private val log = ChatLog()

    @AfterEach
    fun cleanUp() {
        if (app.running()) stop()
        tokens.forEach { it.close() }
        tokens.clear()
    }

    private fun start(dir: Path) {
        if (tokens.isEmpty()) tokens.add(center.addObserver(log, null, null))
        val config = dir.resolve("config")
        if (!Files.exists(config)) Files.writeString(config, CHAT_CONFIG)
        val started = log.count("SIPApplicationDidStart", app.handle())
        app.start(Storage.file(dir.toString()))
        log.await("SIPApplicationDidStart", app.handle()) { log.count("SIPApplicationDidStart", app.handle()) > started }
    }

    private fun stop() {
        val ended = log.count("SIPApplicationDidEnd", app.handle())
        app.stop()
        log.await("SIPApplicationDidEnd", app.handle()) { log.count("SIPApplicationDidEnd", app.handle()) > ended }
    }

    /** An enabled account [id] that does not register, with MSRP over TCP. */
    private fun account(id: String): Account {
        val account = Account(id)
        account.setSetting("sip.register", "false")
        account.setSetting("msrp.transport", "\"tcp\"")
        account.setSetting("enabled", "true")
        account.save()
        return account
    }

    /** The loopback URI reaching [account]: its contact user at the engine's UDP port on 127.0.0.1. */
    private fun loopbackUri(account: Account): String {
        val contact = account.contactUri("udp")
        val match = Regex("""^sip:([^@]+)@(?:\[[^\]]+\]|[^:;>]+):(\d+)""").find(contact) ?: fail("unexpected contact $contact")
        return "sip:${match.groupValues[1]}@127.0.0.1:${match.groupValues[2]}"
    }

    private class ChatCall(val outgoing: Session, val incoming: Session, val alice: ChatStream, val bob: ChatStream)

    /** Alice calls bob offering [aliceStream]; bob accepts the proposed chat stream. */
    private fun call(bob: Account, alice: Account, aliceStream: ChatStream): ChatCall {
        val outgoing = Session(alice)
        val from = log.named("SIPSessionNewIncoming").size
        outgoing.connect(loopbackUri(bob), listOf(aliceStream.asMediaStream()), null)
        log.await("SIPSessionNewIncoming") { log.named("SIPSessionNewIncoming").size > from }
        val newIncoming = log.named("SIPSessionNewIncoming")[from]
        val incoming = Session.fromHandle(newIncoming.sender!!.handle)
        val proposed = incoming.proposedStreams()
        assertEquals(1, proposed.size)
        assertEquals("chat", proposed[0].streamType())
        val bobStream = (proposed[0] as MediaStream.Chat).stream
        assertEquals(MediaStream.Chat(bobStream), mediaStreamFromHandle(bobStream.handle()))
        assertEquals(bobStream, ChatStream.fromHandle(proposed[0].handle()))
        incoming.accept(proposed)
        log.await("SIPSessionDidStart", outgoing.handle())
        log.await("SIPSessionDidStart", incoming.handle())
        log.await("MediaStreamDidStart", aliceStream.handle())
        log.await("MediaStreamDidStart", bobStream.handle())
        return ChatCall(outgoing, incoming, aliceStream, bobStream)
    }

    /** The [n]th message [stream] received (waits for it). */
    private fun message(stream: ChatStream, n: Int): JSONObject {
        log.await("ChatStreamGotMessage", stream.handle()) { log.messages(stream.handle()).size >= n }
        return log.messages(stream.handle())[n - 1]
    }

    /** Waits for the delivery report of [id] sent on [stream]. */
    private fun delivered(stream: ChatStream, id: String): Notification =
        log.await("ChatStreamDidDeliverMessage", stream.handle()) { it.data().getString("message_id") == id }

    @Test
    fun chatMessagesFlowBothWaysWithCpimFieldsAndDeliveryReports(@TempDir dir: Path) {
        start(dir)
        val alice = account("alice@127.0.0.1")
        val bob = account("bob@127.0.0.1")

        val aliceStream = ChatStream(alice)
        assertNull(aliceStream.localUri())
        assertNull(aliceStream.cpimEnabled())
        assertEquals(emptyList<String>(), aliceStream.remotePath())
        assertFalse(aliceStream.holdSupported())
        assertEquals("chat", aliceStream.asMediaStream().streamType())
        val early = aliceStream.sendMessage("before the call", "text/plain", ChatMessageOptions())

        val c = call(bob, alice, aliceStream)
        assertEquals(true, c.alice.cpimEnabled())
        assertTrue(c.alice.localUri()!!.startsWith("msrp://"))
        assertEquals(c.bob.localUri(), c.alice.remotePath().last())
        assertEquals(bob, c.bob.account())

        val first = message(c.bob, 1)
        assertEquals("before the call", first.getString("content"))
        assertEquals("sip:alice@127.0.0.1", first.getJSONObject("sender").getString("uri"))
        delivered(c.alice, early)

        val withFields = c.alice.sendMessage(
            "hello bob",
            "text/plain",
            ChatMessageOptions(
                subject = MultilingualText("greetings", mapOf("fr" to "salutations")),
                timestamp = 1767323045.0,
                required = listOf("x-test"),
                courtesyRecipients = listOf(CpimIdentity("sip:carol@127.0.0.1", "Carol")),
                additionalHeaders = listOf(CpimHeader("Feature", "on", "urn:example:features", "EX")),
            ),
        )
        val second = message(c.bob, 2)
        assertEquals("hello bob", second.getString("content"))
        assertEquals("greetings", second.getString("subject"))
        assertEquals(1767323045.0, second.getDouble("timestamp"))
        assertEquals("x-test", second.getJSONArray("required").getString(0))
        assertEquals("Carol", second.getJSONArray("courtesy_recipients").getJSONObject(0).getString("display_name"))
        assertEquals("sip:alice@127.0.0.1", second.getJSONObject("sender").getString("uri"))
        assertEquals("Feature: on", second.getJSONArray("additional_headers").getString(0))
        val sent = log.await("ChatStreamDidSendMessage", c.alice.handle()) {
            it.data().getJSONObject("message").getString("message_id") == withFields
        }
        assertEquals("message/cpim", sent.data().getJSONObject("message").getString("content_type"))
        assertEquals(200, delivered(c.alice, withFields).data().getInt("code"))

        val reply = c.bob.sendMessage(
            "hi alice",
            "text/plain",
            ChatMessageOptions(recipients = listOf(CpimIdentity("sip:alice@127.0.0.1", "Alice"))),
        )
        val answer = message(c.alice, 1)
        assertEquals("hi alice", answer.getString("content"))
        assertEquals("Alice", answer.getJSONArray("recipients").getJSONObject(0).getString("display_name"))
        assertEquals("sip:bob@127.0.0.1", answer.getJSONObject("sender").getString("uri"))
        delivered(c.bob, reply)
        assertTrue(log.named("ChatStreamDidNotDeliverMessage").isEmpty())

        c.alice.sendComposingIndication(ComposingState.ACTIVE, 30u, 1767323045.0)
        val composing = log.await("ChatStreamGotComposingIndication", c.bob.handle()).data()
        assertEquals("active", composing.getString("state"))
        assertEquals(30, composing.getInt("refresh"))
        assertEquals(1767323045.0, composing.getDouble("last_active"))
        assertEquals("sip:alice@127.0.0.1", composing.getJSONObject("sender").getString("uri"))
        c.bob.sendComposingIndication(ComposingState.IDLE, null, null)
        assertEquals("idle", log.await("ChatStreamGotComposingIndication", c.alice.handle()).data().getString("state"))
        assertThrows<SipSimpleException.InvalidArgument> { c.alice.sendComposingIndication(ComposingState.IDLE, null, -1.0) }

        c.alice.setLocalNickname("Alice in chains")
        val refused = log.await("ChatStreamDidNotSetNickname", c.alice.handle()).data()
        assertEquals("Alice in chains", refused.getString("nickname"))
        assertEquals(501, refused.getInt("code"))
        assertThrows<SipSimpleException.InvalidArgument> { c.alice.setLocalNickname("") }

        c.outgoing.end()
        log.await("SIPSessionDidEnd", c.incoming.handle())
        log.await("MediaStreamDidEnd", c.alice.handle())
        log.await("MediaStreamDidEnd", c.bob.handle())
        assertThrows<SipSimpleException.InvalidState> { c.alice.sendMessage("late", "text/plain", ChatMessageOptions()) }

        // The next run: the streams of this one are stale.
        val handles = listOf(c.alice.handle(), c.bob.handle())
        stop()
        start(dir)
        handles.forEach { h -> assertThrows<SipSimpleException.InvalidHandle> { ChatStream.fromHandle(h) } }
        assertThrows<SipSimpleException.InvalidHandle> { ChatStream(alice) }
    }

    @Test
    fun aStreamWithoutCpimRefusesCpimOnlyOptions(@TempDir dir: Path) {
        start(dir)
        val alice = account("alice@127.0.0.1")
        val bob = account("bob@127.0.0.1")
        val c = call(bob, alice, ChatStream.withAcceptTypes(alice, listOf("text/plain"), emptyList()))
        assertEquals(false, c.alice.cpimEnabled())
        assertThrows<SipSimpleException.InvalidArgument> {
            c.alice.sendMessage("s", "text/plain", ChatMessageOptions(subject = MultilingualText("s", emptyMap())))
        }
        assertThrows<SipSimpleException.InvalidArgument> { c.alice.sendMessage("x", "image/png", ChatMessageOptions()) }
        val id = c.alice.sendMessage("plain", "text/plain", ChatMessageOptions())
        val got = message(c.bob, 1)
        assertEquals("plain", got.getString("content"))
        assertTrue(got.isNull("subject"))
        delivered(c.alice, id)
        c.outgoing.end()
        log.await("SIPSessionDidEnd", c.incoming.handle())
    }

    @Test
    fun fileSelectorsDescribeFilesAndRoundTrip(@TempDir dir: Path) {
        val path = dir.resolve("a report.pdf")
        val data = ByteArray(100_000) { (it % 251).toByte() }
        Files.write(path, data)
        val selector = fileSelectorForFile(path.toString())
        val digest = MessageDigest.getInstance("SHA-1").digest(data).joinToString(":") { "%02X".format(it) }
        assertEquals(FileSelector("a report.pdf", "application/pdf", data.size.toULong(), "sha-1:$digest"), selector)
        assertNull(fileSelectorForFile(path.toString(), "application/x-test", false).hash)

        val repr = fileSelectorSdpRepr(selector)
        assertEquals("name:\"a report.pdf\" type:application/pdf size:${data.size} hash:sha-1:$digest", repr)
        assertEquals(selector, fileSelectorParse(repr))
        assertNotNull(fileSelectorParse("").let { it.name == null })
        assertThrows<SipSimpleException.InvalidArgument> { fileSelectorParse("name:\"unterminated") }
        assertThrows<SipSimpleException.InvalidArgument> { fileSelectorSdpRepr(FileSelector(hash = "md5:00")) }
        assertThrows<SipSimpleException.InvalidArgument> { fileSelectorForFile(dir.toString()) }
    }
}
