//! The card's persistent memory and its file format (`--state FILE`).
//!
//! [`CardState`] is everything a real card keeps in EEPROM: the seed its identity was
//! personalised from, the PIN and PUK reference data with their retry counters, the SCP03 key
//! set, counters, and the content of every elementary file. Volatile state (selected files,
//! verified PINs, open secure channels) is not part of it.
//!
//! # File format (version 1)
//! ```text
//! offset  size  field
//! 0       8     magic "CWVCARD\x1A"
//! 8       2     format version, big-endian (1)
//! 10      4     body length N, big-endian
//! 14      N     body (fields below, in order)
//! 14+N    32    SHA-256 over bytes 0 .. 14+N
//! ```
//! Body: seed (32), PIN record, PUK record, SCP03 key set, signature counter (u32), then the
//! files: count (u16) and, per file, its path (count u8, FIDs u16 each), kind (1 transparent,
//! 2 records) and content (u32 length + bytes; records: count u16, each u16 length + bytes).
//! A PIN record is salt (16), SHA-256(salt ‖ PIN) (32), maximum tries (u8), tries left (u8),
//! generation (u32).
//!
//! # Writing
//! [`StateFile::save`] writes the whole state to a temporary file in the same directory,
//! `fsync`s it, renames it over the old file and `fsync`s the directory, so a crash leaves
//! either the old or the new state, never a mix. A file that is not a valid state file is
//! never overwritten: [`StateFile::open`] refuses it and [`StateFile::save`] checks again.

use std::fs;

use cardwire_pin::codec::{ByteReader, ByteWriter};
use std::io::Write;
use std::path::{Path, PathBuf};

use cardwire_pin::{PinData, PinVerifier, Secret};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::Error;
use crate::identity::Seed;

/// The magic bytes at the start of every state file.
pub const MAGIC: [u8; 8] = *b"CWVCARD\x1A";
/// The format version this code writes and reads.
pub const VERSION: u16 = 1;
/// The largest state file accepted (16 MiB): a bound on what a damaged length can make us
/// allocate.
pub const MAX_STATE_LEN: usize = 16 * 1024 * 1024;
const HEADER_LEN: usize = 14;
const DIGEST_LEN: usize = 32;

/// PIN or PUK reference data as the state file stores it: a salted SHA-256 of the value,
/// never the value itself, with its retry counter. Only a record: the card keeps PIN and PUK
/// in a `cardwire_pin::CardPin` with the [`SaltedSha256`] verifier, which owns all the rules.
///
/// The hash keeps the PIN out of a state file someone glances at; it does not resist a
/// brute-force search over short numeric PINs (real cards rely on protected memory for that).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct PinRecord {
    salt: [u8; 16],
    hash: [u8; 32],
    /// The retry limit (3 for the PIN, 10 for the PUK).
    pub max_tries: u8,
    /// Tries left; 0 means blocked.
    pub tries_left: u8,
    /// How many times the value was set; part of the salt derivation.
    pub generation: u32,
}

impl core::fmt::Debug for PinRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PinRecord")
            .field("max_tries", &self.max_tries)
            .field("tries_left", &self.tries_left)
            .field("reference", &"<redacted>")
            .finish()
    }
}

impl PinRecord {
    /// Reference data for `value` at generation 1, with a salt derived from `seed`, `label`
    /// and the generation (deterministic, so a card created from a seed is always the same).
    pub fn new(seed: &Seed, label: &str, value: &[u8], max_tries: u8) -> PinRecord {
        let salt = SaltedSha256::derive_salt(seed, label, 1);
        PinRecord {
            hash: SaltedSha256::salted(&salt, value),
            salt,
            max_tries,
            tries_left: max_tries,
            generation: 1,
        }
    }

    /// The salt and generation, for [`SaltedSha256::restore`].
    pub fn salt(&self) -> ([u8; 16], u32) {
        (self.salt, self.generation)
    }

    /// The stored SHA-256(salt ‖ value).
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }

    /// A record from a [`cardwire_pin::CardPin`]'s stored reference and counters (`None`
    /// when the reference is not a 32-byte hash).
    pub fn from_parts(
        (salt, generation): ([u8; 16], u32),
        hash: &[u8],
        max_tries: u8,
        tries_left: u8,
    ) -> Option<PinRecord> {
        Some(PinRecord {
            salt,
            hash: <[u8; 32]>::try_from(hash).ok()?,
            max_tries,
            tries_left,
            generation,
        })
    }
}

/// The card's [`PinVerifier`]: `cardwire-pin`'s `CardPin` stores SHA-256(salt ‖ value) for
/// the PIN and the PUK instead of the values, so the state file holds no plaintext PIN. Each
/// new value gets a new salt, derived from the seed, the label (`pin` / `puk`) and a
/// generation counter.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SaltedSha256 {
    seed: Seed,
    pin: ([u8; 16], u32),
    puk: ([u8; 16], u32),
}

impl core::fmt::Debug for SaltedSha256 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SaltedSha256 { <redacted> }")
    }
}

impl SaltedSha256 {
    /// Salts at generation 1 for a card made from `seed`.
    pub fn new(seed: &Seed) -> SaltedSha256 {
        SaltedSha256 {
            seed: seed.clone(),
            pin: (Self::derive_salt(seed, "pin", 1), 1),
            puk: (Self::derive_salt(seed, "puk", 1), 1),
        }
    }

    /// Takes the salts and generations of stored records.
    pub fn restore(&mut self, pin: ([u8; 16], u32), puk: ([u8; 16], u32)) {
        self.pin = pin;
        self.puk = puk;
    }

    /// The salt and generation in use for `secret`.
    pub fn salt(&self, secret: Secret) -> ([u8; 16], u32) {
        match secret {
            Secret::Pin => self.pin,
            Secret::Puk => self.puk,
        }
    }

    fn derive_salt(seed: &Seed, label: &str, generation: u32) -> [u8; 16] {
        let full: [u8; 32] = Sha256::new()
            .chain_update(b"cardwire-vcard/v1/salt/")
            .chain_update(label.as_bytes())
            .chain_update(seed.0)
            .chain_update(generation.to_be_bytes())
            .finalize()
            .into();
        let mut salt = [0u8; 16];
        salt.copy_from_slice(full.get(..16).unwrap_or(&[0; 16]));
        salt
    }

    fn salted(salt: &[u8; 16], value: &[u8]) -> [u8; 32] {
        Sha256::new()
            .chain_update(salt)
            .chain_update(value)
            .finalize()
            .into()
    }
}

impl PinVerifier for SaltedSha256 {
    fn reference(&self, secret: Secret, value: &[u8]) -> PinData {
        let (salt, _) = self.salt(secret);
        let mut hash = Self::salted(&salt, value);
        let out = PinData::from_slice(&hash).unwrap_or_default();
        hash.zeroize();
        out
    }

    fn rekey(&mut self, secret: Secret) {
        let (label, slot) = match secret {
            Secret::Pin => ("pin", &mut self.pin),
            Secret::Puk => ("puk", &mut self.puk),
        };
        let generation = slot.1.wrapping_add(1);
        *slot = (Self::derive_salt(&self.seed, label, generation), generation);
    }
}

/// A GlobalPlatform SCP03 static key set (GPC Amendment D §4.1.1): key version number and the
/// three AES-128 keys. Zeroized on drop; `Debug` redacts the keys.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Scp03Keys {
    /// Key version number.
    pub kvn: u8,
    /// S-ENC, the encryption key.
    pub enc: [u8; 16],
    /// S-MAC, the MAC key.
    pub mac: [u8; 16],
    /// DEK, the data encryption key.
    pub dek: [u8; 16],
}

impl Scp03Keys {
    /// The well-known GlobalPlatform test key set `404142…4F` for all three keys, key version
    /// `01`: what a credential management system uses with a test card.
    pub fn test_keys() -> Scp03Keys {
        let mut k = [0u8; 16];
        for (i, b) in k.iter_mut().enumerate() {
            *b = 0x40 + (i as u8);
        }
        Scp03Keys {
            kvn: 0x01,
            enc: k,
            mac: k,
            dek: k,
        }
    }
}

impl core::fmt::Debug for Scp03Keys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Scp03Keys {{ kvn: {:#04x}, keys: <redacted> }}",
            self.kvn
        )
    }
}

/// The content of one elementary file, named by its path from the MF.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FileContent {
    /// FIDs from the MF (`3F00`) down to the file.
    pub path: Vec<u16>,
    /// What the file holds.
    pub data: FileData,
}

/// Transparent bytes or records.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum FileData {
    /// A transparent EF's bytes.
    Transparent(Vec<u8>),
    /// A record EF's records, record 1 first.
    Records(Vec<Vec<u8>>),
}

/// Everything the card remembers across power cycles.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CardState {
    /// The seed the card was personalised from (identity, key, certificate).
    pub seed: Seed,
    /// The cardholder PIN.
    pub pin: PinRecord,
    /// The PIN unblocking key.
    pub puk: PinRecord,
    /// The SCP03 administration keys.
    pub scp03: Scp03Keys,
    /// How many signatures the card has made.
    pub signature_count: u32,
    /// The content of every elementary file.
    pub files: Vec<FileContent>,
}

impl Drop for CardState {
    fn drop(&mut self) {
        self.signature_count = 0;
    }
}

/// A field of the body could not be read (the body ends inside it).
fn short(e: cardwire_pin::Error) -> String {
    match e {
        cardwire_pin::Error::Truncated { offset, .. } => {
            format!("body ends at byte {offset} inside a field")
        }
        other => other.to_string(),
    }
}

fn write_pin(w: &mut ByteWriter<'_>, p: &PinRecord) {
    w.bytes(&p.salt);
    w.bytes(&p.hash);
    w.u8(p.max_tries);
    w.u8(p.tries_left);
    w.u32(p.generation);
}

fn read_pin(r: &mut ByteReader<'_>) -> Result<PinRecord, String> {
    let salt = r.array().map_err(short)?;
    let hash = r.array().map_err(short)?;
    let max_tries = r.u8().map_err(short)?;
    let tries_left = r.u8().map_err(short)?;
    let generation = r.u32().map_err(short)?;
    if max_tries == 0 || max_tries > 15 || tries_left > max_tries {
        return Err(format!(
            "a retry counter is out of range ({tries_left} of {max_tries})"
        ));
    }
    Ok(PinRecord {
        salt,
        hash,
        max_tries,
        tries_left,
        generation,
    })
}

impl CardState {
    /// The state as file bytes (header, body, SHA-256).
    pub fn encode(&self) -> Vec<u8> {
        // One pass measures, the second writes (the codec allocates nothing).
        let needed = self.encode_body(&mut ByteWriter::new(&mut []));
        let mut body = vec![0u8; needed];
        self.encode_body(&mut ByteWriter::new(&mut body));
        let mut out = Vec::with_capacity(HEADER_LEN + body.len() + DIGEST_LEN);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&body);
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Decodes file bytes; `path` names the file in errors.
    ///
    /// # Errors
    /// [`Error::ForeignState`] (wrong magic), [`Error::UnsupportedStateVersion`],
    /// [`Error::CorruptState`] (length, checksum or structure wrong).
    pub fn decode(bytes: &[u8], path: &str) -> Result<CardState, Error> {
        let corrupt = |reason: String| Error::CorruptState {
            path: path.to_string(),
            reason,
        };
        if bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return Err(Error::ForeignState {
                path: path.to_string(),
            });
        }
        let mut r = ByteReader::new(bytes);
        r.take(MAGIC.len()).map_err(|e| corrupt(short(e)))?;
        let version = r.u16().map_err(|e| corrupt(short(e)))?;
        if version != VERSION {
            return Err(Error::UnsupportedStateVersion {
                path: path.to_string(),
                version,
            });
        }
        let body_len = r.u32().map_err(|e| corrupt(short(e)))? as usize;
        let expected = HEADER_LEN
            .checked_add(body_len)
            .and_then(|n| n.checked_add(DIGEST_LEN));
        if expected != Some(bytes.len()) {
            return Err(corrupt(format!(
                "the header announces {body_len} body bytes but the file has {} bytes",
                bytes.len()
            )));
        }
        let split = HEADER_LEN + body_len;
        let (signed, digest) = bytes.split_at(split);
        let actual = Sha256::digest(signed);
        if !bool::from(actual.as_slice().ct_eq(digest)) {
            return Err(corrupt("the SHA-256 checksum does not match".to_string()));
        }
        let body = signed.get(HEADER_LEN..).unwrap_or(&[]);
        Self::decode_body(body).map_err(corrupt)
    }

    /// Writes the body fields into `w` and returns how many bytes they take.
    fn encode_body(&self, w: &mut ByteWriter<'_>) -> usize {
        w.bytes(&self.seed.0);
        write_pin(w, &self.pin);
        write_pin(w, &self.puk);
        w.u8(self.scp03.kvn);
        w.bytes(&self.scp03.enc);
        w.bytes(&self.scp03.mac);
        w.bytes(&self.scp03.dek);
        w.u32(self.signature_count);
        w.u16(u16::try_from(self.files.len()).unwrap_or(u16::MAX));
        for file in self.files.iter().take(usize::from(u16::MAX)) {
            w.u8(u8::try_from(file.path.len()).unwrap_or(u8::MAX));
            for fid in file.path.iter().take(usize::from(u8::MAX)) {
                w.u16(*fid);
            }
            match &file.data {
                FileData::Transparent(bytes) => {
                    w.u8(1);
                    w.u32(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
                    w.bytes(bytes);
                }
                FileData::Records(records) => {
                    w.u8(2);
                    w.u16(u16::try_from(records.len()).unwrap_or(u16::MAX));
                    for rec in records.iter().take(usize::from(u16::MAX)) {
                        let rec = rec.get(..usize::from(u16::MAX)).unwrap_or(rec);
                        w.u16(u16::try_from(rec.len()).unwrap_or(u16::MAX));
                        w.bytes(rec);
                    }
                }
            }
        }
        w.position()
    }

    fn decode_body(body: &[u8]) -> Result<CardState, String> {
        let mut r = ByteReader::new(body);
        let seed = Seed(r.array().map_err(short)?);
        let pin = read_pin(&mut r)?;
        let puk = read_pin(&mut r)?;
        let scp03 = Scp03Keys {
            kvn: r.u8().map_err(short)?,
            enc: r.array().map_err(short)?,
            mac: r.array().map_err(short)?,
            dek: r.array().map_err(short)?,
        };
        let signature_count = r.u32().map_err(short)?;
        let count = r.u16().map_err(short)?;
        let mut files = Vec::with_capacity(usize::from(count).min(256));
        for _ in 0..count {
            let depth = r.u8().map_err(short)?;
            let mut path = Vec::with_capacity(usize::from(depth));
            for _ in 0..depth {
                path.push(r.u16().map_err(short)?);
            }
            let data = match r.u8().map_err(short)? {
                1 => {
                    let len = r.u32().map_err(short)? as usize;
                    FileData::Transparent(r.take(len).map_err(short)?.to_vec())
                }
                2 => {
                    let n = r.u16().map_err(short)?;
                    let mut records = Vec::with_capacity(usize::from(n).min(256));
                    for _ in 0..n {
                        let len = usize::from(r.u16().map_err(short)?);
                        records.push(r.take(len).map_err(short)?.to_vec());
                    }
                    FileData::Records(records)
                }
                other => return Err(format!("unknown file kind {other}")),
            };
            files.push(FileContent { path, data });
        }
        if !r.is_empty() {
            return Err(format!(
                "{} unexpected bytes after the files",
                r.remaining()
            ));
        }
        Ok(CardState {
            seed,
            pin,
            puk,
            scp03,
            signature_count,
            files,
        })
    }
}

fn io_error(path: &Path, what: &str, e: &std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: format!("{what}: {e}"),
    }
}

/// A state file on disk, opened once and saved after every change of persistent state.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
}

/// What [`StateFile::open`] found.
#[derive(Debug)]
pub enum Opened {
    /// The file held a valid state.
    Existing(Box<CardState>),
    /// There was no file yet; the caller creates a fresh card and saves it.
    Missing,
}

impl StateFile {
    /// Opens `path`: loads the state if the file exists.
    ///
    /// # Errors
    /// The file exists but cannot be read ([`Error::Io`]) or is not a valid state file
    /// ([`Error::ForeignState`], [`Error::CorruptState`], [`Error::UnsupportedStateVersion`]);
    /// the file is left untouched.
    pub fn open(path: &Path) -> Result<(StateFile, Opened), Error> {
        let file = StateFile {
            path: path.to_path_buf(),
        };
        let opened = match file.read_existing()? {
            Some(state) => Opened::Existing(Box::new(state)),
            None => Opened::Missing,
        };
        Ok((file, opened))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_existing(&self) -> Result<Option<CardState>, Error> {
        let meta = match fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&self.path, "cannot inspect the state file", &e)),
        };
        let name = self.path.display().to_string();
        if !meta.is_file() {
            return Err(Error::ForeignState { path: name });
        }
        if meta.len() > MAX_STATE_LEN as u64 {
            return Err(Error::CorruptState {
                path: name,
                reason: format!("it is {} bytes, more than any state file", meta.len()),
            });
        }
        let bytes = fs::read(&self.path)
            .map_err(|e| io_error(&self.path, "cannot read the state file", &e))?;
        CardState::decode(&bytes, &name).map(Some)
    }

    /// Saves `state` atomically (temporary file, `fsync`, rename, directory `fsync`).
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails (the old file is intact), or the validity errors of
    /// [`StateFile::open`] when the file on disk was replaced by something that is not a
    /// state file since it was opened (it is not overwritten).
    pub fn save(&self, state: &CardState) -> Result<(), Error> {
        self.save_with(state, || Ok(()))
    }

    /// [`StateFile::save`] with a hook run after the temporary file is complete and synced
    /// and before the rename: tests use it to simulate a crash at the worst moment.
    #[doc(hidden)]
    pub fn save_with(
        &self,
        state: &CardState,
        before_rename: impl FnOnce() -> std::io::Result<()>,
    ) -> Result<(), Error> {
        // Never overwrite something that is not ours.
        self.read_existing()?;
        let bytes = state.encode();
        let tmp = self.temp_path();
        let result = (|| {
            let mut f = fs::File::create(&tmp)
                .map_err(|e| io_error(&tmp, "cannot create the temporary state file", &e))?;
            f.write_all(&bytes)
                .map_err(|e| io_error(&tmp, "cannot write the temporary state file", &e))?;
            f.sync_all()
                .map_err(|e| io_error(&tmp, "cannot flush the temporary state file", &e))?;
            drop(f);
            before_rename().map_err(|e| io_error(&tmp, "interrupted before the rename", &e))?;
            fs::rename(&tmp, &self.path)
                .map_err(|e| io_error(&self.path, "cannot replace the state file", &e))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
            return result;
        }
        // Make the rename itself durable (best effort where directories cannot be opened).
        if let Some(dir) = self.path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    fn temp_path(&self) -> PathBuf {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".to_string());
        self.path
            .with_file_name(format!(".{name}.{}.tmp", std::process::id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CardState {
        let seed = Seed::DEFAULT;
        CardState {
            pin: PinRecord::new(&seed, "pin", b"1234", 3),
            puk: PinRecord::new(&seed, "puk", b"12345678", 10),
            seed,
            scp03: Scp03Keys::test_keys(),
            signature_count: 7,
            files: vec![
                FileContent {
                    path: vec![0x3F00, 0x5000, 0x5001],
                    data: FileData::Transparent(b"Amira Ahmed".to_vec()),
                },
                FileContent {
                    path: vec![0x3F00, 0x2F00],
                    data: FileData::Records(vec![vec![0x61, 0x00], vec![]]),
                },
            ],
        }
    }

    #[test]
    fn round_trip() {
        let s = sample();
        let bytes = s.encode();
        assert_eq!(&bytes[..8], b"CWVCARD\x1A");
        assert_eq!(CardState::decode(&bytes, "x").unwrap(), s);
    }

    #[test]
    fn the_pin_is_not_stored_in_plain() {
        let bytes = sample().encode();
        assert!(!bytes.windows(4).any(|w| w == b"1234"));
        assert!(!bytes.windows(8).any(|w| w == b"12345678"));
    }

    #[test]
    fn salted_sha256_matches_the_record_and_rekeys() {
        let p = PinRecord::new(&Seed::DEFAULT, "pin", b"1234", 3);
        let mut v = SaltedSha256::new(&Seed::DEFAULT);
        assert_eq!(v.salt(Secret::Pin), p.salt());
        assert_eq!(v.reference(Secret::Pin, b"1234").expose_secret(), p.hash());
        assert_ne!(v.reference(Secret::Pin, b"1235").expose_secret(), p.hash());
        assert_ne!(v.reference(Secret::Puk, b"1234").expose_secret(), p.hash());
        v.rekey(Secret::Pin);
        assert_eq!(v.salt(Secret::Pin).1, 2);
        assert_ne!(v.salt(Secret::Pin).0, p.salt().0);
        assert_ne!(v.reference(Secret::Pin, b"1234").expose_secret(), p.hash());
        assert!(format!("{v:?}").contains("redacted"));
        assert!(format!("{p:?}").contains("redacted"));
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            let err = CardState::decode(&b, "f").unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::CorruptState { .. }
                        | Error::ForeignState { .. }
                        | Error::UnsupportedStateVersion { .. }
                ),
                "byte {i}: {err:?}"
            );
        }
    }

    #[test]
    fn truncation_and_foreign_files_are_refused() {
        let bytes = sample().encode();
        for n in 0..bytes.len() {
            assert!(CardState::decode(&bytes[..n], "f").is_err(), "{n}");
        }
        let err = CardState::decode(b"{\"json\": true}", "cfg.json").unwrap_err();
        assert!(matches!(err, Error::ForeignState { .. }));
        assert!(err.to_string().contains("cfg.json"), "{err}");
        let mut v2 = bytes.clone();
        v2[9] = 2;
        assert!(matches!(
            CardState::decode(&v2, "f").unwrap_err(),
            Error::UnsupportedStateVersion { version: 2, .. }
        ));
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cardwire-vcard-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn save_and_open() {
        let dir = temp_dir("save");
        let path = dir.join("card.state");
        let (file, opened) = StateFile::open(&path).unwrap();
        assert!(matches!(opened, Opened::Missing));
        let s = sample();
        file.save(&s).unwrap();
        let (_, opened) = StateFile::open(&path).unwrap();
        match opened {
            Opened::Existing(loaded) => assert_eq!(*loaded, s),
            Opened::Missing => panic!("not saved"),
        }
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_foreign_file_is_refused_and_never_overwritten() {
        let dir = temp_dir("foreign");
        let path = dir.join("notes.txt");
        fs::write(&path, b"my precious notes").unwrap();
        let err = StateFile::open(&path).unwrap_err();
        assert!(matches!(err, Error::ForeignState { .. }), "{err:?}");
        // Even a StateFile opened before the file was replaced refuses to overwrite it.
        let other = dir.join("card.state");
        let (file, _) = StateFile::open(&other).unwrap();
        fs::write(&other, b"replaced by someone").unwrap();
        assert!(file.save(&sample()).is_err());
        assert_eq!(fs::read(&other).unwrap(), b"replaced by someone");
        assert_eq!(fs::read(&path).unwrap(), b"my precious notes");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_corrupt_file_is_refused_and_never_overwritten() {
        let dir = temp_dir("corrupt");
        let path = dir.join("card.state");
        let mut bytes = sample().encode();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let err = StateFile::open(&path).unwrap_err();
        assert!(matches!(err, Error::CorruptState { .. }), "{err:?}");
        assert!(err.to_string().contains("checksum"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), bytes);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_crash_before_the_rename_leaves_the_previous_state() {
        let dir = temp_dir("crash");
        let path = dir.join("card.state");
        let (file, _) = StateFile::open(&path).unwrap();
        let old = sample();
        file.save(&old).unwrap();
        let mut new = sample();
        new.pin.tries_left = 0;
        let err = file
            .save_with(&new, || Err(std::io::Error::other("simulated power loss")))
            .unwrap_err();
        assert!(err.to_string().contains("simulated power loss"), "{err}");
        let (_, opened) = StateFile::open(&path).unwrap();
        match opened {
            Opened::Existing(loaded) => assert_eq!(*loaded, old),
            Opened::Missing => panic!("state lost"),
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
