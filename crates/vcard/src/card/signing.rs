//! Signing: MANAGE SECURITY ENVIRONMENT, PSO: COMPUTE DIGITAL SIGNATURE and INTERNAL
//! AUTHENTICATE (ISO/IEC 7816-8 §5.4, §5.6; ISO/IEC 7816-4 §11.5.2, §11.5.11).

use cardwire_apdu::StatusWord;
use cardwire_tlv::{Mode, Options, Tag};
use p256::ecdsa::signature::hazmat::PrehashSigner;

use crate::personalise::{ALG_ECDSA_SHA256, KEY_REFERENCE};

use super::command::{Cmd, Reply};
use super::virtual_card::VirtualCard;

impl VirtualCard {
    pub(super) fn mse(&mut self, cmd: &Cmd) -> Reply {
        if cmd.p1 != 0x41 {
            return Reply::sw(StatusWord::INCORRECT_P1_P2);
        }
        if cmd.p2 != 0xB6 && cmd.p2 != 0xA4 {
            return Reply::sw(StatusWord::INCORRECT_P1_P2);
        }
        let mut alg = None;
        let mut key = None;
        // The control reference template's data objects (ISO/IEC 7816-4 §7.5.11, table 63):
        // `80` algorithm and `84` key reference, one byte each; others are ignored.
        let Ok(objects) = cardwire_tlv::parse_all(&cmd.data, Options::new().with_mode(Mode::Iso))
        else {
            return Reply::sw(StatusWord::INCORRECT_DATA);
        };
        for object in objects {
            match (object.tag(), object.value()) {
                (Tag(0x80), [a]) => alg = Some(*a),
                (Tag(0x84), [k]) => key = Some(*k),
                (Tag(0x80 | 0x84), _) => return Reply::sw(StatusWord::INCORRECT_DATA),
                _ => {}
            }
        }
        if alg.is_some_and(|a| a != ALG_ECDSA_SHA256) {
            return Reply::sw(StatusWord::INCORRECT_DATA);
        }
        if key != Some(KEY_REFERENCE) {
            return Reply::sw(StatusWord::REFERENCED_DATA_NOT_FOUND);
        }
        if cmd.p2 == 0xB6 {
            self.se.signing_key_set = true;
        } else {
            self.se.auth_key_set = true;
        }
        Reply::sw(StatusWord::SUCCESS)
    }

    pub(super) fn sign(&mut self, digest: &[u8]) -> Reply {
        if digest.len() != 32 {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        if !self.pin_verified {
            return Reply::sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let sig: p256::ecdsa::Signature = match self.identity.signing_key().sign_prehash(digest) {
            Ok(s) => s,
            Err(_) => return Reply::sw(StatusWord::EXECUTION_ERROR),
        };
        self.signature_count = self.signature_count.wrapping_add(1);
        if let Err(sw) = self.persist() {
            return Reply::sw(sw);
        }
        Reply::ok(sig.to_bytes().to_vec())
    }

    pub(super) fn pso(&mut self, cmd: &Cmd) -> Reply {
        if (cmd.p1, cmd.p2) != (0x9E, 0x9A) {
            return Reply::sw(StatusWord::INCORRECT_P1_P2);
        }
        if !self.se.signing_key_set {
            return Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED);
        }
        self.sign(&cmd.data.clone())
    }

    pub(super) fn internal_authenticate(&mut self, cmd: &Cmd) -> Reply {
        if cmd.p1 != 0x00 || (cmd.p2 != 0x00 && cmd.p2 != KEY_REFERENCE) {
            return Reply::sw(StatusWord::INCORRECT_P1_P2);
        }
        if cmd.p2 == 0x00 && !self.se.auth_key_set {
            return Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED);
        }
        self.sign(&cmd.data.clone())
    }
}
