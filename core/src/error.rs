//! The error type of the core. Codes are stable: they cross the C ABI.

use std::path::PathBuf;

/// Result alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error the core reports. The numbers from [`Error::code`] never change
/// meaning and are never reused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A NULL, stale or wrong-type handle.
    #[error("invalid handle: {0}")]
    InvalidHandle(String),
    /// An argument the caller passed is not acceptable.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A setting was given a value its type does not accept.
    #[error("invalid value for setting {setting}: {reason}")]
    InvalidSetting {
        /// Dotted path of the setting, e.g. `sip.udp_port`.
        setting: String,
        /// Why the value was refused.
        reason: String,
    },
    /// No object with this key exists (`KeyError` in Python).
    #[error("not found: {0}")]
    NotFound(String),
    /// The call is not allowed in the current state (`RuntimeError`).
    #[error("{0}")]
    InvalidState(String),
    /// The configuration file could not be parsed.
    #[error("{}:{line}: {message}", path.display())]
    ConfigurationFile {
        /// The file that failed to parse.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong on that line.
        message: String,
    },
    /// Reading or writing storage failed.
    #[error("storage error on {}: {source}", path.display())]
    Storage {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// An internal failure (a panic caught at the API edge, a dead runtime).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The stable numeric code of this error (also used by the C ABI).
    pub fn code(&self) -> i32 {
        match self {
            Error::InvalidHandle(_) => 2,
            Error::InvalidArgument(_) => 3,
            Error::InvalidSetting { .. } => 4,
            Error::NotFound(_) => 5,
            Error::InvalidState(_) => 6,
            Error::ConfigurationFile { .. } => 7,
            Error::Storage { .. } => 8,
            Error::Internal(_) => 9,
        }
    }

    /// Shortcut for an [`Error::InvalidSetting`].
    pub fn setting(setting: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::InvalidSetting { setting: setting.into(), reason: reason.into() }
    }
}
