//! [`ChatStream`]: session-based instant messaging over MSRP (the original's
//! `sipsimple.streams.msrp.chat.ChatStream`).
//!
//! - `initialize` listens for the MSRP connection on the SIP engine's
//!   address (a port of its own, picked by the system) and makes our
//!   `msrp://` URI with a random session id.
//! - `get_local_media` offers or answers `m=message ... TCP/MSRP *` with
//!   [`MsrpMediaConfig`]: accept-types `message/cpim text/*
//!   application/im-iscomposing+xml`, the same accept-wrapped-types but
//!   CPIM, `a=setup:actpass` in offers.
//! - `start` opens the connection in the negotiated role
//!   ([`MsrpConnection::connect`]); a task on the core runtime turns its
//!   events into notifications: `ChatStreamGotMessage`,
//!   `ChatStreamGotComposingIndication`, `ChatStreamDidDeliverMessage`,
//!   `ChatStreamDidNotDeliverMessage`.
//! - [`ChatStream::send_message`] and
//!   [`ChatStream::send_composing_indication`] wrap the payload in CPIM
//!   when both sides accept `message/cpim`, and send it plain otherwise.
//!   What is sent before the stream starts waits and goes out in order
//!   when it starts. Chat messages ask for a success report; their outcome
//!   is `ChatStreamDidDeliverMessage` or `ChatStreamDidNotDeliverMessage`.
//!
//! The message ids returned are the stream's own: they name the message in
//! the delivery notifications even when it was queued before the MSRP
//! connection existed.
//!
//! Not yet supported: MSRP over TLS (outgoing streams need the account's
//! `msrp.transport` setting to be `tcp`; incoming TLS offers are refused),
//! MSRP relays, private messages and nicknames.

use std::any::Any;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::SystemTime;

use tokio::sync::mpsc;

use super::{MediaStream, MediaStreamType, StreamDirection};
use crate::account::Account;
use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::msrp::cpim::{self, CpimHeader, CpimIdentity, CpimMessage, MultilingualText, Timestamp};
use crate::msrp::iscomposing::{self, ComposingState, IsComposing};
use crate::msrp::message::{MsrpUri, new_message_id};
use crate::msrp::sdp::{MsrpMediaConfig, MsrpTransport, NegotiatedMsrp};
use crate::msrp::session::MsrpEvent;
use crate::msrp::transport::{MsrpConnectOptions, MsrpConnection, MsrpListener};
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::sdp::{MediaDescription, SessionDescription};
use crate::session::Session;
use crate::value::Value;

/// Priority of the chat stream type in the registry.
pub const CHAT_PRIORITY: i32 = 1;

/// The content types a chat stream accepts, in preference order.
pub const CHAT_ACCEPT_TYPES: [&str; 3] = [cpim::CONTENT_TYPE, "text/*", iscomposing::CONTENT_TYPE];

/// The content types a chat stream accepts inside CPIM.
pub const CHAT_ACCEPT_WRAPPED_TYPES: [&str; 2] = ["text/*", iscomposing::CONTENT_TYPE];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    New,
    Initialized,
    Started,
    Ended,
}

/// What [`ChatStream::send_message`] may add to a message besides its
/// content; everything but the recipients needs CPIM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChatMessageOptions {
    /// CPIM `To` (`recipients`); `None` means the remote identity.
    pub recipients: Option<Vec<CpimIdentity>>,
    /// CPIM `cc` (`courtesy_recipients`).
    pub courtesy_recipients: Vec<CpimIdentity>,
    /// CPIM `Subject` with its translations (`subject`).
    pub subject: Option<MultilingualText>,
    /// CPIM `DateTime` (`timestamp`); `None` means now.
    pub timestamp: Option<Timestamp>,
    /// CPIM `Require` (`required`): what the receiver must understand.
    pub required: Vec<String>,
    /// Other CPIM headers (`additional_headers`).
    pub additional_headers: Vec<CpimHeader>,
}

impl ChatMessageOptions {
    fn needs_cpim(&self) -> bool {
        !self.courtesy_recipients.is_empty()
            || self.subject.is_some()
            || !self.required.is_empty()
            || !self.additional_headers.is_empty()
    }
}

/// A message or composing indication waiting to be sent.
#[derive(Clone, Debug)]
struct Outgoing {
    /// The stream's id of the message, as returned to the application.
    id: String,
    content: Vec<u8>,
    content_type: String,
    options: ChatMessageOptions,
    /// Chat messages ask for a success report and their outcome is
    /// notified; composing indications do neither.
    notify: bool,
}

/// MSRP Message-ID → the stream's message id and whether it is notified.
type SentMessages = Arc<Mutex<HashMap<String, (String, bool)>>>;

struct Inner {
    state: State,
    config: Option<MsrpMediaConfig>,
    listener: Option<MsrpListener>,
    negotiated: Option<NegotiatedMsrp>,
    connection: Option<MsrpConnection>,
    queue: Vec<Outgoing>,
    local_identity: Option<String>,
    remote_identity: Option<String>,
    deactivated: bool,
    /// Whether the event task ended (MediaStreamDidEnd is then posted by `end`).
    finished: bool,
}

/// One MSRP chat stream (see the module documentation).
pub struct ChatStream {
    account: Arc<Account>,
    handle: OnceLock<Handle>,
    inner: Arc<Mutex<Inner>>,
    sent: SentMessages,
    /// The offer it was created from (incoming), with the m-line index.
    remote_offer: Mutex<Option<(SessionDescription, usize)>>,
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream").field("handle", &self.handle()).field("state", &self.inner().state).finish()
    }
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The account's `msrp.transport` (`tls` when unset).
fn msrp_transport(account: &Account) -> MsrpTransport {
    match account.settings().get("msrp.transport").ok().as_ref().and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("tcp") => MsrpTransport::Tcp,
        _ => MsrpTransport::Tls,
    }
}

fn media_config(local_uri: MsrpUri) -> MsrpMediaConfig {
    let mut config = MsrpMediaConfig::new(local_uri);
    config.accept_types = CHAT_ACCEPT_TYPES.iter().map(|t| (*t).to_owned()).collect();
    config.accept_wrapped_types = CHAT_ACCEPT_WRAPPED_TYPES.iter().map(|t| (*t).to_owned()).collect();
    config
}

fn identity(text: &str) -> CpimIdentity {
    CpimIdentity::parse(text).unwrap_or_else(|_| CpimIdentity::new(text, None))
}

fn identity_value(identity: &CpimIdentity) -> Value {
    let mut map = std::collections::BTreeMap::new();
    map.insert("uri".to_owned(), Value::from(identity.uri.clone()));
    map.insert("display_name".to_owned(), Value::from(identity.display_name.clone()));
    Value::Map(map)
}

fn timestamp_value(timestamp: Option<&Timestamp>) -> Value {
    match timestamp {
        Some(t) => t.to_system_time().map(Value::Timestamp).unwrap_or_else(|| Value::from(t.text())),
        None => Value::Null,
    }
}

fn is_composing_type(content_type: &str) -> bool {
    content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(iscomposing::CONTENT_TYPE)
}

fn is_cpim_type(content_type: &str) -> bool {
    content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(cpim::CONTENT_TYPE)
}

impl ChatStream {
    /// A new chat stream for a session of `account` (`ChatStream()`).
    pub fn new(account: &Arc<Account>) -> Arc<ChatStream> {
        let stream = Arc::new(ChatStream {
            account: account.clone(),
            handle: OnceLock::new(),
            inner: Arc::new(Mutex::new(Inner {
                state: State::New,
                config: None,
                listener: None,
                negotiated: None,
                connection: None,
                queue: Vec::new(),
                local_identity: None,
                remote_identity: None,
                deactivated: false,
                finished: false,
            })),
            sent: Arc::new(Mutex::new(HashMap::new())),
            remote_offer: Mutex::new(None),
        });
        let h =
            handle::register(ObjectKind::ChatStream, stream.clone(), Some(format!("ChatStream of {}", account.id())));
        let _ = stream.handle.set(h);
        stream
    }

    /// The registry entry of the chat stream type.
    pub fn stream_class() -> MediaStreamType {
        MediaStreamType { type_name: "chat", priority: CHAT_PRIORITY, new_from_sdp: ChatStream::new_from_sdp }
    }

    /// `new_from_sdp`: a stream for m-line `index` of `remote_sdp` when it
    /// is a chat m-line (`message`, MSRP, no file selector); `Ok(None)`
    /// otherwise, `Err` when it cannot be answered (transport, content
    /// types).
    pub fn new_from_sdp(
        account: &Arc<Account>,
        remote_sdp: &SessionDescription,
        index: usize,
    ) -> Result<Option<Arc<dyn MediaStream>>> {
        let Some(media) = remote_sdp.media.get(index) else { return Ok(None) };
        if !media.is_media("message") || media.is_disabled() || MsrpTransport::from_protocol(&media.protocol).is_none()
        {
            return Ok(None);
        }
        if media.attributes.iter().any(|a| a.name.eq_ignore_ascii_case("file-selector")) {
            return Ok(None);
        }
        let transport = MsrpTransport::from_protocol(&media.protocol).unwrap_or_default();
        if transport == MsrpTransport::Tls {
            return Err(Error::InvalidArgument("MSRP over TLS is not supported yet".into()));
        }
        let probe = media_config(MsrpUri::new(transport.scheme(), "127.0.0.1", 9, "probe"));
        probe.answer(media).map_err(|e| Error::InvalidArgument(format!("chat m-line {index}: {e}")))?;
        let stream = ChatStream::new(account);
        *lock(&stream.remote_offer) = Some((remote_sdp.clone(), index));
        Ok(Some(stream))
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    fn post_fail(&self, context: &str, reason: &str) {
        tracing::warn!("chat stream {context} failed: {reason}");
        NotificationCenter::default_center()
            .post(self.handle(), n::MediaStreamDidFail { context: context.into(), reason: reason.into() });
    }

    /// The account.
    pub fn account(&self) -> &Arc<Account> {
        &self.account
    }

    /// Our MSRP URI (`local_uri`), once initialized.
    pub fn local_uri(&self) -> Option<String> {
        self.inner().config.as_ref().map(|c| c.local_uri.to_string())
    }

    /// The peer's MSRP path (`remote_path`... the last URI is the peer's
    /// own), once negotiated.
    pub fn remote_path(&self) -> Vec<String> {
        self.inner()
            .negotiated
            .as_ref()
            .map(|n| n.remote.path.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    /// Whether messages go wrapped in CPIM (both sides accept
    /// `message/cpim`), once negotiated.
    pub fn cpim_enabled(&self) -> Option<bool> {
        self.inner().negotiated.as_ref().map(|n| n.cpim_enabled)
    }

    /// `send_message(content, content_type, ...)`: sends an instant message
    /// and returns its id. With CPIM the message is wrapped (sender, the
    /// recipients — the remote identity by default —, the timestamp — now
    /// by default — and `options`); without it `content_type` must be
    /// accepted by the peer and `options` must need no CPIM. Before the
    /// stream starts the message is queued. Its outcome is
    /// `ChatStreamDidDeliverMessage` or `ChatStreamDidNotDeliverMessage`.
    pub fn send_message(
        &self,
        content: impl Into<Vec<u8>>,
        content_type: &str,
        options: ChatMessageOptions,
    ) -> Result<String> {
        if content_type.trim().is_empty() {
            return Err(Error::InvalidArgument("the content type is empty".into()));
        }
        self.enqueue(Outgoing {
            id: new_message_id(),
            content: content.into(),
            content_type: content_type.trim().to_owned(),
            options,
            notify: true,
        })
    }

    /// `send_composing_indication(state, refresh, last_active)`: tells the
    /// peer that a message is being typed (`active`) or not (`idle`).
    /// Queued like messages before the stream starts; no delivery
    /// notification follows. Returns the indication's id.
    pub fn send_composing_indication(
        &self,
        state: ComposingState,
        refresh: Option<u32>,
        last_active: Option<SystemTime>,
    ) -> Result<String> {
        let mut document = IsComposing::new(state);
        document.refresh = refresh;
        document.last_active = last_active.and_then(|t| Timestamp::from_system_time(t, 0));
        document.content_type = Some("text".to_owned());
        let content = document.encode().map_err(|e| Error::InvalidArgument(e.to_string()))?;
        self.enqueue(Outgoing {
            id: new_message_id(),
            content,
            content_type: iscomposing::CONTENT_TYPE.to_owned(),
            options: ChatMessageOptions::default(),
            notify: false,
        })
    }

    fn enqueue(&self, message: Outgoing) -> Result<String> {
        let mut inner = self.inner();
        match inner.state {
            State::Ended => return Err(Error::InvalidState("the chat stream has ended".into())),
            State::Started if inner.connection.is_none() => {
                return Err(Error::InvalidState("the chat stream's connection is closed".into()));
            }
            _ => {}
        }
        if let Some(negotiated) = &inner.negotiated {
            // Checked now when the peer's capabilities are known.
            encode(&inner, negotiated, &message)?;
        }
        let id = message.id.clone();
        if inner.state == State::Started {
            let deferred = self.dispatch(&inner, message);
            drop(inner);
            self.post_deferred(deferred);
        } else {
            inner.queue.push(message);
        }
        Ok(id)
    }

    /// Sends one message on the running connection; what to notify is
    /// returned, to be posted once the stream's lock is released.
    fn dispatch(&self, inner: &Inner, message: Outgoing) -> Option<Deferred> {
        let (Some(connection), Some(negotiated)) = (&inner.connection, &inner.negotiated) else { return None };
        let (content_type, body) = match encode(inner, negotiated, &message) {
            Ok(encoded) => encoded,
            Err(e) => {
                return message.notify.then(|| Deferred::NotDelivered {
                    message_id: message.id,
                    code: 400,
                    reason: e.to_string(),
                });
            }
        };
        // The map is held while sending so that no outcome arrives before
        // the Message-ID is known.
        let mut sent = lock(&self.sent);
        match connection.send_message(&content_type, body, message.notify) {
            Ok(msrp_id) => {
                sent.insert(msrp_id.clone(), (message.id.clone(), message.notify));
                message.notify.then(|| {
                    let mut data = std::collections::BTreeMap::new();
                    data.insert("message_id".to_owned(), Value::from(message.id));
                    data.insert("msrp_message_id".to_owned(), Value::from(msrp_id));
                    data.insert("content_type".to_owned(), Value::from(content_type));
                    Deferred::Sent(Value::Map(data))
                })
            }
            Err(e) => message.notify.then(|| Deferred::NotDelivered {
                message_id: message.id,
                code: 408,
                reason: e.to_string(),
            }),
        }
    }

    fn post_deferred(&self, deferred: impl IntoIterator<Item = Deferred>) {
        let center = NotificationCenter::default_center();
        for notification in deferred {
            match notification {
                Deferred::Sent(message) => center.post(self.handle(), n::ChatStreamDidSendMessage { message }),
                Deferred::NotDelivered { message_id, code, reason } => center.post(
                    self.handle(),
                    n::ChatStreamDidNotDeliverMessage { message_id, code, reason, chunk: Value::Null },
                ),
            }
        }
    }

    /// The transport of the stream: the offer's for an incoming stream,
    /// the account's `msrp.transport` for an outgoing one.
    fn transport(&self) -> MsrpTransport {
        let offered = lock(&self.remote_offer)
            .as_ref()
            .and_then(|(sdp, index)| sdp.media.get(*index).and_then(|m| MsrpTransport::from_protocol(&m.protocol)));
        offered.unwrap_or_else(|| msrp_transport(&self.account))
    }
}

/// A notification `dispatch` leaves to be posted.
enum Deferred {
    Sent(Value),
    NotDelivered { message_id: String, code: i64, reason: String },
}

/// The MSRP Content-Type and body of `message` for the negotiated peer.
fn encode(inner: &Inner, negotiated: &NegotiatedMsrp, message: &Outgoing) -> Result<(String, Vec<u8>)> {
    let options = &message.options;
    if !negotiated.cpim_enabled {
        if options.needs_cpim() || options.recipients.is_some() {
            return Err(Error::InvalidArgument(
                "recipients, courtesy recipients, subject, required and additional headers need CPIM".into(),
            ));
        }
        if !negotiated.remote.accepts(&message.content_type) {
            return Err(Error::InvalidArgument(format!("the peer does not accept {}", message.content_type)));
        }
        return Ok((message.content_type.clone(), message.content.clone()));
    }
    if !negotiated.remote.accepts_wrapped(&message.content_type) {
        return Err(Error::InvalidArgument(format!("the peer does not accept {} in CPIM", message.content_type)));
    }
    let mut cpim = CpimMessage::new(message.content.clone(), &message.content_type);
    cpim.sender = inner.local_identity.as_deref().map(identity);
    cpim.recipients = match &options.recipients {
        Some(recipients) => recipients.clone(),
        None => inner.remote_identity.as_deref().map(identity).into_iter().collect(),
    };
    cpim.courtesy_recipients = options.courtesy_recipients.clone();
    cpim.subject = options.subject.clone();
    cpim.timestamp = options.timestamp.clone().or_else(|| Timestamp::from_system_time(SystemTime::now(), 0));
    cpim.required = options.required.clone();
    cpim.additional_headers = options.additional_headers.clone();
    let body = cpim.encode().map_err(|e| Error::InvalidArgument(format!("CPIM: {e}")))?;
    Ok((cpim::CONTENT_TYPE.to_owned(), body))
}

impl MediaStream for ChatStream {
    fn stream_type(&self) -> &'static str {
        "chat"
    }

    fn priority(&self) -> i32 {
        CHAT_PRIORITY
    }

    fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or_default()
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn initialize(&self, session: &Session, direction: StreamDirection) -> Result<()> {
        let result = (|| {
            let mut inner = self.inner();
            if inner.state != State::New {
                return Err(Error::InvalidState("the chat stream was initialized already".into()));
            }
            let transport = self.transport();
            if transport == MsrpTransport::Tls {
                return Err(Error::InvalidState("MSRP over TLS is not supported yet (msrp.transport)".into()));
            }
            let runtime = runtime()?;
            let bind_ip = crate::sip::engine::Engine::current()
                .and_then(|e| e.local_address(crate::sip::transport::TransportKind::Udp))
                .map(|a| a.ip())
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            let advertised = session
                .media_address()
                .or_else(|| (!bind_ip.is_unspecified()).then_some(bind_ip))
                .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            let listener = MsrpListener::bind(&runtime, SocketAddr::new(bind_ip, 0), None)
                .map_err(|e| Error::Internal(format!("MSRP listener: {e}")))?;
            let port = listener.local_addr().port();
            let host = match advertised {
                IpAddr::V6(v6) => format!("[{v6}]"),
                IpAddr::V4(v4) => v4.to_string(),
            };
            let local_uri = MsrpUri::new(transport.scheme(), &host, port, &new_message_id());
            tracing::debug!("chat stream {:?} ({}): MSRP on {local_uri}", self.handle(), direction.name());
            inner.config = Some(media_config(local_uri));
            inner.listener = Some(listener);
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

    fn get_local_media(&self, remote_sdp: Option<&SessionDescription>, index: usize) -> Result<MediaDescription> {
        let mut inner = self.inner();
        let Some(config) = inner.config.clone() else {
            return Err(Error::InvalidState("get_local_media needs an initialized chat stream".into()));
        };
        match remote_sdp {
            None => Ok(config.offer()),
            Some(offer) => {
                let media = offer
                    .media
                    .get(index)
                    .ok_or_else(|| Error::InvalidArgument(format!("the offer has no m-line {index}")))?;
                let answer =
                    config.answer(media).map_err(|e| Error::InvalidArgument(format!("chat m-line {index}: {e}")))?;
                inner.negotiated = Some(answer.negotiated);
                Ok(answer.media)
            }
        }
    }

    fn start(&self, _local_sdp: &SessionDescription, remote_sdp: &SessionDescription, index: usize) -> Result<()> {
        let result = (|| {
            let mut inner = self.inner();
            if inner.state != State::Initialized {
                return Err(Error::InvalidState("start needs an initialized chat stream".into()));
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
            let options = MsrpConnectOptions { listener: inner.listener.clone(), ..MsrpConnectOptions::default() };
            let (connection, events) = MsrpConnection::connect(
                &runtime,
                config.path(),
                negotiated.remote.path.clone(),
                negotiated.role,
                options,
            )
            .map_err(|e| Error::Internal(format!("MSRP connection: {e}")))?;
            tracing::debug!(
                "chat stream {:?}: MSRP {:?}, CPIM {}",
                self.handle(),
                negotiated.role,
                negotiated.cpim_enabled
            );
            inner.negotiated = Some(negotiated);
            inner.connection = Some(connection);
            inner.state = State::Started;
            let task = EventTask {
                handle: self.handle(),
                inner: self.inner.clone(),
                sent: self.sent.clone(),
                remote_identity: inner.remote_identity.clone(),
            };
            runtime.spawn(task.run(events));
            let queued = std::mem::take(&mut inner.queue);
            Ok(queued.into_iter().filter_map(|message| self.dispatch(&inner, message)).collect::<Vec<_>>())
        })();
        let result = result.map(|deferred| {
            NotificationCenter::default_center().post(self.handle(), n::MediaStreamDidStart {});
            self.post_deferred(deferred);
        });
        if let Err(e) = &result {
            self.post_fail("start", &e.to_string());
        }
        result
    }

    fn validate_update(&self, remote_sdp: &SessionDescription, index: usize) -> bool {
        let Some(config) = self.inner().config.clone() else { return false };
        let Some(media) = remote_sdp.media.get(index) else { return false };
        if !media.is_media("message") {
            return false;
        }
        media.is_disabled() || config.answer(media).is_ok()
    }

    fn update(&self, _local_sdp: &SessionDescription, _remote_sdp: &SessionDescription, _index: usize) -> Result<()> {
        // A re-INVITE keeps the MSRP connection as it is.
        if self.inner().state != State::Started {
            return Err(Error::InvalidState("update needs a started chat stream".into()));
        }
        Ok(())
    }

    fn hold(&self) {}

    fn unhold(&self) {}

    fn deactivate(&self) {
        self.inner().deactivated = true;
    }

    fn end(&self) {
        let (connection, listener, finished) = {
            let mut inner = self.inner();
            if inner.state == State::Ended {
                return;
            }
            inner.state = State::Ended;
            inner.queue.clear();
            (inner.connection.take(), inner.listener.take(), inner.finished)
        };
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

fn runtime() -> Result<tokio::runtime::Handle> {
    tokio::runtime::Handle::try_current()
        .ok()
        .or_else(crate::session::SessionManager::runtime)
        .ok_or_else(|| Error::InvalidState("the core runtime is not running".into()))
}

/// Turns the events of a running connection into notifications.
struct EventTask {
    handle: Handle,
    inner: Arc<Mutex<Inner>>,
    sent: SentMessages,
    remote_identity: Option<String>,
}

impl EventTask {
    async fn run(self, mut events: mpsc::UnboundedReceiver<MsrpEvent>) {
        let mut closed_reason = None;
        while let Some(event) = events.recv().await {
            match event {
                MsrpEvent::MessageReceived { content_type, body, .. } => self.received(content_type.as_deref(), body),
                MsrpEvent::MessageDelivered { message_id } => {
                    if let Some(id) = self.outcome(&message_id) {
                        NotificationCenter::default_center().post(
                            self.handle,
                            n::ChatStreamDidDeliverMessage {
                                message_id: id,
                                code: 200,
                                reason: "OK".into(),
                                chunk: Value::Null,
                            },
                        );
                    }
                }
                MsrpEvent::MessageNotDelivered { message_id, code, reason } => {
                    if let Some(id) = self.outcome(&message_id) {
                        NotificationCenter::default_center().post(
                            self.handle,
                            n::ChatStreamDidNotDeliverMessage {
                                message_id: id,
                                code: code.into(),
                                reason,
                                chunk: Value::Null,
                            },
                        );
                    }
                }
                MsrpEvent::Closed { reason } => closed_reason = Some(reason),
                MsrpEvent::ChunkReceived { .. }
                | MsrpEvent::ChunkData { .. }
                | MsrpEvent::MessageAborted { .. }
                | MsrpEvent::MessageRefused { .. } => {}
            }
        }
        let (ended, deactivated) = {
            let mut inner = lock(&self.inner);
            inner.finished = true;
            inner.connection = None;
            (inner.state == State::Ended, inner.deactivated)
        };
        let center = NotificationCenter::default_center();
        if ended {
            center.post(self.handle, n::MediaStreamDidEnd {});
        } else if !deactivated {
            let reason = closed_reason.unwrap_or_else(|| "the MSRP connection was closed".into());
            tracing::warn!("chat stream media failed: {reason}");
            center.post(self.handle, n::MediaStreamDidFail { context: "media".into(), reason });
        }
    }

    /// The stream's id of a sent message whose outcome is notified.
    fn outcome(&self, msrp_id: &str) -> Option<String> {
        match lock(&self.sent).remove(msrp_id) {
            Some((id, true)) => Some(id),
            _ => None,
        }
    }

    fn received(&self, content_type: Option<&str>, body: Vec<u8>) {
        let content_type = content_type.unwrap_or("text/plain");
        let remote = self.remote_identity.as_deref().map(identity);
        let message = if is_cpim_type(content_type) {
            match CpimMessage::parse(&body) {
                Ok(message) => message,
                Err(e) => {
                    tracing::debug!("chat stream {:?}: invalid CPIM message dropped: {e}", self.handle);
                    return;
                }
            }
        } else {
            let mut message = CpimMessage::new(body, content_type);
            message.sender = remote.clone();
            message
        };
        let center = NotificationCenter::default_center();
        if is_composing_type(&message.content_type) {
            let document = match IsComposing::parse(&message.content) {
                Ok(document) => document,
                Err(e) => {
                    tracing::debug!("chat stream {:?}: invalid is-composing document dropped: {e}", self.handle);
                    return;
                }
            };
            let sender = message.sender.clone().or(remote);
            center.post(
                self.handle,
                n::ChatStreamGotComposingIndication {
                    state: document.state.as_str().into(),
                    refresh: document.refresh.map(Value::from).unwrap_or(Value::Null),
                    last_active: timestamp_value(document.last_active.as_ref()),
                    content_type: Value::from(document.content_type),
                    sender: sender.as_ref().map(identity_value).unwrap_or(Value::Null),
                    recipients: Value::List(message.recipients.iter().map(identity_value).collect()),
                },
            );
            return;
        }
        center.post(self.handle, n::ChatStreamGotMessage { message: message_value(&message) });
    }
}

/// A received chat message as notification data (`ChatMessage` or
/// `CPIMMessage` of the original: the same fields).
fn message_value(message: &CpimMessage) -> Value {
    let mut map = std::collections::BTreeMap::new();
    map.insert("content".to_owned(), Value::from(String::from_utf8_lossy(&message.content).into_owned()));
    map.insert("content_type".to_owned(), Value::from(message.content_type.clone()));
    map.insert("charset".to_owned(), Value::from(message.charset.clone()));
    map.insert("sender".to_owned(), message.sender.as_ref().map(identity_value).unwrap_or(Value::Null));
    map.insert("recipients".to_owned(), Value::List(message.recipients.iter().map(identity_value).collect()));
    map.insert(
        "courtesy_recipients".to_owned(),
        Value::List(message.courtesy_recipients.iter().map(identity_value).collect()),
    );
    map.insert("subject".to_owned(), Value::from(message.subject.as_ref().map(|s| s.text().to_owned())));
    map.insert("timestamp".to_owned(), timestamp_value(message.timestamp.as_ref()));
    map.insert("required".to_owned(), Value::from(message.required.clone()));
    map.insert(
        "additional_headers".to_owned(),
        Value::List(
            message.additional_headers.iter().map(|h| Value::from(format!("{}: {}", h.name, h.value))).collect(),
        ),
    );
    Value::Map(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msrp::message::Scheme;

    fn negotiated(offerer_accepts: &[&str]) -> NegotiatedMsrp {
        let ours = media_config(MsrpUri::new(Scheme::Msrp, "127.0.0.1", 2000, "ours"));
        let mut theirs = MsrpMediaConfig::new(MsrpUri::new(Scheme::Msrp, "127.0.0.1", 3000, "theirs"));
        theirs.accept_types = offerer_accepts.iter().map(|t| (*t).to_owned()).collect();
        ours.answer(&theirs.offer()).unwrap().negotiated
    }

    fn inner() -> Inner {
        Inner {
            state: State::Started,
            config: None,
            listener: None,
            negotiated: None,
            connection: None,
            queue: Vec::new(),
            local_identity: Some("Alice <sip:alice@example.com>".into()),
            remote_identity: Some("<sip:bob@example.com>".into()),
            deactivated: false,
            finished: false,
        }
    }

    fn outgoing(content_type: &str, options: ChatMessageOptions) -> Outgoing {
        Outgoing { id: "x".into(), content: b"hi".to_vec(), content_type: content_type.into(), options, notify: true }
    }

    #[test]
    fn messages_are_wrapped_in_cpim_when_both_sides_accept_it() {
        let negotiated = negotiated(&["message/cpim", "text/*"]);
        assert!(negotiated.cpim_enabled);
        let (content_type, body) = encode(&inner(), &negotiated, &outgoing("text/plain", Default::default())).unwrap();
        assert_eq!(content_type, "message/cpim");
        let cpim = CpimMessage::parse(&body).unwrap();
        assert_eq!(cpim.content, b"hi");
        assert_eq!(cpim.content_type, "text/plain");
        assert_eq!(cpim.sender.unwrap().uri, "sip:alice@example.com");
        assert_eq!(cpim.recipients[0].uri, "sip:bob@example.com");
        assert!(cpim.timestamp.is_some());
    }

    #[test]
    fn messages_go_plain_without_cpim_and_cpim_only_options_are_refused() {
        let negotiated = negotiated(&["text/plain"]);
        assert!(!negotiated.cpim_enabled);
        let (content_type, body) = encode(&inner(), &negotiated, &outgoing("text/plain", Default::default())).unwrap();
        assert_eq!((content_type.as_str(), body.as_slice()), ("text/plain", &b"hi"[..]));
        let subject = ChatMessageOptions { subject: Some("s".into()), ..Default::default() };
        assert!(encode(&inner(), &negotiated, &outgoing("text/plain", subject)).is_err());
        assert!(encode(&inner(), &negotiated, &outgoing("image/png", Default::default())).is_err());
    }

    #[test]
    fn the_chat_offer_lists_the_chat_content_types() {
        let offer = media_config(MsrpUri::new(Scheme::Msrp, "127.0.0.1", 2000, "abc")).offer();
        assert_eq!((offer.media_type.as_str(), offer.port, offer.protocol.as_str()), ("message", 2000, "TCP/MSRP"));
        let value = |name: &str| offer.attributes.iter().find(|a| a.name == name).and_then(|a| a.value.clone());
        assert_eq!(value("accept-types").as_deref(), Some("message/cpim text/* application/im-iscomposing+xml"));
        assert_eq!(value("accept-wrapped-types").as_deref(), Some("text/* application/im-iscomposing+xml"));
        assert_eq!(value("path").as_deref(), Some("msrp://127.0.0.1:2000/abc;tcp"));
    }
}
