//! eMRTD work for the benches (issue 18), shared by the criterion bench (`benches/sm.rs`) and
//! any instruction-count driver, so that both measure the same work on the same bytes. The
//! measured functions are `#[inline(never)]` so that callgrind's `--toggle-collect` finds them.
//!
//! * [`pace_run`]: one whole PACE-GM run in process, the terminal's [`PaceHost`] against the
//!   chip's [`PaceCard`], both sides doing their real cryptography; [`pace_bare`] is the
//!   unavoidable group work of both sides alone (per side: the mapping key, H, Ĝ, the
//!   ephemeral key, K — five scalar multiplications and one point addition).
//! * [`Dg2Read`]: reading a 15 KB DG2 under AES-128 secure messaging with READ BINARY in
//!   223-byte chunks (the usual chunk that keeps a protected answer in a short response): the
//!   host wraps each command, the card unwraps it, answers the file's bytes wrapped, the host
//!   unwraps them. [`Dg2Bare`] is the bare cipher and MAC work over the same bytes: per
//!   chunk, the command's MAC input (header and DO `97`) MACed by both sides, the response
//!   data CBC-encrypted, its MAC input (DO `87` and DO `99`, padded) MACed twice (sender and
//!   receiver), the data CBC-decrypted.

#![allow(dead_code)]

use std::hint::black_box;

use cardwire_apdu::StatusWord;
use cardwire_sm::pace::{PaceCurve, PaceDomain, PaceHost, PacePassword, PaceSession};
use cardwire_sm::pace_card::{PaceCard, PaceCardRandomness};
use cardwire_sm::security_infos::ID_PACE_ECDH_GM_AES_CBC_CMAC_128;
use cardwire_sm::{AesSuite, CipherSuite, SmSession};

use super::sm_exchange::iso_mac_lens;

/// The CAN both sides of [`pace_run`] share.
pub const CAN: &[u8] = b"123456";

/// A private key of the curve's length with the leading byte 01 (below every order here).
fn key(curve: PaceCurve, fill: u8) -> Vec<u8> {
    let mut k = vec![fill; curve.field_len()];
    k[0] = 1;
    k
}

/// One whole PACE-GM run (AES-128, CAN) between a [`PaceHost`] and a [`PaceCard`] on `curve`,
/// in process: MSE:Set AT, the four GENERAL AUTHENTICATE exchanges, both tokens checked,
/// both secure messaging sessions built.
#[inline(never)]
pub fn pace_run(curve: PaceCurve) {
    let pw = PacePassword::Can(CAN);
    let oid = ID_PACE_ECDH_GM_AES_CBC_CMAC_128;
    let mut host = PaceHost::with_domain(
        oid,
        PaceDomain::Ec(curve),
        &pw,
        &key(curve, 0x11),
        &key(curve, 0x22),
    )
    .unwrap();
    let random = PaceCardRandomness::new([0x5A; 16], &key(curve, 0x33), &key(curve, 0x44)).unwrap();
    let mut card = PaceCard::new(oid, curve, &pw, random).unwrap();
    let mut cmd = [0u8; 256];
    let mut out = [0u8; 160];
    let mut answer = |card: &mut PaceCard, c: &[u8]| {
        let n = card.general_authenticate(c, &mut out).unwrap();
        let mut a = out[..n].to_vec();
        a.extend_from_slice(&[0x90, 0x00]);
        a
    };
    black_box(host.mse_set_at_command(&mut cmd).unwrap());
    host.check_mse_set_at(&[0x90, 0x00]).unwrap();
    let a = answer(&mut card, host.nonce_command());
    host.process_nonce(&a).unwrap();
    let n = host.map_command(&mut cmd).unwrap();
    let a = answer(&mut card, &cmd[..n]);
    host.process_map(&a).unwrap();
    let n = host.key_agreement_command(&mut cmd).unwrap();
    let a = answer(&mut card, &cmd[..n]);
    host.process_key_agreement(&a).unwrap();
    let n = host.mutual_authentication_command(&mut cmd).unwrap();
    let a = answer(&mut card, &cmd[..n]);
    let PaceSession::Aes(host_sm) = host.finish(&a).unwrap() else {
        panic!("an AES session")
    };
    black_box(host_sm);
    black_box(card.into_session().unwrap());
}

/// The group work of [`pace_run`] alone, both sides: per side the mapping public key, H,
/// Ĝ = s·G + H, the ephemeral public key on Ĝ and K.
#[inline(never)]
pub fn pace_bare(curve: PaceCurve) {
    let d = PaceDomain::Ec(curve);
    let (ifd_map, ifd_eph) = (key(curve, 0x11), key(curve, 0x22));
    let (ic_map, ic_eph) = (key(curve, 0x33), key(curve, 0x44));
    let pk_map_ifd = d.public_key(&ifd_map).unwrap();
    let pk_map_ic = d.public_key(&ic_map).unwrap();
    let h_ifd = d.agree(&ifd_map, pk_map_ic.as_bytes()).unwrap();
    let h_ic = d.agree(&ic_map, pk_map_ifd.as_bytes()).unwrap();
    let g_ifd = d.map_generic(&[0x5A; 16], h_ifd.as_bytes()).unwrap();
    let g_ic = d.map_generic(&[0x5A; 16], h_ic.as_bytes()).unwrap();
    let pk_ifd = d.public_key_on(&ifd_eph, g_ifd.as_bytes()).unwrap();
    let pk_ic = d.public_key_on(&ic_eph, g_ic.as_bytes()).unwrap();
    black_box(d.agree(&ifd_eph, pk_ic.as_bytes()).unwrap());
    black_box(d.agree(&ic_eph, pk_ifd.as_bytes()).unwrap());
}

/// The size of the DG2 read (a typical face image data group).
pub const DG2_LEN: usize = 15 * 1024;
/// The READ BINARY chunk: Le = `DF`, so that the protected answer (DO `87` with up to 224
/// bytes of cryptogram, DO `99`, DO `8E`) still fits a short response.
pub const CHUNK: usize = 0xDF;

fn session_keys() -> (AesSuite, AesSuite) {
    let s = || AesSuite::new(&[0x11; 16], &[0x22; 16]).unwrap();
    (s(), s())
}

/// A host and a card secure messaging session (AES-128, SSC 0) and the card's DG2.
pub struct Dg2Read {
    host: SmSession<AesSuite>,
    card: SmSession<AesSuite>,
    file: Vec<u8>,
    wire: Vec<u8>,
    plain: Vec<u8>,
    got: Vec<u8>,
}

impl Dg2Read {
    pub fn new() -> Self {
        let (h, c) = session_keys();
        Self {
            host: SmSession::host(h, &[0; 16]).unwrap(),
            card: SmSession::card(c, &[0; 16]).unwrap(),
            file: (0..DG2_LEN).map(|i| (i * 7) as u8).collect(),
            wire: vec![0; 512],
            plain: vec![0; 512],
            got: Vec::with_capacity(DG2_LEN),
        }
    }

    /// Reads the whole file in [`CHUNK`]-byte READ BINARY commands (offset in P1-P2), each
    /// wrapped by the host, unwrapped by the card, answered wrapped, unwrapped by the host.
    /// Returns the bytes read.
    #[inline(never)]
    pub fn read(&mut self) -> usize {
        self.got.clear();
        let mut offset = 0;
        while offset < self.file.len() {
            let le = CHUNK.min(self.file.len() - offset);
            let cmd = [0x00, 0xB0, (offset >> 8) as u8, offset as u8, le as u8];
            let n = self.host.wrap_command(&cmd, &mut self.wire).unwrap();
            // Card side: unwrap, read the file at P1-P2 for Le bytes, answer wrapped.
            let m = self
                .card
                .unwrap_command(&self.wire[..n], &mut self.plain)
                .unwrap();
            let at = usize::from(self.plain[2]) << 8 | usize::from(self.plain[3]);
            let want = match self.plain[m - 1] {
                0 => 256,
                x => usize::from(x),
            };
            let end = (at + want).min(self.file.len());
            let n = self
                .card
                .wrap_response(&self.file[at..end], StatusWord::SUCCESS, &mut self.wire)
                .unwrap();
            // Host side: unwrap the answer.
            let m = self
                .host
                .unwrap_response(&self.wire[..n], &mut self.plain)
                .unwrap();
            self.got.extend_from_slice(&self.plain[..m - 2]);
            offset += m - 2;
        }
        black_box(self.got.len())
    }

    /// Whether the last [`read`](Self::read) returned the file.
    pub fn read_back_is_file(&self) -> bool {
        self.got == self.file
    }
}

impl Default for Dg2Read {
    fn default() -> Self {
        Self::new()
    }
}

/// The bare cipher and MAC work of [`Dg2Read::read`] over the same bytes (module docs).
pub struct Dg2Bare {
    suite: AesSuite,
    ssc: [u8; 16],
    header: [u8; 32],
    buf: Vec<u8>,
    /// A stand-in for the response's MAC input after the SSC (its length is what counts).
    mac_response: Vec<u8>,
}

impl Dg2Bare {
    pub fn new() -> Self {
        Self {
            suite: session_keys().0,
            ssc: [0; 16],
            // The command's MAC input: padded header, DO 97 `97 01 DF`, padded.
            header: [0; 32],
            buf: vec![0x42; 256],
            mac_response: vec![0x5A; 256],
        }
    }

    #[inline(never)]
    pub fn read(&mut self) -> usize {
        let mut offset = 0;
        while offset < DG2_LEN {
            let n = CHUNK.min(DG2_LEN - offset);
            for _ in 0..2 {
                self.suite.mac_begin();
                self.suite.mac_update(&self.ssc);
                self.suite.mac_update(black_box(&self.header));
                black_box(self.suite.mac_finish());
            }
            // The response data padded to whole blocks (ISO/IEC 9797-1 method 2).
            let padded = n + (16 - n % 16);
            let buf = black_box(&mut self.buf[..padded]);
            self.suite.encrypt(&self.ssc, buf).unwrap();
            // What the response's MAC covers after the SSC: DO `87` and DO `99`, padded.
            let (_, mac_len) = iso_mac_lens(n, 16);
            let mac_input = black_box(&self.mac_response[..mac_len]);
            for _ in 0..2 {
                self.suite.mac_begin();
                self.suite.mac_update(&self.ssc);
                self.suite.mac_update(mac_input);
                black_box(self.suite.mac_finish());
            }
            self.suite.decrypt(&self.ssc, buf).unwrap();
            offset += n;
        }
        black_box(offset)
    }
}

impl Default for Dg2Bare {
    fn default() -> Self {
        Self::new()
    }
}
