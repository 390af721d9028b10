//! The audio engine as applications use it: device mixers, AudioDevice,
//! AudioBridge, WavePlayer, WaveRecorder and AudioConference, with real
//! mixer threads and real WAV files.
//!
//! - Without a sound card (no backend installed: the null backend) the
//!   application starts on the null device, and says so: the mixers'
//!   devices and the `audio.*_device` settings are `None`.
//! - A 440 Hz WAV played twice with a pause into a recorder through a
//!   bridge: two tone runs of the file's length, the pause between them,
//!   440 Hz; `WavePlayerDidStart` once, `WavePlayerDidEnd` once.
//! - Missing and garbled files: `WavePlayerDidFail`, no panic.
//! - Nested bridges carry audio; a port whose last reference goes away
//!   leaves its bridge (and is no longer heard) within a few ticks.
//! - A conference of three participants and a (fake) sound device: hold
//!   takes the device out of the mix, unhold puts it back.
//! - `input_muted` / `output_muted` silence the device's sides, with
//!   `AudioPortDidChangeSlots`.
//!
//! The fake sound device captures a 1 kHz tone and keeps what it plays.

#[path = "support/app.rs"]
mod app;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sipsimple_core::audio::analysis::{dominant_frequency, read_wav, rms, sine, tone_amplitude, write_wav};
use sipsimple_core::audio::backend::{NullBackend, SoundBackend, SoundDeviceRequest, SoundIo};
use sipsimple_core::audio::objects::{
    AudioBridge, AudioConference, AudioDevice, AudioPortObject, ConferenceParticipant, DeviceMixer, WavePlayer,
    WaveRecorder,
};
use sipsimple_core::audio::{AudioError, WavePlayerOptions, frame_samples};
use sipsimple_core::handle::{self, Handle};
use sipsimple_core::notification::{Notification, NotificationCenter, NotificationRecorder};
use sipsimple_core::{Error, SIPApplication, SIPSimpleSettings, Value};

const T: Duration = Duration::from_secs(10);
const RATE: u32 = 16000;
const MIC_TONE: f64 = 1000.0;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sipsimple-audio-engine-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tone_file(dir: &Path, name: &str, freq: f64, seconds: f64) -> PathBuf {
    let path = dir.join(name);
    write_wav(&path, RATE, &sine(freq, 8000.0, RATE, (RATE as f64 * seconds) as usize)).unwrap();
    path
}

fn recorder() -> Arc<NotificationRecorder> {
    let r = NotificationRecorder::new();
    NotificationCenter::default_center().add_observer(r.clone(), None, None);
    r
}

/// What `sender` posted as `name` so far (everything posted is delivered first).
fn from(recorder: &NotificationRecorder, name: &str, sender: Handle) -> Vec<Notification> {
    assert!(NotificationCenter::default_center().flush(T), "notifications delivered");
    let sender = Value::Object(sender);
    recorder.all().into_iter().filter(|n| n.name == name && n.sender == sender).collect()
}

fn wait_from(recorder: &NotificationRecorder, name: &str, sender: Handle) -> Notification {
    let s = Value::Object(sender);
    recorder
        .wait_until(T, |seen| seen.iter().find(|n| n.name == name && n.sender == s).cloned())
        .unwrap_or_else(|| panic!("no {name} from {sender:?}; got {:?}", recorder.names()))
}

/// Polls `done` every 10 ms until it holds; panics after [`T`].
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + T;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn null_mixer() -> Arc<DeviceMixer> {
    DeviceMixer::with_backend(Arc::new(NullBackend), None, None, RATE).unwrap()
}

/// Records through `bridge` until `seconds` are recorded; returns the samples.
fn record(bridge: &AudioBridge, mixer: &Arc<DeviceMixer>, path: &Path, seconds: f64) -> Vec<i16> {
    let rec = WaveRecorder::new(mixer, path);
    bridge.add(rec.clone()).unwrap();
    rec.start().unwrap();
    wait_for("the recording", || rec.duration() >= Duration::from_secs_f64(seconds));
    rec.stop().unwrap();
    let _ = handle::release(rec.handle());
    read_wav(path).unwrap().2
}

/// The level of `freq` in `samples` relative to the test amplitude 8000.
fn level(samples: &[i16], freq: f64) -> f64 {
    tone_amplitude(samples, RATE, freq) / 8000.0
}

// ----- a fake sound card ------------------------------------------------------

#[derive(Default)]
struct FakeCard {
    played: Mutex<Vec<i16>>,
}

/// Every device it opens is a new card (the alert mixer's apart from the
/// voice mixer's).
#[derive(Default)]
struct FakeBackend(Mutex<Vec<Arc<FakeCard>>>);

impl FakeBackend {
    fn card(&self, n: usize) -> Arc<FakeCard> {
        lock(&self.0)[n].clone()
    }
}

struct FakeIo {
    card: Arc<FakeCard>,
    phase: usize,
    capture: bool,
}

impl SoundIo for FakeIo {
    fn capture(&mut self, frame: &mut [i16]) -> bool {
        if !self.capture {
            return false;
        }
        let tone = sine(MIC_TONE, 8000.0, RATE, self.phase + frame.len());
        frame.copy_from_slice(&tone[self.phase..]);
        self.phase += frame.len();
        true
    }

    fn playback(&mut self, frame: &[i16]) {
        lock(&self.card.played).extend_from_slice(frame);
    }
}

impl SoundBackend for FakeBackend {
    fn name(&self) -> &str {
        "fake"
    }
    fn input_devices(&self) -> Vec<String> {
        vec!["mic".into()]
    }
    fn output_devices(&self) -> Vec<String> {
        vec!["speaker".into()]
    }
    fn default_input_device(&self) -> Option<String> {
        Some("mic".into())
    }
    fn default_output_device(&self) -> Option<String> {
        Some("speaker".into())
    }
    fn open(&self, request: &SoundDeviceRequest) -> Result<Box<dyn SoundIo>, AudioError> {
        let card = Arc::new(FakeCard::default());
        lock(&self.0).push(card.clone());
        Ok(Box::new(FakeIo { card, phase: 0, capture: request.input_device.is_some() }))
    }
}

fn fake_mixer() -> (Arc<DeviceMixer>, Arc<FakeCard>) {
    let backend = Arc::new(FakeBackend::default());
    let mixer = DeviceMixer::with_backend(backend.clone(), Some("system_default"), Some("speaker"), RATE).unwrap();
    assert_eq!(mixer.real_input_device().as_deref(), Some("mic"));
    (mixer, backend.card(0))
}

/// What the fake card plays during the next `seconds`.
fn speaker(mixer: &DeviceMixer, card: &FakeCard, seconds: f64) -> Vec<i16> {
    let start = mixer.ticks();
    lock(&card.played).clear();
    let frames = (seconds * 50.0) as u64;
    wait_for("the speaker", || mixer.ticks() > start + frames);
    std::mem::take(&mut *lock(&card.played))
}

// ----- the application --------------------------------------------------------

/// The application is a singleton, and its backend is global.
static APP: Mutex<()> = Mutex::new(());

#[test]
fn without_a_sound_card_the_application_runs_on_the_null_device() {
    let _app = lock(&APP);
    let notifications = recorder();
    app::start_with_settings(&notifications, &[("audio.sample_rate", Value::from(16000i64))]);
    let app = SIPApplication::instance();
    let voice = app.voice_audio_mixer().expect("voice_audio_mixer");
    let alert = app.alert_audio_mixer().expect("alert_audio_mixer");
    assert_eq!(voice.backend_name(), "null");
    assert_eq!((voice.input_device(), voice.output_device()), (None, None), "the null device");
    assert_eq!(alert.output_device(), None);
    assert_eq!(voice.sample_rate(), 16000);
    let settings = SIPSimpleSettings::instance();
    for path in ["audio.input_device", "audio.output_device", "audio.alert_device"] {
        assert_eq!(settings.settings().get(path).unwrap(), Value::Null, "{path} says None");
    }
    let bridge = app.voice_audio_bridge().unwrap();
    let device = app.voice_audio_device().unwrap();
    assert!(bridge.contains(device.handle()), "the voice device is in the voice bridge");
    assert!(app.alert_audio_bridge().unwrap().contains(app.alert_audio_device().unwrap().handle()));
    let ticks = voice.ticks();
    wait_for("the voice mixer to tick", || voice.ticks() >= ticks + 5);

    // A player on the voice bridge plays on the (null) device.
    let dir = temp_dir("app");
    let player = WavePlayer::new(&voice, tone_file(&dir, "t.wav", 440.0, 0.2), WavePlayerOptions::default()).unwrap();
    bridge.add(player.clone()).unwrap();
    let played = voice.device_frames().1;
    player.play(Some(T)).unwrap();
    assert!(voice.device_frames().1 >= played + 10, "the device was given the file");
    // A conference on the voice mixer needs no arguments.
    let conference = AudioConference::new().unwrap();
    assert!(!conference.on_hold() && conference.streams().is_empty());

    app.stop().unwrap();
    notifications.wait_for("SIPApplicationDidEnd", T).expect("SIPApplicationDidEnd");
    assert!(app.voice_audio_mixer().is_none());
    assert!(!voice.is_running(), "the mixer thread stopped with the application");
    assert!(matches!(AudioConference::new(), Err(Error::InvalidState(_))));
}

// ----- WavePlayer and WaveRecorder ---------------------------------------------

/// Runs of audible (true) and silent 20 ms frames.
fn runs(samples: &[i16]) -> Vec<(bool, usize)> {
    let mut out: Vec<(bool, usize)> = Vec::new();
    for frame in samples.chunks(frame_samples(RATE)) {
        let loud = rms(frame) > 1000.0;
        match out.last_mut() {
            Some((l, n)) if *l == loud => *n += 1,
            _ => out.push((loud, 1)),
        }
    }
    out
}

#[test]
fn a_looping_player_records_through_a_bridge_with_its_pause() {
    let notifications = recorder();
    let dir = temp_dir("loop");
    let mixer = null_mixer();
    let options =
        WavePlayerOptions { loop_count: 2, pause_time: Duration::from_millis(300), ..WavePlayerOptions::default() };
    let player = WavePlayer::new(&mixer, tone_file(&dir, "tone.wav", 440.0, 0.5), options).unwrap();
    assert_eq!((player.loop_count(), player.pause_time(), player.volume()), (2, Duration::from_millis(300), 100));
    assert!(player.initial_play());
    let bridge = AudioBridge::new(&mixer);
    let rec = WaveRecorder::new(&mixer, dir.join("sub/dir/rec.wav"));
    bridge.add(rec.clone()).unwrap();
    bridge.add(player.clone()).unwrap();
    rec.start().unwrap();
    assert!(rec.is_active());
    player.start().unwrap();
    assert!(player.is_active());
    assert!(matches!(player.start(), Err(Error::InvalidState(_))), "already playing");
    assert!(player.set_volume(50).is_err(), "not while playing");
    wait_from(&notifications, "WavePlayerDidEnd", player.handle());
    assert!(!player.is_active());
    // A little silence after the end, then the file is closed.
    let end = rec.duration();
    wait_for("silence after the end", || rec.duration() >= end + Duration::from_millis(100));
    rec.stop().unwrap();
    assert!(!rec.is_active());

    let (rate, channels, samples) = read_wav(&dir.join("sub/dir/rec.wav")).unwrap();
    assert_eq!((rate, channels), (RATE, 1));
    let audible: Vec<(bool, usize)> = runs(&samples).into_iter().skip_while(|(loud, _)| !loud).collect();
    // 0.5 s = 25 frames, 0.3 s = 15 frames (± one frame for the edges).
    assert!(audible.len() >= 3, "{audible:?}");
    let [(true, first), (false, pause), (true, second)] = audible[..3] else { panic!("{audible:?}") };
    for (what, got, want) in [("first play", first, 25), ("pause", pause, 15), ("second play", second, 25)] {
        assert!(got.abs_diff(want) <= 1, "{what}: {got} frames, expected {want}: {audible:?}");
    }
    assert!(audible[3..].iter().all(|(loud, _)| !loud), "only two plays: {audible:?}");
    let f = dominant_frequency(&samples, RATE).unwrap();
    assert!((f - 440.0).abs() < 2.0, "{f} Hz");

    assert_eq!(from(&notifications, "WavePlayerDidStart", player.handle()).len(), 1);
    assert_eq!(from(&notifications, "WavePlayerDidEnd", player.handle()).len(), 1);
    assert!(from(&notifications, "WavePlayerDidFail", player.handle()).is_empty());
    // The player's slot came and went; the recorder's too.
    let changes = from(&notifications, "AudioPortDidChangeSlots", player.handle());
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(changes[0].data.get("new_producer_slot").unwrap().as_int().is_some());
    assert_eq!(changes[1].data.get("new_producer_slot"), Some(&Value::Null));
    assert_eq!(changes[1].data.get("producer_slot_changed"), Some(&Value::Bool(true)));
    assert_eq!(changes[1].data.get("consumer_slot_changed"), Some(&Value::Bool(false)));
    let rec_changes = from(&notifications, "AudioPortDidChangeSlots", rec.handle());
    assert_eq!(rec_changes.len(), 2);
    assert_eq!(rec_changes[0].data.get("consumer_slot_changed"), Some(&Value::Bool(true)));

    // Reusable: it plays again, and stop() ends it at once.
    player.set_loop_count(0).unwrap();
    player.start().unwrap();
    wait_for("the second DidStart", || from(&notifications, "WavePlayerDidStart", player.handle()).len() == 2);
    player.stop();
    assert!(!player.is_active());
    assert_eq!(from(&notifications, "WavePlayerDidEnd", player.handle()).len(), 2);
    mixer.stop();
}

#[test]
fn missing_and_garbled_files_fail_with_a_notification() {
    let notifications = recorder();
    let dir = temp_dir("fail");
    let mixer = null_mixer();
    let garbled = dir.join("garbled.wav");
    std::fs::write(&garbled, b"RIFF\x10\0\0\0WAVEfmt garbage that is not a header").unwrap();
    for path in [dir.join("missing.wav"), garbled] {
        let player = WavePlayer::new(&mixer, &path, WavePlayerOptions::default()).unwrap();
        player.start().expect("file errors are notified, not returned");
        let failed = wait_from(&notifications, "WavePlayerDidFail", player.handle());
        let error = failed.data.get("error").and_then(|v| v.as_str().map(str::to_owned)).unwrap();
        assert!(error.contains(&*path.to_string_lossy()), "{error}");
        assert!(!player.is_active());
        assert!(from(&notifications, "WavePlayerDidStart", player.handle()).is_empty());
        assert!(player.play(Some(T)).is_err(), "play() reports the failure");
    }
    assert!(WavePlayer::new(&mixer, "x.wav", WavePlayerOptions { volume: 201, ..Default::default() }).is_err());
    // A recorder that cannot create its file says so.
    std::fs::write(dir.join("file"), b"").unwrap();
    let rec = WaveRecorder::new(&mixer, dir.join("file/below/a/file.wav"));
    assert!(rec.start().is_err());
    assert!(!rec.is_active());
    mixer.stop();
}

// ----- AudioBridge --------------------------------------------------------------

#[test]
fn nested_bridges_carry_audio_and_dropped_ports_leave() {
    let dir = temp_dir("bridge");
    let mixer = null_mixer();
    let root = AudioBridge::new(&mixer);
    let nested = AudioBridge::new(&mixer);
    root.add(nested.clone()).unwrap();
    let forever = WavePlayerOptions { loop_count: 0, ..WavePlayerOptions::default() };
    let player = WavePlayer::new(&mixer, tone_file(&dir, "tone.wav", 440.0, 0.3), forever).unwrap();
    let player_handle = player.handle();
    nested.add(player.clone()).unwrap();
    nested.add(player.clone()).unwrap();
    assert_eq!(nested.ports().len(), 1, "members are a set");
    player.start().unwrap();
    let heard = record(&root, &mixer, &dir.join("a.wav"), 0.6);
    assert!(level(&heard[1600..], 440.0) > 0.9, "the root hears the nested bridge's player");

    // Errors: not a member, another mixer, itself.
    let other = null_mixer();
    let stranger = WaveRecorder::new(&other, dir.join("x.wav"));
    assert!(matches!(root.add(stranger.clone()), Err(Error::InvalidArgument(_))));
    let stranger: Arc<dyn AudioPortObject> = stranger;
    assert!(matches!(root.remove(&stranger), Err(Error::NotFound(_))));
    assert!(root.add(root.clone()).is_err());

    // The last reference goes away: the player leaves the bridge.
    drop(player);
    handle::release(player_handle).unwrap();
    wait_for("the dropped player to leave", || nested.ports().is_empty());
    assert!(!nested.contains(player_handle));
    let heard = record(&root, &mixer, &dir.join("b.wav"), 0.3);
    assert!(rms(&heard) < 1.0, "nothing plays any more: rms {}", rms(&heard));

    // Removing the nested bridge disconnects it; stopping a bridge empties it.
    let nested_port: Arc<dyn AudioPortObject> = nested.clone();
    root.remove(&nested_port).unwrap();
    assert!(root.ports().is_empty());
    nested.stop();
    assert!(nested.consumer_slot().is_none() && nested.producer_slot().is_none());
    assert!(nested.add(WaveRecorder::new(&mixer, dir.join("y.wav"))).is_err(), "a stopped bridge");
    mixer.stop();
    other.stop();
}

// ----- AudioDevice ----------------------------------------------------------------

#[test]
fn muting_the_device_silences_its_sides() {
    let notifications = recorder();
    let dir = temp_dir("mute");
    let (mixer, card) = fake_mixer();
    let device = AudioDevice::new(&mixer, false, false);
    let bridge = AudioBridge::new(&mixer);
    bridge.add(device.clone()).unwrap();
    let forever = WavePlayerOptions { loop_count: 0, ..WavePlayerOptions::default() };
    let player = WavePlayer::new(&mixer, tone_file(&dir, "tone.wav", 440.0, 0.3), forever).unwrap();
    bridge.add(player.clone()).unwrap();
    player.start().unwrap();

    let heard = record(&bridge, &mixer, &dir.join("1.wav"), 0.4);
    let played = speaker(&mixer, &card, 0.4);
    assert!(level(&heard, MIC_TONE) > 0.9 && level(&heard, 440.0) > 0.9, "the microphone and the player");
    assert!(level(&played, 440.0) > 0.9 && level(&played, MIC_TONE) < 0.01, "the speaker plays the player only");

    device.set_input_muted(true);
    assert_eq!((device.producer_slot(), device.consumer_slot()), (None, Some(0)));
    let heard = record(&bridge, &mixer, &dir.join("2.wav"), 0.4);
    assert!(level(&heard, MIC_TONE) < 0.01 && level(&heard, 440.0) > 0.9, "input muted");

    device.set_output_muted(true);
    let played = speaker(&mixer, &card, 0.4);
    assert!(!played.is_empty() && rms(&played) < 1.0, "output muted: the device plays silence");

    device.set_input_muted(false);
    device.set_output_muted(false);
    device.set_output_muted(false);
    let played = speaker(&mixer, &card, 0.4);
    assert!(level(&played, 440.0) > 0.9);

    let changes = from(&notifications, "AudioPortDidChangeSlots", device.handle());
    assert_eq!(changes.len(), 4, "one per change: {changes:?}");
    let d = &changes[0].data;
    assert_eq!(d.get("producer_slot_changed"), Some(&Value::Bool(true)));
    assert_eq!(d.get("consumer_slot_changed"), Some(&Value::Bool(false)));
    assert_eq!(d.get("old_producer_slot"), Some(&Value::from(0i64)));
    assert_eq!(d.get("new_producer_slot"), Some(&Value::Null));
    let d = &changes[1].data;
    assert_eq!(d.get("consumer_slot_changed"), Some(&Value::Bool(true)));
    assert_eq!(d.get("new_consumer_slot"), Some(&Value::Null));

    // The mixer's own mute (the audio.muted setting) silences the capture too.
    mixer.set_muted(true);
    let heard = record(&bridge, &mixer, &dir.join("3.wav"), 0.4);
    assert!(level(&heard, MIC_TONE) < 0.01);
    player.stop();
    mixer.stop();
}

// ----- AudioConference ------------------------------------------------------------

/// A participant as an AudioStream looks to a conference: a bridge holding
/// a device, plus a player (what the peer says) and a recorder (what the
/// peer hears).
struct Participant {
    bridge: Arc<AudioBridge>,
    device: Arc<AudioDevice>,
    _player: Arc<WavePlayer>,
}

impl ConferenceParticipant for Participant {
    fn participant_handle(&self) -> Handle {
        self.bridge.handle()
    }
    fn audio_bridge(&self) -> Option<Arc<AudioBridge>> {
        Some(self.bridge.clone())
    }
    fn audio_device(&self) -> Option<Arc<AudioDevice>> {
        Some(self.device.clone())
    }
}

#[test]
fn conference_hold_takes_the_local_device_out_of_the_mix() {
    let dir = temp_dir("conference");
    let (mixer, card) = fake_mixer();
    let freqs = [400.0, 700.0, 1300.0];
    let participants: Vec<Arc<Participant>> = freqs
        .iter()
        .map(|&f| {
            let bridge = AudioBridge::new(&mixer);
            let device = AudioDevice::new(&mixer, false, false);
            bridge.add(device.clone()).unwrap();
            let forever = WavePlayerOptions { loop_count: 0, ..WavePlayerOptions::default() };
            let player = WavePlayer::new(&mixer, tone_file(&dir, &format!("{f}.wav"), f, 0.3), forever).unwrap();
            bridge.add(player.clone()).unwrap();
            player.start().unwrap();
            Arc::new(Participant { bridge, device, _player: player })
        })
        .collect();
    let conference = AudioConference::with_mixer(&mixer).unwrap();
    for p in &participants {
        conference.add(p.clone()).unwrap();
        assert!(!p.bridge.contains(p.device.handle()), "the conference's device replaces the participant's");
    }
    conference.add(participants[0].clone()).unwrap();
    assert_eq!(conference.streams().len(), 3);

    let check = |on_hold: bool, name: &str| {
        let played = speaker(&mixer, &card, 0.4);
        for f in freqs {
            let l = level(&played, f);
            assert!(if on_hold { l < 0.01 } else { l > 0.9 }, "{name}: the speaker at {f} Hz: {l}");
        }
        // A recorder in participant 0's bridge (as an AudioStream's
        // recording) hears its player and the other two participants, and
        // the microphone unless the conference is on hold.
        let heard = record(&participants[0].bridge, &mixer, &dir.join(format!("{name}.wav")), 0.4);
        assert!(level(&heard, freqs[0]) > 0.9, "{name}: its own side");
        assert!(level(&heard, freqs[1]) > 0.9 && level(&heard, freqs[2]) > 0.9, "{name}: the others");
        let mic = level(&heard, MIC_TONE);
        assert!(if on_hold { mic < 0.01 } else { mic > 0.9 }, "{name}: the microphone at {mic}");
    };
    check(false, "joined");
    conference.hold().unwrap();
    assert!(conference.on_hold());
    check(true, "held");
    conference.unhold().unwrap();
    assert!(!conference.on_hold());
    check(false, "unheld");

    // Removing a participant gives it its device back; removing it twice is an error.
    let h = participants[2].participant_handle();
    conference.remove(h).unwrap();
    assert!(participants[2].bridge.contains(participants[2].device.handle()));
    assert!(matches!(conference.remove(h), Err(Error::NotFound(_))));
    let played = speaker(&mixer, &card, 0.4);
    assert!(level(&played, freqs[2]) > 0.9, "its own device still plays it");
    assert_eq!(conference.streams().len(), 2);
    mixer.stop();
}

// ----- calls on the voice device ---------------------------------------------------

fn handles(n: &Notification) -> Vec<Handle> {
    match n.data.get("streams") {
        Some(Value::List(items)) => items.iter().filter_map(Value::as_object).collect(),
        other => panic!("streams is {other:?}"),
    }
}

/// Alice calls bob, both accounts of one application whose sound card is
/// the fake one: what its microphone captures crosses the call both ways
/// and comes out of its speaker; muting the streams' devices silences it;
/// the streams' bridges go away with the call.
#[test]
fn a_call_is_spoken_and_heard_on_the_voice_device() {
    use sipsimple_core::audio::backend::install_backend;
    use sipsimple_core::session::Session;
    use sipsimple_core::sip::engine::Engine;
    use sipsimple_core::sip::transport::TransportKind;
    use sipsimple_core::streams::{AudioStream, MediaStream};

    let _app = lock(&APP);
    let backend = Arc::new(FakeBackend::default());
    install_backend(backend.clone());
    let notifications = recorder();
    app::start_with_settings(
        &notifications,
        &[("audio.sample_rate", Value::from(16000i64)), ("sip.transport_list", Value::from("udp"))],
    );
    let app = SIPApplication::instance();
    let voice = app.voice_audio_mixer().unwrap();
    assert_eq!(voice.backend_name(), "fake");
    assert_eq!(
        (voice.real_input_device().as_deref(), voice.real_output_device().as_deref()),
        (Some("mic"), Some("speaker"))
    );
    let settings = SIPSimpleSettings::instance();
    assert_eq!(settings.settings().get("audio.output_device").unwrap(), Value::from("system_default"));
    let cards = lock(&backend.0).len();
    let card = backend.card(cards - 2);
    let silent = speaker(&voice, &card, 0.2);
    assert!(rms(&silent) < 1.0, "nothing plays before the call");

    let (alice, bob) = (app::unregistered_account("alice@127.0.0.1"), app::unregistered_account("bob@127.0.0.1"));
    let port = Engine::current().unwrap().local_address(TransportKind::Udp).unwrap().port();
    let alice_stream = AudioStream::new(&alice);
    let call = Session::new(&alice);
    call.connect_with_streams(
        &format!("sip:{}@127.0.0.1:{port}", bob.contact().username),
        vec![alice_stream.clone()],
        None,
    )
    .unwrap();
    let incoming = notifications
        .wait_until(T, |seen| seen.iter().find(|n| n.name == "SIPSessionNewIncoming").cloned())
        .expect("SIPSessionNewIncoming");
    let incoming =
        handle::resolve::<Session>(incoming.sender.as_object().unwrap(), sipsimple_core::handle::ObjectKind::Session)
            .unwrap();
    let proposed = incoming.proposed_streams();
    let bob_stream = proposed[0].clone().as_any().downcast::<AudioStream>().unwrap();
    incoming.accept_streams(&proposed).unwrap();
    let started = wait_from(&notifications, "SIPSessionDidStart", call.handle());
    assert_eq!(handles(&started), [alice_stream.handle()]);
    wait_from(&notifications, "SIPSessionDidStart", incoming.handle());

    for stream in [&alice_stream, &bob_stream] {
        let bridge = stream.bridge().expect("a started stream has a bridge");
        let device = stream.device().expect("and a device");
        assert!(bridge.contains(device.handle()) && bridge.contains(stream.handle()));
        assert!(Arc::ptr_eq(&device.mixer(), &voice));
    }
    // The microphone's tone goes out on both streams and comes back on the speaker.
    let mut heard = Vec::new();
    wait_for("the microphone on the speaker", || {
        heard = speaker(&voice, &card, 0.2);
        level(&heard, MIC_TONE) > 0.5
    });
    let f = dominant_frequency(&heard, RATE).unwrap();
    assert!((f - MIC_TONE).abs() < 10.0, "{f} Hz");

    // Muting the streams' devices: nothing is sent, nothing is played.
    for stream in [&alice_stream, &bob_stream] {
        stream.device().unwrap().set_input_muted(true);
    }
    wait_for("silence on the speaker", || rms(&speaker(&voice, &card, 0.2)) < 1.0);
    for stream in [&alice_stream, &bob_stream] {
        stream.device().unwrap().set_output_muted(true);
        stream.device().unwrap().set_input_muted(false);
    }
    let muted = speaker(&voice, &card, 0.4);
    assert!(rms(&muted) < 1.0, "output muted: {}", rms(&muted));

    call.end().unwrap();
    wait_from(&notifications, "SIPSessionDidEnd", call.handle());
    wait_from(&notifications, "MediaStreamDidEnd", bob_stream.handle());
    assert!(alice_stream.bridge().is_none() && bob_stream.device().is_none(), "the bridges went with the call");
    let changes = from(&notifications, "AudioPortDidChangeSlots", alice_stream.handle());
    assert_eq!(changes.last().unwrap().data.get("new_consumer_slot"), Some(&Value::Null), "{changes:?}");

    app.stop().unwrap();
    notifications.wait_for("SIPApplicationDidEnd", T).expect("SIPApplicationDidEnd");
    install_backend(Arc::new(NullBackend));
}
