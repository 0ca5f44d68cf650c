//! Every enumerator (and integer `#define`) of our generated headers has the
//! value real libvirt 9.0's headers give it, and exists there (libvirt.h,
//! virterror.h and libvirt-qemu.h).
//!
//! The names are scanned from `include/libvirt/*.h`; one generated C program
//! prints each of them, compiled once against our headers and once against the
//! installed real ones (`/usr/include/libvirt`, Debian's `libvirt-dev`), both
//! with `VIR_ENUM_SENTINELS` defined so that the `*_LAST` values compare too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const REAL_INCLUDE: &str = "/usr/include";

mod common;
use common::c_compiler;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The enumerators of the enums in `text`, and the names of `#define NAME
/// <integer>` lines.
fn constant_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_enum = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("typedef enum") || (trimmed.starts_with("enum ") && trimmed.ends_with('{')) {
            in_enum = true;
            continue;
        }
        if in_enum && trimmed.starts_with('}') {
            in_enum = false;
            continue;
        }
        if in_enum {
            let name: String = trimmed.chars().take_while(|&c| is_name_char(c)).collect();
            let rest = trimmed[name.len()..].trim_start();
            if name.starts_with("VIR_") && (rest.starts_with('=') || rest.starts_with(',') || rest.is_empty()) {
                names.insert(name);
            }
        } else if let Some(rest) = trimmed.strip_prefix("#define ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(value), None) = (parts.next(), parts.next(), parts.next()) {
                let value = value.trim_start_matches('(').trim_end_matches(')');
                if !name.contains('(') && value.parse::<i64>().is_ok() {
                    names.insert(name.to_owned());
                }
            }
        }
    }
    names
}

/// Every identifier-like word in the real headers.
fn words(dir: &Path) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "h") {
            let text = std::fs::read_to_string(&path).unwrap();
            words.extend(text.split(|c: char| !is_name_char(c)).filter(|w| !w.is_empty()).map(str::to_owned));
        }
    }
    words
}

/// Compiles and runs a program printing `names` against `include`; returns
/// name → value.
fn values(compiler: &Path, include: &Path, names: &BTreeSet<String>, tag: &str) -> BTreeMap<String, i64> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("header_values");
    std::fs::create_dir_all(&dir).unwrap();
    let mut source = String::from(
        "#define VIR_ENUM_SENTINELS\n#include <stdio.h>\n#include <libvirt/libvirt.h>\n#include <libvirt/virterror.h>\n#include <libvirt/libvirt-qemu.h>\n\nint main(void)\n{\n",
    );
    for name in names {
        source.push_str(&format!("    printf(\"%s %lld\\n\", \"{name}\", (long long)({name}));\n"));
    }
    source.push_str("    return 0;\n}\n");
    let c_file = dir.join(format!("values_{tag}.c"));
    let exe = dir.join(format!("values_{tag}"));
    std::fs::write(&c_file, source).unwrap();
    let output = Command::new(compiler)
        .arg("-std=gnu11")
        .arg("-I")
        .arg(include)
        .arg("-o")
        .arg(&exe)
        .arg(&c_file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "compiling {} against {} failed:\n{}",
        c_file.display(),
        include.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let output = Command::new(&exe).output().unwrap();
    assert!(output.status.success(), "{} failed", exe.display());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (name, value) = line.split_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

#[test]
fn every_constant_has_real_libvirts_value() {
    let real = Path::new(REAL_INCLUDE).join("libvirt");
    assert!(
        real.join("libvirt.h").is_file(),
        "{} is missing: install real libvirt's headers (`apt-get install libvirt-dev`, or `sh tests/install-deps.sh` as root)",
        real.display()
    );
    let ours_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let mut ours = BTreeSet::new();
    for entry in std::fs::read_dir(ours_dir.join("libvirt")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "h") {
            ours.extend(constant_names(&std::fs::read_to_string(&path).unwrap()));
        }
    }
    assert!(ours.len() > 100, "too few constants found in our headers: {ours:?}");

    let real_words = words(&real);
    let missing: Vec<&String> = ours.iter().filter(|n| !real_words.contains(*n)).collect();
    let shared: BTreeSet<String> = ours.iter().filter(|n| real_words.contains(*n)).cloned().collect();

    let compiler = c_compiler();
    let our_values = values(&compiler, &ours_dir, &ours, "ours");
    let real_values = values(&compiler, Path::new(REAL_INCLUDE), &shared, "real");
    let differing: Vec<String> = shared
        .iter()
        .filter(|n| our_values.get(*n) != real_values.get(*n))
        .map(|n| format!("{n}: ours {:?}, libvirt {:?}", our_values.get(n), real_values.get(n)))
        .collect();
    assert!(missing.is_empty(), "constants of our headers that real libvirt lacks: {missing:?}");
    assert!(differing.is_empty(), "values differing from real libvirt:\n{}", differing.join("\n"));
    // Spot checks that the scan saw what it must.
    for name in [
        "VIR_DOMAIN_EVENT_ID_LAST",
        "VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE",
        "VIR_TYPED_PARAM_FIELD_LENGTH",
        "VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX",
        "VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_NOCASE",
    ] {
        assert!(real_values.contains_key(name), "{name} was not compared");
    }
    assert_eq!(real_values["VIR_DOMAIN_EVENT_ID_LAST"], 27);
}
