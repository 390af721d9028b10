//! File transfer over MSRP: [`CoreFileTransferStream`]
//! (`sipsimple.streams.msrp.filetransfer.FileTransferStream`).
//!
//! A file selector crosses as the tuple `(name, type, size, hash)`, as in
//! the file selector functions of [`crate::chat`].

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::msrp::file_selector::{FileSelector, FileSelectorHash};
use sipsimple_core::streams::{FileTransferStream, MediaStream};

use crate::errors::CoreResultExt;
use crate::streams::account_of;
use crate::values::PyHandle;

/// `(name, type, size, hash)`.
type SelectorParts = (Option<String>, Option<String>, Option<u64>, Option<String>);

/// One MSRP file transfer stream
/// (`sipsimple.streams.msrp.filetransfer.FileTransferStream`).
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreFileTransferStream {
    inner: Arc<FileTransferStream>,
}

#[pymethods]
impl CoreFileTransferStream {
    /// A new stream that sends the file at `path`, described by the file
    /// selector `(name, type, size, hash)`, for sessions of the account
    /// `account` (a handle). `ValueError` for a malformed hash.
    #[staticmethod]
    fn new(account: &PyHandle, path: PathBuf, selector: SelectorParts) -> PyResult<CoreFileTransferStream> {
        let (name, content_type, size, hash) = selector;
        let hash =
            hash.map(|h| FileSelectorHash::parse(&h)).transpose().map_err(|e| PyValueError::new_err(e.to_string()))?;
        let selector = FileSelector { name, content_type, size, hash };
        Ok(CoreFileTransferStream { inner: FileTransferStream::new(&account_of(account)?, selector, path) })
    }
    /// The file transfer stream behind a handle, `None` if it is no (live)
    /// file transfer stream.
    #[staticmethod]
    fn resolve(handle: &PyHandle) -> Option<CoreFileTransferStream> {
        handle::resolve::<FileTransferStream>(handle.handle(), ObjectKind::FileTransferStream)
            .ok()
            .map(|inner| CoreFileTransferStream { inner })
    }
    /// The stream's handle (the sender of its notifications).
    #[getter]
    fn handle(&self) -> PyHandle {
        PyHandle::new(MediaStream::handle(&*self.inner))
    }
    /// The handle of the account the stream belongs to.
    #[getter]
    fn account(&self) -> PyHandle {
        PyHandle::new(self.inner.base().account().handle())
    }
    /// The file as `(name, type, size, hash)`: ours when sending, the
    /// peer's when receiving.
    #[getter]
    fn file_selector(&self) -> SelectorParts {
        let selector = self.inner.file_selector();
        (
            selector.name.clone(),
            selector.content_type.clone(),
            selector.size,
            selector.hash.as_ref().map(ToString::to_string),
        )
    }
    /// `"sendonly"` on the side that sends the file, `"recvonly"` on the
    /// side that receives it.
    #[getter]
    fn direction(&self) -> &'static str {
        self.inner.direction()
    }
    /// The `a=file-transfer-id` of the transfer, if it has one.
    #[getter]
    fn transfer_id(&self) -> Option<String> {
        self.inner.transfer_id().map(|id| id.0.clone())
    }
    /// The file on disk: the one sent, or where the received file is
    /// written (known once the stream is initialized).
    #[getter]
    fn file_path(&self) -> Option<String> {
        self.inner.file_path().map(|p| p.to_string_lossy().into_owned())
    }
    /// The size of the file, when known.
    #[getter]
    fn file_size(&self) -> Option<u64> {
        self.inner.file_size()
    }
    /// Bytes confirmed by the peer (sending) or received without a gap
    /// (receiving) so far.
    #[getter]
    fn transferred_bytes(&self) -> u64 {
        self.inner.transferred_bytes()
    }
    /// Whether the transfer finished or failed.
    #[getter]
    fn is_done(&self) -> bool {
        self.inner.is_done()
    }
    /// The directory set for the received file, `None` for the
    /// `file_transfer.directory` setting.
    #[getter]
    fn save_directory(&self) -> Option<String> {
        self.inner.save_directory().map(|p| p.to_string_lossy().into_owned())
    }
    /// Saves the received file in `directory` (a receiving stream, before
    /// it is accepted); `RuntimeError` otherwise.
    fn set_save_directory(&self, py: Python<'_>, directory: PathBuf) -> PyResult<()> {
        self.inner.set_save_directory(directory).py_err(py)
    }
    /// Our MSRP URI, once initialized.
    #[getter]
    fn local_uri(&self) -> Option<String> {
        self.inner.base().local_uri()
    }
    /// The peer's MSRP path (its own URI last), once negotiated.
    #[getter]
    fn remote_path(&self) -> Vec<String> {
        self.inner.base().remote_path()
    }
    fn __repr__(&self) -> String {
        format!("<CoreFileTransferStream {:?} {}>", MediaStream::handle(&*self.inner), self.inner.direction())
    }
}
