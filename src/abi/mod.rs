//! libvirt's public C types: names, numeric values and layouts exactly as in
//! libvirt 9.0's headers. cbindgen generates `include/libvirt/*.h` from these
//! files, and the core uses the same definitions for its values.
#![allow(non_camel_case_types, non_snake_case, clippy::upper_case_acronyms)]

pub mod common;
pub mod domain_event;
pub mod error;
pub mod event_loop;
pub mod object_events;
pub mod qemu;
pub mod typed_params;

#[cfg(test)]
mod tests {
    /// The checked-in headers are exactly what cbindgen generates now.
    #[test]
    fn checked_in_headers_are_current() {
        let generated = std::path::Path::new(env!("VIRT_EVENTS_GENERATED_INCLUDE")).join("libvirt");
        let checked_in = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("include/libvirt");
        for name in ["libvirt.h", "virterror.h", "libvirt-qemu.h"] {
            let fresh = std::fs::read_to_string(generated.join(name)).unwrap();
            let committed = std::fs::read_to_string(checked_in.join(name)).unwrap_or_default();
            assert!(fresh == committed, "include/libvirt/{name} is stale: run `make headers` and commit it");
        }
    }
}
