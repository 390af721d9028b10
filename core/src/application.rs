//! `SIPApplication`: the singleton that starts and stops the middleware.
//!
//! `start(storage)` loads the configuration synchronously (a bad file is an
//! error right there, and `start` may be called again), loads the accounts,
//! starts the runtime thread and returns; `SIPApplicationWillStart` and
//! `SIPApplicationDidStart` follow from the runtime. `stop()` posts
//! `SIPApplicationWillEnd` at once, returns, and the components stop on a
//! helper thread with a bounded grace period; `SIPApplicationDidEnd` is
//! always posted at the end.

use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::account::AccountManager;
use crate::audio::objects::{AudioBridge, AudioDevice, DeviceMixer};
use crate::config::ConfigurationManager;
use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::lookup::DNSManager;
use crate::notification::NotificationCenter;
use crate::notifications::{self as n, TypedNotification};
use crate::runtime::Runtime;
use crate::settings::SIPSimpleSettings;
use crate::sip::engine::{Engine, EngineConfig};
use crate::sip::transport::{TlsConfig, TransportKind};
use crate::storage::Storage;
use crate::streams::AudioEngine;
use crate::value::Value;

/// How long components get to stop before the runtime is torn down.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Stopped,
    Running,
    Stopping,
}

struct State {
    phase: Phase,
    storage: Option<Arc<dyn Storage>>,
    runtime: Option<Arc<Runtime>>,
    stopper: Option<JoinHandle<()>>,
    /// Disconnected when the start task has finished: a stop waits for
    /// it, so nothing the start sets up outlives the stop.
    started: Option<std::sync::mpsc::Receiver<()>>,
}

/// The `SIPApplication` singleton.
pub struct SIPApplication {
    state: Mutex<State>,
    handle: OnceLock<Handle>,
}

static APPLICATION: LazyLock<Arc<SIPApplication>> = LazyLock::new(|| {
    let app = Arc::new(SIPApplication {
        state: Mutex::new(State { phase: Phase::Stopped, storage: None, runtime: None, stopper: None, started: None }),
        handle: OnceLock::new(),
    });
    let h = handle::register(ObjectKind::Application, app.clone(), None);
    let _ = app.handle.set(h);
    app
});

impl SIPApplication {
    /// The singleton.
    pub fn instance() -> Arc<SIPApplication> {
        APPLICATION.clone()
    }

    /// The application's handle (the sender of `SIPApplication*`).
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or(Handle::from_raw(0))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn post<N: TypedNotification>(&self, notification: N) {
        NotificationCenter::default_center().post(self.handle(), notification);
    }

    /// `running`: true between `start()` and `stop()`.
    pub fn running(&self) -> bool {
        self.lock().phase == Phase::Running
    }

    /// `storage`: the storage given to `start`.
    pub fn storage(&self) -> Option<Arc<dyn Storage>> {
        self.lock().storage.clone()
    }

    /// The runtime, while running (components spawn their tasks on it).
    pub fn runtime(&self) -> Option<Arc<Runtime>> {
        self.lock().runtime.clone()
    }

    /// `voice_audio_mixer`: the mixer on the `audio.input_device` and
    /// `audio.output_device` settings, from `SIPApplicationWillStart` until
    /// the application stopped. Its `input_device`/`output_device` are
    /// `None` when it runs on the null device (no sound card).
    pub fn voice_audio_mixer(&self) -> Option<Arc<DeviceMixer>> {
        AudioEngine::instance().voice_mixer()
    }

    /// `voice_audio_bridge`: add ports here to play to the output device or
    /// record from the input device.
    pub fn voice_audio_bridge(&self) -> Option<Arc<AudioBridge>> {
        AudioEngine::instance().voice_bridge()
    }

    /// `voice_audio_device`: the voice device, always a member of
    /// `voice_audio_bridge`.
    pub fn voice_audio_device(&self) -> Option<Arc<AudioDevice>> {
        AudioEngine::instance().voice_device()
    }

    /// `alert_audio_mixer`: the mixer on the `audio.alert_device` setting
    /// (playback only; silent while `audio.silent` is on).
    pub fn alert_audio_mixer(&self) -> Option<Arc<DeviceMixer>> {
        AudioEngine::instance().alert_mixer()
    }

    /// `alert_audio_bridge`: add ports here to play on the alert device.
    pub fn alert_audio_bridge(&self) -> Option<Arc<AudioBridge>> {
        AudioEngine::instance().alert_bridge()
    }

    /// `alert_audio_device`: the alert device, always a member of
    /// `alert_audio_bridge`.
    pub fn alert_audio_device(&self) -> Option<Arc<AudioDevice>> {
        AudioEngine::instance().alert_device()
    }

    /// Starts the middleware with `storage`. Errors: already running, or the
    /// configuration could not be loaded (then nothing changed and `start`
    /// may be retried, e.g. after fixing the file).
    pub fn start(&self, storage: Arc<dyn Storage>) -> Result<()> {
        let previous_stop = {
            let mut s = self.lock();
            match s.phase {
                Phase::Running => return Err(Error::InvalidState("SIPApplication is already running".into())),
                Phase::Stopping | Phase::Stopped => s.stopper.take(),
            }
        };
        // A stop still in progress finishes first (it is bounded).
        if let Some(t) = previous_stop {
            let _ = t.join();
        }
        let mut s = self.lock();
        if s.phase != Phase::Stopped {
            return Err(Error::InvalidState("SIPApplication is already running".into()));
        }
        let config = ConfigurationManager::instance();
        config.start(storage.configuration_backend())?;
        SIPSimpleSettings::instance().settings().reload();
        AccountManager::instance().load()?;
        let runtime = Arc::new(Runtime::start()?);
        if let Err(e) = DNSManager::instance().start(runtime.handle().clone()) {
            tracing::error!("DNSManager failed to start: {e}");
        }
        s.phase = Phase::Running;
        s.storage = Some(storage);
        s.runtime = Some(runtime.clone());
        drop(s);
        let app = SIPApplication::instance();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        app.lock().started = Some(started_rx);
        runtime.spawn(async move {
            let _started = started_tx;
            app.post(n::SIPApplicationWillStart {});
            // The voice and alert mixers, their devices and bridges.
            if let Err(e) = AudioEngine::instance().start() {
                tracing::error!("the audio engine failed to start: {e}");
            }
            match Engine::start(engine_config()).await {
                Ok((engine, tls_error)) => {
                    if let Some(e) = tls_error {
                        app.post(n::SIPApplicationFailedToStartTLS { error: e.to_string() });
                    }
                    if let Err(e) = crate::session::SessionManager::instance().start(&engine) {
                        tracing::error!("the SessionManager failed to start: {e}");
                    }
                    Engine::set_current(Some(engine));
                }
                Err(e) => tracing::error!("the SIP engine failed to start: {e}"),
            }
            if let Err(e) = AccountManager::instance().start() {
                tracing::error!("AccountManager failed to start: {e}");
            }
            app.post(n::SIPApplicationDidStart {});
        });
        Ok(())
    }

    /// Stops the middleware: returns at once after posting
    /// `SIPApplicationWillEnd`; `SIPApplicationDidEnd` follows when every
    /// component stopped (bounded by [`STOP_GRACE`]). Error if not running.
    pub fn stop(&self) -> Result<()> {
        let mut s = self.lock();
        if s.phase != Phase::Running {
            return Err(Error::InvalidState("SIPApplication is not running".into()));
        }
        s.phase = Phase::Stopping;
        let runtime = s.runtime.take();
        let started = s.started.take();
        self.post(n::SIPApplicationWillEnd {});
        let app = SIPApplication::instance();
        let stopper = std::thread::Builder::new()
            .name("sipsimple-stop".into())
            .spawn(move || {
                // A stop right after start: the start finishes first.
                if let Some(started) = started {
                    let _ = started.recv_timeout(STOP_GRACE);
                }
                crate::session::SessionManager::instance().stop();
                AccountManager::instance().stop();
                if let Some(engine) = Engine::current() {
                    engine.stop();
                    Engine::set_current(None);
                }
                DNSManager::instance().stop();
                if let Some(rt) = runtime {
                    // Other clones are only held briefly by callers; wait for them.
                    let mut rt = rt;
                    let deadline = std::time::Instant::now() + STOP_GRACE;
                    loop {
                        match Arc::try_unwrap(rt) {
                            Ok(r) => {
                                r.stop();
                                break;
                            }
                            Err(again) if std::time::Instant::now() < deadline => {
                                rt = again;
                                std::thread::sleep(Duration::from_millis(5));
                            }
                            Err(_) => {
                                tracing::warn!("runtime still referenced at stop; leaving it to its owner");
                                break;
                            }
                        }
                    }
                }
                app.lock().phase = Phase::Stopped;
                app.post(n::SIPApplicationDidEnd {});
            })
            .map_err(|e| Error::Internal(format!("cannot start the stop thread: {e}")))?;
        s.stopper = Some(stopper);
        Ok(())
    }
}

/// TLS settings from `SIPSimpleSettings` (`tls.ca_list`, `tls.certificate`
/// with `~/` expanded, `tls.verify_server`), for SIP and MSRP.
pub(crate) fn tls_config() -> TlsConfig {
    let settings = SIPSimpleSettings::instance();
    let s = settings.settings();
    let text = |path: &str| s.get(path).ok().and_then(|v| v.as_str().map(str::to_owned));
    let expand = |p: String| -> std::path::PathBuf {
        match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
            (Some(rest), Some(home)) => std::path::PathBuf::from(home).join(rest),
            _ => std::path::PathBuf::from(p),
        }
    };
    TlsConfig {
        ca_list: text("tls.ca_list").map(expand),
        certificate: text("tls.certificate").map(expand),
        verify_server: s.get("tls.verify_server").ok().and_then(|v| v.as_bool()).unwrap_or(true),
    }
}

/// The engine's configuration from `SIPSimpleSettings` (`sip.*`, `tls.*`,
/// `logs.trace_sip`, `user_agent`).
fn engine_config() -> EngineConfig {
    let settings = SIPSimpleSettings::instance();
    let s = settings.settings();
    let int = |path: &str| s.get(path).ok().and_then(|v| v.as_int()).unwrap_or(0);
    let text = |path: &str| s.get(path).ok().and_then(|v| v.as_str().map(str::to_owned));
    let kinds: Vec<TransportKind> = match s.get("sip.transport_list") {
        Ok(Value::List(items)) => items.iter().filter_map(|v| v.as_str().and_then(TransportKind::parse)).collect(),
        _ => vec![TransportKind::Udp, TransportKind::Tcp],
    };
    let mut config = EngineConfig::default();
    config.transports.kinds = kinds;
    config.transports.udp_port = u16::try_from(int("sip.udp_port")).unwrap_or(0);
    config.transports.tcp_port = u16::try_from(int("sip.tcp_port")).unwrap_or(0);
    config.transports.tls_port = u16::try_from(int("sip.tls_port")).unwrap_or(0);
    config.transports.tls = tls_config();
    config.trace_sip = s.get("logs.trace_sip").ok().and_then(|v| v.as_bool()).unwrap_or(false);
    if s.get("logs.trace_pjsip").ok().and_then(|v| v.as_bool()).unwrap_or(false) {
        config.log_level = u8::try_from(int("logs.pjsip_level")).unwrap_or(5);
    }
    if let Some(agent) = text("user_agent") {
        config.user_agent = agent;
    }
    config
}
