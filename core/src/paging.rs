//! Paging-mode instant messages (SIP MESSAGE, RFC 3428), as the original's
//! `sip-message` tool sends them: from an account to a URI, with a content
//! type; the outcome is posted as `SIPMessageDidSucceed` or
//! `SIPMessageDidFail` (`code`, `reason`), sender = the [`PagingMessage`].
//! Incoming MESSAGE requests are posted by the engine as
//! `SIPEngineGotMessage`.
//!
//! The request goes to the account's outbound proxy when one is set,
//! otherwise to the routes DNS gives for the target's domain (RFC 3263),
//! trying the next route on a timeout or a transport failure. A 401/407 is
//! answered once with the account's credentials.

use std::sync::Arc;

use crate::account::Account;
use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::lookup::{DNSLookup, LookupOptions, Route, Transport};
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::sip::auth::{Challenge, DigestClient};
use crate::sip::engine::{Destination, Engine, ResponseEvent};
use crate::sip::message::{Message, Method, NameAddr, Uri};
use crate::sip::transport::TransportKind;

/// One MESSAGE request being sent (`sipsimple.core.Message`).
pub struct PagingMessage {
    handle: std::sync::OnceLock<Handle>,
}

impl PagingMessage {
    /// The message's handle (the sender of its notifications).
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or_default()
    }

    /// Sends `body` of `content_type` from `account` to `to` (a SIP URI or
    /// `user@domain`). Returns at once; the outcome is posted. Errors only
    /// for bad arguments or when the engine is not running.
    pub fn send(account: &Arc<Account>, to: &str, content_type: &str, body: Vec<u8>) -> Result<Arc<PagingMessage>> {
        let engine = Engine::current().ok_or_else(|| Error::InvalidState("the SIP engine is not running".into()))?;
        let target = if to.contains(':') { to.to_owned() } else { format!("sip:{to}") };
        let uri = Uri::parse(&target)
            .map_err(|e| Error::InvalidArgument(format!("invalid target URI {to:?}: {e}")))?
            .into_owned();
        if content_type.split('/').count() != 2 || content_type.contains(['\r', '\n']) {
            return Err(Error::InvalidArgument(format!("invalid content type {content_type:?}")));
        }
        let runtime = crate::application::SIPApplication::instance()
            .runtime()
            .ok_or_else(|| Error::InvalidState("the application is not running".into()))?;
        let message = Arc::new(PagingMessage { handle: std::sync::OnceLock::new() });
        let h = handle::register(ObjectKind::Message, message.clone(), Some(format!("MESSAGE to {target}")));
        let _ = message.handle.set(h);
        let account = account.clone();
        let content_type = content_type.to_owned();
        runtime.spawn(async move {
            let (code, reason) = deliver(&engine, &account, uri, &content_type, body).await;
            let center = NotificationCenter::default_center();
            if (200..300).contains(&code) {
                center.post(h, n::SIPMessageDidSucceed { code: code.into(), reason });
            } else {
                center.post(h, n::SIPMessageDidFail { code: code.into(), reason });
            }
        });
        Ok(message)
    }
}

/// The routes for a request from `account` to `target`: the outbound proxy,
/// or DNS on the target's domain, each with where to send.
pub(crate) async fn routes(
    engine: &Engine,
    account: &Account,
    target: &Uri<'static>,
) -> std::result::Result<Vec<(Route, Destination)>, String> {
    let settings = account.settings();
    let supported: Vec<&str> = engine.local_addresses().iter().map(|(k, _)| k.name()).collect();
    let proxy = settings.get("sip.outbound_proxy").ok().and_then(|v| v.as_str().map(str::to_owned));
    let lookup_uri = match proxy {
        Some(p) => format!("sip:{p}"),
        None => format!("sip:{}", target.host_port()),
    };
    let tls_name = settings.get("sip.tls_name").ok().and_then(|v| v.as_str().map(str::to_owned));
    let lookup = DNSLookup::new();
    let result = lookup.lookup_sip_proxy(&lookup_uri, &supported, tls_name.as_deref(), LookupOptions::default()).await;
    let _ = lookup.release();
    let routes: Vec<Route> = result.map_err(|e| e.to_string())?;
    Ok(routes.into_iter().filter_map(|r| destination(&r).map(|d| (r, d))).collect())
}

fn destination(route: &Route) -> Option<Destination> {
    let ip = route.address.parse().ok()?;
    let transport = match route.transport {
        Transport::Udp => TransportKind::Udp,
        Transport::Tcp => TransportKind::Tcp,
        Transport::Tls => TransportKind::Tls,
    };
    let port = route.port.unwrap_or(transport.default_port());
    Some(Destination { transport, address: std::net::SocketAddr::new(ip, port), tls_name: route.tls_name.clone() })
}

async fn deliver(
    engine: &Engine,
    account: &Account,
    target: Uri<'static>,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String) {
    let destinations = match routes(engine, account, &target).await {
        Ok(d) if !d.is_empty() => d.into_iter().map(|(_, d)| d).collect::<Vec<_>>(),
        Ok(_) => return (0, "no route to the destination".into()),
        Err(e) => return (0, format!("DNS lookup failed: {e}")),
    };
    let call_id = format!("{:032x}", rand::random::<u128>());
    let from_tag = format!("{:016x}", rand::random::<u64>());
    let mut digest = DigestClient::from_credentials(&account.credentials());
    let mut last = (408, "Request Timeout".to_owned());
    for destination in destinations {
        let mut cseq = 1u32;
        let mut authorization: Option<(&'static str, String)> = None;
        loop {
            let from =
                NameAddr::new(Uri::parse(&account.uri()).map(|u| u.into_owned()).unwrap_or_else(|_| target.clone()));
            let mut request = Message::request(Method::Message, target.clone())
                .header("From", format!("{from};tag={from_tag}"))
                .header("To", NameAddr::new(target.clone()))
                .header("Call-ID", &call_id)
                .header("CSeq", format!("{cseq} MESSAGE"));
            if let Some((name, value)) = &authorization {
                request.add_header(name, value);
            }
            let request = request.with_body(content_type, body.clone());
            let mut events = match engine.send_request(request, destination.clone()) {
                Ok(rx) => rx,
                Err(e) => return (0, e.to_string()),
            };
            let response = loop {
                match events.recv().await {
                    Some(ResponseEvent::Final(m)) => break Some(m),
                    Some(ResponseEvent::Provisional(_)) => continue,
                    None => break None,
                }
            };
            let Some(response) = response else { return (0, "the SIP engine stopped".into()) };
            let code = response.status().unwrap_or(500);
            let reason = response.reason().unwrap_or_default().to_owned();
            if (code == 401 || code == 407) && authorization.is_none() {
                let header = if code == 401 { "WWW-Authenticate" } else { "Proxy-Authenticate" };
                let values: Vec<&str> = response.headers().values(header).collect();
                let challenge = Challenge::parse_all(values).ok().and_then(|c| c.into_iter().next());
                if let Some(challenge) = challenge {
                    match digest.respond("MESSAGE", &target.to_string(), &body, &challenge) {
                        Ok(value) => {
                            let name = if code == 401 { "Authorization" } else { "Proxy-Authorization" };
                            authorization = Some((name, value));
                            cseq += 1;
                            continue;
                        }
                        Err(e) => return (code, format!("{reason} ({e})")),
                    }
                }
            }
            digest.request_ended();
            if code == 408 || code == 503 && response.header_value("Retry-After").is_none() {
                last = (code, reason);
                break;
            }
            return (code, reason);
        }
    }
    last
}
