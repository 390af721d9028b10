//! INVITE sessions (`sipsimple.session`): `Session` objects and the
//! `SessionManager`.
//!
//! A session handle is the sender of the session's `SIPSession*`
//! notifications. Outgoing sessions come from `sipsimple_session_new`;
//! incoming ones are announced by `SIPSessionNewIncoming`, whose sender is
//! the new session and whose `streams` field lists the streams the peer
//! proposed (read it with `sipsimple_notification_get_handles`). Every
//! function returns at once: the outcome of an operation is posted as
//! notifications.
//!
//! Session handles need no freeing. A terminated session's handle, and the
//! handles of its streams, stay valid until 64 newer sessions have ended or
//! the application starts again; then they are stale
//! (`SIPSIMPLE_RESULT_INVALID_HANDLE`).
//!
//! Errors shared by the functions here: `SIPSIMPLE_RESULT_INVALID_HANDLE`
//! for a `0`, stale, garbage or non-session handle (and for stream handles
//! that are not media streams), `SIPSIMPLE_RESULT_INVALID_STATE` when the
//! operation is not allowed in the session's state (the last error message
//! names the state).

use std::ffi::c_char;
use std::sync::Arc;
use std::time::SystemTime;

use sipsimple_core::ObjectKind;
use sipsimple_core::session::{Session, SessionManager};
use sipsimple_core::streams::MediaStream;
use sipsimple_core::value::unix_seconds;

use crate::objects;
use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::stream::{fill_handles, media_stream, stream_list, write_attribute, write_string_attribute};
use crate::strings::{Out, borrow_str, optional_str};

/// Resolves a `Session` handle.
fn resolve(session: sipsimple_handle) -> Result<Arc<Session>, FfiError> {
    objects::resolve::<Session>(session, ObjectKind::Session)
}

/// A final failure status for `reject` and `reject_proposal`: 0 selects
/// `default`, anything else must be 300-699.
fn failure_code(code: u16, default: u16) -> Result<u16, FfiError> {
    match code {
        0 => Ok(default),
        300..=699 => Ok(code),
        _ => Err(FfiError::argument(format!("status {code} is not a failure status (300-699)"))),
    }
}

/// An optional reason phrase: one line of text.
///
/// # Safety
/// `reason` is NULL or a NUL-terminated string.
unsafe fn reason_phrase<'a>(reason: *const c_char) -> Result<Option<&'a str>, FfiError> {
    // SAFETY: forwarded contract.
    let reason = unsafe { optional_str(reason, "reason") }?;
    if reason.is_some_and(|r| r.chars().any(char::is_control)) {
        return Err(FfiError::argument("reason contains control characters"));
    }
    Ok(reason)
}

/// The raw handles of `streams`.
fn raw_handles(streams: &[Arc<dyn MediaStream>]) -> Vec<sipsimple_handle> {
    streams.iter().map(|s| s.handle().raw()).collect()
}

/// `Session(account)`: `*out_session` receives the handle of a new session
/// of `account` (an Account or BonjourAccount handle) in state `None`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_new(
    account: sipsimple_handle,
    out_session: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_session_new", || {
        let account = objects::account(account)?;
        let out = Out::new(out_session, "out_session")?;
        let session = Session::new(&account);
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(session.handle().raw()) };
        Ok(())
    })
}

/// `connect(to, streams, subject)`: calls `to_uri` (a SIP URI such as
/// `sip:bob@example.com`, or `bob@example.com`) offering the
/// `streams_count` (at least one) streams of the array `streams`, through
/// the account's `sip.outbound_proxy` when set, else the routes DNS gives
/// for the target's domain. `subject` (optional, `NULL` for none) adds a
/// Subject header.
///
/// Posts `SIPSessionNewOutgoing` (with `streams`), then
/// `SIPSessionGotRingIndication` / `SIPSessionGotProvisionalResponse` as the
/// peer answers, and `SIPSessionWillStart` + `SIPSessionDidStart` (with the
/// `streams` now active) or `SIPSessionDidFail` (with `originator`, `code`,
/// `reason` and `failure_reason`; `code` 486 when the peer is busy, say).
///
/// Errors: `SIPSIMPLE_RESULT_INVALID_ARGUMENT` for a malformed URI or no
/// streams, `SIPSIMPLE_RESULT_INVALID_STATE` when the session is not in
/// state `None` or the application is not running.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_connect(
    session: sipsimple_handle,
    to_uri: *const c_char,
    streams: *const sipsimple_handle,
    streams_count: usize,
    subject: *const c_char,
) -> sipsimple_result {
    guard("sipsimple_session_connect", || {
        let session = resolve(session)?;
        // SAFETY: API contract.
        let to = unsafe { borrow_str(to_uri, "to_uri") }?;
        // SAFETY: streams holds streams_count handles (API contract).
        let streams = unsafe { stream_list(streams, streams_count, "streams") }?;
        // SAFETY: API contract.
        let subject = unsafe { optional_str(subject, "subject") }?;
        if subject.is_some_and(|s| s.chars().any(char::is_control)) {
            return Err(FfiError::argument("subject contains control characters"));
        }
        session.connect_with_streams(to, streams, subject.map(str::to_owned))?;
        Ok(())
    })
}

/// `is_focus`: when `is_focus` is true, our Contact carries `isfocus`
/// (RFC 4579, we host a conference). Call it before `connect` or `accept`.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_session_set_is_focus(session: sipsimple_handle, is_focus: bool) -> sipsimple_result {
    guard("sipsimple_session_set_is_focus", || {
        resolve(session)?.set_is_focus(is_focus);
        Ok(())
    })
}

/// `send_ring_indication()`: answers an incoming session with 180 Ringing.
/// Allowed in state `incoming`.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_session_send_ring_indication(session: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_session_send_ring_indication", || {
        resolve(session)?.send_ring_indication()?;
        Ok(())
    })
}

/// `accept(streams)`: answers an incoming session (state `incoming`) with
/// the `streams_count` streams of `streams`, a subset of the proposed
/// streams (the others are refused). Posts `SIPSessionWillStart` and
/// `SIPSessionDidStart`, or `SIPSessionDidFail`. None of the streams
/// proposed: `SIPSIMPLE_RESULT_INVALID_ARGUMENT`; none of them could be set
/// up: the call is rejected with 488 and the result is
/// `SIPSIMPLE_RESULT_INVALID_STATE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_accept(
    session: sipsimple_handle,
    streams: *const sipsimple_handle,
    streams_count: usize,
) -> sipsimple_result {
    guard("sipsimple_session_accept", || {
        let session = resolve(session)?;
        // SAFETY: streams holds streams_count handles (API contract).
        let streams = unsafe { stream_list(streams, streams_count, "streams") }?;
        session.accept_streams(&streams)?;
        Ok(())
    })
}

/// `reject(code, reason)`: refuses an incoming session (state `incoming`)
/// with the failure status `code` (300-699; 0 selects 603 Decline) and the
/// phrase `reason` (optional: `NULL` uses the standard phrase of the code).
/// Posts `SIPSessionDidFail` on this side; the caller gets
/// `SIPSessionDidFail` with this `code`. Another code, or a reason with
/// control characters: `SIPSIMPLE_RESULT_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_reject(
    session: sipsimple_handle,
    code: u16,
    reason: *const c_char,
) -> sipsimple_result {
    guard("sipsimple_session_reject", || {
        let session = resolve(session)?;
        let code = failure_code(code, 603)?;
        // SAFETY: API contract.
        let reason = unsafe { reason_phrase(reason) }?;
        session.reject(code, reason)?;
        Ok(())
    })
}

/// `end()`: ends the session as its state asks (CANCEL while connecting,
/// 603 while incoming, BYE once connected); posts `SIPSessionWillEnd` and
/// `SIPSessionDidEnd` (or `SIPSessionDidFail` before it started). A new
/// session (state `None`) becomes `terminated`; ending a session that is
/// ending or ended already does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_session_end(session: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_session_end", || {
        resolve(session)?.end()?;
        Ok(())
    })
}

/// `hold()`: puts every stream that supports hold on hold and offers the
/// hold to the peer in a re-INVITE; `SIPSessionDidChangeHoldState` follows.
/// Needs a connected session with streams and no pending proposal.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_session_hold(session: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_session_hold", || {
        resolve(session)?.hold()?;
        Ok(())
    })
}

/// `unhold()`: the reverse of `sipsimple_session_hold`.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_session_unhold(session: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_session_unhold", || {
        resolve(session)?.unhold()?;
        Ok(())
    })
}

/// `add_stream(stream)`: proposes one more stream to the peer in a
/// re-INVITE (state `connected`). `SIPSessionGotAcceptProposal` (the stream
/// is then among the session's streams) or `SIPSessionGotRejectProposal`
/// follows.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_session_add_stream(
    session: sipsimple_handle,
    stream: sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_session_add_stream", || {
        let session = resolve(session)?;
        let stream = media_stream(stream)?;
        session.add_stream(stream)?;
        Ok(())
    })
}

/// `remove_stream(stream)`: removes an active stream of the session by a
/// re-INVITE that disables its m-line; the stream ends at once, even if the
/// peer refuses.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_session_remove_stream(
    session: sipsimple_handle,
    stream: sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_session_remove_stream", || {
        let session = resolve(session)?;
        let stream = media_stream(stream)?;
        session.remove_stream(&stream)?;
        Ok(())
    })
}

/// `accept_proposal(streams)`: accepts the peer's proposal of new streams
/// (state `received_proposal`) with the `streams_count` streams of
/// `streams`, a subset of the proposed streams (the others are refused).
/// Posts `SIPSessionGotAcceptProposal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_accept_proposal(
    session: sipsimple_handle,
    streams: *const sipsimple_handle,
    streams_count: usize,
) -> sipsimple_result {
    guard("sipsimple_session_accept_proposal", || {
        let session = resolve(session)?;
        // SAFETY: streams holds streams_count handles (API contract).
        let streams = unsafe { stream_list(streams, streams_count, "streams") }?;
        session.accept_proposal_streams(&streams)?;
        Ok(())
    })
}

/// `reject_proposal(code, reason)`: declines the peer's proposal (state
/// `received_proposal`) with `code` (300-699; 0 selects 488) and `reason`
/// (optional: `NULL` uses the standard phrase). Posts
/// `SIPSessionGotRejectProposal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_reject_proposal(
    session: sipsimple_handle,
    code: u16,
    reason: *const c_char,
) -> sipsimple_result {
    guard("sipsimple_session_reject_proposal", || {
        let session = resolve(session)?;
        let code = failure_code(code, 488)?;
        // SAFETY: API contract.
        let reason = unsafe { reason_phrase(reason) }?;
        session.reject_proposal(code, reason)?;
        Ok(())
    })
}

/// `cancel_proposal()`: withdraws our pending proposal (state
/// `sending_proposal`); `SIPSessionGotRejectProposal` with `code` 487
/// follows.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_session_cancel_proposal(session: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_session_cancel_proposal", || {
        resolve(session)?.cancel_proposal()?;
        Ok(())
    })
}

/// `*out` receives the session's `state` (owned: free it with
/// `sipsimple_string_free`): `None` (new), `connecting`, `incoming`,
/// `accepting`, `connected`, `sending_proposal`, `received_proposal`,
/// `terminating` or `terminated`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_state(session: sipsimple_handle, out: *mut *mut c_char) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_session_state",
            || resolve(session),
            out,
            |s| Some(s.state().name().to_owned()),
        )
    }
}

/// `*out` receives the session's `direction`, `incoming` or `outgoing`
/// (owned: free it with `sipsimple_string_free`), or `NULL` before
/// `sipsimple_session_connect`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_direction(
    session: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_session_direction",
            || resolve(session),
            out,
            |s| s.direction().map(str::to_owned),
        )
    }
}

/// `*out` receives the SIP `transport` of the session, `udp`, `tcp` or
/// `tls` (owned: free it with `sipsimple_string_free`), or `NULL` before
/// the route is known.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_transport(
    session: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_session_transport",
            || resolve(session),
            out,
            |s| s.transport().map(str::to_owned),
        )
    }
}

/// `*out` receives the session's `local_identity`, our address as in a
/// From header (`"Alice" <sip:alice@example.com>`; owned: free it with
/// `sipsimple_string_free`). Never `NULL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_local_identity(
    session: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_session_local_identity",
            || resolve(session),
            out,
            |s| Some(s.local_identity()),
        )
    }
}

/// `*out` receives the session's `remote_identity`, the peer's address
/// (the To of our INVITE, the From of theirs; owned: free it with
/// `sipsimple_string_free`), or `NULL` before it is known.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_remote_identity(
    session: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute("sipsimple_session_remote_identity", || resolve(session), out, |s| s.remote_identity())
    }
}

/// `*out` receives the peer's User-Agent (`remote_user_agent`; owned: free
/// it with `sipsimple_string_free`), or `NULL` while it is not known (a
/// peer may never send one).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_remote_user_agent(
    session: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_session_remote_user_agent",
            || resolve(session),
            out,
            |s| s.remote_user_agent(),
        )
    }
}

/// Seconds since the Unix epoch, 0 for none.
fn seconds(time: Option<SystemTime>) -> f64 {
    time.map(unix_seconds).unwrap_or(0.0)
}

/// `*out` receives the session's `start_time` (`SIPSessionDidStart`) in
/// seconds since the Unix epoch, or 0 before it started.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_start_time(session: sipsimple_handle, out: *mut f64) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe { write_attribute("sipsimple_session_start_time", || resolve(session), out, |s| seconds(s.start_time())) }
}

/// `*out` receives the session's `stop_time` (when it ended or failed) in
/// seconds since the Unix epoch, or 0 while it has not.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_stop_time(session: sipsimple_handle, out: *mut f64) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe { write_attribute("sipsimple_session_stop_time", || resolve(session), out, |s| seconds(s.stop_time())) }
}

/// `*out` receives the session's `on_hold`: whether some stream is on hold,
/// by either side.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_on_hold(session: sipsimple_handle, out: *mut bool) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe { write_attribute("sipsimple_session_on_hold", || resolve(session), out, |s| s.on_hold()) }
}

/// `*out` receives the handle of the session's `account`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_account(
    session: sipsimple_handle,
    out: *mut sipsimple_handle,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe { write_attribute("sipsimple_session_account", || resolve(session), out, |s| s.account().handle().raw()) }
}

/// Fills `handles` (room for `len` handles) with the session's active
/// `streams` and sets `*out_count` to their number. If `len` is too small,
/// `*out_count` still receives the number needed, `handles` is not written
/// and the result is `SIPSIMPLE_RESULT_BUFFER_TOO_SMALL` (`handles` may be
/// `NULL` with `len` 0 to ask for the number).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_streams(
    session: sipsimple_handle,
    handles: *mut sipsimple_handle,
    len: usize,
    out_count: *mut usize,
) -> sipsimple_result {
    guard("sipsimple_session_streams", || {
        let session = resolve(session)?;
        let streams = raw_handles(&session.streams());
        // SAFETY: API contract.
        unsafe { fill_handles(handles, len, out_count, &streams, "stream handles") }
    })
}

/// Fills `handles` (room for `len` handles) with the session's
/// `proposed_streams`, the streams of the pending offer (ours while
/// connecting, the peer's while incoming or with a received proposal), and
/// sets `*out_count` to their number (0 when no offer is pending). The
/// buffer is handled as by `sipsimple_session_streams`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_proposed_streams(
    session: sipsimple_handle,
    handles: *mut sipsimple_handle,
    len: usize,
    out_count: *mut usize,
) -> sipsimple_result {
    guard("sipsimple_session_proposed_streams", || {
        let session = resolve(session)?;
        let streams = raw_handles(&session.proposed_streams());
        // SAFETY: API contract.
        unsafe { fill_handles(handles, len, out_count, &streams, "stream handles") }
    })
}

/// `SessionManager().sessions`: fills `handles` (room for `len` handles)
/// with the sessions that are neither new (state `None`) nor terminated and
/// sets `*out_count` to their number. The buffer is handled as by
/// `sipsimple_session_streams`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_session_manager_sessions(
    handles: *mut sipsimple_handle,
    len: usize,
    out_count: *mut usize,
) -> sipsimple_result {
    guard("sipsimple_session_manager_sessions", || {
        let sessions: Vec<sipsimple_handle> =
            SessionManager::instance().sessions().iter().map(|s| s.handle().raw()).collect();
        // SAFETY: API contract.
        unsafe { fill_handles(handles, len, out_count, &sessions, "session handles") }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::{null, null_mut};

    #[test]
    fn session_handles_are_checked() {
        let settings = sipsimple_core::SIPSimpleSettings::instance().handle().raw();
        let mut s = null_mut();
        let mut count = 9usize;
        let mut t = 1.0;
        for bad in [0u64, 1, 0xdead_beef, u64::MAX, settings, 0x0f00_0000_0000_0001] {
            assert_eq!(unsafe { sipsimple_session_state(bad, &mut s) }, sipsimple_result::InvalidHandle);
            assert_eq!(sipsimple_session_end(bad), sipsimple_result::InvalidHandle);
            assert_eq!(unsafe { sipsimple_session_reject(bad, 486, null()) }, sipsimple_result::InvalidHandle);
            assert_eq!(unsafe { sipsimple_session_start_time(bad, &mut t) }, sipsimple_result::InvalidHandle);
            assert_eq!(
                unsafe { sipsimple_session_streams(bad, null_mut(), 0, &mut count) },
                sipsimple_result::InvalidHandle
            );
            let to = c"sip:bob@127.0.0.1";
            assert_eq!(
                unsafe { sipsimple_session_connect(bad, to.as_ptr(), null(), 0, null()) },
                sipsimple_result::InvalidHandle
            );
        }
        assert!(s.is_null());
        assert_eq!((count, t), (9, 1.0));
        let mut h = 0;
        assert_eq!(unsafe { sipsimple_session_new(settings, &mut h) }, sipsimple_result::InvalidHandle);
        assert_eq!(h, 0);
    }

    #[test]
    fn failure_codes() {
        assert_eq!(failure_code(0, 603).unwrap(), 603);
        assert_eq!(failure_code(486, 603).unwrap(), 486);
        assert_eq!(failure_code(699, 488).unwrap(), 699);
        for bad in [1, 200, 299, 700, u16::MAX] {
            assert!(failure_code(bad, 603).is_err(), "{bad}");
        }
        assert!(unsafe { reason_phrase(c"Busy\r\nX: y".as_ptr()) }.is_err());
        assert_eq!(unsafe { reason_phrase(c"Busy Here".as_ptr()) }.unwrap(), Some("Busy Here"));
        assert_eq!(unsafe { reason_phrase(null()) }.unwrap(), None);
    }
}
