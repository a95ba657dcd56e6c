//! Reading hexadecimal input from an argument or from standard input (`-`).

use std::io::Read;

use crate::failure::Failure;

/// Reads `arg` as hex, or standard input when `arg` is `-`.
///
/// Spaces, tabs, newlines and colons between digits are ignored; an odd number of digits or a
/// non-hex character is a failure naming the character's position.
pub fn hex_arg(arg: &str) -> Result<Vec<u8>, Failure> {
    if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::Failed(format!("cannot read standard input: {e}")))?;
        parse_hex(&text)
    } else {
        parse_hex(arg)
    }
}

/// Parses hex text, ignoring spaces, tabs, newlines and colons.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    for (pos, ch) in text.char_indices() {
        if matches!(ch, ' ' | '\t' | '\n' | '\r' | ':') {
            continue;
        }
        let Some(nibble) = ch.to_digit(16) else {
            return Err(Failure::Failed(format!(
                "invalid hex input: {ch:?} at character {pos} is not a hex digit"
            )));
        };
        // to_digit(16) is below 16, so the cast cannot truncate.
        let nibble = nibble as u8;
        match high.take() {
            None => high = Some(nibble),
            Some(h) => out.push((h << 4) | nibble),
        }
    }
    if high.is_some() {
        return Err(Failure::Failed(
            "invalid hex input: odd number of hex digits".to_string(),
        ));
    }
    Ok(out)
}

/// Formats bytes as uppercase hex with no separators.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_ignored() {
        assert_eq!(
            parse_hex("6f 24:84\n0e").unwrap(),
            vec![0x6F, 0x24, 0x84, 0x0E]
        );
    }

    #[test]
    fn odd_digits_and_bad_characters_fail() {
        assert!(matches!(parse_hex("6F2"), Err(Failure::Failed(_))));
        let err = parse_hex("6G").unwrap_err().to_string();
        assert!(err.contains("'G'"), "{err}");
    }

    #[test]
    fn hex_is_uppercase() {
        assert_eq!(to_hex(&[0xab, 0x01]), "AB01");
    }
}
