//! Framing a command APDU whose data field is already in the output buffer.
//!
//! Secure messaging builds the protected data field (or decrypts the plain one) directly in
//! the caller's buffer, without a second buffer. [`Frame`] computes the length fields around
//! it — the same bytes `cardwire-apdu`'s [`CommandRepr::write_to`](cardwire_apdu::CommandRepr::write_to)
//! writes for the forced form (ISO/IEC 7816-3 §12.1.3; unit test
//! `frames_match_the_apdu_encoder`) — straight from Nc, Ne and the form, and
//! [`Frame::place`] puts them around the data in place with fixed-size stores. Only the choice
//! between short and extended form is secure messaging's (see [`crate::session`]).

use cardwire_apdu::Command;
use cardwire_apdu::command::{MAX_NC, MAX_NE, MAX_SHORT_NC, MAX_SHORT_NE};

use crate::Error;

/// What surrounds a command's data field: CLA INS P1 P2 and Lc, then Le.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    head: [u8; 7],
    head_len: usize,
    le: [u8; 3],
    le_len: usize,
}

/// Checks a command APDU with `cardwire-apdu` (ISO/IEC 7816-3 §12.1.3).
///
/// # Errors
/// [`Error::MalformedCommand`] with the offset of the fault.
pub(crate) fn parse(bytes: &[u8]) -> Result<Command<&[u8]>, Error> {
    Command::new_checked(bytes).map_err(|e| {
        let offset = match e {
            cardwire_apdu::Error::Truncated { offset, .. }
            | cardwire_apdu::Error::TrailingBytes { offset }
            | cardwire_apdu::Error::ExtendedLcZero { offset } => offset,
            _ => 0,
        };
        Error::MalformedCommand { offset }
    })
}

/// Writes the first `len` bytes of `src` (`len` one of 0..=7) to the start of `dst` with a
/// store of a fixed size per length, instead of a `memcpy` call for a few bytes.
#[inline(always)]
fn put(dst: &mut [u8], src: &[u8; 7], len: usize) {
    fn fixed<const K: usize>(dst: &mut [u8], src: &[u8; 7]) {
        if let (Some(d), Some(s)) = (dst.first_chunk_mut::<K>(), src.first_chunk::<K>()) {
            *d = *s;
        }
    }
    match len {
        0 => {}
        1 => fixed::<1>(dst, src),
        2 => fixed::<2>(dst, src),
        3 => fixed::<3>(dst, src),
        4 => fixed::<4>(dst, src),
        5 => fixed::<5>(dst, src),
        _ => fixed::<7>(dst, src),
    }
}

impl Frame {
    /// The frame of command `header` with `nc` data bytes and `ne`, in the extended form when
    /// `extended`, else the short form (ISO/IEC 7816-3 §12.1.3: cases 1, 2, 3 and 4, short or
    /// extended).
    ///
    /// # Errors
    /// [`Error::TooLong`] when the command does not fit the form (or any APDU).
    #[inline]
    pub(crate) fn new(header: [u8; 4], nc: usize, ne: u32, extended: bool) -> Result<Self, Error> {
        if nc > MAX_NC || ne > MAX_NE || (!extended && (nc > MAX_SHORT_NC || ne > MAX_SHORT_NE)) {
            return Err(Error::TooLong);
        }
        let [cla, ins, p1, p2] = header;
        // Nc ≤ 65 535 (checked), Ne = 65 536 is encoded as 0000 (and 256 as 00).
        let [c1, c2] = ((nc & 0xFFFF) as u16).to_be_bytes();
        let [e1, e2] = ((ne & 0xFFFF) as u16).to_be_bytes();
        let (head, head_len) = match (nc > 0, extended) {
            (false, _) => ([cla, ins, p1, p2, 0, 0, 0], 4),
            (true, false) => ([cla, ins, p1, p2, c2, 0, 0], 5),
            (true, true) => ([cla, ins, p1, p2, 0, c1, c2], 7),
        };
        let (le, le_len) = match (ne > 0, nc > 0, extended) {
            (false, _, _) => ([0; 3], 0),
            (true, _, false) => ([e2, 0, 0], 1),
            (true, false, true) => ([0, e1, e2], 3),
            (true, true, true) => ([e1, e2, 0], 2),
        };
        Ok(Self {
            head,
            head_len,
            le,
            le_len,
        })
    }

    /// CLA INS P1 P2 and Lc.
    #[cfg(test)]
    pub(crate) fn head(&self) -> &[u8] {
        self.head.get(..self.head_len).unwrap_or(&[])
    }

    /// The Lc field (empty for cases 1 and 2).
    #[cfg(test)]
    pub(crate) fn lc(&self) -> &[u8] {
        self.head.get(4..self.head_len).unwrap_or(&[])
    }

    /// The encoded length of the whole command with `nc` data bytes.
    pub(crate) fn total(&self, nc: usize) -> usize {
        self.head_len + nc + self.le_len
    }

    /// Moves the `nc` data bytes at `data_at` in `out` behind the head, writes the head before
    /// and Le after them; returns the command's length.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` cannot hold the command or the data is not there.
    #[inline]
    pub(crate) fn place(&self, out: &mut [u8], data_at: usize, nc: usize) -> Result<usize, Error> {
        let total = self.total(nc);
        let data_end = data_at.saturating_add(nc);
        if out.len() < total || out.len() < data_end {
            return Err(Error::BufferTooSmall {
                needed: total.max(data_end),
            });
        }
        if data_at != self.head_len {
            out.copy_within(data_at..data_end, self.head_len);
        }
        put(out, &self.head, self.head_len);
        if let Some(le) = out.get_mut(self.head_len + nc..) {
            let [a, b, c] = self.le;
            put(le, &[a, b, c, 0, 0, 0, 0], self.le_len);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Moved from the former `apdu.rs`: the parse now goes through `cardwire-apdu`.
    #[test]
    fn parses_every_case() {
        let c = parse(&[0, 0xA4, 4, 0]).unwrap();
        assert_eq!(
            (c.data().len(), c.ne(), c.case().is_extended()),
            (0, 0, false)
        );
        let c = parse(&[0, 0xB0, 0, 0, 0]).unwrap();
        assert_eq!(c.ne(), 256);
        let c = parse(&[0, 0xA4, 2, 0x0C, 2, 1, 0x1E]).unwrap();
        assert_eq!((c.data(), c.ne()), (&[1, 0x1E][..], 0));
        let c = parse(&[0, 0xA4, 2, 0x0C, 2, 1, 0x1E, 0x10]).unwrap();
        assert_eq!(c.ne(), 16);
        let c = parse(&[0, 0xB0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!((c.ne(), c.case().is_extended()), (65_536, true));
        let c = parse(&[0, 0xD6, 0, 0, 0, 0, 2, 9, 9]).unwrap();
        assert_eq!(
            (c.data(), c.ne(), c.case().is_extended()),
            (&[9, 9][..], 0, true)
        );
        let c = parse(&[0, 0xD6, 0, 0, 0, 0, 1, 9, 1, 0]).unwrap();
        assert_eq!((c.data(), c.ne()), (&[9][..], 256));
    }

    #[test]
    fn rejects_bad_lengths() {
        assert!(parse(&[0, 0xA4, 4]).is_err());
        assert!(parse(&[0, 0xA4, 4, 0, 3, 1]).is_err());
        assert!(parse(&[0, 0xA4, 4, 0, 1, 1, 1, 1]).is_err());
        assert!(parse(&[0, 0xA4, 4, 0, 0, 0]).is_err());
        assert!(parse(&[0, 0xA4, 4, 0, 0, 0, 0, 1]).is_err());
        assert!(parse(&[0, 0xA4, 4, 0, 0, 0, 1, 1, 1]).is_err());
        assert!(matches!(
            parse(&[0, 0xA4, 4]),
            Err(Error::MalformedCommand { offset: 3 })
        ));
    }

    #[test]
    fn frames_short_and_extended_in_place() {
        let mut out = [0u8; 16];
        out[7..10].copy_from_slice(&[1, 2, 3]);
        let f = Frame::new([0x0C, 0xB0, 0, 0], 3, 256, false).unwrap();
        assert_eq!(f.lc(), &[3]);
        assert_eq!(f.place(&mut out, 7, 3).unwrap(), 9);
        assert_eq!(out[..9], [0x0C, 0xB0, 0, 0, 3, 1, 2, 3, 0]);

        let mut out = [0u8; 16];
        out[7..9].copy_from_slice(&[9, 9]);
        let f = Frame::new([0x0C, 0xB0, 0, 0], 2, 65_536, true).unwrap();
        assert_eq!(f.lc(), &[0, 0, 2]);
        assert_eq!(f.place(&mut out, 7, 2).unwrap(), 11);
        assert_eq!(out[..11], [0x0C, 0xB0, 0, 0, 0, 0, 2, 9, 9, 0, 0]);

        let f = Frame::new([0, 0xB0, 0, 0], 0, 65_536, true).unwrap();
        assert_eq!(f.total(0), 7);
        assert_eq!(
            Frame::new([0; 4], 300, 0, false).unwrap_err(),
            Error::TooLong
        );
        assert_eq!(
            f.place(&mut [0u8; 6], 0, 0),
            Err(Error::BufferTooSmall { needed: 7 })
        );
    }

    /// The frame is exactly what `cardwire-apdu`'s encoder writes around the data, in both
    /// forced forms, for every case and the boundary lengths; and it refuses what the encoder
    /// refuses.
    #[test]
    fn frames_match_the_apdu_encoder() {
        use cardwire_apdu::{Cla, CommandRepr, Ins, LengthForm};
        let data = [0x5Au8; 65_536];
        for nc in [0usize, 1, 2, 255, 256, 300, 65_535, 65_536] {
            for ne in [0u32, 1, 255, 256, 257, 65_535, 65_536, 65_537] {
                for extended in [false, true] {
                    let repr = CommandRepr {
                        cla: Cla(0x0C),
                        ins: Ins(0xD6),
                        p1: 1,
                        p2: 2,
                        data: &data[..nc],
                        ne,
                    };
                    let form = if extended {
                        LengthForm::Extended
                    } else {
                        LengthForm::Short
                    };
                    let frame = Frame::new([0x0C, 0xD6, 1, 2], nc, ne, extended);
                    let mut buf = std::vec![0u8; 70_000];
                    match repr.encode_with(form, &mut buf) {
                        Ok(encoded) => {
                            let encoded = encoded.to_vec();
                            let frame = frame.unwrap();
                            assert_eq!(frame.total(nc), encoded.len(), "{nc} {ne} {extended}");
                            let mut out = std::vec![0u8; encoded.len()];
                            let at = 7.min(encoded.len() - nc);
                            out[at..][..nc].copy_from_slice(&data[..nc]);
                            assert_eq!(frame.place(&mut out, at, nc), Ok(encoded.len()));
                            assert_eq!(out, encoded, "{nc} {ne} {extended}");
                            assert_eq!(frame.head(), &encoded[..frame.head().len()]);
                        }
                        Err(_) => assert_eq!(frame.unwrap_err(), Error::TooLong, "{nc} {ne}"),
                    }
                }
            }
        }
    }
}
