//! Builds and runs the C conformance programs in `tests/c/` against the
//! library built by `make` (`build/libvirt.so.0`, or `$VIRT_EVENTS_LIBDIR`).
//!
//! Each program is compiled with `-std=c11 -Wall -Wextra -Werror` against our
//! generated headers in `include/`, run with stdin from /dev/null, and must
//! exit 0.  Each prints one TAP-like `ok N - ...` / `not ok N - ...` line per
//! check, which is shown when the test fails.
//!
//! * `VIRT_EVENTS_LIBDIR=<dir>`: use the library in `<dir>` instead of `build/`.
//! * `VIRT_EVENTS_VALGRIND=1`: run every program under valgrind (definite
//!   leaks and memory errors fail the test).
//!
//! `drop_in_binary` compiles a program against the *system* libvirt headers
//! and library (package `libvirt-dev`) and checks that, with
//! `LD_LIBRARY_PATH` pointing at our build, the binary runs on our library.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn libdir() -> PathBuf {
    match std::env::var_os("VIRT_EVENTS_LIBDIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => crate_root().join("build"),
    }
}

/// The library must exist: a missing build is a failure, not a skip.
fn require_library() -> PathBuf {
    let dir = libdir();
    let lib = dir.join("libvirt.so.0");
    assert!(
        lib.exists(),
        "{} not found: run `make` in {} first (or set VIRT_EVENTS_LIBDIR)",
        lib.display(),
        crate_root().display()
    );
    dir
}

fn valgrind_enabled() -> bool {
    std::env::var("VIRT_EVENTS_VALGRIND")
        .map(|v| v == "1")
        .unwrap_or(false)
}

fn c_compiler() -> PathBuf {
    let triple = format!(
        "{}-unknown-{}-gnu",
        std::env::consts::ARCH,
        std::env::consts::OS
    );
    cc::Build::new()
        .cargo_metadata(false)
        .target(&triple)
        .host(&triple)
        .opt_level(0)
        .debug(false)
        .get_compiler()
        .path()
        .to_path_buf()
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c_programs");
    std::fs::create_dir_all(&dir).expect("create the output directory");
    dir
}

fn show(out: &Output) -> String {
    format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// How the program is compiled: against our headers/library, or against the
/// system's libvirt-dev (for the drop-in test).
enum Flavor {
    Ours,
    System,
}

fn compile(name: &str, flavor: Flavor, lib: &Path) -> PathBuf {
    let src = crate_root()
        .join("tests")
        .join("c")
        .join(format!("{name}.c"));
    assert!(src.exists(), "missing C source {}", src.display());
    let suffix = match flavor {
        Flavor::Ours => "",
        Flavor::System => "-system",
    };
    let exe = out_dir().join(format!("{name}{suffix}"));
    let mut cmd = Command::new(c_compiler());
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"]);
    if let Flavor::Ours = flavor {
        cmd.arg(format!("-I{}", crate_root().join("include").display()));
    }
    cmd.arg(&src).arg("-o").arg(&exe);
    if let Flavor::Ours = flavor {
        cmd.arg(format!("-L{}", lib.display()));
    }
    cmd.arg("-lvirt");
    if let Flavor::Ours = flavor {
        cmd.arg(format!("-Wl,-rpath,{}", lib.display()));
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler: {e}"));
    assert!(
        out.status.success(),
        "compiling {} failed ({:?}):\n{}",
        src.display(),
        cmd,
        show(&out)
    );
    exe
}

/// Run `exe` with stdin from /dev/null and LD_LIBRARY_PATH=<lib>, optionally
/// under valgrind, with a wall-clock limit on top of the program's own alarm().
fn run(exe: &Path, lib: &Path, extra_env: &[(&str, String)]) -> Output {
    let valgrind = valgrind_enabled();
    let mut cmd = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--track-fds=no",
            "-q",
        ]);
        c.arg(exe);
        c.env("VIRT_EVENTS_TEST_TIMEOUT", "120");
        c
    } else {
        Command::new(exe)
    };
    cmd.env("LD_LIBRARY_PATH", lib)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));

    // Drain the pipes on helper threads so a chatty child cannot block.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut se, &mut v);
        v
    });
    let limit = Duration::from_secs(if valgrind { 300 } else { 60 });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for the test program") {
            break st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            break child.wait().expect("wait for the killed test program");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

fn check_program(name: &str) {
    let lib = require_library();
    let exe = compile(name, Flavor::Ours, &lib);
    let out = run(&exe, &lib, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{name} failed with {}{}:\n{}",
        out.status,
        if valgrind_enabled() {
            " (under valgrind; 99 = valgrind error)"
        } else {
            ""
        },
        show(&out)
    );
    assert!(
        stdout.contains("ok 1 - ") && !stdout.contains("not ok"),
        "{name} exited 0 but its output does not look like a passing run:\n{}",
        show(&out)
    );
}

#[test]
fn objevent() {
    check_program("objevent");
}

#[test]
fn errors() {
    check_program("errors");
}

#[test]
fn noloop() {
    check_program("noloop");
}

#[test]
fn minimal_loop() {
    check_program("minimal_loop");
}

#[test]
fn eventloop() {
    check_program("eventloop");
}

#[test]
fn testdriver() {
    check_program("testdriver");
}

#[test]
fn abi() {
    check_program("abi");
}

/// A binary built against the real libvirt (headers and -lvirt from the
/// system) must run unchanged on our library when LD_LIBRARY_PATH points at it.
#[test]
fn drop_in_binary() {
    let lib = require_library();
    let sys_header = Path::new("/usr/include/libvirt/libvirt.h");
    assert!(
        sys_header.exists(),
        "{} not found: install the system libvirt development package `libvirt-dev` \
         (apt-get install libvirt-dev; .ci/run does this)",
        sys_header.display()
    );
    let exe = compile("objevent", Flavor::System, &lib);

    // ldd must resolve libvirt.so.0 into our directory.
    let lib_real = std::fs::canonicalize(&lib).expect("canonicalize the library directory");
    let ldd = Command::new("ldd")
        .arg(&exe)
        .env("LD_LIBRARY_PATH", &lib)
        .stdin(Stdio::null())
        .output()
        .expect("run ldd");
    let ldd_text = String::from_utf8_lossy(&ldd.stdout).into_owned();
    let resolved = ldd_text
        .lines()
        .find(|l| l.trim_start().starts_with("libvirt.so.0"))
        .and_then(|l| l.split("=>").nth(1))
        .and_then(|rhs| rhs.split_whitespace().next())
        .map(PathBuf::from);
    let resolved_dir = resolved
        .as_ref()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.parent().map(Path::to_path_buf));
    assert_eq!(
        resolved_dir.as_deref(),
        Some(lib_real.as_path()),
        "ldd does not resolve libvirt.so.0 into {}:\n{}",
        lib_real.display(),
        ldd_text
    );

    // The program itself checks /proc/self/maps.
    let out = run(
        &exe,
        &lib,
        &[("VIRT_EVENTS_EXPECT_LIBDIR", lib.display().to_string())],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "objevent built against the system libvirt failed on our library with {}:\n{}",
        out.status,
        show(&out)
    );
    assert!(
        stdout.contains("ok 1 - libvirt.so.0 is loaded from VIRT_EVENTS_EXPECT_LIBDIR"),
        "the program did not confirm that it loaded our library:\n{}",
        show(&out)
    );
}

#[test]
fn connection_extras() {
    check_program("connection_extras");
}

#[test]
fn object_events() {
    check_program("object_events");
}
