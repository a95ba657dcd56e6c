//! Where encoders put their bytes: the [`Writer`] trait and its implementations.

use crate::Error;

/// A sink for encoded bytes, small enough for firmware: slices with a cursor
/// ([`SliceWriter`]), `heapless::Vec`, and with feature `alloc`, `Vec<u8>`.
///
/// Other cardwire crates encode through the same trait.
pub trait Writer {
    /// Appends all of `bytes`, or nothing.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `bytes` does not fit; nothing is written then.
    fn write(&mut self, bytes: &[u8]) -> Result<(), Error>;
}

impl<W: Writer + ?Sized> Writer for &mut W {
    fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        (**self).write(bytes)
    }
}

/// A [`Writer`] over a caller's buffer that fills it from the front.
///
/// ```
/// use cardwire_tlv::{SliceWriter, Writer};
///
/// let mut buf = [0u8; 4];
/// let mut w = SliceWriter::new(&mut buf);
/// w.write(&[0x84, 0x01])?;
/// w.write(&[0xAA])?;
/// assert_eq!(w.written(), &[0x84, 0x01, 0xAA]);
/// assert!(w.write(&[1, 2]).is_err());
/// # Ok::<(), cardwire_tlv::Error>(())
/// ```
#[derive(Debug)]
pub struct SliceWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> SliceWriter<'a> {
    /// A writer that starts at the front of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// How many bytes were written.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.pos).unwrap_or_default()
    }

    /// Gives up the writer, returning the written part of the buffer.
    pub fn into_written(self) -> &'a [u8] {
        let pos = self.pos;
        let buf: &'a [u8] = self.buf;
        buf.get(..pos).unwrap_or_default()
    }
}

impl Writer for SliceWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let end = self.pos.saturating_add(bytes.len());
        let available = self.buf.len();
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.pos = end;
                Ok(())
            }
            None => Err(Error::BufferTooSmall {
                needed: end,
                available,
            }),
        }
    }
}

impl<const N: usize> Writer for heapless::Vec<u8, N> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let needed = self.len().saturating_add(bytes.len());
        self.extend_from_slice(bytes)
            .map_err(|_| Error::BufferTooSmall {
                needed,
                available: N,
            })
    }
}

#[cfg(feature = "alloc")]
impl Writer for alloc::vec::Vec<u8> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_writer_fills_and_refuses_overflow() {
        let mut buf = [0u8; 3];
        let mut w = SliceWriter::new(&mut buf);
        w.write(&[1, 2]).unwrap();
        assert_eq!(
            w.write(&[3, 4]),
            Err(Error::BufferTooSmall {
                needed: 4,
                available: 3
            })
        );
        assert_eq!(w.position(), 2, "a failed write writes nothing");
        w.write(&[3]).unwrap();
        assert_eq!(w.into_written(), &[1, 2, 3]);
    }

    #[test]
    fn heapless_vec_writer() {
        let mut v: heapless::Vec<u8, 2> = heapless::Vec::new();
        v.write(&[1]).unwrap();
        assert_eq!(
            v.write(&[2, 3]),
            Err(Error::BufferTooSmall {
                needed: 3,
                available: 2
            })
        );
        assert_eq!(v.as_slice(), &[1]);
        let by_ref = &mut v;
        by_ref.write(&[9]).unwrap();
        assert_eq!(v.as_slice(), &[1, 9]);
    }
}
