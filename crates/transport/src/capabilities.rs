//! [`Capabilities`]: what the card can do with APDU lengths, chaining and logical channels.

use cardwire_tlv::compact::CardCapabilities;

/// The APDU-level capabilities of a card, as the [`Card`](crate::Card) session uses them.
///
/// Read from the card capabilities in the historical bytes (ISO/IEC 7816-4 §12.1.1.9, compact
/// tag `7`) and, where present, EF.ATR/INFO (§12.2.2: data objects `47` card capabilities and
/// `7F66` extended length information).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// The card accepts command chaining (§5.3.3).
    pub chaining: bool,
    /// The card accepts extended Lc and Le fields (§5.1).
    pub extended_length: bool,
    /// The card says EF.ATR/INFO holds the extended length information (`7F66`).
    pub ef_atr_length_info: bool,
    /// Most data bytes in one command APDU.
    pub max_command_data: u16,
    /// Most data bytes in one response APDU.
    pub max_response_data: u32,
    /// How many logical channels the card supports, the basic channel included (1–20).
    pub logical_channels: u8,
}

impl Capabilities {
    /// What every card can do: short APDUs, no chaining, the basic channel only.
    pub const SHORT_ONLY: Self = Self {
        chaining: false,
        extended_length: false,
        ef_atr_length_info: false,
        max_command_data: 255,
        max_response_data: 256,
        logical_channels: 1,
    };

    /// The capabilities a card announces with the three card-capability bytes (the value of
    /// compact-TLV `73` in the historical bytes, or of `47` in EF.ATR/INFO; ISO/IEC 7816-4
    /// §12.1.1.9, Tables 117–119). Missing bytes mean "not supported".
    ///
    /// ```
    /// use cardwire_transport::Capabilities;
    /// // Third byte 0xDB: chaining, extended Lc/Le, channels assigned by card or device, 4 of them.
    /// let caps = Capabilities::from_capability_bytes(&[0x00, 0x00, 0xDB]);
    /// assert!(caps.chaining && caps.extended_length);
    /// assert_eq!(caps.logical_channels, 4);
    /// assert_eq!(caps.max_command_data, 65_535);
    /// ```
    pub fn from_capability_bytes(bytes: &[u8]) -> Self {
        if bytes.is_empty() {
            return Self::SHORT_ONLY;
        }
        Self::from_card_capabilities(&CardCapabilities::new(bytes))
    }

    /// The capabilities from the decoded card capabilities of `cardwire-tlv`.
    pub fn from_card_capabilities(caps: &CardCapabilities) -> Self {
        let extended_length = caps.extended_lc_le();
        let logical_channels = if caps.logical_channel_assignment().is_supported() {
            caps.max_logical_channels()
        } else {
            1
        };
        Self {
            chaining: caps.command_chaining(),
            extended_length,
            ef_atr_length_info: caps.extended_length_info(),
            max_command_data: if extended_length { u16::MAX } else { 255 },
            max_response_data: if extended_length { 65_536 } else { 256 },
            logical_channels,
        }
    }

    /// Applies the extended length information of EF.ATR/INFO (DO `7F66`, ISO/IEC 7816-4
    /// §12.7.1): the largest command and response APDUs in bytes. The data limits become
    /// those sizes less the header, Lc and Le fields (7816-3 §12.1.3).
    pub fn apply_length_info(&mut self, max_command_apdu: u32, max_response_apdu: u32) {
        if !self.extended_length {
            return;
        }
        // A command: 4 header bytes, 3 Lc, 2 Le; a response: SW1 SW2.
        let cmd = max_command_apdu
            .saturating_sub(9)
            .clamp(255, u32::from(u16::MAX));
        self.max_command_data = u16::try_from(cmd).unwrap_or(u16::MAX);
        self.max_response_data = max_response_apdu.saturating_sub(2).clamp(256, 65_536);
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::SHORT_ONLY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_bytes_decode_per_table_119() {
        // ISO/IEC 7816-4 Table 119: b8 chaining, b7 extended, b6 EF.ATR info,
        // b5-b4 channel assignment, b3-b1 channels - 1.
        assert_eq!(
            Capabilities::from_capability_bytes(&[]),
            Capabilities::SHORT_ONLY
        );
        let c = Capabilities::from_capability_bytes(&[0, 0, 0x80]);
        assert!(c.chaining && !c.extended_length);
        assert_eq!((c.max_command_data, c.max_response_data), (255, 256));
        assert_eq!(c.logical_channels, 1);
        let c = Capabilities::from_capability_bytes(&[0, 0, 0x7F]);
        assert!(!c.chaining && c.extended_length && c.ef_atr_length_info);
        assert_eq!(c.logical_channels, 8);
    }

    #[test]
    fn length_info_narrows_extended_limits_only() {
        let mut c = Capabilities::from_capability_bytes(&[0, 0, 0xC0]);
        c.apply_length_info(1033, 1026);
        assert_eq!((c.max_command_data, c.max_response_data), (1024, 1024));
        let mut s = Capabilities::SHORT_ONLY;
        s.apply_length_info(5000, 5000);
        assert_eq!(s, Capabilities::SHORT_ONLY);
    }
}
