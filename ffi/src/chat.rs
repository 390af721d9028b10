//! MSRP chat (`sipsimple.streams.msrp.chat`): the `ChatStream`
//! (`sipsimple_chat_stream_*`) and the file selectors of RFC 5547
//! (`sipsimple_file_selector_*`), which file transfer streams take.
//!
//! A chat stream is offered like an audio stream: create it with
//! `sipsimple_chat_stream_new` and pass its handle to
//! `sipsimple_session_connect` (or `sipsimple_session_add_stream`); an
//! incoming one is among the `streams` of `SIPSessionNewIncoming` (its
//! `sipsimple_stream_type` is `"chat"`). Stream handles need no freeing
//! (see `sipsimple_session_new`).
//!
//! Notifications (sender: the stream):
//!
//! - `ChatStreamGotMessage`: `message`, a map (read it with
//!   `sipsimple_notification_get_json`): `content`, `content_type`,
//!   `charset`, `sender` (`{"uri", "display_name"}` or null), `recipients`
//!   and `courtesy_recipients` (lists of identities), `subject`,
//!   `timestamp` (Unix seconds, or the peer's text when it is no RFC 3339
//!   date), `required` (list of strings) and `additional_headers` (list of
//!   `"Name: value"` strings).
//! - `ChatStreamDidSendMessage` (`message`: `message_id`,
//!   `msrp_message_id`, `content_type`), `ChatStreamDidDeliverMessage` and
//!   `ChatStreamDidNotDeliverMessage` (`message_id`, the id
//!   `sipsimple_chat_stream_send_message` returned, `code`, `reason`).
//! - `ChatStreamGotComposingIndication`: `state` (`"active"`/`"idle"`),
//!   `refresh` (seconds or null), `last_active`, `content_type`, `sender`,
//!   `recipients`.
//! - `ChatStreamDidSetNickname` (`nickname`) and
//!   `ChatStreamDidNotSetNickname` (`nickname`, `code`, `reason`).
//!
//! File selectors are plain data, passed as JSON objects:
//! `{"name": "a.jpg", "type": "image/jpeg", "size": 32349, "hash":
//! "sha-1:72:24:...:2E"}`; every member may be missing or null.

use std::ffi::c_char;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value as Json};
use sipsimple_core::ObjectKind;
use sipsimple_core::msrp::cpim::{CpimHeader, CpimIdentity, CpimNamespace, MultilingualText, Timestamp};
use sipsimple_core::msrp::file_selector::{FileSelector, FileSelectorError, FileSelectorHash};
use sipsimple_core::msrp::iscomposing::ComposingState;
use sipsimple_core::streams::{ChatMessageOptions, ChatStream, MediaStream};

use crate::objects;
use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::stream::{write_attribute, write_string_attribute};
use crate::strings::{Out, borrow_str, optional_str};

/// Resolves a `ChatStream` handle.
pub(crate) fn chat_stream(raw: sipsimple_handle) -> Result<Arc<ChatStream>, FfiError> {
    objects::resolve::<ChatStream>(raw, ObjectKind::ChatStream)
}

/// Writes an optional out-string (`NULL` out-pointer: not wanted).
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn write_optional_out(out: *mut *mut c_char, text: String) -> Result<(), FfiError> {
    if out.is_null() {
        return Ok(());
    }
    // SAFETY: out is non-NULL and writable (caller contract).
    unsafe { Out::new(out, "out")?.write_string(text) }
}

// ---------------------------------------------------------------------------
// The options of send_message, from JSON
// ---------------------------------------------------------------------------

fn json_string<'a>(value: &'a Json, what: &str) -> Result<&'a str, FfiError> {
    value.as_str().ok_or_else(|| FfiError::argument(format!("{what} must be a string")))
}

/// An identity: `"Name <sip:a@b>"` / `"sip:a@b"`, or `{"uri", "display_name"}`.
fn identity_from_json(value: &Json, what: &str) -> Result<CpimIdentity, FfiError> {
    match value {
        Json::String(text) => CpimIdentity::parse(text).map_err(|e| FfiError::argument(format!("{what}: {e}"))),
        Json::Object(map) => {
            let uri = map.get("uri").map(|u| json_string(u, &format!("{what}.uri"))).transpose()?;
            let uri = uri.ok_or_else(|| FfiError::argument(format!("{what} has no uri")))?;
            let display_name = match map.get("display_name") {
                None | Some(Json::Null) => None,
                Some(name) => Some(json_string(name, &format!("{what}.display_name"))?.to_owned()),
            };
            Ok(CpimIdentity::new(uri, display_name))
        }
        _ => Err(FfiError::argument(format!("{what} must be a string or an object with uri and display_name"))),
    }
}

fn identities_from_json(value: &Json, what: &str) -> Result<Vec<CpimIdentity>, FfiError> {
    let items = value.as_array().ok_or_else(|| FfiError::argument(format!("{what} must be a list")))?;
    items.iter().enumerate().map(|(i, item)| identity_from_json(item, &format!("{what}[{i}]"))).collect()
}

/// A subject: a string, or `{"default": "...", "translations": {"fr": "..."}}`.
fn subject_from_json(value: &Json) -> Result<MultilingualText, FfiError> {
    match value {
        Json::String(text) => Ok(MultilingualText::new(text.as_str())),
        Json::Object(map) => {
            let mut text = MultilingualText::default();
            if let Some(default) = map.get("default").filter(|d| !d.is_null()) {
                text.default = Some(json_string(default, "subject.default")?.to_owned());
            }
            if let Some(translations) = map.get("translations").filter(|t| !t.is_null()) {
                let translations = translations
                    .as_object()
                    .ok_or_else(|| FfiError::argument("subject.translations must be an object"))?;
                for (language, translated) in translations {
                    let translated = json_string(translated, "a subject translation")?;
                    text.set_translation(language.clone(), translated.to_owned());
                }
            }
            Ok(text)
        }
        _ => Err(FfiError::argument("subject must be a string or an object")),
    }
}

/// A timestamp: RFC 3339 text, or Unix seconds.
fn timestamp_from_json(value: &Json) -> Result<Timestamp, FfiError> {
    match value {
        Json::String(text) => {
            let timestamp = Timestamp::new(text.as_str());
            if timestamp.parts().is_none() {
                return Err(FfiError::argument(format!("timestamp {text:?} is not an RFC 3339 date and time")));
            }
            Ok(timestamp)
        }
        Json::Number(seconds) => {
            let seconds = seconds.as_f64().filter(|s| s.is_finite() && *s >= 0.0);
            seconds
                .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs_f64(s)))
                .and_then(|time| Timestamp::from_system_time(time, 0))
                .ok_or_else(|| FfiError::argument("timestamp is out of range"))
        }
        _ => Err(FfiError::argument("timestamp must be RFC 3339 text or Unix seconds")),
    }
}

/// A header: `{"name", "value", "namespace" (URI, optional), "prefix" (optional)}`.
fn header_from_json(value: &Json, what: &str) -> Result<CpimHeader, FfiError> {
    let map = value.as_object().ok_or_else(|| FfiError::argument(format!("{what} must be an object")))?;
    let field = |name: &str| -> Result<Option<&str>, FfiError> {
        match map.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => json_string(v, &format!("{what}.{name}")).map(Some),
        }
    };
    let name = field("name")?.ok_or_else(|| FfiError::argument(format!("{what} has no name")))?;
    let value = field("value")?.ok_or_else(|| FfiError::argument(format!("{what} has no value")))?;
    let namespace = match field("namespace")? {
        Some(uri) => CpimNamespace::new(uri, field("prefix")?.unwrap_or_default()),
        None => CpimNamespace::standard(),
    };
    Ok(CpimHeader::new(namespace, name, value))
}

/// The `options_json` of `sipsimple_chat_stream_send_message`.
fn options_from_json(text: &str) -> Result<ChatMessageOptions, FfiError> {
    let json: Json =
        serde_json::from_str(text).map_err(|e| FfiError::argument(format!("options_json is not valid JSON: {e}")))?;
    let map: &Map<String, Json> =
        json.as_object().ok_or_else(|| FfiError::argument("options_json must be a JSON object"))?;
    let mut options = ChatMessageOptions::default();
    for (key, value) in map {
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "recipients" => options.recipients = Some(identities_from_json(value, "recipients")?),
            "courtesy_recipients" => options.courtesy_recipients = identities_from_json(value, "courtesy_recipients")?,
            "subject" => options.subject = Some(subject_from_json(value)?),
            "timestamp" => options.timestamp = Some(timestamp_from_json(value)?),
            "required" => {
                let items = value.as_array().ok_or_else(|| FfiError::argument("required must be a list"))?;
                options.required =
                    items.iter().map(|r| json_string(r, "required[]").map(str::to_owned)).collect::<Result<_, _>>()?;
            }
            "additional_headers" => {
                let items = value.as_array().ok_or_else(|| FfiError::argument("additional_headers must be a list"))?;
                options.additional_headers = items
                    .iter()
                    .enumerate()
                    .map(|(i, h)| header_from_json(h, &format!("additional_headers[{i}]")))
                    .collect::<Result<_, _>>()?;
            }
            other => return Err(FfiError::argument(format!("options_json has an unknown member {other:?}"))),
        }
    }
    Ok(options)
}

// ---------------------------------------------------------------------------
// ChatStream
// ---------------------------------------------------------------------------

/// `ChatStream(account)`: `*out_stream` receives the handle of a new MSRP
/// chat stream for a session of `account` (an Account or BonjourAccount
/// handle), to offer with `sipsimple_session_connect` or
/// `sipsimple_session_add_stream`. Its MSRP transport (TCP or TLS) is the
/// account's `msrp.transport` setting.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_chat_stream_new(
    account: sipsimple_handle,
    out_stream: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_chat_stream_new", || {
        let account = objects::account(account)?;
        let out = Out::new(out_stream, "out_stream")?;
        let stream = ChatStream::new(&account);
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(MediaStream::handle(&*stream).raw()) };
        Ok(())
    })
}

/// A chat stream that accepts other content types than the default ones
/// (as a subclass of the original's ChatStream overriding `accept_types`
/// and `accept_wrapped_types`): `accept_types` and `accept_wrapped_types`
/// are space-separated MIME types (`"text/plain text/html"`; a lone star
/// and a star subtype are wildcards; `accept_wrapped_types` may be `NULL`
/// or empty). Without `message/cpim` in `accept_types` messages go plain.
/// `*out_stream` receives the new stream's handle.
/// `SIPSIMPLE_RESULT_INVALID_ARGUMENT` when `accept_types` is empty.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_chat_stream_new_with_accept_types(
    account: sipsimple_handle,
    accept_types: *const c_char,
    accept_wrapped_types: *const c_char,
    out_stream: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_chat_stream_new_with_accept_types", || {
        let account = objects::account(account)?;
        // SAFETY: API contract.
        let accept = unsafe { borrow_str(accept_types, "accept_types") }?;
        // SAFETY: API contract.
        let wrapped = unsafe { optional_str(accept_wrapped_types, "accept_wrapped_types") }?.unwrap_or_default();
        let out = Out::new(out_stream, "out_stream")?;
        let split = |text: &str| text.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        let accept = split(accept);
        if accept.is_empty() {
            return Err(FfiError::argument("accept_types is empty"));
        }
        let stream = ChatStream::with_accept_types(&account, accept, split(wrapped));
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(MediaStream::handle(&*stream).raw()) };
        Ok(())
    })
}

/// `send_message(content, content_type, recipients, courtesy_recipients,
/// subject, timestamp, required, additional_headers)`: sends an instant
/// message of `content_len` bytes at `content` (`NULL` is accepted when
/// `content_len` is 0) and `*out_message_id` (optional: `NULL` when not
/// wanted) receives its id (owned: free it with `sipsimple_string_free`),
/// the `message_id` of its `ChatStreamDidDeliverMessage` or
/// `ChatStreamDidNotDeliverMessage`.
///
/// `content_type` (optional, `NULL` for `text/plain`) is the type of the
/// content; with CPIM (both sides accept `message/cpim`) the message is
/// wrapped and the MSRP Content-Type is `message/cpim`. `options_json`
/// (optional, `NULL` for none) is a JSON object with any of:
/// `recipients` and `courtesy_recipients` (lists of identities, each
/// `"Name <sip:bob@example.com>"` or `{"uri": .., "display_name": ..}`;
/// `recipients` defaults to the remote identity), `subject` (a string, or
/// `{"default": "...", "translations": {"fr": "..."}}`), `timestamp`
/// (RFC 3339 text or Unix seconds; now by default), `required` (a list of
/// strings), `additional_headers` (a list of `{"name", "value",
/// "namespace", "prefix"}`, the namespace URI and prefix optional).
///
/// Before the stream starts the message is queued and goes out, in order,
/// when it starts. Errors (`ChatStreamError` in the original):
/// `SIPSIMPLE_RESULT_INVALID_ARGUMENT` for malformed options, and once the
/// peer is known for options that need CPIM when it is not in use or a
/// content type the peer does not accept; `SIPSIMPLE_RESULT_INVALID_STATE`
/// after the stream ended.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_chat_stream_send_message(
    stream: sipsimple_handle,
    content: *const u8,
    content_len: usize,
    content_type: *const c_char,
    options_json: *const c_char,
    out_message_id: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_chat_stream_send_message", || {
        let stream = chat_stream(stream)?;
        let bytes = if content_len == 0 {
            Vec::new()
        } else if content.is_null() {
            return Err(FfiError::NullArgument("content"));
        } else {
            // SAFETY: content points to content_len readable bytes (API contract).
            unsafe { std::slice::from_raw_parts(content, content_len) }.to_vec()
        };
        // SAFETY: API contract.
        let content_type = unsafe { optional_str(content_type, "content_type") }?.unwrap_or("text/plain");
        // SAFETY: API contract.
        let options = match unsafe { optional_str(options_json, "options_json") }? {
            Some(text) => options_from_json(text)?,
            None => ChatMessageOptions::default(),
        };
        let id = stream.send_message(bytes, content_type, options)?;
        // SAFETY: out_message_id is NULL or writable (API contract).
        unsafe { write_optional_out(out_message_id, id) }
    })
}

/// `send_composing_indication(state, refresh, last_active)`: tells the
/// peer whether a message is being typed; `state` is `"active"` or
/// `"idle"`, `refresh` the seconds within which an `active` state will be
/// repeated (0: none), `last_active` when the user was last active, in
/// Unix seconds (a negative value or NaN: none). The peer posts
/// `ChatStreamGotComposingIndication`. Queued like messages before the
/// stream starts; no delivery notification follows. `*out_message_id`
/// (optional) receives the indication's id.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_chat_stream_send_composing_indication(
    stream: sipsimple_handle,
    state: *const c_char,
    refresh: u32,
    last_active: f64,
    out_message_id: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_chat_stream_send_composing_indication", || {
        let stream = chat_stream(stream)?;
        // SAFETY: API contract.
        let name = unsafe { borrow_str(state, "state") }?;
        let state = ComposingState::from_name(name)
            .ok_or_else(|| FfiError::argument(format!("state {name:?} is neither \"active\" nor \"idle\"")))?;
        let refresh = (refresh > 0).then_some(refresh);
        let last_active = if last_active.is_finite() && last_active >= 0.0 {
            let time = UNIX_EPOCH
                .checked_add(Duration::from_secs_f64(last_active))
                .ok_or_else(|| FfiError::argument("last_active is out of range"))?;
            Some(time)
        } else {
            None::<SystemTime>
        };
        let id = stream.send_composing_indication(state, refresh, last_active)?;
        // SAFETY: out_message_id is NULL or writable (API contract).
        unsafe { write_optional_out(out_message_id, id) }
    })
}

/// `set_local_nickname(nickname)`: asks the peer (a conference focus,
/// RFC 7701) to call us `nickname` in this chat. The outcome is
/// `ChatStreamDidSetNickname` (`nickname`) or `ChatStreamDidNotSetNickname`
/// (`nickname`, `code`, `reason`; a peer that is no conference answers
/// 501). `SIPSIMPLE_RESULT_INVALID_ARGUMENT` for an empty nickname or one
/// with control characters, `SIPSIMPLE_RESULT_INVALID_STATE` unless the
/// stream is started (`ChatStreamError` in the original).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_chat_stream_set_local_nickname(
    stream: sipsimple_handle,
    nickname: *const c_char,
) -> sipsimple_result {
    guard("sipsimple_chat_stream_set_local_nickname", || {
        let stream = chat_stream(stream)?;
        // SAFETY: API contract.
        let nickname = unsafe { borrow_str(nickname, "nickname") }?;
        stream.set_local_nickname(nickname)?;
        Ok(())
    })
}

/// `*out` receives our MSRP URI (`local_uri`, `msrp://host:port/id;tcp`;
/// owned: free it with `sipsimple_string_free`), or `NULL` before the
/// session initialized the stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_chat_stream_local_uri(
    stream: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe { write_string_attribute("sipsimple_chat_stream_local_uri", || chat_stream(stream), out, |s| s.local_uri()) }
}

/// `*out_json` receives the peer's MSRP path as a JSON list of URIs (the
/// last is the peer's own; owned: free it with `sipsimple_string_free`),
/// `[]` before the stream was negotiated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_chat_stream_remote_path(
    stream: sipsimple_handle,
    out_json: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out_json is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_chat_stream_remote_path",
            || chat_stream(stream),
            out_json,
            |s| Some(Json::from(s.remote_path()).to_string()),
        )
    }
}

/// `cpim_enabled`: `*out` receives 1 when messages are wrapped in CPIM
/// (both sides accept `message/cpim`), 0 when they go plain, -1 before the
/// stream was negotiated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_chat_stream_cpim_enabled(
    stream: sipsimple_handle,
    out: *mut i32,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_attribute(
            "sipsimple_chat_stream_cpim_enabled",
            || chat_stream(stream),
            out,
            |s| match s.cpim_enabled() {
                Some(true) => 1,
                Some(false) => 0,
                None => -1,
            },
        )
    }
}

// ---------------------------------------------------------------------------
// FileSelector
// ---------------------------------------------------------------------------

fn selector_error(e: FileSelectorError) -> FfiError {
    FfiError::argument(e.to_string())
}

/// The JSON object of a file selector.
pub(crate) fn selector_to_json(selector: &FileSelector) -> String {
    serde_json::json!({
        "name": selector.name,
        "type": selector.content_type,
        "size": selector.size,
        "hash": selector.hash.as_ref().map(ToString::to_string),
    })
    .to_string()
}

/// A file selector from its JSON object.
pub(crate) fn selector_from_json(text: &str) -> Result<FileSelector, FfiError> {
    let json: Json =
        serde_json::from_str(text).map_err(|e| FfiError::argument(format!("selector_json is not valid JSON: {e}")))?;
    let map = json.as_object().ok_or_else(|| FfiError::argument("selector_json must be a JSON object"))?;
    let text_member = |name: &str| -> Result<Option<String>, FfiError> {
        match map.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => json_string(v, name).map(|s| Some(s.to_owned())),
        }
    };
    let size = match map.get("size") {
        None | Some(Json::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| FfiError::argument("size must be a non-negative integer"))?),
    };
    let hash = text_member("hash")?.map(|h| FileSelectorHash::parse(&h)).transpose().map_err(selector_error)?;
    for key in map.keys() {
        if !matches!(key.as_str(), "name" | "type" | "size" | "hash") {
            return Err(FfiError::argument(format!("selector_json has an unknown member {key:?}")));
        }
    }
    Ok(FileSelector { name: text_member("name")?, content_type: text_member("type")?, size, hash })
}

/// `FileSelector.parse(value)`: `*out_json` receives the file selector
/// read from the value of an SDP `a=file-selector:` line (`name:"a.jpg"
/// type:image/jpeg size:32349 hash:sha-1:72:...`) as a JSON object
/// (owned: free it with `sipsimple_string_free`).
/// `SIPSIMPLE_RESULT_INVALID_ARGUMENT` when the value breaks the RFC 5547
/// grammar.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_selector_parse(
    value: *const c_char,
    out_json: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_file_selector_parse", || {
        // SAFETY: API contract.
        let value = unsafe { borrow_str(value, "value") }?;
        let out = Out::new(out_json, "out_json")?;
        let selector = FileSelector::parse(value).map_err(selector_error)?;
        // SAFETY: out is a writable char* (API contract).
        unsafe { out.write_string(selector_to_json(&selector)) }
    })
}

/// `FileSelector.for_file(path, content_type, compute_hash)`: `*out_json`
/// receives the file selector of the file at `path` as a JSON object
/// (owned: free it with `sipsimple_string_free`): its base name, its type
/// (`content_type`, or guessed from the name's extension when `NULL`), its
/// size and, when `compute_hash` is true, its SHA-1 hash. Hashing reads
/// the whole file and blocks until done. `SIPSIMPLE_RESULT_INVALID_ARGUMENT`
/// when the file cannot be read or is no regular file.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_selector_for_file(
    path: *const c_char,
    content_type: *const c_char,
    compute_hash: bool,
    out_json: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_file_selector_for_file", || {
        // SAFETY: API contract.
        let path = unsafe { borrow_str(path, "path") }?;
        // SAFETY: API contract.
        let content_type = unsafe { optional_str(content_type, "content_type") }?;
        let out = Out::new(out_json, "out_json")?;
        let selector = FileSelector::for_file(path, content_type, compute_hash).map_err(selector_error)?;
        // SAFETY: out is a writable char* (API contract).
        unsafe { out.write_string(selector_to_json(&selector)) }
    })
}

/// `sdp_repr`: `*out` receives the `a=file-selector:` value of the file
/// selector `selector_json` (a JSON object as `sipsimple_file_selector_parse`
/// gives; owned: free it with `sipsimple_string_free`): the present fields
/// in the order name, type, size, hash. `SIPSIMPLE_RESULT_INVALID_ARGUMENT`
/// for malformed JSON, unknown members or a malformed hash.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_selector_sdp_repr(
    selector_json: *const c_char,
    out: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_file_selector_sdp_repr", || {
        // SAFETY: API contract.
        let text = unsafe { borrow_str(selector_json, "selector_json") }?;
        let out = Out::new(out, "out")?;
        let selector = selector_from_json(text)?;
        // SAFETY: out is a writable char* (API contract).
        unsafe { out.write_string(selector.sdp_repr()) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::ptr::{null, null_mut};

    #[test]
    fn send_message_options_are_read_from_json() {
        let options = options_from_json(
            r#"{"recipients": ["Bob <sip:bob@example.com>", {"uri": "sip:carol@example.com"}],
                "courtesy_recipients": [{"uri": "sip:dave@example.com", "display_name": "Dave"}],
                "subject": {"default": "hi", "translations": {"fr": "salut"}},
                "timestamp": "2026-01-02T03:04:05Z", "required": ["x"],
                "additional_headers": [{"name": "Foo", "value": "bar", "namespace": "urn:x", "prefix": "X"}]}"#,
        )
        .unwrap();
        let recipients = options.recipients.unwrap();
        assert_eq!(recipients[0].display_name.as_deref(), Some("Bob"));
        assert_eq!(recipients[1].uri, "sip:carol@example.com");
        assert_eq!(options.courtesy_recipients[0].display_name.as_deref(), Some("Dave"));
        let subject = options.subject.unwrap();
        assert_eq!((subject.text(), subject.translation("fr")), ("hi", "salut"));
        assert_eq!(options.timestamp.unwrap().text(), "2026-01-02T03:04:05Z");
        assert_eq!(options.required, ["x"]);
        assert_eq!(options.additional_headers[0].namespace.prefix, "X");
        assert_eq!(options_from_json(r#"{"subject": "plain"}"#).unwrap().subject.unwrap().text(), "plain");
        assert!(options_from_json(r#"{"timestamp": 0}"#).unwrap().timestamp.is_some());
        for bad in [
            "[]",
            "{",
            r#"{"subjet": "typo"}"#,
            r#"{"recipients": "sip:a@b"}"#,
            r#"{"recipients": ["no uri"]}"#,
            r#"{"timestamp": "yesterday"}"#,
            r#"{"additional_headers": [{"name": "x"}]}"#,
        ] {
            assert!(options_from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chat_stream_handles_and_arguments_are_checked() {
        let settings = sipsimple_core::SIPSimpleSettings::instance().handle().raw();
        let mut s = null_mut();
        let mut flag = 7i32;
        for bad in [0u64, 1, u64::MAX, settings] {
            let r = unsafe { sipsimple_chat_stream_send_message(bad, null(), 0, null(), null(), &mut s) };
            assert_eq!(r, sipsimple_result::InvalidHandle);
            let r = unsafe { sipsimple_chat_stream_send_composing_indication(bad, c"idle".as_ptr(), 0, -1.0, &mut s) };
            assert_eq!(r, sipsimple_result::InvalidHandle);
            assert_eq!(unsafe { sipsimple_chat_stream_local_uri(bad, &mut s) }, sipsimple_result::InvalidHandle);
            assert_eq!(unsafe { sipsimple_chat_stream_cpim_enabled(bad, &mut flag) }, sipsimple_result::InvalidHandle);
        }
        assert!(s.is_null());
        assert_eq!(flag, 7);
        let mut h = 0;
        assert_eq!(unsafe { sipsimple_chat_stream_new(settings, &mut h) }, sipsimple_result::InvalidHandle);
        assert_eq!(h, 0);
    }

    #[test]
    fn file_selectors_round_trip_through_json() {
        let value = c"name:\"My picture.jpg\" type:image/jpeg size:32349 hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E";
        let mut json = null_mut();
        assert_eq!(unsafe { sipsimple_file_selector_parse(value.as_ptr(), &mut json) }, sipsimple_result::Ok);
        let text = unsafe { CStr::from_ptr(json) }.to_str().unwrap().to_owned();
        unsafe { crate::strings::sipsimple_string_free(json) };
        let parsed: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["name"], "My picture.jpg");
        assert_eq!(parsed["size"], 32349);
        let c_text = std::ffi::CString::new(text).unwrap();
        let mut repr = null_mut();
        assert_eq!(unsafe { sipsimple_file_selector_sdp_repr(c_text.as_ptr(), &mut repr) }, sipsimple_result::Ok);
        assert_eq!(unsafe { CStr::from_ptr(repr) }, value);
        unsafe { crate::strings::sipsimple_string_free(repr) };
        let mut out = null_mut();
        for bad in [c"[]", c"{\"size\": -1}", c"{\"hash\": \"md5:00\"}", c"{\"nme\": \"x\"}"] {
            let r = unsafe { sipsimple_file_selector_sdp_repr(bad.as_ptr(), &mut out) };
            assert_eq!(r, sipsimple_result::InvalidArgument, "{bad:?}");
        }
        assert_eq!(
            unsafe { sipsimple_file_selector_parse(c"name:\"x".as_ptr(), &mut out) },
            sipsimple_result::InvalidArgument
        );
        assert_eq!(unsafe { sipsimple_file_selector_parse(null(), &mut out) }, sipsimple_result::NullArgument);
        assert!(out.is_null());
    }
}
