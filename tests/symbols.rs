//! The built library exports exactly the functions of its version script,
//! each under the symbol-version node real libvirt 9.0 uses for it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn lib_dir() -> PathBuf {
    std::env::var_os("VIRT_EVENTS_LIBDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("build"))
}

/// `name -> version` for the defined, versioned dynamic symbols of `lib`.
fn exports(lib: &std::path::Path) -> BTreeMap<String, String> {
    let output = Command::new("nm").args(["-D", "--defined-only", "--with-symbol-versions"]).arg(lib).output();
    let output = output.expect("nm (binutils) runs");
    assert!(output.status.success(), "nm failed on {}", lib.display());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (kind, symbol) = (fields.nth(1)?, fields.next()?);
            if kind == "A" {
                return None; // the version nodes themselves
            }
            let (name, version) = symbol.split_once('@').unwrap_or((symbol, ""));
            Some((name.to_string(), version.trim_start_matches('@').to_string()))
        })
        .collect()
}

/// `name -> node` from the version script.
fn script() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/capi/libvirt.syms")).unwrap();
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

#[test]
fn every_export_carries_its_libvirt_version_node() {
    let lib = lib_dir().join("libvirt.so");
    assert!(lib.exists(), "{} is missing: run `make` first", lib.display());
    let ours = exports(&lib);
    let expected = script();
    assert_eq!(ours, expected, "exported symbols and versions differ from src/capi/libvirt.syms");
}

#[test]
fn version_nodes_match_real_libvirt() {
    let real = PathBuf::from("/usr/lib/x86_64-linux-gnu/libvirt.so.0");
    assert!(real.exists(), "real libvirt 9.0 is missing: install libvirt0 (tests/install-deps.sh does)");
    let real = exports(&real);
    for (name, node) in script() {
        assert_eq!(real.get(&name), Some(&node), "{name}: real libvirt exports it as {:?}", real.get(&name));
    }
}
