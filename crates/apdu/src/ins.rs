//! The instruction byte (ISO/IEC 7816-4 §5.4.2).

use core::fmt;

/// The instruction byte INS of a command APDU (ISO/IEC 7816-4 §5.4.2).
///
/// Constants name every interindustry instruction of ISO/IEC 7816-4:2013 Table 4, including the
/// odd-INS variants (bit 1 set), whose data field is BER-TLV encoded (§5.4.2).
/// `6X` and `9X` are invalid as INS (they are procedure bytes in T=0, ISO/IEC 7816-3 §10.3.3).
///
/// ```
/// use cardwire_apdu::Ins;
/// assert_eq!(Ins::SELECT, Ins(0xA4));
/// assert_eq!(Ins(0xB1).name(), Some("READ BINARY (odd INS)"));
/// assert!(Ins::READ_BINARY_ODD.is_odd());
/// assert!(!Ins(0x61).is_valid());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ins(pub u8);

impl Ins {
    /// `04` DEACTIVATE FILE (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const DEACTIVATE_FILE: Self = Self(0x04);
    /// `06` DEACTIVATE RECORD(S) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const DEACTIVATE_RECORD: Self = Self(0x06);
    /// `08` ACTIVATE RECORD(S) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const ACTIVATE_RECORD: Self = Self(0x08);
    /// `0C` ERASE RECORD(S) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const ERASE_RECORD: Self = Self(0x0C);
    /// `0E` ERASE BINARY (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const ERASE_BINARY: Self = Self(0x0E);
    /// `0F` ERASE BINARY (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const ERASE_BINARY_ODD: Self = Self(0x0F);
    /// `10` PERFORM SCQL OPERATION (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const PERFORM_SCQL_OPERATION: Self = Self(0x10);
    /// `12` PERFORM TRANSACTION OPERATION (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const PERFORM_TRANSACTION_OPERATION: Self = Self(0x12);
    /// `14` PERFORM USER OPERATION (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const PERFORM_USER_OPERATION: Self = Self(0x14);
    /// `20` VERIFY (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const VERIFY: Self = Self(0x20);
    /// `21` VERIFY (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const VERIFY_ODD: Self = Self(0x21);
    /// `22` MANAGE SECURITY ENVIRONMENT (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const MANAGE_SECURITY_ENVIRONMENT: Self = Self(0x22);
    /// `23` MANAGE SECURITY ENVIRONMENT (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const MANAGE_SECURITY_ENVIRONMENT_ODD: Self = Self(0x23);
    /// `24` CHANGE REFERENCE DATA (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const CHANGE_REFERENCE_DATA: Self = Self(0x24);
    /// `25` CHANGE REFERENCE DATA (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const CHANGE_REFERENCE_DATA_ODD: Self = Self(0x25);
    /// `26` DISABLE VERIFICATION REQUIREMENT (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const DISABLE_VERIFICATION_REQUIREMENT: Self = Self(0x26);
    /// `27` DISABLE VERIFICATION REQUIREMENT (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const DISABLE_VERIFICATION_REQUIREMENT_ODD: Self = Self(0x27);
    /// `28` ENABLE VERIFICATION REQUIREMENT (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const ENABLE_VERIFICATION_REQUIREMENT: Self = Self(0x28);
    /// `29` ENABLE VERIFICATION REQUIREMENT (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const ENABLE_VERIFICATION_REQUIREMENT_ODD: Self = Self(0x29);
    /// `2A` PERFORM SECURITY OPERATION (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const PERFORM_SECURITY_OPERATION: Self = Self(0x2A);
    /// `2B` PERFORM SECURITY OPERATION (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const PERFORM_SECURITY_OPERATION_ODD: Self = Self(0x2B);
    /// `2C` RESET RETRY COUNTER (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const RESET_RETRY_COUNTER: Self = Self(0x2C);
    /// `2D` RESET RETRY COUNTER (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const RESET_RETRY_COUNTER_ODD: Self = Self(0x2D);
    /// `33` COMPARE (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const COMPARE: Self = Self(0x33);
    /// `34` GET ATTRIBUTE (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const GET_ATTRIBUTE: Self = Self(0x34);
    /// `35` GET ATTRIBUTE (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const GET_ATTRIBUTE_ODD: Self = Self(0x35);
    /// `40` APPLICATION MANAGEMENT REQUEST (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const APPLICATION_MANAGEMENT_REQUEST: Self = Self(0x40);
    /// `41` APPLICATION MANAGEMENT REQUEST (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const APPLICATION_MANAGEMENT_REQUEST_ODD: Self = Self(0x41);
    /// `44` ACTIVATE FILE (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const ACTIVATE_FILE: Self = Self(0x44);
    /// `46` GENERATE ASYMMETRIC KEY PAIR (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const GENERATE_ASYMMETRIC_KEY_PAIR: Self = Self(0x46);
    /// `47` GENERATE ASYMMETRIC KEY PAIR (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const GENERATE_ASYMMETRIC_KEY_PAIR_ODD: Self = Self(0x47);
    /// `70` MANAGE CHANNEL (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const MANAGE_CHANNEL: Self = Self(0x70);
    /// `82` EXTERNAL AUTHENTICATE / MUTUAL AUTHENTICATE (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const EXTERNAL_AUTHENTICATE: Self = Self(0x82);
    /// `82` MUTUAL AUTHENTICATE: the same code as EXTERNAL AUTHENTICATE (§11.5.4).
    pub const MUTUAL_AUTHENTICATE: Self = Self(0x82);
    /// `84` GET CHALLENGE (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const GET_CHALLENGE: Self = Self(0x84);
    /// `86` GENERAL AUTHENTICATE (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const GENERAL_AUTHENTICATE: Self = Self(0x86);
    /// `87` GENERAL AUTHENTICATE (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const GENERAL_AUTHENTICATE_ODD: Self = Self(0x87);
    /// `88` INTERNAL AUTHENTICATE (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const INTERNAL_AUTHENTICATE: Self = Self(0x88);
    /// `A0` SEARCH BINARY (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const SEARCH_BINARY: Self = Self(0xA0);
    /// `A1` SEARCH BINARY (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const SEARCH_BINARY_ODD: Self = Self(0xA1);
    /// `A2` SEARCH RECORD (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const SEARCH_RECORD: Self = Self(0xA2);
    /// `A4` SELECT (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const SELECT: Self = Self(0xA4);
    /// `A5` SELECT DATA (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const SELECT_DATA: Self = Self(0xA5);
    /// `B0` READ BINARY (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const READ_BINARY: Self = Self(0xB0);
    /// `B1` READ BINARY (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const READ_BINARY_ODD: Self = Self(0xB1);
    /// `B2` READ RECORD(S) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const READ_RECORD: Self = Self(0xB2);
    /// `B3` READ RECORD(S) (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const READ_RECORD_ODD: Self = Self(0xB3);
    /// `C0` GET RESPONSE (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const GET_RESPONSE: Self = Self(0xC0);
    /// `C2` ENVELOPE (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const ENVELOPE: Self = Self(0xC2);
    /// `C3` ENVELOPE (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const ENVELOPE_ODD: Self = Self(0xC3);
    /// `CA` GET DATA (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const GET_DATA: Self = Self(0xCA);
    /// `CB` GET DATA (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const GET_DATA_ODD: Self = Self(0xCB);
    /// `CC` GET NEXT DATA (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const GET_NEXT_DATA: Self = Self(0xCC);
    /// `CD` GET NEXT DATA (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const GET_NEXT_DATA_ODD: Self = Self(0xCD);
    /// `CF` MANAGE DATA (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const MANAGE_DATA: Self = Self(0xCF);
    /// `D0` WRITE BINARY (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const WRITE_BINARY: Self = Self(0xD0);
    /// `D1` WRITE BINARY (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const WRITE_BINARY_ODD: Self = Self(0xD1);
    /// `D2` WRITE RECORD (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const WRITE_RECORD: Self = Self(0xD2);
    /// `D6` UPDATE BINARY (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const UPDATE_BINARY: Self = Self(0xD6);
    /// `D7` UPDATE BINARY (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const UPDATE_BINARY_ODD: Self = Self(0xD7);
    /// `DA` PUT DATA (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const PUT_DATA: Self = Self(0xDA);
    /// `DB` PUT DATA (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const PUT_DATA_ODD: Self = Self(0xDB);
    /// `DC` UPDATE RECORD (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const UPDATE_RECORD: Self = Self(0xDC);
    /// `DD` UPDATE RECORD (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const UPDATE_RECORD_ODD: Self = Self(0xDD);
    /// `E0` CREATE FILE (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const CREATE_FILE: Self = Self(0xE0);
    /// `E2` APPEND RECORD (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const APPEND_RECORD: Self = Self(0xE2);
    /// `E4` DELETE FILE (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const DELETE_FILE: Self = Self(0xE4);
    /// `E6` TERMINATE DF (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const TERMINATE_DF: Self = Self(0xE6);
    /// `E8` TERMINATE EF (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const TERMINATE_EF: Self = Self(0xE8);
    /// `EA` LOAD APPLICATION (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const LOAD_APPLICATION: Self = Self(0xEA);
    /// `EB` LOAD APPLICATION (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const LOAD_APPLICATION_ODD: Self = Self(0xEB);
    /// `EC` REMOVE APPLICATION (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const REMOVE_APPLICATION: Self = Self(0xEC);
    /// `ED` REMOVE APPLICATION (odd INS) (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const REMOVE_APPLICATION_ODD: Self = Self(0xED);
    /// `FE` TERMINATE CARD USAGE (ISO/IEC 7816-4 §5.4.2, Table 4).
    pub const TERMINATE_CARD_USAGE: Self = Self(0xFE);

    /// `50` INITIALIZE UPDATE, a proprietary-class (`8x`) command of GlobalPlatform: the
    /// first step of SCP02/SCP03 mutual authentication (GPC v2.3 §11.11; Amendment D §7.1.1).
    /// Not an interindustry instruction, so not in [`Ins::ALL`] and without a [`Ins::name`].
    pub const INITIALIZE_UPDATE: Self = Self(0x50);

    /// Every interindustry instruction named above, in code order.
    pub const ALL: &'static [Ins] = &[
        Self::DEACTIVATE_FILE,
        Self::DEACTIVATE_RECORD,
        Self::ACTIVATE_RECORD,
        Self::ERASE_RECORD,
        Self::ERASE_BINARY,
        Self::ERASE_BINARY_ODD,
        Self::PERFORM_SCQL_OPERATION,
        Self::PERFORM_TRANSACTION_OPERATION,
        Self::PERFORM_USER_OPERATION,
        Self::VERIFY,
        Self::VERIFY_ODD,
        Self::MANAGE_SECURITY_ENVIRONMENT,
        Self::MANAGE_SECURITY_ENVIRONMENT_ODD,
        Self::CHANGE_REFERENCE_DATA,
        Self::CHANGE_REFERENCE_DATA_ODD,
        Self::DISABLE_VERIFICATION_REQUIREMENT,
        Self::DISABLE_VERIFICATION_REQUIREMENT_ODD,
        Self::ENABLE_VERIFICATION_REQUIREMENT,
        Self::ENABLE_VERIFICATION_REQUIREMENT_ODD,
        Self::PERFORM_SECURITY_OPERATION,
        Self::PERFORM_SECURITY_OPERATION_ODD,
        Self::RESET_RETRY_COUNTER,
        Self::RESET_RETRY_COUNTER_ODD,
        Self::COMPARE,
        Self::GET_ATTRIBUTE,
        Self::GET_ATTRIBUTE_ODD,
        Self::APPLICATION_MANAGEMENT_REQUEST,
        Self::APPLICATION_MANAGEMENT_REQUEST_ODD,
        Self::ACTIVATE_FILE,
        Self::GENERATE_ASYMMETRIC_KEY_PAIR,
        Self::GENERATE_ASYMMETRIC_KEY_PAIR_ODD,
        Self::MANAGE_CHANNEL,
        Self::EXTERNAL_AUTHENTICATE,
        Self::GET_CHALLENGE,
        Self::GENERAL_AUTHENTICATE,
        Self::GENERAL_AUTHENTICATE_ODD,
        Self::INTERNAL_AUTHENTICATE,
        Self::SEARCH_BINARY,
        Self::SEARCH_BINARY_ODD,
        Self::SEARCH_RECORD,
        Self::SELECT,
        Self::SELECT_DATA,
        Self::READ_BINARY,
        Self::READ_BINARY_ODD,
        Self::READ_RECORD,
        Self::READ_RECORD_ODD,
        Self::GET_RESPONSE,
        Self::ENVELOPE,
        Self::ENVELOPE_ODD,
        Self::GET_DATA,
        Self::GET_DATA_ODD,
        Self::GET_NEXT_DATA,
        Self::GET_NEXT_DATA_ODD,
        Self::MANAGE_DATA,
        Self::WRITE_BINARY,
        Self::WRITE_BINARY_ODD,
        Self::WRITE_RECORD,
        Self::UPDATE_BINARY,
        Self::UPDATE_BINARY_ODD,
        Self::PUT_DATA,
        Self::PUT_DATA_ODD,
        Self::UPDATE_RECORD,
        Self::UPDATE_RECORD_ODD,
        Self::CREATE_FILE,
        Self::APPEND_RECORD,
        Self::DELETE_FILE,
        Self::TERMINATE_DF,
        Self::TERMINATE_EF,
        Self::LOAD_APPLICATION,
        Self::LOAD_APPLICATION_ODD,
        Self::REMOVE_APPLICATION,
        Self::REMOVE_APPLICATION_ODD,
        Self::TERMINATE_CARD_USAGE,
    ];

    /// The name of an interindustry instruction, or `None` for a value ISO/IEC 7816-4 does not
    /// define (often a proprietary instruction under a proprietary class).
    pub const fn name(self) -> Option<&'static str> {
        match self.0 {
            0x04 => Some("DEACTIVATE FILE"),
            0x06 => Some("DEACTIVATE RECORD(S)"),
            0x08 => Some("ACTIVATE RECORD(S)"),
            0x0C => Some("ERASE RECORD(S)"),
            0x0E => Some("ERASE BINARY"),
            0x0F => Some("ERASE BINARY (odd INS)"),
            0x10 => Some("PERFORM SCQL OPERATION"),
            0x12 => Some("PERFORM TRANSACTION OPERATION"),
            0x14 => Some("PERFORM USER OPERATION"),
            0x20 => Some("VERIFY"),
            0x21 => Some("VERIFY (odd INS)"),
            0x22 => Some("MANAGE SECURITY ENVIRONMENT"),
            0x23 => Some("MANAGE SECURITY ENVIRONMENT (odd INS)"),
            0x24 => Some("CHANGE REFERENCE DATA"),
            0x25 => Some("CHANGE REFERENCE DATA (odd INS)"),
            0x26 => Some("DISABLE VERIFICATION REQUIREMENT"),
            0x27 => Some("DISABLE VERIFICATION REQUIREMENT (odd INS)"),
            0x28 => Some("ENABLE VERIFICATION REQUIREMENT"),
            0x29 => Some("ENABLE VERIFICATION REQUIREMENT (odd INS)"),
            0x2A => Some("PERFORM SECURITY OPERATION"),
            0x2B => Some("PERFORM SECURITY OPERATION (odd INS)"),
            0x2C => Some("RESET RETRY COUNTER"),
            0x2D => Some("RESET RETRY COUNTER (odd INS)"),
            0x33 => Some("COMPARE"),
            0x34 => Some("GET ATTRIBUTE"),
            0x35 => Some("GET ATTRIBUTE (odd INS)"),
            0x40 => Some("APPLICATION MANAGEMENT REQUEST"),
            0x41 => Some("APPLICATION MANAGEMENT REQUEST (odd INS)"),
            0x44 => Some("ACTIVATE FILE"),
            0x46 => Some("GENERATE ASYMMETRIC KEY PAIR"),
            0x47 => Some("GENERATE ASYMMETRIC KEY PAIR (odd INS)"),
            0x70 => Some("MANAGE CHANNEL"),
            0x82 => Some("EXTERNAL AUTHENTICATE / MUTUAL AUTHENTICATE"),
            0x84 => Some("GET CHALLENGE"),
            0x86 => Some("GENERAL AUTHENTICATE"),
            0x87 => Some("GENERAL AUTHENTICATE (odd INS)"),
            0x88 => Some("INTERNAL AUTHENTICATE"),
            0xA0 => Some("SEARCH BINARY"),
            0xA1 => Some("SEARCH BINARY (odd INS)"),
            0xA2 => Some("SEARCH RECORD"),
            0xA4 => Some("SELECT"),
            0xA5 => Some("SELECT DATA"),
            0xB0 => Some("READ BINARY"),
            0xB1 => Some("READ BINARY (odd INS)"),
            0xB2 => Some("READ RECORD(S)"),
            0xB3 => Some("READ RECORD(S) (odd INS)"),
            0xC0 => Some("GET RESPONSE"),
            0xC2 => Some("ENVELOPE"),
            0xC3 => Some("ENVELOPE (odd INS)"),
            0xCA => Some("GET DATA"),
            0xCB => Some("GET DATA (odd INS)"),
            0xCC => Some("GET NEXT DATA"),
            0xCD => Some("GET NEXT DATA (odd INS)"),
            0xCF => Some("MANAGE DATA"),
            0xD0 => Some("WRITE BINARY"),
            0xD1 => Some("WRITE BINARY (odd INS)"),
            0xD2 => Some("WRITE RECORD"),
            0xD6 => Some("UPDATE BINARY"),
            0xD7 => Some("UPDATE BINARY (odd INS)"),
            0xDA => Some("PUT DATA"),
            0xDB => Some("PUT DATA (odd INS)"),
            0xDC => Some("UPDATE RECORD"),
            0xDD => Some("UPDATE RECORD (odd INS)"),
            0xE0 => Some("CREATE FILE"),
            0xE2 => Some("APPEND RECORD"),
            0xE4 => Some("DELETE FILE"),
            0xE6 => Some("TERMINATE DF"),
            0xE8 => Some("TERMINATE EF"),
            0xEA => Some("LOAD APPLICATION"),
            0xEB => Some("LOAD APPLICATION (odd INS)"),
            0xEC => Some("REMOVE APPLICATION"),
            0xED => Some("REMOVE APPLICATION (odd INS)"),
            0xFE => Some("TERMINATE CARD USAGE"),
            _ => None,
        }
    }

    /// True when bit 1 is set: the odd-INS form, with BER-TLV coded data (§5.4.2).
    pub const fn is_odd(self) -> bool {
        self.0 & 0x01 != 0
    }

    /// False for `6X` and `9X`, which T=0 uses as procedure bytes (ISO/IEC 7816-3 §10.3.3).
    pub const fn is_valid(self) -> bool {
        !matches!(self.0 & 0xF0, 0x60 | 0x90)
    }
}

impl fmt::Debug for Ins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Ins({:02X} {name})", self.0),
            None => write!(f, "Ins({:02X})", self.0),
        }
    }
}

/// Shows the hex value and, for interindustry instructions, the name: `A4 SELECT`.
impl fmt::Display for Ins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{:02X} {name}", self.0),
            None => write!(f, "{:02X}", self.0),
        }
    }
}

impl From<u8> for Ins {
    fn from(b: u8) -> Self {
        Self(b)
    }
}

impl From<Ins> for u8 {
    fn from(i: Ins) -> Self {
        i.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constant_has_a_name_and_is_valid() {
        for ins in Ins::ALL {
            assert!(ins.name().is_some(), "{ins:?}");
            assert!(ins.is_valid(), "{ins:?}");
        }
        assert_eq!(Ins(0xFF).name(), None);
    }

    #[test]
    fn odd_variants() {
        for ins in [
            Ins::READ_BINARY_ODD,
            Ins::UPDATE_BINARY_ODD,
            Ins::PUT_DATA_ODD,
            Ins::READ_RECORD_ODD,
        ] {
            assert!(ins.is_odd());
            assert!(Ins(ins.0 & 0xFE).name().is_some());
        }
    }
}
