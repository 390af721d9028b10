//! The stable C API of libsipsimple.
//!
//! Every function here is `extern "C"` and is declared in
//! `include/sipsimple.h`, which `build.rs` at the repository root generates
//! with cbindgen from these sources: the `///` comments below become the
//! header's documentation.
//!
//! The model (also written at the top of the header):
//!
//! - **Handles**: objects are named by `sipsimple_handle` values (64-bit,
//!   generation-checked). `0` is never valid. A stale handle (a freed queue, an
//!   account of an earlier application run), a garbage value or a handle of
//!   the wrong kind is reported as `SIPSIMPLE_RESULT_INVALID_HANDLE`; it never
//!   reaches another object.
//! - **Results**: every fallible function returns `sipsimple_result`. Out
//!   parameters come last and are written only on success (the
//!   buffer-filling functions also report the needed size on
//!   `SIPSIMPLE_RESULT_BUFFER_TOO_SMALL`). The message of the last failure on
//!   the calling thread is available from `sipsimple_last_error_message`.
//! - **Strings**: input strings are borrowed, NUL-terminated UTF-8; `NULL` is
//!   `SIPSIMPLE_RESULT_NULL_ARGUMENT` unless documented as optional. Strings
//!   returned through `char **` are owned by the caller and released with
//!   `sipsimple_string_free`.
//! - **Threads**: calls never block on the network. Callbacks run on the one
//!   notification delivery thread, one notification at a time, in posting
//!   order; the data passed to a callback is borrowed for the duration of the
//!   call.
//!
//! Safety contract shared by every function: each pointer argument is either
//! `NULL` (reported as an error unless documented as optional) or valid for
//! the access the function's documentation describes, for the duration of the
//! call. That contract is stated once here and in the header instead of in a
//! `# Safety` section on each of the functions.
#![deny(missing_docs)]
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub mod account;
pub mod application;
pub mod audio;
pub mod center;
pub mod chat;
pub mod desktop_sharing;
pub mod file_transfer;
pub mod lookup;
pub mod message;
pub mod notification;
mod objects;
pub mod queue;
pub mod result;
pub mod session;
pub mod settings;
pub mod storage;
pub mod stream;
pub mod strings;

/// A reference to a library object (application, storage, account, settings,
/// observer, queue...). `0` is never a valid handle; it means "none" where a
/// function documents that.
pub type sipsimple_handle = u64;

pub use result::sipsimple_result;

#[cfg(test)]
pub(crate) mod tests {
    /// Held by the unit tests that start the application: it is a process
    /// singleton, so they run one at a time.
    pub(crate) static APPLICATION: std::sync::Mutex<()> = std::sync::Mutex::new(());
}
