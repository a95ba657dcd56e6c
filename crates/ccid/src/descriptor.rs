//! The CCID class descriptor (USB CCID Rev 1.1 §5.1, Table 5.1-1), built from a typed
//! configuration.

use crate::Error;

/// Length of the class descriptor (`bLength`).
pub const DESCRIPTOR_LEN: usize = 54;
/// `bDescriptorType` of the CCID class descriptor.
pub const DESCRIPTOR_TYPE: u8 = 0x21;
/// `bcdCCID`: release 1.10.
pub const BCD_CCID: u16 = 0x0110;
/// The smallest `dwMaxCCIDMessageLength` a reader may announce: a short APDU exchange of
/// 261 bytes plus the 10-byte header (§5.1: "between (dwMaxIFSD+10) and 65544", and 271 in
/// practice; libccid's serial driver assumes 271).
pub const MIN_MESSAGE_LEN: u32 = 271;

/// `dwFeatures` (CCID Rev 1.1 §5.1, Table 5.1-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Features(pub u32);

impl Features {
    /// Automatic parameter configuration based on ATR data.
    pub const AUTO_PARAMETERS_FROM_ATR: Self = Self(0x0000_0002);
    /// Automatic activation of the ICC on insertion.
    pub const AUTO_ACTIVATION: Self = Self(0x0000_0004);
    /// Automatic ICC voltage selection.
    pub const AUTO_VOLTAGE: Self = Self(0x0000_0008);
    /// Automatic ICC clock frequency change according to the active parameters.
    pub const AUTO_CLOCK: Self = Self(0x0000_0010);
    /// Automatic baud rate change according to the active parameters.
    pub const AUTO_BAUD: Self = Self(0x0000_0020);
    /// Automatic parameters negotiation made by the CCID (proprietary algorithm).
    pub const AUTO_PPS_PROPRIETARY: Self = Self(0x0000_0040);
    /// Automatic PPS made by the CCID according to the active parameters.
    pub const AUTO_PPS_ACTIVE: Self = Self(0x0000_0080);
    /// The CCID can set the ICC in clock stop mode.
    pub const CLOCK_STOP: Self = Self(0x0000_0100);
    /// NAD values other than 00 accepted (T=1).
    pub const NAD_OTHER_THAN_ZERO: Self = Self(0x0000_0200);
    /// Automatic IFSD exchange as first exchange (T=1).
    pub const AUTO_IFSD: Self = Self(0x0000_0400);
    /// TPDU level exchanges.
    pub const TPDU: Self = Self(0x0001_0000);
    /// Short APDU level exchanges.
    pub const SHORT_APDU: Self = Self(0x0002_0000);
    /// Short and extended APDU level exchanges.
    pub const EXTENDED_APDU: Self = Self(0x0004_0000);
    /// USB wake-up signalling on card insertion and removal.
    pub const WAKE_UP: Self = Self(0x0010_0000);
    /// The exchange level bits.
    pub const EXCHANGE_MASK: Self = Self(0x0007_0000);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets of bits.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The exchange level announced, if exactly one known level is.
    pub fn exchange_level(self) -> Option<ExchangeLevel> {
        match self.0 & Self::EXCHANGE_MASK.0 {
            0x0001_0000 => Some(ExchangeLevel::Tpdu),
            0x0002_0000 => Some(ExchangeLevel::ShortApdu),
            0x0004_0000 => Some(ExchangeLevel::ExtendedApdu),
            _ => None,
        }
    }
}

/// How `PC_to_RDR_XfrBlock` data relates to what goes to the card (§5.1, §6.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExchangeLevel {
    /// The host runs T=0/T=1 and sends TPDUs (T=1 blocks, T=0 command headers with data).
    Tpdu,
    /// The host sends short APDUs; the reader runs T=0/T=1.
    ShortApdu,
    /// Short and extended APDUs, the latter split over several messages
    /// (`wLevelParameter` / `bChainParameter`).
    ExtendedApdu,
}

impl ExchangeLevel {
    /// The `dwFeatures` bit.
    pub const fn feature(self) -> Features {
        match self {
            ExchangeLevel::Tpdu => Features::TPDU,
            ExchangeLevel::ShortApdu => Features::SHORT_APDU,
            ExchangeLevel::ExtendedApdu => Features::EXTENDED_APDU,
        }
    }
}

/// What a reader announces in its class descriptor, as typed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReaderDescriptor {
    /// `bMaxSlotIndex`: slots minus one.
    pub max_slot_index: u8,
    /// `bVoltageSupport`: bit 0 5.0 V, bit 1 3.0 V, bit 2 1.8 V.
    pub voltage_support: u8,
    /// `dwProtocols` bit 0: T=0.
    pub t0: bool,
    /// `dwProtocols` bit 1: T=1.
    pub t1: bool,
    /// `dwDefaultClock` in kHz.
    pub default_clock_khz: u32,
    /// `dwMaximumClock` in kHz.
    pub maximum_clock_khz: u32,
    /// `bNumClockSupported` (0: no list, GET_CLOCK_FREQUENCIES not supported).
    pub num_clocks_supported: u8,
    /// `dwDataRate` in bit/s (the default: 372/1 at the default clock).
    pub data_rate: u32,
    /// `dwMaxDataRate` in bit/s.
    pub max_data_rate: u32,
    /// `bNumDataRatesSupported`.
    pub num_data_rates_supported: u8,
    /// `dwMaxIFSD`.
    pub max_ifsd: u32,
    /// `dwSynchProtocols` (0: none).
    pub synch_protocols: u32,
    /// `dwMechanical` (0: none).
    pub mechanical: u32,
    /// The exchange level.
    pub exchange: ExchangeLevel,
    /// Further `dwFeatures` bits (automatic behaviours); the exchange level is added.
    pub features: Features,
    /// `dwMaxCCIDMessageLength` (at least [`MIN_MESSAGE_LEN`]).
    pub max_message_len: u32,
    /// `bClassGetResponse` (`FF`: echo the APDU's class).
    pub class_get_response: u8,
    /// `bClassEnvelope` (`FF`: echo the APDU's class).
    pub class_envelope: u8,
    /// `wLcdLayout`: lines in the high byte, characters per line in the low byte; 0 none.
    pub lcd_layout: u16,
    /// `bPINSupport`: bit 0 verification, bit 1 modification.
    pub pin_support: u8,
    /// `bMaxCCIDBusySlots`.
    pub max_busy_slots: u8,
}

impl Default for ReaderDescriptor {
    /// A one-slot T=0/T=1 short-APDU reader at 4 MHz with automatic ATR configuration,
    /// voltage, clock, baud rate, PPS and IFSD, 271-byte messages, a PIN pad.
    fn default() -> Self {
        Self {
            max_slot_index: 0,
            voltage_support: 0x07,
            t0: true,
            t1: true,
            default_clock_khz: 4000,
            maximum_clock_khz: 4000,
            num_clocks_supported: 0,
            data_rate: 10_752,
            max_data_rate: 344_086,
            num_data_rates_supported: 0,
            max_ifsd: 254,
            synch_protocols: 0,
            mechanical: 0,
            exchange: ExchangeLevel::ShortApdu,
            features: Features(
                Features::AUTO_PARAMETERS_FROM_ATR.0
                    | Features::AUTO_VOLTAGE.0
                    | Features::AUTO_CLOCK.0
                    | Features::AUTO_BAUD.0
                    | Features::AUTO_PPS_ACTIVE.0
                    | Features::AUTO_IFSD.0,
            ),
            max_message_len: MIN_MESSAGE_LEN,
            class_get_response: 0xFF,
            class_envelope: 0xFF,
            lcd_layout: 0,
            pin_support: 0x03,
            max_busy_slots: 1,
        }
    }
}

impl ReaderDescriptor {
    /// The `dwFeatures` value: [`Self::features`] with the exchange level's bit (and any
    /// other level bit cleared).
    pub fn dw_features(&self) -> Features {
        Features((self.features.0 & !Features::EXCHANGE_MASK.0) | self.exchange.feature().0)
    }

    /// Checks the rules of §5.1 this layer relies on.
    ///
    /// # Errors
    /// [`Error::Invalid`] (with the descriptor offset of the field) when
    /// `dwMaxCCIDMessageLength` is below 271 (or below `dwMaxIFSD` + 10) or above 65 544, no
    /// protocol is offered, or an extended-APDU reader announces messages too short to make
    /// progress.
    pub fn validate(&self) -> Result<(), Error> {
        let min = MIN_MESSAGE_LEN.max(self.max_ifsd.saturating_add(10));
        if self.max_message_len < min || self.max_message_len > 65_544 {
            return Err(Error::Invalid {
                offset: 44,
                what: "dwMaxCCIDMessageLength must be between max(271, dwMaxIFSD + 10) and 65544",
            });
        }
        if !self.t0 && !self.t1 {
            return Err(Error::Invalid {
                offset: 6,
                what: "dwProtocols: at least one of T=0 and T=1",
            });
        }
        Ok(())
    }

    /// The 54-byte class descriptor (§5.1, Table 5.1-1); multi-byte fields little-endian.
    ///
    /// ```
    /// use cardwire_ccid::descriptor::ReaderDescriptor;
    /// let d = ReaderDescriptor::default().to_bytes()?;
    /// assert_eq!(&d[..4], &[0x36, 0x21, 0x10, 0x01]);
    /// # Ok::<(), cardwire_ccid::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn to_bytes(&self) -> Result<[u8; DESCRIPTOR_LEN], Error> {
        self.validate()?;
        let mut out = [0u8; DESCRIPTOR_LEN];
        let mut w = Writer {
            out: &mut out,
            pos: 0,
        };
        w.u8(DESCRIPTOR_LEN as u8);
        w.u8(DESCRIPTOR_TYPE);
        w.bytes(&BCD_CCID.to_le_bytes());
        w.u8(self.max_slot_index);
        w.u8(self.voltage_support);
        w.u32(u32::from(self.t0) | (u32::from(self.t1) << 1));
        w.u32(self.default_clock_khz);
        w.u32(self.maximum_clock_khz);
        w.u8(self.num_clocks_supported);
        w.u32(self.data_rate);
        w.u32(self.max_data_rate);
        w.u8(self.num_data_rates_supported);
        w.u32(self.max_ifsd);
        w.u32(self.synch_protocols);
        w.u32(self.mechanical);
        w.u32(self.dw_features().0);
        w.u32(self.max_message_len);
        w.u8(self.class_get_response);
        w.u8(self.class_envelope);
        w.bytes(&self.lcd_layout.to_le_bytes());
        w.u8(self.pin_support);
        w.u8(self.max_busy_slots);
        debug_assert_eq!(w.pos, DESCRIPTOR_LEN);
        Ok(out)
    }

    /// Reads a class descriptor.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::Invalid`] (bLength, bDescriptorType, RFU protocol
    /// bits, no known exchange level), [`Error::TrailingBytes`].
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let d: &[u8; DESCRIPTOR_LEN] = bytes.first_chunk().ok_or(Error::Truncated {
            offset: bytes.len(),
            needed: DESCRIPTOR_LEN.saturating_sub(bytes.len()),
        })?;
        if bytes.len() > DESCRIPTOR_LEN {
            return Err(Error::TrailingBytes {
                offset: DESCRIPTOR_LEN,
            });
        }
        let mut r = Reader { d, pos: 0 };
        if r.u8() != DESCRIPTOR_LEN as u8 {
            return Err(Error::Invalid {
                offset: 0,
                what: "bLength must be 54",
            });
        }
        if r.u8() != DESCRIPTOR_TYPE {
            return Err(Error::Invalid {
                offset: 1,
                what: "bDescriptorType must be 21",
            });
        }
        let _bcd = r.u16();
        let max_slot_index = r.u8();
        let voltage_support = r.u8();
        let protocols = r.u32();
        if protocols & !0x03 != 0 {
            return Err(Error::Invalid {
                offset: 6,
                what: "dwProtocols: bits other than T=0 and T=1 are RFU (must be 0)",
            });
        }
        let default_clock_khz = r.u32();
        let maximum_clock_khz = r.u32();
        let num_clocks_supported = r.u8();
        let data_rate = r.u32();
        let max_data_rate = r.u32();
        let num_data_rates_supported = r.u8();
        let max_ifsd = r.u32();
        let synch_protocols = r.u32();
        let mechanical = r.u32();
        let features = Features(r.u32());
        let exchange = features.exchange_level().ok_or(Error::Invalid {
            offset: 40,
            what: "dwFeatures: exactly one of TPDU, short APDU, extended APDU level",
        })?;
        Ok(Self {
            max_slot_index,
            voltage_support,
            t0: protocols & 1 != 0,
            t1: protocols & 2 != 0,
            default_clock_khz,
            maximum_clock_khz,
            num_clocks_supported,
            data_rate,
            max_data_rate,
            num_data_rates_supported,
            max_ifsd,
            synch_protocols,
            mechanical,
            exchange,
            features: Features(features.0 & !Features::EXCHANGE_MASK.0),
            max_message_len: r.u32(),
            class_get_response: r.u8(),
            class_envelope: r.u8(),
            lcd_layout: r.u16(),
            pin_support: r.u8(),
            max_busy_slots: r.u8(),
        })
    }
}

struct Writer<'a> {
    out: &'a mut [u8; DESCRIPTOR_LEN],
    pos: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            if let Some(slot) = self.out.get_mut(self.pos) {
                *slot = x;
            }
            self.pos += 1;
        }
    }
    fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
}

struct Reader<'a> {
    d: &'a [u8; DESCRIPTOR_LEN],
    pos: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> u8 {
        let v = self.d.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        v
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What libccid's serial driver assumes for a GemPC PinPad (ccid_serial.c,
    /// set_ccid_descriptor): dwFeatures 00010230, dwMaxCCIDMessageLength 271, dwMaxIFSD 254,
    /// dwDefaultClock 4000, dwMaxDataRate 500000, bPINSupport 03, bVoltageSupport 07.
    fn gempc_pinpad() -> ReaderDescriptor {
        ReaderDescriptor {
            exchange: ExchangeLevel::Tpdu,
            features: Features(0x0000_0230),
            max_data_rate: 500_000,
            ..ReaderDescriptor::default()
        }
    }

    #[test]
    fn gempc_pinpad_descriptor() {
        let d = gempc_pinpad();
        assert_eq!(d.dw_features(), Features(0x0001_0230));
        let bytes = d.to_bytes().unwrap();
        assert_eq!(bytes[0], 0x36);
        // dwFeatures at offset 40, dwMaxCCIDMessageLength at 44 (Table 5.1-1).
        assert_eq!(&bytes[40..44], &[0x30, 0x02, 0x01, 0x00]);
        assert_eq!(&bytes[44..48], &[0x0F, 0x01, 0x00, 0x00]);
        assert_eq!(bytes[52], 0x03);
        assert_eq!(ReaderDescriptor::parse(&bytes).unwrap(), d);
    }

    #[test]
    fn rules() {
        let short = ReaderDescriptor {
            max_message_len: 270,
            ..ReaderDescriptor::default()
        };
        assert!(short.to_bytes().is_err());
        let none = ReaderDescriptor {
            t0: false,
            t1: false,
            ..ReaderDescriptor::default()
        };
        assert!(none.validate().is_err());
        let ext = ReaderDescriptor {
            exchange: ExchangeLevel::ExtendedApdu,
            max_message_len: 65_544,
            ..ReaderDescriptor::default()
        };
        let b = ext.to_bytes().unwrap();
        assert_eq!(
            Features(u32::from_le_bytes([b[40], b[41], b[42], b[43]])).exchange_level(),
            Some(ExchangeLevel::ExtendedApdu)
        );
        assert!(ReaderDescriptor::parse(&b[..53]).is_err());
    }
}
