//! A small card for the vpcd and real PC/SC stack tests (shared by `examples/vpcd_testcard.rs`
//! and the integration tests through `#[path]`).
//!
//! What it does (ISO/IEC 7816-4 interindustry commands, short APDUs only):
//! - SELECT (`00 A4`) by file identifier (P1=00, data `3F00`, `2F01`, `2F02`) or by DF name
//!   (P1=04, data [`AID`]); P2 `00`/`04` answers a small FCP, P2 `0C` answers no data.
//! - READ BINARY (`00 B0`, offset in P1-P2) from the selected EF: `2F01` holds [`SHORT_FILE`],
//!   `2F02` holds [`LARGE_FILE_LEN`] bytes where byte `i` is `i % 251`.
//! - GET DATA (`00 CA 01 01`) answers [`LONG_DATA_LEN`] bytes (byte `i` is `i % 256`), more than
//!   one short response: the card answers `6100` and the host fetches it with GET RESPONSE
//!   (`00 C0`), each part followed by `61xx` until the last, which ends with `9000`.
//! - PUT DATA (`00 DA 01 02`) stores up to 4096 bytes, accepting command chaining (CLA bit
//!   `10`, ISO/IEC 7816-4 §5.3.3); GET DATA (`00 CA 01 02`) returns them (with GET RESPONSE
//!   when longer than 256 bytes).
//! - VERIFY (`00 20 00 80`) of the PIN [`PIN`]: `9000` (the PIN stays verified until the next
//!   reset), another value `63C2`, no data: `9000` when verified, else `63C3`.
//! - Proprietary EJECT (`80 EE 00 00 01 NN`): the card answers `9000`, then reports itself
//!   removed (an empty ATR) for `NN` tenths of a second; used to test removal and
//!   re-insertion through pcscd.
//!
//! Errors: `6700` wrong length (and extended APDUs), `6883` chain broken, `6986` no EF
//! selected, `6A82` file not found, `6A84` not enough memory, `6A86` wrong P1-P2, `6B00`
//! offset beyond the file, `6D00` unknown INS, `6E00` unknown CLA.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use cardwire_transport::card_side::CardHandler;

/// The card's ATR: direct convention, T=1 offered, historical bytes `80 73 C0 21 80` (card
/// capabilities, ISO/IEC 7816-4 §8.1.1.2.7: selection by DF name and FID, command chaining
/// supported, no extended length).
pub const ATR: [u8; 10] = [0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0x80, 0x96];
/// The test application's DF name.
pub const AID: [u8; 7] = [0xF0, 0x63, 0x61, 0x72, 0x64, 0x77, 0x31];
/// The content of EF `2F01`.
pub const SHORT_FILE: &[u8] = b"cardwire test card";
/// The PIN VERIFY accepts.
pub const PIN: &[u8] = b"1234";

/// The size of EF `2F02`.
pub const LARGE_FILE_LEN: usize = 1024;
/// The size of the GET DATA `0101` object.
pub const LONG_DATA_LEN: usize = 600;
/// The most PUT DATA can store.
pub const STORE_CAPACITY: usize = 4096;

/// The test card's state.
#[derive(Debug, Default)]
pub struct TestCard {
    selected: Option<u16>,
    /// The rest of a long answer, served by GET RESPONSE.
    pending: Vec<u8>,
    /// Data collected from a command chain in progress.
    chain: Option<Vec<u8>>,
    stored: Vec<u8>,
    ejected_until: Option<Instant>,
    /// The PIN was verified since the last reset.
    verified: bool,
    /// Commands processed since creation (for tests).
    pub commands: u64,
    /// Cold and warm resets seen.
    pub resets: u64,
}

impl TestCard {
    /// A fresh card with nothing stored.
    pub fn new() -> Self {
        Self::default()
    }

    fn ejected(&self) -> bool {
        self.ejected_until.is_some_and(|t| Instant::now() < t)
    }

    fn large_file() -> Vec<u8> {
        (0..LARGE_FILE_LEN).map(|i| (i % 251) as u8).collect()
    }

    fn long_data() -> Vec<u8> {
        (0..LONG_DATA_LEN).map(|i| (i % 256) as u8).collect()
    }

    /// Serves `data` as a response to a command asking for `ne` bytes: all of it when it fits,
    /// otherwise `61xx` and the rest through GET RESPONSE.
    fn answer(&mut self, data: Vec<u8>, ne: usize, out: &mut [u8]) -> usize {
        if data.len() <= ne.min(256) {
            let n = put(out, 0, &data);
            return n + sw(out, n, 0x9000);
        }
        self.pending = data;
        sw(out, 0, 0x6100 | remaining(self.pending.len()))
    }

    fn get_response(&mut self, ne: usize, out: &mut [u8]) -> usize {
        if self.pending.is_empty() {
            return sw(out, 0, 0x6985);
        }
        let n = ne.min(self.pending.len());
        let n = put(out, 0, self.pending.get(..n).unwrap_or_default());
        self.pending.drain(..n);
        let status = if self.pending.is_empty() {
            0x9000
        } else {
            0x6100 | remaining(self.pending.len())
        };
        n + sw(out, n, status)
    }
}

/// The `xx` of `61xx`: bytes still available, `00` meaning 256 or more.
fn remaining(n: usize) -> u16 {
    if n >= 256 { 0 } else { n as u16 }
}

/// Writes a status word at `at`, returns 2 (0 if `out` is too short, which the handler
/// contract rules out).
fn sw(out: &mut [u8], at: usize, status: u16) -> usize {
    put(out, at, &status.to_be_bytes())
}

/// Copies `bytes` into `out` at `at`; returns how many were written (all, or none if they do
/// not fit).
fn put(out: &mut [u8], at: usize, bytes: &[u8]) -> usize {
    match out.get_mut(at..at + bytes.len()) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            bytes.len()
        }
        None => 0,
    }
}

/// A short command APDU's fields (ISO/IEC 7816-3 §12.1); `None` when malformed or extended.
struct Apdu<'a> {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: &'a [u8],
    ne: usize,
}

fn parse(command: &[u8]) -> Option<Apdu<'_>> {
    let (header, body) = command.split_at_checked(4)?;
    let &[cla, ins, p1, p2] = header else {
        return None;
    };
    let (data, ne) = match body {
        [] => (&[][..], 0),
        [le] => (&[][..], if *le == 0 { 256 } else { usize::from(*le) }),
        [0, ..] => return None, // extended length: not supported by this card
        [lc, rest @ ..] => {
            let lc = usize::from(*lc);
            match rest.len().checked_sub(lc)? {
                0 => (rest, 0),
                1 => {
                    let (data, le) = rest.split_at(lc);
                    let le = usize::from(*le.first()?);
                    (data, if le == 0 { 256 } else { le })
                }
                _ => return None,
            }
        }
    };
    Some(Apdu {
        cla,
        ins,
        p1,
        p2,
        data,
        ne,
    })
}

impl CardHandler for TestCard {
    fn atr(&self) -> &[u8] {
        if self.ejected() { &[] } else { &ATR }
    }

    fn power_on(&mut self) {
        self.verified = false;
        self.selected = None;
        self.pending.clear();
        self.chain = None;
        self.resets += 1;
    }

    fn power_off(&mut self) {
        self.verified = false;
        self.selected = None;
        self.pending.clear();
        self.chain = None;
    }

    fn process(&mut self, command: &[u8], out: &mut [u8]) -> usize {
        self.commands += 1;
        let Some(apdu) = parse(command) else {
            return sw(out, 0, 0x6700);
        };
        let chained = apdu.cla & 0x10 != 0;
        let cla = apdu.cla & !0x10;
        if cla != 0x00 && cla != 0x80 {
            return sw(out, 0, 0x6E00);
        }
        if apdu.ins != 0xC0 {
            self.pending.clear();
        }
        // Command chaining (ISO/IEC 7816-4 §5.3.3): only PUT DATA may be chained here.
        if let Some(mut collected) = self.chain.take() {
            if apdu.ins != 0xDA {
                return sw(out, 0, 0x6883);
            }
            if collected.len() + apdu.data.len() > STORE_CAPACITY {
                return sw(out, 0, 0x6A84);
            }
            collected.extend_from_slice(apdu.data);
            if chained {
                self.chain = Some(collected);
            } else {
                self.stored = collected;
            }
            return sw(out, 0, 0x9000);
        }
        if chained {
            if apdu.ins != 0xDA || (apdu.p1, apdu.p2) != (0x01, 0x02) {
                return sw(out, 0, 0x6884); // command chaining not supported for this command
            }
            self.chain = Some(apdu.data.to_vec());
            return sw(out, 0, 0x9000);
        }
        match (cla, apdu.ins) {
            (0x00, 0xA4) => self.select(&apdu, out),
            (0x00, 0xB0) => self.read_binary(&apdu, out),
            (0x00, 0xC0) => {
                if (apdu.p1, apdu.p2) != (0, 0) {
                    return sw(out, 0, 0x6A86);
                }
                self.get_response(apdu.ne, out)
            }
            (0x00, 0xCA) => match (apdu.p1, apdu.p2) {
                (0x01, 0x01) => self.answer(Self::long_data(), apdu.ne, out),
                (0x01, 0x02) => self.answer(self.stored.clone(), apdu.ne, out),
                _ => sw(out, 0, 0x6A88),
            },
            (0x00, 0xDA) => {
                if (apdu.p1, apdu.p2) != (0x01, 0x02) {
                    return sw(out, 0, 0x6A86);
                }
                self.stored = apdu.data.to_vec();
                sw(out, 0, 0x9000)
            }
            (0x00, 0x20) if (apdu.p1, apdu.p2) == (0x00, 0x80) => match apdu.data {
                [] if self.verified => sw(out, 0, 0x9000),
                [] => sw(out, 0, 0x63C3),
                pin if pin == PIN => {
                    self.verified = true;
                    sw(out, 0, 0x9000)
                }
                _ => {
                    self.verified = false;
                    sw(out, 0, 0x63C2)
                }
            },
            (0x80, 0xEE) => {
                let tenths = apdu.data.first().copied().unwrap_or(10);
                self.ejected_until =
                    Some(Instant::now() + Duration::from_millis(100 * u64::from(tenths)));
                sw(out, 0, 0x9000)
            }
            _ => sw(out, 0, 0x6D00),
        }
    }
}

impl TestCard {
    fn select(&mut self, apdu: &Apdu<'_>, out: &mut [u8]) -> usize {
        let fid = match (apdu.p1, apdu.data) {
            (0x00, [hi, lo]) => u16::from_be_bytes([*hi, *lo]),
            (0x04, name) if name == AID => 0x7F00,
            (0x00 | 0x04, _) => return sw(out, 0, 0x6A82),
            _ => return sw(out, 0, 0x6A86),
        };
        let size = match fid {
            0x3F00 | 0x7F00 => None,
            0x2F01 => Some(SHORT_FILE.len()),
            0x2F02 => Some(LARGE_FILE_LEN),
            _ => return sw(out, 0, 0x6A82),
        };
        self.selected = Some(fid);
        match apdu.p2 {
            0x0C => sw(out, 0, 0x9000),
            0x00 | 0x04 => {
                // FCP template (ISO/IEC 7816-4 §5.3.3, tag 62): file identifier and, for an
                // EF, its size.
                let mut fcp = vec![0x83, 0x02, (fid >> 8) as u8, fid as u8];
                if let Some(size) = size {
                    fcp.extend_from_slice(&[0x80, 0x02, (size >> 8) as u8, size as u8]);
                }
                fcp.splice(0..0, [0x62, fcp.len() as u8]);
                self.answer(fcp, apdu.ne.max(1), out)
            }
            _ => sw(out, 0, 0x6A86),
        }
    }

    fn read_binary(&mut self, apdu: &Apdu<'_>, out: &mut [u8]) -> usize {
        if apdu.p1 & 0x80 != 0 {
            return sw(out, 0, 0x6A86); // short EF identifiers are not supported here
        }
        let content = match self.selected {
            Some(0x2F01) => SHORT_FILE.to_vec(),
            Some(0x2F02) => Self::large_file(),
            _ => return sw(out, 0, 0x6986),
        };
        let offset = usize::from(u16::from_be_bytes([apdu.p1, apdu.p2]));
        if offset > content.len() {
            return sw(out, 0, 0x6B00);
        }
        let ne = if apdu.ne == 0 { 256 } else { apdu.ne };
        let n = ne.min(content.len() - offset);
        let n = put(out, 0, content.get(offset..offset + n).unwrap_or_default());
        // Fewer bytes than asked for: warning 6282, end of file reached (ISO/IEC 7816-4 §5.6).
        let status = if n < ne { 0x6282 } else { 0x9000 };
        n + sw(out, n, status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(card: &mut TestCard, command: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; 300];
        let n = card.process(command, &mut out);
        out.truncate(n);
        out
    }

    #[test]
    fn atr_check_byte_is_right() {
        // TCK makes the XOR of T0..TCK zero (ISO/IEC 7816-3 §8.2.5).
        assert_eq!(ATR[1..].iter().fold(0, |a, b| a ^ b), 0);
    }

    #[test]
    fn select_read_and_get_response() {
        let mut card = TestCard::new();
        assert_eq!(
            run(&mut card, &[0, 0xA4, 0, 0x0C, 2, 0x2F, 0x01]),
            [0x90, 0]
        );
        let r = run(&mut card, &[0, 0xB0, 0, 0, 0]);
        assert_eq!(&r[..SHORT_FILE.len()], SHORT_FILE);
        assert_eq!(&r[SHORT_FILE.len()..], [0x62, 0x82]);
        assert_eq!(run(&mut card, &[0, 0xCA, 1, 1, 0]), [0x61, 0x00]);
        let r = run(&mut card, &[0, 0xC0, 0, 0, 0]);
        assert_eq!(r.len(), 258);
        assert_eq!(&r[256..], [0x61, 0x00]);
        let r = run(&mut card, &[0, 0xC0, 0, 0, 0]);
        assert_eq!(&r[256..], [0x61, 88]);
        let r = run(&mut card, &[0, 0xC0, 0, 0, 88]);
        assert_eq!(r.len(), 90);
        assert_eq!(&r[88..], [0x90, 0]);
    }

    #[test]
    fn chaining_stores_and_broken_chain_fails() {
        let mut card = TestCard::new();
        assert_eq!(run(&mut card, &[0x10, 0xDA, 1, 2, 2, 1, 2]), [0x90, 0]);
        assert_eq!(run(&mut card, &[0x00, 0xDA, 1, 2, 1, 3]), [0x90, 0]);
        assert_eq!(run(&mut card, &[0, 0xCA, 1, 2, 0]), [1, 2, 3, 0x90, 0]);
        assert_eq!(run(&mut card, &[0x10, 0xDA, 1, 2, 1, 9]), [0x90, 0]);
        assert_eq!(run(&mut card, &[0x00, 0xB0, 0, 0, 0]), [0x68, 0x83]);
    }

    #[test]
    fn malformed_commands_get_status_words() {
        let mut card = TestCard::new();
        assert_eq!(run(&mut card, &[0, 0xA4]), [0x67, 0]);
        assert_eq!(run(&mut card, &[0, 0xA4, 0, 0, 5, 1]), [0x67, 0]);
        assert_eq!(run(&mut card, &[0xA0, 0xA4, 0, 0]), [0x6E, 0]);
        assert_eq!(run(&mut card, &[0, 0x42, 0, 0]), [0x6D, 0]);
        assert_eq!(run(&mut card, &[0, 0xB0, 0, 0, 0]), [0x69, 0x86]);
    }

    #[test]
    fn eject_empties_the_atr_for_a_while() {
        let mut card = TestCard::new();
        assert_eq!(run(&mut card, &[0x80, 0xEE, 0, 0, 1, 1]), [0x90, 0]);
        assert!(card.atr().is_empty());
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(card.atr(), ATR);
    }
}
