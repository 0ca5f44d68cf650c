//! Generates the public C headers from the Rust definitions with cbindgen:
//! libvirt.h, virterror.h and libvirt-qemu.h.
//!
//! The headers are written to OUT_DIR on every build; a unit test compares
//! them with the checked-in `include/libvirt/*.h`. `make headers` (which sets
//! VIRT_EVENTS_WRITE_HEADERS=1) refreshes the checked-in copies.

use std::path::{Path, PathBuf};

/// Sources of each header: libvirt.h gets everything but errors.
const LIBVIRT_SOURCES: &[&str] = &[
    "src/abi/common.rs",
    "src/abi/domain_event.rs",
    "src/abi/event_loop.rs",
    "src/abi/object_events.rs",
    "src/abi/typed_params.rs",
    "src/capi/connect.rs",
    "src/capi/domain.rs",
    "src/capi/domain_ops.rs",
    "src/capi/events.rs",
    "src/capi/eventloop.rs",
    "src/capi/legacy.rs",
    "src/capi/object_events.rs",
    "src/capi/object_ops.rs",
    "src/capi/objects.rs",
    "src/capi/typed_params.rs",
];
const VIRTERROR_SOURCES: &[&str] = &["src/abi/error.rs", "src/capi/error.rs"];
/// libvirt-qemu.h: its types and the prototypes of libvirt-qemu.so.0.
const LIBVIRT_QEMU_SOURCES: &[&str] = &["src/abi/qemu.rs"];
/// Every generated header.
const HEADERS: &[&str] = &["libvirt.h", "virterror.h", "libvirt-qemu.h"];

fn generate(config: cbindgen::Config, sources: &[&str], out: &Path) {
    let mut builder = cbindgen::Builder::new().with_config(config);
    for source in sources {
        builder = builder.with_src(source);
    }
    builder.generate().unwrap_or_else(|e| panic!("cbindgen failed for {}: {e}", out.display())).write_to_file(out);
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("include/libvirt");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::env::set_current_dir(&manifest).unwrap();

    let libvirt = cbindgen::Config::from_file("cbindgen.toml").expect("cbindgen.toml");
    let mut virterror = libvirt.clone();
    virterror.include_guard = Some("VIR_EVENTS_VIRTERROR_H".into());
    virterror.header = Some(
        "/*\n * virterror.h: error handling of virt-events, with libvirt 9.0's error codes,\n \
         * domains and record layout.\n */"
            .into(),
    );
    virterror.after_includes =
        Some("\n#include <libvirt/libvirt.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif".into());
    virterror.trailer = Some("\n#ifdef __cplusplus\n}\n#endif".into());
    virterror.export.include = vec!["virErrorDomain".into(), "virErrorNumber".into(), "virErrorLevel".into()];

    let mut libvirt_qemu = virterror.clone();
    libvirt_qemu.include_guard = Some("VIR_EVENTS_LIBVIRT_QEMU_H".into());
    libvirt_qemu.header = Some(
        "/*\n * libvirt-qemu.h: the QEMU-specific API of virt-events (libvirt-qemu.so.0),\n \
         * with libvirt 9.0's names and values.\n */"
            .into(),
    );
    // cbindgen's own C++ guard stays inside the include guard.
    libvirt_qemu.after_includes = Some("\n#include <libvirt/libvirt.h>".into());
    libvirt_qemu.trailer = None;
    libvirt_qemu.cpp_compat = true;
    libvirt_qemu.export.include =
        vec!["virConnectDomainQemuMonitorEventCallback".into(), "virConnectDomainQemuMonitorEventRegisterFlags".into()];

    generate(libvirt, LIBVIRT_SOURCES, &out_dir.join("libvirt.h"));
    generate(virterror, VIRTERROR_SOURCES, &out_dir.join("virterror.h"));
    generate(libvirt_qemu, LIBVIRT_QEMU_SOURCES, &out_dir.join("libvirt-qemu.h"));

    if std::env::var_os("VIRT_EVENTS_WRITE_HEADERS").is_some() {
        for name in HEADERS {
            std::fs::copy(out_dir.join(name), manifest.join("include/libvirt").join(name)).unwrap();
        }
    }
    println!("cargo:rustc-env=VIRT_EVENTS_GENERATED_INCLUDE={}", out_dir.parent().unwrap().display());
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=VIRT_EVENTS_WRITE_HEADERS");
    for source in LIBVIRT_SOURCES.iter().chain(VIRTERROR_SOURCES).chain(LIBVIRT_QEMU_SOURCES) {
        println!("cargo:rerun-if-changed={source}");
    }
}
