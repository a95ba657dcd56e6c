//! Files: SELECT, READ/UPDATE BINARY and READ RECORD (ISO/IEC 7816-4 §11.1, §11.2, §11.3,
//! §11.4).

use cardwire_apdu::StatusWord;
use cardwire_tlv::Tag;

use crate::fs::{Body, Fid, NodeId};

use super::command::{Cmd, Reply};
use super::selection::Channel;
use super::virtual_card::VirtualCard;

impl VirtualCard {
    pub(super) fn select(&mut self, cmd: &Cmd) -> Reply {
        let ch = self.channel(cmd.channel);
        let data = cmd.data.as_slice();
        let fid = |d: &[u8]| match d {
            [a, b] => Some(Fid(u16::from_be_bytes([*a, *b]))),
            _ => None,
        };
        let target = match cmd.p1 {
            0x00 => {
                if data.is_empty() || data == [0x3F, 0x00] {
                    Some(NodeId::MF)
                } else {
                    let Some(f) = fid(data) else {
                        return Reply::sw(StatusWord::WRONG_LENGTH);
                    };
                    // Children of the current DF, then the current DF's parent's children
                    // (siblings), as 7816-4 §7.1.1 allows.
                    self.fs.child_by_fid(ch.df, f).or_else(|| {
                        let parent = self.fs.node(ch.df)?.parent?;
                        self.fs.child_by_fid(parent, f)
                    })
                }
            }
            0x01 | 0x02 => {
                let Some(f) = fid(data) else {
                    return Reply::sw(StatusWord::WRONG_LENGTH);
                };
                let found = self.fs.child_by_fid(ch.df, f);
                let want_df = cmd.p1 == 0x01;
                found.filter(|id| self.fs.node(*id).is_some_and(|n| n.is_df() == want_df))
            }
            0x03 => {
                if !data.is_empty() {
                    return Reply::sw(StatusWord::WRONG_LENGTH);
                }
                Some(
                    self.fs
                        .node(ch.df)
                        .and_then(|n| n.parent)
                        .unwrap_or(NodeId::MF),
                )
            }
            0x04 => {
                if data.is_empty() || data.len() > 16 {
                    return Reply::sw(StatusWord::WRONG_LENGTH);
                }
                match cmd.p2 & 0x03 {
                    0x00 => self
                        .fs
                        .find_aid(data, false)
                        .or_else(|| self.fs.find_aid(data, true)),
                    _ => return Reply::sw(StatusWord::FUNCTION_NOT_SUPPORTED),
                }
            }
            0x08 => self.fs.resolve_path(NodeId::MF, data),
            0x09 => self.fs.resolve_path(ch.df, data),
            _ => return Reply::sw(StatusWord::INCORRECT_P1_P2),
        };
        let Some(target) = target else {
            return Reply::sw(StatusWord::FILE_NOT_FOUND);
        };
        let Some(node) = self.fs.node(target) else {
            return Reply::sw(StatusWord::FILE_NOT_FOUND);
        };
        let new = if node.is_df() {
            // Leaving an application ends its secure channel (ICAO 9303-11 §9.8.6.1), except
            // PACE's: opened at the MF, it protects the SELECT of the eMRTD application that
            // follows it (§4.4).
            let pace_into_emrtd = cmd.arrival == super::command::Arrival::Pace
                && ch.df == NodeId::MF
                && self
                    .fs
                    .node(target)
                    .is_some_and(|n| n.fid == crate::personalise::DF_EMRTD);
            if target != ch.df && !pace_into_emrtd {
                if let Some(s) = self.sessions.get_mut(usize::from(cmd.channel)) {
                    *s = None;
                }
                self.session_epoch += 1;
            }
            Channel {
                df: target,
                ef: None,
            }
        } else {
            Channel {
                df: node.parent.unwrap_or(NodeId::MF),
                ef: Some(target),
            }
        };
        let reply = match cmd.p2 & 0xFC {
            0x00 | 0x04 => match self.fs.fcp(target) {
                Ok(fcp) => Reply::ok(fcp),
                Err(_) => return Reply::sw(StatusWord::EXECUTION_ERROR),
            },
            0x0C => Reply::sw(StatusWord::SUCCESS),
            _ => return Reply::sw(StatusWord::INCORRECT_P1_P2),
        };
        self.set_channel(cmd.channel, new);
        reply
    }

    /// Resolves the EF a READ/UPDATE BINARY addresses and its offset; odd INS data is parsed
    /// by the caller. Selects it as the current EF.
    pub(super) fn binary_target(&mut self, cmd: &Cmd) -> Result<(NodeId, usize), StatusWord> {
        let ch = self.channel(cmd.channel);
        let odd = cmd.ins.is_odd();
        let (ef, offset) = if odd {
            // P1-P2: 0000 current EF; 00xx with xx an SFI (1..=30); otherwise a FID.
            let p1p2 = u16::from_be_bytes([cmd.p1, cmd.p2]);
            let ef = if p1p2 == 0 {
                ch.ef.ok_or(StatusWord::NO_CURRENT_EF)?
            } else if cmd.p1 == 0 && (1..=30).contains(&cmd.p2) {
                self.fs
                    .child_by_sfi(ch.df, cmd.p2)
                    .ok_or(StatusWord::FILE_NOT_FOUND)?
            } else {
                self.fs
                    .child_by_fid(ch.df, Fid(p1p2))
                    .ok_or(StatusWord::FILE_NOT_FOUND)?
            };
            (ef, 0)
        } else if cmd.p1 & 0x80 != 0 {
            if cmd.p1 & 0x60 != 0 {
                return Err(StatusWord::INCORRECT_P1_P2);
            }
            let sfi = cmd.p1 & 0x1F;
            let ef = self
                .fs
                .child_by_sfi(ch.df, sfi)
                .ok_or(StatusWord::FILE_NOT_FOUND)?;
            (ef, usize::from(cmd.p2))
        } else {
            let ef = ch.ef.ok_or(StatusWord::NO_CURRENT_EF)?;
            (ef, usize::from(u16::from_be_bytes([cmd.p1, cmd.p2])))
        };
        let node = self.fs.node(ef).ok_or(StatusWord::FILE_NOT_FOUND)?;
        if !matches!(node.body, Body::Transparent(_)) {
            return Err(StatusWord::INCOMPATIBLE_FILE_STRUCTURE);
        }
        self.set_channel(
            cmd.channel,
            Channel {
                df: ch.df,
                ef: Some(ef),
            },
        );
        Ok((ef, offset))
    }

    pub(super) fn read_binary(&mut self, cmd: &Cmd) -> Reply {
        let odd = cmd.ins.is_odd();
        let (ef, mut offset) = match self.binary_target(cmd) {
            Ok(t) => t,
            Err(sw) => return Reply::sw(sw),
        };
        if odd {
            match parse_offset(&cmd.data) {
                Some(o) => offset = o,
                None => return Reply::sw(StatusWord::INCORRECT_DATA),
            }
        } else if !cmd.data.is_empty() {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        let Some(node) = self.fs.node(ef) else {
            return Reply::sw(StatusWord::FILE_NOT_FOUND);
        };
        if !self.allowed(node.access.read, cmd.arrival) {
            return Reply::sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let Body::Transparent(bytes) = &node.body else {
            return Reply::sw(StatusWord::INCOMPATIBLE_FILE_STRUCTURE);
        };
        if cmd.ne == 0 {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        if offset > bytes.len() {
            return Reply::sw(StatusWord::INCORRECT_P1_P2);
        }
        // An Ne beyond what the card announces (EF.ATR/INFO `7F66`, [`crate::atr::MAX_NE`]) is
        // a wrong length (ISO/IEC 7816-4 §5.1, `6700`), not an answer cut short with 9000.
        // Le `00`/`0000` (Ne 256/65 536) means "as many as available": up to the maximum.
        if cmd.ne > u32::try_from(crate::atr::MAX_NE).unwrap_or(u32::MAX)
            && cmd.ne != 256
            && cmd.ne != 65_536
        {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        // Odd INS wraps the data in DO 53 (up to 4 header bytes): leave room for it.
        let limit = usize::try_from(cmd.ne)
            .unwrap_or(usize::MAX)
            .min(crate::atr::MAX_NE.max(256));
        let limit = if odd { odd_data_room(limit) } else { limit };
        let rest = bytes.get(offset..).unwrap_or(&[]);
        let chunk = rest.get(..limit.min(rest.len())).unwrap_or(rest);
        let short = chunk.len() < usize::try_from(cmd.ne).unwrap_or(usize::MAX) && !odd;
        let data = if odd {
            let mut out = Vec::with_capacity(chunk.len() + 4);
            if cardwire_tlv::write_tlv(&mut out, Tag(0x53), chunk).is_err() {
                return Reply::sw(StatusWord::EXECUTION_ERROR);
            }
            out
        } else {
            chunk.to_vec()
        };
        Reply {
            data,
            // End of file reached before Ne bytes (§11.3.3): 6282.
            sw: if short && offset + chunk.len() == bytes.len() && cmd.ne != 256 && cmd.ne != 65_536
            {
                StatusWord::END_OF_FILE
            } else {
                StatusWord::SUCCESS
            },
        }
    }

    pub(super) fn update_binary(&mut self, cmd: &Cmd) -> Reply {
        let odd = cmd.ins.is_odd();
        let (ef, mut offset) = match self.binary_target(cmd) {
            Ok(t) => t,
            Err(sw) => return Reply::sw(sw),
        };
        let data: &[u8] = if odd {
            let Some((o, d)) = parse_offset_and_data(&cmd.data) else {
                return Reply::sw(StatusWord::INCORRECT_DATA);
            };
            offset = o;
            d
        } else {
            &cmd.data
        };
        if data.is_empty() {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        let allowed = match self.fs.node(ef) {
            Some(node) => self.allowed(node.access.update, cmd.arrival),
            None => return Reply::sw(StatusWord::FILE_NOT_FOUND),
        };
        if !allowed {
            return Reply::sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let Some(Body::Transparent(bytes)) = self.fs.node_mut(ef).map(|n| &mut n.body) else {
            return Reply::sw(StatusWord::INCOMPATIBLE_FILE_STRUCTURE);
        };
        let Some(end) = offset.checked_add(data.len()) else {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        };
        let Some(target) = bytes.get_mut(offset..end) else {
            // Files have a fixed size; writing past the end is refused (§11.3.5).
            return Reply::sw(StatusWord::WRONG_LENGTH);
        };
        let old = target.to_vec();
        target.copy_from_slice(data);
        if let Err(sw) = self.persist() {
            // Undo in memory so RAM and the state file agree.
            if let Some(Body::Transparent(bytes)) = self.fs.node_mut(ef).map(|n| &mut n.body) {
                if let Some(t) = bytes.get_mut(offset..end) {
                    t.copy_from_slice(&old);
                }
            }
            return Reply::sw(sw);
        }
        Reply::sw(StatusWord::SUCCESS)
    }

    pub(super) fn read_record(&mut self, cmd: &Cmd) -> Reply {
        if !cmd.data.is_empty() {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        if cmd.p2 & 0x07 != 0x04 || cmd.p1 == 0 || cmd.p1 == 0xFF {
            return Reply::sw(StatusWord::INCORRECT_P1_P2);
        }
        let ch = self.channel(cmd.channel);
        let sfi = cmd.p2 >> 3;
        let ef = if sfi == 0 {
            match ch.ef {
                Some(ef) => ef,
                None => return Reply::sw(StatusWord::NO_CURRENT_EF),
            }
        } else {
            match self.fs.child_by_sfi(ch.df, sfi) {
                Some(ef) => ef,
                None => return Reply::sw(StatusWord::FILE_NOT_FOUND),
            }
        };
        let Some(node) = self.fs.node(ef) else {
            return Reply::sw(StatusWord::FILE_NOT_FOUND);
        };
        let Body::Records(records) = &node.body else {
            return Reply::sw(StatusWord::INCOMPATIBLE_FILE_STRUCTURE);
        };
        if !self.allowed(node.access.read, cmd.arrival) {
            return Reply::sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let Some(record) = records.get(usize::from(cmd.p1) - 1) else {
            return Reply::sw(StatusWord::RECORD_NOT_FOUND);
        };
        let record = record.clone();
        self.set_channel(
            cmd.channel,
            Channel {
                df: ch.df,
                ef: Some(ef),
            },
        );
        Reply::ok(record)
    }
}

/// How many content bytes fit a DO `53` within `ne` bytes (header 2, 3 or 4 bytes).
fn odd_data_room(ne: usize) -> usize {
    if ne >= 256 + 4 {
        ne - 4
    } else if ne >= 128 + 3 {
        (ne - 3).min(255)
    } else {
        ne.saturating_sub(2).min(127)
    }
}

/// The offset DO `54` of an odd-INS READ BINARY (1 to 3 bytes, big-endian).
fn parse_offset(data: &[u8]) -> Option<usize> {
    match data {
        [0x54, len @ 1..=3, rest @ ..] if rest.len() == usize::from(*len) => Some(
            rest.iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
        ),
        _ => None,
    }
}

/// The offset DO `54` and discretionary data DO `53` of an odd-INS UPDATE BINARY.
fn parse_offset_and_data(data: &[u8]) -> Option<(usize, &[u8])> {
    let [0x54, len @ 1..=3, rest @ ..] = data else {
        return None;
    };
    let n = usize::from(*len);
    let offset = parse_offset(data.get(..2 + n)?)?;
    let rest = rest.get(n..)?;
    let (value, tail) = match rest {
        [0x53, l @ 0..=0x7F, v @ ..] => v.split_at_checked(usize::from(*l))?,
        [0x53, 0x81, l, v @ ..] => v.split_at_checked(usize::from(*l))?,
        [0x53, 0x82, h, l, v @ ..] => {
            v.split_at_checked(usize::from(u16::from_be_bytes([*h, *l])))?
        }
        _ => return None,
    };
    if !tail.is_empty() {
        return None;
    }
    Some((offset, value))
}

#[cfg(test)]
mod tests {
    // Test code: a failed expectation is a panic by design.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

    use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
    use cardwire_transport::{CardHandler, InProcess, NoSecureChannel};

    use super::*;
    use crate::Seed;
    use crate::fs::Access;

    type Session = cardwire_transport::Card<InProcess<VirtualCard>, NoSecureChannel, 4200>;

    /// The virtual card with public transparent EFs `6002` (2 KB) and `6009` (9 KB) in the MF.
    fn card_with_large_files() -> (VirtualCard, Vec<u8>, Vec<u8>) {
        let mut card = VirtualCard::new(&Seed::DEFAULT).unwrap();
        let two: Vec<u8> = (0..2048u32).map(|i| (i * 7 % 253) as u8).collect();
        let nine: Vec<u8> = (0..9216u32).map(|i| (i * 11 % 251) as u8).collect();
        for (fid, data) in [(0x6002, &two), (0x6009, &nine)] {
            card.fs
                .add_transparent(NodeId::MF, Fid(fid), None, Access::PUBLIC, data.clone())
                .unwrap();
        }
        (card, two, nine)
    }

    fn select(session: &mut Session, fid: u16) {
        let fid = fid.to_be_bytes();
        let cmd = CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x00, 0x0C).with_data(&fid);
        let sw = session.transmit(&cmd, &mut [0u8; 258]).unwrap().sw();
        assert_eq!(sw, StatusWord::SUCCESS);
    }

    #[test]
    fn a_host_reads_2_and_9_kilobyte_files_whole_as_announced() {
        let (card, two, nine) = card_with_large_files();
        let mut session = Session::open_typed(InProcess::new(card)).unwrap();
        // The ATR says EF.ATR/INFO has the length information: the host reads it.
        assert!(session.capabilities().ef_atr_length_info);
        assert!(session.read_ef_atr().unwrap());
        let caps = *session.capabilities();
        assert!(caps.extended_length);
        assert_eq!(caps.max_response_data, crate::atr::MAX_NE as u32);
        assert_eq!(usize::from(caps.max_command_data), crate::atr::MAX_NC);
        let mut buf = vec![0u8; 10_000];
        for (fid, content) in [(0x6002, &two), (0x6009, &nine)] {
            select(&mut session, fid);
            let (data, sw) = session.read_binary(0, content.len(), &mut buf).unwrap();
            assert_eq!(sw, StatusWord::SUCCESS, "{fid:04X}");
            assert_eq!(data, &content[..], "{fid:04X}");
            // Asking past the end: the whole file and 6282.
            let (data, sw) = session
                .read_binary(0, content.len() + 10, &mut buf)
                .unwrap();
            assert_eq!((data.len(), sw), (content.len(), StatusWord::END_OF_FILE));
        }
    }

    #[test]
    fn an_ne_beyond_the_announced_maximum_is_a_wrong_length() {
        let (card, _, nine) = card_with_large_files();
        let mut t = InProcess::new(card);
        let mut rsp = vec![0u8; 70_000];
        let mut run = |t: &mut InProcess<VirtualCard>, apdu: &[u8]| -> Vec<u8> {
            let n = t.handler_mut().process(apdu, &mut rsp);
            rsp[..n].to_vec()
        };
        use cardwire_transport::Transport as _;
        t.reset().unwrap();
        assert_eq!(run(&mut t, &[0, 0xA4, 0, 0x0C, 2, 0x60, 0x09]), [0x90, 0]);
        // Ne 5 000 > 4 096: 6700, not 4 096 bytes and 9000.
        assert_eq!(run(&mut t, &[0, 0xB0, 0, 0, 0, 0x13, 0x88]), [0x67, 0x00]);
        // Ne 4 096: served.
        let r = run(&mut t, &[0, 0xB0, 0, 0, 0, 0x10, 0x00]);
        assert_eq!(&r[..4096], &nine[..4096]);
        assert_eq!(&r[4096..], [0x90, 0]);
        // Le 0000 (as many as available): up to the maximum.
        let r = run(&mut t, &[0, 0xB0, 0, 0, 0, 0, 0]);
        assert_eq!(r.len(), 4096 + 2);
    }
}
