//! Media streams (`sipsimple.streams`): the functions every stream handle
//! takes (`sipsimple_stream_*`) and the RTP `AudioStream`
//! (`sipsimple_audio_stream_*`).
//!
//! Stream handles come from `sipsimple_audio_stream_new` (streams offered
//! by `sipsimple_session_connect`) or from the `streams` field of session
//! notifications (`SIPSessionNewIncoming` lists the streams the peer
//! proposed; read it with `sipsimple_notification_get_handles`). They need
//! no freeing: they stay valid as long as their session's handle (see
//! `sipsimple_session_new`). An attribute that is not known yet (before the stream
//! started) is reported as `NULL` for strings and `0` for numbers.

use std::ffi::c_char;
use std::sync::Arc;

use sipsimple_core::streams::{AudioStream, MediaStream};
use sipsimple_core::{Handle, ObjectKind};

use crate::objects;
use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::strings::{Out, borrow_str};

/// Resolves a handle of any media stream kind.
pub(crate) fn media_stream(raw: sipsimple_handle) -> Result<Arc<dyn MediaStream>, FfiError> {
    match Handle::from_raw(raw).try_kind() {
        Some(ObjectKind::AudioStream) if raw != 0 => {
            let stream: Arc<dyn MediaStream> = objects::resolve::<AudioStream>(raw, ObjectKind::AudioStream)?;
            Ok(stream)
        }
        Some(ObjectKind::ChatStream) if raw != 0 => {
            let stream: Arc<dyn MediaStream> = crate::chat::chat_stream(raw)?;
            Ok(stream)
        }
        Some(ObjectKind::FileTransferStream) if raw != 0 => {
            let stream: Arc<dyn MediaStream> = crate::file_transfer::file_transfer_stream(raw)?;
            Ok(stream)
        }
        Some(ObjectKind::DesktopSharingStream) if raw != 0 => {
            let stream: Arc<dyn MediaStream> = crate::desktop_sharing::desktop_sharing_stream(raw)?;
            Ok(stream)
        }
        _ => Err(FfiError::handle(
            "expected a media stream handle (AudioStream, ChatStream, FileTransferStream, DesktopSharingStream)",
        )),
    }
}

/// Resolves an `AudioStream` handle.
fn audio_stream(raw: sipsimple_handle) -> Result<Arc<AudioStream>, FfiError> {
    objects::resolve::<AudioStream>(raw, ObjectKind::AudioStream)
}

/// The streams named by the array `streams` of `count` handles (`NULL` is
/// accepted when `count` is 0).
///
/// # Safety
/// `streams` is NULL or points to `count` readable handles.
pub(crate) unsafe fn stream_list(
    streams: *const sipsimple_handle,
    count: usize,
    name: &'static str,
) -> Result<Vec<Arc<dyn MediaStream>>, FfiError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if streams.is_null() {
        return Err(FfiError::NullArgument(name));
    }
    // SAFETY: streams holds `count` handles (caller contract).
    let raw = unsafe { std::slice::from_raw_parts(streams, count) };
    raw.iter().map(|&h| media_stream(h)).collect()
}

/// Fills `handles` (room for `len`) with `items` and sets `*out_count` to
/// their number; `BufferTooSmall` (with `*out_count` still written, `handles`
/// untouched) when they do not fit. `what` names the items in the message.
///
/// # Safety
/// `handles` is NULL or has room for `len` handles; `out_count` is NULL or
/// writable.
pub(crate) unsafe fn fill_handles(
    handles: *mut sipsimple_handle,
    len: usize,
    out_count: *mut usize,
    items: &[sipsimple_handle],
    what: &str,
) -> Result<(), FfiError> {
    let out = Out::new(out_count, "out_count")?;
    // SAFETY: out is a writable size_t (caller contract).
    unsafe { out.write(items.len()) };
    if items.len() > len || (handles.is_null() && !items.is_empty()) {
        return Err(FfiError::BufferTooSmall(format!("{} {what} need room, {len} given", items.len())));
    }
    for (i, &h) in items.iter().enumerate() {
        // SAFETY: handles has room for `len` >= items.len() handles (caller contract).
        unsafe { handles.add(i).write(h) };
    }
    Ok(())
}

/// Writes `text`, or NULL when it is `None`, to a `char **` out-parameter.
///
/// # Safety
/// As for [`Out::write`].
pub(crate) unsafe fn write_optional_string(out: Out<*mut c_char>, text: Option<String>) -> Result<(), FfiError> {
    match text {
        // SAFETY: forwarded contract.
        Some(text) => unsafe { out.write_string(text) },
        None => {
            // SAFETY: forwarded contract.
            unsafe { out.write(std::ptr::null_mut()) };
            Ok(())
        }
    }
}

/// The body of an attribute getter: `*out` receives `value(&object)` for
/// the object `resolve` finds.
///
/// # Safety
/// `out` is `NULL` or writable (the getter's API contract).
pub(crate) unsafe fn write_attribute<S: ?Sized, T>(
    function: &'static str,
    resolve: impl FnOnce() -> Result<Arc<S>, FfiError>,
    out: *mut T,
    value: impl FnOnce(&S) -> T,
) -> sipsimple_result {
    guard(function, || {
        let object = resolve()?;
        let out = Out::new(out, "out")?;
        // SAFETY: out is writable (forwarded contract).
        unsafe { out.write(value(&object)) };
        Ok(())
    })
}

/// The body of a string attribute getter: `*out` receives `value(&object)`
/// (owned: freed with `sipsimple_string_free`), or `NULL` for `None`.
///
/// # Safety
/// As for [`write_attribute`].
pub(crate) unsafe fn write_string_attribute<S: ?Sized>(
    function: &'static str,
    resolve: impl FnOnce() -> Result<Arc<S>, FfiError>,
    out: *mut *mut c_char,
    value: impl FnOnce(&S) -> Option<String>,
) -> sipsimple_result {
    guard(function, || {
        let object = resolve()?;
        let out = Out::new(out, "out")?;
        // SAFETY: out is writable (forwarded contract).
        unsafe { write_optional_string(out, value(&object)) }
    })
}

/// `*out` receives the stream's `type`: `"audio"` for an `AudioStream`,
/// `"chat"` for a `ChatStream` (owned: free it with `sipsimple_string_free`). Accepts a handle of any
/// stream kind.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_stream_type(stream: sipsimple_handle, out: *mut *mut c_char) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_stream_type",
            || media_stream(stream),
            out,
            |s| Some(s.stream_type().to_owned()),
        )
    }
}

/// `*out` receives the stream's `on_hold`: whether it is on hold, by either
/// side. Accepts a handle of any stream kind.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_stream_on_hold(stream: sipsimple_handle, out: *mut bool) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe { write_attribute("sipsimple_stream_on_hold", || media_stream(stream), out, |s| s.on_hold()) }
}

/// `AudioStream(account)`: `*out_stream` receives the handle of a new RTP
/// audio stream for a session of `account` (an Account or BonjourAccount
/// handle), to offer with `sipsimple_session_connect` or
/// `sipsimple_session_add_stream`. Its codecs and SRTP policy come from the
/// account's `rtp` settings when the session initializes it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_new(
    account: sipsimple_handle,
    out_stream: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_audio_stream_new", || {
        let account = objects::account(account)?;
        let out = Out::new(out_stream, "out_stream")?;
        let stream = AudioStream::new(&account);
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(stream.handle().raw()) };
        Ok(())
    })
}

/// `*out` receives the handle of the stream's `bridge`: it holds the voice
/// device and, while the stream runs, the stream itself, so a port added
/// to it (a `WavePlayer` of the voice mixer, say) is heard by the peer, and
/// a `WaveRecorder` added to it records the call.
/// `SIPSIMPLE_RESULT_INVALID_STATE` before the session initialized the
/// stream and after it ended.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_bridge(
    stream: sipsimple_handle,
    out: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_audio_stream_bridge", || {
        let stream = audio_stream(stream)?;
        let out = Out::new(out, "out")?;
        let bridge = stream.bridge().ok_or_else(|| {
            FfiError::Core(sipsimple_core::Error::InvalidState(
                "the audio stream has no bridge: it is not initialized, or it ended".into(),
            ))
        })?;
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(bridge.handle().raw()) };
        Ok(())
    })
}

/// `*out` receives the negotiated codec's name (`PCMU`, `PCMA`, `G722`,
/// `opus`...; owned: free it with `sipsimple_string_free`), or `NULL` before
/// the stream started.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_codec(
    stream: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_audio_stream_codec",
            || audio_stream(stream),
            out,
            |s| s.codec().map(str::to_owned),
        )
    }
}

/// `*out` receives the negotiated codec's sample rate in Hz, or 0 before
/// the stream started.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_sample_rate(
    stream: sipsimple_handle,
    out: *mut u32,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_attribute(
            "sipsimple_audio_stream_sample_rate",
            || audio_stream(stream),
            out,
            |s| s.sample_rate().unwrap_or(0),
        )
    }
}

/// `*out` receives whether SRTP protects the stream's media.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_srtp_active(
    stream: sipsimple_handle,
    out: *mut bool,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe { write_attribute("sipsimple_audio_stream_srtp_active", || audio_stream(stream), out, |s| s.srtp_active()) }
}

/// `*out` receives the local IP address our SDP gives for RTP (owned: free
/// it with `sipsimple_string_free`), or `NULL` before the session
/// initialized the stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_local_rtp_address(
    stream: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_audio_stream_local_rtp_address",
            || audio_stream(stream),
            out,
            |s| s.local_rtp_address().map(|a| a.to_string()),
        )
    }
}

/// `*out` receives our local RTP port (RTCP uses the next one), or 0 before
/// the session initialized the stream.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_local_rtp_port(
    stream: sipsimple_handle,
    out: *mut u16,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_attribute(
            "sipsimple_audio_stream_local_rtp_port",
            || audio_stream(stream),
            out,
            |s| s.local_rtp_port().unwrap_or(0),
        )
    }
}

/// `remote_rtp_address_sdp`: `*out` receives the IP address the peer's SDP
/// gives for RTP (owned: free it with `sipsimple_string_free`), or `NULL`
/// before the stream started.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_remote_rtp_address_sdp(
    stream: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_audio_stream_remote_rtp_address_sdp",
            || audio_stream(stream),
            out,
            |s| s.remote_rtp_address_sdp().map(|a| a.ip().to_string()),
        )
    }
}

/// `remote_rtp_port_sdp`: `*out` receives the RTP port the peer's SDP
/// gives, or 0 before the stream started.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_remote_rtp_port_sdp(
    stream: sipsimple_handle,
    out: *mut u16,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_attribute(
            "sipsimple_audio_stream_remote_rtp_port_sdp",
            || audio_stream(stream),
            out,
            |s| s.remote_rtp_address_sdp().map(|a| a.port()).unwrap_or(0),
        )
    }
}

/// `remote_rtp_address_received`: `*out` receives the IP address the
/// peer's RTP really comes from (owned: free it with
/// `sipsimple_string_free`), or `NULL` before any RTP arrived.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_remote_rtp_address_received(
    stream: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_string_attribute(
            "sipsimple_audio_stream_remote_rtp_address_received",
            || audio_stream(stream),
            out,
            |s| s.remote_rtp_address_received().map(|a| a.ip().to_string()),
        )
    }
}

/// `remote_rtp_port_received`: `*out` receives the port the peer's RTP
/// really comes from, or 0 before any RTP arrived.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_remote_rtp_port_received(
    stream: sipsimple_handle,
    out: *mut u16,
) -> sipsimple_result {
    // SAFETY: out is NULL or writable (API contract).
    unsafe {
        write_attribute(
            "sipsimple_audio_stream_remote_rtp_port_received",
            || audio_stream(stream),
            out,
            |s| s.remote_rtp_address_received().map(|a| a.port()).unwrap_or(0),
        )
    }
}

/// `*out` receives the absolute path of the WAV file being recorded (owned:
/// free it with `sipsimple_string_free`), or `NULL` when not recording.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_recording_filename(
    stream: sipsimple_handle,
    out: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_audio_stream_recording_filename", || {
        let stream = audio_stream(stream)?;
        let out = Out::new(out, "out")?;
        let name = match stream.recording_filename() {
            Some(path) => Some(
                path.into_os_string()
                    .into_string()
                    .map_err(|_| FfiError::argument("the recording's path is not valid UTF-8"))?,
            ),
            None => None,
        };
        // SAFETY: out is a writable char* (API contract).
        unsafe { write_optional_string(out, name) }
    })
}

/// `statistics`: `*out_json` receives the stream's counters as one JSON
/// object (owned: free it with `sipsimple_string_free`), all zero before it
/// started: `packets_sent`, `bytes_sent`, `packets_received`,
/// `bytes_received` (RTP payload bytes), `packets_lost` (of the peer's,
/// expected minus received), `packets_discarded` (unexpected source,
/// payload type or sequence), `srtp_failures` (authentication or replay
/// failures), `jitter_ms` (interarrival jitter), `rtt_ms` (round-trip time
/// from the peer's last report, or null), and the jitter buffer's
/// `frames_played`, `frames_lost` (missing when due), `frames_late`,
/// `frames_discarded` (thrown away), `frames_other` (playout ticks that
/// went to telephone events) and `underruns` (times the buffer ran empty
/// while playing). Everything the peer sent has been played out
/// once `frames_played + frames_lost + frames_discarded + frames_other`
/// reaches its `packets_sent`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_statistics(
    stream: sipsimple_handle,
    out_json: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_audio_stream_statistics", || {
        let stream = audio_stream(stream)?;
        let out = Out::new(out_json, "out_json")?;
        let s = stream.statistics();
        let json = serde_json::json!({
            "packets_sent": s.rtp.packets_sent,
            "bytes_sent": s.rtp.bytes_sent,
            "packets_received": s.rtp.packets_received,
            "bytes_received": s.rtp.bytes_received,
            "packets_lost": s.rtp.packets_lost,
            "packets_discarded": s.rtp.packets_discarded,
            "srtp_failures": s.rtp.srtp_failures,
            "jitter_ms": s.rtp.jitter.as_secs_f64() * 1000.0,
            "rtt_ms": s.rtp.rtt.map(|d| d.as_secs_f64() * 1000.0),
            "frames_played": s.jitter.played,
            "frames_lost": s.jitter.lost,
            "frames_late": s.jitter.late,
            "frames_discarded": s.jitter.discarded,
            "frames_other": s.jitter.other,
            "underruns": s.jitter.underruns,
        });
        // SAFETY: out is a writable char* (API contract).
        unsafe { out.write_string(json.to_string()) }
    })
}

/// `send_dtmf(digit)`: sends one DTMF digit (`'0'`-`'9'`, `'*'`, `'#'`,
/// `'A'`-`'D'`) as RFC 4733 telephone events; the peer posts
/// `AudioStreamGotDTMF` with `digit`. Another character is
/// `SIPSIMPLE_RESULT_INVALID_ARGUMENT`; a stream that has not started, or
/// whose peer did not accept `telephone-event`, is
/// `SIPSIMPLE_RESULT_INVALID_STATE`.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_audio_stream_send_dtmf(stream: sipsimple_handle, digit: c_char) -> sipsimple_result {
    guard("sipsimple_audio_stream_send_dtmf", || {
        let stream = audio_stream(stream)?;
        let byte = digit as u8;
        if !byte.is_ascii() {
            return Err(FfiError::argument(format!("byte {byte:#04x} is no DTMF digit (0-9, *, #, A-D)")));
        }
        stream.send_dtmf(char::from(byte))?;
        Ok(())
    })
}

/// `start_recording(filename)`: records the conversation (what the stream
/// sends mixed with what it receives) into a 16-bit mono WAV file at the
/// voice mixer's rate; missing directories are created and a relative
/// path is made absolute. Posts `AudioStreamWillStartRecordingAudio` and
/// `AudioStreamDidStartRecordingAudio` (with `filename`). The stream must
/// be initialized (its session is connecting or connected) and not
/// recording already (`SIPSIMPLE_RESULT_INVALID_STATE`). The file is
/// completed by `sipsimple_audio_stream_stop_recording` or when the stream
/// ends (`AudioStreamDidStopRecordingAudio`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_audio_stream_start_recording(
    stream: sipsimple_handle,
    filename: *const c_char,
) -> sipsimple_result {
    guard("sipsimple_audio_stream_start_recording", || {
        let stream = audio_stream(stream)?;
        // SAFETY: API contract.
        let filename = unsafe { borrow_str(filename, "filename") }?;
        if filename.is_empty() {
            return Err(FfiError::argument("filename is empty"));
        }
        stream.start_recording(filename)?;
        Ok(())
    })
}

/// `stop_recording()`: completes the WAV file being recorded, posting
/// `AudioStreamWillStopRecordingAudio` and
/// `AudioStreamDidStopRecordingAudio`. Does nothing when not recording.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_audio_stream_stop_recording(stream: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_audio_stream_stop_recording", || {
        audio_stream(stream)?.stop_recording()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::{null, null_mut};

    #[test]
    fn stream_handles_are_checked() {
        let settings = sipsimple_core::SIPSimpleSettings::instance().handle().raw();
        let mut s = null_mut();
        let mut port = 7u16;
        let mut b = false;
        for bad in [0u64, 1, 0xdead_beef, u64::MAX, settings, 0x1000_0000_0000_0001] {
            assert_eq!(unsafe { sipsimple_stream_type(bad, &mut s) }, sipsimple_result::InvalidHandle);
            assert_eq!(unsafe { sipsimple_stream_on_hold(bad, &mut b) }, sipsimple_result::InvalidHandle);
            assert_eq!(unsafe { sipsimple_audio_stream_codec(bad, &mut s) }, sipsimple_result::InvalidHandle);
            assert_eq!(
                unsafe { sipsimple_audio_stream_local_rtp_port(bad, &mut port) },
                sipsimple_result::InvalidHandle
            );
            assert_eq!(sipsimple_audio_stream_send_dtmf(bad, b'1' as c_char), sipsimple_result::InvalidHandle);
            assert_eq!(sipsimple_audio_stream_stop_recording(bad), sipsimple_result::InvalidHandle);
        }
        assert!(s.is_null());
        assert_eq!(port, 7);
        let mut h = 0;
        assert_eq!(unsafe { sipsimple_audio_stream_new(settings, &mut h) }, sipsimple_result::InvalidHandle);
        assert_eq!(unsafe { sipsimple_audio_stream_new(0, null_mut()) }, sipsimple_result::InvalidHandle);
        assert_eq!(h, 0);
        assert!(matches!(unsafe { stream_list(null(), 1, "streams") }, Err(FfiError::NullArgument("streams"))));
        assert!(unsafe { stream_list(null(), 0, "streams") }.unwrap().is_empty());
    }

    #[test]
    fn handle_buffers_report_the_needed_size() {
        let items = [5u64, 6, 7];
        let mut count = 0usize;
        let mut buf = [0u64; 2];
        let r = crate::result::guard("t", || unsafe {
            fill_handles(buf.as_mut_ptr(), buf.len(), &mut count, &items, "handles")
        });
        assert_eq!(r, sipsimple_result::BufferTooSmall);
        assert_eq!((count, buf), (3, [0, 0]));
        let r = crate::result::guard("t", || unsafe { fill_handles(null_mut(), 0, &mut count, &items, "handles") });
        assert_eq!(r, sipsimple_result::BufferTooSmall);
        let mut big = [0u64; 4];
        let r = crate::result::guard("t", || unsafe {
            fill_handles(big.as_mut_ptr(), big.len(), &mut count, &items, "handles")
        });
        assert_eq!(r, sipsimple_result::Ok);
        assert_eq!((count, big), (3, [5, 6, 7, 0]));
        let r = crate::result::guard("t", || unsafe { fill_handles(null_mut(), 0, &mut count, &[], "handles") });
        assert_eq!((r, count), (sipsimple_result::Ok, 0));
        let r = crate::result::guard("t", || unsafe { fill_handles(null_mut(), 0, null_mut(), &[], "handles") });
        assert_eq!(r, sipsimple_result::NullArgument);
    }
}
