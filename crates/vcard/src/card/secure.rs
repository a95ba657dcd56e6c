//! Secure channels of the virtual card: eMRTD Basic Access Control with 3DES secure messaging
//! (ICAO Doc 9303 Part 11 §4.3, §9.8) and GlobalPlatform SCP03 administration.
//!
//! A session belongs to one logical channel and to the application selected when it was
//! opened; selecting another DF or closing the channel ends it. Any secure messaging error
//! ends it too (the card answers `6987`/`6988` unprotected), as ICAO 9303-11 §9.8.4 requires.

use cardwire_apdu::{Cla, Command, CommandRepr, Ins, SecureMessaging, StatusWord};
use cardwire_sm::bac::{BacCard, BacKeys, MrzInfo};
use cardwire_sm::scp03::{Scp03Card, Scp03Session, StaticKeys};
use cardwire_sm::{CipherSuite, SmSession};
use zeroize::Zeroizing;

use super::command::{Arrival, Cmd, Reply};
use super::session::{ProtectedChain, Protection, Session};
use super::virtual_card::VirtualCard;

/// Re-encodes an owned command as APDU bytes (for the SM and PACE engines, which read whole
/// APDUs).
pub(super) fn encode(cmd: &Cmd) -> Option<Vec<u8>> {
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
                *slot = Some(Session::new(Protection::Bac(Box::new(session))));
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
                *slot = Some(Session::new(Protection::Scp03Pending(Box::new(scp))));
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

/// The most plain data a chain of protected commands may carry in all.
const MAX_PROTECTED_CHAIN: usize = 65_536;

/// Whether a wire command is protected: its class byte announces secure messaging (ISO/IEC
/// 7816-4 §5.4.1; GlobalPlatform's `84`), and it is not the plain GET RESPONSE that fetches the
/// rest of a protected response (§5.3.4).
pub(super) fn is_protected(wire: &[u8]) -> bool {
    match wire {
        [cla, ins, ..] => {
            let cla = Cla(*cla);
            cla.secure_messaging() != SecureMessaging::None
                && !(Ins(*ins) == Ins::GET_RESPONSE && cla.is_interindustry())
        }
        _ => false,
    }
}

/// A plain command on a channel whose secure channel is receiving a protected chain breaks
/// the chain off: the chain is discarded and the command refused with `6883` (last command of
/// the chain expected, ISO/IEC 7816-4 §5.3.3). A plain link cannot join a protected chain.
/// GET RESPONSE passes (it only fetches the rest of a response).
pub(super) fn breaks_protected_chain(card: &mut VirtualCard, wire: &[u8]) -> bool {
    let [cla, ins, ..] = wire else {
        return false;
    };
    let cla = Cla(*cla);
    if Ins(*ins) == Ins::GET_RESPONSE && cla.is_interindustry() {
        return false;
    }
    card.sessions
        .get_mut(usize::from(cla.channel()))
        .and_then(Option::as_mut)
        .and_then(|s| s.chain.take())
        .is_some()
}

/// The card side of a secure channel, as the link handling below needs it.
trait CardChannel {
    fn unwrap_command(
        &mut self,
        protected: &[u8],
        out: &mut [u8],
    ) -> Result<usize, cardwire_sm::Error>;
    fn wrap_response(
        &mut self,
        data: &[u8],
        sw: StatusWord,
        out: &mut [u8],
    ) -> Result<usize, cardwire_sm::Error>;
}

impl<S: CipherSuite> CardChannel for SmSession<S> {
    fn unwrap_command(
        &mut self,
        protected: &[u8],
        out: &mut [u8],
    ) -> Result<usize, cardwire_sm::Error> {
        SmSession::unwrap_command(self, protected, out)
    }
    fn wrap_response(
        &mut self,
        data: &[u8],
        sw: StatusWord,
        out: &mut [u8],
    ) -> Result<usize, cardwire_sm::Error> {
        SmSession::wrap_response(self, data, sw, out)
    }
}

impl CardChannel for Scp03Session {
    fn unwrap_command(
        &mut self,
        protected: &[u8],
        out: &mut [u8],
    ) -> Result<usize, cardwire_sm::Error> {
        Scp03Session::unwrap_command(self, protected, out)
    }
    fn wrap_response(
        &mut self,
        data: &[u8],
        sw: StatusWord,
        out: &mut [u8],
    ) -> Result<usize, cardwire_sm::Error> {
        Scp03Session::wrap_response(self, data, sw, out)
    }
}

/// What one verified link leads to: the plain answer to protect, whether the secure channel
/// lives on (a SELECT of another DF ends it), and the chain still being received.
struct LinkOutcome {
    reply: Reply,
    keep: bool,
    chain: Option<ProtectedChain>,
}

/// Handles one unwrapped (verified) link `plain` of a command that may be chained: a non-final
/// link (chaining bit set in its class byte) adds its data to the chain and is answered `9000`;
/// the final link, or a command on its own, runs the whole command.
fn handle_link(
    card: &mut VirtualCard,
    plain: &[u8],
    channel: u8,
    arrival: Arrival,
    chain: Option<ProtectedChain>,
) -> Result<LinkOutcome, StatusWord> {
    let repr = CommandRepr::parse(plain).map_err(|_| StatusWord::SM_DATA_OBJECTS_INCORRECT)?;
    let answer = |reply: Reply, chain: Option<ProtectedChain>| LinkOutcome {
        reply,
        keep: true,
        chain,
    };
    if repr.cla.chaining() {
        // A link that does not continue the chain starts a new one, as in plain chaining.
        let mut chain = chain
            .filter(|c| c.continues(&repr))
            .unwrap_or_else(|| ProtectedChain::new(&repr));
        if !chain.append(repr.data, MAX_PROTECTED_CHAIN) {
            return Ok(answer(Reply::sw(StatusWord::WRONG_LENGTH), None));
        }
        return Ok(answer(Reply::sw(StatusWord::SUCCESS), Some(chain)));
    }
    let data = match chain {
        None => repr.data.to_vec(),
        Some(c) if !c.continues(&repr) => {
            return Ok(answer(
                Reply::sw(StatusWord::LAST_COMMAND_OF_CHAIN_EXPECTED),
                None,
            ));
        }
        Some(mut c) => {
            if !c.append(repr.data, MAX_PROTECTED_CHAIN) {
                return Ok(answer(Reply::sw(StatusWord::WRONG_LENGTH), None));
            }
            core::mem::take(&mut *c.into_data())
        }
    };
    let inner = Cmd {
        cla: repr.cla,
        ins: repr.ins,
        p1: repr.p1,
        p2: repr.p2,
        data,
        ne: repr.ne,
        channel,
        arrival,
    };
    let epoch = card.session_epoch;
    let reply = card.execute(&inner);
    Ok(LinkOutcome {
        reply,
        keep: card.session_epoch == epoch,
        chain: None,
    })
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

/// Unwraps and verifies one protected wire command with `sm`, handles it as a link (see
/// [`handle_link`]) and protects the answer. Returns the protected answer and, when the
/// secure channel lives on, its chain; `None` ends the channel (a secure messaging error is
/// answered unprotected, ICAO 9303-11 §9.8.4).
fn protected_link<C: CardChannel>(
    card: &mut VirtualCard,
    sm: &mut C,
    wire: &[u8],
    channel: u8,
    arrival: Arrival,
    chain: Option<ProtectedChain>,
) -> (Reply, Option<Option<ProtectedChain>>) {
    let mut plain = Zeroizing::new(vec![0u8; wire.len() + 16]);
    let n = match sm.unwrap_command(wire, &mut plain) {
        Ok(n) => n,
        Err(e) => return (Reply::sw(e.card_status()), None),
    };
    let outcome = match handle_link(card, plain.get(..n).unwrap_or(&[]), channel, arrival, chain) {
        Ok(o) => o,
        Err(sw) => return (Reply::sw(sw), None),
    };
    let mut out = Zeroizing::new(vec![0u8; outcome.reply.data.len() + 64]);
    let wrapped = match sm.wrap_response(&outcome.reply.data, outcome.reply.sw, &mut out) {
        Ok(n) => out.get(..n).unwrap_or(&[]),
        Err(_) => return (Reply::sw(StatusWord::EXECUTION_ERROR), None),
    };
    (
        split_response(wrapped),
        outcome.keep.then_some(outcome.chain),
    )
}

/// A wire command whose CLA announces secure messaging. Each wire command is a complete
/// protected command–response pair, a link of a command chain included (ISO/IEC 7816-4 §10 and
/// §5.3.3; GlobalPlatform Card Specification Amendment D §6.2.4–§6.2.7; ICAO 9303-11 §9.8,
/// whose send sequence counter steps for every command and every response): the link is
/// unwrapped and its MAC verified as it arrives, its plain chaining bit decides whether it is
/// kept for the chain or completes the command, and every link gets a protected answer. A link
/// that fails verification ends the secure channel and discards the chain, so nothing of a
/// tampered chain is ever executed.
///
/// Returns the answer and the wire command's Ne.
pub(super) fn process_protected(card: &mut VirtualCard, wire: &[u8]) -> (Reply, u32) {
    let Ok(cmd) = Command::new_checked(wire) else {
        card.exchange.reset();
        return (Reply::sw(StatusWord::WRONG_LENGTH), 0);
    };
    let (cla, ne) = (cmd.cla(), cmd.ne());
    let channel = cla.channel();
    if !card.exchange.receive_whole(channel) {
        return (Reply::sw(StatusWord::LAST_COMMAND_OF_CHAIN_EXPECTED), ne);
    }
    let ch = usize::from(channel);
    let Some(session) = card.sessions.get_mut(ch).and_then(Option::take) else {
        return (Reply::sw(StatusWord::SM_DATA_OBJECTS_MISSING), ne);
    };
    let Session { protection, chain } = session;
    let (reply, kept) = match protection {
        Protection::Bac(mut sm) => {
            let (reply, chain) = protected_link(card, &mut *sm, wire, channel, Arrival::Bac, chain);
            (reply, chain.map(|chain| (Protection::Bac(sm), chain)))
        }
        Protection::Pace(mut sm) => {
            let (reply, chain) =
                protected_link(card, &mut *sm, wire, channel, Arrival::Pace, chain);
            (reply, chain.map(|chain| (Protection::Pace(sm), chain)))
        }
        Protection::Scp03(mut scp) => {
            let (reply, chain) =
                protected_link(card, &mut *scp, wire, channel, Arrival::Scp03, chain);
            (reply, chain.map(|chain| (Protection::Scp03(scp), chain)))
        }
        Protection::Scp03Pending(mut scp) => {
            // Only EXTERNAL AUTHENTICATE, whole, completes the opening; anything else ends it.
            if cmd.ins().0 != 0x82 || cla.chaining() {
                return (Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED), ne);
            }
            if let Err(sw) = card.scp03_tries.check() {
                return (Reply::sw(sw), ne);
            }
            match scp.external_authenticate(wire) {
                Ok(session) => {
                    if card.scp03_tries.left() != card.scp03_tries.limit() {
                        card.scp03_tries.succeeded();
                        if let Err(sw) = card.persist() {
                            return (Reply::sw(sw), ne);
                        }
                    }
                    (
                        Reply::sw(StatusWord::SUCCESS),
                        Some((Protection::Scp03(Box::new(session)), None)),
                    )
                }
                Err(_) => {
                    // Counted and saved before answering, as a PIN try is (GPC v2.3 §11.8.2:
                    // the card may block the key after failed authentications).
                    card.scp03_tries.failed();
                    if let Err(sw) = card.persist() {
                        return (Reply::sw(sw), ne);
                    }
                    if card.scp03_tries.is_blocked() {
                        (Reply::sw(StatusWord::AUTHENTICATION_METHOD_BLOCKED), None)
                    } else {
                        (Reply::sw(StatusWord::WARNING_NV_CHANGED), None)
                    }
                }
            }
        }
    };
    // Chip Authentication's answer went out under the old keys; the new ones take over now.
    let kept = match (kept, card.switch_session.take()) {
        (Some(_), Some(new)) => Some((Protection::Pace(new), None)),
        (kept, _) => kept,
    };
    if let (Some((protection, chain)), Some(slot)) = (kept, card.sessions.get_mut(ch)) {
        *slot = Some(Session { protection, chain });
    }
    (reply, ne)
}
