//! The offer/answer model (RFC 3264) for audio m-lines, and the local `o=`
//! line.
//!
//! Pure functions and plain values: a session builds whole descriptions with
//! [`LocalSdp`] from one [`MediaDescription`] per stream; an audio stream
//! builds its m-line with [`AudioOffer::new`] or [`negotiate_answer`] and
//! learns what to send and receive from [`NegotiatedAudio`]. Other media (MSRP)
//! are left to their stream types; an answer keeps one m-line per offered
//! m-line, in order, a refused one being [`MediaDescription::disabled`].
//!
//! Choices, for interop and to match the original (PJSIP underneath):
//! - Offers list the codecs in the preference order of [`AudioCodecs`]
//!   (`rtp.audio_codec_list`), then one `telephone-event` per clock rate in
//!   use, with `a=ptime:20`, an explicit direction, and RTCP on the RTP port
//!   + 1 (no `rtcp-mux`; `a=rtcp` only when another port is configured).
//! - Answers use the offerer's payload type numbers and keep the offerer's
//!   order, filtered by what we support (RFC 3264 §6.1 recommends keeping
//!   the offer's order, and PJSIP does so by default); the first one is the
//!   codec both sides send. `telephone-event` is kept when offered: the one
//!   at each answered codec's clock rate, else the first offered.
//! - SDES SRTP (RFC 4568): [`SrtpMode::Required`] offers `RTP/SAVP` with
//!   `AES_CM_128_HMAC_SHA1_80` (tag 1) and `_32` (tag 2);
//!   [`SrtpMode::Optional`] offers the same crypto lines on `RTP/AVP` (the
//!   common best-effort practice); [`SrtpMode::Disabled`] offers none. An
//!   answerer picks the first offered line it supports and answers with its
//!   own key under the same tag. Keys come from a [`KeyGenerator`] so tests
//!   are deterministic.
//! - Hold (RFC 3264 §8.4): [`offer_direction`] gives `sendonly`, or
//!   `inactive` when the peer already holds us, and `sendrecv` to unhold.
//!   [`LocalSdp`] increments the `o=` version on every description it
//!   produces.

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use rand::{Rng, RngCore};

use super::{
    Connection, Crypto, CryptoSuite, Direction, Fmtp, MediaDescription, Origin, Ptime, Rtcp, RtpMap, SdpError,
    SessionDescription,
};

/// An audio codec the SDK can encode and decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// Opus (RFC 7587): `opus/48000/2`.
    Opus,
    /// G.722: `G722/8000` in SDP although it samples at 16 kHz (RFC 3551 §4.5.2).
    G722,
    /// G.711 µ-law: static payload type 0, `PCMU/8000`.
    Pcmu,
    /// G.711 A-law: static payload type 8, `PCMA/8000`.
    Pcma,
}

/// Codec names of the original's `AudioCodecList` that this SDK does not
/// implement: skipped when a codec list names them.
const KNOWN_UNSUPPORTED: [&str; 6] = ["speex", "G729", "GSM", "iLBC", "AMR-WB", "AMR"];

impl AudioCodec {
    /// Every supported codec, in the default preference order.
    pub const ALL: [AudioCodec; 4] = [AudioCodec::Opus, AudioCodec::G722, AudioCodec::Pcmu, AudioCodec::Pcma];

    /// The codec named `name` as in settings and SDP (letter case ignored).
    pub fn from_name(name: &str) -> Option<AudioCodec> {
        AudioCodec::ALL.into_iter().find(|c| c.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The name used in settings and as the SDP encoding name: `opus`,
    /// `G722`, `PCMU` or `PCMA`.
    pub fn name(self) -> &'static str {
        match self {
            AudioCodec::Opus => "opus",
            AudioCodec::G722 => "G722",
            AudioCodec::Pcmu => "PCMU",
            AudioCodec::Pcma => "PCMA",
        }
    }

    /// The RTP clock rate written in `a=rtpmap` (8000 for G.722).
    pub fn rtp_clock_rate(self) -> u32 {
        match self {
            AudioCodec::Opus => 48000,
            _ => 8000,
        }
    }

    /// The audio sample rate the codec really works at.
    pub fn sample_rate(self) -> u32 {
        match self {
            AudioCodec::Opus => 48000,
            AudioCodec::G722 => 16000,
            AudioCodec::Pcmu | AudioCodec::Pcma => 8000,
        }
    }

    /// The encoding parameters of `a=rtpmap` (`2` channels for opus).
    pub fn encoding_parameters(self) -> Option<&'static str> {
        match self {
            AudioCodec::Opus => Some("2"),
            _ => None,
        }
    }

    /// The static RTP payload type (RFC 3551), if any.
    pub fn static_payload_type(self) -> Option<u8> {
        match self {
            AudioCodec::Pcmu => Some(0),
            AudioCodec::Pcma => Some(8),
            AudioCodec::G722 => Some(9),
            AudioCodec::Opus => None,
        }
    }

    /// The `a=fmtp` parameters we advertise (opus: in-band FEC).
    pub fn local_fmtp(self) -> Option<&'static str> {
        match self {
            AudioCodec::Opus => Some("useinbandfec=1"),
            _ => None,
        }
    }
}

impl fmt::Display for AudioCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a codec list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecListError {
    /// A name that is no audio codec at all.
    #[error("unknown audio codec {0:?}")]
    UnknownCodec(String),
    /// No supported codec is left.
    #[error("no supported audio codec in the list")]
    Empty,
}

/// The audio codecs to offer and accept, most preferred first
/// (`rtp.audio_codec_list`). The default is opus, G722, PCMU, PCMA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioCodecs(Vec<AudioCodec>);

impl Default for AudioCodecs {
    fn default() -> Self {
        AudioCodecs(AudioCodec::ALL.to_vec())
    }
}

impl AudioCodecs {
    /// The codecs in this order, duplicates dropped.
    pub fn new(codecs: impl IntoIterator<Item = AudioCodec>) -> Result<Self, CodecListError> {
        let mut list = Vec::new();
        for c in codecs {
            if !list.contains(&c) {
                list.push(c);
            }
        }
        if list.is_empty() {
            return Err(CodecListError::Empty);
        }
        Ok(AudioCodecs(list))
    }

    /// The codecs named, as in the settings (`opus`, `G722`, `PCMU`,
    /// `PCMA`, letter case ignored). Names the original knows but this SDK
    /// does not implement (speex, G729, GSM, iLBC, AMR-WB) are skipped.
    pub fn from_names<I, S>(names: I) -> Result<Self, CodecListError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut codecs = Vec::new();
        for name in names {
            let name = name.as_ref().trim();
            match AudioCodec::from_name(name) {
                Some(c) => codecs.push(c),
                None if KNOWN_UNSUPPORTED.iter().any(|n| n.eq_ignore_ascii_case(name)) => {
                    tracing::debug!(codec = name, "audio codec not implemented, skipped");
                }
                None => return Err(CodecListError::UnknownCodec(name.to_owned())),
            }
        }
        AudioCodecs::new(codecs)
    }

    /// A comma-separated list such as `opus, G722, PCMU, PCMA`.
    pub fn parse(list: &str) -> Result<Self, CodecListError> {
        AudioCodecs::from_names(list.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    /// The codecs, most preferred first.
    pub fn as_slice(&self) -> &[AudioCodec] {
        &self.0
    }

    /// Whether `codec` is in the list.
    pub fn contains(&self, codec: AudioCodec) -> bool {
        self.0.contains(&codec)
    }
}

/// What an RTP payload type of an audio m-line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioFormat {
    /// Audio in a codec.
    Codec(AudioCodec),
    /// RFC 4733 telephone events (DTMF) at a clock rate.
    TelephoneEvent {
        /// The RTP clock rate of the events.
        clock_rate: u32,
    },
}

impl AudioFormat {
    /// The RTP clock rate.
    pub fn clock_rate(self) -> u32 {
        match self {
            AudioFormat::Codec(c) => c.rtp_clock_rate(),
            AudioFormat::TelephoneEvent { clock_rate } => clock_rate,
        }
    }

    /// The codec, unless this is `telephone-event`.
    pub fn codec(self) -> Option<AudioCodec> {
        match self {
            AudioFormat::Codec(c) => Some(c),
            AudioFormat::TelephoneEvent { .. } => None,
        }
    }

    /// The format an `a=rtpmap` describes, if we support it. Lenient where
    /// peers differ: G722 at 16000 Hz and opus without `/2` are accepted.
    pub fn from_rtpmap(map: &RtpMap) -> Option<AudioFormat> {
        let name = map.encoding_name.as_str();
        let mono = map.channels() == Some(1);
        let codec = if name.eq_ignore_ascii_case("telephone-event") {
            return (map.clock_rate > 0).then_some(AudioFormat::TelephoneEvent { clock_rate: map.clock_rate });
        } else if name.eq_ignore_ascii_case("opus") && map.clock_rate == 48000 {
            AudioCodec::Opus
        } else if name.eq_ignore_ascii_case("G722") && (map.clock_rate == 8000 || map.clock_rate == 16000) && mono {
            AudioCodec::G722
        } else if name.eq_ignore_ascii_case("PCMU") && map.clock_rate == 8000 && mono {
            AudioCodec::Pcmu
        } else if name.eq_ignore_ascii_case("PCMA") && map.clock_rate == 8000 && mono {
            AudioCodec::Pcma
        } else {
            return None;
        };
        Some(AudioFormat::Codec(codec))
    }

    /// The format of a static payload type used without `a=rtpmap`.
    pub fn from_static_payload_type(pt: u8) -> Option<AudioFormat> {
        AudioCodec::ALL.into_iter().find(|c| c.static_payload_type() == Some(pt)).map(AudioFormat::Codec)
    }

    fn rtpmap(self, pt: u8) -> RtpMap {
        match self {
            AudioFormat::Codec(c) => RtpMap {
                encoding_parameters: c.encoding_parameters().map(str::to_owned),
                ..RtpMap::new(pt, c.name(), c.rtp_clock_rate())
            },
            AudioFormat::TelephoneEvent { clock_rate } => RtpMap::new(pt, "telephone-event", clock_rate),
        }
    }

    fn fmtp(self, pt: u8) -> Option<Fmtp> {
        match self {
            AudioFormat::Codec(c) => c.local_fmtp().map(|p| Fmtp::new(pt.to_string(), p)),
            AudioFormat::TelephoneEvent { .. } => Some(Fmtp::new(pt.to_string(), "0-16")),
        }
    }

    fn default_payload_type(self) -> Option<u8> {
        match self {
            AudioFormat::Codec(c) => Some(c.static_payload_type().unwrap_or(96)),
            AudioFormat::TelephoneEvent { clock_rate: 48000 } => Some(97),
            AudioFormat::TelephoneEvent { clock_rate: 16000 } => Some(98),
            AudioFormat::TelephoneEvent { clock_rate: 8000 } => Some(101),
            AudioFormat::TelephoneEvent { .. } => None,
        }
    }
}

/// A payload type number and what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PayloadFormat {
    /// The RTP payload type.
    pub payload_type: u8,
    /// What it carries.
    pub format: AudioFormat,
}

/// The supported formats of an m-line, in m-line order: payload types with
/// a supported `a=rtpmap`, or static ones without (first mapping wins).
pub fn audio_formats(media: &MediaDescription) -> Vec<PayloadFormat> {
    let mut seen = HashSet::new();
    media
        .payload_types()
        .filter(|pt| seen.insert(*pt))
        .filter_map(|pt| {
            let format = match media.rtpmap(pt) {
                Some(map) => AudioFormat::from_rtpmap(&map),
                None => AudioFormat::from_static_payload_type(pt),
            };
            format.map(|format| PayloadFormat { payload_type: pt, format })
        })
        .collect()
}

/// Whether SRTP (SDES) is offered and accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SrtpMode {
    /// Plain RTP only: no `a=crypto` offered; an `RTP/SAVP` offer is refused
    /// and crypto lines on `RTP/AVP` are ignored.
    Disabled,
    /// Best effort: `a=crypto` on `RTP/AVP`; SRTP when the peer answers
    /// with a key, plain RTP otherwise (the original's default,
    /// "opportunistic").
    #[default]
    Optional,
    /// SRTP or nothing: `RTP/SAVP`; an offer or answer without a usable key
    /// is refused.
    Required,
}

/// An SRTP crypto suite this SDK implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpSuite {
    /// `AES_CM_128_HMAC_SHA1_80`.
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32`.
    AesCm128HmacSha1_32,
}

impl SrtpSuite {
    /// The suites we offer, in order (their tags are 1 and 2).
    pub const ALL: [SrtpSuite; 2] = [SrtpSuite::AesCm128HmacSha1_80, SrtpSuite::AesCm128HmacSha1_32];

    /// The `a=crypto` suite name.
    pub fn crypto_suite(self) -> CryptoSuite {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => CryptoSuite::AesCm128HmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32 => CryptoSuite::AesCm128HmacSha1_32,
        }
    }

    /// The implemented suite for an `a=crypto` suite, if any.
    pub fn from_crypto_suite(suite: &CryptoSuite) -> Option<SrtpSuite> {
        SrtpSuite::ALL.into_iter().find(|s| s.crypto_suite() == *suite)
    }

    /// Master key plus master salt length in bytes (16 + 14).
    pub fn key_salt_len(self) -> usize {
        30
    }

    /// The SRTP authentication tag length in bytes (10 or 4).
    pub fn auth_tag_len(self) -> usize {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => 10,
            SrtpSuite::AesCm128HmacSha1_32 => 4,
        }
    }
}

/// An SRTP master key followed by its master salt. `Debug` prints `REDACTED`.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKey(Vec<u8>);

impl SrtpKey {
    const MASTER_KEY_LEN: usize = 16;

    /// Wraps key||salt bytes.
    pub fn new(key_salt: Vec<u8>) -> Self {
        SrtpKey(key_salt)
    }

    /// The key||salt bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The 16-byte master key.
    pub fn master_key(&self) -> &[u8] {
        &self.0[..Self::MASTER_KEY_LEN.min(self.0.len())]
    }

    /// The 14-byte master salt.
    pub fn master_salt(&self) -> &[u8] {
        &self.0[Self::MASTER_KEY_LEN.min(self.0.len())..]
    }
}

impl fmt::Debug for SrtpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}

/// A source of SRTP key material: fills the buffer with key||salt bytes.
///
/// [`RandomKeys`] is the real one; a closure `FnMut(&mut [u8])` also
/// qualifies, for deterministic tests or to repeat the previous key in a
/// re-offer (RFC 4568 allows keeping keys across re-offers).
pub trait KeyGenerator {
    /// Fills `key_salt` with fresh key material.
    fn fill_key(&mut self, key_salt: &mut [u8]);
}

impl<F: FnMut(&mut [u8])> KeyGenerator for F {
    fn fill_key(&mut self, key_salt: &mut [u8]) {
        self(key_salt)
    }
}

/// Keys from the thread-local cryptographically secure generator of `rand`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomKeys;

impl KeyGenerator for RandomKeys {
    fn fill_key(&mut self, key_salt: &mut [u8]) {
        rand::rng().fill_bytes(key_salt);
    }
}

fn generate_key(keys: &mut dyn KeyGenerator, suite: SrtpSuite) -> SrtpKey {
    let mut key = vec![0u8; suite.key_salt_len()];
    keys.fill_key(&mut key);
    SrtpKey(key)
}

/// The negotiated SDES keys of an audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpParameters {
    /// The suite both sides use.
    pub suite: SrtpSuite,
    /// The `a=crypto` tag that was agreed.
    pub tag: u32,
    /// Our key: we encrypt what we send with it.
    pub local_key: SrtpKey,
    /// The peer's key: we decrypt what we receive with it.
    pub remote_key: SrtpKey,
}

/// The direction to offer for our hold state (RFC 3264 §8.4):
/// `sendrecv` when we do not hold; when we hold, `sendonly`, or `inactive`
/// if the peer already holds us.
pub fn offer_direction(on_hold_by_local: bool, on_hold_by_remote: bool) -> Direction {
    match (on_hold_by_local, on_hold_by_remote) {
        (false, _) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (true, true) => Direction::Inactive,
    }
}

/// What a local audio stream offers and accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioConfig {
    /// Codecs, most preferred first.
    pub codecs: AudioCodecs,
    /// SRTP policy.
    pub srtp: SrtpMode,
    /// The address we receive RTP on (written as the m-line's `c=`).
    pub address: IpAddr,
    /// The port we receive RTP on.
    pub rtp_port: u16,
    /// The port we receive RTCP on; `None` means `rtp_port + 1`.
    pub rtcp_port: Option<u16>,
    /// The direction we want: `sendrecv`, or what [`offer_direction`] gives
    /// while on hold.
    pub direction: Direction,
    /// The packet time we want to receive, in ms (20).
    pub ptime: u32,
    /// Payload type numbers to keep using in offers (RFC 3264 §8.3.2), e.g.
    /// from [`AudioConfig::keep_payload_types`]; others get their defaults
    /// (static numbers; opus 96; telephone-event 97 at 48 kHz, 98 at 16 kHz,
    /// 101 at 8 kHz) or the lowest free dynamic number.
    pub payload_types: Vec<PayloadFormat>,
}

impl AudioConfig {
    /// Default codecs, optional SRTP, `sendrecv`, 20 ms.
    pub fn new(address: IpAddr, rtp_port: u16) -> Self {
        AudioConfig {
            codecs: AudioCodecs::default(),
            srtp: SrtpMode::default(),
            address,
            rtp_port,
            rtcp_port: None,
            direction: Direction::SendRecv,
            ptime: 20,
            payload_types: Vec::new(),
        }
    }

    /// Makes later offers reuse the payload type numbers we advertised in
    /// `negotiated` (our receive mapping), so re-offers keep the mapping.
    pub fn keep_payload_types(&mut self, negotiated: &NegotiatedAudio) {
        self.payload_types = negotiated.receive.clone();
    }

    fn rtcp_attribute(&self) -> Option<Rtcp> {
        self.rtcp_port.filter(|p| Some(*p) != self.rtp_port.checked_add(1)).map(|port| Rtcp { port, connection: None })
    }
}

/// The telephone-event payload type the peer receives DTMF on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TelephoneEvent {
    /// The payload type to send events with.
    pub payload_type: u8,
    /// Their RTP clock rate.
    pub clock_rate: u32,
}

/// The outcome of an audio negotiation, from our point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedAudio {
    /// The codec we send (the first of the answer).
    pub codec: AudioCodec,
    /// The payload type we send it with (the number the peer listed).
    pub payload_type: u8,
    /// The peer's `a=fmtp` parameters for that payload type (what it wants
    /// to receive, e.g. `useinbandfec=1;stereo=1`).
    pub codec_parameters: Option<String>,
    /// Where DTMF goes, when the peer accepts telephone events.
    pub telephone_event: Option<TelephoneEvent>,
    /// The payload types the peer sends us and what they carry (our numbers).
    pub receive: Vec<PayloadFormat>,
    /// Where to send RTP: the peer's `c=` address and m-line port.
    pub remote_rtp: SocketAddr,
    /// Where to send RTCP: `a=rtcp`, else the RTP port + 1.
    pub remote_rtcp: SocketAddr,
    /// The packet time the peer wants, in ms.
    pub remote_ptime: Option<u32>,
    /// Our direction: whether we send and receive.
    pub direction: Direction,
    /// The peer's direction as written (`c=0.0.0.0`, the RFC 2543 hold,
    /// counts as not receiving).
    pub remote_direction: Direction,
    /// The SDES keys, when SRTP is in use.
    pub srtp: Option<SrtpParameters>,
}

impl NegotiatedAudio {
    /// The sample rate of the codec we send.
    pub fn sample_rate(&self) -> u32 {
        self.codec.sample_rate()
    }

    /// Whether the peer has put us on hold: it does not want to receive
    /// (`sendonly`, `inactive` or `c=0.0.0.0`). Meaningful for the peer's
    /// offers; in an answer the direction follows from our offer.
    pub fn remote_on_hold(&self) -> bool {
        !self.remote_direction.receives()
    }

    /// What a codec payload type received from the peer carries.
    pub fn received_format(&self, payload_type: u8) -> Option<AudioFormat> {
        self.receive.iter().find(|p| p.payload_type == payload_type).map(|p| p.format)
    }
}

/// Why an offer (or one of its audio m-lines) is not acceptable. Every case
/// is answered with 488 Not Acceptable Here when nothing in the offer is
/// usable ([`OfferError::status_code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfferError {
    /// The body is not valid SDP.
    #[error("malformed SDP: {0}")]
    Malformed(#[from] SdpError),
    /// There is no m-line at that index.
    #[error("no m-line {0}")]
    MissingMedia(usize),
    /// The m-line is not audio.
    #[error("m-line is {0}, not audio")]
    NotAudio(String),
    /// The m-line has port 0: answer it with [`MediaDescription::disabled`].
    #[error("the m-line is disabled (port 0)")]
    MediaDisabled,
    /// The transport is not `RTP/AVP`, `RTP/SAVP`, `RTP/AVPF` or `RTP/SAVPF`.
    #[error("unsupported transport {0}")]
    UnsupportedTransport(String),
    /// Neither the m-line nor the session has a `c=` line.
    #[error("no connection address")]
    MissingConnection,
    /// The `c=` address is no unicast IP address.
    #[error("unusable connection address")]
    InvalidConnectionAddress,
    /// The RTP port leaves no room for RTCP (65535).
    #[error("invalid port")]
    InvalidPort,
    /// No offered codec is in our list.
    #[error("no codec in common")]
    NoCommonCodec,
    /// We require SRTP and the offer has no `a=crypto`.
    #[error("SRTP is required but the offer has no a=crypto")]
    SrtpRequired,
    /// The offer requires SRTP (`RTP/SAVP`) and ours is disabled.
    #[error("the offer requires SRTP but SRTP is disabled")]
    SrtpDisabled,
    /// SRTP must be used and no offered crypto line is usable (suite, key,
    /// MKI or session parameters we do not implement).
    #[error("no supported SRTP crypto suite")]
    NoSupportedCryptoSuite,
    /// An answer built for the offer does not have one m-line per offered one.
    #[error("{answer} answered m-lines for {offer} offered")]
    MediaCountMismatch {
        /// Offered m-lines.
        offer: usize,
        /// Answered m-lines.
        answer: usize,
    },
    /// An m-line has another media type than the one it answers, or (in a
    /// re-offer) than the m-line in use at its index.
    #[error("m-line {0} changed its media type")]
    MediaTypeChanged(usize),
    /// A re-offer has fewer m-lines than before (RFC 3264 §8).
    #[error("a re-offer removed m-lines")]
    MediaRemoved,
}

impl OfferError {
    /// The SIP status to refuse the offer with: 488.
    pub fn status_code(&self) -> u16 {
        488
    }

    /// The reason phrase for [`OfferError::status_code`].
    pub fn reason_phrase(&self) -> &'static str {
        "Not Acceptable Here"
    }
}

/// Why an answer to our offer is unusable (the session then ends or
/// renegotiates the stream; RFC 3264 leaves that to the offerer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// The body is not valid SDP.
    #[error("malformed SDP: {0}")]
    Malformed(#[from] SdpError),
    /// There is no m-line at that index.
    #[error("no m-line {0}")]
    MissingMedia(usize),
    /// The answer does not have one m-line per offered m-line.
    #[error("{answer} answered m-lines for {offer} offered")]
    MediaCountMismatch {
        /// Offered m-lines.
        offer: usize,
        /// Answered m-lines.
        answer: usize,
    },
    /// The answered m-line has another media type than offered.
    #[error("m-line {0} has another media type than offered")]
    MediaTypeMismatch(usize),
    /// The peer rejected the stream (port 0).
    #[error("the stream was rejected")]
    Rejected,
    /// The answer's transport is no RTP profile, or is `RTP/SAVP` without a
    /// key we can use.
    #[error("answered transport {answered} for offered {offered}")]
    TransportMismatch {
        /// What we offered.
        offered: String,
        /// What came back.
        answered: String,
    },
    /// Neither the m-line nor the session has a `c=` line.
    #[error("no connection address")]
    MissingConnection,
    /// The `c=` address is no unicast IP address.
    #[error("unusable connection address")]
    InvalidConnectionAddress,
    /// The RTP port leaves no room for RTCP (65535).
    #[error("invalid port")]
    InvalidPort,
    /// No answered codec was offered.
    #[error("no codec in common")]
    NoCommonCodec,
    /// We required SRTP and the answer has no key.
    #[error("SRTP is required but the answer has no a=crypto")]
    SrtpRequired,
    /// The answer's `a=crypto` does not match an offered tag and suite, or
    /// its key is unusable.
    #[error("invalid a=crypto in the answer: {0}")]
    InvalidCrypto(&'static str),
}

fn is_rtp_transport(protocol: &str) -> Option<bool> {
    ["RTP/AVP", "RTP/AVPF"]
        .iter()
        .any(|p| p.eq_ignore_ascii_case(protocol))
        .then_some(false)
        .or_else(|| ["RTP/SAVP", "RTP/SAVPF"].iter().any(|p| p.eq_ignore_ascii_case(protocol)).then_some(true))
}

/// Session parameters of RFC 4568 §6.3 we do not implement (`WSH` is only a
/// hint; `KDR=0` is the default).
fn unsupported_session_param(param: &str) -> bool {
    let upper = param.to_ascii_uppercase();
    match upper.split_once('=') {
        Some(("KDR", v)) => v != "0",
        Some(("WSH", _)) => false,
        _ => true,
    }
}

/// The usable key of an `a=crypto` line: a suite we implement, one inline
/// key of the right length, no MKI and no session parameters we do not
/// implement.
fn usable_crypto(crypto: &Crypto) -> Option<(SrtpSuite, SrtpKey)> {
    let suite = SrtpSuite::from_crypto_suite(&crypto.suite)?;
    if crypto.key_params.len() != 1 || crypto.key_params[0].mki.is_some() {
        return None;
    }
    if crypto.session_params.iter().any(|p| unsupported_session_param(p)) {
        return None;
    }
    let key = crypto.key_salt()?;
    (key.len() == suite.key_salt_len()).then_some((suite, SrtpKey(key)))
}

/// The peer's RTP and RTCP addresses for m-line `index`, and its direction
/// with the RFC 2543 hold (`c=0.0.0.0`) folded in.
fn remote_transport(
    sdp: &SessionDescription,
    index: usize,
) -> Result<(SocketAddr, SocketAddr, Direction), TransportError> {
    let media = &sdp.media[index];
    let connection = sdp.media_connection(index).ok_or(TransportError::MissingConnection)?;
    let ip = connection.ip().ok_or(TransportError::InvalidAddress)?;
    if ip.is_multicast() {
        return Err(TransportError::InvalidAddress);
    }
    let mut direction = sdp.media_direction(index).unwrap_or_default();
    if ip.is_unspecified() {
        direction = direction.intersect(Direction::SendOnly);
    }
    let rtcp = match media.get::<Rtcp>() {
        Some(Ok(rtcp)) if rtcp.port != 0 => {
            let rtcp_ip = rtcp.connection.and_then(|c| c.ip()).unwrap_or(ip);
            SocketAddr::new(rtcp_ip, rtcp.port)
        }
        _ => SocketAddr::new(ip, media.port.checked_add(1).ok_or(TransportError::InvalidPort)?),
    };
    Ok((SocketAddr::new(ip, media.port), rtcp, direction))
}

enum TransportError {
    MissingConnection,
    InvalidAddress,
    InvalidPort,
}

impl From<TransportError> for OfferError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::MissingConnection => OfferError::MissingConnection,
            TransportError::InvalidAddress => OfferError::InvalidConnectionAddress,
            TransportError::InvalidPort => OfferError::InvalidPort,
        }
    }
}

impl From<TransportError> for AnswerError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::MissingConnection => AnswerError::MissingConnection,
            TransportError::InvalidAddress => AnswerError::InvalidConnectionAddress,
            TransportError::InvalidPort => AnswerError::InvalidPort,
        }
    }
}

/// The telephone-event to send DTMF with: the one at the codec's clock
/// rate, else the first.
fn pick_telephone_event(formats: &[PayloadFormat], codec: AudioCodec) -> Option<TelephoneEvent> {
    let events = formats.iter().filter_map(|p| match p.format {
        AudioFormat::TelephoneEvent { clock_rate } => Some(TelephoneEvent { payload_type: p.payload_type, clock_rate }),
        AudioFormat::Codec(_) => None,
    });
    let events: Vec<_> = events.collect();
    events.iter().find(|e| e.clock_rate == codec.rtp_clock_rate()).or(events.first()).copied()
}

/// Writes an audio m-line: rtpmap/fmtp for each format, ptime, rtcp,
/// direction and crypto lines.
fn audio_media(
    config: &AudioConfig,
    protocol: &str,
    formats: &[PayloadFormat],
    direction: Direction,
    cryptos: &[Crypto],
) -> MediaDescription {
    let mut media =
        MediaDescription::new("audio", config.rtp_port, protocol, formats.iter().map(|p| p.payload_type.to_string()))
            .with_connection(Connection::from_ip(config.address));
    for p in formats {
        media.push(&p.format.rtpmap(p.payload_type));
        if let Some(fmtp) = p.format.fmtp(p.payload_type) {
            media.push(&fmtp);
        }
    }
    media.push(&Ptime(config.ptime));
    if let Some(rtcp) = config.rtcp_attribute() {
        media.push(&rtcp);
    }
    media.set_direction(direction);
    for crypto in cryptos {
        media.push(crypto);
    }
    media
}

/// Gives every format a payload type: kept numbers first, then defaults,
/// then the lowest free dynamic number.
fn allocate_payload_types(config: &AudioConfig, formats: &[AudioFormat]) -> Vec<PayloadFormat> {
    let mut used = [false; 128];
    let mut assigned: Vec<Option<u8>> = vec![None; formats.len()];
    let valid = |format: AudioFormat, pt: u8| match format {
        AudioFormat::Codec(c) if c.static_payload_type().is_some() => c.static_payload_type() == Some(pt),
        _ => (96..=127).contains(&pt),
    };
    let hints = formats.iter().map(|f| config.payload_types.iter().find(|p| p.format == *f).map(|p| p.payload_type));
    let defaults = formats.iter().map(|f| f.default_payload_type());
    for candidates in [hints.collect::<Vec<_>>(), defaults.collect::<Vec<_>>()] {
        for (i, pt) in candidates.into_iter().enumerate() {
            if let Some(pt) = pt.filter(|pt| assigned[i].is_none() && valid(formats[i], *pt) && !used[*pt as usize]) {
                used[pt as usize] = true;
                assigned[i] = Some(pt);
            }
        }
    }
    for slot in assigned.iter_mut().filter(|a| a.is_none()) {
        if let Some(pt) = (96..=127u8).find(|pt| !used[*pt as usize]) {
            used[pt as usize] = true;
            *slot = Some(pt);
        }
    }
    formats
        .iter()
        .zip(assigned)
        .filter_map(|(format, pt)| pt.map(|payload_type| PayloadFormat { payload_type, format: *format }))
        .collect()
}

/// Our audio offer: the m-line to send, and what we need to read the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioOffer {
    media: MediaDescription,
    formats: Vec<PayloadFormat>,
    keys: Vec<(u32, SrtpSuite, SrtpKey)>,
    srtp: SrtpMode,
    direction: Direction,
}

impl AudioOffer {
    /// Builds the offer: codecs in preference order, one telephone-event per
    /// clock rate, `a=ptime`, direction, and crypto lines per the SRTP mode
    /// (keys from `keys`).
    pub fn new(config: &AudioConfig, keys: &mut dyn KeyGenerator) -> AudioOffer {
        let mut formats: Vec<AudioFormat> = config.codecs.as_slice().iter().map(|c| AudioFormat::Codec(*c)).collect();
        let mut rates: Vec<u32> = Vec::new();
        for c in config.codecs.as_slice() {
            if !rates.contains(&c.rtp_clock_rate()) {
                rates.push(c.rtp_clock_rate());
            }
        }
        formats.extend(rates.into_iter().map(|clock_rate| AudioFormat::TelephoneEvent { clock_rate }));
        let formats = allocate_payload_types(config, &formats);
        let key_list: Vec<(u32, SrtpSuite, SrtpKey)> = match config.srtp {
            SrtpMode::Disabled => Vec::new(),
            SrtpMode::Optional | SrtpMode::Required => {
                (1..).zip(SrtpSuite::ALL).map(|(tag, suite)| (tag, suite, generate_key(keys, suite))).collect()
            }
        };
        let cryptos: Vec<Crypto> =
            key_list.iter().map(|(tag, suite, key)| Crypto::new(*tag, suite.crypto_suite(), key.as_bytes())).collect();
        let protocol = if config.srtp == SrtpMode::Required { "RTP/SAVP" } else { "RTP/AVP" };
        let media = audio_media(config, protocol, &formats, config.direction, &cryptos);
        AudioOffer { media, formats, keys: key_list, srtp: config.srtp, direction: config.direction }
    }

    /// The m-line to put in the offer.
    pub fn media(&self) -> &MediaDescription {
        &self.media
    }

    /// The payload types we offered (what the peer may send us).
    pub fn formats(&self) -> &[PayloadFormat] {
        &self.formats
    }

    /// Reads the answer to this offer at m-line `index`: the first answered
    /// codec we offered is the one we send, with the answer's payload type.
    ///
    /// As PJSIP does, `RTP/AVP` and `RTP/SAVP` answers are both taken for
    /// either offer, the keys deciding: an `RTP/SAVP` answer needs a usable
    /// `a=crypto`, and [`SrtpMode::Required`] needs one whatever the profile.
    pub fn process_answer(&self, answer: &SessionDescription, index: usize) -> Result<NegotiatedAudio, AnswerError> {
        let media = answer.media.get(index).ok_or(AnswerError::MissingMedia(index))?;
        if !media.is_media("audio") {
            return Err(AnswerError::MediaTypeMismatch(index));
        }
        if media.is_disabled() {
            return Err(AnswerError::Rejected);
        }
        let mismatch = || AnswerError::TransportMismatch {
            offered: self.media.protocol.clone(),
            answered: media.protocol.clone(),
        };
        let secure_transport = is_rtp_transport(&media.protocol).ok_or_else(mismatch)?;
        let (remote_rtp, remote_rtcp, remote_direction) = remote_transport(answer, index)?;
        let offered: HashSet<AudioFormat> = self.formats.iter().map(|p| p.format).collect();
        let answered: Vec<PayloadFormat> =
            audio_formats(media).into_iter().filter(|p| offered.contains(&p.format)).collect();
        let (payload_type, codec) = answered
            .iter()
            .find_map(|p| p.format.codec().map(|c| (p.payload_type, c)))
            .ok_or(AnswerError::NoCommonCodec)?;
        let answered_set: HashSet<AudioFormat> = answered.iter().map(|p| p.format).collect();
        let srtp = self.answer_srtp(media)?;
        if secure_transport && srtp.is_none() {
            return Err(mismatch());
        }
        Ok(NegotiatedAudio {
            codec,
            payload_type,
            codec_parameters: media.fmtp(payload_type).map(|f| f.parameters),
            telephone_event: pick_telephone_event(&answered, codec),
            receive: self.formats.iter().filter(|p| answered_set.contains(&p.format)).copied().collect(),
            remote_rtp,
            remote_rtcp,
            remote_ptime: media.get::<Ptime>().and_then(Result::ok).map(|p| p.0),
            direction: self.direction.intersect(remote_direction.reverse()),
            remote_direction,
            srtp,
        })
    }

    fn answer_srtp(&self, media: &MediaDescription) -> Result<Option<SrtpParameters>, AnswerError> {
        if self.srtp == SrtpMode::Disabled {
            return Ok(None);
        }
        let Some(attribute) = media.get::<Crypto>() else {
            return match self.srtp {
                SrtpMode::Required => Err(AnswerError::SrtpRequired),
                _ => Ok(None),
            };
        };
        let crypto = attribute.map_err(|_| AnswerError::InvalidCrypto("unreadable a=crypto"))?;
        let (_, suite, local_key) = self
            .keys
            .iter()
            .find(|(tag, _, _)| *tag == crypto.tag)
            .ok_or(AnswerError::InvalidCrypto("tag was not offered"))?;
        if suite.crypto_suite() != crypto.suite {
            return Err(AnswerError::InvalidCrypto("suite differs from the offered one"));
        }
        let (_, remote_key) = usable_crypto(&crypto).ok_or(AnswerError::InvalidCrypto("unusable key"))?;
        Ok(Some(SrtpParameters { suite: *suite, tag: crypto.tag, local_key: local_key.clone(), remote_key }))
    }
}

/// Our answer to an audio m-line of an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioAnswer {
    /// The m-line to put in the answer.
    pub media: MediaDescription,
    /// What was agreed.
    pub negotiated: NegotiatedAudio,
}

/// Answers the audio m-line `index` of `offer` (RFC 3264 §6): the common
/// codecs in the offer's order with its payload type numbers,
/// telephone-event when offered, the direction that fits both sides, and an
/// SDES key of ours when SRTP is used (keys from `keys`).
///
/// A port-0 m-line gives [`OfferError::MediaDisabled`]: answer it with
/// [`MediaDescription::disabled`]. Every other error means the stream cannot
/// be accepted; when no stream of the offer can, the session answers 488.
pub fn negotiate_answer(
    offer: &SessionDescription,
    index: usize,
    config: &AudioConfig,
    keys: &mut dyn KeyGenerator,
) -> Result<AudioAnswer, OfferError> {
    let media = offer.media.get(index).ok_or(OfferError::MissingMedia(index))?;
    if !media.is_media("audio") {
        return Err(OfferError::NotAudio(media.media_type.clone()));
    }
    if media.is_disabled() {
        return Err(OfferError::MediaDisabled);
    }
    let secure_transport =
        is_rtp_transport(&media.protocol).ok_or_else(|| OfferError::UnsupportedTransport(media.protocol.clone()))?;
    let (remote_rtp, remote_rtcp, remote_direction) = remote_transport(offer, index)?;

    let mut seen = HashSet::new();
    let offered = audio_formats(media);
    let codecs: Vec<PayloadFormat> = offered
        .iter()
        .filter(|p| p.format.codec().is_some_and(|c| config.codecs.contains(c)) && seen.insert(p.format))
        .copied()
        .collect();
    let (payload_type, codec) = match codecs.first() {
        Some(PayloadFormat { payload_type, format: AudioFormat::Codec(c) }) => (*payload_type, *c),
        _ => return Err(OfferError::NoCommonCodec),
    };
    let events: Vec<PayloadFormat> =
        offered.iter().filter(|p| matches!(p.format, AudioFormat::TelephoneEvent { .. })).copied().collect();
    let mut chosen_events: Vec<PayloadFormat> = Vec::new();
    for rate in codecs.iter().map(|p| p.format.clock_rate()) {
        if let Some(e) = events.iter().find(|e| e.format.clock_rate() == rate)
            && !chosen_events.contains(e)
        {
            chosen_events.push(*e);
        }
    }
    if chosen_events.is_empty() {
        chosen_events.extend(events.first());
    }
    let answered: Vec<PayloadFormat> = codecs.iter().chain(&chosen_events).copied().collect();

    let srtp = answer_crypto(media, secure_transport, config.srtp, keys)?;
    let cryptos: Vec<Crypto> =
        srtp.iter().map(|s| Crypto::new(s.tag, s.suite.crypto_suite(), s.local_key.as_bytes())).collect();
    let direction = config.direction.intersect(remote_direction.reverse());
    let answer = audio_media(config, &media.protocol, &answered, direction, &cryptos);
    let negotiated = NegotiatedAudio {
        codec,
        payload_type,
        codec_parameters: media.fmtp(payload_type).map(|f| f.parameters),
        telephone_event: pick_telephone_event(&answered, codec),
        receive: answered,
        remote_rtp,
        remote_rtcp,
        remote_ptime: media.get::<Ptime>().and_then(Result::ok).map(|p| p.0),
        direction,
        remote_direction,
        srtp,
    };
    Ok(AudioAnswer { media: answer, negotiated })
}

fn answer_crypto(
    media: &MediaDescription,
    secure_transport: bool,
    mode: SrtpMode,
    keys: &mut dyn KeyGenerator,
) -> Result<Option<SrtpParameters>, OfferError> {
    if mode == SrtpMode::Disabled {
        return if secure_transport { Err(OfferError::SrtpDisabled) } else { Ok(None) };
    }
    let offered = media.cryptos();
    let chosen = offered.iter().find_map(|c| usable_crypto(c).map(|(suite, key)| (c.tag, suite, key)));
    match chosen {
        Some((tag, suite, remote_key)) => {
            Ok(Some(SrtpParameters { suite, tag, local_key: generate_key(keys, suite), remote_key }))
        }
        None if !secure_transport && mode == SrtpMode::Optional => Ok(None),
        None if offered.is_empty() && !media.has_attribute("crypto") => {
            Err(if secure_transport { OfferError::NoSupportedCryptoSuite } else { OfferError::SrtpRequired })
        }
        None => Err(OfferError::NoSupportedCryptoSuite),
    }
}

/// Checks that `answer` answers `offer`: one m-line per offered one, of the
/// same media type (RFC 3264 §6).
pub fn validate_answer(offer: &SessionDescription, answer: &SessionDescription) -> Result<(), AnswerError> {
    if offer.media.len() != answer.media.len() {
        return Err(AnswerError::MediaCountMismatch { offer: offer.media.len(), answer: answer.media.len() });
    }
    match offer.media.iter().zip(&answer.media).position(|(o, a)| !o.is_media(&a.media_type)) {
        Some(index) => Err(AnswerError::MediaTypeMismatch(index)),
        None => Ok(()),
    }
}

/// Checks a re-offer against the last negotiated descriptions (RFC 3264
/// §8): it keeps every m-line, and an m-line keeps its media type unless
/// its slot was disabled (port 0) on either side, which makes it reusable.
pub fn validate_offer_update(
    previous_local: &SessionDescription,
    previous_remote: &SessionDescription,
    offer: &SessionDescription,
) -> Result<(), OfferError> {
    if offer.media.len() < previous_local.media.len() || offer.media.len() < previous_remote.media.len() {
        return Err(OfferError::MediaRemoved);
    }
    for (index, new) in offer.media.iter().enumerate() {
        let (Some(local), Some(remote)) = (previous_local.media.get(index), previous_remote.media.get(index)) else {
            continue;
        };
        let reusable = local.is_disabled() || remote.is_disabled();
        if !reusable && !new.is_media(&remote.media_type) {
            return Err(OfferError::MediaTypeChanged(index));
        }
    }
    Ok(())
}

/// The local side's SDP session: the `o=` line (a random session id that
/// stays, a version that increments by one on every description produced,
/// RFC 3264 §8) and the session-level `c=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSdp {
    username: String,
    session_id: u64,
    version: Option<u64>,
    address: IpAddr,
    session_name: String,
}

impl LocalSdp {
    /// A session with a random id (below 2^31, which every peer's parser holds).
    pub fn new(address: IpAddr) -> Self {
        LocalSdp::with_session_id(address, rand::rng().random_range(1..(1u64 << 31)))
    }

    /// A session with a chosen id (tests).
    pub fn with_session_id(address: IpAddr, session_id: u64) -> Self {
        LocalSdp { username: "-".to_owned(), session_id, version: None, address, session_name: "-".to_owned() }
    }

    /// The session id of the `o=` line.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// The version of the last description produced (`None` before the
    /// first; the first one has the session id as version).
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// The address written in `o=` and the session-level `c=`.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// Changes the address (e.g. after a network change); the next
    /// description carries it.
    pub fn set_address(&mut self, address: IpAddr) {
        self.address = address;
    }

    /// Sets the `o=` user name (`-` by default).
    pub fn set_username(&mut self, username: impl Into<String>) {
        self.username = username.into();
    }

    /// Sets the `s=` line (`-` by default).
    pub fn set_session_name(&mut self, name: impl Into<String>) {
        self.session_name = name.into();
    }

    /// A new offer with these m-lines (the next version).
    pub fn offer(&mut self, media: Vec<MediaDescription>) -> SessionDescription {
        self.describe(media)
    }

    /// A new answer to `offer` with these m-lines (the next version); they
    /// must match the offer one for one, in media type.
    pub fn answer(
        &mut self,
        offer: &SessionDescription,
        media: Vec<MediaDescription>,
    ) -> Result<SessionDescription, OfferError> {
        if media.len() != offer.media.len() {
            return Err(OfferError::MediaCountMismatch { offer: offer.media.len(), answer: media.len() });
        }
        if let Some(index) = offer.media.iter().zip(&media).position(|(o, a)| !o.is_media(&a.media_type)) {
            return Err(OfferError::MediaTypeChanged(index));
        }
        Ok(self.describe(media))
    }

    fn describe(&mut self, mut media: Vec<MediaDescription>) -> SessionDescription {
        let version = match self.version {
            None => self.session_id,
            Some(v) => v.wrapping_add(1),
        };
        self.version = Some(version);
        for m in &mut media {
            m.connections.retain(|c| c.ip() != Some(self.address));
        }
        let mut origin = Origin::new(self.session_id.to_string(), version, self.address);
        origin.username = self.username.clone();
        let mut sdp = SessionDescription::new(origin);
        sdp.session_name = self.session_name.clone();
        sdp.connection = Some(Connection::from_ip(self.address));
        sdp.media = media;
        sdp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

    /// Deterministic keys: every byte is `seed`, and `seed` increments per key.
    fn counting_keys(seed: u8) -> impl FnMut(&mut [u8]) {
        let mut next = seed;
        move |buf: &mut [u8]| {
            buf.fill(next);
            next = next.wrapping_add(1);
        }
    }

    fn sdp(text: &str) -> SessionDescription {
        SessionDescription::parse(text.replace('\n', "\r\n").as_bytes()).expect("valid test SDP")
    }

    fn offer_sdp(config: &AudioConfig, seed: u8) -> (AudioOffer, SessionDescription) {
        let offer = AudioOffer::new(config, &mut counting_keys(seed));
        let sdp = LocalSdp::with_session_id(LOCAL, 1000).offer(vec![offer.media().clone()]);
        (offer, SessionDescription::parse(&sdp.to_bytes()).expect("own offer parses"))
    }

    #[test]
    fn codec_names_like_the_settings() {
        let codecs = AudioCodecs::parse("opus, G722, PCMU, PCMA").unwrap();
        assert_eq!(codecs, AudioCodecs::default());
        assert_eq!(
            AudioCodecs::from_names(["pcma", "speex", "G729", "OPUS"]).unwrap().as_slice(),
            &[AudioCodec::Pcma, AudioCodec::Opus]
        );
        assert_eq!(AudioCodecs::from_names(["PCMU", "PCMU"]).unwrap().as_slice(), &[AudioCodec::Pcmu]);
        assert_eq!(AudioCodecs::from_names(["G729"]), Err(CodecListError::Empty));
        assert_eq!(AudioCodecs::parse("PCMU, wav"), Err(CodecListError::UnknownCodec("wav".into())));
        assert_eq!(AudioCodecs::parse(""), Err(CodecListError::Empty));
        assert_eq!(AudioCodec::G722.rtp_clock_rate(), 8000);
        assert_eq!(AudioCodec::G722.sample_rate(), 16000);
    }

    #[test]
    fn offer_lists_codecs_in_preference_order_with_one_telephone_event_per_rate() {
        let mut config = AudioConfig::new(LOCAL, 50000);
        config.srtp = SrtpMode::Disabled;
        let (_, sdp) = offer_sdp(&config, 1);
        let text = sdp.to_string();
        let expected = "v=0\r\n\
            o=- 1000 1000 IN IP4 127.0.0.1\r\n\
            s=-\r\n\
            c=IN IP4 127.0.0.1\r\n\
            t=0 0\r\n\
            m=audio 50000 RTP/AVP 96 9 0 8 97 101\r\n\
            a=rtpmap:96 opus/48000/2\r\n\
            a=fmtp:96 useinbandfec=1\r\n\
            a=rtpmap:9 G722/8000\r\n\
            a=rtpmap:0 PCMU/8000\r\n\
            a=rtpmap:8 PCMA/8000\r\n\
            a=rtpmap:97 telephone-event/48000\r\n\
            a=fmtp:97 0-16\r\n\
            a=rtpmap:101 telephone-event/8000\r\n\
            a=fmtp:101 0-16\r\n\
            a=ptime:20\r\n\
            a=sendrecv\r\n";
        assert_eq!(text, expected);

        config.codecs = AudioCodecs::from_names(["PCMA", "PCMU"]).unwrap();
        let (offer, _) = offer_sdp(&config, 1);
        assert_eq!(offer.media().formats, ["8", "0", "101"]);
    }

    #[test]
    fn offer_srtp_modes() {
        let mut config = AudioConfig::new(LOCAL, 50000);
        config.codecs = AudioCodecs::from_names(["PCMU"]).unwrap();
        config.srtp = SrtpMode::Required;
        let (offer, _) = offer_sdp(&config, 7);
        assert_eq!(offer.media().protocol, "RTP/SAVP");
        let cryptos = offer.media().cryptos();
        assert_eq!(cryptos.len(), 2);
        assert_eq!((cryptos[0].tag, &cryptos[0].suite), (1, &CryptoSuite::AesCm128HmacSha1_80));
        assert_eq!((cryptos[1].tag, &cryptos[1].suite), (2, &CryptoSuite::AesCm128HmacSha1_32));
        assert_eq!(cryptos[0].key_salt().unwrap(), vec![7u8; 30]);
        assert_eq!(cryptos[1].key_salt().unwrap(), vec![8u8; 30]);

        config.srtp = SrtpMode::Optional;
        let (offer, _) = offer_sdp(&config, 7);
        assert_eq!(offer.media().protocol, "RTP/AVP");
        assert_eq!(offer.media().cryptos().len(), 2);

        config.srtp = SrtpMode::Disabled;
        let (offer, _) = offer_sdp(&config, 7);
        assert_eq!(offer.media().protocol, "RTP/AVP");
        assert!(!offer.media().has_attribute("crypto"));
    }

    #[test]
    fn offer_writes_rtcp_only_for_a_non_default_port() {
        let mut config = AudioConfig::new(LOCAL, 50000);
        config.rtcp_port = Some(50001);
        assert!(!AudioOffer::new(&config, &mut RandomKeys).media().has_attribute("rtcp"));
        config.rtcp_port = Some(50011);
        let offer = AudioOffer::new(&config, &mut RandomKeys);
        assert_eq!(offer.media().get::<Rtcp>(), Some(Ok(Rtcp { port: 50011, connection: None })));
    }

    #[test]
    fn random_keys_differ() {
        let config = AudioConfig::new(LOCAL, 50000);
        let a = AudioOffer::new(&config, &mut RandomKeys).media().cryptos();
        let b = AudioOffer::new(&config, &mut RandomKeys).media().cryptos();
        assert_ne!(a[0].key_salt(), b[0].key_salt());
        assert_ne!(a[0].key_salt(), a[1].key_salt());
    }

    #[test]
    fn kept_payload_types_survive_and_collisions_move_defaults() {
        let mut config = AudioConfig::new(LOCAL, 50000);
        config.srtp = SrtpMode::Disabled;
        config.payload_types = vec![
            PayloadFormat { payload_type: 111, format: AudioFormat::Codec(AudioCodec::Opus) },
            PayloadFormat { payload_type: 96, format: AudioFormat::TelephoneEvent { clock_rate: 48000 } },
            // A kept number that is not valid for the format is ignored.
            PayloadFormat { payload_type: 120, format: AudioFormat::Codec(AudioCodec::Pcmu) },
        ];
        let offer = AudioOffer::new(&config, &mut RandomKeys);
        assert_eq!(offer.media().formats, ["111", "9", "0", "8", "96", "101"]);
        assert_eq!(offer.media().rtpmap(96).unwrap().encoding_name, "telephone-event");

        config.payload_types =
            vec![PayloadFormat { payload_type: 96, format: AudioFormat::TelephoneEvent { clock_rate: 8000 } }];
        let offer = AudioOffer::new(&config, &mut RandomKeys);
        // opus loses its default 96 and takes the lowest free dynamic number.
        assert_eq!(offer.media().formats, ["98", "9", "0", "8", "97", "96"]);
    }

    #[test]
    fn offer_direction_for_hold_states() {
        assert_eq!(offer_direction(false, false), Direction::SendRecv);
        assert_eq!(offer_direction(false, true), Direction::SendRecv);
        assert_eq!(offer_direction(true, false), Direction::SendOnly);
        assert_eq!(offer_direction(true, true), Direction::Inactive);
    }

    #[test]
    fn local_sdp_versions_increment_and_connection_is_hoisted() {
        let mut local = LocalSdp::with_session_id(LOCAL, 4242);
        assert_eq!(local.version(), None);
        let config = AudioConfig::new(LOCAL, 40000);
        let m = AudioOffer::new(&config, &mut RandomKeys).media().clone();
        let first = local.offer(vec![m.clone()]);
        assert_eq!((first.origin.session_id.as_str(), first.origin.version), ("4242", 4242));
        assert!(first.media[0].connections.is_empty(), "same address as the session: no media c=");
        assert_eq!(first.connection, Some(Connection::from_ip(LOCAL)));
        let second = local.offer(vec![m.clone()]);
        assert_eq!(second.origin.version, 4243);
        let answer = local.answer(&second, vec![m.clone()]).unwrap();
        assert_eq!(answer.origin.version, 4244);
        assert_eq!(local.version(), Some(4244));
        assert!(!second.is_same_version_as(&first));
        assert!(second.is_same_version_as(&second.clone()));

        let other: IpAddr = "10.0.0.1".parse().unwrap();
        let mut config = config.clone();
        config.address = other;
        let m2 = AudioOffer::new(&config, &mut RandomKeys).media().clone();
        let mixed = local.offer(vec![m2]);
        assert_eq!(mixed.media[0].connections, vec![Connection::from_ip(other)]);
        assert_eq!(mixed.media_connection(0).and_then(Connection::ip), Some(other));

        assert_eq!(local.answer(&second, vec![]), Err(OfferError::MediaCountMismatch { offer: 1, answer: 0 }));
        let random = LocalSdp::new(LOCAL);
        assert!((1..(1u64 << 31)).contains(&random.session_id()));
    }

    fn answer_for(offer_text: &str, config: &AudioConfig) -> Result<AudioAnswer, OfferError> {
        negotiate_answer(&sdp(offer_text), 0, config, &mut counting_keys(0x40))
    }

    const PLAIN_OFFER: &str = "v=0
o=- 1 1 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=audio 30000 RTP/AVP 8 0 9 101
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
";

    #[test]
    fn answer_intersects_codecs_in_offer_order_with_offer_payload_types() {
        let mut config = AudioConfig::new(LOCAL, 40000);
        config.codecs = AudioCodecs::from_names(["G722", "PCMU"]).unwrap();
        let answer = answer_for(PLAIN_OFFER, &config).unwrap();
        assert_eq!(answer.media.formats, ["0", "9", "101"]);
        assert_eq!(answer.media.protocol, "RTP/AVP");
        let n = &answer.negotiated;
        assert_eq!((n.codec, n.payload_type), (AudioCodec::Pcmu, 0));
        assert_eq!(n.telephone_event, Some(TelephoneEvent { payload_type: 101, clock_rate: 8000 }));
        assert_eq!(n.remote_rtp, "192.0.2.10:30000".parse().unwrap());
        assert_eq!(n.remote_rtcp, "192.0.2.10:30001".parse().unwrap());
        assert_eq!(n.direction, Direction::SendRecv);
        assert_eq!(n.srtp, None);
        assert_eq!(n.received_format(9), Some(AudioFormat::Codec(AudioCodec::G722)));
        assert_eq!(n.received_format(8), None);
        assert_eq!(answer.media.direction(), Some(Direction::SendRecv));
        assert_eq!(answer.media.get::<Ptime>(), Some(Ok(Ptime(20))));
    }

    #[test]
    fn answer_without_common_codec_is_488() {
        let mut config = AudioConfig::new(LOCAL, 40000);
        config.codecs = AudioCodecs::from_names(["opus"]).unwrap();
        let err = answer_for(PLAIN_OFFER, &config).unwrap_err();
        assert_eq!(err, OfferError::NoCommonCodec);
        assert_eq!((err.status_code(), err.reason_phrase()), (488, "Not Acceptable Here"));
    }

    #[test]
    fn answer_directions() {
        let config = AudioConfig::new(LOCAL, 40000);
        let cases = [
            ("sendrecv", Direction::SendRecv, Direction::SendRecv),
            ("sendonly", Direction::RecvOnly, Direction::SendRecv),
            ("recvonly", Direction::SendOnly, Direction::SendRecv),
            ("inactive", Direction::Inactive, Direction::SendRecv),
            // We hold (sendonly) while the peer offers:
            ("sendrecv", Direction::SendOnly, Direction::SendOnly),
            ("sendonly", Direction::Inactive, Direction::SendOnly),
            ("recvonly", Direction::SendOnly, Direction::SendOnly),
            ("inactive", Direction::Inactive, Direction::Inactive),
        ];
        for (offered, expected, ours) in cases {
            let mut config = config.clone();
            config.direction = ours;
            let text = format!("{PLAIN_OFFER}a={offered}\n");
            let answer = answer_for(&text, &config).unwrap();
            assert_eq!(answer.media.direction(), Some(expected), "offer {offered}, ours {ours}");
            assert_eq!(answer.negotiated.direction, expected);
            assert_eq!(answer.negotiated.remote_on_hold(), !Direction::from_name(offered).unwrap().receives());
        }
        // Session-level direction applies; media-level wins over it.
        let text = PLAIN_OFFER.replace("t=0 0\n", "t=0 0\na=sendonly\n");
        assert_eq!(answer_for(&text, &config).unwrap().negotiated.direction, Direction::RecvOnly);
        let text = format!("{text}a=sendrecv\n");
        assert_eq!(answer_for(&text, &config).unwrap().negotiated.direction, Direction::SendRecv);
        // RFC 2543 hold: c=0.0.0.0.
        let text = PLAIN_OFFER.replace("c=IN IP4 192.0.2.10", "c=IN IP4 0.0.0.0");
        let answer = answer_for(&text, &config).unwrap();
        assert_eq!(answer.negotiated.direction, Direction::RecvOnly);
        assert!(answer.negotiated.remote_on_hold());
    }

    #[test]
    fn answer_transport_and_connection_errors() {
        let config = AudioConfig::new(LOCAL, 40000);
        let cases = [
            (
                PLAIN_OFFER.replace("RTP/AVP", "UDP/TLS/RTP/SAVPF"),
                OfferError::UnsupportedTransport("UDP/TLS/RTP/SAVPF".into()),
            ),
            (PLAIN_OFFER.replace("c=IN IP4 192.0.2.10\n", ""), OfferError::MissingConnection),
            (PLAIN_OFFER.replace("192.0.2.10\nt", "pbx.example.com\nt"), OfferError::InvalidConnectionAddress),
            (PLAIN_OFFER.replace("192.0.2.10\nt", "224.2.1.1/127\nt"), OfferError::InvalidConnectionAddress),
            (PLAIN_OFFER.replace("30000", "65535"), OfferError::InvalidPort),
            (PLAIN_OFFER.replace("30000", "0"), OfferError::MediaDisabled),
            (PLAIN_OFFER.replace("m=audio", "m=video"), OfferError::NotAudio("video".into())),
        ];
        for (text, expected) in cases {
            assert_eq!(answer_for(&text, &config).unwrap_err(), expected, "{text}");
        }
        assert_eq!(
            negotiate_answer(&sdp(PLAIN_OFFER), 3, &config, &mut RandomKeys).unwrap_err(),
            OfferError::MissingMedia(3)
        );
        // AVPF is answered like AVP, with the offer's protocol.
        let avpf = answer_for(&PLAIN_OFFER.replace("RTP/AVP", "RTP/AVPF"), &config).unwrap();
        assert_eq!(avpf.media.protocol, "RTP/AVPF");
        // a=rtcp with an address is honoured.
        let text = format!("{PLAIN_OFFER}a=rtcp:30011 IN IP4 192.0.2.11\n");
        assert_eq!(answer_for(&text, &config).unwrap().negotiated.remote_rtcp, "192.0.2.11:30011".parse().unwrap());
    }

    fn crypto_line(tag: u32, suite: &str, byte: u8) -> String {
        format!("a=crypto:{tag} {suite} inline:{}\n", crate::base64::encode(&[byte; 30]))
    }

    #[test]
    fn srtp_answer_matrix() {
        let avp_crypto = format!("{PLAIN_OFFER}{}", crypto_line(5, "AES_CM_128_HMAC_SHA1_32", 9));
        let savp_crypto = avp_crypto.replace("RTP/AVP", "RTP/SAVP");
        let savp_none = PLAIN_OFFER.replace("RTP/AVP", "RTP/SAVP");
        let cases: [(&str, &str, SrtpMode, Result<bool, OfferError>); 9] = [
            ("avp", PLAIN_OFFER, SrtpMode::Disabled, Ok(false)),
            ("avp", PLAIN_OFFER, SrtpMode::Optional, Ok(false)),
            ("avp", PLAIN_OFFER, SrtpMode::Required, Err(OfferError::SrtpRequired)),
            ("avp+crypto", &avp_crypto, SrtpMode::Disabled, Ok(false)),
            ("avp+crypto", &avp_crypto, SrtpMode::Optional, Ok(true)),
            ("avp+crypto", &avp_crypto, SrtpMode::Required, Ok(true)),
            ("savp", &savp_crypto, SrtpMode::Disabled, Err(OfferError::SrtpDisabled)),
            ("savp", &savp_crypto, SrtpMode::Optional, Ok(true)),
            ("savp-no-crypto", &savp_none, SrtpMode::Optional, Err(OfferError::NoSupportedCryptoSuite)),
        ];
        for (name, text, mode, expected) in cases {
            let mut config = AudioConfig::new(LOCAL, 40000);
            config.srtp = mode;
            let result = answer_for(text, &config).map(|a| {
                let secure = a.negotiated.srtp.is_some();
                assert_eq!(secure, a.media.has_attribute("crypto"), "{name} {mode:?}");
                if let Some(s) = &a.negotiated.srtp {
                    assert_eq!((s.tag, s.suite), (5, SrtpSuite::AesCm128HmacSha1_32));
                    assert_eq!(s.remote_key.as_bytes(), &[9u8; 30]);
                    assert_eq!(s.local_key.as_bytes(), &[0x40u8; 30]);
                    let answered = a.media.cryptos();
                    assert_eq!(answered.len(), 1);
                    assert_eq!(answered[0].tag, 5);
                    assert_eq!(answered[0].key_salt().unwrap(), vec![0x40u8; 30]);
                }
                assert_eq!(a.media.protocol, if text.contains("SAVP") { "RTP/SAVP" } else { "RTP/AVP" });
                secure
            });
            assert_eq!(result, expected, "{name} {mode:?}");
        }
    }

    #[test]
    fn srtp_answer_skips_unusable_crypto_lines() {
        let mut text = PLAIN_OFFER.replace("RTP/AVP", "RTP/SAVP");
        text += &crypto_line(1, "AEAD_AES_256_GCM", 1);
        text += &crypto_line(2, "AES_256_CM_HMAC_SHA1_80", 2);
        text += &format!("a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:{}|2^31|1:4\n", crate::base64::encode(&[3; 30]));
        text += &format!("{} UNENCRYPTED_SRTCP\n", crypto_line(4, "AES_CM_128_HMAC_SHA1_80", 4).trim_end());
        text += "a=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=\n";
        text += &format!("{} WSH=64 KDR=0\n", crypto_line(6, "AES_CM_128_HMAC_SHA1_80", 6).trim_end());
        text += &crypto_line(7, "AES_CM_128_HMAC_SHA1_32", 7);
        let config = AudioConfig::new(LOCAL, 40000);
        let srtp = answer_for(&text, &config).unwrap().negotiated.srtp.unwrap();
        assert_eq!((srtp.tag, srtp.suite), (6, SrtpSuite::AesCm128HmacSha1_80));
        assert_eq!(srtp.remote_key.as_bytes(), &[6u8; 30]);
        assert_eq!(srtp.remote_key.master_key(), &[6u8; 16]);
        assert_eq!(srtp.remote_key.master_salt(), &[6u8; 14]);
        assert_eq!(format!("{srtp:?}").matches("REDACTED").count(), 2);

        // Only unusable lines left: refused whatever the transport.
        let only_bad = format!("{PLAIN_OFFER}{}", crypto_line(1, "AEAD_AES_256_GCM", 1));
        let mut required = config.clone();
        required.srtp = SrtpMode::Required;
        assert_eq!(answer_for(&only_bad, &required).unwrap_err(), OfferError::NoSupportedCryptoSuite);
        // Optional on RTP/AVP falls back to plain RTP.
        assert_eq!(answer_for(&only_bad, &config).unwrap().negotiated.srtp, None);
    }

    #[test]
    fn answer_keeps_telephone_event_per_clock_rate() {
        let offer = "v=0
o=- 1 1 IN IP4 192.0.2.10
s=-
c=IN IP4 192.0.2.10
t=0 0
m=audio 30000 RTP/AVP 111 0 110 126
a=rtpmap:111 opus/48000/2
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
";
        let config = AudioConfig::new(LOCAL, 40000);
        let answer = answer_for(offer, &config).unwrap();
        assert_eq!(answer.media.formats, ["111", "0", "110", "126"]);
        assert_eq!(answer.negotiated.telephone_event, Some(TelephoneEvent { payload_type: 110, clock_rate: 48000 }));
        let mut pcmu = config.clone();
        pcmu.codecs = AudioCodecs::from_names(["PCMU"]).unwrap();
        let answer = answer_for(offer, &pcmu).unwrap();
        assert_eq!(answer.media.formats, ["0", "126"]);
        // opus with only telephone-event/8000 offered (baresip): it is kept.
        let offer = offer.replace(" 110 126", " 126").replace("a=rtpmap:110 telephone-event/48000\n", "");
        let answer = answer_for(&offer, &config).unwrap();
        let mut opus = config.clone();
        opus.codecs = AudioCodecs::from_names(["opus"]).unwrap();
        let opus_only = answer_for(&offer, &opus).unwrap();
        assert_eq!(answer.media.formats, ["111", "0", "126"]);
        assert_eq!(opus_only.media.formats, ["111", "126"]);
        assert_eq!(opus_only.negotiated.telephone_event, Some(TelephoneEvent { payload_type: 126, clock_rate: 8000 }));
        // No telephone-event offered: none answered.
        assert_eq!(answer_for(&PLAIN_OFFER.replace(" 101", ""), &config).unwrap().negotiated.telephone_event, None);
    }

    /// Our offer, answered by our own answerer, read back by the offerer.
    fn round(
        offerer: &AudioConfig,
        answerer: &AudioConfig,
    ) -> (Result<NegotiatedAudio, AnswerError>, Option<AudioAnswer>) {
        let (offer, offer_sdp) = offer_sdp(offerer, 1);
        match negotiate_answer(&offer_sdp, 0, answerer, &mut counting_keys(0x80)) {
            Ok(answer) => {
                let answer_sdp = LocalSdp::with_session_id("127.0.0.2".parse().unwrap(), 7)
                    .answer(&offer_sdp, vec![answer.media.clone()])
                    .unwrap();
                let answer_sdp = SessionDescription::parse(&answer_sdp.to_bytes()).unwrap();
                (offer.process_answer(&answer_sdp, 0), Some(answer))
            }
            Err(_) => (Err(AnswerError::Rejected), None),
        }
    }

    #[test]
    fn offer_answer_round_trip_agrees_on_both_sides() {
        let alice = AudioConfig::new(LOCAL, 40000);
        let mut bob = AudioConfig::new("127.0.0.2".parse().unwrap(), 42000);
        bob.codecs = AudioCodecs::from_names(["PCMA", "G722"]).unwrap();
        let (at_alice, answer) = round(&alice, &bob);
        let at_alice = at_alice.unwrap();
        let at_bob = answer.unwrap().negotiated;
        // The offer's order wins: G722 before PCMA.
        assert_eq!((at_alice.codec, at_alice.payload_type), (AudioCodec::G722, 9));
        assert_eq!((at_bob.codec, at_bob.payload_type), (AudioCodec::G722, 9));
        assert_eq!(at_alice.remote_rtp, "127.0.0.2:42000".parse().unwrap());
        assert_eq!(at_bob.remote_rtp, "127.0.0.1:40000".parse().unwrap());
        assert_eq!(at_alice.telephone_event, Some(TelephoneEvent { payload_type: 101, clock_rate: 8000 }));
        assert_eq!(at_alice.receive.len(), 3);
        assert_eq!(at_alice.remote_ptime, Some(20));
        assert_eq!(at_bob.codec_parameters, None);
        // SRTP optional on both sides: the first suite, keys crossed.
        let (a, b) = (at_alice.srtp.unwrap(), at_bob.srtp.unwrap());
        assert_eq!((a.tag, a.suite), (1, SrtpSuite::AesCm128HmacSha1_80));
        assert_eq!(a.local_key, b.remote_key);
        assert_eq!(a.remote_key, b.local_key);
        assert_eq!(a.local_key.as_bytes(), &[1u8; 30]);
        assert_eq!(a.remote_key.as_bytes(), &[0x80u8; 30]);
    }

    #[test]
    fn srtp_mode_combinations_end_to_end() {
        use SrtpMode::*;
        let cases = [
            (Disabled, Disabled, Some(false)),
            (Disabled, Optional, Some(false)),
            (Disabled, Required, None),
            (Optional, Disabled, Some(false)),
            (Optional, Optional, Some(true)),
            (Optional, Required, Some(true)),
            (Required, Disabled, None),
            (Required, Optional, Some(true)),
            (Required, Required, Some(true)),
        ];
        for (offerer, answerer, expected) in cases {
            let mut a = AudioConfig::new(LOCAL, 40000);
            a.srtp = offerer;
            let mut b = AudioConfig::new(LOCAL, 42000);
            b.srtp = answerer;
            let (result, _) = round(&a, &b);
            assert_eq!(result.ok().map(|n| n.srtp.is_some()), expected, "{offerer:?} -> {answerer:?}");
        }
    }

    #[test]
    fn process_answer_errors() {
        let mut config = AudioConfig::new(LOCAL, 40000);
        config.srtp = SrtpMode::Required;
        let (offer, _) = offer_sdp(&config, 1);
        let good = format!(
            "v=0\no=- 7 7 IN IP4 192.0.2.20\ns=-\nc=IN IP4 192.0.2.20\nt=0 0\nm=audio 42000 RTP/SAVP 0\n{}",
            crypto_line(2, "AES_CM_128_HMAC_SHA1_32", 3)
        );
        let n = offer.process_answer(&sdp(&good), 0).unwrap();
        let srtp = n.srtp.unwrap();
        assert_eq!((srtp.tag, srtp.suite), (2, SrtpSuite::AesCm128HmacSha1_32));
        assert_eq!(srtp.local_key.as_bytes(), &[2u8; 30]);
        assert_eq!(n.receive, vec![PayloadFormat { payload_type: 0, format: AudioFormat::Codec(AudioCodec::Pcmu) }]);

        let cases = [
            (good.replace("42000", "0"), AnswerError::Rejected),
            (
                good.replace("RTP/SAVP", "TCP/MSRP"),
                AnswerError::TransportMismatch { offered: "RTP/SAVP".into(), answered: "TCP/MSRP".into() },
            ),
            (good.replace("m=audio 42000 RTP/SAVP 0", "m=audio 42000 RTP/SAVP 18"), AnswerError::NoCommonCodec),
            (good.replace("a=crypto:2 ", "a=crypto:3 "), AnswerError::InvalidCrypto("tag was not offered")),
            (good.replace("_32", "_80"), AnswerError::InvalidCrypto("suite differs from the offered one")),
            (
                good.lines().filter(|l| !l.starts_with("a=crypto")).collect::<Vec<_>>().join("\n") + "\n",
                AnswerError::SrtpRequired,
            ),
            (good.replace("m=audio", "m=message"), AnswerError::MediaTypeMismatch(0)),
            (good.replace("c=IN IP4 192.0.2.20\n", ""), AnswerError::MissingConnection),
        ];
        for (text, expected) in cases {
            assert_eq!(offer.process_answer(&sdp(&text), 0).unwrap_err(), expected, "{text}");
        }
        assert_eq!(offer.process_answer(&sdp(&good), 1).unwrap_err(), AnswerError::MissingMedia(1));

        // Lenient profiles: RTP/AVP with a key answers RTP/SAVP...
        let avp = offer.process_answer(&sdp(&good.replace("RTP/SAVP", "RTP/AVP")), 0).unwrap();
        assert!(avp.srtp.is_some());
        // ...and RTP/SAVP with a key answers a best-effort RTP/AVP offer,
        config.srtp = SrtpMode::Optional;
        let (optional, _) = offer_sdp(&config, 1);
        assert!(optional.process_answer(&sdp(&good), 0).unwrap().srtp.is_some());
        // but RTP/SAVP without a key cannot be used.
        let keyless = good.lines().filter(|l| !l.starts_with("a=crypto")).collect::<Vec<_>>().join("\n") + "\n";
        assert_eq!(
            optional.process_answer(&sdp(&keyless), 0).unwrap_err(),
            AnswerError::TransportMismatch { offered: "RTP/AVP".into(), answered: "RTP/SAVP".into() }
        );
        assert!(optional.process_answer(&sdp(&keyless.replace("RTP/SAVP", "RTP/AVP")), 0).unwrap().srtp.is_none());
    }

    #[test]
    fn hold_and_unhold_reoffers() {
        let alice_addr = LOCAL;
        let mut alice_sdp = LocalSdp::with_session_id(alice_addr, 10);
        let mut bob_sdp = LocalSdp::with_session_id("127.0.0.2".parse().unwrap(), 20);
        let mut alice = AudioConfig::new(alice_addr, 40000);
        let mut bob = AudioConfig::new("127.0.0.2".parse().unwrap(), 42000);
        alice.srtp = SrtpMode::Disabled;
        bob.srtp = SrtpMode::Disabled;
        let mut bob_holds_alice = false;

        // (Alice holds, Bob holds, Alice's offered direction, Bob's answered direction)
        let steps = [
            (false, false, Direction::SendRecv, Direction::SendRecv),
            (true, false, Direction::SendOnly, Direction::RecvOnly),
            (true, true, Direction::SendOnly, Direction::Inactive),
            // Alice re-offers while Bob holds her: inactive.
            (true, true, Direction::Inactive, Direction::Inactive),
            (false, true, Direction::SendRecv, Direction::SendOnly),
            (false, false, Direction::SendRecv, Direction::SendRecv),
        ];
        let mut last_version = None;
        for (alice_hold, bob_hold, offered, answered) in steps {
            alice.direction = offer_direction(alice_hold, bob_holds_alice);
            bob.direction = offer_direction(bob_hold, alice_hold);
            let offer = AudioOffer::new(&alice, &mut RandomKeys);
            let offer_sdp = alice_sdp.offer(vec![offer.media().clone()]);
            assert_eq!(offer_sdp.media_direction(0), Some(offered));
            if let Some(v) = last_version {
                assert_eq!(offer_sdp.origin.version, v + 1);
            }
            last_version = Some(offer_sdp.origin.version);
            let answer = negotiate_answer(&offer_sdp, 0, &bob, &mut RandomKeys).unwrap();
            assert_eq!(answer.media.direction(), Some(answered), "alice {alice_hold} bob {bob_hold}");
            assert_eq!(answer.negotiated.remote_on_hold(), alice_hold);
            let answer_sdp = bob_sdp.answer(&offer_sdp, vec![answer.media]).unwrap();
            let at_alice = offer.process_answer(&answer_sdp, 0).unwrap();
            assert_eq!(at_alice.direction, offered.intersect(answered.reverse()));
            bob_holds_alice = bob_hold;
        }
    }

    #[test]
    fn reoffers_add_and_remove_m_lines_keeping_slots() {
        let mut local = LocalSdp::with_session_id(LOCAL, 1);
        let audio = AudioOffer::new(&AudioConfig::new(LOCAL, 40000), &mut RandomKeys).media().clone();
        let chat = MediaDescription::new("message", 2855, "TCP/TLS/MSRP", ["*"]);
        let first = local.offer(vec![audio.clone()]);
        let added = local.offer(vec![audio.clone(), chat.clone()]);
        assert_eq!(added.media.len(), 2);
        assert_eq!(validate_offer_update(&first, &first, &added), Ok(()));
        let removed = local.offer(vec![audio.clone(), chat.disabled()]);
        assert_eq!(removed.media[1].port, 0);
        assert_eq!(removed.media[1].protocol, "TCP/TLS/MSRP");
        assert_eq!(removed.media[1].formats, ["*"]);
        assert!(removed.media[1].attributes.is_empty());
        assert_eq!(removed.origin.version, first.origin.version + 2);
        // Removing the slot entirely, or changing a live slot's type, is refused.
        assert_eq!(validate_offer_update(&added, &added, &first), Err(OfferError::MediaRemoved));
        let mut changed = added.clone();
        changed.media[1].media_type = "audio".into();
        assert_eq!(validate_offer_update(&added, &added, &changed), Err(OfferError::MediaTypeChanged(1)));
        // A disabled slot can be reused for another media type.
        assert_eq!(validate_offer_update(&removed, &added, &changed), Ok(()));

        assert_eq!(validate_answer(&added, &removed), Ok(()));
        assert_eq!(validate_answer(&added, &first), Err(AnswerError::MediaCountMismatch { offer: 2, answer: 1 }));
        let mut wrong = added.clone();
        wrong.media.swap(0, 1);
        assert_eq!(validate_answer(&added, &wrong), Err(AnswerError::MediaTypeMismatch(0)));
    }
}
