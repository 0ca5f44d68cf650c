//! What the QEMU tests share: the guest they boot and where the library is.
#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn lib_dir() -> PathBuf {
    std::env::var_os("VIRT_EVENTS_LIBDIR").map(PathBuf::from).unwrap_or_else(|| crate_dir().join("build"))
}

/// Fails the test unless QEMU is installed.
pub fn require_qemu() {
    let qemu = std::process::Command::new("qemu-system-x86_64").arg("--version").output();
    assert!(qemu.is_ok(), "qemu-system-x86_64 is missing: run `sh tests/install-qemu.sh` (make check does)");
}

/// A 512-byte boot sector, 16-bit real mode at 0x7c00: set the RTC year
/// (RTC_CHANGE), read LBA 8 through the BIOS (the blkdebug error), arm the
/// ib700 watchdog with its shortest timeout (WATCHDOG), then halt.
pub fn boot_sector() -> Vec<u8> {
    let code: &[u8] = &[
        0xFA, // cli
        0x31, 0xC0, // xor ax, ax
        0x8E, 0xD8, // mov ds, ax
        0x8E, 0xD0, // mov ss, ax
        0xBC, 0x00, 0x7C, // mov sp, 0x7c00
        // CMOS register B |= SET (0x80), keeping the old value in ah
        0xB0, 0x0B, 0xE6, 0x70, // mov al, 0x0b; out 0x70, al
        0xE4, 0x71, 0x88, 0xC4, // in al, 0x71; mov ah, al
        0x0C, 0x80, 0xE6, 0x71, // or al, 0x80; out 0x71, al
        // year register (0x09) = 0x30 (BCD): the guest clock jumps to 2030
        0xB0, 0x09, 0xE6, 0x70, // mov al, 0x09; out 0x70, al
        0xB0, 0x30, 0xE6, 0x71, // mov al, 0x30; out 0x71, al
        // register B = old value without SET: QEMU applies the new time
        0xB0, 0x0B, 0xE6, 0x70, // mov al, 0x0b; out 0x70, al
        0x88, 0xE0, 0x24, 0x7F, // mov al, ah; and al, 0x7f
        0xE6, 0x71, // out 0x71, al
        // int 13h: read 1 sector, cylinder 0 head 0 sector 9 (LBA 8), drive 0x80, to es:bx = 0:0x7e00
        0x31, 0xC0, 0x8E, 0xC0, // xor ax, ax; mov es, ax
        0xB8, 0x01, 0x02, // mov ax, 0x0201
        0xB9, 0x09, 0x00, // mov cx, 0x0009
        0xBA, 0x80, 0x00, // mov dx, 0x0080
        0xBB, 0x00, 0x7E, // mov bx, 0x7e00
        0xCD, 0x13, // int 0x13
        // ib700: any write to port 0x443 arms it; 0x0f selects the shortest timeout
        0xBA, 0x43, 0x04, // mov dx, 0x0443
        0xB0, 0x0F, 0xEE, // mov al, 0x0f; out dx, al
        0xFA, 0xF4, 0xEB, 0xFC, // halt: cli; hlt; jmp halt
    ];
    let mut sector = code.to_vec();
    sector.resize(510, 0);
    sector.extend_from_slice(&[0x55, 0xAA]);
    sector
}

/// Writes the guest's 1 MiB disk and a blkdebug configuration that fails
/// reads of sector 8 with EIO; returns the `blkdebug:` source naming both.
pub fn guest_disk(dir: &Path) -> String {
    let disk = dir.join("disk.img");
    let mut image = boot_sector();
    image.resize(1024 * 1024, 0);
    std::fs::write(&disk, image).unwrap();
    let conf = dir.join("blkdebug.conf");
    std::fs::write(&conf, "[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nsector = \"8\"\n").unwrap();
    format!("blkdebug:{}:{}", conf.display(), disk.display())
}
