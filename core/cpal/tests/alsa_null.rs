//! The cpal backend against a real ALSA device that needs no hardware: the
//! `null` PCM, which discards what it plays and captures silence, both at
//! the pace of a real device. cpal lists only ALSA's built-in names and the
//! cards, so the test points ALSA's `default` at the null PCM through a
//! private `~/.asoundrc` (HOME is set to a temporary directory before ALSA
//! is first used). Only on Linux.

#![cfg(target_os = "linux")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use sipsimple_core::audio::backend::{SYSTEM_DEFAULT, SoundBackend, SoundDeviceRequest};
use sipsimple_core::audio::objects::DeviceMixer;
use sipsimple_cpal::CpalBackend;

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_alsa_null_pcm_is_listed_opened_and_clocked() {
    let home = std::env::temp_dir().join(format!("sipsimple-cpal-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join(".asoundrc"), "pcm.!default { type null }\nctl.!default { type hw card 0 }\n").unwrap();
    // SAFETY: the only test of this binary, before any thread of it uses ALSA.
    unsafe { std::env::set_var("HOME", &home) };

    let backend = CpalBackend::default();
    assert_eq!(backend.output_devices(), ["default"], "ALSA's default (the null PCM) is listed");
    assert_eq!(backend.input_devices(), ["default"]);
    assert_eq!(backend.default_output_device().as_deref(), Some("default"));
    // A device that is not there is an error, not a panic.
    let missing =
        SoundDeviceRequest { output_device: Some("no-such-pcm".into()), sample_rate: 32000, ..Default::default() };
    assert!(backend.open(&missing).is_err());

    let mixer =
        DeviceMixer::with_backend(Arc::new(backend), Some(SYSTEM_DEFAULT), Some(SYSTEM_DEFAULT), 32000).unwrap();
    assert_eq!(mixer.input_device().as_deref(), Some(SYSTEM_DEFAULT));
    assert_eq!(mixer.real_output_device().as_deref(), Some("default"));
    assert_eq!(mixer.backend_name(), "cpal");
    // The null PCM captures silence at its own pace: frames arrive through
    // cpal's capture callback, the queue and the mixer's device port.
    wait_for("50 captured frames", || mixer.device_frames().0 >= 50);
    let ticks = mixer.ticks();
    let (captured, _) = mixer.device_frames();
    assert!(captured <= ticks + 1, "captured {captured} frames in {ticks} ticks");
    mixer.stop();
    let _ = std::fs::remove_dir_all(&home);
}
