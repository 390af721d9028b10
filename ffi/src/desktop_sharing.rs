//! Desktop sharing (`sipsimple.streams.msrp.screensharing`): RFB (VNC)
//! over MSRP with the `DesktopSharingStream`
//! (`sipsimple_desktop_sharing_stream_*`) and its four handlers
//! (`sipsimple_desktop_sharing_handler_*`).
//!
//! A handler produces and consumes the RFB data; the stream carries it.
//! Create a handler, then a stream with it
//! (`sipsimple_desktop_sharing_stream_new`), and offer the stream with
//! `sipsimple_session_connect` or `sipsimple_session_add_stream`. A stream
//! offered by the peer is among the `streams` of `SIPSessionNewIncoming`
//! (its `sipsimple_stream_type` is `"desktop-sharing"`) with an internal
//! handler of the role the offer asks for; replace it with
//! `sipsimple_desktop_sharing_stream_set_handler` before accepting. The
//! handlers:
//!
//! - `InternalVNCViewerHandler` / `InternalVNCServerHandler`
//!   (`sipsimple_desktop_sharing_handler_new_internal_viewer` /
//!   `_server`): the application views / shares its screen. It sends RFB
//!   bytes with `sipsimple_desktop_sharing_handler_send` (queued until the
//!   stream starts) and gets the peer's as `DesktopSharingStreamGotData`
//!   notifications (sender: the handler; `data`, the bytes, base64 in
//!   `sipsimple_notification_get_json`).
//! - `ExternalVNCViewerHandler`
//!   (`sipsimple_desktop_sharing_handler_new_external_viewer`): listens on
//!   a TCP address at once; when the stream starts a VNC viewer must
//!   connect within the timeout, and it is bridged to the stream.
//! - `ExternalVNCServerHandler`
//!   (`sipsimple_desktop_sharing_handler_new_external_server`): when the
//!   stream starts, connects to a VNC server that already listens.
//!
//! When an external handler cannot connect or its connection breaks, it
//! posts `DesktopSharingHandlerDidFail` (`context`: `connecting`, `reading`
//! or `sending`; `failure`; `reason`) and its stream fails
//! (`MediaStreamDidFail`, context `media`). A handler serves one stream.
//! Handler and stream handles need no freeing: they stay valid until the
//! application stops.

use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;
use sipsimple_core::ObjectKind;
use sipsimple_core::streams::{DesktopSharingHandler, DesktopSharingStream, MediaStream};

use crate::objects;
use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::stream::{write_attribute, write_string_attribute};
use crate::strings::{Out, borrow_str};

/// Resolves a `DesktopSharingStream` handle.
pub(crate) fn desktop_sharing_stream(raw: sipsimple_handle) -> Result<Arc<DesktopSharingStream>, FfiError> {
    objects::resolve::<DesktopSharingStream>(raw, ObjectKind::DesktopSharingStream)
}

/// Resolves a desktop sharing handler handle.
fn handler(raw: sipsimple_handle) -> Result<Arc<DesktopSharingHandler>, FfiError> {
    objects::resolve::<DesktopSharingHandler>(raw, ObjectKind::DesktopSharingHandler)
}

/// A connect timeout in seconds (finite, not negative).
fn timeout(seconds: f64) -> Result<Duration, FfiError> {
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| FfiError::argument(format!("connect_timeout {seconds} is no number of seconds")))
}

/// Writes the handle of a new handler.
fn new_handler(
    function: &'static str,
    out_handler: *mut sipsimple_handle,
    create: impl FnOnce() -> Result<Arc<DesktopSharingHandler>, FfiError>,
) -> sipsimple_result {
    guard(function, || {
        let out = Out::new(out_handler, "out_handler")?;
        let handler = create()?;
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(handler.handle().raw()) };
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

/// `InternalVNCViewerHandler()`: `*out_handler` receives a handler through
/// which the application views the peer's screen.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_desktop_sharing_handler_new_internal_viewer(
    out_handler: *mut sipsimple_handle,
) -> sipsimple_result {
    new_handler("sipsimple_desktop_sharing_handler_new_internal_viewer", out_handler, || {
        Ok(DesktopSharingHandler::internal_viewer())
    })
}

/// `InternalVNCServerHandler()`: `*out_handler` receives a handler through
/// which the application shares its screen.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_desktop_sharing_handler_new_internal_server(
    out_handler: *mut sipsimple_handle,
) -> sipsimple_result {
    new_handler("sipsimple_desktop_sharing_handler_new_internal_server", out_handler, || {
        Ok(DesktopSharingHandler::internal_server())
    })
}

/// `ExternalVNCViewerHandler(address=(host, port), connect_timeout)`:
/// `*out_handler` receives a handler that listens on `host`:`port` now
/// (`"localhost"` and 0 in the original: port 0 lets the system pick; read
/// the address with `sipsimple_desktop_sharing_handler_address`). Once the
/// stream starts, a VNC viewer must connect within `connect_timeout`
/// seconds (3 in the original). `SIPSIMPLE_RESULT_INVALID_ARGUMENT` when
/// the address cannot be listened on or the timeout is negative or NaN.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_desktop_sharing_handler_new_external_viewer(
    host: *const c_char,
    port: u16,
    connect_timeout: f64,
    out_handler: *mut sipsimple_handle,
) -> sipsimple_result {
    new_handler("sipsimple_desktop_sharing_handler_new_external_viewer", out_handler, || {
        // SAFETY: API contract.
        let host = unsafe { borrow_str(host, "host") }?;
        Ok(DesktopSharingHandler::external_viewer(host, port, timeout(connect_timeout)?)?)
    })
}

/// `ExternalVNCServerHandler(address=(host, port), connect_timeout)`:
/// `*out_handler` receives a handler that, once the stream starts,
/// connects to the VNC server at `host`:`port` (which must already
/// listen), giving up after `connect_timeout` seconds (3 in the original).
/// `SIPSIMPLE_RESULT_INVALID_ARGUMENT` for an empty host, port 0 or a
/// negative or NaN timeout.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_desktop_sharing_handler_new_external_server(
    host: *const c_char,
    port: u16,
    connect_timeout: f64,
    out_handler: *mut sipsimple_handle,
) -> sipsimple_result {
    new_handler("sipsimple_desktop_sharing_handler_new_external_server", out_handler, || {
        // SAFETY: API contract.
        let host = unsafe { borrow_str(host, "host") }?;
        Ok(DesktopSharingHandler::external_server(host, port, timeout(connect_timeout)?)?)
    })
}

/// `*out` receives the handler's class name in the original
/// (`"InternalVNCViewerHandler"`, `"InternalVNCServerHandler"`,
/// `"ExternalVNCViewerHandler"` or `"ExternalVNCServerHandler"`; owned:
/// free it with `sipsimple_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_desktop_sharing_handler_kind(
    handler_handle: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_desktop_sharing_handler_kind",
            || handler(handler_handle),
            out,
            |h| Some(h.kind().name().to_owned()),
        )
    }
}

/// `type`: `*out` receives `"active"` for a viewer, `"passive"` for a
/// server (owned: free it with `sipsimple_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_desktop_sharing_handler_type(
    handler_handle: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_desktop_sharing_handler_type",
            || handler(handler_handle),
            out,
            |h| Some(h.handler_type().to_owned()),
        )
    }
}

/// `address`: `*out_json` receives `["ip", port]`, the address an external
/// viewer handler listens on or an external server handler connects to,
/// or `null` for internal handlers (owned: free it with
/// `sipsimple_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_desktop_sharing_handler_address(
    handler_handle: sipsimple_handle,
    out_json: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out_json is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_desktop_sharing_handler_address",
            || handler(handler_handle),
            out_json,
            |h| {
                let address = h.address().map_or(Json::Null, |(host, port)| serde_json::json!([host, port]));
                Some(address.to_string())
            },
        )
    }
}

/// `connect_timeout`: `*out` receives how long, in seconds, an external
/// handler waits for its VNC program once the stream starts.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_desktop_sharing_handler_connect_timeout(
    handler_handle: sipsimple_handle,
    out: *mut f64,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_attribute(
            "sipsimple_desktop_sharing_handler_connect_timeout",
            || handler(handler_handle),
            out,
            |h| h.connect_timeout().as_secs_f64(),
        )
    }
}

/// `send(data)` (internal handlers): `len` RFB bytes at `data` for the
/// peer, one MSRP message (nothing is sent for 0 bytes; `data` may then be
/// `NULL`). Queued until the stream starts.
/// `SIPSIMPLE_RESULT_INVALID_STATE` for an external handler, a handler
/// that serves no stream, and once the stream ended.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_desktop_sharing_handler_send(
    handler_handle: sipsimple_handle,
    data: *const u8,
    len: usize,
) -> sipsimple_result {
    guard("sipsimple_desktop_sharing_handler_send", || {
        let handler = handler(handler_handle)?;
        let bytes = if len == 0 {
            Vec::new()
        } else if data.is_null() {
            return Err(FfiError::NullArgument("data"));
        } else {
            // SAFETY: data points to len readable bytes (API contract).
            unsafe { std::slice::from_raw_parts(data, len) }.to_vec()
        };
        Ok(handler.send(bytes)?)
    })
}

// ---------------------------------------------------------------------------
// DesktopSharingStream
// ---------------------------------------------------------------------------

/// `DesktopSharingStream(account, handler)`: `*out_stream` receives the
/// handle of a new desktop sharing stream for a session of `account` (an
/// Account or BonjourAccount handle) whose RFB data `handler` produces and
/// consumes. `SIPSIMPLE_RESULT_INVALID_STATE` when the handler serves
/// another stream or was used already.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_desktop_sharing_stream_new(
    account: sipsimple_handle,
    handler_handle: sipsimple_handle,
    out_stream: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_desktop_sharing_stream_new", || {
        let account = objects::account(account)?;
        let handler = handler(handler_handle)?;
        let out = Out::new(out_stream, "out_stream")?;
        let stream = DesktopSharingStream::new(&account, handler)?;
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(MediaStream::handle(&*stream).raw()) };
        Ok(())
    })
}

/// `handler`: `*out_handler` receives the handle of the stream's handler.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_desktop_sharing_stream_handler(
    stream: sipsimple_handle,
    out_handler: *mut sipsimple_handle,
) -> sipsimple_result {
    // SAFETY: out_handler is NULL or writable (API contract).
    unsafe {
        write_attribute(
            "sipsimple_desktop_sharing_stream_handler",
            || desktop_sharing_stream(stream),
            out_handler,
            |s| s.handler().handle().raw(),
        )
    }
}

/// Sets `handler` (before the stream starts; an incoming stream comes with
/// an internal handler). Its role must be the one the offer asks for
/// (`SIPSIMPLE_RESULT_INVALID_ARGUMENT` otherwise);
/// `SIPSIMPLE_RESULT_INVALID_STATE` once the stream started or when the
/// handler serves another stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_desktop_sharing_stream_set_handler(
    stream: sipsimple_handle,
    handler_handle: sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_desktop_sharing_stream_set_handler", || {
        let stream = desktop_sharing_stream(stream)?;
        let handler = handler(handler_handle)?;
        Ok(stream.set_handler(handler)?)
    })
}

/// `*out` receives our MSRP URI (`local_uri`; owned: free it with
/// `sipsimple_string_free`), or `NULL` before the session initialized the
/// stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_desktop_sharing_stream_local_uri(
    stream: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_desktop_sharing_stream_local_uri",
            || desktop_sharing_stream(stream),
            out,
            |s| s.local_uri(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::ptr::{null, null_mut};

    #[test]
    fn handlers_are_created_and_checked() {
        let mut viewer = 0;
        let r = unsafe { sipsimple_desktop_sharing_handler_new_internal_viewer(&mut viewer) };
        assert_eq!(r, sipsimple_result::Ok);
        let mut text = null_mut();
        assert_eq!(unsafe { sipsimple_desktop_sharing_handler_type(viewer, &mut text) }, sipsimple_result::Ok);
        assert_eq!(unsafe { CStr::from_ptr(text) }, c"active");
        unsafe { crate::strings::sipsimple_string_free(text) };
        // A handler that serves no stream cannot send.
        let r = unsafe { sipsimple_desktop_sharing_handler_send(viewer, b"x".as_ptr(), 1) };
        assert_eq!(r, sipsimple_result::InvalidState);
        assert_eq!(
            unsafe { sipsimple_desktop_sharing_handler_send(viewer, null(), 1) },
            sipsimple_result::NullArgument
        );

        let mut external = 0;
        let r = unsafe {
            sipsimple_desktop_sharing_handler_new_external_viewer(c"127.0.0.1".as_ptr(), 0, 3.0, &mut external)
        };
        assert_eq!(r, sipsimple_result::Ok);
        let mut address = null_mut();
        assert_eq!(unsafe { sipsimple_desktop_sharing_handler_address(external, &mut address) }, sipsimple_result::Ok);
        let json: Json = serde_json::from_str(unsafe { CStr::from_ptr(address) }.to_str().unwrap()).unwrap();
        unsafe { crate::strings::sipsimple_string_free(address) };
        assert_eq!(json[0], "127.0.0.1");
        assert!(json[1].as_u64().is_some_and(|port| port > 0));
        let mut seconds = 0.0;
        let r = unsafe { sipsimple_desktop_sharing_handler_connect_timeout(external, &mut seconds) };
        assert_eq!((r, seconds), (sipsimple_result::Ok, 3.0));
        let r = unsafe { sipsimple_desktop_sharing_handler_send(external, b"x".as_ptr(), 1) };
        assert_eq!(r, sipsimple_result::InvalidState);

        let mut untouched = 42;
        let bad = [
            unsafe { sipsimple_desktop_sharing_handler_new_external_server(c"".as_ptr(), 5900, 3.0, &mut untouched) },
            unsafe { sipsimple_desktop_sharing_handler_new_external_server(c"h".as_ptr(), 0, 3.0, &mut untouched) },
            unsafe { sipsimple_desktop_sharing_handler_new_external_server(c"h".as_ptr(), 1, -1.0, &mut untouched) },
            unsafe {
                sipsimple_desktop_sharing_handler_new_external_viewer(c"h".as_ptr(), 1, f64::NAN, &mut untouched)
            },
        ];
        assert!(bad.iter().all(|r| *r == sipsimple_result::InvalidArgument), "{bad:?}");
        let r = unsafe { sipsimple_desktop_sharing_handler_new_external_server(null(), 1, 3.0, &mut untouched) };
        assert_eq!(r, sipsimple_result::NullArgument);
        assert_eq!(untouched, 42);

        let settings = sipsimple_core::SIPSimpleSettings::instance().handle().raw();
        text = null_mut();
        for bad in [0u64, 1, u64::MAX, settings] {
            assert_eq!(
                unsafe { sipsimple_desktop_sharing_handler_type(bad, &mut text) },
                sipsimple_result::InvalidHandle
            );
            let r = unsafe { sipsimple_desktop_sharing_stream_handler(bad, &mut untouched) };
            assert_eq!(r, sipsimple_result::InvalidHandle);
            let r = unsafe { sipsimple_desktop_sharing_stream_new(settings, viewer, &mut untouched) };
            assert_eq!(r, sipsimple_result::InvalidHandle);
        }
        assert!(text.is_null());
        assert_eq!(untouched, 42);
    }
}
