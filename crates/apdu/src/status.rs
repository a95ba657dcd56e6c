//! Status words SW1 SW2 (ISO/IEC 7816-4 §5.6).

use core::fmt;

/// The status word SW1 SW2 that ends every response APDU (ISO/IEC 7816-4 §5.6).
///
/// A status word is data, not an error: the layer that knows what a status means for its
/// command turns it into a typed outcome.
///
/// ```
/// use cardwire_apdu::{StatusClass, StatusWord};
/// let sw = StatusWord(0x63C2);
/// assert_eq!(sw.class(), StatusClass::Warning);
/// assert_eq!(sw.retries_left(), Some(2));
/// assert_eq!(StatusWord(0x6100).bytes_available(), Some(256));
/// assert_eq!(StatusWord(0x6C10).exact_length(), Some(16));
/// assert_eq!(StatusWord::FILE_NOT_FOUND.description(), "file or application not found");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusWord(pub u16);

/// The classification of a status word (ISO/IEC 7816-4 §5.6, Table 5).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusClass {
    /// Process completed, normal processing: `9000`, `61xx`.
    Normal,
    /// Process completed, warning processing: `62xx`, `63xx`.
    Warning,
    /// Process aborted, execution error: `64xx`, `65xx`, `66xx`.
    ExecutionError,
    /// Process aborted, checking error: `67xx`–`6Fxx`.
    CheckingError,
    /// Any other `9xxx`: defined by the application or card, not by ISO/IEC 7816-4.
    Proprietary,
    /// SW1 not `6X` or `9X`, or SW1 `60` (a T=0 NULL procedure byte): not a status word.
    Invalid,
}

impl StatusWord {
    /// `9000` normal processing, no further qualification.
    pub const SUCCESS: Self = Self(0x9000);
    /// `6200` warning, state of non-volatile memory unchanged, no information given.
    pub const WARNING_NV_UNCHANGED: Self = Self(0x6200);
    /// `6281` part of returned data may be corrupted.
    pub const DATA_MAY_BE_CORRUPTED: Self = Self(0x6281);
    /// `6282` end of file or record reached before reading Ne bytes.
    pub const END_OF_FILE: Self = Self(0x6282);
    /// `6283` selected file deactivated.
    pub const FILE_DEACTIVATED: Self = Self(0x6283);
    /// `6284` file control information not formatted according to §7.4.
    pub const FCI_NOT_FORMATTED: Self = Self(0x6284);
    /// `6285` selected file in termination state.
    pub const FILE_TERMINATED: Self = Self(0x6285);
    /// `6286` no input data available from a sensor on the card.
    pub const NO_SENSOR_DATA: Self = Self(0x6286);
    /// `6287` at least one of the referenced records is deactivated.
    pub const RECORD_DEACTIVATED: Self = Self(0x6287);
    /// `6300` warning, state of non-volatile memory changed, no information given.
    pub const WARNING_NV_CHANGED: Self = Self(0x6300);
    /// `6381` file filled up by the last write.
    pub const FILE_FILLED_UP: Self = Self(0x6381);
    /// `6400` execution error, state of non-volatile memory unchanged.
    pub const EXECUTION_ERROR: Self = Self(0x6400);
    /// `6401` immediate response required by the card.
    pub const IMMEDIATE_RESPONSE_REQUIRED: Self = Self(0x6401);
    /// `6500` execution error, state of non-volatile memory changed.
    pub const EXECUTION_ERROR_NV_CHANGED: Self = Self(0x6500);
    /// `6581` memory failure.
    pub const MEMORY_FAILURE: Self = Self(0x6581);
    /// `6600` security-related issues.
    pub const SECURITY_ISSUE: Self = Self(0x6600);
    /// `6700` wrong length; no further indication.
    pub const WRONG_LENGTH: Self = Self(0x6700);
    /// `6800` functions in CLA not supported.
    pub const CLA_FUNCTION_NOT_SUPPORTED: Self = Self(0x6800);
    /// `6881` logical channel not supported.
    pub const LOGICAL_CHANNEL_NOT_SUPPORTED: Self = Self(0x6881);
    /// `6882` secure messaging not supported.
    pub const SECURE_MESSAGING_NOT_SUPPORTED: Self = Self(0x6882);
    /// `6883` last command of the chain expected.
    pub const LAST_COMMAND_OF_CHAIN_EXPECTED: Self = Self(0x6883);
    /// `6884` command chaining not supported.
    pub const CHAINING_NOT_SUPPORTED: Self = Self(0x6884);
    /// `6900` command not allowed, no further indication.
    pub const COMMAND_NOT_ALLOWED: Self = Self(0x6900);
    /// `6981` command incompatible with file structure.
    pub const INCOMPATIBLE_FILE_STRUCTURE: Self = Self(0x6981);
    /// `6982` security status not satisfied.
    pub const SECURITY_STATUS_NOT_SATISFIED: Self = Self(0x6982);
    /// `6983` authentication method blocked.
    pub const AUTHENTICATION_METHOD_BLOCKED: Self = Self(0x6983);
    /// `6984` reference data not usable.
    pub const REFERENCE_DATA_NOT_USABLE: Self = Self(0x6984);
    /// `6985` conditions of use not satisfied.
    pub const CONDITIONS_OF_USE_NOT_SATISFIED: Self = Self(0x6985);
    /// `6986` command not allowed (no current EF).
    pub const NO_CURRENT_EF: Self = Self(0x6986);
    /// `6987` expected secure messaging data objects missing.
    pub const SM_DATA_OBJECTS_MISSING: Self = Self(0x6987);
    /// `6988` incorrect secure messaging data objects.
    pub const SM_DATA_OBJECTS_INCORRECT: Self = Self(0x6988);
    /// `6A00` wrong parameters P1-P2, no further indication.
    pub const WRONG_PARAMETERS: Self = Self(0x6A00);
    /// `6A80` incorrect parameters in the command data field.
    pub const INCORRECT_DATA: Self = Self(0x6A80);
    /// `6A81` function not supported.
    pub const FUNCTION_NOT_SUPPORTED: Self = Self(0x6A81);
    /// `6A82` file or application not found.
    pub const FILE_NOT_FOUND: Self = Self(0x6A82);
    /// `6A83` record not found.
    pub const RECORD_NOT_FOUND: Self = Self(0x6A83);
    /// `6A84` not enough memory space in the file.
    pub const NOT_ENOUGH_MEMORY: Self = Self(0x6A84);
    /// `6A85` Nc inconsistent with TLV structure.
    pub const NC_INCONSISTENT_WITH_TLV: Self = Self(0x6A85);
    /// `6A86` incorrect parameters P1-P2.
    pub const INCORRECT_P1_P2: Self = Self(0x6A86);
    /// `6A87` Nc inconsistent with parameters P1-P2.
    pub const NC_INCONSISTENT_WITH_P1_P2: Self = Self(0x6A87);
    /// `6A88` referenced data or reference data not found.
    pub const REFERENCED_DATA_NOT_FOUND: Self = Self(0x6A88);
    /// `6A89` file already exists.
    pub const FILE_EXISTS: Self = Self(0x6A89);
    /// `6A8A` DF name already exists.
    pub const DF_NAME_EXISTS: Self = Self(0x6A8A);
    /// `6B00` wrong parameters P1-P2.
    pub const WRONG_P1_P2: Self = Self(0x6B00);
    /// `6D00` instruction code not supported or invalid.
    pub const INS_NOT_SUPPORTED: Self = Self(0x6D00);
    /// `6E00` class not supported.
    pub const CLA_NOT_SUPPORTED: Self = Self(0x6E00);
    /// `6F00` no precise diagnosis.
    pub const NO_PRECISE_DIAGNOSIS: Self = Self(0x6F00);

    /// Builds a status word from SW1 and SW2.
    pub const fn new(sw1: u8, sw2: u8) -> Self {
        Self(u16::from_be_bytes([sw1, sw2]))
    }

    /// SW1.
    pub const fn sw1(self) -> u8 {
        self.0.to_be_bytes()[0]
    }

    /// SW2.
    pub const fn sw2(self) -> u8 {
        self.0.to_be_bytes()[1]
    }

    /// SW1 SW2 as they appear on the wire.
    pub const fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// True for `9000` only.
    pub const fn is_success(self) -> bool {
        self.0 == 0x9000
    }

    /// True for `9000` and `61xx` (§5.6: process completed normally).
    pub const fn is_normal(self) -> bool {
        matches!(self.class(), StatusClass::Normal)
    }

    /// True for `62xx` and `63xx`.
    pub const fn is_warning(self) -> bool {
        matches!(self.class(), StatusClass::Warning)
    }

    /// True for execution and checking errors (`64xx`–`6Fxx`).
    pub const fn is_error(self) -> bool {
        matches!(
            self.class(),
            StatusClass::ExecutionError | StatusClass::CheckingError
        )
    }

    /// The classification of §5.6 (Table 5).
    pub const fn class(self) -> StatusClass {
        match self.sw1() {
            0x90 if self.sw2() == 0x00 => StatusClass::Normal,
            0x61 => StatusClass::Normal,
            0x62 | 0x63 => StatusClass::Warning,
            0x64..=0x66 => StatusClass::ExecutionError,
            0x67..=0x6F => StatusClass::CheckingError,
            0x90..=0x9F => StatusClass::Proprietary,
            _ => StatusClass::Invalid,
        }
    }

    /// `61xx`: how many response bytes are still available (SW2 `00` means 256 or more;
    /// fetch them with GET RESPONSE, §5.3.4).
    pub const fn bytes_available(self) -> Option<u16> {
        if self.sw1() == 0x61 {
            Some(if self.sw2() == 0 {
                256
            } else {
                self.sw2() as u16
            })
        } else {
            None
        }
    }

    /// `6Cxx`: the exact Ne to send the command again with (SW2 `00` means 256).
    pub const fn exact_length(self) -> Option<u16> {
        if self.sw1() == 0x6C {
            Some(if self.sw2() == 0 {
                256
            } else {
                self.sw2() as u16
            })
        } else {
            None
        }
    }

    /// `63Cx`: the counter `x` (0–15), usually the retries left for a PIN (§5.6).
    pub const fn retries_left(self) -> Option<u8> {
        if self.sw1() == 0x63 && self.sw2() & 0xF0 == 0xC0 {
            Some(self.sw2() & 0x0F)
        } else {
            None
        }
    }

    /// What the status word means, for every value ISO/IEC 7816-4 §5.6 (Tables 5 and 6)
    /// defines; values it does not define get the meaning of their SW1 group.
    pub const fn description(self) -> &'static str {
        match self.0 {
            0x9000 => "normal processing, no further qualification",
            0x6100..=0x61FF => {
                "normal processing, SW2 response bytes still available (GET RESPONSE)"
            }
            0x6200 => "warning, non-volatile memory unchanged, no information given",
            0x6202..=0x6280 => "warning, non-volatile memory unchanged, triggering by the card",
            0x6281 => "part of returned data may be corrupted",
            0x6282 => "end of file or record reached before reading Ne bytes",
            0x6283 => "selected file deactivated",
            0x6284 => "file control information not correctly formatted",
            0x6285 => "selected file in termination state",
            0x6286 => "no input data available from a sensor on the card",
            0x6287 => "at least one of the referenced records is deactivated",
            0x6300 => "warning, non-volatile memory changed, no information given",
            0x6381 => "file filled up by the last write",
            0x63C0..=0x63CF => "counter in SW2 low nibble (for example retries left)",
            0x6400 => "execution error, non-volatile memory unchanged",
            0x6401 => "immediate response required by the card",
            0x6402..=0x6480 => {
                "execution error, non-volatile memory unchanged, triggering by the card"
            }
            0x6500 => "execution error, non-volatile memory changed, no information given",
            0x6581 => "memory failure",
            0x6600 => "security-related issue",
            0x6700 => "wrong length",
            0x6800 => "functions in CLA not supported",
            0x6881 => "logical channel not supported",
            0x6882 => "secure messaging not supported",
            0x6883 => "last command of the chain expected",
            0x6884 => "command chaining not supported",
            0x6900 => "command not allowed",
            0x6981 => "command incompatible with file structure",
            0x6982 => "security status not satisfied",
            0x6983 => "authentication method blocked",
            0x6984 => "reference data not usable",
            0x6985 => "conditions of use not satisfied",
            0x6986 => "command not allowed (no current EF)",
            0x6987 => "expected secure messaging data objects missing",
            0x6988 => "incorrect secure messaging data objects",
            0x6A00 => "wrong parameters P1-P2",
            0x6A80 => "incorrect parameters in the command data field",
            0x6A81 => "function not supported",
            0x6A82 => "file or application not found",
            0x6A83 => "record not found",
            0x6A84 => "not enough memory space in the file",
            0x6A85 => "Nc inconsistent with TLV structure",
            0x6A86 => "incorrect parameters P1-P2",
            0x6A87 => "Nc inconsistent with parameters P1-P2",
            0x6A88 => "referenced data or reference data not found",
            0x6A89 => "file already exists",
            0x6A8A => "DF name already exists",
            0x6B00 => "wrong parameters P1-P2",
            0x6C00..=0x6CFF => "wrong Le field, SW2 gives the exact number of available data bytes",
            0x6D00 => "instruction code not supported or invalid",
            0x6E00 => "class not supported",
            0x6F00 => "no precise diagnosis",
            _ => match self.class() {
                StatusClass::Normal => "normal processing",
                StatusClass::Warning => {
                    if self.sw1() == 0x62 {
                        "warning, non-volatile memory unchanged"
                    } else {
                        "warning, non-volatile memory changed"
                    }
                }
                StatusClass::ExecutionError => match self.sw1() {
                    0x64 => "execution error, non-volatile memory unchanged",
                    0x65 => "execution error, non-volatile memory changed",
                    _ => "execution error, security-related",
                },
                StatusClass::CheckingError => match self.sw1() {
                    0x67 => "wrong length",
                    0x68 => "functions in CLA not supported",
                    0x69 => "command not allowed",
                    0x6A | 0x6B => "wrong parameters P1-P2",
                    0x6D => "instruction code not supported or invalid",
                    0x6E => "class not supported",
                    _ => "checking error, no precise diagnosis",
                },
                StatusClass::Proprietary => "proprietary status (defined by the application)",
                StatusClass::Invalid => "not a valid status word (SW1 must be 61-6F or 9X)",
            },
        }
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusWord({:04X})", self.0)
    }
}

/// Four uppercase hex digits: `6A82`.
impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

impl From<u16> for StatusWord {
    fn from(v: u16) -> Self {
        Self(v)
    }
}

impl From<[u8; 2]> for StatusWord {
    fn from(b: [u8; 2]) -> Self {
        Self(u16::from_be_bytes(b))
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> Self {
        sw.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_table_5() {
        assert_eq!(StatusWord(0x9000).class(), StatusClass::Normal);
        assert_eq!(StatusWord(0x6110).class(), StatusClass::Normal);
        assert_eq!(StatusWord(0x6282).class(), StatusClass::Warning);
        assert_eq!(StatusWord(0x63C1).class(), StatusClass::Warning);
        assert_eq!(StatusWord(0x6581).class(), StatusClass::ExecutionError);
        assert_eq!(StatusWord(0x6A82).class(), StatusClass::CheckingError);
        assert_eq!(StatusWord(0x9F10).class(), StatusClass::Proprietary);
        assert_eq!(StatusWord(0x9001).class(), StatusClass::Proprietary);
        assert_eq!(StatusWord(0x6000).class(), StatusClass::Invalid);
        assert_eq!(StatusWord(0x4242).class(), StatusClass::Invalid);
    }

    #[test]
    fn accessors() {
        assert_eq!(StatusWord(0x6100).bytes_available(), Some(256));
        assert_eq!(StatusWord(0x61FF).bytes_available(), Some(255));
        assert_eq!(StatusWord(0x9000).bytes_available(), None);
        assert_eq!(StatusWord(0x6C00).exact_length(), Some(256));
        assert_eq!(StatusWord(0x6C05).exact_length(), Some(5));
        assert_eq!(StatusWord(0x63C0).retries_left(), Some(0));
        assert_eq!(StatusWord(0x63CF).retries_left(), Some(15));
        assert_eq!(StatusWord(0x6381).retries_left(), None);
        assert_eq!(StatusWord::new(0x6A, 0x82), StatusWord::FILE_NOT_FOUND);
        assert_eq!(StatusWord(0x6A82).to_bytes(), [0x6A, 0x82]);
    }

    #[test]
    fn every_value_has_a_description() {
        for v in 0..=u16::MAX {
            assert!(!StatusWord(v).description().is_empty());
        }
        assert_eq!(
            StatusWord(0x6982).description(),
            "security status not satisfied"
        );
        assert_eq!(StatusWord(0x6A99).description(), "wrong parameters P1-P2");
    }
}
