//! libvirt's public C types: names, numeric values and layouts exactly as in
//! libvirt 9.0's headers. cbindgen generates `include/libvirt/*.h` from these
//! files, and the core uses the same definitions for its values.
#![allow(non_camel_case_types, non_snake_case, clippy::upper_case_acronyms)]

pub mod common;
pub mod domain_event;
pub mod error;
pub mod event_loop;
pub mod libvirt_api;
pub mod object_events;
pub mod qemu;
pub mod typed_params;

/// Every item of the public headers, hand-written or generated, in one
/// namespace (the generated code names them without knowing which is which).
#[allow(unused_imports)] // what the generated code happens to use varies
pub mod all {
    pub use super::common::*;
    pub use super::domain_event::*;
    pub use super::error::*;
    pub use super::event_loop::*;
    pub use super::libvirt_api::*;
    pub use super::object_events::*;
    pub use super::qemu::*;
    pub use super::typed_params::*;
}

#[cfg(test)]
mod tests {
    /// The checked-in headers are exactly what cbindgen generates now, and
    /// there is no other.
    #[test]
    fn checked_in_headers_are_current() {
        let generated = std::path::Path::new(env!("VIRT_EVENTS_GENERATED_INCLUDE")).join("libvirt");
        let checked_in = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("include/libvirt");
        let names = |dir: &std::path::Path| {
            let mut names: Vec<String> =
                std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
            names.sort();
            names
        };
        assert_eq!(names(&generated), names(&checked_in), "run `make headers` and commit include/libvirt");
        assert_eq!(names(&generated).len(), 17);
        for name in names(&generated) {
            let fresh = std::fs::read_to_string(generated.join(&name)).unwrap();
            let committed = std::fs::read_to_string(checked_in.join(&name)).unwrap_or_default();
            assert!(fresh == committed, "include/libvirt/{name} is stale: run `make headers` and commit it");
        }
    }
}
