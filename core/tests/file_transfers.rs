//! File transfers through the running application (RFC 5547 over MSRP on
//! loopback TCP): one side calls the other offering a `FileTransferStream`
//! for a file; the stream registry proposes a receiving
//! `FileTransferStream` to the callee, which accepts it. Then:
//!
//! - a 200 MB file of random bytes crosses in each direction, streamed from
//!   and to disk: the receiver's file has the announced hash, progress
//!   notifications grow up to the file size on both sides, both sides
//!   finish, and the process's memory stays flat while it runs;
//! - a transfer cut once (its MSRP connection closed) then twice (the
//!   caller hangs up) is resumed by later calls for the same file: the
//!   receiver asks for the rest with `a=file-range`, only the missing bytes
//!   cross, and the file is complete with the right hash;
//! - a small file lands in the `file_transfer.directory` setting under
//!   its own name, a second copy under `name-1.ext`, and the progress
//!   notifications carry its bytes; a file whose size is not the
//!   selector's fails the sending stream's initialization and the call;
//! - an empty file finishes at once on both sides;
//! - a selector whose hash is not the file's makes the receiver fail and
//!   remove the file;
//! - the registry makes a receiving `FileTransferStream` of a `sendonly`
//!   `m=message` line with `a=file-selector`, refuses requests for a file
//!   (`recvonly`) and two-way file lines, and leaves lines without a file
//!   selector to chat.

#[path = "support/app.rs"]
mod app;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::msrp::file_selector::{FileHasher, FileSelector, FileSelectorHash};
use sipsimple_core::notification::{Notification, NotificationCenter, NotificationRecorder, Observer};
use sipsimple_core::session::Session;
use sipsimple_core::sip::engine::Engine;
use sipsimple_core::sip::transport::TransportKind;
use sipsimple_core::streams::{FileTransferStream, MediaStream};
use sipsimple_core::{Account, Handle, SIPApplication, Value};

const T: Duration = Duration::from_secs(10);
/// A 200 MB transfer may take a while in a debug build.
const LONG: Duration = Duration::from_secs(600);
const BIG: u64 = 200 * 1024 * 1024;
/// How much the resident memory may grow while a big file crosses.
const MEMORY_BUDGET: u64 = 64 * 1024 * 1024;

/// Files up to this size keep their bytes in the recorded notifications.
const KEPT_CONTENT: i64 = 1024 * 1024;

static APP: Mutex<()> = Mutex::new(());

/// The application with alice and bob (MSRP over TCP), a recorder of every
/// notification — without the bytes of `FileTransferStreamGotChunk` for
/// files above [`KEPT_CONTENT`], whose `content` is replaced by its length
/// so that the recorder does not hold them — and a directory for the files.
struct Running {
    recorder: Arc<NotificationRecorder>,
    observer: Arc<dyn Observer>,
    alice: Arc<Account>,
    bob: Arc<Account>,
    files: tempfile::TempDir,
    _lock: MutexGuard<'static, ()>,
}

fn start() -> Running {
    let lock = APP.lock().unwrap_or_else(PoisonError::into_inner);
    let files = tempfile::tempdir().expect("a temporary directory");
    let recorder = NotificationRecorder::new();
    let sink = recorder.clone();
    let observer: Arc<dyn Observer> = Arc::new(move |notification: &Notification| {
        let big = !matches!(notification.data.get("file_size"), Some(Value::Int(size)) if *size <= KEPT_CONTENT);
        if notification.name == "FileTransferStreamGotChunk" && big {
            let mut light = notification.clone();
            let length = match light.data.get("content") {
                Some(Value::Bytes(bytes)) => bytes.len() as i64,
                _ => -1,
            };
            light.data.insert("content", Value::Int(length));
            sink.handle_notification(&light);
        } else {
            sink.handle_notification(notification);
        }
    });
    NotificationCenter::default_center().add_observer(observer.clone(), None, None);
    let download = files.path().join("downloads");
    app::start_with_settings(
        &recorder,
        &[
            ("sip.transport_list", Value::from("udp")),
            ("file_transfer.directory", Value::from(download.to_string_lossy().into_owned())),
        ],
    );
    let (alice, bob) = (app::unregistered_account("alice@127.0.0.1"), app::unregistered_account("bob@127.0.0.1"));
    for account in [&alice, &bob] {
        account.settings().set("msrp.transport", Value::from("tcp")).unwrap();
        account.save().unwrap();
    }
    Running { recorder, observer, alice, bob, files, _lock: lock }
}

impl Running {
    fn uri_of(&self, account: &Account) -> String {
        let port = Engine::current().unwrap().local_address(TransportKind::Udp).unwrap().port();
        format!("sip:{}@127.0.0.1:{port}", account.contact().username)
    }

    /// The `n`th (1-based) `name` notification from `sender`.
    fn from(&self, name: &str, sender: Handle, n: usize, timeout: Duration) -> Notification {
        let sender = Value::Object(sender);
        self.recorder
            .wait_until(timeout, |seen| {
                seen.iter().filter(|x| x.name == name && x.sender == sender).nth(n - 1).cloned()
            })
            .unwrap_or_else(|| panic!("no {name} #{n}"))
    }

    /// Waits for `FileTransferStreamDidFinish` from `stream`; fails at once
    /// when one of `streams` fails.
    fn finished(&self, stream: Handle, streams: [Handle; 2]) {
        let watched: Vec<Value> = streams.iter().map(|h| Value::Object(*h)).collect();
        let outcome = self.recorder.wait_until(LONG, |seen| {
            seen.iter()
                .find(|n| {
                    (n.name == "FileTransferStreamDidFinish" && n.sender == Value::Object(stream))
                        || (n.name == "MediaStreamDidFail" && watched.contains(&n.sender))
                })
                .cloned()
        });
        match outcome {
            Some(n) if n.name == "FileTransferStreamDidFinish" => {}
            Some(failure) => panic!("the transfer failed: {:?}", failure.data),
            None => panic!("no FileTransferStreamDidFinish"),
        }
    }

    /// Every `name` notification from `sender` so far, in order.
    fn all_from(&self, name: &str, sender: Handle) -> Vec<Notification> {
        let sender = Value::Object(sender);
        self.recorder.all().into_iter().filter(|x| x.name == name && x.sender == sender).collect()
    }

    /// The `n`th incoming session.
    fn incoming(&self, n: usize) -> Arc<Session> {
        let got = self
            .recorder
            .wait_until(T, |seen| seen.iter().filter(|x| x.name == "SIPSessionNewIncoming").nth(n - 1).cloned())
            .unwrap_or_else(|| panic!("no incoming session #{n}"));
        handle::resolve::<Session>(got.sender.as_object().unwrap(), ObjectKind::Session).unwrap()
    }

    fn stop(self) {
        SIPApplication::instance().stop().unwrap();
        self.recorder.wait_for("SIPApplicationDidEnd", T).expect("SIPApplicationDidEnd");
        let _ = NotificationCenter::default_center().remove_observer(&*self.observer, None, None);
    }
}

fn int(notification: &Notification, field: &str) -> i64 {
    match notification.data.get(field) {
        Some(Value::Int(i)) => *i,
        other => panic!("{} {field}: {other:?}", notification.name),
    }
}

/// A file of `size` pseudo-random bytes, written in pieces.
fn random_file(dir: &Path, name: &str, size: u64, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut rng = StdRng::seed_from_u64(seed);
    let mut piece = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(piece.len() as u64) as usize;
        rng.fill_bytes(&mut piece[..n]);
        file.write_all(&piece[..n]).unwrap();
        left -= n as u64;
    }
    file.flush().unwrap();
    path
}

fn hash_of_file(path: &Path) -> FileSelectorHash {
    let mut hasher = FileHasher::new();
    hasher.update_from_reader(std::fs::File::open(path).unwrap()).unwrap();
    hasher.finish()
}

/// The process's resident memory, from /proc.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Samples the resident memory every 20 ms until dropped; `peak` is the
/// highest seen.
struct MemoryWatch {
    baseline: u64,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MemoryWatch {
    fn start() -> MemoryWatch {
        let baseline = resident_bytes();
        let peak = Arc::new(AtomicU64::new(baseline));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(resident_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        MemoryWatch { baseline, peak, stop, thread: Some(thread) }
    }

    /// (baseline, peak) in bytes.
    fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        (self.baseline, self.peak.load(Ordering::Relaxed).max(resident_bytes()))
    }
}

/// One call offering `file` from `sender` to `receiver`, accepted; the
/// receiver's stream saves into `save_directory` (the setting's directory
/// when `None`).
struct Transfer {
    call: Arc<Session>,
    incoming: Arc<Session>,
    sending: Arc<FileTransferStream>,
    receiving: Arc<FileTransferStream>,
}

fn offer(
    run: &Running,
    sender: &Arc<Account>,
    receiver: &Account,
    selector: FileSelector,
    path: &Path,
    save_directory: Option<&Path>,
    nth_incoming: usize,
) -> Transfer {
    let sending = FileTransferStream::new(sender, selector.clone(), path);
    assert_eq!(sending.direction(), "sendonly");
    assert_eq!(sending.stream_type(), "file-transfer");
    let call = Session::new(sender);
    let offered: Vec<Arc<dyn MediaStream>> = vec![sending.clone()];
    call.connect_with_streams(&run.uri_of(receiver), offered, None).unwrap();

    let incoming = run.incoming(nth_incoming);
    let proposed = incoming.proposed_streams();
    assert_eq!(proposed.len(), 1, "one stream proposed");
    assert_eq!(proposed[0].stream_type(), "file-transfer");
    let receiving = proposed[0].clone().as_any().downcast::<FileTransferStream>().expect("a FileTransferStream");
    assert_eq!(receiving.direction(), "recvonly");
    assert_eq!(receiving.file_selector(), &selector, "the receiver sees the sender's selector");
    if let Some(directory) = save_directory {
        receiving.set_save_directory(directory).unwrap();
    }
    incoming.accept_streams(&proposed).unwrap();
    run.from("MediaStreamDidStart", sending.handle(), 1, T);
    run.from("MediaStreamDidStart", receiving.handle(), 1, T);
    Transfer { call, incoming, sending, receiving }
}

impl Transfer {
    fn hang_up(&self, run: &Running) {
        self.call.end().unwrap();
        run.from("SIPSessionDidEnd", self.incoming.handle(), 1, T);
        run.from("SIPSessionDidEnd", self.call.handle(), 1, T);
        run.from("MediaStreamDidEnd", self.sending.handle(), 1, T);
        run.from("MediaStreamDidEnd", self.receiving.handle(), 1, T);
    }
}

/// Checks a finished transfer of `size` bytes: both sides finished, no
/// failure, progress grew to the size on both sides; returns the bytes
/// that crossed (the sum of the receiver's pieces).
fn check_finished(run: &Running, transfer: &Transfer, size: u64) -> u64 {
    for stream in [&transfer.sending, &transfer.receiving] {
        run.finished(stream.handle(), [transfer.sending.handle(), transfer.receiving.handle()]);
    }
    for stream in [&transfer.sending, &transfer.receiving] {
        assert!(run.all_from("MediaStreamDidFail", stream.handle()).is_empty(), "no failure");
        assert_eq!(run.all_from("FileTransferStreamDidFinish", stream.handle()).len(), 1, "finished once");
        assert_eq!(stream.transferred_bytes(), size);
    }
    assert!(run.all_from("FileTransferStreamDidNotDeliverChunk", transfer.sending.handle()).is_empty());

    let delivered = run.all_from("FileTransferStreamDidDeliverChunk", transfer.sending.handle());
    let got = run.all_from("FileTransferStreamGotChunk", transfer.receiving.handle());
    if size > 0 {
        assert!(!delivered.is_empty() && !got.is_empty(), "progress on both sides");
    }
    let mut crossed = 0u64;
    for (list, what) in [(&delivered, "delivered"), (&got, "received")] {
        let progress: Vec<i64> = list.iter().map(|n| int(n, "transferred_bytes")).collect();
        assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{what} progress never goes back");
        assert!(list.iter().all(|n| int(n, "file_size") == size as i64), "{what}: file_size");
        if let Some(last) = progress.last() {
            assert_eq!(*last, size as i64, "{what} progress ends at the file size");
        }
    }
    for n in &delivered {
        assert_eq!(int(n, "code"), 200);
        assert!(n.data.get("message_id").and_then(Value::as_str).is_some_and(|id| !id.is_empty()));
    }
    for n in &got {
        crossed += match n.data.get("content") {
            Some(Value::Bytes(bytes)) => bytes.len() as u64,
            _ => int(n, "content") as u64,
        };
    }
    crossed
}

fn big_transfer(run: &Running, sender: &Arc<Account>, receiver: &Account, nth_incoming: usize, seed: u64) {
    let source = run.files.path().join(format!("source-{seed}"));
    std::fs::create_dir_all(&source).unwrap();
    let path = random_file(&source, "big.bin", BIG, seed);
    let selector = FileSelector::for_file(&path, Some("application/octet-stream"), true).unwrap();
    let saved = run.files.path().join(format!("saved-{seed}"));
    let memory = MemoryWatch::start();
    let started = Instant::now();
    let transfer = offer(run, sender, receiver, selector.clone(), &path, Some(&saved), nth_incoming);
    let crossed = check_finished(run, &transfer, BIG);
    let elapsed = started.elapsed();
    let (baseline, peak) = memory.finish();
    eprintln!(
        "200 MB {} -> {}: {:.1} s, {:.1} MB/s; resident memory {} MB at the start, peak {} MB (+{} MB)",
        sender.id(),
        receiver.id(),
        elapsed.as_secs_f64(),
        BIG as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64(),
        baseline >> 20,
        peak >> 20,
        peak.saturating_sub(baseline) >> 20
    );
    assert_eq!(crossed, BIG, "every byte crossed once");
    let received = transfer.receiving.file_path().expect("the received file");
    assert_eq!(received, saved.join("big.bin"));
    assert_eq!(std::fs::metadata(&received).unwrap().len(), BIG);
    assert_eq!(Some(hash_of_file(&received)), selector.hash, "the received file has the announced hash");
    assert!(
        peak.saturating_sub(baseline) < MEMORY_BUDGET,
        "resident memory grew by {} MB while 200 MB crossed",
        peak.saturating_sub(baseline) >> 20
    );
    transfer.hang_up(run);
    let _ = std::fs::remove_file(&received);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_200_mb_file_crosses_both_ways_from_disk_to_disk_with_its_hash() {
    let run = start();
    big_transfer(&run, &run.alice.clone(), &run.bob.clone(), 1, 1);
    big_transfer(&run, &run.bob.clone(), &run.alice.clone(), 2, 2);
    run.stop();
}

/// Waits until `stream` has received `bytes` (polling its state, which is
/// ahead of the notifications).
fn wait_received(stream: &FileTransferStream, bytes: u64) {
    let deadline = Instant::now() + LONG;
    while stream.transferred_bytes() < bytes {
        assert!(Instant::now() < deadline, "{} of {bytes} bytes arrived", stream.transferred_bytes());
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The bytes a cut transfer kept: the receiver's count, the partial file's
/// size, which are the same; no DidFinish.
fn kept(run: &Running, transfer: &Transfer, at_least: u64) -> u64 {
    let kept = transfer.receiving.transferred_bytes();
    assert!((at_least..BIG).contains(&kept), "{kept} bytes kept");
    let partial = transfer.receiving.file_path().unwrap();
    assert_eq!(std::fs::metadata(&partial).unwrap().len(), kept, "the partial file keeps what arrived");
    assert!(run.all_from("FileTransferStreamDidFinish", transfer.receiving.handle()).is_empty());
    assert!(run.all_from("FileTransferStreamDidFinish", transfer.sending.handle()).is_empty());
    kept
}

#[test]
fn an_interrupted_transfer_resumes_where_it_stopped() {
    let run = start();
    let source = run.files.path().join("source");
    std::fs::create_dir_all(&source).unwrap();
    let path = random_file(&source, "resumed.bin", BIG, 3);
    let selector = FileSelector::for_file(&path, None, true).unwrap();
    let saved = run.files.path().join("saved");

    // The first attempt: the receiver's MSRP connection is cut once a
    // quarter arrived. Its stream fails, which ends its session.
    let first = offer(&run, &run.alice, &run.bob, selector.clone(), &path, Some(&saved), 1);
    wait_received(&first.receiving, BIG / 4);
    first.receiving.base().connection().expect("the MSRP connection").close();
    let failed = run.from("MediaStreamDidFail", first.receiving.handle(), 1, T);
    assert_eq!(failed.data.get("context").and_then(Value::as_str), Some("media"));
    let not_delivered = run.from("FileTransferStreamDidNotDeliverChunk", first.sending.handle(), 1, T);
    assert_ne!(int(&not_delivered, "code"), 200);
    let failed = run.from("MediaStreamDidFail", first.sending.handle(), 1, T);
    assert_eq!(failed.data.get("context").and_then(Value::as_str), Some("transferring"));
    run.from("SIPSessionDidEnd", first.incoming.handle(), 1, T);
    run.from("SIPSessionDidEnd", first.call.handle(), 1, T);
    run.from("MediaStreamDidEnd", first.receiving.handle(), 1, T);
    run.from("MediaStreamDidEnd", first.sending.handle(), 1, T);
    for stream in [&first.sending, &first.receiving] {
        assert_eq!(run.all_from("MediaStreamDidFail", stream.handle()).len(), 1, "one failure each");
    }
    let kept_first = kept(&run, &first, BIG / 4);
    let partial = first.receiving.file_path().unwrap();

    // The second attempt for the same file starts after what arrived; the
    // caller hangs up once half the file is there.
    let second = offer(&run, &run.alice, &run.bob, selector.clone(), &path, Some(&saved), 2);
    assert_eq!(second.receiving.file_path(), Some(partial.clone()), "the same file grows");
    assert_eq!(second.sending.file_range(), Some(kept_first..BIG), "the receiver asked for the rest");
    wait_received(&second.receiving, BIG / 2);
    second.hang_up(&run);
    for stream in [&second.sending, &second.receiving] {
        assert!(run.all_from("MediaStreamDidFail", stream.handle()).is_empty(), "hanging up is no failure");
    }
    let kept_second = kept(&run, &second, BIG / 2);
    assert!(kept_second > kept_first);

    // The third attempt sends only the rest and completes the file.
    let third = offer(&run, &run.alice, &run.bob, selector.clone(), &path, Some(&saved), 3);
    let crossed = check_finished(&run, &third, BIG);
    let range = third.sending.file_range().expect("the range sent");
    eprintln!("resumed: cut at {kept_first} then {kept_second} bytes; bytes {range:?} sent last ({crossed} crossed)");
    assert_eq!(range, kept_second..BIG, "the sender sent what the receiver's file-range asked for");
    assert_eq!(crossed, BIG - kept_second, "only the missing bytes crossed");
    let first_got = run.from("FileTransferStreamGotChunk", third.receiving.handle(), 1, T);
    assert!(int(&first_got, "transferred_bytes") as u64 > kept_second, "progress counts the resumed bytes");
    assert_eq!(third.receiving.file_path(), Some(partial.clone()), "the same file grew");
    assert_eq!(Some(hash_of_file(&partial)), selector.hash, "the resumed file has the right hash");
    third.hang_up(&run);
    run.stop();
}

#[test]
fn small_and_empty_files_and_a_wrong_hash() {
    let run = start();
    let source = run.files.path().join("source");
    std::fs::create_dir_all(&source).unwrap();
    let downloads = run.files.path().join("downloads");

    // A small file, twice, into the file_transfer.directory setting.
    let small = random_file(&source, "notes.txt", 100_000, 4);
    let selector = FileSelector::for_file(&small, None, true).unwrap();
    assert_eq!(selector.content_type.as_deref(), Some("text/plain"));
    for (n, expected_name) in [(1, "notes.txt"), (2, "notes-1.txt")] {
        let transfer = offer(&run, &run.alice, &run.bob, selector.clone(), &small, None, n);
        check_finished(&run, &transfer, 100_000);
        let got = run.from("FileTransferStreamGotChunk", transfer.receiving.handle(), 1, T);
        assert_eq!(got.data.get("content_type").and_then(Value::as_str), Some("text/plain"));
        let received = transfer.receiving.file_path().unwrap();
        assert_eq!(received, downloads.join(expected_name));
        let original = std::fs::read(&small).unwrap();
        assert_eq!(std::fs::read(&received).unwrap(), original);
        // The notifications carried the file's bytes, in order.
        let mut carried = Vec::new();
        for got in run.all_from("FileTransferStreamGotChunk", transfer.receiving.handle()) {
            match got.data.get("content") {
                Some(Value::Bytes(bytes)) => carried.extend_from_slice(bytes),
                other => panic!("content: {other:?}"),
            }
        }
        assert_eq!(carried, original);
        transfer.hang_up(&run);
    }

    // A file that is not the size its selector says: the stream cannot be
    // initialized, so the call fails before an offer goes out.
    let mut wrong_size = FileSelector::for_file(&small, None, true).unwrap();
    wrong_size.size = Some(100_001);
    let sending = FileTransferStream::new(&run.alice, wrong_size, &small);
    let call = Session::new(&run.alice);
    call.connect_with_streams(&run.uri_of(&run.bob), vec![sending.clone() as Arc<dyn MediaStream>], None).unwrap();
    let failed = run.from("MediaStreamDidFail", sending.handle(), 1, T);
    assert_eq!(failed.data.get("context").and_then(Value::as_str), Some("initialize"));
    let reason = failed.data.get("reason").and_then(Value::as_str).unwrap_or_default().to_owned();
    assert!(reason.contains("100000 bytes, 100001 announced"), "{reason}");
    run.from("SIPSessionDidFail", call.handle(), 1, T);

    // An empty file.
    let empty = source.join("empty.dat");
    std::fs::write(&empty, b"").unwrap();
    let selector = FileSelector::for_file(&empty, None, true).unwrap();
    let transfer = offer(&run, &run.alice, &run.bob, selector, &empty, None, 3);
    assert_eq!(check_finished(&run, &transfer, 0), 0);
    let received = transfer.receiving.file_path().unwrap();
    assert_eq!(received, downloads.join("empty.dat"));
    assert_eq!(std::fs::metadata(&received).unwrap().len(), 0);
    transfer.hang_up(&run);

    // A selector whose hash is not the file's.
    let corrupted = random_file(&source, "corrupted.bin", 300_000, 5);
    let mut selector = FileSelector::for_file(&corrupted, None, true).unwrap();
    selector.hash = Some(hash_of_file(&small));
    let transfer = offer(&run, &run.alice, &run.bob, selector, &corrupted, None, 4);
    let failed = run.from("MediaStreamDidFail", transfer.receiving.handle(), 1, LONG);
    assert_eq!(failed.data.get("context").and_then(Value::as_str), Some("transferring"));
    assert_eq!(failed.data.get("reason").and_then(Value::as_str), Some("File hash mismatch"));
    assert!(run.all_from("FileTransferStreamDidFinish", transfer.receiving.handle()).is_empty());
    let received = transfer.receiving.file_path().unwrap();
    assert!(!received.exists(), "the corrupted file was removed");
    transfer.call.end().unwrap();
    run.from("SIPSessionDidEnd", transfer.call.handle(), 1, T);
    run.stop();
}

/// An offer with one MSRP m-line carrying `attributes`.
fn msrp_offer(attributes: &str) -> sipsimple_core::sdp::SessionDescription {
    let text = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=message 2855 TCP/MSRP *\r\na=path:msrp://127.0.0.1:2855/abcd;tcp\r\na=accept-types:*\r\n{attributes}"
    );
    sipsimple_core::sdp::SessionDescription::parse(text.as_bytes()).expect("a valid offer")
}

#[test]
fn incoming_offers_with_a_file_selector_are_file_transfers() {
    let run = start();
    let registry = sipsimple_core::streams::MediaStreamRegistry::instance();
    let selector = "a=file-selector:name:\"photo.jpg\" type:image/jpeg size:1234 \
                    hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E\r\n";

    let offer = msrp_offer(&format!("a=sendonly\r\n{selector}a=file-transfer-id:t1\r\n"));
    let stream = registry.stream_for(&run.bob, &offer, 0).unwrap().expect("a stream");
    assert_eq!(stream.stream_type(), "file-transfer");
    let stream = stream.as_any().downcast::<FileTransferStream>().unwrap();
    assert_eq!(stream.direction(), "recvonly");
    assert_eq!(stream.file_selector().name.as_deref(), Some("photo.jpg"));
    assert_eq!(stream.file_selector().size, Some(1234));
    assert_eq!(stream.file_size(), Some(1234));
    assert_eq!(stream.transfer_id().map(|id| id.0.as_str()), Some("t1"));
    assert_eq!((stream.file_path(), stream.transferred_bytes()), (None, 0));
    stream.set_save_directory(run.files.path()).unwrap();
    assert_eq!(stream.save_directory().as_deref(), Some(run.files.path()));

    // A request for a file (recvonly) and a two-way file line are refused.
    for direction in ["a=recvonly\r\n", "a=sendrecv\r\n", ""] {
        let offer = msrp_offer(&format!("{direction}{selector}"));
        assert!(registry.stream_for(&run.bob, &offer, 0).is_err(), "{direction:?}");
    }
    // Without a file selector the line is a chat.
    let chat = registry.stream_for(&run.bob, &msrp_offer(""), 0).unwrap().expect("a stream");
    assert_eq!(chat.stream_type(), "chat");
    run.stop();
}
