//! Debian's real python3-libvirt (`/usr/bin/python3`, `import libvirt,
//! libvirt_qemu, libvirt_lxc`) loads our three libraries with
//! `LD_LIBRARY_PATH` (checked through /proc/self/maps) and runs
//! tests/python/real_binding_events.py, in the style of libvirt-python's
//! event-test, with its native loop, a pure-Python poll loop through
//! `virEventRegisterImpl` and libvirtaio: it prints the same lines on our
//! library as on real libvirt 9.0, which the test runs too.

use std::process::Command;

mod common;
use common::{crate_dir, lib_dir};

const PYTHON: &str = "/usr/bin/python3";

fn run(loop_kind: &str, ours: bool) -> String {
    let script = crate_dir().join("tests/python/real_binding_events.py");
    let mut command = Command::new(PYTHON);
    command.arg(script).arg(loop_kind).env_remove("LD_LIBRARY_PATH").env_remove("LIBVIRT_DEFAULT_URI");
    if ours {
        command.env("LD_LIBRARY_PATH", lib_dir()).env("VIRT_EVENTS_EXPECT_LIBDIR", lib_dir());
    }
    let output = command.output().expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let which = if ours { "ours" } else { "real libvirt" };
    assert!(output.status.success(), "{loop_kind} on {which}:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

fn same_lines_as_real_libvirt(loop_kind: &str) {
    let has_binding =
        Command::new(PYTHON).args(["-c", "import libvirt, libvirt_qemu, libvirt_lxc, libvirtaio"]).status();
    assert!(has_binding.is_ok_and(|s| s.success()), "python3-libvirt is missing (tests/install-deps.sh installs it)");
    let ours = run(loop_kind, true);
    let real = run(loop_kind, false);
    let ours = ours.strip_prefix("libraries loaded from the expected folder\n").unwrap_or_else(|| panic!("{ours}"));
    // Where they differ, on purpose: real libvirt's test driver has no secret
    // driver and refuses secret-event registrations; ours accepts them (and,
    // having no secrets, never emits one).
    for id in ["LIFECYCLE", "VALUE_CHANGED"] {
        let refused = format!(
            "secret {id}: refused: this function is not supported by the connection driver: \
             virConnectSecretEventRegisterAny\n"
        );
        assert!(real.contains(&refused), "{real}");
        assert!(ours.contains(&format!("secret {id}: registered\n")), "{ours}");
    }
    // And keepalive: real libvirt's test driver does not support it; ours
    // answers 1 (no keepalive needed), which libvirt's own event-test.c needs
    // to keep running.
    let refused = "keepalive: 3 this function is not supported by the connection driver: virConnectSetKeepAlive\n";
    assert!(real.starts_with(refused), "{real}");
    assert!(ours.starts_with("keepalive: 1\n"), "{ours}");
    let same_part = |text: &str| {
        let lines = text.lines().filter(|l| !l.starts_with("secret ") && !l.starts_with("keepalive: "));
        lines.collect::<Vec<_>>().join("\n")
    };
    assert_eq!(same_part(ours), same_part(&real), "ours:\n{ours}\nreal:\n{real}");
    assert!(
        ours.ends_with(
            "lifecycle test [2, 0]\nnetwork default [3, 0]\nnetwork default [2, 0]\npool default-pool []\nclosed\n"
        ),
        "{ours}"
    );
}

#[test]
fn native_loop() {
    same_lines_as_real_libvirt("native");
}

#[test]
fn python_poll_loop() {
    same_lines_as_real_libvirt("poll");
}

#[test]
fn libvirtaio() {
    same_lines_as_real_libvirt("asyncio");
}
