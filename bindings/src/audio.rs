//! Audio (`sipsimple.audio`): the mixers ([`AudioMixer`]), the ports
//! ([`AudioDevice`], [`AudioBridge`], [`WavePlayer`], [`WaveRecorder`], and
//! `AudioStream`), passed around as [`AudioPort`] values, and the
//! [`AudioConference`]; plus the application's voice and alert mixers,
//! bridges and devices on `SipApplication`.
//!
//! Ports exchange audio through bridges: a bridge connects every producer
//! in it to every consumer in it but itself. To send a WAV file to the peer
//! of a call, add a `WavePlayer` to the `AudioStream`'s `bridge()`; to play
//! it on the speaker, to `SipApplication.voiceAudioBridge()`.
//!
//! Every object has a handle, the sender of its notifications. Objects made
//! with a constructor own their core object: when the object is destroyed
//! (closed in Kotlin, released in Swift) its handle is released, and a
//! player, recorder or device nobody else holds leaves its mixer and every
//! bridge (bridges hold their ports weakly, as in the original). Objects
//! given by other calls (`fromHandle`, `SipApplication`, `ports()`...) only
//! refer to the core object.

use std::sync::Arc;
use std::time::Duration;

use sipsimple_core::audio::WavePlayerOptions;
use sipsimple_core::audio::objects as core;
use sipsimple_core::handle::{self, Handle, ObjectKind};
use sipsimple_core::streams::AudioEngine;

use crate::SipApplication;
use crate::streams::AudioStream;
use crate::{Result, SipSimpleError};

/// Resolves `raw` as a core object of `kind`, or `InvalidHandle` naming
/// `class`.
fn resolve<T: std::any::Any + Send + Sync>(raw: u64, kind: ObjectKind, class: &str) -> Result<Arc<T>> {
    handle::resolve::<T>(Handle::from_raw(raw), kind)
        .map_err(|e| SipSimpleError::InvalidHandle { detail: format!("{raw:#x} is no {class}: {e}") })
}

/// Releases the handle of an owned core object.
fn release_if_owned(owned: bool, h: Handle) {
    if owned {
        let _ = handle::release(h);
    }
}

fn seconds(what: &str, value: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| SipSimpleError::InvalidArgument {
        detail: format!("{what} {value} is not a non-negative number of seconds"),
    })
}

/// The `#[uniffi::export]` methods of a port object (a struct of `inner`,
/// the core port, and `owned`): `$methods` plus `handle`, `mixer`,
/// `consumer_slot`, `producer_slot` and `as_audio_port` (documented by the
/// caller), and a `Drop` that releases the handle of an owned port.
macro_rules! audio_port_object {
    (
        impl $class:ident as AudioPort::$variant:ident { $field:ident } {
            $(#[doc = $handle_doc:literal])* fn handle;
            $(#[doc = $consumer_doc:literal])* fn consumer_slot;
            $(#[doc = $producer_doc:literal])* fn producer_slot;
            $(#[doc = $port_doc:literal])* fn as_audio_port;
            $($methods:tt)*
        }
    ) => {
        impl Drop for $class {
            fn drop(&mut self) {
                release_if_owned(self.owned, self.inner.handle());
            }
        }

        #[uniffi::export]
        impl $class {
            $($methods)*

            $(#[doc = $handle_doc])*
            pub fn handle(&self) -> u64 {
                self.inner.handle().raw()
            }

            /// `mixer`.
            pub fn mixer(&self) -> Arc<AudioMixer> {
                AudioMixer::wrap(core::AudioPortObject::mixer(&*self.inner))
            }

            $(#[doc = $consumer_doc])*
            pub fn consumer_slot(&self) -> Option<u32> {
                core::AudioPortObject::consumer_slot(&*self.inner)
            }

            $(#[doc = $producer_doc])*
            pub fn producer_slot(&self) -> Option<u32> {
                core::AudioPortObject::producer_slot(&*self.inner)
            }

            $(#[doc = $port_doc])*
            pub fn as_audio_port(self: Arc<Self>) -> AudioPort {
                AudioPort::$variant { $field: self }
            }
        }
    };
}

/// Two slots of a mixer connected by `connect_slots`.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SlotConnection {
    /// The producing slot.
    pub src: u32,
    /// The consuming slot.
    pub dst: u32,
}

/// A mixer on a sound device, ticked every 20 ms (the original's core
/// `AudioMixer`); slot 0 is its device. The application has two, the voice
/// and the alert mixer (`SipApplication.voiceAudioMixer()`,
/// `alertAudioMixer()`); only ports of one mixer can be bridged.
#[derive(uniffi::Object)]
#[uniffi::export(Eq, Hash)]
pub struct AudioMixer {
    pub(crate) inner: Arc<core::DeviceMixer>,
    owned: bool,
}

impl AudioMixer {
    pub(crate) fn wrap(inner: Arc<core::DeviceMixer>) -> Arc<AudioMixer> {
        Arc::new(AudioMixer { inner, owned: false })
    }

    fn running(&self) -> Result<&core::DeviceMixer> {
        if self.inner.is_running() {
            Ok(&self.inner)
        } else {
            Err(SipSimpleError::InvalidState { detail: "the mixer was stopped (the application stopped)".to_owned() })
        }
    }
}

impl Drop for AudioMixer {
    fn drop(&mut self) {
        if self.owned {
            self.inner.stop();
        }
        release_if_owned(self.owned, self.inner.handle());
    }
}

#[uniffi::export]
impl AudioMixer {
    /// `AudioMixer(input_device, output_device, sample_rate)`: a new mixer
    /// on the named devices (`system_default`, a device name, or `None` for
    /// no device; both `None`: the null device), ticking at once and
    /// stopped when the object is destroyed. Errors: a device that cannot
    /// be opened, a sample rate that is not a multiple of 50 Hz in
    /// 8000-192000.
    #[uniffi::constructor]
    pub fn new(input_device: Option<String>, output_device: Option<String>, sample_rate: u32) -> Result<Arc<Self>> {
        let inner = core::DeviceMixer::new(input_device.as_deref(), output_device.as_deref(), sample_rate)?;
        Ok(Arc::new(AudioMixer { inner, owned: true }))
    }

    /// The mixer whose handle is `handle`. `InvalidHandle` when it is no
    /// live mixer.
    #[uniffi::constructor]
    pub fn from_handle(handle: u64) -> Result<Arc<Self>> {
        Ok(AudioMixer::wrap(resolve(handle, ObjectKind::AudioMixer, "audio mixer")?))
    }

    /// The mixer's handle.
    pub fn handle(&self) -> u64 {
        self.inner.handle().raw()
    }

    /// `sample_rate`, in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.inner.sample_rate()
    }

    /// `input_device`: the capture device as asked (`None`: none).
    pub fn input_device(&self) -> Option<String> {
        self.inner.input_device()
    }

    /// `output_device`: the playback device as asked (`None`: none).
    pub fn output_device(&self) -> Option<String> {
        self.inner.output_device()
    }

    /// `real_input_device`: the capture device in use.
    pub fn real_input_device(&self) -> Option<String> {
        self.inner.real_input_device()
    }

    /// `real_output_device`: the playback device in use.
    pub fn real_output_device(&self) -> Option<String> {
        self.inner.real_output_device()
    }

    /// `set_sound_devices(input_device, output_device)`: changes the
    /// devices; on error the old ones stay.
    pub fn set_sound_devices(&self, input_device: Option<String>, output_device: Option<String>) -> Result<()> {
        Ok(self.running()?.set_sound_devices(input_device.as_deref(), output_device.as_deref())?)
    }

    /// `muted`: the capture is muted.
    pub fn muted(&self) -> bool {
        self.inner.muted()
    }

    /// Sets `muted`.
    pub fn set_muted(&self, muted: bool) {
        self.inner.set_muted(muted);
    }

    /// `output_volume`, 0-100.
    pub fn output_volume(&self) -> u32 {
        self.inner.output_volume()
    }

    /// Sets `output_volume`, 0-100 (higher values are 100).
    pub fn set_output_volume(&self, volume: u32) {
        self.inner.set_output_volume(volume.min(100));
    }

    /// `connect_slots(src, dst)`: sends what slot `src` produces to slot
    /// `dst` (counted: two connects need two disconnects). Bridges do this
    /// for their ports. `NotFound` for a slot the mixer does not have,
    /// `InvalidState` once the mixer stopped.
    pub fn connect_slots(&self, src: u32, dst: u32) -> Result<()> {
        let mixer = self.running()?;
        mixer.with_mixer(|m| m.connect_slots(src, dst)).map_err(|e| sipsimple_core::Error::from(e).into())
    }

    /// `disconnect_slots(src, dst)`: undoes one `connect_slots(src, dst)`.
    /// `NotFound` when they are not connected.
    pub fn disconnect_slots(&self, src: u32, dst: u32) -> Result<()> {
        let mixer = self.running()?;
        mixer.with_mixer(|m| m.disconnect_slots(src, dst)).map_err(|e| sipsimple_core::Error::from(e).into())
    }

    /// `connected_slots`: every connected pair, once.
    pub fn connected_slots(&self) -> Vec<SlotConnection> {
        self.inner.connected_slots().into_iter().map(|(src, dst)| SlotConnection { src, dst }).collect()
    }

    /// `used_slot_count`: slots in use.
    pub fn used_slot_count(&self) -> u32 {
        u32::try_from(self.inner.used_slot_count()).unwrap_or(u32::MAX)
    }

    /// Whether the mixer still runs (it stops with the application, or
    /// when an owned mixer is destroyed).
    pub fn is_running(&self) -> bool {
        self.inner.is_running()
    }
}

impl PartialEq for AudioMixer {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for AudioMixer {}

impl std::hash::Hash for AudioMixer {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.handle().hash(state);
    }
}

/// Anything with slots on a mixer (the original's `IAudioPort`), as
/// `AudioBridge.add` and `remove` take it and `ports()` gives it. Every
/// port object has `asAudioPort()`.
#[derive(Clone, uniffi::Enum)]
pub enum AudioPort {
    /// A mixer's sound device.
    Device {
        /// The device.
        device: Arc<AudioDevice>,
    },
    /// A bridge (bridges nest).
    Bridge {
        /// The bridge.
        bridge: Arc<AudioBridge>,
    },
    /// A WAV file player.
    Player {
        /// The player.
        player: Arc<WavePlayer>,
    },
    /// A WAV file recorder.
    Recorder {
        /// The recorder.
        recorder: Arc<WaveRecorder>,
    },
    /// An audio stream (a port while it runs).
    Stream {
        /// The stream.
        stream: Arc<AudioStream>,
    },
}

#[uniffi::export]
impl AudioPort {
    /// The port's handle.
    pub fn handle(&self) -> u64 {
        match self {
            AudioPort::Device { device } => device.handle(),
            AudioPort::Bridge { bridge } => bridge.handle(),
            AudioPort::Player { player } => player.handle(),
            AudioPort::Recorder { recorder } => recorder.handle(),
            AudioPort::Stream { stream } => stream.handle(),
        }
    }

    /// `consumer_slot`: the slot it consumes from, if any now.
    pub fn consumer_slot(&self) -> Option<u32> {
        self.to_core().ok().and_then(|p| p.consumer_slot())
    }

    /// `producer_slot`: the slot it produces on, if any now.
    pub fn producer_slot(&self) -> Option<u32> {
        self.to_core().ok().and_then(|p| p.producer_slot())
    }
}

impl AudioPort {
    /// The core port.
    fn to_core(&self) -> Result<Arc<dyn core::AudioPortObject>> {
        Ok(match self {
            AudioPort::Device { device } => device.inner.clone(),
            AudioPort::Bridge { bridge } => bridge.inner.clone(),
            AudioPort::Player { player } => player.inner.clone(),
            AudioPort::Recorder { recorder } => recorder.inner.clone(),
            AudioPort::Stream { stream } => stream.inner.port().ok_or_else(|| SipSimpleError::InvalidState {
                detail: "the audio stream is no port before it is initialized or after it ended".to_owned(),
            })?,
        })
    }

    /// The binding value of a core port (found by its handle's kind).
    fn wrap(port: &Arc<dyn core::AudioPortObject>) -> Option<AudioPort> {
        let raw = port.handle().raw();
        Some(match port.handle().try_kind()? {
            ObjectKind::AudioDevice => AudioPort::Device { device: AudioDevice::from_handle(raw).ok()? },
            ObjectKind::AudioBridge => AudioPort::Bridge { bridge: AudioBridge::from_handle(raw).ok()? },
            ObjectKind::WavePlayer => AudioPort::Player { player: WavePlayer::from_handle(raw).ok()? },
            ObjectKind::WaveRecorder => AudioPort::Recorder { recorder: WaveRecorder::from_handle(raw).ok()? },
            ObjectKind::AudioStream => AudioPort::Stream { stream: AudioStream::from_handle(raw).ok()? },
            _ => return None,
        })
    }
}

/// A mixer's sound device as a port (`AudioDevice`): it consumes and
/// produces on slot 0 unless `outputMuted` / `inputMuted`. Changing either
/// posts `AudioPortDidChangeSlots`.
#[derive(uniffi::Object)]
pub struct AudioDevice {
    pub(crate) inner: Arc<core::AudioDevice>,
    owned: bool,
}

impl AudioDevice {
    pub(crate) fn wrap(inner: Arc<core::AudioDevice>) -> Arc<AudioDevice> {
        Arc::new(AudioDevice { inner, owned: false })
    }
}

audio_port_object! {
    impl AudioDevice as AudioPort::Device { device } {
        /// The device's handle.
        fn handle;
        /// `consumer_slot`.
        fn consumer_slot;
        /// `producer_slot`.
        fn producer_slot;
        /// This device as an `AudioPort`.
        fn as_audio_port;
        /// `AudioDevice(mixer, input_muted=False, output_muted=False)`.
        #[uniffi::constructor(default(input_muted = false, output_muted = false))]
        pub fn new(mixer: Arc<AudioMixer>, input_muted: bool, output_muted: bool) -> Result<Arc<Self>> {
            mixer.running()?;
            Ok(Arc::new(AudioDevice {
                inner: core::AudioDevice::new(&mixer.inner, input_muted, output_muted),
                owned: true,
            }))
        }

        /// The device whose handle is `handle`. `InvalidHandle` when it is no
        /// live device.
        #[uniffi::constructor]
        pub fn from_handle(handle: u64) -> Result<Arc<Self>> {
            Ok(AudioDevice::wrap(resolve(handle, ObjectKind::AudioDevice, "audio device")?))
        }

        /// `input_muted`: it produces nothing.
        pub fn input_muted(&self) -> bool {
            self.inner.input_muted()
        }

        /// Sets `input_muted`.
        pub fn set_input_muted(&self, muted: bool) {
            self.inner.set_input_muted(muted);
        }

        /// `output_muted`: it consumes nothing.
        pub fn output_muted(&self) -> bool {
            self.inner.output_muted()
        }

        /// Sets `output_muted`.
        pub fn set_output_muted(&self, muted: bool) {
            self.inner.set_output_muted(muted);
        }
    }
}

/// A full mesh of ports on one mixer (`AudioBridge`): every producer in it
/// is heard by every consumer in it but itself. It holds its ports weakly
/// (a port nobody holds any more leaves it), is itself a port (bridges nest
/// as a tree), and reconnects a port whose slots change.
#[derive(uniffi::Object)]
pub struct AudioBridge {
    pub(crate) inner: Arc<core::AudioBridge>,
    owned: bool,
}

impl AudioBridge {
    pub(crate) fn wrap(inner: Arc<core::AudioBridge>) -> Arc<AudioBridge> {
        Arc::new(AudioBridge { inner, owned: false })
    }
}

audio_port_object! {
    impl AudioBridge as AudioPort::Bridge { bridge } {
        /// The bridge's handle.
        fn handle;
        /// `consumer_slot`.
        fn consumer_slot;
        /// `producer_slot`.
        fn producer_slot;
        /// This bridge as an `AudioPort`.
        fn as_audio_port;
        /// `AudioBridge(mixer)`: an empty bridge.
        #[uniffi::constructor]
        pub fn new(mixer: Arc<AudioMixer>) -> Result<Arc<Self>> {
            mixer.running()?;
            Ok(Arc::new(AudioBridge { inner: core::AudioBridge::new(&mixer.inner), owned: true }))
        }

        /// The bridge whose handle is `handle`. `InvalidHandle` when it is no
        /// live bridge.
        #[uniffi::constructor]
        pub fn from_handle(handle: u64) -> Result<Arc<Self>> {
            Ok(AudioBridge::wrap(resolve(handle, ObjectKind::AudioBridge, "audio bridge")?))
        }

        /// `add(port)`: connects `port` to every other member; adding a member
        /// again does nothing. Errors: a port of another mixer, the bridge
        /// itself, a stopped bridge, a stream that is not running.
        pub fn add(&self, port: AudioPort) -> Result<()> {
            Ok(self.inner.add(port.to_core()?)?)
        }

        /// `remove(port)`: disconnects `port`. `NotFound` (the original's
        /// `ValueError`) if it is not a member.
        pub fn remove(&self, port: AudioPort) -> Result<()> {
            Ok(self.inner.remove_handle(Handle::from_raw(port.handle()))?)
        }

        /// Whether `port` is a member (`port in bridge`).
        pub fn contains(&self, port: AudioPort) -> bool {
            self.inner.contains(Handle::from_raw(port.handle()))
        }

        /// The members, in the order they were added.
        pub fn ports(&self) -> Vec<AudioPort> {
            self.inner.ports().iter().filter_map(AudioPort::wrap).collect()
        }

        /// `stop()`: disconnects every member and gives the slots back; the
        /// bridge is unusable afterwards.
        pub fn stop(&self) {
            self.inner.stop();
        }
    }
}

/// A WAV file played into a mixer (`WavePlayer`): any PCM or float WAV,
/// mixed down to mono and resampled to the mixer rate. Reusable: it
/// produces on its slot from `start()` until it ends. Posts
/// `WavePlayerDidStart` (first play), `WavePlayerDidEnd` (all loops played,
/// or `stop()`) and `WavePlayerDidFail` (`error`: the file is missing, no
/// WAV, an unsupported format).
#[derive(uniffi::Object)]
pub struct WavePlayer {
    pub(crate) inner: Arc<core::WavePlayer>,
    owned: bool,
}

audio_port_object! {
    impl WavePlayer as AudioPort::Player { player } {
        /// The player's handle: the sender of its notifications.
        fn handle;
        /// `consumer_slot`: always `None` (a player consumes nothing).
        fn consumer_slot;
        /// `producer_slot`: its slot while it plays.
        fn producer_slot;
        /// This player as an `AudioPort`.
        fn as_audio_port;
        /// `WavePlayer(mixer, filename, volume=100, loop_count=1, pause_time=0,
        /// initial_play=True)`: a stopped player. `volume` is 0-200 (100: as
        /// recorded), `loop_count` the plays per start (0: forever),
        /// `pause_time` the silence between plays in seconds, `initial_play`
        /// false waits `pause_time` before the first play. The file is opened
        /// when it plays. `InvalidArgument` for a volume above 200 or a
        /// negative pause.
        #[uniffi::constructor(default(volume = 100, loop_count = 1, pause_time = 0.0, initial_play = true))]
        pub fn new(
            mixer: Arc<AudioMixer>,
            filename: String,
            volume: u32,
            loop_count: u32,
            pause_time: f64,
            initial_play: bool,
        ) -> Result<Arc<Self>> {
            let options =
                WavePlayerOptions { volume, loop_count, pause_time: seconds("pause_time", pause_time)?, initial_play };
            mixer.running()?;
            Ok(Arc::new(WavePlayer { inner: core::WavePlayer::new(&mixer.inner, filename, options)?, owned: true }))
        }

        /// The player whose handle is `handle`. `InvalidHandle` when it is no
        /// live player.
        #[uniffi::constructor]
        pub fn from_handle(handle: u64) -> Result<Arc<Self>> {
            Ok(Arc::new(WavePlayer { inner: resolve(handle, ObjectKind::WavePlayer, "wave player")?, owned: false }))
        }

        /// `filename`.
        pub fn filename(&self) -> String {
            self.inner.filename().display().to_string()
        }

        /// Sets `filename` (`InvalidState` while active).
        pub fn set_filename(&self, filename: String) -> Result<()> {
            Ok(self.inner.set_filename(filename)?)
        }

        /// `volume`, 0-200.
        pub fn volume(&self) -> u32 {
            self.inner.volume()
        }

        /// Sets `volume` (`InvalidState` while active).
        pub fn set_volume(&self, volume: u32) -> Result<()> {
            Ok(self.inner.set_volume(volume)?)
        }

        /// `loop_count`: plays per start, 0 forever.
        pub fn loop_count(&self) -> u32 {
            self.inner.loop_count()
        }

        /// Sets `loop_count` (`InvalidState` while active).
        pub fn set_loop_count(&self, loop_count: u32) -> Result<()> {
            Ok(self.inner.set_loop_count(loop_count)?)
        }

        /// `pause_time`, in seconds.
        pub fn pause_time(&self) -> f64 {
            self.inner.pause_time().as_secs_f64()
        }

        /// Sets `pause_time`, in seconds (`InvalidState` while active).
        pub fn set_pause_time(&self, pause_time: f64) -> Result<()> {
            Ok(self.inner.set_pause_time(seconds("pause_time", pause_time)?)?)
        }

        /// `initial_play`.
        pub fn initial_play(&self) -> bool {
            self.inner.initial_play()
        }

        /// Sets `initial_play` (`InvalidState` while active).
        pub fn set_initial_play(&self, initial_play: bool) -> Result<()> {
            Ok(self.inner.set_initial_play(initial_play)?)
        }

        /// `is_active`: between `start()` and its end.
        pub fn is_active(&self) -> bool {
            self.inner.is_active()
        }

        /// `start()`: starts playing. A file that cannot be played is reported
        /// by `WavePlayerDidFail`; the only error is `InvalidState` when it is
        /// playing already.
        pub fn start(&self) -> Result<()> {
            Ok(self.inner.start()?)
        }

        /// `stop()`: stops at once; posts `WavePlayerDidEnd` if it was active.
        pub fn stop(&self) {
            self.inner.stop();
        }

        /// `play().wait()`: starts playing and blocks until the play ends (all
        /// loops, or `stop()` from another thread), at most `timeout_ms`
        /// milliseconds when given. Errors: `InvalidArgument` when the file
        /// could not be played, `InvalidState` when it was playing already or
        /// the time ran out (it then keeps playing).
        #[uniffi::method(default(timeout_ms = None))]
        pub fn play(&self, timeout_ms: Option<u32>) -> Result<()> {
            Ok(self.inner.play(timeout_ms.map(|ms| Duration::from_millis(u64::from(ms))))?)
        }
    }
}

/// A WAV file recorded from a mixer (`WaveRecorder`): 16-bit mono at the
/// mixer rate. It consumes on its slot from `start()` to `stop()` and
/// records only what is connected to it (put it in a bridge). Reusable; a
/// restart with the same filename overwrites the file. No notifications.
#[derive(uniffi::Object)]
pub struct WaveRecorder {
    pub(crate) inner: Arc<core::WaveRecorder>,
    owned: bool,
}

audio_port_object! {
    impl WaveRecorder as AudioPort::Recorder { recorder } {
        /// The recorder's handle.
        fn handle;
        /// `consumer_slot`: its slot while it records.
        fn consumer_slot;
        /// `producer_slot`: always `None`.
        fn producer_slot;
        /// This recorder as an `AudioPort`.
        fn as_audio_port;
        /// `WaveRecorder(mixer, filename)`: a stopped recorder; missing parent
        /// directories are created on `start()`.
        #[uniffi::constructor]
        pub fn new(mixer: Arc<AudioMixer>, filename: String) -> Result<Arc<Self>> {
            mixer.running()?;
            Ok(Arc::new(WaveRecorder { inner: core::WaveRecorder::new(&mixer.inner, filename), owned: true }))
        }

        /// The recorder whose handle is `handle`. `InvalidHandle` when it is no
        /// live recorder.
        #[uniffi::constructor]
        pub fn from_handle(handle: u64) -> Result<Arc<Self>> {
            Ok(Arc::new(WaveRecorder { inner: resolve(handle, ObjectKind::WaveRecorder, "wave recorder")?, owned: false }))
        }

        /// `filename`.
        pub fn filename(&self) -> String {
            self.inner.filename().display().to_string()
        }

        /// Sets `filename` for the next `start()` (`InvalidState` while
        /// recording).
        pub fn set_filename(&self, filename: String) -> Result<()> {
            Ok(self.inner.set_filename(filename)?)
        }

        /// `is_active`: recording.
        pub fn is_active(&self) -> bool {
            self.inner.is_active()
        }

        /// What the current (or last) recording holds so far, in seconds.
        pub fn duration(&self) -> f64 {
            self.inner.duration().as_secs_f64()
        }

        /// `start()`: creates the file and starts recording. Errors: recording
        /// already, the file cannot be created.
        pub fn start(&self) -> Result<()> {
            Ok(self.inner.start()?)
        }

        /// `stop()`: stops and completes the file; nothing when stopped.
        pub fn stop(&self) -> Result<()> {
            Ok(self.inner.stop()?)
        }
    }
}

/// Local mixing of audio streams (`AudioConference`): every participant
/// hears every other one and the local device. The streams' own hold state
/// is not changed by `hold()`. No notifications.
#[derive(uniffi::Object)]
pub struct AudioConference {
    inner: Arc<core::AudioConference>,
}

impl Drop for AudioConference {
    fn drop(&mut self) {
        let _ = handle::release(self.inner.handle());
    }
}

#[uniffi::export]
impl AudioConference {
    /// `AudioConference()`: an empty conference on the application's voice
    /// mixer. `InvalidState` while the application does not run.
    #[uniffi::constructor]
    pub fn new() -> Result<Arc<Self>> {
        Ok(Arc::new(AudioConference { inner: core::AudioConference::new()? }))
    }

    /// The conference's handle.
    pub fn handle(&self) -> u64 {
        self.inner.handle().raw()
    }

    /// `bridge`: add a `WavePlayer` to play to every participant, a
    /// `WaveRecorder` to record the conference.
    pub fn bridge(&self) -> Arc<AudioBridge> {
        AudioBridge::wrap(self.inner.bridge())
    }

    /// The local device in the conference.
    pub fn device(&self) -> Arc<AudioDevice> {
        AudioDevice::wrap(self.inner.device())
    }

    /// `on_hold`: the local device is out of the conference.
    pub fn on_hold(&self) -> bool {
        self.inner.on_hold()
    }

    /// `streams`: the participants, in the order they were added.
    pub fn streams(&self) -> Vec<Arc<AudioStream>> {
        self.inner
            .streams()
            .iter()
            .filter_map(|p| AudioStream::from_handle(p.participant_handle().raw()).ok())
            .collect()
    }

    /// `add(stream)`: adds an initialized stream; adding it again does
    /// nothing.
    pub fn add(&self, stream: Arc<AudioStream>) -> Result<()> {
        Ok(self.inner.add(stream.inner.clone())?)
    }

    /// `remove(stream)`: `NotFound` (the original's `ValueError`) if it is
    /// not in the conference.
    pub fn remove(&self, stream: Arc<AudioStream>) -> Result<()> {
        Ok(self.inner.remove(Handle::from_raw(stream.handle()))?)
    }

    /// `hold()`: takes the local device out of the conference.
    pub fn hold(&self) -> Result<()> {
        Ok(self.inner.hold()?)
    }

    /// `unhold()`: puts the local device back.
    pub fn unhold(&self) -> Result<()> {
        Ok(self.inner.unhold()?)
    }
}

fn not_running() -> SipSimpleError {
    SipSimpleError::InvalidState { detail: "the application is not running".to_owned() }
}

/// The application's audio objects (`SIPApplication.voice_audio_mixer`
/// ...), from `SIPApplicationWillStart` until it stopped; `InvalidState`
/// otherwise.
#[uniffi::export]
impl SipApplication {
    /// `voice_audio_mixer`: the mixer on the `audio.input_device` and
    /// `audio.output_device` settings; audio streams are on it.
    pub fn voice_audio_mixer(&self) -> Result<Arc<AudioMixer>> {
        AudioEngine::instance().voice_mixer().map(AudioMixer::wrap).ok_or_else(not_running)
    }

    /// `voice_audio_bridge`: add ports here to play to the output device or
    /// record from the input device.
    pub fn voice_audio_bridge(&self) -> Result<Arc<AudioBridge>> {
        AudioEngine::instance().voice_bridge().map(AudioBridge::wrap).ok_or_else(not_running)
    }

    /// `voice_audio_device`: the voice device, in `voice_audio_bridge`.
    pub fn voice_audio_device(&self) -> Result<Arc<AudioDevice>> {
        AudioEngine::instance().voice_device().map(AudioDevice::wrap).ok_or_else(not_running)
    }

    /// `alert_audio_mixer`: the mixer on the `audio.alert_device` setting.
    pub fn alert_audio_mixer(&self) -> Result<Arc<AudioMixer>> {
        AudioEngine::instance().alert_mixer().map(AudioMixer::wrap).ok_or_else(not_running)
    }

    /// `alert_audio_bridge`: add ports here to play on the alert device.
    pub fn alert_audio_bridge(&self) -> Result<Arc<AudioBridge>> {
        AudioEngine::instance().alert_bridge().map(AudioBridge::wrap).ok_or_else(not_running)
    }

    /// `alert_audio_device`: the alert device, in `alert_audio_bridge`.
    pub fn alert_audio_device(&self) -> Result<Arc<AudioDevice>> {
        AudioEngine::instance().alert_device().map(AudioDevice::wrap).ok_or_else(not_running)
    }
}
