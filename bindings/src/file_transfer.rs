//! File transfer over MSRP: [`FileTransferStream`] (RFC 5547). The file it
//! carries is a [`FileSelector`](crate::chat::FileSelector).

use std::sync::Arc;

use sipsimple_core::handle::{self, Handle, ObjectKind};
use sipsimple_core::msrp::file_selector as selector;
use sipsimple_core::streams as core;

use crate::account::Account;
use crate::chat::FileSelector;
use crate::streams::MediaStream;
use crate::{Result, SipSimpleError};

/// An MSRP file transfer stream (`FileTransferStream`).
///
/// Create one with an account and a file to offer it (`Session.connect`,
/// `Session.addStream`), or take the one a peer offered (its `MediaStream`
/// is `FileTransfer`; set where its file goes with `setSaveDirectory`
/// before accepting, else the `file_transfer.directory` setting applies).
/// Its notifications (sender: the stream): `FileTransferStreamDidDeliverChunk`
/// (sender side: `message_id`, `code`, `reason`, `transferred_bytes`,
/// `file_size`), `FileTransferStreamDidNotDeliverChunk` (`message_id`,
/// `code`, `reason`), `FileTransferStreamGotChunk` (receiver side:
/// `content` bytes, `content_type`, `transferred_bytes`, `file_size`) and
/// `FileTransferStreamDidFinish`; a failed transfer ends with
/// `MediaStreamDidFail` (context `transferring`). Two objects are equal
/// when they refer to the same stream.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Eq, Hash)]
pub struct FileTransferStream {
    pub(crate) inner: Arc<core::FileTransferStream>,
}

impl FileTransferStream {
    /// The binding object of a core stream.
    pub(crate) fn wrap(inner: Arc<core::FileTransferStream>) -> Arc<FileTransferStream> {
        Arc::new(FileTransferStream { inner })
    }
}

#[uniffi::export]
impl FileTransferStream {
    /// `FileTransferStream(account, file_selector)`: a stream that sends
    /// the file at `path` for a session of `account`. `file_selector`
    /// describes it (as `fileSelectorForFile` gives; the receiver checks
    /// the file against its hash); `None` computes it from the file now
    /// (reading the whole file to hash it). `InvalidHandle` for a stale
    /// account, `InvalidArgument` for a malformed selector or a file that
    /// cannot be read.
    #[uniffi::constructor(default(file_selector = None))]
    pub fn new(account: Arc<Account>, path: String, file_selector: Option<FileSelector>) -> Result<Arc<Self>> {
        let account = account.resolve()?;
        let selector = match file_selector {
            Some(selector) => selector.to_core()?,
            None => selector::FileSelector::for_file(&path, None, true)
                .map_err(|e| SipSimpleError::InvalidArgument { detail: e.to_string() })?,
        };
        Ok(FileTransferStream::wrap(core::FileTransferStream::new(&account, selector, path)))
    }

    /// The file transfer stream whose handle is `handle` (a notification's
    /// sender or an entry of its `streams`). `InvalidHandle` when it is no
    /// live file transfer stream.
    #[uniffi::constructor]
    pub fn from_handle(handle: u64) -> Result<Arc<Self>> {
        let inner =
            handle::resolve::<core::FileTransferStream>(Handle::from_raw(handle), ObjectKind::FileTransferStream)
                .map_err(|e| SipSimpleError::InvalidHandle {
                    detail: format!("{handle:#x} is no file transfer stream: {e}"),
                })?;
        Ok(FileTransferStream::wrap(inner))
    }

    /// The stream's handle: the sender of its notifications.
    pub fn handle(&self) -> u64 {
        core::MediaStream::handle(&*self.inner).raw()
    }

    /// This stream as a `MediaStream`, for `Session` methods.
    pub fn as_media_stream(self: Arc<Self>) -> MediaStream {
        MediaStream::FileTransfer { stream: self }
    }

    /// The account the stream belongs to.
    pub fn account(&self) -> Arc<Account> {
        Account::wrap(self.inner.base().account())
    }

    /// `file_selector`: the file (ours when sending, the peer's when
    /// receiving).
    pub fn file_selector(&self) -> FileSelector {
        FileSelector::from_core(self.inner.file_selector().clone())
    }

    /// `direction`: `sendonly` on the side that sends the file, `recvonly`
    /// on the side that receives it.
    pub fn direction(&self) -> String {
        self.inner.direction().to_owned()
    }

    /// The transfer's `a=file-transfer-id`, if it has one.
    pub fn transfer_id(&self) -> Option<String> {
        self.inner.transfer_id().map(|id| id.0.clone())
    }

    /// The file on disk: the one sent, or where the received file is
    /// written (known once the stream is initialized).
    pub fn file_path(&self) -> Option<String> {
        self.inner.file_path().map(|p| p.to_string_lossy().into_owned())
    }

    /// The size of the file, when known.
    pub fn file_size(&self) -> Option<u64> {
        self.inner.file_size()
    }

    /// Bytes confirmed by the peer (sending) or received without a gap
    /// (receiving) so far.
    pub fn transferred_bytes(&self) -> u64 {
        self.inner.transferred_bytes()
    }

    /// Whether the transfer finished (`FileTransferStreamDidFinish`) or
    /// failed.
    pub fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    /// `save_directory`: the directory set for the received file; `None`
    /// for the `file_transfer.directory` setting.
    pub fn save_directory(&self) -> Option<String> {
        self.inner.save_directory().map(|p| p.to_string_lossy().into_owned())
    }

    /// Saves the received file in `directory` (a receiving stream, before
    /// it is accepted). `InvalidState` otherwise.
    pub fn set_save_directory(&self, directory: String) -> Result<()> {
        Ok(self.inner.set_save_directory(directory)?)
    }

    /// `local_uri`: our MSRP URI, once initialized.
    pub fn local_uri(&self) -> Option<String> {
        self.inner.base().local_uri()
    }

    /// `remote_path`: the peer's MSRP path (its own URI last), once
    /// negotiated; empty before.
    pub fn remote_path(&self) -> Vec<String> {
        self.inner.base().remote_path()
    }
}

impl std::fmt::Display for FileTransferStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileTransferStream({:#x}, {})", self.handle(), self.inner.direction())
    }
}

impl PartialEq for FileTransferStream {
    fn eq(&self, other: &Self) -> bool {
        self.handle() == other.handle()
    }
}

impl Eq for FileTransferStream {}

impl std::hash::Hash for FileTransferStream {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.handle().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_are_errors() {
        assert!(matches!(FileTransferStream::from_handle(0), Err(SipSimpleError::InvalidHandle { .. })));
        assert!(matches!(FileTransferStream::from_handle(u64::MAX), Err(SipSimpleError::InvalidHandle { .. })));
    }
}
