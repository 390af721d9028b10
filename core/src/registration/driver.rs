//! The tokio driver of one account's [`Registration`]: it resolves routes,
//! sends the REGISTER requests through the [`Engine`], runs the timer and
//! posts the machine's events as `SIPAccount*` notifications.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::machine::{Event, Output, Registration, RegistrationConfig, RouteTarget};
use crate::account::Account;
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::sip::engine::{Engine, ResponseEvent};
use crate::sip::message::{Message, Uri};

/// How long one REGISTER may take before the next route is tried.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an unregistration may take.
const UNREGISTER_TIMEOUT: Duration = Duration::from_secs(2);

enum Command {
    Activate,
    Reconfigure,
    /// Deactivate, and report on the sender when the unregistration is over.
    Stop(std::sync::mpsc::Sender<()>),
}

enum Internal {
    Routes(u64, Result<Vec<RouteTarget>, String>),
    Response(u64, Message),
}

/// The running registration of an account.
pub(crate) struct Registrar {
    commands: mpsc::UnboundedSender<Command>,
    registered: Arc<AtomicBool>,
}

impl Registrar {
    /// Starts the driver on `runtime`; it registers once activated.
    pub(crate) fn spawn(runtime: &tokio::runtime::Handle, account: Arc<Account>, engine: Engine) -> Registrar {
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let registered = Arc::new(AtomicBool::new(false));
        let flag = registered.clone();
        runtime.spawn(run(account, engine, commands_rx, flag));
        Registrar { commands, registered }
    }

    /// True while the registrar holds our binding.
    pub(crate) fn registered(&self) -> bool {
        self.registered.load(Ordering::Acquire)
    }

    /// Registers (and keeps the registration refreshed).
    pub(crate) fn activate(&self) {
        let _ = self.commands.send(Command::Activate);
    }

    /// Re-reads the account's settings and registers again with them.
    pub(crate) fn reconfigure(&self) {
        let _ = self.commands.send(Command::Reconfigure);
    }

    /// Unregisters and ends the driver. The receiver gets a message when
    /// that is done (or is dropped when the driver is gone already).
    pub(crate) fn stop(&self) -> std::sync::mpsc::Receiver<()> {
        let (tx, rx) = std::sync::mpsc::channel();
        let _ = self.commands.send(Command::Stop(tx));
        rx
    }
}

/// The registration settings of `account` as they are saved now.
fn config_of(account: &Account) -> RegistrationConfig {
    let settings = account.settings();
    let text = |path: &str| settings.get(path).ok().and_then(|v| v.as_str().map(str::to_owned));
    let interval = settings.get("sip.register_interval").ok().and_then(|v| v.as_int()).unwrap_or(600);
    let instance_id = crate::settings::SIPSimpleSettings::instance()
        .settings()
        .get("instance_id")
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned));
    let aor = Uri::parse(&account.uri()).map(Uri::into_owned).unwrap_or_else(|_| Uri::sip(&account.id().domain));
    RegistrationConfig {
        registrar: Uri::sip(&account.id().domain),
        aor,
        display_name: text("display_name"),
        credentials: account.credentials(),
        interval: u32::try_from(interval).unwrap_or(600),
        instance_id,
        attempt_timeout: ATTEMPT_TIMEOUT,
        unregister_timeout: UNREGISTER_TIMEOUT,
    }
}

async fn run(
    account: Arc<Account>,
    engine: Engine,
    mut commands: mpsc::UnboundedReceiver<Command>,
    registered: Arc<AtomicBool>,
) {
    let mut machine = Registration::new(config_of(&account));
    let (internal_tx, mut internal) = mpsc::unbounded_channel();
    let mut stop_waiters: Vec<std::sync::mpsc::Sender<()>> = Vec::new();
    let mut stopping = false;
    let center = NotificationCenter::default_center();
    loop {
        while let Some(output) = machine.poll_output() {
            match output {
                Output::Lookup { lookup } => {
                    let (account, engine, tx) = (account.clone(), engine.clone(), internal_tx.clone());
                    tokio::spawn(async move {
                        let routes = resolve(&engine, &account).await;
                        let _ = tx.send(Internal::Routes(lookup, routes));
                    });
                }
                Output::Send { attempt, request, destination } => match engine.send_request(*request, destination) {
                    Ok(mut events) => {
                        let tx = internal_tx.clone();
                        tokio::spawn(async move {
                            while let Some(event) = events.recv().await {
                                if let ResponseEvent::Final(m) = event {
                                    let _ = tx.send(Internal::Response(attempt, m));
                                    break;
                                }
                            }
                        });
                    }
                    Err(_) => {
                        let _ = internal_tx
                            .send(Internal::Response(attempt, Message::response(503, "Service Unavailable")));
                    }
                },
                Output::Event(event) => {
                    registered.store(machine.is_registered(), Ordering::Release);
                    post(&center, &account, event);
                }
            }
        }
        registered.store(machine.is_registered(), Ordering::Release);
        if stopping && machine.is_finished() {
            break;
        }
        let deadline = machine.poll_timeout();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Activate) => machine.activate(Instant::now()),
                Some(Command::Reconfigure) => machine.reconfigure(Instant::now(), config_of(&account)),
                Some(Command::Stop(done)) => {
                    stop_waiters.push(done);
                    stopping = true;
                    machine.deactivate(Instant::now());
                }
                None => {
                    stopping = true;
                    machine.deactivate(Instant::now());
                }
            },
            Some(message) = internal.recv() => match message {
                Internal::Routes(lookup, routes) => machine.handle_routes(Instant::now(), lookup, routes),
                Internal::Response(attempt, response) => machine.handle_response(Instant::now(), attempt, &response),
            },
            () = sleep => machine.handle_timeout(Instant::now()),
        }
    }
    registered.store(false, Ordering::Release);
    for done in stop_waiters {
        let _ = done.send(());
    }
}

/// The registrar's routes: the outbound proxy, or DNS on the account's domain.
async fn resolve(engine: &Engine, account: &Account) -> Result<Vec<RouteTarget>, String> {
    let domain = Uri::sip(&account.id().domain);
    let routes = crate::paging::routes(engine, account, &domain).await?;
    Ok(routes
        .into_iter()
        .filter_map(|(route, destination)| {
            let contact = account.contact().uri_for(engine, &destination).ok()?;
            Some(RouteTarget { route, destination, contact })
        })
        .collect())
}

fn post(center: &NotificationCenter, account: &Account, event: Event) {
    let sender = account.handle();
    match event {
        Event::WillRegister => center.post(sender, n::SIPAccountWillRegister {}),
        Event::WillRefresh => center.post(sender, n::SIPAccountRegistrationWillRefresh {}),
        Event::GotAnswer { code, reason, registrar } => center.post(
            sender,
            n::SIPAccountRegistrationGotAnswer { code: code.into(), reason, registrar: registrar.to_value() },
        ),
        Event::DidSucceed { contact_header, contact_header_list, expires, registrar } => center.post(
            sender,
            n::SIPAccountRegistrationDidSucceed {
                contact_header,
                contact_header_list,
                expires: expires.into(),
                registrar: registrar.to_value(),
            },
        ),
        Event::DidFail { error, retry_after } => {
            center.post(sender, n::SIPAccountRegistrationDidFail { error, retry_after })
        }
        Event::DidEnd => center.post(sender, n::SIPAccountRegistrationDidEnd {}),
        Event::DidNotEnd { code, reason } => {
            center.post(sender, n::SIPAccountRegistrationDidNotEnd { code: code.into(), reason })
        }
    }
}
