//! A small byte codec for persisted state: big-endian integers and fixed or
//! length-prefixed byte strings, written into a caller's buffer and read back without
//! panicking on short input.
//!
//! [`CardPin::save_state`](crate::CardPin::save_state) uses it for the PIN's state, and the
//! virtual card (`cardwire-vcard`) for its whole state file. It allocates nothing: a
//! [`ByteWriter`] over a too-short buffer keeps counting, so one pass over an empty buffer
//! measures what a second pass writes.
//!
//! ```
//! use cardwire_pin::codec::{ByteReader, ByteWriter};
//!
//! let encode = |out: &mut [u8]| {
//!     let mut w = ByteWriter::new(out);
//!     w.u8(1);
//!     w.u16(0x3F00);
//!     w.u32(70_000);
//!     w.bytes(b"pin");
//!     w.finish()
//! };
//! let needed = match encode(&mut []) {
//!     Err(cardwire_pin::Error::BufferTooSmall { needed }) => needed,
//!     other => panic!("{other:?}"),
//! };
//! let mut buf = vec![0u8; needed];
//! assert_eq!(encode(&mut buf)?, 10);
//!
//! let mut r = ByteReader::new(&buf);
//! assert_eq!((r.u8()?, r.u16()?, r.u32()?), (1, 0x3F00, 70_000));
//! assert_eq!(r.take(3)?, b"pin");
//! assert!(r.is_empty());
//! assert!(r.u8().is_err());
//! # Ok::<(), cardwire_pin::Error>(())
//! ```

use crate::Error;

/// Writes into a buffer sized by the caller; writing past its end is recorded, not done, and
/// reported by [`ByteWriter::finish`].
#[derive(Debug)]
pub struct ByteWriter<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl<'o> ByteWriter<'o> {
    /// A writer at the start of `out`.
    pub fn new(out: &'o mut [u8]) -> Self {
        Self { out, at: 0 }
    }

    /// Appends `bytes` (nothing is written if they do not fit; [`ByteWriter::finish`] says so).
    pub fn bytes(&mut self, bytes: &[u8]) {
        let end = self.at.saturating_add(bytes.len());
        if let Some(slot) = self.out.get_mut(self.at..end) {
            slot.copy_from_slice(bytes);
        }
        self.at = end;
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    /// Appends a big-endian `u16`.
    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    /// Appends a big-endian `u32`.
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    /// How many bytes have been appended (written or not).
    pub fn position(&self) -> usize {
        self.at
    }

    /// The number of bytes written.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] with the size needed when anything did not fit (the buffer
    /// then holds a prefix only).
    pub fn finish(self) -> Result<usize, Error> {
        if self.at > self.out.len() {
            Err(Error::BufferTooSmall { needed: self.at })
        } else {
            Ok(self.at)
        }
    }
}

/// Reads what a [`ByteWriter`] wrote, failing (never panicking) at the first short field.
#[derive(Clone, Debug)]
pub struct ByteReader<'d> {
    data: &'d [u8],
    at: usize,
}

impl<'d> ByteReader<'d> {
    /// A reader at the start of `data`.
    pub fn new(data: &'d [u8]) -> Self {
        Self { data, at: 0 }
    }

    /// The next `n` bytes.
    ///
    /// # Errors
    /// [`Error::Truncated`] (offset: the end of the input; needed: the missing bytes) when
    /// fewer than `n` bytes are left; the reader does not move then.
    pub fn take(&mut self, n: usize) -> Result<&'d [u8], Error> {
        let end = self.at.saturating_add(n);
        let bytes = self.data.get(self.at..end).ok_or(Error::Truncated {
            offset: self.data.len(),
            needed: end.saturating_sub(self.data.len()),
        })?;
        self.at = end;
        Ok(bytes)
    }

    /// The next `N` bytes as an array.
    ///
    /// # Errors
    /// As [`ByteReader::take`].
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// One byte.
    ///
    /// # Errors
    /// As [`ByteReader::take`].
    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    /// A big-endian `u16`.
    ///
    /// # Errors
    /// As [`ByteReader::take`].
    pub fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A big-endian `u32`.
    ///
    /// # Errors
    /// As [`ByteReader::take`].
    pub fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// The offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.at
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.at)
    }

    /// True when everything has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_big_endian_fields() {
        let mut buf = [0u8; 9];
        let mut w = ByteWriter::new(&mut buf);
        w.u8(0xAB);
        w.u16(0x0102);
        w.u32(0x0304_0506);
        w.bytes(&[0xC0, 0xDE]);
        assert_eq!(w.position(), 9);
        assert_eq!(w.finish(), Ok(9));
        assert_eq!(buf, [0xAB, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xC0, 0xDE]);
        let mut r = ByteReader::new(&buf);
        assert_eq!(r.u8(), Ok(0xAB));
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(r.u32(), Ok(0x0304_0506));
        assert_eq!(r.position(), 7);
        assert_eq!(r.remaining(), 2);
        assert_eq!(r.array::<2>(), Ok([0xC0, 0xDE]));
        assert!(r.is_empty());
    }

    #[test]
    fn a_short_buffer_is_measured_not_overrun() {
        let mut small = [0u8; 2];
        let mut w = ByteWriter::new(&mut small);
        w.u32(0x0102_0304);
        w.u8(5);
        assert_eq!(w.finish(), Err(Error::BufferTooSmall { needed: 5 }));
        assert_eq!(small, [0, 0]);
    }

    #[test]
    fn short_input_is_an_error_and_the_reader_stays() {
        let data = [0x01, 0x02, 0x03];
        let mut r = ByteReader::new(&data);
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(
            r.u32(),
            Err(Error::Truncated {
                offset: 3,
                needed: 3
            })
        );
        assert_eq!(r.position(), 2);
        assert_eq!(
            r.take(usize::MAX)
                .err()
                .map(|e| matches!(e, Error::Truncated { .. })),
            Some(true)
        );
        assert_eq!(r.u8(), Ok(0x03));
    }
}
