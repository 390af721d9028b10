//! Typed SDP attributes: each type reads the value of one `a=` line and
//! prints it back ([`TypedAttribute`]). The raw lines stay in
//! [`Attribute`] lists, so attributes nobody typed are kept
//! verbatim and a description re-serializes byte for byte.
//!
//! Printing is canonical: a typed value printed again may differ from the
//! received text in spacing or letter case, never in meaning.

use std::fmt;

use super::{Attribute, Connection};
use crate::base64;

/// Why the value of a typed attribute could not be read.
///
/// It names the attribute and the rule that failed, never the value itself:
/// `a=crypto` values carry keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid a={attribute} value: {reason}")]
pub struct AttributeError {
    /// The attribute's name, e.g. `rtpmap`.
    pub attribute: &'static str,
    /// What was wrong, e.g. `payload type above 127`.
    pub reason: &'static str,
}

impl AttributeError {
    pub(crate) fn new(attribute: &'static str, reason: &'static str) -> Self {
        AttributeError { attribute, reason }
    }
}

/// An attribute with a typed value: `a=<NAME>:<value>`.
///
/// Implemented by every type of this module except [`Direction`], whose name
/// is the value (`a=sendonly`).
pub trait TypedAttribute: Sized + fmt::Display {
    /// The attribute name, matched without regard to letter case.
    const NAME: &'static str;

    /// Reads the text after `a=<NAME>:`.
    fn parse_value(value: &str) -> Result<Self, AttributeError>;

    /// The attribute line for this value (`Display` gives the value part).
    fn to_attribute(&self) -> Attribute {
        Attribute::new(Self::NAME, self.to_string())
    }
}

fn err<T>(attribute: &'static str, reason: &'static str) -> Result<T, AttributeError> {
    Err(AttributeError::new(attribute, reason))
}

fn parse_u32(text: &str, attribute: &'static str, reason: &'static str) -> Result<u32, AttributeError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return err(attribute, reason);
    }
    text.parse().map_err(|_| AttributeError::new(attribute, reason))
}

fn parse_u64(text: &str, attribute: &'static str, reason: &'static str) -> Result<u64, AttributeError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return err(attribute, reason);
    }
    text.parse().map_err(|_| AttributeError::new(attribute, reason))
}

/// Reads an RTP payload type (0..=127).
pub(crate) fn parse_payload_type(text: &str) -> Option<u8> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u8>().ok().filter(|pt| *pt <= 127)
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`
/// (RFC 8866 §6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// The RTP payload type, 0..=127.
    pub payload_type: u8,
    /// The encoding name as written, e.g. `opus` or `PCMU`.
    pub encoding_name: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters, for audio the channel count (`2` for opus).
    pub encoding_parameters: Option<String>,
}

impl RtpMap {
    /// A mapping without encoding parameters.
    pub fn new(payload_type: u8, encoding_name: impl Into<String>, clock_rate: u32) -> Self {
        RtpMap { payload_type, encoding_name: encoding_name.into(), clock_rate, encoding_parameters: None }
    }

    /// The channel count of an audio encoding (1 when not given).
    pub fn channels(&self) -> Option<u32> {
        match &self.encoding_parameters {
            None => Some(1),
            Some(p) => p.parse().ok(),
        }
    }
}

impl TypedAttribute for RtpMap {
    const NAME: &'static str = "rtpmap";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let (pt, rest) = value.trim().split_once(' ').ok_or(AttributeError::new("rtpmap", "no encoding"))?;
        let payload_type = parse_payload_type(pt).ok_or(AttributeError::new("rtpmap", "invalid payload type"))?;
        let mut parts = rest.trim().splitn(3, '/');
        let encoding_name = parts.next().unwrap_or_default();
        if encoding_name.is_empty() || encoding_name.contains(char::is_whitespace) {
            return err("rtpmap", "invalid encoding name");
        }
        let clock_rate = parse_u32(parts.next().unwrap_or_default(), "rtpmap", "invalid clock rate")?;
        let encoding_parameters = match parts.next() {
            Some("") => return err("rtpmap", "empty encoding parameters"),
            Some(p) => Some(p.to_owned()),
            None => None,
        };
        Ok(RtpMap { payload_type, encoding_name: encoding_name.to_owned(), clock_rate, encoding_parameters })
    }
}

impl fmt::Display for RtpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.payload_type, self.encoding_name, self.clock_rate)?;
        if let Some(p) = &self.encoding_parameters {
            write!(f, "/{p}")?;
        }
        Ok(())
    }
}

/// `a=fmtp:<format> <format specific parameters>` (RFC 8866 §6.15).
///
/// The parameters are kept as written; [`Fmtp::parameters`] splits the common
/// `name=value;name=value` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// The format (an RTP payload type for RTP media).
    pub format: String,
    /// The parameters as written, e.g. `useinbandfec=1` or `0-16`.
    pub parameters: String,
}

impl Fmtp {
    /// Parameters for `format`.
    pub fn new(format: impl Into<String>, parameters: impl Into<String>) -> Self {
        Fmtp { format: format.into(), parameters: parameters.into() }
    }

    /// The format as an RTP payload type.
    pub fn payload_type(&self) -> Option<u8> {
        parse_payload_type(&self.format)
    }

    /// The `;`-separated parameters as `(name, value)` pairs, trimmed; a
    /// parameter without `=` (such as `0-16`) has no value.
    pub fn parameters(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.parameters.split(';').map(str::trim).filter(|p| !p.is_empty()).map(|p| match p.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim())),
            None => (p, None),
        })
    }

    /// The value of parameter `name` (letter case ignored).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters().find(|(n, _)| n.eq_ignore_ascii_case(name)).and_then(|(_, v)| v)
    }
}

impl TypedAttribute for Fmtp {
    const NAME: &'static str = "fmtp";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let value = value.trim_start();
        let (format, parameters) = value.split_once(' ').unwrap_or((value, ""));
        if format.is_empty() {
            return err("fmtp", "no format");
        }
        Ok(Fmtp { format: format.to_owned(), parameters: parameters.trim().to_owned() })
    }
}

impl fmt::Display for Fmtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.format, self.parameters)
    }
}

/// Reads a packet time: an integer or a decimal number of milliseconds
/// (RFC 8866 allows both); the fraction is dropped.
fn parse_packet_time(value: &str, attribute: &'static str) -> Result<u32, AttributeError> {
    let value = value.trim();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return err(attribute, "not a number");
    }
    let ms = parse_u32(whole, attribute, "not a number")?;
    if ms == 0 && fraction.bytes().all(|b| b == b'0') {
        return err(attribute, "zero");
    }
    Ok(ms)
}

/// `a=ptime:<milliseconds>`: the packet time the sender of this description
/// wants to receive (RFC 8866 §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ptime(pub u32);

impl TypedAttribute for Ptime {
    const NAME: &'static str = "ptime";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        parse_packet_time(value, "ptime").map(Ptime)
    }
}

impl fmt::Display for Ptime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `a=maxptime:<milliseconds>`: the longest packet time the sender of this
/// description can receive (RFC 8866 §6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPtime(pub u32);

impl TypedAttribute for MaxPtime {
    const NAME: &'static str = "maxptime";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        parse_packet_time(value, "maxptime").map(MaxPtime)
    }
}

impl fmt::Display for MaxPtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The media direction: `a=sendrecv`, `a=sendonly`, `a=recvonly` or
/// `a=inactive` (RFC 8866 §6.7), from the point of view of the party that
/// wrote the description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Sends and receives (the default when no direction is given).
    #[default]
    SendRecv,
    /// Only sends.
    SendOnly,
    /// Only receives.
    RecvOnly,
    /// Neither sends nor receives.
    Inactive,
}

impl Direction {
    /// All four, in RFC order.
    pub const ALL: [Direction; 4] =
        [Direction::SendRecv, Direction::SendOnly, Direction::RecvOnly, Direction::Inactive];

    /// The direction named by an attribute name, e.g. `sendonly` (letter case ignored).
    pub fn from_name(name: &str) -> Option<Direction> {
        Direction::ALL.into_iter().find(|d| d.as_str().eq_ignore_ascii_case(name))
    }

    /// The attribute name: `sendrecv`, `sendonly`, `recvonly` or `inactive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction with the given capabilities.
    pub fn from_flags(sends: bool, receives: bool) -> Direction {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Whether media flows from the writer of the description.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether media flows to the writer of the description.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same flow seen from the other party: `sendonly` ↔ `recvonly`.
    pub fn reverse(self) -> Direction {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// What both allow: sends only if both send, receives only if both receive.
    pub fn intersect(self, other: Direction) -> Direction {
        Direction::from_flags(self.sends() && other.sends(), self.receives() && other.receives())
    }

    /// The attribute line (`a=sendonly`).
    pub fn to_attribute(self) -> Attribute {
        Attribute::flag(self.as_str())
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]`: where RTCP is received
/// when it is not the RTP port + 1 (RFC 3605).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtcp {
    /// The RTCP port.
    pub port: u16,
    /// The RTCP address when it differs from the media's `c=`.
    pub connection: Option<Connection>,
}

impl TypedAttribute for Rtcp {
    const NAME: &'static str = "rtcp";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let mut fields = value.split_whitespace();
        let port = fields.next().ok_or(AttributeError::new("rtcp", "no port"))?;
        let port = parse_u32(port, "rtcp", "invalid port")?;
        let port = u16::try_from(port).map_err(|_| AttributeError::new("rtcp", "invalid port"))?;
        let connection = match (fields.next(), fields.next(), fields.next()) {
            (None, _, _) => None,
            (Some(nettype), Some(addrtype), Some(address)) => Some(Connection::new(nettype, addrtype, address)),
            _ => return err("rtcp", "incomplete address"),
        };
        if fields.next().is_some() {
            return err("rtcp", "trailing data");
        }
        Ok(Rtcp { port, connection })
    }
}

impl fmt::Display for Rtcp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.port)?;
        if let Some(c) = &self.connection {
            write!(f, " {} {} {}", c.network_type, c.address_type, c.address)?;
        }
        Ok(())
    }
}

/// `a=setup:<role>`: which end opens the TCP connection (RFC 4145 §4),
/// used by MSRP (RFC 6135).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// Opens the connection.
    Active,
    /// Accepts the connection.
    Passive,
    /// Either (offers only).
    ActPass,
    /// No connection for now.
    HoldConn,
}

impl Setup {
    /// The attribute value: `active`, `passive`, `actpass` or `holdconn`.
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
            Setup::HoldConn => "holdconn",
        }
    }
}

impl TypedAttribute for Setup {
    const NAME: &'static str = "setup";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        [Setup::Active, Setup::Passive, Setup::ActPass, Setup::HoldConn]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value.trim()))
            .ok_or(AttributeError::new("setup", "unknown role"))
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=connection:new|existing`: whether a new TCP connection is wanted
/// (RFC 4145 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpConnection {
    /// Open a new connection.
    New,
    /// Reuse the existing connection.
    Existing,
}

impl TypedAttribute for TcpConnection {
    const NAME: &'static str = "connection";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        match value.trim() {
            v if v.eq_ignore_ascii_case("new") => Ok(TcpConnection::New),
            v if v.eq_ignore_ascii_case("existing") => Ok(TcpConnection::Existing),
            _ => err("connection", "neither new nor existing"),
        }
    }
}

impl fmt::Display for TcpConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TcpConnection::New => "new",
            TcpConnection::Existing => "existing",
        })
    }
}

/// An SRTP crypto suite name of `a=crypto` (RFC 4568 §6.2, RFC 6188, RFC 7714).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CryptoSuite {
    /// `AES_CM_128_HMAC_SHA1_80`: AES-128 counter mode, 80-bit auth tag.
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32`: AES-128 counter mode, 32-bit auth tag.
    AesCm128HmacSha1_32,
    /// Any other suite, kept as written (e.g. `AEAD_AES_256_GCM`).
    Other(String),
}

impl CryptoSuite {
    /// The suite for a name (letter case ignored for the two known ones).
    pub fn from_name(name: &str) -> CryptoSuite {
        if name.eq_ignore_ascii_case("AES_CM_128_HMAC_SHA1_80") {
            CryptoSuite::AesCm128HmacSha1_80
        } else if name.eq_ignore_ascii_case("AES_CM_128_HMAC_SHA1_32") {
            CryptoSuite::AesCm128HmacSha1_32
        } else {
            CryptoSuite::Other(name.to_owned())
        }
    }

    /// The name as written in SDP.
    pub fn as_str(&self) -> &str {
        match self {
            CryptoSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            CryptoSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            CryptoSuite::Other(name) => name,
        }
    }

    /// Length of the master key plus master salt in bytes, for known suites (30).
    pub fn key_salt_len(&self) -> Option<usize> {
        match self {
            CryptoSuite::AesCm128HmacSha1_80 | CryptoSuite::AesCm128HmacSha1_32 => Some(30),
            CryptoSuite::Other(_) => None,
        }
    }
}

impl fmt::Display for CryptoSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The lifetime of an SRTP master key, in packets (RFC 4568 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyLifetime {
    /// Written as a decimal number.
    Packets(u64),
    /// Written as `2^n`.
    PowerOfTwo(u8),
}

impl KeyLifetime {
    /// The lifetime in packets (saturating at `u64::MAX`).
    pub fn packets(self) -> u64 {
        match self {
            KeyLifetime::Packets(n) => n,
            KeyLifetime::PowerOfTwo(n) => 1u64.checked_shl(u32::from(n)).unwrap_or(u64::MAX),
        }
    }
}

impl fmt::Display for KeyLifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyLifetime::Packets(n) => write!(f, "{n}"),
            KeyLifetime::PowerOfTwo(n) => write!(f, "2^{n}"),
        }
    }
}

/// A master key identifier and its length in bytes (RFC 4568 §6.1: `MKI:length`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mki {
    /// The MKI value.
    pub value: u64,
    /// The MKI field length in bytes (1..=128).
    pub length: u8,
}

/// One `inline:<key||salt>[|<lifetime>][|<MKI>:<length>]` key parameter of
/// `a=crypto`. `Debug` hides the key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyParam {
    /// The master key followed by the master salt, base64 as written.
    pub key_salt: String,
    /// The master key lifetime.
    pub lifetime: Option<KeyLifetime>,
    /// The master key identifier.
    pub mki: Option<Mki>,
}

impl KeyParam {
    /// An `inline:` parameter for `key_salt` (raw bytes), without lifetime or MKI.
    pub fn inline(key_salt: &[u8]) -> Self {
        KeyParam { key_salt: base64::encode(key_salt), lifetime: None, mki: None }
    }

    /// The decoded master key and salt; `None` when the base64 is invalid.
    pub fn decode_key_salt(&self) -> Option<Vec<u8>> {
        base64::decode(&self.key_salt)
    }

    fn parse(text: &str) -> Result<Self, AttributeError> {
        let (method, info) =
            text.split_once(':').ok_or(AttributeError::new("crypto", "key parameter without method"))?;
        if !method.eq_ignore_ascii_case("inline") {
            return err("crypto", "key method is not inline");
        }
        let mut parts = info.split('|');
        let key_salt = parts.next().unwrap_or_default();
        if key_salt.is_empty() || base64::decode(key_salt).is_none() {
            return err("crypto", "key is not base64");
        }
        let mut lifetime = None;
        let mut mki = None;
        for part in parts {
            if let Some((value, length)) = part.split_once(':') {
                if mki.is_some() {
                    return err("crypto", "two MKIs");
                }
                let value = parse_u64(value, "crypto", "invalid MKI")?;
                let length = parse_u32(length, "crypto", "invalid MKI length")?;
                let length = u8::try_from(length)
                    .ok()
                    .filter(|l| (1..=128).contains(l))
                    .ok_or(AttributeError::new("crypto", "invalid MKI length"))?;
                mki = Some(Mki { value, length });
            } else {
                if lifetime.is_some() || mki.is_some() {
                    return err("crypto", "misplaced lifetime");
                }
                lifetime = Some(match part.strip_prefix("2^") {
                    Some(exp) => {
                        let exp = parse_u32(exp, "crypto", "invalid lifetime")?;
                        KeyLifetime::PowerOfTwo(
                            u8::try_from(exp)
                                .ok()
                                .filter(|e| *e < 64)
                                .ok_or(AttributeError::new("crypto", "invalid lifetime"))?,
                        )
                    }
                    None => KeyLifetime::Packets(parse_u64(part, "crypto", "invalid lifetime")?),
                });
            }
        }
        Ok(KeyParam { key_salt: key_salt.to_owned(), lifetime, mki })
    }
}

impl fmt::Display for KeyParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inline:{}", self.key_salt)?;
        if let Some(l) = self.lifetime {
            write!(f, "|{l}")?;
        }
        if let Some(m) = self.mki {
            write!(f, "|{}:{}", m.value, m.length)?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyParam")
            .field("key_salt", &"REDACTED")
            .field("lifetime", &self.lifetime)
            .field("mki", &self.mki)
            .finish()
    }
}

/// `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]`: an SDES
/// SRTP key (RFC 4568 §9.1). `Debug` hides the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crypto {
    /// The tag that pairs an answer's crypto line with the offer's (1..=999999999).
    pub tag: u32,
    /// The crypto suite.
    pub suite: CryptoSuite,
    /// The keys (at least one), separated by `;` on the wire.
    pub key_params: Vec<KeyParam>,
    /// Session parameters as written (e.g. `KDR=1`, `UNENCRYPTED_SRTCP`).
    pub session_params: Vec<String>,
}

impl Crypto {
    /// A crypto line with one inline key and no session parameters.
    pub fn new(tag: u32, suite: CryptoSuite, key_salt: &[u8]) -> Self {
        Crypto { tag, suite, key_params: vec![KeyParam::inline(key_salt)], session_params: Vec::new() }
    }

    /// The first key's decoded master key and salt, when it is valid base64
    /// of the suite's length (any length for unknown suites).
    pub fn key_salt(&self) -> Option<Vec<u8>> {
        let key = self.key_params.first()?.decode_key_salt()?;
        match self.suite.key_salt_len() {
            Some(len) if key.len() != len => None,
            _ => Some(key),
        }
    }
}

impl TypedAttribute for Crypto {
    const NAME: &'static str = "crypto";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let mut fields = value.split_whitespace();
        let tag = fields.next().ok_or(AttributeError::new("crypto", "no tag"))?;
        if tag.len() > 9 {
            return err("crypto", "tag longer than 9 digits");
        }
        let tag = parse_u32(tag, "crypto", "invalid tag")?;
        let suite = fields.next().ok_or(AttributeError::new("crypto", "no crypto suite"))?;
        if !suite.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return err("crypto", "invalid crypto suite");
        }
        let keys = fields.next().ok_or(AttributeError::new("crypto", "no key parameters"))?;
        let key_params = keys.split(';').map(KeyParam::parse).collect::<Result<Vec<_>, _>>()?;
        let session_params = fields.map(str::to_owned).collect();
        Ok(Crypto { tag, suite: CryptoSuite::from_name(suite), key_params, session_params })
    }
}

impl fmt::Display for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.tag, self.suite)?;
        for (i, key) in self.key_params.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{key}")?;
        }
        for param in &self.session_params {
            write!(f, " {param}")?;
        }
        Ok(())
    }
}

fn parse_list(value: &str, attribute: &'static str) -> Result<Vec<String>, AttributeError> {
    let items: Vec<String> = value.split_whitespace().map(str::to_owned).collect();
    if items.is_empty() {
        return err(attribute, "empty list");
    }
    Ok(items)
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[String]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        f.write_str(item)?;
    }
    Ok(())
}

/// `a=path:<MSRP URI> ...`: the MSRP URIs to reach the writer, first hop
/// first (RFC 4975 §8.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path(pub Vec<String>);

impl TypedAttribute for Path {
    const NAME: &'static str = "path";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        parse_list(value, "path").map(Path)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, &self.0)
    }
}

/// `a=accept-types:<MIME type> ...`: the content types the writer accepts
/// over MSRP, `*` for any (RFC 4975 §8.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptTypes(pub Vec<String>);

impl TypedAttribute for AcceptTypes {
    const NAME: &'static str = "accept-types";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        parse_list(value, "accept-types").map(AcceptTypes)
    }
}

impl fmt::Display for AcceptTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, &self.0)
    }
}

/// `a=accept-wrapped-types:<MIME type> ...`: the content types the writer
/// accepts inside a wrapper such as `message/cpim` (RFC 4975 §8.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptWrappedTypes(pub Vec<String>);

impl TypedAttribute for AcceptWrappedTypes {
    const NAME: &'static str = "accept-wrapped-types";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        parse_list(value, "accept-wrapped-types").map(AcceptWrappedTypes)
    }
}

impl fmt::Display for AcceptWrappedTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, &self.0)
    }
}

/// `a=max-size:<bytes>`: the largest MSRP message the writer accepts
/// (RFC 4975 §8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxSize(pub u64);

impl TypedAttribute for MaxSize {
    const NAME: &'static str = "max-size";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        parse_u64(value.trim(), "max-size", "not a number").map(MaxSize)
    }
}

impl fmt::Display for MaxSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Splits on spaces outside double quotes (RFC 5547 selectors and dates).
fn split_quoted<'a>(value: &'a str, attribute: &'static str) -> Result<Vec<&'a str>, AttributeError> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quoted = false;
    for (i, c) in value.char_indices() {
        match c {
            '"' => {
                quoted = !quoted;
                start.get_or_insert(i);
            }
            ' ' | '\t' if !quoted => {
                if let Some(s) = start.take() {
                    out.push(&value[s..i]);
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    if quoted {
        return err(attribute, "unterminated quote");
    }
    if let Some(s) = start {
        out.push(&value[s..]);
    }
    Ok(out)
}

fn unquote<'a>(text: &'a str, attribute: &'static str) -> Result<&'a str, AttributeError> {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| !t.contains('"'))
        .ok_or(AttributeError::new(attribute, "value not quoted"))
}

fn percent_decode(text: &str) -> Result<String, AttributeError> {
    // A '%' not followed by two hex digits is kept as written: peers that do
    // not percent-encode (the original library among them) send "100%.txt".
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|hex| byte == b'%' && hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| AttributeError::new("file-selector", "name is not UTF-8"))
}

fn percent_encode_name(name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for c in name.chars() {
        match c {
            '"' | '%' | '\r' | '\n' | '\0' => write!(f, "%{:02X}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    Ok(())
}

/// The `hash:` selector of a file selector: algorithm and colon-separated
/// hex bytes, e.g. `sha-1` and `72:24:5F:...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHash {
    /// The hash algorithm as written (`sha-1`; some peers write `sha1`).
    pub algorithm: String,
    /// The hash as colon-separated upper-case hex pairs.
    pub value: String,
}

impl FileHash {
    /// The hash bytes.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        self.value.split(':').map(|p| if p.len() == 2 { u8::from_str_radix(p, 16).ok() } else { None }).collect()
    }
}

/// `a=file-selector:` with `name:"..."`, `type:...`, `size:...` and
/// `hash:<algorithm>:<hex>` selectors (RFC 5547 §6). Unknown selectors are
/// kept in `extensions`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileSelector {
    /// The file name (percent-decoded).
    pub name: Option<String>,
    /// The MIME type, with parameters as written (e.g. `image/jpeg`).
    pub content_type: Option<String>,
    /// The size in bytes.
    pub size: Option<u64>,
    /// The file hash.
    pub hash: Option<FileHash>,
    /// Selectors this type does not know, as written.
    pub extensions: Vec<String>,
}

impl TypedAttribute for FileSelector {
    const NAME: &'static str = "file-selector";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        const A: &str = "file-selector";
        let mut selector = FileSelector::default();
        for item in split_quoted(value, A)? {
            let (key, rest) = item.split_once(':').unwrap_or((item, ""));
            match key.to_ascii_lowercase().as_str() {
                "name" => selector.name = Some(percent_decode(unquote(rest, A)?)?),
                // Not only `type/subtype`: Blink on macOS sends UTIs such as `com.adobe.pdf`.
                "type" if !rest.is_empty() => selector.content_type = Some(rest.to_owned()),
                "type" => return err(A, "invalid type"),
                "size" => selector.size = Some(parse_u64(rest, A, "invalid size")?),
                "hash" => {
                    let (algorithm, value) = rest.split_once(':').ok_or(AttributeError::new(A, "invalid hash"))?;
                    let hash = FileHash { algorithm: algorithm.to_owned(), value: value.to_owned() };
                    if algorithm.is_empty() || hash.bytes().is_none() {
                        return err(A, "invalid hash");
                    }
                    selector.hash = Some(hash);
                }
                _ => selector.extensions.push(item.to_owned()),
            }
        }
        if selector == FileSelector::default() {
            return err(A, "no selector");
        }
        Ok(selector)
    }
}

impl fmt::Display for FileSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(name) = &self.name {
            f.write_str("name:\"")?;
            percent_encode_name(name, f)?;
            f.write_str("\"")?;
            sep = " ";
        }
        if let Some(t) = &self.content_type {
            write!(f, "{sep}type:{t}")?;
            sep = " ";
        }
        if let Some(size) = self.size {
            write!(f, "{sep}size:{size}")?;
            sep = " ";
        }
        if let Some(hash) = &self.hash {
            write!(f, "{sep}hash:{}:{}", hash.algorithm, hash.value)?;
            sep = " ";
        }
        for e in &self.extensions {
            write!(f, "{sep}{e}")?;
            sep = " ";
        }
        Ok(())
    }
}

macro_rules! string_attribute {
    ($(#[$doc:meta])* $name:ident, $attr:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl TypedAttribute for $name {
            const NAME: &'static str = $attr;

            fn parse_value(value: &str) -> Result<Self, AttributeError> {
                let value = value.trim();
                if value.is_empty() || value.contains(char::is_whitespace) {
                    return err($attr, "not a single token");
                }
                Ok($name(value.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_attribute!(
    /// `a=file-transfer-id:<id>`: identifies one file transfer, so a re-offer
    /// can tell a new transfer from the same one (RFC 5547 §6).
    FileTransferId,
    "file-transfer-id"
);
string_attribute!(
    /// `a=file-disposition:<disposition>`: what to do with the file, e.g.
    /// `render` or `attachment` (RFC 5547 §6).
    FileDisposition,
    "file-disposition"
);
string_attribute!(
    /// `a=file-icon:<cid URL>`: a body part with an icon of the file (RFC 5547 §6).
    FileIcon,
    "file-icon"
);

/// `a=file-date:creation:"<date>" modification:"<date>" read:"<date>"`
/// (RFC 5547 §6); dates are kept as written (RFC 5322 date-time).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileDate {
    /// Creation date.
    pub creation: Option<String>,
    /// Modification date.
    pub modification: Option<String>,
    /// Last read date.
    pub read: Option<String>,
}

impl TypedAttribute for FileDate {
    const NAME: &'static str = "file-date";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        const A: &str = "file-date";
        let mut date = FileDate::default();
        for item in split_quoted(value, A)? {
            let (key, rest) = item.split_once(':').ok_or(AttributeError::new(A, "date without kind"))?;
            let text = Some(unquote(rest, A)?.to_owned());
            match key.to_ascii_lowercase().as_str() {
                "creation" => date.creation = text,
                "modification" => date.modification = text,
                "read" => date.read = text,
                _ => {}
            }
        }
        if date == FileDate::default() {
            return err(A, "no date");
        }
        Ok(date)
    }
}

impl fmt::Display for FileDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for (kind, value) in [("creation", &self.creation), ("modification", &self.modification), ("read", &self.read)]
        {
            if let Some(v) = value {
                write!(f, "{sep}{kind}:\"{v}\"")?;
                sep = " ";
            }
        }
        Ok(())
    }
}

/// `a=file-range:<start>-<stop>`: the byte range of the file to send, 1-based
/// and inclusive; `*` as stop means up to the end (RFC 5547 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRange {
    /// First byte, counted from 1.
    pub start: u64,
    /// Last byte, or `None` for `*` (the end of the file).
    pub stop: Option<u64>,
}

impl TypedAttribute for FileRange {
    const NAME: &'static str = "file-range";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        const A: &str = "file-range";
        let (start, stop) = value.trim().split_once('-').ok_or(AttributeError::new(A, "no '-'"))?;
        let start = parse_u64(start, A, "invalid start")?;
        if start == 0 {
            return err(A, "start is 0");
        }
        let stop = match stop {
            "*" => None,
            s => Some(parse_u64(s, A, "invalid stop")?),
        };
        if stop.is_some_and(|s| s < start) {
            return err(A, "stop before start");
        }
        Ok(FileRange { start, stop })
    }
}

impl fmt::Display for FileRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stop {
            Some(stop) => write!(f, "{}-{stop}", self.start),
            None => write!(f, "{}-*", self.start),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `value` as `T`, checks it prints back identically, returns it.
    fn round_trip<T: TypedAttribute + fmt::Debug>(value: &str) -> T {
        let parsed = T::parse_value(value).unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(parsed.to_string(), value, "print of {parsed:?}");
        assert_eq!(parsed.to_attribute(), Attribute::new(T::NAME, value));
        parsed
    }

    fn rejects<T: TypedAttribute + fmt::Debug>(value: &str) -> AttributeError {
        match T::parse_value(value) {
            Ok(v) => panic!("{value:?} parsed as {v:?}"),
            Err(e) => {
                assert_eq!(e.attribute, T::NAME);
                e
            }
        }
    }

    #[test]
    fn rtpmap() {
        let opus: RtpMap = round_trip("111 opus/48000/2");
        assert_eq!((opus.payload_type, opus.encoding_name.as_str(), opus.clock_rate), (111, "opus", 48000));
        assert_eq!(opus.channels(), Some(2));
        let pcmu: RtpMap = round_trip("0 PCMU/8000");
        assert_eq!((pcmu.encoding_parameters.as_deref(), pcmu.channels()), (None, Some(1)));
        round_trip::<RtpMap>("101 telephone-event/8000");
        assert_eq!(RtpMap::parse_value(" 8  PCMA/8000 ").unwrap().to_string(), "8 PCMA/8000");
        for bad in [
            "",
            "96",
            "128 opus/48000",
            "x opus/48000",
            "96 opus",
            "96 opus/",
            "96 /8000",
            "96 opus/48k",
            "96 opus/48000/",
        ] {
            rejects::<RtpMap>(bad);
        }
    }

    #[test]
    fn fmtp() {
        let f: Fmtp = round_trip("96 useinbandfec=1; stereo=1;sprop-stereo=1");
        assert_eq!(f.payload_type(), Some(96));
        assert_eq!(f.parameter("STEREO"), Some("1"));
        assert_eq!(f.parameter("useinbandfec"), Some("1"));
        assert_eq!(f.parameter("maxplaybackrate"), None);
        assert_eq!(f.parameters().count(), 3);
        let te: Fmtp = round_trip("101 0-16");
        assert_eq!(te.parameters().collect::<Vec<_>>(), vec![("0-16", None)]);
        let msrp: Fmtp = round_trip("* x=1");
        assert_eq!(msrp.payload_type(), None);
        assert_eq!(Fmtp::parse_value("18").unwrap().parameters, "");
        rejects::<Fmtp>("");
        rejects::<Fmtp>(" ");
    }

    #[test]
    fn ptime_and_maxptime() {
        assert_eq!(round_trip::<Ptime>("20"), Ptime(20));
        assert_eq!(round_trip::<MaxPtime>("150"), MaxPtime(150));
        assert_eq!(Ptime::parse_value("20.0"), Ok(Ptime(20)));
        assert_eq!(Ptime::parse_value(" 30 "), Ok(Ptime(30)));
        assert_eq!(MaxPtime::parse_value("40.5"), Ok(MaxPtime(40)));
        for bad in ["", "0", "0.0", "-20", "twenty", "20ms", "20.x", "99999999999"] {
            rejects::<Ptime>(bad);
        }
    }

    #[test]
    fn direction() {
        for d in Direction::ALL {
            assert_eq!(Direction::from_name(d.as_str()), Some(d));
            assert_eq!(d.to_attribute(), Attribute::flag(d.as_str()));
            assert_eq!(d.reverse().reverse(), d);
            assert_eq!(Direction::from_flags(d.sends(), d.receives()), d);
            assert_eq!(d.intersect(Direction::SendRecv), d);
            assert_eq!(d.intersect(Direction::Inactive), Direction::Inactive);
        }
        assert_eq!(Direction::from_name("SendOnly"), Some(Direction::SendOnly));
        assert_eq!(Direction::from_name("sendonly:"), None);
        assert_eq!(Direction::SendOnly.reverse(), Direction::RecvOnly);
        assert_eq!(Direction::SendOnly.intersect(Direction::RecvOnly), Direction::Inactive);
        assert_eq!(Direction::default(), Direction::SendRecv);
    }

    #[test]
    fn rtcp() {
        assert_eq!(round_trip::<Rtcp>("53020"), Rtcp { port: 53020, connection: None });
        let r: Rtcp = round_trip("53020 IN IP4 126.16.64.4");
        assert_eq!(r.connection.and_then(|c| c.ip()), Some("126.16.64.4".parse().unwrap()));
        let r: Rtcp = round_trip("4001 IN IP6 2001:db8::1");
        assert_eq!(r.connection.unwrap().address, "2001:db8::1");
        for bad in ["", "70000", "x", "53020 IN IP4", "53020 IN IP4 1.2.3.4 extra"] {
            rejects::<Rtcp>(bad);
        }
    }

    #[test]
    fn setup_and_connection() {
        for (text, setup) in [
            ("active", Setup::Active),
            ("passive", Setup::Passive),
            ("actpass", Setup::ActPass),
            ("holdconn", Setup::HoldConn),
        ] {
            assert_eq!(round_trip::<Setup>(text), setup);
        }
        assert_eq!(Setup::parse_value("ACTIVE"), Ok(Setup::Active));
        rejects::<Setup>("both");
        assert_eq!(round_trip::<TcpConnection>("new"), TcpConnection::New);
        assert_eq!(round_trip::<TcpConnection>("existing"), TcpConnection::Existing);
        rejects::<TcpConnection>("old");
    }

    #[test]
    fn crypto() {
        // RFC 4568 §4 example.
        let c: Crypto = round_trip(
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32 KDR=1 UNENCRYPTED_SRTCP",
        );
        assert_eq!(c.tag, 1);
        assert_eq!(c.suite, CryptoSuite::AesCm128HmacSha1_80);
        assert_eq!(c.key_params[0].lifetime, Some(KeyLifetime::PowerOfTwo(20)));
        assert_eq!(c.key_params[0].lifetime.unwrap().packets(), 1 << 20);
        assert_eq!(c.key_params[0].mki, Some(Mki { value: 1, length: 32 }));
        assert_eq!(c.session_params, ["KDR=1", "UNENCRYPTED_SRTCP"]);
        assert_eq!(c.key_salt().map(|k| k.len()), Some(30));
        // Several keys, decimal lifetime, unknown suite.
        let c: Crypto = round_trip(
            "2 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4;inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|1048576|2:4 FEC_ORDER=FEC_SRTP",
        );
        assert_eq!(c.suite, CryptoSuite::Other("F8_128_HMAC_SHA1_80".into()));
        assert_eq!(c.key_params.len(), 2);
        assert_eq!(c.key_params[1].lifetime, Some(KeyLifetime::Packets(1048576)));
        let c: Crypto = round_trip("3 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj");
        assert_eq!(c.suite, CryptoSuite::AesCm128HmacSha1_32);
        // Building from key bytes.
        let built = Crypto::new(7, CryptoSuite::AesCm128HmacSha1_80, &[0xAB; 30]);
        let text = built.to_string();
        assert!(text.starts_with("7 AES_CM_128_HMAC_SHA1_80 inline:q6ur"), "{text}");
        assert_eq!(Crypto::parse_value(&text).unwrap().key_salt(), Some(vec![0xAB; 30]));
        // A key of the wrong length for a known suite is not usable.
        let short = Crypto::parse_value("1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=").unwrap();
        assert_eq!(short.key_salt(), None);
        for bad in [
            "",
            "1",
            "1 AES_CM_128_HMAC_SHA1_80",
            "x AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=",
            "1234567890 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=",
            "1 AES-CM inline:c2hvcnQ=",
            "1 AES_CM_128_HMAC_SHA1_80 outline:c2hvcnQ=",
            "1 AES_CM_128_HMAC_SHA1_80 inline:",
            "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!",
            "1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=|2^x",
            "1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=|2^64",
            "1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=|1:0",
            "1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=|1:4|2^20",
            "1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=|1:4|2:4",
            "1 AES_CM_128_HMAC_SHA1_80 c2hvcnQ=",
        ] {
            rejects::<Crypto>(bad);
        }
    }

    #[test]
    fn crypto_keys_stay_out_of_debug_and_errors() {
        let key = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
        let value = format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key}");
        let c = Crypto::parse_value(&value).unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains(key) && debug.contains("REDACTED"), "{debug}");
        let attr = Attribute::new("crypto", value.clone());
        assert!(!format!("{attr:?}").contains(key));
        let err = Crypto::parse_value(&format!("{value}|2^x")).unwrap_err();
        assert!(!err.to_string().contains(key), "{err}");
    }

    #[test]
    fn msrp_lists_and_size() {
        let p: Path = round_trip("msrps://atlanta.example.com:7654/jshA7weztas;tcp msrps://10.0.0.1:2855/sfl23;tcp");
        assert_eq!(p.0.len(), 2);
        let a: AcceptTypes = round_trip("message/cpim text/plain text/html");
        assert_eq!(a.0, ["message/cpim", "text/plain", "text/html"]);
        round_trip::<AcceptTypes>("*");
        let w: AcceptWrappedTypes = round_trip("text/plain image/*");
        assert_eq!(w.0[1], "image/*");
        assert_eq!(round_trip::<MaxSize>("2048"), MaxSize(2048));
        rejects::<Path>("");
        rejects::<AcceptTypes>("  ");
        rejects::<MaxSize>("-1");
        rejects::<MaxSize>("1k");
    }

    #[test]
    fn file_selector() {
        // RFC 5547 §9.1.
        let s: FileSelector = round_trip(
            "name:\"My cool picture.jpg\" type:image/jpeg size:32349 hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E",
        );
        assert_eq!(s.name.as_deref(), Some("My cool picture.jpg"));
        assert_eq!(s.content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(s.size, Some(32349));
        let hash = s.hash.unwrap();
        assert_eq!(hash.algorithm, "sha-1");
        assert_eq!(hash.bytes().map(|b| b.len()), Some(20));
        // Percent-encoding of quotes and percent signs in names.
        let s: FileSelector = round_trip("name:\"100%25 %22real%22.txt\" type:text/plain;charset=\"UTF-8\" size:5");
        assert_eq!(s.name.as_deref(), Some("100% \"real\".txt"));
        assert_eq!(s.content_type.as_deref(), Some("text/plain;charset=\"UTF-8\""));
        let s: FileSelector = round_trip("size:10 x-extra:1");
        assert_eq!(s.extensions, ["x-extra:1"]);
        for bad in
            ["", "name:unquoted", "name:\"open", "size:big", "type:", "hash:sha-1", "hash:sha-1:7", "name:\"%FF\""]
        {
            rejects::<FileSelector>(bad);
        }
        // What peers send in practice: a macOS UTI as type, a '%' not encoded.
        let s = FileSelector::parse_value("name:\"100% %4.pdf\" type:com.adobe.pdf").unwrap();
        assert_eq!((s.name.as_deref(), s.content_type.as_deref()), (Some("100% %4.pdf"), Some("com.adobe.pdf")));
        assert_eq!(s.to_string(), "name:\"100%25 %254.pdf\" type:com.adobe.pdf");
    }

    #[test]
    fn file_attributes() {
        assert_eq!(
            round_trip::<FileTransferId>("vBnG916bdberum2fFEABR1FR3ExZMUrd").0,
            "vBnG916bdberum2fFEABR1FR3ExZMUrd"
        );
        assert_eq!(round_trip::<FileDisposition>("render").0, "render");
        assert_eq!(round_trip::<FileIcon>("cid:id2@alicepc.example.com").0, "cid:id2@alicepc.example.com");
        rejects::<FileTransferId>("two words");
        rejects::<FileDisposition>("");
        let d: FileDate = round_trip(
            "creation:\"Mon, 15 May 2006 15:01:31 +0300\" modification:\"Tue, 16 May 2006 18:20:12 +0300\" read:\"Wed, 17 May 2006 10:00:00 +0300\"",
        );
        assert_eq!(d.creation.as_deref(), Some("Mon, 15 May 2006 15:01:31 +0300"));
        assert!(d.modification.is_some() && d.read.is_some());
        let d: FileDate = round_trip("modification:\"Tue, 16 May 2006 18:20:12 +0300\"");
        assert_eq!(d.creation, None);
        rejects::<FileDate>("");
        rejects::<FileDate>("creation:Mon");
        rejects::<FileDate>("creation:\"Mon");
        assert_eq!(round_trip::<FileRange>("1-*"), FileRange { start: 1, stop: None });
        assert_eq!(round_trip::<FileRange>("1024-32349"), FileRange { start: 1024, stop: Some(32349) });
        for bad in ["", "0-*", "5-4", "1-", "-5", "a-b", "1*"] {
            rejects::<FileRange>(bad);
        }
    }

    #[test]
    fn attribute_typed_matches_names_without_case() {
        let a = Attribute::new("RTPMAP", "0 PCMU/8000");
        assert_eq!(a.typed::<RtpMap>().unwrap().unwrap().payload_type, 0);
        assert!(a.typed::<Fmtp>().is_none());
        assert!(Attribute::flag("rtpmap").typed::<RtpMap>().unwrap().is_err());
    }
}
