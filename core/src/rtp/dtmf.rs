//! RFC 4733 telephone events: DTMF digits `0-9 * # A-D` and flash (event 16),
//! sent as `telephone-event` RTP packets and reported once per event when
//! received.
//!
//! Sending ([`DtmfSender`]): the stream calls [`DtmfSender::tick`] once per
//! 20 ms media tick with the RTP timestamp its next audio frame would carry.
//! While a digit is being sent the tick returns the event packet to send
//! *instead of* audio, in this shape (for the default 200 ms at 8 kHz):
//! the first packet has the marker bit and duration 160, each following tick
//! adds 160, the last update has the E bit and the full duration (1600) and
//! is sent three times on consecutive ticks (RFC 4733 §2.5.1.4). Every packet
//! of one event carries the event's start timestamp; each gets its own RTP
//! sequence number from the session. Queued digits follow after a gap of
//! audio (60 ms by default), so two equal digits are two events.
//!
//! Receiving ([`DtmfReceiver`]): an event is identified by its RTP timestamp;
//! the first packet seen of an event reports the digit (even if its start
//! packets were lost and only end packets arrive), every other packet of it
//! (updates, the repeated end packets, duplicates) is absorbed. Packets of an
//! event older than the last one reported are ignored, so late stragglers do
//! not report digits out of order. Events above 16 (tones, fax signals) are
//! ignored. Nothing in a packet can make it panic.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

/// Length of one event block in a `telephone-event` payload.
pub const EVENT_PAYLOAD_LEN: usize = 4;
/// Event code of flash (hook flash, "R").
pub const FLASH_EVENT: u8 = 16;
/// How far back (in RTP timestamp units) an event counts as older than the
/// last one reported and is ignored; farther back it counts as a restarted
/// clock. 2^24 is 35 minutes at 8 kHz, 5.8 minutes at 48 kHz.
pub const STALE_EVENT_WINDOW: u32 = 1 << 24;
/// Most digits [`DtmfSender::send`] queues.
pub const MAX_QUEUED_DIGITS: usize = 256;

const DIGITS: [char; 17] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D', 'R'];

/// A DTMF digit or flash: an RFC 4733 event code from 0 to 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DtmfDigit(u8);

impl DtmfDigit {
    /// Flash (event 16), written `R` (as PJSIP writes it).
    pub const FLASH: DtmfDigit = DtmfDigit(FLASH_EVENT);

    /// The digit of `0-9`, `*`, `#`, `A-D` (or `a-d`), or `R` for flash.
    pub fn from_char(c: char) -> Option<DtmfDigit> {
        let c = c.to_ascii_uppercase();
        DIGITS.iter().position(|d| *d == c).map(|i| DtmfDigit(i as u8))
    }

    /// The digit of an event code, if it is one of 0 to 16.
    pub fn from_event(code: u8) -> Option<DtmfDigit> {
        (code <= FLASH_EVENT).then_some(DtmfDigit(code))
    }

    /// The RFC 4733 event code.
    pub fn event(self) -> u8 {
        self.0
    }

    /// The digit as a character: `0-9`, `*`, `#`, `A-D`, `R` for flash.
    pub fn to_char(self) -> char {
        DIGITS[usize::from(self.0)]
    }
}

impl fmt::Display for DtmfDigit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_char())
    }
}

/// One event block of a `telephone-event` payload (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    /// The event code.
    pub event: u8,
    /// The E bit: this is (a repetition of) the final packet of the event.
    pub end: bool,
    /// Power level in -dBm0 (0 to 63).
    pub volume: u8,
    /// Duration so far, in RTP timestamp units.
    pub duration: u16,
}

impl EventPayload {
    /// Reads the first event block of a payload; `None` if it is shorter
    /// than 4 bytes. Extra bytes are ignored.
    pub fn parse(payload: &[u8]) -> Option<EventPayload> {
        let block: [u8; EVENT_PAYLOAD_LEN] = payload.get(..EVENT_PAYLOAD_LEN)?.try_into().ok()?;
        Some(EventPayload {
            event: block[0],
            end: block[1] & 0x80 != 0,
            volume: block[1] & 0x3f,
            duration: u16::from_be_bytes([block[2], block[3]]),
        })
    }

    /// The 4 bytes on the wire (the reserved bit is 0).
    pub fn to_bytes(self) -> [u8; EVENT_PAYLOAD_LEN] {
        let duration = self.duration.to_be_bytes();
        [self.event, (u8::from(self.end) << 7) | (self.volume & 0x3f), duration[0], duration[1]]
    }
}

/// How [`DtmfSender`] shapes events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfConfig {
    /// RTP clock rate of the stream (the `telephone-event` rate must be the
    /// audio codec's: 8000 for G.711/G.722, 48000 for Opus).
    pub clock_rate: u32,
    /// Media tick, also the update interval: 20 ms.
    pub tick: Duration,
    /// How long each digit lasts (default 200 ms). Clamped to what a 16-bit
    /// duration holds at the clock rate, and to at least one tick.
    pub duration: Duration,
    /// Audio between two digits (default 60 ms, at least one tick).
    pub gap: Duration,
    /// Power level in -dBm0 (default 10).
    pub volume: u8,
}

impl DtmfConfig {
    /// Defaults for a stream at `clock_rate`.
    pub fn new(clock_rate: u32) -> DtmfConfig {
        DtmfConfig {
            clock_rate,
            tick: Duration::from_millis(20),
            duration: Duration::from_millis(200),
            gap: Duration::from_millis(60),
            volume: 10,
        }
    }
}

/// One event packet for the stream to send this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    /// The `telephone-event` payload.
    pub payload: [u8; EVENT_PAYLOAD_LEN],
    /// The event's start timestamp (the same for all its packets).
    pub timestamp: u32,
    /// Marker bit: set on the first packet of the event.
    pub marker: bool,
    /// The E bit is set (one of the three final packets).
    pub end: bool,
}

#[derive(Debug, Clone, Copy)]
enum SenderState {
    Idle,
    /// Sending `digit`; `ticks_sent` packets so far.
    Sending {
        digit: DtmfDigit,
        timestamp: u32,
        ticks_sent: u32,
    },
    /// Audio between digits; this many ticks left.
    Gap(u32),
}

/// Turns queued digits into RFC 4733 packets, one per media tick.
#[derive(Debug)]
pub struct DtmfSender {
    config: DtmfConfig,
    samples_per_tick: u32,
    /// Update packets per event, the last one being the first end packet.
    ticks_per_event: u32,
    gap_ticks: u32,
    queue: VecDeque<DtmfDigit>,
    state: SenderState,
}

impl DtmfSender {
    /// A sender with `config`.
    pub fn new(config: DtmfConfig) -> DtmfSender {
        let tick_ms = config.tick.as_millis().max(1);
        let samples_per_tick = ((u128::from(config.clock_rate) * tick_ms / 1000) as u32).clamp(1, u32::from(u16::MAX));
        let max_ticks = u32::from(u16::MAX) / samples_per_tick;
        let ticks_per_event = ((config.duration.as_millis() / tick_ms) as u32).clamp(1, max_ticks.max(1));
        let gap_ticks = ((config.gap.as_millis() / tick_ms) as u32).max(1);
        DtmfSender {
            config,
            samples_per_tick,
            ticks_per_event,
            gap_ticks,
            queue: VecDeque::new(),
            state: SenderState::Idle,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DtmfConfig {
        &self.config
    }

    /// Queues a digit. Returns false (and drops it) if
    /// [`MAX_QUEUED_DIGITS`] are already waiting.
    pub fn send(&mut self, digit: DtmfDigit) -> bool {
        if self.queue.len() >= MAX_QUEUED_DIGITS {
            return false;
        }
        self.queue.push_back(digit);
        true
    }

    /// Digits queued and not started yet.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// True while an event is being sent (the tick returns packets).
    pub fn is_sending(&self) -> bool {
        matches!(self.state, SenderState::Sending { .. })
    }

    /// True when nothing is queued or under way.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, SenderState::Idle) && self.queue.is_empty()
    }

    /// Drops queued digits; an event under way is finished normally.
    pub fn clear(&mut self) {
        self.queue.clear();
    }

    /// One media tick. `media_timestamp` is the RTP timestamp the stream's
    /// next audio frame would carry. Returns the packet to send instead of
    /// audio, or `None` to send audio.
    pub fn tick(&mut self, media_timestamp: u32) -> Option<DtmfPacket> {
        if let SenderState::Gap(left) = self.state {
            self.state = if left > 1 { SenderState::Gap(left - 1) } else { SenderState::Idle };
            return None;
        }
        if let SenderState::Idle = self.state {
            let digit = self.queue.pop_front()?;
            self.state = SenderState::Sending { digit, timestamp: media_timestamp, ticks_sent: 0 };
        }
        let SenderState::Sending { digit, timestamp, ticks_sent } = self.state else { return None };
        let ticks_sent = ticks_sent + 1;
        let updates = ticks_sent.min(self.ticks_per_event);
        let end = ticks_sent >= self.ticks_per_event;
        let duration = (updates * self.samples_per_tick).min(u32::from(u16::MAX)) as u16;
        let payload = EventPayload { event: digit.event(), end, volume: self.config.volume, duration }.to_bytes();
        self.state = if ticks_sent >= self.ticks_per_event + 2 {
            SenderState::Gap(self.gap_ticks)
        } else {
            SenderState::Sending { digit, timestamp, ticks_sent }
        };
        Some(DtmfPacket { payload, timestamp, marker: ticks_sent == 1, end })
    }
}

/// Reports each received telephone event once.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    ssrc: Option<u32>,
    /// Timestamp of the newest event reported.
    last: Option<u32>,
    reported: u64,
    ignored: u64,
}

impl DtmfReceiver {
    /// A receiver that has seen nothing.
    pub fn new() -> DtmfReceiver {
        DtmfReceiver::default()
    }

    /// Forgets the events seen (after a change of remote source).
    pub fn reset(&mut self) {
        self.ssrc = None;
        self.last = None;
    }

    /// Events reported so far.
    pub fn reported(&self) -> u64 {
        self.reported
    }

    /// Packets ignored as malformed, stale or not DTMF.
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    /// Handles the payload of one `telephone-event` RTP packet with its
    /// SSRC and timestamp. Returns the digit when this packet is the first
    /// seen of a new event.
    pub fn handle_packet(&mut self, ssrc: u32, timestamp: u32, payload: &[u8]) -> Option<DtmfDigit> {
        if self.ssrc != Some(ssrc) {
            self.reset();
            self.ssrc = Some(ssrc);
        }
        let Some(event) = EventPayload::parse(payload) else {
            self.ignored += 1;
            return None;
        };
        let Some(digit) = DtmfDigit::from_event(event.event) else {
            self.ignored += 1;
            return None;
        };
        if let Some(last) = self.last {
            let behind = last.wrapping_sub(timestamp);
            if behind < STALE_EVENT_WINDOW {
                // The event reported last (behind == 0) or an older one.
                if behind != 0 {
                    self.ignored += 1;
                }
                return None;
            }
        }
        self.last = Some(timestamp);
        self.reported += 1;
        Some(digit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn digits_map_to_events() {
        let all: String = (0..=16).map(|e| DtmfDigit::from_event(e).unwrap().to_char()).collect();
        assert_eq!(all, "0123456789*#ABCDR");
        for (i, c) in all.chars().enumerate() {
            assert_eq!(DtmfDigit::from_char(c).unwrap().event(), i as u8);
        }
        assert_eq!(DtmfDigit::from_char('b'), DtmfDigit::from_char('B'));
        assert_eq!(DtmfDigit::from_char('x'), None);
        assert_eq!(DtmfDigit::from_event(17), None);
        assert_eq!(DtmfDigit::FLASH.event(), 16);
    }

    #[test]
    fn payload_round_trip() {
        let payload = EventPayload { event: 11, end: true, volume: 10, duration: 1600 };
        assert_eq!(payload.to_bytes(), [11, 0x8a, 0x06, 0x40]);
        assert_eq!(EventPayload::parse(&payload.to_bytes()), Some(payload));
        assert_eq!(EventPayload::parse(&[1, 2, 3]), None);
    }

    #[test]
    fn sender_shapes_one_event_per_rfc_4733() {
        let mut sender = DtmfSender::new(DtmfConfig::new(8000));
        assert!(sender.send(DtmfDigit::from_char('5').unwrap()));
        let mut ts = 1000u32;
        let mut packets = Vec::new();
        while let Some(packet) = sender.tick(ts) {
            packets.push(packet);
            ts = ts.wrapping_add(160);
        }
        // 10 updates (the 10th with E) + 2 repetitions of the end packet.
        assert_eq!(packets.len(), 12);
        assert!(packets.iter().all(|p| p.timestamp == 1000));
        assert!(packets[0].marker && packets[1..].iter().all(|p| !p.marker));
        let parsed: Vec<EventPayload> = packets.iter().map(|p| EventPayload::parse(&p.payload).unwrap()).collect();
        assert!(parsed.iter().all(|p| p.event == 5 && p.volume == 10));
        let durations: Vec<u16> = parsed.iter().map(|p| p.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 960, 1120, 1280, 1440, 1600, 1600, 1600]);
        let ends: Vec<bool> = parsed.iter().map(|p| p.end).collect();
        assert_eq!(ends, [vec![false; 9], vec![true; 3]].concat());
        assert!(packets[9..].iter().all(|p| p.end));
        // Then the gap (three ticks of audio) before the sender is idle.
        assert!(!sender.is_idle());
        assert_eq!(sender.tick(ts), None);
        assert_eq!(sender.tick(ts), None);
        assert!(sender.is_idle());
    }

    #[test]
    fn long_events_fit_sixteen_bits_at_48_khz() {
        let mut config = DtmfConfig::new(48_000);
        config.duration = Duration::from_secs(5);
        let mut sender = DtmfSender::new(config);
        sender.send(DtmfDigit::FLASH);
        let mut last = None;
        while let Some(packet) = sender.tick(0) {
            last = Some(EventPayload::parse(&packet.payload).unwrap());
        }
        let last = last.unwrap();
        assert!(last.end);
        assert_eq!(last.duration, 65280); // 68 ticks of 960
    }

    /// Sends `digits` through a lossy, duplicating, reordering channel.
    fn run_channel(digits: &str, seed: u64, loss: f64) -> String {
        let mut sender = DtmfSender::new(DtmfConfig::new(8000));
        for c in digits.chars() {
            sender.send(DtmfDigit::from_char(c).unwrap());
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut ts = rng.random::<u32>();
        let mut wire = Vec::new();
        for _ in 0..(digits.len() * 20) {
            if let Some(packet) = sender.tick(ts)
                && !rng.random_bool(loss)
            {
                wire.push(packet);
                if rng.random_bool(0.1) {
                    wire.push(packet);
                }
            }
            ts = ts.wrapping_add(160);
        }
        // Swap neighbours now and then.
        for i in 1..wire.len() {
            if rng.random_bool(0.1) {
                wire.swap(i - 1, i);
            }
        }
        let mut receiver = DtmfReceiver::new();
        wire.iter().filter_map(|p| receiver.handle_packet(42, p.timestamp, &p.payload)).map(|d| d.to_char()).collect()
    }

    #[test]
    fn each_digit_reported_once_in_order() {
        let digits = "0123456789*#ABCDR11##00";
        assert_eq!(run_channel(digits, 1, 0.0), digits);
        for seed in 0..20 {
            // 20% loss: with 12 packets per event, all are lost 1 time in 2^28.
            assert_eq!(run_channel(digits, seed, 0.2), digits, "seed {seed}");
        }
    }

    #[test]
    fn only_end_packets_still_report_once() {
        let mut receiver = DtmfReceiver::new();
        let end = EventPayload { event: 3, end: true, volume: 10, duration: 800 }.to_bytes();
        assert_eq!(receiver.handle_packet(1, 500, &end), DtmfDigit::from_char('3'));
        assert_eq!(receiver.handle_packet(1, 500, &end), None);
        assert_eq!(receiver.handle_packet(1, 500, &end), None);
        // A straggler of an older event is ignored; a new event is reported.
        assert_eq!(receiver.handle_packet(1, 200, &end), None);
        assert_eq!(receiver.handle_packet(1, 1500, &end), DtmfDigit::from_char('3'));
        // A new source starts afresh, even with an earlier timestamp; timestamps wrap.
        assert_eq!(receiver.handle_packet(2, u32::MAX - 10, &end), DtmfDigit::from_char('3'));
        assert_eq!(receiver.handle_packet(2, 150, &end), DtmfDigit::from_char('3'));
        // Non-DTMF events and short payloads are ignored.
        assert_eq!(receiver.handle_packet(2, 9000, &[17, 0, 0, 160]), None);
        assert_eq!(receiver.handle_packet(2, 9000, &[1, 0]), None);
        assert_eq!(receiver.ignored(), 3);
        assert_eq!(receiver.reported(), 4);
    }

    #[test]
    fn receiver_survives_random_bytes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4733);
        let mut receiver = DtmfReceiver::new();
        let mut reported = 0;
        for _ in 0..100_000 {
            let len = rng.random_range(0..12);
            let payload: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let ssrc = rng.random_range(0..3);
            if let Some(digit) = receiver.handle_packet(ssrc, rng.random(), &payload) {
                assert!(digit.event() <= 16);
                reported += 1;
            }
        }
        assert_eq!(receiver.reported(), reported);
    }
}
