package org.sipsimple

import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock
import kotlin.math.PI
import kotlin.math.abs
import kotlin.math.cos
import kotlin.math.roundToInt
import kotlin.math.sin
import kotlin.math.sqrt
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** How long any expected notification or media event may take. */
private const val WAIT_MS = 10_000L

/**
 * UDP only; G.722 with the mixer at its 16 kHz rate, so no audio is
 * resampled (the cheapest wideband path, which keeps the 20 ms media clock
 * on time in an unoptimised build on a busy machine).
 */
private const val CONFIG = "SIPSimpleSettings:\n" +
    "    sip:\n        transport_list = udp\n" +
    "    audio:\n        sample_rate = 16000\n" +
    "    rtp:\n        audio_codec_list = G722\n"

/** The tone played into the call. */
private const val TONE_HZ = 440.0

/** How long the tone plays. */
private const val PLAYED_SECONDS = 2.0

/**
 * Every notification delivered, kept in order; the test waits, with a
 * timeout, until one matching what it expects is among them (so the order
 * in which two sides report does not matter).
 */
private class CallLog : NotificationObserver {
    private val lock = ReentrantLock()
    private val arrived = lock.newCondition()
    private val seen = mutableListOf<Notification>()

    override fun handleNotification(notification: Notification) {
        lock.withLock {
            seen.add(notification)
            arrived.signalAll()
        }
    }

    /** The [nth] notification named [name] from [sender] (any sender if `null`) matching [predicate]. */
    fun await(
        name: String,
        sender: ULong? = null,
        nth: Int = 1,
        predicate: (Notification) -> Boolean = { true },
    ): Notification {
        val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS)
        lock.withLock {
            while (true) {
                val found = seen.filter { it.name == name && (sender == null || it.sender?.handle == sender) && predicate(it) }
                if (found.size >= nth) return found[nth - 1]
                val left = deadline - System.nanoTime()
                if (left <= 0) fail<Nothing>("no $name #$nth from $sender within $WAIT_MS ms; got ${seen.map { it.name }}")
                arrived.awaitNanos(left)
            }
        }
    }

    /** How many notifications named [name] from [sender] arrived so far. */
    fun count(name: String, sender: ULong): Int = lock.withLock { seen.count { it.name == name && it.sender?.handle == sender } }

    /** Forgets everything seen so far. */
    fun clear() = lock.withLock { seen.clear() }
}

/** The handles in the `streams` list of the notification's data. */
private fun Notification.streamHandles(): List<ULong> {
    val list = data().getJSONArray("streams")
    return (0 until list.length()).map { list.getJSONObject(it).getLong("handle").toULong() }
}

/** Polls [condition] every 20 ms until it holds; fails after [WAIT_MS]. */
private fun waitUntil(what: String, condition: () -> Boolean) {
    val deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS)
    while (!condition()) {
        if (System.nanoTime() > deadline) fail<Nothing>("$what did not happen within $WAIT_MS ms")
        Thread.sleep(20)
    }
}

/** Writes [samples] as a 16-bit mono PCM WAV file at [rate]. */
private fun writeWav(path: Path, rate: Int, samples: ShortArray) {
    val data = samples.size * 2
    val buffer = ByteBuffer.allocate(44 + data).order(ByteOrder.LITTLE_ENDIAN)
    buffer.put("RIFF".toByteArray()).putInt(36 + data).put("WAVE".toByteArray())
    buffer.put("fmt ".toByteArray()).putInt(16).putShort(1).putShort(1).putInt(rate).putInt(rate * 2)
        .putShort(2).putShort(16)
    buffer.put("data".toByteArray()).putInt(data)
    samples.forEach { buffer.putShort(it) }
    Files.write(path, buffer.array())
}

/** A 16-bit PCM WAV file: its rate, channel count and the samples. */
private class Wav(val rate: Int, val channels: Int, val samples: ShortArray)

/** Reads a 16-bit PCM WAV file, walking its chunks. */
private fun readWav(path: Path): Wav {
    val buffer = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN)
    assertEquals("RIFF", String(ByteArray(4).also { buffer.get(it) }))
    buffer.int
    assertEquals("WAVE", String(ByteArray(4).also { buffer.get(it) }))
    var rate = 0
    var channels = 0
    while (buffer.remaining() >= 8) {
        val id = String(ByteArray(4).also { buffer.get(it) })
        val size = buffer.int
        when (id) {
            "fmt " -> {
                val start = buffer.position()
                assertEquals(1, buffer.short.toInt(), "PCM")
                channels = buffer.short.toInt()
                rate = buffer.int
                buffer.int
                buffer.short
                assertEquals(16, buffer.short.toInt(), "16-bit samples")
                buffer.position(start + size)
            }
            "data" -> {
                val count = minOf(size, buffer.remaining()) / 2
                return Wav(rate, channels, ShortArray(count) { buffer.short })
            }
            else -> buffer.position(buffer.position() + size + (size and 1))
        }
    }
    throw AssertionError("no data chunk in $path")
}

private fun rms(samples: ShortArray, from: Int, to: Int): Double {
    var sum = 0.0
    for (i in from until to) sum += samples[i].toDouble() * samples[i]
    return sqrt(sum / (to - from))
}

/**
 * The frequency of the tone in `samples[from, to)` from its rising zero
 * crossings, placed between samples by linear interpolation; `null` with
 * fewer than three crossings.
 */
private fun zeroCrossingFrequency(samples: ShortArray, from: Int, to: Int, rate: Int): Double? {
    val crossings = mutableListOf<Double>()
    for (i in from + 1 until to) {
        val a = samples[i - 1].toDouble()
        val b = samples[i].toDouble()
        if (a < 0 && b >= 0) crossings.add(i - 1 + (-a / (b - a)))
    }
    if (crossings.size < 3) return null
    val period = (crossings.last() - crossings.first()) / (crossings.size - 1)
    return rate / period
}

/** The amplitude of the [frequency] component of `samples[from, to)` (Goertzel). */
private fun goertzelAmplitude(samples: ShortArray, from: Int, to: Int, rate: Int, frequency: Double): Double {
    val coefficient = 2 * cos(2 * PI * frequency / rate)
    var s1 = 0.0
    var s2 = 0.0
    for (i in from until to) {
        val s = samples[i] + coefficient * s1 - s2
        s2 = s1
        s1 = s
    }
    val power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
    return 2 * sqrt(maxOf(power, 0.0)) / (to - from)
}

/**
 * Checks the WAV file at [path]: cut in 50 ms windows, the loud ones are
 * the 440 Hz tone for at least 90% of the played time (a window counts when
 * its zero crossings give 440 Hz +-2% and a Goertzel filter finds the
 * signal at 440 Hz, not at 400 or 480 Hz, both at the nulls of a 50 ms
 * window), and nothing else is loud.
 */
private fun assertToneRecorded(path: Path, label: String) {
    val recorded = readWav(path)
    assertEquals(1, recorded.channels)
    val samples = recorded.samples
    val rate = recorded.rate
    val window = rate / 20
    var inTone = 0
    var loud = 0
    val frequencies = mutableListOf<String>()
    for (from in 0 until samples.size - window + 1 step window) {
        val to = from + window
        val level = rms(samples, from, to) * sqrt(2.0)
        if (level < 1500.0) continue
        loud += window
        val frequency = zeroCrossingFrequency(samples, from, to, rate) ?: continue
        frequencies.add("%.1f".format(frequency))
        val at440 = goertzelAmplitude(samples, from, to, rate, TONE_HZ)
        val beside = maxOf(goertzelAmplitude(samples, from, to, rate, 400.0), goertzelAmplitude(samples, from, to, rate, 480.0))
        if (abs(frequency - TONE_HZ) <= TONE_HZ * 0.02 && at440 >= 0.8 * level && beside <= 0.2 * level) inTone += window
    }
    val inToneSeconds = inTone.toDouble() / rate
    val loudSeconds = loud.toDouble() / rate
    println("$label: ${"%.3f".format(inToneSeconds)} s of $PLAYED_SECONDS s at 440 Hz +-2%, ${"%.3f".format(loudSeconds)} s loud; windows: $frequencies")
    assertTrue(inToneSeconds >= 0.9 * PLAYED_SECONDS, "$label: only $inToneSeconds s of the tone arrived at 440 Hz")
    assertTrue(loudSeconds <= PLAYED_SECONDS + 0.1, "$label: nothing loud besides the tone, but $loudSeconds s are")
}

/**
 * Sessions, audio streams and the voice mixer through the Kotlin binding:
 * two accounts of one application on loopback UDP call each other with an
 * audio stream; a 440 Hz WAV file plays into the caller's stream and the
 * callee records what it receives.
 */
class SessionTest {
    private val app = SipApplication()
    private val center = NotificationCenter()
    private val tokens = mutableListOf<ObserverToken>()
    private val log = CallLog()

    @AfterEach
    fun cleanUp() {
        if (app.running()) stop()
        tokens.forEach { it.close() }
        tokens.clear()
    }

    /** Starts the application with storage in [dir], the first time with [CONFIG]. */
    private fun start(dir: Path) {
        if (tokens.isEmpty()) tokens.add(center.addObserver(log, null, null))
        val config = dir.resolve("config")
        if (!Files.exists(config)) Files.writeString(config, CONFIG)
        app.start(Storage.file(dir.toString()))
        log.await("SIPApplicationDidStart", app.handle())
    }

    private fun stop() {
        val ended = log.count("SIPApplicationDidEnd", app.handle())
        app.stop()
        log.await("SIPApplicationDidEnd", app.handle(), ended + 1)
    }

    /** An enabled account [id] that does not register. */
    private fun account(id: String): Account {
        val account = Account(id)
        account.setSetting("sip.register", "false")
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

    /** An established call: alice's session and stream, bob's session and stream. */
    private class Call(val outgoing: Session, val incoming: Session, val alice: AudioStream, val bob: AudioStream)

    /**
     * Alice calls bob offering an audio stream; bob's session is found from
     * the sender of `SIPSessionNewIncoming`, its stream from the `streams`
     * handles, and bob accepts it.
     */
    private fun establish(alice: Account, bob: Account): Call {
        val aliceStream = AudioStream(alice)
        val outgoing = Session(alice)
        assertEquals("None", outgoing.state())
        assertNull(outgoing.direction())
        assertEquals(alice, outgoing.account())
        outgoing.connect(loopbackUri(bob), listOf(MediaStream.Audio(aliceStream)), "a tone")
        val newOutgoing = log.await("SIPSessionNewOutgoing", outgoing.handle())
        assertEquals(listOf(aliceStream.handle()), newOutgoing.streamHandles())
        assertEquals("outgoing", outgoing.direction())

        val newIncoming = log.await("SIPSessionNewIncoming")
        val sender = newIncoming.sender ?: fail("SIPSessionNewIncoming without a sender")
        assertEquals("Session", sender.kind)
        val incoming = Session.fromHandle(sender.handle)
        assertEquals(sender.handle, incoming.handle())
        assertEquals("incoming", incoming.state())
        assertEquals("incoming", incoming.direction())
        assertEquals(bob, incoming.account())
        assertTrue(incoming.remoteIdentity()!!.contains("alice@127.0.0.1"), incoming.remoteIdentity())
        val handles = newIncoming.streamHandles()
        assertEquals(1, handles.size)
        val bobStream = AudioStream.fromHandle(handles[0])
        val proposed = incoming.proposedStreams()
        assertEquals(1, proposed.size)
        assertEquals("audio", proposed[0].streamType())
        assertEquals(handles[0], proposed[0].handle())
        assertEquals(bobStream, (proposed[0] as MediaStream.Audio).stream)
        assertEquals(MediaStream.Audio(bobStream), mediaStreamFromHandle(handles[0]))
        assertTrue(SessionManager().sessions().containsAll(listOf(outgoing, incoming)))

        incoming.sendRingIndication()
        log.await("SIPSessionGotRingIndication", outgoing.handle())
        incoming.accept(listOf(bobStream.asMediaStream()))
        for (session in listOf(outgoing, incoming)) {
            val started = log.await("SIPSessionDidStart", session.handle())
            assertEquals(session.streams().map { it.handle() }, started.streamHandles())
            assertEquals("connected", session.state())
            assertEquals("udp", session.transport())
            assertNotNull(session.startTime())
            assertNull(session.stopTime())
            assertFalse(session.onHold())
            assertTrue(session.proposedStreams().isEmpty())
        }
        for (stream in listOf(aliceStream, bobStream)) {
            log.await("MediaStreamDidInitialize", stream.handle())
            log.await("MediaStreamDidStart", stream.handle())
        }
        assertEquals(listOf(MediaStream.Audio(aliceStream)), outgoing.streams())
        assertEquals(listOf(MediaStream.Audio(bobStream)), incoming.streams())
        assertTrue(outgoing.localIdentity().contains("alice@127.0.0.1"), outgoing.localIdentity())
        assertTrue(outgoing.remoteIdentity()!!.contains("127.0.0.1"), outgoing.remoteIdentity())
        return Call(outgoing, incoming, aliceStream, bobStream)
    }

    /** Alice hangs up; both sessions and both streams end. */
    private fun hangUp(call: Call) {
        call.outgoing.end()
        val ended = log.await("SIPSessionDidEnd", call.incoming.handle())
        assertEquals("remote", ended.data().getString("originator"))
        assertEquals("local", log.await("SIPSessionDidEnd", call.outgoing.handle()).data().getString("originator"))
        for (stream in listOf(call.alice, call.bob)) log.await("MediaStreamDidEnd", stream.handle())
        for (session in listOf(call.outgoing, call.incoming)) {
            assertEquals("terminated", session.state())
            assertNotNull(session.stopTime())
            assertFalse(session in SessionManager().sessions())
        }
    }

    @Test
    fun `a 440 Hz WAV played into alice's stream is recorded by bob at 440 Hz`(@TempDir dir: Path) {
        start(dir)
        val alice = account("alice@127.0.0.1")
        val bob = account("bob@127.0.0.1")
        val call = establish(alice, bob)
        val (aliceStream, bobStream) = call.alice to call.bob

        // The negotiated media, as both sides see it.
        val codec = aliceStream.codec()
        assertEquals("G722", codec)
        assertEquals(codec, bobStream.codec())
        assertEquals(16000u, aliceStream.sampleRate())
        assertEquals(16000u, bobStream.sampleRate())
        assertEquals("127.0.0.1", aliceStream.localRtpAddress())
        assertEquals(bobStream.localRtpPort(), aliceStream.remoteRtpPortSdp())
        assertEquals(aliceStream.localRtpPort(), bobStream.remoteRtpPortSdp())
        assertEquals(aliceStream.srtpActive(), bobStream.srtpActive())
        assertTrue(aliceStream.holdSupported())
        assertNotNull(aliceStream.consumerSlot())

        // Bob records what he receives.
        val recording = dir.resolve("received").resolve("bob.wav")
        bobStream.startRecording(recording.toString())
        val didStart = log.await("AudioStreamDidStartRecordingAudio", bobStream.handle())
        assertEquals(recording.toAbsolutePath().toString(), didStart.data().getString("filename"))
        assertEquals(recording.toAbsolutePath().toString(), bobStream.recordingFilename())
        assertThrows<SipSimpleException.InvalidState> { bobStream.startRecording(recording.toString()) }

        // Bob's own recorder in bob's stream bridge hears what bob's stream produces.
        val mixer = app.voiceAudioMixer()
        assertEquals(mixer, bobStream.bridge()!!.mixer())
        val bridgeRecording = dir.resolve("bridge").resolve("bob.wav")
        val recorder = WaveRecorder(mixer, bridgeRecording.toString())
        bobStream.bridge()!!.add(recorder.asAudioPort())
        recorder.start()
        assertTrue(recorder.isActive())
        assertNotNull(recorder.consumerSlot())

        // The tone, written here, plays into alice's stream bridge.
        val rate = mixer.sampleRate().toInt()
        val tone = ShortArray((rate * PLAYED_SECONDS).roundToInt()) { (16000 * sin(2 * PI * TONE_HZ * it / rate)).roundToInt().toShort() }
        val wav = dir.resolve("tone.wav")
        writeWav(wav, rate, tone)
        val player = WavePlayer(mixer, wav.toString())
        assertEquals(100u, player.volume())
        assertEquals(1u, player.loopCount())
        assertEquals(wav.toString(), player.filename())
        assertNull(player.producerSlot(), "no slot before it plays")
        val aliceBridge = aliceStream.bridge()!!
        aliceBridge.add(player.asAudioPort())
        assertTrue(aliceBridge.contains(player.asAudioPort()))
        assertTrue(aliceBridge.contains(aliceStream.asAudioPort()))
        assertTrue(aliceBridge.ports().any { it is AudioPort.Device && it.device.handle() == aliceStream.device()!!.handle() })
        player.start()
        log.await("WavePlayerDidStart", player.handle())
        assertEquals(player.handle(), WavePlayer.fromHandle(player.handle()).handle())
        log.await("WavePlayerDidEnd", player.handle())
        assertFalse(player.isActive())
        assertEquals(0, log.count("WavePlayerDidFail", player.handle()))
        // Everything alice sent until now (and two ticks more) is played out at bob.
        val sent = aliceStream.statistics().packetsSent + 2u
        waitUntil("bob playing out what alice sent") {
            val s = bobStream.statistics()
            s.framesPlayed + s.framesLost + s.framesDiscarded + s.framesOther >= sent
        }
        aliceBridge.remove(player.asAudioPort())
        assertFalse(aliceBridge.contains(player.asAudioPort()))
        assertThrows<SipSimpleException.NotFound> { aliceBridge.remove(player.asAudioPort()) }
        recorder.stop()
        assertFalse(recorder.isActive())
        assertTrue(recorder.duration() >= PLAYED_SECONDS, "recorded ${recorder.duration()} s")
        val received = bobStream.statistics()
        println("bob received: $received; alice sent: ${aliceStream.statistics()}")
        assertTrue(received.packetsReceived >= 100u, "$received")
        assertEquals(0uL, received.srtpFailures, "$received")
        assertEquals(0uL, received.framesLost, "$received")
        assertEquals(aliceStream.localRtpPort(), bobStream.remoteRtpPortReceived())

        // A DTMF digit from alice reaches bob.
        aliceStream.sendDtmf("5")
        assertEquals("5", log.await("AudioStreamGotDTMF", bobStream.handle()).data().getString("digit"))
        assertThrows<SipSimpleException.InvalidArgument> { aliceStream.sendDtmf("55") }
        assertThrows<SipSimpleException.InvalidArgument> { aliceStream.sendDtmf("x") }

        // Hold and unhold, reported on both sides.
        call.outgoing.hold()
        for ((session, originator) in listOf(call.outgoing to "local", call.incoming to "remote")) {
            val held = log.await("SIPSessionDidChangeHoldState", session.handle())
            assertEquals(originator, held.data().getString("originator"))
            assertTrue(held.data().getBoolean("on_hold"))
        }
        assertTrue(call.outgoing.onHold())
        assertTrue(aliceStream.onHoldByLocal())
        waitUntil("bob seeing the hold") { bobStream.onHoldByRemote() }
        call.outgoing.unhold()
        for (session in listOf(call.outgoing, call.incoming)) {
            assertFalse(log.await("SIPSessionDidChangeHoldState", session.handle(), 2).data().getBoolean("on_hold"))
        }
        assertFalse(call.outgoing.onHold())

        // Alice adds a second audio stream, bob accepts it; then alice removes it.
        val second = AudioStream(alice)
        call.outgoing.addStream(second.asMediaStream())
        val proposal = log.await("SIPSessionGotProposal", call.incoming.handle())
        assertEquals("remote", proposal.data().getString("originator"))
        val offered = call.incoming.proposedStreams()
        assertEquals(1, offered.size)
        assertEquals(proposal.streamHandles(), offered.map { it.handle() })
        call.incoming.acceptProposal(offered)
        for (session in listOf(call.outgoing, call.incoming)) {
            log.await("SIPSessionGotAcceptProposal", session.handle())
            val added = log.await("SIPSessionDidRenegotiateStreams", session.handle())
            assertEquals("add", added.data().getString("action"))
            assertEquals(2, session.streams().size)
        }
        assertEquals(listOf(MediaStream.Audio(aliceStream), MediaStream.Audio(second)), call.outgoing.streams())
        log.await("MediaStreamDidStart", second.handle())
        call.outgoing.removeStream(second.asMediaStream())
        for (session in listOf(call.outgoing, call.incoming)) {
            val removed = log.await("SIPSessionDidRenegotiateStreams", session.handle(), 2)
            assertEquals("remove", removed.data().getString("action"))
        }
        assertEquals(listOf(MediaStream.Audio(aliceStream)), call.outgoing.streams())
        log.await("MediaStreamDidEnd", second.handle())

        hangUp(call)
        log.await("AudioStreamDidStopRecordingAudio", bobStream.handle())
        assertNull(bobStream.recordingFilename())

        // Both recordings hold the tone, at 440 Hz +-2%, for at least 90% of the played time.
        assertToneRecorded(recording, "AudioStream.startRecording ($codec)")
        assertToneRecorded(bridgeRecording, "WaveRecorder in the stream's bridge ($codec)")
        stop()
        assertFalse(mixer.isRunning())
        assertThrows<SipSimpleException.InvalidState> { mixer.connectSlots(0u, 1u) }
        assertThrows<SipSimpleException.InvalidState> { WavePlayer(mixer, wav.toString()) }
    }

    @Test
    fun `bob rejects with 486 and alice's session fails with code 486`(@TempDir dir: Path) {
        start(dir)
        val alice = account("alice@127.0.0.1")
        val bob = account("bob@127.0.0.1")
        val outgoing = Session(alice)
        outgoing.connect(loopbackUri(bob), listOf(AudioStream(alice).asMediaStream()))
        val newIncoming = log.await("SIPSessionNewIncoming")
        val incoming = Session.fromHandle(newIncoming.sender!!.handle)
        incoming.reject(486u, null)

        val failed = log.await("SIPSessionDidFail", outgoing.handle())
        assertEquals(486, failed.data().getInt("code"))
        assertEquals("remote", failed.data().getString("originator"))
        assertTrue(failed.data().getString("reason").isNotEmpty())
        val rejected = log.await("SIPSessionDidFail", incoming.handle())
        assertEquals(486, rejected.data().getInt("code"))
        assertEquals("local", rejected.data().getString("originator"))
        waitUntil("both sessions terminated") { outgoing.state() == "terminated" && incoming.state() == "terminated" }
        assertNotNull(outgoing.stopTime())
        assertNull(outgoing.startTime())
        assertEquals(0, log.count("SIPSessionDidStart", outgoing.handle()))
        assertThrows<SipSimpleException.InvalidState> { incoming.accept(incoming.proposedStreams()) }
        assertThrows<SipSimpleException.InvalidState> { incoming.reject(603u, null) }
    }

    @Test
    fun `stale and invalid handles and wrong states are errors, not crashes`(@TempDir dir: Path) {
        start(dir)
        val alice = account("alice@127.0.0.1")
        val session = Session(alice)
        val stream = AudioStream(alice)

        // Handles that are no session or stream.
        assertThrows<SipSimpleException.InvalidHandle> { Session.fromHandle(0u) }
        assertThrows<SipSimpleException.InvalidHandle> { Session.fromHandle(0x0f00_0000_dead_beefu) }
        assertThrows<SipSimpleException.InvalidHandle> { Session.fromHandle(stream.handle()) }
        assertThrows<SipSimpleException.InvalidHandle> { Session.fromHandle(alice.handle()) }
        assertThrows<SipSimpleException.InvalidHandle> { AudioStream.fromHandle(session.handle()) }
        assertThrows<SipSimpleException.InvalidHandle> { mediaStreamFromHandle(12345u) }
        assertEquals(session, Session.fromHandle(session.handle()))
        assertEquals(stream, AudioStream.fromHandle(stream.handle()))
        assertNotEquals(session, Session(alice))

        // Calls the state does not allow.
        assertThrows<SipSimpleException.InvalidArgument>("session.connect(\"sip:bob@127.0.0.1\", emptyList())") { session.connect("sip:bob@127.0.0.1", emptyList()) }
        assertThrows<SipSimpleException.InvalidState>("session.accept(listOf(stream.asMediaStream()))") { session.accept(listOf(stream.asMediaStream())) }
        assertThrows<SipSimpleException.InvalidState>("stream.sendDtmf(\"1\")") { stream.sendDtmf("1") }
        assertThrows<SipSimpleException.InvalidState>("stream.startRecording(dir.resolve(\"x.wav\").toString())") { stream.startRecording(dir.resolve("x.wav").toString()) }
        assertThrows<SipSimpleException.InvalidArgument>("WavePlayer(volume 201)") { WavePlayer(app.voiceAudioMixer(), dir.resolve("x.wav").toString(), 201u) }
        assertThrows<SipSimpleException.InvalidArgument>("WavePlayer(pause -1)") { WavePlayer(app.voiceAudioMixer(), dir.resolve("x.wav").toString(), pauseTime = -1.0) }
        assertNull(stream.codec())
        assertNull(stream.consumerSlot())
        assertNull(stream.recordingFilename())
        assertTrue(session.streams().isEmpty())

        // A missing file fails the play, it does not throw.
        val player = WavePlayer(app.voiceAudioMixer(), dir.resolve("missing.wav").toString())
        assertThrows<SipSimpleException.InvalidArgument>("play of a missing file") { player.play(WAIT_MS.toUInt()) }
        assertTrue(log.await("WavePlayerDidFail", player.handle()).data().getString("error").contains("missing.wav"))
        assertFalse(player.isActive())
        // A closed object's handle is released.
        val released = player.handle()
        player.close()
        assertThrows<SipSimpleException.InvalidHandle>("WavePlayer.fromHandle(closed)") { WavePlayer.fromHandle(released) }
        assertThrows<SipSimpleException.InvalidHandle>("WavePlayer.fromHandle(session)") { WavePlayer.fromHandle(session.handle()) }
        assertThrows<SipSimpleException.InvalidHandle>("AudioBridge.fromHandle(0)") { AudioBridge.fromHandle(0u) }
        assertThrows<SipSimpleException.InvalidHandle>("AudioMixer.fromHandle(stream)") { AudioMixer.fromHandle(stream.handle()) }
        assertThrows<SipSimpleException.InvalidState>("bridge.add(stream before it runs)") { app.voiceAudioBridge().add(stream.asAudioPort()) }
        assertNull(stream.bridge())

        // A call bob rejects: the objects stay usable after it ended.
        val bob = account("bob@127.0.0.1")
        val offered = AudioStream(alice)
        val rejected = Session(alice)
        rejected.connect(loopbackUri(bob), listOf(offered.asMediaStream()))
        val incoming = Session.fromHandle(log.await("SIPSessionNewIncoming").sender!!.handle)
        incoming.reject(603u, "Not Now")
        assertEquals("Not Now", log.await("SIPSessionDidFail", rejected.handle()).data().getString("reason"))
        log.await("SIPSessionDidFail", incoming.handle())
        assertEquals(rejected, Session.fromHandle(rejected.handle()))
        assertEquals(offered, AudioStream.fromHandle(offered.handle()))

        // After a restart the accounts are reloaded: objects of the last
        // run are stale or, for the ended session, read-only.
        stop()
        assertThrows<SipSimpleException.InvalidState>("app.voiceAudioMixer()") { app.voiceAudioMixer() }
        start(dir)
        assertThrows<SipSimpleException.InvalidHandle>("Session(alice)") { Session(alice) }
        assertThrows<SipSimpleException.InvalidHandle>("AudioStream(alice)") { AudioStream(alice) }
        assertEquals("terminated", rejected.state(), "the object still reads")
        assertThrows<SipSimpleException.InvalidState>("rejected.connect") { rejected.connect("sip:bob@127.0.0.1", listOf(offered.asMediaStream())) }
        val again = AccountManager().getAccount("alice@127.0.0.1")
        assertEquals("None", Session(again).state())
    }
}
