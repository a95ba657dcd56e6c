//! Random APDU streams through the virtual card (`cardwire-vcard`).
//!
//! The input is a list of operations: a raw APDU (length byte, then that many bytes), a
//! correct VERIFY, a reset, or selecting the cardholder data DF (so the fuzzer reaches the
//! files behind it quickly). With the operation byte's high bit set, selecting becomes
//! selecting the eMRTD application and running BAC with the card's MRZ, and a raw APDU is sent
//! protected under that BAC session (the host wraps it, with command chaining when its CLA
//! says so: every link is a protected APDU of its own, ISO/IEC 7816-4 §10), so the card's
//! secure messaging and protected-chain paths are reached with valid MACs, interleaved with
//! plain commands that break chains off. After every operation it checks:
//! - nothing panics (the card answers every command with a status word);
//! - the PIN retry counter never increases unless a VERIFY or RESET RETRY COUNTER just
//!   answered `9000`;
//! - a successful READ BINARY / READ RECORD of a PIN-protected file happens only after a
//!   successful VERIFY since the last reset, and files that need secure messaging or an
//!   administrator channel are never read (the fuzzer cannot authenticate BAC or SCP03);
//! - a signature (PSO, INTERNAL AUTHENTICATE) is only produced with the PIN verified;
//! - under BAC, the card's answer to every protected APDU verifies at the host unless it is a
//!   bare status word (the card closed the channel): host and card never fall out of step,
//!   chained links, broken chains and errors included.
#![no_main]

use std::sync::OnceLock;

use cardwire_apdu::Cla;
use cardwire_sm::bac::{BacHost, BacKeys, MrzInfo};
use cardwire_sm::{SmSession, TdesSuite};
use cardwire_transport::CardHandler;
use cardwire_vcard::fs::Condition;
use cardwire_vcard::personalise::EMRTD_AID;
use cardwire_vcard::{Seed, VirtualCard};
use libfuzzer_sys::fuzz_target;

fn template() -> &'static VirtualCard {
    static CARD: OnceLock<VirtualCard> = OnceLock::new();
    CARD.get_or_init(|| VirtualCard::new(&Seed::DEFAULT).expect("the reference card builds"))
}

const VERIFY_OK: [u8; 13] = [
    0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF,
];

fn sw_of(rsp: &[u8], n: usize) -> u16 {
    match n.checked_sub(2).and_then(|i| rsp.get(i..n)) {
        Some([a, b]) => u16::from_be_bytes([*a, *b]),
        _ => panic!("the card answered {n} bytes, no status word"),
    }
}

/// Sends `apdu` and collects a `61xx` answer with GET RESPONSE; returns data ‖ SW1 SW2.
fn exchange(card: &mut VirtualCard, apdu: &[u8], rsp: &mut [u8]) -> Vec<u8> {
    let mut n = card.process(apdu, rsp);
    let mut out = Vec::new();
    for _ in 0..64 {
        let sw = sw_of(rsp, n);
        out.extend_from_slice(&rsp[..n - 2]);
        if sw >> 8 != 0x61 {
            out.extend_from_slice(&sw.to_be_bytes());
            return out;
        }
        let channel = Cla(apdu.first().copied().unwrap_or(0)).channel();
        let get = [Cla(0).with_channel(channel).map_or(0, |c| c.0), 0xC0, 0, 0, sw as u8];
        n = card.process(&get, rsp);
    }
    panic!("endless 61xx after {apdu:02X?}");
}

/// Selects the eMRTD application and runs BAC; the host's session when the card accepted it.
fn bac(card: &mut VirtualCard, rsp: &mut [u8]) -> Option<SmSession<TdesSuite>> {
    let mut select = vec![0x00, 0xA4, 0x04, 0x0C, EMRTD_AID.len() as u8];
    select.extend_from_slice(&EMRTD_AID);
    exchange(card, &select, rsp);
    let mrz = card.mrz().clone();
    let info = MrzInfo::new(&mrz.document_number, &mrz.birth_date, &mrz.expiry_date).ok()?;
    let mut host = BacHost::new(BacKeys::from_mrz(&info), [1; 8], [2; 16]);
    let challenge = exchange(card, &BacHost::GET_CHALLENGE, rsp);
    let rnd_ic: [u8; 8] = challenge.get(..8)?.try_into().ok()?;
    let mut ea = [0u8; 64];
    let n = host.external_authenticate_command(&rnd_ic, &mut ea).ok()?;
    let answer = exchange(card, &ea[..n], rsp);
    host.finish(&answer).ok()
}

/// Sends `apdu` protected by `sm`, as a chain of protected links when its CLA has the
/// chaining bit and its data is longer than 64 bytes; returns the host's plain answer, or
/// `None` when the session ended (the card answered a bare status word).
fn protected(
    card: &mut VirtualCard,
    sm: &mut SmSession<TdesSuite>,
    apdu: &[u8],
    rsp: &mut [u8],
) -> Option<Vec<u8>> {
    let cmd = cardwire_apdu::CommandRepr::parse(apdu).ok()?;
    let chunk = if cmd.cla.chaining() { 64 } else { usize::MAX };
    let links: Vec<&[u8]> = if cmd.data.is_empty() {
        vec![&[]]
    } else {
        cmd.data.chunks(chunk.min(cmd.data.len())).collect()
    };
    let mut answer = Vec::new();
    for (i, data) in links.iter().enumerate() {
        let last = i + 1 == links.len();
        let link = cardwire_apdu::CommandRepr {
            cla: cmd.cla.with_chaining(!last),
            data,
            ne: if last { cmd.ne } else { 0 },
            ..cmd
        };
        let mut wire = vec![0u8; data.len() + 128];
        let n = sm.wrap(&link, cardwire_apdu::LengthForm::Auto, &mut wire).ok()?;
        let got = exchange(card, &wire[..n], rsp);
        let mut plain = vec![0u8; got.len() + 16];
        match sm.unwrap_response(&got, &mut plain) {
            Ok(m) => answer = plain[..m].to_vec(),
            Err(e) => {
                assert_eq!(got.len(), 2, "a protected answer did not verify ({e:?}): {got:02X?}");
                return None;
            }
        }
        if !last && answer != [0x90, 0x00] {
            // The card refused a link: that is the command's answer.
            return Some(answer);
        }
    }
    Some(answer)
}

fuzz_target!(|data: &[u8]| {
    let mut card = template().duplicate();
    card.power_on();
    let mut rsp = vec![0u8; 4096];
    let mut verified = false;
    let mut sm: Option<SmSession<TdesSuite>> = None;
    let mut rest = data;
    let mut ops = 0;
    while let [op, tail @ ..] = rest {
        ops += 1;
        if ops > 64 {
            break;
        }
        let tries_before = card.pin_tries_left();
        let (apdu, tail): (Vec<u8>, &[u8]) = match op % 8 {
            0..=4 => {
                let Some((&len, tail)) = tail.split_first() else { break };
                let len = usize::from(len).min(tail.len());
                (tail[..len].to_vec(), &tail[len..])
            }
            5 => (VERIFY_OK.to_vec(), tail),
            6 => {
                card.reset();
                verified = false;
                sm = None;
                rest = tail;
                continue;
            }
            7 if op & 0x80 != 0 => {
                sm = bac(&mut card, &mut rsp);
                rest = tail;
                continue;
            }
            _ => {
                // The cardholder data DF `5000`, by path from the MF.
                (vec![0x00, 0xA4, 0x08, 0x0C, 0x02, 0x50, 0x00], tail)
            }
        };
        rest = tail;
        let wrapped = op % 8 <= 4 && op & 0x80 != 0 && sm.is_some();
        let (n, sw) = match sm.as_mut().filter(|_| wrapped) {
            Some(session) => match protected(&mut card, session, &apdu, &mut rsp) {
                Some(answer) => {
                    let sw = u16::from_be_bytes([answer[answer.len() - 2], answer[answer.len() - 1]]);
                    (answer.len(), sw)
                }
                None => {
                    sm = None;
                    (2, 0x6988)
                }
            },
            None => {
                let n = card.process(&apdu, &mut rsp);
                (n, sw_of(&rsp, n))
            }
        };
        let ins = apdu.get(1).copied().unwrap_or(0);
        let cla = apdu.first().copied().unwrap_or(0);
        // The model of the PIN's verification state, from what the card answered.
        // A link of a command chain (CLA bit 10) is only stored and answered 9000; the command
        // runs when the last link arrives. An empty VERIFY reports the state: 9000 verified,
        // 63Cx not verified.
        if let Ok(cmd) = cardwire_apdu::Command::new_checked(&apdu[..]) {
            let (p1, p2) = (cmd.p1(), cmd.p2());
            let refused = sw >> 4 == 0x63C || sw == 0x6983;
            let last_link = !cmd.cla().chaining();
            match cmd.ins().0 {
                0x20 if last_link && p2 == 0x80 && p1 == 0x00 && sw == 0x9000 => verified = true,
                0x20 if last_link && p2 == 0x80 && p1 == 0x00 && refused => verified = false,
                0x20 if last_link && p2 == 0x80 && p1 == 0xFF && sw == 0x9000 => verified = false,
                0x24 if last_link && p2 == 0x80 && refused => verified = false,
                _ => {}
            }
        }
        // The PIN counter never goes up without a successful verification.
        let tries_after = card.pin_tries_left();
        if tries_after > tries_before {
            assert!(
                matches!(ins, 0x20 | 0x2C) && sw == 0x9000,
                "PIN counter rose {tries_before} -> {tries_after} after {apdu:02X?} answered {sw:04X}"
            );
        }
        assert_eq!(card.is_pin_verified(), verified, "verification state after {apdu:02X?}");
        // Nothing readable without the right security state.
        let data_returned = n > 2;
        if matches!(ins, 0xB0 | 0xB1 | 0xB2) && data_returned && (sw == 0x9000 || sw == 0x6282 || sw >> 8 == 0x61) {
            let channel = Cla(cla).channel();
            match card.current_ef_read_condition(channel) {
                Some(Condition::Pin) => assert!(verified, "PIN-protected data read without VERIFY: {apdu:02X?}"),
                // Under BAC, data that needs secure messaging is the point.
                Some(Condition::SecureMessaging) if wrapped => {}
                Some(Condition::SecureMessaging | Condition::Admin | Condition::Never) => {
                    panic!("protected data read without a secure channel: {apdu:02X?}")
                }
                _ => {}
            }
        }
        // A signature is 64 bytes of data (a chain link's 9000 carries none).
        if matches!(ins, 0x2A | 0x88) && sw == 0x9000 && data_returned {
            assert!(verified, "a signature without the PIN: {apdu:02X?}");
        }
    }
});
