//! BER-TLV tags (ISO/IEC 7816-4 §5.2.2.1, ITU-T X.690 §8.1.2).

use core::fmt;

use crate::{Error, Writer};

/// A BER-TLV tag: the tag bytes read as a big-endian number, e.g. `Tag(0x9F38)` for the
/// two-byte tag `9F 38` (ISO/IEC 7816-4 §5.2.2.1, X.690 §8.1.2).
///
/// Tags of one to four bytes are represented. The first byte carries the class (bits 8–7) and
/// the constructed bit (bit 6); its bits 5–1 are the tag number, or `1F` when the number
/// follows in further bytes of seven bits each (bit 8 set on every byte but the last).
///
/// ```
/// use cardwire_tlv::{Class, Tag};
///
/// let tag = Tag(0xBF0C);
/// assert_eq!(tag.class(), Class::ContextSpecific);
/// assert!(tag.is_constructed());
/// assert_eq!(tag.number(), 12);
/// assert_eq!(tag.to_bytes().as_slice(), &[0xBF, 0x0C]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u32);

/// The class of a tag: bits 8–7 of its first byte (X.690 §8.1.2.2, ISO/IEC 7816-4 §5.2.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// `00`: universal (X.690 types such as SEQUENCE `30`).
    Universal,
    /// `01`: application (in ISO/IEC 7816-4, interindustry templates such as `6F`).
    Application,
    /// `10`: context-specific (`80`–`BF`).
    ContextSpecific,
    /// `11`: private (`C0`–`FF`).
    Private,
}

/// The encoded bytes of a tag, at most four (see [`Tag::to_bytes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagBytes {
    bytes: [u8; 4],
    len: u8,
}

impl TagBytes {
    /// The tag bytes, first byte first.
    pub fn as_slice(&self) -> &[u8] {
        let start = 4 - usize::from(self.len);
        self.bytes.get(start..).unwrap_or_default()
    }
}

impl Tag {
    /// `6F`: File Control Information template (ISO/IEC 7816-4 §7.4.1).
    pub const FCI: Self = Self(0x6F);
    /// `62`: File Control Parameters template (ISO/IEC 7816-4 §7.4.1).
    pub const FCP: Self = Self(0x62);
    /// `64`: File Management Data template (ISO/IEC 7816-4 §7.4.1).
    pub const FMD: Self = Self(0x64);
    /// `84`: DF name (ISO/IEC 7816-4 §7.4.3, Table 12).
    pub const DF_NAME: Self = Self(0x84);
    /// `A5`: proprietary information, constructed (FCI proprietary template in EMV).
    pub const FCI_PROPRIETARY: Self = Self(0xA5);
    /// `BF0C`: FCI issuer discretionary data (EMV Book 1 §11.3.4).
    pub const FCI_ISSUER_DISCRETIONARY: Self = Self(0xBF0C);
    /// `4F`: application identifier (ISO/IEC 7816-4 §8.2.1.2).
    pub const AID: Self = Self(0x4F);
    /// `50`: application label (ISO/IEC 7816-4 §8.2.1.2).
    pub const APPLICATION_LABEL: Self = Self(0x50);
    /// `61`: application template (ISO/IEC 7816-4 §8.2.1.2).
    pub const APPLICATION_TEMPLATE: Self = Self(0x61);
    /// `70`: READ RECORD response template (EMV Book 3 §6.5.11.4).
    pub const RECORD_TEMPLATE: Self = Self(0x70);
    /// `77`: response message template format 2 (EMV Book 3 §6.5.8.4).
    pub const RESPONSE_FORMAT_2: Self = Self(0x77);
    /// `9F38`: Processing Options Data Object List (EMV Book 3 Annex A).
    pub const PDOL: Self = Self(0x9F38);
    /// `30`: X.690 SEQUENCE, constructed.
    pub const SEQUENCE: Self = Self(0x30);

    /// Checks that `value` is a well-formed tag of one to four bytes: either a single byte
    /// whose number bits are not `1F`, or a first byte with number bits `1F` followed by bytes
    /// with bit 8 set on all but the last, the first of them not `80` (X.690 §8.1.2.4.2 c).
    ///
    /// This is the widest form any [`Mode`](crate::Mode) accepts; the strict and ISO modes
    /// check more (see [`Mode`](crate::Mode)).
    #[inline]
    pub const fn new(value: u32) -> Option<Self> {
        let tag = Self(value);
        if tag.is_valid() { Some(tag) } else { None }
    }

    /// Whether this tag is well formed (see [`Tag::new`]).
    #[inline]
    pub const fn is_valid(self) -> bool {
        let len = self.encoded_len();
        let first = self.first_byte();
        if len == 1 {
            return first & 0x1F != 0x1F;
        }
        if first & 0x1F != 0x1F || self.byte_from_end(len - 2) == 0x80 {
            return false;
        }
        // Every subsequent byte but the last has bit 8 set; the last has it clear.
        let mut i = len - 2;
        while i > 0 {
            if self.byte_from_end(i) & 0x80 == 0 {
                return false;
            }
            i -= 1;
        }
        self.byte_from_end(0) & 0x80 == 0
    }

    /// Byte `i` counted from the last (0 = last byte).
    #[inline]
    const fn byte_from_end(self, i: usize) -> u8 {
        // i < 4 at every call site; the shift is masked anyway.
        (self.0 >> ((8 * i as u32) & 31)) as u8
    }

    /// How many bytes the tag occupies: the number of bytes of the big-endian value with
    /// leading zero bytes left out (at least one, so `Tag(0x00)` is the one byte `00`).
    #[inline]
    pub const fn encoded_len(self) -> usize {
        match self.0 {
            0..=0xFF => 1,
            0x100..=0xFFFF => 2,
            0x1_0000..=0xFF_FFFF => 3,
            _ => 4,
        }
    }

    /// The first tag byte, which holds the class and the constructed bit.
    #[inline]
    pub const fn first_byte(self) -> u8 {
        self.byte_from_end(self.encoded_len() - 1)
    }

    /// The class, from bits 8–7 of the first byte.
    #[inline]
    pub const fn class(self) -> Class {
        match self.first_byte() >> 6 {
            0 => Class::Universal,
            1 => Class::Application,
            2 => Class::ContextSpecific,
            _ => Class::Private,
        }
    }

    /// Whether the value holds nested BER-TLV objects (bit 6 of the first byte).
    #[inline]
    pub const fn is_constructed(self) -> bool {
        self.first_byte() & 0x20 != 0
    }

    /// The tag number: bits 5–1 of a one-byte tag, or the seven-bit groups of the
    /// subsequent bytes (X.690 §8.1.2.4).
    #[inline]
    pub const fn number(self) -> u32 {
        let len = self.encoded_len();
        if len == 1 {
            return self.0 & 0x1F;
        }
        let mut n = 0u32;
        let mut i = len - 1;
        while i > 0 {
            i -= 1;
            n = (n << 7) | (self.byte_from_end(i) & 0x7F) as u32;
        }
        n
    }

    /// The encoded tag bytes.
    #[inline]
    pub const fn to_bytes(self) -> TagBytes {
        TagBytes {
            bytes: self.0.to_be_bytes(),
            // encoded_len is 1..=4.
            len: self.encoded_len() as u8,
        }
    }

    /// Writes the tag bytes.
    ///
    /// # Errors
    /// [`Error::InvalidTag`] (offset 0) when the tag is not well formed (see [`Tag::new`]);
    /// [`Error::BufferTooSmall`] from the writer.
    pub fn write<W: Writer + ?Sized>(self, out: &mut W) -> Result<(), Error> {
        if !self.is_valid() {
            return Err(Error::InvalidTag { offset: 0 });
        }
        out.write(self.to_bytes().as_slice())
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

/// Uppercase hex of the tag bytes, e.g. `9F38`.
impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.to_bytes().as_slice() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl From<u32> for Tag {
    fn from(value: u32) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_tags() {
        let t = Tag(0x6F);
        assert_eq!(t.class(), Class::Application);
        assert!(t.is_constructed());
        assert_eq!(t.number(), 15);
        assert_eq!(t.encoded_len(), 1);
        assert!(t.is_valid());
        assert!(!Tag(0x84).is_constructed());
        assert_eq!(Tag(0xC1).class(), Class::Private);
        assert_eq!(Tag(0x02).class(), Class::Universal);
    }

    #[test]
    fn multi_byte_tags() {
        assert_eq!(Tag(0x9F38).number(), 0x38);
        assert_eq!(Tag(0x5F2D).class(), Class::Application);
        assert!(!Tag(0x5F2D).is_constructed());
        assert_eq!(Tag(0x7F4E).number(), 0x4E);
        // X.690 §8.1.2.4: 1F 81 00 is number 128.
        assert_eq!(Tag(0x1F_8100).number(), 128);
        assert_eq!(Tag(0x1F_8100).encoded_len(), 3);
        assert_eq!(Tag(0xDF81_8101).encoded_len(), 4);
        assert!(Tag(0xDF81_8101).is_valid());
    }

    #[test]
    fn malformed_tags_are_invalid() {
        assert!(!Tag(0x1F).is_valid(), "1F needs a subsequent byte");
        assert!(!Tag(0x1F80).is_valid(), "80 as first subsequent byte");
        assert!(!Tag(0x9F81).is_valid(), "last byte with bit 8 set");
        assert!(!Tag(0x6F01).is_valid(), "6F is a one-byte tag");
        assert!(Tag::new(0x9F38).is_some());
        assert!(Tag::new(0x1F80).is_none());
    }

    #[test]
    fn display_is_hex() {
        extern crate std;
        use std::format;
        assert_eq!(format!("{}", Tag(0x9F38)), "9F38");
        assert_eq!(format!("{:?}", Tag(0x04)), "Tag(04)");
        assert_eq!(Tag(0x00).to_bytes().as_slice(), &[0x00]);
    }
}
