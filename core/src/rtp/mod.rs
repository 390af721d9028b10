//! RTP media transport: RTP/RTCP sessions, SRTP with SDES keys, the jitter
//! buffer and RFC 4733 telephone events, as sans-IO state machines.

pub mod dtmf;
pub mod jitter;
pub mod srtp;
