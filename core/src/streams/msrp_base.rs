//! [`MsrpStreamBase`]: what every MSRP media stream shares (the original's
//! `sipsimple.streams.msrp.MSRPStreamBase`): the listener and our `msrp://`
//! or `msrps://` URI, the m-line offer and answer, the connection in the
//! negotiated role (RFC 6135), and the end of the stream.
//!
//! A stream type ([`ChatStream`](super::ChatStream), file transfer, desktop
//! sharing) holds a base and gives it:
//!
//! - an [`MsrpStreamSpec`]: the original's class attributes (`type`,
//!   `priority`, `media_type`, `accept_types`, `accept_wrapped_types`) and
//!   the settings of the MSRP session endpoint;
//! - its [`MsrpStreamHooks`]: the original's `_NH_*` and `_handle_*`
//!   conventions as methods: adjust the m-line, react to the start, to each
//!   event of the connection and to its end.
//!
//! [`msrp_media_stream!`](crate::msrp_media_stream) implements
//! [`MediaStream`](super::MediaStream) for the stream type by delegating to
//! the base.
//!
//! - `initialize` listens for the MSRP connection on the SIP engine's
//!   address (a port of its own, picked by the system; TLS when the stream's
//!   transport is `msrps`) and registers our URI with the listener at once,
//!   so a peer that connects as soon as it has our SDP is matched.
//! - `start` opens the connection in the negotiated role; a task on the core
//!   runtime hands its events to the hooks in order. When the connection
//!   ends on its own the stream fails (`MediaStreamDidFail`, context
//!   `media`) unless it was deactivated or ended.
//!
//! Relays (RFC 4976): with `msrp.connection_model` `relay` (the default),
//! an incoming stream — and an outgoing one when
//! `nat_traversal.use_msrp_relay_for_outbound` is on — reserves a path at
//! the account's MSRP relay before it is initialized
//! ([`MsrpStreamBase::prepare`]): the relay of `nat_traversal.msrp_relay`,
//! or the one DNS gives for the account's domain. The stream then runs on
//! that connection: our `a=path` is the relay's Use-Path followed by our
//! URI, and we take the passive role so the peer connects to our relay. A
//! configured relay that cannot be reached or refuses us fails the stream;
//! a domain without a relay in DNS (or an address as domain) means a direct
//! connection (RFC 6135), where the original would fail.
//!
//! TLS uses the `tls.*` settings: `tls.ca_list` and `tls.verify_server`
//! check the peer when we connect; `tls.certificate` is what we present
//! when the peer connects, and without one a self-signed certificate made
//! for the process is used (MSRP peers reach us by IP address, so a
//! certificate for a name would not verify anyway).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use super::lock;
use super::{PrepareFuture, StreamDirection};
use crate::account::Account;
use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::msrp::message::{MsrpUri, new_message_id};
use crate::msrp::relay::{
    RefreshOutcome, RelayOptions, RelayRefresher, RelayReservation, RelayTarget, reserve_relay_path,
};
use crate::msrp::sdp::{MsrpMediaConfig, MsrpTransport, NegotiatedMsrp};
use crate::msrp::session::{MsrpEvent, MsrpSessionConfig};
use crate::msrp::transport::{MsrpConnectOptions, MsrpConnection, MsrpEventReceiver, MsrpListener, MsrpTls};
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::sdp::{MediaDescription, SessionDescription, Setup};
use crate::session::Session;
use crate::value::Value;

/// What differs between MSRP stream types (the original's class
/// attributes).
#[derive(Clone, Debug)]
pub struct MsrpStreamSpec {
    /// The stream type (`type`): `chat`, `file-transfer`, `desktop-sharing`.
    pub stream_type: &'static str,
    /// The priority of the type in the registry (`priority`).
    pub priority: i32,
    /// The SDP media type (`media_type`): `message` or `application`.
    pub media_type: &'static str,
    /// The content types accepted (`accept_types`), advertised in the SDP.
    pub accept_types: Vec<String>,
    /// The content types accepted inside CPIM (`accept_wrapped_types`).
    pub accept_wrapped_types: Vec<String>,
    /// Settings of the MSRP session endpoint (chunk size, which bodies are
    /// streamed).
    pub session: MsrpSessionConfig,
}

/// What a stream type adds to the base; called by the base.
pub trait MsrpStreamHooks: Send + Sync + 'static {
    /// The stream's base.
    fn base(&self) -> &MsrpStreamBase;
    /// Adjusts our m-line at `initialize` (file selector, direction...).
    /// `offer` is the peer's m-line for an incoming stream, `None` for an
    /// outgoing one. An error fails the initialization.
    fn configure(&self, _config: &mut MsrpMediaConfig, _offer: Option<&MediaDescription>) -> Result<()> {
        Ok(())
    }
    /// Called first by `start`: an error (no handler set yet...) fails the
    /// start.
    fn will_start(&self, _base: &MsrpStreamBase) -> Result<()> {
        Ok(())
    }
    /// Called first by `end` (once): stop what the stream runs besides the
    /// connection.
    fn will_end(&self, _base: &MsrpStreamBase) {}
    /// The connection was created (`MediaStreamDidStart` follows): send what
    /// was queued.
    fn started(&self, _base: &MsrpStreamBase) {}
    /// One event of the connection, on the core runtime, in order.
    fn event(&self, base: &MsrpStreamBase, event: MsrpEvent);
    /// The connection ended, before `MediaStreamDidEnd` (or
    /// `MediaStreamDidFail` when the stream was neither ended nor
    /// deactivated).
    fn closed(&self, _base: &MsrpStreamBase, _reason: &str) {}
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    New,
    Initialized,
    Started,
    Ended,
}

struct Inner {
    state: State,
    config: Option<MsrpMediaConfig>,
    listener: Option<MsrpListener>,
    negotiated: Option<NegotiatedMsrp>,
    connection: Option<MsrpConnection>,
    local_identity: Option<String>,
    remote_identity: Option<String>,
    deactivated: bool,
    /// Whether the event task ended (MediaStreamDidEnd is then posted by `end`).
    finished: bool,
}

/// The shared part of an MSRP media stream (see the module documentation).
pub struct MsrpStreamBase {
    account: Arc<Account>,
    spec: MsrpStreamSpec,
    hooks: Weak<dyn MsrpStreamHooks>,
    handle: OnceLock<Handle>,
    inner: Arc<Mutex<Inner>>,
    /// Wakes the event task when the stream is deactivated or ended.
    stopping: Arc<tokio::sync::Notify>,
    /// The path reserved at a relay by `prepare`, until `start` runs the
    /// session on its connection.
    relay: Arc<Mutex<Option<RelayReservation>>>,
    /// The offer it was created from (incoming), with the m-line index.
    remote_offer: Mutex<Option<(SessionDescription, usize)>>,
}

impl std::fmt::Debug for MsrpStreamBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsrpStreamBase")
            .field("type", &self.spec.stream_type)
            .field("handle", &self.handle())
            .field("state", &self.inner().state)
            .finish()
    }
}

/// The account's `msrp.transport` (`tls` when unset).
fn account_transport(account: &Account) -> MsrpTransport {
    match account.settings().get("msrp.transport").ok().as_ref().and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("tcp") => MsrpTransport::Tcp,
        _ => MsrpTransport::Tls,
    }
}

/// The m-line `index` of `remote_sdp` when it is an enabled MSRP m-line of
/// `media_type`.
pub(crate) fn offered_msrp_media<'a>(
    remote_sdp: &'a SessionDescription,
    index: usize,
    media_type: &str,
) -> Option<&'a MediaDescription> {
    let media = remote_sdp.media.get(index)?;
    (media.is_media(media_type) && !media.is_disabled() && MsrpTransport::from_protocol(&media.protocol).is_some())
        .then_some(media)
}

/// The core runtime (the current one when called on it).
pub(crate) fn runtime() -> Result<tokio::runtime::Handle> {
    tokio::runtime::Handle::try_current()
        .ok()
        .or_else(crate::session::SessionManager::runtime)
        .ok_or_else(|| Error::InvalidState("the core runtime is not running".into()))
}

/// TLS for MSRP from the `tls.*` settings; `accepting` adds what a listener
/// presents (the configured certificate or the process's self-signed one).
fn msrp_tls(accepting: bool) -> Result<MsrpTls> {
    let mut config = crate::application::tls_config();
    if accepting && config.certificate.is_none() {
        config.certificate = Some(self_signed_certificate()?);
    }
    MsrpTls::new(&config).map_err(|e| Error::InvalidState(format!("MSRP TLS: {e}")))
}

/// A PEM file with a self-signed certificate and its key, made once per
/// process in a private temporary directory.
fn self_signed_certificate() -> Result<std::path::PathBuf> {
    static PATH: OnceLock<std::result::Result<std::path::PathBuf, String>> = OnceLock::new();
    PATH.get_or_init(|| {
        let certified = rcgen::generate_simple_self_signed(vec!["sipsimple.invalid".to_owned()])
            .map_err(|e| format!("cannot make a certificate: {e}"))?;
        let pem = format!("{}{}", certified.cert.pem(), certified.signing_key.serialize_pem());
        let dir = std::env::temp_dir().join(format!("sipsimple-msrp-{}", std::process::id()));
        write_private(&dir, &pem).map_err(|e| format!("cannot store the certificate: {e}"))
    })
    .clone()
    .map_err(Error::Internal)
}

fn write_private(dir: &std::path::Path, pem: &str) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write;
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.recursive(true).create(dir)?;
    let path = dir.join("certificate.pem");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(&path)?.write_all(pem.as_bytes())?;
    Ok(path)
}

impl MsrpStreamBase {
    /// A base for a new stream of `account`; `hooks` is the stream itself
    /// (made with `Arc::new_cyclic`).
    pub fn new(account: &Arc<Account>, spec: MsrpStreamSpec, hooks: Weak<dyn MsrpStreamHooks>) -> MsrpStreamBase {
        MsrpStreamBase {
            account: account.clone(),
            spec,
            hooks,
            handle: OnceLock::new(),
            inner: Arc::new(Mutex::new(Inner {
                state: State::New,
                config: None,
                listener: None,
                negotiated: None,
                connection: None,
                local_identity: None,
                remote_identity: None,
                deactivated: false,
                finished: false,
            })),
            stopping: Arc::new(tokio::sync::Notify::new()),
            relay: Arc::new(Mutex::new(None)),
            remote_offer: Mutex::new(None),
        }
    }

    /// Sets the stream's handle (once, right after it is registered).
    pub fn set_handle(&self, handle: Handle) {
        let _ = self.handle.set(handle);
    }

    /// The stream's handle: the sender of its notifications.
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or_default()
    }

    /// The account.
    pub fn account(&self) -> &Arc<Account> {
        &self.account
    }

    /// The stream type's attributes.
    pub fn spec(&self) -> &MsrpStreamSpec {
        &self.spec
    }

    /// Remembers the peer's offer an incoming stream was made for.
    pub fn set_remote_offer(&self, sdp: SessionDescription, index: usize) {
        *lock(&self.remote_offer) = Some((sdp, index));
    }

    /// The peer's m-line an incoming stream was made for.
    pub fn remote_offer_media(&self) -> Option<MediaDescription> {
        lock(&self.remote_offer).as_ref().and_then(|(sdp, index)| sdp.media.get(*index).cloned())
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Our MSRP URI (`local_uri`), once initialized.
    pub fn local_uri(&self) -> Option<String> {
        self.inner().config.as_ref().map(|c| c.local_uri.to_string())
    }

    /// The peer's MSRP path (relays first, the peer's own URI last), once
    /// negotiated.
    pub fn remote_path(&self) -> Vec<String> {
        self.inner()
            .negotiated
            .as_ref()
            .map(|n| n.remote.path.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    /// The negotiated MSRP parameters, once known.
    pub fn negotiated(&self) -> Option<NegotiatedMsrp> {
        self.inner().negotiated.clone()
    }

    /// The running connection, from `start` until it closes.
    pub fn connection(&self) -> Option<MsrpConnection> {
        self.inner().connection.clone()
    }

    /// Whether the stream is initialized (and not ended).
    pub fn is_initialized(&self) -> bool {
        matches!(self.inner().state, State::Initialized | State::Started)
    }

    /// Whether the stream started (and did not end).
    pub fn is_started(&self) -> bool {
        self.inner().state == State::Started
    }

    /// Whether the stream ended.
    pub fn is_ended(&self) -> bool {
        self.inner().state == State::Ended
    }

    /// Our identity in the session (the CPIM sender).
    pub fn local_identity(&self) -> Option<String> {
        self.inner().local_identity.clone()
    }

    /// The peer's identity in the session (the CPIM recipient).
    pub fn remote_identity(&self) -> Option<String> {
        self.inner().remote_identity.clone()
    }

    /// Posts `MediaStreamDidFail` with `context` and `reason`.
    pub fn post_fail(&self, context: &str, reason: &str) {
        tracing::warn!("{} stream {context} failed: {reason}", self.spec.stream_type);
        NotificationCenter::default_center()
            .post(self.handle(), n::MediaStreamDidFail { context: context.into(), reason: reason.into() });
    }

    /// The transport: the offer's for an incoming stream, the account's
    /// `msrp.transport` for an outgoing one.
    pub fn transport(&self) -> MsrpTransport {
        let offered = lock(&self.remote_offer)
            .as_ref()
            .and_then(|(sdp, index)| sdp.media.get(*index).and_then(|m| MsrpTransport::from_protocol(&m.protocol)));
        offered.unwrap_or_else(|| account_transport(&self.account))
    }

    fn hooks(&self) -> Option<Arc<dyn MsrpStreamHooks>> {
        self.hooks.upgrade()
    }

    /// Whether this stream goes through a relay, and which (see the module
    /// documentation); `None` for a direct connection.
    fn relay_target(&self, direction: StreamDirection) -> Option<RelayTarget> {
        let settings = self.account.settings();
        let text = |path: &str| settings.get(path).ok().and_then(|v| v.as_str().map(str::to_owned));
        if self.account.is_bonjour() || text("msrp.connection_model").is_some_and(|m| m != "relay") {
            return None;
        }
        let outbound = settings.get("nat_traversal.use_msrp_relay_for_outbound").ok().and_then(|v| v.as_bool());
        if direction == StreamDirection::Outgoing && outbound != Some(true) {
            return None;
        }
        match RelayTarget::for_account(&self.account) {
            Ok(RelayTarget::Discover { domain, .. })
                if domain.parse::<IpAddr>().is_ok()
                    || domain.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok()
                    || domain.eq_ignore_ascii_case("localhost") =>
            {
                None
            }
            Ok(target) => Some(target),
            Err(e) => {
                tracing::warn!("MSRP relay setting of {}: {e}", self.account.id());
                None
            }
        }
    }

    /// `prepare`: reserves a path at the account's MSRP relay when this
    /// stream uses one. The stream fails (`MediaStreamDidFail`, context
    /// `initialize`) when a configured relay cannot be used.
    pub fn prepare(&self, direction: StreamDirection) -> Option<PrepareFuture> {
        let target = self.relay_target(direction)?;
        let credentials = self.account.credentials();
        let slot = self.relay.clone();
        let handle = self.handle();
        let stream_type = self.spec.stream_type;
        Some(Box::pin(async move {
            let configured = matches!(target, RelayTarget::Configured(_));
            let relay = match target.resolve(crate::lookup::LookupOptions::default()).await {
                Ok(relay) => relay,
                Err(e) if !configured => {
                    tracing::debug!("no MSRP relay, connecting directly: {e}");
                    return Ok(());
                }
                Err(e) => return Err(fail_prepare(handle, stream_type, &e.to_string())),
            };
            let options = RelayOptions { tls: Some(crate::application::tls_config()), ..RelayOptions::default() };
            match reserve_relay_path(&relay, &credentials, &options).await {
                Ok(reservation) => {
                    tracing::debug!("{stream_type} stream {handle:?}: MSRP relay path {:?}", reservation.sdp_path());
                    *lock(&slot) = Some(reservation);
                    Ok(())
                }
                Err(e) => Err(fail_prepare(handle, stream_type, &e.to_string())),
            }
        }))
    }

    /// `initialize`: listens, makes our URI and m-line configuration.
    pub fn initialize(&self, session: &Session, direction: StreamDirection) -> Result<()> {
        let result = (|| {
            if self.inner().state != State::New {
                return Err(Error::InvalidState(format!(
                    "the {} stream was initialized already",
                    self.spec.stream_type
                )));
            }
            let transport = self.transport();
            let runtime = runtime()?;
            let bind_ip = crate::sip::engine::Engine::current()
                .and_then(|e| e.local_address(crate::sip::transport::TransportKind::Udp))
                .map(|a| a.ip())
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            let advertised = session
                .media_address()
                .or_else(|| (!bind_ip.is_unspecified()).then_some(bind_ip))
                .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            let offer = self.remote_offer_media();
            let relayed = lock(&self.relay).as_ref().map(|r| (r.local_uri.clone(), r.grant.use_path.clone()));
            let (listener, mut config) = match relayed {
                Some((local_uri, use_path)) => {
                    // The peer reaches us through the relay: we wait for it,
                    // unless it waits too (a relay of its own).
                    let mut config = MsrpMediaConfig::new(local_uri);
                    config.relay_path = use_path;
                    let peer_passive = offer
                        .as_ref()
                        .and_then(|m| m.attribute("setup"))
                        .and_then(|a| a.value.as_deref())
                        .is_some_and(|s| s.eq_ignore_ascii_case("passive"));
                    if offer.is_some() {
                        config.setup = if peer_passive { Setup::Active } else { Setup::Passive };
                    }
                    (None, config)
                }
                None => {
                    let tls = match transport {
                        MsrpTransport::Tls => Some(msrp_tls(true)?),
                        MsrpTransport::Tcp => None,
                    };
                    let listener = MsrpListener::bind(&runtime, SocketAddr::new(bind_ip, 0), tls)
                        .map_err(|e| Error::Internal(format!("MSRP listener: {e}")))?;
                    let port = listener.local_addr().port();
                    let host = match advertised {
                        IpAddr::V6(v6) => format!("[{v6}]"),
                        IpAddr::V4(v4) => v4.to_string(),
                    };
                    let local_uri = MsrpUri::new(transport.scheme(), &host, port, &new_message_id());
                    listener.expect(local_uri.clone());
                    (Some(listener), MsrpMediaConfig::new(local_uri))
                }
            };
            let local_uri = config.local_uri.clone();
            config.media_type = self.spec.media_type.to_owned();
            config.accept_types = self.spec.accept_types.clone();
            config.accept_wrapped_types = self.spec.accept_wrapped_types.clone();
            if let Some(hooks) = self.hooks() {
                hooks.configure(&mut config, offer.as_ref())?;
            }
            tracing::debug!(
                "{} stream {:?} ({}): MSRP on {local_uri}",
                self.spec.stream_type,
                self.handle(),
                direction.name()
            );
            let mut inner = self.inner();
            inner.config = Some(config);
            inner.listener = listener;
            inner.local_identity = Some(session.local_identity());
            inner.remote_identity = session.remote_identity();
            inner.state = State::Initialized;
            Ok(())
        })();
        match &result {
            Ok(()) => NotificationCenter::default_center().post(self.handle(), n::MediaStreamDidInitialize {}),
            Err(e) => self.post_fail("initialize", &e.to_string()),
        }
        result
    }

    /// `get_local_media`: our offer (`remote_sdp` `None`) or our answer to
    /// m-line `index` of the peer's offer.
    pub fn get_local_media(&self, remote_sdp: Option<&SessionDescription>, index: usize) -> Result<MediaDescription> {
        let mut inner = self.inner();
        let Some(config) = inner.config.clone() else {
            return Err(Error::InvalidState(format!(
                "get_local_media needs an initialized {} stream",
                self.spec.stream_type
            )));
        };
        match remote_sdp {
            None => Ok(config.offer()),
            Some(offer) => {
                let media = offer
                    .media
                    .get(index)
                    .ok_or_else(|| Error::InvalidArgument(format!("the offer has no m-line {index}")))?;
                let answer = config
                    .answer(media)
                    .map_err(|e| Error::InvalidArgument(format!("{} m-line {index}: {e}", self.spec.stream_type)))?;
                inner.negotiated = Some(answer.negotiated);
                Ok(answer.media)
            }
        }
    }

    /// `start`: opens the connection in the negotiated role and hands its
    /// events to the hooks.
    pub fn start(&self, _local_sdp: &SessionDescription, remote_sdp: &SessionDescription, index: usize) -> Result<()> {
        let result = (|| {
            if let Some(hooks) = self.hooks() {
                hooks.will_start(self)?;
            }
            let mut inner = self.inner();
            if inner.state != State::Initialized {
                return Err(Error::InvalidState(format!(
                    "start needs an initialized {} stream",
                    self.spec.stream_type
                )));
            }
            let config = inner.config.clone().ok_or_else(|| Error::InvalidState("no MSRP configuration".into()))?;
            let negotiated = match inner.negotiated.clone() {
                Some(negotiated) => negotiated,
                None => {
                    let media = remote_sdp
                        .media
                        .get(index)
                        .ok_or_else(|| Error::InvalidArgument(format!("the answer has no m-line {index}")))?;
                    config.process_answer(media).map_err(|e| Error::InvalidArgument(format!("answer: {e}")))?
                }
            };
            let runtime = runtime()?;
            let tls = match negotiated.remote.first_hop().map(|uri| MsrpTransport::from_scheme(uri.scheme)) {
                Some(MsrpTransport::Tls) => Some(msrp_tls(false)?),
                _ => None,
            };
            let relay = lock(&self.relay).take();
            let (local_path, remote_path) = match &relay {
                Some(relay) => (relay.local_path(), relay.to_path(&negotiated.remote.path)),
                None => (config.path(), negotiated.remote.path.clone()),
            };
            let (io, refresher) = match relay {
                Some(RelayReservation { io, auth, grant, .. }) => (Some(io), Some(RelayRefresher::new(auth, grant))),
                None => (None, None),
            };
            let options = MsrpConnectOptions {
                listener: inner.listener.clone(),
                tls,
                session: MsrpSessionConfig {
                    accept_types: self.spec.accept_types.clone(),
                    ..self.spec.session.clone()
                },
                connected: io,
            };
            let (connection, events) =
                MsrpConnection::connect(&runtime, local_path, remote_path, negotiated.role, options)
                    .map_err(|e| Error::Internal(format!("MSRP connection: {e}")))?;
            tracing::debug!(
                "{} stream {:?}: MSRP {:?}, CPIM {}",
                self.spec.stream_type,
                self.handle(),
                negotiated.role,
                negotiated.cpim_enabled
            );
            inner.negotiated = Some(negotiated);
            inner.connection = Some(connection.clone());
            inner.state = State::Started;
            drop(inner);
            let task = EventTask {
                base: self.weak_self(),
                handle: self.handle(),
                inner: self.inner.clone(),
                stopping: self.stopping.clone(),
                refresher: refresher.map(|r| (r, connection.clone())),
            };
            runtime.spawn(task.run(events));
            Ok(())
        })();
        match &result {
            Ok(()) => {
                if let Some(hooks) = self.hooks() {
                    hooks.started(self);
                }
                NotificationCenter::default_center().post(self.handle(), n::MediaStreamDidStart {});
            }
            Err(e) => self.post_fail("start", &e.to_string()),
        }
        result
    }

    /// The stream (through its hooks) for the event task: the task must not
    /// keep the stream alive.
    fn weak_self(&self) -> Weak<dyn MsrpStreamHooks> {
        self.hooks.clone()
    }

    /// `validate_update`: whether the peer's re-offer of our m-line is
    /// acceptable (a disabled m-line is: it removes the stream).
    pub fn validate_update(&self, remote_sdp: &SessionDescription, index: usize) -> bool {
        let Some(config) = self.inner().config.clone() else { return false };
        let Some(media) = remote_sdp.media.get(index) else { return false };
        if !media.is_media(self.spec.media_type) {
            return false;
        }
        media.is_disabled() || config.answer(media).is_ok()
    }

    /// `update`: a re-INVITE keeps the MSRP connection as it is.
    pub fn update(
        &self,
        _local_sdp: &SessionDescription,
        _remote_sdp: &SessionDescription,
        _index: usize,
    ) -> Result<()> {
        if self.inner().state != State::Started {
            return Err(Error::InvalidState(format!("update needs a started {} stream", self.spec.stream_type)));
        }
        Ok(())
    }

    /// `deactivate`: from now on the peer closing the connection is normal.
    pub fn deactivate(&self) {
        self.inner().deactivated = true;
        self.stopping.notify_one();
    }

    /// `end`: closes the listener and the connection; `MediaStreamWillEnd`
    /// at once, `MediaStreamDidEnd` once the connection is closed.
    pub fn end(&self) {
        let (connection, listener, finished) = {
            let mut inner = self.inner();
            if inner.state == State::Ended {
                return;
            }
            inner.state = State::Ended;
            (inner.connection.take(), inner.listener.take(), inner.finished)
        };
        if let Some(hooks) = self.hooks() {
            hooks.will_end(self);
        }
        self.stopping.notify_one();
        let center = NotificationCenter::default_center();
        center.post(self.handle(), n::MediaStreamWillEnd {});
        if let Some(listener) = listener {
            listener.close();
        }
        match connection {
            // The event task posts MediaStreamDidEnd once the connection is closed.
            Some(connection) if !finished => connection.close(),
            _ => center.post(self.handle(), n::MediaStreamDidEnd {}),
        }
    }
}

/// Posts `MediaStreamDidFail` for a relay that could not be used and
/// returns the error.
fn fail_prepare(handle: Handle, stream_type: &str, reason: &str) -> Error {
    tracing::warn!("{stream_type} stream: MSRP relay: {reason}");
    NotificationCenter::default_center()
        .post(handle, n::MediaStreamDidFail { context: "initialize".into(), reason: format!("MSRP relay: {reason}") });
    Error::InvalidState(format!("MSRP relay: {reason}"))
}

/// Hands the events of a running connection to the stream's hooks.
struct EventTask {
    base: Weak<dyn MsrpStreamHooks>,
    handle: Handle,
    inner: Arc<Mutex<Inner>>,
    stopping: Arc<tokio::sync::Notify>,
    /// Keeps the relay path alive, when the stream goes through a relay.
    refresher: Option<(RelayRefresher, MsrpConnection)>,
}

/// How long a connection the peer closed waits for the stream to be
/// deactivated (the peer's BYE or re-INVITE may come after its close)
/// before the stream fails.
const PEER_CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

impl EventTask {
    async fn run(mut self, mut events: MsrpEventReceiver) {
        let mut closed_reason = None;
        loop {
            let refresh_at = self.refresher.as_ref().filter(|(r, _)| !r.is_refreshing()).map(|(r, _)| r.refresh_at());
            let refresh_due = async move {
                match refresh_at {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let event = tokio::select! {
                event = events.recv() => event,
                () = refresh_due => {
                    if let Some((refresher, connection)) = &mut self.refresher
                        && let Err(e) = refresher.refresh(connection)
                    {
                        tracing::warn!("MSRP relay path refresh failed: {e}");
                        self.refresher = None;
                    }
                    continue;
                }
            };
            let Some(event) = event else { break };
            if let Some((refresher, connection)) = &mut self.refresher {
                match refresher.handle_event(std::time::Instant::now(), &event, connection) {
                    Ok(RefreshOutcome::NotMine) => {}
                    Ok(RefreshOutcome::Pending) => continue,
                    Ok(RefreshOutcome::Refreshed(grant)) => {
                        tracing::debug!("MSRP relay path refreshed: {grant}");
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!("MSRP relay path refresh failed: {e}");
                        self.refresher = None;
                        continue;
                    }
                }
            }
            if let MsrpEvent::Closed { reason } = &event {
                closed_reason = Some(reason.clone());
            }
            let Some(stream) = self.base.upgrade() else { continue };
            stream.event(stream.base(), event);
        }
        let stopped = || {
            let inner = lock(&self.inner);
            inner.state == State::Ended || inner.deactivated
        };
        if !stopped() {
            let _ = tokio::time::timeout(PEER_CLOSE_GRACE, self.stopping.notified()).await;
        }
        let (ended, deactivated) = {
            let mut inner = lock(&self.inner);
            inner.finished = true;
            inner.connection = None;
            (inner.state == State::Ended, inner.deactivated)
        };
        let reason = closed_reason.unwrap_or_else(|| "the MSRP connection was closed".into());
        if let Some(stream) = self.base.upgrade() {
            stream.closed(stream.base(), &reason);
        }
        let center = NotificationCenter::default_center();
        if ended {
            center.post(self.handle, n::MediaStreamDidEnd {});
        } else if !deactivated {
            tracing::warn!("MSRP stream media failed: {reason}");
            center.post(self.handle, n::MediaStreamDidFail { context: "media".into(), reason });
        }
    }
}

/// Implements [`MediaStream`](crate::streams::MediaStream) for an MSRP
/// stream type that implements [`MsrpStreamHooks`], by delegating to its
/// base. MSRP streams do not support hold.
#[macro_export]
macro_rules! msrp_media_stream {
    ($stream:ty) => {
        impl $crate::streams::MediaStream for $stream {
            fn stream_type(&self) -> &'static str {
                $crate::streams::msrp_base::MsrpStreamHooks::base(self).spec().stream_type
            }
            fn priority(&self) -> i32 {
                $crate::streams::msrp_base::MsrpStreamHooks::base(self).spec().priority
            }
            fn handle(&self) -> $crate::handle::Handle {
                $crate::streams::msrp_base::MsrpStreamHooks::base(self).handle()
            }
            fn as_any(self: ::std::sync::Arc<Self>) -> ::std::sync::Arc<dyn ::std::any::Any + Send + Sync> {
                self
            }
            fn prepare(&self, direction: $crate::streams::StreamDirection) -> Option<$crate::streams::PrepareFuture> {
                $crate::streams::msrp_base::MsrpStreamHooks::base(self).prepare(direction)
            }
            fn initialize(
                &self,
                session: &$crate::session::Session,
                direction: $crate::streams::StreamDirection,
            ) -> $crate::error::Result<()> {
                $crate::streams::msrp_base::MsrpStreamHooks::base(self).initialize(session, direction)
            }
            fn get_local_media(
                &self,
                remote_sdp: Option<&$crate::sdp::SessionDescription>,
                index: usize,
            ) -> $crate::error::Result<$crate::sdp::MediaDescription> {
                $crate::streams::msrp_base::MsrpStreamHooks::base(self).get_local_media(remote_sdp, index)
            }
            fn start(
                &self,
                local_sdp: &$crate::sdp::SessionDescription,
                remote_sdp: &$crate::sdp::SessionDescription,
                index: usize,
            ) -> $crate::error::Result<()> {
                $crate::streams::msrp_base::MsrpStreamHooks::base(self).start(local_sdp, remote_sdp, index)
            }
            fn validate_update(&self, remote_sdp: &$crate::sdp::SessionDescription, index: usize) -> bool {
                $crate::streams::msrp_base::MsrpStreamHooks::base(self).validate_update(remote_sdp, index)
            }
            fn update(
                &self,
                local_sdp: &$crate::sdp::SessionDescription,
                remote_sdp: &$crate::sdp::SessionDescription,
                index: usize,
            ) -> $crate::error::Result<()> {
                $crate::streams::msrp_base::MsrpStreamHooks::base(self).update(local_sdp, remote_sdp, index)
            }
            fn hold(&self) {}
            fn unhold(&self) {}
            fn deactivate(&self) {
                $crate::streams::msrp_base::MsrpStreamHooks::base(self).deactivate()
            }
            fn end(&self) {
                $crate::streams::msrp_base::MsrpStreamHooks::base(self).end()
            }
            fn hold_supported(&self) -> bool {
                false
            }
            fn on_hold_by_local(&self) -> bool {
                false
            }
            fn on_hold_by_remote(&self) -> bool {
                false
            }
        }
    };
}
