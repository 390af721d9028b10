//! Storage API: where the configuration lives.
//!
//! [`MemoryStorage`] keeps it in memory; [`FileStorage`] keeps it in
//! `<directory>/config` in the original middleware's indented text format
//! (so existing configuration files load), written atomically: a temporary
//! file is written and fsynced, then renamed over the old one, so a crash
//! during a save leaves either the old or the new file, never a mix.

pub mod file_format;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Error, Result};

/// One node of the configuration tree: a group, a scalar (possibly None) or a
/// list of strings. This is the data model the backends store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigNode {
    /// A named group of children.
    Group(ConfigTree),
    /// A scalar; `None` is the original's `name =` (no value).
    Scalar(Option<String>),
    /// A list of strings (`a, b, c`).
    List(Vec<String>),
}

/// A configuration tree: names to nodes, sorted.
pub type ConfigTree = BTreeMap<String, ConfigNode>;

/// Loads and saves the whole configuration tree.
pub trait ConfigurationBackend: Send + Sync {
    /// Reads the stored tree. A missing store is an empty tree.
    fn load(&self) -> Result<ConfigTree>;
    /// Replaces the stored tree, atomically.
    fn save(&self, tree: &ConfigTree) -> Result<()>;
}

/// `ISIPSimpleStorage`: what `SIPApplication.start` is given.
pub trait Storage: Send + Sync {
    /// The backend holding the configuration.
    fn configuration_backend(&self) -> Arc<dyn ConfigurationBackend>;
    /// The directory applications may keep their own data in (FileStorage only).
    fn directory(&self) -> Option<&Path>;
    /// Short description for logs and errors.
    fn describe(&self) -> String;
}

/// Keeps the configuration in memory only.
#[derive(Default)]
pub struct MemoryBackend {
    tree: Mutex<ConfigTree>,
}

impl ConfigurationBackend for MemoryBackend {
    fn load(&self) -> Result<ConfigTree> {
        Ok(self.tree.lock().unwrap_or_else(PoisonError::into_inner).clone())
    }
    fn save(&self, tree: &ConfigTree) -> Result<()> {
        *self.tree.lock().unwrap_or_else(PoisonError::into_inner) = tree.clone();
        Ok(())
    }
}

/// Storage that lives in memory: nothing survives the process.
#[derive(Default)]
pub struct MemoryStorage {
    backend: Arc<MemoryBackend>,
}

impl MemoryStorage {
    /// A new, empty memory storage.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Storage for MemoryStorage {
    fn configuration_backend(&self) -> Arc<dyn ConfigurationBackend> {
        self.backend.clone()
    }
    fn directory(&self) -> Option<&Path> {
        None
    }
    fn describe(&self) -> String {
        "MemoryStorage()".into()
    }
}

/// Keeps the configuration in one text file, in the original's format.
pub struct FileBackend {
    path: PathBuf,
    write_lock: Mutex<()>,
}

impl FileBackend {
    /// A backend over `path` (the file need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileBackend { path: path.into(), write_lock: Mutex::new(()) }
    }
    /// The configuration file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl ConfigurationBackend for FileBackend {
    fn load(&self) -> Result<ConfigTree> {
        let text = match std::fs::read(&self.path) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|e| Error::ConfigurationFile {
                path: self.path.clone(),
                line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|b| **b == b'\n').count(),
                message: "the file is not valid UTF-8".into(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigTree::new()),
            Err(source) => return Err(Error::Storage { path: self.path.clone(), source }),
        };
        file_format::parse(&text).map_err(|e| Error::ConfigurationFile {
            path: self.path.clone(),
            line: e.line,
            message: e.message,
        })
    }

    fn save(&self, tree: &ConfigTree) -> Result<()> {
        let _guard = self.write_lock.lock().unwrap_or_else(PoisonError::into_inner);
        let text = file_format::serialize(tree);
        file_format::write_atomic(&self.path, text.as_bytes())
            .map_err(|source| Error::Storage { path: self.path.clone(), source })
    }
}

/// Storage in a directory: the configuration is `<directory>/config`.
pub struct FileStorage {
    directory: PathBuf,
    backend: Arc<FileBackend>,
}

impl FileStorage {
    /// Storage rooted at `directory` (created on the first save if missing).
    pub fn new(directory: impl Into<PathBuf>) -> Self {
        let directory = directory.into();
        let backend = Arc::new(FileBackend::new(directory.join("config")));
        FileStorage { directory, backend }
    }
}

impl Storage for FileStorage {
    fn configuration_backend(&self) -> Arc<dyn ConfigurationBackend> {
        self.backend.clone()
    }
    fn directory(&self) -> Option<&Path> {
        Some(&self.directory)
    }
    fn describe(&self) -> String {
        format!("FileStorage({:?})", self.directory)
    }
}
