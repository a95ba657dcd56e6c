//! Card-side unwrap of protected commands under fixed sessions (ISO SM with 3DES and AES, and
//! SCP03 C-MAC + C-DECRYPTION). Never panics; random commands are rejected unless they are the
//! host's own (mode 0), genuine commands with one byte changed are rejected (mode 1), genuine
//! commands are accepted and equal to the host's plain command (mode 2; the plain command is
//! built from the input).
#![no_main]

use cardwire_apdu::CommandRepr;
use cardwire_sm::scp03::{Scp03Card, Scp03Host, SecurityLevel, StaticKeys};
use cardwire_sm::{AesSuite, Error, SmSession, TdesSuite};
use libfuzzer_sys::fuzz_target;

type Wrap = Box<dyn FnMut(&[u8], &mut [u8]) -> Result<usize, Error>>;

fn sessions(suite: u8) -> (Wrap, Wrap) {
    match suite % 3 {
        0 => {
            let mut h =
                SmSession::host(TdesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 8]).unwrap();
            let mut c =
                SmSession::card(TdesSuite::new(&[1; 16], &[2; 16]).unwrap(), &[0; 8]).unwrap();
            (
                Box::new(move |p, o| h.wrap_command(p, o)),
                Box::new(move |p, o| c.unwrap_command(p, o)),
            )
        }
        1 => {
            let mut h =
                SmSession::host(AesSuite::new(&[1; 24], &[2; 24]).unwrap(), &[0; 16]).unwrap();
            let mut c =
                SmSession::card(AesSuite::new(&[1; 24], &[2; 24]).unwrap(), &[0; 16]).unwrap();
            (
                Box::new(move |p, o| h.wrap_command(p, o)),
                Box::new(move |p, o| c.unwrap_command(p, o)),
            )
        }
        _ => {
            let sk = || StaticKeys::new(&[0x40; 16], &[0x41; 16], &[0x42; 16]).unwrap();
            let mut host = Scp03Host::new(sk(), 0x30, [1; 8]);
            let mut card = Scp03Card::new(sk(), 0x30, [0; 10], [2; 8]);
            let (mut cmd, mut rsp) = ([0u8; 64], [0u8; 64]);
            let n = host.initialize_update_command(&mut cmd).unwrap();
            let m = card.initialize_update(&cmd[..n], &mut rsp).unwrap();
            let n = host
                .external_authenticate_command(&rsp[..m], SecurityLevel::C_DEC_C_MAC, &mut cmd)
                .unwrap();
            let mut c = card.external_authenticate(&cmd[..n]).unwrap();
            let mut h = host.finish(&[0x90, 0x00]).unwrap();
            (
                Box::new(move |p, o| h.wrap_command(p, o)),
                Box::new(move |p, o| c.unwrap_command(p, o)),
            )
        }
    }
}

/// The parts of a protected command its MAC covers: CLA (without the SCP03 channel bits), INS,
/// P1, P2 and the data field.
fn covered(wire: &[u8], scp03: bool) -> (u8, u8, u8, u8, Vec<u8>) {
    let c = CommandRepr::parse(wire).unwrap();
    let cla = if scp03 { c.cla.0 & !0x0B } else { c.cla.0 };
    (cla, c.ins.0, c.p1, c.p2, c.data.to_vec())
}

fuzz_target!(|input: &[u8]| {
    let [suite, mode, a, b, ins, rest @ ..] = input else {
        return;
    };
    let (mut wrap, mut unwrap) = sessions(*suite);
    let mut out = vec![0u8; rest.len() + 300];
    match mode % 3 {
        0 => {
            // Random bytes are rejected unless they are the genuine protected command: if the
            // card accepts, the host, wrapping the command the card recovered in the same
            // session state, must send the same MAC-covered content (everything but the Le
            // field and, in SCP03, the channel bits of CLA). A fuzzer that read the MAC out of
            // a comparison once found such a command (corpus: forged-aes-read-binary).
            if let Ok(m) = unwrap(rest, &mut out) {
                let (mut host_wrap, _) = sessions(*suite);
                let mut wire = vec![0u8; m + 64];
                let n = host_wrap(&out[..m], &mut wire).unwrap();
                let scp03 = *suite % 3 == 2;
                assert_eq!(
                    covered(rest, scp03),
                    covered(&wire[..n], scp03),
                    "unauthenticated command accepted"
                );
            }
        }
        _ => {
            let data = &rest[..rest.len().min(255)];
            let mut plain = vec![0x80, *ins, 0x01, 0x02];
            if !data.is_empty() {
                plain.push(data.len() as u8);
                plain.extend_from_slice(data);
            }
            if ins >> 4 == 6 || ins >> 4 == 9 {
                return;
            }
            let mut wire = vec![0u8; data.len() + 64];
            let n = wrap(&plain, &mut wire).unwrap();
            let mut wire = wire[..n].to_vec();
            if mode % 3 == 1 {
                let at = usize::from(*a) % wire.len();
                let mask = *b.max(&1);
                // Not covered by any MAC, by design: the protected Le of ISO SM (Ne travels in
                // DO 97) and, in SCP03, the logical channel bits and b4 of CLA.
                let le_len = if wire[4] == 0 { 2 } else { 1 };
                let iso_le = *suite % 3 != 2 && at >= wire.len() - le_len;
                let scp_cla = *suite % 3 == 2 && at == 0 && mask & !0x0B == 0;
                if iso_le || scp_cla {
                    return;
                }
                wire[at] ^= mask;
                assert!(
                    unwrap(&wire, &mut out).is_err(),
                    "tampered command accepted"
                );
            } else {
                let m = unwrap(&wire, &mut out).unwrap();
                let got = CommandRepr::parse(&out[..m]).unwrap();
                let want = CommandRepr::parse(&plain).unwrap();
                assert_eq!(
                    (got.ins, got.p1, got.p2, got.data),
                    (want.ins, want.p1, want.p2, want.data)
                );
            }
        }
    }
});
