//! libsipsimple: the SIP SIMPLE client SDK as one shared library.
//!
//! This crate only links the layers together so that `libsipsimple.so`
//! (cdylib) and `libsipsimple.a` (staticlib) export both the stable C API of
//! [`sipsimple_ffi`] (declared in `include/sipsimple.h`) and the uniffi
//! scaffolding of [`sipsimple_uniffi`] used by the Swift and Kotlin bindings.
#![deny(missing_docs)]

pub use sipsimple_ffi;
pub use sipsimple_uniffi;
