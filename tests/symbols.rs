//! The built libraries export exactly the functions of their version
//! scripts, each under the symbol-version node real libvirt 9.0 uses for it:
//! libvirt.so.0 (src/capi/libvirt.syms) and libvirt-qemu.so.0
//! (src/capi/libvirt-qemu.syms). libvirt.so.0's private node holds only the
//! implementations libvirt-qemu.so.0 forwards to; real libvirt has the node,
//! under other names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const REAL_DIR: &str = "/usr/lib/x86_64-linux-gnu";
const PRIVATE_NODE: &str = "LIBVIRT_PRIVATE_9.0.0";

mod common;
use common::lib_dir;

/// The lines of `nm -D --defined-only --with-symbol-versions lib`, as
/// `(kind, symbol)`.
fn dynamic_symbols(lib: &Path) -> Vec<(String, String)> {
    assert!(lib.exists(), "{} is missing: run `make` first (real libraries: tests/install-deps.sh)", lib.display());
    let output = Command::new("nm").args(["-D", "--defined-only", "--with-symbol-versions"]).arg(lib).output();
    let output = output.expect("nm (binutils) runs");
    assert!(output.status.success(), "nm failed on {}", lib.display());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            Some((fields.nth(1)?.to_string(), fields.next()?.to_string()))
        })
        .collect()
}

/// `name -> version` for the defined, versioned dynamic symbols of `lib`.
fn exports(lib: &Path) -> BTreeMap<String, String> {
    dynamic_symbols(lib)
        .into_iter()
        .filter(|(kind, _)| kind != "A") // the version nodes themselves
        .map(|(_, symbol)| {
            let (name, version) = symbol.split_once('@').unwrap_or((&symbol, ""));
            (name.to_string(), version.trim_start_matches('@').to_string())
        })
        .collect()
}

/// The version nodes `lib` defines.
fn nodes(lib: &Path) -> BTreeSet<String> {
    dynamic_symbols(lib).into_iter().filter(|(kind, _)| kind == "A").map(|(_, node)| node).collect()
}

/// `name -> node` from the version script `src/capi/NAME`.
fn script(name: &str) -> BTreeMap<String, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/capi").join(name);
    let text = std::fs::read_to_string(path).unwrap();
    let mut node = String::new();
    let mut symbols = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        if let Some(name) = line.strip_suffix(" {") {
            node = name.to_string();
        } else if let Some(symbol) = line.strip_suffix(';').filter(|s| !s.contains(['*', '}', ':'])) {
            symbols.insert(symbol.to_string(), node.clone());
        }
    }
    symbols
}

/// Every public symbol of `script_name` is exported by the real library
/// `real` under the same node.
fn check_against_real(script_name: &str, real: &str) {
    let real = Path::new(REAL_DIR).join(real);
    let real_exports = exports(&real);
    for (name, node) in script(script_name).into_iter().filter(|(_, node)| node != PRIVATE_NODE) {
        assert_eq!(
            real_exports.get(&name),
            Some(&node),
            "{name}: real libvirt exports it as {:?}",
            real_exports.get(&name)
        );
    }
}

#[test]
fn every_export_carries_its_libvirt_version_node() {
    let ours = exports(&lib_dir().join("libvirt.so"));
    assert_eq!(ours, script("libvirt.syms"), "exported symbols and versions differ from src/capi/libvirt.syms");
}

#[test]
fn version_nodes_match_real_libvirt() {
    check_against_real("libvirt.syms", "libvirt.so.0");
    // The private node is real libvirt's (libvirt-qemu.so.0 binds to it), and
    // holds only what our libvirt-qemu.so.0 needs.
    assert!(nodes(&Path::new(REAL_DIR).join("libvirt.so.0")).contains(PRIVATE_NODE));
    let private: BTreeSet<String> =
        script("libvirt.syms").into_iter().filter(|(_, node)| node == PRIVATE_NODE).map(|(name, _)| name).collect();
    let forwarded: BTreeSet<String> =
        script("libvirt-qemu.syms").into_keys().map(|name| name.replacen("virConnect", "virtEvents", 1)).collect();
    assert_eq!(private, forwarded, "the private node holds exactly the functions libvirt-qemu.so.0 forwards to");
}

#[test]
fn libvirt_qemu_exports_carry_libvirts_version_nodes() {
    let lib = lib_dir().join("libvirt-qemu.so");
    assert_eq!(exports(&lib), script("libvirt-qemu.syms"), "libvirt-qemu.so differs from src/capi/libvirt-qemu.syms");
    check_against_real("libvirt-qemu.syms", "libvirt-qemu.so.0");
}

/// libvirt-qemu.so.0 is a forwarder: it needs libvirt.so.0's private node
/// and defines nothing but its functions (no second copy of the library).
#[test]
fn libvirt_qemu_forwards_to_libvirt_private_node() {
    let lib = lib_dir().join("libvirt-qemu.so.0");
    let output = Command::new("objdump").arg("-p").arg(&lib).output().expect("objdump (binutils) runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("NEEDED               libvirt.so.0"), "{text}");
    assert!(text.contains("SONAME               libvirt-qemu.so.0"), "{text}");
    let needs = text.split("required from libvirt.so.0:").nth(1).unwrap_or_default();
    assert!(needs.contains(PRIVATE_NODE), "libvirt-qemu.so.0 must bind to {PRIVATE_NODE}:\n{text}");
    let size = std::fs::metadata(&lib).unwrap().len();
    assert!(size < 64 * 1024, "libvirt-qemu.so.0 is {size} bytes: it must only forward");
}
