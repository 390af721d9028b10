//! `Storage`: where the configuration lives.

use std::sync::Arc;

/// The storage given to `SipApplication.start`: in memory, or a
/// directory holding the `config` file.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct Storage {
    pub(crate) inner: Arc<dyn sipsimple_core::Storage>,
}

#[uniffi::export]
impl Storage {
    /// A storage that keeps the configuration in memory: nothing survives
    /// the process.
    #[uniffi::constructor]
    pub fn memory() -> Arc<Self> {
        Arc::new(Storage { inner: Arc::new(sipsimple_core::MemoryStorage::new()) })
    }

    /// A storage rooted at `directory`; the configuration is
    /// `<directory>/config` (the directory is created on the first save).
    #[uniffi::constructor]
    pub fn file(directory: String) -> Arc<Self> {
        Arc::new(Storage { inner: Arc::new(sipsimple_core::FileStorage::new(directory)) })
    }

    /// The directory of a file storage; `None` for a memory storage.
    pub fn directory(&self) -> Option<String> {
        self.inner.directory().map(|d| d.display().to_string())
    }
}

impl std::fmt::Display for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.inner.describe())
    }
}
