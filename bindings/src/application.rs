//! `SipApplication`: starts and stops the middleware.

use std::sync::Arc;

use crate::{Result, Storage};

/// The application singleton (`SIPApplication`). Every instance refers to
/// the same application.
#[derive(uniffi::Object)]
pub struct SipApplication {
    inner: Arc<sipsimple_core::SIPApplication>,
}

#[uniffi::export]
impl SipApplication {
    /// The application singleton.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(SipApplication { inner: sipsimple_core::SIPApplication::instance() })
    }

    /// Starts the middleware with `storage`: loads the configuration and the
    /// accounts, then returns; `SIPApplicationWillStart` and
    /// `SIPApplicationDidStart` follow. Errors: `InvalidState` if already
    /// running, `ConfigurationFile` (file and line) if the configuration is
    /// broken — then nothing changed and `start` may be called again.
    pub fn start(&self, storage: Arc<Storage>) -> Result<()> {
        sipsimple_cpal::install();
        Ok(self.inner.start(storage.inner.clone())?)
    }

    /// Stops the middleware: returns at once after posting
    /// `SIPApplicationWillEnd`; `SIPApplicationDidEnd` follows when every
    /// component stopped. `InvalidState` if not running.
    pub fn stop(&self) -> Result<()> {
        Ok(self.inner.stop()?)
    }

    /// True between `start` and `stop`.
    pub fn running(&self) -> bool {
        self.inner.running()
    }

    /// The application's handle: the sender of the `SIPApplication*`
    /// notifications.
    pub fn handle(&self) -> u64 {
        self.inner.handle().raw()
    }
}
