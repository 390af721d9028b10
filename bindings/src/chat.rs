//! MSRP chat: [`ChatStream`] with the CPIM values its messages take
//! ([`CpimIdentity`], [`MultilingualText`], [`CpimHeader`],
//! [`ChatMessageOptions`]), and [`FileSelector`] (RFC 5547) with its
//! functions (`file_selector_parse`, `file_selector_for_file`,
//! `file_selector_sdp_repr`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sipsimple_core::handle::{self, Handle, ObjectKind};
use sipsimple_core::msrp::cpim;
use sipsimple_core::msrp::file_selector as selector;
use sipsimple_core::msrp::iscomposing::ComposingState as CoreComposingState;
use sipsimple_core::streams as core;

use crate::account::Account;
use crate::streams::MediaStream;
use crate::{Result, SipSimpleError};

/// A sender or recipient of a chat message (`ChatIdentity`,
/// `CPIMIdentity`): a URI (`sip:bob@example.com`) and an optional display
/// name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, uniffi::Record)]
pub struct CpimIdentity {
    /// The URI.
    pub uri: String,
    /// The display name.
    #[uniffi(default = None)]
    pub display_name: Option<String>,
}

impl From<CpimIdentity> for cpim::CpimIdentity {
    fn from(identity: CpimIdentity) -> Self {
        cpim::CpimIdentity::new(identity.uri, identity.display_name)
    }
}

/// A text with translations (`MultilingualText`), as a CPIM Subject is.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MultilingualText {
    /// The text without a language.
    pub text: Option<String>,
    /// Translations by language tag (`fr`, `de-CH`...).
    pub translations: HashMap<String, String>,
}

impl From<MultilingualText> for cpim::MultilingualText {
    fn from(text: MultilingualText) -> Self {
        let mut out = cpim::MultilingualText { default: text.text, translations: Vec::new() };
        let mut translations: Vec<(String, String)> = text.translations.into_iter().collect();
        translations.sort();
        for (language, translated) in translations {
            out.set_translation(language, translated);
        }
        out
    }
}

/// A CPIM header other than the standard ones (`CPIMHeader`).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CpimHeader {
    /// The header name, without prefix.
    pub name: String,
    /// The value.
    pub value: String,
    /// The namespace URI; `None` for the standard CPIM namespace.
    #[uniffi(default = None)]
    pub namespace: Option<String>,
    /// The prefix the namespace's headers are written with.
    #[uniffi(default = "")]
    pub prefix: String,
}

impl From<CpimHeader> for cpim::CpimHeader {
    fn from(header: CpimHeader) -> Self {
        let namespace = match header.namespace {
            Some(uri) => cpim::CpimNamespace::new(uri, header.prefix),
            None => cpim::CpimNamespace::standard(),
        };
        cpim::CpimHeader::new(namespace, header.name, header.value)
    }
}

/// What `ChatStream.send_message` may add to a message besides its
/// content; everything but the content needs CPIM.
#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]
pub struct ChatMessageOptions {
    /// CPIM `To`; `None` means the remote identity.
    #[uniffi(default = None)]
    pub recipients: Option<Vec<CpimIdentity>>,
    /// CPIM `cc`.
    #[uniffi(default = [])]
    pub courtesy_recipients: Vec<CpimIdentity>,
    /// CPIM `Subject` with its translations.
    #[uniffi(default = None)]
    pub subject: Option<MultilingualText>,
    /// CPIM `DateTime` in seconds since the Unix epoch; `None` means now.
    #[uniffi(default = None)]
    pub timestamp: Option<f64>,
    /// CPIM `Require`: what the receiver must understand.
    #[uniffi(default = [])]
    pub required: Vec<String>,
    /// Other CPIM headers.
    #[uniffi(default = [])]
    pub additional_headers: Vec<CpimHeader>,
}

/// A time in seconds since the Unix epoch.
fn unix_time(seconds: f64, what: &str) -> Result<SystemTime> {
    let invalid = || SipSimpleError::InvalidArgument {
        detail: format!("{what} must be a non-negative number of seconds since the Unix epoch"),
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(invalid());
    }
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs_f64(seconds)).ok_or_else(invalid)
}

impl ChatMessageOptions {
    fn into_core(self) -> Result<core::ChatMessageOptions> {
        let timestamp = match self.timestamp {
            Some(seconds) => {
                Some(cpim::Timestamp::from_system_time(unix_time(seconds, "timestamp")?, 0).ok_or_else(|| {
                    SipSimpleError::InvalidArgument { detail: "timestamp is out of range".to_owned() }
                })?)
            }
            None => None,
        };
        Ok(core::ChatMessageOptions {
            recipients: self.recipients.map(|list| list.into_iter().map(Into::into).collect()),
            courtesy_recipients: self.courtesy_recipients.into_iter().map(Into::into).collect(),
            subject: self.subject.map(Into::into),
            timestamp,
            required: self.required,
            additional_headers: self.additional_headers.into_iter().map(Into::into).collect(),
        })
    }
}

/// The state of an is-composing indication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ComposingState {
    /// A message is being composed.
    Active,
    /// No message is being composed.
    Idle,
}

impl From<ComposingState> for CoreComposingState {
    fn from(state: ComposingState) -> Self {
        match state {
            ComposingState::Active => CoreComposingState::Active,
            ComposingState::Idle => CoreComposingState::Idle,
        }
    }
}

/// An MSRP chat stream (`ChatStream`).
///
/// Create one with an account to offer it (`Session.connect`,
/// `Session.addStream`), or take the one a peer proposed (its
/// `MediaStream` is `Chat`). Messages sent before it starts are queued.
/// Its notifications (sender: the stream) are `ChatStreamGotMessage`
/// (`message`: `content`, `content_type`, `sender` and `recipients` as
/// `{"uri", "display_name"}`, `subject`, `timestamp`...),
/// `ChatStreamDidSendMessage`, `ChatStreamDidDeliverMessage` and
/// `ChatStreamDidNotDeliverMessage` (`message_id`, `code`, `reason`) and
/// `ChatStreamGotComposingIndication` (`state`, `refresh`, `last_active`,
/// `sender`), `ChatStreamDidSetNickname` and `ChatStreamDidNotSetNickname`.
/// The account's `msrp.transport` selects TCP or TLS. Two objects are
/// equal when they refer to the
/// same stream.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Eq, Hash)]
pub struct ChatStream {
    pub(crate) inner: Arc<core::ChatStream>,
}

impl ChatStream {
    /// The binding object of a core stream.
    pub(crate) fn wrap(inner: Arc<core::ChatStream>) -> Arc<ChatStream> {
        Arc::new(ChatStream { inner })
    }
}

#[uniffi::export]
impl ChatStream {
    /// `ChatStream(account)`: a new stream for a session of `account`.
    /// `InvalidHandle` for a stale account.
    #[uniffi::constructor]
    pub fn new(account: Arc<Account>) -> Result<Arc<Self>> {
        Ok(ChatStream::wrap(core::ChatStream::new(&account.resolve()?)))
    }

    /// A chat stream that accepts `accept_types` (and
    /// `accept_wrapped_types` inside CPIM) instead of the default content
    /// types (as a subclass of the original's ChatStream overriding them).
    /// Without `message/cpim` in `accept_types` messages go plain.
    #[uniffi::constructor]
    pub fn with_accept_types(
        account: Arc<Account>,
        accept_types: Vec<String>,
        accept_wrapped_types: Vec<String>,
    ) -> Result<Arc<Self>> {
        Ok(ChatStream::wrap(core::ChatStream::with_accept_types(
            &account.resolve()?,
            accept_types,
            accept_wrapped_types,
        )))
    }

    /// The chat stream whose handle is `handle` (a notification's sender or
    /// an entry of its `streams`). `InvalidHandle` when it is no live chat
    /// stream.
    #[uniffi::constructor]
    pub fn from_handle(handle: u64) -> Result<Arc<Self>> {
        let inner = handle::resolve::<core::ChatStream>(Handle::from_raw(handle), ObjectKind::ChatStream)
            .map_err(|e| SipSimpleError::InvalidHandle { detail: format!("{handle:#x} is no chat stream: {e}") })?;
        Ok(ChatStream::wrap(inner))
    }

    /// The stream's handle: the sender of its notifications.
    pub fn handle(&self) -> u64 {
        core::MediaStream::handle(&*self.inner).raw()
    }

    /// This stream as a `MediaStream`, for `Session` methods.
    pub fn as_media_stream(self: Arc<Self>) -> MediaStream {
        MediaStream::Chat { stream: self }
    }

    /// The account the stream belongs to.
    pub fn account(&self) -> Arc<Account> {
        Account::wrap(self.inner.account())
    }

    /// `local_uri`: our MSRP URI, once initialized.
    pub fn local_uri(&self) -> Option<String> {
        self.inner.local_uri()
    }

    /// `remote_path`: the peer's MSRP path (its own URI last), once
    /// negotiated; empty before.
    pub fn remote_path(&self) -> Vec<String> {
        self.inner.remote_path()
    }

    /// `cpim_enabled`: whether messages are wrapped in CPIM (both sides
    /// accept `message/cpim`), once negotiated.
    pub fn cpim_enabled(&self) -> Option<bool> {
        self.inner.cpim_enabled()
    }

    /// `send_message(content, content_type, ...)`: sends an instant message
    /// and returns its id (the `message_id` of its
    /// `ChatStreamDidDeliverMessage` or `ChatStreamDidNotDeliverMessage`).
    /// `InvalidArgument` (`ChatStreamError` in the original) for an empty
    /// content type, a malformed timestamp, and once the peer is known for
    /// options that need CPIM when it is not used or a content type the
    /// peer does not accept; `InvalidState` after the stream ended.
    pub fn send_message(&self, content: String, content_type: String, options: ChatMessageOptions) -> Result<String> {
        Ok(self.inner.send_message(content.into_bytes(), &content_type, options.into_core()?)?)
    }

    /// `send_composing_indication(state, refresh, last_active)`: tells the
    /// peer whether a message is being typed; `refresh` is the seconds
    /// within which an `Active` state will be repeated, `last_active` when
    /// the user was last active (seconds since the Unix epoch). Returns the
    /// indication's id; no delivery notification follows.
    pub fn send_composing_indication(
        &self,
        state: ComposingState,
        refresh: Option<u32>,
        last_active: Option<f64>,
    ) -> Result<String> {
        let last_active = last_active.map(|s| unix_time(s, "last_active")).transpose()?;
        Ok(self.inner.send_composing_indication(state.into(), refresh, last_active)?)
    }

    /// `set_local_nickname(nickname)`: asks the peer (a conference focus,
    /// RFC 7701) to call us `nickname` in this chat. The outcome is
    /// `ChatStreamDidSetNickname` (`nickname`) or
    /// `ChatStreamDidNotSetNickname` (`nickname`, `code`, `reason`; a peer
    /// that is no conference answers 501). `InvalidArgument` for an empty
    /// nickname, `InvalidState` unless the stream is started.
    pub fn set_local_nickname(&self, nickname: String) -> Result<()> {
        Ok(self.inner.set_local_nickname(&nickname)?)
    }

    /// `hold_supported`: always false (MSRP streams are not held).
    pub fn hold_supported(&self) -> bool {
        core::MediaStream::hold_supported(&*self.inner)
    }
}

impl std::fmt::Display for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChatStream({:#x})", self.handle())
    }
}

impl PartialEq for ChatStream {
    fn eq(&self, other: &Self) -> bool {
        self.handle() == other.handle()
    }
}

impl Eq for ChatStream {}

impl std::hash::Hash for ChatStream {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.handle().hash(state);
    }
}

/// The file a file transfer carries (`FileSelector`, the SDP
/// `a=file-selector` attribute of RFC 5547). Every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct FileSelector {
    /// The base file name.
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// The MIME type (`type` in the original).
    #[uniffi(default = None)]
    pub content_type: Option<String>,
    /// The size in bytes.
    #[uniffi(default = None)]
    pub size: Option<u64>,
    /// The SHA-1 hash, `sha-1:XX:...:XX` (20 upper-case hex pairs).
    #[uniffi(default = None)]
    pub hash: Option<String>,
}

impl FileSelector {
    pub(crate) fn from_core(selector: selector::FileSelector) -> FileSelector {
        FileSelector {
            name: selector.name,
            content_type: selector.content_type,
            size: selector.size,
            hash: selector.hash.map(|h| h.to_string()),
        }
    }

    pub(crate) fn to_core(&self) -> Result<selector::FileSelector> {
        let hash = self.hash.as_deref().map(selector::FileSelectorHash::parse).transpose().map_err(invalid)?;
        Ok(selector::FileSelector {
            name: self.name.clone(),
            content_type: self.content_type.clone(),
            size: self.size,
            hash,
        })
    }
}

fn invalid(e: selector::FileSelectorError) -> SipSimpleError {
    SipSimpleError::InvalidArgument { detail: e.to_string() }
}

/// `FileSelector.parse(value)`: the selector of an `a=file-selector:`
/// value. `InvalidArgument` when it breaks the RFC 5547 grammar.
#[uniffi::export]
pub fn file_selector_parse(value: String) -> Result<FileSelector> {
    selector::FileSelector::parse(&value).map(FileSelector::from_core).map_err(invalid)
}

/// `FileSelector.for_file(path, content_type, compute_hash)`: the selector
/// of the file at `path` (its type guessed from the name when
/// `content_type` is `None`; its SHA-1 hash when `compute_hash`, which
/// reads the whole file and blocks). `InvalidArgument` when the file
/// cannot be read or is no regular file.
#[uniffi::export(default(content_type = None, compute_hash = true))]
pub fn file_selector_for_file(path: String, content_type: Option<String>, compute_hash: bool) -> Result<FileSelector> {
    selector::FileSelector::for_file(&path, content_type.as_deref(), compute_hash)
        .map(FileSelector::from_core)
        .map_err(invalid)
}

/// `sdp_repr`: the `a=file-selector:` value of `selector` (the present
/// fields in the order name, type, size, hash). `InvalidArgument` for a
/// malformed hash.
#[uniffi::export]
pub fn file_selector_sdp_repr(selector: FileSelector) -> Result<String> {
    Ok(selector.to_core()?.sdp_repr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_selectors_round_trip() {
        let value = "name:\"a b.txt\" type:text/plain size:3 hash:sha-1:A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D";
        let parsed = file_selector_parse(value.to_owned()).unwrap();
        assert_eq!(parsed.name.as_deref(), Some("a b.txt"));
        assert_eq!(file_selector_sdp_repr(parsed).unwrap(), value);
        let bad = FileSelector { hash: Some("md5:00".into()), ..Default::default() };
        assert!(matches!(file_selector_sdp_repr(bad), Err(SipSimpleError::InvalidArgument { .. })));
        assert!(file_selector_parse("name:\"x".into()).is_err());
    }

    #[test]
    fn options_convert_to_the_core() {
        let options = ChatMessageOptions {
            subject: Some(MultilingualText {
                text: Some("hi".into()),
                translations: HashMap::from([("fr".into(), "salut".into())]),
            }),
            timestamp: Some(0.0),
            additional_headers: vec![CpimHeader {
                name: "F".into(),
                value: "v".into(),
                namespace: Some("urn:x".into()),
                prefix: "X".into(),
            }],
            ..Default::default()
        }
        .into_core()
        .unwrap();
        assert_eq!(options.subject.unwrap().translation("fr"), "salut");
        assert_eq!(options.timestamp.unwrap().text(), "1970-01-01T00:00:00Z");
        assert_eq!(options.additional_headers[0].namespace.prefix, "X");
        let bad = ChatMessageOptions { timestamp: Some(-1.0), ..Default::default() };
        assert!(bad.into_core().is_err());
        assert!(ChatStream::from_handle(0).is_err());
    }
}
