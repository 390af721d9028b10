//! One RTP/RTCP session per media stream (RFC 3550), sans-IO.
//!
//! [`RtpSession`] owns the outgoing side (our random SSRC, sequence numbers,
//! timestamps, the marker bit at talkspurt starts), the reception statistics
//! of the remote source (RFC 3550 A.1 sequence tracking, A.3 loss, A.8
//! jitter), RTCP (sender or receiver reports with SDES CNAME every ~5 s,
//! BYE on close), optional SRTP ([`SrtpSession`]) and symmetric RTP
//! latching.
//!
//! Driving it: feed datagrams with [`RtpSession::handle_rtp`] /
//! [`RtpSession::handle_rtcp`] (or [`RtpSession::handle_datagram`] with
//! rtcp-mux), frames with [`RtpSession::send_frame`], and call
//! [`RtpSession::handle_timeout`] when [`RtpSession::poll_timeout`] says.
//! After each call drain [`RtpSession::poll_transmit`] (datagrams to send)
//! and [`RtpSession::poll_event`] (received media and state changes). `now`
//! must never go backwards. The session never touches a socket or a clock;
//! all calls return at once. It is `Send`: the owner (the AudioStream's task)
//! may move it between threads but calls it from one at a time.
//!
//! Latching (symmetric RTP): packets go to the address from the SDP until the
//! first valid RTP packet arrives; from then on they go to the address that
//! packet came from ([`RtpEvent::Latched`]). Later, a valid packet from
//! another address is accepted (and the session re-latches there, e.g. after
//! a NAT rebinding) only if it carries the SSRC we latched on; packets from
//! other addresses with other SSRCs are dropped and counted in
//! [`RtpStatistics::packets_discarded`]. "Valid" means: it passed SRTP
//! authentication when SRTP is on, parsed as RTP version 2, and has one of
//! the negotiated payload types (when those were given). Until RTCP itself
//! arrives, RTCP goes to the SDP's RTCP address, or after latching to the
//! latched address with port + 1 (as PJSIP does), or to the RTP address with
//! rtcp-mux; RTCP latches the same way as RTP.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rtc_rtcp::goodbye::Goodbye;
use rtc_rtcp::packet::Packet as RtcpPacket;
use rtc_rtcp::receiver_report::ReceiverReport;
use rtc_rtcp::reception_report::ReceptionReport;
use rtc_rtcp::sender_report::SenderReport;
use rtc_rtcp::source_description::{SdesType, SourceDescription, SourceDescriptionChunk, SourceDescriptionItem};
use rtc_shared::marshal::{Marshal, Unmarshal};

use super::jitter::JitterPacket;
use super::srtp::{SrtpError, SrtpSession};

/// Default RTCP report interval (RFC 3550 §6.2 minimum).
pub const DEFAULT_RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// RFC 3550 A.1: largest forward jump still counted as in sequence.
const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 A.1: largest backward jump counted as reordering.
const MAX_MISORDER: u16 = 100;
/// Seconds from 1900 (NTP) to 1970 (Unix).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// Errors of [`RtpSession`] calls.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtpError {
    /// The session was closed.
    #[error("the RTP session is closed")]
    Closed,
    /// A payload type above 127.
    #[error("invalid payload type {0}")]
    InvalidPayloadType(u8),
    /// Encoding the packet failed.
    #[error("cannot build the packet: {0}")]
    Encode(String),
    /// SRTP refused to protect the packet.
    #[error(transparent)]
    Srtp(#[from] SrtpError),
}

/// The settings of one [`RtpSession`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpConfig {
    /// RTP clock rate of the negotiated audio codec (8000 for G.711 and
    /// G.722, 48000 for Opus).
    pub clock_rate: u32,
    /// Remote RTP address from the SDP (`c=` and `m=` port).
    pub remote_rtp: SocketAddr,
    /// Remote RTCP address from the SDP (`a=rtcp`); `None` means RTP port + 1,
    /// or the RTP address itself with rtcp-mux.
    pub remote_rtcp: Option<SocketAddr>,
    /// RTCP multiplexed on the RTP port (RFC 5761).
    pub rtcp_mux: bool,
    /// Our SDES CNAME.
    pub cname: String,
    /// Mean RTCP report interval (randomised between 0.5 and 1.5 times it;
    /// the first report comes after half of that).
    pub rtcp_interval: Duration,
    /// Report [`RtpEvent::Timeout`] when no RTP arrived for this long
    /// (the account's `rtp.timeout`); `None` disables it.
    pub rtp_timeout: Option<Duration>,
    /// Our SSRC; random when `None`.
    pub ssrc: Option<u32>,
    /// Payload types accepted from the peer (the negotiated ones); empty
    /// accepts all.
    pub payload_types: Vec<u8>,
    /// The `telephone-event` payload type: its packets are left out of the
    /// jitter estimate (they repeat one timestamp).
    pub event_payload_type: Option<u8>,
    /// Seed of the session's random numbers (SSRC, first sequence number and
    /// timestamp, RTCP intervals), for reproducible tests; `None` seeds from
    /// the operating system.
    pub seed: Option<u64>,
}

impl RtpConfig {
    /// A configuration with the defaults: RTCP every 5 s, no timeout, random
    /// SSRC, all payload types accepted.
    pub fn new(clock_rate: u32, remote_rtp: SocketAddr, cname: impl Into<String>) -> RtpConfig {
        RtpConfig {
            clock_rate,
            remote_rtp,
            remote_rtcp: None,
            rtcp_mux: false,
            cname: cname.into(),
            rtcp_interval: DEFAULT_RTCP_INTERVAL,
            rtp_timeout: None,
            ssrc: None,
            payload_types: Vec::new(),
            event_payload_type: None,
            seed: None,
        }
    }
}

/// Which kind of packet a [`Transmit`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// RTP (or SRTP).
    Rtp,
    /// RTCP (or SRTCP).
    Rtcp,
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: SocketAddr,
    /// What it is.
    pub kind: PacketKind,
    /// Which local socket sends it: [`PacketKind::Rtp`] for RTP and, with
    /// rtcp-mux, for RTCP too.
    pub socket: PacketKind,
    /// The bytes.
    pub contents: Vec<u8>,
}

/// A received (and, with SRTP, authenticated and decrypted) RTP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPacket {
    /// Where it came from.
    pub source: SocketAddr,
    /// Payload type.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence_number: u16,
    /// Timestamp.
    pub timestamp: u32,
    /// SSRC.
    pub ssrc: u32,
    /// Marker bit.
    pub marker: bool,
    /// The payload (without padding).
    pub payload: Vec<u8>,
}

impl From<ReceivedPacket> for JitterPacket {
    fn from(packet: ReceivedPacket) -> JitterPacket {
        JitterPacket {
            sequence_number: packet.sequence_number,
            timestamp: packet.timestamp,
            ssrc: packet.ssrc,
            marker: packet.marker,
            payload_type: packet.payload_type,
            payload: packet.payload,
        }
    }
}

/// What the session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtpEvent {
    /// A media packet to hand to the jitter buffer (or to the DTMF receiver
    /// for `telephone-event`).
    Packet(ReceivedPacket),
    /// RTP now goes to this address: the first valid packet came from it, or
    /// the latched source moved there.
    Latched(SocketAddr),
    /// The remote source said goodbye (RTCP BYE).
    Bye {
        /// The SSRC that left.
        ssrc: u32,
    },
    /// No RTP arrived for [`RtpConfig::rtp_timeout`]. Reported once until
    /// RTP flows again.
    Timeout,
}

/// Counters and estimates for the stream's `statistics`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RtpStatistics {
    /// RTP packets sent.
    pub packets_sent: u64,
    /// RTP payload bytes sent.
    pub bytes_sent: u64,
    /// RTP packets received and accepted.
    pub packets_received: u64,
    /// RTP payload bytes received and accepted.
    pub bytes_received: u64,
    /// Packets from the remote source lost so far (RFC 3550 A.3: expected
    /// minus received, at least 0).
    pub packets_lost: u64,
    /// Fraction lost in the last report interval, in 1/256.
    pub fraction_lost: u8,
    /// Interarrival jitter (RFC 3550 A.8).
    pub jitter: Duration,
    /// Extended highest sequence number received.
    pub highest_sequence: u32,
    /// Packets dropped: from an unexpected address or SSRC, an unexpected
    /// payload type, or out of sequence per RFC 3550 A.1.
    pub packets_discarded: u64,
    /// Datagrams that did not parse as RTP/RTCP.
    pub malformed: u64,
    /// SRTP/SRTCP packets that failed authentication or replay checks.
    pub srtp_failures: u64,
    /// Round-trip time from the peer's last report about us.
    pub rtt: Option<Duration>,
    /// What the peer last reported about our stream: fraction lost (1/256).
    pub remote_fraction_lost: Option<u8>,
    /// What the peer last reported about our stream: cumulative loss.
    pub remote_packets_lost: Option<u32>,
    /// What the peer last reported about our stream: jitter.
    pub remote_jitter: Option<Duration>,
    /// RTCP sender reports sent.
    pub sender_reports_sent: u64,
    /// RTCP receiver reports sent.
    pub receiver_reports_sent: u64,
    /// RTCP compound packets received and accepted.
    pub rtcp_received: u64,
}

/// Reception state of the remote source (RFC 3550 A.1, A.3, A.8).
#[derive(Debug, Clone)]
struct Source {
    ssrc: u32,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    transit: Option<i64>,
    /// Jitter in timestamp units, as a float (RFC 3550 keeps it scaled).
    jitter: f64,
    /// Middle 32 bits of the NTP time of the last SR, and when it came.
    last_sr: Option<(u32, Instant)>,
    /// Received anything since our last report.
    heard: bool,
}

impl Source {
    fn new(ssrc: u32, seq: u16) -> Source {
        let mut source = Source {
            ssrc,
            max_seq: seq,
            cycles: 0,
            base_seq: 0,
            bad_seq: 1 << 16 | 1,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter: 0.0,
            last_sr: None,
            heard: false,
        };
        source.init_seq(seq);
        source
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = (1 << 16) + 1; // never equal to a 16-bit seq + 1 below 65535
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// RFC 3550 A.1 `update_seq`: false if the packet is out of sequence.
    fn update_seq(&mut self, seq: u16) -> bool {
        let udelta = seq.wrapping_sub(self.max_seq);
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(1 << 16);
            }
            self.max_seq = seq;
        } else if udelta <= u16::MAX - MAX_MISORDER {
            // A very large jump: accept it only if the next packet follows it.
            if u32::from(seq) == self.bad_seq {
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & 0xffff;
                return false;
            }
        }
        // Otherwise a duplicate or reordered packet.
        self.received += 1;
        true
    }

    fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    fn expected(&self) -> u64 {
        u64::from(self.extended_max().wrapping_sub(self.base_seq)) + 1
    }

    fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// RFC 3550 A.8, with `arrival` in timestamp units.
    fn update_jitter(&mut self, arrival: u32, timestamp: u32) {
        let transit = i64::from(arrival.wrapping_sub(timestamp) as i32);
        if let Some(previous) = self.transit {
            let d = (transit - previous).abs() as f64;
            // A jump of more than ~10 s is a clock change, not jitter.
            if d < 1e6 {
                self.jitter += (d - self.jitter) / 16.0;
            }
        }
        self.transit = Some(transit);
    }

    /// A reception report block; moves the interval counters (A.3).
    fn report(&mut self, now: Instant) -> ReceptionReport {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (last_sender_report, delay) = match self.last_sr {
            Some((lsr, at)) => {
                let dlsr = now.saturating_duration_since(at).as_secs_f64() * 65536.0;
                (lsr, dlsr.min(f64::from(u32::MAX)) as u32)
            }
            None => (0, 0),
        };
        self.heard = false;
        ReceptionReport {
            ssrc: self.ssrc,
            fraction_lost,
            total_lost: self.lost().clamp(0, 0x7f_ffff) as u32,
            last_sequence_number: self.extended_max(),
            jitter: self.jitter as u32,
            last_sender_report,
            delay,
        }
    }
}

/// One RTP/RTCP session. See the module documentation.
pub struct RtpSession {
    config: RtpConfig,
    rng: StdRng,
    ssrc: u32,
    srtp: Option<SrtpSession>,
    closed: bool,
    // Sending.
    next_seq: u16,
    next_timestamp: u32,
    marker_pending: bool,
    /// The media clock: (when, RTP timestamp then), from the last frame sent.
    clock_anchor: Option<(Instant, u32)>,
    sent_since_report: bool,
    octets_sent: u64,
    // Addresses.
    rtp_destination: SocketAddr,
    rtcp_destination: SocketAddr,
    rtp_latched: Option<SocketAddr>,
    rtcp_latched: Option<SocketAddr>,
    // Receiving.
    source: Option<Source>,
    /// (Instant, wallclock) pair the NTP times derive from.
    epoch: (Instant, SystemTime),
    last_rtp_at: Instant,
    timed_out: bool,
    // RTCP.
    next_report: Instant,
    stats: RtpStatistics,
    transmits: VecDeque<Transmit>,
    events: VecDeque<RtpEvent>,
}

impl std::fmt::Debug for RtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpSession")
            .field("ssrc", &self.ssrc)
            .field("rtp_destination", &self.rtp_destination)
            .field("srtp", &self.srtp.is_some())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

fn rtcp_address(rtp: SocketAddr, rtcp: Option<SocketAddr>, mux: bool) -> SocketAddr {
    if mux {
        return rtp;
    }
    rtcp.unwrap_or_else(|| SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1)))
}

impl RtpSession {
    /// A session starting at `now`; `wallclock` is the system time at `now`
    /// (for the NTP timestamps of sender reports).
    pub fn new(config: RtpConfig, now: Instant, wallclock: SystemTime) -> RtpSession {
        let mut rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_rng(&mut rand::rng()),
        };
        let ssrc = config.ssrc.unwrap_or_else(|| rng.random());
        // Below 2^15, so that the first rollover is at least 32768 packets away.
        let next_seq = rng.random_range(0..0x8000);
        let next_timestamp = rng.random();
        let first_report = now + config.rtcp_interval.mul_f64(rng.random_range(0.5..1.5) / 2.0);
        let rtp_destination = config.remote_rtp;
        let rtcp_destination = rtcp_address(config.remote_rtp, config.remote_rtcp, config.rtcp_mux);
        RtpSession {
            config,
            rng,
            ssrc,
            srtp: None,
            closed: false,
            next_seq,
            next_timestamp,
            marker_pending: true,
            clock_anchor: None,
            sent_since_report: false,
            octets_sent: 0,
            rtp_destination,
            rtcp_destination,
            rtp_latched: None,
            rtcp_latched: None,
            source: None,
            epoch: (now, wallclock),
            last_rtp_at: now,
            timed_out: false,
            next_report: first_report,
            stats: RtpStatistics::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The configuration in use.
    pub fn config(&self) -> &RtpConfig {
        &self.config
    }

    /// Turns SRTP on (with the contexts from the SDES exchange) or off.
    pub fn set_srtp(&mut self, srtp: Option<SrtpSession>) {
        self.srtp = srtp;
    }

    /// True when SRTP protects the stream.
    pub fn srtp_active(&self) -> bool {
        self.srtp.is_some()
    }

    /// New remote addresses from a new SDP (re-INVITE): sending goes there
    /// and latching starts over.
    pub fn set_remote(&mut self, remote_rtp: SocketAddr, remote_rtcp: Option<SocketAddr>, rtcp_mux: bool) {
        self.config.remote_rtp = remote_rtp;
        self.config.remote_rtcp = remote_rtcp;
        self.config.rtcp_mux = rtcp_mux;
        self.rtp_destination = remote_rtp;
        self.rtcp_destination = rtcp_address(remote_rtp, remote_rtcp, rtcp_mux);
        self.rtp_latched = None;
        self.rtcp_latched = None;
    }

    /// A new clock rate (codec change): the jitter estimate starts over.
    pub fn set_clock_rate(&mut self, clock_rate: u32) {
        self.config.clock_rate = clock_rate;
        if let Some(source) = &mut self.source {
            source.transit = None;
            source.jitter = 0.0;
        }
    }

    /// The payload types accepted from the peer (empty: all).
    pub fn set_payload_types(&mut self, payload_types: Vec<u8>, event_payload_type: Option<u8>) {
        self.config.payload_types = payload_types;
        self.config.event_payload_type = event_payload_type;
    }

    /// Changes the RTP timeout (`None` while on hold, for example); the
    /// time counts from `now`.
    pub fn set_rtp_timeout(&mut self, now: Instant, timeout: Option<Duration>) {
        self.config.rtp_timeout = timeout;
        self.last_rtp_at = now;
        self.timed_out = false;
    }

    /// Where RTP goes now (the SDP address until latching).
    pub fn rtp_destination(&self) -> SocketAddr {
        self.rtp_destination
    }

    /// Where RTCP goes now.
    pub fn rtcp_destination(&self) -> SocketAddr {
        self.rtcp_destination
    }

    /// The address RTP was latched to (`remote_rtp_address_received`), if
    /// any valid packet arrived.
    pub fn remote_address_received(&self) -> Option<SocketAddr> {
        self.rtp_latched
    }

    /// The remote SSRC, once a packet arrived.
    pub fn remote_ssrc(&self) -> Option<u32> {
        self.source.as_ref().map(|source| source.ssrc)
    }

    /// The statistics so far.
    pub fn statistics(&self) -> RtpStatistics {
        let mut stats = self.stats;
        if let Some(source) = &self.source {
            stats.packets_lost = source.lost().max(0) as u64;
            stats.highest_sequence = source.extended_max();
            stats.jitter = self.units_to_duration(source.jitter);
        }
        stats
    }

    fn units_to_duration(&self, units: f64) -> Duration {
        Duration::from_secs_f64((units / f64::from(self.config.clock_rate.max(1))).clamp(0.0, 1e6))
    }

    /// The RTP timestamp the next frame will carry.
    pub fn next_timestamp(&self) -> u32 {
        self.next_timestamp
    }

    /// The sequence number the next packet will carry.
    pub fn next_sequence_number(&self) -> u16 {
        self.next_seq
    }

    /// Sends one audio frame of `samples` timestamp units (160 for 20 ms at
    /// 8 kHz). The marker bit is set on the first frame, after
    /// [`RtpSession::skip`], and when `talkspurt_start` says so.
    pub fn send_frame(
        &mut self,
        now: Instant,
        payload_type: u8,
        payload: &[u8],
        samples: u32,
        talkspurt_start: bool,
    ) -> Result<(), RtpError> {
        let marker = talkspurt_start || self.marker_pending;
        let timestamp = self.next_timestamp;
        self.send_packet(payload_type, payload, timestamp, marker)?;
        self.marker_pending = false;
        self.clock_anchor = Some((now, timestamp));
        self.next_timestamp = timestamp.wrapping_add(samples);
        Ok(())
    }

    /// Sends a packet with an explicit timestamp and marker, e.g. an RFC 4733
    /// event packet from [`super::dtmf::DtmfSender`]. The media clock does
    /// not move: call [`RtpSession::skip`] for the tick it replaced.
    pub fn send_event(
        &mut self,
        now: Instant,
        payload_type: u8,
        payload: &[u8],
        timestamp: u32,
        marker: bool,
    ) -> Result<(), RtpError> {
        self.send_packet(payload_type, payload, timestamp, marker)?;
        self.clock_anchor = Some((now, self.next_timestamp));
        Ok(())
    }

    /// Moves the media clock on by `samples` without sending (silence, hold,
    /// a tick used by an event); the next frame starts a talkspurt.
    pub fn skip(&mut self, samples: u32) {
        self.next_timestamp = self.next_timestamp.wrapping_add(samples);
        self.marker_pending = true;
    }

    fn send_packet(&mut self, payload_type: u8, payload: &[u8], timestamp: u32, marker: bool) -> Result<(), RtpError> {
        if self.closed {
            return Err(RtpError::Closed);
        }
        if payload_type > 127 {
            return Err(RtpError::InvalidPayloadType(payload_type));
        }
        let header = rtc_rtp::Header {
            version: 2,
            marker,
            payload_type,
            sequence_number: self.next_seq,
            timestamp,
            ssrc: self.ssrc,
            ..Default::default()
        };
        let packet = rtc_rtp::Packet { header, payload: payload.to_vec().into() };
        let plain = packet.marshal().map_err(|e| RtpError::Encode(e.to_string()))?;
        let contents = match &mut self.srtp {
            Some(srtp) => srtp.protect_rtp(&plain)?,
            None => plain.to_vec(),
        };
        self.next_seq = self.next_seq.wrapping_add(1);
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += payload.len() as u64;
        self.octets_sent += payload.len() as u64;
        self.sent_since_report = true;
        self.transmits.push_back(Transmit {
            destination: self.rtp_destination,
            kind: PacketKind::Rtp,
            socket: PacketKind::Rtp,
            contents,
        });
        Ok(())
    }

    /// A datagram on the RTP socket; with rtcp-mux it may be RTCP
    /// (RFC 5761 §4: second byte 192 to 223).
    pub fn handle_datagram(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) {
        if self.config.rtcp_mux && datagram.get(1).is_some_and(|b| (192..=223).contains(b)) {
            self.handle_rtcp(now, source, datagram);
        } else {
            self.handle_rtp(now, source, datagram);
        }
    }

    /// An RTP (or SRTP) datagram from `source`.
    pub fn handle_rtp(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) {
        if self.closed {
            return;
        }
        let plain = match &mut self.srtp {
            Some(srtp) => match srtp.unprotect_rtp(datagram) {
                Ok(plain) => plain,
                Err(error) => {
                    tracing::trace!(%source, %error, "SRTP packet dropped");
                    self.stats.srtp_failures += 1;
                    return;
                }
            },
            None => datagram.to_vec(),
        };
        let packet = match rtc_rtp::Packet::unmarshal(&mut plain.as_slice()) {
            Ok(packet) if packet.header.version == 2 => packet,
            _ => {
                self.stats.malformed += 1;
                return;
            }
        };
        let header = &packet.header;
        if !self.config.payload_types.is_empty() && !self.config.payload_types.contains(&header.payload_type) {
            self.stats.packets_discarded += 1;
            return;
        }
        // Latching.
        let known_ssrc = self.source.as_ref().map(|s| s.ssrc);
        match self.rtp_latched {
            Some(latched) if latched == source => {}
            Some(_) if known_ssrc != Some(header.ssrc) => {
                self.stats.packets_discarded += 1;
                return;
            }
            _ => self.latch_rtp(source),
        }
        // Reception statistics.
        let source_state = match &mut self.source {
            Some(state) if state.ssrc == header.ssrc => {
                if !state.update_seq(header.sequence_number) {
                    self.stats.packets_discarded += 1;
                    return;
                }
                state
            }
            _ => {
                let state = self.source.insert(Source::new(header.ssrc, header.sequence_number));
                state.received = 1;
                state
            }
        };
        source_state.heard = true;
        if self.config.event_payload_type != Some(header.payload_type) {
            let elapsed = now.saturating_duration_since(self.epoch.0);
            let arrival = (elapsed.as_secs_f64() * f64::from(self.config.clock_rate)) as u64 as u32;
            source_state.update_jitter(arrival, header.timestamp);
        }
        self.stats.packets_received += 1;
        self.stats.bytes_received += packet.payload.len() as u64;
        self.last_rtp_at = now;
        self.timed_out = false;
        self.events.push_back(RtpEvent::Packet(ReceivedPacket {
            source,
            payload_type: header.payload_type,
            sequence_number: header.sequence_number,
            timestamp: header.timestamp,
            ssrc: header.ssrc,
            marker: header.marker,
            payload: packet.payload.to_vec(),
        }));
    }

    fn latch_rtp(&mut self, source: SocketAddr) {
        self.rtp_latched = Some(source);
        self.rtp_destination = source;
        if self.rtcp_latched.is_none() {
            self.rtcp_destination = if self.config.rtcp_mux {
                source
            } else if source == self.config.remote_rtp {
                rtcp_address(self.config.remote_rtp, self.config.remote_rtcp, false)
            } else {
                SocketAddr::new(source.ip(), source.port().wrapping_add(1))
            };
        }
        tracing::debug!(%source, "RTP latched");
        self.events.push_back(RtpEvent::Latched(source));
    }

    /// An RTCP (or SRTCP) datagram from `source`.
    pub fn handle_rtcp(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) {
        if self.closed {
            return;
        }
        let plain = match &mut self.srtp {
            Some(srtp) => match srtp.unprotect_rtcp(datagram) {
                Ok(plain) => plain,
                Err(error) => {
                    tracing::trace!(%source, %error, "SRTCP packet dropped");
                    self.stats.srtp_failures += 1;
                    return;
                }
            },
            None => datagram.to_vec(),
        };
        let packets = match rtc_rtcp::packet::unmarshal(&mut plain.as_slice()) {
            Ok(packets) => packets,
            Err(_) => {
                self.stats.malformed += 1;
                return;
            }
        };
        // The sender's SSRC: the first packet of a compound is an SR or RR.
        let sender = packets.first().and_then(|p| {
            let any = p.as_any();
            any.downcast_ref::<SenderReport>()
                .map(|sr| sr.ssrc)
                .or_else(|| any.downcast_ref::<ReceiverReport>().map(|rr| rr.ssrc))
        });
        let remote_ssrc = self.source.as_ref().map(|s| s.ssrc);
        match self.rtcp_latched {
            Some(latched) if latched == source => {}
            Some(_) if sender.is_none() || sender != remote_ssrc => {
                self.stats.packets_discarded += 1;
                return;
            }
            _ => {
                self.rtcp_latched = Some(source);
                self.rtcp_destination = source;
            }
        }
        self.stats.rtcp_received += 1;
        for packet in &packets {
            let any = packet.as_any();
            if let Some(sr) = any.downcast_ref::<SenderReport>() {
                if let Some(state) = self.source.as_mut().filter(|s| s.ssrc == sr.ssrc) {
                    state.last_sr = Some(((sr.ntp_time >> 16) as u32, now));
                }
                self.handle_reports(now, &sr.reports);
            } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                self.handle_reports(now, &rr.reports);
            } else if let Some(bye) = any.downcast_ref::<Goodbye>() {
                for ssrc in &bye.sources {
                    if Some(*ssrc) == remote_ssrc {
                        self.events.push_back(RtpEvent::Bye { ssrc: *ssrc });
                    }
                }
            }
        }
    }

    fn handle_reports(&mut self, now: Instant, reports: &[ReceptionReport]) {
        let Some(report) = reports.iter().find(|r| r.ssrc == self.ssrc) else { return };
        self.stats.remote_fraction_lost = Some(report.fraction_lost);
        self.stats.remote_packets_lost = Some(report.total_lost);
        self.stats.remote_jitter = Some(self.units_to_duration(f64::from(report.jitter)));
        if report.last_sender_report != 0 {
            let arrival = (self.ntp_time(now) >> 16) as u32;
            let rtt = arrival.wrapping_sub(report.last_sender_report).wrapping_sub(report.delay);
            // Above 2^31/65536 s it went negative: clocks disagree, ignore.
            if rtt < 1 << 31 {
                self.stats.rtt = Some(Duration::from_secs_f64(f64::from(rtt) / 65536.0));
            }
        }
    }

    /// The NTP timestamp (RFC 3550 §4) of `now`.
    fn ntp_time(&self, now: Instant) -> u64 {
        let wall = self.epoch.1 + now.saturating_duration_since(self.epoch.0);
        let since_unix = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        let seconds = since_unix.as_secs().wrapping_add(NTP_UNIX_OFFSET);
        let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
        (seconds << 32) | fraction
    }

    /// When [`RtpSession::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let timeout = match (self.config.rtp_timeout, self.timed_out) {
            (Some(timeout), false) => Some(self.last_rtp_at + timeout),
            _ => None,
        };
        Some(timeout.map_or(self.next_report, |t| t.min(self.next_report)))
    }

    /// Timers: sends the RTCP report when due, reports the RTP timeout.
    /// Early or repeated calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        if now >= self.next_report {
            self.send_report(now, false);
            let factor = self.rng.random_range(0.5..1.5);
            self.next_report = now + self.config.rtcp_interval.mul_f64(factor);
        }
        if let Some(timeout) = self.config.rtp_timeout
            && !self.timed_out
            && now >= self.last_rtp_at + timeout
        {
            self.timed_out = true;
            self.events.push_back(RtpEvent::Timeout);
        }
    }

    /// Ends the session: a last report with BYE is queued, then nothing more
    /// is sent or accepted.
    pub fn close(&mut self, now: Instant) {
        if !self.closed {
            self.send_report(now, true);
            self.closed = true;
        }
    }

    /// True once [`RtpSession::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    fn send_report(&mut self, now: Instant, bye: bool) {
        let reports: Vec<ReceptionReport> = match &mut self.source {
            Some(source) if source.heard || bye => vec![source.report(now)],
            _ => Vec::new(),
        };
        if let Some(report) = reports.first() {
            self.stats.fraction_lost = report.fraction_lost;
        }
        let mut packets: Vec<Box<dyn RtcpPacket>> = Vec::new();
        if self.sent_since_report {
            let rtp_time = match self.clock_anchor {
                Some((at, timestamp)) => {
                    let elapsed = now.saturating_duration_since(at).as_secs_f64() * f64::from(self.config.clock_rate);
                    timestamp.wrapping_add(elapsed as u64 as u32)
                }
                None => self.next_timestamp,
            };
            packets.push(Box::new(SenderReport {
                ssrc: self.ssrc,
                ntp_time: self.ntp_time(now),
                rtp_time,
                packet_count: self.stats.packets_sent as u32,
                octet_count: self.octets_sent as u32,
                reports,
                ..Default::default()
            }));
            self.stats.sender_reports_sent += 1;
        } else {
            packets.push(Box::new(ReceiverReport { ssrc: self.ssrc, reports, ..Default::default() }));
            self.stats.receiver_reports_sent += 1;
        }
        self.sent_since_report = false;
        let mut cname = self.config.cname.clone().into_bytes();
        cname.truncate(255);
        packets.push(Box::new(SourceDescription {
            chunks: vec![SourceDescriptionChunk {
                source: self.ssrc,
                items: vec![SourceDescriptionItem { sdes_type: SdesType::SdesCname, text: cname.into() }],
            }],
        }));
        if bye {
            packets.push(Box::new(Goodbye { sources: vec![self.ssrc], ..Default::default() }));
        }
        let plain = match rtc_rtcp::packet::marshal(&packets) {
            Ok(plain) => plain,
            Err(error) => {
                tracing::warn!(%error, "cannot encode an RTCP report");
                return;
            }
        };
        let contents = match &mut self.srtp {
            Some(srtp) => match srtp.protect_rtcp(&plain) {
                Ok(contents) => contents,
                Err(error) => {
                    tracing::warn!(%error, "cannot protect an RTCP report");
                    return;
                }
            },
            None => plain.to_vec(),
        };
        self.transmits.push_back(Transmit {
            destination: self.rtcp_destination,
            kind: PacketKind::Rtcp,
            socket: if self.config.rtcp_mux { PacketKind::Rtp } else { PacketKind::Rtcp },
            contents,
        });
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<RtpEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::srtp::{CryptoSuite, InlineKey, SrtpKey};
    use rand::{Rng, SeedableRng};

    const ALICE_RTP: u16 = 40_000;
    const BOB_RTP: u16 = 50_000;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn wallclock() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn session(remote_port: u16, seed: u64, now: Instant) -> RtpSession {
        let mut config = RtpConfig::new(8000, addr(remote_port), format!("user{seed}@127.0.0.1"));
        config.seed = Some(seed);
        RtpSession::new(config, now, wallclock())
    }

    fn parse(transmit: &Transmit) -> rtc_rtp::Packet {
        rtc_rtp::Packet::unmarshal(&mut transmit.contents.as_slice()).unwrap()
    }

    fn drain_events(session: &mut RtpSession) -> Vec<RtpEvent> {
        std::iter::from_fn(|| session.poll_event()).collect()
    }

    fn rtp_bytes(ssrc: u32, seq: u16, timestamp: u32, payload_type: u8) -> Vec<u8> {
        let header =
            rtc_rtp::Header { version: 2, payload_type, sequence_number: seq, timestamp, ssrc, ..Default::default() };
        rtc_rtp::Packet { header, payload: vec![0xd5; 160].into() }.marshal().unwrap().to_vec()
    }

    #[test]
    fn sessions_can_move_between_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<RtpSession>();
        assert_send::<SrtpSession>();
        assert_send::<crate::rtp::jitter::JitterBuffer>();
        assert_send::<crate::rtp::dtmf::DtmfSender>();
    }

    #[test]
    fn sequence_numbers_timestamps_and_markers() {
        let now = Instant::now();
        let mut s = session(BOB_RTP, 1, now);
        let first_seq = s.next_sequence_number();
        let first_ts = s.next_timestamp();
        assert!(first_seq < 0x8000);
        s.send_frame(now, 0, &[1; 160], 160, false).unwrap();
        s.send_frame(now, 0, &[2; 160], 160, false).unwrap();
        s.skip(160);
        s.send_frame(now, 0, &[3; 160], 160, false).unwrap();
        s.send_frame(now, 0, &[4; 160], 160, true).unwrap();
        s.send_event(now, 101, &[5, 10, 0, 160], s.next_timestamp(), true).unwrap();
        s.skip(160);
        let sent: Vec<Transmit> = std::iter::from_fn(|| s.poll_transmit()).collect();
        assert_eq!(sent.len(), 5);
        assert!(sent.iter().all(|t| t.destination == addr(BOB_RTP) && t.kind == PacketKind::Rtp));
        let packets: Vec<rtc_rtp::Packet> = sent.iter().map(parse).collect();
        let seqs: Vec<u16> = packets.iter().map(|p| p.header.sequence_number.wrapping_sub(first_seq)).collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4]);
        let ts: Vec<u32> = packets.iter().map(|p| p.header.timestamp.wrapping_sub(first_ts)).collect();
        assert_eq!(ts, [0, 160, 480, 640, 800]);
        let markers: Vec<bool> = packets.iter().map(|p| p.header.marker).collect();
        assert_eq!(markers, [true, false, true, true, true]);
        assert!(packets.iter().all(|p| p.header.ssrc == s.ssrc()));
        assert_eq!(packets[4].header.payload_type, 101);
        assert_eq!(&packets[2].payload[..], &[3; 160]);
        assert_eq!(s.next_timestamp().wrapping_sub(first_ts), 960);
        let stats = s.statistics();
        assert_eq!((stats.packets_sent, stats.bytes_sent), (5, 4 * 160 + 4));
        // Another seed, another SSRC and starting point.
        let other = session(BOB_RTP, 2, now);
        assert_ne!((other.ssrc(), other.next_timestamp()), (s.ssrc(), first_ts));
        assert_eq!(s.send_frame(now, 128, &[], 160, false), Err(RtpError::InvalidPayloadType(128)));
    }

    #[test]
    fn sequence_numbers_wrap() {
        let now = Instant::now();
        let mut s = session(BOB_RTP, 3, now);
        let mut last = None;
        for _ in 0..70_000u32 {
            s.send_frame(now, 0, &[], 160, false).unwrap();
            let seq = parse(&s.poll_transmit().unwrap()).header.sequence_number;
            if let Some(last) = last {
                assert_eq!(seq, u16::wrapping_add(last, 1));
            }
            last = Some(seq);
        }
    }

    #[derive(Default)]
    struct CallResult {
        bob_received: Vec<ReceivedPacket>,
        alice_events: Vec<RtpEvent>,
        bob_events: Vec<RtpEvent>,
        dropped: u64,
        alice_report_times: Vec<Duration>,
    }

    /// Alice and Bob send G.711 frames to each other for `seconds` over a
    /// network with 20 ms one-way delay; one in `drop_every` RTP packets
    /// from Alice is lost (never the last).
    fn call(alice: &mut RtpSession, bob: &mut RtpSession, start: Instant, seconds: u64, drop_every: u64) -> CallResult {
        let mut result = CallResult::default();
        let mut wire: VecDeque<(Instant, SocketAddr, SocketAddr, Vec<u8>)> = VecDeque::new();
        let delay = Duration::from_millis(20);
        let mut alice_rtp = 0u64;
        let end = seconds * 1000 + 200;
        for ms in 0..end {
            let now = start + Duration::from_millis(ms);
            if ms % 20 == 0 && ms < seconds * 1000 {
                alice.send_frame(now, 0, &[0xd5; 160], 160, false).unwrap();
                bob.send_frame(now, 0, &[0x55; 160], 160, false).unwrap();
            }
            for (session, local_rtp) in [(&mut *alice, ALICE_RTP), (&mut *bob, BOB_RTP)] {
                if session.poll_timeout().is_some_and(|t| t <= now) {
                    session.handle_timeout(now);
                }
                while let Some(t) = session.poll_transmit() {
                    let from = addr(if t.socket == PacketKind::Rtp { local_rtp } else { local_rtp + 1 });
                    if local_rtp == ALICE_RTP && t.kind == PacketKind::Rtp {
                        alice_rtp += 1;
                        if drop_every > 0 && alice_rtp % drop_every == drop_every / 2 {
                            result.dropped += 1;
                            continue;
                        }
                    }
                    if local_rtp == ALICE_RTP && t.kind == PacketKind::Rtcp {
                        result.alice_report_times.push(now - start);
                    }
                    wire.push_back((now + delay, from, t.destination, t.contents));
                }
            }
            while wire.front().is_some_and(|(at, ..)| *at <= now) {
                let (_, from, to, bytes) = wire.pop_front().unwrap();
                let (session, rtp_port) = if to.port() / 10_000 == ALICE_RTP / 10_000 {
                    (&mut *alice, ALICE_RTP)
                } else {
                    (&mut *bob, BOB_RTP)
                };
                if to.port() == rtp_port {
                    session.handle_datagram(now, from, &bytes);
                } else {
                    session.handle_rtcp(now, from, &bytes);
                }
            }
            result.alice_events.extend(drain_events(alice));
            for event in drain_events(bob) {
                match event {
                    RtpEvent::Packet(packet) => result.bob_received.push(packet),
                    other => result.bob_events.push(other),
                }
            }
        }
        result
    }

    fn check_call(srtp: bool) {
        let start = Instant::now();
        let mut alice = session(BOB_RTP, 10, start);
        let mut bob = session(ALICE_RTP, 11, start);
        if srtp {
            let a = InlineKey::new(SrtpKey::generate());
            let b = InlineKey::new(SrtpKey::generate());
            alice.set_srtp(Some(SrtpSession::new(CryptoSuite::AesCm128HmacSha1_80, &a, &b).unwrap()));
            bob.set_srtp(Some(SrtpSession::new(CryptoSuite::AesCm128HmacSha1_80, &b, &a).unwrap()));
        }
        let result = call(&mut alice, &mut bob, start, 30, 10);
        // Bob got 90% of Alice's 1500 packets, in order, intact.
        assert_eq!(result.dropped, 150);
        assert_eq!(result.bob_received.len(), 1350);
        assert!(result.bob_received.windows(2).all(|w| w[1].sequence_number != w[0].sequence_number));
        assert!(result.bob_received.iter().all(|p| p.payload == [0xd5; 160] && p.ssrc == alice.ssrc()));
        assert_eq!(result.bob_events, [RtpEvent::Latched(addr(ALICE_RTP))]);
        assert_eq!(result.alice_events.iter().filter(|e| matches!(e, RtpEvent::Latched(_))).count(), 1);
        let bob_stats = bob.statistics();
        assert_eq!(bob_stats.packets_received, 1350);
        assert_eq!(bob_stats.bytes_received, 1350 * 160);
        assert_eq!(bob_stats.packets_lost, 150);
        assert_eq!(bob_stats.srtp_failures + bob_stats.malformed + bob_stats.packets_discarded, 0);
        assert_eq!(bob_stats.jitter, Duration::ZERO);
        assert!(bob_stats.rtcp_received >= 4, "{bob_stats:?}");
        // Alice learnt from Bob's reports: 10% loss, 40 ms round trip.
        let alice_stats = alice.statistics();
        assert!(matches!(alice_stats.remote_fraction_lost, Some(24..=27)), "{alice_stats:?}");
        assert!(alice_stats.remote_packets_lost.unwrap() >= 100);
        let rtt = alice_stats.rtt.expect("round-trip time");
        assert!(rtt.abs_diff(Duration::from_millis(40)) < Duration::from_millis(2), "{rtt:?}");
        assert!(bob.statistics().rtt.is_some());
        assert!(alice_stats.sender_reports_sent >= 4);
        assert_eq!(alice_stats.receiver_reports_sent, 0);
        assert_eq!(alice.statistics().packets_lost, 0);
        // Reports: the first after 1.25 to 3.75 s, then every 2.5 to 7.5 s.
        let times = &result.alice_report_times;
        assert!(times[0] >= Duration::from_millis(1250) && times[0] <= Duration::from_millis(3750), "{times:?}");
        for pair in times.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap >= Duration::from_millis(2500) && gap <= Duration::from_millis(7500), "{times:?}");
        }
    }

    #[test]
    fn two_endpoints_exchange_media_and_reports() {
        check_call(false);
    }

    #[test]
    fn two_endpoints_exchange_media_and_reports_over_srtp() {
        check_call(true);
    }

    #[test]
    fn srtp_is_on_the_wire_and_bad_tags_are_counted() {
        let now = Instant::now();
        let a = InlineKey::new(SrtpKey::generate());
        let b = InlineKey::new(SrtpKey::generate());
        let mut alice = session(BOB_RTP, 20, now);
        let mut bob = session(ALICE_RTP, 21, now);
        alice.set_srtp(Some(SrtpSession::new(CryptoSuite::AesCm128HmacSha1_32, &a, &b).unwrap()));
        bob.set_srtp(Some(SrtpSession::new(CryptoSuite::AesCm128HmacSha1_32, &b, &a).unwrap()));
        assert!(alice.srtp_active());
        alice.send_frame(now, 0, &[0xd5; 160], 160, false).unwrap();
        let packet = alice.poll_transmit().unwrap().contents;
        assert_eq!(packet.len(), 12 + 160 + 4);
        assert!(!packet[12..172].iter().all(|b| *b == 0xd5));
        let mut corrupt = packet.clone();
        corrupt[100] ^= 1;
        bob.handle_rtp(now, addr(ALICE_RTP), &corrupt);
        assert_eq!(bob.statistics().srtp_failures, 1);
        assert!(bob.poll_event().is_none(), "nothing latched, nothing delivered");
        bob.handle_rtp(now, addr(ALICE_RTP), &packet);
        assert_eq!(drain_events(&mut bob).len(), 2);
        // Plain RTP is refused by an SRTP session.
        bob.handle_rtp(now, addr(ALICE_RTP), &rtp_bytes(alice.ssrc(), 9, 0, 0));
        assert_eq!(bob.statistics().srtp_failures, 2);
    }

    #[test]
    fn jitter_follows_rfc_3550_a8() {
        let start = Instant::now();
        let mut bob = session(ALICE_RTP, 30, start);
        // Packets 20 ms apart arriving alternately on time and 10 ms late: |D| = 80 units each time.
        for i in 0..400u32 {
            let arrival = start + Duration::from_millis(u64::from(i) * 20 + if i % 2 == 1 { 10 } else { 0 });
            bob.handle_rtp(arrival, addr(ALICE_RTP), &rtp_bytes(7, i as u16, 1000 + i * 160, 0));
        }
        let jitter = bob.statistics().jitter;
        assert!(jitter.abs_diff(Duration::from_millis(10)) < Duration::from_micros(100), "{jitter:?}");
        // Reference: J += (|D| - J) / 16 with |D| = 80 from the second packet on.
        let mut reference = 0.0f64;
        for _ in 1..400 {
            reference += (80.0 - reference) / 16.0;
        }
        let stats_units = jitter.as_secs_f64() * 8000.0;
        assert!((stats_units - reference).abs() < 0.01, "{stats_units} vs {reference}");
        // Telephone events (one timestamp for many packets) are left out.
        bob.set_payload_types(vec![0, 101], Some(101));
        for i in 400..420u32 {
            let arrival = start + Duration::from_millis(u64::from(i) * 20);
            bob.handle_rtp(arrival, addr(ALICE_RTP), &rtp_bytes(7, i as u16, 99, 101));
        }
        assert_eq!(bob.statistics().jitter, jitter);
        // A payload type not negotiated is dropped.
        bob.handle_rtp(start, addr(ALICE_RTP), &rtp_bytes(7, 420, 99, 8));
        assert_eq!(bob.statistics().packets_discarded, 1);
    }

    #[test]
    fn loss_fraction_and_cumulative_loss_in_receiver_reports() {
        let start = Instant::now();
        let mut bob = session(ALICE_RTP, 31, start);
        // 100 packets expected, 80 arrive (20 lost), some reordered and one duplicated.
        let mut seqs: Vec<u16> = (65_500u16..=65_535).chain(0..64).filter(|s| s % 5 != 2).collect();
        seqs.swap(10, 11);
        seqs.push(seqs[30]);
        for (i, seq) in seqs.iter().enumerate() {
            let now = start + Duration::from_millis(i as u64 * 20);
            bob.handle_rtp(now, addr(ALICE_RTP), &rtp_bytes(9, *seq, u32::from(*seq) * 160, 0));
        }
        let mut report = None;
        let mut now = start;
        while report.is_none() {
            now += Duration::from_millis(100);
            bob.handle_timeout(now);
            report = bob.poll_transmit();
        }
        let report = report.unwrap();
        assert_eq!(report.kind, PacketKind::Rtcp);
        assert_eq!(report.destination, addr(ALICE_RTP + 1));
        let packets = rtc_rtcp::packet::unmarshal(&mut report.contents.as_slice()).unwrap();
        let rr = packets[0].as_any().downcast_ref::<ReceiverReport>().expect("a receiver report");
        assert_eq!(rr.ssrc, bob.ssrc());
        let block = &rr.reports[0];
        assert_eq!(block.ssrc, 9);
        // Expected 100 (65500..=65535 and 0..=63), received 81 including the duplicate.
        assert_eq!(block.total_lost, 19);
        assert_eq!(block.fraction_lost, (19 * 256 / 100) as u8);
        assert_eq!(block.last_sequence_number, (1 << 16) + 63);
        assert_eq!((block.last_sender_report, block.delay), (0, 0));
        let sdes = packets[1].as_any().downcast_ref::<SourceDescription>().expect("SDES");
        assert_eq!(&sdes.chunks[0].items[0].text[..], b"user31@127.0.0.1");
        assert_eq!(bob.statistics().fraction_lost, block.fraction_lost);
        assert_eq!(bob.statistics().receiver_reports_sent, 1);
    }

    #[test]
    fn a_large_sequence_jump_is_accepted_on_the_second_packet() {
        let start = Instant::now();
        let mut bob = session(ALICE_RTP, 32, start);
        for seq in 0..10u16 {
            bob.handle_rtp(start, addr(ALICE_RTP), &rtp_bytes(9, seq, 0, 0));
        }
        bob.handle_rtp(start, addr(ALICE_RTP), &rtp_bytes(9, 30_000, 0, 0));
        assert_eq!(bob.statistics().packets_discarded, 1);
        bob.handle_rtp(start, addr(ALICE_RTP), &rtp_bytes(9, 30_001, 0, 0));
        let stats = bob.statistics();
        assert_eq!(stats.packets_discarded, 1);
        assert_eq!(stats.packets_lost, 0);
        assert_eq!(stats.highest_sequence, 30_001);
    }

    #[test]
    fn latches_to_the_first_source_and_follows_only_its_ssrc() {
        let now = Instant::now();
        let sdp = addr(ALICE_RTP);
        let nat = SocketAddr::from(([127, 0, 0, 2], 61_000));
        let stranger = SocketAddr::from(([127, 0, 0, 3], 62_000));
        let moved = SocketAddr::from(([127, 0, 0, 2], 61_010));
        let mut bob = session(ALICE_RTP, 40, now);
        assert_eq!(bob.rtp_destination(), sdp);
        assert_eq!(bob.rtcp_destination(), addr(ALICE_RTP + 1));
        bob.send_frame(now, 0, &[0; 160], 160, false).unwrap();
        assert_eq!(bob.poll_transmit().unwrap().destination, sdp);
        // The first valid packet comes from behind a NAT: latch there.
        bob.handle_rtp(now, nat, &rtp_bytes(0xaaaa, 1, 0, 0));
        let events = drain_events(&mut bob);
        assert_eq!(events[0], RtpEvent::Latched(nat));
        assert!(matches!(events[1], RtpEvent::Packet(ref p) if p.source == nat));
        assert_eq!(bob.remote_address_received(), Some(nat));
        assert_eq!(bob.rtcp_destination(), SocketAddr::from(([127, 0, 0, 2], 61_001)));
        bob.send_frame(now, 0, &[0; 160], 160, false).unwrap();
        assert_eq!(bob.poll_transmit().unwrap().destination, nat);
        // Another source from another address is dropped.
        bob.handle_rtp(now, stranger, &rtp_bytes(0xbbbb, 500, 0, 0));
        assert!(drain_events(&mut bob).is_empty());
        assert_eq!(bob.statistics().packets_discarded, 1);
        assert_eq!(bob.rtp_destination(), nat);
        // Garbage does not latch either.
        bob.handle_rtp(now, stranger, &[0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42]);
        assert_eq!(bob.statistics().malformed, 1);
        // The latched source moving (NAT rebinding) re-latches.
        bob.handle_rtp(now, moved, &rtp_bytes(0xaaaa, 2, 160, 0));
        assert_eq!(drain_events(&mut bob)[0], RtpEvent::Latched(moved));
        assert_eq!(bob.rtp_destination(), moved);
        // A new SSRC from the latched address is a new source there.
        bob.handle_rtp(now, moved, &rtp_bytes(0xcccc, 7000, 0, 0));
        assert_eq!(bob.remote_ssrc(), Some(0xcccc));
        // RTCP from the latched source latches RTCP; RTCP from a stranger is dropped.
        let rr = |ssrc: u32| {
            let packets: Vec<Box<dyn RtcpPacket>> = vec![Box::new(ReceiverReport { ssrc, ..Default::default() })];
            rtc_rtcp::packet::marshal(&packets).unwrap().to_vec()
        };
        bob.handle_rtcp(now, SocketAddr::from(([127, 0, 0, 2], 61_011)), &rr(0xcccc));
        assert_eq!(bob.rtcp_destination(), SocketAddr::from(([127, 0, 0, 2], 61_011)));
        bob.handle_rtcp(now, stranger, &rr(0xbbbb));
        assert_eq!(bob.rtcp_destination(), SocketAddr::from(([127, 0, 0, 2], 61_011)));
        assert_eq!(bob.statistics().rtcp_received, 1);
        // A new SDP starts over.
        bob.set_remote(addr(ALICE_RTP + 10), Some(addr(ALICE_RTP + 20)), false);
        assert_eq!((bob.rtp_destination(), bob.rtcp_destination()), (addr(ALICE_RTP + 10), addr(ALICE_RTP + 20)));
        assert_eq!(bob.remote_address_received(), None);
    }

    #[test]
    fn rtcp_mux_uses_the_rtp_port_both_ways() {
        let now = Instant::now();
        let mut config = RtpConfig::new(8000, addr(ALICE_RTP), "bob");
        config.rtcp_mux = true;
        config.seed = Some(50);
        let mut bob = RtpSession::new(config, now, wallclock());
        assert_eq!(bob.rtcp_destination(), addr(ALICE_RTP));
        bob.handle_datagram(now, addr(ALICE_RTP), &rtp_bytes(5, 1, 0, 0));
        let packets: Vec<Box<dyn RtcpPacket>> = vec![
            Box::new(SenderReport { ssrc: 5, ntp_time: 1 << 40, ..Default::default() }),
            Box::new(Goodbye { sources: vec![5], ..Default::default() }),
        ];
        let compound = rtc_rtcp::packet::marshal(&packets).unwrap();
        bob.handle_datagram(now, addr(ALICE_RTP), &compound);
        let events = drain_events(&mut bob);
        assert_eq!(events.last(), Some(&RtpEvent::Bye { ssrc: 5 }));
        assert_eq!(bob.statistics().rtcp_received, 1);
        bob.handle_timeout(now + Duration::from_secs(10));
        let report = bob.poll_transmit().unwrap();
        assert_eq!(
            (report.kind, report.socket, report.destination),
            (PacketKind::Rtcp, PacketKind::Rtp, addr(ALICE_RTP))
        );
        let packets = rtc_rtcp::packet::unmarshal(&mut report.contents.as_slice()).unwrap();
        let rr = packets[0].as_any().downcast_ref::<ReceiverReport>().unwrap();
        // LSR is the middle of the SR's NTP time; DLSR the 10 s since, in 1/65536 s.
        assert_eq!(rr.reports[0].last_sender_report, 1 << 24);
        assert_eq!(rr.reports[0].delay, 10 * 65536);
    }

    #[test]
    fn close_sends_bye_and_stops() {
        let now = Instant::now();
        let mut alice = session(BOB_RTP, 60, now);
        alice.send_frame(now, 0, &[0; 160], 160, false).unwrap();
        alice.poll_transmit();
        alice.close(now);
        let last = alice.poll_transmit().unwrap();
        let packets = rtc_rtcp::packet::unmarshal(&mut last.contents.as_slice()).unwrap();
        assert!(packets[0].as_any().downcast_ref::<SenderReport>().is_some());
        let bye = packets[2].as_any().downcast_ref::<Goodbye>().unwrap();
        assert_eq!(bye.sources, [alice.ssrc()]);
        assert_eq!(alice.send_frame(now, 0, &[], 160, false), Err(RtpError::Closed));
        assert_eq!(alice.poll_timeout(), None);
        alice.close(now);
        assert!(alice.poll_transmit().is_none());
    }

    #[test]
    fn timeout_is_reported_once_until_rtp_returns() {
        let start = Instant::now();
        let mut config = RtpConfig::new(8000, addr(ALICE_RTP), "bob");
        config.rtp_timeout = Some(Duration::from_secs(30));
        config.rtcp_interval = Duration::from_secs(3600);
        config.seed = Some(80);
        let mut bob = RtpSession::new(config, start, wallclock());
        assert_eq!(bob.poll_timeout(), Some(start + Duration::from_secs(30)));
        bob.handle_timeout(start + Duration::from_secs(29));
        assert!(bob.poll_event().is_none());
        bob.handle_timeout(start + Duration::from_secs(30));
        assert_eq!(bob.poll_event(), Some(RtpEvent::Timeout));
        bob.handle_timeout(start + Duration::from_secs(31));
        assert!(bob.poll_event().is_none());
        let later = start + Duration::from_secs(40);
        bob.handle_rtp(later, addr(ALICE_RTP), &rtp_bytes(1, 1, 0, 0));
        drain_events(&mut bob);
        assert_eq!(bob.poll_timeout(), Some(later + Duration::from_secs(30)));
        bob.set_rtp_timeout(later, None);
        // Only the RTCP timer is left: at least 900 s (half of 0.5 × 3600 s) after the start.
        assert!(bob.poll_timeout().unwrap() >= start + Duration::from_secs(900));
    }

    #[test]
    fn hostile_datagrams_never_panic() {
        let now = Instant::now();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3550);
        let a = InlineKey::new(SrtpKey::generate());
        let b = InlineKey::new(SrtpKey::generate());
        let mut plain = session(ALICE_RTP, 70, now);
        let mut secure = session(ALICE_RTP, 71, now);
        secure.set_srtp(Some(SrtpSession::new(CryptoSuite::AesCm128HmacSha1_80, &b, &a).unwrap()));
        let mut mux = {
            let mut config = RtpConfig::new(8000, addr(ALICE_RTP), "mux");
            config.rtcp_mux = true;
            RtpSession::new(config, now, wallclock())
        };
        // Valid packets to mutate.
        let mut sender = session(BOB_RTP, 72, now);
        sender.send_frame(now, 0, &[1; 20], 160, false).unwrap();
        sender.handle_timeout(now + Duration::from_secs(10));
        let seeds: Vec<Vec<u8>> = std::iter::from_fn(|| sender.poll_transmit()).map(|t| t.contents).collect();
        let mut t = now;
        for i in 0..30_000u32 {
            let data: Vec<u8> = if i % 2 == 0 {
                let len = rng.random_range(0..120);
                let mut data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
                if len > 0 && rng.random_bool(0.7) {
                    data[0] = 0x80 | (data[0] & 0x3f);
                }
                data
            } else {
                let mut data = seeds[i as usize / 2 % seeds.len()].clone();
                for _ in 0..rng.random_range(1..4) {
                    let at = rng.random_range(0..data.len());
                    data[at] = rng.random();
                }
                if rng.random_bool(0.2) {
                    data.truncate(rng.random_range(0..data.len()));
                }
                data
            };
            t += Duration::from_millis(1);
            let from = SocketAddr::from(([127, 0, 0, rng.random_range(1..4)], 5000));
            for s in [&mut plain, &mut secure, &mut mux] {
                s.handle_rtp(t, from, &data);
                s.handle_rtcp(t, from, &data);
                s.handle_datagram(t, from, &data);
                s.handle_timeout(t);
                while s.poll_transmit().is_some() {}
                while s.poll_event().is_some() {}
            }
        }
        assert!(plain.statistics().malformed > 1000);
        assert!(secure.statistics().srtp_failures > 1000);
        assert_eq!(secure.statistics().packets_received, 0);
    }
}
