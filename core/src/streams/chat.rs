//! [`ChatStream`]: session-based instant messaging over MSRP (the original's
//! `sipsimple.streams.msrp.chat.ChatStream`).
//!
//! The MSRP part (listener, m-line, connection, end) is the
//! [`MsrpStreamBase`]; the chat stream adds:
//!
//! - the m-line's accept-types `message/cpim text/*
//!   application/im-iscomposing+xml` and the same accept-wrapped-types but
//!   CPIM;
//! - [`ChatStream::send_message`] and
//!   [`ChatStream::send_composing_indication`], which wrap the payload in
//!   CPIM when both sides accept `message/cpim` and send it plain
//!   otherwise. What is sent before the stream starts waits and goes out
//!   in order when it starts. Chat messages ask for a success report; their
//!   outcome is `ChatStreamDidDeliverMessage` or
//!   `ChatStreamDidNotDeliverMessage`;
//! - the notifications of what arrives: `ChatStreamGotMessage`,
//!   `ChatStreamGotComposingIndication`.
//!
//! The message ids returned are the stream's own: they name the message in
//! the delivery notifications even when it was queued before the MSRP
//! connection existed.
//!
//! Not yet supported: private messages (recipients other than the peer).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::lock;
use super::msrp_base::{MsrpStreamBase, MsrpStreamHooks, MsrpStreamSpec, offered_msrp_media};
use super::{MediaStream, MediaStreamType};
use crate::account::Account;
use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::msrp::cpim::{self, CpimHeader, CpimIdentity, CpimMessage, MultilingualText, Timestamp};
use crate::msrp::iscomposing::{self, ComposingState, IsComposing};
use crate::msrp::message::{Head, Method, MsrpUri, new_message_id, reason_phrase};
use crate::msrp::sdp::{MsrpMediaConfig, MsrpTransport, NegotiatedMsrp};
use crate::msrp::session::{MsrpEvent, MsrpSessionConfig};
use crate::msrp::transport::MsrpConnection;
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::sdp::SessionDescription;
use crate::value::Value;

/// Priority of the chat stream type in the registry.
pub const CHAT_PRIORITY: i32 = 1;

/// The content types a chat stream accepts, in preference order.
pub const CHAT_ACCEPT_TYPES: [&str; 3] = [cpim::CONTENT_TYPE, "text/*", iscomposing::CONTENT_TYPE];

/// The content types a chat stream accepts inside CPIM.
pub const CHAT_ACCEPT_WRAPPED_TYPES: [&str; 2] = ["text/*", iscomposing::CONTENT_TYPE];

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
type SentMessages = Mutex<HashMap<String, (String, bool)>>;

/// One MSRP chat stream (see the module documentation).
pub struct ChatStream {
    base: MsrpStreamBase,
    /// Messages and indications sent before the stream started.
    queue: Mutex<Vec<Outgoing>>,
    sent: SentMessages,
    /// NICKNAME transaction id → the nickname asked for.
    nicknames: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream").field("base", &self.base).finish()
    }
}

/// The chat stream type's attributes.
fn chat_spec() -> MsrpStreamSpec {
    MsrpStreamSpec {
        stream_type: "chat",
        priority: CHAT_PRIORITY,
        media_type: "message",
        accept_types: CHAT_ACCEPT_TYPES.iter().map(|t| (*t).to_owned()).collect(),
        accept_wrapped_types: CHAT_ACCEPT_WRAPPED_TYPES.iter().map(|t| (*t).to_owned()).collect(),
        session: MsrpSessionConfig::default(),
    }
}

fn media_config(local_uri: MsrpUri) -> MsrpMediaConfig {
    let spec = chat_spec();
    let mut config = MsrpMediaConfig::new(local_uri);
    config.accept_types = spec.accept_types;
    config.accept_wrapped_types = spec.accept_wrapped_types;
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
        ChatStream::with_spec(account, chat_spec())
    }

    /// A chat stream that takes other content types than the default ones
    /// (as a subclass of the original's ChatStream overriding
    /// `accept_types` and `accept_wrapped_types`). Without `message/cpim`
    /// in `accept_types` messages go plain.
    pub fn with_accept_types(
        account: &Arc<Account>,
        accept_types: Vec<String>,
        accept_wrapped_types: Vec<String>,
    ) -> Arc<ChatStream> {
        ChatStream::with_spec(account, MsrpStreamSpec { accept_types, accept_wrapped_types, ..chat_spec() })
    }

    fn with_spec(account: &Arc<Account>, spec: MsrpStreamSpec) -> Arc<ChatStream> {
        let stream = Arc::new_cyclic(|weak: &std::sync::Weak<ChatStream>| ChatStream {
            base: MsrpStreamBase::new(account, spec, weak.clone()),
            queue: Mutex::new(Vec::new()),
            sent: Mutex::new(HashMap::new()),
            nicknames: Mutex::new(HashMap::new()),
        });
        let h =
            handle::register(ObjectKind::ChatStream, stream.clone(), Some(format!("ChatStream of {}", account.id())));
        stream.base.set_handle(h);
        stream
    }

    /// The registry entry of the chat stream type.
    pub fn stream_class() -> MediaStreamType {
        MediaStreamType { type_name: "chat", priority: CHAT_PRIORITY, new_from_sdp: ChatStream::new_from_sdp }
    }

    /// `new_from_sdp`: a stream for m-line `index` of `remote_sdp` when it
    /// is a chat m-line (`message`, MSRP, no file selector); `Ok(None)`
    /// otherwise, `Err` when it cannot be answered (content types).
    pub fn new_from_sdp(
        account: &Arc<Account>,
        remote_sdp: &SessionDescription,
        index: usize,
    ) -> Result<Option<Arc<dyn MediaStream>>> {
        let Some(media) = offered_msrp_media(remote_sdp, index, "message") else { return Ok(None) };
        if media.attributes.iter().any(|a| a.name.eq_ignore_ascii_case("file-selector")) {
            return Ok(None);
        }
        let transport = MsrpTransport::from_protocol(&media.protocol).unwrap_or_default();
        let probe = media_config(MsrpUri::new(transport.scheme(), "127.0.0.1", 9, "probe"));
        probe.answer(media).map_err(|e| Error::InvalidArgument(format!("chat m-line {index}: {e}")))?;
        let stream = ChatStream::new(account);
        stream.base.set_remote_offer(remote_sdp.clone(), index);
        Ok(Some(stream))
    }

    /// The account.
    pub fn account(&self) -> &Arc<Account> {
        self.base.account()
    }

    /// Our MSRP URI (`local_uri`), once initialized.
    pub fn local_uri(&self) -> Option<String> {
        self.base.local_uri()
    }

    /// The peer's MSRP path (relays first, the peer's own URI last), once
    /// negotiated.
    pub fn remote_path(&self) -> Vec<String> {
        self.base.remote_path()
    }

    /// Our identity in the session (the CPIM sender), once initialized.
    pub fn local_identity(&self) -> Option<String> {
        self.base.local_identity()
    }

    /// The peer's identity in the session (the default CPIM recipient),
    /// once initialized.
    pub fn remote_identity(&self) -> Option<String> {
        self.base.remote_identity()
    }

    /// Whether messages go wrapped in CPIM (both sides accept
    /// `message/cpim`), once negotiated.
    pub fn cpim_enabled(&self) -> Option<bool> {
        self.base.negotiated().map(|n| n.cpim_enabled)
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

    /// `set_local_nickname(nickname)`: asks the peer (a conference focus,
    /// RFC 7701) to call us `nickname` in this chat. Needs a started
    /// stream; the outcome is `ChatStreamDidSetNickname` or
    /// `ChatStreamDidNotSetNickname` (a peer that is no conference answers
    /// 501).
    pub fn set_local_nickname(&self, nickname: &str) -> Result<()> {
        if nickname.is_empty() || nickname.chars().any(|c| c.is_control()) {
            return Err(Error::InvalidArgument("the nickname is empty or has control characters".into()));
        }
        let connection = match (self.base.is_started(), self.base.connection()) {
            (true, Some(connection)) => connection,
            _ => return Err(Error::InvalidState("the chat stream is not started".into())),
        };
        let mut head = Head::request(Method::Nickname, Vec::new(), Vec::new());
        let quoted = nickname.replace('\\', "\\\\").replace('"', "\\\"");
        head.headers.use_nickname = Some(format!("\"{quoted}\""));
        let mut nicknames = lock(&self.nicknames);
        let transaction = connection
            .send_request(head, None)
            .map_err(|e| Error::InvalidState(format!("the chat stream's connection: {e}")))?;
        nicknames.insert(transaction, nickname.to_owned());
        Ok(())
    }

    fn identities(&self) -> Identities {
        Identities { local: self.base.local_identity(), remote: self.base.remote_identity() }
    }

    fn enqueue(&self, message: Outgoing) -> Result<String> {
        if self.base.is_ended() {
            return Err(Error::InvalidState("the chat stream has ended".into()));
        }
        if let Some(negotiated) = self.base.negotiated() {
            // Checked now when the peer's capabilities are known.
            encode(&self.identities(), &negotiated, &message)?;
        }
        let id = message.id.clone();
        // The queue's lock orders this message after the queued ones: `started`
        // empties the queue under it.
        let mut queue = lock(&self.queue);
        if self.base.is_started() {
            let Some(connection) = self.base.connection() else {
                return Err(Error::InvalidState("the chat stream's connection is closed".into()));
            };
            let deferred = self.dispatch(&connection, message);
            drop(queue);
            self.post_deferred(deferred);
        } else {
            queue.push(message);
        }
        Ok(id)
    }

    /// Sends one message on the running connection; what to notify is
    /// returned, to be posted once the queue's lock is released.
    fn dispatch(&self, connection: &MsrpConnection, message: Outgoing) -> Option<Deferred> {
        let negotiated = self.base.negotiated()?;
        let (content_type, body) = match encode(&self.identities(), &negotiated, &message) {
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

    /// The stream's id of a sent message whose outcome is notified.
    fn outcome(&self, msrp_id: &str) -> Option<String> {
        match lock(&self.sent).remove(msrp_id) {
            Some((id, true)) => Some(id),
            _ => None,
        }
    }

    fn received(&self, content_type: Option<&str>, body: Vec<u8>) {
        let handle = self.handle();
        let content_type = content_type.unwrap_or("text/plain");
        let remote = self.base.remote_identity().as_deref().map(identity);
        let message = if is_cpim_type(content_type) {
            match CpimMessage::parse(&body) {
                Ok(message) => message,
                Err(e) => {
                    tracing::debug!("chat stream {handle:?}: invalid CPIM message dropped: {e}");
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
                    tracing::debug!("chat stream {handle:?}: invalid is-composing document dropped: {e}");
                    return;
                }
            };
            let sender = message.sender.clone().or(remote);
            center.post(
                handle,
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
        center.post(handle, n::ChatStreamGotMessage { message: message_value(&message) });
    }

    fn handle(&self) -> Handle {
        self.base.handle()
    }
}

/// Our identity and the peer's, as CPIM needs them.
struct Identities {
    local: Option<String>,
    remote: Option<String>,
}

/// A notification `dispatch` leaves to be posted.
enum Deferred {
    Sent(Value),
    NotDelivered { message_id: String, code: i64, reason: String },
}

/// The MSRP Content-Type and body of `message` for the negotiated peer.
fn encode(identities: &Identities, negotiated: &NegotiatedMsrp, message: &Outgoing) -> Result<(String, Vec<u8>)> {
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
    cpim.sender = identities.local.as_deref().map(identity);
    cpim.recipients = match &options.recipients {
        Some(recipients) => recipients.clone(),
        None => identities.remote.as_deref().map(identity).into_iter().collect(),
    };
    cpim.courtesy_recipients = options.courtesy_recipients.clone();
    cpim.subject = options.subject.clone();
    cpim.timestamp = options.timestamp.clone().or_else(|| Timestamp::from_system_time(SystemTime::now(), 0));
    cpim.required = options.required.clone();
    cpim.additional_headers = options.additional_headers.clone();
    let body = cpim.encode().map_err(|e| Error::InvalidArgument(format!("CPIM: {e}")))?;
    Ok((cpim::CONTENT_TYPE.to_owned(), body))
}

impl MsrpStreamHooks for ChatStream {
    fn base(&self) -> &MsrpStreamBase {
        &self.base
    }

    fn started(&self, base: &MsrpStreamBase) {
        let Some(connection) = base.connection() else { return };
        let deferred: Vec<Deferred> = {
            let mut queue = lock(&self.queue);
            std::mem::take(&mut *queue).into_iter().filter_map(|message| self.dispatch(&connection, message)).collect()
        };
        self.post_deferred(deferred);
    }

    fn event(&self, _base: &MsrpStreamBase, event: MsrpEvent) {
        let center = NotificationCenter::default_center();
        match event {
            MsrpEvent::MessageReceived { content_type, body, .. } => self.received(content_type.as_deref(), body),
            MsrpEvent::MessageDelivered { message_id } => {
                if let Some(id) = self.outcome(&message_id) {
                    center.post(
                        self.handle(),
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
                    center.post(
                        self.handle(),
                        n::ChatStreamDidNotDeliverMessage {
                            message_id: id,
                            code: code.into(),
                            reason,
                            chunk: Value::Null,
                        },
                    );
                }
            }
            MsrpEvent::ResponseReceived { transaction_id, code, comment, .. } => {
                let Some(nickname) = lock(&self.nicknames).remove(&transaction_id) else { return };
                if code == 200 {
                    center.post(self.handle(), n::ChatStreamDidSetNickname { nickname, response: Value::Null });
                } else {
                    let reason = comment.unwrap_or_else(|| reason_phrase(code).to_owned());
                    center.post(
                        self.handle(),
                        n::ChatStreamDidNotSetNickname { nickname, code: code.into(), reason, response: Value::Null },
                    );
                }
            }
            _ => {}
        }
    }

    fn closed(&self, _base: &MsrpStreamBase, _reason: &str) {
        lock(&self.queue).clear();
    }
}

crate::msrp_media_stream!(ChatStream);

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

    fn inner() -> Identities {
        Identities { local: Some("Alice <sip:alice@example.com>".into()), remote: Some("<sip:bob@example.com>".into()) }
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
