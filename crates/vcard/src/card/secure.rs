//! Secure channels of the virtual card: eMRTD Basic Access Control with 3DES secure messaging
//! (ICAO Doc 9303 Part 11 §4.3, §9.8) and GlobalPlatform SCP03 administration.
//!
//! A session belongs to one logical channel and to the application selected when it was
//! opened; selecting another DF or closing the channel ends it. Any secure messaging error
//! ends it too (the card answers `6987`/`6988` unprotected), as ICAO 9303-11 §9.8.4 requires.

use cardwire_apdu::{Cla, CommandRepr, StatusWord};
use cardwire_sm::bac::{BacCard, BacKeys, MrzInfo};
use cardwire_sm::scp03::{Scp03Card, StaticKeys};

use zeroize::Zeroizing;

use super::command::{Arrival, Cmd, Reply};
use super::session::Session;
use super::virtual_card::VirtualCard;

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
pub(super) fn bac_external_authenticate(card: &mut VirtualCard, cmd: &Cmd) -> Reply {
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

/// INITIALIZE UPDATE (GlobalPlatform Card Specification v2.3 §11.11; SCP03 Amendment D
/// §7.1.1): answers key diversification data, key information, card challenge and card
/// cryptogram; EXTERNAL AUTHENTICATE must follow on the same channel.
pub(super) fn initialize_update(card: &mut VirtualCard, cmd: &Cmd) -> Reply {
    if cmd.data.len() != 8 {
        return Reply::sw(StatusWord::WRONG_LENGTH);
    }
    // A blocked key set answers nothing a terminal could search it with.
    if let Err(sw) = card.scp03_tries.check() {
        return Reply::sw(sw);
    }
    let k = &card.scp03_keys;
    let Ok(keys) = StaticKeys::new(&k.enc, &k.mac, &k.dek) else {
        return Reply::sw(StatusWord::REFERENCE_DATA_NOT_USABLE);
    };
    let kvn = k.kvn;
    let mut diversification = [0u8; 10];
    diversification[..8].copy_from_slice(&card.identity().serial.0);
    let mut challenge = [0u8; 8];
    if let Err(sw) = card.random(&mut challenge) {
        return Reply::sw(sw);
    }
    let mut scp = Scp03Card::new(keys, kvn, diversification, challenge);
    let Some(raw) = encode(cmd) else {
        return Reply::sw(StatusWord::WRONG_LENGTH);
    };
    let mut out = [0u8; 40];
    match scp.initialize_update(&raw, &mut out) {
        Ok(n) => {
            if let Some(slot) = card.sessions.get_mut(usize::from(cmd.channel)) {
                *slot = Some(Session::Scp03Pending(Box::new(scp)));
            }
            Reply::ok(out.get(..n.saturating_sub(2)).unwrap_or(&[]).to_vec())
        }
        Err(cardwire_sm::Error::AuthenticationFailed) => {
            Reply::sw(StatusWord::REFERENCED_DATA_NOT_FOUND)
        }
        Err(_) => Reply::sw(StatusWord::INCORRECT_DATA),
    }
}

/// EXTERNAL AUTHENTICATE of SCP03 (GlobalPlatform Amendment D §7.1.2) sent without C-MAC
/// (CLA `80`): SCP03 always MACs it, so it is refused.
pub(super) fn scp03_external_authenticate(_card: &mut VirtualCard, _cmd: &Cmd) -> Reply {
    Reply::sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED)
}

/// Runs the unwrapped command and hands back its reply, keeping track of whether the command
/// ended the session (SELECT of another DF).
fn run_inner(
    card: &mut VirtualCard,
    plain: &[u8],
    channel: u8,
    arrival: Arrival,
) -> Result<(Reply, bool), StatusWord> {
    let repr = CommandRepr::parse(plain).map_err(|_| StatusWord::SM_DATA_OBJECTS_INCORRECT)?;
    let inner = Cmd {
        cla: Cla(repr.cla.0),
        ins: repr.ins,
        p1: repr.p1,
        p2: repr.p2,
        data: repr.data.to_vec(),
        ne: repr.ne,
        channel,
        arrival,
    };
    let epoch = card.session_epoch;
    let reply = card.execute(&inner);
    Ok((reply, card.session_epoch == epoch))
}

fn split_response(wrapped: &[u8]) -> Reply {
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

/// A command whose CLA announces secure messaging: unwrap with the channel's session, run it,
/// wrap the answer.
pub(super) fn process_protected(card: &mut VirtualCard, cmd: &Cmd) -> Reply {
    let ch = usize::from(cmd.channel);
    let Some(session) = card.sessions.get_mut(ch).and_then(Option::take) else {
        return Reply::sw(StatusWord::SM_DATA_OBJECTS_MISSING);
    };
    let Some(raw) = encode(cmd) else {
        return Reply::sw(StatusWord::SM_DATA_OBJECTS_INCORRECT);
    };
    match session {
        Session::Bac(mut sm) => {
            // The unwrapped command (a PIN, a new key): wiped when dropped.
            let mut plain = Zeroizing::new(vec![0u8; raw.len() + 16]);
            let n = match sm.unwrap_command(&raw, &mut plain) {
                Ok(n) => n,
                // The session is dropped (not put back): a new BAC is needed.
                Err(e) => return Reply::sw(e.card_status()),
            };
            let (reply, keep) = match run_inner(
                card,
                plain.get(..n).unwrap_or(&[]),
                cmd.channel,
                Arrival::Bac,
            ) {
                Ok(r) => r,
                Err(sw) => return Reply::sw(sw),
            };
            let mut out = Zeroizing::new(vec![0u8; reply.data.len() + 64]);
            let wrapped = match sm.wrap_response(&reply.data, reply.sw, &mut out) {
                Ok(n) => out.get(..n).unwrap_or(&[]).to_vec(),
                Err(_) => return Reply::sw(StatusWord::EXECUTION_ERROR),
            };
            if keep {
                if let Some(slot) = card.sessions.get_mut(ch) {
                    *slot = Some(Session::Bac(sm));
                }
            }
            split_response(&wrapped)
        }
        Session::Scp03Pending(mut scp) => {
            if cmd.ins.0 != 0x82 {
                return Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED);
            }
            if let Err(sw) = card.scp03_tries.check() {
                return Reply::sw(sw);
            }
            match scp.external_authenticate(&raw) {
                Ok(session) => {
                    if card.scp03_tries.left() != card.scp03_tries.limit() {
                        card.scp03_tries.succeeded();
                        if let Err(sw) = card.persist() {
                            return Reply::sw(sw);
                        }
                    }
                    if let Some(slot) = card.sessions.get_mut(ch) {
                        *slot = Some(Session::Scp03(Box::new(session)));
                    }
                    Reply::sw(StatusWord::SUCCESS)
                }
                Err(_) => {
                    // Counted and saved before answering, as a PIN try is (GPC v2.3 §11.8.2:
                    // the card may block the key after failed authentications).
                    card.scp03_tries.failed();
                    if let Err(sw) = card.persist() {
                        return Reply::sw(sw);
                    }
                    if card.scp03_tries.is_blocked() {
                        Reply::sw(StatusWord::AUTHENTICATION_METHOD_BLOCKED)
                    } else {
                        Reply::sw(StatusWord::WARNING_NV_CHANGED)
                    }
                }
            }
        }
        Session::Scp03(mut scp) => {
            // The unwrapped command (a PIN, a new key): wiped when dropped.
            let mut plain = Zeroizing::new(vec![0u8; raw.len() + 16]);
            let n = match scp.unwrap_command(&raw, &mut plain) {
                Ok(n) => n,
                Err(e) => return Reply::sw(e.card_status()),
            };
            let (reply, keep) = match run_inner(
                card,
                plain.get(..n).unwrap_or(&[]),
                cmd.channel,
                Arrival::Scp03,
            ) {
                Ok(r) => r,
                Err(sw) => return Reply::sw(sw),
            };
            let mut out = Zeroizing::new(vec![0u8; reply.data.len() + 64]);
            let wrapped = match scp.wrap_response(&reply.data, reply.sw, &mut out) {
                Ok(n) => out.get(..n).unwrap_or(&[]).to_vec(),
                Err(_) => return Reply::sw(StatusWord::EXECUTION_ERROR),
            };
            if keep {
                if let Some(slot) = card.sessions.get_mut(ch) {
                    *slot = Some(Session::Scp03(scp));
                }
            }
            split_response(&wrapped)
        }
    }
}
