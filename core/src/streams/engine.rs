//! [`AudioEngine`]: the application's two mixers, as the original's
//! `SIPApplication` builds them at start: the voice mixer
//! (`voice_audio_mixer`, on the `audio.input_device` and
//! `audio.output_device` settings) and the alert mixer (`alert_audio_mixer`,
//! on `audio.alert_device`, playback only), each with its device
//! (`*_audio_device`) in its bridge (`*_audio_bridge`).
//!
//! Both mixers run at the `audio.sample_rate` setting and are ticked every
//! 20 ms by their own thread; the voice mixer's clock paces every audio
//! stream (a stream sends one packet per tick and plays one decoded frame
//! per tick). Devices are opened through the installed
//! [`SoundBackend`](crate::audio::backend::SoundBackend): a device setting
//! naming a device the backend does not have means `system_default`; a
//! backend without any device (a machine without a sound card) or a device
//! that fails to open means the null device, and the settings then say
//! `None`, as in the original. `audio.muted` mutes the voice mixer's
//! capture, `audio.silent` silences the alert mixer.
//!
//! SIPApplication starts it (the SessionManager's start does too, which is
//! then a no-op) and the SessionManager stops it after the sessions ended.

use std::sync::{Arc, LazyLock, Mutex};

use super::lock;
use crate::audio::AudioMixer;
use crate::audio::backend::{self, SYSTEM_DEFAULT};
use crate::audio::objects::{AudioBridge, AudioDevice, DeviceMixer};
use crate::error::{Error, Result};
use crate::handle;
use crate::settings::SIPSimpleSettings;
use crate::value::Value;

/// One mixer with its device in its bridge.
#[derive(Clone, Debug)]
pub(crate) struct MixerSet {
    /// The mixer (`*_audio_mixer`).
    pub mixer: Arc<DeviceMixer>,
    /// The bridge (`*_audio_bridge`): add ports here to play to the device
    /// (and, for the voice mixer, to hear what it captures).
    pub bridge: Arc<AudioBridge>,
    /// The device (`*_audio_device`), always a member of the bridge.
    pub device: Arc<AudioDevice>,
}

impl MixerSet {
    fn new(mixer: Arc<DeviceMixer>) -> Result<MixerSet> {
        let bridge = AudioBridge::new(&mixer);
        let device = AudioDevice::new(&mixer, false, false);
        bridge.add(device.clone())?;
        Ok(MixerSet { mixer, bridge, device })
    }

    fn stop(&self) {
        self.bridge.stop();
        self.mixer.stop();
        for h in [self.bridge.handle(), self.device.handle(), self.mixer.handle()] {
            let _ = handle::release(h);
        }
    }
}

/// The application's mixers (see the module documentation).
pub struct AudioEngine {
    state: Mutex<Option<(MixerSet, MixerSet)>>,
}

static ENGINE: LazyLock<AudioEngine> = LazyLock::new(|| AudioEngine { state: Mutex::new(None) });

/// The device settings as the original resolves them before opening: a
/// name the backend does not list means `system_default`.
fn device_setting(path: &str, known: &[String]) -> Option<String> {
    let value = SIPSimpleSettings::instance().settings().get(path).ok()?;
    let name = value.as_str()?.to_owned();
    if name == SYSTEM_DEFAULT || known.contains(&name) { Some(name) } else { Some(SYSTEM_DEFAULT.to_owned()) }
}

fn setting_bool(path: &str) -> bool {
    SIPSimpleSettings::instance().settings().get(path).ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

impl AudioEngine {
    /// The singleton.
    pub fn instance() -> &'static AudioEngine {
        &ENGINE
    }

    /// Builds both mixers from the settings and starts them, then writes the
    /// devices actually used back to the settings (`None` for the null
    /// device) and saves them. Does nothing when they run already.
    pub fn start(&self) -> Result<()> {
        let mut s = lock(&self.state);
        if s.is_some() {
            return Ok(());
        }
        let settings = SIPSimpleSettings::instance();
        let rate = settings
            .settings()
            .get("audio.sample_rate")
            .ok()
            .and_then(|v| v.as_int())
            .and_then(|r| u32::try_from(r).ok())
            .unwrap_or(32000);
        let backend = backend::backend();
        let (inputs, outputs) = (backend.input_devices(), backend.output_devices());
        let mut input = device_setting("audio.input_device", &inputs);
        let mut output = device_setting("audio.output_device", &outputs);
        let mut alert = device_setting("audio.alert_device", &outputs);
        if inputs.is_empty() && outputs.is_empty() {
            tracing::warn!("No audio devices found; starting without audio hardware (using null sound device)");
            (input, output, alert) = (None, None, None);
        }
        let voice = match DeviceMixer::new(input.as_deref(), output.as_deref(), rate) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("Could not initialize voice audio device ({e}); falling back to null sound device");
                DeviceMixer::new(None, None, rate)?
            }
        };
        voice.set_muted(setting_bool("audio.muted"));
        let alert_mixer = match DeviceMixer::new(None, alert.as_deref(), rate) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("Could not initialize alert audio device ({e}); falling back to null sound device");
                DeviceMixer::new(None, None, rate)?
            }
        };
        if setting_bool("audio.silent") {
            alert_mixer.set_output_volume(0);
        }
        let sets = (MixerSet::new(voice)?, MixerSet::new(alert_mixer)?);
        let obj = settings.settings();
        let text = |v: Option<String>| v.map(Value::from).unwrap_or(Value::Null);
        let mut changed = false;
        for (path, value) in [
            ("audio.input_device", text(sets.0.mixer.input_device())),
            ("audio.output_device", text(sets.0.mixer.output_device())),
            ("audio.alert_device", text(sets.1.mixer.output_device())),
        ] {
            if obj.get(path).ok().as_ref() != Some(&value) {
                changed |= obj.set(path, value).is_ok();
            }
        }
        if changed && let Err(e) = obj.save() {
            tracing::warn!("cannot save the audio device settings: {e}");
        }
        tracing::debug!(
            "voice mixer at {rate} Hz on {}: input {:?}, output {:?}; alert output {:?}",
            sets.0.mixer.backend_name(),
            sets.0.mixer.real_input_device(),
            sets.0.mixer.real_output_device(),
            sets.1.mixer.real_output_device()
        );
        *s = Some(sets);
        Ok(())
    }

    /// Stops both mixers and drops them (with every port in them).
    pub fn stop(&self) {
        let sets = lock(&self.state).take();
        if let Some((voice, alert)) = sets {
            voice.stop();
            alert.stop();
        }
    }

    /// Whether the mixers run.
    pub fn is_running(&self) -> bool {
        lock(&self.state).is_some()
    }

    /// The voice mixer, its bridge and device, while running.
    pub(crate) fn voice(&self) -> Option<MixerSet> {
        lock(&self.state).as_ref().map(|(v, _)| v.clone())
    }

    /// The alert mixer, its bridge and device, while running.
    pub(crate) fn alert(&self) -> Option<MixerSet> {
        lock(&self.state).as_ref().map(|(_, a)| a.clone())
    }

    /// `voice_audio_mixer`, while running.
    pub fn voice_mixer(&self) -> Option<Arc<DeviceMixer>> {
        self.voice().map(|v| v.mixer)
    }

    /// `voice_audio_bridge`, while running.
    pub fn voice_bridge(&self) -> Option<Arc<AudioBridge>> {
        self.voice().map(|v| v.bridge)
    }

    /// `voice_audio_device`, while running.
    pub fn voice_device(&self) -> Option<Arc<AudioDevice>> {
        self.voice().map(|v| v.device)
    }

    /// `alert_audio_mixer`, while running.
    pub fn alert_mixer(&self) -> Option<Arc<DeviceMixer>> {
        self.alert().map(|a| a.mixer)
    }

    /// `alert_audio_bridge`, while running.
    pub fn alert_bridge(&self) -> Option<Arc<AudioBridge>> {
        self.alert().map(|a| a.bridge)
    }

    /// `alert_audio_device`, while running.
    pub fn alert_device(&self) -> Option<Arc<AudioDevice>> {
        self.alert().map(|a| a.device)
    }

    /// The voice mixer's sans-IO mixer, while it runs. Lock it only
    /// briefly: its thread needs it every 20 ms. Never lock it while
    /// holding a port's lock.
    pub fn mixer(&self) -> Option<Arc<Mutex<AudioMixer>>> {
        self.voice_mixer().map(|m| m.mixer())
    }

    /// The voice mixer's sample rate, while it runs.
    pub fn sample_rate(&self) -> Option<u32> {
        self.voice_mixer().map(|m| m.sample_rate())
    }

    /// Runs `f` on the voice mixer (add ports, connect slots...). Error when
    /// the mixer does not run.
    pub fn with_mixer<T>(&self, f: impl FnOnce(&mut AudioMixer) -> T) -> Result<T> {
        let mixer = self
            .voice_mixer()
            .ok_or_else(|| Error::InvalidState("the audio engine is not running (start the SIPApplication)".into()))?;
        Ok(mixer.with_mixer(f))
    }
}
