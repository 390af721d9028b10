//! Account registration: the sans-IO [`Registration`] state machine and
//! the driver that runs it for an active account.
//!
//! An account that is enabled, has `sip.register` on and a running SIP
//! engine registers with the registrar of its domain (through the outbound
//! proxy when one is set, otherwise through the routes RFC 3263 DNS finds),
//! keeps the registration refreshed, retries with back-off when it fails,
//! and unregisters when it is deactivated or the application stops.

mod driver;
mod machine;

pub(crate) use driver::Registrar;
pub use machine::{Event, Output, Registration, RegistrationConfig, RouteTarget, refresh_delay};

#[cfg(test)]
mod tests;
