//! Transaction timers: their RFC names, their durations and the per-machine
//! deadline table.

use std::time::{Duration, Instant};

/// The timers of the four transaction machines, named as in RFC 3261 §17
/// (A–K, Table 4) and RFC 6026 (L, M).
///
/// Every machine arms only its own timers; a machine handed a timeout for a
/// timer it has not armed, or too early, ignores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Client INVITE, unreliable transports: retransmit the INVITE. Starts
    /// at T1 and doubles on every firing without a cap; Timer B ends it.
    A,
    /// Client INVITE: no response in the Calling state for 64·T1; the
    /// transaction times out (the TU treats it as a 408).
    B,
    /// Client INVITE: how long the Completed state absorbs retransmitted
    /// final responses (re-sending the ACK). 32 s on unreliable transports,
    /// zero on reliable ones.
    D,
    /// Client non-INVITE, unreliable transports: retransmit the request.
    /// Starts at T1, doubles up to T2 (and stays at T2 once a provisional
    /// response arrived).
    E,
    /// Client non-INVITE: no final response for 64·T1; the transaction
    /// times out (the TU treats it as a 408).
    F,
    /// Server INVITE, unreliable transports: retransmit the non-2xx final
    /// response. Starts at T1, doubles up to T2.
    G,
    /// Server INVITE: no ACK for the non-2xx final response for 64·T1; the
    /// TU is told of the failure.
    H,
    /// Server INVITE: how long the Confirmed state absorbs ACK
    /// retransmissions. T4 on unreliable transports, zero on reliable ones.
    I,
    /// Server non-INVITE: how long the Completed state answers request
    /// retransmissions. 64·T1 on unreliable transports, zero on reliable ones.
    J,
    /// Client non-INVITE: how long the Completed state absorbs response
    /// retransmissions. T4 on unreliable transports, zero on reliable ones.
    K,
    /// Server INVITE (RFC 6026): how long the Accepted state lasts after a
    /// 2xx, absorbing INVITE retransmissions and passing ACKs to the TU. 64·T1.
    L,
    /// Client INVITE (RFC 6026): how long the Accepted state lasts after the
    /// first 2xx, passing further 2xx responses to the TU. 64·T1.
    M,
    /// Server INVITE (RFC 3261 §17.2.1): send a 100 Trying if the TU has not
    /// sent a response within [`TimerConfig::trying_delay`]. Not named by the RFC.
    Trying,
}

impl Timer {
    /// Every timer, in the order used to fire timers that expire together.
    pub const ALL: [Timer; 13] = [
        Timer::A,
        Timer::B,
        Timer::D,
        Timer::E,
        Timer::F,
        Timer::G,
        Timer::H,
        Timer::I,
        Timer::J,
        Timer::K,
        Timer::L,
        Timer::M,
        Timer::Trying,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Timer values for transactions (RFC 3261 §17.1.1.1 and Table 4).
///
/// Owned by whoever creates the transactions (normally the transaction
/// layer); machines copy it when they are created, so a change applies to
/// new transactions only. Durations shorter than one millisecond are raised
/// to one millisecond so a retransmission timer can never spin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerConfig {
    /// Round-trip time estimate; the first retransmission interval.
    /// Default 500 ms.
    pub t1: Duration,
    /// Maximum retransmission interval for non-INVITE requests and INVITE
    /// responses. Default 4 s.
    pub t2: Duration,
    /// Maximum time a message stays in the network. Default 5 s.
    pub t4: Duration,
    /// Timer D on unreliable transports (RFC 3261: at least 32 s). Default 32 s.
    pub timer_d: Duration,
    /// Delay after which a server INVITE transaction sends 100 Trying on its
    /// own if the TU has sent no response yet. Default 200 ms, as RFC 3261
    /// §17.2.1 suggests; `Some(Duration::ZERO)` sends it at once, `None`
    /// never (the TU then sends its own provisional responses).
    pub trying_delay: Option<Duration>,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig::new()
    }
}

const MIN_DURATION: Duration = Duration::from_millis(1);

impl TimerConfig {
    /// The RFC 3261 defaults: T1 500 ms, T2 4 s, T4 5 s, Timer D 32 s,
    /// 100 Trying after 200 ms.
    pub const fn new() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            trying_delay: Some(Duration::from_millis(200)),
        }
    }

    /// 64·T1: Timers B, F, H, L, M, and J on unreliable transports.
    pub fn transaction_timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// A copy with every duration at least one millisecond.
    pub(crate) fn sanitized(&self) -> TimerConfig {
        TimerConfig {
            t1: self.t1.max(MIN_DURATION),
            t2: self.t2.max(MIN_DURATION),
            t4: self.t4.max(MIN_DURATION),
            timer_d: self.timer_d,
            trying_delay: self.trying_delay,
        }
    }
}

/// One optional deadline per [`Timer`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Timers {
    deadlines: [Option<Instant>; Timer::ALL.len()],
}

impl Timers {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.index()] = None;
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadlines = Default::default();
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.index()]
    }

    /// The earliest armed deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Disarms and returns the timer with the earliest deadline at or before
    /// `now` (ties go to the first in [`Timer::ALL`]).
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let mut best: Option<(Instant, Timer)> = None;
        for timer in Timer::ALL {
            if let Some(at) = self.get(timer)
                && at <= now
                && best.is_none_or(|(b, _)| at < b)
            {
                best = Some((at, timer));
            }
        }
        let (_, timer) = best?;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_rfc_3261() {
        let config = TimerConfig::default();
        assert_eq!(config.t1, Duration::from_millis(500));
        assert_eq!(config.t2, Duration::from_secs(4));
        assert_eq!(config.t4, Duration::from_secs(5));
        assert_eq!(config.transaction_timeout(), Duration::from_secs(32));
        assert_eq!(config.trying_delay, Some(Duration::from_millis(200)));
    }

    #[test]
    fn sanitized_raises_zero_durations() {
        let config = TimerConfig { t1: Duration::ZERO, t2: Duration::ZERO, t4: Duration::ZERO, ..TimerConfig::new() };
        let clean = config.sanitized();
        assert_eq!(clean.t1, MIN_DURATION);
        assert_eq!(clean.t2, MIN_DURATION);
        assert_eq!(clean.t4, MIN_DURATION);
    }

    #[test]
    fn pop_expired_returns_earliest_first_and_disarms() {
        let start = Instant::now();
        let mut timers = Timers::default();
        timers.set(Timer::B, start + Duration::from_secs(32));
        timers.set(Timer::A, start + Duration::from_millis(500));
        assert_eq!(timers.next_deadline(), Some(start + Duration::from_millis(500)));
        assert_eq!(timers.pop_expired(start), None);
        let late = start + Duration::from_secs(40);
        assert_eq!(timers.pop_expired(late), Some(Timer::A));
        assert_eq!(timers.pop_expired(late), Some(Timer::B));
        assert_eq!(timers.pop_expired(late), None);
        assert_eq!(timers.next_deadline(), None);
    }
}
