//! The one error type of the bindings (`SipSimpleException` in Kotlin,
//! `SipSimpleError` in Swift).

/// Every error a call can report; mirrors the core's error kinds.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SipSimpleError {
    /// A stale object (e.g. an account from before a restart) or a handle
    /// that does not refer to a live object of the expected kind.
    #[error("invalid handle: {detail}")]
    InvalidHandle {
        /// What was wrong with the handle.
        detail: String,
    },
    /// An argument is not acceptable (bad SIP address, malformed JSON...).
    #[error("invalid argument: {detail}")]
    InvalidArgument {
        /// Why the argument was refused.
        detail: String,
    },
    /// A setting was given a value its type does not accept; the old value
    /// is kept.
    #[error("invalid value for setting {setting}: {reason}")]
    InvalidSetting {
        /// Dotted path of the setting, e.g. `sip.register_interval`.
        setting: String,
        /// Why the value was refused.
        reason: String,
    },
    /// No object with this key exists.
    #[error("not found: {detail}")]
    NotFound {
        /// What was looked for.
        detail: String,
    },
    /// The call is not allowed now (starting twice, stopping twice, using
    /// accounts before the application started...).
    #[error("{detail}")]
    InvalidState {
        /// What is wrong with the current state.
        detail: String,
    },
    /// The configuration file could not be parsed; nothing was changed and
    /// `start` may be retried.
    #[error("{path}:{line}: {reason}")]
    ConfigurationFile {
        /// The file that failed to parse.
        path: String,
        /// The 1-based line number of the problem.
        line: u64,
        /// What is wrong on that line.
        reason: String,
    },
    /// Reading or writing the storage failed.
    #[error("storage error on {path}: {reason}")]
    Storage {
        /// The file or directory involved.
        path: String,
        /// The underlying I/O error.
        reason: String,
    },
    /// An internal failure.
    #[error("internal error: {detail}")]
    Internal {
        /// What failed.
        detail: String,
    },
    /// Waiting timed out (the awaited operation goes on).
    #[error("timed out: {detail}")]
    Timeout {
        /// What did not happen in time.
        detail: String,
    },
    /// A DNS lookup failed (`DNSLookupError` in the original).
    #[error("DNS lookup failed: {error}")]
    DnsLookupFailed {
        /// The error, as `DNSLookupDidFail` carries it.
        error: String,
    },
}

impl From<sipsimple_core::Error> for SipSimpleError {
    fn from(error: sipsimple_core::Error) -> Self {
        use sipsimple_core::Error as E;
        match error {
            E::InvalidHandle(detail) => SipSimpleError::InvalidHandle { detail },
            E::InvalidArgument(detail) => SipSimpleError::InvalidArgument { detail },
            E::InvalidSetting { setting, reason } => SipSimpleError::InvalidSetting { setting, reason },
            E::NotFound(detail) => SipSimpleError::NotFound { detail },
            E::InvalidState(detail) => SipSimpleError::InvalidState { detail },
            E::ConfigurationFile { path, line, message } => SipSimpleError::ConfigurationFile {
                path: path.display().to_string(),
                line: u64::try_from(line).unwrap_or(u64::MAX),
                reason: message,
            },
            E::Storage { path, source } => {
                SipSimpleError::Storage { path: path.display().to_string(), reason: source.to_string() }
            }
            E::Internal(detail) => SipSimpleError::Internal { detail },
            other => SipSimpleError::Internal { detail: other.to_string() },
        }
    }
}

/// An exception a foreign observer threw that is not a `SipSimpleError`
/// becomes an `Internal` error (and is logged, never propagated).
impl From<uniffi::UnexpectedUniFFICallbackError> for SipSimpleError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        SipSimpleError::Internal { detail: format!("application callback failed: {}", error.reason) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sipsimple_core::Error;

    #[test]
    fn core_errors_keep_their_kind_and_details() {
        let e: SipSimpleError = Error::setting("sip.register_interval", "must be >= 0").into();
        assert!(
            matches!(&e, SipSimpleError::InvalidSetting { setting, .. } if setting == "sip.register_interval"),
            "{e:?}"
        );
        let e: SipSimpleError =
            Error::ConfigurationFile { path: "/tmp/x/config".into(), line: 3, message: "bad line".into() }.into();
        assert_eq!(e.to_string(), "/tmp/x/config:3: bad line");
        let e: SipSimpleError = Error::InvalidState("SIPApplication is not running".into()).into();
        assert_eq!(e.to_string(), "SIPApplication is not running");
        let e: SipSimpleError =
            Error::Storage { path: "/tmp/x".into(), source: std::io::Error::other("disk full") }.into();
        assert!(matches!(&e, SipSimpleError::Storage { path, reason } if path == "/tmp/x" && reason == "disk full"));
        for (error, code) in [
            (Error::InvalidHandle("x".into()), 2),
            (Error::InvalidArgument("x".into()), 3),
            (Error::NotFound("x".into()), 5),
            (Error::Internal("x".into()), 9),
        ] {
            assert_eq!(error.code(), code);
            let mapped = SipSimpleError::from(error);
            let ok = match code {
                2 => matches!(mapped, SipSimpleError::InvalidHandle { .. }),
                3 => matches!(mapped, SipSimpleError::InvalidArgument { .. }),
                5 => matches!(mapped, SipSimpleError::NotFound { .. }),
                _ => matches!(mapped, SipSimpleError::Internal { .. }),
            };
            assert!(ok, "code {code}");
        }
    }
}
