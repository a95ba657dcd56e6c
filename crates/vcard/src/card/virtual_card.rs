//! The [`VirtualCard`]: its persistent and volatile state, construction and accessors.

use cardwire_apdu::StatusWord;
use cardwire_apdu::card::CardExchange;
use cardwire_pin::CardPin;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::fs::{Condition, FileSystem};
use crate::identity::{Identity, Seed};
use crate::mrz::Mrz;
use crate::personalise::{self, PIN_CONFIG};
use crate::state::{Scp03Keys, StateFile};
use crate::verifier::{Argon2idVerifier, Cost};

use super::key_tries::KeyTries;

use cardwire_sm::{AesSuite, SmSession};

use super::command::Arrival;
use super::emrtd::PaceRun;
use super::piv::PivSession;
use super::security_environment::SecurityEnvironment;
use super::selection::Channel;
use super::session::Session;

/// The buffer for command chains and pending responses.
const EXCHANGE_BUFFER: usize = 70_000;

/// A chain and response buffer, wiped when dropped.
pub(super) fn fresh_exchange() -> CardExchange<Zeroizing<Vec<u8>>> {
    CardExchange::new(Zeroizing::new(vec![0u8; EXCHANGE_BUFFER]))
}

/// The virtual reference card (see the [module documentation](super)).
pub struct VirtualCard {
    pub(super) atr: Vec<u8>,
    pub(super) seed: Seed,
    pub(super) identity: Identity,
    pub(super) fs: FileSystem,
    /// PIN (reference `80`) and PUK (`81`): the rules live in `cardwire-pin`; only Argon2id
    /// tags with random salts are stored.
    pub(super) pin: CardPin<Argon2idVerifier>,
    pub(super) scp03_keys: Scp03Keys,
    /// The SCP03 keys' failed-authentication counter.
    pub(super) scp03_tries: KeyTries,
    /// The PIV card management key's (`9B`) failed-authentication counter.
    pub(super) management_tries: KeyTries,
    pub(super) signature_count: u32,
    pub(super) mrz: Mrz,
    pub(super) store: Option<StateFile>,
    // Volatile state.
    /// Chains and pending responses; replaced by a fresh zeroed buffer (the old one wiped)
    /// whenever an exchange that used it has ended.
    pub(super) exchange: CardExchange<Zeroizing<Vec<u8>>>,
    /// Whether `exchange`'s buffer holds bytes of a command or answer.
    pub(super) exchange_used: bool,
    pub(super) channels: [Option<Channel>; 4],
    pub(super) pin_verified: bool,
    pub(super) se: SecurityEnvironment,
    pub(super) sessions: [Option<Session>; 4],
    pub(super) challenge: Option<[u8; 8]>,
    /// A PACE run under way (after MSE:Set AT, until the fourth GENERAL AUTHENTICATE).
    pub(super) pace: Option<PaceRun>,
    /// The channel where MSE:Set AT prepared Chip Authentication.
    pub(super) chip_auth: Option<u8>,
    /// Chip Authentication's new session, to replace the channel's after its answer.
    pub(super) switch_session: Option<Box<SmSession<AesSuite>>>,
    /// Incremented whenever secure sessions are ended by SELECT or channel closing.
    pub(super) session_epoch: u64,
    pub(super) persist_failed: bool,
    /// The PIV application's security state.
    pub(super) piv: PivSession,
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
    /// A fresh card created from `seed` (nothing persisted): identity, key, certificate and
    /// files are derived from the seed; the PIN and PUK verifiers get random salts.
    ///
    /// # Errors
    /// [`Error::KeyDerivation`] or [`Error::Certificate`] (practically never);
    /// [`Error::InvalidPin`] when the operating system has no random salt for the verifiers.
    pub fn new(seed: &Seed) -> Result<VirtualCard, Error> {
        Self::new_with_pin_cost(seed, Cost::DEFAULT)
    }

    /// [`VirtualCard::new`] with another Argon2id cost for the PIN and PUK verifiers: for
    /// fuzzing and benchmarks, where every VERIFY would otherwise spend 19 MiB and two passes
    /// ([`Cost::TEST_ONLY_MINIMAL`]). A card anyone relies on uses [`VirtualCard::new`].
    ///
    /// # Errors
    /// As [`VirtualCard::new`].
    pub fn new_with_pin_cost(seed: &Seed, cost: Cost) -> Result<VirtualCard, Error> {
        let identity = Identity::from_seed(seed)?;
        let mrz = Mrz::specimen();
        let mut fs = personalise::file_system(&identity, seed, &mrz);
        crate::piv::personalise(&mut fs, &identity, seed)?;
        let invalid = |e: cardwire_pin::Error| Error::InvalidPin(e.to_string());
        let pin = CardPin::with_verifier(
            PIN_CONFIG,
            Argon2idVerifier::new(cost).map_err(|e| {
                Error::InvalidPin(format!("no random salt from the operating system: {e}"))
            })?,
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
            scp03_tries: KeyTries::new(KeyTries::SCP03_LIMIT),
            management_tries: KeyTries::new(KeyTries::MANAGEMENT_LIMIT),
            signature_count: 0,
            mrz,
            store: None,
            exchange: fresh_exchange(),
            exchange_used: false,
            channels: [Some(Channel::fresh()), None, None, None],
            pin_verified: false,
            se: SecurityEnvironment::default(),
            sessions: [None, None, None, None],
            challenge: None,
            pace: None,
            chip_auth: None,
            switch_session: None,
            session_epoch: 0,
            persist_failed: false,
            piv: PivSession::default(),
        })
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
            scp03_tries: self.scp03_tries,
            management_tries: self.management_tries,
            signature_count: self.signature_count,
            mrz: self.mrz.clone(),
            store: None,
            exchange: fresh_exchange(),
            exchange_used: false,
            channels: [Some(Channel::fresh()), None, None, None],
            pin_verified: false,
            se: SecurityEnvironment::default(),
            sessions: [None, None, None, None],
            challenge: None,
            pace: None,
            chip_auth: None,
            switch_session: None,
            session_epoch: 0,
            persist_failed: false,
            piv: PivSession::default(),
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

    /// SCP03 authentication tries left (0 = the key set is blocked).
    pub fn scp03_tries_left(&self) -> u8 {
        self.scp03_tries.left()
    }

    /// PIV card management key (`9B`) authentication tries left (0 = the key is blocked, for
    /// good: see [`KeyTries::MANAGEMENT_LIMIT`]).
    pub fn management_tries_left(&self) -> u8 {
        self.management_tries.left()
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

    pub(super) fn clear_volatile(&mut self) {
        self.exchange = fresh_exchange();
        self.exchange_used = false;
        self.channels = [Some(Channel::fresh()), None, None, None];
        self.pin_verified = false;
        self.se = SecurityEnvironment::default();
        self.sessions = [None, None, None, None];
        self.challenge = None;
        self.pace = None;
        self.chip_auth = None;
        self.switch_session = None;
        self.piv = PivSession::default();
    }

    /// Random bytes from the operating system.
    pub(super) fn random(&self, out: &mut [u8]) -> Result<(), StatusWord> {
        getrandom::fill(out).map_err(|_| StatusWord::EXECUTION_ERROR)
    }

    /// The access check: may `cond` be satisfied by a command that arrived this way?
    pub(super) fn allowed(&self, cond: Condition, arrival: Arrival) -> bool {
        match cond {
            Condition::Always => true,
            Condition::Never => false,
            Condition::Pin => self.pin_verified,
            Condition::SecureMessaging => arrival != Arrival::Plain,
            Condition::Admin => arrival == Arrival::Scp03,
        }
    }
}
