//! uniffi bindings of libsipsimple: the Swift and Kotlin API.
//!
//! This crate is a thin layer over [`sipsimple_core`]: every exported object
//! wraps a core object (or the handle of one) and every method forwards to
//! the core, converting arguments and errors. Notifications reach Swift and
//! Kotlin through the [`NotificationObserver`] callback interface, on the
//! core's notification delivery thread, as [`Notification`] records whose
//! data is JSON.
//!
//! The scaffolding is linked into `libsipsimple` (the root package
//! re-exports this crate); `bindings/generate.sh` generates the Kotlin and
//! Swift sources from that library.
#![deny(missing_docs)]

mod account;
mod application;
mod audio;
mod chat;
mod desktop_sharing;
mod error;
mod file_transfer;
mod lookup;
mod notification;
mod session;
mod settings;
mod storage;
mod streams;

pub use account::{Account, AccountClass, AccountManager, register_account_extension};
pub use application::SipApplication;
pub use audio::{
    AudioBridge, AudioConference, AudioDevice, AudioMixer, AudioPort, SlotConnection, WavePlayer, WaveRecorder,
};
pub use chat::{
    ChatMessageOptions, ChatStream, ComposingState, CpimHeader, CpimIdentity, FileSelector, MultilingualText,
    file_selector_for_file, file_selector_parse, file_selector_sdp_repr,
};
pub use desktop_sharing::{DesktopSharingHandler, DesktopSharingHandlerKind, DesktopSharingStream, SocketAddress};
pub use error::SipSimpleError;
pub use file_transfer::FileTransferStream;
pub use lookup::{DnsLookup, Route, ServiceAddress, ServiceLookup, SipProxyLookup, XcapServerLookup};
pub use notification::{Notification, NotificationCenter, NotificationObserver, ObjectRef, ObserverToken};
pub use session::{Session, SessionManager};
pub use settings::SipSimpleSettings;
pub use storage::Storage;
pub use streams::{AudioStream, AudioStreamStatistics, MediaStream, media_stream_from_handle};

uniffi::setup_scaffolding!("sipsimple");

/// Result type of every fallible exported call.
pub type Result<T, E = SipSimpleError> = std::result::Result<T, E>;

/// Serializes a core value as JSON text (the form settings and notification
/// data take at this edge).
pub(crate) fn value_to_json_text(value: &sipsimple_core::Value) -> String {
    serde_json::to_string(&value.to_json()).unwrap_or_else(|_| "null".to_owned())
}

/// Parses JSON text given by an application into a core value.
pub(crate) fn value_from_json_text(what: &str, text: &str) -> Result<sipsimple_core::Value> {
    let json: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| SipSimpleError::InvalidArgument { detail: format!("{what} is not valid JSON: {e}") })?;
    Ok(sipsimple_core::Value::from_json(&json))
}
