//! `sipsimple._core`: the thin pyo3 layer between the pure-Python
//! `sipsimple` package and the Rust core.
//!
//! The Python package (`sipsimple.application`, `.account`,
//! `.notification`, ...) is the public API; this module only exposes small
//! handle wrappers: [`application::CoreApplication`],
//! [`application::CoreStorage`], [`notification::CoreNotificationCenter`],
//! [`account::CoreAccountManager`], [`account::CoreAccount`],
//! [`settings::CoreSettings`], [`lookup::CoreDNSLookup`] (with
//! [`lookup::CorePendingLookup`]), [`lookup::CoreDNSManager`],
//! [`session::CoreSession`], [`streams::CoreAudioStream`], [`chat::CoreChatStream`], the audio ports
//! of [`audio`] and [`values::PyHandle`], plus the exceptions in [`errors`] and
//! [`lookup::DNSLookupError`]. Calls that may wait (start, stop, save,
//! delete, post, flush, a lookup's wait...) release the GIL.

#![deny(missing_docs)]

use pyo3::prelude::*;

pub mod account;
pub mod application;
pub mod audio;
pub mod chat;
pub mod desktop_sharing;
pub mod errors;
pub mod file_transfer;
pub mod lookup;
pub mod notification;
pub mod session;
pub mod settings;
pub mod streams;
pub mod values;

/// Private extension module of the `sipsimple` package.
#[pymodule(name = "_core")]
mod core_module {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::account::{CoreAccount, CoreAccountManager};
    #[pymodule_export]
    use crate::application::{CoreApplication, CoreStorage};
    #[pymodule_export]
    use crate::audio::{
        CoreAudioBridge, CoreAudioConference, CoreAudioDevice, CoreAudioMixer, CoreWavePlayer, CoreWaveRecorder,
    };
    #[pymodule_export]
    use crate::chat::{
        CoreChatStream, cpim_identity_encode, cpim_identity_parse, cpim_payload_decode, cpim_payload_encode,
        file_selector_for_file, file_selector_parse, file_selector_sdp_repr,
    };
    #[pymodule_export]
    use crate::desktop_sharing::{CoreDesktopSharingHandler, CoreDesktopSharingStream};
    #[pymodule_export]
    use crate::file_transfer::CoreFileTransferStream;
    #[pymodule_export]
    use crate::lookup::{CoreDNSLookup, CoreDNSManager, CorePendingLookup};
    #[pymodule_export]
    use crate::notification::CoreNotificationCenter;
    #[pymodule_export]
    use crate::session::CoreSession;
    #[pymodule_export]
    use crate::settings::CoreSettings;
    #[pymodule_export]
    use crate::streams::CoreAudioStream;
    #[pymodule_export]
    use crate::values::{PyHandle, set_conversion_hooks};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        let py = m.py();
        m.add("SIPCoreError", py.get_type::<crate::errors::SIPCoreError>())?;
        m.add("ConfigurationError", py.get_type::<crate::errors::ConfigurationError>())?;
        m.add("DNSLookupError", py.get_type::<crate::lookup::DNSLookupError>())?;
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        let close = pyo3::wrap_pyfunction!(crate::notification::close_deliveries, m)?;
        py.import("atexit")?.call_method1("register", (close,))?;
        Ok(())
    }
}
