//! INVITE sessions: the sans-IO signalling state machine
//! ([`InviteSession`]) the `Session` object drives with its streams' SDP.

mod machine;

pub use machine::{
    ALLOW, IllegalState, InviteSession, Originator, Output, SessionEvent, SessionRoute, SessionState, SessionTimers,
};

#[cfg(test)]
mod tests;
