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

#[cfg(test)]
mod tests {
    //! The parts together: a call over SRTP through a lossy, reordering,
    //! duplicating network, with DTMF in the middle of the audio.
    use super::dtmf::{DtmfConfig, DtmfDigit, DtmfReceiver, DtmfSender};
    use super::jitter::{JitterBuffer, JitterConfig, Playout};
    use super::session::{PacketKind, RtpConfig, RtpEvent, RtpSession};
    use super::srtp::{CryptoSuite, SdesCrypto, SrtpSession};
    use rand::{Rng, SeedableRng};
    use std::net::SocketAddr;
    use std::time::{Duration, Instant, SystemTime};

    const PCMU: u8 = 0;
    const TELEPHONE_EVENT: u8 = 101;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn audio_and_dtmf_over_srtp_through_a_bad_network() {
        let start = Instant::now();
        let (alice_addr, bob_addr) = (addr(41_000), addr(51_000));
        // SDES: each side's a=crypto line, parsed by the other.
        let alice_crypto = SdesCrypto::generate(1, CryptoSuite::AesCm128HmacSha1_80);
        let bob_crypto = SdesCrypto::generate(1, CryptoSuite::AesCm128HmacSha1_80);
        let alice_seen_by_bob = SdesCrypto::parse(&alice_crypto.to_attribute_value()).unwrap();
        let bob_seen_by_alice = SdesCrypto::parse(&bob_crypto.to_attribute_value()).unwrap();
        let mut config = RtpConfig::new(8000, bob_addr, "alice@127.0.0.1");
        config.rtcp_mux = true;
        config.seed = Some(1);
        let mut alice = RtpSession::new(config, start, SystemTime::now());
        alice.set_srtp(Some(SrtpSession::from_attributes(&alice_crypto, &bob_seen_by_alice).unwrap()));
        let mut config = RtpConfig::new(8000, alice_addr, "bob@127.0.0.1");
        config.rtcp_mux = true;
        config.seed = Some(2);
        config.payload_types = vec![PCMU, TELEPHONE_EVENT];
        config.event_payload_type = Some(TELEPHONE_EVENT);
        let mut bob = RtpSession::new(config, start, SystemTime::now());
        bob.set_srtp(Some(SrtpSession::from_attributes(&bob_crypto, &alice_seen_by_bob).unwrap()));

        let mut dtmf_out = DtmfSender::new(DtmfConfig::new(8000));
        let mut dtmf_in = DtmfReceiver::new();
        let mut jitter = JitterBuffer::new(JitterConfig::new(160));
        let mut rng = rand::rngs::StdRng::seed_from_u64(2025);
        let mut wire: Vec<(Instant, SocketAddr, SocketAddr, Vec<u8>)> = Vec::new();
        let (mut sent, mut lost_on_wire, mut duplicated, mut plain_on_wire) = (0u32, 0u64, 0u64, 0u32);
        let mut played: Vec<u32> = Vec::new();
        let mut digits = String::new();
        let frames = 1000u32; // 20 s
        for ms in 0..(frames * 20 + 500) {
            let now = start + Duration::from_millis(u64::from(ms));
            if ms % 20 == 0 && ms / 20 < frames {
                let tick = ms / 20;
                if tick == 100 {
                    for c in "159#".chars() {
                        dtmf_out.send(DtmfDigit::from_char(c).unwrap());
                    }
                }
                match dtmf_out.tick(alice.next_timestamp()) {
                    Some(event) => {
                        alice.send_event(now, TELEPHONE_EVENT, &event.payload, event.timestamp, event.marker).unwrap();
                        alice.skip(160);
                    }
                    None => {
                        let mut frame = tick.to_be_bytes().to_vec();
                        frame.resize(160, 0xd5);
                        alice.send_frame(now, PCMU, &frame, 160, false).unwrap();
                    }
                }
            }
            for (session, from) in [(&mut alice, alice_addr), (&mut bob, bob_addr)] {
                if session.poll_timeout().is_some_and(|t| t <= now) {
                    session.handle_timeout(now);
                }
                while let Some(t) = session.poll_transmit() {
                    assert_eq!(t.socket, PacketKind::Rtp, "rtcp-mux");
                    if from == alice_addr && t.kind == PacketKind::Rtp {
                        sent += 1;
                        plain_on_wire += u32::from(t.contents.windows(8).any(|w| w == [0xd5; 8]));
                        // 5% loss, never among the first and last packets.
                        if sent > 5 && sent < frames - 5 && rng.random_bool(0.05) {
                            lost_on_wire += 1;
                            continue;
                        }
                        if rng.random_bool(0.02) {
                            duplicated += 1;
                            let at = now + Duration::from_millis(rng.random_range(20..55));
                            wire.push((at, from, t.destination, t.contents.clone()));
                        }
                    }
                    let at = now + Duration::from_millis(rng.random_range(20..55));
                    wire.push((at, from, t.destination, t.contents));
                }
            }
            wire.sort_by_key(|(at, ..)| *at);
            while wire.first().is_some_and(|(at, ..)| *at <= now) {
                let (_, from, to, bytes) = wire.remove(0);
                let session = if to == alice_addr { &mut alice } else { &mut bob };
                session.handle_datagram(now, from, &bytes);
            }
            while let Some(event) = bob.poll_event() {
                if let RtpEvent::Packet(packet) = event {
                    if packet.payload_type == TELEPHONE_EVENT {
                        jitter.push_other(packet.sequence_number, packet.timestamp, packet.ssrc);
                        if let Some(digit) = dtmf_in.handle_packet(packet.ssrc, packet.timestamp, &packet.payload) {
                            digits.push(digit.to_char());
                        }
                    } else {
                        jitter.push(packet.into());
                    }
                }
            }
            while alice.poll_event().is_some() {}
            if ms % 20 == 7
                && let Playout::Frame(frame) = jitter.tick()
            {
                played.push(u32::from_be_bytes(frame.payload[..4].try_into().unwrap()));
            }
        }
        assert_eq!(digits, "159#");
        assert_eq!(plain_on_wire, 0, "SRTP hides the payload");
        assert!(played.windows(2).all(|w| w[0] < w[1]), "in order, no duplicates");
        let stats = jitter.stats();
        assert_eq!(stats.late, 0);
        // Duplicates never reach the buffer: SRTP's replay check drops them.
        assert_eq!(stats.duplicates, 0);
        // 4 digits of 12 event packets each (minus those lost) took no audio tick.
        assert!(stats.other > 40 && stats.other <= 48, "{stats:?}");
        assert_eq!(stats.lost, lost_on_wire, "{stats:?}");
        assert_eq!(stats.played + stats.other + stats.lost + stats.discarded, u64::from(sent));
        assert!(stats.discarded < 10, "{stats:?}");
        assert_eq!(played.len() as u64, stats.played);
        let bob_stats = bob.statistics();
        assert_eq!(bob_stats.packets_lost, lost_on_wire);
        assert!(duplicated > 0);
        assert_eq!(bob_stats.srtp_failures, duplicated);
        assert!(bob_stats.jitter > Duration::from_millis(2), "{bob_stats:?}");
        let alice_stats = alice.statistics();
        assert!(alice_stats.rtt.is_some() && alice_stats.remote_packets_lost.is_some(), "{alice_stats:?}");
        assert_eq!(bob.remote_address_received(), Some(alice_addr));
    }
}
