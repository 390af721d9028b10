//! The notifications the core posts, one typed struct each.
//!
//! Each struct's name is the notification name and its fields are the data
//! fields, exactly as the original middleware names them; posting goes
//! through [`NotificationCenter::post`], so a name or field can only be
//! spelled in one place. `timestamp` is added to every notification when it
//! is posted.

use crate::handle::Handle;
use crate::notification::{NotificationCenter, NotificationData};
use crate::value::Value;

/// A notification with a fixed name and typed data.
pub trait TypedNotification {
    /// The notification name.
    const NAME: &'static str;
    /// The data fields (without `timestamp`).
    fn into_data(self) -> NotificationData;
}

impl NotificationCenter {
    /// Posts a typed notification from `sender`.
    pub fn post<N: TypedNotification>(&self, sender: impl Into<Value>, notification: N) {
        self.post_notification(N::NAME, sender.into(), notification.into_data());
    }
}

macro_rules! notifications {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident { $( $(#[doc = $fdoc:literal])* $field:ident : $ty:ty ),* $(,)? }
    )*) => {
        $(
            $(#[doc = $doc])*
            #[derive(Clone, Debug, Default, PartialEq)]
            pub struct $name { $( $(#[doc = $fdoc])* pub $field: $ty ),* }

            impl TypedNotification for $name {
                const NAME: &'static str = stringify!($name);
                #[allow(unused_mut)]
                fn into_data(self) -> NotificationData {
                    let mut data = NotificationData::new();
                    $( data.insert(stringify!($field), self.$field); )*
                    data
                }
            }
        )*

        /// Every notification name the core posts.
        pub const ALL: &[&str] = &[$(stringify!($name)),*];
    };
}

notifications! {
    /// Configuration loaded and runtime running, before other components start. Sender: the application.
    SIPApplicationWillStart {}
    /// Every component has been started. Sender: the application.
    SIPApplicationDidStart {}
    /// `stop()` was called. Sender: the application.
    SIPApplicationWillEnd {}
    /// Every component has stopped. Sender: the application.
    SIPApplicationDidEnd {}

    /// A settings object was saved for the first time. Sender: the object.
    CFGSettingsObjectWasCreated {}
    /// A saved settings object changed. Sender: the object.
    CFGSettingsObjectDidChange {
        /// Setting path → `{old, new}`.
        modified: Value,
    }
    /// A settings object was deleted. Sender: the object.
    CFGSettingsObjectWasDeleted {}
    /// Writing the configuration failed. Sender: the settings object.
    CFGManagerSaveFailed {
        /// The object being saved or deleted.
        object: Value,
        /// `save` or `delete`.
        operation: String,
        /// What was being saved (path → `{old, new}`).
        modified: Value,
        /// The error, as text.
        exception: String,
    }
    /// A stored setting could not be loaded; it keeps its default. Sender: the ConfigurationManager.
    CFGManagerLoadFailed {
        /// The setting path.
        attribute: String,
        /// The object id.
        container: String,
        /// Why it was refused.
        error: String,
    }

    /// An account became available (also when loaded at start). Sender: the AccountManager.
    SIPAccountManagerDidAddAccount {
        /// The account.
        account: Handle,
    }
    /// An account was deleted. Sender: the AccountManager.
    SIPAccountManagerDidRemoveAccount {
        /// The account.
        account: Handle,
    }
    /// The default account changed. Sender: the AccountManager.
    SIPAccountManagerDidChangeDefaultAccount {
        /// The previous default, if any.
        old_account: Option<Handle>,
        /// The new default, if any.
        account: Option<Handle>,
    }
    /// The account is about to activate. Sender: the account.
    SIPAccountWillActivate {}
    /// The account is active (enabled and the SIP engine running). Sender: the account.
    SIPAccountDidActivate {}
    /// The account is about to deactivate. Sender: the account.
    SIPAccountWillDeactivate {}
    /// The account is inactive (disabled, deleted or the application stopping). Sender: the account.
    SIPAccountDidDeactivate {}
    /// The account is about to register for the first time. Sender: the account.
    SIPAccountWillRegister {}
    /// The account is about to refresh its registration. Sender: the account.
    SIPAccountRegistrationWillRefresh {}
    /// A registrar answered a REGISTER. Sender: the account.
    SIPAccountRegistrationGotAnswer {
        /// The status code (408 when it did not answer in time).
        code: i64,
        /// The reason phrase.
        reason: String,
        /// The route used (a map with `address`, `port`, `transport`, `tls_name`, `uri`).
        registrar: Value,
    }
    /// The account is registered (posted after every refresh too). Sender: the account.
    SIPAccountRegistrationDidSucceed {
        /// The Contact registered, as the registrar returned it.
        contact_header: String,
        /// Every Contact registered for the address of record.
        contact_header_list: Vec<String>,
        /// Seconds the registration lasts.
        expires: i64,
        /// The route used (a map with `address`, `port`, `transport`, `tls_name`, `uri`).
        registrar: Value,
    }
    /// Registering failed; it is tried again after `retry_after`. Sender: the account.
    SIPAccountRegistrationDidFail {
        /// What went wrong.
        error: String,
        /// Seconds until the next attempt.
        retry_after: f64,
    }
    /// The account unregistered. Sender: the account.
    SIPAccountRegistrationDidEnd {}
    /// Unregistering failed. Sender: the account.
    SIPAccountRegistrationDidNotEnd {
        /// The status code (408 when the registrar did not answer in time).
        code: i64,
        /// The reason phrase.
        reason: String,
    }
    /// A new incoming session (an INVITE arrived). Sender: the Session.
    SIPSessionNewIncoming {
        /// The streams the peer proposed.
        streams: Value,
    }
    /// `connect()` was called, before the peer is contacted. Sender: the Session.
    SIPSessionNewOutgoing {
        /// The streams offered.
        streams: Value,
    }
    /// The peer is ringing (180). Sender: the Session.
    SIPSessionGotRingIndication {}
    /// A provisional response to our (re-)INVITE. Sender: the Session.
    SIPSessionGotProvisionalResponse {
        /// Status code.
        code: i64,
        /// Reason phrase.
        reason: String,
    }
    /// The INVITE got its final answer; the ACK follows. Sender: the Session.
    SIPSessionWillStart {}
    /// The session is established. Sender: the Session.
    SIPSessionDidStart {
        /// The active streams.
        streams: Value,
    }
    /// The session failed before it started; nothing follows. Sender: the Session.
    SIPSessionDidFail {
        /// `local` or `remote`.
        originator: String,
        /// The SIP status code (0 when none applies).
        code: i64,
        /// The SIP reason phrase.
        reason: String,
        /// Why, in words (`user_request`, `missing ACK`...).
        failure_reason: String,
    }
    /// The session is about to end. Sender: the Session.
    SIPSessionWillEnd {
        /// Who ends it: `local` or `remote`.
        originator: String,
    }
    /// The session ended. Sender: the Session.
    SIPSessionDidEnd {
        /// Who ended it: `local` or `remote`.
        originator: String,
        /// Why (`user_request`, or an error).
        end_reason: String,
    }
    /// A side proposed changing the streams. Sender: the Session.
    SIPSessionGotProposal {
        /// Who proposed.
        originator: String,
        /// The proposed streams.
        streams: Value,
    }
    /// A proposal was rejected (487 when cancelled). Sender: the Session.
    SIPSessionGotRejectProposal {
        /// Who proposed.
        originator: String,
        /// Status code.
        code: i64,
        /// Reason phrase.
        reason: String,
        /// The rejected streams.
        streams: Value,
    }
    /// A proposal was accepted. Sender: the Session.
    SIPSessionGotAcceptProposal {
        /// Who proposed.
        originator: String,
        /// The accepted streams.
        streams: Value,
        /// The streams originally proposed.
        proposed_streams: Value,
    }
    /// A proposal failed for an internal reason (a stream that could not
    /// be set up). Sender: the Session.
    SIPSessionHadProposalFailure {
        /// The error.
        failure_reason: String,
        /// The streams of the proposal.
        streams: Value,
    }
    /// Streams were added or removed: use this to know when a stream can be
    /// used. Sender: the Session.
    SIPSessionDidRenegotiateStreams {
        /// `add` or `remove`.
        action: String,
        /// The streams added or removed.
        streams: Value,
    }
    /// The hold state changed, by either side. Sender: the Session.
    SIPSessionDidChangeHoldState {
        /// Who requested it: `local` or `remote`.
        originator: String,
        /// True if at least one stream is on hold (by the originator).
        on_hold: bool,
        /// True if some stream is on hold while another hold-capable one is not.
        partial: bool,
    }
    /// A transaction of the session's dialog completed. Sender: the Session.
    SIPSessionDidProcessTransaction {
        /// Who started it.
        originator: String,
        /// The request method.
        method: String,
        /// The final status code.
        code: i64,
        /// The reason phrase.
        reason: String,
        /// INVITE transactions: whether the ACK arrived (`"unknown"` otherwise).
        ack_received: Value,
    }
    /// A media stream is ready to be offered or answered (`initialize` succeeded). Sender: the stream.
    MediaStreamDidInitialize {}
    /// A media stream started (its media flows). Sender: the stream.
    MediaStreamDidStart {}
    /// A media stream method failed, or the stream failed while running. Sender: the stream.
    MediaStreamDidFail {
        /// What was going on: `initialize`, `start`, `update` or `media`.
        context: String,
        /// Why, in words.
        reason: String,
    }
    /// `end()` was called on a media stream. Sender: the stream.
    MediaStreamWillEnd {}
    /// A media stream ended (its transport is closed). Sender: the stream.
    MediaStreamDidEnd {}
    /// The hold state of an audio stream changed. Sender: the AudioStream.
    AudioStreamDidChangeHoldState {
        /// Who changed it: `local` or `remote`.
        originator: String,
        /// The new state, from the originator's point of view.
        on_hold: bool,
    }
    /// An audio stream is about to start recording. Sender: the AudioStream.
    AudioStreamWillStartRecordingAudio {
        /// The WAV file (full path).
        filename: String,
    }
    /// An audio stream started recording. Sender: the AudioStream.
    AudioStreamDidStartRecordingAudio {
        /// The WAV file (full path).
        filename: String,
    }
    /// An audio stream is about to stop recording. Sender: the AudioStream.
    AudioStreamWillStopRecordingAudio {
        /// The WAV file (full path).
        filename: String,
    }
    /// An audio stream stopped recording (the file is complete). Sender: the AudioStream.
    AudioStreamDidStopRecordingAudio {
        /// The WAV file (full path).
        filename: String,
    }
    /// The RTP parameters of an audio stream (codec, sample rate, addresses) changed. Sender: the AudioStream.
    AudioStreamDidChangeRTPParameters {}
    /// A DTMF digit arrived (RFC 4733 telephone event). Sender: the AudioStream.
    AudioStreamGotDTMF {
        /// The digit: one of `0-9`, `*`, `#`, `A-D`.
        digit: String,
    }
    /// No RTP arrived within the `rtp.timeout` setting. Sender: the AudioStream.
    AudioStreamDidTimeout {}
    /// A chat message arrived (CPIM unwrapped). Sender: the ChatStream.
    ChatStreamGotMessage {
        /// The message (`ChatMessage` or `CPIMMessage`): `content`, `content_type`, `charset`, `sender`,
        /// `recipients`, `courtesy_recipients`, `subject`, `timestamp`, `required`, `additional_headers`.
        message: Value,
    }
    /// A chat message was handed to the MSRP connection. Sender: the ChatStream.
    ChatStreamDidSendMessage {
        /// The message sent: `message_id`, `msrp_message_id`, `content_type`.
        message: Value,
    }
    /// The peer's success report covered a chat message. Sender: the ChatStream.
    ChatStreamDidDeliverMessage {
        /// The id `send_message` returned.
        message_id: String,
        /// Always 200.
        code: i64,
        /// The reason phrase.
        reason: String,
        /// The MSRP report (not exposed yet: null).
        chunk: Value,
    }
    /// A chat message failed (error response, failure report, timeout or lost connection). Sender: the ChatStream.
    ChatStreamDidNotDeliverMessage {
        /// The id `send_message` returned.
        message_id: String,
        /// The MSRP status code.
        code: i64,
        /// The reason phrase or comment.
        reason: String,
        /// The MSRP response or report (not exposed yet: null).
        chunk: Value,
    }
    /// The peer's is-composing indication arrived. Sender: the ChatStream.
    ChatStreamGotComposingIndication {
        /// `active` or `idle`.
        state: String,
        /// Seconds within which an `active` state is repeated, or null.
        refresh: Value,
        /// When the peer was last active, or null.
        last_active: Value,
        /// The kind of content being composed, or null.
        content_type: Value,
        /// Who is composing (`uri`, `display_name`).
        sender: Value,
        /// To whom (CPIM `To`), a list.
        recipients: Value,
    }
    /// The peer accepted our nickname (RFC 7701). Sender: the ChatStream.
    ChatStreamDidSetNickname {
        /// The nickname.
        nickname: String,
        /// The MSRP response (not exposed yet: null).
        response: Value,
    }
    /// The peer refused our nickname or did not answer. Sender: the ChatStream.
    ChatStreamDidNotSetNickname {
        /// The nickname.
        nickname: String,
        /// The MSRP status code.
        code: i64,
        /// The reason phrase.
        reason: String,
        /// The MSRP response (not exposed yet: null).
        response: Value,
    }
    /// Part of an outgoing file was delivered (success report). Sender: the FileTransferStream.
    FileTransferStreamDidDeliverChunk {
        /// The MSRP Message-ID of the transfer.
        message_id: String,
        /// The MSRP report (not exposed yet: null).
        chunk: Value,
        /// Always 200.
        code: i64,
        /// The reason phrase.
        reason: String,
        /// Bytes of the file the peer has confirmed so far.
        transferred_bytes: i64,
        /// The size of the file.
        file_size: i64,
    }
    /// Part of an outgoing file failed (error response, failure report, lost connection). Sender: the FileTransferStream.
    FileTransferStreamDidNotDeliverChunk {
        /// The MSRP Message-ID of the transfer.
        message_id: String,
        /// The MSRP response or report (not exposed yet: null).
        chunk: Value,
        /// The MSRP status code.
        code: i64,
        /// The reason phrase or comment.
        reason: String,
    }
    /// The transfer finished, in either direction. Sender: the FileTransferStream.
    FileTransferStreamDidFinish {}
    /// File data arrived on an incoming transfer. Sender: the FileTransferStream.
    FileTransferStreamGotChunk {
        /// The bytes of this part.
        content: Value,
        /// The file's content type.
        content_type: String,
        /// Bytes of the file received so far.
        transferred_bytes: i64,
        /// The size of the file.
        file_size: i64,
    }
    /// RFB data arrived from the peer for an internal handler. Sender: the handler (as in the original).
    DesktopSharingStreamGotData {
        /// The RFB bytes.
        data: Value,
    }
    /// A desktop sharing handler failed, which makes its stream fail. Sender: the handler.
    DesktopSharingHandlerDidFail {
        /// `connecting`, `reading` or `sending`.
        context: String,
        /// The failure, as text.
        failure: String,
        /// Why.
        reason: String,
    }
    /// An MSRP message was sent or received (only while `logs.trace_msrp` is on). Sender: the MSRP transport (null).
    MSRPTransportTrace {
        /// `incoming` or `outgoing`.
        direction: String,
        /// The MSRP message, as text (bodies that are not text are elided).
        data: String,
    }
    /// A message of the MSRP layer's log (only while `logs.trace_msrp` is on). Sender: none.
    MSRPLibraryLog {
        /// The text.
        message: String,
        /// `DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`.
        level: String,
    }
    /// A DNS lookup found its result. Sender: the DNSLookup.
    DNSLookupDidSucceed {
        /// In the form of the method called: a list of routes (maps with
        /// `address`, `port`, `transport`, `tls_name`, `uri`) for
        /// `lookup_sip_proxy`, a list of `[address, port]` for
        /// `lookup_service`, a list of URLs for `lookup_xcap_server`.
        result: Value,
    }
    /// A DNS lookup failed. Sender: the DNSLookup.
    DNSLookupDidFail {
        /// Why, as text.
        error: String,
    }
    /// One DNS query of a lookup was answered or failed. Sender: the DNSLookup.
    DNSLookupTrace {
        /// `NAPTR`, `SRV`, `A`, `AAAA` or `TXT`.
        query_type: String,
        /// The name queried.
        query_name: String,
        /// The nameservers used (list of text).
        nameservers: Value,
        /// The records in zone-file form (list of text); None on error.
        answer: Value,
        /// Why the query failed; None on success.
        error: Option<String>,
        /// The lookup method: `lookup_sip_proxy`, `lookup_service` or `lookup_xcap_server`.
        context: String,
        /// The service, for `lookup_service`; None otherwise.
        service: Option<String>,
        /// The URI being looked up, without its user part.
        uri: String,
    }
    /// The DNSManager set its nameservers for the first time (at start). Sender: the DNSManager.
    DNSResolverDidInitialize {
        /// The nameservers (list of text: `1.2.3.4`, or `1.2.3.4:5353` off port 53).
        nameservers: Value,
    }
    /// The DNSManager's nameservers changed. Sender: the DNSManager.
    DNSNameserversDidChange {
        /// The new nameservers (list of text).
        nameservers: Value,
    }

    /// A SIP message was sent or received (only while `logs.trace_sip` is on). Sender: the Engine.
    SIPEngineSIPTrace {
        /// True for a received message.
        received: bool,
        /// `udp`, `tcp` or `tls`.
        transport: String,
        /// Source IP.
        source_ip: String,
        /// Source port.
        source_port: i64,
        /// Destination IP.
        destination_ip: String,
        /// Destination port.
        destination_port: i64,
        /// The message text.
        data: String,
    }
    /// A line of the SIP engine's log (with `logs.trace_pjsip` on, up to
    /// `logs.pjsip_level`). Sender: the Engine.
    SIPEngineLog {
        /// 1 error, 2 warning, 3 info, 4 debug, 5 trace.
        level: i64,
        /// The log line.
        message: String,
    }
    /// A MESSAGE request arrived (paging-mode instant message). Sender: the Engine.
    SIPEngineGotMessage {
        /// The Request-URI.
        request_uri: String,
        /// The From header value.
        from_header: String,
        /// The To header value.
        to_header: String,
        /// The body's type (`type/subtype`).
        content_type: String,
        /// The body, as text.
        body: String,
        /// Every header as a `[name, value]` pair.
        headers: Value,
    }
    /// The TLS transport could not start; the engine runs without it. Sender: the application.
    SIPApplicationFailedToStartTLS {
        /// Why.
        error: String,
    }
    /// An audio port's slots changed; bridges holding it reconnect it.
    /// Sender: the port (AudioDevice, AudioBridge, WavePlayer, WaveRecorder, AudioStream).
    AudioPortDidChangeSlots {
        /// Whether `consumer_slot` changed.
        consumer_slot_changed: bool,
        /// Whether `producer_slot` changed.
        producer_slot_changed: bool,
        /// The consumer slot before (None: it consumed nothing).
        old_consumer_slot: Option<u32>,
        /// The consumer slot now.
        new_consumer_slot: Option<u32>,
        /// The producer slot before (None: it produced nothing).
        old_producer_slot: Option<u32>,
        /// The producer slot now.
        new_producer_slot: Option<u32>,
    }
    /// The first play after `start()` began. Sender: the WavePlayer.
    WavePlayerDidStart {}
    /// Every loop was played, or `stop()` was called. Sender: the WavePlayer.
    WavePlayerDidEnd {}
    /// The file cannot be played (missing, not a WAV file, unsupported format). Sender: the WavePlayer.
    WavePlayerDidFail {
        /// Why, as text.
        error: String,
    }
    /// A paging-mode MESSAGE was accepted (2xx). Sender: the Message.
    SIPMessageDidSucceed {
        /// The status code.
        code: i64,
        /// The reason phrase.
        reason: String,
    }
    /// A paging-mode MESSAGE failed (a negative response, a timeout or no route). Sender: the Message.
    SIPMessageDidFail {
        /// The status code (408 on timeout, 0 when nothing was sent).
        code: i64,
        /// The reason phrase or the error.
        reason: String,
    }
}

impl Default for Handle {
    fn default() -> Self {
        Handle::from_raw(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_fields_are_spelled_as_in_the_original() {
        let data = SIPAccountManagerDidChangeDefaultAccount { old_account: None, account: Some(Handle::from_raw(7)) }
            .into_data();
        assert_eq!(data.get("old_account"), Some(&Value::Null));
        assert_eq!(data.get("account"), Some(&Value::Object(Handle::from_raw(7))));
        assert_eq!(SIPApplicationDidStart::NAME, "SIPApplicationDidStart");
        assert!(ALL.contains(&"CFGSettingsObjectDidChange"));
    }
}
