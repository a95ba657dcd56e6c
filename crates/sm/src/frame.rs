//! Framing a command APDU whose data field is already in the output buffer.
//!
//! Secure messaging builds the protected data field (or decrypts the plain one) directly in
//! the caller's buffer, without a second buffer. The length fields around it are written by
//! `cardwire-apdu` ([`CommandRepr::write_to`], ISO/IEC 7816-3 §12.1): [`Frame`] records what
//! that encoder writes before and after the data, and [`Frame::place`] puts it around the data
//! in place. Only the choice between short and extended form is secure messaging's (see
//! [`crate::session`]).

use cardwire_apdu::{Cla, Command, CommandRepr, Ins, LengthForm};

use crate::Error;

/// What [`CommandRepr::write_to`] writes around a data field: CLA INS P1 P2 and Lc, then Le.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    head: [u8; 7],
    head_len: usize,
    le: [u8; 3],
    le_len: usize,
}

/// A `Writer` that records the head and the Le field and skips the data.
struct Capture {
    frame: Frame,
    nc: usize,
    writes: u8,
}

impl cardwire_apdu::Writer for Capture {
    fn write(&mut self, bytes: &[u8]) -> Result<(), cardwire_tlv::Error> {
        let too_long = cardwire_tlv::Error::BufferTooSmall {
            needed: bytes.len(),
            available: 0,
        };
        let which = self.writes;
        self.writes = self.writes.saturating_add(1);
        match (which, self.nc > 0) {
            (0, _) => {
                let dst = self.frame.head.get_mut(..bytes.len()).ok_or(too_long)?;
                dst.copy_from_slice(bytes);
                self.frame.head_len = bytes.len();
            }
            (1, true) => {}
            _ => {
                let dst = self.frame.le.get_mut(..bytes.len()).ok_or(too_long)?;
                dst.copy_from_slice(bytes);
                self.frame.le_len = bytes.len();
            }
        }
        Ok(())
    }
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

fn apdu_error(e: cardwire_apdu::Error) -> Error {
    match e {
        cardwire_apdu::Error::BufferTooSmall { needed } => Error::BufferTooSmall { needed },
        _ => Error::TooLong,
    }
}

impl Frame {
    /// The frame of command `header` with the data field `data` (only its length is used) and
    /// `ne`, in the extended form when `extended`, else the short form.
    ///
    /// # Errors
    /// [`Error::TooLong`] when the command does not fit the form (or any APDU).
    pub(crate) fn new(
        header: [u8; 4],
        data: &[u8],
        ne: u32,
        extended: bool,
    ) -> Result<Self, Error> {
        let [cla, ins, p1, p2] = header;
        let repr = CommandRepr {
            cla: Cla(cla),
            ins: Ins(ins),
            p1,
            p2,
            data,
            ne,
        };
        let form = if extended {
            LengthForm::Extended
        } else {
            LengthForm::Short
        };
        let mut capture = Capture {
            frame: Frame {
                head: [0; 7],
                head_len: 0,
                le: [0; 3],
                le_len: 0,
            },
            nc: data.len(),
            writes: 0,
        };
        repr.write_to(form, &mut capture).map_err(apdu_error)?;
        Ok(capture.frame)
    }

    /// CLA INS P1 P2 and Lc.
    pub(crate) fn head(&self) -> &[u8] {
        self.head.get(..self.head_len).unwrap_or(&[])
    }

    /// The Lc field (empty for cases 1 and 2).
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
    pub(crate) fn place(&self, out: &mut [u8], data_at: usize, nc: usize) -> Result<usize, Error> {
        let total = self.total(nc);
        if out.len() < total || out.len() < data_at + nc {
            return Err(Error::BufferTooSmall {
                needed: total.max(data_at + nc),
            });
        }
        if data_at != self.head_len {
            out.copy_within(data_at..data_at + nc, self.head_len);
        }
        let out = out
            .get_mut(..total)
            .ok_or(Error::BufferTooSmall { needed: total })?;
        let (head, rest) = out.split_at_mut(self.head_len);
        head.copy_from_slice(self.head());
        if let Some(le) = rest.get_mut(nc..) {
            le.copy_from_slice(self.le.get(..self.le_len).unwrap_or(&[]));
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
        let f = Frame::new([0x0C, 0xB0, 0, 0], &[0; 3], 256, false).unwrap();
        assert_eq!(f.lc(), &[3]);
        assert_eq!(f.place(&mut out, 7, 3).unwrap(), 9);
        assert_eq!(out[..9], [0x0C, 0xB0, 0, 0, 3, 1, 2, 3, 0]);

        let mut out = [0u8; 16];
        out[7..9].copy_from_slice(&[9, 9]);
        let f = Frame::new([0x0C, 0xB0, 0, 0], &[0; 2], 65_536, true).unwrap();
        assert_eq!(f.lc(), &[0, 0, 2]);
        assert_eq!(f.place(&mut out, 7, 2).unwrap(), 11);
        assert_eq!(out[..11], [0x0C, 0xB0, 0, 0, 0, 0, 2, 9, 9, 0, 0]);

        let f = Frame::new([0, 0xB0, 0, 0], &[], 65_536, true).unwrap();
        assert_eq!(f.total(0), 7);
        assert_eq!(
            Frame::new([0; 4], &[0; 300], 0, false).unwrap_err(),
            Error::TooLong
        );
        assert_eq!(
            f.place(&mut [0u8; 6], 0, 0),
            Err(Error::BufferTooSmall { needed: 7 })
        );
    }
}
