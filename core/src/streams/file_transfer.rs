//! [`FileTransferStream`]: one file sent or received over MSRP (RFC 5547;
//! the original's `sipsimple.streams.msrp.filetransfer.FileTransferStream`).
//!
//! The MSRP part (listener, m-line, connection, end) is the
//! [`MsrpStreamBase`]; the file transfer stream adds the file:
//!
//! - **Sending** ([`FileTransferStream::new`]): the offer is `a=sendonly`
//!   with the file's `a=file-selector` (name, type, size, SHA-1 hash) and a
//!   fresh `a=file-transfer-id`. Once the stream starts, the file is read
//!   from disk as the connection takes it (never whole in memory) and sent
//!   as one MSRP message asking for success reports. Each report (or 200)
//!   that confirms more bytes posts `FileTransferStreamDidDeliverChunk`
//!   with `transferred_bytes` and `file_size`; when every byte is confirmed,
//!   `FileTransferStreamDidFinish`. A failure posts
//!   `FileTransferStreamDidNotDeliverChunk` and `MediaStreamDidFail`
//!   (context `transferring`).
//! - **Receiving** (an incoming `m=message` offer with `a=file-selector`
//!   and `a=sendonly`, through [`FileTransferStream::new_from_sdp`]): the
//!   answer is `a=recvonly`. The file is created in the save directory
//!   ([`FileTransferStream::set_save_directory`], else the
//!   `file_transfer.directory` setting) under the peer's name made safe,
//!   `name-1.ext`, `name-2.ext`... when taken. Data is written at its
//!   position as it arrives, on a thread of its own (see
//!   [`writer`]); each piece posts `FileTransferStreamGotChunk` (`content`
//!   as bytes, `transferred_bytes`, `file_size`). When every byte is on
//!   disk the file's SHA-1 hash is checked against the selector:
//!   `FileTransferStreamDidFinish` when it matches; otherwise the file is
//!   removed and the stream fails (`MediaStreamDidFail`, context
//!   `transferring`, reason `File hash mismatch`).
//! - **Resuming**: a receiver interrupted before the end (the connection
//!   lost, the session ended) keeps the bytes it has without a gap and
//!   records them under the file's hash ([`partial`]). When the same file
//!   is offered again, it answers with `a=file-range:<next byte>-<size>`
//!   and appends to the same file; a sender whose answer has a file-range
//!   sends only that range (Byte-Range positions stay those of the whole
//!   file).
//!
//! An empty file needs no MSRP data: both sides finish as soon as the
//! stream starts (the receiver has created the empty file and checked its
//! hash).
//!
//! `FileTransferStreamGotChunk` carries the bytes of each piece (the
//! original's `content`): an observer that keeps them keeps the file in
//! memory, and a slow observer makes notifications queue up.
//!
//! Not supported: requesting a file from the peer (a `recvonly` offer,
//! RFC 5547 §8.3, the "pull" operation): such offers are refused.

pub mod partial;
pub mod writer;

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use self::partial::{PartialDownload, PartialTransfers, create_unique_file, range_to_send, resume_range};
use self::writer::{ByteRanges, FileWriter, WriterOutcome, WriterSetup};
use super::lock;
use super::msrp_base::{MsrpStreamBase, MsrpStreamHooks, MsrpStreamSpec, offered_msrp_media};
use super::{MediaStream, MediaStreamType, PrepareFuture, StreamDirection};
use crate::account::Account;
use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::msrp::file_selector::{DEFAULT_CONTENT_TYPE, FileSelector, FileTransferId, random_file_transfer_id};
use crate::msrp::sdp::{FileAttributes, MsrpMediaConfig, RemoteMsrpMedia};
use crate::msrp::session::{BodyDelivery, MsrpEvent, MsrpSessionConfig};
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::sdp::{Direction, MediaDescription, SessionDescription};
use crate::session::Session;
use crate::value::Value;

/// Priority of the file transfer stream type in the registry (above chat,
/// which would take any `m=message` line).
pub const FILE_TRANSFER_PRIORITY: i32 = 10;

/// The stream type name.
pub const FILE_TRANSFER_TYPE: &str = "file-transfer";

/// The `context` of `MediaStreamDidFail` when the transfer itself fails.
const FAIL_CONTEXT: &str = "transferring";

/// The sending side.
#[derive(Debug)]
struct Sending {
    /// The file to send.
    path: PathBuf,
    /// The MSRP Message-ID, once sending started.
    message_id: Option<String>,
    /// The bytes being sent (0-based), once known.
    range: Option<Range<u64>>,
    /// Bytes of the file the peer confirmed (a position in the file).
    transferred: u64,
    /// The size of the file, once opened.
    size: Option<u64>,
}

/// The receiving side.
#[derive(Debug, Default)]
struct Receiving {
    /// A directory chosen by the application before `initialize`.
    save_directory: Option<PathBuf>,
    /// Where the file is written, from `initialize`.
    path: Option<PathBuf>,
    /// The open file until the writer takes it.
    file: Option<File>,
    /// Whether the file was created by this stream (not resumed).
    created: bool,
    /// The earlier attempt being resumed.
    resumed: Option<PartialDownload>,
    /// The writer thread, from `start`.
    writer: Option<FileWriter>,
    /// The Message-ID of the transfer, from its first byte.
    message_id: Option<String>,
    /// The bytes received (resumed ones included).
    received: ByteRanges,
    /// The file size, when known (the selector's or learnt from the chunks).
    size: Option<u64>,
}

#[derive(Debug)]
enum Side {
    Sending(Sending),
    Receiving(Box<Receiving>),
}

#[derive(Debug)]
struct State {
    side: Side,
    /// DidFinish was posted or the transfer failed: nothing more is
    /// reported.
    done: bool,
    /// The session is removing the stream (`deactivate`).
    deactivated: bool,
}

/// What the end of a transfer is announced with.
#[derive(Debug)]
enum Announcement {
    /// `FileTransferStreamDidFinish`.
    Finished,
    /// `MediaStreamDidFail` with this reason.
    Failed(String),
    /// Nothing: the connection's end is announced by the base.
    Nothing,
}

/// One file transfer media stream (see the module documentation).
pub struct FileTransferStream {
    base: MsrpStreamBase,
    file_selector: FileSelector,
    transfer_id: Option<FileTransferId>,
    state: Arc<Mutex<State>>,
    this: Weak<FileTransferStream>,
}

impl std::fmt::Debug for FileTransferStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileTransferStream")
            .field("handle", &self.base.handle())
            .field("direction", &self.direction())
            .field("file_selector", &self.file_selector)
            .finish()
    }
}

fn spec() -> MsrpStreamSpec {
    MsrpStreamSpec {
        stream_type: FILE_TRANSFER_TYPE,
        priority: FILE_TRANSFER_PRIORITY,
        media_type: "message",
        accept_types: vec!["*".to_owned()],
        accept_wrapped_types: vec!["*".to_owned()],
        session: MsrpSessionConfig { body_delivery: BodyDelivery::Stream, ..MsrpSessionConfig::default() },
    }
}

impl FileTransferStream {
    fn create(
        account: &Arc<Account>,
        file_selector: FileSelector,
        transfer_id: Option<FileTransferId>,
        side: Side,
    ) -> Arc<FileTransferStream> {
        let stream = Arc::new_cyclic(|this: &Weak<FileTransferStream>| {
            let hooks: Weak<dyn MsrpStreamHooks> = this.clone();
            FileTransferStream {
                base: MsrpStreamBase::new(account, spec(), hooks),
                file_selector,
                transfer_id,
                state: Arc::new(Mutex::new(State { side, done: false, deactivated: false })),
                this: this.clone(),
            }
        });
        let label = format!("FileTransferStream of {}", account.id());
        let h = handle::register(ObjectKind::FileTransferStream, stream.clone(), Some(label));
        stream.base.set_handle(h);
        stream
    }

    /// A stream that sends the file at `path`, described by `file_selector`
    /// (the original's `FileTransferStream(account, file_selector)`; make
    /// the selector with [`FileSelector::for_file`], which computes the
    /// hash the receiver checks). The file must exist and have the
    /// selector's size when the stream is initialized (else
    /// `MediaStreamDidFail`, context `initialize`) and when it starts (else
    /// context `transferring`); it is read when it is sent.
    pub fn new(
        account: &Arc<Account>,
        file_selector: FileSelector,
        path: impl Into<PathBuf>,
    ) -> Arc<FileTransferStream> {
        let sending = Sending { path: path.into(), message_id: None, range: None, transferred: 0, size: None };
        Self::create(account, file_selector, Some(random_file_transfer_id()), Side::Sending(sending))
    }

    /// The registry entry of the file transfer stream type.
    pub fn stream_class() -> MediaStreamType {
        MediaStreamType {
            type_name: FILE_TRANSFER_TYPE,
            priority: FILE_TRANSFER_PRIORITY,
            new_from_sdp: FileTransferStream::new_from_sdp,
        }
    }

    /// `new_from_sdp`: a receiving stream for m-line `index` of
    /// `remote_sdp` when it is an MSRP `m=message` line with an
    /// `a=file-selector`; `Ok(None)` for other m-lines; `Err` when it
    /// cannot be answered (invalid attributes, not `sendonly`, transport).
    pub fn new_from_sdp(
        account: &Arc<Account>,
        remote_sdp: &SessionDescription,
        index: usize,
    ) -> Result<Option<Arc<dyn MediaStream>>> {
        let Some(media) = offered_msrp_media(remote_sdp, index, "message") else { return Ok(None) };
        if !media.attributes.iter().any(|a| a.name.eq_ignore_ascii_case("file-selector")) {
            return Ok(None);
        }
        let invalid = |e: &dyn std::fmt::Display| Error::InvalidArgument(format!("file transfer m-line {index}: {e}"));
        let remote = RemoteMsrpMedia::parse(media).map_err(|e| invalid(&e))?;
        let file = remote.file.ok_or_else(|| invalid(&"no file selector"))?;
        match remote.direction {
            Direction::SendOnly => {}
            Direction::RecvOnly => return Err(invalid(&"requesting a file (recvonly) is not supported")),
            other => return Err(invalid(&format!("a file transfer cannot be {}", other.as_str()))),
        }
        let selector = FileSelector::from_sdp(&file.selector).map_err(|e| invalid(&e))?;
        let receiving = Receiving { size: selector.size, ..Receiving::default() };
        let stream = Self::create(account, selector, file.transfer_id, Side::Receiving(Box::new(receiving)));
        stream.base.set_remote_offer(remote_sdp.clone(), index);
        Ok(Some(stream))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The MSRP part of the stream.
    pub fn base(&self) -> &MsrpStreamBase {
        &self.base
    }

    /// The file (`file_selector`): ours when sending, the peer's when
    /// receiving.
    pub fn file_selector(&self) -> &FileSelector {
        &self.file_selector
    }

    /// The `a=file-transfer-id` of the transfer, when there is one.
    pub fn transfer_id(&self) -> Option<&FileTransferId> {
        self.transfer_id.as_ref()
    }

    /// `sendonly` when this side sends the file, `recvonly` when it
    /// receives it (the original's `direction`).
    pub fn direction(&self) -> &'static str {
        match self.state().side {
            Side::Sending(_) => "sendonly",
            Side::Receiving(_) => "recvonly",
        }
    }

    /// Whether this side sends the file.
    pub fn is_sending(&self) -> bool {
        matches!(self.state().side, Side::Sending(_))
    }

    /// The file on disk: the one being sent, or where the received file is
    /// written (known from `initialize`).
    pub fn file_path(&self) -> Option<PathBuf> {
        match &self.state().side {
            Side::Sending(sending) => Some(sending.path.clone()),
            Side::Receiving(receiving) => receiving.path.clone(),
        }
    }

    /// The size of the file, when known.
    pub fn file_size(&self) -> Option<u64> {
        match &self.state().side {
            Side::Sending(sending) => sending.size.or(self.file_selector.size),
            Side::Receiving(receiving) => receiving.size,
        }
    }

    /// Bytes of the file transferred so far: confirmed by the peer when
    /// sending, received without a gap from the start when receiving (the
    /// bytes of an earlier attempt that is resumed included).
    pub fn transferred_bytes(&self) -> u64 {
        match &self.state().side {
            Side::Sending(sending) => sending.transferred,
            Side::Receiving(receiving) => receiving.received.contiguous(),
        }
    }

    /// The bytes being sent (0-based, end excluded): the whole file, or
    /// what the receiver's `a=file-range` asked for. Known once started.
    pub fn file_range(&self) -> Option<Range<u64>> {
        match &self.state().side {
            Side::Sending(sending) => sending.range.clone(),
            Side::Receiving(_) => None,
        }
    }

    /// Whether the transfer is over: finished (`FileTransferStreamDidFinish`
    /// was posted), failed, or interrupted.
    pub fn is_done(&self) -> bool {
        self.state().done
    }

    /// The directory a received file is saved in (`save_directory`): the
    /// one set with [`set_save_directory`](Self::set_save_directory), else
    /// `None` for the `file_transfer.directory` setting.
    pub fn save_directory(&self) -> Option<PathBuf> {
        match &self.state().side {
            Side::Receiving(receiving) => receiving.save_directory.clone(),
            Side::Sending(_) => None,
        }
    }

    /// Saves the received file in `directory` instead of the
    /// `file_transfer.directory` setting. Only before `initialize`, and
    /// only for a receiving stream.
    pub fn set_save_directory(&self, directory: impl Into<PathBuf>) -> Result<()> {
        let mut state = self.state();
        match &mut state.side {
            Side::Receiving(receiving) if receiving.path.is_none() => {
                receiving.save_directory = Some(directory.into());
                Ok(())
            }
            Side::Receiving(_) => Err(Error::InvalidState("the transfer is in progress".into())),
            Side::Sending(_) => Err(Error::InvalidState("a sending stream saves no file".into())),
        }
    }

    fn content_type(&self) -> String {
        self.file_selector.content_type.clone().unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned())
    }

    /// Marks the transfer done; `false` when it already was.
    fn finish_once(&self) -> bool {
        let mut state = self.state();
        !std::mem::replace(&mut state.done, true)
    }

    fn post_finished(&self) {
        if self.finish_once() {
            tracing::info!("file transfer {:?} finished: {:?}", self.base.handle(), self.file_selector.name);
            NotificationCenter::default_center().post(self.base.handle(), n::FileTransferStreamDidFinish {});
        }
    }

    /// Fails the transfer (once): `MediaStreamDidFail`, context
    /// `transferring`. The end of the connection that may follow is then no
    /// second failure.
    fn fail(&self, reason: &str) {
        if self.finish_once() {
            self.base.deactivate();
            self.base.post_fail(FAIL_CONTEXT, reason);
        }
    }

    // Sending.

    /// Starts sending the file on the running connection.
    fn start_sending(&self) -> std::result::Result<(), String> {
        let path = match &self.state().side {
            Side::Sending(sending) => sending.path.clone(),
            Side::Receiving(_) => return Ok(()),
        };
        let (file, size) = check_file(&path, self.file_selector.size)?;
        let asked = self.base.negotiated().and_then(|n| n.remote.file).and_then(|f| f.range);
        let range = range_to_send(size, asked.as_ref()).map_err(|e| e.to_string())?;
        tracing::debug!("file transfer {:?}: sending bytes {range:?} of {size}", self.base.handle());
        if let Side::Sending(sending) = &mut self.state().side {
            sending.range = Some(range.clone());
            sending.transferred = range.start;
            sending.size = Some(size);
        }
        if range.is_empty() {
            // Nothing to send (an empty file, or the receiver has it all):
            // finished, once MediaStreamDidStart is out.
            self.later(Announcement::Finished);
            return Ok(());
        }
        let connection = self.base.connection().ok_or("the MSRP connection is closed")?;
        let message_id = connection
            .send_file(&self.content_type(), file, range, size, Vec::new())
            .map_err(|e| format!("cannot send {}: {e}", path.display()))?;
        if let Side::Sending(sending) = &mut self.state().side {
            sending.message_id = Some(message_id);
        }
        Ok(())
    }

    fn is_our_message(&self, message_id: &str) -> bool {
        match &self.state().side {
            Side::Sending(sending) => sending.message_id.as_deref() == Some(message_id),
            Side::Receiving(receiving) => receiving.message_id.as_deref().is_none_or(|id| id == message_id),
        }
    }

    /// Success reports (or 200 responses) confirmed the file up to
    /// `delivered`.
    fn on_delivered(&self, message_id: &str, delivered: u64) {
        let (progress, complete, size) = {
            let mut state = self.state();
            if state.done {
                return;
            }
            let Side::Sending(sending) = &mut state.side else { return };
            let end = sending.range.as_ref().map_or(0, |r| r.end);
            let size = sending.size.unwrap_or(end);
            let delivered = delivered.min(end);
            let progress = (delivered > sending.transferred).then(|| {
                sending.transferred = delivered;
                delivered
            });
            (progress, delivered >= end, size)
        };
        if let Some(transferred) = progress {
            NotificationCenter::default_center().post(
                self.base.handle(),
                n::FileTransferStreamDidDeliverChunk {
                    message_id: message_id.to_owned(),
                    chunk: Value::Null,
                    code: 200,
                    reason: "OK".into(),
                    transferred_bytes: i64::try_from(transferred).unwrap_or(i64::MAX),
                    file_size: i64::try_from(size).unwrap_or(i64::MAX),
                },
            );
        }
        if complete {
            self.post_finished();
        }
    }

    fn on_not_delivered(&self, message_id: &str, code: u16, reason: &str) {
        if self.state().done {
            return;
        }
        NotificationCenter::default_center().post(
            self.base.handle(),
            n::FileTransferStreamDidNotDeliverChunk {
                message_id: message_id.to_owned(),
                chunk: Value::Null,
                code: i64::from(code),
                reason: reason.to_owned(),
            },
        );
        if self.base.is_ended() || self.state().deactivated {
            // The session is ending the stream before the end of the file.
            self.state().done = true;
        } else {
            self.fail(&format!("the file was not delivered: {code} {reason}"));
        }
    }

    // Receiving.

    /// At `initialize`: picks the file to write (a partial download of the
    /// same file to resume, or a new one) and what to ask the sender for.
    fn prepare_receiving(&self) -> Result<Option<crate::msrp::file_selector::FileRange>> {
        let mut state = self.state();
        let Side::Receiving(receiving) = &mut state.side else { return Ok(None) };
        if receiving.path.is_some() {
            return Err(Error::InvalidState("the file transfer stream was initialized already".into()));
        }
        let directory = match &receiving.save_directory {
            Some(directory) => directory.clone(),
            None => default_download_directory(),
        };
        std::fs::create_dir_all(&directory)
            .map_err(|e| Error::InvalidState(format!("cannot create {}: {e}", directory.display())))?;
        let store = metadata_store();
        let resumed = match &self.file_selector.hash {
            Some(hash) => PartialTransfers::instance().claim(hash, store.as_deref()),
            None => None,
        };
        if let Some(partial) = resumed {
            match std::fs::OpenOptions::new().read(true).write(true).open(&partial.path) {
                Ok(file) => {
                    tracing::info!(
                        "file transfer {:?}: resuming {} after {} bytes",
                        self.base.handle(),
                        partial.path.display(),
                        partial.received
                    );
                    let range = receiving.size.and_then(|size| resume_range(partial.received, size));
                    receiving.received.insert(0, partial.received);
                    receiving.path = Some(partial.path.clone());
                    receiving.file = Some(file);
                    receiving.resumed = Some(partial);
                    return Ok(range);
                }
                Err(e) => tracing::debug!("cannot reopen {}: {e}", partial.path.display()),
            }
        }
        let name = self.file_selector.safe_file_name().unwrap_or_else(|| partial::DEFAULT_FILE_NAME.to_owned());
        let (file, path) = create_unique_file(&directory, &name)
            .map_err(|e| Error::InvalidState(format!("cannot create {name} in {}: {e}", directory.display())))?;
        tracing::debug!("file transfer {:?}: receiving into {}", self.base.handle(), path.display());
        receiving.path = Some(path);
        receiving.file = Some(file);
        receiving.created = true;
        Ok(None)
    }

    /// At `start`: hands the file to a writer thread.
    fn start_receiving(&self) -> std::result::Result<(), String> {
        let setup = {
            let mut state = self.state();
            let Side::Receiving(receiving) = &mut state.side else { return Ok(()) };
            let (Some(file), Some(path)) = (receiving.file.take(), receiving.path.clone()) else {
                return Err("the file transfer stream has no file".into());
            };
            let resumed = receiving.resumed.as_ref().map_or(0, |p| p.received);
            WriterSetup {
                file,
                path,
                size: receiving.size,
                expected_hash: self.file_selector.hash,
                resumed,
                resumed_hasher: receiving.resumed.as_ref().and_then(|p| p.hasher.clone()),
            }
        };
        let this = self.this.clone();
        let writer = FileWriter::spawn(setup, move |outcome| {
            if let Some(stream) = this.upgrade() {
                let announcement = stream.on_writer_done(outcome);
                stream.later(announcement);
            }
        })
        .map_err(|e| format!("cannot start the file writer: {e}"))?;
        if let Side::Receiving(receiving) = &mut self.state().side {
            receiving.writer = Some(writer);
        }
        Ok(())
    }

    fn on_chunk_data(&self, message_id: String, offset: u64, data: Vec<u8>) {
        let data: Arc<[u8]> = Arc::from(data);
        let (transferred, size) = {
            let mut state = self.state();
            if state.done {
                return;
            }
            let Side::Receiving(receiving) = &mut state.side else { return };
            if receiving.message_id.is_none() {
                receiving.message_id = Some(message_id);
            }
            receiving.received.insert(offset, offset.saturating_add(data.len() as u64));
            (receiving.received.contiguous(), receiving.size)
        };
        NotificationCenter::default_center().post(
            self.base.handle(),
            n::FileTransferStreamGotChunk {
                content: Value::Bytes(data.clone()),
                content_type: self.content_type(),
                transferred_bytes: i64::try_from(transferred).unwrap_or(i64::MAX),
                file_size: i64::try_from(size.unwrap_or(0)).unwrap_or(i64::MAX),
            },
        );
        // Waits when the disk is behind (see the writer module).
        self.with_writer(|writer| {
            writer.write(offset, data);
        });
    }

    fn with_writer(&self, action: impl FnOnce(&FileWriter)) {
        // The writer is used outside the state lock: its queue may block.
        let writer = match &mut self.state().side {
            Side::Receiving(receiving) => receiving.writer.take(),
            Side::Sending(_) => None,
        };
        let Some(writer) = writer else { return };
        action(&writer);
        if let Side::Receiving(receiving) = &mut self.state().side {
            receiving.writer = Some(writer);
        }
    }

    /// Settles the file once the writer ended (on the writer thread, so
    /// that a partial download is recorded before the stream's end is
    /// posted); returns what to announce.
    fn on_writer_done(&self, outcome: WriterOutcome) -> Announcement {
        let (path, created) = match &self.state().side {
            Side::Receiving(receiving) => (receiving.path.clone(), receiving.created),
            Side::Sending(_) => return Announcement::Nothing,
        };
        let Some(path) = path else { return Announcement::Nothing };
        match outcome {
            WriterOutcome::Complete { size, hash } => {
                tracing::debug!(
                    "file transfer {:?}: {} complete ({size} bytes, {hash})",
                    self.base.handle(),
                    path.display()
                );
                if let Side::Receiving(receiving) = &mut self.state().side {
                    receiving.received.insert(0, size);
                    receiving.size.get_or_insert(size);
                }
                Announcement::Finished
            }
            WriterOutcome::HashMismatch { expected, actual } => {
                tracing::warn!(
                    "file transfer {:?}: {} has hash {actual}, {expected} announced",
                    self.base.handle(),
                    path.display()
                );
                let _ = std::fs::remove_file(&path);
                Announcement::Failed("File hash mismatch".into())
            }
            WriterOutcome::Incomplete { received, hasher, error } => {
                let kept = match &self.file_selector.hash {
                    Some(hash) if received > 0 => match PartialDownload::of_file(&path, received, hasher) {
                        Ok(download) => {
                            PartialTransfers::instance().record(hash, download, metadata_store().as_deref());
                            true
                        }
                        Err(e) => {
                            tracing::debug!("cannot record {}: {e}", path.display());
                            false
                        }
                    },
                    _ => received > 0,
                };
                if !kept && created {
                    let _ = std::fs::remove_file(&path);
                }
                tracing::info!(
                    "file transfer {:?}: interrupted with {received} bytes of {}",
                    self.base.handle(),
                    path.display()
                );
                match error {
                    Some(error) => Announcement::Failed(error),
                    None => {
                        self.state().done = true;
                        Announcement::Nothing
                    }
                }
            }
        }
    }

    /// Posts `announcement` from the core runtime: after what the runtime
    /// is doing now (such as posting `MediaStreamDidStart`).
    fn later(&self, announcement: Announcement) {
        let Some(stream) = self.this.upgrade() else { return };
        match super::msrp_base::runtime() {
            Ok(runtime) => {
                runtime.spawn(async move { stream.announce(announcement) });
            }
            Err(_) => stream.announce(announcement),
        }
    }

    fn announce(&self, announcement: Announcement) {
        match announcement {
            Announcement::Finished => self.post_finished(),
            Announcement::Failed(reason) => self.fail(&reason),
            Announcement::Nothing => {}
        }
    }

    /// The stream ends without having started: give the file back (remove
    /// a new empty one, record a resumed one again).
    fn release_unstarted(&self) {
        let (path, file, created, resumed) = {
            let mut state = self.state();
            let Side::Receiving(receiving) = &mut state.side else { return };
            if receiving.writer.is_some() {
                return;
            }
            let Some(file) = receiving.file.take() else { return };
            (receiving.path.clone(), file, receiving.created, receiving.resumed.take())
        };
        drop(file);
        let Some(path) = path else { return };
        if let (Some(partial), Some(hash)) = (resumed, &self.file_selector.hash) {
            PartialTransfers::instance().record(hash, partial, metadata_store().as_deref());
        } else if created && std::fs::metadata(&path).is_ok_and(|m| m.len() == 0) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Opens the file to send and checks its size against the selector's.
fn check_file(path: &Path, announced: Option<u64>) -> std::result::Result<(File, u64), String> {
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let metadata = file.metadata().map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !metadata.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    let size = metadata.len();
    match announced {
        Some(announced) if announced != size => {
            Err(format!("{} is not the file described: {size} bytes, {announced} announced", path.display()))
        }
        _ => Ok((file, size)),
    }
}

/// The `file_transfer.directory` setting: `~/` is the home directory; a
/// relative path is inside the application's storage directory (or the
/// current directory without one).
fn default_download_directory() -> PathBuf {
    let setting = crate::settings::SIPSimpleSettings::instance()
        .settings()
        .get("file_transfer.directory")
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "~/Downloads".to_owned());
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let path = match (setting.strip_prefix("~/").or((setting == "~").then_some("")), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(&setting),
    };
    if path.is_absolute() {
        return path;
    }
    match metadata_store() {
        Some(storage) => storage.join(path),
        None => path,
    }
}

/// Where partial download records are persisted: the application's
/// storage directory, if it has one.
fn metadata_store() -> Option<PathBuf> {
    crate::application::SIPApplication::instance().storage().and_then(|s| s.directory().map(Path::to_path_buf))
}

impl MsrpStreamHooks for FileTransferStream {
    fn base(&self) -> &MsrpStreamBase {
        &self.base
    }

    fn configure(&self, config: &mut MsrpMediaConfig, offer: Option<&MediaDescription>) -> Result<()> {
        match offer {
            None => {
                let path = match &self.state().side {
                    Side::Sending(sending) => sending.path.clone(),
                    Side::Receiving(_) => {
                        return Err(Error::InvalidState("a receiving file transfer stream answers an offer".into()));
                    }
                };
                check_file(&path, self.file_selector.size).map_err(Error::InvalidArgument)?;
                config.direction = Direction::SendOnly;
                let mut file = FileAttributes::new(self.file_selector.to_sdp());
                file.transfer_id = self.transfer_id.clone();
                config.file = Some(file);
            }
            Some(_) => {
                if self.is_sending() {
                    return Err(Error::InvalidState("requesting a file is not supported".into()));
                }
                let range = self.prepare_receiving()?;
                config.direction = Direction::RecvOnly;
                let mut file = FileAttributes::new(self.file_selector.to_sdp());
                file.transfer_id = self.transfer_id.clone();
                file.range = range;
                config.file = Some(file);
            }
        }
        Ok(())
    }

    fn will_end(&self, _base: &MsrpStreamBase) {
        self.release_unstarted();
    }

    fn started(&self, _base: &MsrpStreamBase) {
        let result = if self.is_sending() { self.start_sending() } else { self.start_receiving() };
        if let Err(reason) = result {
            self.fail(&reason);
        }
    }

    fn event(&self, _base: &MsrpStreamBase, event: MsrpEvent) {
        match event {
            MsrpEvent::ChunkData { message_id, offset, data } => {
                if self.is_our_message(&message_id) {
                    self.on_chunk_data(message_id, offset, data);
                } else {
                    tracing::debug!("file transfer {:?}: data of another message ignored", self.base.handle());
                }
            }
            MsrpEvent::ChunkReceived { message_id, total: Some(total), .. } if self.is_our_message(&message_id) => {
                let learnt = match &mut self.state().side {
                    Side::Receiving(receiving) if receiving.size.is_none() => {
                        receiving.size = Some(total);
                        true
                    }
                    _ => false,
                };
                if learnt {
                    self.with_writer(|writer| writer.set_size(total));
                }
            }
            MsrpEvent::MessageReceived { message_id, .. } if self.is_our_message(&message_id) => {
                self.with_writer(FileWriter::complete);
            }
            MsrpEvent::MessageAborted { message_id } if self.is_our_message(&message_id) => {
                self.with_writer(FileWriter::stop);
                self.fail("the sender aborted the transfer");
            }
            MsrpEvent::MessageRefused { message_id, code } if self.is_our_message(&message_id) => {
                self.with_writer(FileWriter::stop);
                self.fail(&format!("the file data was refused ({code})"));
            }
            MsrpEvent::ChunkDelivered { message_id, delivered, .. } if self.is_our_message(&message_id) => {
                self.on_delivered(&message_id, delivered);
            }
            MsrpEvent::MessageDelivered { message_id } if self.is_our_message(&message_id) => {
                let end = self.file_range().map_or(0, |r| r.end);
                self.on_delivered(&message_id, end);
            }
            MsrpEvent::MessageNotDelivered { message_id, code, reason } if self.is_our_message(&message_id) => {
                self.on_not_delivered(&message_id, code, &reason);
            }
            _ => {}
        }
    }

    fn closed(&self, _base: &MsrpStreamBase, reason: &str) {
        tracing::debug!("file transfer {:?}: connection closed ({reason})", self.base.handle());
        // A writer still running keeps what arrived for a later attempt;
        // waiting for it means the file is recorded for a resumption before
        // MediaStreamDidEnd (or MediaStreamDidFail) is posted.
        let writer = match &mut self.state().side {
            Side::Receiving(receiving) => receiving.writer.take(),
            Side::Sending(_) => None,
        };
        if let Some(writer) = writer {
            writer.stop();
            writer.join();
        }
    }
}

impl MediaStream for FileTransferStream {
    fn stream_type(&self) -> &'static str {
        FILE_TRANSFER_TYPE
    }
    fn priority(&self) -> i32 {
        FILE_TRANSFER_PRIORITY
    }
    fn handle(&self) -> Handle {
        self.base.handle()
    }
    fn as_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }
    fn prepare(&self, direction: StreamDirection) -> Option<PrepareFuture> {
        self.base.prepare(direction)
    }
    fn initialize(&self, session: &Session, direction: StreamDirection) -> Result<()> {
        self.base.initialize(session, direction)
    }
    fn get_local_media(&self, remote_sdp: Option<&SessionDescription>, index: usize) -> Result<MediaDescription> {
        self.base.get_local_media(remote_sdp, index)
    }
    fn start(&self, local_sdp: &SessionDescription, remote_sdp: &SessionDescription, index: usize) -> Result<()> {
        self.base.start(local_sdp, remote_sdp, index)
    }
    fn validate_update(&self, remote_sdp: &SessionDescription, index: usize) -> bool {
        self.base.validate_update(remote_sdp, index)
    }
    fn update(&self, local_sdp: &SessionDescription, remote_sdp: &SessionDescription, index: usize) -> Result<()> {
        self.base.update(local_sdp, remote_sdp, index)
    }
    fn hold(&self) {}
    fn unhold(&self) {}
    fn deactivate(&self) {
        // Failures the removal causes (the peer closing first) are no
        // transfer failures.
        self.state().deactivated = true;
        self.base.deactivate();
    }
    fn end(&self) {
        self.base.end();
    }
    fn hold_supported(&self) -> bool {
        false
    }
    fn on_hold_by_local(&self) -> bool {
        false
    }
    fn on_hold_by_remote(&self) -> bool {
        false
    }
}
