//! The workspace's pinned `uniffi-bindgen` (same uniffi version as the
//! scaffolding), used by `bindings/generate.sh`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
