//! String ownership across the C boundary, and out-parameter checks.
//!
//! Input strings are borrowed `const char *` (NUL-terminated UTF-8). Strings
//! handed to C are allocated here and released with [`sipsimple_string_free`].

use std::ffi::{CStr, CString, c_char};
use std::panic::catch_unwind;

use crate::result::FfiError;

/// Borrows a required input string.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the returned lifetime.
pub(crate) unsafe fn borrow_str<'a>(p: *const c_char, name: &'static str) -> Result<&'a str, FfiError> {
    // SAFETY: forwarded contract.
    unsafe { optional_str(p, name) }?.ok_or(FfiError::NullArgument(name))
}

/// Borrows an optional input string (`NULL` is `None`).
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the returned lifetime.
pub(crate) unsafe fn optional_str<'a>(p: *const c_char, name: &'static str) -> Result<Option<&'a str>, FfiError> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: p is non-NULL and NUL-terminated (caller contract).
    let text = unsafe { CStr::from_ptr(p) };
    text.to_str().map(Some).map_err(|_| FfiError::InvalidUtf8(name))
}

/// Converts a string for C. Text containing a NUL byte cannot be represented
/// and is refused.
pub(crate) fn to_c_string(text: String) -> Result<CString, FfiError> {
    CString::new(text).map_err(|_| FfiError::argument("the string contains a NUL byte and cannot be returned to C"))
}

/// A checked, non-NULL out-parameter, written once on success.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Checks that `p` is not NULL.
    pub(crate) fn new(p: *mut T, name: &'static str) -> Result<Out<T>, FfiError> {
        if p.is_null() { Err(FfiError::NullArgument(name)) } else { Ok(Out(p)) }
    }

    /// Writes the value.
    ///
    /// # Safety
    /// The pointer given to [`Out::new`] is valid for writing a `T`.
    pub(crate) unsafe fn write(self, value: T) {
        // SAFETY: non-NULL (checked) and writable (caller contract).
        unsafe { self.0.write(value) }
    }
}

impl Out<*mut c_char> {
    /// Writes an owned copy of `text` (released with `sipsimple_string_free`).
    ///
    /// # Safety
    /// As for [`Out::write`].
    pub(crate) unsafe fn write_string(self, text: String) -> Result<(), FfiError> {
        let owned = to_c_string(text)?;
        // SAFETY: forwarded contract.
        unsafe { self.write(owned.into_raw()) };
        Ok(())
    }
}

/// Releases a string returned by this library. `NULL` is a no-op. Passing a
/// string that this library did not return, or releasing one twice, is
/// undefined behaviour.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    // SAFETY: s came from CString::into_raw in this library (contract).
    let _ = catch_unwind(|| drop(unsafe { CString::from_raw(s) }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::sipsimple_result;

    #[test]
    fn input_strings() {
        assert!(matches!(unsafe { borrow_str(std::ptr::null(), "x") }, Err(FfiError::NullArgument("x"))));
        assert!(matches!(unsafe { optional_str(std::ptr::null(), "x") }, Ok(None)));
        let bad = [0xffu8, 0xfe, 0];
        assert!(matches!(unsafe { borrow_str(bad.as_ptr().cast(), "x") }, Err(FfiError::InvalidUtf8("x"))));
        assert_eq!(unsafe { borrow_str(c"héllo".as_ptr(), "x") }.unwrap(), "héllo");
    }

    #[test]
    fn output_strings_round_trip() {
        let mut p: *mut c_char = std::ptr::null_mut();
        let r = crate::result::guard("t", || unsafe { Out::new(&mut p, "out")?.write_string("abc".into()) });
        assert_eq!(r, sipsimple_result::Ok);
        assert_eq!(unsafe { CStr::from_ptr(p) }, c"abc");
        unsafe { sipsimple_string_free(p) };
        unsafe { sipsimple_string_free(std::ptr::null_mut()) };
        assert!(to_c_string("a\0b".into()).is_err());
        assert!(matches!(Out::<u64>::new(std::ptr::null_mut(), "out"), Err(FfiError::NullArgument("out"))));
    }
}
