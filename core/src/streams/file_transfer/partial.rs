//! What a file transfer keeps on disk between attempts: where a received
//! file goes, the byte ranges of `a=file-range` (RFC 5547 §6), and the
//! partial downloads an interrupted transfer can resume.
//!
//! A receiver that is interrupted keeps the bytes it got without a gap from
//! the start and records the file under the SHA-1 hash of the file being
//! sent ([`PartialTransfers::record`]). When the same file (same hash) is
//! offered again, the receiver takes the record back
//! ([`PartialTransfers::claim`]), answers with `a=file-range` starting after
//! what it has ([`resume_range`]) and appends to the same file. A record is
//! used once, and only when the file has not changed since (same length and
//! modification time) and is less than [`PARTIAL_LIFETIME`] old.
//!
//! Records live in memory for the process and, when the application runs
//! on a [`FileStorage`](crate::storage::FileStorage), also in
//! `<storage directory>/transfer_metadata.json`, so a transfer can be
//! resumed after a restart. Everything here does file I/O and blocks: call
//! it from a blocking thread or during `initialize`.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use crate::msrp::file_selector::{FileHasher, FileRange, FileSelectorHash};

/// How long a partial download can be resumed (a week, as in the original).
pub const PARTIAL_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The file name of the persisted records in the storage directory.
pub const METADATA_FILE_NAME: &str = "transfer_metadata.json";

/// The name a received file gets when the peer's name is unusable.
pub const DEFAULT_FILE_NAME: &str = "received-file";

/// Why a byte range cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    /// The range starts beyond the end of the file.
    #[error("file-range {range} starts beyond the end of the file ({size} bytes)")]
    BeyondEnd {
        /// The range asked for.
        range: String,
        /// The file size.
        size: u64,
    },
}

/// The bytes `[start, end)` (0-based) of a `size`-byte file that
/// `a=file-range` asks for: `None` is the whole file; a stop beyond the end
/// (or `*`) is the end of the file. An empty range is possible (a range
/// starting right after the last byte).
pub fn range_to_send(size: u64, range: Option<&FileRange>) -> Result<Range<u64>, RangeError> {
    let Some(range) = range else { return Ok(0..size) };
    let start = range.start.saturating_sub(1);
    if start > size {
        return Err(RangeError::BeyondEnd { range: range.to_string(), size });
    }
    let end = range.stop.map_or(size, |stop| stop.min(size)).max(start);
    Ok(start..end)
}

/// The `a=file-range` a receiver that already has the first `received`
/// bytes of a `size`-byte file answers with: the rest of the file, or
/// `None` when it has nothing (send everything) or everything.
pub fn resume_range(received: u64, size: u64) -> Option<FileRange> {
    (received > 0 && received < size).then_some(FileRange { start: received + 1, stop: Some(size) })
}

/// Creates a new file in `directory` for `name`, without replacing one:
/// `name`, then `stem-1.ext`, `stem-2.ext`... (the original's
/// `UniqueFilenameGenerator`). Returns the open file and its path.
pub fn create_unique_file(directory: &Path, name: &str) -> io::Result<(File, PathBuf)> {
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    };
    for attempt in 0u32.. {
        let candidate = match attempt {
            0 => name.to_owned(),
            n => format!("{stem}-{n}{extension}"),
        };
        let path = directory.join(candidate);
        match OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        if attempt >= 10_000 {
            break;
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("no free name for {name}")))
}

/// A partial download that can be resumed.
#[derive(Clone, Debug)]
pub struct PartialDownload {
    /// The file holding the first `received` bytes.
    pub path: PathBuf,
    /// How many bytes of the file are there, without a gap from the start.
    pub received: u64,
    /// The file's modification time when it was recorded.
    pub modified: SystemTime,
    /// When the transfer was interrupted.
    pub recorded: SystemTime,
    /// The SHA-1 state after the `received` bytes, when this process has it
    /// (records read back from disk have none: the prefix is hashed again).
    pub hasher: Option<FileHasher>,
}

impl PartialDownload {
    /// A record of the file at `path` as it is now, holding `received`
    /// bytes.
    pub fn of_file(path: &Path, received: u64, hasher: Option<FileHasher>) -> io::Result<PartialDownload> {
        let modified = std::fs::metadata(path)?.modified()?;
        let hasher = hasher.filter(|h| h.bytes_hashed() == received);
        Ok(PartialDownload { path: path.to_owned(), received, modified, recorded: SystemTime::now(), hasher })
    }

    /// Whether the file is still as recorded and young enough to resume.
    fn still_valid(&self, now: SystemTime) -> bool {
        let young = now.duration_since(self.recorded).map(|age| age < PARTIAL_LIFETIME).unwrap_or(true);
        let unchanged = std::fs::metadata(&self.path)
            .is_ok_and(|m| m.is_file() && m.len() == self.received && m.modified().is_ok_and(|t| t == self.modified));
        young && unchanged && self.received > 0
    }
}

/// The partial downloads of the process, by file hash (see the module
/// documentation).
#[derive(Debug, Default)]
pub struct PartialTransfers {
    inner: Mutex<Records>,
}

#[derive(Debug, Default)]
struct Records {
    /// Whether the persisted records were read.
    loaded_from: Option<PathBuf>,
    entries: HashMap<String, PartialDownload>,
}

static PARTIAL_TRANSFERS: LazyLock<PartialTransfers> = LazyLock::new(PartialTransfers::default);

fn key(hash: &FileSelectorHash) -> String {
    hash.to_string().to_ascii_lowercase()
}

impl PartialTransfers {
    /// The records of the process.
    pub fn instance() -> &'static PartialTransfers {
        &PARTIAL_TRANSFERS
    }

    fn lock(&self) -> MutexGuard<'_, Records> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the record of a partial download of the file with `hash`,
    /// when there is a valid one (`store`: the directory the records are
    /// persisted in, if any). The record is removed: put it back with
    /// [`record`](Self::record) if the new attempt fails too.
    pub fn claim(&self, hash: &FileSelectorHash, store: Option<&Path>) -> Option<PartialDownload> {
        let mut records = self.lock();
        records.load(store);
        let now = SystemTime::now();
        records.entries.retain(|_, entry| entry.still_valid(now));
        let entry = records.entries.remove(&key(hash));
        if entry.is_some() {
            records.save(store);
        }
        entry
    }

    /// Records a partial download of the file with `hash`, replacing an
    /// older record of the same file.
    pub fn record(&self, hash: &FileSelectorHash, download: PartialDownload, store: Option<&Path>) {
        let mut records = self.lock();
        records.load(store);
        records.entries.insert(key(hash), download);
        records.save(store);
    }

    /// Forgets the record of the file with `hash`, if any.
    pub fn forget(&self, hash: &FileSelectorHash, store: Option<&Path>) {
        let mut records = self.lock();
        records.load(store);
        if records.entries.remove(&key(hash)).is_some() {
            records.save(store);
        }
    }
}

impl Records {
    /// Merges the records persisted in `store` (once per directory).
    fn load(&mut self, store: Option<&Path>) {
        let Some(store) = store else { return };
        if self.loaded_from.as_deref() == Some(store) {
            return;
        }
        self.loaded_from = Some(store.to_owned());
        let Ok(text) = std::fs::read_to_string(store.join(METADATA_FILE_NAME)) else { return };
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(json) => {
                for (hash, entry) in json.get("entries").and_then(|e| e.as_object()).into_iter().flatten() {
                    if let Some(download) = download_from_json(entry) {
                        self.entries.entry(hash.clone()).or_insert(download);
                    }
                }
            }
            Err(e) => tracing::warn!("ignoring unreadable {METADATA_FILE_NAME}: {e}"),
        }
    }

    /// Writes the records to `store`, if any (errors are logged: losing
    /// them only means a later transfer starts from the beginning).
    fn save(&self, store: Option<&Path>) {
        let Some(store) = store else { return };
        let entries: serde_json::Map<String, serde_json::Value> =
            self.entries.iter().map(|(hash, entry)| (hash.clone(), download_to_json(entry))).collect();
        let json = serde_json::json!({ "version": 1, "entries": entries });
        let result = std::fs::create_dir_all(store).and_then(|()| {
            crate::storage::file_format::write_atomic(&store.join(METADATA_FILE_NAME), json.to_string().as_bytes())
        });
        if let Err(e) = result {
            tracing::warn!("cannot save {METADATA_FILE_NAME} in {}: {e}", store.display());
        }
    }
}

fn since_epoch(time: SystemTime) -> serde_json::Value {
    let since = time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    serde_json::json!([since.as_secs(), since.subsec_nanos()])
}

fn time_from_json(value: &serde_json::Value) -> Option<SystemTime> {
    let secs = value.get(0)?.as_u64()?;
    let nanos = u32::try_from(value.get(1)?.as_u64()?).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

fn download_to_json(entry: &PartialDownload) -> serde_json::Value {
    serde_json::json!({
        "path": entry.path.to_string_lossy(),
        "received": entry.received,
        "modified": since_epoch(entry.modified),
        "recorded": since_epoch(entry.recorded),
    })
}

fn download_from_json(value: &serde_json::Value) -> Option<PartialDownload> {
    Some(PartialDownload {
        path: PathBuf::from(value.get("path")?.as_str()?),
        received: value.get("received")?.as_u64()?,
        modified: time_from_json(value.get("modified")?)?,
        recorded: time_from_json(value.get("recorded")?)?,
        hasher: None,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn hash_of(bytes: &[u8]) -> FileSelectorHash {
        let mut hasher = FileHasher::new();
        hasher.update(bytes);
        hasher.finish()
    }

    #[test]
    fn a_missing_range_is_the_whole_file_and_stops_are_inclusive() {
        assert_eq!(range_to_send(100, None), Ok(0..100));
        assert_eq!(range_to_send(100, Some(&FileRange { start: 1, stop: None })), Ok(0..100));
        assert_eq!(range_to_send(100, Some(&FileRange { start: 51, stop: Some(100) })), Ok(50..100));
        assert_eq!(range_to_send(100, Some(&FileRange { start: 11, stop: Some(20) })), Ok(10..20));
        // A stop past the end is the end; a start right after the end is an empty range.
        assert_eq!(range_to_send(100, Some(&FileRange { start: 91, stop: Some(500) })), Ok(90..100));
        assert_eq!(range_to_send(100, Some(&FileRange { start: 101, stop: None })), Ok(100..100));
        assert!(matches!(
            range_to_send(100, Some(&FileRange { start: 102, stop: None })),
            Err(RangeError::BeyondEnd { size: 100, .. })
        ));
        assert_eq!(range_to_send(0, None), Ok(0..0));
    }

    #[test]
    fn the_resume_range_starts_after_the_bytes_received() {
        assert_eq!(resume_range(0, 100), None);
        assert_eq!(resume_range(100, 100), None);
        let range = resume_range(40, 100).unwrap();
        assert_eq!(range.to_string(), "41-100");
        // What the receiver asks for is exactly what the sender sends.
        assert_eq!(range_to_send(100, Some(&range)), Ok(40..100));
    }

    #[test]
    fn unique_files_never_replace_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        let (_, first) = create_unique_file(dir.path(), "report.pdf").unwrap();
        let (_, second) = create_unique_file(dir.path(), "report.pdf").unwrap();
        let (_, third) = create_unique_file(dir.path(), "report.pdf").unwrap();
        let (_, plain) = create_unique_file(dir.path(), "README").unwrap();
        let (_, plain2) = create_unique_file(dir.path(), "README").unwrap();
        let (_, hidden) = create_unique_file(dir.path(), ".profile").unwrap();
        let (_, hidden2) = create_unique_file(dir.path(), ".profile").unwrap();
        let names: Vec<String> = [first, second, third, plain, plain2, hidden, hidden2]
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["report.pdf", "report-1.pdf", "report-2.pdf", "README", "README-1", ".profile", ".profile-1"]
        );
    }

    fn partial_file(dir: &Path, bytes: &[u8]) -> PathBuf {
        let path = dir.join("partial.bin");
        File::create(&path).unwrap().write_all(bytes).unwrap();
        path
    }

    #[test]
    fn a_recorded_partial_download_is_claimed_once_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        let records = PartialTransfers::default();
        let whole = hash_of(b"the whole file");
        let path = partial_file(dir.path(), b"the whole");
        let mut prefix = FileHasher::new();
        prefix.update(b"the whole");
        records.record(&whole, PartialDownload::of_file(&path, 9, Some(prefix)).unwrap(), None);

        assert!(records.claim(&hash_of(b"another file"), None).is_none());
        let claimed = records.claim(&whole, None).expect("the partial download");
        assert_eq!((claimed.path, claimed.received), (path, 9));
        assert_eq!(claimed.hasher.map(|h| h.bytes_hashed()), Some(9));
        assert!(records.claim(&whole, None).is_none(), "a record is used once");
    }

    #[test]
    fn a_partial_file_changed_or_removed_since_is_not_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let records = PartialTransfers::default();
        let hash = hash_of(b"x");
        let path = partial_file(dir.path(), b"12345");
        records.record(&hash, PartialDownload::of_file(&path, 5, None).unwrap(), None);
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"6").unwrap();
        assert!(records.claim(&hash, None).is_none(), "the file grew");

        records.record(&hash, PartialDownload::of_file(&path, 6, None).unwrap(), None);
        std::fs::remove_file(&path).unwrap();
        assert!(records.claim(&hash, None).is_none(), "the file is gone");

        let path = partial_file(dir.path(), b"123");
        let mut old = PartialDownload::of_file(&path, 3, None).unwrap();
        old.recorded = SystemTime::now() - PARTIAL_LIFETIME - Duration::from_secs(1);
        records.record(&hash, old, None);
        assert!(records.claim(&hash, None).is_none(), "the record is too old");
    }

    #[test]
    fn a_hasher_that_does_not_match_the_bytes_received_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = partial_file(dir.path(), b"1234");
        let mut hasher = FileHasher::new();
        hasher.update(b"12");
        assert!(PartialDownload::of_file(&path, 4, Some(hasher)).unwrap().hasher.is_none());
    }

    #[test]
    fn records_persist_in_the_storage_directory() {
        let storage = tempfile::tempdir().unwrap();
        let files = tempfile::tempdir().unwrap();
        let hash = hash_of(b"persisted");
        let path = partial_file(files.path(), b"pers");
        let mut hasher = FileHasher::new();
        hasher.update(b"pers");
        PartialTransfers::default().record(
            &hash,
            PartialDownload::of_file(&path, 4, Some(hasher)).unwrap(),
            Some(storage.path()),
        );
        assert!(storage.path().join(METADATA_FILE_NAME).is_file());

        // Another process: the record comes back from disk, without the hash state.
        let restarted = PartialTransfers::default();
        let claimed = restarted.claim(&hash, Some(storage.path())).expect("the persisted record");
        assert_eq!((claimed.path.as_path(), claimed.received), (path.as_path(), 4));
        assert!(claimed.hasher.is_none());
        // Claiming removed it from the file too.
        assert!(PartialTransfers::default().claim(&hash, Some(storage.path())).is_none());

        std::fs::write(storage.path().join(METADATA_FILE_NAME), b"{not json").unwrap();
        assert!(PartialTransfers::default().claim(&hash, Some(storage.path())).is_none());
    }
}
