//! `SIPApplication` and the storages it is started with.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use sipsimple_core::config::ConfigurationManager;
use sipsimple_core::sip::engine::Engine;
use sipsimple_core::{FileStorage, MemoryStorage, SIPApplication, Storage};

use crate::errors::CoreResultExt;
use crate::values::PyHandle;

/// A storage for `SIPApplication.start`: in memory or in a directory.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreStorage {
    inner: Arc<dyn Storage>,
}

#[pymethods]
impl CoreStorage {
    /// A storage that keeps the configuration in memory only.
    #[staticmethod]
    fn memory() -> Self {
        CoreStorage { inner: Arc::new(MemoryStorage::new()) }
    }

    /// A storage that keeps the configuration in `<directory>/config`.
    #[staticmethod]
    fn file(directory: PathBuf) -> Self {
        CoreStorage { inner: Arc::new(FileStorage::new(directory)) }
    }

    /// The directory of a file storage, `None` for a memory storage.
    #[getter]
    fn directory(&self) -> Option<String> {
        self.inner.directory().map(|d| d.display().to_string())
    }

    fn __repr__(&self) -> String {
        self.inner.describe()
    }
}

/// Access to the core's `SIPApplication` singleton.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreApplication;

#[pymethods]
impl CoreApplication {
    /// Starts the middleware (GIL released). `RuntimeError` if already
    /// running, `ConfigurationError` if the configuration cannot be loaded.
    #[staticmethod]
    fn start(py: Python<'_>, storage: &CoreStorage) -> PyResult<()> {
        let storage = storage.inner.clone();
        py.detach(move || {
            sipsimple_cpal::install();
            SIPApplication::instance().start(storage)
        })
        .py_err(py)
    }

    /// Stops the middleware; returns at once, `SIPApplicationDidEnd` follows.
    /// `RuntimeError` if not running.
    #[staticmethod]
    fn stop(py: Python<'_>) -> PyResult<()> {
        py.detach(|| SIPApplication::instance().stop()).py_err(py)
    }

    /// True between `start()` and `stop()`.
    #[staticmethod]
    fn running(py: Python<'_>) -> bool {
        py.detach(|| SIPApplication::instance().running())
    }

    /// The application's handle (sender of the `SIPApplication*` notifications).
    #[staticmethod]
    fn handle() -> PyHandle {
        PyHandle::new(SIPApplication::instance().handle())
    }

    /// The `ConfigurationManager`'s handle (sender of `CFGManager*` notifications).
    #[staticmethod]
    fn configuration_manager_handle() -> PyHandle {
        PyHandle::new(ConfigurationManager::instance().handle())
    }

    /// The SIP engine's listening addresses as `(transport, ip, port)`
    /// tuples (`transport` is `udp`, `tcp` or `tls`; `ip` may be `0.0.0.0`
    /// or `::` when it listens on every interface); empty while the engine
    /// is not running.
    #[staticmethod]
    fn engine_addresses() -> Vec<(String, String, u16)> {
        Engine::current()
            .map(|engine| {
                engine
                    .local_addresses()
                    .iter()
                    .map(|(kind, address)| (kind.name().to_owned(), address.ip().to_string(), address.port()))
                    .collect()
            })
            .unwrap_or_default()
    }
}
