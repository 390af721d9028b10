//! SIP dialogs (RFC 3261 §12) as plain state: no I/O, no clock, no
//! threads.
//!
//! A [`Dialog`] holds what RFC 3261 §12.1 lists as dialog state — the
//! [`DialogId`] (Call-ID, local and remote tag), the local and remote
//! sequence numbers, the local and remote URI, the remote target, the
//! route set and the secure flag — and applies the RFC's rules to it:
//!
//! - creation: [`Dialog::uac`] from a request we sent and the 101–299
//!   response with a To tag that answers it (§12.1.2), [`Dialog::uas`] from
//!   a request we received (§12.1.1);
//! - requests we send: [`Dialog::create_request`] and [`Dialog::create_ack`]
//!   (§12.2.1.1, §13.2.2.4), responses we send:
//!   [`Dialog::create_response`];
//! - messages we receive: [`Dialog::handle_request`] (§12.2.2) and
//!   [`Dialog::handle_response`] (§12.2.1.2, §13.2.2.4), both checking
//!   [`Dialog::matches`] first.
//!
//! [`Dialogs`] keeps the dialogs of a user agent by id and finds the one an
//! incoming message belongs to, answering 481 for a request whose To tag
//! names none.
//!
//! Usages (INVITE sessions, subscriptions) own their dialog and decide what
//! the methods mean; the transaction layer below sends what is built here
//! (and adds the top Via). Every type is `Send` and `Sync`; a dialog is
//! changed through `&mut` by its single owner.

use std::collections::HashMap;
use std::fmt;

use crate::sip::message::{CSeq, Message, Method, NameAddr, Rejection, Uri, reason_phrase};

/// Identifies a dialog at one user agent (RFC 3261 §12): the Call-ID, the
/// local tag and the remote tag. The peer sees the same dialog with the
/// tags swapped ([`DialogId::mirrored`]). Call-ID and tags compare
/// byte by byte. An empty remote tag stands for a peer that sent none
/// (RFC 2543).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// The Call-ID.
    pub call_id: String,
    /// Our tag: the From tag of the requests we send, the To tag of those
    /// we receive.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl DialogId {
    /// A dialog id from its three parts.
    pub fn new(call_id: impl Into<String>, local_tag: impl Into<String>, remote_tag: impl Into<String>) -> DialogId {
        DialogId { call_id: call_id.into(), local_tag: local_tag.into(), remote_tag: remote_tag.into() }
    }

    /// The id of the dialog a received request belongs to: its Call-ID,
    /// its To tag (ours) and its From tag (the peer's, empty when absent).
    /// `None` when the request has no To tag (it is outside any dialog) or
    /// no Call-ID.
    pub fn of_received_request(request: &Message) -> Option<DialogId> {
        Some(DialogId::new(request.call_id()?, request.to_tag()?, request.from_tag().unwrap_or("")))
    }

    /// The id of the dialog a received response belongs to (a response to
    /// a request we sent): its Call-ID, its From tag (ours) and its To tag
    /// (the peer's). `None` when one of them is missing.
    pub fn of_received_response(response: &Message) -> Option<DialogId> {
        Some(DialogId::new(response.call_id()?, response.from_tag()?, response.to_tag()?))
    }

    /// The same dialog as the peer names it: local and remote tags swapped.
    pub fn mirrored(&self) -> DialogId {
        DialogId::new(self.call_id.clone(), self.remote_tag.clone(), self.local_tag.clone())
    }
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{};local-tag={};remote-tag={}", self.call_id, self.local_tag, self.remote_tag)
    }
}

/// Where a dialog stands (RFC 3261 §12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialogState {
    /// Created by a provisional response; a 2xx confirms it, a final error
    /// response to the creating request ends it.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// Ended: a final error response to the creating request, a 481 or 408
    /// to a request in the dialog (§12.2.1.2), or [`Dialog::terminate`].
    /// It matches no message any more.
    Terminated,
}

/// Why a dialog cannot be created from, or updated by, a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    /// A request was expected.
    #[error("not a request")]
    NotARequest,
    /// A response was expected.
    #[error("not a response")]
    NotAResponse,
    /// A header the dialog needs is missing or malformed.
    #[error("missing or malformed {0} header")]
    MissingHeader(&'static str),
    /// The message cannot create a dialog (why is said).
    #[error("no dialog: {0}")]
    NotDialogCreating(&'static str),
    /// The response does not answer the request, or the message belongs to
    /// another dialog.
    #[error("the message belongs to another dialog or transaction")]
    Mismatch,
}

/// Whether requests of `method` are target refresh requests, which replace
/// the remote target with their Contact (RFC 3261 §12.2: re-INVITE; RFC
/// 3311 UPDATE; RFC 6665 SUBSCRIBE and NOTIFY).
pub fn is_target_refresh(method: &Method) -> bool {
    matches!(method, Method::Invite | Method::Update | Method::Subscribe | Method::Notify)
}

/// A `Rejection` for `code` with `detail`.
fn rejection(code: u16, detail: impl Into<String>) -> Rejection {
    Rejection { code, reason: reason_phrase(code), detail: detail.into(), headers: Vec::new() }
}

/// An address without header parameters, keeping its display name.
fn bare_address(address: &NameAddr<'_>) -> NameAddr<'static> {
    let plain = NameAddr::new(address.uri().clone().into_owned());
    match address.display_name() {
        Some(name) => plain.with_display_name(&name),
        None => plain,
    }
}

/// `uri` with what a Request-URI may not hold removed: the `method`
/// parameter and the headers (RFC 3261 §19.1.1, Table 1).
fn as_request_uri(uri: &Uri<'_>) -> Uri<'static> {
    let mut uri = uri.clone().into_owned();
    if uri.has_param("method") {
        uri = uri.without_param("method");
    }
    if uri.headers().is_some() {
        uri = uri.without_headers();
    }
    uri
}

/// The secure flag (RFC 3261 §12.1.1, §12.1.2): a `sips` Request-URI and
/// TLS on the hop the request took (its top Via; a request of ours that
/// has no Via yet counts as TLS, since a `sips` URI is only sent over TLS).
fn secure_request(request: &Message) -> bool {
    request.uri().is_some_and(Uri::is_sips) && request.top_via().is_none_or(|via| via.transport().is_secure())
}

/// The Record-Route URIs of `message` (every parameter kept), in order or
/// reversed: a UAS takes them in order (RFC 3261 §12.1.1), a UAC reversed
/// (§12.1.2).
fn record_route(message: &Message, reversed: bool) -> Vec<Uri<'static>> {
    let mut routes: Vec<Uri<'static>> = message.record_routes().map(|r| r.uri().clone().into_owned()).collect();
    if reversed {
        routes.reverse();
    }
    routes
}

/// The initial local sequence number when the dialog has none (RFC 3261
/// §8.1.1.5: below 2^31; kept small so it never wraps).
fn initial_cseq() -> u32 {
    rand::random_range(1..=0xFFFF)
}

/// One SIP dialog (RFC 3261 §12): its state and the rules for the requests
/// and responses sent and received in it.
///
/// Owned by the usage that created it (a session or a subscription) and
/// changed by it alone; it does no I/O and may move between threads.
/// Messages passed in are those of this dialog: check [`Dialog::matches`]
/// or find the dialog through [`Dialogs`].
#[derive(Clone, Debug)]
pub struct Dialog {
    id: DialogId,
    state: DialogState,
    local: NameAddr<'static>,
    remote: NameAddr<'static>,
    local_cseq: Option<u32>,
    remote_cseq: Option<u32>,
    remote_target: Uri<'static>,
    local_target: Option<NameAddr<'static>>,
    route_set: Vec<Uri<'static>>,
    secure: bool,
    /// The CSeq number of the last INVITE sent (ACK and CANCEL reuse it).
    invite_cseq: Option<u32>,
    /// The CSeq of the request that created the dialog.
    creating: (u32, Method),
    /// Whether we sent that request.
    uac: bool,
}

impl Dialog {
    /// The dialog a user agent client gets from `response` to `request`
    /// (RFC 3261 §12.1.2): `response` is a 101–199 response (early dialog)
    /// or a 2xx (confirmed dialog) that carries a To tag and answers
    /// `request` (same Call-ID, From tag and CSeq).
    ///
    /// The route set is the response's Record-Route list in reverse order;
    /// the remote target is its Contact URI (the request's Request-URI when
    /// the response has none, as some peers send 180 without Contact); the
    /// local CSeq is the request's; the remote CSeq is empty; local and
    /// remote URI are the request's From and To; our Contact is the
    /// request's.
    pub fn uac(request: &Message, response: &Message) -> Result<Dialog, DialogError> {
        let Some(method) = request.method() else {
            return Err(DialogError::NotARequest);
        };
        let Some(code) = response.status() else {
            return Err(DialogError::NotAResponse);
        };
        if !(101..300).contains(&code) {
            return Err(DialogError::NotDialogCreating("only a 101-299 response creates a dialog"));
        }
        let call_id = request.call_id().ok_or(DialogError::MissingHeader("Call-ID"))?;
        let local_tag = request.from_tag().ok_or(DialogError::MissingHeader("From"))?;
        let (seq, _) = request.cseq_parts().ok_or(DialogError::MissingHeader("CSeq"))?;
        let from = request.from().ok_or(DialogError::MissingHeader("From"))?;
        let to = request.to().ok_or(DialogError::MissingHeader("To"))?;
        let remote_tag = response.to_tag().ok_or(DialogError::NotDialogCreating("the response has no To tag"))?;
        let answers = response.call_id() == Some(call_id)
            && response.from_tag() == Some(local_tag)
            && response.cseq_parts() == Some((seq, method.as_str()));
        if !answers {
            return Err(DialogError::Mismatch);
        }
        let remote_target = match response.contact() {
            Some(contact) => contact.uri().clone().into_owned(),
            None => request.uri().map(|u| u.clone().into_owned()).ok_or(DialogError::NotARequest)?,
        };
        Ok(Dialog {
            id: DialogId::new(call_id, local_tag, remote_tag),
            state: if code < 200 { DialogState::Early } else { DialogState::Confirmed },
            local: bare_address(&from),
            remote: bare_address(&to),
            local_cseq: Some(seq),
            remote_cseq: None,
            remote_target,
            local_target: request.contact().map(NameAddr::into_owned),
            route_set: record_route(response, true),
            secure: secure_request(request),
            invite_cseq: (*method == Method::Invite).then_some(seq),
            creating: (seq, method.clone()),
            uac: true,
        })
    }

    /// The dialog a user agent server creates for `request` (RFC 3261
    /// §12.1.1), in the early state: answer with
    /// [`Dialog::create_response`], whose first 2xx confirms it.
    ///
    /// `local_tag` is the To tag our responses will carry (non-empty);
    /// `local_contact` is our Contact, put in those responses and in our
    /// target refresh requests. The route set is the request's
    /// Record-Route list in order; the remote target is its Contact URI;
    /// the remote CSeq is the request's; the local CSeq is empty (chosen at
    /// the first request we send); the remote URI is From, the local URI
    /// is To. A request that already has a To tag, or that lacks Call-ID,
    /// CSeq, From, To or Contact, creates no dialog (answer it with 400, or
    /// 481 for the tagged one).
    pub fn uas(request: &Message, local_tag: &str, local_contact: NameAddr<'_>) -> Result<Dialog, DialogError> {
        let Some(method) = request.method() else {
            return Err(DialogError::NotARequest);
        };
        if local_tag.is_empty() {
            return Err(DialogError::NotDialogCreating("the local tag is empty"));
        }
        if request.to_tag().is_some() {
            return Err(DialogError::NotDialogCreating("the request has a To tag: it is inside a dialog"));
        }
        let call_id = request.call_id().ok_or(DialogError::MissingHeader("Call-ID"))?;
        let (seq, cseq_method) = request.cseq_parts().ok_or(DialogError::MissingHeader("CSeq"))?;
        if cseq_method != method.as_str() {
            return Err(DialogError::MissingHeader("CSeq"));
        }
        let from = request.from().ok_or(DialogError::MissingHeader("From"))?;
        let to = request.to().ok_or(DialogError::MissingHeader("To"))?;
        let contact = request.contact().ok_or(DialogError::MissingHeader("Contact"))?;
        Ok(Dialog {
            id: DialogId::new(call_id, local_tag, request.from_tag().unwrap_or("")),
            state: DialogState::Early,
            local: bare_address(&to),
            remote: bare_address(&from),
            local_cseq: None,
            remote_cseq: Some(seq),
            remote_target: contact.uri().clone().into_owned(),
            local_target: Some(local_contact.into_owned()),
            route_set: record_route(request, false),
            secure: secure_request(request),
            invite_cseq: None,
            creating: (seq, method.clone()),
            uac: false,
        })
    }

    /// The dialog id.
    pub fn id(&self) -> &DialogId {
        &self.id
    }

    /// The state.
    pub fn state(&self) -> DialogState {
        self.state
    }

    /// Ends the dialog (the usage is over, or a request in it timed out):
    /// it matches nothing afterwards.
    pub fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }

    /// Our address (the local URI with its display name): the From of the
    /// requests we send.
    pub fn local_address(&self) -> &NameAddr<'static> {
        &self.local
    }

    /// The peer's address (the remote URI with its display name): the To
    /// of the requests we send.
    pub fn remote_address(&self) -> &NameAddr<'static> {
        &self.remote
    }

    /// The local URI.
    pub fn local_uri(&self) -> &Uri<'static> {
        self.local.uri()
    }

    /// The remote URI.
    pub fn remote_uri(&self) -> &Uri<'static> {
        self.remote.uri()
    }

    /// The sequence number of the last request we sent (`None` before the
    /// first one of a UAS dialog).
    pub fn local_cseq(&self) -> Option<u32> {
        self.local_cseq
    }

    /// The sequence number of the last request received (`None` before the
    /// first one of a UAC dialog).
    pub fn remote_cseq(&self) -> Option<u32> {
        self.remote_cseq
    }

    /// Where our requests go: the peer's Contact URI.
    pub fn remote_target(&self) -> &Uri<'static> {
        &self.remote_target
    }

    /// Our Contact, sent in target refresh requests and in the 101–299
    /// responses to them.
    pub fn local_target(&self) -> Option<&NameAddr<'static>> {
        self.local_target.as_ref()
    }

    /// Changes our Contact; the next target refresh tells the peer.
    pub fn set_local_target(&mut self, contact: NameAddr<'_>) {
        self.local_target = Some(contact.into_owned());
    }

    /// The route set, first hop first.
    pub fn route_set(&self) -> &[Uri<'static>] {
        &self.route_set
    }

    /// Whether the dialog was created over TLS with a `sips` Request-URI.
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// The CSeq number and method of the request that created the dialog.
    pub fn creating_cseq(&self) -> (u32, &Method) {
        (self.creating.0, &self.creating.1)
    }

    /// Whether we created the dialog as the user agent client (we sent the
    /// creating request) rather than as the server.
    pub fn is_uac(&self) -> bool {
        self.uac
    }

    /// Whether `message` carries the CSeq of the creating request (a
    /// request we received is the creating one only in a UAS dialog, a
    /// response only in a UAC dialog).
    fn is_creating(&self, message: &Message) -> bool {
        self.uac != message.is_request() && message.cseq_parts() == Some((self.creating.0, self.creating.1.as_str()))
    }

    /// Whether `message` belongs to this dialog, which must not be
    /// terminated: a request we receive when its Call-ID, To tag (ours)
    /// and From tag (the peer's) match; a response we receive when its
    /// Call-ID, From tag (ours) and To tag (the peer's) match.
    pub fn matches(&self, message: &Message) -> bool {
        if self.state == DialogState::Terminated || message.call_id() != Some(self.id.call_id.as_str()) {
            return false;
        }
        let (local, remote) = if message.is_request() {
            (message.to_tag(), message.from_tag())
        } else {
            (message.from_tag(), message.to_tag())
        };
        local == Some(self.id.local_tag.as_str()) && remote.unwrap_or("") == self.id.remote_tag
    }

    fn next_local_cseq(&mut self) -> u32 {
        let next = match self.local_cseq {
            Some(n) => n.wrapping_add(1),
            None => initial_cseq(),
        };
        self.local_cseq = Some(next);
        next
    }

    /// A request in this dialog (RFC 3261 §12.2.1.1), ready for a client
    /// transaction, which adds the top Via:
    ///
    /// - Request-URI and Route: with an empty route set, the remote target
    ///   and no Route; when the first route has `lr` (a loose router), the
    ///   remote target and one Route per route-set entry in order; when it
    ///   has not (a strict router), the first route as Request-URI, the
    ///   rest of the route set as Route values and the remote target as the
    ///   last Route value. The `method` parameter and the headers of a URI
    ///   are removed from the Request-URI.
    /// - From: our address with the local tag; To: the peer's with the
    ///   remote tag; the dialog's Call-ID; Max-Forwards 70.
    /// - CSeq: the local sequence number plus one (chosen at random below
    ///   2^16 for the first request of a UAS dialog), stored as the new
    ///   local sequence number. ACK and CANCEL reuse the number of the last
    ///   INVITE sent and change nothing (see [`Dialog::create_ack`]; a
    ///   CANCEL must also copy the top Via of the INVITE, RFC 3261 §9.1).
    /// - Contact: our Contact in target refresh requests
    ///   ([`is_target_refresh`]).
    pub fn create_request(&mut self, method: Method) -> Message {
        let seq = match method {
            Method::Ack | Method::Cancel => match self.invite_cseq.or(self.local_cseq) {
                Some(n) => n,
                None => self.next_local_cseq(),
            },
            _ => self.next_local_cseq(),
        };
        if method == Method::Invite {
            self.invite_cseq = Some(seq);
        }
        self.build_request(method, seq)
    }

    /// The ACK for a 2xx to the INVITE whose CSeq number is `invite_cseq`
    /// (RFC 3261 §13.2.2.4): built like any request of the dialog, with
    /// CSeq `invite_cseq ACK`, no Contact, and no change to the local
    /// sequence number. Call it after [`Dialog::handle_response`] has taken
    /// the 2xx, so that the ACK goes to the target the 2xx gave.
    pub fn create_ack(&self, invite_cseq: u32) -> Message {
        self.build_request(Method::Ack, invite_cseq)
    }

    fn build_request(&self, method: Method, seq: u32) -> Message {
        let (request_uri, routes): (Uri<'static>, Vec<&Uri<'static>>) = match self.route_set.first() {
            None => (as_request_uri(&self.remote_target), Vec::new()),
            Some(first) if first.lr() => (as_request_uri(&self.remote_target), self.route_set.iter().collect()),
            Some(first) => {
                let mut routes: Vec<_> = self.route_set[1..].iter().collect();
                routes.push(&self.remote_target);
                (as_request_uri(first), routes)
            }
        };
        let contact = is_target_refresh(&method).then_some(self.local_target.as_ref()).flatten();
        let mut request = Message::request(method.clone(), request_uri).header("Max-Forwards", 70);
        for route in routes {
            request.add_header("Route", NameAddr::new(route.clone()));
        }
        request.add_header("From", self.local.clone().with_tag(&self.id.local_tag));
        let to = if self.id.remote_tag.is_empty() {
            self.remote.clone()
        } else {
            self.remote.clone().with_tag(&self.id.remote_tag)
        };
        request.add_header("To", to);
        request.add_header("Call-ID", &self.id.call_id);
        request.add_header("CSeq", CSeq::new(seq, method));
        if let Some(contact) = contact {
            request.add_header("Contact", contact);
        }
        request
    }

    /// Our response to `request`, a request of this dialog or the one that
    /// created it: [`Message::response_to`] plus our To tag (except on a
    /// 100) and, on a 101–299 response to the creating request or to a
    /// target refresh request, our Contact.
    ///
    /// Answering the creating request moves an early dialog on: a 2xx
    /// confirms it, a 300–699 terminates it.
    pub fn create_response(&mut self, request: &Message, code: u16, reason: &str) -> Message {
        let mut response = Message::response_to(request, code, reason);
        if code > 100 {
            response = response.with_to_tag(&self.id.local_tag);
        }
        let creating = self.is_creating(request);
        let refresh = request.method().is_some_and(is_target_refresh);
        if (101..300).contains(&code)
            && (creating || refresh)
            && let Some(contact) = &self.local_target
        {
            response.add_header("Contact", contact);
        }
        if creating && self.state == DialogState::Early {
            if (200..300).contains(&code) {
                self.state = DialogState::Confirmed;
            } else if code >= 300 {
                self.state = DialogState::Terminated;
            }
        }
        response
    }

    /// Takes a request received in this dialog (RFC 3261 §12.2.2), after
    /// its server transaction has absorbed retransmissions. `Err` is the
    /// response to send instead of processing it (never answer an ACK):
    ///
    /// - 481 when the request does not belong to this dialog or the dialog
    ///   is terminated; 400 when it has no CSeq;
    /// - 500 when its CSeq number is lower than the remote sequence number
    ///   (out of order), or equal to it: every new request in a dialog
    ///   carries a higher number (§12.2.1.1), so an equal one is stale. ACK
    ///   and CANCEL reuse the number of their INVITE and skip this check.
    ///
    /// Otherwise the remote sequence number becomes the request's (the
    /// first request sets it; gaps are normal), and a target refresh
    /// request with a Contact replaces the remote target.
    pub fn handle_request(&mut self, request: &Message) -> Result<(), Rejection> {
        let Some(method) = request.method() else {
            return Err(rejection(400, "not a request"));
        };
        if !self.matches(request) {
            return Err(rejection(481, format!("no dialog {}", self.id)));
        }
        let Some((seq, _)) = request.cseq_parts() else {
            return Err(rejection(400, "missing or malformed CSeq"));
        };
        if matches!(method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        if let Some(remote) = self.remote_cseq
            && seq <= remote
        {
            return Err(rejection(500, format!("CSeq {seq} is out of order (the last request had {remote})")));
        }
        self.remote_cseq = Some(seq);
        if is_target_refresh(method)
            && let Some(contact) = request.contact()
        {
            self.remote_target = contact.uri().clone().into_owned();
        }
        Ok(())
    }

    /// Takes a response to a request we sent in this dialog (or to the one
    /// that created it):
    ///
    /// - to the creating request while early: a 101–199 with a Contact
    ///   updates the remote target; a 2xx confirms the dialog, recomputes
    ///   the route set from its Record-Route (reversed) and takes its
    ///   Contact as remote target (§13.2.2.4); a 300–699 terminates it;
    /// - a 2xx to a target refresh request replaces the remote target with
    ///   its Contact (§12.2.1.2);
    /// - a 481 or 408 terminates the dialog (§12.2.1.2).
    ///
    /// `Err` when `response` is not a response or belongs to another
    /// dialog (nothing changes then).
    pub fn handle_response(&mut self, response: &Message) -> Result<(), DialogError> {
        let Some(code) = response.status() else {
            return Err(DialogError::NotAResponse);
        };
        if !self.matches(response) {
            return Err(DialogError::Mismatch);
        }
        let (_, method) = response.cseq_parts().ok_or(DialogError::MissingHeader("CSeq"))?;
        let creating = self.is_creating(response);
        let contact = response.contact().map(|c| c.uri().clone().into_owned());
        match code {
            101..=199 if creating && self.state == DialogState::Early => {
                if let Some(target) = contact {
                    self.remote_target = target;
                }
            }
            200..=299 => {
                if creating && self.state == DialogState::Early {
                    self.state = DialogState::Confirmed;
                    self.route_set = record_route(response, true);
                }
                let refresh = creating || Method::parse(method).is_ok_and(|m| is_target_refresh(&m));
                if refresh && let Some(target) = contact {
                    self.remote_target = target;
                }
            }
            408 | 481 => self.state = DialogState::Terminated,
            300.. if creating && self.state == DialogState::Early => self.state = DialogState::Terminated,
            _ => {}
        }
        Ok(())
    }
}

/// Where an incoming request goes, as [`Dialogs::lookup_request`] finds it.
#[derive(Debug)]
pub enum RequestTarget<'a> {
    /// The request has no To tag: it is outside any dialog and may create
    /// one.
    OutOfDialog,
    /// The dialog it belongs to (pass the request to
    /// [`Dialog::handle_request`]).
    Dialog(&'a mut Dialog),
    /// Its To tag names no live dialog (RFC 3261 §12.2.2): send
    /// [`Rejection::response`] (481 Call/Transaction Does Not Exist, or 400
    /// without a Call-ID), except to an ACK, which is dropped.
    Reject(Rejection),
}

/// The dialogs of a user agent, by [`DialogId`]. Plain data owned by the
/// user agent core; finds the dialog of an incoming request or response.
#[derive(Clone, Debug, Default)]
pub struct Dialogs {
    map: HashMap<DialogId, Dialog>,
}

impl Dialogs {
    /// An empty set.
    pub fn new() -> Dialogs {
        Dialogs::default()
    }

    /// The number of dialogs (terminated ones included until removed).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there is no dialog.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Adds `dialog`; returns the one it replaces (same id), if any.
    pub fn insert(&mut self, dialog: Dialog) -> Option<Dialog> {
        self.map.insert(dialog.id.clone(), dialog)
    }

    /// The dialog with id `id`.
    pub fn get(&self, id: &DialogId) -> Option<&Dialog> {
        self.map.get(id)
    }

    /// The dialog with id `id`, to change it.
    pub fn get_mut(&mut self, id: &DialogId) -> Option<&mut Dialog> {
        self.map.get_mut(id)
    }

    /// Removes and returns the dialog with id `id`.
    pub fn remove(&mut self, id: &DialogId) -> Option<Dialog> {
        self.map.remove(id)
    }

    /// Removes every terminated dialog and returns their ids.
    pub fn remove_terminated(&mut self) -> Vec<DialogId> {
        let ids: Vec<DialogId> =
            self.map.values().filter(|d| d.state == DialogState::Terminated).map(|d| d.id.clone()).collect();
        for id in &ids {
            self.map.remove(id);
        }
        ids
    }

    /// Every dialog, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Dialog> {
        self.map.values()
    }

    /// The dialog an incoming request belongs to (RFC 3261 §12.2.2): none
    /// without a To tag; the live dialog its Call-ID, To tag and From tag
    /// name; otherwise a 481 rejection (or 400 when it has a To tag but no
    /// Call-ID).
    pub fn lookup_request(&mut self, request: &Message) -> RequestTarget<'_> {
        if request.to_tag().is_none() {
            return RequestTarget::OutOfDialog;
        }
        let Some(id) = DialogId::of_received_request(request) else {
            return RequestTarget::Reject(rejection(400, "missing or malformed Call-ID"));
        };
        match self.map.get_mut(&id) {
            Some(dialog) if dialog.state != DialogState::Terminated => RequestTarget::Dialog(dialog),
            _ => RequestTarget::Reject(rejection(481, format!("no dialog {id}"))),
        }
    }

    /// The live dialog an incoming response belongs to (a response to a
    /// request we sent in it), if any.
    pub fn lookup_response(&mut self, response: &Message) -> Option<&mut Dialog> {
        let id = DialogId::of_received_response(response)?;
        self.map.get_mut(&id).filter(|d| d.state != DialogState::Terminated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALL_ID: &str = "a84b4c76e66710@pc33.atlanta.example.com";
    const ALICE_CONTACT: &str = "<sip:alice@pc33.atlanta.example.com>";
    const BOB_CONTACT: &str = "<sip:bob@192.0.2.4>";

    /// The message as the peer reads it off the wire.
    fn wire(m: &Message) -> Message {
        Message::parse(&m.to_bytes()).unwrap_or_else(|e| panic!("{e}:\n{m}"))
    }

    fn uri(s: &str) -> Uri<'static> {
        s.parse().unwrap()
    }

    fn route_values(m: &Message) -> Vec<String> {
        m.routes().map(|r| r.uri().to_string()).collect()
    }

    /// Alice's INVITE to Bob (RFC 3665 style), as sent.
    fn invite() -> Message {
        Message::request(Method::Invite, uri("sip:bob@biloxi.example.com"))
            .header("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds")
            .header("Max-Forwards", 70)
            .header("To", "Bob <sip:bob@biloxi.example.com>")
            .header("From", "Alice <sip:alice@atlanta.example.com>;tag=1928301774")
            .header("Call-ID", CALL_ID)
            .header("CSeq", "314159 INVITE")
            .header("Contact", ALICE_CONTACT)
    }

    /// The INVITE as it reaches Bob through proxies that record-routed
    /// (each adds its entry on top).
    fn invite_received(record_route: &[&str]) -> Message {
        let mut m = invite();
        for rr in record_route {
            m.add_header("Record-Route", rr);
        }
        wire(&m)
    }

    /// Bob's response to `request` with his tag and Contact.
    fn answer(request: &Message, code: u16, contact: Option<&str>) -> Message {
        let mut r = Message::response_to(request, code, "").with_to_tag("a6c85cf");
        if let Some(c) = contact {
            r.add_header("Contact", c);
        }
        wire(&r)
    }

    fn uac_dialog(record_route: &[&str]) -> Dialog {
        let received = invite_received(record_route);
        Dialog::uac(&invite(), &answer(&received, 200, Some(BOB_CONTACT))).unwrap()
    }

    fn uas_dialog(record_route: &[&str]) -> Dialog {
        let received = invite_received(record_route);
        let mut d = Dialog::uas(&received, "a6c85cf", NameAddr::parse(BOB_CONTACT).unwrap()).unwrap();
        let ok = d.create_response(&received, 200, "OK");
        assert_eq!(d.state(), DialogState::Confirmed);
        wire(&ok);
        d
    }

    /// A request from Bob to Alice in the dialog, as Alice receives it.
    fn from_bob(method: Method, seq: u32, contact: Option<&str>) -> Message {
        let mut m = Message::request(method.clone(), uri("sip:alice@pc33.atlanta.example.com"))
            .header("Via", "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10")
            .header("Max-Forwards", 70)
            .header("From", "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf")
            .header("To", "Alice <sip:alice@atlanta.example.com>;tag=1928301774")
            .header("Call-ID", CALL_ID)
            .header("CSeq", CSeq::new(seq, method));
        if let Some(c) = contact {
            m.add_header("Contact", c);
        }
        wire(&m)
    }

    /// Alice's response to a request she sent (`request` as built by her
    /// dialog), as Bob would answer it.
    fn response_to_ours(request: &Message, code: u16, contact: Option<&str>) -> Message {
        let mut r = Message::response_to(&wire(request), code, "");
        if let Some(c) = contact {
            r.add_header("Contact", c);
        }
        wire(&r)
    }

    #[test]
    fn dialog_id_of_messages() {
        let bye = from_bob(Method::Bye, 1, None);
        let id = DialogId::of_received_request(&bye).unwrap();
        assert_eq!(id, DialogId::new(CALL_ID, "1928301774", "a6c85cf"));
        assert_eq!(id.mirrored(), DialogId::new(CALL_ID, "a6c85cf", "1928301774"));
        assert_eq!(DialogId::of_received_request(&invite()), None);
        let ok = answer(&invite_received(&[]), 200, None);
        assert_eq!(DialogId::of_received_response(&ok), Some(DialogId::new(CALL_ID, "1928301774", "a6c85cf")));
        assert_eq!(DialogId::of_received_response(&Message::response_to(&invite(), 100, "")), None);
        assert!(id.to_string().contains("local-tag=1928301774"));
    }

    #[test]
    fn uac_dialog_from_2xx() {
        let d = uac_dialog(&["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]);
        assert_eq!(d.state(), DialogState::Confirmed);
        assert_eq!(d.id(), &DialogId::new(CALL_ID, "1928301774", "a6c85cf"));
        // Record-Route reversed: the proxy next to Alice first.
        assert_eq!(d.route_set(), &[uri("sip:p1.example.com;lr"), uri("sip:p2.example.com;lr")]);
        assert_eq!(d.remote_target(), &uri("sip:bob@192.0.2.4"));
        assert_eq!(d.local_cseq(), Some(314159));
        assert_eq!(d.remote_cseq(), None);
        assert_eq!(d.local_uri(), &uri("sip:alice@atlanta.example.com"));
        assert_eq!(d.remote_uri(), &uri("sip:bob@biloxi.example.com"));
        assert_eq!(d.remote_address().display_name().as_deref(), Some("Bob"));
        assert_eq!(
            d.local_target().map(|c| c.uri().to_string()).as_deref(),
            Some("sip:alice@pc33.atlanta.example.com")
        );
        assert_eq!(d.creating_cseq(), (314159, &Method::Invite));
        assert!(d.is_uac());
        assert!(!d.secure());
    }

    #[test]
    fn uac_record_route_in_one_header_line() {
        let d = uac_dialog(&["<sip:p2.example.com;lr>, <sip:p1.example.com;lr>"]);
        assert_eq!(d.route_set(), &[uri("sip:p1.example.com;lr"), uri("sip:p2.example.com;lr")]);
    }

    #[test]
    fn uac_early_dialog_confirmed_by_2xx() {
        let received = invite_received(&["<sip:p1.example.com;lr>"]);
        let ringing = answer(&received, 180, Some("<sip:bob@192.0.2.9>"));
        let mut d = Dialog::uac(&invite(), &ringing).unwrap();
        assert_eq!(d.state(), DialogState::Early);
        assert_eq!(d.route_set(), &[uri("sip:p1.example.com;lr")]);
        assert_eq!(d.remote_target(), &uri("sip:bob@192.0.2.9"));

        // A later provisional response with another Contact moves the target.
        d.handle_response(&answer(&received, 183, Some("<sip:bob@192.0.2.10>"))).unwrap();
        assert_eq!(d.remote_target(), &uri("sip:bob@192.0.2.10"));
        assert_eq!(d.state(), DialogState::Early);
        // Our answer to a request of the peer's with the same CSeq as our
        // INVITE does not confirm the dialog: only a response to ours does.
        let peer_invite = from_bob(Method::Invite, 314159, None);
        d.create_response(&peer_invite, 200, "");
        assert_eq!(d.state(), DialogState::Early);

        // The 2xx confirms it and recomputes the route set from its own
        // Record-Route.
        let mut ok = Message::response_to(&received, 200, "").with_to_tag("a6c85cf");
        ok.headers_mut().remove("Record-Route");
        ok.add_header("Record-Route", "<sip:p2.example.com;lr>");
        ok.add_header("Record-Route", "<sip:p1.example.com;lr>");
        ok.add_header("Contact", BOB_CONTACT);
        d.handle_response(&wire(&ok)).unwrap();
        assert_eq!(d.state(), DialogState::Confirmed);
        assert_eq!(d.route_set(), &[uri("sip:p1.example.com;lr"), uri("sip:p2.example.com;lr")]);
        assert_eq!(d.remote_target(), &uri("sip:bob@192.0.2.4"));
    }

    #[test]
    fn uac_early_dialog_ended_by_error() {
        let received = invite_received(&[]);
        let mut d = Dialog::uac(&invite(), &answer(&received, 180, None)).unwrap();
        // No Contact in the 180: the Request-URI stands in.
        assert_eq!(d.remote_target(), &uri("sip:bob@biloxi.example.com"));
        d.handle_response(&answer(&received, 486, None)).unwrap();
        assert_eq!(d.state(), DialogState::Terminated);
        assert!(!d.matches(&answer(&received, 200, None)));
        assert_eq!(d.handle_response(&answer(&received, 200, None)), Err(DialogError::Mismatch));
    }

    #[test]
    fn uac_creates_no_dialog_from_wrong_responses() {
        let received = invite_received(&[]);
        let trying = wire(&Message::response_to(&received, 100, ""));
        assert!(matches!(Dialog::uac(&invite(), &trying), Err(DialogError::NotDialogCreating(_))));
        let busy = answer(&received, 486, None);
        assert!(matches!(Dialog::uac(&invite(), &busy), Err(DialogError::NotDialogCreating(_))));
        let untagged = wire(&Message::response_to(&received, 180, ""));
        assert!(matches!(Dialog::uac(&invite(), &untagged), Err(DialogError::NotDialogCreating(_))));
        let mut other_call = Message::response_to(&received, 200, "").with_to_tag("x");
        other_call.headers_mut().set("Call-ID", "other@host");
        assert_eq!(Dialog::uac(&invite(), &wire(&other_call)).unwrap_err(), DialogError::Mismatch);
        let ok = answer(&received, 200, None);
        assert_eq!(Dialog::uac(&ok, &ok).unwrap_err(), DialogError::NotARequest);
        assert_eq!(Dialog::uac(&invite(), &invite()).unwrap_err(), DialogError::NotAResponse);
        let mut no_from_tag = invite();
        no_from_tag.headers_mut().set("From", "<sip:alice@atlanta.example.com>");
        assert_eq!(Dialog::uac(&no_from_tag, &ok).unwrap_err(), DialogError::MissingHeader("From"));
    }

    #[test]
    fn uas_dialog_from_request() {
        let received = invite_received(&["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]);
        let mut d = Dialog::uas(&received, "a6c85cf", NameAddr::parse(BOB_CONTACT).unwrap()).unwrap();
        assert_eq!(d.state(), DialogState::Early);
        assert_eq!(d.id(), &DialogId::new(CALL_ID, "a6c85cf", "1928301774"));
        // Record-Route in order: the proxy next to Bob first.
        assert_eq!(d.route_set(), &[uri("sip:p2.example.com;lr"), uri("sip:p1.example.com;lr")]);
        assert_eq!(d.remote_target(), &uri("sip:alice@pc33.atlanta.example.com"));
        assert_eq!(d.remote_cseq(), Some(314159));
        assert_eq!(d.local_cseq(), None);
        assert_eq!(d.local_uri(), &uri("sip:bob@biloxi.example.com"));
        assert_eq!(d.remote_uri(), &uri("sip:alice@atlanta.example.com"));
        assert!(!d.is_uac());

        let trying = d.create_response(&received, 100, "");
        assert_eq!(trying.to_tag(), None);
        assert!(trying.contact().is_none());
        let ringing = wire(&d.create_response(&received, 180, ""));
        assert_eq!(ringing.to_tag(), Some("a6c85cf"));
        assert_eq!(ringing.contact().map(|c| c.uri().to_string()).as_deref(), Some("sip:bob@192.0.2.4"));
        assert_eq!(route_values(&ringing), Vec::<String>::new());
        assert_eq!(ringing.record_routes().count(), 2);
        assert_eq!(d.state(), DialogState::Early);
        let ok = wire(&d.create_response(&received, 200, ""));
        assert_eq!(ok.to_tag(), Some("a6c85cf"));
        assert_eq!(d.state(), DialogState::Confirmed);
        // Alice's UAC builds the mirror dialog from that 200.
        let alice = Dialog::uac(&invite(), &ok).unwrap();
        assert_eq!(alice.id(), &d.id().mirrored());
        assert_eq!(alice.route_set(), &[uri("sip:p1.example.com;lr"), uri("sip:p2.example.com;lr")]);

        let mut declined = Dialog::uas(&received, "t2", NameAddr::parse(BOB_CONTACT).unwrap()).unwrap();
        let busy = declined.create_response(&received, 486, "");
        assert!(busy.contact().is_none());
        assert_eq!(declined.state(), DialogState::Terminated);
    }

    #[test]
    fn uas_creates_no_dialog_from_wrong_requests() {
        let contact = || NameAddr::parse(BOB_CONTACT).unwrap();
        let mut no_contact = invite();
        no_contact.headers_mut().remove("Contact");
        assert_eq!(Dialog::uas(&wire(&no_contact), "t", contact()).unwrap_err(), DialogError::MissingHeader("Contact"));
        let tagged = from_bob(Method::Invite, 2, Some(BOB_CONTACT));
        assert!(matches!(Dialog::uas(&tagged, "t", contact()), Err(DialogError::NotDialogCreating(_))));
        assert!(matches!(Dialog::uas(&invite(), "", contact()), Err(DialogError::NotDialogCreating(_))));
        let ok = answer(&invite_received(&[]), 200, None);
        assert_eq!(Dialog::uas(&ok, "t", contact()).unwrap_err(), DialogError::NotARequest);
        let mut no_call_id = invite();
        no_call_id.headers_mut().remove("Call-ID");
        assert_eq!(Dialog::uas(&no_call_id, "t", contact()).unwrap_err(), DialogError::MissingHeader("Call-ID"));
        // A peer without a From tag (RFC 2543): the remote tag is empty.
        let mut untagged = invite();
        untagged.headers_mut().set("From", "<sip:alice@atlanta.example.com>");
        let d = Dialog::uas(&wire(&untagged), "t", contact()).unwrap();
        assert_eq!(d.id().remote_tag, "");
        let mut d = d;
        let bye = wire(&d.create_request(Method::Bye));
        assert_eq!(bye.to_tag(), None);
    }

    #[test]
    fn no_route_set() {
        let mut d = uac_dialog(&[]);
        let bye = wire(&d.create_request(Method::Bye));
        assert_eq!(bye.uri(), Some(&uri("sip:bob@192.0.2.4")));
        assert!(!bye.headers().contains("Route"));
    }

    #[test]
    fn loose_routing() {
        let mut d = uac_dialog(&["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr;foo=bar>"]);
        let bye = wire(&d.create_request(Method::Bye));
        assert_eq!(bye.method(), Some(&Method::Bye));
        assert_eq!(bye.uri(), Some(&uri("sip:bob@192.0.2.4")));
        assert_eq!(route_values(&bye), vec!["sip:p1.example.com;lr;foo=bar", "sip:p2.example.com;lr"]);
        assert_eq!(bye.from_tag(), Some("1928301774"));
        assert_eq!(bye.to_tag(), Some("a6c85cf"));
        assert_eq!(bye.from().unwrap().uri(), &uri("sip:alice@atlanta.example.com"));
        assert_eq!(bye.to().unwrap().uri(), &uri("sip:bob@biloxi.example.com"));
        assert_eq!(bye.to().unwrap().display_name().as_deref(), Some("Bob"));
        assert_eq!(bye.call_id(), Some(CALL_ID));
        assert_eq!(bye.cseq_parts(), Some((314160, "BYE")));
        assert_eq!(bye.max_forwards(), Some(70));
        assert!(bye.contact().is_none());
    }

    #[test]
    fn strict_routing() {
        // The proxy next to Alice is a strict router (no lr); its URI
        // carries a method parameter and headers a Request-URI may not.
        let mut d = uac_dialog(&["<sip:p2.example.com;lr>", "<sip:p1.example.com;method=INVITE;x=1?h=v>"]);
        let bye = wire(&d.create_request(Method::Bye));
        assert_eq!(bye.uri(), Some(&uri("sip:p1.example.com;x=1")));
        assert_eq!(route_values(&bye), vec!["sip:p2.example.com;lr", "sip:bob@192.0.2.4"]);
        // A single strict router: only the remote target in Route.
        let mut d = uac_dialog(&["<sip:p1.example.com>"]);
        let info = wire(&d.create_request(Method::Info));
        assert_eq!(info.uri(), Some(&uri("sip:p1.example.com")));
        assert_eq!(route_values(&info), vec!["sip:bob@192.0.2.4"]);
    }

    #[test]
    fn request_uri_drops_what_it_may_not_hold() {
        let received = invite_received(&[]);
        let ok = answer(&received, 200, Some("<sip:bob@192.0.2.4;transport=tcp;method=BYE?Subject=x>"));
        let mut d = Dialog::uac(&invite(), &ok).unwrap();
        let bye = wire(&d.create_request(Method::Bye));
        assert_eq!(bye.uri(), Some(&uri("sip:bob@192.0.2.4;transport=tcp")));
    }

    #[test]
    fn uas_routes_requests_back_in_record_route_order() {
        let mut d = uas_dialog(&["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]);
        let bye = wire(&d.create_request(Method::Bye));
        assert_eq!(bye.uri(), Some(&uri("sip:alice@pc33.atlanta.example.com")));
        assert_eq!(route_values(&bye), vec!["sip:p2.example.com;lr", "sip:p1.example.com;lr"]);
        assert_eq!(bye.from_tag(), Some("a6c85cf"));
        assert_eq!(bye.to_tag(), Some("1928301774"));
        assert_eq!(bye.from().unwrap().uri(), &uri("sip:bob@biloxi.example.com"));
    }

    #[test]
    fn local_cseq_rules() {
        let mut d = uac_dialog(&[]);
        let info = d.create_request(Method::Info);
        assert_eq!(info.cseq_parts(), Some((314160, "INFO")));
        let reinvite = wire(&d.create_request(Method::Invite));
        assert_eq!(reinvite.cseq_parts(), Some((314161, "INVITE")));
        // A re-INVITE carries our Contact (target refresh); INFO does not.
        assert_eq!(
            reinvite.contact().map(|c| c.uri().to_string()).as_deref(),
            Some("sip:alice@pc33.atlanta.example.com")
        );
        assert!(info.contact().is_none());
        let update = d.create_request(Method::Update);
        assert_eq!(update.cseq_parts(), Some((314162, "UPDATE")));
        // ACK and CANCEL reuse the last INVITE's number and change nothing.
        let ack = wire(&d.create_request(Method::Ack));
        assert_eq!(ack.cseq_parts(), Some((314161, "ACK")));
        assert!(ack.contact().is_none());
        let cancel = wire(&d.create_request(Method::Cancel));
        assert_eq!(cancel.cseq_parts(), Some((314161, "CANCEL")));
        assert_eq!(d.local_cseq(), Some(314162));
        assert_eq!(d.create_request(Method::Bye).cseq_parts(), Some((314163, "BYE")));

        // A UAS dialog picks its first number below 2^31.
        let mut d = uas_dialog(&[]);
        assert_eq!(d.local_cseq(), None);
        let (first, _) = d.create_request(Method::Info).cseq_parts().unwrap();
        assert!((1..1 << 31).contains(&first));
        assert_eq!(d.local_cseq(), Some(first));
        assert_eq!(d.create_request(Method::Info).cseq_parts(), Some((first + 1, "INFO")));
    }

    #[test]
    fn ack_for_2xx() {
        let mut d = uac_dialog(&["<sip:p1.example.com;lr>"]);
        let ack = wire(&d.create_ack(314159));
        assert_eq!(ack.method(), Some(&Method::Ack));
        assert_eq!(ack.cseq_parts(), Some((314159, "ACK")));
        assert_eq!(ack.uri(), Some(&uri("sip:bob@192.0.2.4")));
        assert_eq!(route_values(&ack), vec!["sip:p1.example.com;lr"]);
        assert!(ack.contact().is_none());
        assert_eq!(d.local_cseq(), Some(314159));
        // The creating INVITE's number is what `create_request(ACK)` uses too.
        assert_eq!(d.create_request(Method::Ack).cseq_parts(), Some((314159, "ACK")));
        assert_eq!(d.local_cseq(), Some(314159));
    }

    #[test]
    fn remote_cseq_rules() {
        // A UAC dialog has no remote number: the first request sets it.
        let mut d = uac_dialog(&[]);
        d.handle_request(&from_bob(Method::Info, 7, None)).unwrap();
        assert_eq!(d.remote_cseq(), Some(7));
        // Gaps are normal.
        d.handle_request(&from_bob(Method::Info, 10, None)).unwrap();
        assert_eq!(d.remote_cseq(), Some(10));
        // Lower: out of order, 500.
        let lower = d.handle_request(&from_bob(Method::Info, 9, None)).unwrap_err();
        assert_eq!((lower.code, lower.reason), (500, "Server Internal Error"));
        let response = wire(&lower.response(&from_bob(Method::Info, 9, None)));
        assert_eq!(response.status(), Some(500));
        assert_eq!(response.cseq_parts(), Some((9, "INFO")));
        // Equal: a stale request, 500 as well.
        assert_eq!(d.handle_request(&from_bob(Method::Bye, 10, None)).unwrap_err().code, 500);
        assert_eq!(d.remote_cseq(), Some(10));
        // ACK and CANCEL reuse their INVITE's number: never out of order.
        d.handle_request(&from_bob(Method::Invite, 11, None)).unwrap();
        d.handle_request(&from_bob(Method::Info, 12, None)).unwrap();
        d.handle_request(&from_bob(Method::Ack, 11, None)).unwrap();
        d.handle_request(&from_bob(Method::Cancel, 11, None)).unwrap();
        assert_eq!(d.remote_cseq(), Some(12));

        // A UAS dialog starts from the creating request's number.
        let mut d = uas_dialog(&[]);
        let from_alice = |method: Method, seq: u32| {
            wire(
                &Message::request(method.clone(), uri("sip:bob@192.0.2.4"))
                    .header("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKa")
                    .header("From", "<sip:alice@atlanta.example.com>;tag=1928301774")
                    .header("To", "<sip:bob@biloxi.example.com>;tag=a6c85cf")
                    .header("Call-ID", CALL_ID)
                    .header("CSeq", CSeq::new(seq, method)),
            )
        };
        d.handle_request(&from_alice(Method::Ack, 314159)).unwrap();
        assert_eq!(d.handle_request(&from_alice(Method::Bye, 314159)).unwrap_err().code, 500);
        assert_eq!(d.handle_request(&from_alice(Method::Bye, 3)).unwrap_err().code, 500);
        d.handle_request(&from_alice(Method::Bye, 314160)).unwrap();
    }

    #[test]
    fn requests_of_other_dialogs_get_481() {
        let mut d = uac_dialog(&[]);
        let mut other = from_bob(Method::Bye, 5, None);
        other.headers_mut().set("From", "<sip:bob@biloxi.example.com>;tag=other");
        assert!(!d.matches(&other));
        let r = d.handle_request(&other).unwrap_err();
        assert_eq!((r.code, r.reason), (481, "Call/Transaction Does Not Exist"));
        let mut other_call = from_bob(Method::Bye, 5, None);
        other_call.headers_mut().set("Call-ID", "x@y");
        assert_eq!(d.handle_request(&other_call).unwrap_err().code, 481);
        let mut no_cseq = from_bob(Method::Bye, 5, None);
        no_cseq.headers_mut().remove("CSeq");
        assert_eq!(d.handle_request(&no_cseq).unwrap_err().code, 400);
        assert_eq!(d.handle_request(&answer(&invite_received(&[]), 200, None)).unwrap_err().code, 400);
        // A terminated dialog takes nothing.
        d.terminate();
        assert_eq!(d.handle_request(&from_bob(Method::Bye, 6, None)).unwrap_err().code, 481);
    }

    #[test]
    fn matches_by_direction() {
        let d = uac_dialog(&[]);
        // A request from Bob: To tag is ours.
        assert!(d.matches(&from_bob(Method::Bye, 1, None)));
        // A response to our request: From tag is ours.
        let mut d2 = d.clone();
        let bye = d2.create_request(Method::Bye);
        assert!(d.matches(&response_to_ours(&bye, 200, None)));
        // Our own request, seen as if received, has the tags the other way.
        assert!(!d.matches(&wire(&bye)));
    }

    #[test]
    fn target_refresh_by_request() {
        let mut d = uac_dialog(&[]);
        // INFO is no target refresh: its Contact changes nothing.
        d.handle_request(&from_bob(Method::Info, 1, Some("<sip:bob@192.0.2.50>"))).unwrap();
        assert_eq!(d.remote_target(), &uri("sip:bob@192.0.2.4"));
        for (seq, method, host) in [
            (2, Method::Invite, "192.0.2.51"),
            (3, Method::Update, "192.0.2.52"),
            (4, Method::Subscribe, "192.0.2.53"),
            (5, Method::Notify, "192.0.2.54"),
        ] {
            let contact = format!("<sip:bob@{host}>");
            d.handle_request(&from_bob(method.clone(), seq, Some(&contact))).unwrap();
            assert_eq!(d.remote_target(), &uri(&format!("sip:bob@{host}")), "{method}");
        }
        // A refresh without Contact keeps the target.
        d.handle_request(&from_bob(Method::Invite, 6, None)).unwrap();
        assert_eq!(d.remote_target(), &uri("sip:bob@192.0.2.54"));
        // A refused (out of order) refresh changes nothing.
        assert!(d.handle_request(&from_bob(Method::Invite, 6, Some("<sip:bob@192.0.2.99>"))).is_err());
        assert_eq!(d.remote_target(), &uri("sip:bob@192.0.2.54"));
        let bye = wire(&d.create_request(Method::Bye));
        assert_eq!(bye.uri(), Some(&uri("sip:bob@192.0.2.54")));
    }

    #[test]
    fn target_refresh_by_response() {
        let mut d = uac_dialog(&[]);
        let reinvite = d.create_request(Method::Invite);
        let (seq, _) = reinvite.cseq_parts().unwrap();
        // A provisional response to a re-INVITE changes nothing.
        let mut ringing = Message::response_to(&wire(&reinvite), 180, "");
        ringing.add_header("Contact", "<sip:bob@192.0.2.60>");
        d.handle_response(&wire(&ringing)).unwrap();
        assert_eq!(d.remote_target(), &uri("sip:bob@192.0.2.4"));
        d.handle_response(&response_to_ours(&reinvite, 200, Some("<sip:bob@192.0.2.61>"))).unwrap();
        assert_eq!(d.remote_target(), &uri("sip:bob@192.0.2.61"));
        // The ACK goes to the new target.
        let ack = wire(&d.create_ack(seq));
        assert_eq!(ack.uri(), Some(&uri("sip:bob@192.0.2.61")));
        assert_eq!(ack.cseq_parts(), Some((seq, "ACK")));
        // A 2xx to INFO is no target refresh.
        let info = d.create_request(Method::Info);
        d.handle_response(&response_to_ours(&info, 200, Some("<sip:bob@192.0.2.62>"))).unwrap();
        assert_eq!(d.remote_target(), &uri("sip:bob@192.0.2.61"));
        // An error response to a re-INVITE keeps the dialog.
        let reinvite = d.create_request(Method::Invite);
        d.handle_response(&response_to_ours(&reinvite, 488, None)).unwrap();
        assert_eq!(d.state(), DialogState::Confirmed);
        // Responses of another dialog are refused and change nothing.
        let mut other = response_to_ours(&d.create_request(Method::Update), 200, Some("<sip:x@192.0.2.63>"));
        other.headers_mut().set("To", "<sip:bob@biloxi.example.com>;tag=other");
        assert_eq!(d.handle_response(&other), Err(DialogError::Mismatch));
        assert_eq!(d.handle_response(&reinvite), Err(DialogError::NotAResponse));
        assert_eq!(d.remote_target(), &uri("sip:bob@192.0.2.61"));
    }

    #[test]
    fn responses_481_and_408_end_the_dialog() {
        for code in [481, 408] {
            let mut d = uac_dialog(&[]);
            let info = d.create_request(Method::Info);
            d.handle_response(&response_to_ours(&info, code, None)).unwrap();
            assert_eq!(d.state(), DialogState::Terminated, "{code}");
        }
    }

    #[test]
    fn secure_flag() {
        let tls_invite = |via: &str| {
            let mut m = invite();
            *m.start_line_mut() = crate::sip::message::StartLine::Request {
                method: Method::Invite,
                uri: uri("sips:bob@biloxi.example.com"),
            };
            m.headers_mut().set("Via", via);
            wire(&m)
        };
        let contact = || NameAddr::parse("<sips:bob@192.0.2.4>").unwrap();
        let over_tls = tls_invite("SIP/2.0/TLS pc33.atlanta.example.com;branch=z9hG4bK1");
        assert!(Dialog::uas(&over_tls, "t", contact()).unwrap().secure());
        let over_udp = tls_invite("SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK1");
        assert!(!Dialog::uas(&over_udp, "t", contact()).unwrap().secure());
        assert!(!Dialog::uas(&invite_received(&[]), "t", contact()).unwrap().secure());
        let ok = answer(&over_tls, 200, Some("<sips:bob@192.0.2.4>"));
        assert!(Dialog::uac(&over_tls, &ok).unwrap().secure());
    }

    #[test]
    fn dialogs_find_requests_and_responses() {
        let mut dialogs = Dialogs::new();
        assert!(dialogs.is_empty());
        let d = uac_dialog(&[]);
        let id = d.id().clone();
        assert!(dialogs.insert(d).is_none());
        assert_eq!(dialogs.len(), 1);

        assert!(matches!(dialogs.lookup_request(&invite_received(&[])), RequestTarget::OutOfDialog));
        match dialogs.lookup_request(&from_bob(Method::Bye, 1, None)) {
            RequestTarget::Dialog(d) => {
                assert_eq!(d.id(), &id);
                d.handle_request(&from_bob(Method::Bye, 1, None)).unwrap();
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(dialogs.get(&id).and_then(Dialog::remote_cseq), Some(1));

        // A To tag that names no dialog: 481.
        let mut stray = from_bob(Method::Bye, 2, None);
        stray.headers_mut().set("To", "<sip:alice@atlanta.example.com>;tag=gone");
        let RequestTarget::Reject(r) = dialogs.lookup_request(&stray) else { panic!("found a dialog") };
        let response = wire(&r.response(&stray));
        assert_eq!(response.status(), Some(481));
        assert_eq!(response.reason(), Some("Call/Transaction Does Not Exist"));
        let mut no_call_id = from_bob(Method::Bye, 2, None);
        no_call_id.headers_mut().remove("Call-ID");
        assert!(matches!(dialogs.lookup_request(&no_call_id), RequestTarget::Reject(Rejection { code: 400, .. })));

        // Responses.
        let bye = dialogs.get_mut(&id).unwrap().create_request(Method::Bye);
        let ok = response_to_ours(&bye, 200, None);
        assert_eq!(dialogs.lookup_response(&ok).map(|d| d.id().clone()), Some(id.clone()));
        let mut stray_ok = ok.clone();
        stray_ok.headers_mut().set("From", "<sip:alice@atlanta.example.com>;tag=gone");
        assert!(dialogs.lookup_response(&stray_ok).is_none());

        // A terminated dialog is not found and is removed on request.
        dialogs.get_mut(&id).unwrap().terminate();
        assert!(matches!(dialogs.lookup_request(&from_bob(Method::Bye, 3, None)), RequestTarget::Reject(_)));
        assert!(dialogs.lookup_response(&ok).is_none());
        assert_eq!(dialogs.iter().count(), 1);
        assert_eq!(dialogs.remove_terminated(), vec![id.clone()]);
        assert!(dialogs.is_empty());
        assert!(dialogs.remove(&id).is_none());
    }

    /// Alice (UAC) and Bob (UAS) build their dialogs from the same INVITE /
    /// 200 exchange through two record-routing proxies; each accepts what
    /// the other sends.
    #[test]
    fn uac_and_uas_round_trip() {
        // Alice sends the INVITE; the proxies add Record-Route on the way.
        let sent = invite();
        let at_bob = invite_received(&["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]);
        let mut bob = Dialog::uas(&at_bob, "a6c85cf", NameAddr::parse(BOB_CONTACT).unwrap()).unwrap();
        let ringing = wire(&bob.create_response(&at_bob, 180, ""));
        let mut alice = Dialog::uac(&sent, &ringing).unwrap();
        assert_eq!(alice.state(), DialogState::Early);
        let ok = wire(&bob.create_response(&at_bob, 200, ""));
        alice.handle_response(&ok).unwrap();
        assert_eq!((alice.state(), bob.state()), (DialogState::Confirmed, DialogState::Confirmed));
        assert_eq!(alice.id(), &bob.id().mirrored());
        assert_eq!(alice.local_uri(), bob.remote_uri());
        assert_eq!(alice.remote_uri(), bob.local_uri());
        let reversed: Vec<_> = bob.route_set().iter().rev().cloned().collect();
        assert_eq!(alice.route_set(), reversed.as_slice());
        assert!(alice.remote_target().equivalent(bob.local_target().unwrap().uri()));
        assert!(bob.remote_target().equivalent(alice.local_target().unwrap().uri()));

        // ACK, then requests both ways; each side accepts the other's.
        let ack = wire(&alice.create_ack(314159));
        bob.handle_request(&ack).unwrap();
        assert_eq!(route_values(&ack), vec!["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
        assert!(ack.uri().unwrap().equivalent(bob.local_target().unwrap().uri()));

        let info = wire(&alice.create_request(Method::Info));
        assert!(bob.matches(&info));
        bob.handle_request(&info).unwrap();
        assert_eq!(bob.remote_cseq(), alice.local_cseq());
        let info_ok = wire(&bob.create_response(&info, 200, ""));
        assert!(info_ok.contact().is_none());
        alice.handle_response(&info_ok).unwrap();

        // Bob re-INVITEs from a new address: Alice's target follows.
        bob.set_local_target(NameAddr::parse("<sip:bob@192.0.2.77>").unwrap());
        let reinvite = wire(&bob.create_request(Method::Invite));
        assert_eq!(route_values(&reinvite), vec!["sip:p2.example.com;lr", "sip:p1.example.com;lr"]);
        assert!(reinvite.uri().unwrap().equivalent(alice.local_target().unwrap().uri()));
        alice.handle_request(&reinvite).unwrap();
        assert_eq!(alice.remote_target(), &uri("sip:bob@192.0.2.77"));
        let reinvite_ok = wire(&alice.create_response(&reinvite, 200, ""));
        assert_eq!(reinvite_ok.to_tag(), Some("1928301774"));
        assert!(reinvite_ok.contact().is_some());
        bob.handle_response(&reinvite_ok).unwrap();
        let (reinvite_seq, _) = reinvite.cseq_parts().unwrap();
        alice.handle_request(&wire(&bob.create_ack(reinvite_seq))).unwrap();

        // Bob hangs up.
        let bye = wire(&bob.create_request(Method::Bye));
        assert_eq!(bye.uri(), Some(&uri("sip:alice@pc33.atlanta.example.com")));
        assert_eq!(bye.cseq_parts().map(|(n, _)| n), Some(reinvite_seq + 1));
        alice.handle_request(&bye).unwrap();
        bob.handle_response(&wire(&alice.create_response(&bye, 200, ""))).unwrap();
        // A replayed BYE is out of order.
        assert_eq!(alice.handle_request(&bye).unwrap_err().code, 500);
    }
}
