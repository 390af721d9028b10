package org.sipsimple

import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.Socket
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import org.json.JSONObject
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** How long any expected notification may take to arrive. */
private const val TIMEOUT_MS = 10_000L

/**
 * Records the notifications it observes and lets the test wait for them, in
 * delivery order, with a timeout.
 */
private class Recorder : NotificationObserver {
    private val queue = LinkedBlockingQueue<Notification>()
    private val consumed = mutableListOf<Notification>()

    override fun handleNotification(notification: Notification) {
        queue.put(notification)
    }

    /** Consumes notifications until one named [name] matching [predicate] arrives. */
    fun next(name: String, predicate: (Notification) -> Boolean = { true }): Notification {
        val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS)
        while (true) {
            val left = deadline - System.nanoTime()
            val n = queue.poll(left.coerceAtLeast(0), TimeUnit.NANOSECONDS)
                ?: fail("no $name within $TIMEOUT_MS ms; got ${consumed.map { it.name }}")
            consumed.add(n)
            if (n.name == name && predicate(n)) return n
        }
    }

    /** Everything delivered and not consumed yet (call after a flush). */
    fun pending(): List<Notification> = generateSequence { queue.poll() }.toList()
}

class SpineTest {
    private val app = SipApplication()
    private val center = NotificationCenter()
    private val tokens = mutableListOf<ObserverToken>()

    private fun record(name: String? = null, sender: ULong? = null): Recorder {
        val recorder = Recorder()
        tokens.add(center.addObserver(recorder, name, sender))
        return recorder
    }

    /** Starts the application and waits until it did start. */
    private fun startAndWait(storage: Storage) {
        val recorder = record("SIPApplicationDidStart")
        app.start(storage)
        recorder.next("SIPApplicationDidStart")
    }

    /** Stops the application and waits until it did end. */
    private fun stopAndWait() {
        val recorder = record("SIPApplicationDidEnd")
        app.stop()
        recorder.next("SIPApplicationDidEnd")
    }

    @AfterEach
    fun cleanUp() {
        if (app.running()) stopAndWait()
        tokens.forEach { it.close() }
        tokens.clear()
    }

    @Test
    fun `start, add an account, change a setting, stop, restart and find it again`(@TempDir dir: Path) {
        val events = record()
        app.start(Storage.file(dir.toString()))
        assertTrue(app.running())
        val willStart = events.next("SIPApplicationWillStart")
        assertEquals(app.handle(), willStart.sender?.handle)
        assertEquals("SIPApplication", willStart.sender?.kind)
        val didStart = events.next("SIPApplicationDidStart")
        assertTrue(didStart.timestamp >= willStart.timestamp)
        assertTrue(didStart.data().has("timestamp"))

        val account = Account("alice@example.com")
        assertEquals("alice", account.username())
        assertEquals("example.com", account.domain())
        assertEquals("sip:alice@example.com", account.uri())
        assertFalse(account.isBonjour())
        assertFalse(AccountManager().hasAccount("alice@example.com"), "not saved yet")
        account.setSetting("enabled", "true")
        account.save()
        val created = events.next("CFGSettingsObjectWasCreated") { it.sender?.handle == account.handle() }
        assertEquals("alice@example.com", created.sender?.id)
        val added = events.next("SIPAccountManagerDidAddAccount") {
            it.handleOf("account") == account.handle()
        }
        assertEquals(AccountManager().handle(), added.sender?.handle)
        val ref = added.data().getJSONObject("account")
        assertEquals("Account", ref.getString("type"))
        assertEquals("alice@example.com", ref.getString("id"))
        assertTrue(AccountManager().hasAccount("alice@example.com"))
        assertEquals(account, AccountManager().getAccount("alice@example.com"))

        AccountManager().setDefaultAccount(account)
        assertEquals(account, AccountManager().defaultAccount())
        events.next("SIPAccountManagerDidChangeDefaultAccount") { it.handleOf("account") == account.handle() }

        val old = account.getSetting("sip.register_interval")
        assertEquals("600", old)
        account.setSetting("sip.register_interval", "300")
        assertEquals("300", account.getSetting("sip.register_interval"))
        account.save()
        val changed = events.next("CFGSettingsObjectDidChange") { it.sender?.handle == account.handle() }
        val modified = changed.data().getJSONObject("modified")
        assertEquals(setOf("sip.register_interval"), modified.keySet())
        val change = modified.getJSONObject("sip.register_interval")
        assertEquals(600, change.getInt("old"))
        assertEquals(300, change.getInt("new"))

        app.stop()
        events.next("SIPApplicationWillEnd")
        events.next("SIPApplicationDidEnd")
        assertFalse(app.running())
        val configFile = dir.resolve("config")
        assertTrue(Files.readString(configFile).contains("alice@example.com"))

        app.start(Storage.file(dir.toString()))
        events.next("SIPApplicationDidStart")
        val again = AccountManager().getAccount("alice@example.com")
        assertEquals("300", again.getSetting("sip.register_interval"))
        assertTrue(AccountManager().getAccounts().any { it.id() == "alice@example.com" })
        assertTrue(again.enabled())
        assertEquals(again, AccountManager().findAccount("sip:alice@example.com"))
        assertEquals(again, AccountManager().defaultAccount())

        // The object from before the restart refers to an account that was
        // reloaded: it is stale, not silently redirected.
        assertTrue(account != again)
        val stale = assertThrows<SipSimpleException.InvalidHandle> { account.getSetting("sip.register_interval") }
        assertTrue(stale.detail.contains("alice@example.com"), stale.message)
        assertThrows<SipSimpleException.InvalidHandle> { account.save() }
        assertThrows<SipSimpleException.InvalidHandle> { AccountManager().setDefaultAccount(account) }
        assertEquals("alice@example.com", account.id(), "the identity stays readable")

        stopAndWait()
    }

    @Test
    fun `an invalid setting value is refused and the old value kept`() {
        startAndWait(Storage.memory())
        val account = Account("bob@example.com")
        account.setSetting("sip.register_interval", "300")

        val e = assertThrows<SipSimpleException.InvalidSetting> {
            account.setSetting("sip.register_interval", "\"soon\"")
        }
        assertEquals("sip.register_interval", e.setting)
        assertTrue(e.message!!.contains("sip.register_interval"), e.message)
        assertEquals("300", account.getSetting("sip.register_interval"))
        assertThrows<SipSimpleException.InvalidSetting> { account.setSetting("sip.register_interval", "-1") }
        assertEquals("300", account.getSetting("sip.register_interval"))

        assertThrows<SipSimpleException.InvalidArgument> { account.setSetting("sip.register_interval", "not json") }
        assertThrows<SipSimpleException.NotFound> { account.getSetting("sip.no_such_setting") }
        assertThrows<SipSimpleException.InvalidArgument> { Account("not a sip address") }
        assertThrows<SipSimpleException.NotFound> { AccountManager().getAccount("nobody@example.com") }
        assertNull(AccountManager().findAccount("sip:nobody@example.com"))

        val settings = SipSimpleSettings()
        val port = settings.getSetting("sip.udp_port")
        val refused = assertThrows<SipSimpleException.InvalidSetting> { settings.setSetting("sip.udp_port", "70000") }
        assertEquals("sip.udp_port", refused.setting)
        assertEquals(port, settings.getSetting("sip.udp_port"))
        settings.setSetting("rtp.port_range", "\"50000-50100\"")
        assertEquals(JSONObject("""{"start":50000,"end":50100}""").toMap(), JSONObject(settings.getSetting("rtp.port_range")).toMap())
    }

    @Test
    fun `extensions add settings to the global settings and to accounts`(@TempDir dir: Path) {
        // A value stored by an earlier run, before any extension defined it.
        Files.writeString(dir.resolve("config"), "SIPSimpleSettings:\n    kotlin_gui:\n        theme = light\n")
        registerAccountExtension(AccountClass.ACCOUNT, "kotlin_ui.color", "str", "\"blue\"", false)
        startAndWait(Storage.file(dir.toString()))

        val settings = SipSimpleSettings()
        settings.registerExtension("kotlin_gui.theme", "str", "\"dark\"", false)
        assertEquals("\"light\"", settings.getSetting("kotlin_gui.theme"), "the stored value is picked up")
        settings.registerExtension("logs.kotlin_trace", "bool", "false", false)
        assertEquals("false", settings.getSetting("logs.kotlin_trace"))
        assertEquals("false", settings.getSetting("logs.trace_sip"), "the built-in group keeps its settings")
        settings.setSetting("logs.kotlin_trace", "true")
        settings.save()

        val account = Account("dave@example.com")
        assertEquals("\"blue\"", account.getSetting("kotlin_ui.color"))
        account.registerExtension("kotlin_ui.volume", "nonnegative_int", "50", false)
        assertEquals("50", account.getSetting("kotlin_ui.volume"))
        assertThrows<SipSimpleException.InvalidSetting> { account.setSetting("kotlin_ui.volume", "-1") }
        account.setSetting("kotlin_ui.volume", "70")
        account.save()
        val bonjour = AccountManager().getAccount("bonjour@local")
        assertThrows<SipSimpleException.NotFound> { bonjour.getSetting("kotlin_ui.color") }
        registerAccountExtension(AccountClass.BONJOUR_ACCOUNT, "kotlin_ui.color", "str", null, true)
        assertEquals("null", bonjour.getSetting("kotlin_ui.color"))

        val bad = assertThrows<SipSimpleException.InvalidSetting> {
            settings.registerExtension("kotlin_gui.size", "port", "\"huge\"", false)
        }
        assertEquals("kotlin_gui.size", bad.setting)
        assertThrows<SipSimpleException.InvalidSetting> { settings.registerExtension("kotlin_gui.size", "port", null, false) }
        val unknown = assertThrows<SipSimpleException.InvalidArgument> {
            settings.registerExtension("kotlin_gui.size", "colour", "1", false)
        }
        assertTrue(unknown.detail.contains("colour"), unknown.detail)
        assertThrows<SipSimpleException.InvalidArgument> { settings.registerExtension("kotlin_gui", "str", "\"x\"", false) }
        assertThrows<SipSimpleException.InvalidArgument> { settings.registerExtension("kotlin_gui.size", "port", "{", false) }
        assertThrows<SipSimpleException.NotFound> { settings.getSetting("kotlin_gui.size") }

        // After a restart the extended classes load the saved values.
        stopAndWait()
        startAndWait(Storage.file(dir.toString()))
        assertEquals("true", SipSimpleSettings().getSetting("logs.kotlin_trace"))
        val again = AccountManager().getAccount("dave@example.com")
        assertEquals("70", again.getSetting("kotlin_ui.volume"))
        assertEquals("\"blue\"", again.getSetting("kotlin_ui.color"))
        stopAndWait()
    }

    @Test
    fun `starting twice and stopping twice are invalid states`() {
        startAndWait(Storage.memory())
        val twice = assertThrows<SipSimpleException.InvalidState> { app.start(Storage.memory()) }
        assertTrue(twice.detail.contains("running"), twice.detail)
        assertTrue(app.running())

        val ended = record("SIPApplicationDidEnd")
        app.stop()
        assertThrows<SipSimpleException.InvalidState> { app.stop() }
        ended.next("SIPApplicationDidEnd")
        assertFalse(app.running())
        assertThrows<SipSimpleException.InvalidState> { app.stop() }
    }

    @Test
    fun `a corrupt configuration file makes start fail with the file and line`(@TempDir dir: Path) {
        val config = dir.resolve("config")
        val broken = "SIPSimpleSettings:\n    user_agent = test\n    this line has no separator\n"
        Files.writeString(config, broken)

        val e = assertThrows<SipSimpleException.ConfigurationFile> { app.start(Storage.file(dir.toString())) }
        assertEquals(config.toString(), e.path)
        assertEquals(3uL, e.line)
        assertTrue(e.message!!.contains(config.toString()), e.message)
        assertFalse(app.running())
        assertEquals(broken, Files.readString(config), "the file is left untouched")

        // Nothing changed: start may be retried once the file is fixed.
        Files.writeString(config, "SIPSimpleSettings:\n    user_agent = test\n")
        startAndWait(Storage.file(dir.toString()))
        assertEquals("\"test\"", SipSimpleSettings().getSetting("user_agent"))
    }

    @Test
    fun `applications post notifications and observers are isolated`() {
        startAndWait(Storage.memory())
        val account = Account("carol@example.com")
        account.save()

        val all = record("AppDidSomething")
        val fromAccount = record(sender = account.handle())
        tokens.add(center.observe("AppDidSomething") { throw IllegalStateException("observer failure") })
        val cancelled = Recorder()
        val token = center.addObserver(cancelled, "AppDidSomething", null)
        assertTrue(token.isActive())

        center.postNotification("AppDidSomething", account.handle(), """{"count": 1, "tags": ["a", "b"]}""")
        val n = all.next("AppDidSomething")
        assertEquals(account.handle(), n.sender?.handle)
        assertEquals("Account", n.sender?.kind)
        assertEquals("carol@example.com", n.sender?.id)
        assertEquals(1, n.data().getInt("count"))
        assertEquals(listOf("a", "b"), n.data().getJSONArray("tags").toList())
        fromAccount.next("AppDidSomething")
        cancelled.next("AppDidSomething")

        token.cancel()
        assertFalse(token.isActive())
        center.postNotification("AppDidSomething", null, null)
        center.postNotification("AppDidSomething", null, """{"timestamp": 1000000000.5}""")
        assertTrue(center.flush(TIMEOUT_MS.toUInt()))
        assertTrue(cancelled.pending().isEmpty(), "a cancelled observer gets nothing")
        val anonymous = all.pending()
        assertEquals(2, anonymous.size, "the failing observer did not stop delivery")
        assertNull(anonymous[0].sender)
        assertEquals(1_000_000_000.5, anonymous[1].timestamp)
        assertTrue(fromAccount.pending().isEmpty(), "sender filter")

        assertThrows<SipSimpleException.InvalidArgument> { center.postNotification("X", null, "[1, 2]") }
        assertThrows<SipSimpleException.InvalidArgument> { center.postNotification("X", null, "{") }
        assertThrows<SipSimpleException.InvalidHandle> { center.postNotification("X", 12345uL, null) }
    }

    @Test
    fun `a paging message through a refused TCP connection fails with 503`() {
        startAndWait(Storage.memory())
        val account = Account("dave@127.0.0.1")
        // A bound TCP socket that never listens: connecting to it is refused.
        Socket().use { closed ->
            closed.bind(InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
            account.setSetting("sip.outbound_proxy", "\"127.0.0.1:${closed.localPort};transport=tcp\"")

            assertThrows<SipSimpleException.InvalidArgument> {
                account.sendMessage("sip:bob@127.0.0.1", "plain", "hi".toByteArray())
            }

            // Observed by name: the outcome may arrive before sendMessage returns.
            val outcomes = record("SIPMessageDidFail")
            val succeeded = record("SIPMessageDidSucceed")
            val message = account.sendMessage("sip:bob@127.0.0.1", "text/plain", byteArrayOf(0x68, 0x69, 0, -1))
            assertTrue(message != 0uL && message != account.handle())
            val failed = outcomes.next("SIPMessageDidFail") { it.sender?.handle == message }
            assertEquals("Message", failed.sender?.kind)
            assertEquals(503, failed.data().getInt("code"))
            assertTrue(failed.data().has("reason"))
            assertTrue(center.flush(TIMEOUT_MS.toUInt()))
            assertTrue(succeeded.pending().isEmpty())
        }

        stopAndWait()
        // No SIP engine once the application stopped.
        assertThrows<SipSimpleException.InvalidState> {
            account.sendMessage("sip:bob@127.0.0.1", "text/plain", ByteArray(0))
        }
    }
}
