//! Secure channels of the virtual card: eMRTD Basic Access Control with 3DES secure messaging
//! (ICAO Doc 9303 Part 11 §4.3, §9.8) and GlobalPlatform SCP03 administration.
//!
//! A session belongs to one logical channel and to the application selected when it was
//! opened; selecting another DF or closing the channel ends it. Any secure messaging error
//! ends it too (the card answers `6987`/`6988` unprotected), as ICAO 9303-11 §9.8.4 requires.

use cardwire_apdu::{Cla, CommandRepr, StatusWord};
use cardwire_sm::bac::{BacCard, BacKeys, MrzInfo};
use cardwire_sm::{SmSession, TdesSuite};

use crate::card::{Arrival, Cmd, Reply, VirtualCard};

/// A secure channel on one logical channel.
pub(crate) enum Session {
    /// eMRTD BAC done: 3DES secure messaging.
    Bac(Box<SmSession<TdesSuite>>),
}

/// Re-encodes an owned command as APDU bytes (for the SM engine, which reads whole APDUs).
fn encode(cmd: &Cmd) -> Option<Vec<u8>> {
    CommandRepr {
        cla: cmd.cla,
        ins: cmd.ins,
        p1: cmd.p1,
        p2: cmd.p2,
        data: &cmd.data,
        ne: cmd.ne,
    }
    .to_vec()
    .ok()
}

/// EXTERNAL AUTHENTICATE of BAC, in the eMRTD application after GET CHALLENGE (ICAO 9303-11
/// §4.3.4). Answers E_IC ‖ M_IC, or `6300` when the terminal's cryptogram is wrong.
pub(crate) fn bac_external_authenticate(card: &mut VirtualCard, cmd: &Cmd) -> Reply {
    if !card.emrtd_selected(cmd.channel) {
        return Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED);
    }
    let Some(rnd_ic) = card.challenge.take() else {
        return Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED);
    };
    if cmd.data.len() != 40 {
        return Reply::sw(StatusWord::WRONG_LENGTH);
    }
    let mrz = &card.mrz;
    let Ok(info) = MrzInfo::new(&mrz.document_number, &mrz.birth_date, &mrz.expiry_date) else {
        return Reply::sw(StatusWord::REFERENCE_DATA_NOT_USABLE);
    };
    let mut k_ic = [0u8; 16];
    if let Err(sw) = card.random(&mut k_ic) {
        return Reply::sw(sw);
    }
    let mut bac = BacCard::new(BacKeys::from_mrz(&info), rnd_ic, k_ic);
    let Some(raw) = encode(cmd) else {
        return Reply::sw(StatusWord::WRONG_LENGTH);
    };
    let mut out = [0u8; 42];
    match bac.external_authenticate(&raw, &mut out) {
        Ok(session) => {
            if let Some(slot) = card.sessions.get_mut(usize::from(cmd.channel)) {
                *slot = Some(Session::Bac(Box::new(session)));
            }
            Reply::ok(out.get(..40).unwrap_or(&[]).to_vec())
        }
        Err(_) => Reply::sw(StatusWord::WARNING_NV_CHANGED),
    }
}

/// INITIALIZE UPDATE (GlobalPlatform Card Specification §11.11; SCP03 Amendment D §7.1.1).
pub(crate) fn initialize_update(_card: &mut VirtualCard, _cmd: &Cmd) -> Reply {
    Reply::sw(StatusWord::INS_NOT_SUPPORTED)
}

/// EXTERNAL AUTHENTICATE of SCP03 (GlobalPlatform Amendment D §7.1.2).
pub(crate) fn scp03_external_authenticate(_card: &mut VirtualCard, _cmd: &Cmd) -> Reply {
    Reply::sw(StatusWord::INS_NOT_SUPPORTED)
}

/// A command whose CLA announces secure messaging: unwrap with the channel's session, run it,
/// wrap the answer.
pub(crate) fn process_protected(card: &mut VirtualCard, cmd: &Cmd) -> Reply {
    let ch = usize::from(cmd.channel);
    let Some(session) = card.sessions.get_mut(ch).and_then(Option::take) else {
        return Reply::sw(StatusWord::SM_DATA_OBJECTS_MISSING);
    };
    let Some(raw) = encode(cmd) else {
        return Reply::sw(StatusWord::SM_DATA_OBJECTS_INCORRECT);
    };
    match session {
        Session::Bac(mut sm) => {
            let mut plain = vec![0u8; raw.len() + 16];
            let n = match sm.unwrap_command(&raw, &mut plain) {
                Ok(n) => n,
                // The session is dropped (not put back): a new BAC is needed.
                Err(e) => return Reply::sw(StatusWord(e.card_status())),
            };
            let Ok(repr) = CommandRepr::parse(plain.get(..n).unwrap_or(&[])) else {
                return Reply::sw(StatusWord::SM_DATA_OBJECTS_INCORRECT);
            };
            let inner = Cmd {
                cla: Cla(repr.cla.0),
                ins: repr.ins,
                p1: repr.p1,
                p2: repr.p2,
                data: repr.data.to_vec(),
                ne: repr.ne,
                channel: cmd.channel,
                arrival: Arrival::Bac,
            };
            let epoch = card.session_epoch;
            let reply = card.execute(&inner);
            let mut out = vec![0u8; reply.data.len() + 64];
            let wrapped = match sm.wrap_response(&reply.data, reply.sw.0, &mut out) {
                Ok(n) => out.get(..n).unwrap_or(&[]).to_vec(),
                Err(_) => return Reply::sw(StatusWord::EXECUTION_ERROR),
            };
            // Keep the session unless the command ended it (SELECT of another DF).
            if card.session_epoch == epoch {
                if let Some(slot) = card.sessions.get_mut(ch) {
                    *slot = Some(Session::Bac(sm));
                }
            }
            let (data, sw) = wrapped.split_at(wrapped.len().saturating_sub(2));
            let sw = match sw {
                [a, b] => StatusWord::new(*a, *b),
                _ => StatusWord::EXECUTION_ERROR,
            };
            Reply {
                data: data.to_vec(),
                sw,
            }
        }
    }
}
