pub mod auth;
pub mod engine;
pub mod message;
pub mod transaction;
pub mod transport;
