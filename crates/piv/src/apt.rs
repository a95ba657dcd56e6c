//! [`ApplicationProperties`]: the application property template `61` that SELECT returns
//! (NIST SP 800-73-4 Part 2 §3.1.1, Table 3).

use cardwire_tlv::{Mode, Tag, Tlv};

use crate::{AlgorithmId, Error, Target};

const TARGET: Target = Target::Application;

/// A checked view of the application property template.
///
/// | tag | content | |
/// |---|---|---|
/// | `4F` | application identifier (PIX, `00 00 10 00 01 00`) | mandatory |
/// | `79` | coexistent tag allocation authority (`4F` NIST RID `A0 00 00 03 08`) | mandatory |
/// | `50` | application label | optional |
/// | `5F50` | URL of the application's specification | optional |
/// | `AC` | cryptographic algorithms: `80` algorithm IDs, `06` object identifier | optional |
///
/// ```
/// use cardwire_piv::{AlgorithmId, ApplicationProperties};
/// // A YubiKey 5's answer to SELECT PIV (Yubico PIV documentation, "SELECT").
/// let apt = [0x61, 0x11, 0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
///            0x79, 0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];
/// let props = ApplicationProperties::new_checked(&apt)?;
/// assert_eq!(props.aid(), &[0x00, 0x00, 0x10, 0x00, 0x01, 0x00]);
/// assert_eq!(props.authority(), Some(&[0xA0, 0x00, 0x00, 0x03, 0x08][..]));
/// assert_eq!(props.algorithms().count(), 0);
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplicationProperties<'a> {
    template: Tlv<'a>,
}

impl<'a> ApplicationProperties<'a> {
    /// Checks a `61` template: the answer's first object. Well-formed BER-TLV objects after
    /// it are accepted and left out of the view: ISO/IEC 7816-4 §12.7.1 lets a card add
    /// objects such as `7F66` (extended length information) to its SELECT answer, and real
    /// cards put them after the template (an Oberthur ID-One PIV card does:
    /// `tests/real_cards/oberthur-id-one-piv.txt`).
    ///
    /// # Errors
    /// [`Error::Tlv`] (also for broken TLV after the template); [`Error::Malformed`] when
    /// the tag is not `61` or `4F` is missing.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, Error> {
        cardwire_tlv::parse_all(bytes, Mode::Lenient).map_err(Error::tlv(TARGET))?;
        let (template, _) = Tlv::parse_prefix(bytes, Mode::Lenient).map_err(Error::tlv(TARGET))?;
        if template.tag() != Tag(0x61) {
            return Err(Error::Malformed {
                target: TARGET,
                offset: 0,
                what: "SELECT answer is not an application property template (tag '61')",
            });
        }
        if template.find(Tag(0x4F)).is_none() {
            return Err(Error::Malformed {
                target: TARGET,
                offset: 0,
                what: "application property template has no AID (tag '4F')",
            });
        }
        Ok(ApplicationProperties { template })
    }

    /// `4F`: the application identifier (PIX with version, or the full AID on some cards).
    pub fn aid(&self) -> &'a [u8] {
        self.template
            .find(Tag(0x4F))
            .map(|t| t.value())
            .unwrap_or_default()
    }

    /// `79`/`4F`: the coexistent tag allocation authority's RID.
    pub fn authority(&self) -> Option<&'a [u8]> {
        self.template
            .find_path(&[Tag(0x79), Tag(0x4F)])
            .map(|t| t.value())
    }

    /// `50`: the application label.
    pub fn label(&self) -> Option<&'a [u8]> {
        self.template.find(Tag(0x50)).map(|t| t.value())
    }

    /// `5F50`: the URL of the application's specification.
    pub fn url(&self) -> Option<&'a [u8]> {
        self.template.find(Tag(0x5F50)).map(|t| t.value())
    }

    /// The algorithm identifiers listed in `AC` (each `80` with one byte).
    pub fn algorithms(&self) -> impl Iterator<Item = AlgorithmId> + 'a {
        self.template
            .find(Tag(0xAC))
            .into_iter()
            .flat_map(|ac| ac.children())
            .filter(|t| t.tag() == Tag(0x80) && t.len() == 1)
            .filter_map(|t| t.value().first().map(|&b| AlgorithmId(b)))
    }

    /// The whole template.
    pub fn as_tlv(&self) -> Tlv<'a> {
        self.template
    }
}

/// Encodes an application property template (the card side's SELECT answer): `4F aid`,
/// `79 { 4F A0 00 00 03 08 }`, optional `50`/`5F50`, and `AC` with an `80` per algorithm and
/// `06 00`.
///
/// # Errors
/// [`Error::BufferTooSmall`].
pub fn encode_application_properties<'o>(
    aid: &[u8],
    label: Option<&[u8]>,
    url: Option<&[u8]>,
    algorithms: &[AlgorithmId],
    out: &'o mut [u8],
) -> Result<&'o [u8], Error> {
    use crate::containers::{map_write, write};
    const RID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x08];
    let authority_len = cardwire_tlv::encoded_len(Tag(0x4F), RID.len());
    let ac_len = algorithms.len() * 3 + 2;
    let inner = cardwire_tlv::encoded_len(Tag(0x4F), aid.len())
        + cardwire_tlv::encoded_len(Tag(0x79), authority_len)
        + label.map_or(0, |l| cardwire_tlv::encoded_len(Tag(0x50), l.len()))
        + url.map_or(0, |u| cardwire_tlv::encoded_len(Tag(0x5F50), u.len()))
        + if algorithms.is_empty() {
            0
        } else {
            cardwire_tlv::encoded_len(Tag(0xAC), ac_len)
        };
    let mut w = cardwire_tlv::SliceWriter::new(out);
    cardwire_tlv::write_header(&mut w, Tag(0x61), inner).map_err(map_write)?;
    write(&mut w, Tag(0x4F), aid)?;
    cardwire_tlv::write_header(&mut w, Tag(0x79), authority_len).map_err(map_write)?;
    write(&mut w, Tag(0x4F), &RID)?;
    if let Some(l) = label {
        write(&mut w, Tag(0x50), l)?;
    }
    if let Some(u) = url {
        write(&mut w, Tag(0x5F50), u)?;
    }
    if !algorithms.is_empty() {
        cardwire_tlv::write_header(&mut w, Tag(0xAC), ac_len).map_err(map_write)?;
        for a in algorithms {
            write(&mut w, Tag(0x80), &[a.0])?;
        }
        write(&mut w, Tag(0x06), &[])?;
    }
    Ok(w.into_written())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// An Oberthur ID-One PIV BIO card's SELECT answer (makinako/OpenFIPS201 pull request
    /// #39, see tests/real_cards/oberthur-id-one-piv.txt): `7F66` follows the template.
    const OBERTHUR: [u8; 70] = [
        0x61, 0x39, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
        0x79, 0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x50, 0x0E, b'I', b'D', b'-', b'O',
        b'n', b'e', b' ', b'P', b'I', b'V', b' ', b'B', b'I', b'O', 0x5F, 0x50, 0x10, b'w', b'w',
        b'w', b'.', b'o', b'b', b'e', b'r', b't', b'h', b'u', b'r', b'.', b'c', b'o', b'm', 0x7F,
        0x66, 0x08, 0x02, 0x02, 0x80, 0x00, 0x02, 0x02, 0x80, 0x00,
    ];

    #[test]
    fn objects_after_the_template_are_accepted() {
        let p = ApplicationProperties::new_checked(&OBERTHUR).unwrap();
        assert_eq!(p.label(), Some(&b"ID-One PIV BIO"[..]));
        assert_eq!(p.url(), Some(&b"www.oberthur.com"[..]));
        assert_eq!(p.as_tlv().raw().len(), 59);
        // Broken TLV after the template is still an error, with its offset in the answer.
        let mut broken = OBERTHUR;
        broken[61] = 0x09;
        assert!(matches!(
            ApplicationProperties::new_checked(&broken),
            Err(Error::Tlv {
                error: cardwire_tlv::Error::TruncatedValue { offset: 59, .. },
                ..
            })
        ));
        // And the first object must be the template.
        assert!(ApplicationProperties::new_checked(&OBERTHUR[59..]).is_err());
    }

    #[test]
    fn table_3_round_trip() {
        let mut buf = [0u8; 64];
        let algs = [
            AlgorithmId::TDES_3KEY,
            AlgorithmId::RSA_2048,
            AlgorithmId::ECC_P256,
        ];
        let bytes = encode_application_properties(
            &[0x00, 0x00, 0x10, 0x00, 0x01, 0x00],
            Some(b"cardwire PIV"),
            None,
            &algs,
            &mut buf,
        )
        .unwrap();
        let p = ApplicationProperties::new_checked(bytes).unwrap();
        assert_eq!(p.label(), Some(&b"cardwire PIV"[..]));
        assert_eq!(p.algorithms().collect::<Vec<_>>(), algs);
        assert!(ApplicationProperties::new_checked(&[0x6F, 0x00]).is_err());
        assert!(ApplicationProperties::new_checked(&[0x61, 0x00]).is_err());
    }
}
