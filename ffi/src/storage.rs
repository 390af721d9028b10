//! Storage objects: where `sipsimple_application_start` keeps the configuration.

use std::ffi::c_char;
use std::sync::Arc;

use sipsimple_core::{FileStorage, MemoryStorage, ObjectKind, Storage, handle};

use crate::objects;
use crate::result::{guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::strings::{Out, borrow_str};

/// What a storage handle refers to.
pub(crate) struct StorageObject {
    /// The core storage.
    pub(crate) storage: Arc<dyn Storage>,
}

fn register(storage: Arc<dyn Storage>) -> sipsimple_handle {
    let label = storage.describe();
    handle::register(ObjectKind::Storage, Arc::new(StorageObject { storage }), Some(label)).raw()
}

/// Resolves a storage handle.
pub(crate) fn resolve(raw: sipsimple_handle) -> Result<Arc<StorageObject>, crate::result::FfiError> {
    objects::resolve::<StorageObject>(raw, ObjectKind::Storage)
}

/// Creates a storage that keeps the configuration in memory only (nothing
/// survives the process). `*out` receives its handle; release it with
/// `sipsimple_storage_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_storage_memory_new(out: *mut sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_storage_memory_new", || {
        let out = Out::new(out, "out")?;
        let h = register(Arc::new(MemoryStorage::new()));
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(h) };
        Ok(())
    })
}

/// Creates a storage that keeps the configuration in the file
/// `<directory>/config`, in the original middleware's text format. The
/// directory is created on the first save if it does not exist. `*out`
/// receives its handle; release it with `sipsimple_storage_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_storage_file_new(
    directory: *const c_char,
    out: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_storage_file_new", || {
        // SAFETY: directory is NULL or a NUL-terminated string (API contract).
        let directory = unsafe { borrow_str(directory, "directory") }?;
        let out = Out::new(out, "out")?;
        if directory.is_empty() {
            return Err(crate::result::FfiError::argument("the storage directory is empty"));
        }
        let h = register(Arc::new(FileStorage::new(directory)));
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(h) };
        Ok(())
    })
}

/// Releases a storage handle (the handle becomes stale). A running
/// application keeps using the storage it was started with.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_storage_free(storage: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_storage_free", || {
        objects::release::<StorageObject>(storage, ObjectKind::Storage)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_handles_are_checked() {
        let mut h: sipsimple_handle = 0;
        assert_eq!(unsafe { sipsimple_storage_memory_new(&mut h) }, sipsimple_result::Ok);
        assert_ne!(h, 0);
        assert_eq!(sipsimple_storage_free(h), sipsimple_result::Ok);
        assert_eq!(sipsimple_storage_free(h), sipsimple_result::InvalidHandle, "stale");
        assert_eq!(sipsimple_storage_free(0), sipsimple_result::InvalidHandle);
        assert_eq!(sipsimple_storage_free(0xdead_beef), sipsimple_result::InvalidHandle, "garbage");
        assert_eq!(sipsimple_storage_free(u64::MAX), sipsimple_result::InvalidHandle, "garbage");
        assert_eq!(unsafe { sipsimple_storage_memory_new(std::ptr::null_mut()) }, sipsimple_result::NullArgument);
        assert_eq!(unsafe { sipsimple_storage_file_new(std::ptr::null(), &mut h) }, sipsimple_result::NullArgument);
        assert_eq!(
            unsafe { sipsimple_storage_file_new(c"/tmp".as_ptr(), std::ptr::null_mut()) },
            sipsimple_result::NullArgument
        );
        let bad = [0xc3u8, 0x28, 0];
        assert_eq!(unsafe { sipsimple_storage_file_new(bad.as_ptr().cast(), &mut h) }, sipsimple_result::InvalidUtf8);
        // A handle of another kind is refused and left alone.
        let settings = sipsimple_core::SIPSimpleSettings::instance().handle().raw();
        assert_eq!(sipsimple_storage_free(settings), sipsimple_result::InvalidHandle);
        assert!(handle::is_live(sipsimple_core::Handle::from_raw(settings)));
    }
}
