//! File transfer over MSRP (`sipsimple.streams.msrp.filetransfer`): the
//! `FileTransferStream` (`sipsimple_file_transfer_stream_*`, RFC 5547).
//!
//! A sending stream is offered like any stream: create it with
//! `sipsimple_file_transfer_stream_new` for a file and pass its handle to
//! `sipsimple_session_connect` (or `sipsimple_session_add_stream`). A file
//! offered by the peer arrives as a receiving stream among the `streams`
//! of `SIPSessionNewIncoming` (its `sipsimple_stream_type` is
//! `"file-transfer"`); accept it like any stream. The received file is
//! saved in the `file_transfer.directory` setting (or the directory given
//! with
//! `sipsimple_file_transfer_stream_set_save_directory` before accepting),
//! under the peer's name made safe (`name-1.ext`... when taken). Stream
//! handles need no freeing (see `sipsimple_session_new`).
//!
//! File selectors are the JSON objects of `sipsimple_file_selector_parse`
//! and `sipsimple_file_selector_for_file`: `{"name", "type", "size",
//! "hash"}`, every member optional.
//!
//! Notifications (sender: the stream):
//!
//! - `FileTransferStreamDidDeliverChunk` (sending side): `message_id`,
//!   `code` (200), `reason`, `transferred_bytes` (bytes the peer has
//!   confirmed so far) and `file_size`;
//! - `FileTransferStreamDidNotDeliverChunk` (sending side): `message_id`,
//!   `code`, `reason`;
//! - `FileTransferStreamGotChunk` (receiving side): `content` (the bytes of
//!   this part, base64 in `sipsimple_notification_get_json`),
//!   `content_type`, `transferred_bytes`, `file_size`;
//! - `FileTransferStreamDidFinish` (both sides): every byte is confirmed
//!   (sender) or on disk with the announced hash (receiver). A transfer
//!   that fails ends with `MediaStreamDidFail` (context `transferring`).

use std::ffi::c_char;
use std::sync::Arc;

use sipsimple_core::ObjectKind;
use sipsimple_core::msrp::file_selector::FileSelector;
use sipsimple_core::streams::{FileTransferStream, MediaStream};

use crate::chat::{selector_from_json, selector_to_json};
use crate::objects;
use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::stream::{write_attribute, write_string_attribute};
use crate::strings::{Out, borrow_str, optional_str};

/// Resolves a `FileTransferStream` handle.
pub(crate) fn file_transfer_stream(raw: sipsimple_handle) -> Result<Arc<FileTransferStream>, FfiError> {
    objects::resolve::<FileTransferStream>(raw, ObjectKind::FileTransferStream)
}

/// `FileTransferStream(account, file_selector)`: `*out_stream` receives
/// the handle of a new stream that sends the file at `path` for a session
/// of `account` (an Account or BonjourAccount handle), to offer with
/// `sipsimple_session_connect` or `sipsimple_session_add_stream`.
///
/// `selector_json` (optional) describes the file as
/// `sipsimple_file_selector_for_file` gives it; its hash is what the
/// receiver checks the file against, and its size must be the file's when
/// the stream starts. `NULL` computes the selector from the file now (its
/// base name, the type guessed from its name, its size and SHA-1 hash:
/// this reads the whole file and blocks).
/// `SIPSIMPLE_RESULT_INVALID_ARGUMENT` for a malformed selector or a file
/// that cannot be read (when the selector is computed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_transfer_stream_new(
    account: sipsimple_handle,
    path: *const c_char,
    selector_json: *const c_char,
    out_stream: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_file_transfer_stream_new", || {
        let account = objects::account(account)?;
        // SAFETY: API contract.
        let path = unsafe { borrow_str(path, "path") }?;
        // SAFETY: API contract.
        let selector_json = unsafe { optional_str(selector_json, "selector_json") }?;
        let out = Out::new(out_stream, "out_stream")?;
        let selector = match selector_json {
            Some(text) => selector_from_json(text)?,
            None => FileSelector::for_file(path, None, true).map_err(|e| FfiError::argument(e.to_string()))?,
        };
        let stream = FileTransferStream::new(&account, selector, path);
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(MediaStream::handle(&*stream).raw()) };
        Ok(())
    })
}

/// `file_selector`: `*out_json` receives the file of the transfer as a
/// JSON object (ours when sending, the peer's when receiving; owned: free
/// it with `sipsimple_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_transfer_stream_file_selector(
    stream: sipsimple_handle,
    out_json: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out_json is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_file_transfer_stream_file_selector",
            || file_transfer_stream(stream),
            out_json,
            |s| Some(selector_to_json(s.file_selector())),
        )
    }
}

/// `direction`: `*out` receives `"sendonly"` for the side that sends the
/// file, `"recvonly"` for the side that receives it (owned: free it with
/// `sipsimple_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_transfer_stream_direction(
    stream: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_file_transfer_stream_direction",
            || file_transfer_stream(stream),
            out,
            |s| Some(s.direction().to_owned()),
        )
    }
}

/// `*out` receives the transfer's `a=file-transfer-id` (owned: free it
/// with `sipsimple_string_free`), or `NULL` when the offer had none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_transfer_stream_transfer_id(
    stream: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_file_transfer_stream_transfer_id",
            || file_transfer_stream(stream),
            out,
            |s| s.transfer_id().map(|id| id.0.clone()),
        )
    }
}

/// `*out` receives the file on disk (owned: free it with
/// `sipsimple_string_free`): the one being sent, or where the received
/// file is written — `NULL` for a receiving stream until the session
/// initialized it (accepted it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_transfer_stream_file_path(
    stream: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_file_transfer_stream_file_path",
            || file_transfer_stream(stream),
            out,
            |s| s.file_path().map(|p| p.to_string_lossy().into_owned()),
        )
    }
}

/// `*out` receives the size of the file in bytes, -1 while unknown.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_transfer_stream_file_size(
    stream: sipsimple_handle,
    out: *mut i64,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_attribute(
            "sipsimple_file_transfer_stream_file_size",
            || file_transfer_stream(stream),
            out,
            |s| s.file_size().map_or(-1, |size| i64::try_from(size).unwrap_or(i64::MAX)),
        )
    }
}

/// `*out` receives the bytes of the file transferred so far: confirmed by
/// the peer when sending, received without a gap from the start when
/// receiving.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_transfer_stream_transferred_bytes(
    stream: sipsimple_handle,
    out: *mut u64,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_attribute(
            "sipsimple_file_transfer_stream_transferred_bytes",
            || file_transfer_stream(stream),
            out,
            |s| s.transferred_bytes(),
        )
    }
}

/// `*out` receives whether the transfer is over: it finished
/// (`FileTransferStreamDidFinish` was posted) or failed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_transfer_stream_is_done(
    stream: sipsimple_handle,
    out: *mut bool,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_attribute("sipsimple_file_transfer_stream_is_done", || file_transfer_stream(stream), out, |s| s.is_done())
    }
}

/// `save_directory`: `*out` receives the directory a received file is
/// saved in when one was set with
/// `sipsimple_file_transfer_stream_set_save_directory` (owned: free it
/// with `sipsimple_string_free`), else `NULL` (the
/// `file_transfer.directory` setting applies).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_transfer_stream_save_directory(
    stream: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_file_transfer_stream_save_directory",
            || file_transfer_stream(stream),
            out,
            |s| s.save_directory().map(|p| p.to_string_lossy().into_owned()),
        )
    }
}

/// Saves the file a receiving stream gets in `directory` instead of the
/// `file_transfer.directory` setting. Only before the stream is accepted:
/// `SIPSIMPLE_RESULT_INVALID_STATE` afterwards and for a sending stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_transfer_stream_set_save_directory(
    stream: sipsimple_handle,
    directory: *const c_char,
) -> sipsimple_result {
    guard("sipsimple_file_transfer_stream_set_save_directory", || {
        let stream = file_transfer_stream(stream)?;
        // SAFETY: API contract.
        let directory = unsafe { borrow_str(directory, "directory") }?;
        Ok(stream.set_save_directory(directory)?)
    })
}

/// `*out` receives our MSRP URI (`local_uri`; owned: free it with
/// `sipsimple_string_free`), or `NULL` before the session initialized the
/// stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_file_transfer_stream_local_uri(
    stream: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_file_transfer_stream_local_uri",
            || file_transfer_stream(stream),
            out,
            |s| s.base().local_uri(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::{null, null_mut};

    #[test]
    fn selectors_convert_from_json() {
        let selector = selector_from_json(
            r#"{"name": "a.txt", "type": "text/plain", "size": 3,
                "hash": "sha-1:A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D"}"#,
        )
        .unwrap();
        assert_eq!(selector.name.as_deref(), Some("a.txt"));
        assert_eq!(selector.size, Some(3));
        let json: serde_json::Value = serde_json::from_str(&selector_to_json(&selector)).unwrap();
        assert_eq!(json["hash"], "sha-1:A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D");
        assert!(selector_from_json("{}").unwrap().name.is_none());
        for bad in ["[]", "{", r#"{"size": -1}"#, r#"{"hash": "md5:00"}"#, r#"{"nme": "x"}"#, r#"{"name": 1}"#] {
            assert!(selector_from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_transfer_handles_and_arguments_are_checked() {
        let settings = sipsimple_core::SIPSimpleSettings::instance().handle().raw();
        let mut s = null_mut();
        let mut size = 7i64;
        let mut done = true;
        for bad in [0u64, 1, u64::MAX, settings] {
            let r = unsafe { sipsimple_file_transfer_stream_file_selector(bad, &mut s) };
            assert_eq!(r, sipsimple_result::InvalidHandle);
            assert_eq!(
                unsafe { sipsimple_file_transfer_stream_file_size(bad, &mut size) },
                sipsimple_result::InvalidHandle
            );
            assert_eq!(
                unsafe { sipsimple_file_transfer_stream_is_done(bad, &mut done) },
                sipsimple_result::InvalidHandle
            );
            let r = unsafe { sipsimple_file_transfer_stream_set_save_directory(bad, c"/tmp".as_ptr()) };
            assert_eq!(r, sipsimple_result::InvalidHandle);
        }
        assert!(s.is_null());
        assert_eq!(size, 7);
        assert!(done);
        let mut h = 0;
        let r = unsafe { sipsimple_file_transfer_stream_new(settings, c"/tmp/x".as_ptr(), null(), &mut h) };
        assert_eq!(r, sipsimple_result::InvalidHandle);
        assert_eq!(h, 0);
    }
}
