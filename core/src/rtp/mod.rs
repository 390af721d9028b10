//! RTP media transport: RTP/RTCP sessions, SRTP with SDES keys, the jitter
//! buffer and RFC 4733 telephone events, as sans-IO state machines.
//!
//! Nothing here opens a socket or reads a clock: callers feed `(now, input)`
//! and drain what comes out. How an audio stream wires the parts together:
//!
//! - Keys: [`srtp::SdesCrypto::generate`] makes our `a=crypto` line,
//!   [`srtp::SdesCrypto::parse`] reads the peer's, and
//!   [`srtp::SrtpSession::from_attributes`] gives the contexts that
//!   [`session::RtpSession::set_srtp`] installs.
//! - Every 20 ms tick: if [`dtmf::DtmfSender::tick`] returns a packet, send it
//!   with [`session::RtpSession::send_event`] and
//!   [`session::RtpSession::skip`] the tick; otherwise encode a frame and
//!   [`session::RtpSession::send_frame`] it. Then
//!   [`jitter::JitterBuffer::tick`] gives the frame to decode (or `Lost`, to
//!   conceal).
//! - Datagrams in: [`session::RtpSession::handle_rtp`] /
//!   [`session::RtpSession::handle_rtcp`]; then
//!   [`session::RtpEvent::Packet`]s of the `telephone-event` payload type go
//!   to [`dtmf::DtmfReceiver::handle_packet`] (a digit becomes
//!   `AudioStreamGotDTMF`), the others to [`jitter::JitterBuffer::push`].
//!   [`session::RtpEvent::Latched`] sets `remote_rtp_address_received`.
//! - Timers: [`session::RtpSession::poll_timeout`] /
//!   [`session::RtpSession::handle_timeout`] (RTCP reports, RTP timeout).
//! - Datagrams out: [`session::RtpSession::poll_transmit`].
//! - `statistics`: [`session::RtpSession::statistics`] and
//!   [`jitter::JitterBuffer::stats`].

pub mod dtmf;
pub mod jitter;
pub mod session;
pub mod srtp;
