//! SRTP (RFC 3711) keyed with SDES (RFC 4568): the `a=crypto` key material,
//! its `inline:` form, and the pair of contexts that protect what we send and
//! unprotect what we receive.
//!
//! Supported crypto suites: `AES_CM_128_HMAC_SHA1_80` and
//! `AES_CM_128_HMAC_SHA1_32` (for SRTCP both use an 80-bit tag, RFC 4568
//! §6.2). The ciphers come from `rtc-srtp`, whose output is byte-identical to
//! libsrtp (checked in the tests against `pylibsrtp`).
//!
//! Key parameters: `inline:<base64 key||salt>[|<lifetime>][|<MKI>:<length>]`.
//! The lifetime is parsed and ignored (we never send 2^31 packets on one key).
//! An MKI is supported when it is the only key of the attribute: its bytes are
//! spliced in before the authentication tag on the way out and removed on the
//! way in, which is how RFC 3711 §3.1 lays them out (the MKI is not covered by
//! the tag). Several keys in one attribute (which only make sense with MKIs
//! that switch between them) are refused with [`SrtpError::Unsupported`].
//!
//! Session parameters: `WSH=` (window size hint) and `FEC_ORDER=FEC_SRTP` are
//! accepted, `KDR=0` is accepted; anything else (`UNENCRYPTED_SRTP`,
//! `UNAUTHENTICATED_SRTP`, a non-zero key derivation rate, unknown
//! parameters) is refused, so the offer/answer layer can pick another
//! `a=crypto` line or answer 488.
//!
//! Threads: all types here are plain values (`Send`), used by whoever owns the
//! RTP session; nothing blocks.

use std::fmt;

use rand::RngCore;
use rtc_srtp::context::Context;
use rtc_srtp::protection_profile::ProtectionProfile;

/// Length of the master key of the AES_CM_128 suites, in bytes.
pub const MASTER_KEY_LEN: usize = 16;
/// Length of the master salt of the AES_CM_128 suites, in bytes.
pub const MASTER_SALT_LEN: usize = 14;
/// Length of the SDES key material (`key || salt`), in bytes.
pub const KEY_MATERIAL_LEN: usize = MASTER_KEY_LEN + MASTER_SALT_LEN;
/// Replay window for incoming SRTP and SRTCP packets (libsrtp's default).
pub const REPLAY_WINDOW: usize = 128;
/// Length of the SRTCP authentication tag of both supported suites.
pub const SRTCP_AUTH_TAG_LEN: usize = 10;
/// Length of the `E || SRTCP index` word that ends the encrypted part of SRTCP.
const SRTCP_INDEX_LEN: usize = 4;
/// Smallest RTP header: the fixed 12 bytes.
const RTP_HEADER_LEN: usize = 12;
/// Longest MKI we accept (RFC 4568 allows 1..=128 bytes; 4 is usual).
pub const MAX_MKI_LEN: usize = 128;

/// Errors of SDES key handling and SRTP protection.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SrtpError {
    /// The `a=crypto` attribute or its key parameter is malformed.
    #[error("malformed crypto attribute: {0}")]
    Malformed(String),
    /// The crypto suite is not one we implement.
    #[error("unsupported crypto suite {0}")]
    UnsupportedSuite(String),
    /// A feature of the attribute we cannot honour (several keys, a
    /// session parameter, an MKI that does not fit).
    #[error("unsupported crypto parameter: {0}")]
    Unsupported(String),
    /// Creating the SRTP context failed.
    #[error("SRTP context: {0}")]
    Context(String),
    /// Protecting a packet failed (the packet is not RTP/RTCP, or the key
    /// is exhausted).
    #[error("SRTP protect failed: {0}")]
    Protect(String),
    /// An incoming packet failed authentication, was replayed, is too short
    /// or carries the wrong MKI. The packet must be dropped.
    #[error("SRTP unprotect failed: {0}")]
    Unprotect(String),
}

/// An SDES crypto suite (RFC 4568 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CryptoSuite {
    /// AES counter mode, 128-bit key, HMAC-SHA1 with an 80-bit RTP tag.
    AesCm128HmacSha1_80,
    /// AES counter mode, 128-bit key, HMAC-SHA1 with a 32-bit RTP tag
    /// (SRTCP still uses 80 bits).
    AesCm128HmacSha1_32,
}

impl CryptoSuite {
    /// All suites we support, in our order of preference (stronger tag first).
    pub const ALL: [CryptoSuite; 2] = [CryptoSuite::AesCm128HmacSha1_80, CryptoSuite::AesCm128HmacSha1_32];

    /// The suite's name as written in `a=crypto`.
    pub fn name(self) -> &'static str {
        match self {
            CryptoSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            CryptoSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// Looks a suite up by its `a=crypto` name (case-sensitive, as the RFC's
    /// grammar is).
    pub fn from_name(name: &str) -> Option<CryptoSuite> {
        CryptoSuite::ALL.into_iter().find(|suite| suite.name() == name)
    }

    /// Length of the SRTP authentication tag, in bytes.
    pub fn rtp_auth_tag_len(self) -> usize {
        match self {
            CryptoSuite::AesCm128HmacSha1_80 => 10,
            CryptoSuite::AesCm128HmacSha1_32 => 4,
        }
    }

    fn profile(self) -> ProtectionProfile {
        match self {
            CryptoSuite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            CryptoSuite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        }
    }
}

impl fmt::Display for CryptoSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// SDES master key material: 16 bytes of key followed by 14 bytes of salt.
///
/// Prints as `REDACTED` in `Debug`; the bytes are wiped when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKey {
    material: [u8; KEY_MATERIAL_LEN],
}

impl SrtpKey {
    /// A fresh random key and salt from the thread's cryptographically
    /// secure generator.
    pub fn generate() -> SrtpKey {
        let mut material = [0u8; KEY_MATERIAL_LEN];
        rand::rng().fill_bytes(&mut material);
        SrtpKey { material }
    }

    /// Key material from its 30 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<SrtpKey, SrtpError> {
        let material: [u8; KEY_MATERIAL_LEN] = bytes.try_into().map_err(|_| {
            SrtpError::Malformed(format!("key material is {} bytes, expected {KEY_MATERIAL_LEN}", bytes.len()))
        })?;
        Ok(SrtpKey { material })
    }

    /// Key material from its base64 form (the part after `inline:`).
    pub fn from_base64(text: &str) -> Result<SrtpKey, SrtpError> {
        let bytes =
            crate::base64::decode(text).ok_or_else(|| SrtpError::Malformed("key is not valid base64".into()))?;
        SrtpKey::from_bytes(&bytes)
    }

    /// The base64 form, 40 characters, as written after `inline:`.
    pub fn to_base64(&self) -> String {
        crate::base64::encode(&self.material)
    }

    /// The 16-byte master key.
    pub fn master_key(&self) -> &[u8] {
        &self.material[..MASTER_KEY_LEN]
    }

    /// The 14-byte master salt.
    pub fn master_salt(&self) -> &[u8] {
        &self.material[MASTER_KEY_LEN..]
    }

    /// All 30 bytes, key then salt.
    pub fn as_bytes(&self) -> &[u8] {
        &self.material
    }
}

impl fmt::Debug for SrtpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SrtpKey(REDACTED)")
    }
}

impl Drop for SrtpKey {
    fn drop(&mut self) {
        for byte in self.material.iter_mut() {
            // SAFETY: `byte` is a valid, aligned, exclusive reference.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
    }
}

/// The Master Key Identifier of a key parameter (`|<value>:<length>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mki {
    /// The MKI value as carried in each packet, big-endian, `length` bytes.
    pub bytes: Vec<u8>,
}

impl Mki {
    /// An MKI of `length` bytes holding `value`. Fails if the value does not
    /// fit or the length is 0 or more than [`MAX_MKI_LEN`].
    pub fn new(value: u64, length: usize) -> Result<Mki, SrtpError> {
        if length == 0 || length > MAX_MKI_LEN {
            return Err(SrtpError::Unsupported(format!("MKI length {length} (1..={MAX_MKI_LEN} supported)")));
        }
        if length < 8 && value >> (8 * length) != 0 {
            return Err(SrtpError::Malformed(format!("MKI value {value} does not fit in {length} bytes")));
        }
        let mut bytes = vec![0u8; length];
        for (i, byte) in bytes.iter_mut().rev().enumerate().take(8) {
            *byte = (value >> (8 * i)) as u8;
        }
        Ok(Mki { bytes })
    }

    /// The MKI value (the last 8 bytes, if it is longer).
    pub fn value(&self) -> u64 {
        self.bytes.iter().fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte))
    }
}

/// One `inline:` key parameter of an `a=crypto` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineKey {
    /// The key and salt.
    pub key: SrtpKey,
    /// The key lifetime in packets, if given (`|2^31` or `|1048576`). Parsed
    /// and otherwise ignored.
    pub lifetime: Option<u64>,
    /// The MKI, if given.
    pub mki: Option<Mki>,
}

impl InlineKey {
    /// A key parameter with no lifetime and no MKI.
    pub fn new(key: SrtpKey) -> InlineKey {
        InlineKey { key, lifetime: None, mki: None }
    }

    /// Parses `inline:<key||salt>[|lifetime][|mki:length]` (the `inline:`
    /// prefix is required, case-insensitively).
    pub fn parse(text: &str) -> Result<InlineKey, SrtpError> {
        let text = text.trim();
        let rest = match text.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("inline:") => &text[7..],
            _ => return Err(SrtpError::Unsupported(format!("key method of {:?} (only inline: exists)", short(text)))),
        };
        let mut parts = rest.split('|');
        let key = SrtpKey::from_base64(parts.next().unwrap_or_default())?;
        let mut lifetime = None;
        let mut mki = None;
        for part in parts {
            if let Some((value, length)) = part.split_once(':') {
                if mki.is_some() {
                    return Err(SrtpError::Malformed("two MKIs in one key parameter".into()));
                }
                let value: u64 = value
                    .parse()
                    .map_err(|_| SrtpError::Unsupported(format!("MKI value {:?} (at most 2^64-1)", short(value))))?;
                let length: usize =
                    length.parse().map_err(|_| SrtpError::Malformed(format!("MKI length {:?}", short(length))))?;
                mki = Some(Mki::new(value, length)?);
            } else if lifetime.is_none() && mki.is_none() {
                lifetime = Some(parse_lifetime(part)?);
            } else {
                return Err(SrtpError::Malformed(format!("unexpected key parameter field {:?}", short(part))));
            }
        }
        Ok(InlineKey { key, lifetime, mki })
    }
}

impl fmt::Display for InlineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inline:{}", self.key.to_base64())?;
        if let Some(lifetime) = self.lifetime {
            if lifetime.is_power_of_two() {
                write!(f, "|2^{}", lifetime.trailing_zeros())?;
            } else {
                write!(f, "|{lifetime}")?;
            }
        }
        if let Some(mki) = &self.mki {
            write!(f, "|{}:{}", mki.value(), mki.bytes.len())?;
        }
        Ok(())
    }
}

fn parse_lifetime(text: &str) -> Result<u64, SrtpError> {
    let bad = || SrtpError::Malformed(format!("key lifetime {:?}", short(text)));
    if let Some(exponent) = text.strip_prefix("2^") {
        let exponent: u32 = exponent.parse().map_err(|_| bad())?;
        // Lifetimes beyond 2^63 are as good as infinite for us.
        Ok(1u64.checked_shl(exponent).unwrap_or(u64::MAX))
    } else {
        text.parse().map_err(|_| bad())
    }
}

fn short(text: &str) -> String {
    text.chars().take(40).collect()
}

/// A parsed `a=crypto` attribute value: `<tag> <suite> <key-params> [<session-params>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesCrypto {
    /// The attribute's tag (1..=999999999), echoed in the answer.
    pub tag: u32,
    /// The crypto suite.
    pub suite: CryptoSuite,
    /// The key parameter (exactly one is supported).
    pub key: InlineKey,
    /// Session parameters as written (only the accepted ones remain: see the
    /// module doc).
    pub session_params: Vec<String>,
}

impl SdesCrypto {
    /// A new attribute for our side with a fresh random key, no lifetime and
    /// no MKI.
    pub fn generate(tag: u32, suite: CryptoSuite) -> SdesCrypto {
        SdesCrypto { tag, suite, key: InlineKey::new(SrtpKey::generate()), session_params: Vec::new() }
    }

    /// Parses the value of an `a=crypto:` attribute (everything after the
    /// colon). Errors say precisely what was refused, so the caller can skip
    /// to the next attribute or answer 488.
    pub fn parse(value: &str) -> Result<SdesCrypto, SrtpError> {
        let mut fields = value.split_ascii_whitespace();
        let tag = fields.next().ok_or_else(|| SrtpError::Malformed("empty crypto attribute".into()))?;
        let tag: u32 = tag
            .parse()
            .ok()
            .filter(|tag| (1..=999_999_999).contains(tag))
            .ok_or_else(|| SrtpError::Malformed(format!("tag {:?}", short(tag))))?;
        let suite = fields.next().ok_or_else(|| SrtpError::Malformed("no crypto suite".into()))?;
        let suite = CryptoSuite::from_name(suite).ok_or_else(|| SrtpError::UnsupportedSuite(short(suite)))?;
        let key_params = fields.next().ok_or_else(|| SrtpError::Malformed("no key parameter".into()))?;
        let mut keys = key_params.split(';');
        let key = InlineKey::parse(keys.next().unwrap_or_default())?;
        if keys.next().is_some() {
            return Err(SrtpError::Unsupported("more than one key in one crypto attribute".into()));
        }
        let mut session_params = Vec::new();
        for param in fields {
            check_session_param(param)?;
            session_params.push(param.to_owned());
        }
        Ok(SdesCrypto { tag, suite, key, session_params })
    }

    /// The attribute value to put after `a=crypto:`.
    pub fn to_attribute_value(&self) -> String {
        let mut out = format!("{} {} {}", self.tag, self.suite, self.key);
        for param in &self.session_params {
            out.push(' ');
            out.push_str(param);
        }
        out
    }
}

fn check_session_param(param: &str) -> Result<(), SrtpError> {
    let (name, value) = param.split_once('=').unwrap_or((param, ""));
    let ok = match name {
        "WSH" => value.parse::<u32>().is_ok(),
        "FEC_ORDER" => value == "FEC_SRTP",
        "KDR" => value == "0",
        _ => false,
    };
    if ok { Ok(()) } else { Err(SrtpError::Unsupported(format!("session parameter {:?}", short(param)))) }
}

/// How many distinct SSRCs that never authenticated an inbound context may
/// have seen before we stop handing it new ones (see [`SrtpSession`]).
pub const MAX_UNAUTHENTICATED_SSRCS: usize = 256;
/// How many authenticated SSRCs we keep replay state for.
const MAX_AUTHENTICATED_SSRCS: usize = 16;

/// The two directions of SRTP for one media stream: the local key protects
/// what we send, the remote key unprotects what we receive.
///
/// Incoming packets pass, in this order: the MKI check, a replay check
/// against a window of [`REPLAY_WINDOW`] packets per SSRC (without changing
/// any state), authentication and decryption, then the replay window moves.
/// Replay protection is ours rather than `rtc-srtp`'s because its detector
/// initialises itself from the first packet *checked*, before the tag is
/// verified, so one forged packet at the start of a call would make it refuse
/// the genuine stream. SRTCP packets whose E flag is clear (unencrypted
/// SRTCP, which we never negotiate) are refused before they reach `rtc-srtp`,
/// which would return them without checking their tag.
///
/// `rtc-srtp` keeps state for every SSRC it is shown, authenticated or not.
/// Once [`MAX_UNAUTHENTICATED_SSRCS`] SSRCs that never authenticated have
/// been shown to the inbound contexts, the SRTCP context is rebuilt (it holds
/// no state we need), and so is the SRTP one while no authenticated stream
/// has rolled its sequence number over; otherwise packets from further
/// unknown SSRCs are dropped without being decrypted. This bounds the memory
/// a flood of garbage can take.
pub struct SrtpSession {
    suite: CryptoSuite,
    remote_key: SrtpKey,
    outbound: Context,
    inbound_rtp: Context,
    inbound_rtcp: Context,
    local_mki: Option<Vec<u8>>,
    remote_mki: Option<Vec<u8>>,
    rtp_windows: Vec<(u32, ReplayWindow)>,
    rtcp_windows: Vec<(u32, ReplayWindow)>,
    rtp_strangers: std::collections::HashSet<u32>,
    rtcp_strangers: std::collections::HashSet<u32>,
}

impl fmt::Debug for SrtpSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpSession").field("suite", &self.suite).finish_non_exhaustive()
    }
}

fn new_context(suite: CryptoSuite, key: &SrtpKey) -> Result<Context, SrtpError> {
    let provider = rtc_srtp::crypto::default_provider().map_err(|e| SrtpError::Context(e.to_string()))?;
    Context::new(key.master_key(), key.master_salt(), suite.profile(), None, None, provider.crypto())
        .map_err(|e| SrtpError::Context(e.to_string()))
}

impl SrtpSession {
    /// Contexts for `suite` with our key (`local`, from our `a=crypto`) and
    /// the peer's (`remote`, from theirs). Both must use the same suite,
    /// which the offer/answer layer guarantees by answering the offered tag.
    pub fn new(suite: CryptoSuite, local: &InlineKey, remote: &InlineKey) -> Result<SrtpSession, SrtpError> {
        Ok(SrtpSession {
            suite,
            remote_key: remote.key.clone(),
            outbound: new_context(suite, &local.key)?,
            inbound_rtp: new_context(suite, &remote.key)?,
            inbound_rtcp: new_context(suite, &remote.key)?,
            local_mki: local.mki.as_ref().map(|mki| mki.bytes.clone()),
            remote_mki: remote.mki.as_ref().map(|mki| mki.bytes.clone()),
            rtp_windows: Vec::new(),
            rtcp_windows: Vec::new(),
            rtp_strangers: Default::default(),
            rtcp_strangers: Default::default(),
        })
    }

    /// Contexts from our attribute and the peer's. Fails if the suites differ.
    pub fn from_attributes(local: &SdesCrypto, remote: &SdesCrypto) -> Result<SrtpSession, SrtpError> {
        if local.suite != remote.suite {
            return Err(SrtpError::Unsupported(format!(
                "local suite {} differs from remote suite {}",
                local.suite, remote.suite
            )));
        }
        SrtpSession::new(local.suite, &local.key, &remote.key)
    }

    /// The suite in use.
    pub fn suite(&self) -> CryptoSuite {
        self.suite
    }

    /// Protects one outgoing RTP packet (header in the clear, payload
    /// encrypted, MKI and tag appended).
    pub fn protect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        if packet.len() < RTP_HEADER_LEN {
            return Err(SrtpError::Protect("packet shorter than an RTP header".into()));
        }
        let protected = self.outbound.encrypt_rtp(packet).map_err(|e| SrtpError::Protect(e.to_string()))?;
        Ok(splice_mki(&protected, self.local_mki.as_deref(), self.suite.rtp_auth_tag_len()))
    }

    /// Unprotects one incoming SRTP packet: checks the MKI, the replay window
    /// and the tag, then decrypts. Any failure means: drop the packet.
    pub fn unprotect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let tag_len = self.suite.rtp_auth_tag_len();
        let packet = strip_mki(packet, self.remote_mki.as_deref(), tag_len, RTP_HEADER_LEN)?;
        if packet.len() < RTP_HEADER_LEN + tag_len || packet[0] >> 6 != 2 {
            return Err(SrtpError::Unprotect("not an SRTP packet".into()));
        }
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
        let window = self.rtp_windows.iter().find(|(s, _)| *s == ssrc).map(|(_, w)| w);
        let index = match window {
            Some(window) => window.check(window.extend_seq(seq))?,
            None => {
                self.admit_stranger(ssrc, false)?;
                u64::from(seq)
            }
        };
        let plain = self.inbound_rtp.decrypt_rtp(&packet).map_err(|e| SrtpError::Unprotect(e.to_string()))?;
        self.rtp_strangers.remove(&ssrc);
        commit(&mut self.rtp_windows, ssrc, index);
        Ok(plain.to_vec())
    }

    /// Protects one outgoing (compound) RTCP packet: encrypted after the
    /// first 8 bytes, `E || index`, MKI and 80-bit tag appended.
    pub fn protect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        if packet.len() < 8 {
            return Err(SrtpError::Protect("packet shorter than an RTCP header".into()));
        }
        let protected = self.outbound.encrypt_rtcp(packet).map_err(|e| SrtpError::Protect(e.to_string()))?;
        Ok(splice_mki(&protected, self.local_mki.as_deref(), SRTCP_AUTH_TAG_LEN))
    }

    /// Unprotects one incoming SRTCP packet. Any failure means: drop it.
    pub fn unprotect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        let packet = strip_mki(packet, self.remote_mki.as_deref(), SRTCP_AUTH_TAG_LEN, 8 + SRTCP_INDEX_LEN)?;
        if packet.len() < 8 + SRTCP_INDEX_LEN + SRTCP_AUTH_TAG_LEN || packet[0] >> 6 != 2 {
            return Err(SrtpError::Unprotect("not an SRTCP packet".into()));
        }
        let tail = packet.len() - SRTCP_AUTH_TAG_LEN - SRTCP_INDEX_LEN;
        let e_index = u32::from_be_bytes([packet[tail], packet[tail + 1], packet[tail + 2], packet[tail + 3]]);
        if e_index >> 31 == 0 {
            return Err(SrtpError::Unprotect("unencrypted SRTCP".into()));
        }
        let index = u64::from(e_index & 0x7fff_ffff);
        let ssrc = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        match self.rtcp_windows.iter().find(|(s, _)| *s == ssrc) {
            Some((_, window)) => {
                window.check(index)?;
            }
            None => self.admit_stranger(ssrc, true)?,
        }
        let plain = self.inbound_rtcp.decrypt_rtcp(&packet).map_err(|e| SrtpError::Unprotect(e.to_string()))?;
        self.rtcp_strangers.remove(&ssrc);
        commit(&mut self.rtcp_windows, ssrc, index);
        Ok(plain.to_vec())
    }

    /// Lets a packet from an SSRC that has not authenticated yet reach the
    /// inbound context, within the bound described on the type.
    fn admit_stranger(&mut self, ssrc: u32, rtcp: bool) -> Result<(), SrtpError> {
        let strangers = if rtcp { &mut self.rtcp_strangers } else { &mut self.rtp_strangers };
        if strangers.contains(&ssrc) || strangers.len() < MAX_UNAUTHENTICATED_SSRCS {
            strangers.insert(ssrc);
            return Ok(());
        }
        // Rebuilding loses rtc-srtp's rollover counters, which start again at
        // 0: harmless for SRTCP (the index is in the packet) and for SRTP
        // streams that have not wrapped yet.
        let may_rebuild = rtcp || self.rtp_windows.iter().all(|(_, window)| window.highest < 1 << 16);
        if !may_rebuild {
            return Err(SrtpError::Unprotect("too many unauthenticated SSRCs".into()));
        }
        let context = new_context(self.suite, &self.remote_key)?;
        if rtcp {
            self.inbound_rtcp = context;
            self.rtcp_strangers.clear();
            self.rtcp_strangers.insert(ssrc);
        } else {
            self.inbound_rtp = context;
            self.rtp_strangers.clear();
            self.rtp_strangers.insert(ssrc);
        }
        Ok(())
    }
}

/// Moves the replay window of `ssrc` to take `index`, creating it if needed
/// (the oldest window goes when there are too many).
fn commit(windows: &mut Vec<(u32, ReplayWindow)>, ssrc: u32, index: u64) {
    if let Some(position) = windows.iter().position(|(s, _)| *s == ssrc) {
        windows[position].1.accept(index);
        return;
    }
    if windows.len() >= MAX_AUTHENTICATED_SSRCS {
        windows.remove(0);
    }
    windows.push((ssrc, ReplayWindow::starting_at(index)));
}

/// A sliding replay window over 48-bit SRTP or 31-bit SRTCP indices
/// (RFC 3711 §3.3.2), of [`REPLAY_WINDOW`] packets.
#[derive(Debug, Clone, Copy)]
struct ReplayWindow {
    highest: u64,
    /// Bit `i` set: index `highest - i` was received.
    seen: u128,
}

impl ReplayWindow {
    fn starting_at(index: u64) -> ReplayWindow {
        ReplayWindow { highest: index, seen: 1 }
    }

    /// The packet index of `seq`: the one closest to the highest so far.
    fn extend_seq(&self, seq: u16) -> u64 {
        let delta = i64::from(seq.wrapping_sub(self.highest as u16) as i16);
        self.highest.saturating_add_signed(delta)
    }

    /// Ok(index) if `index` is new and not too old; changes nothing.
    fn check(&self, index: u64) -> Result<u64, SrtpError> {
        if index > self.highest {
            return Ok(index);
        }
        let age = self.highest - index;
        if age >= REPLAY_WINDOW as u64 {
            return Err(SrtpError::Unprotect("packet older than the replay window".into()));
        }
        if self.seen & (1u128 << age) != 0 {
            return Err(SrtpError::Unprotect("replayed packet".into()));
        }
        Ok(index)
    }

    fn accept(&mut self, index: u64) {
        if index > self.highest {
            let shift = index - self.highest;
            self.seen = if shift >= 128 { 0 } else { self.seen << shift };
            self.seen |= 1;
            self.highest = index;
        } else if self.highest - index < 128 {
            self.seen |= 1u128 << (self.highest - index);
        }
    }
}

/// Inserts the MKI before the trailing tag of a protected packet.
fn splice_mki(protected: &[u8], mki: Option<&[u8]>, tag_len: usize) -> Vec<u8> {
    match mki {
        None => protected.to_vec(),
        Some(mki) => {
            let split = protected.len().saturating_sub(tag_len);
            let mut out = Vec::with_capacity(protected.len() + mki.len());
            out.extend_from_slice(&protected[..split]);
            out.extend_from_slice(mki);
            out.extend_from_slice(&protected[split..]);
            out
        }
    }
}

/// Checks and removes the MKI before the trailing tag of an incoming packet.
fn strip_mki<'a>(
    packet: &'a [u8],
    mki: Option<&[u8]>,
    tag_len: usize,
    min_before: usize,
) -> Result<std::borrow::Cow<'a, [u8]>, SrtpError> {
    let Some(mki) = mki else { return Ok(std::borrow::Cow::Borrowed(packet)) };
    if packet.len() < min_before + mki.len() + tag_len {
        return Err(SrtpError::Unprotect("packet too short for its MKI".into()));
    }
    let tag_start = packet.len() - tag_len;
    let mki_start = tag_start - mki.len();
    if &packet[mki_start..tag_start] != mki {
        return Err(SrtpError::Unprotect("unknown MKI".into()));
    }
    let mut out = Vec::with_capacity(packet.len() - mki.len());
    out.extend_from_slice(&packet[..mki_start]);
    out.extend_from_slice(&packet[tag_start..]);
    Ok(std::borrow::Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_rejects() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(crate::base64::decode(&crate::base64::encode(&data)).unwrap(), data);
        }
        assert_eq!(crate::base64::encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(crate::base64::encode(b"fo"), "Zm8=");
        assert_eq!(crate::base64::decode("Zm8").unwrap(), b"fo");
        assert!(crate::base64::decode("Zm8*").is_none());
        assert!(crate::base64::decode("Z").is_none());
    }

    #[test]
    fn generated_keys_are_random_and_40_chars() {
        let a = SrtpKey::generate();
        let b = SrtpKey::generate();
        assert_ne!(a, b);
        let text = a.to_base64();
        assert_eq!(text.len(), 40);
        assert_eq!(SrtpKey::from_base64(&text).unwrap(), a);
        assert_eq!(format!("{a:?}"), "SrtpKey(REDACTED)");
        assert!(!format!("{:?}", InlineKey::new(a.clone())).contains(&text));
    }

    #[test]
    fn parses_rfc_4568_example() {
        // RFC 4568 §4.
        let crypto =
            SdesCrypto::parse("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4")
                .unwrap();
        assert_eq!(crypto.tag, 1);
        assert_eq!(crypto.suite, CryptoSuite::AesCm128HmacSha1_80);
        assert_eq!(crypto.key.lifetime, Some(1 << 20));
        assert_eq!(crypto.key.mki, Some(Mki { bytes: vec![0, 0, 0, 1] }));
        assert_eq!(crypto.key.key.master_key().len(), 16);
        assert_eq!(
            crypto.to_attribute_value(),
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"
        );
        let plain =
            SdesCrypto::parse("2 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR").unwrap();
        assert_eq!(plain.key.lifetime, None);
        assert_eq!(plain.key.mki, None);
        let decimal = SdesCrypto::parse(
            "3 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1048576 WSH=64",
        )
        .unwrap();
        assert_eq!(decimal.key.lifetime, Some(1_048_576));
        assert_eq!(decimal.session_params, vec!["WSH=64".to_string()]);
    }

    #[test]
    fn refuses_what_we_cannot_do() {
        let key = "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
        let cases = [
            ("", "malformed"),
            ("1", "malformed"),
            ("0 AES_CM_128_HMAC_SHA1_80 inline:x", "malformed"),
            ("1 F8_128_HMAC_SHA1_80 X", "unsupported crypto suite"),
            ("1 AES_CM_128_HMAC_SHA1_80", "malformed"),
            ("1 AES_CM_128_HMAC_SHA1_80 inline:AAAA", "malformed"),
            ("1 AES_CM_128_HMAC_SHA1_80 inline:!!!!", "malformed"),
            ("1 AES_CM_128_HMAC_SHA1_80 uri:http://x", "unsupported"),
        ];
        for (value, expected) in cases {
            let error = SdesCrypto::parse(value).unwrap_err().to_string();
            assert!(error.contains(expected), "{value:?}: {error}");
        }
        let more = [
            format!("1 AES_CM_128_HMAC_SHA1_80 {key}|2^20|1:4;{key}|2^20|2:4"),
            format!("1 AES_CM_128_HMAC_SHA1_80 {key} UNENCRYPTED_SRTP"),
            format!("1 AES_CM_128_HMAC_SHA1_80 {key} KDR=10"),
            format!("1 AES_CM_128_HMAC_SHA1_80 {key}|1:0"),
            format!("1 AES_CM_128_HMAC_SHA1_80 {key}|1:200"),
            format!("1 AES_CM_128_HMAC_SHA1_80 {key}|99999999999999999999999:4"),
        ];
        for value in more {
            let error = SdesCrypto::parse(&value).unwrap_err();
            assert!(matches!(error, SrtpError::Unsupported(_)), "{value}: {error}");
        }
        let malformed = [
            format!("1 AES_CM_128_HMAC_SHA1_80 {key}|2^x"),
            format!("1 AES_CM_128_HMAC_SHA1_80 {key}|256:1"),
            format!("1 AES_CM_128_HMAC_SHA1_80 {key}|1:4|2^20"),
        ];
        for value in malformed {
            let error = SdesCrypto::parse(&value).unwrap_err();
            assert!(matches!(error, SrtpError::Malformed(_)), "{value}: {error}");
        }
    }

    #[test]
    fn generated_attribute_round_trips() {
        for suite in CryptoSuite::ALL {
            let ours = SdesCrypto::generate(7, suite);
            let text = ours.to_attribute_value();
            assert!(text.starts_with(&format!("7 {} inline:", suite.name())));
            assert_eq!(SdesCrypto::parse(&text).unwrap(), ours);
        }
    }

    fn rtp_packet(seq: u16, payload_len: usize) -> Vec<u8> {
        let mut packet = vec![0x80, 0x00, (seq >> 8) as u8, seq as u8, 0, 0, 0x12, 0x34, 0xca, 0xfe, 0xba, 0xbe];
        packet.extend((0..payload_len).map(|i| i as u8));
        packet
    }

    fn rtcp_rr() -> Vec<u8> {
        // An empty receiver report from SSRC 0xcafebabe.
        vec![0x80, 201, 0, 1, 0xca, 0xfe, 0xba, 0xbe]
    }

    #[test]
    fn two_sessions_talk_in_both_suites() {
        for suite in CryptoSuite::ALL {
            let alice_key = InlineKey::new(SrtpKey::generate());
            let bob_key = InlineKey::new(SrtpKey::generate());
            let mut alice = SrtpSession::new(suite, &alice_key, &bob_key).unwrap();
            let mut bob = SrtpSession::new(suite, &bob_key, &alice_key).unwrap();
            for seq in [65530u16, 65535, 0, 1, 2] {
                let plain = rtp_packet(seq, 160);
                let protected = alice.protect_rtp(&plain).unwrap();
                assert_eq!(protected.len(), plain.len() + suite.rtp_auth_tag_len());
                assert_ne!(&protected[12..172], &plain[12..]);
                assert_eq!(bob.unprotect_rtp(&protected).unwrap(), plain);
                // A replay is refused.
                assert!(matches!(bob.unprotect_rtp(&protected), Err(SrtpError::Unprotect(_))));
            }
            let protected = bob.protect_rtcp(&rtcp_rr()).unwrap();
            assert_eq!(protected.len(), 8 + 4 + 10);
            assert_eq!(alice.unprotect_rtcp(&protected).unwrap(), rtcp_rr());
            assert!(alice.unprotect_rtcp(&protected).is_err());
        }
    }

    #[test]
    fn bad_tags_and_wrong_keys_are_refused() {
        let a = InlineKey::new(SrtpKey::generate());
        let b = InlineKey::new(SrtpKey::generate());
        let mut sender = SrtpSession::new(CryptoSuite::AesCm128HmacSha1_80, &a, &b).unwrap();
        let mut receiver = SrtpSession::new(CryptoSuite::AesCm128HmacSha1_80, &b, &a).unwrap();
        let mut wrong = SrtpSession::new(CryptoSuite::AesCm128HmacSha1_80, &b, &b).unwrap();
        let protected = sender.protect_rtp(&rtp_packet(1, 20)).unwrap();
        assert!(wrong.unprotect_rtp(&protected).is_err());
        for i in [5, 12, protected.len() - 1] {
            let mut corrupt = protected.clone();
            corrupt[i] ^= 0x01;
            assert!(receiver.unprotect_rtp(&corrupt).is_err(), "flip at {i}");
        }
        assert_eq!(receiver.unprotect_rtp(&protected).unwrap(), rtp_packet(1, 20));
        let rtcp = sender.protect_rtcp(&rtcp_rr()).unwrap();
        let mut corrupt = rtcp.clone();
        corrupt[9] ^= 0x80;
        assert!(receiver.unprotect_rtcp(&corrupt).is_err());
        assert!(receiver.unprotect_rtcp(&rtcp).is_ok());
    }

    #[test]
    fn forged_packets_do_not_poison_the_replay_window() {
        let a = InlineKey::new(SrtpKey::generate());
        let b = InlineKey::new(SrtpKey::generate());
        let mut sender = SrtpSession::new(CryptoSuite::AesCm128HmacSha1_80, &a, &b).unwrap();
        let mut receiver = SrtpSession::new(CryptoSuite::AesCm128HmacSha1_80, &b, &a).unwrap();
        // Garbage with the genuine SSRC and a far-away sequence number / index comes first.
        let mut forged = rtp_packet(30_000, 40);
        forged.extend_from_slice(&[0; 10]);
        assert!(receiver.unprotect_rtp(&forged).is_err());
        let mut forged_rtcp = rtcp_rr();
        forged_rtcp.extend_from_slice(&[0x80, 0x40, 0, 0]);
        forged_rtcp.extend_from_slice(&[0; 10]);
        assert!(receiver.unprotect_rtcp(&forged_rtcp).is_err());
        for seq in 1..5 {
            let plain = rtp_packet(seq, 40);
            assert_eq!(receiver.unprotect_rtp(&sender.protect_rtp(&plain).unwrap()).unwrap(), plain);
            assert_eq!(receiver.unprotect_rtcp(&sender.protect_rtcp(&rtcp_rr()).unwrap()).unwrap(), rtcp_rr());
        }
    }

    #[test]
    fn unencrypted_srtcp_is_refused() {
        let a = InlineKey::new(SrtpKey::generate());
        let b = InlineKey::new(SrtpKey::generate());
        let mut receiver = SrtpSession::new(CryptoSuite::AesCm128HmacSha1_80, &b, &a).unwrap();
        // An RTCP BYE with E=0 and a junk tag: rtc-srtp alone would return it unchecked.
        let mut bye = vec![0x81, 203, 0, 1, 0xca, 0xfe, 0xba, 0xbe];
        bye.extend_from_slice(&[0, 0, 0, 1]);
        bye.extend_from_slice(&[0; 10]);
        assert!(receiver.unprotect_rtcp(&bye).is_err());
    }

    #[test]
    fn replay_window_orders_and_ages() {
        let mut sender_key = InlineKey::new(SrtpKey::generate());
        sender_key.lifetime = Some(1 << 31);
        let b = InlineKey::new(SrtpKey::generate());
        let mut sender = SrtpSession::new(CryptoSuite::AesCm128HmacSha1_32, &sender_key, &b).unwrap();
        let mut receiver = SrtpSession::new(CryptoSuite::AesCm128HmacSha1_32, &b, &sender_key).unwrap();
        let packets: Vec<Vec<u8>> = (0..300u16).map(|seq| sender.protect_rtp(&rtp_packet(seq, 8)).unwrap()).collect();
        // Out of order within the window is fine, once.
        for seq in [0usize, 2, 1, 5, 4, 3, 200, 150, 100] {
            assert!(receiver.unprotect_rtp(&packets[seq]).is_ok(), "{seq}");
        }
        // 100 is still within 128 of 200 but was seen; 50 is too old.
        assert!(receiver.unprotect_rtp(&packets[100]).is_err());
        assert!(receiver.unprotect_rtp(&packets[50]).is_err());
        assert!(receiver.unprotect_rtp(&packets[101]).is_ok());
        assert!(receiver.unprotect_rtp(&packets[299]).is_ok());
    }

    #[test]
    fn ssrc_floods_are_bounded() {
        let a = InlineKey::new(SrtpKey::generate());
        let b = InlineKey::new(SrtpKey::generate());
        let mut sender = SrtpSession::new(CryptoSuite::AesCm128HmacSha1_80, &a, &b).unwrap();
        let mut receiver = SrtpSession::new(CryptoSuite::AesCm128HmacSha1_80, &b, &a).unwrap();
        let plain = rtp_packet(7, 20);
        assert!(receiver.unprotect_rtp(&sender.protect_rtp(&plain).unwrap()).is_ok());
        for ssrc in 0..10_000u32 {
            let mut junk = rtp_packet(8, 20);
            junk[8..12].copy_from_slice(&ssrc.to_be_bytes());
            junk.extend_from_slice(&[0; 10]);
            assert!(receiver.unprotect_rtp(&junk).is_err());
            assert!(receiver.rtp_strangers.len() <= MAX_UNAUTHENTICATED_SSRCS);
        }
        // The genuine stream still works after the context was rebuilt.
        let plain = rtp_packet(8, 20);
        assert_eq!(receiver.unprotect_rtp(&sender.protect_rtp(&plain).unwrap()).unwrap(), plain);
    }

    #[test]
    fn mki_is_spliced_before_the_tag() {
        let mut a = InlineKey::new(SrtpKey::generate());
        a.mki = Some(Mki::new(1, 4).unwrap());
        let b = InlineKey::new(SrtpKey::generate());
        let mut sender = SrtpSession::new(CryptoSuite::AesCm128HmacSha1_32, &a, &b).unwrap();
        let mut receiver = SrtpSession::new(CryptoSuite::AesCm128HmacSha1_32, &b, &a).unwrap();
        let mut no_mki =
            SrtpSession::new(CryptoSuite::AesCm128HmacSha1_32, &b, &InlineKey::new(a.key.clone())).unwrap();
        let plain = rtp_packet(9, 33);
        let protected = sender.protect_rtp(&plain).unwrap();
        assert_eq!(protected.len(), plain.len() + 4 + 4);
        assert_eq!(&protected[plain.len()..plain.len() + 4], &[0, 0, 0, 1]);
        assert_eq!(receiver.unprotect_rtp(&protected).unwrap(), plain);
        // The tag does not cover the MKI: without it the packet is the plain SRTP one.
        let mut stripped = protected.clone();
        stripped.drain(plain.len()..plain.len() + 4);
        assert_eq!(no_mki.unprotect_rtp(&stripped).unwrap(), plain);
        // A different MKI is refused.
        let mut other = sender.protect_rtp(&rtp_packet(10, 33)).unwrap();
        other[plain.len() + 3] = 2;
        assert!(receiver.unprotect_rtp(&other).is_err());
        let rtcp = sender.protect_rtcp(&rtcp_rr()).unwrap();
        assert_eq!(rtcp.len(), 8 + 4 + 4 + 10);
        assert_eq!(receiver.unprotect_rtcp(&rtcp).unwrap(), rtcp_rr());
    }

    /// Runs `core/tests/fixtures/srtp_oracle.py` (libsrtp through pylibsrtp).
    /// `None`, with a message, only if pylibsrtp cannot be imported nor
    /// installed with pip.
    fn libsrtp_oracle(request: &serde_json::Value) -> Option<serde_json::Value> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/srtp_oracle.py");
        let run = || {
            let mut child = Command::new(&python)
                .arg(script)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
            child.stdin.take().unwrap().write_all(request.to_string().as_bytes()).unwrap();
            child.wait_with_output().unwrap()
        };
        let mut output = run();
        if output.status.code() == Some(3) {
            static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
            let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
            let _ = Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "pylibsrtp"])
                .status();
            output = run();
            if output.status.code() == Some(3) {
                eprintln!(
                    "SKIPPED: the libsrtp oracle needs pylibsrtp, which pip could not install (tests/setup.sh installs it)"
                );
                return None;
            }
        }
        assert!(output.status.success(), "srtp_oracle.py failed: {:?}", output.status);
        Some(serde_json::from_slice(&output.stdout).expect("oracle answer is JSON"))
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &serde_json::Value) -> Option<Vec<u8>> {
        let text = text.as_str()?;
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
    }

    /// RTP packets built with rtc-rtp: sequence numbers across the wrap
    /// (the rollover counter goes to 1), a marker, CSRCs, a header extension.
    fn oracle_rtp_packets(ssrc: u32) -> Vec<Vec<u8>> {
        use rtc_shared::marshal::Marshal;
        (0..12u16)
            .map(|i| {
                let seq = 65530u16.wrapping_add(i);
                let mut header = rtc_rtp::Header {
                    version: 2,
                    marker: i == 0,
                    payload_type: if i % 5 == 4 { 101 } else { 0 },
                    sequence_number: seq,
                    timestamp: 0x1234_0000u32.wrapping_add(160 * u32::from(i)),
                    ssrc,
                    ..Default::default()
                };
                if i == 3 {
                    header.csrc = vec![1, 2];
                }
                if i == 7 {
                    header.set_extension(1, vec![0xaa, 0xbb].into()).unwrap();
                }
                let payload: Vec<u8> =
                    (0..(20 + 13 * usize::from(i))).map(|j| (j * 7 + usize::from(i)) as u8).collect();
                rtc_rtp::Packet { header, payload: payload.into() }.marshal().unwrap().to_vec()
            })
            .collect()
    }

    fn oracle_rtcp_packets() -> Vec<Vec<u8>> {
        let sr = [
            0x80, 200, 0, 6, 0xca, 0xfe, 0xba, 0xbe, 0xe9, 0x00, 0x00, 0x01, 0x80, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0,
            0, 0, 10, 0, 0, 6, 0x40,
        ];
        let sdes = [0x81, 202, 0, 3, 0xca, 0xfe, 0xba, 0xbe, 1, 5, b'a', b'l', b'i', b'c', b'e', 0];
        let mut compound = sr.to_vec();
        compound.extend_from_slice(&sdes);
        vec![rtcp_rr(), compound.clone(), rtcp_rr(), compound]
    }

    #[test]
    fn byte_identical_to_libsrtp() {
        let ours_key = InlineKey::new(SrtpKey::from_bytes(&(0..30).collect::<Vec<u8>>()).unwrap());
        let theirs_key = InlineKey::new(SrtpKey::from_bytes(&(100..130).collect::<Vec<u8>>()).unwrap());
        for suite in CryptoSuite::ALL {
            let rtp = oracle_rtp_packets(0xcafe_babe);
            let rtcp = oracle_rtcp_packets();
            // What we send, with our key; an MKI variant on another SSRC.
            let mut us = SrtpSession::new(suite, &ours_key, &theirs_key).unwrap();
            let our_srtp: Vec<Vec<u8>> = rtp.iter().map(|p| us.protect_rtp(p).unwrap()).collect();
            let our_srtcp: Vec<Vec<u8>> = rtcp.iter().map(|p| us.protect_rtcp(p).unwrap()).collect();
            let mut with_mki = ours_key.clone();
            with_mki.mki = Some(Mki::new(0x0102_0304, 4).unwrap());
            let mut us_mki = SrtpSession::new(suite, &with_mki, &theirs_key).unwrap();
            let mki_rtp = oracle_rtp_packets(0x1111_1111);
            let mki_srtp: Vec<Vec<u8>> = mki_rtp
                .iter()
                .map(|p| {
                    let mut protected = us_mki.protect_rtp(p).unwrap();
                    let tag = protected.len() - suite.rtp_auth_tag_len();
                    assert_eq!(protected.drain(tag - 4..tag).collect::<Vec<u8>>(), [1, 2, 3, 4]);
                    protected
                })
                .collect();
            let request = serde_json::json!({
                "profile": if suite == CryptoSuite::AesCm128HmacSha1_80 { "80" } else { "32" },
                "protect_key": hex(theirs_key.key.as_bytes()),
                "unprotect_key": hex(ours_key.key.as_bytes()),
                "rtp": rtp.iter().map(|p| hex(p)).collect::<Vec<_>>(),
                "rtcp": rtcp.iter().map(|p| hex(p)).collect::<Vec<_>>(),
                "srtp": our_srtp.iter().chain(&mki_srtp).map(|p| hex(p)).collect::<Vec<_>>(),
                "srtcp": our_srtcp.iter().map(|p| hex(p)).collect::<Vec<_>>(),
            });
            let Some(answer) = libsrtp_oracle(&request) else { return };
            let list =
                |name: &str| -> Vec<Option<Vec<u8>>> { answer[name].as_array().unwrap().iter().map(unhex).collect() };
            // libsrtp decrypts all of ours, MKI variant included once the MKI is taken out.
            let expected: Vec<Option<Vec<u8>>> = rtp.iter().chain(&mki_rtp).cloned().map(Some).collect();
            assert_eq!(list("srtp"), expected, "{suite}: libsrtp decrypting our SRTP");
            assert_eq!(list("srtcp"), rtcp.iter().cloned().map(Some).collect::<Vec<_>>(), "{suite}: our SRTCP");
            // What libsrtp sends with the peer's key is byte for byte what we send with that key...
            let mut as_peer = SrtpSession::new(suite, &theirs_key, &ours_key).unwrap();
            let libsrtp_rtp: Vec<Vec<u8>> = list("rtp").into_iter().map(Option::unwrap).collect();
            let libsrtp_rtcp: Vec<Vec<u8>> = list("rtcp").into_iter().map(Option::unwrap).collect();
            assert_eq!((libsrtp_rtp.len(), libsrtp_rtcp.len()), (rtp.len(), rtcp.len()));
            for (plain, theirs) in rtp.iter().zip(&libsrtp_rtp) {
                assert_eq!(&as_peer.protect_rtp(plain).unwrap(), theirs, "{suite}: SRTP bytes differ");
            }
            for (plain, theirs) in rtcp.iter().zip(&libsrtp_rtcp) {
                assert_eq!(&as_peer.protect_rtcp(plain).unwrap(), theirs, "{suite}: SRTCP bytes differ");
            }
            // ...and we decrypt it.
            for (plain, theirs) in rtp.iter().zip(&libsrtp_rtp) {
                assert_eq!(&us.unprotect_rtp(theirs).unwrap(), plain, "{suite}: decrypting libsrtp's SRTP");
            }
            for (plain, theirs) in rtcp.iter().zip(&libsrtp_rtcp) {
                assert_eq!(&us.unprotect_rtcp(theirs).unwrap(), plain, "{suite}: decrypting libsrtp's SRTCP");
            }
        }
    }

    #[test]
    fn hostile_input_never_panics() {
        use rand::{Rng, SeedableRng};
        let a = InlineKey { key: SrtpKey::generate(), lifetime: None, mki: Some(Mki::new(3, 2).unwrap()) };
        let b = InlineKey::new(SrtpKey::generate());
        let mut sessions = [
            SrtpSession::new(CryptoSuite::AesCm128HmacSha1_80, &b, &a).unwrap(),
            SrtpSession::new(CryptoSuite::AesCm128HmacSha1_32, &a, &b).unwrap(),
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(4568);
        for _ in 0..20_000 {
            let len = rng.random_range(0..80);
            let mut data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if len > 1 && rng.random_bool(0.5) {
                data[0] = 0x80 | (data[0] & 0x3f);
            }
            for session in sessions.iter_mut() {
                assert!(session.unprotect_rtp(&data).is_err());
                assert!(session.unprotect_rtcp(&data).is_err());
                let _ = session.protect_rtp(&data);
                let _ = session.protect_rtcp(&data);
            }
            let text: String = (0..rng.random_range(0..60)).map(|_| rng.random_range(' '..'~')).collect();
            let _ = SdesCrypto::parse(&text);
            let _ = SdesCrypto::parse(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{text}"));
        }
    }
}
