//! [`PinOutcome`]: what a card's answer to a PIN command means.

use core::fmt;

use cardwire_apdu::StatusWord;

/// The typed result of VERIFY, CHANGE REFERENCE DATA or RESET RETRY COUNTER
/// (ISO/IEC 7816-4 §11.5.6-§11.5.10, status words from §5.6 Table 6).
///
/// The caller never has to interpret a bare status word: every answer is one of these.
///
/// ```
/// use cardwire_apdu::StatusWord;
/// use cardwire_pin::PinOutcome;
/// assert_eq!(PinOutcome::from_status(StatusWord(0x63C2)), PinOutcome::WrongPin { retries_left: 2 });
/// assert_eq!(PinOutcome::from_status(StatusWord(0x6983)), PinOutcome::Blocked);
/// assert_eq!(PinOutcome::Blocked.status_word(), StatusWord(0x6983));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinOutcome {
    /// `9000`: the PIN (or PUK) was right and the command was carried out. For an empty VERIFY
    /// it means the PIN is currently verified (or needs no verification).
    Verified,
    /// `63Cx`: the PIN (for RESET RETRY COUNTER: the PUK) was wrong, or, for an empty VERIFY,
    /// is not verified; `x` tries are left.
    WrongPin {
        /// Tries left, 0 to 15.
        retries_left: u8,
    },
    /// `6983`: authentication method blocked; no try is left.
    Blocked,
    /// `6984`: reference data not usable (for example the PIN was never set).
    NotUsable,
    /// `6982`: security status not satisfied (for example the command needs secure messaging
    /// or a prior verification).
    SecurityStatusNotSatisfied,
    /// Any other status word, kept as it came.
    Unexpected(StatusWord),
}

impl PinOutcome {
    /// Classifies a card's status word.
    pub fn from_status(sw: StatusWord) -> Self {
        if let Some(retries_left) = sw.retries_left() {
            return PinOutcome::WrongPin { retries_left };
        }
        match sw {
            StatusWord::SUCCESS => PinOutcome::Verified,
            StatusWord::AUTHENTICATION_METHOD_BLOCKED => PinOutcome::Blocked,
            StatusWord::REFERENCE_DATA_NOT_USABLE => PinOutcome::NotUsable,
            StatusWord::SECURITY_STATUS_NOT_SATISFIED => PinOutcome::SecurityStatusNotSatisfied,
            other => PinOutcome::Unexpected(other),
        }
    }

    /// The status word a card answers with for this outcome (the card side uses this).
    pub fn status_word(self) -> StatusWord {
        match self {
            PinOutcome::Verified => StatusWord::SUCCESS,
            PinOutcome::WrongPin { retries_left } => {
                StatusWord(0x63C0 | u16::from(retries_left.min(15)))
            }
            PinOutcome::Blocked => StatusWord::AUTHENTICATION_METHOD_BLOCKED,
            PinOutcome::NotUsable => StatusWord::REFERENCE_DATA_NOT_USABLE,
            PinOutcome::SecurityStatusNotSatisfied => StatusWord::SECURITY_STATUS_NOT_SATISFIED,
            PinOutcome::Unexpected(sw) => sw,
        }
    }

    /// True for [`PinOutcome::Verified`].
    pub fn is_verified(self) -> bool {
        self == PinOutcome::Verified
    }
}

impl fmt::Display for PinOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinOutcome::Verified => f.write_str("verified"),
            PinOutcome::WrongPin { retries_left } => {
                write!(f, "wrong PIN, {retries_left} tries left")
            }
            PinOutcome::Blocked => f.write_str("blocked"),
            PinOutcome::NotUsable => f.write_str("reference data not usable"),
            PinOutcome::SecurityStatusNotSatisfied => f.write_str("security status not satisfied"),
            PinOutcome::Unexpected(sw) => write!(f, "unexpected status {sw}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let o = |sw: u16| PinOutcome::from_status(StatusWord(sw));
        assert_eq!(o(0x9000), PinOutcome::Verified);
        assert_eq!(o(0x63C0), PinOutcome::WrongPin { retries_left: 0 });
        assert_eq!(o(0x63CF), PinOutcome::WrongPin { retries_left: 15 });
        assert_eq!(o(0x6983), PinOutcome::Blocked);
        assert_eq!(o(0x6984), PinOutcome::NotUsable);
        assert_eq!(o(0x6982), PinOutcome::SecurityStatusNotSatisfied);
        assert_eq!(o(0x6300), PinOutcome::Unexpected(StatusWord(0x6300)));
        assert_eq!(o(0x6A88), PinOutcome::Unexpected(StatusWord(0x6A88)));
    }

    proptest! {
        #[test]
        fn status_word_round_trips(sw in any::<u16>()) {
            let outcome = PinOutcome::from_status(StatusWord(sw));
            prop_assert_eq!(outcome.status_word(), StatusWord(sw));
        }
    }
}
