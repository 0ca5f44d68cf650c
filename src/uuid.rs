//! Domain UUIDs: 16 raw bytes, shown in libvirt's 8-4-4-4-12 lower-case form.

use std::fmt;

pub const UUID_BUFLEN: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Uuid(pub [u8; UUID_BUFLEN]);

impl Uuid {
    /// Parses libvirt's accepted forms: 32 hex digits, optionally split by
    /// dashes anywhere, with surrounding blanks allowed.
    pub fn parse(text: &str) -> Option<Uuid> {
        let mut bytes = [0u8; UUID_BUFLEN];
        let mut digits = text.trim().chars().filter(|c| *c != '-');
        for byte in bytes.iter_mut() {
            let hi = digits.next()?.to_digit(16)?;
            let lo = digits.next()?.to_digit(16)?;
            *byte = (hi * 16 + lo) as u8;
        }
        if digits.next().is_some() {
            return None;
        }
        Some(Uuid(bytes))
    }

    /// A UUID derived from a name, stable across runs (for domains whose
    /// hypervisor reports no UUID of its own).
    pub fn from_name(name: &str) -> Uuid {
        // Two FNV-1a passes with different offsets give 16 well-mixed bytes.
        let hash = |seed: u64| name.bytes().fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        let mut bytes = [0u8; UUID_BUFLEN];
        bytes[..8].copy_from_slice(&hash(0xcbf2_9ce4_8422_2325).to_be_bytes());
        bytes[8..].copy_from_slice(&hash(0x6c62_272e_07bb_0142).to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x50; // version 5 style: name-based
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
        Uuid(bytes)
    }

    /// A random (version 4) UUID, for definitions that come without one; a
    /// time-derived one if the system has no randomness to give.
    pub fn random() -> Uuid {
        use std::io::Read;
        let mut bytes = [0u8; UUID_BUFLEN];
        let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
        if random.is_err() {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            return Uuid::from_name(&format!("{now:?}-{}", std::process::id()));
        }
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Uuid(bytes)
    }

    pub fn is_nil(&self) -> bool {
        self.0.iter().all(|b| *b == 0)
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_round_trip() {
        let text = "6695eb01-f6a4-8304-79aa-97f2502e193f";
        let uuid = Uuid::parse(text).unwrap();
        assert_eq!(uuid.to_string(), text);
        assert_eq!(Uuid::parse("6695eb01f6a4830479aa97f2502e193f"), Some(uuid));
        assert_eq!(Uuid::parse(" 6695EB01-F6A4-8304-79AA-97F2502E193F "), Some(uuid));
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in ["", "zz", "6695eb01-f6a4-8304-79aa-97f2502e193", "6695eb01-f6a4-8304-79aa-97f2502e193f0"] {
            assert_eq!(Uuid::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn name_derived_uuid_is_stable_and_distinct() {
        assert_eq!(Uuid::from_name("demo"), Uuid::from_name("demo"));
        assert_ne!(Uuid::from_name("demo"), Uuid::from_name("demo2"));
        assert!(!Uuid::from_name("demo").is_nil());
    }
}
