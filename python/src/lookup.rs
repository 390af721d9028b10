//! DNS lookups: [`CoreDNSLookup`] and the [`CorePendingLookup`] its lookup
//! methods return, [`CoreDNSManager`] (the nameservers) and the
//! `DNSLookupError` exception.

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyException, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;
use sipsimple_core::Value;
use sipsimple_core::lookup::{DNSLookup, DNSManager, LookupError, LookupOptions, PendingLookup, Route};

use crate::errors::CoreResultExt;
use crate::values::{PyHandle, value_to_py};

pyo3::create_exception!(
    sipsimple.lookup,
    DNSLookupError,
    PyException,
    "The error raised by DNSLookup when a lookup cannot be performed."
);

/// One core `DNSLookup` object. Its handle is released when this object
/// goes away; lookups under way still end and post their notification.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreDNSLookup {
    inner: Arc<DNSLookup>,
}

impl Drop for CoreDNSLookup {
    fn drop(&mut self) {
        let _ = self.inner.release();
    }
}

fn options(timeout: f64, lifetime: f64) -> PyResult<LookupOptions> {
    LookupOptions::from_secs(timeout, lifetime).map_err(|e| PyValueError::new_err(e.to_string()))
}

#[pymethods]
impl CoreDNSLookup {
    /// A new lookup object (registered in the core's handle table).
    #[new]
    fn new() -> Self {
        CoreDNSLookup { inner: DNSLookup::new() }
    }

    /// The object's handle (sender of its notifications).
    #[getter]
    fn handle(&self) -> PyHandle {
        PyHandle::new(self.inner.handle())
    }

    /// Starts `lookup_sip_proxy`; the result is a list of route dicts
    /// (converted by the map hook).
    #[pyo3(signature = (uri, supported_transports, tls_name, timeout, lifetime))]
    fn lookup_sip_proxy(
        &self,
        uri: &str,
        supported_transports: Vec<String>,
        tls_name: Option<&str>,
        timeout: f64,
        lifetime: f64,
    ) -> PyResult<CorePendingLookup> {
        let options = options(timeout, lifetime)?;
        let pending = self.inner.lookup_sip_proxy(uri, &supported_transports, tls_name, options);
        Ok(CorePendingLookup { inner: Arc::new(Pending::Routes(pending)) })
    }

    /// Starts `lookup_service`; the result is a list of `(address, port)`.
    #[pyo3(signature = (uri, service, port, timeout, lifetime))]
    fn lookup_service(
        &self,
        uri: &str,
        service: &str,
        port: Option<u16>,
        timeout: f64,
        lifetime: f64,
    ) -> PyResult<CorePendingLookup> {
        let options = options(timeout, lifetime)?;
        let pending = self.inner.lookup_service(uri, service, port, options);
        Ok(CorePendingLookup { inner: Arc::new(Pending::Servers(pending)) })
    }

    /// Starts `lookup_xcap_server`; the result is a list of URLs.
    #[pyo3(signature = (uri, timeout, lifetime))]
    fn lookup_xcap_server(&self, uri: &str, timeout: f64, lifetime: f64) -> PyResult<CorePendingLookup> {
        let options = options(timeout, lifetime)?;
        let pending = self.inner.lookup_xcap_server(uri, options);
        Ok(CorePendingLookup { inner: Arc::new(Pending::Urls(pending)) })
    }

    fn __repr__(&self) -> String {
        format!("<CoreDNSLookup {:?}>", self.inner.handle())
    }
}

/// A lookup under way, of one of the three kinds.
enum Pending {
    Routes(PendingLookup<Vec<Route>>),
    Servers(PendingLookup<Vec<(String, u16)>>),
    Urls(PendingLookup<Vec<String>>),
}

/// What a pending lookup gave: the result (still in Rust form) or the error.
enum Outcome {
    Routes(Vec<Route>),
    Servers(Vec<(String, u16)>),
    Urls(Vec<String>),
    Failed(LookupError),
}

impl Pending {
    fn is_done(&self) -> bool {
        match self {
            Pending::Routes(p) => p.is_done(),
            Pending::Servers(p) => p.is_done(),
            Pending::Urls(p) => p.is_done(),
        }
    }

    /// Waits up to `timeout`; `None` if the lookup has not ended by then.
    fn wait(&self, timeout: Duration) -> Option<Outcome> {
        fn ended<T: Clone>(p: &PendingLookup<T>, timeout: Duration, ok: fn(T) -> Outcome) -> Option<Outcome> {
            let result = if timeout.is_zero() { p.result() } else { p.wait_timeout(timeout) };
            result.map(|r| r.map_or_else(Outcome::Failed, ok))
        }
        match self {
            Pending::Routes(p) => ended(p, timeout, Outcome::Routes),
            Pending::Servers(p) => ended(p, timeout, Outcome::Servers),
            Pending::Urls(p) => ended(p, timeout, Outcome::Urls),
        }
    }
}

/// The waitable a lookup method returns.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CorePendingLookup {
    inner: Arc<Pending>,
}

#[pymethods]
impl CorePendingLookup {
    /// True once the lookup has ended.
    #[getter]
    fn ready(&self) -> bool {
        self.inner.is_done()
    }

    /// Waits (without the GIL) until the lookup ends, at most `timeout`
    /// seconds when given: its result, `DNSLookupError` if it failed,
    /// `TimeoutError` if it has not ended in time (it goes on).
    #[pyo3(signature = (timeout=None))]
    fn wait<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let limit = match timeout {
            None => Duration::MAX,
            Some(t) if t <= 0.0 => Duration::ZERO,
            Some(t) => {
                Duration::try_from_secs_f64(t).map_err(|_| PyValueError::new_err(format!("bad timeout: {t}")))?
            }
        };
        let pending = self.inner.clone();
        let outcome = py.detach(move || pending.wait(limit));
        match outcome {
            None => Err(PyTimeoutError::new_err("the DNS lookup has not ended yet")),
            Some(Outcome::Failed(e)) => Err(DNSLookupError::new_err(e.to_string())),
            Some(Outcome::Routes(routes)) => {
                value_to_py(py, &Value::List(routes.iter().map(Route::to_value).collect()))
            }
            Some(Outcome::Servers(servers)) => {
                let items = servers
                    .into_iter()
                    .map(|(address, port)| (address, port).into_pyobject(py).map(Bound::into_any))
                    .collect::<PyResult<Vec<_>>>()?;
                Ok(PyList::new(py, items)?.into_any())
            }
            Some(Outcome::Urls(urls)) => Ok(PyList::new(py, urls)?.into_any()),
        }
    }

    fn __repr__(&self) -> String {
        format!("<CorePendingLookup {}>", if self.inner.is_done() { "done" } else { "running" })
    }
}

/// Access to the core's `DNSManager` singleton.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreDNSManager;

#[pymethods]
impl CoreDNSManager {
    /// The manager's handle (sender of `DNSResolverDidInitialize` and
    /// `DNSNameserversDidChange`).
    #[staticmethod]
    fn handle() -> PyHandle {
        PyHandle::new(DNSManager::instance().handle())
    }

    /// The nameservers lookups use (or will use once started), as text.
    #[staticmethod]
    fn nameservers(py: Python<'_>) -> Vec<String> {
        py.detach(|| DNSManager::instance().nameservers())
    }

    /// Sets the nameservers (`1.2.3.4`, `1.2.3.4:5353`, `[::1]:5353`), or
    /// goes back to the system's with `None`. `ValueError` for an entry that
    /// is not an address (nothing changes then).
    #[staticmethod]
    fn set_nameservers(py: Python<'_>, nameservers: Option<Vec<String>>) -> PyResult<()> {
        py.detach(move || DNSManager::instance().set_nameservers(nameservers.as_deref())).py_err(py)
    }
}
