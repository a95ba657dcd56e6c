//! The secure messaging exchange and its bare cryptography, shared by the criterion bench
//! (`benches/sm.rs`) and the instruction-count harness (`benches/icount.rs`), so that both
//! measure the same work on the same bytes.
//!
//! One *exchange*: the host wraps a command with N data bytes, the card unwraps it, the card
//! wraps a response with N data bytes, the host unwraps it. *Bare*: only the cryptography the
//! protocol prescribes for that exchange, with the same keyed primitives and over inputs of
//! exactly the protocol's lengths — per direction, CBC-encrypt the padded data (with the IV
//! or ICV derivation), MAC the bytes the protocol MACs (sender), MAC them again (receiver) and
//! CBC-decrypt. The MAC inputs include what the protocol covers besides the data: the command
//! header and the data objects' tags and lengths (ISO/IEC 7816-4), the header and Lc or the
//! status word (SCP03); their contents do not change the cost, only their length does. What
//! is left to the engine is framing, parsing, padding, checking and copying.

#![allow(dead_code)]

use std::hint::black_box;

use cardwire_apdu::StatusWord;
use cardwire_sm::primitives::{AesCmac, AesKey};
use cardwire_sm::scp03::{Scp03Card, Scp03Host, Scp03Session, SecurityLevel, StaticKeys};
use cardwire_sm::{AesSuite, CipherSuite, SmSession, TdesSuite};

/// UPDATE BINARY with `n` data bytes and Le `00` (short up to 255 bytes, extended above).
pub fn command(n: usize) -> Vec<u8> {
    let mut c = vec![0x00, 0xD6, 0x00, 0x00];
    if n > 255 {
        c.extend_from_slice(&[0, (n >> 8) as u8, n as u8]);
    } else {
        c.push(n as u8);
    }
    c.extend((0..n).map(|i| i as u8));
    if n > 255 {
        c.extend_from_slice(&[0, 0]);
    } else {
        c.push(0);
    }
    c
}

/// `n` rounded up to the next whole block with ISO/IEC 9797-1 padding method 2.
pub fn padded(n: usize, block: usize) -> usize {
    n + (block - n % block)
}

/// The ISO/IEC 7816-4 suites of the benches: name, constructor, initial SSC length.
pub fn tdes() -> TdesSuite {
    TdesSuite::new(&[0x11; 16], &[0x22; 16]).unwrap()
}
pub fn aes128() -> AesSuite {
    AesSuite::new(&[0x11; 16], &[0x22; 16]).unwrap()
}
pub fn aes256() -> AesSuite {
    AesSuite::new(&[0x11; 32], &[0x22; 32]).unwrap()
}

/// A host and a card session with the buffers of one exchange of `n` bytes each way.
pub struct Pair<E> {
    host: E,
    card: E,
    cmd: Vec<u8>,
    rsp: Vec<u8>,
    wire: Vec<u8>,
    plain: Vec<u8>,
}

impl<E> Pair<E> {
    fn new(host: E, card: E, n: usize) -> Self {
        Self {
            host,
            card,
            cmd: command(n),
            rsp: vec![0x42u8; n],
            wire: vec![0; 4200],
            plain: vec![0; 4200],
        }
    }
}

/// One exchange (see the module docs) over a [`Pair`] of sessions with the common
/// `wrap_command` / `unwrap_command` / `wrap_response` / `unwrap_response` methods.
macro_rules! exchange {
    ($pair:expr) => {{
        let p = $pair;
        let n = p.host.wrap_command(black_box(&p.cmd), &mut p.wire).unwrap();
        let m = p.card.unwrap_command(&p.wire[..n], &mut p.plain).unwrap();
        black_box(&p.plain[..m]);
        let n = p
            .card
            .wrap_response(black_box(&p.rsp), StatusWord::SUCCESS, &mut p.wire)
            .unwrap();
        let m = p.host.unwrap_response(&p.wire[..n], &mut p.plain).unwrap();
        black_box(&p.plain[..m]);
    }};
}

/// An ISO/IEC 7816-4 secure messaging pair of one suite.
pub type Iso<S> = Pair<SmSession<S>>;

impl<S: CipherSuite> Pair<SmSession<S>> {
    /// Host and card with the suite's keys and a zero SSC, for `n` bytes each way.
    pub fn iso(make: impl Fn() -> S, n: usize) -> Self {
        let ssc = vec![0u8; S::BLOCK_SIZE];
        Self::new(
            SmSession::host(make(), &ssc).unwrap(),
            SmSession::card(make(), &ssc).unwrap(),
            n,
        )
    }

    /// One exchange (see the module docs).
    pub fn exchange(&mut self) {
        exchange!(self)
    }
}

/// The lengths of what ISO/IEC 7816-4 secure messaging MACs after the SSC, for `n` data bytes
/// each way and the benches' command (`command`: with Le) and response (status `9000`), as
/// ICAO 9303-11 §9.8.6 lays them out: the command's padded header block, then DO `87`
/// (`87 L 01` ‖ cryptogram) and DO `97`, padded; the response's DO `87` and DO `99`, padded.
/// Each length is a whole number of blocks (ISO/IEC 9797-1 padding method 2).
pub fn iso_mac_lens(n: usize, block: usize) -> (usize, usize) {
    let cryptogram = padded(n, block);
    let value = 1 + cryptogram;
    let length_field = match value {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        _ => 3,
    };
    let do87 = 1 + length_field + value;
    let le_field = if n > 255 { 2 } else { 1 };
    let do97 = 2 + le_field;
    let do99 = 4;
    (
        block + padded(do87 + do97, block),
        padded(do87 + do99, block),
    )
}

/// The bare cryptography of one exchange of `n` bytes each way with a suite's own calls.
pub struct IsoBare<S: CipherSuite> {
    suite: S,
    ssc: Vec<u8>,
    buf: Vec<u8>,
    /// Stand-ins for the MAC inputs after the SSC: command, then response (`iso_mac_lens`).
    mac_command: Vec<u8>,
    mac_response: Vec<u8>,
}

impl<S: CipherSuite> IsoBare<S> {
    pub fn new(suite: S, n: usize) -> Self {
        let (command, response) = iso_mac_lens(n, S::BLOCK_SIZE);
        Self {
            suite,
            ssc: vec![0u8; S::BLOCK_SIZE],
            buf: vec![0x42u8; padded(n, S::BLOCK_SIZE)],
            mac_command: vec![0x5Au8; command],
            mac_response: vec![0x5Au8; response],
        }
    }

    /// Both directions: encrypt the padded data, MAC the direction's MAC input twice, decrypt.
    pub fn exchange(&mut self) {
        for direction in 0..2 {
            let buf = black_box(&mut self.buf[..]);
            self.suite.encrypt(&self.ssc, buf).unwrap();
            let mac_input = if direction == 0 {
                &self.mac_command
            } else {
                &self.mac_response
            };
            for _ in 0..2 {
                self.suite.mac_begin();
                self.suite.mac_update(&self.ssc);
                self.suite.mac_update(black_box(mac_input));
                black_box(self.suite.mac_finish());
            }
            self.suite.decrypt(&self.ssc, buf).unwrap();
        }
    }
}

/// An open SCP03 channel (security level 33: C-MAC, C-DECRYPTION, R-MAC, R-ENCRYPTION), host
/// and card.
pub type Scp03 = Pair<Scp03Session>;

impl Pair<Scp03Session> {
    /// Opens the channel with the same static keys on both sides, for `n` bytes each way.
    pub fn scp03(keys: &[u8], n: usize) -> Self {
        let sk = || StaticKeys::new(keys, keys, keys).unwrap();
        let mut host = Scp03Host::new(sk(), 0x30, [1; 8]);
        let mut card = Scp03Card::new(sk(), 0x30, [0; 10], [2; 8]);
        let (mut cmd, mut rsp) = ([0u8; 64], [0u8; 64]);
        let k = host.initialize_update_command(&mut cmd).unwrap();
        let m = card.initialize_update(&cmd[..k], &mut rsp).unwrap();
        let k = host
            .external_authenticate_command(&rsp[..m], SecurityLevel::ALL, &mut cmd)
            .unwrap();
        let card = card.external_authenticate(&cmd[..k]).unwrap();
        Self::new(host.finish(&[0x90, 0x00]).unwrap(), card, n)
    }

    /// One exchange (see the module docs).
    pub fn exchange(&mut self) {
        exchange!(self)
    }
}

/// The bare cryptography of one SCP03 exchange (GPC Amendment D §6.2.4–§6.2.7): per
/// direction, the ICV (AES of the counter block), CBC-encrypt the padded data, CMAC the MAC
/// input twice (over the chaining value ‖ CLA INS P1 P2 Lc ‖ cryptogram for the command,
/// the chaining value ‖ cryptogram ‖ SW1 SW2 for the response), the receiver's ICV, and
/// CBC-decrypt.
pub struct Scp03Bare {
    enc: AesKey,
    mac: AesCmac,
    buf: Vec<u8>,
}

impl Scp03Bare {
    pub fn new(keys: &[u8], n: usize) -> Self {
        Self {
            enc: AesKey::new(keys).unwrap(),
            mac: AesCmac::new(keys).unwrap(),
            buf: vec![0x42u8; padded(n, 16)],
        }
    }

    pub fn exchange(&mut self) {
        let chaining = [0u8; 16];
        // Short case: CLA INS P1 P2 Lc before the command's cryptogram; SW1 SW2 after the
        // response's.
        let header = [0x84u8, 0xD6, 0, 0, 0x58];
        let sw = [0x90u8, 0x00];
        for direction in 0..2 {
            let buf = black_box(&mut self.buf[..]);
            let mut icv = [0u8; 16];
            self.enc.encrypt_block(black_box(&mut icv)).unwrap();
            self.enc.encrypt_cbc(&icv, buf).unwrap();
            for _ in 0..2 {
                let mac = if direction == 0 {
                    self.mac.compute(&[&chaining, &header, buf])
                } else {
                    self.mac.compute(&[&chaining, buf, &sw])
                };
                black_box(mac);
            }
            let mut icv = [0u8; 16];
            self.enc.encrypt_block(black_box(&mut icv)).unwrap();
            self.enc.decrypt_cbc(&icv, buf).unwrap();
        }
    }
}
