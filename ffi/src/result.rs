//! `sipsimple_result`, the per-thread last error, and the panic guard every
//! entry point runs its body in.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use sipsimple_core::Error;

/// The outcome of every fallible function. The numbers are stable: they are
/// never renumbered or reused. Codes 2 to 9 are the core's error codes.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sipsimple_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was `NULL`.
    NullArgument = 1,
    /// A `0`, stale, garbage or wrong-kind handle.
    InvalidHandle = 2,
    /// An argument is not acceptable (malformed JSON, a bad SIP address...).
    InvalidArgument = 3,
    /// A setting was given a value its type refuses; the old value is kept and
    /// the last error message names the setting.
    InvalidSetting = 4,
    /// No such object, setting or notification field.
    NotFound = 5,
    /// Not allowed in the current state (starting twice, stopping twice...).
    InvalidState = 6,
    /// The configuration file could not be parsed; the last error message is
    /// `path:line: problem`. The file is left untouched.
    ConfigurationFile = 7,
    /// Reading or writing the storage failed.
    Storage = 8,
    /// An internal failure.
    Internal = 9,
    /// An input string is not valid UTF-8.
    InvalidUtf8 = 10,
    /// The library caught a panic (a bug); the call had no effect or a partial one.
    Panic = 11,
    /// Waiting timed out (no notification arrived, a flush did not finish).
    Timeout = 12,
    /// The caller's buffer is too small; the needed size was reported.
    BufferTooSmall = 13,
    /// A DNS lookup failed (`DNSLookupError` in the original); the last error
    /// message ends with the text `DNSLookupDidFail` carries as `error`.
    LookupFailed = 14,
}

impl sipsimple_result {
    /// The result for a raw code, if it is one.
    pub fn from_code(code: u32) -> Option<sipsimple_result> {
        use sipsimple_result::*;
        Some(match code {
            0 => Ok,
            1 => NullArgument,
            2 => InvalidHandle,
            3 => InvalidArgument,
            4 => InvalidSetting,
            5 => NotFound,
            6 => InvalidState,
            7 => ConfigurationFile,
            8 => Storage,
            9 => Internal,
            10 => InvalidUtf8,
            11 => Panic,
            12 => Timeout,
            13 => BufferTooSmall,
            14 => LookupFailed,
            _ => return None,
        })
    }
}

/// Why an entry point failed.
#[derive(Debug)]
pub(crate) enum FfiError {
    /// An error reported by the core.
    Core(Error),
    /// A required pointer was NULL (the argument's name).
    NullArgument(&'static str),
    /// A string argument is not UTF-8 (the argument's name).
    InvalidUtf8(&'static str),
    /// A wait timed out.
    Timeout(String),
    /// A caller buffer is too small.
    BufferTooSmall(String),
    /// A DNS lookup failed (the lookup's error text).
    LookupFailed(String),
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        FfiError::Core(e)
    }
}

impl FfiError {
    /// An invalid-argument error.
    pub(crate) fn argument(message: impl Into<String>) -> FfiError {
        FfiError::Core(Error::InvalidArgument(message.into()))
    }

    /// An invalid-handle error.
    pub(crate) fn handle(message: impl Into<String>) -> FfiError {
        FfiError::Core(Error::InvalidHandle(message.into()))
    }

    fn result(&self) -> sipsimple_result {
        match self {
            FfiError::Core(e) => {
                u32::try_from(e.code()).ok().and_then(sipsimple_result::from_code).unwrap_or(sipsimple_result::Internal)
            }
            FfiError::NullArgument(_) => sipsimple_result::NullArgument,
            FfiError::InvalidUtf8(_) => sipsimple_result::InvalidUtf8,
            FfiError::Timeout(_) => sipsimple_result::Timeout,
            FfiError::BufferTooSmall(_) => sipsimple_result::BufferTooSmall,
            FfiError::LookupFailed(_) => sipsimple_result::LookupFailed,
        }
    }

    fn message(&self) -> String {
        match self {
            FfiError::Core(e) => e.to_string(),
            FfiError::NullArgument(name) => format!("{name} is NULL"),
            FfiError::InvalidUtf8(name) => format!("{name} is not valid UTF-8"),
            FfiError::Timeout(m) | FfiError::BufferTooSmall(m) => m.clone(),
            FfiError::LookupFailed(m) => format!("DNS lookup failed: {m}"),
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: String) {
    let bytes: Vec<u8> = message.into_bytes().into_iter().map(|b| if b == 0 { b'?' } else { b }).collect();
    let text = CString::new(bytes).unwrap_or_default();
    // `try_with`: the thread may be exiting (a callback during TLS teardown).
    let _ = LAST_ERROR.try_with(|cell| *cell.borrow_mut() = text);
}

fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|cell| {
        let mut slot = cell.borrow_mut();
        if !slot.as_bytes().is_empty() {
            *slot = CString::default();
        }
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}

/// Runs the body of the entry point `function`: catches panics, maps errors
/// to results and records the message (prefixed with the function's name) as
/// the thread's last error. A success clears the last error.
pub(crate) fn guard(function: &'static str, body: impl FnOnce() -> Result<(), FfiError>) -> sipsimple_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            clear_last_error();
            sipsimple_result::Ok
        }
        Ok(Err(e)) => {
            set_last_error(format!("{function}: {}", e.message()));
            e.result()
        }
        Err(payload) => {
            let message = panic_message(&*payload).to_owned();
            tracing::error!("{function} panicked: {message}");
            set_last_error(format!("{function}: internal panic: {message}"));
            sipsimple_result::Panic
        }
    }
}

/// A static, NUL-terminated English description of a result code (for
/// example `"invalid handle"`). Unknown codes give `"unknown result"`. The
/// string must not be freed. `result` is a `sipsimple_result` value.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_result_text(result: u32) -> *const c_char {
    let text: &'static std::ffi::CStr = match sipsimple_result::from_code(result) {
        Some(sipsimple_result::Ok) => c"ok",
        Some(sipsimple_result::NullArgument) => c"NULL argument",
        Some(sipsimple_result::InvalidHandle) => c"invalid handle",
        Some(sipsimple_result::InvalidArgument) => c"invalid argument",
        Some(sipsimple_result::InvalidSetting) => c"invalid setting value",
        Some(sipsimple_result::NotFound) => c"not found",
        Some(sipsimple_result::InvalidState) => c"invalid state",
        Some(sipsimple_result::ConfigurationFile) => c"configuration file error",
        Some(sipsimple_result::Storage) => c"storage error",
        Some(sipsimple_result::Internal) => c"internal error",
        Some(sipsimple_result::InvalidUtf8) => c"invalid UTF-8",
        Some(sipsimple_result::Panic) => c"internal panic",
        Some(sipsimple_result::Timeout) => c"timed out",
        Some(sipsimple_result::BufferTooSmall) => c"buffer too small",
        Some(sipsimple_result::LookupFailed) => c"DNS lookup failed",
        None => c"unknown result",
    };
    text.as_ptr()
}

/// The message of the last failed call made on this thread (empty if the last
/// call returning a `sipsimple_result` succeeded), as a NUL-terminated string
/// owned by the library: it stays valid until the next call into the library
/// from this thread. Never `NULL`. Use `sipsimple_last_error_message` to copy
/// it instead.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_last_error() -> *const c_char {
    catch_unwind(|| LAST_ERROR.try_with(|cell| cell.borrow().as_ptr()).ok()).ok().flatten().unwrap_or(c"".as_ptr())
}

/// Copies the message of the last failed call made on this thread (empty if
/// the last call returning a `sipsimple_result` succeeded) into `buf` (`len` bytes) with a terminating NUL.
/// `*out_len` receives the message length without the NUL, also when the
/// result is `SIPSIMPLE_RESULT_BUFFER_TOO_SMALL` (then `buf` is not written;
/// `buf` may be `NULL` with `len` 0 to ask for the size). Calling this does
/// not change the last error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_last_error_message(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> sipsimple_result {
    if out_len.is_null() {
        return sipsimple_result::NullArgument;
    }
    let copied = catch_unwind(AssertUnwindSafe(|| {
        LAST_ERROR
            .try_with(|cell| {
                let message = cell.borrow();
                let bytes = message.as_bytes_with_nul();
                // SAFETY: out_len is non-NULL and points to a writable size_t (contract).
                unsafe { out_len.write(bytes.len() - 1) };
                if buf.is_null() || len < bytes.len() {
                    return sipsimple_result::BufferTooSmall;
                }
                // SAFETY: buf holds `len >= bytes.len()` writable bytes (contract).
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), buf, bytes.len()) };
                sipsimple_result::Ok
            })
            .unwrap_or(sipsimple_result::Internal)
    }));
    copied.unwrap_or(sipsimple_result::Panic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn codes_match_the_core() {
        let cases = [
            (Error::InvalidHandle(String::new()), sipsimple_result::InvalidHandle),
            (Error::InvalidArgument(String::new()), sipsimple_result::InvalidArgument),
            (Error::setting("a", "b"), sipsimple_result::InvalidSetting),
            (Error::NotFound(String::new()), sipsimple_result::NotFound),
            (Error::InvalidState(String::new()), sipsimple_result::InvalidState),
            (
                Error::ConfigurationFile { path: "x".into(), line: 1, message: String::new() },
                sipsimple_result::ConfigurationFile,
            ),
            (Error::Storage { path: "x".into(), source: std::io::Error::other("x") }, sipsimple_result::Storage),
            (Error::Internal(String::new()), sipsimple_result::Internal),
        ];
        for (error, result) in cases {
            assert_eq!(error.code() as u32, result as u32);
            assert_eq!(FfiError::Core(error).result(), result);
        }
        for code in 0..=14 {
            assert_eq!(sipsimple_result::from_code(code).map(|r| r as u32), Some(code));
        }
        assert_eq!(sipsimple_result::from_code(15), None);
    }

    #[test]
    fn texts_are_static_and_total() {
        for code in [0, 2, 13, 99, u32::MAX] {
            let text = unsafe { CStr::from_ptr(sipsimple_result_text(code)) };
            assert!(!text.to_bytes().is_empty());
        }
        assert_eq!(unsafe { CStr::from_ptr(sipsimple_result_text(2)) }, c"invalid handle");
    }

    #[test]
    fn last_error_is_per_call_and_copyable() {
        let r = guard("f", || Err(FfiError::NullArgument("out")));
        assert_eq!(r, sipsimple_result::NullArgument);
        let message = unsafe { CStr::from_ptr(sipsimple_last_error()) }.to_str().unwrap().to_owned();
        assert_eq!(message, "f: out is NULL");

        let mut len = 0usize;
        let r = unsafe { sipsimple_last_error_message(std::ptr::null_mut(), 0, &mut len) };
        assert_eq!(r, sipsimple_result::BufferTooSmall);
        assert_eq!(len, message.len());
        let mut buf = vec![0 as c_char; len + 1];
        let r = unsafe { sipsimple_last_error_message(buf.as_mut_ptr(), buf.len(), &mut len) };
        assert_eq!(r, sipsimple_result::Ok);
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(), message);
        assert_eq!(
            unsafe { sipsimple_last_error_message(buf.as_mut_ptr(), buf.len(), std::ptr::null_mut()) },
            sipsimple_result::NullArgument
        );

        assert_eq!(guard("g", || Ok(())), sipsimple_result::Ok);
        assert_eq!(unsafe { CStr::from_ptr(sipsimple_last_error()) }, c"");
    }

    #[test]
    fn panics_become_a_result() {
        let r = guard("p", || panic!("boom"));
        assert_eq!(r, sipsimple_result::Panic);
        let message = unsafe { CStr::from_ptr(sipsimple_last_error()) }.to_str().unwrap();
        assert!(message.contains("boom"), "{message}");
    }
}
