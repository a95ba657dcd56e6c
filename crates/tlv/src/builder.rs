//! Building nested BER-TLV objects whose lengths are computed for you (feature `alloc`).

use alloc::vec::Vec;

use crate::{Error, Tag, write_header, write_tlv};

/// Builds a sequence of BER-TLV objects into a `Vec<u8>`; constructed objects take a closure
/// that adds their children, and their length is filled in afterwards (shortest form).
///
/// ```
/// use cardwire_tlv::{Builder, Tag};
///
/// let mut b = Builder::new();
/// b.constructed(Tag(0x6F), |b| {
///     b.primitive(Tag(0x84), b"1PAY.SYS.DDF01")?;
///     b.constructed(Tag(0xA5), |b| {
///         b.primitive(Tag(0x88), &[0x01])?;
///         Ok(())
///     })?;
///     Ok(())
/// })?;
/// assert_eq!(
///     b.finish(),
///     [
///         &[0x6F, 0x15, 0x84, 0x0E][..], b"1PAY.SYS.DDF01", &[0xA5, 0x03, 0x88, 0x01, 0x01],
///     ]
///     .concat()
/// );
/// # Ok::<(), cardwire_tlv::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Builder {
    buf: Vec<u8>,
}

impl Builder {
    /// An empty builder.
    pub const fn new() -> Self {
        Self { buf: Vec::new() }
    }

    /// Appends a primitive object (any tag; the value is taken as is).
    ///
    /// # Errors
    /// [`Error::InvalidTag`] for a malformed tag, [`Error::ValueTooLong`] above `u32::MAX`.
    pub fn primitive(&mut self, tag: Tag, value: &[u8]) -> Result<&mut Self, Error> {
        write_tlv(&mut self.buf, tag, value)?;
        Ok(self)
    }

    /// Appends bytes that are already encoded objects.
    pub fn raw(&mut self, encoded: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(encoded);
        self
    }

    /// Appends an object whose value is what `children` adds, with its length computed.
    ///
    /// # Errors
    /// The first error of `children`, or as [`Builder::primitive`]. On error the builder is
    /// left as it was before the call.
    pub fn constructed<F>(&mut self, tag: Tag, children: F) -> Result<&mut Self, Error>
    where
        F: FnOnce(&mut Self) -> Result<(), Error>,
    {
        let start = self.buf.len();
        let result = children(self).and_then(|()| {
            let value_len = self.buf.len() - start;
            let mut header = Vec::with_capacity(9);
            write_header(&mut header, tag, value_len)?;
            Ok(header)
        });
        match result {
            Ok(header) => {
                self.buf.splice(start..start, header);
                Ok(self)
            }
            Err(e) => {
                self.buf.truncate(start);
                Err(e)
            }
        }
    }

    /// The bytes built so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The bytes built.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tlv;

    #[test]
    fn long_lengths_are_computed() {
        let mut b = Builder::new();
        b.constructed(Tag(0x30), |b| {
            b.primitive(Tag(0x04), &[0xAB; 300])?;
            Ok(())
        })
        .unwrap();
        let bytes = b.finish();
        assert_eq!(
            &bytes[..8],
            &[0x30, 0x82, 0x01, 0x30, 0x04, 0x82, 0x01, 0x2C]
        );
        let t = Tlv::parse_with(&bytes, crate::Mode::Strict).unwrap();
        assert_eq!(t.children().next().unwrap().len(), 300);
    }

    #[test]
    fn failure_leaves_the_builder_unchanged() {
        let mut b = Builder::new();
        b.primitive(Tag(0x80), &[1]).unwrap();
        let err = b
            .constructed(Tag(0xA0), |b| {
                b.primitive(Tag(0x81), &[2])?;
                b.primitive(Tag(0x1F80), &[])?;
                Ok(())
            })
            .unwrap_err();
        assert_eq!(err, Error::InvalidTag { offset: 0 });
        assert_eq!(b.as_bytes(), &[0x80, 0x01, 0x01]);
        b.raw(&[0x82, 0x00]);
        assert_eq!(b.finish(), [0x80, 0x01, 0x01, 0x82, 0x00]);
    }
}
