//! The historical bytes of an ATR (ISO/IEC 7816-4 §8.1.1): category indicator, COMPACT-TLV
//! objects, and the card capabilities that later layers read (command chaining, extended
//! Lc/Le, logical channels).

use super::{CompactTag, Tlvs, parse_all_at};
use crate::Error;

/// The category indicator, the first historical byte (ISO/IEC 7816-4 §8.1.1.1, Table 83).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Category(pub u8);

impl Category {
    /// `00`: COMPACT-TLV objects follow, and the last three bytes are a status indicator
    /// (life cycle status, SW1-SW2) outside TLV.
    pub const STATUS_AT_END: Self = Self(0x00);
    /// `10`: a DIR data reference byte follows.
    pub const DIR_DATA_REFERENCE: Self = Self(0x10);
    /// `80`: COMPACT-TLV objects follow, the status indicator among them if present.
    pub const COMPACT_TLV: Self = Self(0x80);

    /// Whether this is one of the categories ISO/IEC 7816-4 defines (`00`, `10`, `80`);
    /// `81`–`8F` are reserved and other values proprietary.
    pub const fn is_interindustry(self) -> bool {
        matches!(self.0, 0x00 | 0x10 | 0x80)
    }
}

/// Card service data, COMPACT-TLV tag `3` (ISO/IEC 7816-4 §8.1.1.2.3, Table 85).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CardServiceData(pub u8);

impl CardServiceData {
    /// b8: application selection by full DF name.
    pub const fn selection_by_full_df_name(self) -> bool {
        self.0 & 0x80 != 0
    }
    /// b7: application selection by partial DF name.
    pub const fn selection_by_partial_df_name(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// b6: BER-TLV data objects available in EF.DIR.
    pub const fn data_objects_in_ef_dir(self) -> bool {
        self.0 & 0x20 != 0
    }
    /// b5: BER-TLV data objects available in EF.ATR/INFO.
    pub const fn data_objects_in_ef_atr(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// b4–b2 = `100`: EF.DIR and EF.ATR/INFO are read with READ BINARY.
    pub const fn ef_access_by_read_binary(self) -> bool {
        self.0 & 0x0E == 0x08
    }
    /// b4–b2 = `000`: EF.DIR and EF.ATR/INFO are read with READ RECORD(S).
    pub const fn ef_access_by_read_record(self) -> bool {
        self.0 & 0x0E == 0x00
    }
    /// b4–b2 = `010`: EF.DIR and EF.ATR/INFO are read with GET DATA.
    pub const fn ef_access_by_get_data(self) -> bool {
        self.0 & 0x0E == 0x04
    }
    /// b1 = 0: the card has a master file.
    pub const fn has_master_file(self) -> bool {
        self.0 & 0x01 == 0
    }
}

/// Selection methods, first byte of the card capabilities (ISO/IEC 7816-4 §8.1.1.2.7,
/// Table 86).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SelectionMethods(pub u8);

impl SelectionMethods {
    /// b8: DF selection by full DF name.
    pub const fn by_full_df_name(self) -> bool {
        self.0 & 0x80 != 0
    }
    /// b7: DF selection by partial DF name.
    pub const fn by_partial_df_name(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// b6: DF selection by path.
    pub const fn by_path(self) -> bool {
        self.0 & 0x20 != 0
    }
    /// b5: DF selection by file identifier.
    pub const fn by_file_identifier(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// b4: implicit DF selection.
    pub const fn implicit_df(self) -> bool {
        self.0 & 0x08 != 0
    }
    /// b3: short EF identifier supported.
    pub const fn short_ef_identifier(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// b2: record number supported.
    pub const fn record_number(self) -> bool {
        self.0 & 0x02 != 0
    }
    /// b1: record identifier supported.
    pub const fn record_identifier(self) -> bool {
        self.0 & 0x01 != 0
    }
}

/// The data coding byte, second byte of the card capabilities (ISO/IEC 7816-4 §8.1.1.2.7,
/// Table 87).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DataCoding(pub u8);

impl DataCoding {
    /// b8: EFs of TLV structure supported.
    pub const fn tlv_efs(self) -> bool {
        self.0 & 0x80 != 0
    }
    /// b7–b6, behaviour of write functions: 0 one-time write, 1 proprietary, 2 write OR,
    /// 3 write AND.
    pub const fn write_behaviour(self) -> u8 {
        (self.0 >> 5) & 0x03
    }
    /// b5: `FF` is a valid first byte of a BER-TLV tag (otherwise it is filler).
    pub const fn ff_tag_valid(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// b4–b1: data unit size in quartets, a power of two (`1` = 2 quartets = one byte).
    pub const fn data_unit_quartets(self) -> u32 {
        1 << (self.0 & 0x0F)
    }
}

/// How logical channel numbers are assigned (third byte of the card capabilities, b5–b4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LogicalChannelAssignment(pub u8);

impl LogicalChannelAssignment {
    /// b5: the card assigns channel numbers (MANAGE CHANNEL open with P2 = 00).
    pub const fn by_card(self) -> bool {
        self.0 & 0x02 != 0
    }
    /// b4: the interface device assigns channel numbers.
    pub const fn by_interface_device(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// Whether logical channels are supported at all (b5–b4 not `00`).
    pub const fn is_supported(self) -> bool {
        self.0 & 0x03 != 0
    }
}

/// The card capabilities, COMPACT-TLV tag `7`, one to three bytes (ISO/IEC 7816-4
/// §8.1.1.2.7, Tables 86–88).
///
/// ```
/// use cardwire_tlv::compact::HistoricalBytes;
///
/// // YubiKey 5 NFC historical bytes: 80, 73 C0 21 C0, 57 "YubiKey".
/// let hb = HistoricalBytes::parse(&[
///     0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79,
/// ])?;
/// let caps = hb.card_capabilities().unwrap();
/// assert!(caps.command_chaining());
/// assert!(caps.extended_lc_le());
/// assert!(caps.selection_methods().unwrap().by_full_df_name());
/// assert_eq!(hb.card_issuer_data(), Some(&b"YubiKey"[..]));
/// # Ok::<(), cardwire_tlv::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CardCapabilities {
    bytes: [u8; 3],
    len: u8,
}

impl CardCapabilities {
    /// Card capabilities from the value of a tag-`7` object (extra bytes beyond three are
    /// ignored; the format defines three).
    pub fn new(value: &[u8]) -> Self {
        let mut bytes = [0u8; 3];
        let len = value.len().min(3);
        for (dst, src) in bytes.iter_mut().zip(value) {
            *dst = *src;
        }
        // len <= 3.
        Self {
            bytes,
            len: len as u8,
        }
    }

    /// The bytes present (one to three).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    fn byte(&self, index: usize) -> Option<u8> {
        self.as_bytes().get(index).copied()
    }

    /// First byte: the selection methods.
    pub fn selection_methods(&self) -> Option<SelectionMethods> {
        self.byte(0).map(SelectionMethods)
    }

    /// Second byte: the data coding byte.
    pub fn data_coding(&self) -> Option<DataCoding> {
        self.byte(1).map(DataCoding)
    }

    /// Third byte b8: command chaining (ISO/IEC 7816-4 §5.1.1.1).
    pub fn command_chaining(&self) -> bool {
        self.byte(2).is_some_and(|b| b & 0x80 != 0)
    }

    /// Third byte b7: extended Lc and Le fields (ISO/IEC 7816-3 §12.1.3).
    pub fn extended_lc_le(&self) -> bool {
        self.byte(2).is_some_and(|b| b & 0x40 != 0)
    }

    /// Third byte b6: extended length information in EF.ATR/INFO (ISO/IEC 7816-4:2013).
    pub fn extended_length_info(&self) -> bool {
        self.byte(2).is_some_and(|b| b & 0x20 != 0)
    }

    /// Third byte b5–b4: how logical channel numbers are assigned (none when absent).
    pub fn logical_channel_assignment(&self) -> LogicalChannelAssignment {
        LogicalChannelAssignment(self.byte(2).map_or(0, |b| (b >> 3) & 0x03))
    }

    /// Third byte b3–b1: the maximum number of logical channels, 1–8 (8 meaning "eight or
    /// more"); 1 (the basic channel only) when the third byte is absent.
    pub fn max_logical_channels(&self) -> u8 {
        self.byte(2).map_or(1, |b| (b & 0x07) + 1)
    }
}

/// The status indicator (ISO/IEC 7816-4 §8.1.1.3): the life cycle status byte and/or a
/// status word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatusIndicator {
    /// The card life cycle status byte (ISO/IEC 7816-4 §7.4.10, Table 15), if present.
    pub lcs: Option<u8>,
    /// SW1-SW2, if present.
    pub sw: Option<u16>,
}

impl StatusIndicator {
    /// Reads a status indicator of one (LCS), two (SW) or three (LCS, SW) bytes; other
    /// lengths are not a status indicator.
    pub fn new(value: &[u8]) -> Option<Self> {
        match *value {
            [lcs] => Some(Self {
                lcs: Some(lcs),
                sw: None,
            }),
            [sw1, sw2] => Some(Self {
                lcs: None,
                sw: Some(u16::from_be_bytes([sw1, sw2])),
            }),
            [lcs, sw1, sw2] => Some(Self {
                lcs: Some(lcs),
                sw: Some(u16::from_be_bytes([sw1, sw2])),
            }),
            _ => None,
        }
    }
}

/// The historical bytes of an ATR, checked against their category (ISO/IEC 7816-4 §8.1.1).
///
/// Empty historical bytes parse to a value with no category. Categories other than `00`,
/// `10` and `80` are kept as raw bytes ([`HistoricalBytes::proprietary`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoricalBytes<'a> {
    raw: &'a [u8],
    objects: &'a [u8],
    status: Option<StatusIndicator>,
}

impl<'a> HistoricalBytes<'a> {
    /// Checks `bytes` against the layout of its category.
    ///
    /// # Errors
    /// [`Error::InvalidHistoricalBytes`] for category `00` with fewer than three status bytes
    /// or `10` without its reference byte; [`Error::TruncatedValue`] for a COMPACT-TLV object
    /// cut short.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let Some((&category, rest)) = bytes.split_first() else {
            return Ok(Self {
                raw: bytes,
                objects: &[],
                status: None,
            });
        };
        let (objects, status) = match Category(category) {
            Category::STATUS_AT_END => {
                let split = rest
                    .len()
                    .checked_sub(3)
                    .ok_or(Error::InvalidHistoricalBytes {
                        offset: bytes.len(),
                    })?;
                let (objects, status) = rest.split_at_checked(split).unwrap_or_default();
                (objects, StatusIndicator::new(status))
            }
            Category::DIR_DATA_REFERENCE => {
                if rest.is_empty() {
                    return Err(Error::InvalidHistoricalBytes { offset: 1 });
                }
                (&[][..], None)
            }
            Category::COMPACT_TLV => {
                let status = parse_all_at(rest, 1)?
                    .find(CompactTag::STATUS_INDICATOR)
                    .and_then(|t| StatusIndicator::new(t.value()));
                (rest, status)
            }
            _ => (&[][..], None),
        };
        parse_all_at(objects, 1)?;
        Ok(Self {
            raw: bytes,
            objects,
            status,
        })
    }

    /// All the historical bytes.
    pub const fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The category indicator, or `None` when there are no historical bytes.
    pub fn category(&self) -> Option<Category> {
        self.raw.first().map(|&b| Category(b))
    }

    /// The COMPACT-TLV objects (categories `00` and `80`; none otherwise). For category `00`
    /// the three status bytes at the end are not among them.
    pub fn objects(&self) -> Tlvs<'a> {
        Tlvs {
            rest: self.objects,
            offset: 1,
        }
    }

    /// The value of the first object with `tag`.
    pub fn find(&self, tag: CompactTag) -> Option<&'a [u8]> {
        self.objects().find(tag).map(|t| t.value())
    }

    /// The DIR data reference (category `10`).
    pub fn dir_data_reference(&self) -> Option<u8> {
        match *self.raw {
            [0x10, reference, ..] => Some(reference),
            _ => None,
        }
    }

    /// The bytes after a category indicator that ISO/IEC 7816-4 does not define.
    pub fn proprietary(&self) -> Option<&'a [u8]> {
        let (&category, rest) = self.raw.split_first()?;
        (!Category(category).is_interindustry()).then_some(rest)
    }

    /// Country code and national date, tag `1` (§8.1.1.2.1).
    pub fn country_code(&self) -> Option<&'a [u8]> {
        self.find(CompactTag::COUNTRY_CODE)
    }

    /// Issuer identification number, tag `2` (§8.1.1.2.1).
    pub fn issuer_identification(&self) -> Option<&'a [u8]> {
        self.find(CompactTag::ISSUER_IDENTIFICATION)
    }

    /// Application identifier, tag `F` (§8.1.1.2.2).
    pub fn application_identifier(&self) -> Option<&'a [u8]> {
        self.find(CompactTag::APPLICATION_IDENTIFIER)
    }

    /// Card service data, tag `3` (§8.1.1.2.3).
    pub fn card_service_data(&self) -> Option<CardServiceData> {
        self.find(CompactTag::CARD_SERVICE_DATA)
            .and_then(|v| v.first().copied().map(CardServiceData))
    }

    /// Initial access data, tag `4` (§8.1.1.2.4).
    pub fn initial_access_data(&self) -> Option<&'a [u8]> {
        self.find(CompactTag::INITIAL_ACCESS_DATA)
    }

    /// Card issuer's data, tag `5` (§8.1.1.2.5).
    pub fn card_issuer_data(&self) -> Option<&'a [u8]> {
        self.find(CompactTag::CARD_ISSUER_DATA)
    }

    /// Pre-issuing data, tag `6` (§8.1.1.2.6).
    pub fn pre_issuing_data(&self) -> Option<&'a [u8]> {
        self.find(CompactTag::PRE_ISSUING_DATA)
    }

    /// Card capabilities, tag `7` (§8.1.1.2.7).
    pub fn card_capabilities(&self) -> Option<CardCapabilities> {
        self.find(CompactTag::CARD_CAPABILITIES)
            .filter(|v| !v.is_empty())
            .map(CardCapabilities::new)
    }

    /// The status indicator (§8.1.1.3): the last three bytes in category `00`, tag `8` in
    /// category `80`.
    pub fn status(&self) -> Option<StatusIndicator> {
        self.status
    }

    /// Whether the card announces command chaining (card capabilities, third byte b8).
    pub fn supports_command_chaining(&self) -> bool {
        self.card_capabilities()
            .is_some_and(|c| c.command_chaining())
    }

    /// Whether the card announces extended Lc and Le fields (card capabilities, third byte
    /// b7).
    pub fn supports_extended_length(&self) -> bool {
        self.card_capabilities().is_some_and(|c| c.extended_lc_le())
    }

    /// The maximum number of logical channels (1 when not announced).
    pub fn max_logical_channels(&self) -> u8 {
        self.card_capabilities()
            .map_or(1, |c| c.max_logical_channels())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// YubiKey 5 NFC ATR 3B FD 13 00 00 81 31 FE 15 | 80 73 C0 21 C0 57 59 75 62 69 4B 65 79 | 40
    /// (historical bytes between the bars; the ATR as the key reports it over PC/SC).
    const YUBIKEY: [u8; 13] = [
        0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79,
    ];

    #[test]
    fn yubikey_capabilities() {
        let hb = HistoricalBytes::parse(&YUBIKEY).unwrap();
        assert_eq!(hb.category(), Some(Category::COMPACT_TLV));
        let caps = hb.card_capabilities().unwrap();
        assert_eq!(caps.as_bytes(), &[0xC0, 0x21, 0xC0]);
        let sel = caps.selection_methods().unwrap();
        assert!(sel.by_full_df_name() && sel.by_partial_df_name());
        assert!(!sel.by_path() && !sel.by_file_identifier() && !sel.implicit_df());
        assert!(!sel.short_ef_identifier() && !sel.record_number() && !sel.record_identifier());
        let dc = caps.data_coding().unwrap();
        assert_eq!(dc.write_behaviour(), 1);
        assert!(!dc.tlv_efs() && !dc.ff_tag_valid());
        assert_eq!(dc.data_unit_quartets(), 2);
        assert!(caps.command_chaining() && caps.extended_lc_le());
        assert!(!caps.extended_length_info());
        assert!(!caps.logical_channel_assignment().is_supported());
        assert_eq!(caps.max_logical_channels(), 1);
        assert!(hb.supports_extended_length() && hb.supports_command_chaining());
        assert_eq!(hb.card_issuer_data(), Some(&b"YubiKey"[..]));
        assert_eq!(hb.status(), None);
        assert_eq!(hb.proprietary(), None);
    }

    /// Category 00 with objects and the status at the end (constructed for this test from
    /// ISO/IEC 7816-4 §8.1.1.1): service data E0, capabilities 00 00 1B (b5-b4 = 11: numbers
    /// assigned by card and interface device; b3-b1 = 011: four channels), LCS 05
    /// (operational, activated), SW 9000.
    #[test]
    fn category_00_with_trailing_status() {
        let hb =
            HistoricalBytes::parse(&[0x00, 0x31, 0xE0, 0x73, 0x00, 0x00, 0x1B, 0x05, 0x90, 0x00])
                .unwrap();
        assert_eq!(hb.category(), Some(Category::STATUS_AT_END));
        assert_eq!(
            hb.status(),
            Some(StatusIndicator {
                lcs: Some(0x05),
                sw: Some(0x9000)
            })
        );
        let csd = hb.card_service_data().unwrap();
        assert!(csd.selection_by_full_df_name() && csd.selection_by_partial_df_name());
        assert!(csd.data_objects_in_ef_dir() && !csd.data_objects_in_ef_atr());
        assert!(csd.ef_access_by_read_record() && csd.has_master_file());
        let caps = hb.card_capabilities().unwrap();
        let lca = caps.logical_channel_assignment();
        assert!(lca.by_card() && lca.by_interface_device() && lca.is_supported());
        assert_eq!(caps.max_logical_channels(), 4);
        assert_eq!(hb.max_logical_channels(), 4);
        assert!(!hb.supports_extended_length());
        assert_eq!(hb.objects().count(), 2);
    }

    #[test]
    fn category_00_needs_three_status_bytes() {
        assert_eq!(
            HistoricalBytes::parse(&[0x00, 0x90, 0x00]),
            Err(Error::InvalidHistoricalBytes { offset: 3 })
        );
    }

    #[test]
    fn category_10_dir_reference() {
        let hb = HistoricalBytes::parse(&[0x10, 0x42]).unwrap();
        assert_eq!(hb.dir_data_reference(), Some(0x42));
        assert_eq!(hb.objects().count(), 0);
        assert_eq!(
            HistoricalBytes::parse(&[0x10]),
            Err(Error::InvalidHistoricalBytes { offset: 1 })
        );
    }

    #[test]
    fn category_80_status_object_and_pre_issuing_data() {
        // 80 | 65 B0 83 11 11 83 (pre-issuing data) | 82 90 00 (status, SW only) | 40 (empty tag 4)
        let hb = HistoricalBytes::parse(&[
            0x80, 0x65, 0xB0, 0x83, 0x11, 0x11, 0x83, 0x82, 0x90, 0x00, 0x40,
        ])
        .unwrap();
        assert_eq!(
            hb.pre_issuing_data(),
            Some(&[0xB0, 0x83, 0x11, 0x11, 0x83][..])
        );
        assert_eq!(
            hb.status(),
            Some(StatusIndicator {
                lcs: None,
                sw: Some(0x9000)
            })
        );
        assert_eq!(hb.initial_access_data(), Some(&[][..]));
        assert_eq!(hb.card_issuer_data(), None);
        assert_eq!(hb.objects().nth(2).unwrap().offset(), 10);
    }

    #[test]
    fn compact_object_cut_short_is_an_error_with_offset() {
        assert_eq!(
            HistoricalBytes::parse(&[0x80, 0x31, 0x80, 0x73, 0xC0]),
            Err(Error::TruncatedValue {
                offset: 3,
                needed: 2
            })
        );
    }

    #[test]
    fn empty_and_proprietary() {
        let hb = HistoricalBytes::parse(&[]).unwrap();
        assert_eq!(hb.category(), None);
        assert!(!hb.supports_extended_length());
        assert_eq!(hb.max_logical_channels(), 1);
        let hb = HistoricalBytes::parse(&[0x4A, 0x43, 0x4F, 0x50]).unwrap();
        assert_eq!(hb.proprietary(), Some(&b"JCOP"[1..]));
        assert!(!Category(0x4A).is_interindustry());
        assert_eq!(StatusIndicator::new(&[]), None);
        assert_eq!(
            StatusIndicator::new(&[0x07]),
            Some(StatusIndicator {
                lcs: Some(7),
                sw: None
            })
        );
    }
}
