//! PIN references: the P2 byte of VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER.

use core::fmt;

/// Which PIN (or PUK, or reset code) a command is about: the command's P2 byte
/// (ISO/IEC 7816-4 §11.5.6, Table 72).
///
/// - `00`: no information given (the card knows which PIN);
/// - bit 8 = 0: a **global** reference data (valid for the whole card, e.g. a card PIN);
/// - bit 8 = 1: a **specific** reference data (belongs to the current application / DF);
/// - bits 5..1: the reference number; bits 7..6 are `00` (other values are reserved, but
///   [`PinReference`] carries any byte so that proprietary references still work).
///
/// A PUK or reset code is a reference of its own (PIV: `81`). RESET RETRY COUNTER names the
/// PIN it unblocks in P2 and carries the PUK in its data field.
///
/// ```
/// use cardwire_pin::PinReference;
/// let r = PinReference::specific(1);
/// assert_eq!(r.p2(), 0x81);
/// assert!(r.is_specific());
/// assert_eq!(r.number(), 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PinReference(pub u8);

impl PinReference {
    /// P2 `00`: no information given.
    pub const NONE: Self = Self(0x00);
    /// PIV Global PIN (NIST SP 800-73-4 Part 2 §3.2.1 / Part 1 Table 4: key reference `00`).
    pub const PIV_GLOBAL_PIN: Self = Self(0x00);
    /// PIV Card Application PIN (NIST SP 800-73-4 Part 1 Table 4: key reference `80`).
    pub const PIV_APPLICATION_PIN: Self = Self(0x80);
    /// PIV PIN Unblocking Key (NIST SP 800-73-4 Part 1 Table 4: key reference `81`).
    pub const PIV_PUK: Self = Self(0x81);

    /// A global reference number `number` (bits 5..1; higher bits of `number` are ignored).
    pub const fn global(number: u8) -> Self {
        Self(number & 0x1F)
    }

    /// A specific (application-local) reference number `number` (bit 8 set).
    pub const fn specific(number: u8) -> Self {
        Self(0x80 | (number & 0x1F))
    }

    /// The P2 byte.
    pub const fn p2(self) -> u8 {
        self.0
    }

    /// Bit 8: specific (true) or global (false) reference data.
    pub const fn is_specific(self) -> bool {
        self.0 & 0x80 != 0
    }

    /// Bits 5..1: the reference number.
    pub const fn number(self) -> u8 {
        self.0 & 0x1F
    }

    /// True when bits 7..6 are `00` as ISO/IEC 7816-4 Table 72 requires.
    pub const fn is_iso(self) -> bool {
        self.0 & 0x60 == 0
    }
}

impl fmt::Debug for PinReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinReference({:02X})", self.0)
    }
}

impl fmt::Display for PinReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = if self.is_specific() {
            "specific"
        } else {
            "global"
        };
        write!(f, "{scope} reference {} (P2={:02X})", self.number(), self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits() {
        assert_eq!(PinReference::global(3).p2(), 0x03);
        assert!(!PinReference::global(3).is_specific());
        assert_eq!(PinReference::specific(0x1F).p2(), 0x9F);
        assert_eq!(PinReference::specific(0x21).p2(), 0x81);
        assert_eq!(PinReference(0x96).number(), 0x16);
        assert!(PinReference(0x96).is_iso());
        assert!(!PinReference(0xE0).is_iso());
        assert!(PinReference::PIV_PUK.is_iso());
    }
}
