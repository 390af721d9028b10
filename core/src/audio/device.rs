//! Simple ports: [`NullDevice`] (the device of a machine without a sound
//! card) and [`BufferPort`] (audio in and out of plain sample queues).

use std::collections::VecDeque;

use super::mixer::AudioPort;

/// A sound device that is not there: it produces silence and discards what
/// it is given. It counts frames, so a test can see the mixer running.
#[derive(Debug, Default)]
pub struct NullDevice {
    frames_produced: u64,
    frames_consumed: u64,
}

impl NullDevice {
    /// A new null device.
    pub fn new() -> Self {
        Self::default()
    }

    /// Frames asked of it (one per tick).
    pub fn frames_produced(&self) -> u64 {
        self.frames_produced
    }

    /// Frames given to it (one per tick while something is connected to it).
    pub fn frames_consumed(&self) -> u64 {
        self.frames_consumed
    }
}

impl AudioPort for NullDevice {
    fn get_frame(&mut self, _frame: &mut [i16]) -> bool {
        self.frames_produced += 1;
        false
    }

    fn put_frame(&mut self, _frame: &[i16]) {
        self.frames_consumed += 1;
    }
}

/// A port over two sample queues: it plays what is [`push`](Self::push)ed
/// (silence when the queue runs dry) and keeps what it receives, up to a
/// limit, for [`take_received`](Self::take_received). Useful to feed a mixer
/// from code (decoded RTP, a test signal) and to capture its output.
#[derive(Debug)]
pub struct BufferPort {
    outgoing: VecDeque<i16>,
    received: Vec<i16>,
    max_received: usize,
    dropped: u64,
}

impl BufferPort {
    /// A port keeping at most `max_received` received samples (the oldest
    /// are dropped first).
    pub fn new(max_received: usize) -> Self {
        BufferPort { outgoing: VecDeque::new(), received: Vec::new(), max_received, dropped: 0 }
    }

    /// Queues samples to play.
    pub fn push(&mut self, samples: &[i16]) {
        self.outgoing.extend(samples);
    }

    /// Samples queued and not yet played.
    pub fn queued(&self) -> usize {
        self.outgoing.len()
    }

    /// Drops the queued samples.
    pub fn clear(&mut self) {
        self.outgoing.clear();
    }

    /// What the port received so far.
    pub fn received(&self) -> &[i16] {
        &self.received
    }

    /// Takes what the port received so far.
    pub fn take_received(&mut self) -> Vec<i16> {
        std::mem::take(&mut self.received)
    }

    /// Received samples dropped because of the limit.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

impl AudioPort for BufferPort {
    fn get_frame(&mut self, frame: &mut [i16]) -> bool {
        if self.outgoing.is_empty() {
            return false;
        }
        for s in frame.iter_mut() {
            match self.outgoing.pop_front() {
                Some(v) => *s = v,
                None => break,
            }
        }
        true
    }

    fn put_frame(&mut self, frame: &[i16]) {
        self.received.extend_from_slice(frame);
        if self.received.len() > self.max_received {
            let excess = self.received.len() - self.max_received;
            self.received.drain(..excess);
            self.dropped += excess as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::mixer::{AudioMixer, lock, shared};

    #[test]
    fn null_device_is_silent_and_counts() {
        let mut m = AudioMixer::new(8000).unwrap();
        let dev = shared(NullDevice::new());
        let src = shared(BufferPort::new(16));
        lock(&src).push(&[1000; 500]);
        let d = m.add_port(dev.clone());
        let s = m.add_port(src.clone());
        m.connect_slots(s, d).unwrap();
        m.connect_slots(d, s).unwrap();
        for _ in 0..5 {
            m.tick();
        }
        assert_eq!(lock(&dev).frames_produced(), 5);
        assert_eq!(lock(&dev).frames_consumed(), 5);
        // The device's "input" is silence.
        let src = lock(&src);
        assert_eq!(src.received(), &[0; 16]);
        assert_eq!(src.dropped(), 5 * 160 - 16);
        assert_eq!(src.queued(), 0);
    }

    #[test]
    fn buffer_port_pads_a_partial_frame() {
        let mut p = BufferPort::new(10);
        let mut frame = [0i16; 4];
        assert!(!p.get_frame(&mut frame));
        p.push(&[1, 2]);
        assert!(p.get_frame(&mut frame));
        assert_eq!(frame, [1, 2, 0, 0]);
        p.push(&[5]);
        p.clear();
        assert!(!p.get_frame(&mut frame));
    }
}
