//! MSRP relays (RFC 4976), client side.
//!
//! An endpoint behind a relay opens a connection to it, reserves a path
//! with `AUTH` (digest authentication, RFC 4976 §5, over the same
//! credentials as SIP) and gets a `Use-Path` (the relay's URIs for this
//! endpoint) and an `Expires` time. Its session then runs on that
//! connection:
//!
//! - the SDP `a=path` is the Use-Path followed by the endpoint's own URI
//!   ([`RelayReservation::sdp_path`]);
//! - requests go to the relay: To-Path is the Use-Path followed by the
//!   peer's `a=path`, From-Path is the endpoint's URI alone (the relays add
//!   themselves) — [`RelayReservation::to_path`] and
//!   [`RelayReservation::local_path`];
//! - before the reservation expires the endpoint sends AUTH again on the
//!   same connection ([`RelayRefresher`], or [`RelayAuth::request`] at
//!   [`RelayGrant::refresh_at`]).
//!
//! The parts:
//!
//! - [`RelayAuth`]: the AUTH exchange, sans-IO: it builds the AUTH requests
//!   and reads the responses (401 with `WWW-Authenticate` → AUTH with
//!   `Authorization`; 423 with `Min-Expires`/`Max-Expires` → AUTH with an
//!   `Expires` in bounds; 200 with `Use-Path` and `Expires` → a
//!   [`RelayGrant`]; anything else → a [`RelayError`]).
//! - [`reserve_relay_path`]: connects to a relay, runs the exchange and
//!   returns a [`RelayReservation`] holding the open connection for
//!   [`MsrpConnectOptions::connected`](super::transport::MsrpConnectOptions).
//! - [`RelaySetting`] and [`locate_relay`]: which relay an account uses —
//!   its `nat_traversal.msrp_relay` setting, else the `_msrps._tcp` SRV
//!   records (or the A/AAAA records) of its domain.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand::Rng;
use rand::distr::Alphanumeric;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::message::{
    BuildError, Continuation, Frame, FrameParser, Head, Limits, Method, MsrpUri, Scheme, reason_phrase,
};
use super::session::MsrpEvent;
use super::transport::{MsrpConnection, MsrpIo};
use crate::account::{Account, Credentials};
use crate::lookup::{DNSLookup, LookupError, LookupOptions};
use crate::sip::auth::{AuthError, Challenge, DigestClient};
use crate::sip::transport::{Tls, TlsConfig};

/// The port of a relay when none is given (RFC 4976 §12).
pub const DEFAULT_RELAY_PORT: u16 = 2855;

/// How long a reservation lasts when the relay's 200 has no `Expires`
/// (it must have one; RFC 4976 §5.1).
const DEFAULT_GRANT: Duration = Duration::from_secs(30 * 60);

/// At most this many AUTH requests in one exchange (challenge, interval
/// adjustment, stale nonce...).
const MAX_AUTH_REQUESTS: u32 = 5;

/// The longest a reservation is refreshed ahead of its expiry.
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Why a relay could not be used. The messages never contain the
/// password or digest values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The relay challenged again the AUTH that carried our credentials:
    /// the user name or password is wrong.
    #[error("the MSRP relay {relay} rejected the credentials of {username}")]
    CredentialsRejected {
        /// The relay URI.
        relay: String,
        /// The user name that was tried.
        username: String,
    },
    /// The relay answered 403: this user may not use it.
    #[error("the MSRP relay {relay} refused the reservation: 403 {reason}")]
    Forbidden {
        /// The relay URI.
        relay: String,
        /// The response comment.
        reason: String,
    },
    /// The relay answered AUTH with another failure code.
    #[error("the MSRP relay {relay} answered AUTH with {code} {reason}")]
    Rejected {
        /// The relay URI.
        relay: String,
        /// The status code.
        code: u16,
        /// The response comment.
        reason: String,
    },
    /// The relay's challenge cannot be answered (no Digest challenge, an
    /// unknown algorithm, a nonce declared stale again and again...).
    #[error("the MSRP relay {relay} sent an unusable challenge: {error}")]
    Challenge {
        /// The relay URI.
        relay: String,
        /// Why the challenge is unusable.
        error: AuthError,
    },
    /// The relay's 200 has no Use-Path.
    #[error("the MSRP relay {relay} granted no Use-Path")]
    NoUsePath {
        /// The relay URI.
        relay: String,
    },
    /// The exchange did not end after several AUTH requests.
    #[error("the MSRP relay {relay} did not grant a path after {requests} AUTH requests")]
    TooManyRequests {
        /// The relay URI.
        relay: String,
        /// How many AUTH requests were sent.
        requests: u32,
    },
    /// The relay sent something that is not a response to the AUTH under
    /// way, or bytes that are not MSRP.
    #[error("the MSRP relay {relay} sent {detail}")]
    Protocol {
        /// The relay URI.
        relay: String,
        /// What was wrong.
        detail: String,
    },
    /// The connection to the relay could not be opened.
    #[error("cannot connect to the MSRP relay {relay}: {reason}")]
    Connect {
        /// The relay URI.
        relay: String,
        /// Why.
        reason: String,
    },
    /// The relay closed the connection (or it failed) before granting a path.
    #[error("the connection to the MSRP relay {relay} was lost: {reason}")]
    ConnectionLost {
        /// The relay URI.
        relay: String,
        /// Why.
        reason: String,
    },
    /// No grant within the time allowed.
    #[error("no answer from the MSRP relay {relay} within {timeout:?}")]
    Timeout {
        /// The relay URI.
        relay: String,
        /// The time allowed.
        timeout: Duration,
    },
    /// The relay setting cannot be used.
    #[error("invalid MSRP relay setting: {0}")]
    Setting(String),
    /// No relay could be found in DNS.
    #[error("no MSRP relay found for {domain}: {error}")]
    Lookup {
        /// The domain looked up.
        domain: String,
        /// The lookup's error.
        error: LookupError,
    },
}

/// A path granted by a relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayGrant {
    /// `Use-Path`: the relay's URIs for this endpoint, in order; they go
    /// before the endpoint's own URI in its SDP `a=path`.
    pub use_path: Vec<MsrpUri>,
    /// `Expires`: how long the relay keeps the path for new sessions.
    pub expires: Duration,
    /// When the 200 was received.
    pub granted_at: Instant,
}

impl RelayGrant {
    /// When the path expires.
    pub fn expires_at(&self) -> Instant {
        self.granted_at + self.expires
    }

    /// When to send AUTH again to keep the path: a quarter of the time
    /// before it expires, at most a minute before.
    pub fn refresh_at(&self) -> Instant {
        self.granted_at + self.expires - (self.expires / 4).min(MAX_REFRESH_MARGIN)
    }
}

/// What to do after a response to AUTH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelayAuthStep {
    /// Send this AUTH (with credentials after a 401, with another Expires
    /// after a 423) and feed its response to
    /// [`RelayAuth::handle_response`].
    Send(Box<Head>),
    /// The relay granted a path: the exchange is over.
    Granted(RelayGrant),
}

/// The AUTH exchange with one relay (RFC 4976 §5), sans-IO.
///
/// 1. [`RelayAuth::request`] gives the AUTH to send (To-Path the relay URI,
///    From-Path the endpoint's URI; with `Authorization` when the relay
///    challenged before, as for a refresh).
/// 2. Each response goes to [`RelayAuth::handle_response`], which answers
///    with the next AUTH to send or the [`RelayGrant`], or fails with a
///    [`RelayError`]: [`RelayError::CredentialsRejected`] when the relay
///    challenges the request that answered its challenge,
///    [`RelayError::Forbidden`] for 403, [`RelayError::Rejected`] for any
///    other failure.
/// 3. To keep the path, call [`RelayAuth::request`] again at
///    [`RelayGrant::refresh_at`] and send it on the same connection. The
///    relay may grant another Use-Path: use the newest for new sessions.
///
/// The digest is computed over method `AUTH` and the relay URI as written
/// in To-Path, with the SIP digest client ([`DigestClient`]): MD5, SHA-256
/// and SHA-512-256, qop `auth`/`auth-int` or none. `Debug` never shows the
/// password.
#[derive(Clone, Debug)]
pub struct RelayAuth {
    relay: MsrpUri,
    local: MsrpUri,
    digest: DigestClient,
    expires: Option<u32>,
    pending: Option<String>,
    requests: u32,
    grant: Option<RelayGrant>,
}

impl RelayAuth {
    /// An exchange with the relay at `relay` (its URI: To-Path of AUTH and
    /// digest `uri`) for the endpoint whose URI is `local`, with
    /// `credentials` (the account's SIP credentials).
    pub fn new(relay: MsrpUri, local: MsrpUri, credentials: &Credentials) -> RelayAuth {
        RelayAuth {
            relay,
            local,
            digest: DigestClient::from_credentials(credentials),
            expires: None,
            pending: None,
            requests: 0,
            grant: None,
        }
    }

    /// Asks for a reservation of `seconds` (the `Expires` of AUTH); `None`
    /// (the default) leaves the choice to the relay.
    pub fn set_expires(&mut self, seconds: Option<u32>) {
        self.expires = seconds;
    }

    /// The `Expires` asked for.
    pub fn expires(&self) -> Option<u32> {
        self.expires
    }

    /// The relay URI.
    pub fn relay_uri(&self) -> &MsrpUri {
        &self.relay
    }

    /// The endpoint's URI (From-Path of AUTH).
    pub fn local_uri(&self) -> &MsrpUri {
        &self.local
    }

    /// The last path granted, if any.
    pub fn grant(&self) -> Option<&RelayGrant> {
        self.grant.as_ref()
    }

    /// The transaction id of the AUTH awaiting its response.
    pub fn pending_transaction(&self) -> Option<&str> {
        self.pending.as_deref()
    }

    /// How many AUTH requests the current (or last) exchange sent: 2 for a
    /// challenge answered, 1 for a refresh accepted at once.
    pub fn requests_sent(&self) -> u32 {
        self.requests
    }

    /// Starts an exchange (the first one or a refresh): the AUTH to send.
    /// It carries `Authorization` when the relay challenged before (the
    /// nonce is used again with the next nonce count).
    pub fn request(&mut self) -> Head {
        self.requests = 0;
        self.digest.request_ended();
        let challenge = self.digest.realms().next().and_then(|realm| self.digest.challenge(realm)).cloned();
        self.next_request(challenge.as_ref())
    }

    /// Reads the response to the AUTH under way (see the type's
    /// documentation). A response to another transaction is a
    /// [`RelayError::Protocol`] and leaves the exchange as it was.
    pub fn handle_response(&mut self, now: Instant, response: &Head) -> Result<RelayAuthStep, RelayError> {
        let Some(code) = response.code() else {
            return Err(self.protocol(format!("a {} request instead of a response to AUTH", method_name(response))));
        };
        if self.pending.as_deref() != Some(response.transaction_id.as_str()) {
            return Err(self.protocol(format!("a response to transaction {} instead of AUTH", response.transaction_id)));
        }
        self.pending = None;
        let reason = comment(response, code);
        match code {
            200 => {
                self.digest.request_ended();
                if response.headers.use_path.is_empty() {
                    return Err(RelayError::NoUsePath { relay: self.relay.to_string() });
                }
                let expires = response
                    .headers
                    .expires
                    .or(self.expires)
                    .map_or(DEFAULT_GRANT, |seconds| Duration::from_secs(u64::from(seconds)));
                let grant = RelayGrant { use_path: response.headers.use_path.clone(), expires, granted_at: now };
                tracing::debug!(
                    relay = %self.relay,
                    use_path = ?grant.use_path.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    expires = grant.expires.as_secs(),
                    "MSRP relay granted a path"
                );
                self.grant = Some(grant.clone());
                Ok(RelayAuthStep::Granted(grant))
            }
            401 => {
                let value = response.headers.www_authenticate.as_deref().unwrap_or("");
                let challenge = Challenge::parse(value)
                    .map_err(|error| RelayError::Challenge { relay: self.relay.to_string(), error })?;
                let relay = self.relay.to_string();
                let authorization = match self.digest.respond(Method::Auth.as_str(), &relay, b"", &challenge) {
                    Ok(value) => value,
                    Err(AuthError::CredentialsRejected { .. }) => {
                        return Err(RelayError::CredentialsRejected {
                            relay,
                            username: self.digest.username().to_owned(),
                        });
                    }
                    Err(error) => return Err(RelayError::Challenge { relay, error }),
                };
                self.check_rounds()?;
                Ok(RelayAuthStep::Send(Box::new(self.auth_head(Some(authorization)))))
            }
            423 => {
                let (min, max) = (response.headers.min_expires, response.headers.max_expires);
                let adjusted = match (self.expires, min, max) {
                    (_, Some(min), _) if self.expires.is_none_or(|e| e < min) => min,
                    (_, _, Some(max)) if self.expires.is_none_or(|e| e > max) => max,
                    _ => return Err(self.rejected(code, reason)),
                };
                self.expires = Some(adjusted);
                self.check_rounds()?;
                let challenge = self.digest.realms().next().and_then(|realm| self.digest.challenge(realm)).cloned();
                Ok(RelayAuthStep::Send(Box::new(self.next_request(challenge.as_ref()))))
            }
            403 => {
                self.digest.request_ended();
                Err(RelayError::Forbidden { relay: self.relay.to_string(), reason })
            }
            _ => {
                self.digest.request_ended();
                Err(self.rejected(code, reason))
            }
        }
    }

    /// The AUTH answering `challenge` (none: without credentials).
    fn next_request(&mut self, challenge: Option<&Challenge>) -> Head {
        let relay = self.relay.to_string();
        let authorization =
            challenge.map(|challenge| self.digest.authorize(Method::Auth.as_str(), &relay, b"", challenge));
        self.auth_head(authorization)
    }

    fn auth_head(&mut self, authorization: Option<String>) -> Head {
        let mut head = Head::request(Method::Auth, vec![self.relay.clone()], vec![self.local.clone()]);
        head.headers.authorization = authorization;
        head.headers.expires = self.expires;
        self.requests += 1;
        self.pending = Some(head.transaction_id.clone());
        head
    }

    fn check_rounds(&self) -> Result<(), RelayError> {
        if self.requests >= MAX_AUTH_REQUESTS {
            return Err(RelayError::TooManyRequests { relay: self.relay.to_string(), requests: self.requests });
        }
        Ok(())
    }

    fn protocol(&self, detail: String) -> RelayError {
        RelayError::Protocol { relay: self.relay.to_string(), detail }
    }

    fn rejected(&self, code: u16, reason: String) -> RelayError {
        RelayError::Rejected { relay: self.relay.to_string(), code, reason }
    }
}

fn method_name(head: &Head) -> &str {
    head.method().map_or("", Method::as_str)
}

fn comment(head: &Head, code: u16) -> String {
    match &head.kind {
        super::message::Kind::Response { comment: Some(comment), .. } => comment.clone(),
        _ => reason_phrase(code).to_owned(),
    }
}

/// The bytes of an AUTH request (it has no body).
pub fn encode_auth(head: &Head) -> Result<Vec<u8>, BuildError> {
    let mut out = Vec::with_capacity(256);
    Frame::new(head.clone(), Vec::new(), Continuation::Complete).encode(&mut out)?;
    Ok(out)
}

/// A new URI for this endpoint: `scheme://host:port/<random session id>;tcp`.
pub fn endpoint_uri(scheme: Scheme, host: &str, port: u16) -> MsrpUri {
    let session_id: String = rand::rng().sample_iter(Alphanumeric).take(20).map(char::from).collect();
    MsrpUri::new(scheme, host, port, &session_id)
}

impl fmt::Display for RelayGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, uri) in self.use_path.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{uri}")?;
        }
        write!(f, " for {} s", self.expires.as_secs())
    }
}

// ---------------------------------------------------------------------------
// Which relay

/// An account's `nat_traversal.msrp_relay` setting:
/// `host[:port][;transport=tls|tcp]` (the settings' form: port 2855 and
/// TLS when not given; an IPv6 host in brackets), or an `msrp://` /
/// `msrps://` URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelaySetting {
    /// The relay's host name or address (an IPv6 address in brackets).
    pub host: String,
    /// The relay's port.
    pub port: u16,
    /// TLS (`msrps`), else TCP (`msrp`).
    pub tls: bool,
}

impl RelaySetting {
    /// Parses the setting's value.
    pub fn parse(text: &str) -> Result<RelaySetting, RelayError> {
        let text = text.trim();
        let bad = |why: &str| RelayError::Setting(format!("{text:?}: {why}"));
        if text.contains("://") {
            let uri = MsrpUri::parse(text).map_err(|e| bad(&e.to_string()))?;
            if !uri.transport.eq_ignore_ascii_case("tcp") {
                return Err(bad("the transport of an MSRP relay is tcp"));
            }
            return Ok(RelaySetting {
                host: uri.host,
                port: uri.port.unwrap_or(DEFAULT_RELAY_PORT),
                tls: uri.scheme == Scheme::Msrps,
            });
        }
        let (address, params) = text.split_once(';').unwrap_or((text, ""));
        let tls = match params.trim() {
            "" => true,
            param => match param.strip_prefix("transport=").map(str::to_ascii_lowercase).as_deref() {
                Some("tls") => true,
                Some("tcp") => false,
                _ => return Err(bad("the only parameter is transport=tls or transport=tcp")),
            },
        };
        let (host, port) = if let Some(rest) = address.strip_prefix('[') {
            let (v6, after) = rest.split_once(']').ok_or_else(|| bad("unclosed IPv6 address"))?;
            (format!("[{v6}]"), after.strip_prefix(':'))
        } else {
            match address.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (address.to_owned(), None),
            }
        };
        let port = match port {
            Some(port) => port.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| bad("invalid port"))?,
            None => DEFAULT_RELAY_PORT,
        };
        let valid_host = !host.is_empty()
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
        if !valid_host {
            return Err(bad("invalid host"));
        }
        Ok(RelaySetting { host, port, tls })
    }

    /// The relay URI: `msrps://host:port;tcp` (or `msrp://`).
    pub fn uri(&self) -> MsrpUri {
        relay_uri(self.tls, &self.host, Some(self.port))
    }
}

/// The URI naming a relay (no session id): To-Path of AUTH.
fn relay_uri(tls: bool, host: &str, port: Option<u16>) -> MsrpUri {
    MsrpUri {
        scheme: if tls { Scheme::Msrps } else { Scheme::Msrp },
        userinfo: None,
        host: host.to_owned(),
        port,
        session_id: None,
        transport: "tcp".to_owned(),
        params: Vec::new(),
    }
}

/// A relay to reserve a path at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsrpRelay {
    /// The relay URI: To-Path of AUTH, digest `uri`, and (its host) the
    /// name its TLS certificate is checked against.
    pub uri: MsrpUri,
    /// Where to connect, in order of preference (the first that accepts
    /// is used): host name or address, and port.
    pub addresses: Vec<(String, u16)>,
}

impl MsrpRelay {
    /// The relay of a setting: its URI, reached at its host and port.
    pub fn from_setting(setting: &RelaySetting) -> MsrpRelay {
        MsrpRelay { uri: setting.uri(), addresses: vec![(setting.host.clone(), setting.port)] }
    }
}

/// Where an account's relay is to be found, before any DNS query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelayTarget {
    /// `nat_traversal.msrp_relay` names it.
    Configured(RelaySetting),
    /// Not configured: the relay of the account's domain, found in DNS
    /// (`_msrps._tcp` SRV records, else the domain's addresses on port
    /// 2855).
    Discover {
        /// The account's domain.
        domain: String,
        /// TLS (`msrp.transport` is `tls`).
        tls: bool,
    },
}

impl RelayTarget {
    /// Decides from an account's settings: `msrp_relay` is
    /// `nat_traversal.msrp_relay` (`None` when unset), `msrp_transport` is
    /// `msrp.transport` (`tls` or `tcp`), `domain` is the account's domain.
    /// A configured relay whose transport differs from `msrp.transport` is
    /// an error, as in the original.
    pub fn from_settings(
        msrp_relay: Option<&str>,
        msrp_transport: &str,
        domain: &str,
    ) -> Result<RelayTarget, RelayError> {
        let tls = match msrp_transport.to_ascii_lowercase().as_str() {
            "tls" => true,
            "tcp" => false,
            other => return Err(RelayError::Setting(format!("unknown MSRP transport {other:?}"))),
        };
        match msrp_relay.map(str::trim).filter(|text| !text.is_empty()) {
            Some(text) => {
                let setting = RelaySetting::parse(text)?;
                if setting.tls != tls {
                    return Err(RelayError::Setting(
                        "MSRP relay transport conflicts with MSRP transport setting".to_owned(),
                    ));
                }
                Ok(RelayTarget::Configured(setting))
            }
            None => Ok(RelayTarget::Discover { domain: domain.to_owned(), tls }),
        }
    }

    /// The target of `account` (its `nat_traversal.msrp_relay`,
    /// `msrp.transport` and domain).
    pub fn for_account(account: &Account) -> Result<RelayTarget, RelayError> {
        let settings = account.settings();
        let relay = settings.get("nat_traversal.msrp_relay").ok().and_then(|v| v.as_str().map(str::to_owned));
        let transport =
            settings.get("msrp.transport").ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or("tls".into());
        RelayTarget::from_settings(relay.as_deref(), &transport, &account.id().domain)
    }

    /// The relay: the configured one, or the one DNS gives for the domain
    /// (`DNSLookup.lookup_service(sip:<domain>, "msrprelay")`; needs a
    /// running DNSManager). A discovered relay's URI is
    /// `msrps://<domain>;tcp` (RFC 4976 §5.1); its addresses are the
    /// lookup's.
    pub async fn resolve(&self, options: LookupOptions) -> Result<MsrpRelay, RelayError> {
        match self {
            RelayTarget::Configured(setting) => Ok(MsrpRelay::from_setting(setting)),
            RelayTarget::Discover { .. } => {
                let lookup = DNSLookup::new();
                let result = self.resolve_with(&lookup, options).await;
                let _ = lookup.release();
                result
            }
        }
    }

    /// [`RelayTarget::resolve`] with a given lookup object (one made with
    /// [`DNSLookup::with_resolver`], say).
    pub async fn resolve_with(&self, lookup: &DNSLookup, options: LookupOptions) -> Result<MsrpRelay, RelayError> {
        match self {
            RelayTarget::Configured(setting) => Ok(MsrpRelay::from_setting(setting)),
            RelayTarget::Discover { domain, tls } => {
                let result = lookup.lookup_service(&format!("sip:{domain}"), "msrprelay", None, options).await;
                let addresses = result.map_err(|error| RelayError::Lookup { domain: domain.clone(), error })?;
                Ok(MsrpRelay { uri: relay_uri(*tls, domain, None), addresses })
            }
        }
    }
}

/// The relay `account` uses: [`RelayTarget::for_account`] then
/// [`RelayTarget::resolve`].
pub async fn locate_relay(account: &Account, options: LookupOptions) -> Result<MsrpRelay, RelayError> {
    RelayTarget::for_account(account)?.resolve(options).await
}

// ---------------------------------------------------------------------------
// Reserving a path

/// How [`reserve_relay_path`] works.
#[derive(Clone, Debug)]
pub struct RelayOptions {
    /// TLS settings for an `msrps` relay (the SIP ones: CA list,
    /// certificate, verification). `None`: an `msrps` relay fails.
    pub tls: Option<TlsConfig>,
    /// The `Expires` to ask for, `None` (the default) to let the relay
    /// choose. Kamailio 5.6's msrp module never answers an AUTH that has
    /// one (it looks for the value in the wrong header): set it only for
    /// relays known to handle it.
    pub expires: Option<u32>,
    /// How long connecting and the whole AUTH exchange may take (default
    /// 30 s, as the original).
    pub timeout: Duration,
}

impl Default for RelayOptions {
    fn default() -> Self {
        RelayOptions { tls: None, expires: None, timeout: Duration::from_secs(30) }
    }
}

/// A path reserved at a relay, on its open connection.
///
/// Give `io` to
/// [`MsrpConnectOptions::connected`](super::transport::MsrpConnectOptions)
/// with `local_path()` as the local path and `to_path(peer_path)` as the
/// remote path; put `sdp_path()` in the SDP `a=path`. Keep `auth` and
/// `grant` in a [`RelayRefresher`] to refresh the path at
/// `grant.refresh_at()`.
#[derive(Debug)]
pub struct RelayReservation {
    /// The connection to the relay; the session runs on it.
    pub io: MsrpIo,
    /// The relay.
    pub relay: MsrpUri,
    /// This endpoint's URI (From-Path of AUTH and of the session's
    /// requests, last in the SDP path).
    pub local_uri: MsrpUri,
    /// What the relay granted.
    pub grant: RelayGrant,
    /// The exchange, to send AUTH again before the grant expires.
    pub auth: RelayAuth,
}

impl RelayReservation {
    /// The SDP `a=path`: the Use-Path, then this endpoint's URI.
    pub fn sdp_path(&self) -> Vec<MsrpUri> {
        let mut path = self.grant.use_path.clone();
        path.push(self.local_uri.clone());
        path
    }

    /// The local path of the session (its From-Path): this endpoint's URI
    /// alone, the relays add themselves.
    pub fn local_path(&self) -> Vec<MsrpUri> {
        vec![self.local_uri.clone()]
    }

    /// The To-Path of the session's requests: the Use-Path (our relays
    /// first), then the peer's `a=path`.
    pub fn to_path(&self, peer_path: &[MsrpUri]) -> Vec<MsrpUri> {
        self.grant.use_path.iter().chain(peer_path).cloned().collect()
    }
}

/// What [`RelayRefresher::handle_event`] made of an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The event is not the response to the refresh under way.
    NotMine,
    /// The relay challenged the refresh: another AUTH went out, wait for
    /// its response.
    Pending,
    /// The relay granted the path again (the Use-Path may be another one:
    /// use it for new sessions; the running session keeps its paths).
    Refreshed(RelayGrant),
}

/// Keeps a reserved path alive once its connection runs the session: at
/// [`RelayRefresher::refresh_at`] call [`RelayRefresher::refresh`] (AUTH
/// on the connection, with the known challenge answered), and give it the
/// connection's events ([`RelayRefresher::handle_event`]) until the
/// outcome is [`RefreshOutcome::Refreshed`] or an error.
#[derive(Clone, Debug)]
pub struct RelayRefresher {
    auth: RelayAuth,
    grant: RelayGrant,
}

impl RelayRefresher {
    /// A refresher for the path `grant` obtained by `auth` (the
    /// [`RelayReservation`]'s fields).
    pub fn new(auth: RelayAuth, grant: RelayGrant) -> RelayRefresher {
        RelayRefresher { auth, grant }
    }

    /// The last grant.
    pub fn grant(&self) -> &RelayGrant {
        &self.grant
    }

    /// When to refresh ([`RelayGrant::refresh_at`] of the last grant).
    pub fn refresh_at(&self) -> Instant {
        self.grant.refresh_at()
    }

    /// Whether a refresh awaits its response.
    pub fn is_refreshing(&self) -> bool {
        self.auth.pending_transaction().is_some()
    }

    /// Sends AUTH on `connection` to keep the path.
    pub fn refresh(&mut self, connection: &MsrpConnection) -> Result<(), RelayError> {
        let request = self.auth.request();
        self.send(connection, request)
    }

    /// Reads an event of the connection: the response to the refresh under
    /// way goes to [`RelayAuth::handle_response`]; a challenge is answered
    /// on `connection` at once. Errors are [`RelayAuth::handle_response`]'s
    /// (a connection that closed or a request that timed out is a
    /// [`RelayError::Rejected`] with code 408).
    pub fn handle_event(
        &mut self,
        now: Instant,
        event: &MsrpEvent,
        connection: &MsrpConnection,
    ) -> Result<RefreshOutcome, RelayError> {
        let MsrpEvent::ResponseReceived { transaction_id, code, comment, head } = event else {
            return Ok(RefreshOutcome::NotMine);
        };
        if self.auth.pending_transaction() != Some(transaction_id.as_str()) {
            return Ok(RefreshOutcome::NotMine);
        }
        let response = match head.code() {
            Some(_) => (**head).clone(),
            // No response came (the connection closed, the request timed
            // out): the transport gives the code alone.
            None => Head {
                transaction_id: transaction_id.clone(),
                kind: super::message::Kind::Response { code: *code, comment: comment.clone() },
                headers: Default::default(),
            },
        };
        match self.auth.handle_response(now, &response)? {
            RelayAuthStep::Send(next) => {
                self.send(connection, *next)?;
                Ok(RefreshOutcome::Pending)
            }
            RelayAuthStep::Granted(grant) => {
                self.grant = grant.clone();
                Ok(RefreshOutcome::Refreshed(grant))
            }
        }
    }

    fn send(&mut self, connection: &MsrpConnection, request: Head) -> Result<(), RelayError> {
        connection
            .send_request(request, None)
            .map(drop)
            .map_err(|e| RelayError::ConnectionLost { relay: self.auth.relay_uri().to_string(), reason: e.to_string() })
    }
}

/// Connects to `relay` (its addresses in order, TLS for an `msrps` URI
/// with the URI's host as the certificate name), reserves a path with
/// AUTH using `credentials`, and returns the reservation with the open
/// connection. Everything is bounded by `options.timeout`.
pub async fn reserve_relay_path(
    relay: &MsrpRelay,
    credentials: &Credentials,
    options: &RelayOptions,
) -> Result<RelayReservation, RelayError> {
    let name = relay.uri.to_string();
    match tokio::time::timeout(options.timeout, reserve(relay, credentials, options)).await {
        Ok(result) => result,
        Err(_) => Err(RelayError::Timeout { relay: name, timeout: options.timeout }),
    }
}

async fn reserve(
    relay: &MsrpRelay,
    credentials: &Credentials,
    options: &RelayOptions,
) -> Result<RelayReservation, RelayError> {
    let name = relay.uri.to_string();
    let connect_error = |reason: String| RelayError::Connect { relay: name.clone(), reason };
    let tls = match relay.uri.scheme {
        Scheme::Msrps => {
            let config = options.tls.as_ref().ok_or_else(|| connect_error("no TLS settings".to_owned()))?;
            Some(Tls::new(config).map_err(|e| connect_error(e.to_string()))?)
        }
        Scheme::Msrp => None,
    };
    let (tcp, local) = connect_first(&relay.addresses).await.map_err(connect_error)?;
    let local_uri = endpoint_uri(relay.uri.scheme, &uri_host(local.ip()), local.port());
    let mut io = match &tls {
        Some(tls) => {
            let server_name = relay.uri.host.trim_start_matches('[').trim_end_matches(']');
            let stream = tls.connect(server_name, tcp).await.map_err(|e| connect_error(format!("TLS: {e}")))?;
            MsrpIo::from_stream(stream)
        }
        None => MsrpIo::from_stream(tcp),
    };
    let mut auth = RelayAuth::new(relay.uri.clone(), local_uri.clone(), credentials);
    auth.set_expires(options.expires);
    let grant = authenticate(&mut io, &mut auth).await?;
    tracing::info!(relay = %name, granted = %grant, "reserved a path at the MSRP relay");
    Ok(RelayReservation { io, relay: relay.uri.clone(), local_uri, grant, auth })
}

/// The first of `addresses` that accepts a TCP connection, with the local
/// address of the connection.
async fn connect_first(addresses: &[(String, u16)]) -> Result<(TcpStream, SocketAddr), String> {
    let mut errors = Vec::new();
    for (host, port) in addresses {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        match TcpStream::connect((host, *port)).await {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                let local = tcp.local_addr().map_err(|e| e.to_string())?;
                return Ok((tcp, local));
            }
            Err(e) => errors.push(format!("{host}:{port}: {e}")),
        }
    }
    if errors.is_empty() {
        return Err("no address to connect to".to_owned());
    }
    Err(errors.join("; "))
}

/// An address as a URI host (IPv6 in brackets).
fn uri_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// Runs the AUTH exchange of `auth` on `io` until the relay grants a path.
/// The relay sends nothing else before it grants one: any request is an
/// error.
pub async fn authenticate<S>(io: &mut S, auth: &mut RelayAuth) -> Result<RelayGrant, RelayError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let relay = auth.relay_uri().to_string();
    let lost = |reason: String| RelayError::ConnectionLost { relay: relay.clone(), reason };
    let mut parser = FrameParser::new(Limits { max_body: 64 * 1024, ..Limits::default() });
    let mut buffer = vec![0u8; 8192];
    let mut request = auth.request();
    loop {
        let bytes = encode_auth(&request)
            .map_err(|e| RelayError::Protocol { relay: relay.clone(), detail: format!("an unwritable AUTH: {e}") })?;
        io.write_all(&bytes).await.map_err(|e| lost(format!("write failed: {e}")))?;
        io.flush().await.map_err(|e| lost(format!("write failed: {e}")))?;
        let response = loop {
            match parser.next_frame() {
                Ok(Some(frame)) => break frame,
                Ok(None) => {}
                Err(error) => {
                    return Err(RelayError::Protocol { relay: relay.clone(), detail: format!("bad MSRP: {error}") });
                }
            }
            match io.read(&mut buffer).await {
                Ok(0) => return Err(lost("closed by the relay".to_owned())),
                Ok(n) => parser.feed(&buffer[..n]),
                Err(e) => return Err(lost(format!("read failed: {e}"))),
            }
        };
        match auth.handle_response(Instant::now(), &response.head)? {
            RelayAuthStep::Send(next) => request = *next,
            RelayAuthStep::Granted(grant) => return Ok(grant),
        }
    }
}

#[cfg(test)]
mod tests {
    use md5::{Digest, Md5};

    use super::*;
    use crate::account::Secret;

    /// RFC 4976 §5 (AUTH to a relay, the digest challenge, AUTH with
    /// credentials, the grant), one frame per entry.
    const RFC4976_AUTH: &str = "MSRP 49fh AUTH\r\n\
        To-Path: msrps://alice@intra.example.com;tcp\r\n\
        From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n\
        -------49fh$\r\n";
    const RFC4976_401: &str = "MSRP 49fh 401 Unauthorized\r\n\
        To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n\
        From-Path: msrps://alice@intra.example.com;tcp\r\n\
        WWW-Authenticate: Digest realm=\"intra.example.com\", qop=\"auth\", \
        nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"\r\n\
        -------49fh$\r\n";
    const RFC4976_200: &str = "MSRP 49fi 200 OK\r\n\
        To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n\
        From-Path: msrps://alice@intra.example.com;tcp\r\n\
        Use-Path: msrps://relay.example.com:2855/hjdhfsdf;tcp\r\n\
        Expires: 900\r\n\
        -------49fi$\r\n";

    fn uri(text: &str) -> MsrpUri {
        MsrpUri::parse(text).unwrap()
    }

    fn md5_hex(text: &str) -> String {
        Md5::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The value of `name` in a digest header value (quotes removed).
    fn param(value: &str, name: &str) -> Option<String> {
        value.trim_start_matches("Digest ").split(", ").find_map(|part| {
            let (key, value) = part.split_once('=')?;
            (key == name).then(|| value.trim_matches('"').to_owned())
        })
    }

    fn alice(password: &str) -> RelayAuth {
        RelayAuth::new(
            uri("msrps://alice@intra.example.com;tcp"),
            uri("msrps://alice.example.com:9892/98cjs;tcp"),
            &Credentials { username: "Alice".into(), password: Secret::new(password) },
        )
    }

    /// `text` parsed, as the response to the transaction `tid`.
    fn response_to(text: &str, tid: &str) -> Head {
        let mut head = Frame::parse(text.as_bytes()).unwrap().head;
        head.transaction_id = tid.to_owned();
        head
    }

    /// `head` written out with transaction id `tid`.
    fn bytes_with_tid(head: &Head, tid: &str) -> String {
        let mut head = head.clone();
        head.transaction_id = tid.to_owned();
        String::from_utf8(encode_auth(&head).unwrap()).unwrap()
    }

    fn send(step: RelayAuthStep) -> Head {
        match step {
            RelayAuthStep::Send(head) => *head,
            other => panic!("expected an AUTH to send, got {other:?}"),
        }
    }

    #[test]
    fn rfc4976_exchange_challenge_credentials_grant() {
        let mut auth = alice("secret");
        let first = auth.request();
        assert_eq!(auth.pending_transaction(), Some(first.transaction_id.as_str()));
        assert_eq!(bytes_with_tid(&first, "49fh"), RFC4976_AUTH);

        let challenge = response_to(RFC4976_401, &first.transaction_id);
        let second = send(auth.handle_response(Instant::now(), &challenge).unwrap());
        assert_ne!(second.transaction_id, first.transaction_id, "a new transaction");
        assert_eq!(second.headers.to_path, first.headers.to_path);
        assert_eq!(second.headers.from_path, first.headers.from_path);
        let authorization = second.headers.authorization.clone().expect("Authorization");
        assert_eq!(param(&authorization, "username").as_deref(), Some("Alice"));
        assert_eq!(param(&authorization, "realm").as_deref(), Some("intra.example.com"));
        assert_eq!(param(&authorization, "nonce").as_deref(), Some("dcd98b7102dd2f0e8b11d0f600bfb0c093"));
        assert_eq!(param(&authorization, "uri").as_deref(), Some("msrps://alice@intra.example.com;tcp"));
        assert_eq!(param(&authorization, "qop").as_deref(), Some("auth"));
        assert_eq!(param(&authorization, "nc").as_deref(), Some("00000001"));
        // RFC 4976 §5: the digest of RFC 2617 with method AUTH and the relay URI.
        let cnonce = param(&authorization, "cnonce").expect("cnonce");
        let ha1 = md5_hex("Alice:intra.example.com:secret");
        let ha2 = md5_hex("AUTH:msrps://alice@intra.example.com;tcp");
        let expected = md5_hex(&format!("{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:{cnonce}:auth:{ha2}"));
        assert_eq!(param(&authorization, "response"), Some(expected));
        // The request as written: the example's headers plus Authorization.
        let text = bytes_with_tid(&second, "49fi");
        assert!(text.starts_with(
            "MSRP 49fi AUTH\r\nTo-Path: msrps://alice@intra.example.com;tcp\r\n\
             From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\nAuthorization: Digest username=\"Alice\", "
        ));
        assert!(text.ends_with("\r\n-------49fi$\r\n"), "{text}");
        assert!(!text.contains("secret"));

        let now = Instant::now();
        let grant = match auth.handle_response(now, &response_to(RFC4976_200, &second.transaction_id)).unwrap() {
            RelayAuthStep::Granted(grant) => grant,
            other => panic!("{other:?}"),
        };
        assert_eq!(grant.use_path, vec![uri("msrps://relay.example.com:2855/hjdhfsdf;tcp")]);
        assert_eq!(grant.expires, Duration::from_secs(900));
        assert_eq!(grant.expires_at(), now + Duration::from_secs(900));
        assert_eq!(grant.refresh_at(), now + Duration::from_secs(900 - 60));
        assert_eq!(auth.grant(), Some(&grant));
        assert_eq!(auth.pending_transaction(), None);

        // A refresh answers the known challenge at once, with the next nonce count.
        let refresh = auth.request();
        let authorization = refresh.headers.authorization.clone().expect("a refresh carries credentials");
        assert_eq!(param(&authorization, "nc").as_deref(), Some("00000002"));
        assert_eq!(auth.pending_transaction(), Some(refresh.transaction_id.as_str()));
    }

    #[test]
    fn a_second_challenge_means_the_password_is_wrong() {
        let mut auth = alice("wrong");
        let first = auth.request();
        let second =
            send(auth.handle_response(Instant::now(), &response_to(RFC4976_401, &first.transaction_id)).unwrap());
        // The relay challenges the AUTH with credentials again (a fresh nonce).
        let again = RFC4976_401.replace("dcd98b7102dd2f0e8b11d0f600bfb0c093", "0123456789abcdef");
        let error = auth.handle_response(Instant::now(), &response_to(&again, &second.transaction_id)).unwrap_err();
        assert_eq!(
            error,
            RelayError::CredentialsRejected {
                relay: "msrps://alice@intra.example.com;tcp".into(),
                username: "Alice".into()
            }
        );
        assert!(!format!("{error} {error:?} {auth:?}").contains("wrong"), "no password in messages");
    }

    #[test]
    fn a_stale_nonce_is_answered_again() {
        let mut auth = alice("secret");
        let first = auth.request();
        let second =
            send(auth.handle_response(Instant::now(), &response_to(RFC4976_401, &first.transaction_id)).unwrap());
        let stale = RFC4976_401.replace("qop=\"auth\"", "qop=\"auth\", stale=true").replace("dcd98b", "eeeeee");
        let third = send(auth.handle_response(Instant::now(), &response_to(&stale, &second.transaction_id)).unwrap());
        let authorization = third.headers.authorization.unwrap();
        assert_eq!(param(&authorization, "nonce").as_deref(), Some("eeeeee7102dd2f0e8b11d0f600bfb0c093"));
    }

    #[test]
    fn failures_are_typed() {
        type Check = fn(&RelayError) -> bool;
        let cases: [(&str, Check); 5] = [
            (
                "MSRP x 403 Forbidden\r\n",
                |e| matches!(e, RelayError::Forbidden { reason, .. } if reason == "Forbidden"),
            ),
            (
                "MSRP x 500 Server Error\r\n",
                |e| matches!(e, RelayError::Rejected { code: 500, reason, .. } if reason == "Server Error"),
            ),
            (
                "MSRP x 481\r\n",
                |e| matches!(e, RelayError::Rejected { code: 481, reason, .. } if reason == "Session Does Not Exist"),
            ),
            ("MSRP x 200 OK\r\nExpires: 60\r\n", |e| matches!(e, RelayError::NoUsePath { .. })),
            ("MSRP x 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"r\"\r\n", |e| {
                matches!(e, RelayError::Challenge { error: AuthError::NoDigestChallenge(_), .. })
            }),
        ];
        for (text, expected) in cases {
            let mut auth = alice("secret");
            let request = auth.request();
            let frame = format!(
                "{text}To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\nFrom-Path: msrps://alice@intra.example.com;tcp\r\n-------x$\r\n"
            )
            .replacen("MSRP x ", "MSRP xxxx ", 1)
            .replace("-------x$", "-------xxxx$");
            let response = response_to(&frame, &request.transaction_id);
            let error = auth.handle_response(Instant::now(), &response).unwrap_err();
            assert!(expected(&error), "{text:?} gave {error:?}");
        }
    }

    #[test]
    fn responses_to_other_transactions_and_requests_are_refused() {
        let mut auth = alice("secret");
        let request = auth.request();
        let other = response_to(RFC4976_401, "zzzz");
        assert!(matches!(auth.handle_response(Instant::now(), &other), Err(RelayError::Protocol { .. })));
        assert_eq!(auth.pending_transaction(), Some(request.transaction_id.as_str()), "still waiting");
        let send_request = Head::request(Method::Send, vec![], vec![]);
        assert!(matches!(auth.handle_response(Instant::now(), &send_request), Err(RelayError::Protocol { .. })));
        // The real response still completes the exchange.
        assert!(matches!(
            auth.handle_response(Instant::now(), &response_to(RFC4976_401, &request.transaction_id)),
            Ok(RelayAuthStep::Send(_))
        ));
    }

    #[test]
    fn an_interval_out_of_bounds_is_asked_again_within_bounds() {
        let mut auth = alice("secret");
        auth.set_expires(Some(5));
        let first = auth.request();
        assert_eq!(first.headers.expires, Some(5));
        let second =
            send(auth.handle_response(Instant::now(), &response_to(RFC4976_401, &first.transaction_id)).unwrap());
        let too_short = "MSRP xxxx 423 Interval Out-of-Bounds\r\n\
            To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n\
            From-Path: msrps://alice@intra.example.com;tcp\r\n\
            Min-Expires: 10\r\n\
            -------xxxx$\r\n";
        let third =
            send(auth.handle_response(Instant::now(), &response_to(too_short, &second.transaction_id)).unwrap());
        assert_eq!(third.headers.expires, Some(10));
        assert_eq!(auth.expires(), Some(10));
        let authorization = third.headers.authorization.expect("credentials kept");
        assert_eq!(param(&authorization, "nc").as_deref(), Some("00000002"));
        // A 423 that gives no bound to move to is a failure.
        let useless = too_short.replace("Min-Expires: 10", "Min-Expires: 5");
        let error = auth.handle_response(Instant::now(), &response_to(&useless, &third.transaction_id)).unwrap_err();
        assert!(matches!(error, RelayError::Rejected { code: 423, .. }), "{error:?}");
    }

    #[test]
    fn an_endless_exchange_stops() {
        let mut auth = alice("secret");
        let mut request = auth.request();
        let mut nonce = 0;
        let error = loop {
            nonce += 1;
            // A relay that declares every nonce stale.
            let stale = RFC4976_401
                .replace("qop=\"auth\"", "qop=\"auth\", stale=true")
                .replace("dcd98b7102dd2f0e8b11d0f600bfb0c093", &format!("n{nonce}"));
            match auth.handle_response(Instant::now(), &response_to(&stale, &request.transaction_id)) {
                Ok(RelayAuthStep::Send(next)) => request = *next,
                Ok(other) => panic!("{other:?}"),
                Err(error) => break error,
            }
            assert!(nonce < 20, "the exchange never ends");
        };
        assert!(
            matches!(error, RelayError::TooManyRequests { requests: MAX_AUTH_REQUESTS, .. })
                || matches!(error, RelayError::Challenge { error: AuthError::TooManyStale { .. }, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn grants_without_expires_and_short_grants() {
        let mut auth = alice("secret");
        let request = auth.request();
        let no_expires = RFC4976_200.replace("Expires: 900\r\n", "");
        let now = Instant::now();
        let RelayAuthStep::Granted(grant) =
            auth.handle_response(now, &response_to(&no_expires, &request.transaction_id)).unwrap()
        else {
            panic!()
        };
        assert_eq!(grant.expires, DEFAULT_GRANT);
        let short = RelayGrant { use_path: grant.use_path.clone(), expires: Duration::from_secs(10), granted_at: now };
        assert_eq!(short.refresh_at(), now + Duration::from_millis(7500));
        assert_eq!(short.to_string(), "msrps://relay.example.com:2855/hjdhfsdf;tcp for 10 s");
    }

    #[test]
    fn relay_settings() {
        let ok = |text: &str, host: &str, port: u16, tls: bool| {
            assert_eq!(RelaySetting::parse(text), Ok(RelaySetting { host: host.into(), port, tls }), "{text}");
        };
        ok("relay.example.com", "relay.example.com", 2855, true);
        ok("relay.example.com:2856;transport=tcp", "relay.example.com", 2856, false);
        ok(" 10.0.0.1:2855;transport=TLS ", "10.0.0.1", 2855, true);
        ok("[::1]:2900;transport=tcp", "[::1]", 2900, false);
        ok("[2001:db8::1]", "[2001:db8::1]", 2855, true);
        ok("msrp://127.0.0.1:2855;tcp", "127.0.0.1", 2855, false);
        ok("msrps://relay.example.com;tcp", "relay.example.com", 2855, true);
        for bad in [
            "",
            "relay.example.com:0",
            "relay.example.com:x",
            "relay.example.com;transport=udp",
            "relay.example.com;maddr=x",
            "[::1",
            "re lay",
            "msrp://relay;udp",
            "sip:relay.example.com",
        ] {
            assert!(matches!(RelaySetting::parse(bad), Err(RelayError::Setting(_))), "{bad:?}");
        }
        let setting = RelaySetting::parse("[::1]:2900;transport=tcp").unwrap();
        assert_eq!(setting.uri().to_string(), "msrp://[::1]:2900;tcp");
        assert_eq!(
            MsrpRelay::from_setting(&setting),
            MsrpRelay { uri: uri("msrp://[::1]:2900;tcp"), addresses: vec![("[::1]".into(), 2900)] }
        );
    }

    #[test]
    fn relay_targets_from_settings() {
        assert_eq!(
            RelayTarget::from_settings(Some("127.0.0.1:2855;transport=tcp"), "tcp", "example.com"),
            Ok(RelayTarget::Configured(RelaySetting { host: "127.0.0.1".into(), port: 2855, tls: false }))
        );
        assert_eq!(
            RelayTarget::from_settings(None, "tls", "example.com"),
            Ok(RelayTarget::Discover { domain: "example.com".into(), tls: true })
        );
        assert_eq!(
            RelayTarget::from_settings(Some(" "), "tcp", "example.com"),
            Ok(RelayTarget::Discover { domain: "example.com".into(), tls: false })
        );
        // The setting's transport defaults to TLS, which conflicts with msrp.transport tcp.
        assert!(matches!(
            RelayTarget::from_settings(Some("relay.example.com"), "tcp", "example.com"),
            Err(RelayError::Setting(reason)) if reason.contains("conflicts")
        ));
        assert!(RelayTarget::from_settings(None, "udp", "example.com").is_err());
    }

    #[tokio::test]
    async fn discovering_the_relay_of_an_address_domain_needs_no_records() {
        // An IP address domain is its own relay on port 2855; the lookup
        // still needs the DNSManager, which is not running here.
        let target = RelayTarget::Discover { domain: "127.0.0.1".into(), tls: false };
        match target.resolve(LookupOptions::default()).await {
            Ok(relay) => {
                assert_eq!(relay.uri.to_string(), "msrp://127.0.0.1;tcp");
                assert_eq!(relay.addresses, vec![("127.0.0.1".to_owned(), DEFAULT_RELAY_PORT)]);
            }
            Err(RelayError::Lookup { error: LookupError::NotRunning, domain }) => assert_eq!(domain, "127.0.0.1"),
            Err(other) => panic!("{other:?}"),
        }
        let configured = RelayTarget::Configured(RelaySetting { host: "relay".into(), port: 1, tls: true });
        assert_eq!(
            configured.resolve(LookupOptions::default()).await.unwrap(),
            MsrpRelay { uri: uri("msrps://relay:1;tcp"), addresses: vec![("relay".into(), 1)] }
        );
    }

    /// A relay on the other end of `stream` that challenges once, checks
    /// the digest against `password` and grants `use_path` (401 again on a
    /// wrong digest).
    async fn fake_relay<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, password: &str, use_path: &str) -> Vec<Head> {
        let mut parser = FrameParser::default();
        let mut seen = Vec::new();
        let mut buffer = vec![0u8; 4096];
        loop {
            let frame = loop {
                if let Some(frame) = parser.next_frame().unwrap() {
                    break frame;
                }
                // The end of the stream (with or without TLS close_notify).
                let n = stream.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    return seen;
                }
                parser.feed(&buffer[..n]);
            };
            let head = frame.head;
            seen.push(head.clone());
            let mut response = head.response(401, Some("Unauthorized")).unwrap();
            response.headers.www_authenticate = Some("Digest realm=\"relay\", nonce=\"abc\", qop=\"auth\"".into());
            if let Some(authorization) = &head.headers.authorization {
                let ha1 = md5_hex(&format!("alice:relay:{password}"));
                let ha2 = md5_hex(&format!("AUTH:{}", head.headers.to_path[0]));
                let p = |name| param(authorization, name).unwrap_or_default();
                let good = md5_hex(&format!("{ha1}:abc:{}:{}:auth:{ha2}", p("nc"), p("cnonce")));
                if p("response") == good {
                    response = head.response(200, Some("OK")).unwrap();
                    response.headers.use_path = vec![uri(use_path)];
                    response.headers.expires = head.headers.expires.or(Some(600));
                }
            }
            stream.write_all(&encode_auth(&response).unwrap()).await.unwrap();
        }
    }

    #[tokio::test]
    async fn authenticate_runs_the_exchange_on_a_stream() {
        let (mut client, server) = tokio::io::duplex(4096);
        let relay = tokio::spawn(fake_relay(server, "alicepw", "msrp://relay.test:2855/s1;tcp"));
        let credentials = Credentials { username: "alice".into(), password: Secret::new("alicepw") };
        let mut auth = RelayAuth::new(
            uri("msrp://relay.test:2855;tcp"),
            endpoint_uri(Scheme::Msrp, "10.0.0.2", 5000),
            &credentials,
        );
        let grant = authenticate(&mut client, &mut auth).await.unwrap();
        assert_eq!(grant.use_path, vec![uri("msrp://relay.test:2855/s1;tcp")]);
        assert_eq!(grant.expires, Duration::from_secs(600));
        // Refreshing on the same stream: one AUTH, accepted at once.
        let again = authenticate(&mut client, &mut auth).await.unwrap();
        assert_eq!(again.use_path, grant.use_path);
        drop(client);
        let seen = relay.await.unwrap();
        let authorizations: Vec<bool> = seen.iter().map(|h| h.headers.authorization.is_some()).collect();
        assert_eq!(authorizations, [false, true, true]);
        assert!(seen.iter().all(|h| h.method() == Some(&Method::Auth)));
        assert_eq!(seen[0].headers.from_path, vec![auth.local_uri().clone()]);

        let (mut client, server) = tokio::io::duplex(4096);
        let relay = tokio::spawn(fake_relay(server, "other", "msrp://relay.test:2855/s2;tcp"));
        let mut auth = RelayAuth::new(
            uri("msrp://relay.test:2855;tcp"),
            endpoint_uri(Scheme::Msrp, "10.0.0.2", 5000),
            &credentials,
        );
        let error = authenticate(&mut client, &mut auth).await.unwrap_err();
        assert!(matches!(error, RelayError::CredentialsRejected { .. }), "{error:?}");
        drop(client);
        assert_eq!(relay.await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_relay_that_closes_or_speaks_garbage_fails_the_exchange() {
        let credentials = Credentials { username: "alice".into(), password: Secret::new("pw") };
        let (mut client, server) = tokio::io::duplex(4096);
        drop(server);
        let mut auth = RelayAuth::new(uri("msrp://relay.test;tcp"), endpoint_uri(Scheme::Msrp, "h", 1), &credentials);
        let error = authenticate(&mut client, &mut auth).await.unwrap_err();
        assert!(matches!(error, RelayError::ConnectionLost { .. }), "{error:?}");

        let (mut client, mut server) = tokio::io::duplex(4096);
        let garbage = tokio::spawn(async move {
            let mut buffer = [0u8; 1024];
            let _ = server.read(&mut buffer).await;
            server.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await.unwrap();
            server
        });
        let error = authenticate(&mut client, &mut auth).await.unwrap_err();
        assert!(matches!(error, RelayError::Protocol { .. }), "{error:?}");
        drop(garbage.await);
    }

    /// A CA and a certificate for `localhost` signed by it: (CA file,
    /// certificate-and-key file).
    fn certificates(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &ca).unwrap();
        let (ca_file, server_file) = (dir.join("ca.pem"), dir.join("relay.pem"));
        std::fs::write(&ca_file, ca.pem()).unwrap();
        std::fs::write(&server_file, server.pem() + &key.serialize_pem()).unwrap();
        (ca_file, server_file)
    }

    #[tokio::test]
    async fn reserving_over_tls_checks_the_relay_name_and_connects_to_its_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let (ca_file, server_file) = certificates(dir.path());
        let server_tls = Tls::new(&TlsConfig {
            ca_list: Some(ca_file.clone()),
            certificate: Some(server_file),
            verify_server: true,
        })
        .unwrap();
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let relay_task = tokio::spawn(async move {
            let mut seen = Vec::new();
            // Two connections: the good name, then a name the certificate does not have.
            for _ in 0..2 {
                let (tcp, _) = listener.accept().await.unwrap();
                if let Ok(stream) = server_tls.accept(tcp).await {
                    seen.extend(fake_relay(stream, "alicepw", "msrps://relay.test:2855/tls1;tcp").await);
                }
            }
            seen
        });
        let credentials = Credentials { username: "alice".into(), password: Secret::new("alicepw") };
        let options = RelayOptions {
            tls: Some(TlsConfig { ca_list: Some(ca_file), certificate: None, verify_server: true }),
            ..RelayOptions::default()
        };
        // The URI names the relay (certificate name, To-Path); it is reached at an address.
        let relay = MsrpRelay {
            uri: uri(&format!("msrps://localhost:{port};tcp")),
            addresses: vec![("127.0.0.9".into(), 9), ("127.0.0.1".into(), port)],
        };
        let reservation = reserve_relay_path(&relay, &credentials, &options).await.unwrap();
        assert_eq!(reservation.grant.use_path, vec![uri("msrps://relay.test:2855/tls1;tcp")]);
        assert_eq!(reservation.local_uri.scheme, Scheme::Msrps);
        assert_eq!(reservation.local_uri.host, "127.0.0.1");
        assert_eq!(reservation.auth.requests_sent(), 2);
        assert_eq!(
            reservation.to_path(&[uri("msrp://peer:1/p;tcp")]),
            vec![uri("msrps://relay.test:2855/tls1;tcp"), uri("msrp://peer:1/p;tcp")]
        );
        drop(reservation);

        let wrong_name = MsrpRelay { uri: uri(&format!("msrps://relay.other:{port};tcp")), ..relay };
        let error = reserve_relay_path(&wrong_name, &credentials, &options).await.unwrap_err();
        assert!(matches!(&error, RelayError::Connect { reason, .. } if reason.starts_with("TLS")), "{error:?}");
        let seen = relay_task.await.unwrap();
        assert_eq!(seen.len(), 2, "only the connection with the right name got to AUTH");
        assert_eq!(seen[0].headers.to_path, vec![uri(&format!("msrps://localhost:{port};tcp"))]);
    }

    #[tokio::test]
    async fn a_refresher_renews_the_path_on_a_running_connection() {
        use super::super::sdp::ConnectionRole;
        use super::super::transport::{MsrpConnectOptions, MsrpConnection};

        let (client, server) = tokio::io::duplex(64 * 1024);
        let relay = tokio::spawn(fake_relay(server, "alicepw", "msrp://relay.test:2855/again;tcp"));
        let credentials = Credentials { username: "alice".into(), password: Secret::new("alicepw") };
        let local = endpoint_uri(Scheme::Msrp, "10.0.0.2", 5000);
        let auth = RelayAuth::new(uri("msrp://relay.test:2855;tcp"), local.clone(), &credentials);
        let old = RelayGrant {
            use_path: vec![uri("msrp://relay.test:2855/first;tcp")],
            expires: Duration::from_secs(100),
            granted_at: Instant::now(),
        };
        let mut refresher = RelayRefresher::new(auth, old.clone());
        assert_eq!(refresher.refresh_at(), old.refresh_at());
        let options = MsrpConnectOptions { connected: Some(MsrpIo::from_stream(client)), ..Default::default() };
        let peer = vec![uri("msrp://relay.test:2855/first;tcp"), uri("msrp://peer.test:1/p;tcp")];
        let (connection, mut events) = MsrpConnection::connect(
            &tokio::runtime::Handle::current(),
            vec![local],
            peer,
            ConnectionRole::Passive,
            options,
        )
        .unwrap();

        refresher.refresh(&connection).unwrap();
        assert!(refresher.is_refreshing());
        let mut outcomes = Vec::new();
        let grant = loop {
            let event = tokio::time::timeout(Duration::from_secs(10), events.recv()).await.unwrap().unwrap();
            match refresher.handle_event(Instant::now(), &event, &connection).unwrap() {
                RefreshOutcome::Refreshed(grant) => break grant,
                outcome => outcomes.push(outcome),
            }
        };
        // No challenge was known: the relay challenged, the answer went out at once.
        assert_eq!(outcomes, [RefreshOutcome::Pending]);
        assert_eq!(grant.use_path, vec![uri("msrp://relay.test:2855/again;tcp")]);
        assert_eq!(refresher.grant(), &grant);
        assert!(!refresher.is_refreshing());
        let other = MsrpEvent::MessageDelivered { message_id: "x".into() };
        assert_eq!(refresher.handle_event(Instant::now(), &other, &connection), Ok(RefreshOutcome::NotMine));

        // The relay goes away: the next refresh fails instead of hanging.
        connection.close();
        let seen = relay.await.unwrap();
        assert_eq!(seen.iter().map(|h| h.headers.authorization.is_some()).collect::<Vec<_>>(), [false, true]);
        let result = refresher.refresh(&connection);
        let failed = match result {
            Err(error) => error,
            Ok(()) => loop {
                let Some(event) = events.recv().await else { panic!("no response to the refresh") };
                match refresher.handle_event(Instant::now(), &event, &connection) {
                    Ok(RefreshOutcome::NotMine) => continue,
                    Ok(other) => panic!("{other:?}"),
                    Err(error) => break error,
                }
            },
        };
        assert!(
            matches!(failed, RelayError::ConnectionLost { .. } | RelayError::Rejected { code: 408, .. }),
            "{failed:?}"
        );
    }

    #[test]
    fn endpoint_uris_are_random_and_usable() {
        let a = endpoint_uri(Scheme::Msrps, "[::1]", 5000);
        let b = endpoint_uri(Scheme::Msrps, "[::1]", 5000);
        assert_ne!(a.session_id, b.session_id);
        assert_eq!(MsrpUri::parse(&a.to_string()), Ok(a.clone()));
        assert!(a.to_string().starts_with("msrps://[::1]:5000/"));
        assert_eq!(uri_host("::1".parse().unwrap()), "[::1]");
        assert_eq!(uri_host("10.1.2.3".parse().unwrap()), "10.1.2.3");
    }
}
