//! A small XDR (RFC 4506) encoder and decoder with the conventions libvirt's
//! rpcgen-generated code follows: big-endian 4-byte units, strings and
//! variable opaques as a length then the bytes padded to 4, optional data as
//! a 0/1 word, `char` arrays as one 4-byte word per char.
//!
//! Written for this project rather than taken from a crate: the XDR crates
//! that exist are unmaintained (xdr-codec, last release 2017), GPL-3
//! (serde-xdr, incompatible with an LGPL libvirt.so) or built for other
//! protocols (stellar-xdr). The decoder never panics and checks every length
//! against both its protocol maximum and the bytes actually left before it
//! allocates anything, so a hostile peer cannot make it reserve memory that
//! its packet does not contain.

use std::fmt;

/// libvirt's `REMOTE_STRING_MAX` (= `VIR_NET_MESSAGE_STRING_MAX`) in 9.0.
pub const STRING_MAX: u32 = 4_194_304;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XdrError {
    /// The data ended `needed` bytes short.
    Truncated { needed: usize },
    /// A length or count above its protocol maximum.
    TooLong { len: u32, max: u32 },
    /// A union discriminant no arm matches.
    BadDiscriminant(i32),
    /// A string that is not UTF-8.
    NotUtf8,
    /// Bytes left over after the whole body was decoded.
    Trailing(usize),
}

impl fmt::Display for XdrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XdrError::Truncated { needed } => write!(f, "data truncated ({needed} more bytes needed)"),
            XdrError::TooLong { len, max } => write!(f, "length {len} exceeds the maximum {max}"),
            XdrError::BadDiscriminant(d) => write!(f, "unknown union discriminant {d}"),
            XdrError::NotUtf8 => write!(f, "string is not valid UTF-8"),
            XdrError::Trailing(n) => write!(f, "{n} unexpected trailing bytes"),
        }
    }
}

impl std::error::Error for XdrError {}

pub type XdrResult<T> = Result<T, XdrError>;

fn padding(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// Appends XDR data to a byte vector.
#[derive(Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Continues writing at the end of `buf`.
    pub fn with_buffer(buf: Vec<u8>) -> Encoder {
        Encoder { buf }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Fixed-length opaque data: the bytes, then zero padding.
    pub fn opaque_fixed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.buf.resize(self.buf.len() + padding(bytes.len()), 0);
    }

    /// Variable-length opaque data or a string: length, bytes, padding.
    pub fn opaque(&mut self, bytes: &[u8]) {
        self.u32(bytes.len() as u32);
        self.opaque_fixed(bytes);
    }
}

/// Reads XDR data from a byte slice.
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Decoder<'a> {
        Decoder { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> XdrResult<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(XdrError::Trailing(n)),
        }
    }

    fn take(&mut self, n: usize) -> XdrResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(XdrError::Truncated { needed: n - self.remaining() });
        }
        let bytes = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn word<const N: usize>(&mut self) -> XdrResult<[u8; N]> {
        let mut word = [0u8; N];
        word.copy_from_slice(self.take(N)?);
        Ok(word)
    }

    pub fn u32(&mut self) -> XdrResult<u32> {
        self.word().map(u32::from_be_bytes)
    }

    pub fn i32(&mut self) -> XdrResult<i32> {
        self.word().map(i32::from_be_bytes)
    }

    pub fn u64(&mut self) -> XdrResult<u64> {
        self.word().map(u64::from_be_bytes)
    }

    pub fn i64(&mut self) -> XdrResult<i64> {
        self.word().map(i64::from_be_bytes)
    }

    /// `n` bytes of fixed-length opaque data (the padding is skipped).
    pub fn opaque_fixed(&mut self, n: usize) -> XdrResult<&'a [u8]> {
        let bytes = self.take(n)?;
        self.take(padding(n))?;
        Ok(bytes)
    }

    /// Variable-length opaque data of at most `max` bytes.
    pub fn opaque(&mut self, max: u32) -> XdrResult<&'a [u8]> {
        let len = self.u32()?;
        if len > max {
            return Err(XdrError::TooLong { len, max });
        }
        self.opaque_fixed(len as usize)
    }

    /// The element count of a variable-length array of at most `max`
    /// elements, each taking at least `min_size` bytes: checked against the
    /// maximum and against what is left, so that the caller may reserve it.
    pub fn count(&mut self, max: u32, min_size: usize) -> XdrResult<usize> {
        let len = self.u32()?;
        if len > max {
            return Err(XdrError::TooLong { len, max });
        }
        let needed = (len as usize).saturating_mul(min_size);
        if needed > self.remaining() {
            return Err(XdrError::Truncated { needed: needed - self.remaining() });
        }
        Ok(len as usize)
    }
}

/// A type with an XDR representation.
pub trait Xdr: Sized {
    /// The fewest bytes an encoded value takes (for array-count checks).
    const MIN_SIZE: usize = 4;
    fn encode(&self, e: &mut Encoder);
    fn decode(d: &mut Decoder<'_>) -> XdrResult<Self>;
}

impl Xdr for () {
    const MIN_SIZE: usize = 0;
    fn encode(&self, _e: &mut Encoder) {}
    fn decode(_d: &mut Decoder<'_>) -> XdrResult<()> {
        Ok(())
    }
}

/// The integers: one 4- or 8-byte big-endian word.
macro_rules! xdr_integers {
    ($($ty:ty: $size:expr, $method:ident;)*) => {$(
        impl Xdr for $ty {
            const MIN_SIZE: usize = $size;
            fn encode(&self, e: &mut Encoder) {
                e.$method(*self)
            }
            fn decode(d: &mut Decoder<'_>) -> XdrResult<$ty> {
                d.$method()
            }
        }
    )*};
}

xdr_integers! {
    u32: 4, u32;
    i32: 4, i32;
    u64: 8, u64;
    i64: 8, i64;
}

impl Xdr for f64 {
    const MIN_SIZE: usize = 8;
    fn encode(&self, e: &mut Encoder) {
        e.u64(self.to_bits())
    }
    fn decode(d: &mut Decoder<'_>) -> XdrResult<f64> {
        d.u64().map(f64::from_bits)
    }
}

/// A `remote_nonnull_string`: at most [`STRING_MAX`] bytes.
impl Xdr for String {
    fn encode(&self, e: &mut Encoder) {
        e.opaque(self.as_bytes())
    }
    fn decode(d: &mut Decoder<'_>) -> XdrResult<String> {
        let bytes = d.opaque(STRING_MAX)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| XdrError::NotUtf8)
    }
}

/// Optional data (`T *`): a 0/1 flag, then the value when present. Like
/// rpcgen's `xdr_bool`, any non-zero flag reads as present.
impl<T: Xdr> Xdr for Option<T> {
    fn encode(&self, e: &mut Encoder) {
        match self {
            None => e.u32(0),
            Some(value) => {
                e.u32(1);
                value.encode(e);
            }
        }
    }
    fn decode(d: &mut Decoder<'_>) -> XdrResult<Option<T>> {
        match d.u32()? {
            0 => Ok(None),
            _ => T::decode(d).map(Some),
        }
    }
}

/// A UUID: 16 raw bytes (`remote_uuid`, fixed opaque).
impl Xdr for crate::uuid::Uuid {
    const MIN_SIZE: usize = 16;
    fn encode(&self, e: &mut Encoder) {
        e.opaque_fixed(&self.0)
    }
    fn decode(d: &mut Decoder<'_>) -> XdrResult<crate::uuid::Uuid> {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(d.opaque_fixed(16)?);
        Ok(crate::uuid::Uuid(bytes))
    }
}

/// A variable-length array of at most `MAX` elements (`T name<MAX>`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Array<T, const MAX: u32>(pub Vec<T>);

impl<T: Xdr, const MAX: u32> Xdr for Array<T, MAX> {
    fn encode(&self, e: &mut Encoder) {
        e.u32(self.0.len() as u32);
        for item in &self.0 {
            item.encode(e);
        }
    }
    fn decode(d: &mut Decoder<'_>) -> XdrResult<Array<T, MAX>> {
        let count = d.count(MAX, T::MIN_SIZE.max(1))?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(T::decode(d)?);
        }
        Ok(Array(items))
    }
}

/// A fixed-length `char name[N]`: rpcgen sends each char as a 4-byte word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CharArray<const N: usize>(pub [u8; N]);

impl<const N: usize> Xdr for CharArray<N> {
    const MIN_SIZE: usize = 4 * N;
    fn encode(&self, e: &mut Encoder) {
        for c in self.0 {
            e.i32(i32::from(c as i8));
        }
    }
    fn decode(d: &mut Decoder<'_>) -> XdrResult<CharArray<N>> {
        let mut chars = [0u8; N];
        for c in chars.iter_mut() {
            *c = d.i32()? as u8;
        }
        Ok(CharArray(chars))
    }
}

/// Decodes a whole body as `T`, refusing trailing bytes.
pub fn decode_all<T: Xdr>(bytes: &[u8]) -> XdrResult<T> {
    let mut d = Decoder::new(bytes);
    let value = T::decode(&mut d)?;
    d.finish()?;
    Ok(value)
}

/// Decodes `T` from the start of `bytes` and ignores whatever follows, as
/// libvirtd decodes a call's arguments: it never checks that the payload
/// was used up.
pub fn decode_leading<T: Xdr>(bytes: &[u8]) -> XdrResult<T> {
    T::decode(&mut Decoder::new(bytes))
}

pub fn encode_to_vec<T: Xdr>(value: &T) -> Vec<u8> {
    let mut e = Encoder::new();
    value.encode(&mut e);
    e.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_padded_and_unterminated() {
        assert_eq!(encode_to_vec(&"rpc_rtc".to_string()), b"\0\0\0\x07rpc_rtc\0");
        assert_eq!(encode_to_vec(&String::new()), [0, 0, 0, 0]);
        assert_eq!(decode_all::<String>(b"\0\0\0\x03abc\0").unwrap(), "abc");
    }

    #[test]
    fn optional_and_char_arrays() {
        assert_eq!(encode_to_vec(&None::<i32>), [0, 0, 0, 0]);
        assert_eq!(encode_to_vec(&Some(7i32)), [0, 0, 0, 1, 0, 0, 0, 7]);
        assert_eq!(decode_all::<Option<i32>>(&[0, 0, 0, 2, 0, 0, 0, 7]), Ok(Some(7)));
        let model = CharArray::<2>([b'x', 0]);
        assert_eq!(encode_to_vec(&model), [0, 0, 0, b'x', 0, 0, 0, 0]);
    }

    #[test]
    fn lengths_are_checked_before_allocating() {
        // A string claiming 4 MiB + 1 bytes is refused by its maximum...
        let mut big = (STRING_MAX + 1).to_be_bytes().to_vec();
        big.extend_from_slice(b"abcd");
        assert_eq!(decode_all::<String>(&big), Err(XdrError::TooLong { len: STRING_MAX + 1, max: STRING_MAX }));
        // ...and an array claiming more elements than the data holds by the
        // bytes left, before any element is reserved.
        let claims_ten = [0, 0, 0, 10, 0, 0, 0, 1];
        assert_eq!(decode_all::<Array<i32, 20>>(&claims_ten), Err(XdrError::Truncated { needed: 36 }));
        assert_eq!(decode_all::<Array<i32, 5>>(&claims_ten), Err(XdrError::TooLong { len: 10, max: 5 }));
        assert_eq!(decode_all::<i32>(&[0, 0, 0, 1, 9]), Err(XdrError::Trailing(1)));
        assert_eq!(decode_all::<u64>(&[0, 0, 0]), Err(XdrError::Truncated { needed: 5 }));
    }
}
