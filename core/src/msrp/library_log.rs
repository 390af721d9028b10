//! What the MSRP layer logs: through `tracing` always, and as
//! `MSRPLibraryLog` notifications (no sender) while `logs.trace_msrp` is on,
//! as the original's msrplib log reached applications.

use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::settings::SIPSimpleSettings;
use crate::value::Value;

/// The level of an `MSRPLibraryLog` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    /// `DEBUG`.
    Debug,
    /// `INFO`.
    Info,
    /// `WARNING`.
    Warning,
    /// `ERROR`.
    Error,
}

impl LogLevel {
    /// The original's name of the level.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
        }
    }
}

/// Whether `logs.trace_msrp` is on.
pub fn trace_enabled() -> bool {
    SIPSimpleSettings::instance().settings().get("logs.trace_msrp").ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

/// Logs `message` at `level`; posts `MSRPLibraryLog` while
/// `logs.trace_msrp` is on.
pub fn library_log(level: LogLevel, message: &str) {
    match level {
        LogLevel::Debug => tracing::debug!("{message}"),
        LogLevel::Info => tracing::info!("{message}"),
        LogLevel::Warning => tracing::warn!("{message}"),
        LogLevel::Error => tracing::error!("{message}"),
    }
    if trace_enabled() {
        NotificationCenter::default_center()
            .post(Value::Null, n::MSRPLibraryLog { message: message.to_owned(), level: level.name().to_owned() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::NotificationRecorder;

    #[test]
    fn messages_are_posted_only_while_trace_msrp_is_on() {
        let recorder = NotificationRecorder::new();
        let center = NotificationCenter::default_center();
        center.add_observer(recorder.clone(), Some("MSRPLibraryLog"), None);
        let settings = SIPSimpleSettings::instance();
        library_log(LogLevel::Info, "library log test: off");
        settings.settings().set("logs.trace_msrp", Value::Bool(true)).unwrap();
        library_log(LogLevel::Warning, "library log test: on");
        settings.settings().set("logs.trace_msrp", Value::Bool(false)).unwrap();
        assert!(center.flush(std::time::Duration::from_secs(5)));
        let ours: Vec<_> = recorder
            .all()
            .into_iter()
            .filter(|n| {
                n.data.get("message").and_then(Value::as_str).is_some_and(|m| m.starts_with("library log test"))
            })
            .collect();
        center.remove_observer(&*recorder, Some("MSRPLibraryLog"), None).ok();
        assert_eq!(ours.len(), 1, "{ours:?}");
        assert_eq!(ours[0].data.get("message").and_then(Value::as_str), Some("library log test: on"));
        assert_eq!(ours[0].data.get("level").and_then(Value::as_str), Some("WARNING"));
        assert_eq!(ours[0].sender, Value::Null);
    }
}
