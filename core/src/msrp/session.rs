//! A sans-IO MSRP session endpoint (RFC 4975): one per MSRP connection and
//! session, on top of the [`message`](super::message) layer.
//!
//! - Input: the bytes read from the connection ([`MsrpSession::handle_bytes`])
//!   and the clock ([`MsrpSession::handle_timeout`]).
//! - Commands: [`MsrpSession::send_message`] (the body is cut into SEND
//!   chunks of [`MsrpSessionConfig::max_chunk_size`] bytes, written one by
//!   one as the connection takes them) and [`MsrpSession::abort`].
//! - Output: bytes to write ([`MsrpSession::poll_transmit`]), what happened
//!   ([`MsrpSession::poll_event`]) and when to call back
//!   ([`MsrpSession::poll_timeout`]).
//!
//! Sending: each SEND chunk is a transaction; a 200 completes it, any other
//! code — or no response within [`MsrpSessionConfig::transaction_timeout`]
//! (408) — fails the message with [`MsrpEvent::MessageNotDelivered`]. When a
//! success report was asked for, the message is delivered once success
//! REPORTs cover all its bytes; a failure REPORT fails it. A message is
//! never dropped silently: if the connection fails, every pending message
//! is reported as not delivered.
//!
//! Receiving: SEND chunks are answered per §7.2 (200; 481 when the first
//! To-Path URI is not this endpoint; 501 for unknown methods; 400 and 413
//! from the parser or for a message larger than
//! [`MsrpSessionConfig::max_message_size`]). Chunks are reassembled by
//! Message-ID in any order — or, for the content types of
//! [`BodyDelivery`], handed over as [`MsrpEvent::ChunkData`] as they arrive
//! so that a large file is never held in memory.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::message::{
    BuildError, ByteRange, Continuation, Event, FailureReport, Frame, Head, Header, Headers, Kind, Limits, Method,
    MsrpUri, ParseError, Parser, Status, SuccessReport, encode_end_line, is_valid_transaction_id, new_message_id,
    reason_phrase, transaction_id_for,
};
use super::ranges::ByteRanges;

/// How the bodies of received messages are handed to the application.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BodyDelivery {
    /// Every message is reassembled in memory (up to
    /// [`MsrpSessionConfig::max_message_size`]) and delivered whole in
    /// [`MsrpEvent::MessageReceived`].
    #[default]
    Reassemble,
    /// Every message is streamed: its bytes are delivered as
    /// [`MsrpEvent::ChunkData`] as they arrive and never held; no size limit.
    Stream,
    /// Messages whose Content-Type (without parameters, any case) is in the
    /// list are streamed, the others reassembled.
    StreamContentTypes(Vec<String>),
}

impl BodyDelivery {
    /// Whether a message of `content_type` is streamed.
    pub fn streams(&self, content_type: Option<&str>) -> bool {
        match self {
            BodyDelivery::Reassemble => false,
            BodyDelivery::Stream => true,
            BodyDelivery::StreamContentTypes(types) => {
                let Some(content_type) = content_type else { return false };
                let media = content_type.split(';').next().unwrap_or("").trim();
                types.iter().any(|t| t.trim().eq_ignore_ascii_case(media))
            }
        }
    }
}

/// Settings of an [`MsrpSession`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsrpSessionConfig {
    /// Largest body of one SEND chunk sent (default 64 KiB; at least 1).
    pub max_chunk_size: usize,
    /// How long a SEND chunk waits for its response before its message
    /// fails with 408 (default 30 s, RFC 4975 §7.1).
    pub transaction_timeout: Duration,
    /// Largest message reassembled in memory; a bigger one is refused with
    /// 413 (default 16 MiB). Streamed messages have no limit.
    pub max_message_size: u64,
    /// Most messages received in part at once; the first chunk of one
    /// more is refused with 413 (default 64).
    pub max_incoming_messages: usize,
    /// Which received messages are streamed.
    pub body_delivery: BodyDelivery,
    /// The content types accepted (`type/subtype`, `type/*` or `*`); a
    /// message of another type is refused with 415. Empty: any type.
    pub accept_types: Vec<String>,
    /// Line and header limits of the parser (its body limit is not used:
    /// chunk bodies are bounded by `max_message_size` or streamed).
    pub limits: Limits,
}

impl Default for MsrpSessionConfig {
    fn default() -> MsrpSessionConfig {
        MsrpSessionConfig {
            max_chunk_size: 64 * 1024,
            transaction_timeout: Duration::from_secs(30),
            max_message_size: 16 * 1024 * 1024,
            max_incoming_messages: 64,
            body_delivery: BodyDelivery::Reassemble,
            accept_types: Vec::new(),
            limits: Limits::default(),
        }
    }
}

impl MsrpSessionConfig {
    /// Whether a message of `content_type` is accepted (see
    /// [`MsrpSessionConfig::accept_types`]); a message without one (an
    /// empty SEND) always is.
    pub fn accepts(&self, content_type: Option<&str>) -> bool {
        let Some(content_type) = content_type else { return true };
        if self.accept_types.is_empty() {
            return true;
        }
        let media = content_type.split(';').next().unwrap_or("").trim();
        let major = media.split('/').next().unwrap_or("");
        self.accept_types.iter().map(|t| t.trim()).any(|t| {
            t == "*"
                || t.eq_ignore_ascii_case(media)
                || t.strip_suffix("/*").is_some_and(|prefix| prefix.eq_ignore_ascii_case(major))
        })
    }
}

/// What an [`MsrpSession`] reports to the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MsrpEvent {
    /// A received message is complete. For a streamed message the body is
    /// empty (its bytes came as [`MsrpEvent::ChunkData`]) and `streamed` is
    /// set.
    MessageReceived {
        /// The Message-ID.
        message_id: String,
        /// The Content-Type of its chunks, if any.
        content_type: Option<String>,
        /// The whole body (empty when streamed).
        body: Vec<u8>,
        /// The size of the message in bytes.
        size: u64,
        /// Whether the body was delivered as [`MsrpEvent::ChunkData`].
        streamed: bool,
        /// The headers of its first chunk that MSRP does not interpret
        /// (Content-ID, Content-Disposition, ...).
        headers: Vec<Header>,
    },
    /// A SEND chunk was received and accepted (progress).
    ChunkReceived {
        /// The Message-ID.
        message_id: String,
        /// The bytes the chunk carried (1-based, as in Byte-Range).
        byte_range: ByteRange,
        /// The size of the whole message, when known.
        total: Option<u64>,
    },
    /// Bytes of a streamed message, in the order they arrive (which need
    /// not be the order of the message).
    ChunkData {
        /// The Message-ID.
        message_id: String,
        /// The 0-based position of `data[0]` in the message.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// The sender aborted a message being received (`#`); its data so far
    /// is to be discarded.
    MessageAborted {
        /// The Message-ID.
        message_id: String,
    },
    /// A message being received was refused (too large, inconsistent
    /// chunks); the sender was told with `code`.
    MessageRefused {
        /// The Message-ID.
        message_id: String,
        /// The status code sent.
        code: u16,
    },
    /// A sent message reached the peer: its chunks were answered 200 and,
    /// when a success report was asked for, success REPORTs cover it. With
    /// `Failure-Report` `no` or `partial` and no success report it only
    /// means the message was written.
    MessageDelivered {
        /// The Message-ID.
        message_id: String,
    },
    /// A sent message failed: an error response, a failure REPORT, no
    /// response in time (408), or the connection failed (408).
    MessageNotDelivered {
        /// The Message-ID.
        message_id: String,
        /// The status code.
        code: u16,
        /// Its comment or reason phrase.
        reason: String,
    },
    /// Success REPORTs (or, without a success report asked for, 200
    /// responses) now cover more bytes of a message being sent (progress).
    ChunkDelivered {
        /// The Message-ID.
        message_id: String,
        /// The bytes the REPORT or response was about (1-based).
        byte_range: ByteRange,
        /// The end (0-based, exclusive: a byte count from the start of the
        /// message) of the bytes confirmed without a gap from the first
        /// byte sent; it only grows and reaches the end of what is sent.
        delivered: u64,
    },
    /// The response to a request sent with [`MsrpSession::send_request`]
    /// (NICKNAME, AUTH, ...); a 408 made up here when none came in time or
    /// the connection closed first.
    ResponseReceived {
        /// The transaction id of the request.
        transaction_id: String,
        /// The status code.
        code: u16,
        /// The comment after the code, if any.
        comment: Option<String>,
        /// The whole response (its headers: WWW-Authenticate, Use-Path,
        /// Expires, ...).
        head: Box<Head>,
    },
    /// The connection must be closed: the peer sent bytes that cannot be
    /// framed. Nothing more is read.
    Closed {
        /// What was wrong.
        reason: String,
    },
}

/// Why [`MsrpSession::send_message`] refused a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The Message-ID is not 1 to 32 RFC 4975 `ident` characters.
    #[error("invalid Message-ID")]
    MessageId,
    /// A message with this Message-ID is still being sent.
    #[error("a message with this Message-ID is pending")]
    DuplicateMessageId,
    /// The session is closed.
    #[error("the session is closed")]
    Closed,
    /// The SEND cannot be written (invalid Content-Type or path).
    #[error(transparent)]
    Build(#[from] BuildError),
    /// [`MsrpSession::send_request`] takes requests other than SEND.
    #[error("not a request other than SEND")]
    NotARequest,
    /// A request with this transaction id is pending.
    #[error("a request with this transaction id is pending")]
    DuplicateTransactionId,
    /// The range of a streamed message is not within its total.
    #[error("the byte range is not within the message")]
    Range,
}

/// Makes `head`'s transaction id usable for a request carrying `body`: a
/// new one when it is not a valid id or when its end-line occurs in the
/// body.
pub fn fix_transaction_id(head: &mut Head, body: &[u8]) {
    let mut end_line = Vec::with_capacity(7 + head.transaction_id.len());
    end_line.extend_from_slice(b"-------");
    end_line.extend_from_slice(head.transaction_id.as_bytes());
    if !is_valid_transaction_id(&head.transaction_id) || memchr::memmem::find(body, &end_line).is_some() {
        head.transaction_id = transaction_id_for(body);
    }
}

/// A message being sent: bytes `[start, end)` of a message of `total`
/// bytes (all of it for [`MsrpSession::send_message`]).
struct Outgoing {
    message_id: String,
    template: Head,
    /// Bytes given and not yet written: `buffer[consumed..]` starts at
    /// `written`.
    buffer: Vec<u8>,
    consumed: usize,
    start: u64,
    end: u64,
    total: u64,
    /// Where the next chunk starts (0-based).
    written: u64,
    /// Whether its body is given in pieces ([`MsrpSession::push_body`]).
    streamed: bool,
    /// Whether a chunk was written (an empty message has one).
    started: bool,
    /// Chunks written whose response is awaited.
    awaiting: usize,
    success_report: bool,
    failure_report: FailureReport,
    /// Bytes confirmed by success REPORTs (or, without success report, by
    /// 200 responses).
    confirmed: ByteRanges,
    /// The end of the bytes confirmed without a gap from `start`.
    delivered: u64,
}

impl Outgoing {
    fn fully_written(&self) -> bool {
        self.started && self.written >= self.end
    }

    /// Bytes given and not yet written.
    fn buffered(&self) -> usize {
        self.buffer.len() - self.consumed
    }

    /// Whether a chunk can be cut now: a whole chunk's bytes (or the rest
    /// of the message) are there.
    fn ready(&self, max_chunk_size: usize) -> bool {
        if self.fully_written() {
            return false;
        }
        let left = self.end - self.written;
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(max_chunk_size);
        self.buffered() >= want
    }
}

/// A message whose body is given in pieces, for
/// [`MsrpSession::send_streamed`]: a file read as the connection takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamedMessage {
    /// The Message-ID; `None` picks a new one.
    pub message_id: Option<String>,
    /// The Content-Type of its chunks.
    pub content_type: String,
    /// The bytes sent, 0-based, end excluded: its chunks carry Byte-Range
    /// `range.start + 1`-`end`/`total`. Starting after 0 resumes a
    /// message the peer has the beginning of.
    pub range: std::ops::Range<u64>,
    /// The size of the whole message.
    pub total: u64,
    /// Headers MSRP does not interpret (Content-Disposition, ...) for
    /// every chunk.
    pub headers: Vec<Header>,
    /// Whether to ask for success REPORTs (progress and delivery).
    pub success_report: bool,
    /// The Failure-Report header.
    pub failure_report: FailureReport,
}

/// A transaction awaiting its response.
struct Transaction {
    kind: TransactionKind,
    deadline: Instant,
}

enum TransactionKind {
    /// A SEND chunk of a message being sent: its bytes `[start, end)`.
    Chunk { message_id: String, start: u64, end: u64 },
    /// A request of [`MsrpSession::send_request`].
    Request { head: Box<Head> },
}

impl Transaction {
    fn message_id(&self) -> Option<&str> {
        match &self.kind {
            TransactionKind::Chunk { message_id, .. } => Some(message_id),
            TransactionKind::Request { .. } => None,
        }
    }
}

/// A message being received.
struct Incoming {
    content_type: Option<String>,
    headers: Vec<Header>,
    streamed: bool,
    /// The bytes from the start of the message on.
    body: Vec<u8>,
    /// Bytes received past a gap in `body`, by offset: kept apart until
    /// the message is complete, so that a chunk far into a message costs
    /// the memory it carries, not its offset.
    pieces: BTreeMap<u64, Vec<u8>>,
    received: ByteRanges,
    /// The message size, once known (a total, or the end of the `$` chunk).
    size: Option<u64>,
    /// Where its first chunk started (a message resumed in a new session
    /// starts past 0); bytes before are not waited for.
    origin: u64,
    last_seen: bool,
    /// The last SEND head, to address REPORTs.
    head: Head,
}

/// The SEND, REPORT, response or other frame being read.
enum Current {
    None,
    Send(Box<CurrentSend>),
    Other(Box<Head>),
}

struct CurrentSend {
    head: Head,
    message_id: String,
    /// 0-based position of the chunk's first byte.
    start: u64,
    /// Body bytes of this chunk read so far.
    read: u64,
    /// The status code this chunk will be answered with.
    code: u16,
}

/// How a message that is no longer tracked ended, to answer its late or
/// repeated chunks.
#[derive(Clone, Copy)]
enum Finished {
    Received,
    Refused(u16),
    Aborted,
}

/// How many finished incoming Message-IDs are remembered.
const FINISHED_MEMORY: usize = 1024;

/// One MSRP session endpoint on one connection. See the
/// [module documentation](self).
pub struct MsrpSession {
    config: MsrpSessionConfig,
    local_path: Vec<MsrpUri>,
    remote_path: Vec<MsrpUri>,
    parser: Parser,
    state: State,
}

/// Everything but the parser, so that a body slice borrowed from the parser
/// can be handled.
struct State {
    now: Option<Instant>,
    closed: bool,
    control: VecDeque<Vec<u8>>,
    events: VecDeque<MsrpEvent>,
    /// Messages being sent or whose delivery is awaited, in order.
    outgoing: VecDeque<Outgoing>,
    transactions: HashMap<String, Transaction>,
    incoming: HashMap<String, Incoming>,
    finished: HashMap<String, Finished>,
    finished_order: VecDeque<String>,
    current: Current,
    /// Where the round robin among messages being sent goes on.
    next_sender: usize,
}

impl std::fmt::Debug for MsrpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsrpSession")
            .field("local_path", &self.local_path)
            .field("remote_path", &self.remote_path)
            .field("closed", &self.state.closed)
            .field("outgoing", &self.state.outgoing.len())
            .field("incoming", &self.state.incoming.len())
            .finish()
    }
}

impl MsrpSession {
    /// A session endpoint. `local_path` is this endpoint's From-Path (its
    /// own URI last, the one incoming To-Paths must start with);
    /// `remote_path` the To-Path of sent requests (relays first, the peer
    /// last).
    pub fn new(local_path: Vec<MsrpUri>, remote_path: Vec<MsrpUri>, config: MsrpSessionConfig) -> MsrpSession {
        let mut limits = config.limits;
        limits.max_body = usize::MAX;
        MsrpSession {
            config: MsrpSessionConfig { max_chunk_size: config.max_chunk_size.max(1), ..config },
            local_path,
            remote_path,
            parser: Parser::new(limits),
            state: State {
                now: None,
                closed: false,
                control: VecDeque::new(),
                events: VecDeque::new(),
                outgoing: VecDeque::new(),
                transactions: HashMap::new(),
                incoming: HashMap::new(),
                finished: HashMap::new(),
                finished_order: VecDeque::new(),
                current: Current::None,
                next_sender: 0,
            },
        }
    }

    /// The settings.
    pub fn config(&self) -> &MsrpSessionConfig {
        &self.config
    }

    /// Whether the session is closed (the connection must be closed).
    pub fn is_closed(&self) -> bool {
        self.state.closed
    }

    /// Queues a message. `message_id` `None` picks a new one; the id is
    /// returned. Its chunks are produced by [`MsrpSession::poll_transmit`].
    pub fn send_message(
        &mut self,
        now: Instant,
        message_id: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
        success_report: bool,
        failure_report: FailureReport,
    ) -> Result<String, SendError> {
        let total = body.len() as u64;
        let message = StreamedMessage {
            message_id: message_id.map(str::to_owned),
            content_type: content_type.to_owned(),
            range: 0..total,
            total,
            headers: Vec::new(),
            success_report,
            failure_report,
        };
        self.queue_message(now, message, body, false)
    }

    /// Queues a message whose bytes `message.range` are given afterwards,
    /// in order, with [`MsrpSession::push_body`]; a chunk is cut only from
    /// bytes that are there. Progress comes as
    /// [`MsrpEvent::ChunkDelivered`]. The id is returned.
    pub fn send_streamed(&mut self, now: Instant, message: StreamedMessage) -> Result<String, SendError> {
        if message.range.start > message.range.end || message.range.end > message.total {
            return Err(SendError::Range);
        }
        self.queue_message(now, message, Vec::new(), true)
    }

    fn queue_message(
        &mut self,
        now: Instant,
        message: StreamedMessage,
        body: Vec<u8>,
        streamed: bool,
    ) -> Result<String, SendError> {
        self.state.now = Some(now);
        if self.state.closed {
            return Err(SendError::Closed);
        }
        let message_id = match message.message_id {
            Some(id) if id.len() <= 32 && is_valid_transaction_id(&format!("a{id}")) => id,
            Some(_) => return Err(SendError::MessageId),
            None => new_message_id(),
        };
        if self.state.outgoing.iter().any(|m| m.message_id == message_id) {
            return Err(SendError::DuplicateMessageId);
        }
        let mut template =
            Head::send(self.remote_path.clone(), self.local_path.clone(), &message_id, &message.content_type);
        template.headers.success_report = message.success_report.then_some(SuccessReport::Yes);
        template.headers.failure_report =
            (message.failure_report != FailureReport::Yes).then_some(message.failure_report);
        template.headers.other = message.headers;
        template.check()?;
        let std::ops::Range { start, end } = message.range;
        self.state.outgoing.push_back(Outgoing {
            message_id: message_id.clone(),
            template,
            buffer: body,
            consumed: 0,
            start,
            end,
            total: message.total,
            written: start,
            streamed,
            started: false,
            awaiting: 0,
            success_report: message.success_report,
            failure_report: message.failure_report,
            confirmed: ByteRanges::default(),
            delivered: start,
        });
        Ok(message_id)
    }

    /// Gives the next bytes of a message of [`MsrpSession::send_streamed`]
    /// (bytes beyond its range are dropped). `false` when the message is
    /// no longer being sent (delivered, failed or aborted).
    pub fn push_body(&mut self, message_id: &str, data: Vec<u8>) -> bool {
        let Some(message) = self.state.outgoing.iter_mut().find(|m| m.message_id == message_id && m.streamed) else {
            return false;
        };
        let room = message.end - message.written - message.buffered() as u64;
        let mut data = data;
        data.truncate(usize::try_from(room).unwrap_or(usize::MAX));
        if message.consumed == message.buffer.len() {
            message.buffer = data;
            message.consumed = 0;
        } else {
            if message.consumed > 0 {
                message.buffer.drain(..message.consumed);
                message.consumed = 0;
            }
            message.buffer.extend_from_slice(&data);
        }
        true
    }

    /// How many more bytes a message of [`MsrpSession::send_streamed`]
    /// wants to be given now: up to two chunks are held, fewer near its
    /// end. `None` when the message is no longer being sent.
    pub fn body_wanted(&self, message_id: &str) -> Option<usize> {
        let message = self.state.outgoing.iter().find(|m| m.message_id == message_id && m.streamed)?;
        let target = self.config.max_chunk_size.saturating_mul(2);
        let missing = message.end - message.written - message.buffered() as u64;
        let missing = usize::try_from(missing).unwrap_or(usize::MAX);
        Some(target.saturating_sub(message.buffered()).min(missing))
    }

    /// Whether a message is still being sent or its delivery awaited.
    pub fn is_sending(&self, message_id: &str) -> bool {
        self.state.outgoing.iter().any(|m| m.message_id == message_id)
    }

    /// Fails a message being sent (its body cannot be read, ...): like
    /// [`MsrpSession::abort`], then [`MsrpEvent::MessageNotDelivered`]
    /// with `code` and `reason`.
    pub fn fail_message(&mut self, message_id: &str, code: u16, reason: &str) {
        if self.abort(message_id) {
            self.state.events.push_back(MsrpEvent::MessageNotDelivered {
                message_id: message_id.to_owned(),
                code,
                reason: reason.to_owned(),
            });
        }
    }

    /// Sends a request other than SEND (NICKNAME, AUTH, ...) built by the
    /// caller: an empty To-Path becomes the session's remote path (give
    /// just the relay for AUTH), an empty From-Path its local path; `body`
    /// is a Content-Type and bytes. Its transaction id is kept (see
    /// [`fix_transaction_id`]) and returned; the response comes as
    /// [`MsrpEvent::ResponseReceived`] (408 after
    /// [`MsrpSessionConfig::transaction_timeout`] without one), unless
    /// the request says `Failure-Report: no`.
    pub fn send_request(
        &mut self,
        now: Instant,
        mut head: Head,
        body: Option<(String, Vec<u8>)>,
    ) -> Result<String, SendError> {
        self.state.now = Some(now);
        if self.state.closed {
            return Err(SendError::Closed);
        }
        match head.method() {
            None | Some(Method::Send) => return Err(SendError::NotARequest),
            Some(_) => {}
        }
        if head.headers.to_path.is_empty() {
            head.headers.to_path = self.remote_path.clone();
        }
        if head.headers.from_path.is_empty() {
            head.headers.from_path = self.local_path.clone();
        }
        let (content_type, body) = match body {
            Some((content_type, body)) => (Some(content_type), body),
            None => (None, Vec::new()),
        };
        if content_type.is_some() {
            head.headers.content_type = content_type;
        }
        fix_transaction_id(&mut head, &body);
        if self.state.transactions.contains_key(&head.transaction_id) {
            return Err(SendError::DuplicateTransactionId);
        }
        let frame = Frame::new(head, body, Continuation::Complete);
        let bytes = frame.to_bytes()?;
        let Frame { mut head, .. } = frame;
        let transaction_id = head.transaction_id.clone();
        if head.response_wanted(200) {
            head.headers.content_type = None;
            let deadline = now + self.config.transaction_timeout;
            let kind = TransactionKind::Request { head: Box::new(head) };
            self.state.transactions.insert(transaction_id.clone(), Transaction { kind, deadline });
        }
        self.state.control.push_back(bytes);
        Ok(transaction_id)
    }

    /// Aborts a message being sent: when some of its bytes were written, a
    /// chunk ending in `#` tells the peer. No event follows for it. Returns
    /// whether the message was pending.
    pub fn abort(&mut self, message_id: &str) -> bool {
        let Some(index) = self.state.outgoing.iter().position(|m| m.message_id == message_id) else {
            return false;
        };
        let Some(message) = self.state.remove_outgoing(index) else { return false };
        self.state.transactions.retain(|_, t| t.message_id() != Some(message_id));
        if message.started && message.written < message.end {
            let mut head = message.template.clone();
            head.transaction_id = transaction_id_for(b"");
            let total = message.total;
            let at = message.written;
            head.headers.byte_range = Some(ByteRange { start: at + 1, end: Some(at), total: Some(total) });
            let mut out = Vec::new();
            head.encode(true, &mut out);
            encode_end_line(&head.transaction_id, Continuation::Aborted, true, &mut out);
            self.state.control.push_back(out);
        }
        true
    }

    /// Takes bytes read from the connection, in any split.
    pub fn handle_bytes(&mut self, now: Instant, data: &[u8]) {
        self.state.now = Some(now);
        if self.state.closed {
            return;
        }
        self.parser.feed(data);
        loop {
            match self.parser.next_event() {
                Ok(None) => break,
                Ok(Some(Event::Head(head))) => {
                    self.state.on_head(*head, &self.config, &self.local_path);
                }
                Ok(Some(Event::Body(bytes))) => self.state.on_body(bytes, &self.config),
                Ok(Some(Event::End(continuation))) => self.state.on_end(continuation, &self.config),
                Err(error) => {
                    let fatal = error.is_fatal();
                    self.state.on_parse_error(&error);
                    if fatal {
                        break;
                    }
                }
            }
        }
    }

    /// Fails the transactions whose time is up (408).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.state.now = Some(now);
        let mut expired: Vec<(String, Instant)> = self
            .state
            .transactions
            .iter()
            .filter(|(_, t)| t.deadline <= now)
            .map(|(id, t)| (id.clone(), t.deadline))
            .collect();
        expired.sort_by_key(|(_, deadline)| *deadline);
        for (transaction_id, _) in expired {
            let Some(transaction) = self.state.transactions.remove(&transaction_id) else { continue };
            self.state.time_out(transaction_id, transaction, reason_phrase(408));
        }
    }

    /// The connection was lost: every pending message fails (408) and the
    /// session closes.
    pub fn handle_connection_lost(&mut self) {
        self.state.close("connection lost".to_owned());
    }

    /// The next bytes to write: responses and REPORTs first, then the next
    /// SEND chunk (cut when asked for, so that a slow connection does not
    /// hold many chunks; its response timer starts at the latest `now`
    /// given). `None` when there is nothing to write.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if let Some(bytes) = self.state.control.pop_front() {
            return Some(bytes);
        }
        if self.state.closed {
            return None;
        }
        self.state.next_chunk(&self.config)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<MsrpEvent> {
        self.state.events.pop_front()
    }

    /// When [`MsrpSession::handle_timeout`] is to be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.state.transactions.values().map(|t| t.deadline).min()
    }
}

impl State {
    fn close(&mut self, reason: String) {
        if self.closed {
            return;
        }
        self.closed = true;
        let pending: Vec<String> = self.outgoing.iter().map(|m| m.message_id.clone()).collect();
        for message_id in pending {
            self.fail_outgoing(&message_id, 408, "Connection closed");
        }
        let mut requests: Vec<(String, Transaction)> =
            self.transactions.drain().filter(|(_, t)| matches!(t.kind, TransactionKind::Request { .. })).collect();
        requests.sort_by_key(|(_, t)| t.deadline);
        for (transaction_id, transaction) in requests {
            self.time_out(transaction_id, transaction, "Connection closed");
        }
        self.events.push_back(MsrpEvent::Closed { reason });
    }

    /// Removes the message at `index`, keeping the round robin of
    /// [`State::next_chunk`] where it was: a message queued after another
    /// must not overtake it when one before them leaves.
    fn remove_outgoing(&mut self, index: usize) -> Option<Outgoing> {
        let message = self.outgoing.remove(index)?;
        if index < self.next_sender {
            self.next_sender -= 1;
        }
        Some(message)
    }

    fn outgoing_mut(&mut self, message_id: &str) -> Option<&mut Outgoing> {
        self.outgoing.iter_mut().find(|m| m.message_id == message_id)
    }

    fn fail_outgoing(&mut self, message_id: &str, code: u16, reason: &str) {
        let Some(index) = self.outgoing.iter().position(|m| m.message_id == message_id) else { return };
        self.remove_outgoing(index);
        self.transactions.retain(|_, t| t.message_id() != Some(message_id));
        self.events.push_back(MsrpEvent::MessageNotDelivered {
            message_id: message_id.to_owned(),
            code,
            reason: reason.to_owned(),
        });
    }

    /// Emits MessageDelivered when the message is done.
    fn check_delivered(&mut self, message_id: &str) {
        let Some(message) = self.outgoing_mut(message_id) else { return };
        if !message.fully_written() || message.awaiting > 0 {
            return;
        }
        if message.success_report && !message.confirmed.covers_range(message.start, message.end) {
            return;
        }
        if let Some(index) = self.outgoing.iter().position(|m| m.message_id == message_id) {
            self.remove_outgoing(index);
        }
        self.events.push_back(MsrpEvent::MessageDelivered { message_id: message_id.to_owned() });
    }

    /// Bytes `[start, end)` of a message were confirmed: progress.
    fn confirm(&mut self, message_id: &str, start: u64, end: u64, byte_range: ByteRange, max_chunk_size: usize) {
        let Some(message) = self.outgoing_mut(message_id) else { return };
        message.confirmed.insert(start.max(message.start), end.min(message.end));
        let delivered = message.confirmed.run_end(message.start);
        if delivered <= message.delivered {
            return;
        }
        message.delivered = delivered;
        // Progress of a message sent in one chunk says nothing more than
        // its delivery.
        if message.streamed || message.end - message.start > max_chunk_size as u64 {
            self.events.push_back(MsrpEvent::ChunkDelivered {
                message_id: message_id.to_owned(),
                byte_range,
                delivered,
            });
        }
    }

    fn next_chunk(&mut self, config: &MsrpSessionConfig) -> Option<Vec<u8>> {
        let now = self.now?;
        // Round robin among the messages that have a chunk ready, so that a
        // chat message is not held up by a file.
        let count = self.outgoing.len();
        let first = self.next_sender % count.max(1);
        let index = (0..count).map(|i| (first + i) % count).find(|&i| self.outgoing[i].ready(config.max_chunk_size))?;
        self.next_sender = index + 1;
        let message = &mut self.outgoing[index];
        let start = message.written;
        let len = usize::try_from(message.end - start).unwrap_or(usize::MAX).min(config.max_chunk_size);
        let end = start + len as u64;
        let piece = &message.buffer[message.consumed..message.consumed + len];
        let mut head = message.template.clone();
        head.transaction_id = transaction_id_for(piece);
        head.headers.byte_range = Some(ByteRange { start: start + 1, end: Some(end), total: Some(message.total) });
        let continuation = if end == message.end { Continuation::Complete } else { Continuation::More };
        let mut out = Vec::with_capacity(piece.len() + 512);
        head.encode(true, &mut out);
        out.extend_from_slice(piece);
        encode_end_line(&head.transaction_id, continuation, true, &mut out);
        message.consumed += len;
        if message.streamed && message.consumed == message.buffer.len() {
            message.buffer = Vec::new();
            message.consumed = 0;
        }
        message.written = end;
        message.started = true;
        let message_id = message.message_id.clone();
        if message.failure_report == FailureReport::Yes {
            message.awaiting += 1;
            let deadline = now + config.transaction_timeout;
            let kind = TransactionKind::Chunk { message_id: message_id.clone(), start, end };
            self.transactions.insert(head.transaction_id, Transaction { kind, deadline });
        }
        self.check_delivered(&message_id);
        Some(out)
    }

    fn remember_finished(&mut self, message_id: &str, how: Finished) {
        if self.finished.insert(message_id.to_owned(), how).is_none() {
            self.finished_order.push_back(message_id.to_owned());
            if self.finished_order.len() > FINISHED_MEMORY
                && let Some(old) = self.finished_order.pop_front()
            {
                self.finished.remove(&old);
            }
        }
    }

    fn send_head(&mut self, head: &Head) {
        let mut out = Vec::new();
        head.encode(false, &mut out);
        encode_end_line(&head.transaction_id, Continuation::Complete, false, &mut out);
        self.control.push_back(out);
    }

    fn respond(&mut self, request: &Head, code: u16) {
        if let Some(response) = request.response(code, Some(reason_phrase(code))) {
            self.send_head(&response);
        }
    }

    fn report(&mut self, request: &Head, status: Status, range: ByteRange) {
        match request.report(status, range) {
            Ok(report) => self.send_head(&report),
            Err(error) => tracing::debug!(%error, "MSRP REPORT not sent"),
        }
    }

    fn on_head(&mut self, head: Head, config: &MsrpSessionConfig, local_path: &[MsrpUri]) {
        self.current = Current::None;
        let Some(method) = head.method().cloned() else {
            self.current = Current::Other(Box::new(head));
            return;
        };
        if method == Method::Report {
            self.current = Current::Other(Box::new(head));
            return;
        }
        let for_us = match (head.headers.to_path.first(), local_path.last()) {
            (Some(to), Some(local)) => to.is_equivalent(local),
            _ => false,
        };
        if !for_us || method != Method::Send {
            self.current = Current::Other(Box::new(head));
            return;
        }
        let Some(message_id) = head.headers.message_id.clone() else {
            self.current = Current::Other(Box::new(head));
            return;
        };
        let range = head.headers.byte_range.unwrap_or(ByteRange { start: 1, end: None, total: None });
        let start = range.start - 1;
        let mut code = 200;
        let streamed = match self.incoming.get_mut(&message_id) {
            Some(message) => {
                if range.total.is_some() && message.size.is_some() && range.total != message.size {
                    code = 400;
                }
                // A total given only now must hold the bytes received so far.
                if range.total.is_some_and(|total| message.received.end() > total) {
                    code = 400;
                }
                message.streamed
            }
            None => match self.finished.get(&message_id) {
                Some(Finished::Received) => {
                    // A repeated chunk of a message already delivered.
                    code = 200;
                    false
                }
                Some(Finished::Refused(refused)) => {
                    code = *refused;
                    false
                }
                Some(Finished::Aborted) => {
                    code = 400;
                    false
                }
                None if self.incoming.len() >= config.max_incoming_messages => {
                    tracing::debug!(message_id, "MSRP SEND refused: too many messages being received");
                    code = 413;
                    false
                }
                None if !config.accepts(head.headers.content_type.as_deref()) => {
                    tracing::debug!(message_id, content_type = ?head.headers.content_type, "MSRP SEND refused: 415");
                    code = 415;
                    self.remember_finished(&message_id, Finished::Refused(415));
                    false
                }
                None => {
                    let streamed = config.body_delivery.streams(head.headers.content_type.as_deref());
                    self.incoming.insert(
                        message_id.clone(),
                        Incoming {
                            content_type: head.headers.content_type.clone(),
                            headers: head.headers.other.clone(),
                            streamed,
                            body: Vec::new(),
                            pieces: BTreeMap::new(),
                            received: ByteRanges::default(),
                            size: range.total,
                            origin: start,
                            last_seen: false,
                            head: head.clone(),
                        },
                    );
                    streamed
                }
            },
        };
        if code == 200
            && !streamed
            && self.incoming.contains_key(&message_id)
            && (range.total.is_some_and(|t| t > config.max_message_size)
                || range.end.is_some_and(|e| e > config.max_message_size))
        {
            code = 413;
        }
        self.current = Current::Send(Box::new(CurrentSend { head, message_id, start, read: 0, code }));
    }

    fn on_body(&mut self, bytes: &[u8], config: &MsrpSessionConfig) {
        let Current::Send(send) = &mut self.current else { return };
        if send.code != 200 || !self.incoming.contains_key(&send.message_id) {
            send.read = send.read.saturating_add(bytes.len() as u64);
            return;
        }
        let offset = send.start.saturating_add(send.read);
        send.read = send.read.saturating_add(bytes.len() as u64);
        // Bytes past the largest position, or past the chunk's own
        // Byte-Range end, cannot be placed.
        let last = send.head.headers.byte_range.and_then(|r| r.end);
        let Some(end) = offset.checked_add(bytes.len() as u64).filter(|&end| last.is_none_or(|last| end <= last))
        else {
            send.code = 400;
            return;
        };
        let Some(message) = self.incoming.get_mut(&send.message_id) else { return };
        if message.size.is_some_and(|size| end > size) {
            send.code = 400;
            return;
        }
        if message.streamed {
            self.events.push_back(MsrpEvent::ChunkData {
                message_id: send.message_id.clone(),
                offset,
                data: bytes.to_vec(),
            });
        } else {
            if end > config.max_message_size {
                send.code = 413;
                return;
            }
            // Bounded by max_message_size just above.
            let (offset, end) = (offset as usize, end as usize);
            if offset <= message.body.len() {
                if message.body.len() < end {
                    message.body.resize(end, 0);
                }
                message.body[offset..end].copy_from_slice(bytes);
            } else {
                let position = offset as u64;
                match message.pieces.range_mut(..=position).next_back() {
                    Some((&start, piece)) if start + piece.len() as u64 == position => piece.extend_from_slice(bytes),
                    _ => {
                        message.pieces.insert(position, bytes.to_vec());
                    }
                }
            }
        }
        message.received.insert(offset, end);
    }

    fn on_end(&mut self, continuation: Continuation, config: &MsrpSessionConfig) {
        match std::mem::replace(&mut self.current, Current::None) {
            Current::None => {}
            Current::Other(head) => self.on_other(head, config),
            Current::Send(send) => self.on_send_end(*send, continuation),
        }
    }

    fn on_other(&mut self, head: Box<Head>, config: &MsrpSessionConfig) {
        match &head.kind {
            Kind::Response { .. } => self.on_response(head, config.max_chunk_size),
            Kind::Request(Method::Report) => self.on_report(&head, config.max_chunk_size),
            Kind::Request(Method::Send) => self.respond(&head, 481),
            Kind::Request(_) => self.respond(&head, 501),
        }
    }

    fn on_response(&mut self, head: Box<Head>, max_chunk_size: usize) {
        let Kind::Response { code, comment } = &head.kind else { return };
        let (code, transaction_id) = (*code, head.transaction_id.as_str());
        let Some(transaction) = self.transactions.remove(transaction_id) else {
            tracing::debug!(transaction_id, code, "MSRP response to no pending transaction");
            return;
        };
        let (message_id, start, end) = match transaction.kind {
            TransactionKind::Request { .. } => {
                self.events.push_back(MsrpEvent::ResponseReceived {
                    transaction_id: head.transaction_id.clone(),
                    code,
                    comment: comment.clone(),
                    head,
                });
                return;
            }
            TransactionKind::Chunk { message_id, start, end } => (message_id, start, end),
        };
        if code == 200 {
            let mut confirms = false;
            if let Some(message) = self.outgoing_mut(&message_id) {
                message.awaiting = message.awaiting.saturating_sub(1);
                confirms = !message.success_report;
            }
            if confirms {
                let total = self.outgoing_mut(&message_id).map(|m| m.total);
                let byte_range = ByteRange { start: start + 1, end: Some(end), total };
                self.confirm(&message_id, start, end, byte_range, max_chunk_size);
            }
            self.check_delivered(&message_id);
        } else {
            let reason = comment.as_deref().unwrap_or_else(|| reason_phrase(code));
            self.fail_outgoing(&message_id, code, reason);
        }
    }

    /// A transaction got no response: its message fails, or its request
    /// gets a made-up 408.
    fn time_out(&mut self, transaction_id: String, transaction: Transaction, reason: &str) {
        match transaction.kind {
            TransactionKind::Chunk { message_id, .. } => self.fail_outgoing(&message_id, 408, reason),
            TransactionKind::Request { head: request } => {
                let response = Head {
                    transaction_id: transaction_id.clone(),
                    kind: Kind::Response { code: 408, comment: Some(reason.to_owned()) },
                    headers: Headers {
                        to_path: request.headers.from_path.clone(),
                        from_path: request.headers.to_path.first().cloned().into_iter().collect(),
                        ..Headers::default()
                    },
                };
                self.events.push_back(MsrpEvent::ResponseReceived {
                    transaction_id,
                    code: 408,
                    comment: Some(reason.to_owned()),
                    head: Box::new(response),
                });
            }
        }
    }

    fn on_report(&mut self, head: &Head, max_chunk_size: usize) {
        let (Some(message_id), Some(status)) = (&head.headers.message_id, &head.headers.status) else { return };
        let Some(message) = self.outgoing_mut(message_id) else {
            tracing::debug!(message_id, "MSRP REPORT for no pending message");
            return;
        };
        if status.code == 200 {
            let range = head.headers.byte_range.unwrap_or(ByteRange { start: 1, end: None, total: None });
            let end = range.end.unwrap_or(message.end).min(message.end);
            let message_id = message_id.clone();
            self.confirm(&message_id, range.start.saturating_sub(1), end, range, max_chunk_size);
            self.check_delivered(&message_id);
        } else {
            let reason = status.comment.clone().unwrap_or_else(|| reason_phrase(status.code).to_owned());
            let message_id = message_id.clone();
            self.fail_outgoing(&message_id, status.code, &reason);
        }
    }

    fn on_send_end(&mut self, send: CurrentSend, continuation: Continuation) {
        let CurrentSend { head, message_id, start, read, code, .. } = send;
        let tracked = self.incoming.contains_key(&message_id);
        if code != 200 {
            self.respond(&head, code);
            if let Some(message) = self.incoming.remove(&message_id) {
                // Bytes of it were accepted before: tell the sender the
                // message as a whole failed.
                if !message.received.is_empty() && head.failure_report_wanted(code) {
                    let end = start.saturating_add(read);
                    let range = ByteRange { start: 1, end: Some(end), total: message.size };
                    let range = if range.check().is_ok() { range } else { ByteRange::whole(end) };
                    self.report(&head, Status::new(code), range);
                }
                self.remember_finished(&message_id, Finished::Refused(code));
                self.events.push_back(MsrpEvent::MessageRefused { message_id, code });
            }
            return;
        }
        self.respond(&head, 200);
        if !tracked {
            return;
        }
        if continuation == Continuation::Aborted {
            self.incoming.remove(&message_id);
            self.remember_finished(&message_id, Finished::Aborted);
            self.events.push_back(MsrpEvent::MessageAborted { message_id });
            return;
        }
        let Some(message) = self.incoming.get_mut(&message_id) else { return };
        let total = head.headers.byte_range.and_then(|r| r.total).or(message.size);
        if message.size.is_none() {
            message.size = total;
        }
        if continuation == Continuation::Complete {
            message.last_seen = true;
            if message.size.is_none() {
                message.size = Some(start + read);
            }
        }
        let byte_range = ByteRange { start: start + 1, end: Some(start + read), total: message.size };
        message.head = head;
        // A streamed message gets a success REPORT per chunk: the sender
        // sees its progress.
        let report_chunk = message.streamed && read > 0 && message.head.success_report_wanted();
        let origin = if message.streamed { message.origin.min(start) } else { 0 };
        message.origin = origin;
        let complete =
            message.last_seen && message.size.is_some_and(|size| message.received.covers_range(origin, size));
        if report_chunk {
            let head = message.head.clone();
            self.report(&head, Status::new(200), byte_range);
        }
        self.events.push_back(MsrpEvent::ChunkReceived {
            message_id: message_id.clone(),
            byte_range,
            total: byte_range.total,
        });
        if !complete {
            return;
        }
        let Some(message) = self.incoming.remove(&message_id) else { return };
        let size = message.size.unwrap_or(0);
        if message.head.success_report_wanted() && !(message.streamed && size > origin) {
            self.report(
                &message.head,
                Status::new(200),
                ByteRange { start: origin + 1, end: Some(size), total: Some(size) },
            );
        }
        self.remember_finished(&message_id, Finished::Received);
        let mut body = message.body;
        // Every byte up to `size` came: the pieces fill the gaps.
        for (offset, piece) in message.pieces {
            let (offset, end) = (offset as usize, offset as usize + piece.len());
            if body.len() < end {
                body.resize(end, 0);
            }
            body[offset..end].copy_from_slice(&piece);
        }
        body.truncate(usize::try_from(size).unwrap_or(usize::MAX));
        self.events.push_back(MsrpEvent::MessageReceived {
            message_id,
            content_type: message.content_type,
            body,
            size,
            streamed: message.streamed,
            headers: message.headers,
        });
    }

    fn on_parse_error(&mut self, error: &ParseError) {
        self.current = Current::None;
        if let Some(response) = error.response() {
            self.send_head(&response);
        }
        if error.is_fatal() {
            self.close(error.to_string());
        }
    }
}

#[cfg(test)]
mod tests;
