//! MSRP chat: [`CoreChatStream`] (`sipsimple.streams.msrp.chat.ChatStream`)
//! and the plain-data helpers of `sipsimple.streams.msrp`: file selectors
//! (`FileSelector.parse`, `for_file`, `sdp_repr`) and CPIM identities
//! (`ChatIdentity.parse`, `str()`).
//!
//! Values cross as simple tuples: an identity is `(uri, display_name)`, a
//! subject `(default, [(language, text), ...])`, an additional header
//! `(name, namespace_uri, prefix, value)` (namespace `None`: the standard
//! one), a file selector `(name, type, size, hash)`.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::msrp::cpim::{
    CpimHeader, CpimIdentity, CpimMessage, CpimNamespace, MultilingualText, STANDARD_NAMESPACE, Timestamp,
};
use sipsimple_core::msrp::file_selector::{FileSelector, FileSelectorHash};
use sipsimple_core::msrp::iscomposing::ComposingState;
use sipsimple_core::streams::{ChatMessageOptions, ChatStream, MediaStream};

use crate::streams::{account_of, detached};
use crate::values::PyHandle;

/// `(uri, display_name)`.
type IdentityParts = (String, Option<String>);
/// `(default text, [(language, text), ...])`.
type SubjectParts = (Option<String>, Vec<(String, String)>);
/// `(name, namespace URI or None, prefix, value)`.
type HeaderParts = (String, Option<String>, String, String);
/// The fields of a CPIM payload, as `cpim_payload_decode` gives them and
/// `cpim_payload_encode` takes them: content, content type, charset,
/// sender, recipients, courtesy recipients, subject, timestamp (RFC 3339
/// text), required, additional headers.
type PayloadParts = (
    Vec<u8>,
    String,
    Option<String>,
    Option<IdentityParts>,
    Vec<IdentityParts>,
    Vec<IdentityParts>,
    Option<SubjectParts>,
    Option<String>,
    Vec<String>,
    Vec<HeaderParts>,
);
/// `(name, type, size, hash)`.
type SelectorParts = (Option<String>, Option<String>, Option<u64>, Option<String>);

fn identity((uri, display_name): IdentityParts) -> CpimIdentity {
    CpimIdentity::new(uri, display_name)
}

fn header((name, namespace, prefix, value): HeaderParts) -> CpimHeader {
    let namespace = match namespace {
        Some(uri) => CpimNamespace::new(uri, prefix),
        None => CpimNamespace::standard(),
    };
    CpimHeader::new(namespace, name, value)
}

fn subject(default: Option<String>, translations: Vec<(String, String)>) -> MultilingualText {
    let mut text = MultilingualText { default, translations: Vec::new() };
    for (language, translated) in translations {
        text.set_translation(language, translated);
    }
    text
}

fn timestamp_from_text(text: String) -> PyResult<Timestamp> {
    let parsed = Timestamp::new(text.as_str());
    if parsed.parts().is_none() {
        return Err(PyValueError::new_err(format!("timestamp {text:?} is not an RFC 3339 date and time")));
    }
    Ok(parsed)
}

fn identity_parts(identity: CpimIdentity) -> IdentityParts {
    (identity.uri, identity.display_name)
}

fn seconds_to_time(seconds: f64, what: &str) -> PyResult<std::time::SystemTime> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(PyValueError::new_err(format!("{what} is out of range")));
    }
    UNIX_EPOCH
        .checked_add(Duration::from_secs_f64(seconds))
        .ok_or_else(|| PyValueError::new_err(format!("{what} is out of range")))
}

/// One MSRP chat stream (`sipsimple.streams.msrp.chat.ChatStream`).
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreChatStream {
    inner: Arc<ChatStream>,
}

#[pymethods]
impl CoreChatStream {
    /// A new chat stream for sessions of the account `account` (a handle).
    #[staticmethod]
    fn new(account: &PyHandle) -> PyResult<CoreChatStream> {
        Ok(CoreChatStream { inner: ChatStream::new(&account_of(account)?) })
    }
    /// A new chat stream for sessions of `account` that accepts
    /// `accept_types` (and `accept_wrapped_types` inside CPIM) instead of
    /// the default content types.
    #[staticmethod]
    fn with_accept_types(
        account: &PyHandle,
        accept_types: Vec<String>,
        accept_wrapped_types: Vec<String>,
    ) -> PyResult<CoreChatStream> {
        Ok(CoreChatStream {
            inner: ChatStream::with_accept_types(&account_of(account)?, accept_types, accept_wrapped_types),
        })
    }
    /// The chat stream behind a handle, `None` if it is no (live) chat stream.
    #[staticmethod]
    fn resolve(handle: &PyHandle) -> Option<CoreChatStream> {
        handle::resolve::<ChatStream>(handle.handle(), ObjectKind::ChatStream)
            .ok()
            .map(|inner| CoreChatStream { inner })
    }
    /// The stream's handle (the sender of its notifications).
    #[getter]
    fn handle(&self) -> PyHandle {
        PyHandle::new(MediaStream::handle(&*self.inner))
    }
    /// The handle of the account the stream belongs to.
    #[getter]
    fn account(&self) -> PyHandle {
        PyHandle::new(self.inner.account().handle())
    }
    /// Our MSRP URI, once initialized.
    #[getter]
    fn local_uri(&self) -> Option<String> {
        self.inner.local_uri()
    }
    /// The peer's MSRP path (its own URI last), once negotiated.
    #[getter]
    fn remote_path(&self) -> Vec<String> {
        self.inner.remote_path()
    }
    /// Whether messages are wrapped in CPIM, once negotiated (`None` before).
    #[getter]
    fn cpim_enabled(&self) -> Option<bool> {
        self.inner.cpim_enabled()
    }
    /// Sends a message and returns its id. `ValueError` for options the
    /// peer cannot take (CPIM-only options without CPIM, a content type it
    /// does not accept) or a malformed timestamp, `RuntimeError` once the
    /// stream ended.
    #[pyo3(signature = (content, content_type, recipients=None, courtesy_recipients=Vec::new(), subject=None, timestamp=None, required=Vec::new(), additional_headers=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn send_message(
        &self,
        py: Python<'_>,
        content: Vec<u8>,
        content_type: String,
        recipients: Option<Vec<IdentityParts>>,
        courtesy_recipients: Vec<IdentityParts>,
        subject: Option<SubjectParts>,
        timestamp: Option<String>,
        required: Vec<String>,
        additional_headers: Vec<HeaderParts>,
    ) -> PyResult<String> {
        let timestamp = timestamp.map(timestamp_from_text).transpose()?;
        let subject = subject.map(|(default, translations)| self::subject(default, translations));
        let options = ChatMessageOptions {
            recipients: recipients.map(|list| list.into_iter().map(identity).collect()),
            courtesy_recipients: courtesy_recipients.into_iter().map(identity).collect(),
            subject,
            timestamp,
            required,
            additional_headers: additional_headers.into_iter().map(header).collect(),
        };
        detached(py, &self.inner, move |s| s.send_message(content, &content_type, options))
    }
    /// Sends an is-composing indication (`state` `"active"` or `"idle"`,
    /// `refresh` in seconds, `last_active` in Unix seconds) and returns
    /// its id. `ValueError` for another state.
    #[pyo3(signature = (state, refresh=None, last_active=None))]
    fn send_composing_indication(
        &self,
        py: Python<'_>,
        state: &str,
        refresh: Option<u32>,
        last_active: Option<f64>,
    ) -> PyResult<String> {
        let state = ComposingState::from_name(state)
            .ok_or_else(|| PyValueError::new_err(format!("state {state:?} is neither 'active' nor 'idle'")))?;
        let last_active = last_active.map(|s| seconds_to_time(s, "last_active")).transpose()?;
        detached(py, &self.inner, move |s| s.send_composing_indication(state, refresh, last_active))
    }
    /// Asks the peer (a conference focus, RFC 7701) to call us `nickname`;
    /// the outcome is `ChatStreamDidSetNickname` or
    /// `ChatStreamDidNotSetNickname`. `ValueError` for an empty nickname,
    /// `RuntimeError` unless the stream is started.
    fn set_local_nickname(&self, py: Python<'_>, nickname: String) -> PyResult<()> {
        detached(py, &self.inner, move |s| s.set_local_nickname(&nickname))
    }
    fn __repr__(&self) -> String {
        format!("<CoreChatStream {:?}>", MediaStream::handle(&*self.inner))
    }
}

fn selector_parts(selector: FileSelector) -> SelectorParts {
    (selector.name, selector.content_type, selector.size, selector.hash.map(|h| h.to_string()))
}

/// Reads the value of an `a=file-selector:` line as `(name, type, size,
/// hash)`. `ValueError` when it breaks the RFC 5547 grammar.
#[pyfunction]
pub fn file_selector_parse(value: &str) -> PyResult<SelectorParts> {
    FileSelector::parse(value).map(selector_parts).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// `(name, type, size, hash)` of the file at `path` (the type guessed from
/// the name when `None`; the SHA-1 hash when `compute_hash`). Reads the
/// whole file to hash it, with the GIL released. `OSError`-like failures
/// are `ValueError`.
#[pyfunction]
#[pyo3(signature = (path, content_type=None, compute_hash=true))]
pub fn file_selector_for_file(
    py: Python<'_>,
    path: std::path::PathBuf,
    content_type: Option<String>,
    compute_hash: bool,
) -> PyResult<SelectorParts> {
    py.detach(move || FileSelector::for_file(&path, content_type.as_deref(), compute_hash))
        .map(selector_parts)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The `a=file-selector:` value of `(name, type, size, hash)`.
/// `ValueError` for a malformed hash.
#[pyfunction]
#[pyo3(signature = (name, content_type, size, hash))]
pub fn file_selector_sdp_repr(
    name: Option<String>,
    content_type: Option<String>,
    size: Option<u64>,
    hash: Option<String>,
) -> PyResult<String> {
    let hash =
        hash.map(|h| FileSelectorHash::parse(&h)).transpose().map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(FileSelector { name, content_type, size, hash }.sdp_repr())
}

/// Parses a CPIM identity (`Name <sip:a@b>`, `<sip:a@b>`, `sip:a@b`) into
/// `(uri, display_name)`. `ValueError` when it is none.
#[pyfunction]
pub fn cpim_identity_parse(value: &str) -> PyResult<IdentityParts> {
    CpimIdentity::parse(value).map(|i| (i.uri, i.display_name)).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The CPIM header form of an identity (`Name <uri>`, the name quoted when
/// needed). `ValueError` for a URI with spaces or angle brackets.
#[pyfunction]
#[pyo3(signature = (uri, display_name=None))]
pub fn cpim_identity_encode(uri: String, display_name: Option<String>) -> PyResult<String> {
    CpimIdentity::new(uri, display_name).encode().map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Parses a `message/cpim` payload into its fields (see `PayloadParts`:
/// `(content, content_type, charset, sender, recipients,
/// courtesy_recipients, subject, timestamp, required,
/// additional_headers)`). `ValueError` when it is no CPIM message.
#[pyfunction]
pub fn cpim_payload_decode(payload: &[u8]) -> PyResult<PayloadParts> {
    let message = CpimMessage::parse(payload).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let headers = message
        .additional_headers
        .into_iter()
        .map(|h| {
            let standard = h.namespace.uri == STANDARD_NAMESPACE && h.namespace.prefix.is_empty();
            (h.name, (!standard).then_some(h.namespace.uri), h.namespace.prefix, h.value)
        })
        .collect();
    Ok((
        message.content,
        message.content_type,
        message.charset,
        message.sender.map(identity_parts),
        message.recipients.into_iter().map(identity_parts).collect(),
        message.courtesy_recipients.into_iter().map(identity_parts).collect(),
        message.subject.map(|s| (s.default, s.translations)),
        message.timestamp.map(|t| t.text().to_owned()),
        message.required,
        headers,
    ))
}

/// Writes a `message/cpim` payload from its fields (the tuple
/// `cpim_payload_decode` gives). `ValueError` for a malformed content
/// type, identity, timestamp or header.
#[pyfunction]
pub fn cpim_payload_encode(parts: PayloadParts) -> PyResult<Vec<u8>> {
    let (content, content_type, charset, sender, recipients, courtesy, subject, timestamp, required, headers) = parts;
    let mut message = CpimMessage::new(content, &content_type);
    if charset.is_some() {
        message.charset = charset;
    }
    message.sender = sender.map(identity);
    message.recipients = recipients.into_iter().map(identity).collect();
    message.courtesy_recipients = courtesy.into_iter().map(identity).collect();
    message.subject = subject.map(|(default, translations)| self::subject(default, translations));
    message.timestamp = timestamp.map(timestamp_from_text).transpose()?;
    message.required = required;
    message.additional_headers = headers.into_iter().map(header).collect();
    message.encode().map_err(|e| PyValueError::new_err(e.to_string()))
}
