pub mod auth;
pub mod dialog;
pub mod engine;
pub mod message;
pub mod transaction;
pub mod transport;
