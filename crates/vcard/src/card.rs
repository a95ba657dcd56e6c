//! The card operating system: [`VirtualCard`], a [`CardHandler`] in the ISO/IEC 7816-4 style.
//!
//! Commands (all on logical channels 0–3, CLA `0X`, or `8X` for GlobalPlatform):
//!
//! | INS | command | notes |
//! |---|---|---|
//! | `70` | MANAGE CHANNEL | open (P1 `00`, card-assigned or P2 = channel), close (P1 `80`) |
//! | `A4` | SELECT | P1 `00` FID/MF, `01` child DF, `02` EF, `03` parent, `04` DF name (full or partial), `08`/`09` path; P2 `00`/`04` FCP, `0C` none |
//! | `B0`/`B1` | READ BINARY | short/extended; SFI in P1; odd INS with offset DO `54`, answer in DO `53` |
//! | `D6`/`D7` | UPDATE BINARY | as READ BINARY; odd INS data `54` offset, `53` data |
//! | `B2` | READ RECORD | P1 record number, P2 SFI ‖ `100` |
//! | `CA` | GET DATA | `5F20` name, `DF20` user ID, `DF21` card serial, `DF22` signature counter, `7F66` extended length info; answer is the whole data object |
//! | `84` | GET CHALLENGE | 1–32 random bytes |
//! | `20` | VERIFY | P2 `81` PIN, `82` PUK; empty data: status; P1 `FF`: un-verify |
//! | `24` | CHANGE REFERENCE DATA | P1 `00`, old ‖ new (8 + 8 bytes) |
//! | `2C` | RESET RETRY COUNTER | P1 `00` PUK ‖ new PIN, `01` PUK; under SCP03 also `02` new PIN, `03` |
//! | `22` | MANAGE SECURITY ENVIRONMENT | P1 `41`, P2 `B6` (DST) or `A4` (AT): `80` algorithm `11`, `84` key `01` |
//! | `2A` | PSO: COMPUTE DIGITAL SIGNATURE | P1P2 `9E9A`, data = SHA-256 digest (32 bytes) |
//! | `88` | INTERNAL AUTHENTICATE | data = SHA-256 digest (32 bytes) |
//! | `82` | EXTERNAL AUTHENTICATE | eMRTD BAC (ICAO 9303-11 §4.3) / SCP03 (CLA `84`) |
//! | `50` | INITIALIZE UPDATE | SCP03 (GlobalPlatform Amendment D), CLA `80` |
//!
//! PIN and PUK are 4–8 and 8 digits, sent as ASCII padded with `FF` to 8 bytes (the PIV
//! format). Signatures are ECDSA P-256 over the digest the host sent, returned as raw
//! `r ‖ s` (64 bytes, each 32 bytes big-endian).

use cardwire_apdu::card::{CardExchange, Incoming};
use cardwire_apdu::{Cla, Ins, SecureMessaging, StatusWord};
use cardwire_pin::{
    CardPin, CardPinConfig, CardPinState, PinFormat, PinOutcome, PinPolicy, Secret,
};
use cardwire_transport::CardHandler;
use p256::ecdsa::signature::hazmat::PrehashSigner;

use crate::error::Error;
use crate::fs::{Body, Condition, Fid, FileSystem, NodeId, tlv};
use crate::identity::{Identity, Seed};
use crate::mrz::Mrz;
use crate::personalise::{self, ALG_ECDSA_SHA256, KEY_REFERENCE, PIN_REFERENCE, PUK_REFERENCE};
use crate::secure::Session;
use crate::state::{
    CardState, FileContent, FileData, Opened, PinRecord, SaltedSha256, Scp03Keys, StateFile,
};

/// The PIN and PUK wire format: ASCII digits padded with `FF` to 8 bytes.
pub const PIN_FORMAT: PinFormat = PinFormat::PIV;
/// The PIN policy: 4 to 8 digits.
pub const PIN_POLICY: PinPolicy = PinPolicy::digits(4, 8);
/// The PUK policy: 8 digits.
pub const PUK_POLICY: PinPolicy = PinPolicy::digits(8, 8);
/// PIN and PUK as `cardwire-pin` keeps them: PIV format, [`PIN_POLICY`], 3 PIN tries and
/// 10 PUK tries.
pub const PIN_CONFIG: CardPinConfig = CardPinConfig {
    format: PIN_FORMAT,
    policy: PIN_POLICY,
    retry_limit: personalise::PIN_TRIES,
    puk_format: PIN_FORMAT,
    puk_retry_limit: personalise::PUK_TRIES,
};

/// The buffer for command chains and pending responses.
const EXCHANGE_BUFFER: usize = 70_000;

/// One logical channel's selection state (ISO/IEC 7816-4 §7.1.1: current DF and EF).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Channel {
    df: NodeId,
    ef: Option<NodeId>,
}

impl Channel {
    fn fresh() -> Channel {
        Channel {
            df: NodeId::MF,
            ef: None,
        }
    }
}

/// How a command arrived: in plain, or unwrapped from a secure channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// No secure messaging.
    Plain,
    /// Under eMRTD BAC secure messaging.
    Bac,
    /// Under an authenticated SCP03 channel.
    Scp03,
}

/// A command as the OS handles it (owned, after chain reassembly and SM unwrapping).
#[derive(Clone, Debug)]
pub(crate) struct Cmd {
    pub(crate) cla: Cla,
    pub(crate) ins: Ins,
    pub(crate) p1: u8,
    pub(crate) p2: u8,
    pub(crate) data: Vec<u8>,
    pub(crate) ne: u32,
    pub(crate) channel: u8,
    pub(crate) arrival: Arrival,
}

/// An answer: data and status word.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub(crate) data: Vec<u8>,
    pub(crate) sw: StatusWord,
}

impl Reply {
    pub(crate) fn sw(sw: StatusWord) -> Reply {
        Reply {
            data: Vec::new(),
            sw,
        }
    }
    pub(crate) fn ok(data: Vec<u8>) -> Reply {
        Reply {
            data,
            sw: StatusWord::SUCCESS,
        }
    }
}

/// The security environment set by MANAGE SECURITY ENVIRONMENT (§7.5.11 template `B6`/`A4`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SecurityEnvironment {
    signing_key_set: bool,
    auth_key_set: bool,
}

/// The virtual reference card (see the [module documentation](self)).
pub struct VirtualCard {
    atr: Vec<u8>,
    seed: Seed,
    identity: Identity,
    fs: FileSystem,
    /// PIN (reference `81`) and PUK (`82`): the rules live in `cardwire-pin`; only salted
    /// hashes are stored.
    pin: CardPin<SaltedSha256>,
    pub(crate) scp03_keys: Scp03Keys,
    signature_count: u32,
    pub(crate) mrz: Mrz,
    store: Option<StateFile>,
    // Volatile state.
    exchange: CardExchange<Vec<u8>>,
    channels: [Option<Channel>; 4],
    pin_verified: bool,
    se: SecurityEnvironment,
    pub(crate) sessions: [Option<Session>; 4],
    pub(crate) challenge: Option<[u8; 8]>,
    /// Incremented whenever secure sessions are ended by SELECT or channel closing.
    pub(crate) session_epoch: u64,
    persist_failed: bool,
}

impl core::fmt::Debug for VirtualCard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VirtualCard")
            .field("identity", &self.identity)
            .field("pin_tries_left", &self.pin.retries_left())
            .field("puk_tries_left", &self.pin.puk_retries_left())
            .field("state_file", &self.store.as_ref().map(StateFile::path))
            .finish_non_exhaustive()
    }
}

impl VirtualCard {
    /// A fresh card created deterministically from `seed` (nothing persisted).
    ///
    /// # Errors
    /// [`Error::KeyDerivation`] or [`Error::Certificate`] (practically never).
    pub fn new(seed: &Seed) -> Result<VirtualCard, Error> {
        let identity = Identity::from_seed(seed)?;
        let mrz = Mrz::specimen();
        let fs = personalise::file_system(&identity, seed, &mrz);
        let invalid = |e: cardwire_pin::Error| Error::InvalidPin(e.to_string());
        let pin = CardPin::with_verifier(
            PIN_CONFIG,
            SaltedSha256::new(seed),
            Some(&cardwire_pin::Pin::new(personalise::DEFAULT_PIN.as_bytes()).map_err(invalid)?),
            Some(&cardwire_pin::Pin::new(personalise::DEFAULT_PUK.as_bytes()).map_err(invalid)?),
        )
        .map_err(invalid)?;
        Ok(VirtualCard {
            atr: crate::atr::atr(),
            seed: seed.clone(),
            identity,
            fs,
            pin,
            scp03_keys: Scp03Keys::test_keys(),
            signature_count: 0,
            mrz,
            store: None,
            exchange: CardExchange::new(vec![0u8; EXCHANGE_BUFFER]),
            channels: [Some(Channel::fresh()), None, None, None],
            pin_verified: false,
            se: SecurityEnvironment::default(),
            sessions: [None, None, None, None],
            challenge: None,
            session_epoch: 0,
            persist_failed: false,
        })
    }

    /// Opens the card kept in `path`: loads it, or creates a fresh card from `seed` and saves
    /// it when the file does not exist. Every later change of persistent state is saved
    /// atomically before the command's answer is returned.
    ///
    /// # Errors
    /// The file is foreign, damaged, of an unknown version or unreadable (it is left
    /// untouched), or the fresh card cannot be saved.
    pub fn open(path: &std::path::Path, seed: &Seed) -> Result<VirtualCard, Error> {
        let (file, opened) = StateFile::open(path)?;
        let name = path.display().to_string();
        let mut card = match opened {
            Opened::Existing(state) => VirtualCard::from_state(&state, &name)?,
            Opened::Missing => VirtualCard::new(seed)?,
        };
        file.save(&card.to_state())?;
        card.store = Some(file);
        Ok(card)
    }

    /// A card from its persistent state.
    ///
    /// # Errors
    /// [`Error::CorruptState`] when the state names a file the card does not have, or holds
    /// an unusable eMRTD DG1.
    pub fn from_state(state: &CardState, path: &str) -> Result<VirtualCard, Error> {
        let mut card = VirtualCard::new(&state.seed)?;
        let corrupt = |reason: String| Error::CorruptState {
            path: path.to_string(),
            reason,
        };
        card.pin
            .verifier_mut()
            .restore(state.pin.salt(), state.puk.salt());
        card.pin
            .set_state(CardPinState {
                retry_limit: state.pin.max_tries,
                retries_left: state.pin.tries_left,
                pin: Some(state.pin.hash()),
                puk_retry_limit: state.puk.max_tries,
                puk_retries_left: state.puk.tries_left,
                puk: Some(state.puk.hash()),
            })
            .map_err(|e| corrupt(format!("the PIN record is unusable: {e}")))?;
        card.scp03_keys = state.scp03.clone();
        card.signature_count = state.signature_count;
        for file in &state.files {
            let id = card.fs.by_path(&file.path).ok_or_else(|| {
                corrupt(format!(
                    "it names a file {:04X?} the card does not have",
                    file.path
                ))
            })?;
            let node = card
                .fs
                .node_mut(id)
                .ok_or_else(|| corrupt("file table".to_string()))?;
            match (&mut node.body, &file.data) {
                (Body::Transparent(bytes), FileData::Transparent(new)) => bytes.clone_from(new),
                (Body::Records(records), FileData::Records(new)) => records.clone_from(new),
                _ => {
                    return Err(corrupt(format!(
                        "file {:04X?} has the wrong structure",
                        file.path
                    )));
                }
            }
        }
        card.mrz = card
            .read_mrz()
            .ok_or_else(|| corrupt("EF.DG1 holds no valid MRZ".to_string()))?;
        Ok(card)
    }

    fn read_mrz(&self) -> Option<Mrz> {
        let e = self.fs.child_by_fid(NodeId::MF, personalise::DF_EMRTD)?;
        let dg1 = self.fs.child_by_fid(e, personalise::EF_DG1)?;
        let Body::Transparent(bytes) = &self.fs.node(dg1)?.body else {
            return None;
        };
        // 61 L 5F1F L MRZ (lengths below 128 and 88 for TD3).
        let mrz = bytes.get(5..)?;
        Mrz::parse(core::str::from_utf8(mrz).ok()?).ok()
    }

    /// The card's persistent state now.
    pub fn to_state(&self) -> CardState {
        state_of(
            &self.seed,
            &self.fs,
            &self.scp03_keys,
            self.signature_count,
            &self.pin,
        )
    }

    /// A copy of this card's persistent state as a separate card, powered off, with no state
    /// file (for fuzzing and tests that need many identical cards without rebuilding the
    /// identity each time).
    pub fn duplicate(&self) -> VirtualCard {
        VirtualCard {
            atr: self.atr.clone(),
            seed: self.seed.clone(),
            identity: self.identity.clone(),
            fs: self.fs.clone(),
            pin: self.pin.duplicate(),
            scp03_keys: self.scp03_keys.clone(),
            signature_count: self.signature_count,
            mrz: self.mrz.clone(),
            store: None,
            exchange: CardExchange::new(vec![0u8; EXCHANGE_BUFFER]),
            channels: [Some(Channel::fresh()), None, None, None],
            pin_verified: false,
            se: SecurityEnvironment::default(),
            sessions: [None, None, None, None],
            challenge: None,
            session_epoch: 0,
            persist_failed: false,
        }
    }

    /// The identity the card was personalised with.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The MRZ of the card's eMRTD applet.
    pub fn mrz(&self) -> &Mrz {
        &self.mrz
    }

    /// The SCP03 key set the card accepts (for tests and `cardwire serve` to print).
    pub fn scp03_keys(&self) -> &Scp03Keys {
        &self.scp03_keys
    }

    /// PIN tries left (0 = blocked).
    pub fn pin_tries_left(&self) -> u8 {
        self.pin.retries_left()
    }

    /// PUK tries left.
    pub fn puk_tries_left(&self) -> u8 {
        self.pin.puk_retries_left()
    }

    /// Whether the PIN is verified in this power session.
    pub fn is_pin_verified(&self) -> bool {
        self.pin_verified
    }

    /// How many signatures the card has made.
    pub fn signature_count(&self) -> u32 {
        self.signature_count
    }

    /// The read condition of the file currently selected on `channel`, if any (for tests and
    /// the fuzz target's "nothing readable without the right security state" check).
    pub fn current_ef_read_condition(&self, channel: u8) -> Option<Condition> {
        let ch = self.channels.get(usize::from(channel))?.as_ref()?;
        Some(self.fs.node(ch.ef?)?.access.read)
    }

    /// Whether the last change of persistent state could not be saved.
    pub fn persist_failed(&self) -> bool {
        self.persist_failed
    }

    /// Saves the persistent state if the card has a state file. On failure the card answers
    /// `6581` (memory failure) to the command.
    fn persist(&mut self) -> Result<(), StatusWord> {
        let state = self.to_state();
        save(self.store.as_ref(), &mut self.persist_failed, &state)
    }

    fn clear_volatile(&mut self) {
        self.exchange.reset();
        self.channels = [Some(Channel::fresh()), None, None, None];
        self.pin_verified = false;
        self.se = SecurityEnvironment::default();
        self.sessions = [None, None, None, None];
        self.challenge = None;
    }

    /// Random bytes from the operating system.
    pub(crate) fn random(&self, out: &mut [u8]) -> Result<(), StatusWord> {
        getrandom::fill(out).map_err(|_| StatusWord::EXECUTION_ERROR)
    }

    /// The access check: may `cond` be satisfied by a command that arrived this way?
    fn allowed(&self, cond: Condition, arrival: Arrival) -> bool {
        match cond {
            Condition::Always => true,
            Condition::Never => false,
            Condition::Pin => self.pin_verified,
            Condition::SecureMessaging => arrival != Arrival::Plain,
            Condition::Admin => arrival == Arrival::Scp03,
        }
    }

    /// Handles one logical command (after chaining and secure messaging).
    pub(crate) fn execute(&mut self, cmd: &Cmd) -> Reply {
        let ch = usize::from(cmd.channel);
        if cmd.channel > 3 || self.channels.get(ch).is_none_or(Option::is_none) {
            return Reply::sw(StatusWord::LOGICAL_CHANNEL_NOT_SUPPORTED);
        }
        let proprietary = cmd.cla.is_proprietary();
        match cmd.ins {
            Ins(0x50) if proprietary => crate::secure::initialize_update(self, cmd),
            Ins::EXTERNAL_AUTHENTICATE if proprietary => {
                crate::secure::scp03_external_authenticate(self, cmd)
            }
            _ if proprietary => Reply::sw(StatusWord::INS_NOT_SUPPORTED),
            Ins::MANAGE_CHANNEL => self.manage_channel(cmd),
            Ins::SELECT => self.select(cmd),
            Ins::READ_BINARY | Ins::READ_BINARY_ODD => self.read_binary(cmd),
            Ins::UPDATE_BINARY | Ins::UPDATE_BINARY_ODD => self.update_binary(cmd),
            Ins::READ_RECORD => self.read_record(cmd),
            Ins::GET_DATA => self.get_data(cmd),
            Ins::GET_CHALLENGE => self.get_challenge(cmd),
            Ins::VERIFY | Ins::CHANGE_REFERENCE_DATA | Ins::RESET_RETRY_COUNTER => {
                self.pin_command(cmd)
            }
            Ins::MANAGE_SECURITY_ENVIRONMENT => self.mse(cmd),
            Ins::PERFORM_SECURITY_OPERATION => self.pso(cmd),
            Ins::INTERNAL_AUTHENTICATE => self.internal_authenticate(cmd),
            Ins::EXTERNAL_AUTHENTICATE => crate::secure::bac_external_authenticate(self, cmd),
            _ => Reply::sw(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    fn channel(&self, ch: u8) -> Channel {
        self.channels
            .get(usize::from(ch))
            .copied()
            .flatten()
            .unwrap_or_else(Channel::fresh)
    }

    fn set_channel(&mut self, ch: u8, state: Channel) {
        if let Some(slot) = self.channels.get_mut(usize::from(ch)) {
            *slot = Some(state);
        }
    }

    fn manage_channel(&mut self, cmd: &Cmd) -> Reply {
        if !cmd.data.is_empty() {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        match (cmd.p1, cmd.p2) {
            (0x00, 0x00) => {
                if cmd.ne == 0 {
                    return Reply::sw(StatusWord::WRONG_LENGTH);
                }
                let free = (1..4u8).find(|c| {
                    self.channels
                        .get(usize::from(*c))
                        .is_some_and(Option::is_none)
                });
                match free {
                    Some(c) => {
                        let origin = self.channel(cmd.channel);
                        self.set_channel(
                            c,
                            Channel {
                                df: origin.df,
                                ef: None,
                            },
                        );
                        Reply::ok(vec![c])
                    }
                    None => Reply::sw(StatusWord::FUNCTION_NOT_SUPPORTED),
                }
            }
            (0x00, c @ 1..=3) => {
                if self
                    .channels
                    .get(usize::from(c))
                    .is_some_and(Option::is_some)
                {
                    return Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED);
                }
                let origin = self.channel(cmd.channel);
                self.set_channel(
                    c,
                    Channel {
                        df: origin.df,
                        ef: None,
                    },
                );
                Reply::sw(StatusWord::SUCCESS)
            }
            (0x80, 0x00) if cmd.channel != 0 => {
                self.close_channel(cmd.channel);
                Reply::sw(StatusWord::SUCCESS)
            }
            (0x80, c @ 1..=3) => {
                if self
                    .channels
                    .get(usize::from(c))
                    .is_some_and(Option::is_none)
                {
                    return Reply::sw(StatusWord::INCORRECT_P1_P2);
                }
                self.close_channel(c);
                Reply::sw(StatusWord::SUCCESS)
            }
            _ => Reply::sw(StatusWord::INCORRECT_P1_P2),
        }
    }

    fn close_channel(&mut self, c: u8) {
        if let Some(slot) = self.channels.get_mut(usize::from(c)) {
            *slot = None;
        }
        if let Some(slot) = self.sessions.get_mut(usize::from(c)) {
            *slot = None;
        }
        self.session_epoch += 1;
    }

    /// Whether the eMRTD application is the current DF on `channel`.
    pub(crate) fn emrtd_selected(&self, channel: u8) -> bool {
        let df = self.channel(channel).df;
        self.fs
            .node(df)
            .is_some_and(|n| n.fid == personalise::DF_EMRTD)
    }

    fn select(&mut self, cmd: &Cmd) -> Reply {
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
            // Leaving an application ends its secure channel (ICAO 9303-11 §9.8.6.1).
            if target != ch.df {
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
        let fcp = self.fs.fcp(target);
        let reply = match cmd.p2 & 0xFC {
            0x00 | 0x04 => Reply::ok(fcp),
            0x0C => Reply::sw(StatusWord::SUCCESS),
            _ => return Reply::sw(StatusWord::INCORRECT_P1_P2),
        };
        self.set_channel(cmd.channel, new);
        reply
    }

    /// Resolves the EF a READ/UPDATE BINARY addresses and its offset; odd INS data is parsed
    /// by the caller. Selects it as the current EF.
    fn binary_target(&mut self, cmd: &Cmd) -> Result<(NodeId, usize), StatusWord> {
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

    fn read_binary(&mut self, cmd: &Cmd) -> Reply {
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
            tlv(0x53, chunk, &mut out);
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

    fn update_binary(&mut self, cmd: &Cmd) -> Reply {
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

    fn read_record(&mut self, cmd: &Cmd) -> Reply {
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

    fn get_data(&mut self, cmd: &Cmd) -> Reply {
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
                let mut ext = Vec::new();
                let nc = u16::try_from(crate::atr::MAX_NC).unwrap_or(u16::MAX);
                let ne = u16::try_from(crate::atr::MAX_NE).unwrap_or(u16::MAX);
                tlv(0x02, &nc.to_be_bytes(), &mut ext);
                tlv(0x02, &ne.to_be_bytes(), &mut ext);
                ext
            }
            _ => return Reply::sw(StatusWord::REFERENCED_DATA_NOT_FOUND),
        };
        let mut out = Vec::new();
        tlv(tag, &value, &mut out);
        Reply::ok(out)
    }

    fn get_challenge(&mut self, cmd: &Cmd) -> Reply {
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

    // ---- PIN and PUK (ISO/IEC 7816-4 §11.5.6, §11.5.7, §11.5.10) ----

    /// VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER run in `cardwire-pin`'s
    /// [`CardPin::process_with`] (retry counters, blocking, PUK, constant-time comparison);
    /// the state file is saved after each counter decrement, before the comparison, and after
    /// every successful change. The card adds its references, its CHANGE REFERENCE DATA
    /// P1 `00` only, and its security status: set by VERIFY, cleared by VERIFY P1 `FF`, a
    /// failed CHANGE REFERENCE DATA and a reset.
    fn pin_command(&mut self, cmd: &Cmd) -> Reply {
        let secret = match (cmd.ins, cmd.p2) {
            (Ins::VERIFY | Ins::RESET_RETRY_COUNTER, PIN_REFERENCE) => Secret::Pin,
            (Ins::CHANGE_REFERENCE_DATA, PIN_REFERENCE) if cmd.p1 == 0x00 => Secret::Pin,
            (Ins::CHANGE_REFERENCE_DATA, PIN_REFERENCE) => {
                return Reply::sw(StatusWord::INCORRECT_P1_P2);
            }
            (Ins::VERIFY, PUK_REFERENCE) => Secret::Puk,
            _ => return Reply::sw(StatusWord::REFERENCED_DATA_NOT_FOUND),
        };
        let admin = cmd.arrival == Arrival::Scp03;
        if cmd.ins == Ins::RESET_RETRY_COUNTER && cmd.p1 == 0x02 && admin && cmd.data.len() != 8 {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        let status_query = cmd.ins == Ins::VERIFY && cmd.p1 == 0x00 && cmd.data.is_empty();
        let outcome = if status_query && secret == Secret::Pin {
            match self.pin.status() {
                PinOutcome::Verified | PinOutcome::WrongPin { .. } if self.pin_verified => {
                    PinOutcome::Verified
                }
                PinOutcome::Verified | PinOutcome::WrongPin { .. } => PinOutcome::WrongPin {
                    retries_left: self.pin.retries_left(),
                },
                other => other,
            }
        } else {
            let VirtualCard {
                pin,
                store,
                seed,
                fs,
                scp03_keys,
                signature_count,
                persist_failed,
                ..
            } = self;
            let mut commit = |p: &CardPin<SaltedSha256>| {
                if store.is_none() {
                    return Ok(());
                }
                let state = state_of(seed, fs, scp03_keys, *signature_count, p);
                save(store.as_ref(), persist_failed, &state)
            };
            pin.process_with(secret, cmd.ins, cmd.p1, &cmd.data, admin, &mut commit)
        };
        if secret == Secret::Pin {
            match (cmd.ins, cmd.p1) {
                (Ins::VERIFY, 0x00)
                    if outcome != PinOutcome::Unexpected(StatusWord::WRONG_LENGTH)
                        && !status_query =>
                {
                    self.pin_verified = outcome == PinOutcome::Verified;
                }
                (Ins::VERIFY, 0xFF) if outcome == PinOutcome::Verified => {
                    self.pin_verified = false;
                }
                (Ins::CHANGE_REFERENCE_DATA, _)
                    if matches!(outcome, PinOutcome::Blocked | PinOutcome::WrongPin { .. }) =>
                {
                    self.pin_verified = false;
                }
                _ => {}
            }
        }
        Reply::sw(outcome.status_word())
    }

    // ---- Signing (ISO/IEC 7816-8 §5.4, §5.6; ISO/IEC 7816-4 §11.5.2, §11.5.11) ----

    fn mse(&mut self, cmd: &Cmd) -> Reply {
        if cmd.p1 != 0x41 {
            return Reply::sw(StatusWord::INCORRECT_P1_P2);
        }
        if cmd.p2 != 0xB6 && cmd.p2 != 0xA4 {
            return Reply::sw(StatusWord::INCORRECT_P1_P2);
        }
        let mut alg = None;
        let mut key = None;
        let mut rest = cmd.data.as_slice();
        // Only one-byte tags and short lengths occur in this template.
        while let [tag, len, tail @ ..] = rest {
            let len = usize::from(*len);
            let Some(value) = tail.get(..len) else {
                return Reply::sw(StatusWord::INCORRECT_DATA);
            };
            match (*tag, value) {
                (0x80, [a]) => alg = Some(*a),
                (0x84, [k]) => key = Some(*k),
                (0x80 | 0x84, _) => return Reply::sw(StatusWord::INCORRECT_DATA),
                _ => {}
            }
            rest = tail.get(len..).unwrap_or(&[]);
        }
        if !rest.is_empty() {
            return Reply::sw(StatusWord::INCORRECT_DATA);
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

    fn sign(&mut self, digest: &[u8]) -> Reply {
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

    fn pso(&mut self, cmd: &Cmd) -> Reply {
        if (cmd.p1, cmd.p2) != (0x9E, 0x9A) {
            return Reply::sw(StatusWord::INCORRECT_P1_P2);
        }
        if !self.se.signing_key_set {
            return Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED);
        }
        self.sign(&cmd.data.clone())
    }

    fn internal_authenticate(&mut self, cmd: &Cmd) -> Reply {
        if cmd.p1 != 0x00 || (cmd.p2 != 0x00 && cmd.p2 != KEY_REFERENCE) {
            return Reply::sw(StatusWord::INCORRECT_P1_P2);
        }
        if cmd.p2 == 0x00 && !self.se.auth_key_set {
            return Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED);
        }
        self.sign(&cmd.data.clone())
    }
}

/// The card's persistent state from its parts (so the PIN commit can build it while the
/// PIN object is borrowed).
fn state_of(
    seed: &Seed,
    fs: &FileSystem,
    scp03: &Scp03Keys,
    signature_count: u32,
    pin: &CardPin<SaltedSha256>,
) -> CardState {
    let mut files = Vec::new();
    for id in fs.ids() {
        let Some(node) = fs.node(id) else {
            continue;
        };
        let data = match &node.body {
            Body::Transparent(b) => FileData::Transparent(b.clone()),
            Body::Records(r) => FileData::Records(r.clone()),
            Body::Df { .. } => continue,
        };
        files.push(FileContent {
            path: fs.path_of(id),
            data,
        });
    }
    let st = pin.state();
    let verifier = pin.verifier();
    let record = |secret, reference: Option<&[u8]>, max, left| {
        PinRecord::from_parts(verifier.salt(secret), reference.unwrap_or(&[]), max, left)
            .unwrap_or_else(|| {
                // A CardPin built by this card always holds a 32-byte hash; never reached.
                PinRecord::new(seed, "invalid", &[], max)
            })
    };
    CardState {
        seed: seed.clone(),
        pin: record(Secret::Pin, st.pin, st.retry_limit, st.retries_left),
        puk: record(Secret::Puk, st.puk, st.puk_retry_limit, st.puk_retries_left),
        scp03: scp03.clone(),
        signature_count,
        files,
    }
}

/// Saves `state` when the card has a state file; on failure remembers it and answers
/// `6581` (memory failure).
fn save(
    store: Option<&StateFile>,
    persist_failed: &mut bool,
    state: &CardState,
) -> Result<(), StatusWord> {
    let Some(store) = store else {
        return Ok(());
    };
    store.save(state).map_err(|_| {
        *persist_failed = true;
        StatusWord::MEMORY_FAILURE
    })
}

/// Encodes a PIN in the card's wire format (ASCII padded with `FF` to 8 bytes).
///
/// # Errors
/// [`Error::InvalidPin`] when `pin` does not fit the format.
pub fn encode_pin(pin: &str) -> Result<Vec<u8>, Error> {
    let p = cardwire_pin::Pin::new(pin.as_bytes()).map_err(|e| Error::InvalidPin(e.to_string()))?;
    PIN_FORMAT
        .encode(&p)
        .map(|d| d.expose_secret().to_vec())
        .map_err(|e| Error::InvalidPin(e.to_string()))
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

impl CardHandler for VirtualCard {
    fn atr(&self) -> &[u8] {
        &self.atr
    }

    fn power_on(&mut self) {
        self.clear_volatile();
    }

    fn power_off(&mut self) {
        self.clear_volatile();
    }

    fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize {
        if response.len() < 2 {
            return 0;
        }
        let (cmd, wire_ne) = match self.exchange.receive(command, response) {
            Incoming::Answered(n) => return n,
            Incoming::Command(repr) => {
                let channel = repr.cla.channel();
                (
                    Cmd {
                        cla: repr.cla,
                        ins: repr.ins,
                        p1: repr.p1,
                        p2: repr.p2,
                        data: repr.data.to_vec(),
                        ne: repr.ne,
                        channel,
                        arrival: Arrival::Plain,
                    },
                    repr.ne,
                )
            }
        };
        let reply = if cmd.cla.secure_messaging() == SecureMessaging::None {
            self.execute(&cmd)
        } else {
            crate::secure::process_protected(self, &cmd)
        };
        match self
            .exchange
            .respond(&reply.data, reply.sw, wire_ne, response)
        {
            Ok(n) => n,
            Err(_) => {
                let sw = StatusWord::EXECUTION_ERROR.to_bytes();
                match response.get_mut(..2) {
                    Some(out) => {
                        out.copy_from_slice(&sw);
                        2
                    }
                    None => 0,
                }
            }
        }
    }
}
