//! DNS lookups in the context of SIP, STUN, MSRP relays and XCAP
//! (`sipsimple.lookup`): [`DNSManager`], [`DNSLookup`] and [`Route`].
//!
//! Layers, bottom up:
//! - [`records`]: record data and the pure functions that filter and order
//!   it (NAPTR selection, RFC 2782 SRV ordering, XCAP TXT filtering);
//! - [`resolver`]: the [`Resolver`] trait, one query per call, with
//!   [`StaticResolver`] answering from memory; [`HickoryResolver`] is the
//!   implementation over hickory-resolver;
//! - [`rfc3263`]: the lookup procedures as plain async functions over a
//!   resolver ([`LookupContext`]);
//! - [`DNSLookup`] runs them on the [`DNSManager`]'s runtime and posts
//!   `DNSLookupDidSucceed`, `DNSLookupDidFail` and `DNSLookupTrace`.
//!
//! Wiring: whoever owns the runtime calls
//! `DNSManager::instance().start(runtime_handle)` (the runtime needs tokio
//! I/O and time) and `stop()` at shutdown.

pub mod dns_lookup;
pub mod hickory;
pub mod manager;
pub mod records;
pub mod resolver;
pub mod rfc3263;
pub mod route;
pub mod target;

pub use dns_lookup::{DNSLookup, LookupOptions, PendingLookup};
pub use hickory::{HickoryResolver, ResolverSetup};
pub use manager::DNSManager;
pub use resolver::{QueryError, Resolver, StaticResolver};
pub use rfc3263::{LookupContext, QueryTrace};
pub use route::{Route, Transport};
pub use target::LookupUri;

/// Why a lookup failed (`DNSLookupError` in the original). The text is what
/// `DNSLookupDidFail.error` carries.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// `supported_transports` was empty.
    #[error("No transports are supported")]
    NoTransports,
    /// `supported_transports` named transports other than udp, tcp, tls.
    #[error("Unknown transports: {0}")]
    UnknownTransports(String),
    /// The URI asks for a transport that is not supported (or conflicts with `sips`).
    #[error("{0}")]
    UnsupportedTransport(String),
    /// `lookup_service` was given a service other than `stun` or `msrprelay`.
    #[error("Unknown service: {0}")]
    UnknownService(String),
    /// The URI could not be used.
    #[error("Invalid URI: {0}")]
    InvalidUri(String),
    /// Another argument was not acceptable.
    #[error("Invalid argument: {0}")]
    InvalidArgument(String),
    /// DNS has no usable records.
    #[error("{0}")]
    NotFound(String),
    /// The nameservers did not answer within `timeout`/`lifetime`.
    #[error("{0}")]
    Timeout(String),
    /// The DNSManager is not started.
    #[error("DNSManager is not running")]
    NotRunning,
    /// There are no nameservers to ask.
    #[error("No nameservers are configured")]
    NoNameservers,
    /// The lookup was abandoned (its runtime stopped).
    #[error("DNS lookup was cancelled")]
    Cancelled,
    /// An internal failure.
    #[error("Internal error: {0}")]
    Internal(String),
}

impl From<LookupError> for crate::Error {
    fn from(e: LookupError) -> crate::Error {
        match e {
            LookupError::NoTransports
            | LookupError::UnknownTransports(_)
            | LookupError::UnsupportedTransport(_)
            | LookupError::UnknownService(_)
            | LookupError::InvalidUri(_)
            | LookupError::InvalidArgument(_) => crate::Error::InvalidArgument(e.to_string()),
            LookupError::NotFound(_) => crate::Error::NotFound(e.to_string()),
            LookupError::NotRunning | LookupError::NoNameservers | LookupError::Cancelled | LookupError::Timeout(_) => {
                crate::Error::InvalidState(e.to_string())
            }
            LookupError::Internal(m) => crate::Error::Internal(m),
        }
    }
}
