//! Application-level audio (`sipsimple.audio`): the application's mixers
//! and bridges, `WavePlayer`, `WaveRecorder` and `AudioBridge`
//! membership.
//!
//! Audio flows between ports of one mixer through bridges: every member of
//! a bridge hears every other member. To play a WAV file into a call,
//! create a `WavePlayer` on the voice mixer and add it to the audio
//! stream's bridge (`sipsimple_audio_stream_bridge`); to play it on the
//! sound device, add it to `sipsimple_application_voice_audio_bridge`.
//!
//! The mixer and bridge handles of the application belong to one run: after
//! the application stops they are stale. Players and recorders are owned by
//! the caller and released with their `_free` function; a released port
//! leaves every bridge.

use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use sipsimple_core::audio::WavePlayerOptions;
use sipsimple_core::audio::objects::{AudioBridge, DeviceMixer, WavePlayer, WaveRecorder, port_from_handle};
use sipsimple_core::{Error, Handle, ObjectKind, SIPApplication};

use crate::objects;
use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::strings::{Out, borrow_str};

fn mixer(raw: sipsimple_handle) -> Result<Arc<DeviceMixer>, FfiError> {
    objects::resolve::<DeviceMixer>(raw, ObjectKind::AudioMixer)
}

fn bridge(raw: sipsimple_handle) -> Result<Arc<AudioBridge>, FfiError> {
    objects::resolve::<AudioBridge>(raw, ObjectKind::AudioBridge)
}

fn player(raw: sipsimple_handle) -> Result<Arc<WavePlayer>, FfiError> {
    objects::resolve::<WavePlayer>(raw, ObjectKind::WavePlayer)
}

fn recorder(raw: sipsimple_handle) -> Result<Arc<WaveRecorder>, FfiError> {
    objects::resolve::<WaveRecorder>(raw, ObjectKind::WaveRecorder)
}

fn not_running(what: &str) -> FfiError {
    FfiError::Core(Error::InvalidState(format!("there is no {what}: the application is not running")))
}

/// Writes the handle of an application audio object, or fails when the
/// application does not run.
///
/// # Safety
/// `out` is NULL or a writable handle.
unsafe fn write_application_object(
    out: *mut sipsimple_handle,
    what: &str,
    object: impl FnOnce(&SIPApplication) -> Option<Handle>,
) -> Result<(), FfiError> {
    let out = Out::new(out, "out")?;
    let h = object(&SIPApplication::instance()).ok_or_else(|| not_running(what))?;
    // SAFETY: out is a writable handle (caller contract).
    unsafe { out.write(h.raw()) };
    Ok(())
}

/// `SIPApplication.voice_audio_mixer`: `*out` receives the handle of the
/// voice mixer (on the `audio.input_device` and `audio.output_device`
/// settings; the null device without a sound card). Audio streams play into
/// it; players and recorders for calls are created on it.
/// `SIPSIMPLE_RESULT_INVALID_STATE` while the application does not run.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_application_voice_audio_mixer(out: *mut sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_application_voice_audio_mixer", || {
        // SAFETY: API contract.
        unsafe { write_application_object(out, "voice mixer", |a| a.voice_audio_mixer().map(|m| m.handle())) }
    })
}

/// `SIPApplication.voice_audio_bridge`: `*out` receives the handle of the
/// voice mixer's bridge, which holds the voice device: add a port to play
/// it on the output device and hear the input device.
/// `SIPSIMPLE_RESULT_INVALID_STATE` while the application does not run.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_application_voice_audio_bridge(out: *mut sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_application_voice_audio_bridge", || {
        // SAFETY: API contract.
        unsafe { write_application_object(out, "voice bridge", |a| a.voice_audio_bridge().map(|b| b.handle())) }
    })
}

/// `SIPApplication.alert_audio_mixer`: `*out` receives the handle of the
/// alert mixer (on the `audio.alert_device` setting, playback only), for
/// ringtones. `SIPSIMPLE_RESULT_INVALID_STATE` while the application does
/// not run.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_application_alert_audio_mixer(out: *mut sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_application_alert_audio_mixer", || {
        // SAFETY: API contract.
        unsafe { write_application_object(out, "alert mixer", |a| a.alert_audio_mixer().map(|m| m.handle())) }
    })
}

/// `SIPApplication.alert_audio_bridge`: `*out` receives the handle of the
/// alert mixer's bridge, which holds the alert device: add a player of the
/// alert mixer to ring. `SIPSIMPLE_RESULT_INVALID_STATE` while the
/// application does not run.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_application_alert_audio_bridge(out: *mut sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_application_alert_audio_bridge", || {
        // SAFETY: API contract.
        unsafe { write_application_object(out, "alert bridge", |a| a.alert_audio_bridge().map(|b| b.handle())) }
    })
}

/// `AudioBridge.add(port)`: adds `port` (a `WavePlayer`, `WaveRecorder`,
/// `AudioBridge` or started `AudioStream` handle) to `bridge`; it hears and
/// is heard by every other member. Adding a member again does nothing.
/// Errors: `SIPSIMPLE_RESULT_INVALID_HANDLE` for a handle that is no audio
/// port, `SIPSIMPLE_RESULT_INVALID_ARGUMENT` for a port of another mixer or
/// the bridge itself, `SIPSIMPLE_RESULT_INVALID_STATE` for a stopped bridge
/// or an audio stream that is not initialized.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_audio_bridge_add(bridge: sipsimple_handle, port: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_audio_bridge_add", || {
        let bridge = self::bridge(bridge)?;
        let port = port_from_handle(Handle::from_raw(port))?;
        bridge.add(port)?;
        Ok(())
    })
}

/// `AudioBridge.remove(port)`: takes `port` out of `bridge`.
/// `SIPSIMPLE_RESULT_NOT_FOUND` if it is not a member.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_audio_bridge_remove(bridge: sipsimple_handle, port: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_audio_bridge_remove", || {
        let bridge = self::bridge(bridge)?;
        if port == 0 {
            return Err(FfiError::handle("the port handle is 0"));
        }
        bridge.remove_handle(Handle::from_raw(port))?;
        Ok(())
    })
}

/// `WavePlayer(mixer, filename, volume, loop_count, pause_time,
/// initial_play)`: `*out_player` receives the handle of a stopped player of
/// the WAV file `filename` (any PCM or float WAV; converted to mono and
/// resampled to the mixer's rate) on `mixer` (an application mixer
/// handle). `volume` is 0-200 (100 plays the file as recorded), `loop_count`
/// the number of plays per start (0: forever), `pause_time` the silence
/// between plays in seconds, and `initial_play` false waits `pause_time`
/// before the first play (the original's defaults: 100, 1, 0, true). The
/// file is opened when it plays. Add the player to a bridge to hear it;
/// release it with `sipsimple_wave_player_free`.
///
/// The player posts `WavePlayerDidStart` (first play), `WavePlayerDidEnd`
/// (every loop played, or stopped) and `WavePlayerDidFail` (with `error`:
/// the file is missing or cannot be played).
///
/// Errors: `SIPSIMPLE_RESULT_INVALID_ARGUMENT` for a volume above 200 or a
/// negative or non-finite pause.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_wave_player_new(
    mixer: sipsimple_handle,
    filename: *const c_char,
    volume: u32,
    loop_count: u32,
    pause_time: f64,
    initial_play: bool,
    out_player: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_wave_player_new", || {
        let mixer = self::mixer(mixer)?;
        // SAFETY: API contract.
        let filename = unsafe { borrow_str(filename, "filename") }?;
        let out = Out::new(out_player, "out_player")?;
        let pause_time = Duration::try_from_secs_f64(pause_time)
            .map_err(|_| FfiError::argument(format!("pause_time {pause_time} is not a duration in seconds")))?;
        let options = WavePlayerOptions { volume, loop_count, pause_time, initial_play };
        let player = WavePlayer::new(&mixer, filename, options)?;
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(player.handle().raw()) };
        Ok(())
    })
}

/// `WavePlayer.start()`: starts playing (at once, or after `pause_time`
/// without `initial_play`). A file that cannot be played gives
/// `WavePlayerDidFail`, not an error here. Already playing:
/// `SIPSIMPLE_RESULT_INVALID_STATE`.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_wave_player_start(player: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_wave_player_start", || {
        self::player(player)?.start()?;
        Ok(())
    })
}

/// `WavePlayer.stop()`: stops at once; posts `WavePlayerDidEnd` if it was
/// playing. Stopping a stopped player does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_wave_player_stop(player: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_wave_player_stop", || {
        self::player(player)?.stop();
        Ok(())
    })
}

/// `*out` receives `WavePlayer.is_active`: playing, or waiting between
/// plays.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_wave_player_is_active(player: sipsimple_handle, out: *mut bool) -> sipsimple_result {
    guard("sipsimple_wave_player_is_active", || {
        let player = self::player(player)?;
        let out = Out::new(out, "out")?;
        // SAFETY: out is a writable bool (API contract).
        unsafe { out.write(player.is_active()) };
        Ok(())
    })
}

/// Stops the player and releases it: its handle becomes stale and it
/// leaves every bridge.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_wave_player_free(player: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_wave_player_free", || {
        let player = objects::release::<WavePlayer>(player, ObjectKind::WavePlayer)?;
        player.stop();
        Ok(())
    })
}

/// `WaveRecorder(mixer, filename)`: `*out_recorder` receives the handle of
/// a stopped recorder into the WAV file `filename` (16-bit mono at the
/// mixer's rate) on `mixer`. Add it to a bridge to record what the other
/// members play; release it with `sipsimple_wave_recorder_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_wave_recorder_new(
    mixer: sipsimple_handle,
    filename: *const c_char,
    out_recorder: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_wave_recorder_new", || {
        let mixer = self::mixer(mixer)?;
        // SAFETY: API contract.
        let filename = unsafe { borrow_str(filename, "filename") }?;
        let out = Out::new(out_recorder, "out_recorder")?;
        let recorder = WaveRecorder::new(&mixer, filename);
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(recorder.handle().raw()) };
        Ok(())
    })
}

/// `WaveRecorder.start()`: creates the file (and missing directories; an
/// existing file is overwritten) and starts recording. Errors:
/// `SIPSIMPLE_RESULT_INVALID_STATE` when recording already, or the file
/// cannot be created.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_wave_recorder_start(recorder: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_wave_recorder_start", || {
        self::recorder(recorder)?.start()?;
        Ok(())
    })
}

/// `WaveRecorder.stop()`: completes and closes the file. Stopping a stopped
/// recorder does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_wave_recorder_stop(recorder: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_wave_recorder_stop", || {
        self::recorder(recorder)?.stop()?;
        Ok(())
    })
}

/// Stops the recorder (completing its file) and releases it: its handle
/// becomes stale and it leaves every bridge.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_wave_recorder_free(recorder: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_wave_recorder_free", || {
        let recorder = objects::release::<WaveRecorder>(recorder, ObjectKind::WaveRecorder)?;
        recorder.stop()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::{null, null_mut};

    #[test]
    fn audio_handles_are_checked() {
        let settings = sipsimple_core::SIPSimpleSettings::instance().handle().raw();
        let mut h = 0;
        let mut b = true;
        for bad in [0u64, 1, 0xdead_beef, u64::MAX, settings] {
            let r = unsafe { sipsimple_wave_player_new(bad, c"x.wav".as_ptr(), 100, 1, 0.0, true, &mut h) };
            assert_eq!(r, sipsimple_result::InvalidHandle);
            assert_eq!(sipsimple_wave_player_start(bad), sipsimple_result::InvalidHandle);
            assert_eq!(sipsimple_wave_player_free(bad), sipsimple_result::InvalidHandle);
            assert_eq!(unsafe { sipsimple_wave_player_is_active(bad, &mut b) }, sipsimple_result::InvalidHandle);
            assert_eq!(sipsimple_wave_recorder_stop(bad), sipsimple_result::InvalidHandle);
            assert_eq!(sipsimple_audio_bridge_add(bad, settings), sipsimple_result::InvalidHandle);
            assert_eq!(sipsimple_audio_bridge_remove(bad, settings), sipsimple_result::InvalidHandle);
        }
        assert_eq!((h, b), (0, true));
        assert_eq!(unsafe { sipsimple_application_voice_audio_mixer(null_mut()) }, sipsimple_result::NullArgument);
        assert_eq!(unsafe { sipsimple_wave_recorder_new(0, null(), &mut h) }, sipsimple_result::InvalidHandle);
    }
}
