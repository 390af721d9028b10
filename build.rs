//! Generates `include/sipsimple.h` from the `extern "C"` API in `ffi/src`
//! with cbindgen (settings in `cbindgen.toml`). The header is committed; it is
//! rewritten only when its content changes, so builds leave the tree clean.

use std::path::{Path, PathBuf};
use std::{env, fs, process};

fn fail(message: String) -> ! {
    eprintln!("error: {message}");
    process::exit(1);
}

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let ffi_src = root.join("ffi").join("src");
    let config_path = root.join("cbindgen.toml");
    let header_path = root.join("include").join("sipsimple.h");
    println!("cargo:rerun-if-changed={}", ffi_src.display());
    println!("cargo:rerun-if-changed={}", config_path.display());
    println!("cargo:rerun-if-changed=build.rs");

    let config = cbindgen::Config::from_file(&config_path)
        .unwrap_or_else(|e| fail(format!("cannot read {}: {e}", config_path.display())));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(ffi_src.join("lib.rs"))
        .generate()
        .unwrap_or_else(|e| fail(format!("cbindgen cannot generate the C header: {e}")));
    let mut text = Vec::new();
    bindings.write(&mut text);
    write_if_changed(&header_path, &text);
}

fn write_if_changed(path: &Path, content: &[u8]) {
    if fs::read(path).is_ok_and(|old| old == content) {
        return;
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).unwrap_or_else(|e| fail(format!("cannot create {}: {e}", dir.display())));
    }
    fs::write(path, content).unwrap_or_else(|e| fail(format!("cannot write {}: {e}", path.display())));
}
