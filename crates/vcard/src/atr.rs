//! The virtual card's Answer-to-Reset (ISO/IEC 7816-3 §8) and historical bytes
//! (ISO/IEC 7816-4 §8.1.1), announcing exactly what the card OS implements.
//!
//! ```text
//! 3B        TS  direct convention
//! 87        T0  TD1 follows; 7 historical bytes
//! 81        TD1 TD2 follows; protocol T=1
//! 31        TD2 TA3 and TB3 follow; protocol T=1
//! FE        TA3 IFSC = 254
//! 45        TB3 BWI = 4, CWI = 5
//! 80        category indicator: COMPACT-TLV objects follow, no status indicator at the end
//! 31 E4     card service data: selection by full and partial DF name, EF.DIR present and
//!           read by READ RECORD, card with an MF
//! 73 B6 01 FB  card capabilities: selection by DF name, path, FID, SFI; record numbers;
//!           1-byte data units; command chaining, extended Lc/Le, extended length
//!           information in EF.ATR/INFO (`7F66`: at most [`MAX_NC`] and [`MAX_NE`] bytes),
//!           logical channels assigned by the card and by the interface device, 4 channels
//! TCK       XOR of T0 up to the last historical byte
//! ```
//!
//! T=1 is the only protocol offered (no T=0 is announced), so TCK is present.

/// The historical bytes: category `80` then COMPACT-TLV card service data (`31`) and card
/// capabilities (`73`) (ISO/IEC 7816-4 §8.1.1.2.3 and §8.1.1.2.7, tables 116–119).
pub const HISTORICAL_BYTES: [u8; 7] = [0x80, 0x31, 0xE4, 0x73, 0xB6, 0x01, 0xFB];

/// The number of logical channels the card supports (the basic channel and three more),
/// as announced in the third software function byte.
pub const LOGICAL_CHANNELS: u8 = 4;

/// The largest command data field (Nc) the card accepts in one extended-length APDU.
pub const MAX_NC: usize = 4096;

/// The largest response data field (Ne) the card returns in one extended-length APDU.
pub const MAX_NE: usize = 4096;

/// The largest command APDU, as EF.ATR/INFO `7F66` announces it (ISO/IEC 7816-4 §12.7.1:
/// APDU sizes, not data sizes): [`MAX_NC`] plus header (4), extended Lc (3) and Le (2).
pub const MAX_COMMAND_APDU: usize = MAX_NC + 9;

/// The largest response APDU, as EF.ATR/INFO `7F66` announces it: [`MAX_NE`] plus SW1 SW2.
pub const MAX_RESPONSE_APDU: usize = MAX_NE + 2;

/// The ATR bytes, TCK included.
pub fn atr() -> Vec<u8> {
    let hist_len = HISTORICAL_BYTES.len() as u8 & 0x0F;
    let mut atr = vec![0x3B, 0x80 | hist_len, 0x81, 0x31, 0xFE, 0x45];
    atr.extend_from_slice(&HISTORICAL_BYTES);
    // TCK: the XOR of all bytes from T0 to the last historical byte (§8.2.5).
    let tck = atr.iter().skip(1).fold(0u8, |acc, b| acc ^ b);
    atr.push(tck);
    atr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tck_checks_out() {
        let atr = atr();
        assert_eq!(atr[0], 0x3B);
        assert_eq!(usize::from(atr[1] & 0x0F), HISTORICAL_BYTES.len());
        assert_eq!(atr.iter().skip(1).fold(0u8, |a, b| a ^ b), 0);
        assert_eq!(atr.len(), 1 + 1 + 4 + HISTORICAL_BYTES.len() + 1);
    }

    #[test]
    fn the_stack_decodes_what_the_atr_announces() {
        let bytes = atr();
        let parsed =
            cardwire_link::atr::Atr::parse(&bytes, cardwire_link::atr::Mode::Strict).unwrap();
        assert!(parsed.protocols().contains(1));
        assert!(!parsed.protocols().contains(0));
        assert!(parsed.tck_ok());
        assert_eq!(parsed.historical_bytes(), HISTORICAL_BYTES);
        let hist = cardwire_tlv::compact::HistoricalBytes::parse(&HISTORICAL_BYTES).unwrap();
        assert!(hist.supports_command_chaining());
        assert!(hist.supports_extended_length());
        assert_eq!(hist.max_logical_channels(), LOGICAL_CHANNELS);
        let service = hist.card_service_data().unwrap();
        assert!(service.has_master_file());
        let methods = hist
            .card_capabilities()
            .unwrap()
            .selection_methods()
            .unwrap();
        assert!(methods.by_full_df_name() && methods.by_path() && methods.by_file_identifier());
        assert!(methods.short_ef_identifier() && methods.record_number());
        assert!(!methods.implicit_df() && !methods.record_identifier());
    }

    #[test]
    fn capabilities_byte_announces_chaining_extended_length_and_channels() {
        let third = HISTORICAL_BYTES[6];
        assert_ne!(third & 0x80, 0, "command chaining");
        assert_ne!(third & 0x40, 0, "extended Lc and Le");
        assert_ne!(
            third & 0x20,
            0,
            "extended length information in EF.ATR/INFO"
        );
        assert_eq!((third & 0x07) + 1, LOGICAL_CHANNELS);
        let caps =
            cardwire_apdu::exchange::Capabilities::from_historical_bytes_raw(&HISTORICAL_BYTES);
        assert!(
            caps.ef_atr_length_info,
            "a host learns to read EF.ATR/INFO for 7F66"
        );
    }
}
