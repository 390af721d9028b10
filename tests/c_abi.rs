//! Builds the C test programs `tests/c/test_spine.c` (the core API),
//! `tests/c/test_lookup.c` (DNS lookups), `tests/c/test_registration.c`
//! (account registration with a loopback registrar) and
//! `tests/c/test_session.c` (an audio call between two accounts, a WAV file
//! played into it and the recording analysed), `tests/c/test_chat.c` (MSRP
//! chat between two accounts, file selectors), `tests/c/test_file_transfer.c`
//! (a file sent between two accounts over MSRP, desktop sharing) against
//! `include/sipsimple.h` and the `libsipsimple` shared library built by this
//! package, runs each (with the address and undefined-behaviour sanitizers
//! when the C compiler has them) and checks that it succeeds. Also checks
//! that the header compiles cleanly as C and as C++.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const RUN_LIMIT: Duration = Duration::from_secs(180);

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("creating the scratch directory");
    dir
}

fn compiler(var: &str, default: &str) -> String {
    env::var(var).ok().filter(|c| !c.trim().is_empty()).unwrap_or_else(|| default.to_owned())
}

/// The directory holding the `libsipsimple` shared library built for this
/// test. This test binary lives in `target/<profile>/deps`; test builds leave
/// the library there (a plain `cargo build` also copies it one level up), so
/// the newer of the two copies is the one just built.
fn library_dir() -> PathBuf {
    let exe = env::current_exe().expect("locating the test binary");
    let deps = exe.parent().expect("the test binary's directory");
    let name = format!("{}sipsimple{}", env::consts::DLL_PREFIX, env::consts::DLL_SUFFIX);
    [Some(deps), deps.parent()]
        .into_iter()
        .flatten()
        .filter_map(|dir| {
            let modified = std::fs::metadata(dir.join(&name)).and_then(|m| m.modified()).ok()?;
            Some((modified, dir.to_path_buf()))
        })
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, dir)| dir)
        .unwrap_or_else(|| panic!("{name} not found in {} or its parent", deps.display()))
}

fn run(command: &mut Command, what: &str) -> std::process::Output {
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// True if `cc` can build and link a program with these sanitizer flags.
fn sanitizers_work(cc: &str, dir: &Path) -> bool {
    let source = dir.join("probe.c");
    std::fs::write(&source, "int main(void) { return 0; }\n").expect("writing the probe");
    Command::new(cc)
        .args(["-fsanitize=address,undefined", "-o"])
        .arg(dir.join("probe"))
        .arg(&source)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Builds `tests/c/<name>.c`, runs it and checks that it succeeds and
/// reports its checks as passed.
fn build_and_run(name: &str) {
    let root = manifest_dir();
    let lib_dir = library_dir();
    let work = scratch_dir(&format!("c_abi_{name}"));
    let cc = compiler("CC", "cc");
    let exe = work.join(name);

    let mut build = Command::new(&cc);
    build.args(["-Wall", "-Wextra", "-Werror", "-std=c11", "-g"]);
    if sanitizers_work(&cc, &work) {
        build.arg("-fsanitize=address,undefined").arg("-fno-omit-frame-pointer");
    } else {
        eprintln!("note: {cc} cannot build with -fsanitize=address,undefined; building without sanitizers");
    }
    build
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join(format!("tests/c/{name}.c")))
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .args(["-lsipsimple", "-lpthread"]);
    run(&mut build, "the C compiler");

    let temp = scratch_dir(&format!("c_abi_{name}_tmp"));
    let child = Command::new(&exe)
        .env("LD_LIBRARY_PATH", &lib_dir)
        // Rust statics (the handle table, the notification center) live for
        // the whole process and would be reported as leaks.
        .env("ASAN_OPTIONS", "detect_leaks=0")
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        .env("TMPDIR", &temp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(RUN_LIMIT) {
        Ok(output) => output.unwrap_or_else(|e| panic!("collecting the output of {name}: {e}")),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("{name} did not finish within {RUN_LIMIT:?}");
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{name} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}", output.status);
    assert!(stdout.contains("checks passed"), "unexpected output:\n{stdout}{stderr}");
}

#[test]
fn c_test_program_passes() {
    build_and_run("test_spine");
}

#[test]
fn c_dns_lookup_program_passes() {
    build_and_run("test_lookup");
}

#[test]
fn c_registration_program_passes() {
    build_and_run("test_registration");
}

#[test]
fn c_session_program_passes() {
    build_and_run("test_session");
}

#[test]
fn c_chat_program_passes() {
    build_and_run("test_chat");
}

#[test]
fn c_file_transfer_program_passes() {
    build_and_run("test_file_transfer");
}

#[test]
fn header_compiles_as_c_and_cxx() {
    let header = manifest_dir().join("include/sipsimple.h");
    let work = scratch_dir("c_abi_header");
    let cc = compiler("CC", "cc");
    let cxx = compiler("CXX", "c++");

    for std in ["-std=c99", "-std=c11"] {
        let source = work.join("header.c");
        std::fs::write(
            &source,
            format!("#include \"{}\"\nint main(void) {{ return SIPSIMPLE_RESULT_OK; }}\n", header.display()),
        )
        .expect("writing the C source");
        run(
            Command::new(&cc).args(["-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-Wpedantic", std]).arg(&source),
            &format!("{cc} {std} on the header"),
        );
    }
    for std in ["-std=c++11", "-std=c++17"] {
        let source = work.join("header.cpp");
        std::fs::write(
            &source,
            format!(
                "#include \"{}\"\nint main() {{ sipsimple_result r = SIPSIMPLE_RESULT_OK; return static_cast<int>(r); }}\n",
                header.display()
            ),
        )
        .expect("writing the C++ source");
        run(
            Command::new(&cxx).args(["-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-Wpedantic", std]).arg(&source),
            &format!("{cxx} {std} on the header"),
        );
    }
}
