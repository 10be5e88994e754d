//! An append-only byte buffer with the encodings the readers understand.

/// Growable output buffer.
#[derive(Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The written bytes.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The written bytes, borrowed.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// Appends one byte.
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// Appends raw bytes.
    pub(crate) fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Appends a little-endian u32.
    pub(crate) fn u32_le(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends a little-endian u64.
    pub(crate) fn u64_le(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends a little-endian f64.
    pub(crate) fn f64_le(&mut self, v: f64) {
        self.u64_le(v.to_bits());
    }

    /// Appends an unsigned LEB128 varint.
    pub(crate) fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    /// Appends a zigzag-encoded signed varint.
    pub(crate) fn varint_i64(&mut self, v: i64) {
        self.varint(super::zigzag(v));
    }

    /// Appends a length-prefixed byte string.
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.raw(b);
    }

    /// Appends a length-prefixed UTF-8 string.
    pub(crate) fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
}
