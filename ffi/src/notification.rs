//! `sipsimple_notification`: an opaque notification and its getters.
//!
//! A notification passed to an observer callback is borrowed for the duration
//! of the call; one returned by `sipsimple_notification_queue_next` or
//! `sipsimple_notification_copy` is owned by the caller and released with
//! `sipsimple_notification_free`.

use std::ffi::c_char;

use sipsimple_core::value::unix_seconds;
use sipsimple_core::{Notification, Value};

use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::strings::{Out, borrow_str};

/// A notification: a name, a sender and a map of data fields (which always
/// holds `timestamp`). Opaque; read it with the `sipsimple_notification_*`
/// getters.
pub struct sipsimple_notification {
    pub(crate) inner: Notification,
}

impl sipsimple_notification {
    pub(crate) fn new(inner: Notification) -> sipsimple_notification {
        sipsimple_notification { inner }
    }
}

/// Borrows the notification behind `n`.
///
/// # Safety
/// `n` is NULL or points to a live `sipsimple_notification`.
unsafe fn borrow<'a>(n: *const sipsimple_notification) -> Result<&'a Notification, FfiError> {
    if n.is_null() {
        return Err(FfiError::NullArgument("notification"));
    }
    // SAFETY: non-NULL and live (caller contract).
    Ok(unsafe { &(*n).inner })
}

/// Runs `f` with the notification and the data field named by `field`.
///
/// # Safety
/// `n` and `field` follow the API contract (NULL or valid).
unsafe fn with_field<T>(
    n: *const sipsimple_notification,
    field: *const c_char,
    f: impl FnOnce(&str, &Value) -> Result<T, FfiError>,
) -> Result<T, FfiError> {
    // SAFETY: forwarded contract.
    let notification = unsafe { borrow(n) }?;
    // SAFETY: forwarded contract.
    let field = unsafe { borrow_str(field, "field") }?;
    match notification.data.get(field) {
        Some(value) => f(field, value),
        None => Err(sipsimple_core::Error::NotFound(format!("{} has no field {field:?}", notification.name)).into()),
    }
}

fn wrong_type(field: &str, expected: &str, value: &Value) -> FfiError {
    let actual = match value {
        Value::Null => "None",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a float",
        Value::String(_) => "a string",
        Value::Timestamp(_) => "a timestamp",
        Value::Bytes(_) => "bytes",
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
        Value::Object(_) => "an object handle",
        Value::Foreign(_) => "a foreign object",
    };
    FfiError::argument(format!("field {field:?} is {actual}, not {expected}"))
}

/// `*out` receives the notification's name (owned: free it with
/// `sipsimple_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_name(
    n: *const sipsimple_notification,
    out: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_notification_name", || {
        // SAFETY: API contract.
        let notification = unsafe { borrow(n) }?;
        let out = Out::new(out, "out")?;
        // SAFETY: out is a writable char* (API contract).
        unsafe { out.write_string(notification.name.clone()) }
    })
}

/// `*out` receives the sender's handle, or 0 when the notification has no
/// sender or its sender is not a library object (an object of another
/// language binding).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_sender(
    n: *const sipsimple_notification,
    out: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_notification_sender", || {
        // SAFETY: API contract.
        let notification = unsafe { borrow(n) }?;
        let out = Out::new(out, "out")?;
        let sender = notification.sender.as_object().map(|h| h.raw()).unwrap_or(0);
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(sender) };
        Ok(())
    })
}

/// `*out` receives the whole data as one JSON object (owned: free it with
/// `sipsimple_string_free`). Handles appear as
/// `{"handle": <number>, "type": "<kind>", "id": "<label>"}` (`id` only when
/// the object has one, an account's SIP id for instance) and `timestamp` as
/// float seconds since the Unix epoch.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_data_json(
    n: *const sipsimple_notification,
    out: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_notification_data_json", || {
        // SAFETY: API contract.
        let notification = unsafe { borrow(n) }?;
        let out = Out::new(out, "out")?;
        // SAFETY: out is a writable char* (API contract).
        unsafe { out.write_string(notification.data.to_json().to_string()) }
    })
}

/// `*out` receives the `timestamp` field: seconds since the Unix epoch.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_timestamp(
    n: *const sipsimple_notification,
    out: *mut f64,
) -> sipsimple_result {
    guard("sipsimple_notification_timestamp", || {
        // SAFETY: API contract.
        let notification = unsafe { borrow(n) }?;
        let out = Out::new(out, "out")?;
        let seconds = unix_seconds(notification.timestamp());
        // SAFETY: out is a writable double (API contract).
        unsafe { out.write(seconds) };
        Ok(())
    })
}

/// `*out` receives the string field `field` (owned: free it with
/// `sipsimple_string_free`). `SIPSIMPLE_RESULT_NOT_FOUND` if the data has no
/// such field, `SIPSIMPLE_RESULT_INVALID_ARGUMENT` if it is not a string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_get_string(
    n: *const sipsimple_notification,
    field: *const c_char,
    out: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_notification_get_string", || {
        let out = Out::new(out, "out")?;
        // SAFETY: API contract.
        let text = unsafe {
            with_field(n, field, |name, v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(wrong_type(name, "a string", other)),
            })
        }?;
        // SAFETY: out is a writable char* (API contract).
        unsafe { out.write_string(text) }
    })
}

/// `*out` receives the integer field `field`. `SIPSIMPLE_RESULT_NOT_FOUND` if
/// the data has no such field, `SIPSIMPLE_RESULT_INVALID_ARGUMENT` if it is
/// not an integer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_get_int(
    n: *const sipsimple_notification,
    field: *const c_char,
    out: *mut i64,
) -> sipsimple_result {
    guard("sipsimple_notification_get_int", || {
        let out = Out::new(out, "out")?;
        // SAFETY: API contract.
        let value =
            unsafe { with_field(n, field, |name, v| v.as_int().ok_or_else(|| wrong_type(name, "an integer", v))) }?;
        // SAFETY: out is a writable int64_t (API contract).
        unsafe { out.write(value) };
        Ok(())
    })
}

/// `*out` receives the boolean field `field`. `SIPSIMPLE_RESULT_NOT_FOUND` if
/// the data has no such field, `SIPSIMPLE_RESULT_INVALID_ARGUMENT` if it is
/// not a boolean.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_get_bool(
    n: *const sipsimple_notification,
    field: *const c_char,
    out: *mut bool,
) -> sipsimple_result {
    guard("sipsimple_notification_get_bool", || {
        let out = Out::new(out, "out")?;
        // SAFETY: API contract.
        let value =
            unsafe { with_field(n, field, |name, v| v.as_bool().ok_or_else(|| wrong_type(name, "a boolean", v))) }?;
        // SAFETY: out is a writable bool (API contract).
        unsafe { out.write(value) };
        Ok(())
    })
}

/// `*out` receives the numeric field `field` as a double: floats, integers
/// and timestamps (seconds since the Unix epoch) are accepted.
/// `SIPSIMPLE_RESULT_NOT_FOUND` if the data has no such field,
/// `SIPSIMPLE_RESULT_INVALID_ARGUMENT` if it is not a number.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_get_double(
    n: *const sipsimple_notification,
    field: *const c_char,
    out: *mut f64,
) -> sipsimple_result {
    guard("sipsimple_notification_get_double", || {
        let out = Out::new(out, "out")?;
        // SAFETY: API contract.
        let value = unsafe {
            with_field(n, field, |name, v| match v {
                Value::Float(x) => Ok(*x),
                Value::Int(i) => Ok(*i as f64),
                Value::Timestamp(t) => Ok(unix_seconds(*t)),
                other => Err(wrong_type(name, "a number", other)),
            })
        }?;
        // SAFETY: out is a writable double (API contract).
        unsafe { out.write(value) };
        Ok(())
    })
}

/// `*out` receives the object handle in field `field` (an `account`, say);
/// 0 when the field is `None`. `SIPSIMPLE_RESULT_NOT_FOUND` if the data has
/// no such field, `SIPSIMPLE_RESULT_INVALID_ARGUMENT` if it holds something
/// else.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_get_handle(
    n: *const sipsimple_notification,
    field: *const c_char,
    out: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_notification_get_handle", || {
        let out = Out::new(out, "out")?;
        // SAFETY: API contract.
        let value = unsafe {
            with_field(n, field, |name, v| match v {
                Value::Object(h) => Ok(h.raw()),
                Value::Null => Ok(0),
                other => Err(wrong_type(name, "an object handle", other)),
            })
        }?;
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(value) };
        Ok(())
    })
}

/// Fills `handles` (room for `len` handles) with the object handles of the
/// list field `field` (the `streams` of a session notification, say) and
/// sets `*out_count` to their number. If `len` is too small, `*out_count`
/// still receives the number needed, `handles` is not written and the
/// result is `SIPSIMPLE_RESULT_BUFFER_TOO_SMALL` (`handles` may be `NULL`
/// with `len` 0 to ask for the number). `SIPSIMPLE_RESULT_NOT_FOUND` if the
/// data has no such field, `SIPSIMPLE_RESULT_INVALID_ARGUMENT` if it is not
/// a list of handles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_get_handles(
    n: *const sipsimple_notification,
    field: *const c_char,
    handles: *mut sipsimple_handle,
    len: usize,
    out_count: *mut usize,
) -> sipsimple_result {
    guard("sipsimple_notification_get_handles", || {
        Out::new(out_count, "out_count")?;
        // SAFETY: API contract.
        let items = unsafe {
            with_field(n, field, |name, v| match v {
                Value::List(items) => items
                    .iter()
                    .map(|item| match item {
                        Value::Object(h) => Ok(h.raw()),
                        other => Err(wrong_type(name, "a list of object handles", other)),
                    })
                    .collect::<Result<Vec<sipsimple_handle>, FfiError>>(),
                other => Err(wrong_type(name, "a list of object handles", other)),
            })
        }?;
        // SAFETY: API contract.
        unsafe { crate::stream::fill_handles(handles, len, out_count, &items, "handles") }
    })
}

/// `*out` receives the field `field`, whatever its type, as JSON (owned:
/// free it with `sipsimple_string_free`); for maps such as `modified`.
/// `SIPSIMPLE_RESULT_NOT_FOUND` if the data has no such field.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_get_json(
    n: *const sipsimple_notification,
    field: *const c_char,
    out: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_notification_get_json", || {
        let out = Out::new(out, "out")?;
        // SAFETY: API contract.
        let json = unsafe { with_field(n, field, |_, v| Ok(v.to_json().to_string())) }?;
        // SAFETY: out is a writable char* (API contract).
        unsafe { out.write_string(json) }
    })
}

/// `*out` receives an owned copy of `n` (to keep a notification a callback
/// was lent); release it with `sipsimple_notification_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_copy(
    n: *const sipsimple_notification,
    out: *mut *mut sipsimple_notification,
) -> sipsimple_result {
    guard("sipsimple_notification_copy", || {
        // SAFETY: API contract.
        let notification = unsafe { borrow(n) }?;
        let out = Out::new(out, "out")?;
        let copy = Box::into_raw(Box::new(sipsimple_notification::new(notification.clone())));
        // SAFETY: out is a writable pointer (API contract).
        unsafe { out.write(copy) };
        Ok(())
    })
}

/// Releases a notification returned by `sipsimple_notification_queue_next`
/// or `sipsimple_notification_copy`. `NULL` is a no-op. Never pass the
/// notification lent to a callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_free(n: *mut sipsimple_notification) {
    if n.is_null() {
        return;
    }
    // SAFETY: n came from Box::into_raw in this library (API contract).
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(unsafe { Box::from_raw(n) })));
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipsimple_core::NotificationData;
    use std::ffi::CStr;
    use std::ptr::{null, null_mut};

    fn sample() -> sipsimple_notification {
        let sender = sipsimple_core::SIPSimpleSettings::instance().handle();
        sipsimple_notification::new(Notification {
            name: "Test".into(),
            sender: Value::Object(sender),
            data: NotificationData::new()
                .with("s", "text")
                .with("i", 7)
                .with("b", true)
                .with("f", 2.5)
                .with("h", sender)
                .with("none", Value::Null)
                .with("timestamp", Value::Timestamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(10))),
        })
    }

    #[test]
    fn typed_getters() {
        let n = sample();
        let settings = sipsimple_core::SIPSimpleSettings::instance().handle().raw();
        let mut s = null_mut();
        assert_eq!(unsafe { sipsimple_notification_get_string(&n, c"s".as_ptr(), &mut s) }, sipsimple_result::Ok);
        assert_eq!(unsafe { CStr::from_ptr(s) }, c"text");
        unsafe { crate::strings::sipsimple_string_free(s) };
        let mut i = 0i64;
        assert_eq!(unsafe { sipsimple_notification_get_int(&n, c"i".as_ptr(), &mut i) }, sipsimple_result::Ok);
        assert_eq!(i, 7);
        let mut b = false;
        assert_eq!(unsafe { sipsimple_notification_get_bool(&n, c"b".as_ptr(), &mut b) }, sipsimple_result::Ok);
        assert!(b);
        let mut f = 0.0;
        assert_eq!(unsafe { sipsimple_notification_get_double(&n, c"f".as_ptr(), &mut f) }, sipsimple_result::Ok);
        assert_eq!(f, 2.5);
        assert_eq!(unsafe { sipsimple_notification_timestamp(&n, &mut f) }, sipsimple_result::Ok);
        assert_eq!(f, 10.0);
        let mut h = 0;
        assert_eq!(unsafe { sipsimple_notification_get_handle(&n, c"h".as_ptr(), &mut h) }, sipsimple_result::Ok);
        assert_eq!(h, settings);
        assert_eq!(unsafe { sipsimple_notification_get_handle(&n, c"none".as_ptr(), &mut h) }, sipsimple_result::Ok);
        assert_eq!(h, 0);
        assert_eq!(unsafe { sipsimple_notification_sender(&n, &mut h) }, sipsimple_result::Ok);
        assert_eq!(h, settings);

        // Missing field, wrong type: out untouched.
        i = 42;
        assert_eq!(
            unsafe { sipsimple_notification_get_int(&n, c"missing".as_ptr(), &mut i) },
            sipsimple_result::NotFound
        );
        assert_eq!(
            unsafe { sipsimple_notification_get_int(&n, c"s".as_ptr(), &mut i) },
            sipsimple_result::InvalidArgument
        );
        assert_eq!(i, 42);

        // NULL everywhere.
        assert_eq!(
            unsafe { sipsimple_notification_get_int(null(), c"i".as_ptr(), &mut i) },
            sipsimple_result::NullArgument
        );
        assert_eq!(unsafe { sipsimple_notification_get_int(&n, null(), &mut i) }, sipsimple_result::NullArgument);
        assert_eq!(
            unsafe { sipsimple_notification_get_int(&n, c"i".as_ptr(), null_mut()) },
            sipsimple_result::NullArgument
        );
        assert_eq!(unsafe { sipsimple_notification_name(null(), &mut s) }, sipsimple_result::NullArgument);
        assert_eq!(unsafe { sipsimple_notification_name(&n, null_mut()) }, sipsimple_result::NullArgument);
    }

    #[test]
    fn handle_lists() {
        let sender = sipsimple_core::SIPSimpleSettings::instance().handle();
        let n = sipsimple_notification::new(Notification {
            name: "Test".into(),
            sender: Value::Object(sender),
            data: NotificationData::new()
                .with("streams", Value::List(vec![Value::Object(sender), Value::Object(sender)]))
                .with("empty", Value::List(Vec::new()))
                .with("mixed", Value::List(vec![Value::Object(sender), Value::from(1)]))
                .with("i", 1),
        });
        let mut count = 0usize;
        let mut buf = [0u64; 2];
        let get = |field: &std::ffi::CStr, buf: &mut [u64], len: usize, count: &mut usize| unsafe {
            sipsimple_notification_get_handles(&n, field.as_ptr(), buf.as_mut_ptr(), len, count)
        };
        assert_eq!(get(c"streams", &mut buf, 1, &mut count), sipsimple_result::BufferTooSmall);
        assert_eq!((count, buf), (2, [0, 0]));
        assert_eq!(get(c"streams", &mut buf, 2, &mut count), sipsimple_result::Ok);
        assert_eq!(buf, [sender.raw(), sender.raw()]);
        assert_eq!(get(c"empty", &mut buf, 0, &mut count), sipsimple_result::Ok);
        assert_eq!(count, 0);
        assert_eq!(get(c"mixed", &mut buf, 2, &mut count), sipsimple_result::InvalidArgument);
        assert_eq!(get(c"i", &mut buf, 2, &mut count), sipsimple_result::InvalidArgument);
        assert_eq!(get(c"missing", &mut buf, 2, &mut count), sipsimple_result::NotFound);
        let r = unsafe { sipsimple_notification_get_handles(&n, c"streams".as_ptr(), buf.as_mut_ptr(), 2, null_mut()) };
        assert_eq!(r, sipsimple_result::NullArgument);
    }

    #[test]
    fn json_and_copy() {
        let n = sample();
        let mut s = null_mut();
        assert_eq!(unsafe { sipsimple_notification_data_json(&n, &mut s) }, sipsimple_result::Ok);
        let json: serde_json::Value = serde_json::from_str(unsafe { CStr::from_ptr(s) }.to_str().unwrap()).unwrap();
        unsafe { crate::strings::sipsimple_string_free(s) };
        assert_eq!(json["i"], 7);
        assert_eq!(json["timestamp"], 10.0);
        assert_eq!(json["h"]["type"], "SIPSimpleSettings");

        let mut copy = null_mut();
        assert_eq!(unsafe { sipsimple_notification_copy(&n, &mut copy) }, sipsimple_result::Ok);
        assert_eq!(unsafe { sipsimple_notification_name(copy, &mut s) }, sipsimple_result::Ok);
        assert_eq!(unsafe { CStr::from_ptr(s) }, c"Test");
        unsafe { crate::strings::sipsimple_string_free(s) };
        unsafe { sipsimple_notification_free(copy) };
        unsafe { sipsimple_notification_free(null_mut()) };
    }
}
