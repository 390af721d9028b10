//! The sans-IO registration state machine (RFC 3261 §10).
//!
//! [`Registration`] is fed the time and what happened (activated,
//! deactivated, routes resolved, a final response, a timer) and answers
//! with [`Output`]s: resolve the routes, send a REGISTER to a destination,
//! or report an [`Event`] (each becomes a `SIPAccount*` notification).
//! It owns the retry policy of the original middleware:
//!
//! - the routes are tried in order; a timeout, a transport failure or a
//!   5xx moves on to the next one; when none is left the attempt fails and
//!   is retried after a random delay that doubles from 1 s up to 30 s;
//! - a 401/407 is answered once with the account's credentials; a
//!   rejection of those fails with "Authentication failed" and a retry in
//!   60–120 s, so a wrong password never turns into a retry storm;
//! - a 423 Interval Too Brief is answered at once with the registrar's
//!   `Min-Expires` (the original waited 60–120 s first);
//! - any other negative answer fails with a retry in 60–120 s;
//! - a registration is refreshed before it expires (half-way for short
//!   ones, 60 s before the end otherwise);
//! - deactivating unregisters (Expires 0) what is registered; an attempt
//!   still in flight finishes first so the registrar is never left with a
//!   binding nobody refreshes.

use std::time::{Duration, Instant};

use rand::Rng;

use crate::account::Credentials;
use crate::lookup::Route;
use crate::sip::auth::{Challenge, DigestClient};
use crate::sip::engine::Destination;
use crate::sip::message::{Message, Method, NameAddr, Uri};

/// What a registration needs to know about its account.
#[derive(Clone, Debug)]
pub struct RegistrationConfig {
    /// The address of record (`sip:user@domain`): From and To.
    pub aor: Uri<'static>,
    /// The display name put in From.
    pub display_name: Option<String>,
    /// The Request-URI: `sip:<domain>`.
    pub registrar: Uri<'static>,
    /// The digest credentials.
    pub credentials: Credentials,
    /// The expiry to ask for, in seconds (`sip.register_interval`).
    pub interval: u32,
    /// `+sip.instance` for the Contact (RFC 5626), without the `<>`.
    pub instance_id: Option<String>,
    /// How long one REGISTER may take before the next route is tried.
    pub attempt_timeout: Duration,
    /// How long an unregistration may take.
    pub unregister_timeout: Duration,
}

/// A resolved route to a registrar, with the Contact to register through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteTarget {
    /// The route, as DNS gave it.
    pub route: Route,
    /// Where to send.
    pub destination: Destination,
    /// Our Contact URI for this route's transport.
    pub contact: Uri<'static>,
}

/// What the registration reports (one `SIPAccount*` notification each).
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The first REGISTER of a registration is about to go out.
    WillRegister,
    /// A refresh is about to go out.
    WillRefresh,
    /// A final answer from a registrar (not the challenges that were answered).
    GotAnswer {
        /// Status code.
        code: u16,
        /// Reason phrase.
        reason: String,
        /// The route it came through.
        registrar: Route,
    },
    /// Registered (also after every refresh).
    DidSucceed {
        /// Our Contact as the registrar returned it.
        contact_header: String,
        /// Every Contact the registrar returned.
        contact_header_list: Vec<String>,
        /// The granted expiry in seconds.
        expires: u32,
        /// The route used.
        registrar: Route,
    },
    /// The attempt failed; the next one follows after `retry_after`.
    DidFail {
        /// Why.
        error: String,
        /// Seconds until the next attempt.
        retry_after: f64,
    },
    /// The unregistration succeeded.
    DidEnd,
    /// The unregistration failed.
    DidNotEnd {
        /// Status code (408 when it timed out).
        code: u16,
        /// Reason phrase.
        reason: String,
    },
}

/// What the registration asks its driver to do.
#[derive(Debug)]
pub enum Output {
    /// Resolve the registrar's routes and call [`Registration::handle_routes`] with `lookup`.
    Lookup {
        /// Echo this in `handle_routes`.
        lookup: u64,
    },
    /// Send `request` to `destination` in a new client transaction and call
    /// [`Registration::handle_response`] with `attempt` and its final response.
    Send {
        /// Echo this in `handle_response`.
        attempt: u64,
        /// The REGISTER.
        request: Box<Message>,
        /// Where to.
        destination: Destination,
    },
    /// Report this.
    Event(Event),
}

#[derive(Debug)]
enum State {
    /// Nothing registered, nothing scheduled.
    Idle,
    /// Waiting for the routes.
    Resolving { lookup: u64 },
    /// A REGISTER is out on `routes[index]`.
    Registering { routes: Vec<RouteTarget>, index: usize, attempt: u64, deadline: Instant, retried: Retried },
    /// Registered through `target`; refresh at `refresh_at`.
    Registered { target: RouteTarget, refresh_at: Instant },
    /// The last attempt failed; try again at `retry_at`.
    Waiting { retry_at: Instant },
    /// The REGISTER with Expires 0 is out.
    Unregistering { target: RouteTarget, attempt: u64, deadline: Instant, retried: Retried },
}

/// What the current REGISTER already answered, so each is answered once.
#[derive(Clone, Copy, Debug, Default)]
struct Retried {
    auth: bool,
    interval: bool,
}

/// One account's registration. See the module documentation.
pub struct Registration {
    config: RegistrationConfig,
    state: State,
    /// The application wants to be registered.
    active: bool,
    /// A binding exists at the registrar (as far as we know).
    registered: bool,
    /// Register again once the current unregistration is done.
    register_after_unregister: bool,
    /// Unregister once the current attempt is done.
    unregister_after_attempt: bool,
    /// The registration has sent its first REGISTER (refreshes say WillRefresh).
    started: bool,
    call_id: String,
    from_tag: String,
    cseq: u32,
    digest: DigestClient,
    /// Expiry raised by a 423 answer.
    min_expires: Option<u32>,
    /// The back-off for "no more routes", seconds.
    route_wait: f64,
    next_id: u64,
    outputs: std::collections::VecDeque<Output>,
}

const MAX_ROUTE_WAIT: f64 = 30.0;

impl Registration {
    /// A new, inactive registration.
    pub fn new(config: RegistrationConfig) -> Registration {
        let digest = DigestClient::from_credentials(&config.credentials);
        Registration {
            config,
            state: State::Idle,
            active: false,
            registered: false,
            register_after_unregister: false,
            unregister_after_attempt: false,
            started: false,
            call_id: new_token(),
            from_tag: new_token(),
            cseq: 0,
            digest,
            min_expires: None,
            route_wait: 1.0,
            next_id: 0,
            outputs: Default::default(),
        }
    }

    /// True while the registrar holds our binding.
    pub fn is_registered(&self) -> bool {
        self.registered
    }

    /// True when the registration is inactive and has nothing left to do.
    pub fn is_finished(&self) -> bool {
        !self.active && matches!(self.state, State::Idle)
    }

    /// The configuration in use.
    pub fn config(&self) -> &RegistrationConfig {
        &self.config
    }

    /// Starts registering (no-op when already active).
    pub fn activate(&mut self, now: Instant) {
        if self.active {
            return;
        }
        self.active = true;
        self.unregister_after_attempt = false;
        match self.state {
            State::Idle | State::Waiting { .. } => self.start_attempt(now),
            State::Unregistering { .. } => self.register_after_unregister = true,
            _ => {}
        }
    }

    /// Stops registering and removes the binding, if there is one.
    pub fn deactivate(&mut self, now: Instant) {
        self.active = false;
        self.register_after_unregister = false;
        match &self.state {
            State::Registered { target, .. } => {
                let target = target.clone();
                self.start_unregister(now, target);
            }
            State::Registering { .. } => self.unregister_after_attempt = true,
            State::Resolving { .. } | State::Waiting { .. } => self.state = State::Idle,
            State::Idle | State::Unregistering { .. } => {}
        }
    }

    /// Applies a new configuration (password, interval, proxy...): an
    /// active registration unregisters and registers again with it.
    pub fn reconfigure(&mut self, now: Instant, config: RegistrationConfig) {
        self.digest.set_credentials(config.credentials.username.clone(), config.credentials.password.clone());
        self.config = config;
        self.min_expires = None;
        if !self.active {
            return;
        }
        match &self.state {
            State::Registered { target, .. } => {
                let target = target.clone();
                self.register_after_unregister = true;
                self.start_unregister(now, target);
            }
            State::Registering { .. } => {
                self.unregister_after_attempt = true;
                self.register_after_unregister = true;
            }
            State::Resolving { .. } => {
                // Look the routes up again, for the new settings.
                let lookup = self.next_id();
                self.state = State::Resolving { lookup };
                self.outputs.push_back(Output::Lookup { lookup });
            }
            State::Waiting { .. } | State::Idle => self.start_attempt(now),
            State::Unregistering { .. } => self.register_after_unregister = true,
        }
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Registration::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Idle | State::Resolving { .. } => None,
            State::Registering { deadline, .. } | State::Unregistering { deadline, .. } => Some(*deadline),
            State::Registered { refresh_at, .. } => Some(*refresh_at),
            State::Waiting { retry_at } => Some(*retry_at),
        }
    }

    /// Time passed: retry, refresh, or give up on a silent registrar.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(due) = self.poll_timeout() else { return };
        if now < due {
            return;
        }
        match &self.state {
            State::Waiting { .. } | State::Registered { .. } => self.start_attempt(now),
            State::Registering { .. } => {
                let State::Registering { routes, index, .. } = std::mem::replace(&mut self.state, State::Idle) else {
                    return;
                };
                let registrar = routes[index].route.clone();
                self.emit(Event::GotAnswer { code: 408, reason: "Request Timeout".into(), registrar });
                self.next_route(now, routes, index);
            }
            State::Unregistering { .. } => {
                self.finish_unregister(now, Err((408, "Request Timeout".into())));
            }
            State::Idle | State::Resolving { .. } => {}
        }
    }

    /// The routes to try, in order (or why there are none).
    pub fn handle_routes(&mut self, now: Instant, lookup: u64, routes: Result<Vec<RouteTarget>, String>) {
        if !matches!(self.state, State::Resolving { lookup: l } if l == lookup) {
            return;
        }
        match routes {
            Ok(routes) if !routes.is_empty() => self.send_register(now, routes, 0, Retried::default()),
            Ok(_) => self.fail(now, "No route to the registrar".into(), None),
            Err(e) => self.fail(now, format!("DNS lookup failed: {e}"), None),
        }
    }

    /// The final response to REGISTER `attempt` (timeouts and transport
    /// failures arrive as 408 and 503).
    pub fn handle_response(&mut self, now: Instant, attempt: u64, response: &Message) {
        let code = response.status().unwrap_or(500);
        if code < 200 {
            return;
        }
        match &self.state {
            State::Registering { attempt: a, .. } if *a == attempt => self.registering_answer(now, code, response),
            State::Unregistering { attempt: a, .. } if *a == attempt => self.unregistering_answer(now, code, response),
            _ => {}
        }
    }

    fn emit(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn interval(&self) -> u32 {
        self.min_expires.map_or(self.config.interval, |m| m.max(self.config.interval))
    }

    /// Starts a (re-)registration: a route lookup first.
    fn start_attempt(&mut self, now: Instant) {
        let _ = now;
        self.emit(if self.started { Event::WillRefresh } else { Event::WillRegister });
        self.started = true;
        let lookup = self.next_id();
        self.state = State::Resolving { lookup };
        self.outputs.push_back(Output::Lookup { lookup });
    }

    fn build_register(&mut self, target: &RouteTarget, expires: u32, authorization: Option<(&str, String)>) -> Message {
        self.cseq += 1;
        let mut from = NameAddr::new(self.config.aor.clone());
        if let Some(name) = self.config.display_name.as_deref().filter(|n| !n.is_empty()) {
            from = from.with_display_name(name);
        }
        let mut contact = NameAddr::new(target.contact.clone());
        if let Some(instance) = self.config.instance_id.as_deref().filter(|i| !i.is_empty()) {
            contact = contact.with_param("+sip.instance", Some(&format!("\"<{instance}>\"")));
        }
        if expires == 0 {
            contact = contact.with_param("expires", Some("0"));
        }
        let mut request = Message::request(Method::Register, self.config.registrar.clone())
            .header("Route", format!("<{};lr>", target.route.get_uri()))
            .header("From", from.with_tag(&self.from_tag))
            .header("To", NameAddr::new(self.config.aor.clone()))
            .header("Call-ID", &self.call_id)
            .header("CSeq", format!("{} REGISTER", self.cseq))
            .header("Contact", contact)
            .header("Expires", expires);
        if let Some((name, value)) = authorization {
            request.add_header(name, value);
        }
        request
    }

    fn send_register(&mut self, now: Instant, routes: Vec<RouteTarget>, index: usize, retried: Retried) {
        self.send_register_with(now, routes, index, retried, None);
    }

    fn send_register_with(
        &mut self,
        now: Instant,
        routes: Vec<RouteTarget>,
        index: usize,
        retried: Retried,
        authorization: Option<(&str, String)>,
    ) {
        let target = routes[index].clone();
        let request = self.build_register(&target, self.interval(), authorization);
        let attempt = self.next_id();
        let deadline = now + self.config.attempt_timeout;
        self.state = State::Registering { routes, index, attempt, deadline, retried };
        self.outputs.push_back(Output::Send {
            attempt,
            request: Box::new(request),
            destination: target.destination.clone(),
        });
    }

    fn next_route(&mut self, now: Instant, routes: Vec<RouteTarget>, index: usize) {
        self.digest.request_ended();
        if !self.active {
            // Deactivated meanwhile: nothing is registered, stop here.
            self.unregister_after_attempt = false;
            self.state = State::Idle;
            return;
        }
        if index + 1 < routes.len() {
            self.send_register(now, routes, index + 1, Retried::default());
        } else {
            self.fail(now, "No more routes to try".into(), None);
        }
    }

    fn registering_answer(&mut self, now: Instant, code: u16, response: &Message) {
        let State::Registering { routes, index, retried, .. } = std::mem::replace(&mut self.state, State::Idle) else {
            return;
        };
        let target = routes[index].clone();
        let reason = response.reason().unwrap_or_default().to_owned();
        if code == 401 || code == 407 {
            match self.answer_challenge(code, response, &target) {
                Ok(authorization) if !retried.auth => {
                    let retried = Retried { auth: true, ..retried };
                    self.send_register_with(now, routes, index, retried, Some(authorization));
                    return;
                }
                _ => {
                    self.emit(Event::GotAnswer { code, reason, registrar: target.route });
                    return self.fail(now, "Authentication failed".into(), Some(random_secs(60.0, 120.0)));
                }
            }
        }
        self.emit(Event::GotAnswer { code, reason: reason.clone(), registrar: target.route.clone() });
        if (200..300).contains(&code) {
            self.digest.request_ended();
            return self.succeeded(now, target, response);
        }
        self.digest.request_ended();
        if code == 423 {
            let min = response.header_value("Min-Expires").and_then(|v| v.trim().parse::<u32>().ok());
            if let Some(min) = min.filter(|m| *m > self.interval())
                && !retried.interval
            {
                self.min_expires = Some(min);
                let retried = Retried { interval: true, ..retried };
                self.state = State::Idle;
                return self.send_register(now, routes, index, retried);
            }
            return self.fail(now, "Interval too short".into(), Some(random_secs(60.0, 120.0)));
        }
        if code == 408 || (500..600).contains(&code) {
            return self.next_route(now, routes, index);
        }
        self.fail(now, format!("{code} {reason}"), Some(random_secs(60.0, 120.0)));
    }

    /// The Authorization header answering a 401/407, if the credentials may be tried.
    fn answer_challenge(
        &mut self,
        code: u16,
        response: &Message,
        target: &RouteTarget,
    ) -> Result<(&'static str, String), ()> {
        let header = if code == 401 { "WWW-Authenticate" } else { "Proxy-Authenticate" };
        let challenges = Challenge::parse_all(response.headers().values(header)).map_err(|_| ())?;
        let challenge = challenges.into_iter().next().ok_or(())?;
        let _ = target;
        let value =
            self.digest.respond("REGISTER", &self.config.registrar.to_string(), b"", &challenge).map_err(|_| ())?;
        Ok((if code == 401 { "Authorization" } else { "Proxy-Authorization" }, value))
    }

    fn succeeded(&mut self, now: Instant, target: RouteTarget, response: &Message) {
        let contacts: Vec<NameAddr<'_>> = response.contacts().collect();
        let ours = contacts.iter().find(|c| same_contact(c.uri(), &target.contact));
        let requested = self.interval();
        let expires = ours.and_then(|c| c.expires()).or_else(|| response.expires()).unwrap_or(requested);
        let contact_header = ours
            .map(|c| c.to_string())
            .unwrap_or_else(|| format!("{};expires={expires}", NameAddr::new(target.contact.clone())));
        let contact_header_list = contacts.iter().map(|c| c.to_string()).collect();
        self.registered = true;
        self.route_wait = 1.0;
        self.emit(Event::DidSucceed { contact_header, contact_header_list, expires, registrar: target.route.clone() });
        if self.unregister_after_attempt || !self.active {
            self.unregister_after_attempt = false;
            return self.start_unregister(now, target);
        }
        let refresh_at = now + refresh_delay(expires);
        self.state = State::Registered { target, refresh_at };
    }

    fn fail(&mut self, now: Instant, error: String, retry_after: Option<f64>) {
        let retry_after = retry_after.unwrap_or_else(|| {
            let wait = self.route_wait;
            self.route_wait = (self.route_wait * 2.0).min(MAX_ROUTE_WAIT);
            random_secs(wait, 2.0 * wait)
        });
        self.registered = false;
        self.started = false;
        self.call_id = new_token();
        self.emit(Event::DidFail { error, retry_after });
        if self.unregister_after_attempt {
            // Nothing is registered: deactivation is complete.
            self.unregister_after_attempt = false;
            if !self.register_after_unregister {
                self.state = State::Idle;
                return;
            }
            self.register_after_unregister = false;
        }
        self.state = if self.active {
            State::Waiting { retry_at: now + Duration::from_secs_f64(retry_after) }
        } else {
            State::Idle
        };
    }

    fn start_unregister(&mut self, now: Instant, target: RouteTarget) {
        self.send_unregister(now, target, Retried::default(), None);
    }

    fn send_unregister(
        &mut self,
        now: Instant,
        target: RouteTarget,
        retried: Retried,
        authorization: Option<(&str, String)>,
    ) {
        let request = self.build_register(&target, 0, authorization);
        let attempt = self.next_id();
        let deadline = now + self.config.unregister_timeout;
        let destination = target.destination.clone();
        self.state = State::Unregistering { target, attempt, deadline, retried };
        self.outputs.push_back(Output::Send { attempt, request: Box::new(request), destination });
    }

    fn unregistering_answer(&mut self, now: Instant, code: u16, response: &Message) {
        let State::Unregistering { target, retried, .. } = std::mem::replace(&mut self.state, State::Idle) else {
            return;
        };
        if (code == 401 || code == 407)
            && !retried.auth
            && let Ok(authorization) = self.answer_challenge(code, response, &target)
        {
            let retried = Retried { auth: true, ..retried };
            return self.send_unregister(now, target, retried, Some(authorization));
        }
        self.digest.request_ended();
        let result = if (200..300).contains(&code) {
            Ok(())
        } else {
            Err((code, response.reason().unwrap_or_default().to_owned()))
        };
        self.finish_unregister(now, result);
    }

    fn finish_unregister(&mut self, now: Instant, result: Result<(), (u16, String)>) {
        self.registered = false;
        self.started = false;
        self.call_id = new_token();
        self.emit(match result {
            Ok(()) => Event::DidEnd,
            Err((code, reason)) => Event::DidNotEnd { code, reason },
        });
        self.state = State::Idle;
        if self.active && std::mem::take(&mut self.register_after_unregister) {
            self.start_attempt(now);
        }
    }
}

/// When to refresh a registration granted for `expires` seconds: half-way
/// for short ones, a minute before the end otherwise, never under a second.
pub fn refresh_delay(expires: u32) -> Duration {
    let expires = u64::from(expires);
    Duration::from_secs((expires / 2).max(expires.saturating_sub(60)).max(1))
}

/// Whether two Contact URIs name the same binding (user, host, port and
/// transport; RFC 3261 §10.3 compares them as URIs).
fn same_contact(a: &Uri<'_>, b: &Uri<'_>) -> bool {
    let transport = |u: &Uri<'_>| u.transport().unwrap_or("udp").to_ascii_lowercase();
    a.user_raw() == b.user_raw()
        && a.host().eq_ignore_ascii_case(b.host())
        && a.port().unwrap_or(5060) == b.port().unwrap_or(5060)
        && transport(a) == transport(b)
}

fn random_secs(low: f64, high: f64) -> f64 {
    let secs = rand::rng().random_range(low..=high);
    (secs * 1000.0).round() / 1000.0
}

fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}
