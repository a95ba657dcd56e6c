//! [`KeyHistory`]: the key history object `5FC10C` (NIST SP 800-73-4 Part 1 §3.3.3,
//! Appendix A Table 19).

use cardwire_tlv::Writer;

use super::{EDC_LEN, collect, encode_with, exact, opt_len, required, write_edc, write_opt};
use crate::{Error, ObjectId, Target};

const TAGS: [u8; 3] = [0xC1, 0xC2, 0xF3];
const TARGET: Target = Target::Object(ObjectId::KEY_HISTORY);

/// A checked view of the key history object: how many retired keys have their certificate
/// on the card (`C1`) and off it (`C2`), and where the others are (`F3`, URL).
///
/// ```
/// use cardwire_piv::KeyHistory;
/// let k = KeyHistory::new_checked(&[0xC1, 0x01, 0x02, 0xC2, 0x01, 0x00, 0xFE, 0x00])?;
/// assert_eq!((k.on_card_certs(), k.off_card_certs(), k.off_card_url()), (2, 0, None));
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHistory<'a> {
    repr: KeyHistoryRepr<'a>,
}

impl<'a> KeyHistory<'a> {
    /// Checks a key history object.
    ///
    /// # Errors
    /// [`Error::Tlv`]; [`Error::Malformed`] when `C1` or `C2` is missing or not one byte,
    /// or more than 20 keys are counted.
    pub fn new_checked(content: &'a [u8]) -> Result<Self, Error> {
        let [on, off, url] = collect(TARGET, content, &TAGS)?;
        let on = required(
            TARGET,
            on,
            "key history has no keysWithOnCardCerts (tag 'C1')",
        )?;
        exact(
            TARGET,
            on,
            1,
            "keysWithOnCardCerts (tag 'C1') is not one byte",
        )?;
        let off = required(
            TARGET,
            off,
            "key history has no keysWithOffCardCerts (tag 'C2')",
        )?;
        exact(
            TARGET,
            off,
            1,
            "keysWithOffCardCerts (tag 'C2') is not one byte",
        )?;
        let (on, off) = (
            on.1.first().copied().unwrap_or(0),
            off.1.first().copied().unwrap_or(0),
        );
        if u16::from(on) + u16::from(off) > 20 {
            return Err(Error::Malformed {
                target: TARGET,
                offset: 0,
                what: "key history counts more than 20 retired keys",
            });
        }
        Ok(KeyHistory {
            repr: KeyHistoryRepr {
                on_card_certs: on,
                off_card_certs: off,
                off_card_url: url.map(|v| v.1),
            },
        })
    }

    /// `C1` keysWithOnCardCerts.
    pub fn on_card_certs(&self) -> u8 {
        self.repr.on_card_certs
    }

    /// `C2` keysWithOffCardCerts.
    pub fn off_card_certs(&self) -> u8 {
        self.repr.off_card_certs
    }

    /// `F3` offCardCertURL.
    pub fn off_card_url(&self) -> Option<&'a [u8]> {
        self.repr.off_card_url
    }

    /// The plain values.
    pub fn repr(&self) -> KeyHistoryRepr<'a> {
        self.repr
    }
}

/// The key history object as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyHistoryRepr<'a> {
    /// `C1`.
    pub on_card_certs: u8,
    /// `C2`.
    pub off_card_certs: u8,
    /// `F3`.
    pub off_card_url: Option<&'a [u8]>,
}

impl<'a> KeyHistoryRepr<'a> {
    /// Parses and checks.
    ///
    /// # Errors
    /// As [`KeyHistory::new_checked`].
    pub fn parse(content: &'a [u8]) -> Result<Self, Error> {
        KeyHistory::new_checked(content).map(|k| k.repr())
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        6 + opt_len(0xF3, self.off_card_url) + EDC_LEN
    }

    /// Writes `C1`, `C2`, `F3`, `FE 00`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn write<W: Writer + ?Sized>(&self, out: &mut W) -> Result<(), Error> {
        write_opt(out, 0xC1, Some(&[self.on_card_certs]))?;
        write_opt(out, 0xC2, Some(&[self.off_card_certs]))?;
        write_opt(out, 0xF3, self.off_card_url)?;
        write_edc(out)
    }

    /// Encodes into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn encode<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        encode_with(out, |w| self.write(w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_19() {
        // SP 800-73-4 Part 1 Table 19: C1 (on-card), C2 (off-card), F3 (URL), FE.
        const KH: [u8; 20] = [
            0xC1, 0x01, 0x01, 0xC2, 0x01, 0x02, 0xF3, 0x08, b'h', b't', b't', b'p', b':', b'/',
            b'/', b'x', 0xFE, 0x00, 0x00, 0x00,
        ];
        let k = KeyHistory::new_checked(&KH).unwrap();
        assert_eq!((k.on_card_certs(), k.off_card_certs()), (1, 2));
        assert_eq!(k.off_card_url(), Some(&b"http://x"[..]));
        let mut buf = [0u8; 32];
        assert_eq!(k.repr().encode(&mut buf).unwrap(), &KH[..18]);
        assert!(KeyHistory::new_checked(&[0xC1, 0x01, 0x15, 0xC2, 0x01, 0x00]).is_err());
        assert!(KeyHistory::new_checked(&KH[3..]).is_err());
    }
}
