//! libsipsimple core: the SIP SIMPLE middleware engine.
//!
//! Layers: [`application`] starts and stops everything; [`notification`] is
//! the bus every component posts on; [`config`] and [`storage`] hold the
//! settings; [`account`] is the account registry. Every object handed to an
//! application is reachable through a generation-checked [`handle::Handle`].
//!
//! Threads: API calls never block on the network; protocol work runs on the
//! internal runtime thread ([`runtime`]); observers are called on the
//! notification delivery thread, one notification at a time, in posting order.
#![deny(missing_docs)]

pub mod account;
pub mod application;
pub mod audio;
mod base64;
pub mod config;
pub mod error;
pub mod handle;
pub mod lookup;
pub mod msrp;
pub mod notification;
pub mod notifications;
pub mod paging;
pub mod registration;
pub mod rtp;
pub mod runtime;
pub mod sdp;
pub mod session;
pub mod settings;
/// SIP signalling: messages, transactions and the layers above them.
pub mod sip;
pub mod storage;
pub mod streams;
pub mod value;

pub use account::{Account, AccountManager};
pub use application::SIPApplication;
pub use error::{Error, Result};
pub use handle::{Handle, ObjectKind};
pub use notification::{Notification, NotificationCenter, NotificationData, Observer};
pub use settings::SIPSimpleSettings;
pub use storage::{FileStorage, MemoryStorage, Storage};
pub use value::Value;
