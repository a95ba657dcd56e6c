//! File control information: the FCP, FCI and FMD templates that SELECT returns
//! (ISO/IEC 7816-4:2005 §5.3.3, Tables 12–15), parsed with `cardwire-tlv`.
//!
//! ```
//! use cardwire_apdu::fci::{FileControl, TemplateKind, FileType, EfStructure, LifeCycle};
//! // FCP of a transparent EF 2F00 of 42 bytes, SFI 1, operational and activated.
//! let fcp = [0x62, 0x11, 0x80, 0x02, 0x00, 0x2A, 0x82, 0x01, 0x01, 0x83, 0x02, 0x2F, 0x00,
//!            0x88, 0x01, 0x08, 0x8A, 0x01, 0x05];
//! let fc = FileControl::parse(&fcp)?;
//! assert_eq!(fc.kind(), TemplateKind::Fcp);
//! assert_eq!(fc.file_size(), Some(42));
//! assert_eq!(fc.file_id(), Some(0x2F00));
//! assert_eq!(fc.sfi(), Some(1));
//! let d = fc.descriptor().unwrap();
//! assert_eq!(d.file_type(), FileType::WorkingEf);
//! assert_eq!(d.ef_structure(), Some(EfStructure::Transparent));
//! assert_eq!(fc.life_cycle(), Some(LifeCycle::OperationalActivated));
//! # Ok::<(), cardwire_apdu::Error>(())
//! ```

use cardwire_tlv::{Options, Tag, Tlv, Tlvs};

use crate::Error;

/// Which template the file control information came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateKind {
    /// `62`: file control parameters.
    Fcp,
    /// `64`: file management data.
    Fmd,
    /// `6F`: file control information (FCP and FMD objects together).
    Fci,
}

/// The file descriptor byte and what follows it in data object `82` (§5.3.3, Table 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileDescriptor<'a> {
    value: &'a [u8],
}

/// The file category of the descriptor byte (bits 6–4).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// `000`: working EF.
    WorkingEf,
    /// `001`: internal EF.
    InternalEf,
    /// `111` with structure bits `000`: DF.
    Df,
    /// `111` with structure `001` (BER-TLV) or `010` (SIMPLE-TLV): data object structure.
    DataObjects,
    /// Other values: proprietary EF types.
    Proprietary,
}

/// The EF structure of the descriptor byte (bits 3–1).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EfStructure {
    /// `001`: transparent.
    Transparent,
    /// `010`: linear fixed, no further information.
    LinearFixed,
    /// `011`: linear fixed, TLV structure.
    LinearFixedTlv,
    /// `100`: linear variable, no further information.
    LinearVariable,
    /// `101`: linear variable, TLV structure.
    LinearVariableTlv,
    /// `110`: cyclic, no further information.
    Cyclic,
    /// `111`: cyclic, TLV structure.
    CyclicTlv,
}

impl<'a> FileDescriptor<'a> {
    /// The raw value of data object `82` (1–6 bytes).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.value
    }

    /// The file descriptor byte.
    pub fn byte(&self) -> u8 {
        self.value.first().copied().unwrap_or(0)
    }

    /// Bit 7: the file is shareable (several logical channels at once).
    pub fn shareable(&self) -> bool {
        self.byte() & 0x40 != 0
    }

    /// The file category.
    pub fn file_type(&self) -> FileType {
        let b = self.byte();
        if b & 0x80 != 0 {
            return FileType::Proprietary;
        }
        match ((b >> 3) & 0x07, b & 0x07) {
            (0b000, _) => FileType::WorkingEf,
            (0b001, _) => FileType::InternalEf,
            (0b111, 0b000) => FileType::Df,
            (0b111, 0b001 | 0b010) => FileType::DataObjects,
            _ => FileType::Proprietary,
        }
    }

    /// The EF structure, for working and internal EFs.
    pub fn ef_structure(&self) -> Option<EfStructure> {
        if !matches!(self.file_type(), FileType::WorkingEf | FileType::InternalEf) {
            return None;
        }
        match self.byte() & 0x07 {
            0b001 => Some(EfStructure::Transparent),
            0b010 => Some(EfStructure::LinearFixed),
            0b011 => Some(EfStructure::LinearFixedTlv),
            0b100 => Some(EfStructure::LinearVariable),
            0b101 => Some(EfStructure::LinearVariableTlv),
            0b110 => Some(EfStructure::Cyclic),
            0b111 => Some(EfStructure::CyclicTlv),
            _ => None,
        }
    }

    /// The data coding byte (second byte), when present.
    pub fn data_coding(&self) -> Option<u8> {
        self.value.get(1).copied()
    }

    /// The maximum record size, when present: byte 3, or bytes 3–4 when the value is 5 or 6
    /// bytes long.
    pub fn max_record_size(&self) -> Option<u16> {
        match self.value.get(2..) {
            Some([a] | [a, _]) => Some(u16::from(*a)),
            Some([a, b, _] | [a, b, _, _]) => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }

    /// The number of records, when present: the last byte of a 4- or 5-byte value, or bytes
    /// 5–6 of a 6-byte value.
    pub fn number_of_records(&self) -> Option<u16> {
        match self.value.get(2..) {
            Some([_, n]) => Some(u16::from(*n)),
            Some([_, _, n]) => Some(u16::from(*n)),
            Some([_, _, a, b]) => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }
}

/// The life cycle status byte, data object `8A` (§5.3.3.2, Table 15).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifeCycle {
    /// `00`: no information given.
    NoInformation,
    /// `01`: creation state.
    Creation,
    /// `03`: initialisation state.
    Initialisation,
    /// `05`, `07`: operational state, activated.
    OperationalActivated,
    /// `04`, `06`: operational state, deactivated.
    OperationalDeactivated,
    /// `0C`–`0F`: termination state.
    Termination,
    /// `10` and above: proprietary.
    Proprietary(u8),
    /// Other values: reserved for future use.
    Rfu(u8),
}

impl LifeCycle {
    /// Decodes the life cycle status byte.
    pub const fn from_byte(b: u8) -> Self {
        match b {
            0x00 => LifeCycle::NoInformation,
            0x01 => LifeCycle::Creation,
            0x03 => LifeCycle::Initialisation,
            0x05 | 0x07 => LifeCycle::OperationalActivated,
            0x04 | 0x06 => LifeCycle::OperationalDeactivated,
            0x0C..=0x0F => LifeCycle::Termination,
            0x10..=0xFF => LifeCycle::Proprietary(b),
            _ => LifeCycle::Rfu(b),
        }
    }
}

/// One security attribute data object of the template (§5.3.3, Table 12; §9.3.3).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityAttribute<'a> {
    /// `86`: security attribute in proprietary format.
    Proprietary(&'a [u8]),
    /// `8B`: referenced format (EF.ARR file identifier and record numbers).
    Referenced(&'a [u8]),
    /// `8C`: compact format: access mode byte, then one security condition byte per bit set
    /// in bits 7–1 of the access mode byte.
    Compact {
        /// The access mode byte.
        access_mode: u8,
        /// The security condition bytes.
        conditions: &'a [u8],
    },
    /// `A0`–`AF` templates (`AB` is the expanded format); tag and value.
    Template(Tag, &'a [u8]),
}

/// Parsed file control information over the template bytes (see the
/// [module documentation](self)).
#[derive(Debug, Clone, Copy)]
pub struct FileControl<'a> {
    kind: TemplateKind,
    template: Tlv<'a>,
}

fn be_uint(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

impl<'a> FileControl<'a> {
    /// Parses one FCP (`62`), FMD (`64`) or FCI (`6F`) template, as found in the response
    /// data of SELECT. Lenient BER-TLV (cardwire-tlv's default), so real card data with
    /// padding parses.
    ///
    /// # Errors
    /// [`Error::NotAnFciTemplate`] for another outer tag, [`Error::Tlv`] for malformed
    /// BER-TLV (with the offset).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let template = Tlv::parse_with(bytes, Options::default())?;
        let kind = match template.tag() {
            Tag::FCP => TemplateKind::Fcp,
            Tag::FMD => TemplateKind::Fmd,
            Tag::FCI => TemplateKind::Fci,
            other => {
                return Err(Error::NotAnFciTemplate {
                    found: other.first_byte(),
                });
            }
        };
        Ok(Self { kind, template })
    }

    /// Which template this is.
    pub fn kind(&self) -> TemplateKind {
        self.kind
    }

    /// The template as a TLV node.
    pub fn template(&self) -> Tlv<'a> {
        self.template
    }

    /// The data objects inside the template.
    pub fn objects(&self) -> Tlvs<'a> {
        self.template.children()
    }

    /// The value of the first data object `tag` directly inside the template.
    pub fn find(&self, tag: Tag) -> Option<&'a [u8]> {
        self.template.find(tag).map(|t| t.value())
    }

    /// `80`: the number of data bytes in the file, excluding structural information.
    pub fn file_size(&self) -> Option<u64> {
        self.find(Tag(0x80)).and_then(be_uint)
    }

    /// `81`: the number of data bytes in the file, including structural information.
    pub fn total_size(&self) -> Option<u64> {
        self.find(Tag(0x81)).and_then(be_uint)
    }

    /// `82`: the file descriptor.
    pub fn descriptor(&self) -> Option<FileDescriptor<'a>> {
        self.find(Tag(0x82))
            .filter(|v| !v.is_empty())
            .map(|value| FileDescriptor { value })
    }

    /// `83`: the file identifier.
    pub fn file_id(&self) -> Option<u16> {
        match self.find(Tag(0x83))? {
            [a, b] => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }

    /// `84`: the DF name (an application identifier).
    pub fn df_name(&self) -> Option<&'a [u8]> {
        self.find(Tag::DF_NAME)
    }

    /// `85` or `A5`: proprietary information (primitive or constructed).
    pub fn proprietary(&self) -> Option<&'a [u8]> {
        self.find(Tag(0x85))
            .or_else(|| self.find(Tag::FCI_PROPRIETARY))
    }

    /// `88`: the short EF identifier (1–30). `None` when absent, when empty (the EF has no
    /// SFI) or malformed.
    pub fn sfi(&self) -> Option<u8> {
        match self.find(Tag(0x88))? {
            [b] => {
                let sfi = b >> 3;
                (1..=30).contains(&sfi).then_some(sfi)
            }
            _ => None,
        }
    }

    /// `8A`: the life cycle status.
    pub fn life_cycle(&self) -> Option<LifeCycle> {
        match self.find(Tag(0x8A))? {
            [b] => Some(LifeCycle::from_byte(*b)),
            _ => None,
        }
    }

    /// The security attributes (`86`, `8B`, `8C`, `A0`–`AF`) in template order.
    pub fn security_attributes(&self) -> impl Iterator<Item = SecurityAttribute<'a>> + 'a {
        self.template.children().filter_map(|t| match t.tag().0 {
            0x86 => Some(SecurityAttribute::Proprietary(t.value())),
            0x8B => Some(SecurityAttribute::Referenced(t.value())),
            0x8C => t.value().split_first().map(|(&access_mode, conditions)| {
                SecurityAttribute::Compact {
                    access_mode,
                    conditions,
                }
            }),
            0xA0..=0xAF => Some(SecurityAttribute::Template(t.tag(), t.value())),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // FCI of an EMV payment application (EMV Book 1 §11.3.4 structure: 6F { 84 DF name,
    // A5 { 50 label, 87 priority } }); AID A0000000031010 from EMV Book 1 Annex.
    const EMV_FCI: &[u8] = &[
        0x6F, 0x1A, 0x84, 0x07, 0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10, 0xA5, 0x0F, 0x50, 0x0A,
        b'V', b'I', b'S', b'A', b' ', b'D', b'E', b'B', b'I', b'T', 0x87, 0x01, 0x01,
    ];

    // FCP of a DF with security attributes (ISO/IEC 7816-4 Table 12 objects).
    const DF_FCP: &[u8] = &[
        0x62, 0x1B, 0x82, 0x01, 0x38, 0x83, 0x02, 0x50, 0x15, 0x84, 0x03, 0xA0, 0x00, 0x01, 0x8A,
        0x01, 0x05, 0x8C, 0x03, 0x03, 0x00, 0xFF, 0x8B, 0x03, 0x2F, 0x06, 0x01, 0x81, 0x00,
    ];

    // Shareable linear fixed EF: 82 05 42 41 00 20 0A (record size 32, 10 records), 88 empty (no SFI).
    const RECORD_FCP: &[u8] = &[
        0x62, 0x0B, 0x82, 0x05, 0x42, 0x41, 0x00, 0x20, 0x0A, 0x88, 0x00, 0x80, 0x00,
    ];

    #[test]
    fn emv_fci() {
        let fc = FileControl::parse(EMV_FCI).unwrap();
        assert_eq!(fc.kind(), TemplateKind::Fci);
        assert_eq!(
            fc.df_name(),
            Some(&[0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10][..])
        );
        let prop = fc.proprietary().unwrap();
        assert_eq!(prop.len(), 15);
        assert_eq!(fc.descriptor(), None);
    }

    #[test]
    fn df_fcp_with_security() {
        // Cut short: the template length runs past the input.
        let err = FileControl::parse(&DF_FCP[..DF_FCP.len() - 3]).unwrap_err();
        assert!(matches!(err, Error::Tlv(_)), "{err:?}");
        let fc = FileControl::parse(DF_FCP).unwrap();
        assert_eq!(fc.total_size(), None);
        assert_eq!(fc.kind(), TemplateKind::Fcp);
        let d = fc.descriptor().unwrap();
        assert_eq!(d.file_type(), FileType::Df);
        assert_eq!(d.ef_structure(), None);
        assert_eq!(fc.file_id(), Some(0x5015));
        assert_eq!(fc.life_cycle(), Some(LifeCycle::OperationalActivated));
        let attrs: std::vec::Vec<_> = fc.security_attributes().collect();
        assert_eq!(
            attrs,
            [
                SecurityAttribute::Compact {
                    access_mode: 0x03,
                    conditions: &[0x00, 0xFF]
                },
                SecurityAttribute::Referenced(&[0x2F, 0x06, 0x01]),
            ]
        );
    }

    #[test]
    fn record_ef() {
        let fc = FileControl::parse(RECORD_FCP).unwrap();
        let d = fc.descriptor().unwrap();
        assert_eq!(d.ef_structure(), Some(EfStructure::LinearFixed));
        assert!(d.shareable());
        assert_eq!(d.data_coding(), Some(0x41));
        assert_eq!(d.max_record_size(), Some(0x0020));
        assert_eq!(d.number_of_records(), Some(10));
        assert_eq!(fc.sfi(), None);
        assert_eq!(fc.file_size(), None);
    }

    #[test]
    fn not_a_template() {
        assert_eq!(
            FileControl::parse(&[0x70, 0x00]).unwrap_err(),
            Error::NotAnFciTemplate { found: 0x70 }
        );
        assert!(FileControl::parse(&[0x62]).is_err());
    }
}
