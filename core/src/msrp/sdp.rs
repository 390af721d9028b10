//! MSRP m-lines (RFC 4975 §8, RFC 6135, RFC 4976, RFC 5547), sans-IO: the
//! offer an MSRP stream sends, the answer it gives to a peer's offer, and
//! what both sides agreed on (paths, content types, CPIM wrapping, who opens
//! the TCP connection).
//!
//! - [`MsrpMediaConfig::offer`] builds `m=message <port> TCP/MSRP *` (or
//!   `TCP/TLS/MSRP`) with `a=path`, the direction when it is not
//!   `sendrecv`, `a=accept-types`, `a=accept-wrapped-types`, `a=max-size`,
//!   `a=setup` (`actpass` by default, RFC 6135), `a=connection:new` and the
//!   file transfer attributes. The `c=` line is the session's.
//! - [`MsrpMediaConfig::answer`] reads a peer's offer and answers it;
//!   [`MsrpMediaConfig::process_answer`] reads the answer to our offer. Both
//!   give a [`NegotiatedMsrp`].
//! - [`RemoteMsrpMedia::parse`] validates a peer's MSRP m-line on its own.
//!
//! Connection roles, as the original SIP SIMPLE middleware settles them: an
//! offer without `a=setup` is `active` (RFC 4975 §5.4: the offerer
//! connects; RFC 4145 §4.1), an answer without it `passive`. An answerer
//! given `actpass` (or `passive`, which RFC 6135 forbids in offers but peers
//! send) connects itself; given `active` it waits. An offerer that sent
//! `actpass` connects unless the answer says `active` (an `actpass` answer,
//! invalid, is read as the peer connecting).
//!
//! Content types match without regard to letter case or parameters, with
//! `*` and `type/*` wildcards on either side ([`mime_type_matches`]).
//!
//! Bad input is a [`MsrpSdpError`], never a panic.

use std::fmt;

use crate::msrp::message::{MsrpUri, Scheme, UriError};
use crate::sdp::{
    AcceptTypes, AcceptWrappedTypes, AttributeError, Direction, FileDisposition, FileRange, FileSelector,
    FileTransferId, MaxSize, MediaDescription, Path, Setup, TcpConnection,
};

/// The MSRP port written when the local URI has none (RFC 4975 §6).
pub const DEFAULT_MSRP_PORT: u16 = 2855;

/// The wrapper content type of CPIM (RFC 3862).
pub const CPIM_CONTENT_TYPE: &str = "message/cpim";

/// Why an MSRP m-line cannot be used. An offer refused for any of these is
/// answered with a disabled m-line, or 488 when nothing else is usable
/// ([`MsrpSdpError::status_code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MsrpSdpError {
    /// The m-line has port 0: the stream was refused or removed.
    #[error("the MSRP m-line is disabled (port 0)")]
    Disabled,
    /// The protocol is not `TCP/MSRP` or `TCP/TLS/MSRP`.
    #[error("unsupported MSRP protocol {0}")]
    UnsupportedProtocol(String),
    /// The media type is not the one the stream uses (e.g. `application`
    /// for a chat stream, which uses `message`).
    #[error("media type {found}, expected {expected}")]
    MediaTypeMismatch {
        /// The stream's media type.
        expected: String,
        /// The m-line's media type.
        found: String,
    },
    /// The format list is not the single `*` of RFC 4975 §8.1.
    #[error("the MSRP format list is not *")]
    InvalidFormats,
    /// There is no `a=path` (RFC 4975 §8.2).
    #[error("the MSRP m-line has no a=path")]
    MissingPath,
    /// An `a=path` URI is not an MSRP URI.
    #[error("invalid URI in a=path: {0}")]
    InvalidPath(UriError),
    /// The last `a=path` URI (the peer's own) does not use the m-line's
    /// transport: `msrps` needs `TCP/TLS/MSRP`, `msrp` needs `TCP/MSRP`.
    #[error("the a=path URI scheme does not match the m-line protocol {0}")]
    PathTransportMismatch(String),
    /// The peer uses TLS and we use TCP, or the other way round.
    #[error("the peer uses {remote}, we use {local}")]
    TransportMismatch {
        /// Our transport.
        local: MsrpTransport,
        /// The peer's transport.
        remote: MsrpTransport,
    },
    /// There is no `a=accept-types` (RFC 4975 §8.6 requires it).
    #[error("the MSRP m-line has no a=accept-types")]
    MissingAcceptTypes,
    /// A typed attribute (`path`, `accept-types`, `max-size`, `setup`,
    /// `file-*`) has an invalid value.
    #[error(transparent)]
    InvalidAttribute(#[from] AttributeError),
    /// No content type the peer accepts matches one we accept.
    #[error("no content type in common")]
    NoCommonContentType,
    /// Both sides want the same connection role (e.g. both `passive`).
    #[error("both sides want to be {0}")]
    RoleConflict(Setup),
    /// The peer wants no connection for now (`a=setup:holdconn`), which
    /// MSRP streams do not support.
    #[error("the peer holds the connection (a=setup:holdconn)")]
    ConnectionOnHold,
}

impl MsrpSdpError {
    /// The SIP status to refuse an offer with: 488.
    pub fn status_code(&self) -> u16 {
        488
    }

    /// The reason phrase for [`MsrpSdpError::status_code`].
    pub fn reason_phrase(&self) -> &'static str {
        "Not Acceptable Here"
    }
}

/// The transport of an MSRP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MsrpTransport {
    /// Plain TCP: `TCP/MSRP`, `msrp://` URIs.
    Tcp,
    /// TLS over TCP: `TCP/TLS/MSRP`, `msrps://` URIs.
    #[default]
    Tls,
}

impl MsrpTransport {
    /// The m-line protocol: `TCP/MSRP` or `TCP/TLS/MSRP`.
    pub fn protocol(self) -> &'static str {
        match self {
            MsrpTransport::Tcp => "TCP/MSRP",
            MsrpTransport::Tls => "TCP/TLS/MSRP",
        }
    }

    /// The transport of an m-line protocol (letter case ignored).
    pub fn from_protocol(protocol: &str) -> Option<MsrpTransport> {
        [MsrpTransport::Tcp, MsrpTransport::Tls].into_iter().find(|t| t.protocol().eq_ignore_ascii_case(protocol))
    }

    /// The URI scheme: `msrp` or `msrps`.
    pub fn scheme(self) -> Scheme {
        match self {
            MsrpTransport::Tcp => Scheme::Msrp,
            MsrpTransport::Tls => Scheme::Msrps,
        }
    }

    /// The transport of a URI scheme.
    pub fn from_scheme(scheme: Scheme) -> MsrpTransport {
        match scheme {
            Scheme::Msrp => MsrpTransport::Tcp,
            Scheme::Msrps => MsrpTransport::Tls,
        }
    }

    /// `tcp` or `tls`, as the account's `msrp.transport` setting names it.
    pub fn as_str(self) -> &'static str {
        match self {
            MsrpTransport::Tcp => "tcp",
            MsrpTransport::Tls => "tls",
        }
    }
}

impl fmt::Display for MsrpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which end opens the TCP connection of an MSRP stream, once negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionRole {
    /// We connect to the first URI of the peer's path.
    Active,
    /// We wait for the peer (or our relay) to connect.
    Passive,
}

impl ConnectionRole {
    /// The `a=setup` value that announces this role.
    pub fn setup(self) -> Setup {
        match self {
            ConnectionRole::Active => Setup::Active,
            ConnectionRole::Passive => Setup::Passive,
        }
    }
}

/// The file transfer attributes of an MSRP m-line (RFC 5547 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAttributes {
    /// `a=file-selector`: the file's name, type, size and hash.
    pub selector: FileSelector,
    /// `a=file-transfer-id`: tells a new transfer from the same one in a re-offer.
    pub transfer_id: Option<FileTransferId>,
    /// `a=file-disposition`: `render`, `attachment`...
    pub disposition: Option<FileDisposition>,
    /// `a=file-range`: the part of the file to send.
    pub range: Option<FileRange>,
}

impl FileAttributes {
    /// A file selector without the other attributes.
    pub fn new(selector: FileSelector) -> Self {
        FileAttributes { selector, transfer_id: None, disposition: None, range: None }
    }

    /// Reads the file attributes of an m-line: `None` without
    /// `a=file-selector`, an error when one of them is invalid.
    pub fn from_media(media: &MediaDescription) -> Result<Option<FileAttributes>, AttributeError> {
        let Some(selector) = media.get::<FileSelector>() else {
            return Ok(None);
        };
        Ok(Some(FileAttributes {
            selector: selector?,
            transfer_id: media.get::<FileTransferId>().transpose()?,
            disposition: media.get::<FileDisposition>().transpose()?,
            range: media.get::<FileRange>().transpose()?,
        }))
    }

    fn write_to(&self, media: &mut MediaDescription) {
        media.push(&self.selector);
        if let Some(id) = &self.transfer_id {
            media.push(id);
        }
        if let Some(disposition) = &self.disposition {
            media.push(disposition);
        }
        if let Some(range) = &self.range {
            media.push(range);
        }
    }
}

/// What our MSRP m-line says: the local side of a chat, file transfer or
/// screen sharing stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsrpMediaConfig {
    /// The m-line media type: `message` (chat, file transfer) or
    /// `application` (screen sharing).
    pub media_type: String,
    /// Our own MSRP URI, with the session id: the last URI of `a=path`; its
    /// port is the m-line port.
    pub local_uri: MsrpUri,
    /// The relay's Use-Path (RFC 4976 §5), written before our URI; empty
    /// without a relay.
    pub relay_path: Vec<MsrpUri>,
    /// TCP or TLS.
    pub transport: MsrpTransport,
    /// The content types we accept (`*` and `type/*` allowed), in preference order.
    pub accept_types: Vec<String>,
    /// The content types we accept inside a wrapper (CPIM).
    pub accept_wrapped_types: Vec<String>,
    /// The largest message we accept, if limited.
    pub max_size: Option<u64>,
    /// The direction we want: `sendrecv` for chat, `sendonly` to send a
    /// file, `recvonly` to receive one.
    pub direction: Direction,
    /// `a=setup` of our offers (`actpass` by default); in answers, `active`
    /// or `passive` forces that role and `actpass` lets the offer decide.
    pub setup: Setup,
    /// The file transfer attributes, for a file transfer stream. An answer
    /// without them echoes the offer's selector and transfer id (RFC 5547 §8).
    pub file: Option<FileAttributes>,
}

impl MsrpMediaConfig {
    /// A `message` stream on `local_uri`, its transport taken from the URI
    /// scheme, accepting any content type, `sendrecv`, `actpass`.
    pub fn new(local_uri: MsrpUri) -> Self {
        MsrpMediaConfig {
            media_type: "message".to_owned(),
            transport: MsrpTransport::from_scheme(local_uri.scheme),
            local_uri,
            relay_path: Vec::new(),
            accept_types: vec!["*".to_owned()],
            accept_wrapped_types: Vec::new(),
            max_size: None,
            direction: Direction::SendRecv,
            setup: Setup::ActPass,
            file: None,
        }
    }

    /// The full `a=path`: the relay's Use-Path, then our URI.
    pub fn path(&self) -> Vec<MsrpUri> {
        self.relay_path.iter().cloned().chain(std::iter::once(self.local_uri.clone())).collect()
    }

    /// The m-line port: our URI's, or 2855 when it has none.
    pub fn port(&self) -> u16 {
        self.local_uri.port.filter(|p| *p != 0).unwrap_or(DEFAULT_MSRP_PORT)
    }

    /// Our offer's m-line (the session adds `c=`).
    pub fn offer(&self) -> MediaDescription {
        self.media_line(&self.media_type, self.direction, self.setup, self.file.as_ref(), true)
    }

    /// Answers the peer's MSRP m-line `offer`: checks it, picks the
    /// connection role and the direction, and builds our m-line. The answer
    /// lists all our accept types, as offers do; the types in common are in
    /// [`NegotiatedMsrp::common_types`].
    pub fn answer(&self, offer: &MediaDescription) -> Result<MsrpAnswer, MsrpSdpError> {
        let remote = self.read_peer_media(offer)?;
        let remote_setup = remote.setup.unwrap_or(Setup::Active);
        let role = match (remote_setup, self.setup) {
            (Setup::HoldConn, _) => return Err(MsrpSdpError::ConnectionOnHold),
            (Setup::Active, Setup::Active) => return Err(MsrpSdpError::RoleConflict(Setup::Active)),
            (Setup::Active, _) => ConnectionRole::Passive,
            (Setup::Passive, Setup::Passive) => return Err(MsrpSdpError::RoleConflict(Setup::Passive)),
            (Setup::ActPass, Setup::Passive) => ConnectionRole::Passive,
            (Setup::Passive | Setup::ActPass, _) => ConnectionRole::Active,
        };
        let direction = self.direction.intersect(remote.direction.reverse());
        let file = match &self.file {
            Some(file) => Some(file.clone()),
            None => remote.file.as_ref().map(|f| FileAttributes {
                selector: f.selector.clone(),
                transfer_id: f.transfer_id.clone(),
                disposition: None,
                range: None,
            }),
        };
        let media = self.media_line(&offer.media_type, direction, role.setup(), file.as_ref(), false);
        let negotiated = self.negotiated(remote, role, direction)?;
        Ok(MsrpAnswer { media, negotiated })
    }

    /// Reads the peer's answer to our [`MsrpMediaConfig::offer`].
    pub fn process_answer(&self, answer: &MediaDescription) -> Result<NegotiatedMsrp, MsrpSdpError> {
        let remote = self.read_peer_media(answer)?;
        let remote_setup = remote.setup.unwrap_or(Setup::Passive);
        let role = match (self.setup, remote_setup) {
            (_, Setup::HoldConn) | (Setup::HoldConn, _) => return Err(MsrpSdpError::ConnectionOnHold),
            (Setup::Active, Setup::Active) => return Err(MsrpSdpError::RoleConflict(Setup::Active)),
            (Setup::Active, _) => ConnectionRole::Active,
            (Setup::Passive, Setup::Passive) => return Err(MsrpSdpError::RoleConflict(Setup::Passive)),
            (Setup::Passive, _) => ConnectionRole::Passive,
            (Setup::ActPass, Setup::Passive) => ConnectionRole::Active,
            (Setup::ActPass, Setup::Active | Setup::ActPass) => ConnectionRole::Passive,
        };
        let direction = self.direction.intersect(remote.direction.reverse());
        self.negotiated(remote, role, direction)
    }

    fn read_peer_media(&self, media: &MediaDescription) -> Result<RemoteMsrpMedia, MsrpSdpError> {
        let remote = RemoteMsrpMedia::parse(media)?;
        if !media.is_media(&self.media_type) {
            return Err(MsrpSdpError::MediaTypeMismatch {
                expected: self.media_type.clone(),
                found: media.media_type.clone(),
            });
        }
        if remote.transport != self.transport {
            return Err(MsrpSdpError::TransportMismatch { local: self.transport, remote: remote.transport });
        }
        Ok(remote)
    }

    fn negotiated(
        &self,
        remote: RemoteMsrpMedia,
        role: ConnectionRole,
        direction: Direction,
    ) -> Result<NegotiatedMsrp, MsrpSdpError> {
        let common_types = common_types(&self.accept_types, &remote.accept_types);
        if common_types.is_empty() {
            return Err(MsrpSdpError::NoCommonContentType);
        }
        let cpim_enabled = contains_mime_type(&self.accept_types, CPIM_CONTENT_TYPE) && remote.accepts_cpim();
        Ok(NegotiatedMsrp { remote, role, direction, common_types, cpim_enabled })
    }

    fn media_line(
        &self,
        media_type: &str,
        direction: Direction,
        setup: Setup,
        file: Option<&FileAttributes>,
        offer: bool,
    ) -> MediaDescription {
        let mut media = MediaDescription::new(media_type, self.port(), self.transport.protocol(), ["*"]);
        media.push(&Path(self.path().iter().map(ToString::to_string).collect()));
        if direction != Direction::SendRecv {
            media.attributes.push(direction.to_attribute());
        }
        if !self.accept_types.is_empty() {
            media.push(&AcceptTypes(self.accept_types.clone()));
        }
        if !self.accept_wrapped_types.is_empty() {
            media.push(&AcceptWrappedTypes(self.accept_wrapped_types.clone()));
        }
        if let Some(max_size) = self.max_size {
            media.push(&MaxSize(max_size));
        }
        media.push(&setup);
        if offer {
            media.push(&TcpConnection::New);
        }
        if let Some(file) = file {
            file.write_to(&mut media);
        }
        media
    }
}

/// Our answer to a peer's MSRP m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsrpAnswer {
    /// The m-line to put in the answer.
    pub media: MediaDescription,
    /// What was agreed.
    pub negotiated: NegotiatedMsrp,
}

/// What an offer and its answer agreed on for an MSRP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMsrp {
    /// The peer's m-line, read.
    pub remote: RemoteMsrpMedia,
    /// Whether we open the TCP connection.
    pub role: ConnectionRole,
    /// The direction in force, from our point of view.
    pub direction: Direction,
    /// The content types both sides accept, most specific form, in our order.
    pub common_types: Vec<String>,
    /// Whether messages go wrapped in CPIM: both sides accept `message/cpim`.
    pub cpim_enabled: bool,
}

/// A peer's MSRP m-line, validated and read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMsrpMedia {
    /// `a=path`: the first URI is where to connect (a relay or the peer);
    /// the last is the peer's own.
    pub path: Vec<MsrpUri>,
    /// TCP or TLS, from the m-line protocol.
    pub transport: MsrpTransport,
    /// The m-line port (the peer's URI port, RFC 4975 §8.1).
    pub port: u16,
    /// `a=accept-types`.
    pub accept_types: Vec<String>,
    /// `a=accept-wrapped-types`; empty when absent.
    pub accept_wrapped_types: Vec<String>,
    /// `a=max-size`.
    pub max_size: Option<u64>,
    /// `a=setup`, when present.
    pub setup: Option<Setup>,
    /// `a=connection`, when present.
    pub connection: Option<TcpConnection>,
    /// The direction the peer wrote (`sendrecv` when absent).
    pub direction: Direction,
    /// The file transfer attributes, when there is an `a=file-selector`.
    pub file: Option<FileAttributes>,
}

impl RemoteMsrpMedia {
    /// Validates and reads an MSRP m-line: enabled, `TCP/MSRP` or
    /// `TCP/TLS/MSRP` with format `*`, a valid `a=path` whose last URI uses
    /// that transport, `a=accept-types`, and valid typed attributes.
    pub fn parse(media: &MediaDescription) -> Result<RemoteMsrpMedia, MsrpSdpError> {
        if media.is_disabled() {
            return Err(MsrpSdpError::Disabled);
        }
        let transport = MsrpTransport::from_protocol(&media.protocol)
            .ok_or_else(|| MsrpSdpError::UnsupportedProtocol(media.protocol.clone()))?;
        if media.formats.len() != 1 || media.formats[0] != "*" {
            return Err(MsrpSdpError::InvalidFormats);
        }
        let Path(uris) = media.get::<Path>().ok_or(MsrpSdpError::MissingPath)??;
        let path =
            uris.iter().map(|u| MsrpUri::parse(u)).collect::<Result<Vec<_>, _>>().map_err(MsrpSdpError::InvalidPath)?;
        match path.last() {
            Some(own) if MsrpTransport::from_scheme(own.scheme) == transport => {}
            Some(_) => return Err(MsrpSdpError::PathTransportMismatch(media.protocol.clone())),
            None => return Err(MsrpSdpError::MissingPath),
        }
        let AcceptTypes(accept_types) = media.get::<AcceptTypes>().ok_or(MsrpSdpError::MissingAcceptTypes)??;
        let accept_wrapped_types = media.get::<AcceptWrappedTypes>().transpose()?.map(|w| w.0).unwrap_or_default();
        Ok(RemoteMsrpMedia {
            path,
            transport,
            port: media.port,
            accept_types,
            accept_wrapped_types,
            max_size: media.get::<MaxSize>().transpose()?.map(|m| m.0),
            setup: media.get::<Setup>().transpose()?,
            connection: media.get::<TcpConnection>().transpose()?,
            direction: media.direction().unwrap_or_default(),
            file: FileAttributes::from_media(media)?,
        })
    }

    /// Whether the peer accepts `content_type` unwrapped.
    pub fn accepts(&self, content_type: &str) -> bool {
        contains_mime_type(&self.accept_types, content_type)
    }

    /// Whether the peer accepts `message/cpim`.
    pub fn accepts_cpim(&self) -> bool {
        self.accepts(CPIM_CONTENT_TYPE)
    }

    /// Whether the peer accepts `content_type` inside CPIM: listed in
    /// `a=accept-wrapped-types`, or in `a=accept-types` (types accepted
    /// bare may be wrapped too). Always false when CPIM is not accepted.
    pub fn accepts_wrapped(&self, content_type: &str) -> bool {
        self.accepts_cpim()
            && (contains_mime_type(&self.accept_wrapped_types, content_type)
                || self.accept_types.iter().any(|t| !is_cpim(t) && mime_type_matches(t, content_type)))
    }

    /// The URI to connect to: the first of the path.
    pub fn first_hop(&self) -> Option<&MsrpUri> {
        self.path.first()
    }
}

fn is_cpim(content_type: &str) -> bool {
    bare_type(content_type) == CPIM_CONTENT_TYPE
}

/// A content type without parameters, trimmed and lower case.
fn bare_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Whether `pattern` (`*`, `type/*` or a full type) covers `content_type`,
/// ignoring letter case and parameters (as the original's
/// `contains_mime_type` does for one pattern).
pub fn mime_type_matches(pattern: &str, content_type: &str) -> bool {
    let pattern = bare_type(pattern);
    let content_type = bare_type(content_type);
    if pattern == "*" || pattern == content_type {
        return true;
    }
    match pattern.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('/') => content_type.starts_with(prefix),
        _ => false,
    }
}

/// Whether a pattern of `list` covers `content_type`.
pub fn contains_mime_type(list: &[String], content_type: &str) -> bool {
    list.iter().any(|pattern| mime_type_matches(pattern, content_type))
}

/// Whether the two patterns share a content type: one covers the other.
pub fn mime_types_overlap(a: &str, b: &str) -> bool {
    mime_type_matches(a, b) || mime_type_matches(b, a)
}

/// The content types both lists accept, in the order of `ours`, each the
/// more specific of the two matching patterns (`text/*` and `text/plain`
/// give `text/plain`), without duplicates.
pub fn common_types(ours: &[String], theirs: &[String]) -> Vec<String> {
    let mut common: Vec<String> = Vec::new();
    for own in ours {
        for their in theirs {
            let specific = if mime_type_matches(own, their) {
                their
            } else if mime_type_matches(their, own) {
                own
            } else {
                continue;
            };
            if !common.iter().any(|c| c.eq_ignore_ascii_case(specific)) {
                common.push(specific.clone());
            }
        }
    }
    common
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::offer_answer::LocalSdp;
    use crate::sdp::{Attribute, SessionDescription, TypedAttribute};
    use std::net::{IpAddr, Ipv4Addr};

    const CHAT_TYPES: [&str; 4] = ["message/cpim", "text/*", "image/*", "application/im-iscomposing+xml"];
    const CHAT_WRAPPED_TYPES: [&str; 3] = ["text/*", "image/*", "application/im-iscomposing+xml"];

    fn sdp(text: &str) -> SessionDescription {
        SessionDescription::parse(text.replace('\n', "\r\n").as_bytes()).expect("valid test SDP")
    }

    fn uri(text: &str) -> MsrpUri {
        MsrpUri::parse(text).expect("valid test URI")
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    /// A chat stream as the original ChatStream and Blink configure it.
    fn chat_config(local: &str) -> MsrpMediaConfig {
        let mut config = MsrpMediaConfig::new(uri(local));
        config.accept_types = strings(&CHAT_TYPES);
        config.accept_wrapped_types = strings(&CHAT_WRAPPED_TYPES);
        config
    }

    /// The m-line block of `media` as SDP text.
    fn media_text(media: &MediaDescription) -> String {
        let mut session = LocalSdp::with_session_id(IpAddr::V4(Ipv4Addr::LOCALHOST), 1).offer(vec![media.clone()]);
        session.connection = None;
        let text = session.to_string();
        text[text.find("m=").expect("an m-line")..].replace("\r\n", "\n")
    }

    #[test]
    fn chat_offer_as_the_original_writes_it_round_trips() {
        let config = chat_config("msrps://192.168.1.5:2855/7a6d9e4f1c2b;tcp");
        let offer = config.offer();
        assert_eq!(
            media_text(&offer),
            "m=message 2855 TCP/TLS/MSRP *\n\
             a=path:msrps://192.168.1.5:2855/7a6d9e4f1c2b;tcp\n\
             a=accept-types:message/cpim text/* image/* application/im-iscomposing+xml\n\
             a=accept-wrapped-types:text/* image/* application/im-iscomposing+xml\n\
             a=setup:actpass\n\
             a=connection:new\n"
        );
        let mut local = LocalSdp::with_session_id(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 5)), 3000);
        let bytes = local.offer(vec![offer.clone()]).to_bytes();
        let parsed = SessionDescription::parse(&bytes).expect("own offer parses");
        assert_eq!(parsed.to_bytes(), bytes);
        assert_eq!(parsed.media[0], offer);
        let remote = RemoteMsrpMedia::parse(&parsed.media[0]).expect("own offer is valid");
        assert_eq!(remote.path, config.path());
        assert_eq!((remote.transport, remote.port), (MsrpTransport::Tls, 2855));
        assert_eq!(remote.accept_types, config.accept_types);
        assert_eq!(remote.accept_wrapped_types, config.accept_wrapped_types);
        assert_eq!((remote.setup, remote.connection), (Some(Setup::ActPass), Some(TcpConnection::New)));
        assert_eq!((remote.direction, remote.max_size, remote.file.as_ref()), (Direction::SendRecv, None, None));
    }

    #[test]
    fn answers_a_blink_chat_offer_actively_with_cpim() {
        let offer = sdp("v=0
o=- 3712345678 3712345678 IN IP4 192.168.1.5
s=Blink 5.6.0 (MacOSX)
c=IN IP4 192.168.1.5
t=0 0
m=message 2855 TCP/TLS/MSRP *
a=path:msrps://192.168.1.5:2855/7a6d9e4f1c2b;tcp
a=accept-types:message/cpim text/* image/* application/im-iscomposing+xml
a=accept-wrapped-types:text/* image/* application/im-iscomposing+xml
a=setup:actpass
");
        let config = chat_config("msrps://10.0.0.2:40001/b0b5e55;tcp");
        let answer = config.answer(&offer.media[0]).expect("chat offer is acceptable");
        assert_eq!(
            media_text(&answer.media),
            "m=message 40001 TCP/TLS/MSRP *\n\
             a=path:msrps://10.0.0.2:40001/b0b5e55;tcp\n\
             a=accept-types:message/cpim text/* image/* application/im-iscomposing+xml\n\
             a=accept-wrapped-types:text/* image/* application/im-iscomposing+xml\n\
             a=setup:active\n"
        );
        let n = &answer.negotiated;
        assert_eq!(n.role, ConnectionRole::Active);
        assert_eq!(n.direction, Direction::SendRecv);
        assert!(n.cpim_enabled);
        assert_eq!(n.common_types, CHAT_TYPES);
        assert_eq!(
            n.remote.first_hop().map(ToString::to_string).as_deref(),
            Some("msrps://192.168.1.5:2855/7a6d9e4f1c2b;tcp")
        );
        assert!(n.remote.accepts_wrapped("text/plain"));
        assert!(n.remote.accepts_wrapped("image/png"));
        assert!(!n.remote.accepts_wrapped("application/pdf"));
        assert!(n.remote.accepts("Text/HTML; charset=utf-8"));
        // The offerer reads our answer: we connect, so it waits.
        let offerer = chat_config("msrps://192.168.1.5:2855/7a6d9e4f1c2b;tcp");
        let back = offerer.process_answer(&answer.media).expect("answer is acceptable");
        assert_eq!(
            (back.role, back.cpim_enabled, back.direction),
            (ConnectionRole::Passive, true, Direction::SendRecv)
        );
    }

    #[test]
    fn rfc4975_example_without_setup_makes_the_offerer_connect() {
        // RFC 4975 §10.1 (no a=setup: the offerer is active).
        let offer = sdp("v=0
o=alice 2890844526 2890844527 IN IP4 alice.example.com
s=-
c=IN IP4 atlanta.example.com
t=0 0
m=message 7654 TCP/MSRP *
a=accept-types:text/plain
a=path:msrp://atlanta.example.com:7654/jshA7weztas;tcp
");
        let mut bob = MsrpMediaConfig::new(uri("msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp"));
        bob.accept_types = strings(&["text/plain"]);
        let answer = bob.answer(&offer.media[0]).expect("acceptable");
        assert_eq!(answer.negotiated.role, ConnectionRole::Passive);
        assert_eq!(answer.negotiated.common_types, ["text/plain"]);
        assert!(!answer.negotiated.cpim_enabled);
        assert_eq!(answer.negotiated.remote.setup, None);
        assert_eq!(
            media_text(&answer.media),
            "m=message 12763 TCP/MSRP *\n\
             a=path:msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\n\
             a=accept-types:text/plain\n\
             a=setup:passive\n"
        );
        // RFC 4975 §10.1's answer, also without a=setup: Alice connects.
        let bob_answer = sdp("v=0
o=bob 2890844612 2890844616 IN IP4 bob.example.com
s=-
c=IN IP4 bob.example.com
t=0 0
m=message 12763 TCP/MSRP *
a=accept-types:text/plain
a=path:msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp
");
        let mut alice = MsrpMediaConfig::new(uri("msrp://atlanta.example.com:7654/jshA7weztas;tcp"));
        alice.accept_types = strings(&["text/plain"]);
        let n = alice.process_answer(&bob_answer.media[0]).expect("acceptable");
        assert_eq!(n.role, ConnectionRole::Active);
        assert_eq!(n.remote.port, 12763);
    }

    const RFC5547_SELECTOR: &str = "name:\"My cool picture.jpg\" type:image/jpeg size:32349 hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E";

    #[test]
    fn rfc5547_file_offer_is_answered_recvonly_echoing_the_selector() {
        // RFC 5547 §9.1, Alice's offer to send a picture.
        let offer = sdp(&format!(
            "v=0
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com
s=-
c=IN IP4 host.atlanta.example.com
t=0 0
m=message 7654 TCP/MSRP *
i=This is my latest picture
a=sendonly
a=accept-types:message/cpim
a=accept-wrapped-types:*
a=path:msrp://atlanta.example.com:7654/jshA7we;tcp
a=file-selector:{RFC5547_SELECTOR}
a=file-transfer-id:vBnG916bdberum2fFEABR1FR3ExZMUrd
a=file-disposition:render
a=file-date:creation:\"Mon, 15 May 2006 15:01:31 +0300\"
a=file-icon:cid:id2@alicepc.example.com
"
        ));
        let remote = RemoteMsrpMedia::parse(&offer.media[0]).expect("valid");
        let file = remote.file.clone().expect("a file transfer");
        assert_eq!(file.selector.name.as_deref(), Some("My cool picture.jpg"));
        assert_eq!(file.selector.size, Some(32349));
        assert_eq!(file.transfer_id, Some(FileTransferId("vBnG916bdberum2fFEABR1FR3ExZMUrd".into())));
        assert_eq!(file.disposition, Some(FileDisposition("render".into())));
        assert_eq!(remote.direction, Direction::SendOnly);
        assert!(remote.accepts_cpim());
        assert!(remote.accepts_wrapped("image/jpeg"));

        let mut bob = MsrpMediaConfig::new(uri("msrp://bob.example.com:8888/9di4ea;tcp"));
        bob.accept_types = strings(&["message/cpim"]);
        bob.accept_wrapped_types = strings(&["*"]);
        let answer = bob.answer(&offer.media[0]).expect("acceptable");
        // RFC 5547 §9.1's answer, plus the a=setup RFC 6135 adds.
        assert_eq!(
            media_text(&answer.media),
            format!(
                "m=message 8888 TCP/MSRP *\n\
                 a=path:msrp://bob.example.com:8888/9di4ea;tcp\n\
                 a=recvonly\n\
                 a=accept-types:message/cpim\n\
                 a=accept-wrapped-types:*\n\
                 a=setup:passive\n\
                 a=file-selector:{RFC5547_SELECTOR}\n\
                 a=file-transfer-id:vBnG916bdberum2fFEABR1FR3ExZMUrd\n"
            )
        );
        assert_eq!(answer.negotiated.direction, Direction::RecvOnly);
        assert!(answer.negotiated.cpim_enabled);

        // Alice's side: her config, offered, then Bob's answer read back.
        let mut alice = MsrpMediaConfig::new(uri("msrp://atlanta.example.com:7654/jshA7we;tcp"));
        alice.accept_types = strings(&["message/cpim"]);
        alice.accept_wrapped_types = strings(&["*"]);
        alice.direction = Direction::SendOnly;
        alice.file = Some(file);
        let alice_offer = alice.offer();
        assert_eq!(alice_offer.get::<FileSelector>(), Some(FileSelector::parse_value(RFC5547_SELECTOR)));
        assert_eq!(alice_offer.direction(), Some(Direction::SendOnly));
        let n = alice.process_answer(&answer.media).expect("acceptable");
        assert_eq!((n.direction, n.role), (Direction::SendOnly, ConnectionRole::Active));
        assert_eq!(n.remote.file.map(|f| f.selector.name), Some(Some("My cool picture.jpg".to_owned())));
    }

    #[test]
    fn file_range_and_max_size_are_written_and_read() {
        let mut config = MsrpMediaConfig::new(uri("msrp://127.0.0.1:5000/abc;tcp"));
        config.max_size = Some(1 << 20);
        config.direction = Direction::RecvOnly;
        let mut file = FileAttributes::new(FileSelector::parse_value("name:\"a.txt\" size:100").expect("selector"));
        file.transfer_id = Some(FileTransferId("t1".into()));
        file.range = Some(FileRange { start: 51, stop: None });
        config.file = Some(file.clone());
        let offer = config.offer();
        assert_eq!(
            media_text(&offer),
            "m=message 5000 TCP/MSRP *\n\
             a=path:msrp://127.0.0.1:5000/abc;tcp\n\
             a=recvonly\n\
             a=accept-types:*\n\
             a=max-size:1048576\n\
             a=setup:actpass\n\
             a=connection:new\n\
             a=file-selector:name:\"a.txt\" size:100\n\
             a=file-transfer-id:t1\n\
             a=file-range:51-*\n"
        );
        let remote = RemoteMsrpMedia::parse(&offer).expect("valid");
        assert_eq!((remote.max_size, remote.file), (Some(1 << 20), Some(file)));
    }

    #[test]
    fn relay_use_path_comes_first() {
        // RFC 4976 §7.1: the relay's URI, then the endpoint's.
        let mut config = MsrpMediaConfig::new(uri("msrps://alice.example.com:9892/98cjs;tcp"));
        config.relay_path = vec![uri("msrps://relay.example.com:2855/kjhd37s2s20w2a;tcp")];
        let offer = config.offer();
        assert_eq!(
            offer.attribute("path").and_then(|a| a.value.as_deref()),
            Some("msrps://relay.example.com:2855/kjhd37s2s20w2a;tcp msrps://alice.example.com:9892/98cjs;tcp")
        );
        assert_eq!((offer.port, offer.protocol.as_str()), (9892, "TCP/TLS/MSRP"));
        let remote = RemoteMsrpMedia::parse(&offer).expect("valid");
        assert_eq!(remote.first_hop().map(|u| u.host.as_str()), Some("relay.example.com"));
        // No port in our URI: 2855.
        let config = MsrpMediaConfig::new(uri("msrp://alice.example.com/98cjs;tcp"));
        assert_eq!(config.offer().port, DEFAULT_MSRP_PORT);
    }

    fn peer_media(setup: Option<&str>) -> MediaDescription {
        let mut media = MediaDescription::new("message", 2855, "TCP/MSRP", ["*"])
            .with(&Path(vec!["msrp://10.0.0.1:2855/peer;tcp".into()]))
            .with(&AcceptTypes(vec!["text/plain".into()]));
        if let Some(setup) = setup {
            media.attributes.push(Attribute::new("setup", setup));
        }
        media
    }

    #[test]
    fn rfc6135_roles_for_the_answerer() {
        use ConnectionRole::{Active, Passive};
        let cases: [(Option<&str>, Setup, Result<ConnectionRole, MsrpSdpError>); 11] = [
            (Some("actpass"), Setup::ActPass, Ok(Active)),
            (Some("passive"), Setup::ActPass, Ok(Active)),
            (Some("active"), Setup::ActPass, Ok(Passive)),
            (None, Setup::ActPass, Ok(Passive)),
            (Some("actpass"), Setup::Passive, Ok(Passive)),
            (Some("active"), Setup::Passive, Ok(Passive)),
            (Some("passive"), Setup::Passive, Err(MsrpSdpError::RoleConflict(Setup::Passive))),
            (Some("actpass"), Setup::Active, Ok(Active)),
            (Some("active"), Setup::Active, Err(MsrpSdpError::RoleConflict(Setup::Active))),
            (Some("holdconn"), Setup::ActPass, Err(MsrpSdpError::ConnectionOnHold)),
            (
                Some("both"),
                Setup::ActPass,
                Err(MsrpSdpError::InvalidAttribute(AttributeError::new("setup", "unknown role"))),
            ),
        ];
        for (remote, local, expected) in cases {
            let mut config = MsrpMediaConfig::new(uri("msrp://127.0.0.1:3000/me;tcp"));
            config.setup = local;
            let result = config.answer(&peer_media(remote));
            assert_eq!(
                result.as_ref().map(|a| a.negotiated.role),
                expected.as_ref().map(|r| *r),
                "{remote:?} {local:?}"
            );
            if let Ok(answer) = result {
                assert_eq!(answer.media.get::<Setup>(), Some(Ok(answer.negotiated.role.setup())));
                assert!(!answer.media.has_attribute("connection"));
            }
        }
    }

    #[test]
    fn rfc6135_roles_for_the_offerer() {
        use ConnectionRole::{Active, Passive};
        let cases: [(Setup, Option<&str>, Result<ConnectionRole, MsrpSdpError>); 10] = [
            (Setup::ActPass, Some("passive"), Ok(Active)),
            (Setup::ActPass, None, Ok(Active)),
            (Setup::ActPass, Some("active"), Ok(Passive)),
            (Setup::ActPass, Some("actpass"), Ok(Passive)),
            (Setup::Active, Some("passive"), Ok(Active)),
            (Setup::Active, None, Ok(Active)),
            (Setup::Active, Some("active"), Err(MsrpSdpError::RoleConflict(Setup::Active))),
            (Setup::Passive, Some("active"), Ok(Passive)),
            (Setup::Passive, None, Err(MsrpSdpError::RoleConflict(Setup::Passive))),
            (Setup::ActPass, Some("holdconn"), Err(MsrpSdpError::ConnectionOnHold)),
        ];
        for (local, remote, expected) in cases {
            let mut config = MsrpMediaConfig::new(uri("msrp://127.0.0.1:3000/me;tcp"));
            config.setup = local;
            assert_eq!(config.offer().get::<Setup>(), Some(Ok(local)));
            let result = config.process_answer(&peer_media(remote)).map(|n| n.role);
            assert_eq!(result, expected, "{local:?} {remote:?}");
        }
    }

    #[test]
    fn wildcards_match_both_ways() {
        assert!(mime_type_matches("*", "application/octet-stream"));
        assert!(mime_type_matches("text/*", "text/plain"));
        assert!(mime_type_matches("TEXT/*", "text/html;charset=utf-8"));
        assert!(mime_type_matches("text/plain", "Text/Plain"));
        assert!(!mime_type_matches("text/*", "textual/plain"));
        assert!(!mime_type_matches("text/*", "image/png"));
        assert!(!mime_type_matches("text/plain", "text/*"));
        assert!(!mime_type_matches("text*", "text/plain"));
        assert!(mime_types_overlap("text/plain", "text/*"));
        assert!(!mime_types_overlap("image/*", "text/*"));
        let ours = strings(&CHAT_TYPES);
        assert_eq!(common_types(&ours, &strings(&["*"])), CHAT_TYPES);
        assert_eq!(common_types(&strings(&["*"]), &ours), CHAT_TYPES);
        assert_eq!(
            common_types(&ours, &strings(&["text/plain", "text/html", "video/h264"])),
            ["text/plain", "text/html"]
        );
        assert_eq!(common_types(&strings(&["text/*", "text/plain"]), &strings(&["text/plain"])), ["text/plain"]);
        assert_eq!(common_types(&strings(&["text/*"]), &strings(&["TEXT/*"])), ["TEXT/*"]);
        assert!(common_types(&ours, &strings(&["application/x-rfb"])).is_empty());
        assert!(contains_mime_type(&ours, "message/CPIM"));
        assert!(!contains_mime_type(&[], "text/plain"));
    }

    #[test]
    fn wrapped_types_need_cpim() {
        let mut media = peer_media(None);
        media.remove_attributes("accept-types");
        media.push(&AcceptTypes(strings(&["text/plain"])));
        media.push(&AcceptWrappedTypes(strings(&["image/*"])));
        let remote = RemoteMsrpMedia::parse(&media).expect("valid");
        assert!(!remote.accepts_cpim() && !remote.accepts_wrapped("image/png"));
        let mut media = peer_media(None);
        media.remove_attributes("accept-types");
        media.push(&AcceptTypes(strings(&["message/cpim", "text/plain"])));
        let remote = RemoteMsrpMedia::parse(&media).expect("valid");
        assert!(remote.accepts_wrapped("text/plain"));
        assert!(!remote.accepts_wrapped("image/png"));
        assert!(!remote.accepts_wrapped("message/cpim"));
        // We do not accept CPIM: no wrapping though the peer does.
        let mut config = MsrpMediaConfig::new(uri("msrp://127.0.0.1:3000/me;tcp"));
        config.accept_types = strings(&["text/plain"]);
        let answer = config.answer(&media).expect("acceptable");
        assert!(!answer.negotiated.cpim_enabled);
        assert_eq!(answer.negotiated.common_types, ["text/plain"]);
    }

    #[test]
    fn invalid_remote_m_lines_are_refused_with_typed_errors() {
        let config = MsrpMediaConfig::new(uri("msrp://127.0.0.1:3000/me;tcp"));
        let good = peer_media(Some("actpass"));
        assert!(config.answer(&good).is_ok());
        let refuse = |change: &dyn Fn(&mut MediaDescription), expected: MsrpSdpError| {
            let mut media = good.clone();
            change(&mut media);
            assert_eq!(config.answer(&media).err(), Some(expected.clone()));
            assert_eq!(expected.status_code(), 488);
        };
        refuse(&|m| m.port = 0, MsrpSdpError::Disabled);
        refuse(&|m| m.protocol = "RTP/AVP".into(), MsrpSdpError::UnsupportedProtocol("RTP/AVP".into()));
        refuse(&|m| m.formats = vec!["0".into()], MsrpSdpError::InvalidFormats);
        refuse(&|m| m.formats.clear(), MsrpSdpError::InvalidFormats);
        refuse(&|m| m.remove_attributes("path"), MsrpSdpError::MissingPath);
        refuse(
            &|m| m.attributes[0] = Attribute::new("path", "sip:bob@example.com"),
            MsrpSdpError::InvalidPath(UriError::Scheme),
        );
        refuse(
            &|m| m.attributes[0] = Attribute::new("path", "msrp://10.0.0.1:99999/x;tcp"),
            MsrpSdpError::InvalidPath(UriError::Port),
        );
        refuse(
            &|m| m.attributes[0] = Attribute::flag("path"),
            MsrpSdpError::InvalidAttribute(AttributeError::new("path", "empty list")),
        );
        refuse(
            &|m| m.attributes[0] = Attribute::new("path", "msrps://10.0.0.1:2855/x;tcp"),
            MsrpSdpError::PathTransportMismatch("TCP/MSRP".into()),
        );
        refuse(&|m| m.remove_attributes("accept-types"), MsrpSdpError::MissingAcceptTypes);
        refuse(
            &|m| m.attributes.push(Attribute::new("max-size", "big")),
            MsrpSdpError::InvalidAttribute(AttributeError::new("max-size", "not a number")),
        );
        refuse(
            &|m| m.attributes.push(Attribute::new("file-selector", "name:unquoted")),
            MsrpSdpError::InvalidAttribute(FileSelector::parse_value("name:unquoted").unwrap_err()),
        );
        refuse(
            &|m| {
                m.protocol = "TCP/TLS/MSRP".into();
                m.attributes[0] = Attribute::new("path", "msrps://10.0.0.1:2855/x;tcp");
            },
            MsrpSdpError::TransportMismatch { local: MsrpTransport::Tcp, remote: MsrpTransport::Tls },
        );
        refuse(
            &|m| m.media_type = "application".into(),
            MsrpSdpError::MediaTypeMismatch { expected: "message".into(), found: "application".into() },
        );
        let chat = chat_config("msrp://127.0.0.1:3000/me;tcp");
        let mut rfb_only = good.clone();
        rfb_only.remove_attributes("accept-types");
        rfb_only.push(&AcceptTypes(strings(&["application/x-rfb"])));
        assert!(config.answer(&rfb_only).is_ok(), "we accept *");
        assert_eq!(chat.answer(&rfb_only).err(), Some(MsrpSdpError::NoCommonContentType));
        assert_eq!(chat.process_answer(&rfb_only).err(), Some(MsrpSdpError::NoCommonContentType));
        assert_eq!(chat.process_answer(&good.disabled()).err(), Some(MsrpSdpError::Disabled));
    }

    /// xorshift64*: a deterministic generator for the mutation loop.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
        }
    }

    #[test]
    fn mutated_remote_m_lines_never_panic() {
        let base = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                    m=message 2855 TCP/TLS/MSRP *\r\n\
                    a=path:msrps://relay.example.com:2855/r1;tcp msrps://10.0.0.1:2855/abc;tcp\r\n\
                    a=sendonly\r\n\
                    a=accept-types:message/cpim text/* *\r\n\
                    a=accept-wrapped-types:text/plain image/*\r\n\
                    a=max-size:2048\r\n\
                    a=setup:actpass\r\n\
                    a=connection:new\r\n\
                    a=file-selector:name:\"a b.txt\" type:text/plain size:10 hash:sha-1:72:24\r\n\
                    a=file-transfer-id:x1\r\n\
                    a=file-range:1-*\r\n";
        let pieces: [&[u8]; 14] = [
            b"*",
            b"/",
            b";",
            b":",
            b" ",
            b"\r\n",
            b"0",
            b"msrp://",
            b"TCP/MSRP",
            b"\"",
            b"%",
            b"\xff",
            b"a=setup:",
            b"-",
        ];
        let configs = [chat_config("msrps://127.0.0.1:3000/me;tcp"), chat_config("msrp://127.0.0.1:3000/me;tcp")];
        let mut rng = Rng(0x5EED_0000_0000_0005);
        let mut parsed = 0;
        for _ in 0..4000 {
            let mut bytes = base.as_bytes().to_vec();
            for _ in 0..=rng.below(4) {
                let at = rng.below(bytes.len());
                match rng.below(4) {
                    0 => {
                        bytes.remove(at);
                    }
                    1 => bytes[at] = u8::try_from(rng.below(256)).unwrap_or(b'x'),
                    2 => {
                        let piece = pieces[rng.below(pieces.len())];
                        bytes.splice(at..at, piece.iter().copied());
                    }
                    _ => {
                        let end = (at + rng.below(40)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                }
            }
            let Ok(session) = SessionDescription::parse(&bytes) else { continue };
            parsed += 1;
            for media in &session.media {
                let _ = RemoteMsrpMedia::parse(media).map(|r| (r.accepts_cpim(), r.accepts_wrapped("text/plain")));
                for config in &configs {
                    let _ = config.answer(media);
                    let _ = config.process_answer(media);
                }
            }
        }
        assert!(parsed > 500, "only {parsed} mutations parsed");
    }
}
