pub mod transaction;
pub mod auth;
pub mod message;
pub mod transport;
pub mod engine;
