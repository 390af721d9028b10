//! Python exceptions of the binding and the mapping of core errors onto them.
//!
//! | core error                          | Python exception                          |
//! |-------------------------------------|-------------------------------------------|
//! | `InvalidArgument`, `InvalidSetting` | `ValueError` (the message names the setting) |
//! | `NotFound`                          | `KeyError`                                |
//! | `InvalidState`                      | `RuntimeError`                            |
//! | `ConfigurationFile`                 | `ConfigurationError` (`filename`, `line`) |
//! | anything else                       | `SIPCoreError`                            |

use pyo3::exceptions::{PyException, PyKeyError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use sipsimple_core::Error;

pyo3::create_exception!(
    sipsimple.core,
    SIPCoreError,
    PyException,
    "Base class of the failures reported by the SIP SIMPLE core."
);

pyo3::create_exception!(
    sipsimple.configuration,
    ConfigurationError,
    SIPCoreError,
    "The configuration could not be loaded. `filename` names the file and `line` the 1-based line."
);

/// Converts a core error into the Python exception documented above.
pub fn to_py(py: Python<'_>, error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::InvalidArgument(_) | Error::InvalidSetting { .. } => PyValueError::new_err(message),
        Error::NotFound(_) => PyKeyError::new_err(message),
        Error::InvalidState(_) => PyRuntimeError::new_err(message),
        Error::ConfigurationFile { path, line, message: reason } => {
            let err = ConfigurationError::new_err(message);
            let value = err.value(py);
            // Setting attributes on a fresh exception instance cannot fail in practice;
            // if it did, the message still names the file and the line.
            let _ = value.setattr("filename", path.display().to_string());
            let _ = value.setattr("line", line);
            let _ = value.setattr("reason", reason);
            err
        }
        _ => SIPCoreError::new_err(message),
    }
}

/// `?`-friendly conversion of core results.
pub trait CoreResultExt<T> {
    /// Maps the error with [`to_py`].
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> CoreResultExt<T> for sipsimple_core::Result<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
