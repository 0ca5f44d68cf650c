//! Hostile input that a root directory can hold: the library warns and
//! carries on, never crashes.

use std::ffi::CString;
use std::path::PathBuf;

use virt_events::testing::*;

/// A definition nested 100,000 levels deep, planted in an embed root, is
/// skipped with a warning; the root's other definitions still load.
#[test]
fn a_planted_deep_definition_is_skipped() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("deep-xml-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let deep = format!(
        "<domain type='qemu'><name>deep</name><memory>1024</memory><metadata>{}{}</metadata></domain>",
        "<a>".repeat(100_000),
        "</a>".repeat(100_000)
    );
    std::fs::write(root.join("deep.xml"), deep).unwrap();
    std::fs::write(
        root.join("fine.xml"),
        "<domain type='qemu'><name>fine</name><memory unit='KiB'>16384</memory>\
         <os><type arch='x86_64'>hvm</type></os></domain>",
    )
    .unwrap();

    let uri = CString::new(format!("qemu:///embed?root={}", root.display())).unwrap();
    // SAFETY: a valid C string.
    let conn = unsafe { virConnectOpen(uri.as_ptr()) };
    assert!(!conn.is_null(), "the root opens despite the planted definition");
    let deep = CString::new("deep").unwrap();
    // SAFETY: a live connection and a valid C string.
    assert!(unsafe { virDomainLookupByName(conn, deep.as_ptr()) }.is_null(), "the deep definition was not loaded");
    let fine = CString::new("fine").unwrap();
    // SAFETY: as above.
    let dom = unsafe { virDomainLookupByName(conn, fine.as_ptr()) };
    assert!(!dom.is_null(), "the root's other definition still loads");
    virDomainFree(dom);
    virConnectClose(conn);
    let _ = std::fs::remove_dir_all(&root);
}
