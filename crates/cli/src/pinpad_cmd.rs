//! `cardwire pinpad --reader NAME`: secure PIN entry on a reader's PIN pad.
//!
//! The PIN is typed on the reader's keypad and never reaches this computer: cardwire asks
//! the reader for its PC/SC Part 10 features (`CM_IOCTL_GET_FEATURE_REQUEST`, Part 10
//! v2.02.09 §2.2), builds a `PIN_VERIFY_STRUCTURE` (§2.5.2) around a VERIFY template
//! (ISO/IEC 7816-4 §11.5.6) with cardwire-pin, sends it with `SCardControl` to the
//! `FEATURE_VERIFY_PIN_DIRECT` control code, and prints the card's status word.

use crate::failure::Failure;

/// Arguments of `cardwire pinpad`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  cardwire pinpad --reader 'cardwire CCID 00 00' --select A000000308000010000100
  cardwire pinpad --reader 'Cherry SmartTerminal ST-2xxx 00 00' --reference 80 --min 6

The PIN block is 8 bytes of ASCII digits padded with FF (PIV, cardwire's virtual card).
Needs pcscd and a cardwire built with `--features pcsc`.")]
pub struct Args {
    /// The PC/SC reader with a PIN pad (as `cardwire readers` lists it).
    #[arg(long, value_name = "NAME")]
    pub reader: String,
    /// First SELECT this application (AID in hex).
    #[arg(long, value_name = "AID")]
    pub select: Option<String>,
    /// The PIN's reference (VERIFY P2) in hex: 80 is the PIV application PIN.
    #[arg(long, value_name = "P2", default_value = "80")]
    pub reference: String,
    /// Fewest digits the keypad accepts.
    #[arg(long, default_value_t = 4)]
    pub min: u8,
    /// Most digits the keypad accepts (at most 8: the PIN block is 8 bytes).
    #[arg(long, default_value_t = 8)]
    pub max: u8,
}

/// The VERIFY template: header, Lc 8, an 8-byte block of `FF` filler (the digits go in
/// left-justified as ASCII).
fn verify_template(reference: u8) -> [u8; 13] {
    [
        0x00, 0x20, 0x00, reference, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ]
}

/// The `PIN_VERIFY_STRUCTURE` for VERIFY of `reference`: ASCII digits in an 8-byte block,
/// entry ends on the validation key, one message (the reader's "enter PIN").
pub(crate) fn verify_structure(reference: u8, min: u8, max: u8) -> Result<Vec<u8>, Failure> {
    use cardwire_pin::{EntryFormat, EntryValidation, VerifyStructure};

    if min == 0 || min > max || max > 8 {
        return Err(Failure::Usage(format!(
            "--min {min} --max {max}: need 1 <= min <= max <= 8 (an 8-byte PIN block)"
        )));
    }
    let template = verify_template(reference);
    let mut s = VerifyStructure::new(EntryFormat::ascii(8), min, max, &template);
    s.entry_validation = EntryValidation::VALIDATION_KEY;
    s.number_message = 0x01;
    let mut buf = [0u8; VerifyStructure::HEADER_LEN + 13];
    let bytes = s
        .encode(&mut buf)
        .map_err(|e| Failure::Failed(format!("cannot build PIN_VERIFY_STRUCTURE: {e}")))?;
    Ok(bytes.to_vec())
}

fn parse_reference(text: &str) -> Result<u8, Failure> {
    u8::from_str_radix(text.trim_start_matches("0x"), 16)
        .map_err(|_| Failure::Usage(format!("--reference {text}: expected one hex byte")))
}

/// Runs `cardwire pinpad`.
#[cfg(feature = "pcsc")]
pub fn run(args: &Args) -> Result<(), Failure> {
    use cardwire_apdu::StatusWord;
    use cardwire_pcsc::{Context, Protocols, Share};
    use cardwire_transport::Transport;

    use crate::input::{parse_hex, to_hex};

    let reference = parse_reference(&args.reference)?;
    let structure = verify_structure(reference, args.min, args.max)?;
    let context = Context::establish().map_err(|e| Failure::Failed(e.to_string()))?;
    let mut card = context
        .connect(&args.reader, Share::Shared, Protocols::ANY)
        .map_err(|e| Failure::Failed(format!("{}: {e}", args.reader)))?;
    let mut buf = [0u8; 512];
    if let Some(aid) = &args.select {
        let aid = parse_hex(aid)?;
        let lc = u8::try_from(aid.len())
            .ok()
            .filter(|&n| (5..=16).contains(&n))
            .ok_or_else(|| Failure::Usage("--select: an AID has 5 to 16 bytes".to_string()))?;
        let mut select = vec![0x00, 0xA4, 0x04, 0x00, lc];
        select.extend_from_slice(&aid);
        select.push(0x00);
        let answer = card
            .transmit(&select, &mut buf)
            .map_err(|e| Failure::Failed(format!("SELECT {}: {e}", to_hex(&aid))))?;
        let sw = status_word(answer);
        // 61xx: the FCI waits for GET RESPONSE; the application is selected either way.
        if sw != Some(StatusWord::SUCCESS) && sw.map(|s| s.sw1()) != Some(0x61) {
            return Err(Failure::Failed(format!(
                "SELECT {} answered {}",
                to_hex(&aid),
                to_hex(answer)
            )));
        }
    }
    let Some(code) = pin_pad(&card, &args.reader)? else {
        return Err(Failure::Failed(format!(
            "{} offers no FEATURE_VERIFY_PIN_DIRECT (no PIN pad)",
            args.reader
        )));
    };
    println!("FEATURE_VERIFY_PIN_DIRECT {code:08X}");
    let sw = verify_on_pad(&card, code, &structure)?;
    println!("{sw}  {}", sw.description());
    if sw == StatusWord::SUCCESS {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "the card refused the PIN: {sw} {}",
            sw.description()
        )))
    }
}

/// The control code of the reader's `FEATURE_VERIFY_PIN_DIRECT` (PC/SC Part 10 §2.3), `None`
/// when the reader has no PIN pad.
#[cfg(feature = "pcsc")]
pub(crate) fn pin_pad(
    card: &cardwire_pcsc::PcscCard,
    reader: &str,
) -> Result<Option<u32>, Failure> {
    let features = card
        .features()
        .map_err(|e| Failure::Failed(format!("{reader}: {e}")))?;
    Ok(features
        .list()
        .control_code(cardwire_pcsc::part10::Feature::VERIFY_PIN_DIRECT))
}

/// Secure PIN verification: sends `structure` (a `PIN_VERIFY_STRUCTURE`) to the PIN pad's
/// control `code`, the holder types the PIN on the reader, and returns the card's status word.
#[cfg(feature = "pcsc")]
pub(crate) fn verify_on_pad(
    card: &cardwire_pcsc::PcscCard,
    code: u32,
    structure: &[u8],
) -> Result<cardwire_apdu::StatusWord, Failure> {
    eprintln!("Enter the PIN on the reader's keypad.");
    let mut buf = [0u8; 258];
    let answer = card
        .control(code, structure, &mut buf)
        .map_err(|e| Failure::Failed(format!("secure PIN verification: {e}")))?;
    status_word(answer).ok_or_else(|| {
        Failure::Failed(format!(
            "secure PIN verification: the reader answered {} (no status word)",
            crate::input::to_hex(answer)
        ))
    })
}

/// The status word ending a response (its last two bytes).
#[cfg(feature = "pcsc")]
fn status_word(answer: &[u8]) -> Option<cardwire_apdu::StatusWord> {
    match answer {
        [.., sw1, sw2] => Some(cardwire_apdu::StatusWord::new(*sw1, *sw2)),
        _ => None,
    }
}

/// Runs `cardwire pinpad`: this build has no PC/SC support.
#[cfg(not(feature = "pcsc"))]
pub fn run(args: &Args) -> Result<(), Failure> {
    // Check the arguments first so a mistake is reported before the missing feature.
    verify_structure(parse_reference(&args.reference)?, args.min, args.max)?;
    Err(crate::send_cmd::pcsc_missing("verify a PIN on a PIN pad"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_structure_matches_part10_layout() {
        // PC/SC Part 10 v2.02.09 §2.5.2: timeouts 0; 82 08 00 ASCII, 8-byte block, no length;
        // wPINMaxExtraDigit 0x0408 little-endian; validation key; one message; en-US;
        // message 0; no prologue; ulDataLength 13; then the VERIFY template.
        let s = verify_structure(0x81, 4, 8).unwrap();
        assert_eq!(
            s,
            [
                0x00, 0x00, 0x82, 0x08, 0x00, 0x08, 0x04, 0x02, 0x01, 0x09, 0x04, 0x00, 0x00, 0x00,
                0x00, 13, 0, 0, 0, 0x00, 0x20, 0x00, 0x81, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                0xFF, 0xFF, 0xFF
            ]
        );
    }

    #[test]
    fn bad_ranges_and_references_are_usage_errors() {
        assert_eq!(verify_structure(0x80, 6, 9).unwrap_err().exit_code(), 2);
        assert_eq!(verify_structure(0x80, 5, 4).unwrap_err().exit_code(), 2);
        assert_eq!(parse_reference("0x80").unwrap(), 0x80);
        assert_eq!(parse_reference("zz").unwrap_err().exit_code(), 2);
    }
}
