//! The audio mixer: numbered slots, connections between them, and one
//! [`AudioMixer::tick`] per 20 ms frame.
//!
//! A slot holds either an [`AudioPort`] (anything that produces and/or
//! consumes audio: a device, a WAV player or recorder, a tone generator, an
//! RTP stream) or a *pass-through* (the original's `MixerPort`): a slot whose
//! output is the mix of its inputs in the same tick, which is how bridges nest
//! (see [`AudioBridge`](super::AudioBridge)).
//!
//! `connect_slots(src, dst)` sends what `src` produces to `dst`.
//! Connections are counted: connecting the same pair twice needs two
//! disconnects (two bridges may both connect a pair). Each tick:
//!
//! 1. every port is asked for one frame ([`AudioPort::get_frame`]), whether
//!    connected or not, so that every port's clock advances;
//! 2. every pass-through's output is the mix of its inputs (pass-throughs fed
//!    by pass-throughs are evaluated in dependency order, so nesting adds no
//!    delay; a cycle, which bridges forbid but nothing enforces, is cut and
//!    contributes silence);
//! 3. every port with at least one input connection gets the mix of its
//!    inputs ([`AudioPort::put_frame`]), saturated to 16 bits. A port without
//!    inputs gets nothing (a recorder outside any bridge writes nothing).
//!
//! Muting a slot's producer side makes it contribute silence; muting its
//! consumer side stops its `put_frame` calls.
//!
//! Ports are shared (`Arc<Mutex<..>>`) so their owner can control them (start
//! a player, read its events) between ticks; the mixer locks each port only
//! inside `tick`, and a port must never call into the mixer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{AudioError, check_sample_rate, frame_samples};

pub use super::SlotId;

/// Something that produces and/or consumes audio, one frame per mixer tick.
///
/// Frames are mono 16-bit PCM at the mixer's sample rate, 20 ms long
/// ([`AudioMixer::frame_samples`] samples).
pub trait AudioPort: Send {
    /// Fills `frame` (zeroed by the mixer) with the port's next 20 ms and
    /// returns `true`, or returns `false` when it has nothing to play (the
    /// frame is then treated as silence). Called once per tick.
    fn get_frame(&mut self, frame: &mut [i16]) -> bool;
    /// Receives the mix of everything connected to this port for this tick.
    /// Called once per tick after all `get_frame` calls, only while the port
    /// has at least one input connection.
    fn put_frame(&mut self, frame: &[i16]);
}

/// A port as the mixer holds it.
pub type SharedPort = Arc<Mutex<dyn AudioPort>>;

/// Wraps a port for [`AudioMixer::add_port`]; keep the returned `Arc` to
/// control the port (it coerces to [`SharedPort`]).
pub fn shared<P: AudioPort + 'static>(port: P) -> Arc<Mutex<P>> {
    Arc::new(Mutex::new(port))
}

/// Converts a mixing accumulator to a sample, saturating at the i16 limits.
#[inline]
pub(crate) fn saturate(v: i32) -> i16 {
    v.clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

/// Locks a port, tolerating a poisoned lock (a panicking port must not stop
/// the whole mixer).
pub(crate) fn lock<P: ?Sized>(port: &Mutex<P>) -> MutexGuard<'_, P> {
    port.lock().unwrap_or_else(|e| e.into_inner())
}

enum SlotKind {
    Port(SharedPort),
    Passthrough,
}

struct Slot {
    kind: SlotKind,
    producer_muted: bool,
    consumer_muted: bool,
}

/// The evaluation order, rebuilt when slots or connections change.
struct Plan {
    /// Dense index → port (with its index), for producing and consuming.
    ports: Vec<(usize, SharedPort, bool, bool)>,
    /// Pass-through dense indices in dependency order, with producer mute.
    passthroughs: Vec<(usize, bool)>,
    /// Dense index → source dense indices.
    inputs: Vec<Vec<usize>>,
}

static NEXT_MIXER_ID: AtomicU64 = AtomicU64::new(1);

/// Mixes audio between numbered slots (see the module documentation).
pub struct AudioMixer {
    id: u64,
    sample_rate: u32,
    frame_len: usize,
    next_slot: SlotId,
    slots: BTreeMap<SlotId, Slot>,
    connections: BTreeMap<(SlotId, SlotId), u32>,
    plan: Option<Plan>,
    frames: Vec<Vec<i32>>,
    active: Vec<bool>,
    acc: Vec<i32>,
    scratch: Vec<i16>,
    ticks: u64,
}

impl std::fmt::Debug for AudioMixer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioMixer")
            .field("sample_rate", &self.sample_rate)
            .field("slots", &self.slots.keys().collect::<Vec<_>>())
            .field("connections", &self.connections)
            .field("ticks", &self.ticks)
            .finish()
    }
}

impl AudioMixer {
    /// A mixer at `sample_rate` Hz (a multiple of 50 between 8000 and
    /// 192000; the `audio.sample_rate` setting allows 16000, 32000 and 48000).
    pub fn new(sample_rate: u32) -> Result<Self, AudioError> {
        check_sample_rate(sample_rate)?;
        let frame_len = frame_samples(sample_rate);
        Ok(AudioMixer {
            id: NEXT_MIXER_ID.fetch_add(1, Ordering::Relaxed),
            sample_rate,
            frame_len,
            next_slot: 0,
            slots: BTreeMap::new(),
            connections: BTreeMap::new(),
            plan: None,
            frames: Vec::new(),
            active: Vec::new(),
            acc: vec![0; frame_len],
            scratch: vec![0; frame_len],
            ticks: 0,
        })
    }

    /// A number identifying this mixer among all mixers of the process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Samples in one frame (20 ms).
    pub fn frame_samples(&self) -> usize {
        self.frame_len
    }

    /// Frames mixed so far.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The number of slots in use.
    pub fn used_slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Whether `slot` is in use.
    pub fn has_slot(&self, slot: SlotId) -> bool {
        self.slots.contains_key(&slot)
    }

    fn insert(&mut self, kind: SlotKind) -> SlotId {
        let slot = self.next_slot;
        self.next_slot += 1;
        self.slots.insert(slot, Slot { kind, producer_muted: false, consumer_muted: false });
        self.plan = None;
        slot
    }

    /// Puts a port in a new slot and returns the slot's number. The first
    /// slot of a mixer is 0 (by convention its device, as in the original).
    pub fn add_port(&mut self, port: SharedPort) -> SlotId {
        self.insert(SlotKind::Port(port))
    }

    /// Adds a pass-through slot (the original's `MixerPort`): what is
    /// connected to it comes out of it in the same tick.
    pub fn add_passthrough(&mut self) -> SlotId {
        self.insert(SlotKind::Passthrough)
    }

    /// Removes a slot with all its connections and releases its port.
    pub fn remove_slot(&mut self, slot: SlotId) -> Result<(), AudioError> {
        self.slots.remove(&slot).ok_or(AudioError::NoSuchSlot(slot))?;
        self.connections.retain(|&(src, dst), _| src != slot && dst != slot);
        self.plan = None;
        Ok(())
    }

    fn slot_mut(&mut self, slot: SlotId) -> Result<&mut Slot, AudioError> {
        self.slots.get_mut(&slot).ok_or(AudioError::NoSuchSlot(slot))
    }

    /// Sends what `src` produces to `dst` (counted: see the module docs).
    pub fn connect_slots(&mut self, src: SlotId, dst: SlotId) -> Result<(), AudioError> {
        for slot in [src, dst] {
            self.slot_mut(slot)?;
        }
        *self.connections.entry((src, dst)).or_insert(0) += 1;
        self.plan = None;
        Ok(())
    }

    /// Undoes one [`AudioMixer::connect_slots`] of the pair.
    pub fn disconnect_slots(&mut self, src: SlotId, dst: SlotId) -> Result<(), AudioError> {
        let count = self.connections.get_mut(&(src, dst)).ok_or(AudioError::NotConnected(src, dst))?;
        *count -= 1;
        if *count == 0 {
            self.connections.remove(&(src, dst));
            self.plan = None;
        }
        Ok(())
    }

    /// Whether audio flows from `src` to `dst` by a direct connection.
    pub fn is_connected(&self, src: SlotId, dst: SlotId) -> bool {
        self.connections.contains_key(&(src, dst))
    }

    /// The connected pairs `(src, dst)`, each once, in slot order.
    pub fn connected_slots(&self) -> Vec<(SlotId, SlotId)> {
        self.connections.keys().copied().collect()
    }

    /// Mutes or unmutes what `slot` produces (it then contributes silence).
    pub fn set_producer_muted(&mut self, slot: SlotId, muted: bool) -> Result<(), AudioError> {
        self.slot_mut(slot)?.producer_muted = muted;
        self.plan = None;
        Ok(())
    }

    /// Mutes or unmutes what `slot` consumes (it then gets no frames).
    pub fn set_consumer_muted(&mut self, slot: SlotId, muted: bool) -> Result<(), AudioError> {
        self.slot_mut(slot)?.consumer_muted = muted;
        self.plan = None;
        Ok(())
    }

    /// Whether `slot`'s producer side is muted (`None` if there is no such slot).
    pub fn producer_muted(&self, slot: SlotId) -> Option<bool> {
        self.slots.get(&slot).map(|s| s.producer_muted)
    }

    /// Whether `slot`'s consumer side is muted (`None` if there is no such slot).
    pub fn consumer_muted(&self, slot: SlotId) -> Option<bool> {
        self.slots.get(&slot).map(|s| s.consumer_muted)
    }

    fn build_plan(&self) -> Plan {
        let ids: Vec<SlotId> = self.slots.keys().copied().collect();
        let index = |slot: SlotId| ids.binary_search(&slot).ok();
        let mut inputs = vec![Vec::new(); ids.len()];
        for &(src, dst) in self.connections.keys() {
            if let (Some(s), Some(d)) = (index(src), index(dst)) {
                inputs[d].push(s);
            }
        }
        let mut ports = Vec::new();
        let mut is_passthrough = vec![false; ids.len()];
        for (i, slot) in self.slots.values().enumerate() {
            match &slot.kind {
                SlotKind::Port(p) => ports.push((i, p.clone(), slot.producer_muted, slot.consumer_muted)),
                SlotKind::Passthrough => is_passthrough[i] = true,
            }
        }
        // Depth-first post-order over pass-through inputs: a pass-through
        // comes after the pass-throughs feeding it. A back edge (a cycle) is
        // simply not followed; at tick time that input is not yet computed
        // and counts as silence.
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let mut mark = vec![Mark::New; ids.len()];
        let mut order = Vec::new();
        for start in 0..ids.len() {
            if !is_passthrough[start] || mark[start] != Mark::New {
                continue;
            }
            let mut stack = vec![(start, 0usize)];
            mark[start] = Mark::Open;
            while let Some((node, next)) = stack.pop() {
                if let Some(&src) = inputs[node].get(next) {
                    stack.push((node, next + 1));
                    if is_passthrough[src] && mark[src] == Mark::New {
                        mark[src] = Mark::Open;
                        stack.push((src, 0));
                    }
                } else {
                    mark[node] = Mark::Done;
                    order.push(node);
                }
            }
        }
        let slots: Vec<&Slot> = self.slots.values().collect();
        let passthroughs = order.into_iter().map(|i| (i, slots[i].producer_muted || slots[i].consumer_muted)).collect();
        Plan { ports, passthroughs, inputs }
    }

    /// Mixes one frame: pulls a frame from every port, mixes along the
    /// connections and pushes the mixes to the connected consumers.
    pub fn tick(&mut self) {
        let plan = match self.plan.take() {
            Some(plan) => plan,
            None => self.build_plan(),
        };
        let n = plan.inputs.len();
        let len = self.frame_len;
        if self.frames.len() < n {
            self.frames.resize_with(n, || vec![0; len]);
        }
        self.active.clear();
        self.active.resize(n, false);

        for (i, port, producer_muted, _) in &plan.ports {
            self.scratch.iter_mut().for_each(|s| *s = 0);
            let produced = lock(port).get_frame(&mut self.scratch);
            if produced && !producer_muted {
                for (d, &s) in self.frames[*i].iter_mut().zip(&self.scratch) {
                    *d = s as i32;
                }
                self.active[*i] = true;
            }
        }

        for &(i, muted) in &plan.passthroughs {
            if !muted && self.mix_inputs(&plan.inputs[i]) {
                std::mem::swap(&mut self.frames[i], &mut self.acc);
                self.active[i] = true;
            }
        }

        for (i, port, _, consumer_muted) in &plan.ports {
            if *consumer_muted || plan.inputs[*i].is_empty() {
                continue;
            }
            if self.mix_inputs(&plan.inputs[*i]) {
                for (d, &s) in self.scratch.iter_mut().zip(&self.acc) {
                    *d = saturate(s);
                }
            } else {
                self.scratch.iter_mut().for_each(|s| *s = 0);
            }
            lock(port).put_frame(&self.scratch);
        }

        self.plan = Some(plan);
        self.ticks += 1;
    }

    /// Sums the active inputs into `self.acc`; `false` if none was active.
    fn mix_inputs(&mut self, inputs: &[usize]) -> bool {
        let mut any = false;
        for &src in inputs {
            if !self.active[src] {
                continue;
            }
            if any {
                for (a, &s) in self.acc.iter_mut().zip(&self.frames[src]) {
                    *a += s;
                }
            } else {
                self.acc.copy_from_slice(&self.frames[src]);
                any = true;
            }
        }
        any
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::audio::analysis::{dominant_frequency, sine, tone_amplitude};
    use crate::audio::device::BufferPort;

    /// A port producing a sine and recording what it hears.
    pub(crate) fn tone_port(freq: f64, rate: u32, seconds: usize) -> Arc<Mutex<BufferPort>> {
        let port = shared(BufferPort::new(usize::MAX));
        lock(&port).push(&sine(freq, 8000.0, rate, rate as usize * seconds));
        port
    }

    #[test]
    fn connections_carry_audio_and_count() {
        let mut m = AudioMixer::new(16000).unwrap();
        let a = tone_port(500.0, 16000, 1);
        let b = shared(BufferPort::new(usize::MAX));
        let sa = m.add_port(a.clone());
        let sb = m.add_port(b.clone());
        assert_eq!((sa, sb), (0, 1));
        m.tick();
        assert!(lock(&b).received().is_empty(), "no connection, no frames");
        m.connect_slots(sa, sb).unwrap();
        m.connect_slots(sa, sb).unwrap();
        assert_eq!(m.connected_slots(), vec![(0, 1)]);
        for _ in 0..10 {
            m.tick();
        }
        m.disconnect_slots(sa, sb).unwrap();
        assert!(m.is_connected(sa, sb), "connected twice, disconnected once");
        for _ in 0..10 {
            m.tick();
        }
        m.disconnect_slots(sa, sb).unwrap();
        assert!(!m.is_connected(sa, sb));
        assert!(matches!(m.disconnect_slots(sa, sb), Err(AudioError::NotConnected(0, 1))));
        m.tick();
        let got = lock(&b).take_received();
        assert_eq!(got.len(), 20 * 320);
        let f = dominant_frequency(&got, 16000).unwrap();
        assert!((f - 500.0).abs() < 0.5, "{f}");
        // a itself heard nothing.
        assert!(lock(&a).received().is_empty());
        assert_eq!(m.ticks(), 22);
    }

    #[test]
    fn mixing_adds_and_saturates() {
        let mut m = AudioMixer::new(8000).unwrap();
        let loud1 = shared(BufferPort::new(usize::MAX));
        let loud2 = shared(BufferPort::new(usize::MAX));
        let quiet = shared(BufferPort::new(usize::MAX));
        lock(&loud1).push(&[30000; 160]);
        lock(&loud2).push(&[30000; 160]);
        lock(&quiet).push(&[-5; 160]);
        let sink = shared(BufferPort::new(usize::MAX));
        let s = m.add_port(sink.clone());
        for p in [loud1.clone(), loud2.clone(), quiet.clone()] {
            let slot = m.add_port(p);
            m.connect_slots(slot, s).unwrap();
        }
        m.tick();
        assert_eq!(lock(&sink).take_received(), vec![i16::MAX; 160]);
        lock(&loud1).push(&[-30000; 160]);
        lock(&loud2).push(&[-30000; 160]);
        lock(&quiet).push(&[7; 160]);
        m.tick();
        assert_eq!(lock(&sink).take_received(), vec![i16::MIN; 160]);
        lock(&loud1).push(&[1000; 160]);
        lock(&quiet).push(&[-300; 160]);
        m.tick();
        // loud2 had nothing (silence), the rest adds exactly.
        assert_eq!(lock(&sink).take_received(), vec![700; 160]);
        m.tick();
        assert_eq!(lock(&sink).take_received(), vec![0; 160], "connected sources silent: a silent frame");
    }

    #[test]
    fn muting_and_removal() {
        let mut m = AudioMixer::new(8000).unwrap();
        let src = tone_port(1000.0, 8000, 1);
        let dst = shared(BufferPort::new(usize::MAX));
        let s = m.add_port(src.clone());
        let d = m.add_port(dst.clone());
        m.connect_slots(s, d).unwrap();
        m.set_producer_muted(s, true).unwrap();
        assert_eq!(m.producer_muted(s), Some(true));
        m.tick();
        assert_eq!(lock(&dst).take_received(), vec![0; 160]);
        m.set_producer_muted(s, false).unwrap();
        m.set_consumer_muted(d, true).unwrap();
        m.tick();
        assert!(lock(&dst).take_received().is_empty());
        m.set_consumer_muted(d, false).unwrap();
        m.tick();
        let heard = lock(&dst).take_received();
        assert!(tone_amplitude(&heard, 8000, 1000.0) > 7000.0);
        // The source advanced through all three ticks (muted or not).
        assert_eq!(lock(&src).queued(), 8000 - 3 * 160);
        m.remove_slot(s).unwrap();
        assert!(!m.is_connected(s, d));
        assert!(!m.has_slot(s));
        assert_eq!(m.used_slot_count(), 1);
        assert!(matches!(m.remove_slot(s), Err(AudioError::NoSuchSlot(_))));
        assert!(matches!(m.connect_slots(s, d), Err(AudioError::NoSuchSlot(_))));
        assert!(m.set_producer_muted(s, true).is_err());
        // Slot numbers are not reused.
        assert_eq!(m.add_passthrough(), 2);
        // The mixer dropped its reference to the removed port.
        assert_eq!(Arc::strong_count(&src), 1);
    }

    #[test]
    fn passthroughs_chain_without_delay_and_cycles_are_cut() {
        let mut m = AudioMixer::new(8000).unwrap();
        let src = shared(BufferPort::new(usize::MAX));
        let dst = shared(BufferPort::new(usize::MAX));
        let s = m.add_port(src.clone());
        let d = m.add_port(dst.clone());
        // Added in reverse order of the chain on purpose.
        let p3 = m.add_passthrough();
        let p2 = m.add_passthrough();
        let p1 = m.add_passthrough();
        for (a, b) in [(s, p1), (p1, p2), (p2, p3), (p3, d)] {
            m.connect_slots(a, b).unwrap();
        }
        lock(&src).push(&[123; 160]);
        m.tick();
        assert_eq!(lock(&dst).take_received(), vec![123; 160], "same tick through three pass-throughs");
        // A cycle p3 -> p1 must not hang or blow up; the signal still arrives once.
        m.connect_slots(p3, p1).unwrap();
        lock(&src).push(&[50; 160]);
        m.tick();
        let got = lock(&dst).take_received();
        assert_eq!(got.len(), 160);
        assert!(got.iter().all(|&x| x == 50), "{:?}", &got[..4]);
    }

    #[test]
    fn rates_are_checked() {
        assert!(AudioMixer::new(44100).is_ok());
        assert!(matches!(AudioMixer::new(12345), Err(AudioError::UnsupportedSampleRate(12345))));
        let m = AudioMixer::new(32000).unwrap();
        assert_eq!(m.frame_samples(), 640);
        assert_eq!((saturate(40000), saturate(-40000), saturate(-5)), (i16::MAX, i16::MIN, -5));
        assert_ne!(m.id(), AudioMixer::new(32000).unwrap().id());
    }
}
