//! Round trips, malformed input and interop fixtures for the SDP layer.

use std::net::{IpAddr, Ipv4Addr};

use super::offer_answer::*;
use super::*;

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

/// Test SDP text with CRLF line endings.
fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

fn parse(text: &str) -> SessionDescription {
    SessionDescription::parse(&crlf(text)).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Deterministic key material: all bytes `seed`, incremented per key.
fn keys(seed: u8) -> impl FnMut(&mut [u8]) {
    let mut next = seed;
    move |buf: &mut [u8]| {
        buf.fill(next);
        next = next.wrapping_add(1);
    }
}

/// An offer as the original (Blink / sipclients3 over PJSIP) sends it for
/// audio, chat and a file transfer: SDES and ZRTP offered opportunistically.
const SIPSIMPLE_OFFER: &str = "v=0
o=- 3709619876 3709619877 IN IP4 192.168.1.101
s=Blink 5.1.0 (Linux)
c=IN IP4 192.168.1.101
t=0 0
m=audio 50012 RTP/AVP 113 9 0 8 101
a=rtcp:50013
a=rtpmap:113 opus/48000/2
a=fmtp:113 useinbandfec=1
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:Hh2gjOPSiE8+9Eo+8bEz0HvfsXwXOxi59MbwJsUX
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:C1nZ3rFbqQ+K3Ry8hyoj3nSQiAxLzVBo0T7ZGvcN
a=zrtp-hash:1.10 0c1d6ad4a8a5ff7e7e52e0b4ca9c5f2e3d3a4b5c6d7e8f90112233445566778899
a=sendrecv
m=message 2855 TCP/TLS/MSRP *
a=path:msrps://192.168.1.101:2855/a8f4d5e1c2b3;tcp
a=accept-types:message/cpim text/* image/* application/im-iscomposing+xml
a=accept-wrapped-types:*
a=setup:active
a=sendrecv
m=message 2856 TCP/TLS/MSRP *
i=file transfer
a=path:msrps://192.168.1.101:2856/9d0c1b2a3f4e;tcp
a=accept-types:*
a=file-selector:name:\"report 2024.pdf\" type:application/pdf size:123456 hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E
a=file-transfer-id:vBnG916bdberum2fFEABR1FR3ExZMUrd
a=file-disposition:attachment
a=file-date:creation:\"Mon, 15 May 2006 15:01:31 +0300\"
a=file-icon:cid:id2@alicepc.example.com
a=file-range:1-*
a=max-size:131072
a=setup:active
a=connection:new
a=sendonly
";

/// RFC 4975 §7.1 and RFC 5547 §9.1 style bodies, with unusual lines (b=,
/// i=, u=, e=, p=, r=, z=, k=, several t=) that must survive untouched.
const RFC_BODIES: [&str; 2] = [
    "v=0
o=alice 2890844526 2890844527 IN IP4 alicepc.example.com
s=-
i=A Seminar on the session description protocol
u=http://www.example.com/seminars/sdp.pdf
e=j.doe@example.com (Jane Doe)
p=+1 617 555-6011
c=IN IP4 alicepc.example.com
b=CT:128
t=2873397496 2873404696
r=7d 1h 0 25h
t=0 0
z=2882844526 -1h 2898848070 0
k=clear:not-a-secret-but-hidden
a=tool:sdp-tests
m=message 7654 TCP/MSRP *
b=AS:64
a=accept-types:text/plain
a=path:msrp://alicepc.example.com:7654/jshA7weztas;tcp
",
    "v=0
o=bob 2890844656 2890844656 IN IP4 bobpc.example.com
s= 
c=IN IP4 bobpc.example.com
t=0 0
m=message 8888 TCP/MSRP *
a=accept-types:message/cpim
a=accept-wrapped-types:*
a=file-selector:name:\"My cool picture.jpg\" type:image/jpeg size:32349 hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E
a=file-transfer-id:vBnG916bdberum2fFEABR1FR3ExZMUrd
a=file-disposition:render
a=file-date:creation:\"Mon, 15 May 2006 15:01:31 +0300\" modification:\"Mon, 15 May 2006 15:01:31 +0300\"
a=file-icon:cid:id2@alicepc.example.com
a=file-range:1-32349
a=path:msrp://bobpc.example.com:8888/9di4eae923wzd;tcp
a=recvonly
",
];

/// baresip 3.x, `audio_codecs` default, `mediaenc` unset: opus with stereo
/// fmtp, telephone-event only at 8000 Hz, ssrc and rtcp-rsize lines.
const BARESIP_OFFER: &str = "v=0
o=- 2004733359 2651573937 IN IP4 192.168.1.10
s=-
c=IN IP4 192.168.1.10
t=0 0
a=tool:baresip 3.10.1
m=audio 10166 RTP/AVP 96 9 0 8 101
b=AS:96
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=ssrc:3043823545 cname:ad26e5e4a7c4a1a2
a=rtcp-rsize
a=ptime:20
";

/// baresip with `mediaenc srtp-mand`: RTP/SAVP, several suites, the 80-bit
/// one not first.
const BARESIP_SRTP_MAND_OFFER: &str = "v=0
o=- 1733946103 2051137862 IN IP4 192.168.1.10
s=-
c=IN IP4 192.168.1.10
t=0 0
a=tool:baresip 3.10.1
m=audio 10222 RTP/SAVP 96 0 8 101
b=AS:96
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:1Gu5lBU8NkZJ9xZtt/OTpKSvHt6wmDWL5/hTaGy0
a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:tO6Wx3dvF6FfxMkQ/Fpx0YPvkE3KbyP+gPVjRVgy
a=crypto:3 AEAD_AES_256_GCM inline:NVFXRFZGQ2R1VWE0aWJoZEpDcmtJbFFDQVR2Z01iOWpERGZpbmk=
a=ssrc:1208871524 cname:3ae4fa5ea7f0a5c2
a=rtcp-rsize
a=ptime:20
";

/// Linphone (liblinphone 5.x) with SRTP mandatory: speex and G.729 that we
/// lack, telephone-event at three rates, AES-256 suites first, rtcp-fb and
/// rtcp-xr lines.
const LINPHONE_OFFER: &str = "v=0
o=alice 1517 2849 IN IP4 10.0.0.20
s=Talk
c=IN IP4 10.0.0.20
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
a=record:off
m=audio 7078 RTP/SAVP 96 97 98 0 8 18 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:3LSmL7dOVxF6oRIYoA0cmwO1kqZw3uoRBUJV3g8eLUm7tB40y8zF9nN3O4A0Ww==
a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31
a=crypto:3 AES_256_CM_HMAC_SHA1_32 inline:I1VZLzR3bjZJTGRhc05FRDJ6OFNCVWJsaW9qR0lJQVhHbDh6Rk9KUHdCSGFNZg==
a=crypto:4 AES_CM_128_HMAC_SHA1_32 inline:cF2z+1xk0mNf2h/D7zzMtK3mr3d4j1y0/CLm1EKe
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
";

/// PJSIP (pjsua 2.14): media-level c=, a=rtcp with an address, the
/// direction before the rtpmaps, opus at 111 and telephone-event at 96
/// (48 kHz) and 101 (8 kHz), an X-nat attribute and session-level b=.
const PJSIP_OFFER: &str = "v=0
o=- 3914741380 3914741380 IN IP4 172.16.0.5
s=pjmedia
b=AS:117
t=0 0
a=X-nat:0
m=audio 4000 RTP/AVP 111 9 8 0 96 101
c=IN IP4 172.16.0.5
b=TIAS:96000
a=rtcp:4001 IN IP4 172.16.0.5
a=sendrecv
a=rtpmap:111 opus/48000/2
a=fmtp:111 useinbandfec=1
a=rtpmap:9 G722/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:96 telephone-event/48000
a=fmtp:96 0-16
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ssrc:1093281924 cname:2a6d78a4526b1d0e
";

fn fixtures() -> Vec<&'static str> {
    let mut all = vec![SIPSIMPLE_OFFER, BARESIP_OFFER, BARESIP_SRTP_MAND_OFFER, LINPHONE_OFFER, PJSIP_OFFER];
    all.extend(RFC_BODIES);
    all
}

#[test]
fn fixtures_round_trip_byte_identically() {
    for text in fixtures() {
        let bytes = crlf(text);
        let sdp = SessionDescription::parse(&bytes).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(String::from_utf8(sdp.to_bytes()).unwrap(), String::from_utf8(bytes.clone()).unwrap());
        assert_eq!(sdp.to_string().parse::<SessionDescription>(), Ok(sdp.clone()));
        // LF-only input is read the same and written with CRLF.
        let lf = SessionDescription::parse(text.as_bytes()).unwrap();
        assert_eq!(lf, sdp);
        assert_eq!(lf.to_bytes(), bytes);
    }
}

#[test]
fn every_attribute_line_of_the_fixtures_prints_back_when_typed() {
    fn check<T: TypedAttribute>(attributes: &[Attribute]) -> usize {
        let mut n = 0;
        for a in attributes.iter().filter(|a| a.is(T::NAME)) {
            let value = a.value.as_deref().unwrap_or_default();
            let typed = T::parse_value(value).unwrap_or_else(|e| panic!("{e}: {value}"));
            assert_eq!(T::parse_value(&typed.to_string()).map(|t| t.to_string()), Ok(typed.to_string()));
            n += 1;
        }
        n
    }
    let mut typed = 0;
    for text in fixtures() {
        let sdp = parse(text);
        for attributes in std::iter::once(&sdp.attributes).chain(sdp.media.iter().map(|m| &m.attributes)) {
            typed += check::<RtpMap>(attributes)
                + check::<Fmtp>(attributes)
                + check::<Ptime>(attributes)
                + check::<Rtcp>(attributes)
                + check::<Setup>(attributes)
                + check::<TcpConnection>(attributes)
                + check::<Path>(attributes)
                + check::<AcceptTypes>(attributes)
                + check::<AcceptWrappedTypes>(attributes)
                + check::<MaxSize>(attributes)
                + check::<FileSelector>(attributes)
                + check::<FileTransferId>(attributes)
                + check::<FileDisposition>(attributes)
                + check::<FileDate>(attributes)
                + check::<FileIcon>(attributes)
                + check::<FileRange>(attributes);
            // Crypto lines with unknown suites may carry keys of other lengths; all parse.
            typed += check::<Crypto>(attributes);
        }
    }
    assert!(typed > 70, "{typed}");
}

#[test]
fn model_accessors_on_the_original_offer() {
    let sdp = parse(SIPSIMPLE_OFFER);
    assert_eq!(sdp.origin.session_id, "3709619876");
    assert_eq!(sdp.origin.version, 3709619877);
    assert_eq!(sdp.session_name, "Blink 5.1.0 (Linux)");
    assert_eq!(sdp.media.len(), 3);
    let audio = &sdp.media[0];
    assert!(audio.is_media("audio"));
    assert_eq!(audio.payload_types().collect::<Vec<_>>(), [113, 9, 0, 8, 101]);
    assert_eq!(audio.rtpmap(113).unwrap().encoding_name, "opus");
    assert_eq!(audio.fmtp(101).unwrap().parameters, "0-16");
    assert_eq!(audio.get::<Rtcp>(), Some(Ok(Rtcp { port: 50013, connection: None })));
    assert_eq!(audio.cryptos().len(), 2);
    assert!(audio.has_attribute("zrtp-hash"), "unknown attributes stay");
    assert_eq!(sdp.media_connection(0).and_then(Connection::ip), Some("192.168.1.101".parse().unwrap()));

    let chat = &sdp.media[1];
    assert_eq!(
        (chat.port, chat.protocol.as_str(), chat.formats.as_slice()),
        (2855, "TCP/TLS/MSRP", &["*".to_owned()][..])
    );
    assert_eq!(chat.get::<Path>().unwrap().unwrap().0, ["msrps://192.168.1.101:2855/a8f4d5e1c2b3;tcp"]);
    assert_eq!(chat.get::<AcceptTypes>().unwrap().unwrap().0.len(), 4);
    assert_eq!(chat.get::<AcceptWrappedTypes>().unwrap().unwrap().0, ["*"]);
    assert_eq!(chat.get::<Setup>(), Some(Ok(Setup::Active)));

    let file = &sdp.media[2];
    assert_eq!(file.title.as_deref(), Some("file transfer"));
    let selector = file.get::<FileSelector>().unwrap().unwrap();
    assert_eq!((selector.name.as_deref(), selector.size), (Some("report 2024.pdf"), Some(123456)));
    assert_eq!(file.get::<FileTransferId>().unwrap().unwrap().0, "vBnG916bdberum2fFEABR1FR3ExZMUrd");
    assert_eq!(file.get::<FileDisposition>().unwrap().unwrap().0, "attachment");
    assert!(file.get::<FileDate>().unwrap().unwrap().creation.is_some());
    assert_eq!(file.get::<FileIcon>().unwrap().unwrap().0, "cid:id2@alicepc.example.com");
    assert_eq!(file.get::<FileRange>(), Some(Ok(FileRange { start: 1, stop: None })));
    assert_eq!(file.get::<MaxSize>(), Some(Ok(MaxSize(131072))));
    assert_eq!(file.get::<TcpConnection>(), Some(Ok(TcpConnection::New)));
    assert_eq!(sdp.media_direction(2), Some(Direction::SendOnly));
    assert_eq!(sdp.media_direction(3), None);
    assert_eq!(file.get::<Ptime>(), None);

    // Debug never shows the SDES keys.
    let debug = format!("{sdp:?}");
    assert!(!debug.contains("Hh2gjOPSiE8") && !debug.contains("C1nZ3rFbqQ"), "{debug}");
    let debug = format!("{:?}", parse(RFC_BODIES[0]));
    assert!(!debug.contains("not-a-secret"), "{debug}");
}

#[test]
fn builders_and_direction_editing() {
    let mut media = MediaDescription::new("audio", 4000, "RTP/AVP", ["0"])
        .with(&RtpMap::new(0, "PCMU", 8000))
        .with_attribute(Attribute::flag("sendonly"))
        .with_attribute(Attribute::new("x-custom", "1"))
        .with_attribute(Attribute::flag("inactive"));
    assert_eq!(media.direction(), Some(Direction::SendOnly));
    media.set_direction(Direction::RecvOnly);
    let names: Vec<&str> = media.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["rtpmap", "recvonly", "x-custom"]);
    media.remove_attributes("X-CUSTOM");
    media.set_direction(Direction::SendRecv);
    assert_eq!(media.attributes.len(), 2);
    media.remove_attributes("sendrecv");
    media.set_direction(Direction::Inactive);
    assert_eq!(media.attributes.last(), Some(&Attribute::flag("inactive")));

    let mut sdp = SessionDescription::new(Origin::new("1", 2, LOCAL));
    sdp.connection = Some(Connection::from_ip(LOCAL));
    sdp.set_direction(Direction::SendOnly);
    sdp.media.push(media);
    sdp.media.push(MediaDescription::new("audio", 4002, "RTP/AVP", ["8"]));
    assert_eq!(sdp.media_direction(0), Some(Direction::Inactive), "media level wins");
    assert_eq!(sdp.media_direction(1), Some(Direction::SendOnly), "session level applies");
    assert_eq!(
        sdp.to_string(),
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\na=sendonly\r\n\
         m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=inactive\r\n\
         m=audio 4002 RTP/AVP 8\r\n"
    );
    let v6: IpAddr = "2001:db8::5".parse().unwrap();
    assert_eq!(Connection::from_ip(v6).to_owned(), Connection::new("IN", "IP6", "2001:db8::5"));
    assert_eq!(Connection::from_ip(v6).ip(), Some(v6));
    assert_eq!(Connection::new("IN", "IP4", "2001:db8::5").ip(), None, "address type must match");
    assert_eq!(Connection::new("IN", "IP4", "224.2.1.1/127/3").ip(), Some("224.2.1.1".parse().unwrap()));
}

#[test]
fn malformed_bodies_are_typed_errors() {
    type Check = fn(&SdpError) -> bool;
    let cases: [(&[u8], Check); 9] = [
        (b"", |e| matches!(e, SdpError::Syntax(_))),
        (b"v=1\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n", |e| matches!(e, SdpError::Syntax(_))),
        (b"v=0\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", |e| *e == SdpError::MissingOrigin),
        (b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=\xff\xfe\r\n", |e| *e == SdpError::Encoding),
        (b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio port RTP/AVP 0\r\n", |e| matches!(e, SdpError::Syntax(_))),
        (b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 70000 RTP/AVP 0\r\n", |e| matches!(e, SdpError::Syntax(_))),
        (b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 4000\r\n", |e| matches!(e, SdpError::Syntax(_))),
        (b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nthis is not sdp\r\n", |e| matches!(e, SdpError::Syntax(_))),
        (b"v=0\r\no=- 1 x IN IP4 1.2.3.4\r\ns=-\r\n", |e| matches!(e, SdpError::Syntax(_))),
    ];
    for (body, check) in cases {
        let err = SessionDescription::parse(body).unwrap_err();
        assert!(check(&err), "{:?}: {err:?}", String::from_utf8_lossy(body));
    }
    // A malformed offer maps to 488 like every other refused offer.
    let err = OfferError::from(SessionDescription::parse(b"garbage").unwrap_err());
    assert_eq!(err.status_code(), 488);
}

#[test]
fn truncated_offers_never_panic() {
    for text in fixtures() {
        let bytes = crlf(text);
        for len in 0..bytes.len() {
            exercise(&bytes[..len]);
        }
    }
}

/// A small deterministic generator (xorshift64*) for the mutation test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to the SDP and attribute grammars.
const INTERESTING: &[u8] = b"=:/ ;|^*-\"%\r\n\t\0\xff0123456789aAzZ.+";

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if !out.is_empty() => {
                let at = at.min(out.len() - 1);
                out[at] = INTERESTING[rng.below(INTERESTING.len())];
            }
            1 => out.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 => {
                let end = (at + rng.below(16)).min(out.len());
                out.drain(at..end);
            }
            3 => {
                let end = (at + rng.below(40)).min(out.len());
                let copy = out[at..end].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, copy);
            }
            4 => out.truncate(at),
            _ => {
                if let Some(b) = out.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
        }
    }
    out
}

/// Everything a session does with a received body: parse, print, read every
/// typed attribute, answer it and read it as an answer.
fn exercise(body: &[u8]) {
    let Ok(sdp) = SessionDescription::parse(body) else { return };
    let printed = sdp.to_bytes();
    // What we print parses again to the same model.
    let again = SessionDescription::parse(&printed).unwrap_or_else(|e| {
        panic!("reprint failed: {e}\n{}\n---\n{}", String::from_utf8_lossy(body), String::from_utf8_lossy(&printed))
    });
    assert_eq!(again.to_bytes(), printed, "printing is stable");
    let _ = format!("{sdp:?}");
    let mut offerer = AudioConfig::new(LOCAL, 40000);
    offerer.srtp = SrtpMode::Optional;
    let offer = AudioOffer::new(&offerer, &mut keys(1));
    for (index, media) in sdp.media.iter().enumerate() {
        let _ = sdp.media_direction(index);
        let _ = sdp.media_connection(index).map(Connection::ip);
        for attributes in [&sdp.attributes, &media.attributes] {
            for a in attributes {
                let _ = a.typed::<RtpMap>();
                let _ = a.typed::<Fmtp>().map(|f| f.map(|f| f.parameters().count()));
                let _ = a.typed::<Ptime>();
                let _ = a.typed::<MaxPtime>();
                let _ = a.typed::<Rtcp>();
                let _ = a.typed::<Setup>();
                let _ = a.typed::<TcpConnection>();
                let _ = a.typed::<Crypto>().map(|c| c.map(|c| c.key_salt()));
                let _ = a.typed::<Path>();
                let _ = a.typed::<AcceptTypes>();
                let _ = a.typed::<AcceptWrappedTypes>();
                let _ = a.typed::<MaxSize>();
                let _ = a.typed::<FileSelector>().map(|s| s.map(|s| s.hash.map(|h| h.bytes())));
                let _ = a.typed::<FileTransferId>();
                let _ = a.typed::<FileDisposition>();
                let _ = a.typed::<FileDate>();
                let _ = a.typed::<FileIcon>();
                let _ = a.typed::<FileRange>();
            }
        }
        let _ = audio_formats(media);
        for mode in [SrtpMode::Disabled, SrtpMode::Optional, SrtpMode::Required] {
            let mut config = AudioConfig::new(LOCAL, 42000);
            config.srtp = mode;
            if let Ok(answer) = negotiate_answer(&sdp, index, &config, &mut keys(2)) {
                assert!(!answer.media.formats.is_empty());
                assert_eq!(
                    answer.negotiated.receive.first().map(|p| p.payload_type),
                    Some(answer.negotiated.payload_type)
                );
            }
        }
        let _ = offer.process_answer(&sdp, index);
    }
    let _ = validate_answer(&sdp, &sdp);
    let _ = validate_offer_update(&sdp, &sdp, &sdp);
}

#[test]
fn mutated_offers_never_panic() {
    let mut rng = Rng(0x5EED_F5D9);
    let inputs: Vec<Vec<u8>> = fixtures().into_iter().map(crlf).collect();
    let mut parsed = 0;
    for round in 0..6000 {
        let input = &inputs[round % inputs.len()];
        let body = mutate(&mut rng, input);
        if SessionDescription::parse(&body).is_ok() {
            parsed += 1;
        }
        exercise(&body);
    }
    // The mutations must still reach the typed and negotiation layers.
    assert!(parsed > 1000, "only {parsed} mutated bodies parsed");
}

#[test]
fn typed_attributes_never_panic_on_mutated_values() {
    let seeds = [
        "111 opus/48000/2",
        "96 useinbandfec=1; stereo=1",
        "20.5",
        "53020 IN IP4 126.16.64.4",
        "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32 KDR=1",
        "name:\"a %22b%22\" type:image/jpeg size:1 hash:sha-1:72:24",
        "creation:\"Mon, 15 May 2006 15:01:31 +0300\"",
        "1-*",
        "msrp://a:1/b;tcp",
    ];
    let mut rng = Rng(42);
    for round in 0..20000 {
        let seed = seeds[round % seeds.len()].as_bytes();
        let mutated = mutate(&mut rng, seed);
        let value = String::from_utf8_lossy(&mutated);
        let _ = RtpMap::parse_value(&value);
        let _ = Fmtp::parse_value(&value);
        let _ = Ptime::parse_value(&value);
        let _ = Rtcp::parse_value(&value);
        let _ = Crypto::parse_value(&value).map(|c| (c.key_salt(), c.to_string()));
        let _ = FileSelector::parse_value(&value).map(|s| s.to_string());
        let _ = FileDate::parse_value(&value);
        let _ = FileRange::parse_value(&value);
        let _ = Path::parse_value(&value);
    }
}

#[test]
fn original_offer_answered_with_msrp_slots_kept_in_order() {
    let offer = parse(SIPSIMPLE_OFFER);
    let mut config = AudioConfig::new(LOCAL, 40000);
    config.srtp = SrtpMode::Optional;
    let audio = negotiate_answer(&offer, 0, &config, &mut keys(0x11)).unwrap();
    let n = &audio.negotiated;
    assert_eq!((n.codec, n.payload_type), (AudioCodec::Opus, 113));
    assert_eq!(n.codec_parameters.as_deref(), Some("useinbandfec=1"));
    assert_eq!(n.remote_rtp, "192.168.1.101:50012".parse().unwrap());
    assert_eq!(n.remote_rtcp, "192.168.1.101:50013".parse().unwrap());
    assert_eq!(n.telephone_event, Some(TelephoneEvent { payload_type: 101, clock_rate: 8000 }));
    let srtp = n.srtp.as_ref().unwrap();
    assert_eq!((srtp.tag, srtp.suite), (1, SrtpSuite::AesCm128HmacSha1_80));
    // MSRP m-lines belong to other stream types: refused here, kept in place.
    for index in [1, 2] {
        assert_eq!(
            negotiate_answer(&offer, index, &config, &mut keys(0)).unwrap_err(),
            OfferError::NotAudio("message".into())
        );
    }
    let media = vec![audio.media, offer.media[1].disabled(), offer.media[2].disabled()];
    let answer = LocalSdp::with_session_id(LOCAL, 555).answer(&offer, media).unwrap();
    assert_eq!(validate_answer(&offer, &answer), Ok(()));
    let text = answer.to_string();
    let expected_tail = "m=message 0 TCP/TLS/MSRP *\r\nm=message 0 TCP/TLS/MSRP *\r\n";
    assert!(text.ends_with(expected_tail), "{text}");
    assert!(text.starts_with("v=0\r\no=- 555 555 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"));
    assert!(text.contains("m=audio 40000 RTP/AVP 113 9 0 8 101\r\n"), "{text}");
    assert!(text.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:ERERERERERERERERERERERERERERERERERERERER\r\n"));
    // The offerer (a second instance of us) reads that answer back.
    let answer = SessionDescription::parse(&answer.to_bytes()).unwrap();
    assert!(answer.media[1].is_disabled() && answer.media[2].is_disabled());
}

#[test]
fn baresip_offer_answered() {
    let offer = parse(BARESIP_OFFER);
    let config = AudioConfig::new(LOCAL, 40000);
    let answer = negotiate_answer(&offer, 0, &config, &mut keys(1)).unwrap();
    assert_eq!(answer.media.formats, ["96", "9", "0", "8", "101"]);
    assert_eq!(answer.media.protocol, "RTP/AVP");
    assert!(!answer.media.has_attribute("crypto"), "no crypto offered, SRTP optional: plain RTP");
    let n = &answer.negotiated;
    assert_eq!((n.codec, n.payload_type, n.sample_rate()), (AudioCodec::Opus, 96, 48000));
    assert_eq!(n.codec_parameters.as_deref(), Some("stereo=1;sprop-stereo=1"));
    // Only telephone-event/8000 is offered: kept for DTMF even with opus.
    assert_eq!(n.telephone_event, Some(TelephoneEvent { payload_type: 101, clock_rate: 8000 }));
    assert_eq!(n.remote_rtp, "192.168.1.10:10166".parse().unwrap());
    assert_eq!(n.remote_rtcp, "192.168.1.10:10167".parse().unwrap());
    assert_eq!(n.remote_ptime, Some(20));
    assert_eq!(
        answer.media.rtpmap(96),
        Some(RtpMap { encoding_parameters: Some("2".into()), ..RtpMap::new(96, "opus", 48000) })
    );
    assert_eq!(answer.media.fmtp(96).unwrap().parameters, "useinbandfec=1");

    // SRTP required on our side: refused with 488.
    let mut required = config.clone();
    required.srtp = SrtpMode::Required;
    let err = negotiate_answer(&offer, 0, &required, &mut keys(1)).unwrap_err();
    assert_eq!((err, 488), (OfferError::SrtpRequired, 488));
}

#[test]
fn baresip_srtp_mandatory_offer_answered() {
    let offer = parse(BARESIP_SRTP_MAND_OFFER);
    let mut config = AudioConfig::new(LOCAL, 40000);
    config.codecs = AudioCodecs::parse("PCMA, PCMU").unwrap();
    let answer = negotiate_answer(&offer, 0, &config, &mut keys(0x21)).unwrap();
    assert_eq!(answer.media.protocol, "RTP/SAVP");
    assert_eq!(answer.media.formats, ["0", "8", "101"], "offer order, offer numbers");
    let srtp = answer.negotiated.srtp.as_ref().unwrap();
    // The first supported line wins, even the 32-bit one.
    assert_eq!((srtp.tag, srtp.suite), (1, SrtpSuite::AesCm128HmacSha1_32));
    assert_eq!(srtp.remote_key.as_bytes(), &offer.media[0].cryptos()[0].key_salt().unwrap()[..]);
    let cryptos = answer.media.cryptos();
    assert_eq!(cryptos.len(), 1);
    assert_eq!(cryptos[0].tag, 1);
    assert_eq!(cryptos[0].suite, CryptoSuite::AesCm128HmacSha1_32);
    assert_eq!(cryptos[0].key_salt(), Some(vec![0x21; 30]));
    let mut disabled = config.clone();
    disabled.srtp = SrtpMode::Disabled;
    assert_eq!(negotiate_answer(&offer, 0, &disabled, &mut keys(0)).unwrap_err(), OfferError::SrtpDisabled);
}

#[test]
fn linphone_offer_answered() {
    let offer = parse(LINPHONE_OFFER);
    let config = AudioConfig::new(LOCAL, 40000);
    let answer = negotiate_answer(&offer, 0, &config, &mut keys(0x31)).unwrap();
    // speex and G.729 dropped; telephone-event kept at opus' and PCMU's rates.
    assert_eq!(answer.media.formats, ["96", "0", "8", "101", "100"]);
    assert_eq!(answer.media.protocol, "RTP/SAVP");
    let n = &answer.negotiated;
    assert_eq!((n.codec, n.payload_type), (AudioCodec::Opus, 96));
    assert_eq!(n.telephone_event, Some(TelephoneEvent { payload_type: 101, clock_rate: 48000 }));
    assert_eq!(n.remote_rtp, "10.0.0.20:7078".parse().unwrap());
    // AES-256 lines skipped; a lifetime on the key is accepted.
    let srtp = n.srtp.as_ref().unwrap();
    assert_eq!((srtp.tag, srtp.suite), (2, SrtpSuite::AesCm128HmacSha1_80));
    assert_eq!(answer.media.cryptos()[0].tag, 2);
    // Only the codecs Linphone offers that we lack: 488.
    let mut g729 = offer.clone();
    g729.media[0].formats = vec!["97".into(), "98".into(), "18".into(), "101".into()];
    assert_eq!(negotiate_answer(&g729, 0, &config, &mut keys(0)).unwrap_err(), OfferError::NoCommonCodec);
}

#[test]
fn pjsip_offer_answered_and_reoffer_keeps_the_mapping() {
    let offer = parse(PJSIP_OFFER);
    let mut config = AudioConfig::new(LOCAL, 40000);
    config.codecs = AudioCodecs::parse("PCMU, opus").unwrap();
    let answer = negotiate_answer(&offer, 0, &config, &mut keys(0)).unwrap();
    assert_eq!(answer.media.formats, ["111", "0", "96", "101"]);
    let n = &answer.negotiated;
    assert_eq!((n.codec, n.payload_type), (AudioCodec::Opus, 111), "offer order wins over ours");
    assert_eq!(n.remote_rtp, "172.16.0.5:4000".parse().unwrap(), "media-level c=");
    assert_eq!(n.remote_rtcp, "172.16.0.5:4001".parse().unwrap());
    assert_eq!(n.telephone_event, Some(TelephoneEvent { payload_type: 96, clock_rate: 48000 }));
    assert_eq!(n.srtp, None);

    // Our re-offer (e.g. hold) keeps the numbers of the first exchange.
    let mut local = LocalSdp::with_session_id(LOCAL, 9000);
    let first = local.answer(&offer, vec![answer.media.clone()]).unwrap();
    config.keep_payload_types(n);
    config.direction = offer_direction(true, false);
    let reoffer = AudioOffer::new(&config, &mut keys(0));
    assert_eq!(reoffer.media().formats, ["0", "111", "101", "96"], "telephone-events in order of first use");
    assert_eq!(reoffer.media().rtpmap(96).unwrap().encoding_name, "telephone-event");
    let hold = local.offer(vec![reoffer.media().clone()]);
    assert_eq!(hold.origin.version, first.origin.version + 1);
    assert_eq!(hold.media_direction(0), Some(Direction::SendOnly));
}

#[test]
fn full_exchange_between_two_instances_over_the_wire() {
    // Alice offers audio + chat; Bob answers audio and refuses chat; Alice
    // reads the answer from bytes; then Alice removes the chat slot.
    let mut alice_local = LocalSdp::with_session_id(LOCAL, 100);
    let mut bob_local = LocalSdp::with_session_id("127.0.0.2".parse().unwrap(), 200);
    let mut alice = AudioConfig::new(LOCAL, 40000);
    alice.srtp = SrtpMode::Required;
    let bob = AudioConfig::new("127.0.0.2".parse().unwrap(), 42000);
    let chat = MediaDescription::new("message", 2855, "TCP/TLS/MSRP", ["*"])
        .with(&Path(vec!["msrps://127.0.0.1:2855/abc;tcp".into()]))
        .with(&AcceptTypes(vec!["message/cpim".into(), "text/plain".into()]))
        .with(&Setup::ActPass);
    let offer = AudioOffer::new(&alice, &mut keys(1));
    let offer_bytes = alice_local.offer(vec![offer.media().clone(), chat.clone()]).to_bytes();

    let received = SessionDescription::parse(&offer_bytes).unwrap();
    let audio = negotiate_answer(&received, 0, &bob, &mut keys(0x50)).unwrap();
    let answer_bytes = bob_local.answer(&received, vec![audio.media, received.media[1].disabled()]).unwrap().to_bytes();

    let answer = SessionDescription::parse(&answer_bytes).unwrap();
    let offered = SessionDescription::parse(&offer_bytes).unwrap();
    assert_eq!(validate_answer(&offered, &answer), Ok(()));
    let at_alice = offer.process_answer(&answer, 0).unwrap();
    assert_eq!(at_alice.codec, audio.negotiated.codec);
    assert_eq!(at_alice.payload_type, audio.negotiated.payload_type);
    let (a, b) = (at_alice.srtp.unwrap(), audio.negotiated.srtp.unwrap());
    assert_eq!((a.local_key, a.remote_key), (b.remote_key, b.local_key));
    assert_eq!(answer.media[1].port, 0);

    let removed = alice_local.offer(vec![offer.media().clone(), chat.disabled()]);
    assert_eq!(validate_offer_update(&offered, &answer, &removed), Ok(()));
    assert_eq!(removed.origin.version, 101);
}
