//! The card's persistent state: opening a state file, restoring from it, and saving after
//! every change (see [`crate::state`] for the file format).

use cardwire_apdu::StatusWord;
use cardwire_pin::{CardPin, CardPinState, Secret};

use crate::error::Error;
use crate::fs::{Body, FileSystem, NodeId};
use crate::identity::Seed;
use crate::mrz::Mrz;
use crate::personalise;
use crate::state::{CardState, FileContent, FileData, Opened, PinRecord, Scp03Keys, StateFile};
use crate::verifier::Argon2idVerifier;

use super::key_tries::KeyTries;

use super::virtual_card::VirtualCard;

impl VirtualCard {
    /// Opens the card kept in `path`: loads it, or creates a fresh card from `seed` and saves
    /// it when the file does not exist. Every later change of persistent state is saved
    /// atomically before the command's answer is returned.
    ///
    /// # Errors
    /// The file is foreign, damaged, of an unknown version or unreadable (it is left
    /// untouched), or the fresh card cannot be saved.
    pub fn open(path: &std::path::Path, seed: &Seed) -> Result<VirtualCard, Error> {
        Self::open_with(path, seed, None)
    }

    /// [`VirtualCard::open`] with an optional passphrase sealing the whole file
    /// (ChaCha20-Poly1305 under an Argon2id key; see [`crate::state`]).
    ///
    /// # Errors
    /// As [`VirtualCard::open`] and [`StateFile::open_with`] (locked, exposed, wrong
    /// passphrase).
    pub fn open_with(
        path: &std::path::Path,
        seed: &Seed,
        passphrase: Option<zeroize::Zeroizing<Vec<u8>>>,
    ) -> Result<VirtualCard, Error> {
        let (file, opened) = StateFile::open_with(path, passphrase)?;
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
                pin: Some(state.pin.tag()),
                puk_retry_limit: state.puk.max_tries,
                puk_retries_left: state.puk.tries_left,
                puk: Some(state.puk.tag()),
            })
            .map_err(|e| corrupt(format!("the PIN record is unusable: {e}")))?;
        card.scp03_keys = state.scp03.clone();
        card.scp03_tries = state.scp03_tries;
        card.management_tries = state.management_tries;
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

    pub(super) fn read_mrz(&self) -> Option<Mrz> {
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
            (&self.scp03_keys, self.scp03_tries, self.management_tries),
            self.signature_count,
            &self.pin,
        )
    }

    /// Saves the persistent state if the card has a state file. On failure the card answers
    /// `6581` (memory failure) to the command.
    pub(super) fn persist(&mut self) -> Result<(), StatusWord> {
        let state = self.to_state();
        save(self.store.as_ref(), &mut self.persist_failed, &state)
    }
}

/// The card's persistent state from its parts (so the PIN commit can build it while the
/// PIN object is borrowed).
pub(super) fn state_of(
    seed: &Seed,
    fs: &FileSystem,
    (scp03, scp03_tries, management_tries): (&Scp03Keys, KeyTries, KeyTries),
    signature_count: u32,
    pin: &CardPin<Argon2idVerifier>,
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
        // A CardPin built by this card always holds a 32-byte tag; should it not, an all-zero
        // tag is stored, which no PIN matches (fails closed).
        PinRecord::from_parts(verifier.salt(secret), reference.unwrap_or(&[]), max, left)
            .unwrap_or_else(|| PinRecord::unusable(verifier.salt(secret), max))
    };
    CardState {
        seed: seed.clone(),
        pin: record(Secret::Pin, st.pin, st.retry_limit, st.retries_left),
        puk: record(Secret::Puk, st.puk, st.puk_retry_limit, st.puk_retries_left),
        scp03: scp03.clone(),
        scp03_tries,
        management_tries,
        signature_count,
        files,
    }
}

/// Saves `state` when the card has a state file; on failure remembers it and answers
/// `6581` (memory failure).
pub(super) fn save(
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
