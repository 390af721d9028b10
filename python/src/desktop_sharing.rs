//! Desktop sharing (RFB over MSRP): [`CoreDesktopSharingHandler`] (the
//! four handlers of `sipsimple.streams.msrp.screensharing`) and
//! [`CoreDesktopSharingStream`] (`DesktopSharingStream`).

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::streams::{DesktopSharingHandler, DesktopSharingStream, MediaStream};

use crate::errors::CoreResultExt;
use crate::streams::{account_of, detached};
use crate::values::PyHandle;

fn timeout(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| PyValueError::new_err(format!("connect_timeout {seconds} is no number of seconds")))
}

/// A desktop sharing handler: what produces and consumes the RFB data of a
/// desktop sharing stream (`InternalVNCViewerHandler`,
/// `InternalVNCServerHandler`, `ExternalVNCViewerHandler`,
/// `ExternalVNCServerHandler`).
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreDesktopSharingHandler {
    inner: Arc<DesktopSharingHandler>,
}

#[pymethods]
impl CoreDesktopSharingHandler {
    /// `InternalVNCViewerHandler()`: the application views.
    #[staticmethod]
    fn internal_viewer() -> CoreDesktopSharingHandler {
        CoreDesktopSharingHandler { inner: DesktopSharingHandler::internal_viewer() }
    }
    /// `InternalVNCServerHandler()`: the application shares its screen.
    #[staticmethod]
    fn internal_server() -> CoreDesktopSharingHandler {
        CoreDesktopSharingHandler { inner: DesktopSharingHandler::internal_server() }
    }
    /// `ExternalVNCViewerHandler`: listens on `host`:`port` now (port 0:
    /// the system picks); a VNC viewer must connect within
    /// `connect_timeout` seconds once the stream starts. `ValueError` when
    /// the address cannot be listened on.
    #[staticmethod]
    fn external_viewer(host: &str, port: u16, connect_timeout: f64) -> PyResult<CoreDesktopSharingHandler> {
        let inner = DesktopSharingHandler::external_viewer(host, port, timeout(connect_timeout)?)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(CoreDesktopSharingHandler { inner })
    }
    /// `ExternalVNCServerHandler`: connects to the VNC server at
    /// `host`:`port` once the stream starts, within `connect_timeout`
    /// seconds. `ValueError` for an empty host or port 0.
    #[staticmethod]
    fn external_server(host: &str, port: u16, connect_timeout: f64) -> PyResult<CoreDesktopSharingHandler> {
        let inner = DesktopSharingHandler::external_server(host, port, timeout(connect_timeout)?)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(CoreDesktopSharingHandler { inner })
    }
    /// The handler behind a handle, `None` if it is no (live) handler.
    #[staticmethod]
    fn resolve(handle: &PyHandle) -> Option<CoreDesktopSharingHandler> {
        handle::resolve::<DesktopSharingHandler>(handle.handle(), ObjectKind::DesktopSharingHandler)
            .ok()
            .map(|inner| CoreDesktopSharingHandler { inner })
    }
    /// The handler's handle (the sender of its notifications).
    #[getter]
    fn handle(&self) -> PyHandle {
        PyHandle::new(self.inner.handle())
    }
    /// The original's class name (`InternalVNCViewerHandler`...).
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind().name()
    }
    /// `"active"` for a viewer, `"passive"` for a server.
    #[getter]
    fn r#type(&self) -> &'static str {
        self.inner.handler_type()
    }
    /// `(ip, port)` listened on (external viewer) or connected to
    /// (external server); `None` for internal handlers.
    #[getter]
    fn address(&self) -> Option<(String, u16)> {
        self.inner.address()
    }
    /// Seconds an external handler waits for its VNC program.
    #[getter]
    fn connect_timeout(&self) -> f64 {
        self.inner.connect_timeout().as_secs_f64()
    }
    /// The handle of the stream the handler serves, if any.
    #[getter]
    fn stream(&self) -> Option<PyHandle> {
        self.inner.stream().map(PyHandle::new)
    }
    /// RFB bytes for the peer (internal handlers; queued until the stream
    /// starts). `RuntimeError` for an external handler, one that serves no
    /// stream, or once the stream ended.
    fn send(&self, py: Python<'_>, data: Vec<u8>) -> PyResult<()> {
        detached(py, &self.inner, move |h| h.send(data))
    }
    fn __repr__(&self) -> String {
        format!("<CoreDesktopSharingHandler {} {:?}>", self.inner.kind().name(), self.inner.handle())
    }
}

/// One desktop sharing stream
/// (`sipsimple.streams.msrp.screensharing.DesktopSharingStream`).
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreDesktopSharingStream {
    inner: Arc<DesktopSharingStream>,
}

#[pymethods]
impl CoreDesktopSharingStream {
    /// A new stream for sessions of the account `account` (a handle) whose
    /// RFB data `handler` produces and consumes. `RuntimeError` when the
    /// handler serves another stream or was used already.
    #[staticmethod]
    fn new(
        py: Python<'_>,
        account: &PyHandle,
        handler: &CoreDesktopSharingHandler,
    ) -> PyResult<CoreDesktopSharingStream> {
        let inner = DesktopSharingStream::new(&account_of(account)?, handler.inner.clone()).py_err(py)?;
        Ok(CoreDesktopSharingStream { inner })
    }
    /// The desktop sharing stream behind a handle, `None` if it is no
    /// (live) desktop sharing stream.
    #[staticmethod]
    fn resolve(handle: &PyHandle) -> Option<CoreDesktopSharingStream> {
        handle::resolve::<DesktopSharingStream>(handle.handle(), ObjectKind::DesktopSharingStream)
            .ok()
            .map(|inner| CoreDesktopSharingStream { inner })
    }
    /// The stream's handle (the sender of its notifications).
    #[getter]
    fn handle(&self) -> PyHandle {
        PyHandle::new(MediaStream::handle(&*self.inner))
    }
    /// The handle of the account the stream belongs to.
    #[getter]
    fn account(&self) -> PyHandle {
        PyHandle::new(self.inner.account().handle())
    }
    /// The handler.
    #[getter]
    fn handler(&self) -> CoreDesktopSharingHandler {
        CoreDesktopSharingHandler { inner: self.inner.handler() }
    }
    /// Replaces the handler before the stream starts. `ValueError` for a
    /// handler of the wrong role, `RuntimeError` once started or for a
    /// handler that serves another stream.
    fn set_handler(&self, py: Python<'_>, handler: &CoreDesktopSharingHandler) -> PyResult<()> {
        self.inner.set_handler(handler.inner.clone()).py_err(py)
    }
    /// Our MSRP URI, once initialized.
    #[getter]
    fn local_uri(&self) -> Option<String> {
        self.inner.local_uri()
    }
    /// The peer's MSRP path (its own URI last), once negotiated.
    #[getter]
    fn remote_path(&self) -> Vec<String> {
        self.inner.remote_path()
    }
    fn __repr__(&self) -> String {
        format!("<CoreDesktopSharingStream {:?}>", MediaStream::handle(&*self.inner))
    }
}
