//! The disk side of an incoming file transfer: a thread of its own writes
//! the received bytes at their position in the file, as they arrive, and
//! checks the file's SHA-1 hash at the end.
//!
//! The protocol side hands data over with [`FileWriter::write`] through a
//! queue of [`QUEUE_LENGTH`] pieces: when the disk is slower than the
//! network the queue fills and `write` waits for room, which stops the MSRP
//! reader and, through TCP flow control, the sender. A file is therefore
//! never held in memory, whatever its size.
//!
//! The hash is computed while the bytes arrive (resuming from the hash
//! state of the bytes already on disk, when known): bytes in file order are
//! hashed from memory, bytes that arrived beyond a gap are read back from
//! disk once the gap is filled. When bytes already hashed are written again
//! or the earlier state is unknown, the whole file is read back and hashed
//! once complete.
//!
//! The writer ends with one [`WriterOutcome`], given to the callback of
//! [`FileWriter::spawn`] on the writer thread: the file is complete (its
//! hash checked), it failed the check, writing failed, or the transfer was
//! stopped before the end — then the file keeps the bytes received without
//! a gap from the start, ready to be resumed.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use crate::msrp::file_selector::{FileHasher, FileSelectorHash, HASH_CHUNK_SIZE};
pub use crate::msrp::ranges::ByteRanges;

/// How many pieces of data may wait for the disk.
pub const QUEUE_LENGTH: usize = 32;

/// What the writer starts from.
#[derive(Debug)]
pub struct WriterSetup {
    /// The file, open for reading and writing.
    pub file: File,
    /// Its path (for messages).
    pub path: PathBuf,
    /// The size of the complete file, when known (else learnt with
    /// [`FileWriter::set_size`] or taken at [`FileWriter::complete`]).
    pub size: Option<u64>,
    /// The hash the complete file must have, if the sender gave one.
    pub expected_hash: Option<FileSelectorHash>,
    /// Bytes already in the file from an earlier attempt, from the start.
    pub resumed: u64,
    /// The hash state after those bytes, when known.
    pub resumed_hasher: Option<FileHasher>,
}

/// How a writer ended.
#[derive(Debug)]
pub enum WriterOutcome {
    /// Every byte is on disk and the hash matches the expected one (or
    /// there was none to check).
    Complete {
        /// The file size.
        size: u64,
        /// The file's hash.
        hash: FileSelectorHash,
    },
    /// Every byte is on disk but the file's hash is not the expected one.
    HashMismatch {
        /// The hash the sender announced.
        expected: FileSelectorHash,
        /// The hash of what was received.
        actual: FileSelectorHash,
    },
    /// Stopped before the end ([`FileWriter::stop`]), or writing failed
    /// (`error`): the file was cut to the `received` bytes it has without
    /// a gap from the start.
    Incomplete {
        /// Bytes kept, from the start of the file.
        received: u64,
        /// The hash state after them, when it was computed on the way.
        hasher: Option<FileHasher>,
        /// The I/O error, when writing failed.
        error: Option<String>,
    },
}

enum Command {
    Data { offset: u64, data: Arc<[u8]> },
    Size(u64),
    Complete,
    Stop,
}

/// The handle of a writer thread (see the module documentation). Dropping
/// it stops the writer as [`stop`](Self::stop) does.
#[derive(Debug)]
pub struct FileWriter {
    commands: SyncSender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl FileWriter {
    /// Starts the writer thread; `done` gets the outcome, on that thread.
    pub fn spawn(setup: WriterSetup, done: impl FnOnce(WriterOutcome) + Send + 'static) -> io::Result<FileWriter> {
        let (commands, queue) = mpsc::sync_channel(QUEUE_LENGTH);
        let thread = std::thread::Builder::new()
            .name("sipsimple-file-writer".into())
            .spawn(move || done(Writer::new(setup).run(queue)))?;
        Ok(FileWriter { commands, thread: Some(thread) })
    }

    fn send(&self, command: Command) -> bool {
        match self.commands.try_send(command) {
            Ok(()) => true,
            Err(TrySendError::Full(command)) => {
                tracing::trace!("file writer queue full: waiting for the disk");
                self.commands.send(command).is_ok()
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Writes `data` at `offset` (0-based) of the file; waits while the
    /// queue is full. `false` when the writer has ended.
    pub fn write(&self, offset: u64, data: Arc<[u8]>) -> bool {
        self.send(Command::Data { offset, data })
    }

    /// The size of the complete file, when learnt after the start.
    pub fn set_size(&self, size: u64) {
        self.send(Command::Size(size));
    }

    /// The sender says every byte was sent: finish with what arrived.
    pub fn complete(&self) {
        self.send(Command::Complete);
    }

    /// Stops before the end: the file keeps what arrived without a gap.
    pub fn stop(&self) {
        self.send(Command::Stop);
    }

    /// Waits for the writer thread to end (after its outcome was given).
    pub fn join(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = self.commands.try_send(Command::Stop);
            let _ = thread.join();
        }
    }
}

struct Writer {
    setup: WriterSetup,
    size: Option<u64>,
    ranges: ByteRanges,
    /// The hash of the bytes from the start, while they arrive in order.
    hasher: Option<FileHasher>,
}

impl Writer {
    fn new(setup: WriterSetup) -> Writer {
        let mut ranges = ByteRanges::default();
        ranges.insert(0, setup.resumed);
        let hasher = match (&setup.resumed_hasher, setup.resumed) {
            (_, 0) => Some(FileHasher::new()),
            (Some(hasher), resumed) if hasher.bytes_hashed() == resumed => Some(hasher.clone()),
            _ => None,
        };
        Writer { size: setup.size, setup, ranges, hasher }
    }

    fn run(mut self, queue: Receiver<Command>) -> WriterOutcome {
        loop {
            if let Some(size) = self.size
                && self.ranges.contiguous() >= size
            {
                return self.finish(size);
            }
            // A closed channel (the handle dropped) is a stop.
            let command = queue.recv().unwrap_or(Command::Stop);
            match command {
                Command::Data { offset, data } => {
                    if let Err(e) = self.write(offset, &data) {
                        return self.incomplete(Some(e));
                    }
                }
                Command::Size(size) => {
                    if self.size.is_none() {
                        self.size = Some(size);
                    }
                }
                Command::Complete => {
                    let size = self.size.unwrap_or_else(|| self.ranges.end());
                    if self.ranges.contiguous() >= size {
                        return self.finish(size);
                    }
                    let received = self.ranges.contiguous();
                    return self
                        .incomplete(Some(format!("the transfer ended with {received} of {size} bytes received")));
                }
                Command::Stop => return self.incomplete(None),
            }
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), String> {
        let end = offset.checked_add(data.len() as u64).ok_or("a byte range beyond 2^64")?;
        if let Some(size) = self.size
            && end > size
        {
            return Err(format!("the sender went beyond the file size ({end} > {size} bytes)"));
        }
        write_all_at(&self.setup.file, data, offset)
            .map_err(|e| format!("cannot write {}: {e}", self.setup.path.display()))?;
        if let Some(hasher) = &mut self.hasher {
            let hashed = hasher.bytes_hashed();
            if offset == hashed {
                hasher.update(data);
            } else if offset < hashed {
                tracing::debug!("file data at {offset} rewrites hashed bytes: the file is hashed again at the end");
                self.hasher = None;
            }
            // Beyond a gap: hashed from disk once the gap is filled.
        }
        self.ranges.insert(offset, end);
        self.catch_up_hash().map_err(|e| format!("cannot read back {}: {e}", self.setup.path.display()))?;
        Ok(())
    }

    /// Hashes, from disk, bytes that arrived before a gap that is now filled.
    fn catch_up_hash(&mut self) -> io::Result<()> {
        let Some(hasher) = &mut self.hasher else { return Ok(()) };
        let contiguous = self.ranges.contiguous();
        let mut buffer = Vec::new();
        while hasher.bytes_hashed() < contiguous {
            let position = hasher.bytes_hashed();
            let length = usize::try_from(contiguous - position).unwrap_or(usize::MAX).min(HASH_CHUNK_SIZE);
            buffer.resize(length, 0);
            read_exact_at(&self.setup.file, &mut buffer, position)?;
            hasher.update(&buffer);
        }
        Ok(())
    }

    fn finish(mut self, size: u64) -> WriterOutcome {
        let hash = match self.hasher.take() {
            Some(hasher) if hasher.bytes_hashed() == size => Ok(hasher.finish()),
            _ => self.hash_file(size),
        };
        let hash = match hash.and_then(|hash| self.setup.file.set_len(size).map(|()| hash)) {
            Ok(hash) => hash,
            Err(e) => {
                return WriterOutcome::Incomplete {
                    received: self.ranges.contiguous(),
                    hasher: None,
                    error: Some(format!("cannot read back {}: {e}", self.setup.path.display())),
                };
            }
        };
        match self.setup.expected_hash {
            Some(expected) if expected != hash => WriterOutcome::HashMismatch { expected, actual: hash },
            _ => WriterOutcome::Complete { size, hash },
        }
    }

    /// Hashes the first `size` bytes of the file from disk.
    fn hash_file(&mut self, size: u64) -> io::Result<FileSelectorHash> {
        let file = &mut self.setup.file;
        file.seek(SeekFrom::Start(0))?;
        let mut hasher = FileHasher::new();
        let read = hasher.update_from_reader(Read::by_ref(file).take(size))?;
        if read != size {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("{read} of {size} bytes")));
        }
        Ok(hasher.finish())
    }

    fn incomplete(self, error: Option<String>) -> WriterOutcome {
        let received = self.ranges.contiguous();
        let mut error = error;
        if let Err(e) = self.setup.file.set_len(received) {
            error.get_or_insert_with(|| format!("cannot cut {} to {received} bytes: {e}", self.setup.path.display()));
        }
        let hasher = self.hasher.filter(|h| h.bytes_hashed() == received);
        WriterOutcome::Incomplete { received, hasher, error }
    }
}

#[cfg(unix)]
fn write_all_at(file: &File, data: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, data, offset)
}

#[cfg(unix)]
fn read_exact_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buffer: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buffer.is_empty() {
        let read = std::os::windows::fs::FileExt::seek_read(file, buffer, offset)?;
        if read == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "end of file"));
        }
        buffer = std::mem::take(&mut buffer).get_mut(read..).unwrap_or_default();
        offset += read as u64;
    }
    Ok(())
}

#[cfg(windows)]
fn write_all_at(file: &File, mut data: &[u8], mut offset: u64) -> io::Result<()> {
    while !data.is_empty() {
        let written = std::os::windows::fs::FileExt::seek_write(file, data, offset)?;
        if written == 0 {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "nothing written"));
        }
        data = data.get(written..).unwrap_or_default();
        offset += written as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::channel;
    use std::time::Duration;

    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{RngCore, SeedableRng};

    use super::*;

    const T: Duration = Duration::from_secs(10);

    fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
        let mut bytes = vec![0u8; len];
        StdRng::seed_from_u64(seed).fill_bytes(&mut bytes);
        bytes
    }

    fn hash_of(bytes: &[u8]) -> FileSelectorHash {
        let mut hasher = FileHasher::new();
        hasher.update(bytes);
        hasher.finish()
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        path: PathBuf,
    }

    fn make_fixture(existing: &[u8]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("received.bin");
        std::fs::write(&path, existing).unwrap();
        Fixture { _dir: dir, path }
    }

    fn start(
        fixture: &Fixture,
        size: Option<u64>,
        expected_hash: Option<FileSelectorHash>,
        resumed_hasher: Option<FileHasher>,
    ) -> (FileWriter, std::sync::mpsc::Receiver<WriterOutcome>) {
        let file = std::fs::OpenOptions::new().read(true).write(true).open(&fixture.path).unwrap();
        let resumed = file.metadata().unwrap().len();
        let (tx, rx) = channel();
        let setup = WriterSetup { file, path: fixture.path.clone(), size, expected_hash, resumed, resumed_hasher };
        let writer = FileWriter::spawn(setup, move |outcome| {
            let _ = tx.send(outcome);
        })
        .unwrap();
        (writer, rx)
    }

    fn pieces(bytes: &[u8], piece: usize, from: usize) -> Vec<(u64, Arc<[u8]>)> {
        bytes[from..].chunks(piece).enumerate().map(|(i, c)| ((from + i * piece) as u64, Arc::from(c))).collect()
    }

    #[test]
    fn data_in_order_is_written_and_hashed_on_the_way() {
        let content = random_bytes(1_000_003, 1);
        let fixture = make_fixture(b"");
        let (writer, outcome) = start(&fixture, Some(content.len() as u64), Some(hash_of(&content)), None);
        for (offset, data) in pieces(&content, 65536, 0) {
            assert!(writer.write(offset, data));
        }
        match outcome.recv_timeout(T).unwrap() {
            WriterOutcome::Complete { size, hash } => {
                assert_eq!(size, content.len() as u64);
                assert_eq!(hash, hash_of(&content));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read(&fixture.path).unwrap(), content);
        writer.join();
    }

    #[test]
    fn data_out_of_order_or_twice_is_placed_right_and_hashed() {
        let content = random_bytes(300_000, 2);
        let fixture = make_fixture(b"");
        let (writer, outcome) = start(&fixture, Some(content.len() as u64), Some(hash_of(&content)), None);
        let mut shuffled = pieces(&content, 7000, 0);
        shuffled.shuffle(&mut StdRng::seed_from_u64(3));
        // A piece sent twice is harmless.
        shuffled.insert(5, shuffled[9].clone());
        for (offset, data) in shuffled {
            writer.write(offset, data);
        }
        assert!(matches!(outcome.recv_timeout(T).unwrap(), WriterOutcome::Complete { .. }));
        assert_eq!(std::fs::read(&fixture.path).unwrap(), content);
    }

    #[test]
    fn a_hash_that_does_not_match_is_reported() {
        let content = random_bytes(10_000, 4);
        let fixture = make_fixture(b"");
        let wrong = hash_of(b"something else");
        let (writer, outcome) = start(&fixture, Some(content.len() as u64), Some(wrong), None);
        for (offset, data) in pieces(&content, 4096, 0) {
            writer.write(offset, data);
        }
        match outcome.recv_timeout(T).unwrap() {
            WriterOutcome::HashMismatch { expected, actual } => {
                assert_eq!(expected, wrong);
                assert_eq!(actual, hash_of(&content));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stopped_transfer_keeps_the_bytes_without_a_gap_and_resumes() {
        let content = random_bytes(200_000, 5);
        let size = content.len() as u64;
        let fixture = make_fixture(b"");
        let (writer, outcome) = start(&fixture, Some(size), Some(hash_of(&content)), None);
        writer.write(0, Arc::from(&content[..50_000]));
        writer.write(50_000, Arc::from(&content[50_000..80_000]));
        // Beyond a gap: dropped when the transfer stops.
        writer.write(120_000, Arc::from(&content[120_000..130_000]));
        writer.stop();
        let hasher = match outcome.recv_timeout(T).unwrap() {
            WriterOutcome::Incomplete { received: 80_000, hasher: Some(hasher), error: None } => hasher,
            other => panic!("{other:?}"),
        };
        assert_eq!(std::fs::read(&fixture.path).unwrap(), &content[..80_000]);
        writer.join();

        // The second attempt sends the rest and carries the hash on.
        let (writer, outcome) = start(&fixture, Some(size), Some(hash_of(&content)), Some(hasher));
        for (offset, data) in pieces(&content, 9999, 80_000) {
            writer.write(offset, data);
        }
        assert!(matches!(outcome.recv_timeout(T).unwrap(), WriterOutcome::Complete { .. }));
        assert_eq!(std::fs::read(&fixture.path).unwrap(), content);
    }

    #[test]
    fn a_resumed_file_without_its_hash_state_is_hashed_from_disk() {
        let content = random_bytes(100_000, 6);
        let fixture = make_fixture(&content[..30_000]);
        let (writer, outcome) = start(&fixture, Some(content.len() as u64), Some(hash_of(&content)), None);
        for (offset, data) in pieces(&content, 8192, 30_000) {
            writer.write(offset, data);
        }
        assert!(matches!(outcome.recv_timeout(T).unwrap(), WriterOutcome::Complete { .. }));
        // A corrupted prefix is caught.
        let mut corrupted = content[..30_000].to_vec();
        corrupted[10] ^= 1;
        let fixture = make_fixture(&corrupted);
        let (writer, outcome) = start(&fixture, Some(content.len() as u64), Some(hash_of(&content)), None);
        for (offset, data) in pieces(&content, 8192, 30_000) {
            writer.write(offset, data);
        }
        assert!(matches!(outcome.recv_timeout(T).unwrap(), WriterOutcome::HashMismatch { .. }));
    }

    #[test]
    fn an_empty_file_is_complete_at_once() {
        let fixture = make_fixture(b"");
        let (writer, outcome) = start(&fixture, Some(0), Some(hash_of(b"")), None);
        assert!(matches!(outcome.recv_timeout(T).unwrap(), WriterOutcome::Complete { size: 0, .. }));
        writer.join();
        assert!(std::fs::read(&fixture.path).unwrap().is_empty());
    }

    #[test]
    fn bytes_beyond_the_announced_size_fail_the_transfer() {
        let fixture = make_fixture(b"");
        let (writer, outcome) = start(&fixture, Some(10), None, None);
        writer.write(0, Arc::from(&b"0123"[..]));
        writer.write(4, Arc::from(&b"456789AB"[..]));
        match outcome.recv_timeout(T).unwrap() {
            WriterOutcome::Incomplete { received: 4, error: Some(error), .. } => assert!(error.contains("beyond")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn without_a_size_the_end_of_the_message_completes_the_file() {
        let content = random_bytes(5000, 7);
        let fixture = make_fixture(b"");
        let (writer, outcome) = start(&fixture, None, None, None);
        for (offset, data) in pieces(&content, 1000, 0) {
            writer.write(offset, data);
        }
        writer.complete();
        match outcome.recv_timeout(T).unwrap() {
            WriterOutcome::Complete { size, hash } => assert_eq!((size, hash), (5000, hash_of(&content))),
            other => panic!("{other:?}"),
        }

        // A size learnt on the way completes it on the last byte.
        let fixture = make_fixture(b"");
        let (writer, outcome) = start(&fixture, None, None, None);
        writer.set_size(5000);
        for (offset, data) in pieces(&content, 1000, 0) {
            writer.write(offset, data);
        }
        assert!(matches!(outcome.recv_timeout(T).unwrap(), WriterOutcome::Complete { size: 5000, .. }));

        // The end of the message with bytes missing is incomplete.
        let fixture = make_fixture(b"");
        let (writer, outcome) = start(&fixture, Some(5000), None, None);
        writer.write(0, Arc::from(&content[..1000]));
        writer.complete();
        assert!(matches!(outcome.recv_timeout(T).unwrap(), WriterOutcome::Incomplete { received: 1000, .. }));
    }

    #[test]
    fn dropping_the_handle_stops_the_writer() {
        let fixture = make_fixture(b"");
        let (writer, outcome) = start(&fixture, Some(100), None, None);
        writer.write(0, Arc::from(&b"abc"[..]));
        drop(writer);
        assert!(matches!(outcome.recv_timeout(T).unwrap(), WriterOutcome::Incomplete { received: 3, .. }));
    }

    #[test]
    fn byte_ranges_merge_and_count_from_the_start() {
        let mut ranges = ByteRanges::default();
        assert_eq!((ranges.contiguous(), ranges.end()), (0, 0));
        ranges.insert(10, 20);
        assert_eq!((ranges.contiguous(), ranges.end()), (0, 20));
        ranges.insert(0, 5);
        assert_eq!(ranges.contiguous(), 5);
        ranges.insert(5, 10);
        assert_eq!(ranges.contiguous(), 20);
        ranges.insert(30, 40);
        ranges.insert(15, 35);
        assert_eq!((ranges.contiguous(), ranges.end()), (40, 40));
        ranges.insert(7, 7);
        assert_eq!(ranges, ByteRanges::from_ranges([(0, 40)]));
    }
}
