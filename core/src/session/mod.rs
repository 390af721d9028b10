//! INVITE sessions: the sans-IO signalling state machine
//! ([`InviteSession`]), and the [`Session`] objects the [`SessionManager`]
//! runs on the SIP engine.

mod machine;
mod manager;

pub use machine::{
    ALLOW, IllegalState, InviteSession, Originator, Output, SessionEvent, SessionRoute, SessionState, SessionTimers,
};

pub use manager::{END_GRACE, Session, SessionManager};

#[cfg(test)]
mod tests;
