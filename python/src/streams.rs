//! Media streams: the RTP `AudioStream`, the conversion of stream handles
//! into core stream objects for sessions, and [`detached`], the GIL-free
//! call of a core object's method the session and audio classes share.

use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use sipsimple_core::Account;
use sipsimple_core::handle::{self, Handle, ObjectKind};
use sipsimple_core::streams::{AudioStream, MediaStream};

use crate::errors::CoreResultExt;
use crate::values::PyHandle;

/// Runs `call` on (a clone of) `inner` with the GIL released and maps a
/// core error onto its Python exception.
pub fn detached<T: ?Sized, R: Send>(
    py: Python<'_>,
    inner: &Arc<T>,
    call: impl FnOnce(&Arc<T>) -> sipsimple_core::Result<R> + Send,
) -> PyResult<R>
where
    Arc<T>: Send,
{
    let inner = Arc::clone(inner);
    py.detach(move || call(&inner)).py_err(py)
}

/// The account behind an account handle; `ValueError` if it is none (or gone).
pub fn account_of(handle: &PyHandle) -> PyResult<Arc<Account>> {
    let h = handle.handle();
    let kind = h
        .try_kind()
        .filter(|k| matches!(k, ObjectKind::Account | ObjectKind::BonjourAccount))
        .ok_or_else(|| PyTypeError::new_err("not an account"))?;
    handle::resolve::<Account>(h, kind).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The core stream behind a stream handle; `TypeError` for a handle of
/// another kind, `ValueError` for a stale one.
pub fn stream_of(handle: &PyHandle) -> PyResult<Arc<dyn MediaStream>> {
    let h = handle.handle();
    match h.try_kind() {
        Some(ObjectKind::AudioStream) => handle::resolve::<AudioStream>(h, ObjectKind::AudioStream)
            .map(|s| s as Arc<dyn MediaStream>)
            .map_err(|e| PyValueError::new_err(e.to_string())),
        Some(ObjectKind::ChatStream) => {
            handle::resolve::<sipsimple_core::streams::ChatStream>(h, ObjectKind::ChatStream)
                .map(|s| s as Arc<dyn MediaStream>)
                .map_err(|e| PyValueError::new_err(e.to_string()))
        }
        Some(ObjectKind::FileTransferStream) => {
            handle::resolve::<sipsimple_core::streams::FileTransferStream>(h, ObjectKind::FileTransferStream)
                .map(|s| s as Arc<dyn MediaStream>)
                .map_err(|e| PyValueError::new_err(e.to_string()))
        }
        Some(ObjectKind::DesktopSharingStream) => {
            handle::resolve::<sipsimple_core::streams::DesktopSharingStream>(h, ObjectKind::DesktopSharingStream)
                .map(|s| s as Arc<dyn MediaStream>)
                .map_err(|e| PyValueError::new_err(e.to_string()))
        }
        _ => Err(PyTypeError::new_err(format!("{} is not a media stream", handle_kind(h)))),
    }
}

/// The core streams behind `handles`.
pub fn streams_of(handles: &[PyHandle]) -> PyResult<Vec<Arc<dyn MediaStream>>> {
    handles.iter().map(stream_of).collect()
}

/// The handles of `streams`.
pub fn handles_of(streams: &[Arc<dyn MediaStream>]) -> Vec<PyHandle> {
    streams.iter().map(|s| PyHandle::new(s.handle())).collect()
}

fn handle_kind(h: Handle) -> &'static str {
    h.try_kind().map(|k| k.name()).unwrap_or("Unknown")
}

/// One RTP audio stream (`sipsimple.streams.rtp.AudioStream`).
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreAudioStream {
    inner: Arc<AudioStream>,
}

impl CoreAudioStream {
    /// The core stream.
    pub fn inner(&self) -> &Arc<AudioStream> {
        &self.inner
    }
}

#[pymethods]
impl CoreAudioStream {
    /// A new audio stream for sessions of the account `account` (a handle).
    #[staticmethod]
    fn new(account: &PyHandle) -> PyResult<CoreAudioStream> {
        Ok(CoreAudioStream { inner: AudioStream::new(&account_of(account)?) })
    }
    /// The audio stream behind a handle, `None` if it is no (live) audio stream.
    #[staticmethod]
    fn resolve(handle: &PyHandle) -> Option<CoreAudioStream> {
        handle::resolve::<AudioStream>(handle.handle(), ObjectKind::AudioStream)
            .ok()
            .map(|inner| CoreAudioStream { inner })
    }
    /// The stream's handle (the sender of its notifications).
    #[getter]
    fn handle(&self) -> PyHandle {
        PyHandle::new(self.inner.handle())
    }
    /// The handle of the account the stream belongs to.
    #[getter]
    fn account(&self) -> PyHandle {
        PyHandle::new(self.inner.account().handle())
    }
    /// Whether the stream supports hold (always true).
    #[getter]
    fn hold_supported(&self) -> bool {
        self.inner.hold_supported()
    }
    /// Held by us.
    #[getter]
    fn on_hold_by_local(&self) -> bool {
        self.inner.on_hold_by_local()
    }
    /// Held by the peer.
    #[getter]
    fn on_hold_by_remote(&self) -> bool {
        self.inner.on_hold_by_remote()
    }
    /// Held by either side.
    #[getter]
    fn on_hold(&self) -> bool {
        self.inner.on_hold()
    }
    /// The negotiated sample rate, once started.
    #[getter]
    fn sample_rate(&self) -> Option<u32> {
        self.inner.sample_rate()
    }
    /// The negotiated codec, once started.
    #[getter]
    fn codec(&self) -> Option<&'static str> {
        self.inner.codec()
    }
    /// Whether SRTP protects the media.
    #[getter]
    fn srtp_active(&self) -> bool {
        self.inner.srtp_active()
    }
    /// The local RTP address, once initialized.
    #[getter]
    fn local_rtp_address(&self) -> Option<String> {
        self.inner.local_rtp_address().map(|a| a.to_string())
    }
    /// The local RTP port, once initialized.
    #[getter]
    fn local_rtp_port(&self) -> Option<u16> {
        self.inner.local_rtp_port()
    }
    /// `(address, port)` the peer's SDP names for RTP, once started.
    #[getter]
    fn remote_rtp_sdp(&self) -> Option<(String, u16)> {
        self.inner.remote_rtp_address_sdp().map(|a| (a.ip().to_string(), a.port()))
    }
    /// `(address, port)` the peer's RTP comes from, once some arrived.
    #[getter]
    fn remote_rtp_received(&self) -> Option<(String, u16)> {
        self.inner.remote_rtp_address_received().map(|a| (a.ip().to_string(), a.port()))
    }
    /// The WAV file being recorded, if any.
    #[getter]
    fn recording_filename(&self) -> Option<String> {
        self.inner.recording_filename().map(|p| p.display().to_string())
    }
    /// The stream's slot on the voice mixer, once initialized.
    #[getter]
    fn slot(&self) -> Option<u32> {
        self.inner.slot()
    }
    /// RTP and jitter-buffer counters, as a dict of integers.
    #[getter]
    fn statistics(&self) -> std::collections::BTreeMap<&'static str, u64> {
        let s = self.inner.statistics();
        let mut out = std::collections::BTreeMap::new();
        out.insert("packets_sent", s.rtp.packets_sent);
        out.insert("bytes_sent", s.rtp.bytes_sent);
        out.insert("packets_received", s.rtp.packets_received);
        out.insert("bytes_received", s.rtp.bytes_received);
        out.insert("packets_lost", s.rtp.packets_lost);
        out.insert("srtp_failures", s.rtp.srtp_failures);
        out.insert("frames_played", s.jitter.played);
        out.insert("frames_lost", s.jitter.lost);
        out.insert("frames_late", s.jitter.late);
        out.insert("frames_discarded", s.jitter.discarded);
        out.insert("frames_other", s.jitter.other);
        out
    }
    /// Sends one DTMF digit (`0-9`, `*`, `#`, `A-D`). `ValueError` for
    /// another character, `RuntimeError` unless the stream is started and
    /// the peer accepted telephone events.
    fn send_dtmf(&self, py: Python<'_>, digit: &str) -> PyResult<()> {
        let mut chars = digit.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return Err(PyValueError::new_err(format!("{digit:?} is not one DTMF digit")));
        };
        self.inner.send_dtmf(c).py_err(py)
    }
    /// Records the call into the WAV file `filename` (GIL released).
    fn start_recording(&self, py: Python<'_>, filename: std::path::PathBuf) -> PyResult<()> {
        detached(py, &self.inner, |s| s.start_recording(filename))
    }
    /// Completes the recording (GIL released); nothing when not recording.
    fn stop_recording(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, &self.inner, |s| s.stop_recording())
    }
    fn __repr__(&self) -> String {
        format!("<CoreAudioStream {:?}>", self.inner.handle())
    }
}
