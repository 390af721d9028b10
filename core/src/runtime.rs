//! The internal runtime: one tokio runtime on one dedicated thread, owned by
//! the core. `SIPApplication.start` starts it and `stop` joins it. API calls
//! hand work to it through [`Runtime::spawn`] and return at once.

use std::future::Future;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// A running runtime thread.
pub struct Runtime {
    handle: tokio::runtime::Handle,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Runtime {
    /// Starts the runtime thread (`sipsimple-runtime`).
    pub fn start() -> Result<Runtime> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("sipsimple-runtime")
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sipsimple-runtime".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                // Tasks still running get a bounded grace period, never a hang.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|e| Error::Internal(format!("cannot start the runtime thread: {e}")))?;
        Ok(Runtime { handle, shutdown: Some(shutdown), thread: Some(thread) })
    }

    /// The tokio handle, for components that spawn their own tasks.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    /// Runs `future` on the runtime thread.
    pub fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        self.handle.spawn(future);
    }

    /// Stops the runtime and joins its thread (blocks for at most about a
    /// second beyond the tasks' own shutdown).
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take()
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_inner();
    }
}
