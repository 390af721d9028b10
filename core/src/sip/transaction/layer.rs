//! The transaction layer: many transactions, message matching (RFC 3261
//! §17.1.3, §17.2.3, §9.2), one earliest timeout.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::time::Instant;

use super::client_invite::ClientInvite;
use super::client_non_invite::ClientNonInvite;
use super::server_invite::ServerInvite;
use super::server_non_invite::ServerNonInvite;
use super::timer::TimerConfig;
use super::types::{State, TransactionError, Transmit};
use super::{Event, MAGIC_COOKIE, TransactionMessage};

/// Identifies a transaction inside one [`TransactionLayer`]. Ids are never
/// reused by a layer; a terminated transaction's id is unknown afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(u64);

impl TransactionId {
    /// The number behind the id (for logs and traces).
    pub fn raw(self) -> u64 {
        self.0
    }

    /// An id from its number, for tests of components above the layer.
    #[cfg(test)]
    pub(crate) fn from_raw(raw: u64) -> TransactionId {
        TransactionId(raw)
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which of the four machines a transaction runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransactionKind {
    /// [`ClientInvite`].
    ClientInvite,
    /// [`ClientNonInvite`].
    ClientNonInvite,
    /// [`ServerInvite`].
    ServerInvite,
    /// [`ServerNonInvite`].
    ServerNonInvite,
}

/// Bytes the layer wants sent: a request (client transactions, to the
/// remote given to [`TransactionLayer::start_client`]) or a response
/// (server transactions, to the source the request came from; the driver
/// applies RFC 3261 §18.2.2 / RFC 3581 to pick the actual address).
#[derive(Clone, PartialEq, Eq)]
pub struct LayerTransmit<A> {
    /// The transaction sending.
    pub transaction: TransactionId,
    /// Where to send.
    pub remote: A,
    /// The encoded message.
    pub bytes: Vec<u8>,
    /// Whether these bytes repeat an earlier transmission.
    pub retransmission: bool,
}

impl<A: fmt::Debug> fmt::Debug for LayerTransmit<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transmit = Transmit { bytes: self.bytes.clone(), retransmission: self.retransmission };
        f.debug_struct("LayerTransmit")
            .field("transaction", &self.transaction)
            .field("remote", &self.remote)
            .field("transmit", &transmit)
            .finish()
    }
}

/// What the layer tells the transaction user (the UA core / dialog layer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerEvent<M, A> {
    /// A request that matched no transaction; a server transaction `id` was
    /// created for it and the TU answers it with
    /// [`TransactionLayer::send_response`]. Reported once per transaction:
    /// retransmissions are absorbed. For a CANCEL, `cancels` is the server
    /// transaction it cancels (RFC 3261 §9.2), or `None` (the TU answers 481).
    NewRequest {
        /// The new server transaction.
        id: TransactionId,
        /// The request.
        request: M,
        /// Where it came from (responses go back there).
        source: A,
        /// For CANCEL: the matching server transaction.
        cancels: Option<TransactionId>,
    },
    /// An event of transaction `id` (responses for client transactions,
    /// timeouts, transport errors, termination...). [`Event::Ack`] never
    /// appears here: it becomes [`LayerEvent::Ack`].
    Transaction {
        /// The transaction.
        id: TransactionId,
        /// What happened.
        event: Event<M>,
    },
    /// An ACK for the dialog layer: one that matched no transaction (the ACK
    /// for a 2xx is its own transaction, RFC 3261 §17), or one passed up by
    /// a server INVITE transaction in the Accepted state (`transaction`).
    Ack {
        /// The ACK.
        request: M,
        /// Where it came from.
        source: A,
        /// The server INVITE transaction that passed it up, if any.
        transaction: Option<TransactionId>,
    },
    /// A response that matched no client transaction (RFC 3261 §17.1.3).
    /// A 2xx to an INVITE (a retransmission after Timer M or a late fork)
    /// belongs to the dialog layer, which ACKs it; others are discarded.
    StrayResponse {
        /// The response.
        response: M,
        /// Where it came from.
        source: A,
    },
}

#[derive(Clone, Debug)]
#[allow(clippy::enum_variant_names)] // named after the machine types
enum Machine<M> {
    ClientInvite(ClientInvite<M>),
    ClientNonInvite(ClientNonInvite<M>),
    ServerInvite(ServerInvite<M>),
    ServerNonInvite(ServerNonInvite<M>),
}

macro_rules! dispatch {
    ($machine:expr, $m:ident => $body:expr) => {
        match $machine {
            Machine::ClientInvite($m) => $body,
            Machine::ClientNonInvite($m) => $body,
            Machine::ServerInvite($m) => $body,
            Machine::ServerNonInvite($m) => $body,
        }
    };
}

impl<M: TransactionMessage> Machine<M> {
    fn kind(&self) -> TransactionKind {
        match self {
            Machine::ClientInvite(_) => TransactionKind::ClientInvite,
            Machine::ClientNonInvite(_) => TransactionKind::ClientNonInvite,
            Machine::ServerInvite(_) => TransactionKind::ServerInvite,
            Machine::ServerNonInvite(_) => TransactionKind::ServerNonInvite,
        }
    }
    fn state(&self) -> State {
        dispatch!(self, m => m.state())
    }
    fn request(&self) -> &M {
        dispatch!(self, m => m.request())
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        dispatch!(self, m => m.poll_transmit())
    }
    fn poll_event(&mut self) -> Option<Event<M>> {
        dispatch!(self, m => m.poll_event())
    }
    fn poll_timeout(&self) -> Option<Instant> {
        dispatch!(self, m => m.poll_timeout())
    }
    fn handle_timeout(&mut self, now: Instant) {
        dispatch!(self, m => m.handle_timeout(now))
    }
    fn handle_transport_error(&mut self, now: Instant) {
        dispatch!(self, m => m.handle_transport_error(now))
    }
    /// The To tag of the last response a server transaction sent.
    fn response_to_tag(&self) -> Option<&str> {
        match self {
            Machine::ServerInvite(m) => m.last_response()?.to_tag(),
            Machine::ServerNonInvite(m) => m.last_response()?.to_tag(),
            _ => None,
        }
    }
}

/// A server transaction registered under a magic-cookie branch.
#[derive(Clone, Debug)]
struct ServerSlot {
    sent_by: String,
    method: String,
    id: TransactionId,
}

/// RFC 2543 matching fields shared by a request, its retransmissions, its
/// ACK and its CANCEL; the top Via is compared by sent-by and branch.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct LegacyKey {
    request_uri: String,
    from_tag: Option<String>,
    call_id: String,
    cseq: u32,
    sent_by: String,
    branch: Option<String>,
}

impl LegacyKey {
    fn of<M: TransactionMessage>(request: &M, sent_by: String) -> Result<LegacyKey, TransactionError> {
        Ok(LegacyKey {
            request_uri: request.request_uri().ok_or(TransactionError::MissingField("Request-URI"))?.into_owned(),
            from_tag: request.from_tag().map(str::to_owned),
            call_id: request.call_id().ok_or(TransactionError::MissingField("Call-ID"))?.to_owned(),
            cseq: request.cseq_number().ok_or(TransactionError::MissingField("CSeq"))?,
            sent_by,
            branch: request.top_via_branch().map(str::to_owned),
        })
    }
}

#[derive(Clone, Debug)]
enum IndexKey {
    Client { branch: String },
    Server { branch: String },
    Legacy(LegacyKey),
}

#[derive(Clone, Debug)]
struct Entry<M, A> {
    machine: Machine<M>,
    remote: A,
    method: String,
    index: IndexKey,
    deadline: Option<Instant>,
}

/// All transactions of one endpoint, and the matching that routes incoming
/// messages to them.
///
/// Matching: a response goes to the client transaction with the same top
/// Via branch and CSeq method (RFC 3261 §17.1.3). A request whose branch has
/// the magic cookie goes to the server transaction with the same branch,
/// sent-by and method, an ACK to the INVITE's (§17.2.3); a CANCEL gets its
/// own transaction and names the transaction it cancels (§9.2). A request
/// without the cookie is matched by Request-URI, From tag, Call-ID, CSeq
/// number, top Via (sent-by and branch), method and To tag — for an ACK, the
/// To tag of the response the INVITE transaction sent (RFC 2543 rules,
/// §17.2.3). Sent-by compares case-insensitively; the Request-URI textually.
///
/// Sans-IO, like the machines it owns: call [`start_client`](Self::start_client),
/// [`handle_message`](Self::handle_message),
/// [`send_response`](Self::send_response),
/// [`handle_timeout`](Self::handle_timeout) and
/// [`handle_transport_error`](Self::handle_transport_error) with the current
/// time (never going backwards), then drain
/// [`poll_transmit`](Self::poll_transmit) and
/// [`poll_event`](Self::poll_event) until `None` and sleep until
/// [`poll_timeout`](Self::poll_timeout) (the earliest deadline of all
/// transactions). Terminated transactions are dropped after their
/// [`Event::Terminated`]. `A` is the driver's address type (a socket
/// address, a connection id...); the layer only clones it. One owner (the
/// runtime thread's SIP driver) drives it; it is `Send` when `M` and `A` are.
#[derive(Clone, Debug)]
pub struct TransactionLayer<M, A> {
    config: TimerConfig,
    next_id: u64,
    entries: HashMap<TransactionId, Entry<M, A>>,
    client_index: HashMap<String, Vec<(String, TransactionId)>>,
    server_index: HashMap<String, Vec<ServerSlot>>,
    legacy_index: HashMap<LegacyKey, Vec<TransactionId>>,
    deadlines: BTreeSet<(Instant, TransactionId)>,
    transmits: VecDeque<LayerTransmit<A>>,
    events: VecDeque<LayerEvent<M, A>>,
}

impl<M: TransactionMessage, A: Clone> TransactionLayer<M, A> {
    /// An empty layer whose transactions use `config`.
    pub fn new(config: TimerConfig) -> Self {
        TransactionLayer {
            config,
            next_id: 1,
            entries: HashMap::new(),
            client_index: HashMap::new(),
            server_index: HashMap::new(),
            legacy_index: HashMap::new(),
            deadlines: BTreeSet::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The timer values new transactions get.
    pub fn config(&self) -> &TimerConfig {
        &self.config
    }

    /// Changes the timer values for transactions created from now on.
    pub fn set_config(&mut self, config: TimerConfig) {
        self.config = config;
    }

    /// The number of live transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The state of transaction `id`; `None` once it has terminated.
    pub fn state(&self, id: TransactionId) -> Option<State> {
        Some(self.entries.get(&id)?.machine.state())
    }

    /// Which machine transaction `id` runs.
    pub fn kind(&self, id: TransactionId) -> Option<TransactionKind> {
        Some(self.entries.get(&id)?.machine.kind())
    }

    /// The request that created transaction `id`.
    pub fn request(&self, id: TransactionId) -> Option<&M> {
        Some(self.entries.get(&id)?.machine.request())
    }

    /// The peer of transaction `id`: the destination of a client
    /// transaction, the source of a server transaction's request.
    pub fn remote(&self, id: TransactionId) -> Option<&A> {
        Some(&self.entries.get(&id)?.remote)
    }

    /// Starts a client transaction for `request` towards `remote` over a
    /// transport of the given kind, and queues the request for sending.
    /// The request's top Via branch must carry the magic cookie (use
    /// [`new_branch`](super::new_branch)); ACK is refused (an ACK for a 2xx is
    /// sent by the TU without a transaction, one for a non-2xx by the client
    /// INVITE transaction). A CANCEL reuses its INVITE's branch.
    pub fn start_client(
        &mut self,
        now: Instant,
        request: M,
        remote: A,
        reliable: bool,
    ) -> Result<TransactionId, TransactionError> {
        if !request.is_request() {
            return Err(TransactionError::NotARequest);
        }
        let method = request.method().ok_or(TransactionError::MissingField("method"))?.to_owned();
        if method == "ACK" {
            return Err(TransactionError::WrongMethod(method));
        }
        let branch = request.top_via_branch().ok_or(TransactionError::MissingField("Via branch"))?.to_owned();
        if !branch.starts_with(MAGIC_COOKIE) {
            return Err(TransactionError::BranchWithoutCookie);
        }
        if self.client_index.get(&branch).is_some_and(|slots| slots.iter().any(|(m, _)| *m == method)) {
            return Err(TransactionError::Duplicate);
        }
        let machine = if method == "INVITE" {
            Machine::ClientInvite(ClientInvite::new(now, request, &self.config, reliable)?)
        } else {
            Machine::ClientNonInvite(ClientNonInvite::new(now, request, &self.config, reliable)?)
        };
        let id = self.allocate_id();
        self.client_index.entry(branch.clone()).or_default().push((method.clone(), id));
        self.entries.insert(id, Entry { machine, remote, method, index: IndexKey::Client { branch }, deadline: None });
        self.flush(id, None);
        Ok(id)
    }

    /// A message received at `now` from `source` over a transport of the
    /// given kind. Responses go to their client transaction or become
    /// [`LayerEvent::StrayResponse`]; requests go to their server
    /// transaction (a retransmission, absorbed, or an ACK), create a new one
    /// ([`LayerEvent::NewRequest`]), or, for an unmatched ACK, become
    /// [`LayerEvent::Ack`]. An error means the message lacks what matching
    /// needs (a top Via, a branch on a response, a CSeq...); nothing was
    /// changed and the driver drops it (or answers 400 statelessly).
    pub fn handle_message(
        &mut self,
        now: Instant,
        message: M,
        source: A,
        reliable: bool,
    ) -> Result<(), TransactionError> {
        if message.is_request() {
            self.handle_request(now, message, source, reliable)
        } else {
            self.handle_response(now, message, source)
        }
    }

    fn handle_response(&mut self, now: Instant, response: M, source: A) -> Result<(), TransactionError> {
        response.status_code().ok_or(TransactionError::MissingField("status code"))?;
        let branch = response.top_via_branch().ok_or(TransactionError::MissingField("Via branch"))?;
        let method = response.cseq_method().ok_or(TransactionError::MissingField("CSeq"))?;
        let id =
            self.client_index.get(branch).and_then(|slots| slots.iter().find(|(m, _)| m == method)).map(|&(_, id)| id);
        match id.and_then(|id| Some((id, self.entries.get_mut(&id)?))) {
            Some((id, entry)) => {
                match &mut entry.machine {
                    Machine::ClientInvite(m) => m.handle_response(now, response),
                    Machine::ClientNonInvite(m) => m.handle_response(now, response),
                    _ => {}
                }
                self.flush(id, None);
            }
            None => self.events.push_back(LayerEvent::StrayResponse { response, source }),
        }
        Ok(())
    }

    fn handle_request(&mut self, now: Instant, request: M, source: A, reliable: bool) -> Result<(), TransactionError> {
        let method = request.method().ok_or(TransactionError::MissingField("method"))?.to_owned();
        let sent_by = request.top_via_sent_by().ok_or(TransactionError::MissingField("Via"))?.to_ascii_lowercase();
        if request.has_magic_cookie() {
            let branch = request.top_via_branch().unwrap_or_default().to_owned();
            let wanted = if method == "ACK" { "INVITE" } else { method.as_str() };
            let slots = self.server_index.get(&branch);
            let find = |pred: &dyn Fn(&ServerSlot) -> bool| {
                slots.and_then(|slots| slots.iter().find(|s| s.sent_by == sent_by && pred(s))).map(|s| s.id)
            };
            if let Some(id) = find(&|s| s.method == wanted) {
                self.deliver_request(now, id, request, &source);
                return Ok(());
            }
            if method == "ACK" {
                self.events.push_back(LayerEvent::Ack { request, source, transaction: None });
                return Ok(());
            }
            let cancels = if method == "CANCEL" { find(&|s| s.method != "CANCEL" && s.method != "ACK") } else { None };
            let index = IndexKey::Server { branch: branch.clone() };
            let id = self.create_server(now, request.clone(), &source, method.clone(), reliable, index)?;
            self.server_index.entry(branch).or_default().push(ServerSlot { sent_by, method, id });
            self.report_new(id, request, source, cancels);
            return Ok(());
        }

        let key = LegacyKey::of(&request, sent_by)?;
        let to_tag = request.to_tag();
        let candidates = self.legacy_index.get(&key).map(Vec::as_slice).unwrap_or_default();
        let find = |pred: &dyn Fn(&Entry<M, A>) -> bool| {
            candidates.iter().copied().find(|id| self.entries.get(id).is_some_and(pred))
        };
        if method == "ACK" {
            let matched = find(&|e| e.method == "INVITE" && e.machine.response_to_tag() == to_tag);
            match matched {
                Some(id) => self.deliver_request(now, id, request, &source),
                None => self.events.push_back(LayerEvent::Ack { request, source, transaction: None }),
            }
            return Ok(());
        }
        if let Some(id) = find(&|e| e.method == method && e.machine.request().to_tag() == to_tag) {
            self.deliver_request(now, id, request, &source);
            return Ok(());
        }
        let cancels = if method == "CANCEL" {
            find(&|e| e.method != "CANCEL" && e.machine.request().to_tag() == to_tag)
        } else {
            None
        };
        let index = IndexKey::Legacy(key.clone());
        let id = self.create_server(now, request.clone(), &source, method, reliable, index)?;
        self.legacy_index.entry(key).or_default().push(id);
        self.report_new(id, request, source, cancels);
        Ok(())
    }

    fn deliver_request(&mut self, now: Instant, id: TransactionId, request: M, source: &A) {
        if let Some(entry) = self.entries.get_mut(&id) {
            match &mut entry.machine {
                Machine::ServerInvite(m) => m.handle_request(now, request),
                Machine::ServerNonInvite(m) => m.handle_request(now, request),
                _ => {}
            }
            self.flush(id, Some(source));
        }
    }

    fn create_server(
        &mut self,
        now: Instant,
        request: M,
        source: &A,
        method: String,
        reliable: bool,
        index: IndexKey,
    ) -> Result<TransactionId, TransactionError> {
        let machine = if method == "INVITE" {
            Machine::ServerInvite(ServerInvite::new(now, request, &self.config, reliable)?)
        } else {
            Machine::ServerNonInvite(ServerNonInvite::new(now, request, &self.config, reliable)?)
        };
        let id = self.allocate_id();
        self.entries.insert(id, Entry { machine, remote: source.clone(), method, index, deadline: None });
        Ok(id)
    }

    fn report_new(&mut self, id: TransactionId, request: M, source: A, cancels: Option<TransactionId>) {
        self.events.push_back(LayerEvent::NewRequest { id, request, source, cancels });
        self.flush(id, None);
    }

    /// Sends the TU's response on server transaction `id` (see
    /// [`ServerInvite::send_response`] and [`ServerNonInvite::send_response`]
    /// for what each state accepts).
    pub fn send_response(&mut self, now: Instant, id: TransactionId, response: M) -> Result<(), TransactionError> {
        let entry = self.entries.get_mut(&id).ok_or(TransactionError::UnknownTransaction(id))?;
        match &mut entry.machine {
            Machine::ServerInvite(m) => m.send_response(now, response)?,
            Machine::ServerNonInvite(m) => m.send_response(now, response)?,
            _ => return Err(TransactionError::NotAServerTransaction(id)),
        }
        self.flush(id, None);
        Ok(())
    }

    /// The transport failed to deliver something transaction `id` sent.
    pub fn handle_transport_error(&mut self, now: Instant, id: TransactionId) -> Result<(), TransactionError> {
        let entry = self.entries.get_mut(&id).ok_or(TransactionError::UnknownTransaction(id))?;
        entry.machine.handle_transport_error(now);
        self.flush(id, None);
        Ok(())
    }

    /// Ends transaction `id` at the TU's request, reporting
    /// [`Event::Terminated`]; nothing more is sent for it. For a client
    /// INVITE that got no final response 64·T1 after its CANCEL was sent
    /// (RFC 3261 §9.1), or a transaction whose TU went away.
    pub fn terminate(&mut self, id: TransactionId) -> Result<(), TransactionError> {
        if !self.entries.contains_key(&id) {
            return Err(TransactionError::UnknownTransaction(id));
        }
        self.remove(id);
        self.events.push_back(LayerEvent::Transaction { id, event: Event::Terminated });
        Ok(())
    }

    /// Fires the timers of every transaction due at `now`. Calling it early,
    /// late or repeatedly is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(entry) = self.entries.get_mut(&id) {
                entry.deadline = None;
                entry.machine.handle_timeout(now);
                self.flush(id, None);
            }
        }
    }

    /// The next bytes to send.
    pub fn poll_transmit(&mut self) -> Option<LayerTransmit<A>> {
        self.transmits.pop_front()
    }

    /// The next event for the TU.
    pub fn poll_event(&mut self) -> Option<LayerEvent<M, A>> {
        self.events.pop_front()
    }

    /// The earliest deadline of all transactions: when
    /// [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(deadline, _)| deadline)
    }

    fn allocate_id(&mut self) -> TransactionId {
        let id = TransactionId(self.next_id);
        self.next_id += 1;
        id
    }

    /// Moves transaction `id`'s output into the layer's queues, updates its
    /// deadline, and drops it once terminated. `source` is the source of the
    /// request just delivered (for ACKs passed up).
    fn flush(&mut self, id: TransactionId, source: Option<&A>) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        while let Some(t) = entry.machine.poll_transmit() {
            self.transmits.push_back(LayerTransmit {
                transaction: id,
                remote: entry.remote.clone(),
                bytes: t.bytes,
                retransmission: t.retransmission,
            });
        }
        while let Some(event) = entry.machine.poll_event() {
            self.events.push_back(match event {
                Event::Ack(request) => {
                    LayerEvent::Ack { request, source: source.unwrap_or(&entry.remote).clone(), transaction: Some(id) }
                }
                event => LayerEvent::Transaction { id, event },
            });
        }
        let deadline = entry.machine.poll_timeout();
        if deadline != entry.deadline {
            if let Some(old) = entry.deadline {
                self.deadlines.remove(&(old, id));
            }
            if let Some(new) = deadline {
                self.deadlines.insert((new, id));
            }
            entry.deadline = deadline;
        }
        if entry.machine.state() == State::Terminated {
            self.remove(id);
        }
    }

    fn remove(&mut self, id: TransactionId) {
        let Some(entry) = self.entries.remove(&id) else {
            return;
        };
        if let Some(deadline) = entry.deadline {
            self.deadlines.remove(&(deadline, id));
        }
        match entry.index {
            IndexKey::Client { branch } => {
                if let Some(slots) = self.client_index.get_mut(&branch) {
                    slots.retain(|&(_, i)| i != id);
                    if slots.is_empty() {
                        self.client_index.remove(&branch);
                    }
                }
            }
            IndexKey::Server { branch } => {
                if let Some(slots) = self.server_index.get_mut(&branch) {
                    slots.retain(|s| s.id != id);
                    if slots.is_empty() {
                        self.server_index.remove(&branch);
                    }
                }
            }
            IndexKey::Legacy(key) => {
                if let Some(ids) = self.legacy_index.get_mut(&key) {
                    ids.retain(|&i| i != id);
                    if ids.is_empty() {
                        self.legacy_index.remove(&key);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_message::TestMessage;
    use super::*;

    type Layer = TransactionLayer<TestMessage, &'static str>;

    const MS: Duration = Duration::from_millis(1);

    fn layer() -> Layer {
        TransactionLayer::new(TimerConfig::default())
    }

    fn events(layer: &mut Layer) -> Vec<LayerEvent<TestMessage, &'static str>> {
        std::iter::from_fn(|| layer.poll_event()).collect()
    }

    fn transmits(layer: &mut Layer) -> Vec<LayerTransmit<&'static str>> {
        std::iter::from_fn(|| layer.poll_transmit()).collect()
    }

    fn first_lines(transmits: &[LayerTransmit<&'static str>]) -> Vec<String> {
        transmits
            .iter()
            .map(|t| {
                let m = TestMessage::decode(&t.bytes).unwrap();
                m.method.unwrap_or_else(|| m.status.to_string())
            })
            .collect()
    }

    /// Delivers a request; returns the new transaction id if one was created.
    fn receive(layer: &mut Layer, now: Instant, request: TestMessage) -> Option<TransactionId> {
        layer.handle_message(now, request, "client", false).unwrap();
        events(layer).into_iter().find_map(|e| match e {
            LayerEvent::NewRequest { id, .. } => Some(id),
            _ => None,
        })
    }

    #[test]
    fn start_client_validates() {
        let now = Instant::now();
        let mut layer = layer();
        let ack = TestMessage::request("ACK", "z9hG4bKa");
        assert_eq!(layer.start_client(now, ack, "server", false), Err(TransactionError::WrongMethod("ACK".into())));
        let old = TestMessage::request("OPTIONS", "1234");
        assert_eq!(layer.start_client(now, old, "server", false), Err(TransactionError::BranchWithoutCookie));
        let none = TestMessage::request("OPTIONS", "x").with_branch(None);
        assert_eq!(layer.start_client(now, none, "server", false), Err(TransactionError::MissingField("Via branch")));
        let response = TestMessage::request("OPTIONS", "z9hG4bKa").response(200);
        assert_eq!(layer.start_client(now, response, "server", false), Err(TransactionError::NotARequest));
        let options = TestMessage::request("OPTIONS", "z9hG4bKa");
        let id = layer.start_client(now, options.clone(), "server", false).unwrap();
        assert_eq!(layer.start_client(now, options, "server", false), Err(TransactionError::Duplicate));
        assert_eq!(layer.kind(id), Some(TransactionKind::ClientNonInvite));
        assert_eq!(layer.remote(id), Some(&"server"));
        let sent = transmits(&mut layer);
        assert_eq!(sent.len(), 1);
        assert_eq!((sent[0].transaction, sent[0].remote), (id, "server"));
        assert!(!layer.is_empty() && layer.len() == 1);
    }

    #[test]
    fn responses_match_branch_and_cseq_method() {
        let now = Instant::now();
        let mut layer = layer();
        let invite = TestMessage::request("INVITE", "z9hG4bKshared");
        let invite_id = layer.start_client(now, invite.clone(), "server", false).unwrap();
        let cancel_id = layer.start_client(now, invite.cancel(), "server", false).unwrap();
        assert_ne!(invite_id, cancel_id);
        transmits(&mut layer);
        layer.handle_message(now, invite.cancel().response(200), "server", false).unwrap();
        layer.handle_message(now, invite.response(487), "server", false).unwrap();
        let got: Vec<(TransactionId, u16)> = events(&mut layer)
            .into_iter()
            .filter_map(|e| match e {
                LayerEvent::Transaction { id, event: Event::Final(r) } => Some((id, r.status)),
                _ => None,
            })
            .collect();
        assert_eq!(got, vec![(cancel_id, 200), (invite_id, 487)]);
        assert_eq!(first_lines(&transmits(&mut layer)), vec!["ACK"]);

        // Another branch, or the right branch with another method: stray.
        let other = TestMessage::request("INVITE", "z9hG4bKother").response(200);
        layer.handle_message(now, other.clone(), "server", false).unwrap();
        let wrong_method = invite.clone().with_method("BYE").response(200);
        layer.handle_message(now, wrong_method.clone(), "server", false).unwrap();
        assert_eq!(
            events(&mut layer),
            vec![
                LayerEvent::StrayResponse { response: other, source: "server" },
                LayerEvent::StrayResponse { response: wrong_method, source: "server" },
            ]
        );
        let no_branch = invite.response(200).with_branch(None);
        assert_eq!(
            layer.handle_message(now, no_branch, "server", false),
            Err(TransactionError::MissingField("Via branch"))
        );
    }

    #[test]
    fn server_absorbs_retransmissions_and_resends_the_last_response() {
        let now = Instant::now();
        let mut layer = layer();
        let request = TestMessage::request("OPTIONS", "z9hG4bKopt");
        let id = receive(&mut layer, now, request.clone()).unwrap();
        assert_eq!(layer.kind(id), Some(TransactionKind::ServerNonInvite));
        assert_eq!(receive(&mut layer, now + MS, request.clone()), None);
        layer.send_response(now + 2 * MS, id, request.response(200)).unwrap();
        assert_eq!(receive(&mut layer, now + 3 * MS, request.clone()), None);
        let sent = transmits(&mut layer);
        assert_eq!(first_lines(&sent), vec!["200", "200"]);
        assert_eq!(sent.iter().map(|t| t.retransmission).collect::<Vec<_>>(), vec![false, true]);
        assert!(sent.iter().all(|t| t.remote == "client" && t.transaction == id));
        // Same branch from another sent-by, or another method: new transactions.
        let elsewhere = request.clone().with_sent_by("other.example.com");
        assert!(receive(&mut layer, now, elsewhere).is_some());
        let other_method = request.clone().with_method("INFO");
        assert!(receive(&mut layer, now, other_method).is_some());
        // Sent-by compares case-insensitively.
        let shouting = request.with_sent_by("CLIENT.Example.COM:5060");
        assert_eq!(receive(&mut layer, now, shouting), None);
        assert_eq!(layer.len(), 3);
    }

    #[test]
    fn ack_matches_the_invite_for_non_2xx_and_is_stray_for_2xx() {
        let now = Instant::now();
        let mut layer = layer();
        let invite = TestMessage::request("INVITE", "z9hG4bKinv");
        let id = receive(&mut layer, now, invite.clone()).unwrap();
        layer.send_response(now, id, invite.response(486)).unwrap();
        let ack = invite.build_ack(&invite.response(486)).unwrap();
        layer.handle_message(now + MS, ack, "client", false).unwrap();
        assert_eq!(layer.state(id), Some(State::Confirmed));
        assert!(events(&mut layer).is_empty());

        // The ACK for a 2xx has its own branch: the dialog layer gets it.
        let invite2 = TestMessage::request("INVITE", "z9hG4bKinv2").with_call_id("call-2");
        let id2 = receive(&mut layer, now, invite2.clone()).unwrap();
        layer.send_response(now, id2, invite2.response(200)).unwrap();
        assert_eq!(layer.state(id2), Some(State::Accepted));
        let ack2 = invite2.build_ack(&invite2.response(200)).unwrap().with_branch(Some("z9hG4bKack2"));
        layer.handle_message(now + MS, ack2.clone(), "client", false).unwrap();
        assert_eq!(events(&mut layer), vec![LayerEvent::Ack { request: ack2, source: "client", transaction: None }]);
        // A retransmitted INVITE in Accepted is absorbed without a response.
        transmits(&mut layer);
        layer.handle_message(now + 2 * MS, invite2, "client", false).unwrap();
        assert!(transmits(&mut layer).is_empty());
        assert_eq!(events(&mut layer), vec![LayerEvent::Transaction { id: id2, event: Event::RetransmissionAbsorbed }]);
    }

    #[test]
    fn cancel_matches_the_invite_server_transaction() {
        let now = Instant::now();
        let mut layer = layer();
        let invite = TestMessage::request("INVITE", "z9hG4bKcancelme");
        let invite_id = receive(&mut layer, now, invite.clone()).unwrap();
        layer.handle_message(now + MS, invite.cancel(), "client", false).unwrap();
        let evs = events(&mut layer);
        let (cancel_id, cancels) = match evs.as_slice() {
            [LayerEvent::NewRequest { id, request, cancels, .. }] if request.method.as_deref() == Some("CANCEL") => {
                (*id, *cancels)
            }
            other => panic!("unexpected events {other:?}"),
        };
        assert_eq!(cancels, Some(invite_id));
        assert_ne!(cancel_id, invite_id);
        assert_eq!(layer.kind(cancel_id), Some(TransactionKind::ServerNonInvite));
        // A retransmitted CANCEL goes to the CANCEL's transaction.
        layer.handle_message(now + 2 * MS, invite.cancel(), "client", false).unwrap();
        assert_eq!(
            events(&mut layer),
            vec![LayerEvent::Transaction { id: cancel_id, event: Event::RetransmissionAbsorbed }]
        );
        // The TU answers 200 to the CANCEL and 487 to the INVITE.
        layer.send_response(now + 3 * MS, cancel_id, invite.cancel().response(200)).unwrap();
        layer.send_response(now + 3 * MS, invite_id, invite.response(487)).unwrap();
        assert_eq!(first_lines(&transmits(&mut layer)), vec!["200", "487"]);

        // A CANCEL for an unknown INVITE, or from another sent-by, cancels nothing.
        let stray = TestMessage::request("INVITE", "z9hG4bKunknown").cancel();
        layer.handle_message(now, stray, "client", false).unwrap();
        let elsewhere = invite.cancel().with_sent_by("elsewhere.example.com");
        layer.handle_message(now, elsewhere, "client", false).unwrap();
        let cancels: Vec<_> = events(&mut layer)
            .into_iter()
            .filter_map(|e| match e {
                LayerEvent::NewRequest { cancels, .. } => Some(cancels),
                _ => None,
            })
            .collect();
        assert_eq!(cancels, vec![None, None]);
    }

    #[test]
    fn rfc_2543_matching() {
        let now = Instant::now();
        let mut layer = layer();
        let invite = TestMessage::request("INVITE", "1").with_branch(None);
        assert!(!invite.has_magic_cookie());
        let id = receive(&mut layer, now, invite.clone()).unwrap();
        // Retransmission: same fields.
        assert_eq!(receive(&mut layer, now + MS, invite.clone()), None);
        // Another Call-ID, CSeq, Request-URI, From tag or sent-by: another transaction.
        let mut others = vec![
            invite.clone().with_call_id("another"),
            invite.clone().with_cseq(2),
            invite.clone().with_uri("sip:carol@example.com"),
            invite.clone().with_sent_by("proxy.example.com"),
            invite.clone().with_branch(Some("old-style-branch")),
        ];
        let mut from = invite.clone();
        from.from_tag = Some("from-2".into());
        others.push(from);
        for other in others {
            assert!(receive(&mut layer, now, other.clone()).is_some(), "{other:?} should not match");
        }
        // The ACK matches when its To tag is the one of the response sent.
        layer.send_response(now, id, invite.response(486).with_to_tag(Some("srv"))).unwrap();
        let wrong_tag = invite.build_ack(&invite.response(486).with_to_tag(Some("nope"))).unwrap();
        layer.handle_message(now + 2 * MS, wrong_tag.clone(), "client", false).unwrap();
        assert_eq!(
            events(&mut layer),
            vec![LayerEvent::Ack { request: wrong_tag, source: "client", transaction: None }]
        );
        assert_eq!(layer.state(id), Some(State::Completed));
        let ack = invite.build_ack(&invite.response(486).with_to_tag(Some("srv"))).unwrap();
        layer.handle_message(now + 2 * MS, ack, "client", false).unwrap();
        assert_eq!(layer.state(id), Some(State::Confirmed));

        // CANCEL by the same rules.
        let invite2 = invite.clone().with_cseq(7);
        let id2 = receive(&mut layer, now, invite2.clone()).unwrap();
        layer.handle_message(now, invite2.cancel(), "client", false).unwrap();
        assert!(matches!(
            events(&mut layer).as_slice(),
            [LayerEvent::NewRequest { cancels: Some(c), .. }] if *c == id2
        ));
    }

    #[test]
    fn rfc_2543_ack_for_2xx_is_passed_up_by_the_accepted_transaction() {
        let now = Instant::now();
        let mut layer = layer();
        let invite = TestMessage::request("INVITE", "x").with_branch(None);
        let id = receive(&mut layer, now, invite.clone()).unwrap();
        let ok = invite.response(200);
        layer.send_response(now, id, ok.clone()).unwrap();
        let ack = invite.build_ack(&ok).unwrap();
        layer.handle_message(now + MS, ack.clone(), "client-2", false).unwrap();
        assert_eq!(
            events(&mut layer),
            vec![LayerEvent::Ack { request: ack, source: "client-2", transaction: Some(id) }]
        );
    }

    #[test]
    fn requests_without_via_are_refused() {
        let now = Instant::now();
        let mut layer = layer();
        let mut request = TestMessage::request("OPTIONS", "z9hG4bKx");
        request.vias.clear();
        assert_eq!(layer.handle_message(now, request, "client", false), Err(TransactionError::MissingField("Via")));
        assert!(layer.is_empty());
        assert!(events(&mut layer).is_empty());
    }

    #[test]
    fn send_response_errors() {
        let now = Instant::now();
        let mut layer = layer();
        let options = TestMessage::request("OPTIONS", "z9hG4bKx");
        let client = layer.start_client(now, options.clone(), "server", false).unwrap();
        assert_eq!(
            layer.send_response(now, client, options.response(200)),
            Err(TransactionError::NotAServerTransaction(client))
        );
        let unknown = TransactionId(999);
        assert_eq!(
            layer.send_response(now, unknown, options.response(200)),
            Err(TransactionError::UnknownTransaction(unknown))
        );
        assert_eq!(layer.handle_transport_error(now, unknown), Err(TransactionError::UnknownTransaction(unknown)));
    }

    #[test]
    fn earliest_timeout_across_transactions_and_cleanup() {
        let start = Instant::now();
        let mut layer = layer();
        let a = layer.start_client(start, TestMessage::request("OPTIONS", "z9hG4bKa"), "server", false).unwrap();
        let b =
            layer.start_client(start + 100 * MS, TestMessage::request("OPTIONS", "z9hG4bKb"), "server", true).unwrap();
        assert_eq!(layer.poll_timeout(), Some(start + 500 * MS));
        layer.handle_timeout(start + 100 * MS);
        assert!(transmits(&mut layer).len() == 2);
        layer.handle_timeout(start + 500 * MS);
        let sent = transmits(&mut layer);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].transaction, a);
        assert!(sent[0].retransmission);
        assert_eq!(layer.poll_timeout(), Some(start + 1500 * MS));
        // Reliable b only has Timer F.
        layer
            .handle_message(
                start + Duration::from_secs(1),
                TestMessage::request("OPTIONS", "z9hG4bKa").response(200),
                "server",
                false,
            )
            .unwrap();
        assert_eq!(layer.state(a), Some(State::Completed));
        assert_eq!(layer.poll_timeout(), Some(start + Duration::from_secs(6)));
        layer.handle_timeout(start + Duration::from_secs(6));
        assert_eq!(layer.state(a), None);
        assert_eq!(layer.poll_timeout(), Some(start + 100 * MS + Duration::from_secs(32)));
        layer.handle_timeout(start + Duration::from_secs(40));
        layer.handle_timeout(start + Duration::from_secs(40));
        assert!(layer.is_empty());
        assert_eq!(layer.poll_timeout(), None);
        let tail: Vec<_> = events(&mut layer)
            .into_iter()
            .filter_map(|e| match e {
                LayerEvent::Transaction { id, event } if id == b => Some(event),
                _ => None,
            })
            .collect();
        assert_eq!(tail, vec![Event::Timeout(super::super::Timer::F), Event::Terminated]);
        // Late responses for terminated transactions are stray.
        let late = TestMessage::request("OPTIONS", "z9hG4bKa").response(200);
        layer.handle_message(start + Duration::from_secs(41), late, "server", false).unwrap();
        assert!(matches!(events(&mut layer).as_slice(), [LayerEvent::StrayResponse { .. }]));
    }

    #[test]
    fn terminate_on_request() {
        let now = Instant::now();
        let mut layer = layer();
        let id = layer.start_client(now, TestMessage::request("INVITE", "z9hG4bKt"), "server", false).unwrap();
        layer.handle_message(now, TestMessage::request("INVITE", "z9hG4bKt").response(180), "server", false).unwrap();
        events(&mut layer);
        layer.terminate(id).unwrap();
        assert_eq!(events(&mut layer), vec![LayerEvent::Transaction { id, event: Event::Terminated }]);
        assert_eq!(layer.terminate(id), Err(TransactionError::UnknownTransaction(id)));
        assert!(layer.is_empty());
        assert_eq!(layer.poll_timeout(), None);
    }

    #[test]
    fn transport_error_through_the_layer() {
        let now = Instant::now();
        let mut layer = layer();
        let id = layer.start_client(now, TestMessage::request("INVITE", "z9hG4bKt"), "server", true).unwrap();
        layer.handle_transport_error(now, id).unwrap();
        assert_eq!(
            events(&mut layer),
            vec![
                LayerEvent::Transaction { id, event: Event::TransportError },
                LayerEvent::Transaction { id, event: Event::Terminated },
            ]
        );
        assert!(layer.is_empty());
        assert_eq!(layer.poll_timeout(), None);
    }
}
