//! `DNSManager`: the singleton that holds the nameservers every
//! [`super::DNSLookup`] uses, and the runtime lookups run on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::value::Value;

use super::LookupError;
use super::hickory::{HickoryResolver, ResolverSetup, parse_nameserver};

struct State {
    runtime: Option<tokio::runtime::Handle>,
    /// Nameservers set with `set_nameservers`; `None`: the system's.
    explicit: Option<Vec<SocketAddr>>,
    /// What the resolvers are built from while started.
    setup: Option<ResolverSetup>,
    /// One resolver (and cache) per per-query timeout, in milliseconds.
    resolvers: HashMap<u128, Arc<HickoryResolver>>,
    trace: bool,
}

/// The `DNSManager` singleton: supplies [`super::DNSLookup`] with
/// nameservers and a runtime.
///
/// Nameservers come from the system configuration (`/etc/resolv.conf` and
/// equivalents) unless [`DNSManager::set_nameservers`] gave an explicit list
/// (`1.2.3.4`, `1.2.3.4:5353`, `[::1]:5353`). Unlike the original, the
/// manager does not probe public nameservers: it uses the system's or the
/// given ones, and [`DNSManager::reload`] re-reads the system configuration
/// (call it when the network changes).
///
/// Lifecycle: `start(runtime)` with the handle of a tokio runtime that has
/// I/O and time enabled (SIPApplication's runtime, when it starts the
/// manager); it posts `DNSResolverDidInitialize` (data `nameservers`).
/// `set_nameservers` or `reload` while started post
/// `DNSNameserversDidChange` when the list changes. `stop()` forgets the
/// runtime and the resolvers' caches. All methods may be called from any
/// thread; notifications are posted from the calling thread.
pub struct DNSManager {
    state: Mutex<State>,
    handle: OnceLock<Handle>,
}

static MANAGER: LazyLock<Arc<DNSManager>> = LazyLock::new(|| {
    let manager = Arc::new(DNSManager {
        state: Mutex::new(State { runtime: None, explicit: None, setup: None, resolvers: HashMap::new(), trace: true }),
        handle: OnceLock::new(),
    });
    let h = handle::register(ObjectKind::DnsManager, manager.clone(), None);
    let _ = manager.handle.set(h);
    manager
});

impl DNSManager {
    /// The singleton (`DNSManager()`).
    pub fn instance() -> Arc<DNSManager> {
        MANAGER.clone()
    }

    /// The manager's handle (the sender of its notifications).
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or(Handle::from_raw(0))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn setup_for(explicit: &Option<Vec<SocketAddr>>) -> ResolverSetup {
        match explicit {
            Some(list) => ResolverSetup { nameservers: list.clone(), domain: None, search: Vec::new() },
            None => ResolverSetup::from_system().unwrap_or_else(|e| {
                tracing::warn!("cannot read the system DNS configuration: {e}");
                ResolverSetup::default()
            }),
        }
    }

    /// Starts the manager on `runtime` (a tokio runtime with I/O and time
    /// enabled; lookups run there). Reads the nameservers and posts
    /// `DNSResolverDidInitialize`. Error if already started.
    pub fn start(&self, runtime: tokio::runtime::Handle) -> Result<()> {
        let mut s = self.lock();
        if s.runtime.is_some() {
            return Err(Error::InvalidState("DNSManager is already running".into()));
        }
        let setup = Self::setup_for(&s.explicit);
        let names = setup.nameserver_names();
        s.runtime = Some(runtime);
        s.setup = Some(setup);
        s.resolvers.clear();
        drop(s);
        NotificationCenter::default_center()
            .post(self.handle(), n::DNSResolverDidInitialize { nameservers: Value::from(names) });
        Ok(())
    }

    /// Stops the manager: lookups started afterwards fail until the next
    /// `start`; lookups under way end with their runtime. Stopping a stopped
    /// manager does nothing.
    pub fn stop(&self) {
        let mut s = self.lock();
        s.runtime = None;
        s.setup = None;
        s.resolvers.clear();
    }

    /// True between `start` and `stop`.
    pub fn running(&self) -> bool {
        self.lock().runtime.is_some()
    }

    /// The runtime lookups run on, while started.
    pub fn runtime(&self) -> Option<tokio::runtime::Handle> {
        self.lock().runtime.clone()
    }

    /// `nameservers`: the nameservers in use (while started) or that will be
    /// used (the explicit list, else the system's), as text.
    pub fn nameservers(&self) -> Vec<String> {
        let s = self.lock();
        match &s.setup {
            Some(setup) => setup.nameserver_names(),
            None => Self::setup_for(&s.explicit).nameserver_names(),
        }
    }

    /// Sets the nameservers explicitly (`Some(list)`: `1.2.3.4`,
    /// `1.2.3.4:5353`, `::1`, `[::1]:5353`), or goes back to the system
    /// configuration (`None`). Error on an unparsable entry (nothing
    /// changes then). While started, posts `DNSNameserversDidChange` if the
    /// list changed; lookups started afterwards use the new list.
    pub fn set_nameservers<S: AsRef<str>>(&self, nameservers: Option<&[S]>) -> Result<()> {
        let explicit = match nameservers {
            None => None,
            Some(list) => {
                let mut parsed = Vec::with_capacity(list.len());
                for text in list {
                    let text = text.as_ref();
                    let addr = parse_nameserver(text)
                        .ok_or_else(|| Error::InvalidArgument(format!("not a nameserver address: {text:?}")))?;
                    parsed.push(addr);
                }
                Some(parsed)
            }
        };
        let mut s = self.lock();
        s.explicit = explicit;
        self.apply(s);
        Ok(())
    }

    /// Re-reads the system configuration (when no explicit list is set);
    /// posts `DNSNameserversDidChange` if the list changed while started.
    pub fn reload(&self) {
        let s = self.lock();
        self.apply(s);
    }

    fn apply(&self, mut s: MutexGuard<'_, State>) {
        if s.runtime.is_none() {
            return;
        }
        let setup = Self::setup_for(&s.explicit);
        if s.setup.as_ref() == Some(&setup) {
            return;
        }
        let names = setup.nameserver_names();
        s.setup = Some(setup);
        s.resolvers.clear();
        drop(s);
        NotificationCenter::default_center()
            .post(self.handle(), n::DNSNameserversDidChange { nameservers: Value::from(names) });
    }

    /// Whether lookups post `DNSLookupTrace` for each query (default: on,
    /// as in the original).
    pub fn tracing(&self) -> bool {
        self.lock().trace
    }

    /// Turns `DNSLookupTrace` notifications on or off.
    pub fn set_tracing(&self, on: bool) {
        self.lock().trace = on;
    }

    /// The shared resolver for a per-query `timeout` (one per distinct
    /// timeout, each with its own cache; rebuilt when the nameservers
    /// change). Use it on the manager's runtime. Error if not started or
    /// there are no nameservers.
    pub fn resolver(&self, timeout: Duration) -> Result<Arc<HickoryResolver>, LookupError> {
        let mut s = self.lock();
        let Some(setup) = s.setup.clone() else {
            return Err(LookupError::NotRunning);
        };
        if setup.nameservers.is_empty() {
            return Err(LookupError::NoNameservers);
        }
        let key = timeout.as_millis();
        if let Some(r) = s.resolvers.get(&key) {
            return Ok(r.clone());
        }
        let resolver = Arc::new(HickoryResolver::new(&setup, timeout).map_err(LookupError::Internal)?);
        s.resolvers.insert(key, resolver.clone());
        Ok(resolver)
    }
}
