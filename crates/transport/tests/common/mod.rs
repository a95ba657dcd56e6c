//! A small test card for the session tests: a 4 KiB transparent file, GET DATA objects that
//! exercise 61xx and 6Cxx, chaining, logical channels and VERIFY.
// Test code: a panic here is a test failure, which is what a test wants.
#![allow(
    dead_code,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::panic
)]

use cardwire_apdu::{Cla, Command, Ins};
use cardwire_transport::CardHandler;

/// ATR with historical bytes 80 73 00 00 DB: chaining, extended Lc/Le, 4 logical channels
/// (ISO/IEC 7816-4 §12.1.1.9, Table 119).
pub const ATR_EXTENDED: [u8; 7] = [0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0xDB];
/// ATR with historical bytes 80 73 00 00 9B: chaining, short only, 4 logical channels.
pub const ATR_SHORT_CHAINING: [u8; 7] = [0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0x9B];
/// ATR with no historical bytes.
pub const ATR_PLAIN: [u8; 2] = [0x3B, 0x00];

pub const FILE_LEN: usize = 4096;
pub const PIN: &[u8] = b"4711";

pub struct TestCard {
    pub atr: Vec<u8>,
    pub extended: bool,
    /// Answers 6700 to any extended APDU although the ATR claims support.
    pub rejects_extended: bool,
    /// Serves at most this many bytes per READ BINARY, with 9000 (a card or reader whose
    /// APDUs carry less than asked, for example 0xDF).
    pub max_read: Option<usize>,
    pub file: Vec<u8>,
    /// Every command APDU received, as bytes.
    pub log: Vec<Vec<u8>>,
    pub chain: Vec<u8>,
    pub stored: Vec<u8>,
    pub pending: Vec<u8>,
    pub channels: [bool; 4],
    pub verified: bool,
    pub powered_on: usize,
}

impl TestCard {
    pub fn new(atr: &[u8], extended: bool) -> Self {
        Self {
            atr: atr.to_vec(),
            extended,
            rejects_extended: false,
            max_read: None,
            file: (0..FILE_LEN).map(|i| (i * 7 % 251) as u8).collect(),
            log: Vec::new(),
            chain: Vec::new(),
            stored: Vec::new(),
            pending: Vec::new(),
            channels: [true, false, false, false],
            verified: false,
            powered_on: 0,
        }
    }

    /// Writes `data` then `sw` into `rsp`, serving at most `max` data bytes now and the rest
    /// with 61xx.
    fn answer(&mut self, rsp: &mut [u8], data: &[u8], sw: u16, max: usize) -> usize {
        let now = data.len().min(max);
        rsp[..now].copy_from_slice(&data[..now]);
        let sw = if now < data.len() {
            self.pending = data[now..].to_vec();
            let left = self.pending.len();
            0x6100 | if left >= 256 { 0 } else { left as u16 }
        } else {
            sw
        };
        rsp[now..now + 2].copy_from_slice(&sw.to_be_bytes());
        now + 2
    }
}

impl TestCard {
    /// Toy secure messaging (see `XorChannel`): data XOR 55, then one check byte AA.
    fn process_protected(&mut self, cmd: &Command<&[u8]>, rsp: &mut [u8]) -> usize {
        let data = cmd.data();
        let Some((&check, body)) = data.split_last() else {
            return sw(rsp, 0x6987);
        };
        if check != 0xAA {
            return sw(rsp, 0x6988);
        }
        let plain: Vec<u8> = body.iter().map(|b| b ^ 0x55).collect();
        let mut inner = Vec::new();
        inner.extend_from_slice(&[cmd.cla().0 & 0x03, cmd.ins().0, cmd.p1(), cmd.p2()]);
        if !plain.is_empty() {
            inner.push(plain.len() as u8);
            inner.extend_from_slice(&plain);
        }
        if cmd.ne() > 0 {
            inner.push(cmd.ne().min(256) as u8);
        }
        let mut plain_rsp = [0u8; 300];
        let n = self.process(&inner, &mut plain_rsp);
        let (data, status) = plain_rsp[..n].split_at(n - 2);
        for (o, b) in rsp.iter_mut().zip(data) {
            *o = b ^ 0x55;
        }
        rsp[data.len()] = 0xAA;
        rsp[data.len() + 1..data.len() + 3].copy_from_slice(status);
        data.len() + 3
    }
}

fn sw(rsp: &mut [u8], sw: u16) -> usize {
    rsp[..2].copy_from_slice(&sw.to_be_bytes());
    2
}

impl CardHandler for TestCard {
    fn atr(&self) -> &[u8] {
        &self.atr
    }
    fn power_on(&mut self) {
        self.powered_on += 1;
        self.channels = [true, false, false, false];
        self.verified = false;
        self.pending.clear();
        self.chain.clear();
    }
    fn power_off(&mut self) {}

    fn process(&mut self, command: &[u8], rsp: &mut [u8]) -> usize {
        self.log.push(command.to_vec());
        let Ok(cmd) = Command::new_checked(command) else {
            return sw(rsp, 0x6700);
        };
        if cmd.case().is_extended() && (!self.extended || self.rejects_extended) {
            return sw(rsp, 0x6700);
        }
        if cmd.cla().secure_messaging() != cardwire_apdu::SecureMessaging::None {
            return self.process_protected(&cmd, rsp);
        }
        let channel = usize::from(cmd.cla().channel());
        if channel >= 4 || !self.channels[channel] {
            return sw(rsp, 0x6881);
        }
        let max_out = if self.extended { rsp.len() - 2 } else { 256 };
        let ne = cmd.ne() as usize;
        if cmd.ins() != Ins::GET_RESPONSE {
            self.pending.clear();
        }
        match cmd.ins() {
            Ins::GET_RESPONSE => {
                let pending = std::mem::take(&mut self.pending);
                let n = ne.min(pending.len());
                self.answer(rsp, &pending[..n], 0x9000, n);
                let rest = pending[n..].to_vec();
                if !rest.is_empty() {
                    self.pending = rest;
                    let left = self.pending.len();
                    let sw = 0x6100 | if left >= 256 { 0 } else { left as u16 };
                    rsp[n..n + 2].copy_from_slice(&u16::to_be_bytes(sw));
                }
                n + 2
            }
            Ins::SELECT => sw(rsp, 0x9000),
            Ins::READ_BINARY => {
                let offset = usize::from(cmd.p1()) << 8 | usize::from(cmd.p2());
                if offset > self.file.len() {
                    return sw(rsp, 0x6B00);
                }
                let n = ne.min(self.file.len() - offset).min(max_out);
                let status = if n < ne { 0x6282 } else { 0x9000 };
                let (n, status) = match self.max_read {
                    Some(max) if n > max => (max, 0x9000),
                    _ => (n, status),
                };
                let data = self.file[offset..offset + n].to_vec();
                self.answer(rsp, &data, status, max_out)
            }
            // GET DATA 0101: 5 bytes, only with the exact Le (else 6C05).
            Ins::GET_DATA if cmd.p1() == 1 && cmd.p2() == 1 => {
                if ne != 5 {
                    return sw(rsp, 0x6C05);
                }
                self.answer(rsp, &[1, 2, 3, 4, 5], 0x9000, 5)
            }
            // GET DATA 0102: 600 bytes, served 200 at a time with 61xx.
            Ins::GET_DATA if cmd.p1() == 1 && cmd.p2() == 2 => {
                let data: Vec<u8> = (0..600).map(|i| (i % 256) as u8).collect();
                self.answer(rsp, &data, 0x9000, 200)
            }
            // GET DATA 0103: what PUT DATA stored.
            Ins::GET_DATA => {
                let data = self.stored.clone();
                self.answer(rsp, &data, 0x9000, max_out)
            }
            Ins::PUT_DATA => {
                self.chain.extend_from_slice(cmd.data());
                if cmd.cla().chaining() {
                    return sw(rsp, 0x9000);
                }
                self.stored = std::mem::take(&mut self.chain);
                sw(rsp, 0x9000)
            }
            Ins::MANAGE_CHANNEL if cmd.p1() == 0x00 => {
                match self.channels.iter().position(|c| !c) {
                    Some(n) => {
                        self.channels[n] = true;
                        rsp[0] = n as u8;
                        rsp[1..3].copy_from_slice(&[0x90, 0x00]);
                        3
                    }
                    None => sw(rsp, 0x6A81),
                }
            }
            Ins::MANAGE_CHANNEL if cmd.p1() == 0x80 => {
                let n = usize::from(cmd.p2());
                if n == 0 || n >= 4 || !self.channels[n] {
                    return sw(rsp, 0x6A86);
                }
                self.channels[n] = false;
                sw(rsp, 0x9000)
            }
            Ins::VERIFY => {
                if cmd.data() == PIN {
                    self.verified = true;
                    sw(rsp, 0x9000)
                } else {
                    sw(rsp, 0x63C2)
                }
            }
            _ => {
                let _ = Cla::INTERINDUSTRY;
                sw(rsp, 0x6D00)
            }
        }
    }
}
