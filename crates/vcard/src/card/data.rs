//! Data objects and challenges: GET DATA and GET CHALLENGE (ISO/IEC 7816-4 §11.4.3,
//! §11.5.3).

use cardwire_apdu::StatusWord;
use cardwire_tlv::{Builder, Tag};

use super::command::{Cmd, Reply};
use super::virtual_card::VirtualCard;

impl VirtualCard {
    pub(super) fn get_data(&mut self, cmd: &Cmd) -> Reply {
        if !cmd.data.is_empty() {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        let tag = u16::from_be_bytes([cmd.p1, cmd.p2]);
        let value: Vec<u8> = match tag {
            0x5F20 => self.identity.name.as_bytes().to_vec(),
            0xDF20 => self.identity.user_id.digits().into_bytes(),
            0xDF21 => self.identity.serial.0.to_vec(),
            0xDF22 => self.signature_count.to_be_bytes().to_vec(),
            0x7F66 => {
                let nc = u16::try_from(crate::atr::MAX_COMMAND_APDU).unwrap_or(u16::MAX);
                let ne = u16::try_from(crate::atr::MAX_RESPONSE_APDU).unwrap_or(u16::MAX);
                let mut ext = Builder::new();
                let built = ext
                    .primitive(Tag(0x02), &nc.to_be_bytes())
                    .and_then(|b| b.primitive(Tag(0x02), &ne.to_be_bytes()));
                if built.is_err() {
                    return Reply::sw(StatusWord::EXECUTION_ERROR);
                }
                ext.finish()
            }
            _ => return Reply::sw(StatusWord::REFERENCED_DATA_NOT_FOUND),
        };
        let mut out = Vec::new();
        match cardwire_tlv::write_tlv(&mut out, Tag(u32::from(tag)), &value) {
            Ok(()) => Reply::ok(out),
            Err(_) => Reply::sw(StatusWord::EXECUTION_ERROR),
        }
    }

    pub(super) fn get_challenge(&mut self, cmd: &Cmd) -> Reply {
        if cmd.p1 != 0 || cmd.p2 != 0 {
            return Reply::sw(StatusWord::INCORRECT_P1_P2);
        }
        if !cmd.data.is_empty() {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        let n = usize::try_from(cmd.ne).unwrap_or(0);
        if n == 0 || (n > 32 && n != 256) {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        let n = n.min(32);
        let mut out = vec![0u8; n];
        if let Err(sw) = self.random(&mut out) {
            return Reply::sw(sw);
        }
        let mut first = [0u8; 8];
        if let Some(head) = out.get(..8) {
            first.copy_from_slice(head);
            self.challenge = Some(first);
        }
        Reply::ok(out)
    }
}
