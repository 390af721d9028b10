package org.sipsimple

import java.nio.file.Files
import java.nio.file.Path
import java.security.MessageDigest
import java.util.Base64
import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock
import kotlin.random.Random
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** How long any expected notification may take (a 1 MiB transfer in a debug build included). */
private const val WAIT_MS = 30_000L

/** UDP only for SIP; MSRP goes over TCP. */
private const val CONFIG = "SIPSimpleSettings:\n    sip:\n        transport_list = udp\n"

/** The size of the file sent. */
private const val SIZE = 1024 * 1024

/** Every notification delivered, kept in order; waits with a timeout for the ones expected. */
private class TransferLog : NotificationObserver {
    private val lock = ReentrantLock()
    private val arrived = lock.newCondition()
    private val seen = mutableListOf<Notification>()

    override fun handleNotification(notification: Notification) {
        lock.withLock {
            seen.add(notification)
            arrived.signalAll()
        }
    }

    /** The first notification named [name] from [sender] (any sender if `null`). */
    fun await(name: String, sender: ULong? = null): Notification {
        val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS)
        lock.withLock {
            while (true) {
                seen.firstOrNull { it.name == name && (sender == null || it.sender?.handle == sender) }?.let { return it }
                val left = deadline - System.nanoTime()
                if (left <= 0) fail<Nothing>("no $name from $sender within $WAIT_MS ms; got ${seen.map { it.name }}")
                arrived.awaitNanos(left)
            }
        }
    }

    /** Every notification named [name] from [sender] so far, in order. */
    fun all(name: String, sender: ULong): List<Notification> =
        lock.withLock { seen.filter { it.name == name && it.sender?.handle == sender } }

    /** How many notifications named [name] from [sender] arrived so far. */
    fun count(name: String, sender: ULong): Int = all(name, sender).size
}

/** The handles in the `streams` list of the notification's data. */
private fun Notification.streamHandles(): List<ULong> {
    val list = data().getJSONArray("streams")
    return (0 until list.length()).map { list.getJSONObject(it).getLong("handle").toULong() }
}

/** A file selector hash of [data]: `sha-1:` and the digest as colon-separated upper-case hex pairs. */
private fun selectorHash(data: ByteArray): String =
    "sha-1:" + MessageDigest.getInstance("SHA-1").digest(data).joinToString(":") { "%02X".format(it) }

/**
 * File transfer and desktop sharing through the Kotlin binding: two
 * accounts of one application on loopback (SIP over UDP, MSRP over TCP).
 * Alice offers a `FileTransferStream` for a 1 MiB file of random bytes and
 * bob accepts the receiving stream proposed to him: progress grows to the
 * file size on both sides, both finish, and bob's file has alice's bytes.
 * Alice offers a `DesktopSharingStream` with an internal viewer handler:
 * bytes sent through each side's handler arrive at the other's.
 */
class FileTransferTest {
    private val app = SipApplication()
    private val center = NotificationCenter()
    private val tokens = mutableListOf<ObserverToken>()
    private val log = TransferLog()

    @AfterEach
    fun cleanUp() {
        if (app.running()) {
            val ended = log.count("SIPApplicationDidEnd", app.handle())
            app.stop()
            val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS)
            while (log.count("SIPApplicationDidEnd", app.handle()) <= ended && System.nanoTime() < deadline) Thread.sleep(20)
        }
        tokens.forEach { it.close() }
        tokens.clear()
    }

    /** An enabled account [id] that does not register and uses MSRP over TCP. */
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

    /** Starts the application with storage in [dir]. */
    private fun start(dir: Path) {
        tokens.add(center.addObserver(log, null, null))
        Files.writeString(dir.resolve("config"), CONFIG)
        app.start(Storage.file(dir.toString()))
        log.await("SIPApplicationDidStart", app.handle())
    }

    /** The bytes of the base64 `data` of a `DesktopSharingStreamGotData`. */
    private fun Notification.rfbData(): ByteArray = Base64.getDecoder().decode(data().getString("data"))

    @Test
    fun aFileSentByAliceArrivesIntactAtBob(@TempDir dir: Path) {
        start(dir)
        val downloads = dir.resolve("downloads")
        val settings = SipSimpleSettings()
        settings.setSetting("file_transfer.directory", "\"$downloads\"")
        settings.save()
        val alice = account("alice@127.0.0.1")
        val bob = account("bob@127.0.0.1")

        val data = Random(5547).nextBytes(SIZE)
        val file = dir.resolve("random data.bin")
        Files.write(file, data)
        val selector = fileSelectorForFile(file.toString())
        assertEquals(FileSelector("random data.bin", "application/octet-stream", SIZE.toULong(), selectorHash(data)), selector)
        assertEquals(selector, fileSelectorParse(fileSelectorSdpRepr(selector)))
        assertThrows<SipSimpleException.InvalidArgument> {
            FileTransferStream(alice, file.toString(), FileSelector(hash = "md5:00"))
        }
        assertThrows<SipSimpleException.InvalidHandle> { FileTransferStream.fromHandle(0uL) }

        val aliceStream = FileTransferStream(alice, file.toString(), selector)
        assertEquals("sendonly", aliceStream.direction())
        assertEquals(selector, aliceStream.fileSelector())
        assertEquals(SIZE.toULong(), aliceStream.fileSize())
        assertEquals(0uL, aliceStream.transferredBytes())
        assertFalse(aliceStream.isDone())
        assertThrows<SipSimpleException.InvalidState> { aliceStream.setSaveDirectory(dir.toString()) }
        assertEquals(MediaStream.FileTransfer(aliceStream), mediaStreamFromHandle(aliceStream.handle()))

        val outgoing = Session(alice)
        outgoing.connect(loopbackUri(bob), listOf(aliceStream.asMediaStream()), null)
        val newIncoming = log.await("SIPSessionNewIncoming")
        val incoming = Session.fromHandle(newIncoming.sender!!.handle)
        val handles = newIncoming.streamHandles()
        assertEquals(1, handles.size)
        val proposed = incoming.proposedStreams()
        assertEquals(listOf("file-transfer"), proposed.map { it.streamType() })
        val bobStream = (proposed[0] as MediaStream.FileTransfer).stream
        assertEquals(handles[0], bobStream.handle())
        assertEquals("recvonly", bobStream.direction())
        assertEquals(selector, bobStream.fileSelector())
        assertEquals(aliceStream.transferId(), bobStream.transferId())
        assertNull(bobStream.saveDirectory())
        incoming.accept(listOf(bobStream.asMediaStream()))

        log.await("FileTransferStreamDidFinish", bobStream.handle())
        log.await("FileTransferStreamDidFinish", aliceStream.handle())
        assertEquals(0, log.count("MediaStreamDidFail", aliceStream.handle()) + log.count("MediaStreamDidFail", bobStream.handle()))

        val delivered = log.all("FileTransferStreamDidDeliverChunk", aliceStream.handle()).map { it.data() }
        assertTrue(delivered.isNotEmpty(), "no progress at alice")
        val confirmed = delivered.map { it.getLong("transferred_bytes") }
        assertEquals(confirmed.sorted(), confirmed)
        assertEquals(SIZE.toLong(), confirmed.last())
        assertTrue(delivered.all { it.getInt("code") == 200 && it.getLong("file_size") == SIZE.toLong() })

        val chunks = log.all("FileTransferStreamGotChunk", bobStream.handle()).map { it.data() }
        assertTrue(chunks.isNotEmpty(), "no chunks at bob")
        val received = chunks.map { it.getLong("transferred_bytes") }
        assertEquals(received.sorted(), received)
        assertEquals(SIZE.toLong(), received.last())

        val saved = downloads.resolve("random data.bin")
        assertEquals(saved.toString(), bobStream.filePath())
        assertArrayEquals(data, Files.readAllBytes(saved))
        assertEquals(SIZE.toULong(), aliceStream.transferredBytes())
        assertEquals(SIZE.toULong(), bobStream.transferredBytes())
        assertTrue(aliceStream.isDone() && bobStream.isDone())

        outgoing.end()
        log.await("SIPSessionDidEnd", incoming.handle())
        log.await("MediaStreamDidEnd", aliceStream.handle())
    }

    @Test
    fun desktopSharingCarriesRfbDataBetweenInternalHandlers(@TempDir dir: Path) {
        start(dir)
        val alice = account("alice@127.0.0.1")
        val bob = account("bob@127.0.0.1")

        val viewer = DesktopSharingHandler.internalViewer()
        assertEquals(DesktopSharingHandlerKind.INTERNAL_VIEWER, viewer.kind())
        assertEquals("active", viewer.handlerType())
        assertNull(viewer.address())
        assertThrows<SipSimpleException.InvalidState> { viewer.send("no stream yet".toByteArray()) }
        val external = DesktopSharingHandler.externalViewer("127.0.0.1", 0u, 3.0)
        assertEquals("127.0.0.1", external.address()!!.host)
        assertTrue(external.address()!!.port > 0u)
        assertThrows<SipSimpleException.InvalidArgument> { DesktopSharingHandler.externalServer("", 5900u, 3.0) }

        val aliceStream = DesktopSharingStream(alice, viewer)
        assertEquals(viewer, aliceStream.handler())
        assertThrows<SipSimpleException.InvalidState> { DesktopSharingStream(alice, viewer) }
        val greeting = "RFB 003.008\n".toByteArray()
        viewer.send(greeting)

        val outgoing = Session(alice)
        outgoing.connect(loopbackUri(bob), listOf(aliceStream.asMediaStream()), null)
        val incoming = Session.fromHandle(log.await("SIPSessionNewIncoming").sender!!.handle)
        val proposed = incoming.proposedStreams()
        assertEquals(listOf("desktop-sharing"), proposed.map { it.streamType() })
        val bobStream = (proposed[0] as MediaStream.DesktopSharing).stream
        val server = bobStream.handler()
        assertEquals(DesktopSharingHandlerKind.INTERNAL_SERVER, server.kind())
        assertThrows<SipSimpleException.InvalidArgument> { bobStream.setHandler(DesktopSharingHandler.internalViewer()) }
        incoming.accept(listOf(bobStream.asMediaStream()))

        assertArrayEquals(greeting, log.await("DesktopSharingStreamGotData", server.handle()).rfbData())
        val reply = byteArrayOf(0, 1, 2, -1)
        server.send(reply)
        assertArrayEquals(reply, log.await("DesktopSharingStreamGotData", viewer.handle()).rfbData())

        outgoing.end()
        log.await("SIPSessionDidEnd", incoming.handle())
        log.await("MediaStreamDidEnd", aliceStream.handle())
        assertThrows<SipSimpleException.InvalidState> { viewer.send(reply) }
    }
}
