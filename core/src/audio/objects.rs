//! The application's audio objects, as the original's `sipsimple.audio` has
//! them: every one has a [`Handle`], posts its notifications with that
//! handle as sender, and may be used from any thread.
//!
//! - [`DeviceMixer`]: the original's core `AudioMixer`: a running
//!   [`AudioMixer`] on a sound device (slot 0), ticked every 20 ms by its own
//!   thread (`sipsimple-mixer`). The application has two: voice and alert.
//! - [`AudioPortObject`]: the original's `IAudioPort` (`mixer`,
//!   `consumer_slot`, `producer_slot`); a port whose slots change posts
//!   `AudioPortDidChangeSlots` and every bridge holding it reconnects it.
//! - [`AudioDevice`]: a view of a mixer's device with `input_muted` and
//!   `output_muted`.
//! - [`AudioBridge`]: a full mesh of ports; holds them weakly (a port whose
//!   last reference goes away leaves it), nests.
//! - [`WavePlayer`] and [`WaveRecorder`]: WAV files into and out of a mixer,
//!   with `WavePlayerDidStart`, `WavePlayerDidEnd` and `WavePlayerDidFail`.
//! - [`AudioConference`]: local mixing of audio streams.
//!
//! Handles: every constructor registers the object; the handle table keeps
//! it alive until the handle is released ([`handle::release`], which is what
//! the language bindings do when their object is freed). An object whose
//! handle is released and whose last `Arc` is dropped leaves the mixer and
//! every bridge within one tick.
//!
//! Locking: every change of connections is serialised by one wiring lock;
//! a port's own lock is never held while another object is called, so
//! objects may be used from any thread, including notification observers.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::backend::{self, DevicePort, SYSTEM_DEFAULT, SoundBackend, SoundDeviceRequest};
use super::bridge::{self, PortSlots};
use super::mixer::{AudioMixer, SharedPort, lock as lock_port};
use super::wave::{self, WavePlayerEvent, WavePlayerOptions};
use super::{AudioError, FRAME_DURATION, SlotId};
use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::notification::NotificationCenter;
use crate::notifications as n;

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serialises every change of connections and slots (see the module docs).
static WIRING: Mutex<()> = Mutex::new(());

/// Keys of port objects dropped since the bridges last looked.
static DROPPED: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// Every bridge, to reconnect ports whose slots change.
static BRIDGES: Mutex<Vec<Weak<AudioBridge>>> = Mutex::new(Vec::new());

fn wiring() -> MutexGuard<'static, ()> {
    lock(&WIRING)
}

fn post<N: n::TypedNotification>(sender: Handle, notification: N) {
    NotificationCenter::default_center().post(sender, notification);
}

// ----- the mixer -------------------------------------------------------------

/// When the ticking thread falls this far behind (a suspended process), it
/// starts a new schedule instead of catching up in a burst.
const MAX_LAG: Duration = Duration::from_millis(200);

/// Something the mixer thread calls after every tick, without any lock held.
pub(crate) trait TickListener: Send + Sync {
    fn after_tick(&self);
}

type Listeners = Arc<Mutex<Vec<Weak<dyn TickListener>>>>;

#[derive(Clone, Debug, Default)]
struct DeviceNames {
    input_device: Option<String>,
    output_device: Option<String>,
    real_input_device: Option<String>,
    real_output_device: Option<String>,
}

/// A mixer on a sound device, ticked every 20 ms: the original's core
/// `AudioMixer` (see the module documentation). Slot 0 is the device.
pub struct DeviceMixer {
    mixer: Arc<Mutex<AudioMixer>>,
    device: Arc<Mutex<DevicePort>>,
    backend: Arc<dyn SoundBackend>,
    names: Mutex<DeviceNames>,
    muted: AtomicBool,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
    listeners: Listeners,
    handle: OnceLock<Handle>,
}

impl std::fmt::Debug for DeviceMixer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceMixer").field("handle", &self.handle()).field("devices", &*lock(&self.names)).finish()
    }
}

/// Resolves a device setting to a real device name: `None` stays `None`,
/// [`SYSTEM_DEFAULT`] is the backend's default device.
fn resolve_device(name: Option<&str>, default: impl FnOnce() -> Option<String>) -> Result<Option<String>> {
    match name {
        None => Ok(None),
        Some(SYSTEM_DEFAULT) => match default() {
            Some(real) => Ok(Some(real)),
            None => Err(AudioError::InvalidArgument("the system has no default sound device".into()).into()),
        },
        Some(other) => Ok(Some(other.to_owned())),
    }
}

impl DeviceMixer {
    /// A mixer at `sample_rate` on the installed backend's devices:
    /// `input_device` and `output_device` are device names,
    /// [`SYSTEM_DEFAULT`], or `None` for no device (both `None`: the null
    /// device). Error when a device cannot be opened or the rate is not
    /// supported. It starts ticking at once.
    pub fn new(input_device: Option<&str>, output_device: Option<&str>, sample_rate: u32) -> Result<Arc<DeviceMixer>> {
        Self::with_backend(backend::backend(), input_device, output_device, sample_rate)
    }

    /// [`DeviceMixer::new`] on a given backend.
    pub fn with_backend(
        backend: Arc<dyn SoundBackend>,
        input_device: Option<&str>,
        output_device: Option<&str>,
        sample_rate: u32,
    ) -> Result<Arc<DeviceMixer>> {
        let mut mixer = AudioMixer::new(sample_rate)?;
        let (names, io) = Self::open(&*backend, input_device, output_device, sample_rate)?;
        let device = Arc::new(Mutex::new(DevicePort::new(io)));
        let slot = mixer.add_port(device.clone());
        debug_assert_eq!(slot, 0);
        let mixer = Arc::new(Mutex::new(mixer));
        let stop = Arc::new(AtomicBool::new(false));
        let listeners: Listeners = Arc::new(Mutex::new(Vec::new()));
        let (m, flag, l) = (mixer.clone(), stop.clone(), listeners.clone());
        let thread = std::thread::Builder::new()
            .name("sipsimple-mixer".into())
            .spawn(move || tick_loop(&m, &flag, &l))
            .map_err(|e| Error::Internal(format!("cannot start the mixer thread: {e}")))?;
        tracing::debug!(
            "mixer at {sample_rate} Hz on {}: input {:?}, output {:?}",
            backend.name(),
            names.real_input_device,
            names.real_output_device
        );
        let this = Arc::new(DeviceMixer {
            mixer,
            device,
            backend,
            names: Mutex::new(names),
            muted: AtomicBool::new(false),
            stop,
            thread: Mutex::new(Some(thread)),
            listeners,
            handle: OnceLock::new(),
        });
        let h = handle::register(ObjectKind::AudioMixer, this.clone(), None);
        let _ = this.handle.set(h);
        Ok(this)
    }

    fn open(
        backend: &dyn SoundBackend,
        input_device: Option<&str>,
        output_device: Option<&str>,
        sample_rate: u32,
    ) -> Result<(DeviceNames, Box<dyn backend::SoundIo>)> {
        let real_input_device = resolve_device(input_device, || backend.default_input_device())?;
        let real_output_device = resolve_device(output_device, || backend.default_output_device())?;
        let request = SoundDeviceRequest {
            input_device: real_input_device.clone(),
            output_device: real_output_device.clone(),
            sample_rate,
        };
        let io = backend.open(&request)?;
        let names = DeviceNames {
            input_device: input_device.map(str::to_owned),
            output_device: output_device.map(str::to_owned),
            real_input_device,
            real_output_device,
        };
        Ok((names, io))
    }

    /// The mixer's handle.
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or_default()
    }

    /// The sample rate in Hz (`sample_rate`).
    pub fn sample_rate(&self) -> u32 {
        lock(&self.mixer).sample_rate()
    }

    /// The capture device as asked for (`input_device`): a name,
    /// `"system_default"`, or `None` (no capture).
    pub fn input_device(&self) -> Option<String> {
        lock(&self.names).input_device.clone()
    }

    /// The playback device as asked for (`output_device`).
    pub fn output_device(&self) -> Option<String> {
        lock(&self.names).output_device.clone()
    }

    /// The capture device actually open (`real_input_device`).
    pub fn real_input_device(&self) -> Option<String> {
        lock(&self.names).real_input_device.clone()
    }

    /// The playback device actually open (`real_output_device`).
    pub fn real_output_device(&self) -> Option<String> {
        lock(&self.names).real_output_device.clone()
    }

    /// The name of the backend the devices were opened with.
    pub fn backend_name(&self) -> String {
        self.backend.name().to_owned()
    }

    /// Changes the devices (`set_sound_devices`); on error the old ones
    /// stay.
    pub fn set_sound_devices(&self, input_device: Option<&str>, output_device: Option<&str>) -> Result<()> {
        let rate = self.sample_rate();
        let (names, io) = Self::open(&*self.backend, input_device, output_device, rate)?;
        lock_port(&self.device).set_io(io);
        *lock(&self.names) = names;
        Ok(())
    }

    /// Whether the capture side is muted (`muted`, the `audio.muted` setting
    /// of the voice mixer).
    pub fn muted(&self) -> bool {
        self.muted.load(Ordering::Acquire)
    }

    /// Mutes or unmutes the capture side: the device then contributes
    /// silence to everything connected to it.
    pub fn set_muted(&self, muted: bool) {
        self.muted.store(muted, Ordering::Release);
        let _ = lock(&self.mixer).set_producer_muted(0, muted);
    }

    /// The playback volume, 0-100 (`output_volume`; the alert mixer's is 0
    /// while the `audio.silent` setting is on).
    pub fn output_volume(&self) -> u32 {
        lock_port(&self.device).output_volume()
    }

    /// Sets the playback volume, 0-100.
    pub fn set_output_volume(&self, volume: u32) {
        lock_port(&self.device).set_output_volume(volume);
    }

    /// Frames the device captured and frames it was given to play, so far.
    pub fn device_frames(&self) -> (u64, u64) {
        let d = lock_port(&self.device);
        (d.frames_captured(), d.frames_played())
    }

    /// Frames mixed so far.
    pub fn ticks(&self) -> u64 {
        lock(&self.mixer).ticks()
    }

    /// The connected slot pairs `(src, dst)` (`connected_slots`).
    pub fn connected_slots(&self) -> Vec<(SlotId, SlotId)> {
        lock(&self.mixer).connected_slots()
    }

    /// Slots in use (`used_slot_count`).
    pub fn used_slot_count(&self) -> usize {
        lock(&self.mixer).used_slot_count()
    }

    /// The sans-IO mixer, for code that puts its own ports in it. Lock it
    /// only briefly: the mixer thread needs it every 20 ms. Never lock it
    /// while holding a port's lock.
    pub fn mixer(&self) -> Arc<Mutex<AudioMixer>> {
        self.mixer.clone()
    }

    /// Runs `f` on the sans-IO mixer (see [`DeviceMixer::mixer`]).
    pub fn with_mixer<T>(&self, f: impl FnOnce(&mut AudioMixer) -> T) -> T {
        f(&mut lock(&self.mixer))
    }

    /// Whether the mixer thread runs.
    pub fn is_running(&self) -> bool {
        lock(&self.thread).is_some()
    }

    /// Stops the mixer thread (ports stay in place but get no more ticks).
    /// Stopping twice does nothing.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = lock(&self.thread).take()
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }

    pub(crate) fn add_tick_listener(&self, listener: Weak<dyn TickListener>) {
        let mut l = lock(&self.listeners);
        l.retain(|w| w.strong_count() > 0);
        l.push(listener);
    }
}

impl Drop for DeviceMixer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tick_loop(mixer: &Mutex<AudioMixer>, stop: &AtomicBool, listeners: &Mutex<Vec<Weak<dyn TickListener>>>) {
    let mut next = Instant::now() + FRAME_DURATION;
    while !stop.load(Ordering::Acquire) {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else if now - next > MAX_LAG {
            next = now;
        }
        lock(mixer).tick();
        next += FRAME_DURATION;
        let live: Vec<Arc<dyn TickListener>> = lock(listeners).iter().filter_map(Weak::upgrade).collect();
        for listener in live {
            listener.after_tick();
        }
        if !lock(&DROPPED).is_empty() {
            let _w = wiring();
            prune_bridges();
        }
    }
}

// ----- IAudioPort --------------------------------------------------------------

/// Anything with slots on a [`DeviceMixer`]: the original's `IAudioPort`.
///
/// An implementation whose slots change must tell the bridges through
/// [`AudioPortObject`]'s owner calling the crate's slot-change path (every
/// type in this module does), which also posts `AudioPortDidChangeSlots`.
pub trait AudioPortObject: Send + Sync {
    /// The sender of the port's notifications and its identity in bridges.
    fn handle(&self) -> Handle;
    /// The mixer the port is on (`mixer`); only ports of one mixer can be
    /// bridged.
    fn mixer(&self) -> Arc<DeviceMixer>;
    /// The slot it consumes from (`consumer_slot`), `None` if it does not.
    fn consumer_slot(&self) -> Option<SlotId>;
    /// The slot it produces on (`producer_slot`), `None` if it does not.
    fn producer_slot(&self) -> Option<SlotId>;
}

fn slots_of(port: &dyn AudioPortObject) -> PortSlots {
    PortSlots { consumer_slot: port.consumer_slot(), producer_slot: port.producer_slot() }
}

/// Reconnects `port` in every bridge holding it and posts
/// `AudioPortDidChangeSlots`. Call with the wiring lock held and no other.
fn slots_changed(sender: Handle, old: PortSlots, new: PortSlots) {
    if old == new {
        return;
    }
    let bridges: Vec<Arc<AudioBridge>> = lock(&BRIDGES).iter().filter_map(Weak::upgrade).collect();
    for b in bridges {
        b.update_member(sender.raw(), new);
    }
    post(
        sender,
        n::AudioPortDidChangeSlots {
            consumer_slot_changed: old.consumer_slot != new.consumer_slot,
            producer_slot_changed: old.producer_slot != new.producer_slot,
            old_consumer_slot: old.consumer_slot,
            new_consumer_slot: new.consumer_slot,
            old_producer_slot: old.producer_slot,
            new_producer_slot: new.producer_slot,
        },
    );
}

/// Removes dead members from every bridge. Call with the wiring lock held.
fn prune_bridges() {
    lock(&DROPPED).clear();
    let bridges: Vec<Arc<AudioBridge>> = {
        let mut all = lock(&BRIDGES);
        all.retain(|w| w.strong_count() > 0);
        all.iter().filter_map(Weak::upgrade).collect()
    };
    for b in bridges {
        b.prune();
    }
}

fn port_dropped(h: Handle) {
    lock(&DROPPED).push(h.raw());
}

/// The port object behind a handle: an AudioDevice, AudioBridge,
/// WavePlayer, WaveRecorder or (started) AudioStream.
pub fn port_from_handle(h: Handle) -> Result<Arc<dyn AudioPortObject>> {
    Ok(match h.try_kind() {
        Some(ObjectKind::AudioDevice) => handle::resolve::<AudioDevice>(h, ObjectKind::AudioDevice)?,
        Some(ObjectKind::AudioBridge) => handle::resolve::<AudioBridge>(h, ObjectKind::AudioBridge)?,
        Some(ObjectKind::WavePlayer) => handle::resolve::<WavePlayer>(h, ObjectKind::WavePlayer)?,
        Some(ObjectKind::WaveRecorder) => handle::resolve::<WaveRecorder>(h, ObjectKind::WaveRecorder)?,
        Some(ObjectKind::AudioStream) => {
            let stream = handle::resolve::<crate::streams::AudioStream>(h, ObjectKind::AudioStream)?;
            stream.port().ok_or_else(|| Error::InvalidState("the audio stream is not initialized".into()))?
        }
        _ => return Err(Error::InvalidHandle("not an audio port".into())),
    })
}

// ----- AudioDevice -------------------------------------------------------------

/// A mixer's sound device as a port (`AudioDevice`): it consumes and
/// produces on slot 0 unless `output_muted` / `input_muted`. Several
/// `AudioDevice` objects may stand for one mixer's device (each audio stream
/// has its own), each muted on its own.
pub struct AudioDevice {
    mixer: Arc<DeviceMixer>,
    input_muted: AtomicBool,
    output_muted: AtomicBool,
    handle: OnceLock<Handle>,
}

impl std::fmt::Debug for AudioDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioDevice")
            .field("input_muted", &self.input_muted())
            .field("output_muted", &self.output_muted())
            .finish()
    }
}

impl AudioDevice {
    /// The device of `mixer` (`AudioDevice(mixer, input_muted, output_muted)`).
    pub fn new(mixer: &Arc<DeviceMixer>, input_muted: bool, output_muted: bool) -> Arc<AudioDevice> {
        let device = Arc::new(AudioDevice {
            mixer: mixer.clone(),
            input_muted: AtomicBool::new(input_muted),
            output_muted: AtomicBool::new(output_muted),
            handle: OnceLock::new(),
        });
        let h = handle::register(ObjectKind::AudioDevice, device.clone(), None);
        let _ = device.handle.set(h);
        device
    }

    /// The device's handle.
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or_default()
    }

    /// Whether it produces nothing (`input_muted`).
    pub fn input_muted(&self) -> bool {
        self.input_muted.load(Ordering::Acquire)
    }

    /// Whether it consumes nothing (`output_muted`).
    pub fn output_muted(&self) -> bool {
        self.output_muted.load(Ordering::Acquire)
    }

    /// Sets `input_muted`; a change posts `AudioPortDidChangeSlots` and
    /// disconnects (or reconnects) what the device captures.
    pub fn set_input_muted(&self, muted: bool) {
        self.set_muted(&self.input_muted, muted);
    }

    /// Sets `output_muted`; a change posts `AudioPortDidChangeSlots` and
    /// stops (or restarts) what the bridges send to the device.
    pub fn set_output_muted(&self, muted: bool) {
        self.set_muted(&self.output_muted, muted);
    }

    fn set_muted(&self, flag: &AtomicBool, muted: bool) {
        let _w = wiring();
        let old = slots_of(self);
        flag.store(muted, Ordering::Release);
        slots_changed(self.handle(), old, slots_of(self));
    }
}

impl AudioPortObject for AudioDevice {
    fn handle(&self) -> Handle {
        AudioDevice::handle(self)
    }

    fn mixer(&self) -> Arc<DeviceMixer> {
        self.mixer.clone()
    }

    fn consumer_slot(&self) -> Option<SlotId> {
        (!self.output_muted()).then_some(0)
    }

    fn producer_slot(&self) -> Option<SlotId> {
        (!self.input_muted()).then_some(0)
    }
}

impl Drop for AudioDevice {
    fn drop(&mut self) {
        if let Some(h) = self.handle.get() {
            port_dropped(*h);
        }
    }
}

// ----- AudioBridge -------------------------------------------------------------

struct BridgeState {
    inner: bridge::AudioBridge,
    ports: Vec<(u64, Weak<dyn AudioPortObject>)>,
    stopped: bool,
}

/// A full mesh of ports on one mixer (`AudioBridge`): every producer in it
/// is heard by every consumer in it but itself. It holds its ports weakly,
/// is itself a port (nest bridges as a tree; a cycle mixes as silence), and
/// reconnects a port whose slots change.
pub struct AudioBridge {
    mixer: Arc<DeviceMixer>,
    state: Mutex<BridgeState>,
    handle: OnceLock<Handle>,
}

impl std::fmt::Debug for AudioBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioBridge")
            .field("handle", &self.handle())
            .field("ports", &lock(&self.state).ports.len())
            .finish()
    }
}

impl AudioBridge {
    /// An empty bridge mixing on `mixer` (`AudioBridge(mixer)`).
    pub fn new(mixer: &Arc<DeviceMixer>) -> Arc<AudioBridge> {
        let inner = mixer.with_mixer(bridge::AudioBridge::new);
        let b = Arc::new(AudioBridge {
            mixer: mixer.clone(),
            state: Mutex::new(BridgeState { inner, ports: Vec::new(), stopped: false }),
            handle: OnceLock::new(),
        });
        let h = handle::register(ObjectKind::AudioBridge, b.clone(), None);
        let _ = b.handle.set(h);
        let mut all = lock(&BRIDGES);
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&b));
        drop(all);
        b
    }

    /// The bridge's handle.
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or_default()
    }

    /// Adds `port` (`add`): it is connected to every other member. Adding a
    /// member again does nothing. Errors: a port of another mixer, the
    /// bridge itself, or a stopped bridge.
    pub fn add(&self, port: Arc<dyn AudioPortObject>) -> Result<()> {
        if !Arc::ptr_eq(&port.mixer(), &self.mixer) {
            return Err(Error::InvalidArgument("the port belongs to another mixer".into()));
        }
        let key = port.handle().raw();
        if key == self.handle().raw() {
            return Err(Error::InvalidArgument("a bridge cannot contain itself".into()));
        }
        let _w = wiring();
        let slots = slots_of(&*port);
        let mut s = lock(&self.state);
        Self::prune_locked(&self.mixer, &mut s);
        if s.stopped {
            return Err(Error::InvalidState("the bridge is stopped".into()));
        }
        if s.inner.contains(key) {
            return Ok(());
        }
        self.mixer.with_mixer(|m| s.inner.add(m, key, slots))?;
        s.ports.push((key, Arc::downgrade(&port)));
        Ok(())
    }

    /// Removes `port` (`remove`). Error ([`Error::NotFound`], the
    /// original's `ValueError`) if it is not a member.
    pub fn remove(&self, port: &Arc<dyn AudioPortObject>) -> Result<()> {
        self.remove_handle(port.handle())
    }

    /// Removes the member with this handle (see [`AudioBridge::remove`]).
    pub fn remove_handle(&self, port: Handle) -> Result<()> {
        let _w = wiring();
        let mut s = lock(&self.state);
        Self::prune_locked(&self.mixer, &mut s);
        let key = port.raw();
        self.mixer.with_mixer(|m| s.inner.remove(m, key)).map_err(|e| match e {
            AudioError::NotMember(_) => Error::NotFound(format!("port {port:?} is not part of this bridge")),
            other => other.into(),
        })?;
        s.ports.retain(|(k, _)| *k != key);
        Ok(())
    }

    /// Whether the port with this handle is a live member (`port in bridge`).
    pub fn contains(&self, port: Handle) -> bool {
        lock(&self.state).ports.iter().any(|(k, w)| *k == port.raw() && w.strong_count() > 0)
    }

    /// The live members, in the order they were added.
    pub fn ports(&self) -> Vec<Arc<dyn AudioPortObject>> {
        lock(&self.state).ports.iter().filter_map(|(_, w)| w.upgrade()).collect()
    }

    /// Disconnects every member and gives the bridge's slots back (`stop`).
    /// The bridge is unusable afterwards; a bridge holding it sees its slots
    /// go away.
    pub fn stop(&self) {
        let _w = wiring();
        let old = slots_of(self);
        {
            let mut s = lock(&self.state);
            if s.stopped {
                return;
            }
            let _ = self.mixer.with_mixer(|m| s.inner.close(m));
            s.ports.clear();
            s.stopped = true;
        }
        slots_changed(self.handle(), old, PortSlots::NONE);
    }

    fn update_member(&self, key: u64, slots: PortSlots) {
        let mut s = lock(&self.state);
        if s.stopped || !s.inner.contains(key) {
            return;
        }
        if let Err(e) = self.mixer.with_mixer(|m| s.inner.update(m, key, slots)) {
            tracing::debug!("audio bridge: update of {key:#x}: {e}");
        }
    }

    fn prune(&self) {
        let mut s = lock(&self.state);
        Self::prune_locked(&self.mixer, &mut s);
    }

    fn prune_locked(mixer: &DeviceMixer, s: &mut BridgeState) {
        if s.stopped {
            return;
        }
        let dead: Vec<u64> = s.ports.iter().filter(|(_, w)| w.strong_count() == 0).map(|(k, _)| *k).collect();
        if dead.is_empty() {
            return;
        }
        mixer.with_mixer(|m| {
            for key in &dead {
                let _ = s.inner.remove(m, *key);
            }
        });
        s.ports.retain(|(_, w)| w.strong_count() > 0);
    }
}

impl AudioPortObject for AudioBridge {
    fn handle(&self) -> Handle {
        AudioBridge::handle(self)
    }

    fn mixer(&self) -> Arc<DeviceMixer> {
        self.mixer.clone()
    }

    fn consumer_slot(&self) -> Option<SlotId> {
        lock(&self.state).inner.slots().consumer_slot
    }

    fn producer_slot(&self) -> Option<SlotId> {
        lock(&self.state).inner.slots().producer_slot
    }
}

impl Drop for AudioBridge {
    fn drop(&mut self) {
        let s = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if !s.stopped {
            let _ = s.inner.close(&mut lock(&self.mixer.mixer));
        }
        if let Some(h) = self.handle.get() {
            port_dropped(*h);
        }
    }
}

// ----- WavePlayer --------------------------------------------------------------

struct PlayerState {
    filename: PathBuf,
    options: WavePlayerOptions,
    port: Option<Arc<Mutex<wave::WavePlayer>>>,
    slot: Option<SlotId>,
    /// Bumped at every start and end, for `play()`.
    runs: u64,
    last_error: Option<String>,
}

/// A WAV file played into a mixer (`WavePlayer`): reusable, it produces on
/// its slot from `start()` until it ends. Posts `WavePlayerDidStart` (first
/// play), `WavePlayerDidEnd` (all loops played or `stop()`) and
/// `WavePlayerDidFail` (the file cannot be played: missing, not a WAV file,
/// unsupported format).
pub struct WavePlayer {
    mixer: Arc<DeviceMixer>,
    state: Mutex<PlayerState>,
    ended: Condvar,
    handle: OnceLock<Handle>,
    this: Weak<WavePlayer>,
}

impl std::fmt::Debug for WavePlayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("WavePlayer").field("filename", &s.filename).field("slot", &s.slot).finish()
    }
}

impl WavePlayer {
    /// A stopped player of `filename` on `mixer` (`WavePlayer(mixer,
    /// filename, volume, loop_count, pause_time, initial_play)`; the options'
    /// defaults are the original's). Error: volume above 200. The file is
    /// not opened before `start()`.
    pub fn new(
        mixer: &Arc<DeviceMixer>,
        filename: impl Into<PathBuf>,
        options: WavePlayerOptions,
    ) -> Result<Arc<Self>> {
        check_volume(options.volume)?;
        let player = Arc::new_cyclic(|this| WavePlayer {
            mixer: mixer.clone(),
            state: Mutex::new(PlayerState {
                filename: filename.into(),
                options,
                port: None,
                slot: None,
                runs: 0,
                last_error: None,
            }),
            ended: Condvar::new(),
            handle: OnceLock::new(),
            this: this.clone(),
        });
        let h = handle::register(ObjectKind::WavePlayer, player.clone(), None);
        let _ = player.handle.set(h);
        Ok(player)
    }

    /// The player's handle.
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or_default()
    }

    /// `filename`.
    pub fn filename(&self) -> PathBuf {
        lock(&self.state).filename.clone()
    }

    /// `volume`, 0-200 (100: as recorded).
    pub fn volume(&self) -> u32 {
        lock(&self.state).options.volume
    }

    /// `loop_count`: plays per start, 0 forever.
    pub fn loop_count(&self) -> u32 {
        lock(&self.state).options.loop_count
    }

    /// `pause_time`: silence between plays.
    pub fn pause_time(&self) -> Duration {
        lock(&self.state).options.pause_time
    }

    /// `initial_play`: play at once on start, or after `pause_time`.
    pub fn initial_play(&self) -> bool {
        lock(&self.state).options.initial_play
    }

    /// `is_active`: between `start()` and its end.
    pub fn is_active(&self) -> bool {
        lock(&self.state).slot.is_some()
    }

    fn configure(&self, f: impl FnOnce(&mut PlayerState)) -> Result<()> {
        let mut s = lock(&self.state);
        if s.slot.is_some() {
            return Err(Error::InvalidState("cannot change a WavePlayer while it plays".into()));
        }
        f(&mut s);
        Ok(())
    }

    /// Sets `filename` (not while active).
    pub fn set_filename(&self, filename: impl Into<PathBuf>) -> Result<()> {
        let filename = filename.into();
        self.configure(|s| s.filename = filename)
    }

    /// Sets `volume`, 0-200 (not while active).
    pub fn set_volume(&self, volume: u32) -> Result<()> {
        check_volume(volume)?;
        self.configure(|s| s.options.volume = volume)
    }

    /// Sets `loop_count` (not while active).
    pub fn set_loop_count(&self, loop_count: u32) -> Result<()> {
        self.configure(|s| s.options.loop_count = loop_count)
    }

    /// Sets `pause_time` (not while active).
    pub fn set_pause_time(&self, pause_time: Duration) -> Result<()> {
        self.configure(|s| s.options.pause_time = pause_time)
    }

    /// Sets `initial_play` (not while active).
    pub fn set_initial_play(&self, initial_play: bool) -> Result<()> {
        self.configure(|s| s.options.initial_play = initial_play)
    }

    /// Starts playing (`start`). A file that cannot be played is reported
    /// by `WavePlayerDidFail`, not here; the only error is an active player
    /// (the original's `WavePlayerError('already playing')`).
    pub fn start(&self) -> Result<()> {
        let _w = wiring();
        let mut s = lock(&self.state);
        if s.slot.is_some() {
            return Err(Error::InvalidState("already playing".into()));
        }
        s.runs += 1;
        s.last_error = None;
        let mut player = wave::WavePlayer::new(&s.filename, self.mixer.sample_rate(), s.options.clone())?;
        player.start()?;
        let mut events = Vec::new();
        while let Some(e) = player.poll_event() {
            events.push(e);
        }
        if let Some(WavePlayerEvent::Failed { error }) =
            events.iter().find(|e| matches!(e, WavePlayerEvent::Failed { .. }))
        {
            s.last_error = Some(error.clone());
            s.runs += 1;
            drop(s);
            self.ended.notify_all();
            post(self.handle(), n::WavePlayerDidFail { error: error.clone() });
            return Ok(());
        }
        let port = Arc::new(Mutex::new(player));
        let shared: SharedPort = port.clone();
        let slot = self.mixer.with_mixer(|m| m.add_port(shared));
        s.port = Some(port);
        s.slot = Some(slot);
        drop(s);
        if let Some(this) = self.this.upgrade() {
            let listener: Arc<dyn TickListener> = this;
            self.mixer.add_tick_listener(Arc::downgrade(&listener));
        }
        slots_changed(self.handle(), PortSlots::NONE, PortSlots::producer(slot));
        if events.contains(&WavePlayerEvent::Started) {
            post(self.handle(), n::WavePlayerDidStart {});
        }
        Ok(())
    }

    /// Stops at once (`stop`); posts `WavePlayerDidEnd` if it was active.
    pub fn stop(&self) {
        let _w = wiring();
        if self.finish(None) {
            post(self.handle(), n::WavePlayerDidEnd {});
        }
    }

    /// Plays and waits for the end (`play().wait()`): `Ok` once all loops
    /// played or `stop()` was called, `Err` when the file could not be
    /// played, or when `timeout` passed (the player then keeps playing).
    pub fn play(&self, timeout: Option<Duration>) -> Result<()> {
        self.start()?;
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut s = lock(&self.state);
        let run = s.runs;
        loop {
            if s.slot.is_none() || s.runs != run {
                return match s.last_error.clone() {
                    Some(e) => Err(Error::InvalidArgument(e)),
                    None => Ok(()),
                };
            }
            s = match deadline {
                None => self.ended.wait(s).unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(Error::InvalidState("timed out: the WavePlayer is still playing".into()));
                    }
                    self.ended.wait_timeout(s, d - now).unwrap_or_else(PoisonError::into_inner).0
                }
            };
        }
    }

    /// Removes the slot; true if it was active. Wiring lock held.
    fn finish(&self, error: Option<String>) -> bool {
        let slot = {
            let mut s = lock(&self.state);
            let Some(slot) = s.slot.take() else { return false };
            s.port = None;
            s.runs += 1;
            s.last_error = error;
            slot
        };
        let _ = self.mixer.with_mixer(|m| m.remove_slot(slot));
        self.ended.notify_all();
        slots_changed(self.handle(), PortSlots::producer(slot), PortSlots::NONE);
        true
    }
}

fn check_volume(volume: u32) -> Result<()> {
    if volume > wave::MAX_VOLUME {
        return Err(Error::InvalidArgument(format!("volume {volume} is above {}", wave::MAX_VOLUME)));
    }
    Ok(())
}

impl TickListener for WavePlayer {
    fn after_tick(&self) {
        let _w = wiring();
        let port = lock(&self.state).port.clone();
        let Some(port) = port else { return };
        let mut events = Vec::new();
        {
            let mut p = lock_port(&port);
            while let Some(e) = p.poll_event() {
                events.push(e);
            }
        }
        for event in events {
            match event {
                WavePlayerEvent::Started => post(self.handle(), n::WavePlayerDidStart {}),
                WavePlayerEvent::Ended => {
                    if self.finish(None) {
                        post(self.handle(), n::WavePlayerDidEnd {});
                    }
                }
                WavePlayerEvent::Failed { error } => {
                    if self.finish(Some(error.clone())) {
                        post(self.handle(), n::WavePlayerDidFail { error });
                    }
                }
            }
        }
    }
}

impl AudioPortObject for WavePlayer {
    fn handle(&self) -> Handle {
        WavePlayer::handle(self)
    }

    fn mixer(&self) -> Arc<DeviceMixer> {
        self.mixer.clone()
    }

    fn consumer_slot(&self) -> Option<SlotId> {
        None
    }

    fn producer_slot(&self) -> Option<SlotId> {
        lock(&self.state).slot
    }
}

impl Drop for WavePlayer {
    fn drop(&mut self) {
        let s = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = s.slot.take() {
            let _ = lock(&self.mixer.mixer).remove_slot(slot);
        }
        if let Some(h) = self.handle.get() {
            port_dropped(*h);
        }
    }
}

// ----- WaveRecorder ------------------------------------------------------------

struct RecorderState {
    filename: PathBuf,
    port: Option<Arc<Mutex<wave::WaveRecorder>>>,
    slot: Option<SlotId>,
    last_duration: Duration,
}

/// A WAV file recorded from a mixer (`WaveRecorder`): 16-bit mono at the
/// mixer rate. It consumes on its slot from `start()` to `stop()`, and
/// records only while something is connected to it (put it in a bridge).
/// Reusable; a restart with the same `filename` overwrites the file.
pub struct WaveRecorder {
    mixer: Arc<DeviceMixer>,
    state: Mutex<RecorderState>,
    handle: OnceLock<Handle>,
}

impl std::fmt::Debug for WaveRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("WaveRecorder").field("filename", &s.filename).field("slot", &s.slot).finish()
    }
}

impl WaveRecorder {
    /// A stopped recorder into `filename` on `mixer` (`WaveRecorder(mixer, filename)`).
    pub fn new(mixer: &Arc<DeviceMixer>, filename: impl Into<PathBuf>) -> Arc<Self> {
        let r = Arc::new(WaveRecorder {
            mixer: mixer.clone(),
            state: Mutex::new(RecorderState {
                filename: filename.into(),
                port: None,
                slot: None,
                last_duration: Duration::ZERO,
            }),
            handle: OnceLock::new(),
        });
        let h = handle::register(ObjectKind::WaveRecorder, r.clone(), None);
        let _ = r.handle.set(h);
        r
    }

    /// The recorder's handle.
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or_default()
    }

    /// `filename`.
    pub fn filename(&self) -> PathBuf {
        lock(&self.state).filename.clone()
    }

    /// Sets `filename` for the next `start()`; refused while recording.
    pub fn set_filename(&self, filename: impl AsRef<Path>) -> Result<()> {
        let mut s = lock(&self.state);
        if s.slot.is_some() {
            return Err(Error::InvalidState("cannot change the filename while recording".into()));
        }
        s.filename = filename.as_ref().to_path_buf();
        Ok(())
    }

    /// `is_active`: recording.
    pub fn is_active(&self) -> bool {
        lock(&self.state).port.as_ref().is_some_and(|p| lock_port(p).is_active())
    }

    /// What the current (or last) recording holds so far.
    pub fn duration(&self) -> Duration {
        let s = lock(&self.state);
        match &s.port {
            Some(p) => lock_port(p).duration(),
            None => s.last_duration,
        }
    }

    /// Creates the file (and missing directories) and starts recording
    /// (`start`). Errors: already recording, the file cannot be created.
    pub fn start(&self) -> Result<()> {
        let _w = wiring();
        let slot = {
            let mut s = lock(&self.state);
            if s.slot.is_some() {
                return Err(Error::InvalidState("already recording".into()));
            }
            let mut recorder = wave::WaveRecorder::new(&s.filename, self.mixer.sample_rate())?;
            recorder.start()?;
            let port = Arc::new(Mutex::new(recorder));
            let shared: SharedPort = port.clone();
            let slot = self.mixer.with_mixer(|m| m.add_port(shared));
            s.port = Some(port);
            s.slot = Some(slot);
            slot
        };
        slots_changed(self.handle(), PortSlots::NONE, PortSlots::consumer(slot));
        Ok(())
    }

    /// Stops and closes the file (`stop`). Stopping a stopped recorder does
    /// nothing.
    pub fn stop(&self) -> Result<()> {
        let _w = wiring();
        let (slot, port) = {
            let mut s = lock(&self.state);
            match (s.slot.take(), s.port.take()) {
                (Some(slot), Some(port)) => (slot, port),
                _ => return Ok(()),
            }
        };
        let _ = self.mixer.with_mixer(|m| m.remove_slot(slot));
        slots_changed(self.handle(), PortSlots::consumer(slot), PortSlots::NONE);
        let mut p = lock_port(&port);
        lock(&self.state).last_duration = p.duration();
        p.stop()?;
        Ok(())
    }
}

impl AudioPortObject for WaveRecorder {
    fn handle(&self) -> Handle {
        WaveRecorder::handle(self)
    }

    fn mixer(&self) -> Arc<DeviceMixer> {
        self.mixer.clone()
    }

    fn consumer_slot(&self) -> Option<SlotId> {
        lock(&self.state).slot
    }

    fn producer_slot(&self) -> Option<SlotId> {
        None
    }
}

impl Drop for WaveRecorder {
    fn drop(&mut self) {
        let s = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = s.slot.take() {
            let _ = lock(&self.mixer.mixer).remove_slot(slot);
        }
        if let Some(port) = s.port.take() {
            let _ = lock_port(&port).stop();
        }
        if let Some(h) = self.handle.get() {
            port_dropped(*h);
        }
    }
}

// ----- audio streams -------------------------------------------------------------

/// An audio stream's slot as a port: what the stream's bridge holds while
/// the stream runs. Its handle is the stream's.
pub struct StreamPort {
    stream: Handle,
    mixer: Arc<DeviceMixer>,
    slot: Mutex<Option<SlotId>>,
}

impl AudioPortObject for StreamPort {
    fn handle(&self) -> Handle {
        self.stream
    }

    fn mixer(&self) -> Arc<DeviceMixer> {
        self.mixer.clone()
    }

    fn consumer_slot(&self) -> Option<SlotId> {
        *lock(&self.slot)
    }

    fn producer_slot(&self) -> Option<SlotId> {
        *lock(&self.slot)
    }
}

impl Drop for StreamPort {
    fn drop(&mut self) {
        port_dropped(self.stream);
    }
}

/// The audio objects of one audio stream, as in the original: its `bridge`
/// holds its `device` (the voice device) and the stream's own port, so what
/// the peer says is played on the voice device and what the device captures
/// is sent.
#[derive(Clone)]
pub struct StreamAudio {
    port: Arc<StreamPort>,
    bridge: Arc<AudioBridge>,
    device: Arc<AudioDevice>,
}

impl std::fmt::Debug for StreamAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamAudio").field("bridge", &self.bridge.handle()).finish()
    }
}

impl StreamAudio {
    /// Puts the stream `stream`, whose port is in `slot` of `mixer`, in a
    /// new bridge with a new device of that mixer.
    pub fn new(stream: Handle, mixer: &Arc<DeviceMixer>, slot: SlotId) -> Result<StreamAudio> {
        let port = Arc::new(StreamPort { stream, mixer: mixer.clone(), slot: Mutex::new(Some(slot)) });
        let bridge = AudioBridge::new(mixer);
        let device = AudioDevice::new(mixer, false, false);
        bridge.add(device.clone())?;
        bridge.add(port.clone())?;
        Ok(StreamAudio { port, bridge, device })
    }

    /// The stream's bridge (`bridge`).
    pub fn bridge(&self) -> Arc<AudioBridge> {
        self.bridge.clone()
    }

    /// The stream's device (`device`).
    pub fn device(&self) -> Arc<AudioDevice> {
        self.device.clone()
    }

    /// The stream as a port.
    pub fn port(&self) -> Arc<dyn AudioPortObject> {
        self.port.clone()
    }

    /// The stream ends: its slot goes away (bridges holding it disconnect
    /// it, `AudioPortDidChangeSlots` is posted) and its bridge stops.
    pub fn close(&self) {
        {
            let _w = wiring();
            let old = slots_of(&*self.port);
            *lock(&self.port.slot) = None;
            slots_changed(self.port.stream, old, PortSlots::NONE);
        }
        self.bridge.stop();
        let _ = handle::release(self.bridge.handle());
        let _ = handle::release(self.device.handle());
    }
}

// ----- AudioConference ----------------------------------------------------------

/// What an [`AudioConference`] mixes: an audio stream (or anything with a
/// bridge holding a device, as an AudioStream's does).
pub trait ConferenceParticipant: Send + Sync {
    /// The participant's handle (the AudioStream's).
    fn participant_handle(&self) -> Handle;
    /// Its bridge (`stream.bridge`), once it has one.
    fn audio_bridge(&self) -> Option<Arc<AudioBridge>>;
    /// The device in its bridge (`stream.device`), once it has one.
    fn audio_device(&self) -> Option<Arc<AudioDevice>>;
}

impl ConferenceParticipant for crate::streams::AudioStream {
    fn participant_handle(&self) -> Handle {
        crate::streams::MediaStream::handle(self)
    }

    fn audio_bridge(&self) -> Option<Arc<AudioBridge>> {
        self.bridge()
    }

    fn audio_device(&self) -> Option<Arc<AudioDevice>> {
        self.device()
    }
}

struct ConferenceState {
    on_hold: bool,
    streams: Vec<Arc<dyn ConferenceParticipant>>,
}

/// Local mixing of audio streams (`AudioConference`): every participant
/// hears every other and the local device. A participant's own bridge
/// joins the conference's bridge in place of its device.
pub struct AudioConference {
    bridge: Arc<AudioBridge>,
    device: Arc<AudioDevice>,
    state: Mutex<ConferenceState>,
    handle: OnceLock<Handle>,
}

impl std::fmt::Debug for AudioConference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("AudioConference").field("on_hold", &s.on_hold).field("streams", &s.streams.len()).finish()
    }
}

impl AudioConference {
    /// An empty conference on the application's voice mixer
    /// (`AudioConference()`). Error when the application does not run.
    pub fn new() -> Result<Arc<AudioConference>> {
        let mixer = crate::streams::AudioEngine::instance()
            .voice_mixer()
            .ok_or_else(|| Error::InvalidState("the audio engine is not running (start the SIPApplication)".into()))?;
        Self::with_mixer(&mixer)
    }

    /// An empty conference on `mixer`.
    pub fn with_mixer(mixer: &Arc<DeviceMixer>) -> Result<Arc<AudioConference>> {
        let bridge = AudioBridge::new(mixer);
        let device = AudioDevice::new(mixer, false, false);
        bridge.add(device.clone())?;
        let c = Arc::new(AudioConference {
            bridge,
            device,
            state: Mutex::new(ConferenceState { on_hold: false, streams: Vec::new() }),
            handle: OnceLock::new(),
        });
        let h = handle::register(ObjectKind::AudioConference, c.clone(), None);
        let _ = c.handle.set(h);
        Ok(c)
    }

    /// The conference's handle.
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or_default()
    }

    /// The conference's bridge (`bridge`): add a WavePlayer to play to
    /// every participant, a WaveRecorder to record the conference.
    pub fn bridge(&self) -> Arc<AudioBridge> {
        self.bridge.clone()
    }

    /// The local device in the conference (`device`).
    pub fn device(&self) -> Arc<AudioDevice> {
        self.device.clone()
    }

    /// Whether the local device is out of the conference (`on_hold`).
    pub fn on_hold(&self) -> bool {
        lock(&self.state).on_hold
    }

    /// The participants (`streams`), in the order they were added.
    pub fn streams(&self) -> Vec<Arc<dyn ConferenceParticipant>> {
        lock(&self.state).streams.clone()
    }

    /// Adds a stream (`add`); adding it again does nothing. Error when the
    /// stream has no bridge yet (not initialized) or is on another mixer.
    pub fn add(&self, stream: Arc<dyn ConferenceParticipant>) -> Result<()> {
        let mut s = lock(&self.state);
        let h = stream.participant_handle();
        if s.streams.iter().any(|x| x.participant_handle() == h) {
            return Ok(());
        }
        let (Some(bridge), Some(device)) = (stream.audio_bridge(), stream.audio_device()) else {
            return Err(Error::InvalidState("the stream has no audio bridge yet (initialize it first)".into()));
        };
        self.bridge.add(bridge.clone())?;
        if bridge.contains(device.handle()) {
            let _ = bridge.remove_handle(device.handle());
        }
        s.streams.push(stream);
        Ok(())
    }

    /// Removes a stream (`remove`): its device goes back into its bridge.
    /// Error ([`Error::NotFound`], the original's `ValueError`) if it is not
    /// in the conference.
    pub fn remove(&self, stream: Handle) -> Result<()> {
        let mut s = lock(&self.state);
        let pos = s
            .streams
            .iter()
            .position(|x| x.participant_handle() == stream)
            .ok_or_else(|| Error::NotFound(format!("{stream:?} is not in the conference")))?;
        let participant = s.streams.remove(pos);
        if let Some(bridge) = participant.audio_bridge() {
            let _ = self.bridge.remove_handle(bridge.handle());
            if let Some(device) = participant.audio_device() {
                let _ = bridge.add(device);
            }
        }
        Ok(())
    }

    /// Takes the local device out of the conference (`hold`); the others
    /// carry on. The streams' own hold state does not change.
    pub fn hold(&self) -> Result<()> {
        let mut s = lock(&self.state);
        if s.on_hold {
            return Ok(());
        }
        self.bridge.remove_handle(self.device.handle())?;
        s.on_hold = true;
        Ok(())
    }

    /// Puts the local device back (`unhold`).
    pub fn unhold(&self) -> Result<()> {
        let mut s = lock(&self.state);
        if !s.on_hold {
            return Ok(());
        }
        self.bridge.add(self.device.clone())?;
        s.on_hold = false;
        Ok(())
    }
}
