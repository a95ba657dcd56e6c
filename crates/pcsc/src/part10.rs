//! PC/SC Part 10 reader features: the answer to `CM_IOCTL_GET_FEATURE_REQUEST`.
//!
//! A PC/SC Part 10 reader (for example one with a PIN pad) announces what it can do as a list
//! of TLV entries, each a 1-byte feature tag, a length of 4 and the 4-byte big-endian control
//! code to use with `SCardControl` for that feature (PC/SC Part 10 v2.02.09, §2.2 "Get
//! Feature Request"). The list is parsed here without I/O; the PC/SC backend
//! sends the request.
//!
//! ```
//! use cardwire_pcsc::part10::{Feature, FeatureList};
//!
//! // A reader announcing VERIFY_PIN_DIRECT at control code 0x42330006 (pcsc-lite numbering).
//! let list = FeatureList::new_checked(&[0x06, 0x04, 0x42, 0x33, 0x00, 0x06])?;
//! assert_eq!(list.control_code(Feature::VERIFY_PIN_DIRECT), Some(0x4233_0006));
//! assert_eq!(list.control_code(Feature::MODIFY_PIN_DIRECT), None);
//! # Ok::<(), cardwire_pcsc::part10::Error>(())
//! ```

use core::fmt;

/// The function number of `CM_IOCTL_GET_FEATURE_REQUEST` (PC/SC Part 10 §2.2): the control
/// code is `SCARD_CTL_CODE(3400)`, whose value depends on the platform.
pub const GET_FEATURE_REQUEST_FUNCTION: u32 = 3400;

/// A feature tag (PC/SC Part 10 v2.02.09, §2.3, table "FEATURE_xxx").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Feature(pub u8);

impl Feature {
    /// `FEATURE_VERIFY_PIN_START`.
    pub const VERIFY_PIN_START: Self = Self(0x01);
    /// `FEATURE_MODIFY_PIN_START`.
    pub const MODIFY_PIN_START: Self = Self(0x02);
    /// `FEATURE_VERIFY_PIN_FINISH`.
    pub const VERIFY_PIN_FINISH: Self = Self(0x03);
    /// `FEATURE_MODIFY_PIN_FINISH`.
    pub const MODIFY_PIN_FINISH: Self = Self(0x04);
    /// `FEATURE_GET_KEY_PRESSED`.
    pub const GET_KEY_PRESSED: Self = Self(0x05);
    /// `FEATURE_VERIFY_PIN_DIRECT`: PIN entry on the reader's PIN pad (secure PIN entry).
    pub const VERIFY_PIN_DIRECT: Self = Self(0x06);
    /// `FEATURE_MODIFY_PIN_DIRECT`.
    pub const MODIFY_PIN_DIRECT: Self = Self(0x07);
    /// `FEATURE_MCT_READER_DIRECT`.
    pub const MCT_READER_DIRECT: Self = Self(0x08);
    /// `FEATURE_MCT_UNIVERSAL`.
    pub const MCT_UNIVERSAL: Self = Self(0x09);
    /// `FEATURE_IFD_PIN_PROPERTIES`.
    pub const IFD_PIN_PROPERTIES: Self = Self(0x0A);
    /// `FEATURE_ABORT`.
    pub const ABORT: Self = Self(0x0B);
    /// `FEATURE_SET_SPE_MESSAGE`.
    pub const SET_SPE_MESSAGE: Self = Self(0x0C);
    /// `FEATURE_VERIFY_PIN_DIRECT_APP_ID`.
    pub const VERIFY_PIN_DIRECT_APP_ID: Self = Self(0x0D);
    /// `FEATURE_MODIFY_PIN_DIRECT_APP_ID`.
    pub const MODIFY_PIN_DIRECT_APP_ID: Self = Self(0x0E);
    /// `FEATURE_WRITE_DISPLAY`.
    pub const WRITE_DISPLAY: Self = Self(0x0F);
    /// `FEATURE_GET_KEY`.
    pub const GET_KEY: Self = Self(0x10);
    /// `FEATURE_IFD_DISPLAY_PROPERTIES`.
    pub const IFD_DISPLAY_PROPERTIES: Self = Self(0x11);
    /// `FEATURE_GET_TLV_PROPERTIES`.
    pub const GET_TLV_PROPERTIES: Self = Self(0x12);
    /// `FEATURE_CCID_ESC_COMMAND`.
    pub const CCID_ESC_COMMAND: Self = Self(0x13);
    /// `FEATURE_EXECUTE_PACE` (PC/SC Part 10 Amendment 1).
    pub const EXECUTE_PACE: Self = Self(0x20);

    /// The feature's name in PC/SC Part 10, or `None` for a tag it does not define.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::VERIFY_PIN_START => "VERIFY_PIN_START",
            Self::MODIFY_PIN_START => "MODIFY_PIN_START",
            Self::VERIFY_PIN_FINISH => "VERIFY_PIN_FINISH",
            Self::MODIFY_PIN_FINISH => "MODIFY_PIN_FINISH",
            Self::GET_KEY_PRESSED => "GET_KEY_PRESSED",
            Self::VERIFY_PIN_DIRECT => "VERIFY_PIN_DIRECT",
            Self::MODIFY_PIN_DIRECT => "MODIFY_PIN_DIRECT",
            Self::MCT_READER_DIRECT => "MCT_READER_DIRECT",
            Self::MCT_UNIVERSAL => "MCT_UNIVERSAL",
            Self::IFD_PIN_PROPERTIES => "IFD_PIN_PROPERTIES",
            Self::ABORT => "ABORT",
            Self::SET_SPE_MESSAGE => "SET_SPE_MESSAGE",
            Self::VERIFY_PIN_DIRECT_APP_ID => "VERIFY_PIN_DIRECT_APP_ID",
            Self::MODIFY_PIN_DIRECT_APP_ID => "MODIFY_PIN_DIRECT_APP_ID",
            Self::WRITE_DISPLAY => "WRITE_DISPLAY",
            Self::GET_KEY => "GET_KEY",
            Self::IFD_DISPLAY_PROPERTIES => "IFD_DISPLAY_PROPERTIES",
            Self::GET_TLV_PROPERTIES => "GET_TLV_PROPERTIES",
            Self::CCID_ESC_COMMAND => "CCID_ESC_COMMAND",
            Self::EXECUTE_PACE => "EXECUTE_PACE",
            _ => return None,
        })
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "feature {:02X}", self.0),
        }
    }
}

/// Why a feature list is malformed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The list ends inside the entry starting at `offset`.
    Truncated {
        /// Where the incomplete entry starts.
        offset: usize,
    },
    /// The entry at `offset` has a length other than 4.
    BadLength {
        /// Where the entry starts.
        offset: usize,
        /// The length byte found.
        len: u8,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { offset } => write!(
                f,
                "PC/SC Part 10 feature list truncated: the entry at offset {offset} needs 6 bytes"
            ),
            Error::BadLength { offset, len } => write!(
                f,
                "PC/SC Part 10 feature list malformed: the entry at offset {offset} has length \
                 {len}, expected 4"
            ),
        }
    }
}

impl core::error::Error for Error {}

/// A checked view of a feature list (the output of `CM_IOCTL_GET_FEATURE_REQUEST`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureList<'a> {
    bytes: &'a [u8],
}

impl<'a> FeatureList<'a> {
    /// A list with no feature.
    pub const EMPTY: FeatureList<'static> = FeatureList { bytes: &[] };

    /// Checks every entry; afterwards iteration cannot fail. An empty list is valid (a reader
    /// without Part 10 features).
    ///
    /// # Errors
    /// [`Error::Truncated`] or [`Error::BadLength`] with the offset of the faulty entry.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut offset = 0;
        while offset < bytes.len() {
            let Some(entry) = bytes.get(offset..offset + 6) else {
                // A length byte other than 4 is the more precise diagnosis when present.
                if let Some(&len) = bytes.get(offset + 1).filter(|&&l| l != 4) {
                    return Err(Error::BadLength { offset, len });
                }
                return Err(Error::Truncated { offset });
            };
            if let Some(&len) = entry.get(1).filter(|&&l| l != 4) {
                return Err(Error::BadLength { offset, len });
            }
            offset += 6;
        }
        Ok(Self { bytes })
    }

    /// The raw list.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The number of features.
    pub fn len(&self) -> usize {
        self.bytes.len() / 6
    }

    /// Whether the reader announced no feature.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The features with their control codes, in the reader's order.
    pub fn iter(&self) -> impl Iterator<Item = (Feature, u32)> + 'a {
        self.bytes.chunks_exact(6).map(|entry| match entry {
            [tag, _, a, b, c, d] => (Feature(*tag), u32::from_be_bytes([*a, *b, *c, *d])),
            // chunks_exact yields 6-byte slices only.
            _ => (Feature(0), 0),
        })
    }

    /// The control code for `feature`, if the reader has it.
    pub fn control_code(&self, feature: Feature) -> Option<u32> {
        self.iter()
            .find(|(f, _)| *f == feature)
            .map(|(_, code)| code)
    }
}

/// The `dwMaxAPDUDataSize` property tag of `FEATURE_GET_TLV_PROPERTIES` (PC/SC Part 10 v2.02
/// §2.6.14, `PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize`).
pub const PROPERTY_MAX_APDU_DATA_SIZE: u8 = 0x0A;

/// The reader's `dwMaxAPDUDataSize` from a `FEATURE_GET_TLV_PROPERTIES` answer (tag, length,
/// little-endian value entries): `Some(0)` means short APDUs only, `Some(n)` extended APDUs
/// with at most `n` data bytes; `None` when the property is absent or the answer malformed.
pub fn max_apdu_data_size(tlv_properties: &[u8]) -> Option<u32> {
    let mut rest = tlv_properties;
    while let [tag, len, tail @ ..] = rest {
        let len = usize::from(*len);
        let value = tail.get(..len)?;
        if *tag == PROPERTY_MAX_APDU_DATA_SIZE {
            let mut le = [0u8; 4];
            le.get_mut(..value.len().min(4))?
                .copy_from_slice(value.get(..value.len().min(4))?);
            return Some(u32::from_le_bytes(le));
        }
        rest = tail.get(len..)?;
    }
    None
}

/// Narrows a card's capabilities to what the reader carries (`dwMaxAPDUDataSize`, see
/// [`max_apdu_data_size`]): `0` makes them short-only; `n` caps both data fields at `n`.
pub fn narrow_to_reader(
    caps: cardwire_apdu::exchange::Capabilities,
    max_apdu_data_size: u32,
) -> cardwire_apdu::exchange::Capabilities {
    let mut caps = caps;
    if max_apdu_data_size == 0 || !caps.extended_length {
        caps.extended_length = false;
        caps.max_command_data = caps.max_command_data.min(255);
        caps.max_response_data = caps.max_response_data.min(256);
        return caps;
    }
    let cap_cmd = u16::try_from(max_apdu_data_size).unwrap_or(u16::MAX);
    caps.max_command_data = caps.max_command_data.min(cap_cmd).max(255);
    caps.max_response_data = caps.max_response_data.min(max_apdu_data_size).max(256);
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    // The feature list of a CCID reader with a PIN pad as reported by pcsc-lite's CCID driver
    // (control codes are SCARD_CTL_CODE(0x3300 + n) = 0x42330000 + n on pcsc-lite).
    const PINPAD: [u8; 18] = [
        0x06, 0x04, 0x42, 0x33, 0x00, 0x06, // VERIFY_PIN_DIRECT
        0x07, 0x04, 0x42, 0x33, 0x00, 0x07, // MODIFY_PIN_DIRECT
        0x12, 0x04, 0x42, 0x33, 0x00, 0x12, // GET_TLV_PROPERTIES
    ];

    #[test]
    fn parses_a_pinpad_list() {
        let list = FeatureList::new_checked(&PINPAD).unwrap();
        assert_eq!(list.len(), 3);
        let all: std::vec::Vec<_> = list.iter().collect();
        assert_eq!(
            all,
            [
                (Feature::VERIFY_PIN_DIRECT, 0x4233_0006),
                (Feature::MODIFY_PIN_DIRECT, 0x4233_0007),
                (Feature::GET_TLV_PROPERTIES, 0x4233_0012),
            ]
        );
        assert_eq!(
            list.control_code(Feature::GET_TLV_PROPERTIES),
            Some(0x4233_0012)
        );
        assert_eq!(list.control_code(Feature::ABORT), None);
    }

    #[test]
    fn empty_list_is_valid() {
        let list = FeatureList::new_checked(&[]).unwrap();
        assert!(list.is_empty());
        assert_eq!(list.iter().count(), 0);
    }

    #[test]
    fn truncated_and_bad_length_are_distinct() {
        assert_eq!(
            FeatureList::new_checked(&PINPAD[..10]),
            Err(Error::Truncated { offset: 6 })
        );
        assert_eq!(
            FeatureList::new_checked(&[0x06, 0x02, 0x00, 0x01]),
            Err(Error::BadLength { offset: 0, len: 2 })
        );
        assert_eq!(
            FeatureList::new_checked(&[0x06]),
            Err(Error::Truncated { offset: 0 })
        );
    }

    #[test]
    fn names_and_display() {
        assert_eq!(Feature::VERIFY_PIN_DIRECT.to_string(), "VERIFY_PIN_DIRECT");
        assert_eq!(Feature(0x7F).to_string(), "feature 7F");
    }

    extern crate std;
    use std::string::ToString;

    #[test]
    fn reader_max_apdu_data_size_narrows_the_capabilities() {
        use cardwire_apdu::exchange::Capabilities;
        // wLcdLayout (01, 2 bytes), then dwMaxAPDUDataSize (0A, 4 bytes) = 261.
        let props = [0x01, 0x02, 0x00, 0x00, 0x0A, 0x04, 0x05, 0x01, 0x00, 0x00];
        assert_eq!(max_apdu_data_size(&props), Some(261));
        assert_eq!(max_apdu_data_size(&props[..4]), None);
        assert_eq!(max_apdu_data_size(&[0x0A, 0x04, 0x05]), None, "truncated");
        let caps = narrow_to_reader(Capabilities::EXTENDED, 261);
        assert!(caps.extended_length);
        assert_eq!((caps.max_command_data, caps.max_response_data), (261, 261));
        let caps = narrow_to_reader(Capabilities::EXTENDED, 0);
        assert!(!caps.extended_length);
        assert_eq!((caps.max_command_data, caps.max_response_data), (255, 256));
    }
}
