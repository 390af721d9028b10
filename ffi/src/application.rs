//! `SIPApplication`: start and stop the middleware.

use sipsimple_core::SIPApplication;

use crate::result::{guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::storage;
use crate::strings::Out;

/// Starts the middleware with the storage `storage` (a handle from
/// `sipsimple_storage_memory_new` or `sipsimple_storage_file_new`). The
/// configuration is loaded before this returns: a file that cannot be parsed
/// gives `SIPSIMPLE_RESULT_CONFIGURATION_FILE` (the last error message names
/// the file and line; the file is not modified) and the call may be repeated.
/// `SIPApplicationWillStart` and `SIPApplicationDidStart` are posted
/// afterwards. Already running: `SIPSIMPLE_RESULT_INVALID_STATE`.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_application_start(storage: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_application_start", || {
        let storage = storage::resolve(storage)?;
        sipsimple_cpal::install();
        SIPApplication::instance().start(storage.storage.clone())?;
        Ok(())
    })
}

/// Stops the middleware. Returns at once after posting
/// `SIPApplicationWillEnd`; `SIPApplicationDidEnd` follows when every
/// component has stopped. Not running (or already stopping):
/// `SIPSIMPLE_RESULT_INVALID_STATE`. Account handles of this run become stale
/// when the application is started again.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_application_stop() -> sipsimple_result {
    guard("sipsimple_application_stop", || {
        SIPApplication::instance().stop()?;
        Ok(())
    })
}

/// `*out` receives true between a successful start and the next stop.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_application_running(out: *mut bool) -> sipsimple_result {
    guard("sipsimple_application_running", || {
        let out = Out::new(out, "out")?;
        let running = SIPApplication::instance().running();
        // SAFETY: out is a writable bool (API contract).
        unsafe { out.write(running) };
        Ok(())
    })
}

/// `*out` receives the handle of the `SIPApplication` singleton: the sender
/// of the `SIPApplication*` notifications (use it as an observer's sender
/// filter). It stays valid for the life of the process.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_application_handle(out: *mut sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_application_handle", || {
        let out = Out::new(out, "out")?;
        let h = SIPApplication::instance().handle().raw();
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(h) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{
        sipsimple_notification_queue_free, sipsimple_notification_queue_new, sipsimple_notification_queue_next,
    };
    use crate::storage::{sipsimple_storage_free, sipsimple_storage_memory_new};
    use std::ptr::null_mut;

    fn wait_for(queue: sipsimple_handle, name: &str) {
        loop {
            let mut n = null_mut();
            assert_eq!(
                unsafe { sipsimple_notification_queue_next(queue, 10_000, &mut n) },
                sipsimple_result::Ok,
                "waiting for {name}"
            );
            let found = unsafe { &(*n).inner }.name == name;
            unsafe { crate::notification::sipsimple_notification_free(n) };
            if found {
                return;
            }
        }
    }

    #[test]
    fn lifecycle_states_and_handles() {
        let _app = crate::tests::APPLICATION.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut app = 0;
        assert_eq!(unsafe { sipsimple_application_handle(&mut app) }, sipsimple_result::Ok);
        let mut queue = 0;
        assert_eq!(
            unsafe { sipsimple_notification_queue_new(std::ptr::null(), app, &mut queue) },
            sipsimple_result::Ok
        );

        let mut storage = 0;
        assert_eq!(unsafe { sipsimple_storage_memory_new(&mut storage) }, sipsimple_result::Ok);
        assert_eq!(sipsimple_application_start(0), sipsimple_result::InvalidHandle);
        assert_eq!(sipsimple_application_start(app), sipsimple_result::InvalidHandle, "wrong kind");
        assert_eq!(sipsimple_application_start(storage), sipsimple_result::Ok);
        assert_eq!(sipsimple_application_start(storage), sipsimple_result::InvalidState);
        wait_for(queue, "SIPApplicationDidStart");
        let mut running = false;
        assert_eq!(unsafe { sipsimple_application_running(&mut running) }, sipsimple_result::Ok);
        assert!(running);
        // The application keeps its storage after the handle is released.
        assert_eq!(sipsimple_storage_free(storage), sipsimple_result::Ok);

        assert_eq!(sipsimple_application_stop(), sipsimple_result::Ok);
        assert_eq!(sipsimple_application_stop(), sipsimple_result::InvalidState);
        wait_for(queue, "SIPApplicationDidEnd");
        assert_eq!(unsafe { sipsimple_application_running(&mut running) }, sipsimple_result::Ok);
        assert!(!running);
        assert_eq!(sipsimple_application_start(storage), sipsimple_result::InvalidHandle, "stale storage");
        assert_eq!(unsafe { sipsimple_application_running(null_mut()) }, sipsimple_result::NullArgument);
        assert_eq!(sipsimple_notification_queue_free(queue), sipsimple_result::Ok);
    }
}
