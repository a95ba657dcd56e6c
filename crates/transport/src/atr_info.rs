//! Reading the card's capabilities: historical bytes (ISO/IEC 7816-4 §12.1.1) and
//! EF.ATR/INFO (§12.2.2).

use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use cardwire_link::atr::{Atr, Mode as AtrMode};
use cardwire_tlv::compact::HistoricalBytes;
use cardwire_tlv::{Mode, Tag, parse_all};

use crate::capabilities::Capabilities;
use crate::card::{Card, CardResult};
use crate::secure::SecureChannel;
use crate::transport::Transport;

/// File identifier of EF.ATR/INFO (ISO/IEC 7816-4 §12.2.2).
pub const EF_ATR_FID: [u8; 2] = [0x2F, 0x01];

/// BER-TLV tag of the card capabilities in EF.ATR/INFO (ISO/IEC 7816-4 §12.1.1.9).
const CARD_CAPABILITIES: Tag = Tag(0x47);
/// BER-TLV tag of the extended length information (ISO/IEC 7816-4 §12.7.1).
const EXTENDED_LENGTH_INFO: Tag = Tag(0x7F66);
/// Universal INTEGER, the two values inside `7F66`.
const INTEGER: Tag = Tag(0x02);

/// The capabilities announced by an ATR's historical bytes; [`Capabilities::SHORT_ONLY`] for an
/// ATR that cannot be parsed or announces nothing.
///
/// ```
/// use cardwire_transport::{capabilities_from_atr, Capabilities};
/// // TS 3B, T0 05 (five historical bytes, no interface bytes), then 80 (COMPACT-TLV
/// // follows) and 73 00 00 DB: card capabilities with chaining, extended Lc/Le and 4
/// // logical channels (ISO/IEC 7816-4 §12.1.1.9).
/// let caps = capabilities_from_atr(&[0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0xDB]);
/// assert!(caps.chaining && caps.extended_length);
/// assert_eq!(caps.logical_channels, 4);
/// assert_eq!(capabilities_from_atr(&[0x3B, 0x00]), Capabilities::SHORT_ONLY);
/// ```
pub fn capabilities_from_atr(atr: &[u8]) -> Capabilities {
    let Ok(parsed) = Atr::parse(atr, AtrMode::Lenient) else {
        return Capabilities::SHORT_ONLY;
    };
    capabilities_from_historical_bytes(parsed.historical_bytes())
}

/// The capabilities announced by historical bytes (ISO/IEC 7816-4 §12.1.1): the card
/// capabilities object (COMPACT-TLV tag `7`), or [`Capabilities::SHORT_ONLY`] without one.
pub fn capabilities_from_historical_bytes(historical: &[u8]) -> Capabilities {
    HistoricalBytes::parse(historical)
        .ok()
        .and_then(|hb| hb.card_capabilities())
        .map_or(Capabilities::SHORT_ONLY, |c| {
            Capabilities::from_card_capabilities(&c)
        })
}

/// Applies the data objects of EF.ATR/INFO: card capabilities `47` and extended length
/// information `7F66`. Unknown or malformed content changes nothing.
pub fn apply_ef_atr(capabilities: &mut Capabilities, ef_atr: &[u8]) {
    let Ok(objects) = parse_all(ef_atr, Mode::Lenient) else {
        return;
    };
    if let Some(caps) = objects.find(CARD_CAPABILITIES) {
        let from_ef = Capabilities::from_capability_bytes(caps.value());
        capabilities.chaining |= from_ef.chaining;
        if from_ef.extended_length && !capabilities.extended_length {
            capabilities.extended_length = true;
            capabilities.max_command_data = from_ef.max_command_data;
            capabilities.max_response_data = from_ef.max_response_data;
        }
        capabilities.logical_channels = capabilities.logical_channels.max(from_ef.logical_channels);
    }
    if let Some(info) = objects.find(EXTENDED_LENGTH_INFO) {
        let mut ints = info
            .children()
            .filter(|t| t.tag() == INTEGER)
            .map(|t| be_u32(t.value()));
        if let (Some(Some(cmd)), Some(Some(rsp))) = (ints.next(), ints.next()) {
            capabilities.apply_length_info(cmd, rsp);
        }
    }
}

/// An unsigned big-endian integer of at most 4 significant bytes.
fn be_u32(bytes: &[u8]) -> Option<u32> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let significant = bytes.get(start..)?;
    if significant.len() > 4 {
        return None;
    }
    Some(
        significant
            .iter()
            .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)),
    )
}

/// Selects EF.ATR/INFO and applies its content to the session's capabilities. A card that
/// refuses (file not found, no READ BINARY) is left as it was.
pub(crate) fn read_ef_atr<T: Transport, S: SecureChannel, const N: usize>(
    card: &mut Card<T, S, N>,
) -> CardResult<(), T, S> {
    // SELECT by file identifier from the MF, no response data (§11.2.2, P1=00 P2=0C).
    let select =
        CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x00, 0x0C).with_data(&EF_ATR_FID);
    let mut buf = [0u8; 258];
    let sw = card.exchange(&select, &mut buf, false)?.sw();
    if !sw.is_success() {
        return Ok(());
    }
    let read = CommandRepr::new(Cla::INTERINDUSTRY, Ins::READ_BINARY, 0, 0).with_ne(256);
    let mut caps = *card.capabilities();
    // Read EF.ATR in short form: the extended length the file may announce is not known yet.
    caps.extended_length = false;
    let saved = *card.capabilities();
    card.set_capabilities(caps);
    let result = card.exchange(&read, &mut buf, false);
    card.set_capabilities(saved);
    let rsp = result?;
    if rsp.sw().is_normal() || rsp.sw() == StatusWord::END_OF_FILE {
        let mut caps = saved;
        apply_ef_atr(&mut caps, rsp.data());
        card.set_capabilities(caps);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ef_atr_length_info_limits_extended_lengths() {
        // 47 03 00 00 C0: chaining + extended; 7F66 08 02 02 04 09 02 02 04 02:
        // at most 1033-byte commands and 1026-byte responses.
        let ef = [
            0x47, 0x03, 0x00, 0x00, 0xC0, 0x7F, 0x66, 0x08, 0x02, 0x02, 0x04, 0x09, 0x02, 0x02,
            0x04, 0x02,
        ];
        let mut caps = Capabilities::SHORT_ONLY;
        apply_ef_atr(&mut caps, &ef);
        assert!(caps.chaining && caps.extended_length);
        assert_eq!(caps.max_command_data, 1024);
        assert_eq!(caps.max_response_data, 1024);
    }

    #[test]
    fn malformed_ef_atr_changes_nothing() {
        let mut caps = Capabilities::SHORT_ONLY;
        apply_ef_atr(&mut caps, &[0x7F, 0x66, 0x09, 0x02]);
        assert_eq!(caps, Capabilities::SHORT_ONLY);
        apply_ef_atr(&mut caps, &[0x7F, 0x66, 0x04, 0x02, 0x00, 0x02, 0x00]);
        assert_eq!(caps, Capabilities::SHORT_ONLY);
    }
}
