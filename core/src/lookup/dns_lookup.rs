//! `DNSLookup`: runs lookups on the DNSManager's runtime and posts their
//! results.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::handle::{self, Handle, ObjectKind};
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::value::Value;

use super::LookupError;
use super::manager::DNSManager;
use super::resolver::Resolver;
use super::rfc3263::{LookupContext, QueryTrace, parse_transports};
use super::route::Route;
use super::target::{LookupUri, without_userinfo};

/// The two time limits of every lookup method.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LookupOptions {
    /// `timeout`: how long to wait for one nameserver (default 3 s).
    pub timeout: Duration,
    /// `lifetime`: how long the whole lookup may take (default 15 s).
    pub lifetime: Duration,
}

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions { timeout: Duration::from_secs(3), lifetime: Duration::from_secs(15) }
    }
}

impl LookupOptions {
    /// Options from seconds, as the original's `timeout=3.0, lifetime=15.0`
    /// arguments. Error on negative, infinite or NaN values.
    pub fn from_secs(timeout: f64, lifetime: f64) -> Result<LookupOptions, LookupError> {
        let d = |what: &str, s: f64| {
            Duration::try_from_secs_f64(s).map_err(|_| LookupError::InvalidArgument(format!("bad {what}: {s}")))
        };
        Ok(LookupOptions { timeout: d("timeout", timeout)?, lifetime: d("lifetime", lifetime)? })
    }
}

/// Where a lookup's outcome is left for its [`PendingLookup`].
enum Outcome<T> {
    /// Still running; the waker of the task awaiting it, if any.
    Running(Option<Waker>),
    /// Ended; the result was not taken yet.
    Done(Result<T, LookupError>),
    /// The result was taken (by `wait`, `try_result` or `.await`).
    Taken,
}

/// The outcome shared by a lookup task and its [`PendingLookup`].
struct Slot<T> {
    outcome: Mutex<Outcome<T>>,
    ended: Condvar,
}

impl<T> Slot<T> {
    fn lock(&self) -> MutexGuard<'_, Outcome<T>> {
        self.outcome.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores the result (the first one wins) and wakes every waiter.
    fn fill(&self, result: Result<T, LookupError>) {
        let mut outcome = self.lock();
        if let Outcome::Running(waker) = &mut *outcome {
            let waker = waker.take();
            *outcome = Outcome::Done(result);
            drop(outcome);
            self.ended.notify_all();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// Takes the result if the lookup ended (`Cancelled` once taken).
    fn take(outcome: &mut Outcome<T>) -> Option<Result<T, LookupError>> {
        match std::mem::replace(outcome, Outcome::Taken) {
            Outcome::Done(result) => Some(result),
            Outcome::Taken => Some(Err(LookupError::Cancelled)),
            running @ Outcome::Running(_) => {
                *outcome = running;
                None
            }
        }
    }
}

/// The error `wait` and `wait_timeout` give inside an async runtime.
fn called_in_runtime() -> Option<LookupError> {
    tokio::runtime::Handle::try_current().is_ok().then(|| {
        LookupError::InvalidArgument("wait() called from inside an async runtime; await the lookup instead".into())
    })
}

/// The result of a lookup that is under way. `.await` it from async code,
/// or call [`PendingLookup::wait`] (or [`PendingLookup::wait_timeout`])
/// from a thread that may block. Dropping it does not cancel the lookup
/// (its notification is still posted).
///
/// `wait`, `try_result` and `.await` take the result out; `result` and
/// `wait_timeout` leave it in place (they need `T: Clone`), so several
/// threads may wait on one `PendingLookup` shared behind an `Arc`.
pub struct PendingLookup<T> {
    slot: Arc<Slot<T>>,
}

impl<T> fmt::Debug for PendingLookup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.slot.lock() {
            Outcome::Running(_) => "running",
            Outcome::Done(_) => "done",
            Outcome::Taken => "taken",
        };
        f.debug_struct("PendingLookup").field("state", &state).finish()
    }
}

impl<T> PendingLookup<T> {
    /// Blocks until the lookup ends (bounded by its `lifetime`). Must not be
    /// called from inside a tokio runtime: that is reported as an error
    /// instead of blocking the runtime.
    pub fn wait(self) -> Result<T, LookupError> {
        if let Some(error) = called_in_runtime() {
            return Err(error);
        }
        let mut outcome = self.slot.lock();
        loop {
            if let Some(result) = Slot::take(&mut outcome) {
                return result;
            }
            outcome = self.slot.ended.wait(outcome).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The result if the lookup has ended, without blocking. Takes it out:
    /// asking again afterwards gives `Cancelled`.
    pub fn try_result(&mut self) -> Option<Result<T, LookupError>> {
        Slot::take(&mut self.slot.lock())
    }

    /// True once the lookup has ended (its result may have been taken).
    pub fn is_done(&self) -> bool {
        !matches!(&*self.slot.lock(), Outcome::Running(_))
    }
}

impl<T: Clone> PendingLookup<T> {
    /// A copy of the result if the lookup has ended, without blocking
    /// (`Cancelled` if it was taken out).
    pub fn result(&self) -> Option<Result<T, LookupError>> {
        match &*self.slot.lock() {
            Outcome::Running(_) => None,
            Outcome::Done(result) => Some(result.clone()),
            Outcome::Taken => Some(Err(LookupError::Cancelled)),
        }
    }

    /// Blocks until the lookup ends or `timeout` passes, whichever comes
    /// first: a copy of the result, or `None` on timeout (the lookup goes
    /// on; wait again or await its notification). Any number of threads
    /// may wait at once. Inside a tokio runtime it does not block and
    /// gives an error, as [`PendingLookup::wait`].
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<T, LookupError>> {
        if let Some(error) = called_in_runtime() {
            return Some(Err(error));
        }
        let deadline = Instant::now().checked_add(timeout);
        let mut outcome = self.slot.lock();
        loop {
            if !matches!(&*outcome, Outcome::Running(_)) {
                drop(outcome);
                return self.result();
            }
            let left = match deadline {
                Some(deadline) => deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?,
                None => Duration::from_secs(3600),
            };
            outcome = self.slot.ended.wait_timeout(outcome, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

impl<T> Future for PendingLookup<T> {
    type Output = Result<T, LookupError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut outcome = self.slot.lock();
        if let Some(result) = Slot::take(&mut outcome) {
            return Poll::Ready(result);
        }
        if let Outcome::Running(waker) = &mut *outcome {
            match waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *waker = Some(cx.waker().clone()),
            }
        }
        Poll::Pending
    }
}

/// Posts the outcome exactly once: the result, or `DNSLookupDidFail`
/// ("cancelled") if the task is dropped before it ends (runtime stopped).
struct Completion<T> {
    sender: Handle,
    slot: Option<Arc<Slot<T>>>,
    to_value: fn(&T) -> Value,
}

impl<T> Completion<T> {
    fn finish(mut self, result: Result<T, LookupError>) {
        let center = NotificationCenter::default_center();
        match &result {
            Ok(value) => center.post(self.sender, n::DNSLookupDidSucceed { result: (self.to_value)(value) }),
            Err(e) => center.post(self.sender, n::DNSLookupDidFail { error: e.to_string() }),
        }
        if let Some(slot) = self.slot.take() {
            slot.fill(result);
        }
    }
}

impl<T> Drop for Completion<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            let error = LookupError::Cancelled;
            NotificationCenter::default_center().post(self.sender, n::DNSLookupDidFail { error: error.to_string() });
            slot.fill(Err(error));
        }
    }
}

type Tracer = Arc<dyn Fn(QueryTrace) + Send + Sync>;

/// What a lookup task gets to work with.
struct Job {
    resolver: Arc<dyn Resolver>,
    tracer: Option<Tracer>,
    seed: Option<u64>,
    lifetime: Duration,
}

impl Job {
    fn context(&self) -> LookupContext<'_> {
        let mut ctx = LookupContext::new(&*self.resolver).with_lifetime(self.lifetime);
        if let Some(seed) = self.seed {
            ctx = ctx.with_seed(seed);
        }
        if let Some(tracer) = &self.tracer {
            ctx = ctx.with_trace(&**tracer);
        }
        ctx
    }
}

/// `DNSLookup`: finds SIP proxies (RFC 3263), STUN servers and MSRP relays,
/// and XCAP roots.
///
/// Each method returns at once; the lookup runs on the
/// [`DNSManager`]'s runtime (the manager must be started) and ends with
/// `DNSLookupDidSucceed` (data `result`) or `DNSLookupDidFail` (data
/// `error`), sender: this object's handle, plus one `DNSLookupTrace` per DNS
/// query while the manager's tracing is on. The returned
/// [`PendingLookup`] gives the same result to Rust callers.
///
/// Every lookup object is registered in the handle table (kind
/// `DNSLookup`), which keeps it alive until [`DNSLookup::release`]; a
/// binding releases it when its own wrapper goes away. Methods may be called
/// from any thread, several lookups may run at once on one object.
pub struct DNSLookup {
    handle: OnceLock<Handle>,
    resolver: Option<Arc<dyn Resolver>>,
    seed: Mutex<Option<u64>>,
}

impl DNSLookup {
    fn create(resolver: Option<Arc<dyn Resolver>>) -> Arc<DNSLookup> {
        let lookup = Arc::new(DNSLookup { handle: OnceLock::new(), resolver, seed: Mutex::new(None) });
        let h = handle::register(ObjectKind::DnsLookup, lookup.clone(), None);
        let _ = lookup.handle.set(h);
        lookup
    }

    /// `DNSLookup()`: queries the DNSManager's nameservers.
    pub fn new() -> Arc<DNSLookup> {
        DNSLookup::create(None)
    }

    /// A lookup object that asks `resolver` instead of the DNSManager's
    /// nameservers (it still runs on the manager's runtime).
    pub fn with_resolver(resolver: Arc<dyn Resolver>) -> Arc<DNSLookup> {
        DNSLookup::create(Some(resolver))
    }

    /// The object's handle: the sender of its notifications.
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or(Handle::from_raw(0))
    }

    /// Removes the object from the handle table (its handle becomes stale).
    /// Lookups under way still finish and post with the old handle.
    pub fn release(&self) -> Result<()> {
        handle::release(self.handle())
    }

    /// Seeds the weighted random choice among SRV records of equal priority
    /// (RFC 2782), so that later lookups give a reproducible order; `None`
    /// (the default) seeds from the OS.
    pub fn set_srv_seed(&self, seed: Option<u64>) {
        *self.seed.lock().unwrap_or_else(PoisonError::into_inner) = seed;
    }

    fn spawn<T, F, Fut>(
        &self,
        context: &'static str,
        uri: &str,
        service: Option<&str>,
        options: LookupOptions,
        to_value: fn(&T) -> Value,
        work: F,
    ) -> PendingLookup<T>
    where
        T: Send + 'static,
        F: FnOnce(Job) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, LookupError>> + Send + 'static,
    {
        let slot = Arc::new(Slot { outcome: Mutex::new(Outcome::Running(None)), ended: Condvar::new() });
        let completion = Completion { sender: self.handle(), slot: Some(slot.clone()), to_value };
        let manager = DNSManager::instance();
        let Some(runtime) = manager.runtime() else {
            completion.finish(Err(LookupError::NotRunning));
            return PendingLookup { slot };
        };
        let sender = self.handle();
        let tracer: Option<Tracer> = manager.tracing().then(|| {
            let uri = without_userinfo(uri);
            let service = service.map(str::to_owned);
            Arc::new(move |t: QueryTrace| {
                NotificationCenter::default_center().post(
                    sender,
                    n::DNSLookupTrace {
                        query_type: t.query_type.to_owned(),
                        query_name: t.query_name,
                        nameservers: Value::from(t.nameservers),
                        answer: Value::from(t.answer),
                        error: t.error,
                        context: context.to_owned(),
                        service: service.clone(),
                        uri: uri.clone(),
                    },
                );
            }) as Tracer
        });
        let fixed = self.resolver.clone();
        let seed = *self.seed.lock().unwrap_or_else(PoisonError::into_inner);
        runtime.spawn(async move {
            let resolver: Arc<dyn Resolver> = match fixed {
                Some(r) => r,
                None => match manager.resolver(options.timeout) {
                    Ok(r) => r,
                    Err(e) => return completion.finish(Err(e)),
                },
            };
            let job = Job { resolver, tracer, seed, lifetime: options.lifetime };
            // The work runs in its own task so that a panic in it (or in the
            // resolver) ends this lookup with an error, never silently.
            let result = match tokio::spawn(work(job)).await {
                Ok(result) => result,
                Err(e) if e.is_panic() => {
                    let payload = e.into_panic();
                    let what = payload
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    Err(LookupError::Internal(format!("the lookup task panicked: {what}")))
                }
                Err(_) => Err(LookupError::Cancelled),
            };
            completion.finish(result);
        });
        PendingLookup { slot }
    }

    /// `lookup_sip_proxy(uri, supported_transports, tls_name=None, timeout,
    /// lifetime)`: the routes to the SIP proxy of `uri`, in order of
    /// preference (RFC 3263; see [`LookupContext::lookup_sip_proxy`]).
    /// `supported_transports` lists `udp`, `tcp`, `tls` in the
    /// application's order of preference. `result`: list of routes.
    pub fn lookup_sip_proxy<S: AsRef<str>>(
        &self,
        uri: &str,
        supported_transports: &[S],
        tls_name: Option<&str>,
        options: LookupOptions,
    ) -> PendingLookup<Vec<Route>> {
        let text = uri.to_owned();
        let supported: Vec<String> = supported_transports.iter().map(|s| s.as_ref().to_owned()).collect();
        let tls_name = tls_name.map(str::to_owned);
        self.spawn("lookup_sip_proxy", uri, None, options, routes_value, move |job| async move {
            let uri = LookupUri::parse(&text)?;
            let supported = parse_transports(&supported)?;
            job.context().lookup_sip_proxy(&uri, &supported, tls_name.as_deref()).await
        })
    }

    /// `lookup_service(uri, service, port=None, timeout, lifetime)`:
    /// `(address, port)` pairs for `service` (`stun` or `msrprelay`) at
    /// the URI's domain: SRV, else A/AAAA with `port` or the service's
    /// default port. `result`: list of `[address, port]`.
    pub fn lookup_service(
        &self,
        uri: &str,
        service: &str,
        port: Option<u16>,
        options: LookupOptions,
    ) -> PendingLookup<Vec<(String, u16)>> {
        let text = uri.to_owned();
        let name = service.to_owned();
        self.spawn("lookup_service", uri, Some(service), options, pairs_value, move |job| async move {
            let uri = LookupUri::parse(&text)?;
            job.context().lookup_service(&uri, &name, port).await
        })
    }

    /// `lookup_xcap_server(uri, timeout, lifetime)`: the http/https URLs in
    /// the TXT records of `xcap.<domain>`. `result`: list of text.
    pub fn lookup_xcap_server(&self, uri: &str, options: LookupOptions) -> PendingLookup<Vec<String>> {
        let text = uri.to_owned();
        self.spawn("lookup_xcap_server", uri, None, options, strings_value, move |job| async move {
            let uri = LookupUri::parse(&text)?;
            job.context().lookup_xcap_server(&uri).await
        })
    }
}

#[allow(clippy::ptr_arg)] // the signature is `fn(&T)` with `T` a Vec
fn routes_value(routes: &Vec<Route>) -> Value {
    Value::List(routes.iter().map(Route::to_value).collect())
}

#[allow(clippy::ptr_arg)] // the signature is `fn(&T)` with `T` a Vec
fn pairs_value(pairs: &Vec<(String, u16)>) -> Value {
    Value::List(pairs.iter().map(|(a, p)| Value::List(vec![Value::from(a.as_str()), Value::from(*p)])).collect())
}

#[allow(clippy::ptr_arg)] // the signature is `fn(&T)` with `T` a Vec
fn strings_value(urls: &Vec<String>) -> Value {
    Value::from(urls.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_pending() -> (Arc<Slot<u32>>, PendingLookup<u32>) {
        let slot = Arc::new(Slot { outcome: Mutex::new(Outcome::Running(None)), ended: Condvar::new() });
        (slot.clone(), PendingLookup { slot })
    }

    #[test]
    fn wait_timeout_gives_up_then_sees_the_result_from_any_thread() {
        let (slot, pending) = new_pending();
        assert!(!pending.is_done());
        assert_eq!(pending.result(), None);
        let started = Instant::now();
        assert_eq!(pending.wait_timeout(Duration::from_millis(30)), None);
        assert!(started.elapsed() >= Duration::from_millis(30));

        let pending = Arc::new(pending);
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let p = pending.clone();
                std::thread::spawn(move || p.wait_timeout(Duration::from_secs(30)))
            })
            .collect();
        slot.fill(Ok(7));
        slot.fill(Err(LookupError::Cancelled)); // the first result wins
        for w in waiters {
            assert_eq!(w.join().unwrap(), Some(Ok(7)));
        }
        assert!(pending.is_done());
        assert_eq!(pending.wait_timeout(Duration::ZERO), Some(Ok(7)), "left in place");
        let pending = Arc::into_inner(pending).unwrap();
        assert_eq!(pending.wait(), Ok(7));
    }

    #[test]
    fn taking_the_result_leaves_cancelled() {
        let (slot, mut pending) = new_pending();
        assert_eq!(pending.try_result(), None);
        slot.fill(Err(LookupError::NotFound("none".into())));
        assert_eq!(pending.try_result(), Some(Err(LookupError::NotFound("none".into()))));
        assert_eq!(pending.try_result(), Some(Err(LookupError::Cancelled)));
        assert_eq!(pending.result(), Some(Err(LookupError::Cancelled)));
    }

    #[test]
    fn a_dropped_completion_cancels_and_awaiting_works() {
        let (slot, pending) = new_pending();
        drop(Completion { sender: Handle::from_raw(0), slot: Some(slot), to_value: |v: &u32| Value::from(*v) });
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        assert_eq!(runtime.block_on(pending), Err(LookupError::Cancelled));
        // Inside a runtime, waiting is refused instead of blocking it.
        let (_slot, pending) = new_pending();
        let refused = runtime.block_on(async { pending.wait_timeout(Duration::from_secs(5)) });
        assert!(matches!(refused, Some(Err(LookupError::InvalidArgument(_)))));
    }
}
