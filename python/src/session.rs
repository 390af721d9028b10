//! Sessions: `Session` objects and the `SessionManager`.
//!
//! Streams travel as handles both ways: [`CoreSession`] methods take the
//! handles of the streams (resolved here), and `streams` /
//! `proposed_streams` return handles the Python package turns into its
//! stream objects.

use std::sync::Arc;
use std::time::SystemTime;

use pyo3::prelude::*;
use sipsimple_core::Value;
use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::session::{Session, SessionManager};

use crate::streams::{account_of, detached, handles_of, stream_of, streams_of};
use crate::values::{PyHandle, value_to_py};

/// One INVITE session.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreSession {
    inner: Arc<Session>,
}

fn handles(streams: &[Bound<'_, PyHandle>]) -> Vec<PyHandle> {
    streams.iter().map(|h| *h.get()).collect()
}

fn time_to_py(py: Python<'_>, time: Option<SystemTime>) -> PyResult<Option<Bound<'_, PyAny>>> {
    time.map(|t| value_to_py(py, &Value::Timestamp(t))).transpose()
}

#[pymethods]
impl CoreSession {
    /// A new session (state `None`) of the account `account` (a handle).
    #[staticmethod]
    fn new(account: &PyHandle) -> PyResult<CoreSession> {
        Ok(CoreSession { inner: Session::new(&account_of(account)?) })
    }
    /// The session behind a handle, `None` if it is no (live) session.
    #[staticmethod]
    fn resolve(handle: &PyHandle) -> Option<CoreSession> {
        handle::resolve::<Session>(handle.handle(), ObjectKind::Session).ok().map(|inner| CoreSession { inner })
    }
    /// The handles of the sessions that are neither new nor terminated.
    #[staticmethod]
    fn sessions(py: Python<'_>) -> Vec<PyHandle> {
        py.detach(|| SessionManager::instance().sessions()).into_iter().map(|s| PyHandle::new(s.handle())).collect()
    }
    /// The session's handle (the sender of its notifications).
    #[getter]
    fn handle(&self) -> PyHandle {
        PyHandle::new(self.inner.handle())
    }
    /// The handle of the session's account.
    #[getter]
    fn account(&self) -> PyHandle {
        PyHandle::new(self.inner.account().handle())
    }
    /// The state: `None`, `connecting`, `incoming`, ... `terminated`.
    #[getter]
    fn state(&self) -> Option<&'static str> {
        match self.inner.state().name() {
            "None" => None,
            name => Some(name),
        }
    }
    /// `incoming`, `outgoing`, or `None` before either.
    #[getter]
    fn direction(&self) -> Option<&'static str> {
        self.inner.direction()
    }
    /// `udp`, `tcp` or `tls`, once the route is known.
    #[getter]
    fn transport(&self) -> Option<&'static str> {
        self.inner.transport()
    }
    /// When the session started, as a naive local `datetime`.
    #[getter]
    fn start_time<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        time_to_py(py, self.inner.start_time())
    }
    /// When the session ended or failed, as a naive local `datetime`.
    #[getter]
    fn stop_time<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        time_to_py(py, self.inner.stop_time())
    }
    /// Some stream is on hold, by either side.
    #[getter]
    fn on_hold(&self) -> bool {
        self.inner.on_hold()
    }
    /// The peer's User-Agent, once known.
    #[getter]
    fn remote_user_agent(&self) -> Option<String> {
        self.inner.remote_user_agent()
    }
    /// Our address (`"Alice" <sip:alice@example.com>`).
    #[getter]
    fn local_identity(&self) -> String {
        self.inner.local_identity()
    }
    /// The peer's address, once known.
    #[getter]
    fn remote_identity(&self) -> Option<String> {
        self.inner.remote_identity()
    }
    /// The handles of the active streams.
    #[getter]
    fn streams(&self) -> Vec<PyHandle> {
        handles_of(&self.inner.streams())
    }
    /// The handles of the streams of the pending offer.
    #[getter]
    fn proposed_streams(&self) -> Vec<PyHandle> {
        handles_of(&self.inner.proposed_streams())
    }
    /// Calls `to` (a SIP URI) offering `streams` (handles); returns at once.
    #[pyo3(signature = (to, streams, subject=None))]
    fn connect(
        &self,
        py: Python<'_>,
        to: String,
        streams: Vec<Bound<'_, PyHandle>>,
        subject: Option<String>,
    ) -> PyResult<()> {
        let streams = streams_of(&handles(&streams))?;
        detached(py, &self.inner, |s| s.connect_with_streams(&to, streams, subject))
    }
    /// Marks our Contact with `isfocus` (RFC 4579); call before connect or accept.
    fn set_is_focus(&self, is_focus: bool) {
        self.inner.set_is_focus(is_focus);
    }
    /// Sends 180 Ringing.
    fn send_ring_indication(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, &self.inner, |s| s.send_ring_indication())
    }
    /// Answers the incoming offer with `streams` (handles of proposed streams).
    fn accept(&self, py: Python<'_>, streams: Vec<Bound<'_, PyHandle>>) -> PyResult<()> {
        let streams = streams_of(&handles(&streams))?;
        detached(py, &self.inner, |s| s.accept_streams(&streams))
    }
    /// Rejects the incoming session with `code` and `reason`.
    #[pyo3(signature = (code=603, reason=None))]
    fn reject(&self, py: Python<'_>, code: u16, reason: Option<String>) -> PyResult<()> {
        detached(py, &self.inner, |s| s.reject(code, reason.as_deref()))
    }
    /// Ends the session (CANCEL, decline or BYE).
    fn end(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, &self.inner, |s| s.end())
    }
    /// Puts the streams on hold.
    fn hold(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, &self.inner, |s| s.hold())
    }
    /// Takes the streams off hold.
    fn unhold(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, &self.inner, |s| s.unhold())
    }
    /// Proposes one more stream (a handle).
    fn add_stream(&self, py: Python<'_>, stream: Bound<'_, PyHandle>) -> PyResult<()> {
        let stream = stream_of(stream.get())?;
        detached(py, &self.inner, |s| s.add_stream(stream))
    }
    /// Removes an active stream (a handle).
    fn remove_stream(&self, py: Python<'_>, stream: Bound<'_, PyHandle>) -> PyResult<()> {
        let stream = stream_of(stream.get())?;
        detached(py, &self.inner, |s| s.remove_stream(&stream))
    }
    /// Accepts the peer's proposal with `streams` (handles).
    fn accept_proposal(&self, py: Python<'_>, streams: Vec<Bound<'_, PyHandle>>) -> PyResult<()> {
        let streams = streams_of(&handles(&streams))?;
        detached(py, &self.inner, |s| s.accept_proposal_streams(&streams))
    }
    /// Rejects the peer's proposal.
    #[pyo3(signature = (code=488, reason=None))]
    fn reject_proposal(&self, py: Python<'_>, code: u16, reason: Option<String>) -> PyResult<()> {
        detached(py, &self.inner, |s| s.reject_proposal(code, reason.as_deref()))
    }
    /// Cancels our pending proposal.
    fn cancel_proposal(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, &self.inner, |s| s.cancel_proposal())
    }
    fn __repr__(&self) -> String {
        format!("<CoreSession {:?}>", self.inner.handle())
    }
}
