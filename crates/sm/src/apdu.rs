//! Command APDU framing as secure messaging needs it (ISO/IEC 7816-3 §12.1, 7816-4 §5.1): split
//! a command into header, data and Ne, and encode one back, short or extended.
//!
//! This is deliberately minimal and private to the crate: secure messaging needs the four
//! header bytes, the data field and Ne of every command it protects, for every case, short and
//! extended. Richer APDU handling lives in `cardwire-apdu`.

use crate::Error;

/// A command APDU split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CommandParts<'a> {
    /// CLA INS P1 P2.
    pub header: [u8; 4],
    /// The command data field (empty for cases 1 and 2).
    pub data: &'a [u8],
    /// Ne, the maximum number of response bytes expected (0 when there is no Le field;
    /// 256 or 65 536 for Le = `00` / `0000`).
    pub ne: u32,
    /// Whether the command used extended length fields.
    pub extended: bool,
}

fn short_le(byte: u8) -> u32 {
    if byte == 0 { 256 } else { u32::from(byte) }
}

fn extended_le(hi: u8, lo: u8) -> u32 {
    let v = u32::from(u16::from_be_bytes([hi, lo]));
    if v == 0 { 65_536 } else { v }
}

/// Splits a command APDU (cases 1, 2S, 3S, 4S, 2E, 3E, 4E).
///
/// # Errors
/// [`Error::MalformedCommand`] with the offset of the length field that does not fit.
pub(crate) fn parse_command(apdu: &[u8]) -> Result<CommandParts<'_>, Error> {
    let (header, body) = apdu
        .split_first_chunk::<4>()
        .ok_or(Error::MalformedCommand { offset: apdu.len() })?;
    let header = *header;
    let parts = |data, ne, extended| CommandParts {
        header,
        data,
        ne,
        extended,
    };
    match body {
        [] => Ok(parts(&[][..], 0, false)),
        [le] => Ok(parts(&[][..], short_le(*le), false)),
        [0, hi, lo] => Ok(parts(&[][..], extended_le(*hi, *lo), true)),
        [0, hi, lo, rest @ ..] => {
            let lc = usize::from(u16::from_be_bytes([*hi, *lo]));
            if lc == 0 {
                return Err(Error::MalformedCommand { offset: 5 });
            }
            match rest.len().checked_sub(lc) {
                Some(0) => Ok(parts(rest, 0, true)),
                Some(2) => {
                    let (data, le) = rest.split_at(lc);
                    match le {
                        [a, b] => Ok(parts(data, extended_le(*a, *b), true)),
                        _ => Err(Error::MalformedCommand { offset: 7 + lc }),
                    }
                }
                _ => Err(Error::MalformedCommand { offset: 5 }),
            }
        }
        [0, ..] => Err(Error::MalformedCommand { offset: 4 }),
        [lc, rest @ ..] => {
            let lc = usize::from(*lc);
            match rest.len().checked_sub(lc) {
                Some(0) => Ok(parts(rest, 0, false)),
                Some(1) => {
                    let (data, le) = rest.split_at(lc);
                    match le {
                        [le] => Ok(parts(data, short_le(*le), false)),
                        _ => Err(Error::MalformedCommand { offset: 5 + lc }),
                    }
                }
                _ => Err(Error::MalformedCommand { offset: 4 }),
            }
        }
    }
}

/// Whether a command with `data_len` data bytes and `ne` needs extended length fields.
pub(crate) fn needs_extended(data_len: usize, ne: u32) -> bool {
    data_len > 255 || ne > 256
}

/// The encoded length of a command with these parts.
pub(crate) fn encoded_len(data_len: usize, ne: u32, extended: bool) -> usize {
    let lc = match (data_len, extended) {
        (0, _) => 0,
        (_, false) => 1,
        (_, true) => 3,
    };
    let le = match (ne, extended, data_len) {
        (0, _, _) => 0,
        (_, false, _) => 1,
        (_, true, 0) => 3,
        (_, true, _) => 2,
    };
    4 + lc + data_len + le
}

/// Writes the length fields before the data: returns the data offset. The caller has checked
/// `out` holds [`encoded_len`] bytes.
///
/// # Errors
/// [`Error::BufferTooSmall`] or [`Error::TooLong`].
pub(crate) fn write_head(
    out: &mut [u8],
    header: [u8; 4],
    data_len: usize,
    ne: u32,
    extended: bool,
) -> Result<usize, Error> {
    let total = encoded_len(data_len, ne, extended);
    if data_len > 65_535 || ne > 65_536 || (!extended && (data_len > 255 || ne > 256)) {
        return Err(Error::TooLong);
    }
    let out = out
        .get_mut(..total)
        .ok_or(Error::BufferTooSmall { needed: total })?;
    let (head, rest) = out.split_at_mut(4);
    head.copy_from_slice(&header);
    let mut at = 4;
    if data_len > 0 {
        if extended {
            let [hi, lo] = u16::try_from(data_len)
                .map_err(|_| Error::TooLong)?
                .to_be_bytes();
            if let Some(dst) = rest.get_mut(..3) {
                dst.copy_from_slice(&[0, hi, lo]);
            }
            at += 3;
        } else {
            if let Some(dst) = rest.first_mut() {
                *dst = u8::try_from(data_len).map_err(|_| Error::TooLong)?;
            }
            at += 1;
        }
    }
    if ne > 0 {
        // Le goes after the data; write it now, the caller fills the data in between.
        let le_at = at + data_len;
        let le_bytes: &[u8] = match (extended, data_len) {
            (false, _) => &[(ne & 0xFF) as u8],
            (true, 0) => &[0, ((ne >> 8) & 0xFF) as u8, (ne & 0xFF) as u8],
            (true, _) => &[((ne >> 8) & 0xFF) as u8, (ne & 0xFF) as u8],
        };
        let dst = out
            .get_mut(le_at..le_at + le_bytes.len())
            .ok_or(Error::BufferTooSmall { needed: total })?;
        dst.copy_from_slice(le_bytes);
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_case() {
        let c = parse_command(&[0, 0xA4, 4, 0]).unwrap();
        assert_eq!((c.data.len(), c.ne, c.extended), (0, 0, false));
        let c = parse_command(&[0, 0xB0, 0, 0, 0]).unwrap();
        assert_eq!(c.ne, 256);
        let c = parse_command(&[0, 0xA4, 2, 0x0C, 2, 1, 0x1E]).unwrap();
        assert_eq!((c.data, c.ne), (&[1, 0x1E][..], 0));
        let c = parse_command(&[0, 0xA4, 2, 0x0C, 2, 1, 0x1E, 0x10]).unwrap();
        assert_eq!(c.ne, 16);
        let c = parse_command(&[0, 0xB0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!((c.ne, c.extended), (65_536, true));
        let c = parse_command(&[0, 0xD6, 0, 0, 0, 0, 2, 9, 9]).unwrap();
        assert_eq!((c.data, c.ne, c.extended), (&[9, 9][..], 0, true));
        let c = parse_command(&[0, 0xD6, 0, 0, 0, 0, 1, 9, 1, 0]).unwrap();
        assert_eq!((c.data, c.ne), (&[9][..], 256));
    }

    #[test]
    fn rejects_bad_lengths() {
        assert!(parse_command(&[0, 0xA4, 4]).is_err());
        assert!(parse_command(&[0, 0xA4, 4, 0, 3, 1]).is_err());
        assert!(parse_command(&[0, 0xA4, 4, 0, 1, 1, 1, 1]).is_err());
        assert!(parse_command(&[0, 0xA4, 4, 0, 0, 0]).is_err());
        assert!(parse_command(&[0, 0xA4, 4, 0, 0, 0, 0, 1]).is_err());
        assert!(parse_command(&[0, 0xA4, 4, 0, 0, 0, 1, 1, 1]).is_err());
    }

    #[test]
    fn encodes_heads() {
        let mut out = [0u8; 16];
        let at = write_head(&mut out, [0x0C, 0xB0, 0, 0], 3, 256, false).unwrap();
        assert_eq!(at, 5);
        assert_eq!(out[..9], [0x0C, 0xB0, 0, 0, 3, 0, 0, 0, 0]);
        let at = write_head(&mut out, [0x0C, 0xB0, 0, 0], 2, 65_536, true).unwrap();
        assert_eq!(at, 7);
        assert_eq!(out[..11], [0x0C, 0xB0, 0, 0, 0, 0, 2, 0, 0, 0, 0]);
        assert_eq!(encoded_len(0, 65_536, true), 7);
        assert_eq!(
            write_head(&mut out, [0; 4], 300, 0, false),
            Err(Error::TooLong)
        );
    }
}
