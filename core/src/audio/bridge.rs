//! [`AudioBridge`]: a full mesh of ports on one mixer, as in the original's
//! `sipsimple.audio.AudioBridge`.
//!
//! Every member's producer slot is connected to every *other* member's
//! consumer slot, so a member hears all the others and never itself. A
//! bridge is itself a port with two pass-through slots: its consumer slot
//! (the original's demultiplexer) feeds every member, and its producer slot
//! (the multiplexer) carries the mix of all members. Adding one bridge's
//! [`slots`](AudioBridge::slots) to another nests it: the leaves of the tree
//! are connected as if they were members of one bridge, with no added delay.
//! Nesting must form a tree; a cycle is not refused but mixes as silence.
//!
//! Members are identified by a key the caller chooses (the id of the port's
//! handle) and described by their current [`PortSlots`]. When a member's slots
//! change (the original's `AudioPortDidChangeSlots`), [`AudioBridge::update`]
//! reconnects it. A member whose slots have been removed from the mixer
//! simply stops taking part: the mixer dropped its connections, slot numbers
//! are never reused, and the bridge ignores the stale numbers. This is how the
//! original's weak references behave once a port's owner lets it go.

use super::AudioError;
use super::mixer::{AudioMixer, SlotId};

/// The slots an `IAudioPort` occupies: where it consumes audio and where it
/// produces audio (`None` when it does not, e.g. a player has no consumer
/// slot, a muted device no producer slot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortSlots {
    /// The slot the port consumes from (`consumer_slot`).
    pub consumer_slot: Option<SlotId>,
    /// The slot the port produces on (`producer_slot`).
    pub producer_slot: Option<SlotId>,
}

impl PortSlots {
    /// A port that neither consumes nor produces (yet).
    pub const NONE: PortSlots = PortSlots { consumer_slot: None, producer_slot: None };

    /// A port consuming and producing on the same slot (a device, a stream).
    pub fn both(slot: SlotId) -> Self {
        PortSlots { consumer_slot: Some(slot), producer_slot: Some(slot) }
    }

    /// A port that only consumes (a recorder).
    pub fn consumer(slot: SlotId) -> Self {
        PortSlots { consumer_slot: Some(slot), producer_slot: None }
    }

    /// A port that only produces (a player, a tone generator).
    pub fn producer(slot: SlotId) -> Self {
        PortSlots { consumer_slot: None, producer_slot: Some(slot) }
    }
}

/// A full mesh of ports (see the module documentation).
#[derive(Debug)]
pub struct AudioBridge {
    mixer_id: u64,
    /// Consumer slot: audio sent into the bridge, heard by every member.
    demultiplexer: SlotId,
    /// Producer slot: the mix of every member.
    multiplexer: SlotId,
    members: Vec<(u64, PortSlots)>,
    closed: bool,
}

/// Connects or disconnects, ignoring slots that are gone (stale members).
fn link(mixer: &mut AudioMixer, src: Option<SlotId>, dst: Option<SlotId>, connect: bool) {
    let (Some(src), Some(dst)) = (src, dst) else { return };
    if src == dst {
        return;
    }
    let result = if connect { mixer.connect_slots(src, dst) } else { mixer.disconnect_slots(src, dst) };
    if let Err(e) = result {
        tracing::trace!("audio bridge: {} {src} -> {dst}: {e}", if connect { "connect" } else { "disconnect" });
    }
}

impl AudioBridge {
    /// A new, empty bridge on `mixer` (it takes two pass-through slots).
    pub fn new(mixer: &mut AudioMixer) -> Self {
        let demultiplexer = mixer.add_passthrough();
        let multiplexer = mixer.add_passthrough();
        AudioBridge { mixer_id: mixer.id(), demultiplexer, multiplexer, members: Vec::new(), closed: false }
    }

    /// The bridge's own slots, to nest it in another bridge (`NONE` once closed).
    pub fn slots(&self) -> PortSlots {
        if self.closed {
            PortSlots::NONE
        } else {
            PortSlots { consumer_slot: Some(self.demultiplexer), producer_slot: Some(self.multiplexer) }
        }
    }

    fn check(&self, mixer: &AudioMixer) -> Result<(), AudioError> {
        if mixer.id() != self.mixer_id {
            return Err(AudioError::WrongMixer);
        }
        if self.closed {
            return Err(AudioError::InvalidState("the bridge is closed".into()));
        }
        Ok(())
    }

    /// Makes or undoes every connection of one member.
    fn wire(&self, mixer: &mut AudioMixer, key: u64, slots: PortSlots, connect: bool) {
        let own = self.slots();
        link(mixer, own.consumer_slot, slots.consumer_slot, connect);
        link(mixer, slots.producer_slot, own.producer_slot, connect);
        for &(other_key, other) in &self.members {
            if other_key == key {
                continue;
            }
            link(mixer, other.producer_slot, slots.consumer_slot, connect);
            link(mixer, slots.producer_slot, other.consumer_slot, connect);
        }
    }

    /// Adds a member: it hears every other member and what is sent into the
    /// bridge, and every other member hears it. Adding a member twice does
    /// nothing (members are a set, as in the original).
    pub fn add(&mut self, mixer: &mut AudioMixer, key: u64, slots: PortSlots) -> Result<(), AudioError> {
        self.check(mixer)?;
        if self.contains(key) {
            return Ok(());
        }
        self.wire(mixer, key, slots, true);
        self.members.push((key, slots));
        Ok(())
    }

    /// Removes a member and its connections; [`AudioError::NotMember`] if it
    /// is not one (the original raises `ValueError`).
    pub fn remove(&mut self, mixer: &mut AudioMixer, key: u64) -> Result<(), AudioError> {
        self.check(mixer)?;
        let pos = self.members.iter().position(|&(k, _)| k == key).ok_or(AudioError::NotMember(key))?;
        let (_, slots) = self.members.remove(pos);
        self.wire(mixer, key, slots, false);
        Ok(())
    }

    /// Reconnects a member whose slots changed (the original's reaction to
    /// `AudioPortDidChangeSlots`).
    pub fn update(&mut self, mixer: &mut AudioMixer, key: u64, slots: PortSlots) -> Result<(), AudioError> {
        self.check(mixer)?;
        let pos = self.members.iter().position(|&(k, _)| k == key).ok_or(AudioError::NotMember(key))?;
        let old = self.members[pos].1;
        if old != slots {
            self.wire(mixer, key, old, false);
            self.members[pos].1 = slots;
            self.wire(mixer, key, slots, true);
        }
        Ok(())
    }

    /// Whether `key` is a member.
    pub fn contains(&self, key: u64) -> bool {
        self.members.iter().any(|&(k, _)| k == key)
    }

    /// The members with their slots, in the order they were added.
    pub fn members(&self) -> impl Iterator<Item = (u64, PortSlots)> + '_ {
        self.members.iter().copied()
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the bridge has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Disconnects every member and gives the bridge's slots back to the
    /// mixer (the original's `stop`). Closing twice does nothing.
    pub fn close(&mut self, mixer: &mut AudioMixer) -> Result<(), AudioError> {
        if mixer.id() != self.mixer_id {
            return Err(AudioError::WrongMixer);
        }
        if self.closed {
            return Ok(());
        }
        while let Some(&(key, _)) = self.members.last() {
            self.remove(mixer, key)?;
        }
        // Removing the slots also drops connections made to them from outside.
        let _ = mixer.remove_slot(self.demultiplexer);
        let _ = mixer.remove_slot(self.multiplexer);
        self.closed = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::audio::analysis::tone_amplitude;
    use crate::audio::device::BufferPort;
    use crate::audio::mixer::{lock, shared, tests::tone_port};

    const RATE: u32 = 16000;

    /// Ticks `n` times and returns what each port heard.
    fn run(m: &mut AudioMixer, ports: &[&Arc<Mutex<BufferPort>>], n: usize) -> Vec<Vec<i16>> {
        for p in ports {
            lock(p).take_received();
        }
        for _ in 0..n {
            m.tick();
        }
        ports.iter().map(|p| lock(p).take_received()).collect()
    }

    /// The level of each frequency in a signal, as a fraction of the tone amplitude 8000.
    fn levels(heard: &[i16], freqs: &[f64]) -> Vec<f64> {
        freqs.iter().map(|&f| tone_amplitude(heard, RATE, f) / 8000.0).collect()
    }

    #[test]
    fn mesh_each_hears_the_others_not_itself() {
        let mut m = AudioMixer::new(RATE).unwrap();
        let freqs = [400.0, 700.0, 1100.0];
        let ports: Vec<_> = freqs.iter().map(|&f| tone_port(f, RATE, 2)).collect();
        let mut bridge = AudioBridge::new(&mut m);
        for (i, p) in ports.iter().enumerate() {
            let slot = m.add_port(p.clone());
            bridge.add(&mut m, i as u64, PortSlots::both(slot)).unwrap();
        }
        // A member added twice is still one member with one set of connections.
        bridge.add(&mut m, 0, PortSlots::both(2)).unwrap();
        assert_eq!(bridge.len(), 3);
        let heard = run(&mut m, &ports.iter().collect::<Vec<_>>(), 25);
        for (i, h) in heard.iter().enumerate() {
            assert_eq!(h.len(), 25 * 320);
            let l = levels(h, &freqs);
            for (j, level) in l.iter().enumerate() {
                if i == j {
                    assert!(*level < 0.001, "port {i} hears itself: {l:?}");
                } else {
                    assert!((level - 1.0).abs() < 0.01, "port {i} does not hear port {j}: {l:?}");
                }
            }
        }
        // Remove B: A hears only C; B hears nothing at all (no connections).
        bridge.remove(&mut m, 1).unwrap();
        assert!(matches!(bridge.remove(&mut m, 1), Err(AudioError::NotMember(1))));
        let heard = run(&mut m, &ports.iter().collect::<Vec<_>>(), 10);
        let l = levels(&heard[0], &freqs);
        assert!(l[1] < 0.001 && (l[2] - 1.0).abs() < 0.01, "{l:?}");
        assert!(heard[1].is_empty());
        bridge.close(&mut m).unwrap();
        assert!(m.connected_slots().is_empty());
        assert_eq!(m.used_slot_count(), 3);
        assert!(bridge.add(&mut m, 9, PortSlots::NONE).is_err());
        assert_eq!(bridge.slots(), PortSlots::NONE);
    }

    #[test]
    fn one_way_members_and_slot_changes() {
        let mut m = AudioMixer::new(RATE).unwrap();
        let player = tone_port(500.0, RATE, 2);
        let recorder = shared(BufferPort::new(usize::MAX));
        let device = tone_port(900.0, RATE, 2);
        let p = m.add_port(player.clone());
        let r = m.add_port(recorder.clone());
        let d = m.add_port(device.clone());
        let mut bridge = AudioBridge::new(&mut m);
        // The recorder joins before it has a slot (not started yet).
        bridge.add(&mut m, 1, PortSlots::NONE).unwrap();
        bridge.add(&mut m, 2, PortSlots::producer(p)).unwrap();
        bridge.add(&mut m, 3, PortSlots::both(d)).unwrap();
        let heard = run(&mut m, &[&recorder, &device], 10);
        assert!(heard[0].is_empty(), "no slot, no audio");
        assert!((levels(&heard[1], &[500.0])[0] - 1.0).abs() < 0.01);
        // The recorder starts: its consumer slot appears.
        bridge.update(&mut m, 1, PortSlots::consumer(r)).unwrap();
        let heard = run(&mut m, &[&recorder, &player], 10);
        let l = levels(&heard[0], &[500.0, 900.0]);
        assert!((l[0] - 1.0).abs() < 0.01 && (l[1] - 1.0).abs() < 0.01, "{l:?}");
        assert!(heard[1].is_empty(), "a player consumes nothing");
        // The device is input-muted: no producer slot any more.
        bridge.update(&mut m, 3, PortSlots::consumer(d)).unwrap();
        let l = levels(&run(&mut m, &[&recorder], 10)[0], &[500.0, 900.0]);
        assert!((l[0] - 1.0).abs() < 0.01 && l[1] < 0.001, "{l:?}");
        assert!(matches!(bridge.update(&mut m, 7, PortSlots::NONE), Err(AudioError::NotMember(7))));
        // The player's slot goes away (its owner dropped it): the rest carries on.
        m.remove_slot(p).unwrap();
        let l = levels(&run(&mut m, &[&recorder], 10)[0], &[500.0]);
        assert!(l[0] < 0.001);
        bridge.remove(&mut m, 2).unwrap();
        bridge.add(&mut m, 4, PortSlots::producer(p)).unwrap();
        bridge.close(&mut m).unwrap();
        assert!(m.connected_slots().is_empty());
    }

    #[test]
    fn nested_bridges_form_one_mesh_like_a_conference() {
        // The AudioConference shape: a root bridge holding the local device
        // and one bridge per stream; each stream's bridge holds the stream
        // (and could hold a player or a recorder).
        let mut m = AudioMixer::new(RATE).unwrap();
        let freqs = [300.0, 600.0, 1000.0, 1500.0];
        let device = tone_port(freqs[0], RATE, 2);
        let streams: Vec<_> = freqs[1..].iter().map(|&f| tone_port(f, RATE, 2)).collect();
        let recorder = shared(BufferPort::new(usize::MAX));
        let mut root = AudioBridge::new(&mut m);
        let dev_slot = m.add_port(device.clone());
        root.add(&mut m, 100, PortSlots::both(dev_slot)).unwrap();
        let mut stream_bridges = Vec::new();
        for (i, s) in streams.iter().enumerate() {
            let slot = m.add_port(s.clone());
            let mut b = AudioBridge::new(&mut m);
            b.add(&mut m, i as u64, PortSlots::both(slot)).unwrap();
            root.add(&mut m, 200 + i as u64, b.slots()).unwrap();
            stream_bridges.push(b);
        }
        // A recorder in stream 0's bridge hears stream 0 and everyone else.
        let rec_slot = m.add_port(recorder.clone());
        stream_bridges[0].add(&mut m, 50, PortSlots::consumer(rec_slot)).unwrap();

        let all: Vec<&Arc<Mutex<BufferPort>>> = std::iter::once(&device).chain(streams.iter()).collect();
        let mut heard = run(&mut m, &[all.as_slice(), &[&recorder]].concat(), 25);
        let rec = heard.pop().unwrap();
        for (i, h) in heard.iter().enumerate() {
            assert_eq!(h.len(), 25 * 320, "no delay, no missing frames");
            let l = levels(h, &freqs);
            for (j, level) in l.iter().enumerate() {
                if i == j {
                    assert!(*level < 0.001, "{i} hears itself: {l:?}");
                } else {
                    assert!((level - 1.0).abs() < 0.01, "{i} does not hear {j}: {l:?}");
                }
            }
        }
        let l = levels(&rec, &freqs);
        assert!(l.iter().all(|level| (level - 1.0).abs() < 0.01), "recorder: {l:?}");

        // Hold: the device leaves the root; streams keep hearing each other.
        root.remove(&mut m, 100).unwrap();
        let heard = run(&mut m, &all, 10);
        assert!(heard[0].is_empty());
        let l = levels(&heard[1], &freqs);
        assert!(l[0] < 0.001 && (l[2] - 1.0).abs() < 0.01, "{l:?}");

        // A bridge of another mixer is refused.
        let mut other = AudioMixer::new(RATE).unwrap();
        assert!(matches!(root.add(&mut other, 1, PortSlots::NONE), Err(AudioError::WrongMixer)));
        for mut b in stream_bridges {
            b.close(&mut m).unwrap();
        }
        root.close(&mut m).unwrap();
        root.close(&mut m).unwrap();
        assert!(m.connected_slots().is_empty());
    }
}
