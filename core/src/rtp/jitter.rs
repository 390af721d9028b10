//! A jitter buffer for 20 ms audio frames, one frame per RTP packet.
//!
//! Packets go in with [`JitterBuffer::push`] as they arrive, in any order;
//! [`JitterBuffer::tick`], called once per 20 ms media tick, gives back the
//! next frame in sequence-number order, a [`Playout::Lost`] marker (the
//! decoder conceals) or [`Playout::Empty`] (nothing to play: before the
//! first packet, while buffering, during silence).
//!
//! Target delay: **fixed**, 60 ms by default ([`JitterConfig::target_delay`]).
//! After the first packet of a stream, or of a talkspurt that starts on an
//! empty buffer, playout waits that long before the first frame comes out;
//! frames then come out at the media tick, so packets arriving up to about
//! that much later than the first are still in time. Adapting the target to
//! measured jitter is left for later: a larger fixed value is the knob.
//!
//! How it behaves:
//! - Order: by extended sequence number (wrap-around handled). Duplicates
//!   are absorbed and counted. A packet whose turn has passed is dropped and
//!   counted late.
//! - Loss: when the frame due is missing but later ones are buffered, the
//!   tick says `Lost` and moves on. When the buffer runs empty the tick says
//!   `Empty` and the buffer goes back to buffering; playout resumes from the
//!   oldest buffered frame after the target delay, and the frames skipped
//!   meanwhile count as lost.
//! - Talkspurts: a packet with the marker bit or a timestamp that does not
//!   follow its predecessor's (a silence gap with continuous sequence
//!   numbers) arriving on an empty buffer restarts buffering, so each
//!   talkspurt gets the full target delay and no loss is counted for the
//!   silence.
//! - Resets: a new SSRC, a sequence jump of more than
//!   [`JitterConfig::max_frames`] or a timestamp going far backwards start
//!   the buffer afresh (queued frames are discarded and counted).
//! - Other payload types: the sequence numbers taken by `telephone-event`
//!   (or comfort noise) packets are recorded with
//!   [`JitterBuffer::push_other`]; their ticks play as `Empty` and count
//!   neither as lost nor as played.
//! - Drift and bursts: when more than `target + max_excess_frames` frames are
//!   queued, the oldest ones are discarded (counted) to bring the delay back;
//!   a smaller excess that lasts is drained one frame per half second.
//!
//! Packets carrying several frames (ptime 40) still count as one tick each;
//! the stream negotiates ptime 20.

use std::collections::BTreeMap;
use std::time::Duration;

/// How a [`JitterBuffer`] is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// RTP timestamp units per frame: 160 for 20 ms at an 8 kHz clock
    /// (G.711, G.722), 960 at 48 kHz (Opus).
    pub frame_samples: u32,
    /// Duration of one frame (and of one tick): 20 ms.
    pub frame_duration: Duration,
    /// Fixed playout delay (60 ms by default), rounded up to whole frames.
    pub target_delay: Duration,
    /// Most frames queued; a packet further ahead than this resets the buffer.
    pub max_frames: usize,
    /// Frames queued beyond the target before the oldest are discarded.
    pub max_excess_frames: usize,
}

impl JitterConfig {
    /// 20 ms frames of `frame_samples` timestamp units, 60 ms target delay,
    /// 1 s of capacity, 12 frames of tolerated excess (a burst after a
    /// 240 ms stall of the sender or of this host plays late rather than
    /// being lost; a lasting excess is drained slowly, see
    /// [`DRAIN_AFTER_TICKS`]).
    pub fn new(frame_samples: u32) -> JitterConfig {
        JitterConfig {
            frame_samples,
            frame_duration: Duration::from_millis(20),
            target_delay: Duration::from_millis(60),
            max_frames: 50,
            max_excess_frames: 12,
        }
    }

    /// The target delay in whole frames (at least 1).
    pub fn target_frames(&self) -> u64 {
        let frame = self.frame_duration.as_micros().max(1);
        self.target_delay.as_micros().div_ceil(frame).max(1) as u64
    }
}

/// One received RTP packet holding one audio frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitterPacket {
    /// RTP sequence number.
    pub sequence_number: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// RTP SSRC.
    pub ssrc: u32,
    /// Marker bit (start of a talkspurt for audio).
    pub marker: bool,
    /// Payload type (the decoder to use).
    pub payload_type: u8,
    /// The encoded frame.
    pub payload: Vec<u8>,
}

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Queued for playout.
    Queued,
    /// Queued after the buffer was started afresh (new SSRC, big jump).
    QueuedAfterReset,
    /// Already queued: dropped.
    Duplicate,
    /// Its playout time has passed: dropped.
    Late,
}

/// What to play for one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// The next frame.
    Frame(JitterPacket),
    /// The frame due now was lost: conceal it.
    Lost,
    /// Nothing due (not started, buffering, silence or underrun).
    Empty,
}

/// Counters of a [`JitterBuffer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets queued (frames and [`JitterBuffer::push_other`] markers).
    pub queued: u64,
    /// Frames played.
    pub played: u64,
    /// Frames never played because they were missing when due (or skipped
    /// when playout resumed after running empty).
    pub lost: u64,
    /// Packets that arrived after their turn.
    pub late: u64,
    /// Duplicate packets.
    pub duplicates: u64,
    /// Queued frames thrown away (excess delay, resets).
    pub discarded: u64,
    /// Ticks that went to packets of other payload types
    /// ([`JitterBuffer::push_other`]).
    pub other: u64,
    /// Times the buffer ran empty while playing.
    pub underruns: u64,
    /// Times the buffer started afresh.
    pub resets: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the target delay; `waited` ticks since the first packet.
    Buffering {
        waited: u64,
    },
    Playing,
}

/// What a sequence number holds.
#[derive(Debug)]
enum Slot {
    Frame(JitterPacket),
    /// A packet of another payload type (telephone-event, comfort noise).
    Other {
        timestamp: u32,
    },
}

impl Slot {
    fn timestamp(&self) -> u32 {
        match self {
            Slot::Frame(packet) => packet.timestamp,
            Slot::Other { timestamp } => *timestamp,
        }
    }
}

/// Reorders, deduplicates and paces received audio frames. See the module doc.
#[derive(Debug)]
pub struct JitterBuffer {
    config: JitterConfig,
    target_frames: u64,
    frames: BTreeMap<u64, Slot>,
    ssrc: Option<u32>,
    /// Extended sequence number of the next frame to play.
    next: Option<u64>,
    /// Highest extended sequence number queued.
    highest: Option<u64>,
    /// Extended sequence number and timestamp of the last frame played.
    last_played: Option<(u64, u32)>,
    /// Bit `k` set: frame `next - 1 - k` was played (tells duplicates of
    /// played frames from late packets).
    played_mask: u128,
    state: State,
    stats: JitterStats,
    /// Consecutive ticks with the delay above the target by more than a frame.
    excess_ticks: u32,
}

/// Ticks the delay must stay above the target (by more than a frame)
/// before one frame is dropped to bring it back: a burst's extra delay
/// drains at one frame per half second, too little to hear.
pub const DRAIN_AFTER_TICKS: u32 = 25;

/// Extended sequence numbers start here so that they never go below zero.
const EXTENDED_BASE: u64 = 1 << 32;

impl JitterBuffer {
    /// An empty buffer.
    pub fn new(config: JitterConfig) -> JitterBuffer {
        JitterBuffer {
            target_frames: config.target_frames(),
            config,
            frames: BTreeMap::new(),
            ssrc: None,
            next: None,
            highest: None,
            last_played: None,
            played_mask: 0,
            state: State::Buffering { waited: 0 },
            stats: JitterStats::default(),
            excess_ticks: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &JitterConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Frames queued now.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when no frame is queued.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The current delay in frames: from the next frame due to the newest
    /// queued one.
    pub fn depth(&self) -> u64 {
        match (self.next, self.frames.last_key_value()) {
            (Some(next), Some((last, _))) => (last + 1).saturating_sub(next),
            (None, Some(_)) => self.frames.len() as u64,
            _ => 0,
        }
    }

    /// Forgets everything queued and starts afresh (counted as a reset).
    pub fn reset(&mut self) {
        self.stats.discarded += self.frames.len() as u64;
        self.stats.resets += 1;
        self.frames.clear();
        self.ssrc = None;
        self.next = None;
        self.highest = None;
        self.last_played = None;
        self.played_mask = 0;
        self.state = State::Buffering { waited: 0 };
    }

    /// Drops the frame due next (counted as discarded, lost or other).
    fn drop_next(&mut self, next: &mut u64) {
        match self.frames.remove(next) {
            Some(Slot::Frame(_)) => self.stats.discarded += 1,
            Some(Slot::Other { .. }) => self.stats.other += 1,
            None => self.stats.lost += 1,
        }
        self.advance(next, 1, false);
    }

    /// Moves `next` on by `by` frames; `played` tells whether the first of
    /// them was played.
    fn advance(&mut self, next: &mut u64, by: u64, played: bool) {
        self.played_mask = if by >= 128 { 0 } else { self.played_mask << by };
        if played && by > 0 {
            self.played_mask |= 1 << (by - 1);
        }
        *next += by;
    }

    fn extend(&self, seq: u16) -> u64 {
        match self.highest.or(self.next) {
            Some(reference) => {
                let delta = i64::from(seq.wrapping_sub(reference as u16) as i16);
                reference.saturating_add_signed(delta)
            }
            None => EXTENDED_BASE + u64::from(seq),
        }
    }

    /// Queues a received packet.
    pub fn push(&mut self, packet: JitterPacket) -> PushOutcome {
        let (seq, ssrc, timestamp, marker) = (packet.sequence_number, packet.ssrc, packet.timestamp, packet.marker);
        self.insert(seq, ssrc, timestamp, marker, Slot::Frame(packet))
    }

    /// Records that a packet of another payload type of the same stream (a
    /// `telephone-event` or comfort-noise packet) took `sequence_number`: its
    /// tick plays as [`Playout::Empty`] and is not counted lost. Without this,
    /// the sequence numbers of DTMF events would look like lost frames.
    pub fn push_other(&mut self, sequence_number: u16, timestamp: u32, ssrc: u32) -> PushOutcome {
        self.insert(sequence_number, ssrc, timestamp, false, Slot::Other { timestamp })
    }

    fn insert(&mut self, sequence_number: u16, ssrc: u32, timestamp: u32, marker: bool, slot: Slot) -> PushOutcome {
        let other = matches!(slot, Slot::Other { .. });
        let mut reset = false;
        if self.ssrc.is_some_and(|current| current != ssrc) {
            self.reset();
            reset = true;
        }
        self.ssrc = Some(ssrc);
        let mut ext = self.extend(sequence_number);
        if let Some(next) = self.next {
            if ext < next {
                let age = next - 1 - ext;
                if age < 128 && self.played_mask & (1 << age) != 0 {
                    self.stats.duplicates += 1;
                    return PushOutcome::Duplicate;
                }
                self.stats.late += 1;
                return PushOutcome::Late;
            }
            if ext - next >= self.config.max_frames as u64 {
                self.reset();
                self.ssrc = Some(ssrc);
                reset = true;
                ext = self.extend(sequence_number);
            }
        }
        if self.frames.contains_key(&ext) {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        // Does the timestamp follow the packet before it? (Event packets
        // repeat one timestamp: they are not checked.)
        let predecessor = self
            .frames
            .range(..ext)
            .next_back()
            .map(|(seq, slot)| (*seq, slot.timestamp()))
            .or(self.last_played.filter(|(seq, _)| *seq < ext))
            .filter(|_| !other);
        let mut discontinuity = marker;
        if let Some((seq, previous)) = predecessor {
            let expected = previous.wrapping_add(((ext - seq) as u32).wrapping_mul(self.config.frame_samples));
            let delta = timestamp.wrapping_sub(expected) as i32;
            let far_back = -(self.config.frame_samples as i64 * self.config.max_frames as i64);
            if i64::from(delta) < far_back {
                // The source restarted its clock: start afresh.
                self.reset();
                self.ssrc = Some(ssrc);
                reset = true;
                ext = self.extend(sequence_number);
            } else if delta != 0 {
                discontinuity = true;
            }
        }
        if discontinuity && self.frames.is_empty() && self.state == State::Playing {
            // A new talkspurt on an empty buffer: buffer it like the first.
            self.state = State::Buffering { waited: 0 };
        }
        self.frames.insert(ext, slot);
        self.highest = Some(self.highest.map_or(ext, |highest| highest.max(ext)));
        self.stats.queued += 1;
        while self.frames.len() > self.config.max_frames.max(1) {
            // Only reachable before playout anchors (hostile sequence numbers).
            self.frames.pop_first();
            self.stats.discarded += 1;
        }
        if reset { PushOutcome::QueuedAfterReset } else { PushOutcome::Queued }
    }

    /// One 20 ms tick: what to play now.
    pub fn tick(&mut self) -> Playout {
        if let State::Buffering { waited } = self.state {
            let Some((&first, _)) = self.frames.first_key_value() else {
                return Playout::Empty;
            };
            let waited = waited + 1;
            if waited < self.target_frames {
                self.state = State::Buffering { waited };
                return Playout::Empty;
            }
            if let Some(mut next) = self.next {
                let skipped = first.saturating_sub(next);
                self.stats.lost += skipped;
                self.advance(&mut next, skipped, false);
            }
            self.next = Some(first);
            self.state = State::Playing;
        }
        let Some(mut next) = self.next else {
            return Playout::Empty;
        };
        // Bring the delay back when bursts or drift let it grow.
        let limit = self.target_frames + self.config.max_excess_frames as u64;
        while let Some((&last, _)) = self.frames.last_key_value() {
            if last + 1 - next <= limit {
                break;
            }
            self.drop_next(&mut next);
        }
        let excess = self.frames.last_key_value().is_some_and(|(&last, _)| last + 1 - next > self.target_frames + 1);
        self.excess_ticks = if excess { self.excess_ticks + 1 } else { 0 };
        if self.excess_ticks >= DRAIN_AFTER_TICKS {
            self.excess_ticks = 0;
            self.drop_next(&mut next);
        }
        let playout = if let Some(slot) = self.frames.remove(&next) {
            self.last_played = Some((next, slot.timestamp()));
            self.advance(&mut next, 1, true);
            match slot {
                Slot::Frame(packet) => {
                    self.stats.played += 1;
                    Playout::Frame(packet)
                }
                Slot::Other { .. } => {
                    self.stats.other += 1;
                    Playout::Empty
                }
            }
        } else if !self.frames.is_empty() {
            self.stats.lost += 1;
            self.advance(&mut next, 1, false);
            Playout::Lost
        } else {
            self.stats.underruns += 1;
            self.state = State::Buffering { waited: 0 };
            Playout::Empty
        };
        self.next = Some(next);
        playout
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeSet;

    fn packet(seq: u16, timestamp: u32) -> JitterPacket {
        JitterPacket {
            sequence_number: seq,
            timestamp,
            ssrc: 7,
            marker: false,
            payload_type: 0,
            payload: seq.to_be_bytes().to_vec(),
        }
    }

    fn played_seq(playout: &Playout) -> Option<u16> {
        match playout {
            Playout::Frame(p) => Some(p.sequence_number),
            _ => None,
        }
    }

    #[test]
    fn waits_the_target_delay_then_plays_in_order() {
        let mut jb = JitterBuffer::new(JitterConfig::new(160));
        assert_eq!(jb.tick(), Playout::Empty);
        jb.push(packet(10, 1600));
        assert_eq!(jb.tick(), Playout::Empty);
        jb.push(packet(12, 1920));
        assert_eq!(jb.tick(), Playout::Empty);
        jb.push(packet(11, 1760));
        assert_eq!(played_seq(&jb.tick()), Some(10));
        assert_eq!(jb.push(packet(11, 1760)), PushOutcome::Duplicate);
        assert_eq!(jb.push(packet(10, 1600)), PushOutcome::Duplicate);
        assert_eq!(jb.push(packet(9, 1440)), PushOutcome::Late);
        assert_eq!(played_seq(&jb.tick()), Some(11));
        assert_eq!(played_seq(&jb.tick()), Some(12));
        assert_eq!(jb.stats().duplicates, 2);
        assert_eq!(jb.stats().late, 1);
        assert_eq!(jb.stats().lost, 0);
    }

    #[test]
    fn gaps_are_lost_and_sequence_numbers_wrap() {
        let mut jb = JitterBuffer::new(JitterConfig::new(160));
        let seqs = [65534u16, 65535, 1, 2]; // 0 is lost
        for (i, seq) in seqs.iter().enumerate() {
            let ts = 160 * (u32::from(seq.wrapping_sub(65534)));
            jb.push(packet(*seq, ts));
            let _ = i;
        }
        let out: Vec<Playout> = (0..7).map(|_| jb.tick()).collect();
        let seqs_out: Vec<Option<u16>> = out.iter().map(played_seq).collect();
        assert_eq!(seqs_out, [None, None, Some(65534), Some(65535), None, Some(1), Some(2)]);
        assert_eq!(out[4], Playout::Lost);
        assert_eq!(jb.stats().lost, 1);
        assert_eq!(jb.stats().played, 4);
    }

    #[test]
    fn new_ssrc_starts_afresh() {
        let mut jb = JitterBuffer::new(JitterConfig::new(160));
        for seq in 0..5 {
            jb.push(packet(seq, u32::from(seq) * 160));
        }
        for _ in 0..3 {
            jb.tick();
        }
        let mut other = packet(40_000, 99);
        other.ssrc = 8;
        assert_eq!(jb.push(other), PushOutcome::QueuedAfterReset);
        assert_eq!(jb.stats().discarded, 4);
        assert_eq!(jb.tick(), Playout::Empty);
        assert_eq!(jb.tick(), Playout::Empty);
        assert_eq!(played_seq(&jb.tick()), Some(40_000));
    }

    #[test]
    fn talkspurt_after_silence_rebuffers_without_loss() {
        let mut jb = JitterBuffer::new(JitterConfig::new(160));
        let mut out = Vec::new();
        for seq in 0..5u16 {
            jb.push(packet(seq, u32::from(seq) * 160));
            out.push(jb.tick());
        }
        // Silence: nothing sent for 1 s, sequence numbers continue.
        for _ in 0..50 {
            out.push(jb.tick());
        }
        for seq in 5..10u16 {
            let mut p = packet(seq, 8000 + u32::from(seq) * 160);
            p.marker = seq == 5;
            jb.push(p);
            out.push(jb.tick());
        }
        for _ in 0..5 {
            out.push(jb.tick());
        }
        let played: Vec<u16> = out.iter().filter_map(played_seq).collect();
        assert_eq!(played, (0..10).collect::<Vec<u16>>());
        assert_eq!(jb.stats().lost, 0);
        // The new talkspurt waited the target delay again: 2 empty ticks after its first packet.
        let first_of_spurt = out.iter().position(|p| played_seq(p) == Some(5)).unwrap();
        assert_eq!(first_of_spurt, 5 + 50 + 2);
    }

    #[test]
    fn sequence_numbers_of_events_are_not_lost() {
        let mut jb = JitterBuffer::new(JitterConfig::new(160));
        let mut out = Vec::new();
        // Audio 0..5, a DTMF event on 5..17 (one timestamp, end packet repeated twice), audio again.
        for seq in 0..30u16 {
            match seq {
                5..17 => {
                    jb.push_other(seq, 800, 7);
                    if seq == 16 {
                        assert_eq!(jb.push_other(seq, 800, 7), PushOutcome::Duplicate);
                    }
                }
                _ => {
                    let mut p = packet(seq, u32::from(seq) * 160);
                    p.marker = seq == 17;
                    jb.push(p);
                }
            }
            out.push(jb.tick());
        }
        for _ in 0..3 {
            out.push(jb.tick());
        }
        let played: Vec<u16> = out.iter().filter_map(played_seq).collect();
        assert_eq!(played, (0..5).chain(17..30).collect::<Vec<u16>>());
        assert!(!out.contains(&Playout::Lost));
        let stats = jb.stats();
        assert_eq!((stats.lost, stats.other, stats.played, stats.duplicates), (0, 12, 18, 1));
    }

    #[test]
    fn timestamp_going_far_back_resets() {
        let mut jb = JitterBuffer::new(JitterConfig::new(160));
        jb.push(packet(1, 1_000_000));
        jb.push(packet(2, 1_000_160));
        assert_eq!(jb.push(packet(3, 5)), PushOutcome::QueuedAfterReset);
        assert_eq!(jb.len(), 1);
    }

    #[test]
    fn bursts_are_trimmed_to_the_target() {
        let mut jb = JitterBuffer::new(JitterConfig::new(160));
        for seq in 0..3u16 {
            jb.push(packet(seq, u32::from(seq) * 160));
        }
        for _ in 0..3 {
            jb.tick();
        }
        // A stall, then 20 packets at once.
        for seq in 3..23u16 {
            jb.push(packet(seq, u32::from(seq) * 160));
        }
        let first = jb.tick();
        assert!(played_seq(&first).unwrap() > 3);
        assert_eq!(jb.depth(), 14, "trimmed to the target (3) and the tolerated excess (12), one frame played");
        let stats = jb.stats();
        assert_eq!(stats.played + stats.discarded + stats.lost + jb.len() as u64, 23);
    }

    #[test]
    fn a_lasting_excess_drains_one_frame_per_half_second() {
        let mut jb = JitterBuffer::new(JitterConfig::new(160));
        // Steady flow with 5 frames more than the target queued.
        let mut seq = 0u16;
        for _ in 0..8 {
            jb.push(packet(seq, u32::from(seq) * 160));
            seq += 1;
        }
        let mut depths = Vec::new();
        for _ in 0..100 {
            jb.push(packet(seq, u32::from(seq) * 160));
            seq += 1;
            jb.tick();
            depths.push(jb.depth());
        }
        let stats = jb.stats();
        assert!((2..=4).contains(&stats.discarded), "{stats:?}");
        assert!(*depths.last().unwrap() < depths[3], "{depths:?}");
        assert!(depths.iter().all(|&d| d >= 3), "never below the target: {depths:?}");
        assert_eq!(stats.lost, 0);
    }

    /// One simulated call: packets every 20 ms, network delay 30..65 ms (so
    /// reordering), `loss`, 5% duplicates; ticks every 20 ms.
    fn simulate(seed: u64, loss: f64, count: u16) -> (Vec<u16>, BTreeSet<u16>, JitterStats, usize) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let first_seq: u16 = rng.random();
        let first_ts: u32 = rng.random();
        let mut arrivals: Vec<(u64, JitterPacket)> = Vec::new();
        let mut delivered = BTreeSet::new();
        for i in 0..count {
            let seq = first_seq.wrapping_add(i);
            let p = JitterPacket {
                sequence_number: seq,
                timestamp: first_ts.wrapping_add(160 * u32::from(i)),
                ssrc: 1,
                marker: i == 0,
                payload_type: 0,
                payload: vec![i as u8],
            };
            // The first and last always arrive, so the loss count is exact.
            if i != 0 && i != count - 1 && rng.random_bool(loss) {
                continue;
            }
            delivered.insert(i);
            let sent = u64::from(i) * 20_000;
            arrivals.push((sent + rng.random_range(30_000..65_000), p.clone()));
            if rng.random_bool(0.05) {
                arrivals.push((sent + rng.random_range(30_000..65_000), p));
            }
        }
        arrivals.sort_by_key(|(at, _)| *at);
        let reordered = arrivals
            .windows(2)
            .filter(|w| w[1].1.sequence_number.wrapping_sub(w[0].1.sequence_number) > 0x8000)
            .count();
        let mut jb = JitterBuffer::new(JitterConfig::new(160));
        let mut played = Vec::new();
        let mut arrivals = arrivals.into_iter().peekable();
        let mut now = 7_000u64;
        for _ in 0..(u32::from(count) + 40) {
            while let Some((_, p)) = arrivals.next_if(|(at, _)| *at <= now) {
                jb.push(p);
            }
            if let Playout::Frame(p) = jb.tick() {
                played.push(p.sequence_number.wrapping_sub(first_seq));
            }
            now += 20_000;
        }
        (played, delivered, jb.stats(), reordered)
    }

    fn check_simulation(loss: f64) {
        for seed in 0..10 {
            let count = 3000u16;
            let (played, delivered, stats, reordered) = simulate(seed, loss, count);
            assert!(reordered > 100, "seed {seed}: the network reorders ({reordered})");
            // In order, without duplicates.
            assert!(played.windows(2).all(|w| w[0] < w[1]), "seed {seed}: order");
            // Everything delivered was played or accounted for.
            let network_lost = u64::from(count) - delivered.len() as u64;
            assert_eq!(stats.late, 0, "seed {seed}: jitter is below the target delay");
            assert_eq!(stats.played, played.len() as u64);
            assert_eq!(stats.played + stats.discarded, delivered.len() as u64, "seed {seed}: {stats:?}");
            assert_eq!(stats.lost, network_lost, "seed {seed}: {stats:?}");
            assert!(played.iter().all(|i| delivered.contains(i)));
            let expected = network_lost as f64 / f64::from(count);
            assert!((expected - loss).abs() < 0.03, "seed {seed}: simulated loss {expected}");
            assert!(stats.duplicates > 0);
            // Excess trimming stays rare.
            assert!(stats.discarded * 100 < u64::from(count), "seed {seed}: {stats:?}");
        }
    }

    #[test]
    fn five_percent_loss_with_reordering_and_duplicates() {
        check_simulation(0.05);
    }

    #[test]
    fn twenty_percent_loss_with_reordering_and_duplicates() {
        check_simulation(0.20);
    }

    #[test]
    fn hostile_sequence_numbers_stay_bounded() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3550);
        let mut jb = JitterBuffer::new(JitterConfig::new(160));
        for _ in 0..50_000 {
            let mut p = packet(rng.random(), rng.random());
            p.ssrc = rng.random_range(0..2);
            p.marker = rng.random();
            jb.push(p);
            assert!(jb.len() <= 50);
            if rng.random_bool(0.3) {
                jb.tick();
            }
        }
    }
}
