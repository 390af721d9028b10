//! Paging-mode instant messages (SIP MESSAGE, RFC 3428) sent from an account.

use std::ffi::c_char;

use sipsimple_core::paging::PagingMessage;

use crate::objects;
use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::strings::{Out, borrow_str};

/// Sends a MESSAGE request from `account` to `to` (a SIP URI such as
/// `sip:bob@example.com`, or `bob@example.com`) carrying `body_len` bytes of
/// `body` of type `content_type` (`type/subtype`, e.g. `text/plain`).
/// `body` may be `NULL` when `body_len` is 0.
///
/// The request goes to the account's `sip.outbound_proxy` when it is set,
/// otherwise to the routes DNS gives for the target's domain. The call
/// returns at once: `*out_message` receives the message's handle, the sender
/// of the one notification that reports the outcome:
/// `SIPMessageDidSucceed` (a 2xx answer) or `SIPMessageDidFail` (a negative
/// answer, 408 on a timeout, 503 when the transport failed, 0 when nothing
/// could be sent), both with `code` (integer) and `reason` (string). The
/// message handle needs no freeing.
///
/// Errors: `SIPSIMPLE_RESULT_INVALID_HANDLE` for a stale or non-account
/// handle, `SIPSIMPLE_RESULT_INVALID_ARGUMENT` for a malformed target or
/// content type, `SIPSIMPLE_RESULT_INVALID_STATE` while the SIP engine is not
/// running (before `SIPApplicationDidStart`, after a stop).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_message_send(
    account: sipsimple_handle,
    to: *const c_char,
    content_type: *const c_char,
    body: *const u8,
    body_len: usize,
    out_message: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_message_send", || {
        let account = objects::account(account)?;
        // SAFETY: API contract.
        let to = unsafe { borrow_str(to, "to") }?;
        // SAFETY: API contract.
        let content_type = unsafe { borrow_str(content_type, "content_type") }?;
        let out = Out::new(out_message, "out_message")?;
        let body = if body_len == 0 {
            Vec::new()
        } else if body.is_null() {
            return Err(FfiError::NullArgument("body"));
        } else {
            // SAFETY: body points to body_len readable bytes (API contract).
            unsafe { std::slice::from_raw_parts(body, body_len) }.to_vec()
        };
        let message = PagingMessage::send(&account, to, content_type, body)?;
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(message.handle().raw()) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::null;

    #[test]
    fn arguments_are_checked_before_anything_is_sent() {
        let mut h = 0;
        for bad in [0u64, 1, 0xdead_beef, u64::MAX] {
            let r = unsafe {
                sipsimple_message_send(bad, c"sip:bob@127.0.0.1".as_ptr(), c"text/plain".as_ptr(), null(), 0, &mut h)
            };
            assert_eq!(r, sipsimple_result::InvalidHandle);
        }
        let settings = sipsimple_core::SIPSimpleSettings::instance().handle().raw();
        let r = unsafe {
            sipsimple_message_send(settings, c"sip:bob@127.0.0.1".as_ptr(), c"text/plain".as_ptr(), null(), 0, &mut h)
        };
        assert_eq!(r, sipsimple_result::InvalidHandle);
        assert_eq!(h, 0);
    }
}
