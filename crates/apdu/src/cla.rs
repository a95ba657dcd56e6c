//! The class byte (ISO/IEC 7816-4 §5.4.1).

use core::fmt;

use crate::Error;

/// The class byte CLA of a command APDU (ISO/IEC 7816-4 §5.4.1).
///
/// * `000x xxxx` — first interindustry values: bit 5 (`10`) command chaining, bits 4–3 secure
///   messaging, bits 2–1 logical channel 0–3.
/// * `01xx xxxx` — further interindustry values: bit 6 (`20`) secure messaging, bit 5 (`10`)
///   command chaining, bits 4–1 logical channel 4–19 (minus 4).
/// * `001x xxxx` — reserved for future use.
/// * `1xxx xxxx` — proprietary, except `FF` (invalid: it is the PPS request byte in
///   ISO/IEC 7816-3 §9). cardwire reads the low bits of a proprietary class with the
///   interindustry layout (bit 7 choosing first or further), as GlobalPlatform does for `80`–`8F`
///   and `C0`–`CF`; check [`Cla::kind`] before trusting them for other proprietary classes.
///
/// ```
/// use cardwire_apdu::{Cla, SecureMessaging};
/// let cla = Cla::INTERINDUSTRY.with_channel(5)?.with_chaining(true);
/// assert_eq!(cla, Cla(0x51));
/// assert_eq!(cla.channel(), 5);
/// assert!(cla.chaining());
/// assert_eq!(Cla(0x0C).secure_messaging(), SecureMessaging::HeaderAuthenticated);
/// # Ok::<(), cardwire_apdu::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Cla(pub u8);

/// Which part of the CLA coding space a class byte is in (ISO/IEC 7816-4 §5.4.1).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClaKind {
    /// `000x xxxx`: channels 0–3, two secure messaging bits.
    FirstInterindustry,
    /// `01xx xxxx`: channels 4–19, one secure messaging bit.
    FurtherInterindustry,
    /// `001x xxxx`: reserved for future use.
    Reserved,
    /// `1xxx xxxx` except `FF`.
    Proprietary,
    /// `FF`: invalid as a class byte.
    Invalid,
}

/// The secure messaging indication of a class byte (ISO/IEC 7816-4 §5.4.1, §10).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecureMessaging {
    /// No secure messaging, or no indication.
    None,
    /// Proprietary secure messaging format (first interindustry bits `01`).
    Proprietary,
    /// Secure messaging per §10, command header not processed (bits `10`, or bit 6 in the
    /// further interindustry form).
    HeaderNotProcessed,
    /// Secure messaging per §10, command header authenticated (bits `11`).
    HeaderAuthenticated,
}

impl Cla {
    /// `00`: interindustry, basic logical channel, no chaining, no secure messaging.
    pub const INTERINDUSTRY: Self = Self(0x00);
    /// `80`: the usual proprietary class (GlobalPlatform, many card applications).
    pub const PROPRIETARY: Self = Self(0x80);
    /// The command chaining bit (§5.4.1, bit 5 in both interindustry forms).
    pub const CHAINING_BIT: u8 = 0x10;

    /// Which part of the coding space this class byte is in.
    pub const fn kind(self) -> ClaKind {
        match self.0 {
            0xFF => ClaKind::Invalid,
            0x80..=0xFE => ClaKind::Proprietary,
            0x40..=0x7F => ClaKind::FurtherInterindustry,
            0x20..=0x3F => ClaKind::Reserved,
            _ => ClaKind::FirstInterindustry,
        }
    }

    /// True for the first and further interindustry values.
    pub const fn is_interindustry(self) -> bool {
        matches!(
            self.kind(),
            ClaKind::FirstInterindustry | ClaKind::FurtherInterindustry
        )
    }

    /// True for `80`–`FE`.
    pub const fn is_proprietary(self) -> bool {
        matches!(self.kind(), ClaKind::Proprietary)
    }

    /// True when the low bits use the further interindustry layout (bit 7 set).
    const fn further_layout(self) -> bool {
        self.0 & 0x40 != 0
    }

    /// The command chaining bit: this command is not the last of a chain (§5.3.3).
    /// Always false for `FF` and the reserved values.
    pub const fn chaining(self) -> bool {
        match self.kind() {
            ClaKind::Invalid | ClaKind::Reserved => false,
            _ => self.0 & Self::CHAINING_BIT != 0,
        }
    }

    /// Sets or clears the command chaining bit. `FF`, reserved values, and `EF` (which would
    /// become `FF`) are returned unchanged.
    #[must_use]
    pub const fn with_chaining(self, chaining: bool) -> Self {
        match self.kind() {
            ClaKind::Invalid | ClaKind::Reserved => self,
            _ if chaining && self.0 == 0xEF => self,
            _ if chaining => Self(self.0 | Self::CHAINING_BIT),
            _ => Self(self.0 & !Self::CHAINING_BIT),
        }
    }

    /// The logical channel number, 0–19 (§5.4.1). 0 for `FF` and the reserved values.
    pub const fn channel(self) -> u8 {
        match self.kind() {
            ClaKind::Invalid | ClaKind::Reserved => 0,
            _ if self.further_layout() => (self.0 & 0x0F) + 4,
            _ => self.0 & 0x03,
        }
    }

    /// The secure messaging indication (§5.4.1).
    pub const fn secure_messaging(self) -> SecureMessaging {
        match self.kind() {
            ClaKind::Invalid | ClaKind::Reserved => SecureMessaging::None,
            _ if self.further_layout() => {
                if self.0 & 0x20 != 0 {
                    SecureMessaging::HeaderNotProcessed
                } else {
                    SecureMessaging::None
                }
            }
            _ => match (self.0 >> 2) & 0x03 {
                0 => SecureMessaging::None,
                1 => SecureMessaging::Proprietary,
                2 => SecureMessaging::HeaderNotProcessed,
                _ => SecureMessaging::HeaderAuthenticated,
            },
        }
    }

    /// Moves the class byte to logical channel `channel` (0–19), switching between the first
    /// and further interindustry forms as needed and keeping chaining and secure messaging.
    /// A proprietary class keeps its high bit.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a channel above 19, for `FF` or a reserved class, and
    /// for channels 4–19 with a secure messaging indication the further form cannot express
    /// (proprietary SM, or header authenticated).
    pub const fn with_channel(self, channel: u8) -> Result<Self, Error> {
        if matches!(self.kind(), ClaKind::Invalid | ClaKind::Reserved) {
            return Err(Error::InvalidParameter {
                what: "class byte FF or reserved (001x xxxx) has no channel",
            });
        }
        let high = self.0 & 0x80;
        let chaining = self.0 & Self::CHAINING_BIT;
        let sm = self.secure_messaging();
        if channel <= 3 {
            let sm_bits = match sm {
                SecureMessaging::None => 0x00,
                SecureMessaging::Proprietary => 0x04,
                SecureMessaging::HeaderNotProcessed => 0x08,
                SecureMessaging::HeaderAuthenticated => 0x0C,
            };
            Ok(Self(high | chaining | sm_bits | channel))
        } else if channel <= 19 {
            let sm_bit = match sm {
                SecureMessaging::None => 0x00,
                SecureMessaging::HeaderNotProcessed => 0x20,
                SecureMessaging::Proprietary | SecureMessaging::HeaderAuthenticated => {
                    return Err(Error::InvalidParameter {
                        what: "channels 4-19 can only indicate SM with the command header not processed",
                    });
                }
            };
            let cla = high | 0x40 | sm_bit | chaining | (channel - 4);
            if cla == 0xFF {
                return Err(Error::InvalidParameter {
                    what: "this channel, SM and chaining would give class byte FF (invalid)",
                });
            }
            Ok(Self(cla))
        } else {
            Err(Error::InvalidParameter {
                what: "logical channel above 19",
            })
        }
    }

    /// Sets the secure messaging indication, keeping channel and chaining.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `FF` or a reserved class, and for an indication the
    /// further interindustry form (channels 4–19) cannot express.
    pub const fn with_secure_messaging(self, sm: SecureMessaging) -> Result<Self, Error> {
        match self.kind() {
            ClaKind::Invalid | ClaKind::Reserved => Err(Error::InvalidParameter {
                what: "class byte FF or reserved (001x xxxx) has no SM indication",
            }),
            _ if self.further_layout() => match sm {
                SecureMessaging::None => Ok(Self(self.0 & !0x20)),
                SecureMessaging::HeaderNotProcessed if self.0 | 0x20 == 0xFF => {
                    Err(Error::InvalidParameter {
                        what: "this SM indication would give class byte FF (invalid)",
                    })
                }
                SecureMessaging::HeaderNotProcessed => Ok(Self(self.0 | 0x20)),
                _ => Err(Error::InvalidParameter {
                    what: "channels 4-19 can only indicate SM with the command header not processed",
                }),
            },
            _ => {
                let bits = match sm {
                    SecureMessaging::None => 0x00,
                    SecureMessaging::Proprietary => 0x04,
                    SecureMessaging::HeaderNotProcessed => 0x08,
                    SecureMessaging::HeaderAuthenticated => 0x0C,
                };
                Ok(Self((self.0 & !0x0C) | bits))
            }
        }
    }

    /// The class byte for GET RESPONSE or another follow-up command on the same logical channel:
    /// interindustry, same channel, no chaining, no secure messaging (§5.4.1, §11.1).
    pub const fn interindustry_on_same_channel(self) -> Self {
        let channel = self.channel();
        if channel <= 3 {
            Self(channel)
        } else {
            Self(0x40 | (channel - 4))
        }
    }
}

impl fmt::Debug for Cla {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cla({:02X})", self.0)
    }
}

impl fmt::Display for Cla {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}", self.0)
    }
}

impl From<u8> for Cla {
    fn from(b: u8) -> Self {
        Self(b)
    }
}

impl From<Cla> for u8 {
    fn from(c: Cla) -> Self {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(Cla(0x00).kind(), ClaKind::FirstInterindustry);
        assert_eq!(Cla(0x1F).kind(), ClaKind::FirstInterindustry);
        assert_eq!(Cla(0x20).kind(), ClaKind::Reserved);
        assert_eq!(Cla(0x40).kind(), ClaKind::FurtherInterindustry);
        assert_eq!(Cla(0x80).kind(), ClaKind::Proprietary);
        assert_eq!(Cla(0xFF).kind(), ClaKind::Invalid);
    }

    #[test]
    fn channels_round_trip_through_both_forms() {
        for ch in 0..=19u8 {
            let cla = Cla(0x0C).with_channel(ch.min(3)).unwrap();
            assert_eq!(cla.channel(), ch.min(3));
            let cla = Cla::INTERINDUSTRY
                .with_chaining(true)
                .with_channel(ch)
                .unwrap();
            assert_eq!(cla.channel(), ch);
            assert!(cla.chaining());
            assert_eq!(cla.secure_messaging(), SecureMessaging::None);
        }
        assert_eq!(Cla(0x00).with_channel(19).unwrap(), Cla(0x4F));
        assert_eq!(Cla(0x4F).with_channel(1).unwrap(), Cla(0x01));
        assert_eq!(Cla(0x08).with_channel(4).unwrap(), Cla(0x60));
        assert_eq!(Cla(0x60).with_channel(0).unwrap(), Cla(0x08));
        assert!(Cla(0x00).with_channel(20).is_err());
        assert!(Cla(0x0C).with_channel(4).is_err());
        assert!(Cla(0xFF).with_channel(0).is_err());
        // Proprietary keeps its high bit.
        assert_eq!(Cla(0x80).with_channel(2).unwrap(), Cla(0x82));
    }

    #[test]
    fn secure_messaging_bits() {
        assert_eq!(Cla(0x04).secure_messaging(), SecureMessaging::Proprietary);
        assert_eq!(
            Cla(0x08).secure_messaging(),
            SecureMessaging::HeaderNotProcessed
        );
        assert_eq!(
            Cla(0x0C).secure_messaging(),
            SecureMessaging::HeaderAuthenticated
        );
        assert_eq!(
            Cla(0x60).secure_messaging(),
            SecureMessaging::HeaderNotProcessed
        );
        assert_eq!(
            Cla(0x01)
                .with_secure_messaging(SecureMessaging::HeaderAuthenticated)
                .unwrap(),
            Cla(0x0D)
        );
        assert_eq!(
            Cla(0x45)
                .with_secure_messaging(SecureMessaging::HeaderNotProcessed)
                .unwrap(),
            Cla(0x65)
        );
        assert!(
            Cla(0x45)
                .with_secure_messaging(SecureMessaging::Proprietary)
                .is_err()
        );
    }

    #[test]
    fn follow_up_class_keeps_channel_only() {
        assert_eq!(Cla(0x1D).interindustry_on_same_channel(), Cla(0x01));
        assert_eq!(Cla(0x7A).interindustry_on_same_channel(), Cla(0x4A));
        assert_eq!(Cla(0x84).interindustry_on_same_channel(), Cla(0x00));
    }
}
