//! SDP (RFC 4566/8866) with a typed attribute layer, and the offer/answer
//! model (RFC 3264) sessions negotiate their streams with.
//!
//! Sans-IO and pure: nothing here touches sockets, clocks or notifications;
//! callers own the state (the session and its streams) and may call from any
//! thread.
//!
//! - [`SessionDescription`] and [`MediaDescription`] are a lossless line model
//!   over the `sdp-types` parser and writer: every `a=` line is kept as a raw
//!   [`Attribute`], in order, so a description that is parsed and written
//!   again is byte-identical when its lines were in RFC order with CRLF
//!   endings (LF-only input is accepted and written back with CRLF).
//! - [`attributes`] types the values the SDK reads: `rtpmap`, `fmtp`,
//!   `ptime`, `maxptime`, the directions, `rtcp`, `crypto`, `setup`,
//!   `connection` and the MSRP/file transfer ones (`path`, `accept-types`,
//!   `accept-wrapped-types`, `max-size`, `file-selector`, `file-transfer-id`,
//!   `file-disposition`, `file-date`, `file-icon`, `file-range`). Unknown
//!   attributes stay verbatim.
//! - [`offer_answer`] builds and answers audio m-lines (codecs, DTMF, SDES
//!   SRTP, hold) and keeps the `o=` line of the local side
//!   ([`offer_answer::LocalSdp`]). MSRP m-lines are carried through untouched
//!   for their stream types to negotiate.
//!
//! Bad input never panics: parsing returns [`SdpError`], typed attributes
//! return [`AttributeError`], negotiation returns
//! [`offer_answer::OfferError`] (each mapping to 488 Not Acceptable Here) or
//! [`offer_answer::AnswerError`].
//!
//! `Debug` output never shows SRTP keys (`a=crypto`, `a=key-mgmt`, `k=`);
//! the serialized SDP naturally does.

pub mod attributes;
pub mod offer_answer;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;

pub use attributes::{
    AcceptTypes, AcceptWrappedTypes, AttributeError, Crypto, CryptoSuite, Direction, FileDate, FileDisposition,
    FileHash, FileIcon, FileRange, FileSelector, FileTransferId, Fmtp, KeyLifetime, KeyParam, MaxPtime, MaxSize, Mki,
    Path, Ptime, Rtcp, RtpMap, Setup, TcpConnection, TypedAttribute,
};

/// Why an SDP body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// A line is malformed or out of place (the message names the line).
    #[error("SDP syntax error: {0}")]
    Syntax(String),
    /// The body is not UTF-8 where text is required.
    #[error("SDP is not valid UTF-8")]
    Encoding,
    /// There is no `o=` line; RFC 3264 needs it to track versions.
    #[error("SDP has no o= line")]
    MissingOrigin,
}

impl From<sdp_types::ParserError> for SdpError {
    fn from(e: sdp_types::ParserError) -> Self {
        match e {
            sdp_types::ParserError::InvalidFieldEncoding(..) => SdpError::Encoding,
            e => SdpError::Syntax(e.to_string()),
        }
    }
}

/// The `o=` line (RFC 8866 §5.2): who created the session and which version
/// of the description this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The user name, `-` when none.
    pub username: String,
    /// The session id: a numeric string, kept as written.
    pub session_id: String,
    /// The version, incremented on every change (RFC 3264 §8).
    pub version: u64,
    /// The network type, `IN`.
    pub network_type: String,
    /// The address type, `IP4` or `IP6`.
    pub address_type: String,
    /// The address of the creating host.
    pub address: String,
}

impl Origin {
    /// An origin with user name `-` for an IP address.
    pub fn new(session_id: impl Into<String>, version: u64, address: IpAddr) -> Self {
        Origin {
            username: "-".to_owned(),
            session_id: session_id.into(),
            version,
            network_type: "IN".to_owned(),
            address_type: address_type(address).to_owned(),
            address: address.to_string(),
        }
    }

    /// Whether `other` names the same session (everything but the version equal).
    pub fn same_session(&self, other: &Origin) -> bool {
        self.username == other.username
            && self.session_id == other.session_id
            && self.network_type.eq_ignore_ascii_case(&other.network_type)
            && self.address_type.eq_ignore_ascii_case(&other.address_type)
            && self.address == other.address
    }
}

fn address_type(address: IpAddr) -> &'static str {
    match address {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

/// A `c=` line (RFC 8866 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The network type, `IN`.
    pub network_type: String,
    /// The address type, `IP4` or `IP6`.
    pub address_type: String,
    /// The address as written, possibly with a `/ttl` or `/count` suffix.
    pub address: String,
}

impl Connection {
    /// A connection line from its three fields.
    pub fn new(
        network_type: impl Into<String>,
        address_type: impl Into<String>,
        address: impl Into<String>,
    ) -> Connection {
        Connection { network_type: network_type.into(), address_type: address_type.into(), address: address.into() }
    }

    /// `IN IP4 <address>` or `IN IP6 <address>`.
    pub fn from_ip(address: IpAddr) -> Connection {
        Connection::new("IN", address_type(address), address.to_string())
    }

    /// The IP address, without a multicast suffix; `None` for a host name
    /// or anything else that is not an IP address of the stated type.
    pub fn ip(&self) -> Option<IpAddr> {
        if !self.network_type.eq_ignore_ascii_case("IN") {
            return None;
        }
        let text = self.address.split('/').next().unwrap_or_default();
        let ip: IpAddr = text.parse().ok()?;
        address_type(ip).eq_ignore_ascii_case(&self.address_type).then_some(ip)
    }
}

/// A `b=` line (RFC 8866 §5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// The modifier, e.g. `AS`, `CT` or `TIAS`.
    pub bandwidth_type: String,
    /// The value (kbit/s for `AS` and `CT`, bit/s for `TIAS`).
    pub bandwidth: u64,
}

/// One raw `a=` line: `a=<name>` or `a=<name>:<value>`, as written.
/// `Debug` hides the value of `crypto` and `key-mgmt` lines.
#[derive(Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The name, e.g. `rtpmap`.
    pub name: String,
    /// The text after the first `:`; `None` for a property attribute such as `a=sendonly`.
    pub value: Option<String>,
}

impl Attribute {
    /// `a=<name>:<value>`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Attribute {
        Attribute { name: name.into(), value: Some(value.into()) }
    }

    /// A property attribute `a=<name>`.
    pub fn flag(name: impl Into<String>) -> Attribute {
        Attribute { name: name.into(), value: None }
    }

    /// Whether this is attribute `name` (letter case ignored).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// Reads the value as `T` when this is `T`'s attribute.
    pub fn typed<T: TypedAttribute>(&self) -> Option<Result<T, AttributeError>> {
        self.is(T::NAME).then(|| T::parse_value(self.value.as_deref().unwrap_or_default()))
    }
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = self.is("crypto") || self.is("key-mgmt");
        let value = match &self.value {
            Some(_) if secret => Some("REDACTED"),
            v => v.as_deref(),
        };
        f.debug_struct("Attribute").field("name", &self.name).field("value", &value).finish()
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "a={}:{v}", self.name),
            None => write!(f, "a={}", self.name),
        }
    }
}

/// A `k=` line (obsolete, kept for round trips); `Debug` hides the key.
#[derive(Clone, PartialEq, Eq)]
struct RawKey {
    method: String,
    key: Option<String>,
}

impl fmt::Debug for RawKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawKey")
            .field("method", &self.method)
            .field("key", &self.key.as_ref().map(|_| "REDACTED"))
            .finish()
    }
}

impl From<sdp_types::Key> for RawKey {
    fn from(k: sdp_types::Key) -> Self {
        RawKey { method: k.method, key: k.encryption_key }
    }
}

impl From<&RawKey> for sdp_types::Key {
    fn from(k: &RawKey) -> Self {
        sdp_types::Key { method: k.method.clone(), encryption_key: k.key.clone() }
    }
}

/// Session-level lines the SDK does not interpret (`u=`, `e=`, `p=`, `t=`,
/// `r=`, `z=`, `k=`), kept for round trips.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct OtherSessionLines {
    uri: Option<String>,
    emails: Vec<String>,
    phones: Vec<String>,
    times: Vec<sdp_types::Time>,
    time_zones: Vec<sdp_types::TimeZone>,
    key: Option<RawKey>,
}

/// Shared attribute-list helpers of sessions and media.
macro_rules! attribute_accessors {
    () => {
        /// The first attribute named `name` (letter case ignored).
        pub fn attribute(&self, name: &str) -> Option<&Attribute> {
            self.attributes.iter().find(|a| a.is(name))
        }

        /// All attributes named `name`, in order.
        pub fn attributes_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Attribute> + 'a {
            self.attributes.iter().filter(move |a| a.is(name))
        }

        /// Whether an attribute named `name` is present.
        pub fn has_attribute(&self, name: &str) -> bool {
            self.attribute(name).is_some()
        }

        /// The first `T` attribute, read; `None` when absent.
        pub fn get<T: TypedAttribute>(&self) -> Option<Result<T, AttributeError>> {
            self.attributes.iter().find_map(Attribute::typed::<T>)
        }

        /// Every `T` attribute, read, in order (an invalid one does not stop the others).
        pub fn get_all<T: TypedAttribute>(&self) -> impl Iterator<Item = Result<T, AttributeError>> {
            self.attributes.iter().filter_map(Attribute::typed::<T>)
        }

        /// Appends a typed attribute.
        pub fn push<T: TypedAttribute>(&mut self, value: &T) {
            self.attributes.push(value.to_attribute());
        }

        /// Removes every attribute named `name`.
        pub fn remove_attributes(&mut self, name: &str) {
            self.attributes.retain(|a| !a.is(name));
        }

        /// The direction attribute at this level, if any (the first one wins).
        pub fn direction(&self) -> Option<Direction> {
            self.attributes.iter().filter(|a| a.value.is_none()).find_map(|a| Direction::from_name(&a.name))
        }

        /// Sets the direction attribute at this level: replaces the first
        /// one in place (dropping others) or appends one.
        pub fn set_direction(&mut self, direction: Direction) {
            let mut replaced = false;
            self.attributes.retain_mut(|a| {
                if a.value.is_some() || Direction::from_name(&a.name).is_none() {
                    return true;
                }
                if replaced {
                    return false;
                }
                *a = direction.to_attribute();
                replaced = true;
                true
            });
            if !replaced {
                self.attributes.push(direction.to_attribute());
            }
        }
    };
}

/// One media description: an `m=` line and the lines after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// The media type: `audio`, `message`, `video`, `application`...
    pub media_type: String,
    /// The transport port; 0 means the stream is rejected or removed.
    pub port: u16,
    /// The `/<number of ports>` suffix of the port, if any.
    pub port_count: Option<u16>,
    /// The transport protocol, e.g. `RTP/AVP`, `RTP/SAVP`, `TCP/TLS/MSRP`.
    pub protocol: String,
    /// The formats: RTP payload types, or `*` for MSRP.
    pub formats: Vec<String>,
    /// The `i=` line.
    pub title: Option<String>,
    /// Media-level `c=` lines (they override the session's).
    pub connections: Vec<Connection>,
    /// Media-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// The `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    key: Option<RawKey>,
}

impl MediaDescription {
    /// An m-line without other lines.
    pub fn new(
        media_type: impl Into<String>,
        port: u16,
        protocol: impl Into<String>,
        formats: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        MediaDescription {
            media_type: media_type.into(),
            port,
            port_count: None,
            protocol: protocol.into(),
            formats: formats.into_iter().map(Into::into).collect(),
            title: None,
            connections: Vec::new(),
            bandwidths: Vec::new(),
            attributes: Vec::new(),
            key: None,
        }
    }

    attribute_accessors!();

    /// Builder form of [`MediaDescription::push`].
    pub fn with<T: TypedAttribute>(mut self, value: &T) -> Self {
        self.push(value);
        self
    }

    /// Builder form: appends a raw attribute.
    pub fn with_attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Builder form: adds a media-level `c=` line.
    pub fn with_connection(mut self, connection: Connection) -> Self {
        self.connections.push(connection);
        self
    }

    /// Whether the port is 0 (rejected by an answer, or removed by an offer).
    pub fn is_disabled(&self) -> bool {
        self.port == 0
    }

    /// This m-line with port 0 and nothing but its type, protocol and
    /// formats: how an answer rejects it and how a re-offer removes it while
    /// keeping its slot (RFC 3264 §6, §8.2).
    pub fn disabled(&self) -> MediaDescription {
        let formats = if self.formats.is_empty() { vec!["0".to_owned()] } else { self.formats.clone() };
        MediaDescription::new(self.media_type.clone(), 0, self.protocol.clone(), formats)
    }

    /// Whether the media type is `media_type` (letter case ignored).
    pub fn is_media(&self, media_type: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type)
    }

    /// The formats that are RTP payload types (0..=127), in m-line order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| attributes::parse_payload_type(f))
    }

    /// The first valid `a=rtpmap` for payload type `pt`.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        self.get_all::<RtpMap>().filter_map(Result::ok).find(|m| m.payload_type == pt)
    }

    /// The first valid `a=fmtp` for payload type `pt`.
    pub fn fmtp(&self, pt: u8) -> Option<Fmtp> {
        self.get_all::<Fmtp>().filter_map(Result::ok).find(|f| f.payload_type() == Some(pt))
    }

    /// The valid `a=crypto` lines, in order (invalid ones skipped).
    pub fn cryptos(&self) -> Vec<Crypto> {
        self.get_all::<Crypto>().filter_map(Result::ok).collect()
    }

    fn from_sdp_types(m: sdp_types::Media) -> Self {
        MediaDescription {
            media_type: m.media,
            port: m.port,
            port_count: m.num_ports,
            protocol: m.proto,
            formats: m.fmt.split_whitespace().map(str::to_owned).collect(),
            title: m.media_title,
            connections: m.connections.into_iter().map(connection_from).collect(),
            bandwidths: m.bandwidths.into_iter().map(bandwidth_from).collect(),
            attributes: m.attributes.into_iter().map(attribute_from).collect(),
            key: m.key.map(RawKey::from),
        }
    }

    fn to_sdp_types(&self) -> sdp_types::Media {
        sdp_types::Media {
            media: self.media_type.clone(),
            port: self.port,
            num_ports: self.port_count,
            proto: self.protocol.clone(),
            fmt: self.formats.join(" "),
            media_title: self.title.clone(),
            connections: self.connections.iter().map(connection_to).collect(),
            bandwidths: self.bandwidths.iter().map(bandwidth_to).collect(),
            key: self.key.as_ref().map(sdp_types::Key::from),
            attributes: self.attributes.iter().map(attribute_to).collect(),
        }
    }
}

/// A whole SDP body: session-level lines and the media descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// The `o=` line.
    pub origin: Origin,
    /// The `s=` line (`-` when there is nothing to say).
    pub session_name: String,
    /// The `i=` line.
    pub information: Option<String>,
    /// The session-level `c=` line, the default for every m-line.
    pub connection: Option<Connection>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// The media descriptions, in m-line order (the index is the stream index).
    pub media: Vec<MediaDescription>,
    other: OtherSessionLines,
}

impl SessionDescription {
    /// A description with `s=-`, `t=0 0` and nothing else.
    pub fn new(origin: Origin) -> Self {
        SessionDescription {
            origin,
            session_name: "-".to_owned(),
            information: None,
            connection: None,
            bandwidths: Vec::new(),
            attributes: Vec::new(),
            media: Vec::new(),
            other: OtherSessionLines::default(),
        }
    }

    /// Reads an SDP body. Requires `v=0` first and an `o=` line; otherwise
    /// lenient about line order, as the `sdp-types` parser is.
    pub fn parse(data: &[u8]) -> Result<Self, SdpError> {
        let session = sdp_types::Session::parse(data)?;
        let has_origin =
            data.split(|&b| b == b'\n').take_while(|line| !line.starts_with(b"m=")).any(|line| line.starts_with(b"o="));
        if !has_origin {
            return Err(SdpError::MissingOrigin);
        }
        Ok(Self::from_sdp_types(session))
    }

    /// The SDP body, CRLF line endings.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        // Writing to a Vec cannot fail.
        let _ = self.to_sdp_types().write(&mut out);
        out
    }

    attribute_accessors!();

    /// The direction in force for m-line `index`: its own attribute, else the
    /// session-level one, else `sendrecv` (RFC 8866 §6.7). `None` when there
    /// is no such m-line.
    pub fn media_direction(&self, index: usize) -> Option<Direction> {
        let media = self.media.get(index)?;
        Some(media.direction().or_else(|| self.direction()).unwrap_or_default())
    }

    /// The `c=` line for m-line `index`: its own first one, else the
    /// session's.
    pub fn media_connection(&self, index: usize) -> Option<&Connection> {
        self.media.get(index)?.connections.first().or(self.connection.as_ref())
    }

    /// Whether `previous` is the same session at the same version: by
    /// RFC 3264 §8 such a re-offer describes no change.
    pub fn is_same_version_as(&self, previous: &SessionDescription) -> bool {
        self.origin.same_session(&previous.origin) && self.origin.version == previous.origin.version
    }

    fn from_sdp_types(s: sdp_types::Session) -> Self {
        SessionDescription {
            origin: Origin {
                username: s.origin.username.unwrap_or_else(|| "-".to_owned()),
                session_id: s.origin.sess_id,
                version: s.origin.sess_version,
                network_type: s.origin.nettype.as_str().to_owned(),
                address_type: s.origin.addrtype.as_str().to_owned(),
                address: s.origin.unicast_address,
            },
            session_name: s.session_name,
            information: s.session_description,
            connection: s.connection.map(connection_from),
            bandwidths: s.bandwidths.into_iter().map(bandwidth_from).collect(),
            attributes: s.attributes.into_iter().map(attribute_from).collect(),
            media: s.medias.into_iter().map(MediaDescription::from_sdp_types).collect(),
            other: OtherSessionLines {
                uri: s.uri,
                emails: s.emails,
                phones: s.phones,
                times: s.times,
                time_zones: s.time_zones,
                key: s.key.map(RawKey::from),
            },
        }
    }

    fn to_sdp_types(&self) -> sdp_types::Session {
        let o = &self.origin;
        sdp_types::Session {
            origin: sdp_types::Origin {
                username: (o.username != "-").then(|| o.username.clone()),
                sess_id: o.session_id.clone(),
                sess_version: o.version,
                nettype: sdp_types::NetType::from(o.network_type.as_str()),
                addrtype: sdp_types::AddrType::from(o.address_type.as_str()),
                unicast_address: o.address.clone(),
            },
            session_name: self.session_name.clone(),
            session_description: self.information.clone(),
            uri: self.other.uri.clone(),
            emails: self.other.emails.clone(),
            phones: self.other.phones.clone(),
            connection: self.connection.as_ref().map(connection_to),
            bandwidths: self.bandwidths.iter().map(bandwidth_to).collect(),
            times: self.other.times.clone(),
            time_zones: self.other.time_zones.clone(),
            key: self.other.key.as_ref().map(sdp_types::Key::from),
            attributes: self.attributes.iter().map(attribute_to).collect(),
            medias: self.media.iter().map(MediaDescription::to_sdp_types).collect(),
        }
    }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

impl std::str::FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SessionDescription::parse(s.as_bytes())
    }
}

fn connection_from(c: sdp_types::Connection) -> Connection {
    Connection {
        network_type: c.nettype.as_str().to_owned(),
        address_type: c.addrtype.as_str().to_owned(),
        address: c.connection_address,
    }
}

fn connection_to(c: &Connection) -> sdp_types::Connection {
    sdp_types::Connection {
        nettype: sdp_types::NetType::from(c.network_type.as_str()),
        addrtype: sdp_types::AddrType::from(c.address_type.as_str()),
        connection_address: c.address.clone(),
    }
}

fn bandwidth_from(b: sdp_types::Bandwidth) -> Bandwidth {
    Bandwidth { bandwidth_type: b.bwtype, bandwidth: b.bandwidth }
}

fn bandwidth_to(b: &Bandwidth) -> sdp_types::Bandwidth {
    sdp_types::Bandwidth { bwtype: b.bandwidth_type.clone(), bandwidth: b.bandwidth }
}

fn attribute_from(a: sdp_types::Attribute) -> Attribute {
    Attribute { name: a.attribute, value: a.value }
}

fn attribute_to(a: &Attribute) -> sdp_types::Attribute {
    sdp_types::Attribute { attribute: a.name.clone(), value: a.value.clone() }
}
