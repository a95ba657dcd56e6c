//! The card's persistent memory and its file format (`--state FILE`).
//!
//! [`CardState`] is everything a real card keeps in EEPROM: the seed its identity was
//! personalised from (and so its signing key), Argon2id verifiers of the PIN and PUK with
//! their retry counters, the SCP03 key set with its failed-authentication counter, counters,
//! and the content of every elementary file. Volatile state (selected files, verified PINs,
//! open secure channels) is not part of it.
//!
//! **The state file is the card's secret**: it holds the seed of the signing key and the
//! SCP03 keys in clear unless it is protected with a passphrase (see [`StateFile::open_with`]).
//! It is created with mode `0600`, and refused when group or others can read it. Even so a
//! retry counter in a file is not tamper resistant: whoever can write the file can reset it,
//! and whoever can read it can search the PIN offline. This is a test card.
//!
//! # File format (version 2)
//! ```text
//! offset  size  field
//! 0       8     magic "CWVCARD\x1A"
//! 8       2     format version, big-endian (2)
//! 10      4     body length N, big-endian
//! 14      N     body (fields below, in order)
//! 14+N    32    SHA-256 over bytes 0 .. 14+N
//! ```
//! Body: seed (32), PIN record, PUK record, SCP03 key set (KVN u8, S-ENC, S-MAC, DEK 16 each),
//! SCP03 tries (limit u8, left u8), signature counter (u32), then the files: count (u16) and,
//! per file, its path (count u8, FIDs u16 each), kind (1 transparent, 2 records) and content
//! (u32 length + bytes; records: count u16, each u16 length + bytes), then the PIV card
//! management key's (`9B`) tries (limit u8, left u8). That last field was added within
//! version 2: a file that ends after the files (written before it) loads with all
//! [`KeyTries::MANAGEMENT_LIMIT`] tries.
//! A PIN record is a random salt (16), Argon2id(value, salt) (32), the Argon2id cost (memory
//! KiB u32, passes u32, lanes u32; see [`crate::verifier`]), maximum tries (u8), tries left
//! (u8). Version 1 (salted SHA-256 verifiers) is refused: its PINs cannot be converted.
//!
//! # Passphrase protection
//! With a passphrase the whole version-2 file above is sealed in an envelope:
//! ```text
//! 0       8     magic "CWVCSEAL"
//! 8       2     envelope version (1)
//! 10      12    Argon2id cost of the key (memory KiB, passes, lanes; u32 each)
//! 22      16    random salt
//! 38      12    random nonce
//! 50      ...   ChaCha20-Poly1305 (RFC 8439) of the version-2 file, 16-byte tag at the end;
//!               bytes 0..50 are the associated data
//! ```
//! The key is Argon2id(passphrase, salt) with [`Cost::DEFAULT`].
//!
//! # Writing
//! [`StateFile::save`] writes the whole state to a fresh temporary file in the same directory
//! (created exclusively with mode `0600`, never following a symbolic link), `fsync`s it,
//! renames it over the old file and `fsync`s the directory, so a crash leaves either the old
//! or the new state, never a mix. A file that is not a valid state file is never overwritten:
//! [`StateFile::open`] refuses it and [`StateFile::save`] checks again. A [`StateFile`] holds
//! an exclusive lock (`flock` on `.NAME.lock` beside the file) for its lifetime, so two
//! processes never serve the same card.

use std::fs;

use cardwire_pin::codec::{ByteReader, ByteWriter};
use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::card::KeyTries;
use crate::error::Error;
use crate::identity::Seed;
use crate::verifier::{Cost, SaltAndCost, argon2id, random_salt};

/// The magic bytes at the start of every state file.
pub const MAGIC: [u8; 8] = *b"CWVCARD\x1A";
/// The magic bytes of a passphrase-protected state file.
pub const SEALED_MAGIC: [u8; 8] = *b"CWVCSEAL";
/// The format version this code writes and reads.
pub const VERSION: u16 = 2;
/// The envelope version of a passphrase-protected file.
pub const SEALED_VERSION: u16 = 1;
/// The largest state file written or accepted (16 MiB): a bound on what a damaged length can
/// make us allocate, and on what a card can grow to.
pub const MAX_STATE_LEN: usize = 16 * 1024 * 1024;
const HEADER_LEN: usize = 14;
const DIGEST_LEN: usize = 32;
const SEALED_HEADER_LEN: usize = 50;

/// PIN or PUK reference data as the state file stores it: Argon2id of the value with a random
/// salt, never the value itself, with its retry counter. Only a record: the card keeps PIN and
/// PUK in a `cardwire_pin::CardPin` with the [`crate::verifier::Argon2idVerifier`], which owns
/// all the rules. Compares in constant time; `Debug` redacts.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PinRecord {
    salt: [u8; 16],
    tag: [u8; 32],
    #[zeroize(skip)]
    cost: Cost,
    /// The retry limit (3 for the PIN, 10 for the PUK).
    pub max_tries: u8,
    /// Tries left; 0 means blocked.
    pub tries_left: u8,
}

impl ConstantTimeEq for PinRecord {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.salt.ct_eq(&other.salt)
            & self.tag.ct_eq(&other.tag)
            & Choice::from(u8::from(
                self.cost == other.cost
                    && self.max_tries == other.max_tries
                    && self.tries_left == other.tries_left,
            ))
    }
}

impl PartialEq for PinRecord {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for PinRecord {}

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
    /// Reference data for `value` with `salt` and `cost`.
    ///
    /// # Errors
    /// [`Error::InvalidPin`] when `cost` is not usable.
    pub fn new(
        salt: [u8; 16],
        cost: Cost,
        value: &[u8],
        max_tries: u8,
    ) -> Result<PinRecord, Error> {
        let tag = argon2id(value, &salt, cost)
            .ok_or_else(|| Error::InvalidPin("unusable Argon2id parameters".to_string()))?;
        Ok(PinRecord {
            salt,
            tag: *tag,
            cost,
            max_tries,
            tries_left: max_tries,
        })
    }

    /// The salt and cost, for [`crate::verifier::Argon2idVerifier::restore`].
    pub fn salt(&self) -> SaltAndCost {
        SaltAndCost {
            salt: self.salt,
            cost: self.cost,
        }
    }

    /// The stored Argon2id tag.
    pub fn tag(&self) -> &[u8; 32] {
        &self.tag
    }

    /// A blocked record with an all-zero tag, which no value matches.
    pub(crate) fn unusable(salt: SaltAndCost, max_tries: u8) -> PinRecord {
        PinRecord {
            salt: salt.salt,
            tag: [0; 32],
            cost: salt.cost,
            max_tries,
            tries_left: 0,
        }
    }

    /// A record from a `cardwire_pin::CardPin`'s stored reference and counters (`None` when
    /// the reference is not a 32-byte tag).
    pub fn from_parts(
        salt: SaltAndCost,
        tag: &[u8],
        max_tries: u8,
        tries_left: u8,
    ) -> Option<PinRecord> {
        Some(PinRecord {
            salt: salt.salt,
            tag: <[u8; 32]>::try_from(tag).ok()?,
            cost: salt.cost,
            max_tries,
            tries_left,
        })
    }
}

/// A GlobalPlatform SCP03 static key set (GPC Amendment D §4.1.1): key version number and the
/// three AES-128 keys. Zeroized on drop; `Debug` redacts the keys; compares in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
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

impl ConstantTimeEq for Scp03Keys {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.kvn.ct_eq(&other.kvn)
            & self.enc.ct_eq(&other.enc)
            & self.mac.ct_eq(&other.mac)
            & self.dek.ct_eq(&other.dek)
    }
}

impl PartialEq for Scp03Keys {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Scp03Keys {}

impl Scp03Keys {
    /// The well-known GlobalPlatform test key set `404142…4F` for all three keys, key version
    /// `01`: what a credential management system uses with a test card. Public, so a card
    /// with these keys has no administration security at all.
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
    /// The SCP03 keys' failed-authentication counter.
    pub scp03_tries: KeyTries,
    /// The PIV card management key's (`9B`) failed-authentication counter.
    pub management_tries: KeyTries,
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
    w.bytes(&p.tag);
    w.u32(p.cost.memory_kib);
    w.u32(p.cost.passes);
    w.u32(p.cost.lanes);
    w.u8(p.max_tries);
    w.u8(p.tries_left);
}

fn read_cost(r: &mut ByteReader<'_>) -> Result<Cost, String> {
    let cost = Cost {
        memory_kib: r.u32().map_err(short)?,
        passes: r.u32().map_err(short)?,
        lanes: r.u32().map_err(short)?,
    };
    if !cost.is_usable() {
        return Err(format!(
            "its Argon2id cost ({} KiB, {} passes, {} lanes) is out of range",
            cost.memory_kib, cost.passes, cost.lanes
        ));
    }
    Ok(cost)
}

fn read_pin(r: &mut ByteReader<'_>) -> Result<PinRecord, String> {
    let salt = r.array().map_err(short)?;
    let tag = r.array().map_err(short)?;
    let cost = read_cost(r)?;
    let max_tries = r.u8().map_err(short)?;
    let tries_left = r.u8().map_err(short)?;
    if max_tries == 0 || max_tries > 15 || tries_left > max_tries {
        return Err(format!(
            "a retry counter is out of range ({tries_left} of {max_tries})"
        ));
    }
    Ok(PinRecord {
        salt,
        tag,
        cost,
        max_tries,
        tries_left,
    })
}

impl CardState {
    /// The state as file bytes (header, body, SHA-256).
    pub fn encode(&self) -> Vec<u8> {
        // One pass measures, the second writes (the codec allocates nothing).
        let needed = self.encode_body(&mut ByteWriter::new(&mut []));
        let mut body = Zeroizing::new(vec![0u8; needed]);
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
    /// [`Error::CorruptState`] (length, checksum or structure wrong),
    /// [`Error::StatePassphrase`] (the file is sealed with a passphrase).
    pub fn decode(bytes: &[u8], path: &str) -> Result<CardState, Error> {
        let corrupt = |reason: String| Error::CorruptState {
            path: path.to_string(),
            reason,
        };
        if bytes.get(..SEALED_MAGIC.len()) == Some(&SEALED_MAGIC[..]) {
            return Err(Error::StatePassphrase {
                path: path.to_string(),
                reason: "it is protected with a passphrase and none was given",
            });
        }
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
        w.u8(self.scp03_tries.limit());
        w.u8(self.scp03_tries.left());
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
        w.u8(self.management_tries.limit());
        w.u8(self.management_tries.left());
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
        let (limit, left) = (r.u8().map_err(short)?, r.u8().map_err(short)?);
        let scp03_tries = KeyTries::from_parts(limit, left)
            .ok_or_else(|| format!("the SCP03 try counter is out of range ({left} of {limit})"))?;
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
        // Optional trailing field (absent from files written before it existed).
        let management_tries = if r.is_empty() {
            KeyTries::new(KeyTries::MANAGEMENT_LIMIT)
        } else {
            let (limit, left) = (r.u8().map_err(short)?, r.u8().map_err(short)?);
            KeyTries::from_parts(limit, left).ok_or_else(|| {
                format!("the management key try counter is out of range ({left} of {limit})")
            })?
        };
        if !r.is_empty() {
            return Err(format!(
                "{} unexpected bytes after the management key tries",
                r.remaining()
            ));
        }
        Ok(CardState {
            seed,
            pin,
            puk,
            scp03,
            scp03_tries,
            management_tries,
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

/// The passphrase key of a sealed state file, with the salt and cost it was derived with.
struct SealKey {
    key: Zeroizing<[u8; 32]>,
    salt: [u8; 16],
    cost: Cost,
}

/// A state file on disk, opened once and saved after every change of persistent state. Holds
/// the exclusive lock on the file for its lifetime.
pub struct StateFile {
    path: PathBuf,
    /// The lock file, held open (and `flock`ed) while this value lives.
    _lock: fs::File,
    passphrase: Option<Zeroizing<Vec<u8>>>,
    seal: std::sync::Mutex<Option<SealKey>>,
}

impl core::fmt::Debug for StateFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StateFile")
            .field("path", &self.path)
            .field("sealed", &self.passphrase.is_some())
            .finish()
    }
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
    /// Opens `path` without a passphrase: see [`StateFile::open_with`].
    ///
    /// # Errors
    /// As [`StateFile::open_with`].
    pub fn open(path: &Path) -> Result<(StateFile, Opened), Error> {
        Self::open_with(path, None)
    }

    /// Opens `path`: takes the lock, then loads the state if the file exists. With a
    /// `passphrase` the file is sealed (ChaCha20-Poly1305 under an Argon2id key, see the
    /// [module documentation](self)); an existing unsealed file is read as it is and sealed
    /// at the next save.
    ///
    /// # Errors
    /// [`Error::StateLocked`] (another process has it open), [`Error::StateExposed`] (group
    /// or others may read or write it, it is a symbolic link, or another user owns it),
    /// [`Error::Io`] (cannot be read), [`Error::StatePassphrase`] (sealed and no or the
    /// wrong passphrase), or it is not a valid state file ([`Error::ForeignState`],
    /// [`Error::CorruptState`], [`Error::UnsupportedStateVersion`]); the file is left
    /// untouched.
    pub fn open_with(
        path: &Path,
        passphrase: Option<Zeroizing<Vec<u8>>>,
    ) -> Result<(StateFile, Opened), Error> {
        let lock = Self::lock(path)?;
        let file = StateFile {
            path: path.to_path_buf(),
            _lock: lock,
            passphrase,
            seal: std::sync::Mutex::new(None),
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

    fn lock_path(path: &Path) -> PathBuf {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".to_string());
        path.with_file_name(format!(".{name}.lock"))
    }

    /// Opens (creating with mode `0600`) and `flock`s the lock file beside `path`.
    fn lock(path: &Path) -> Result<fs::File, Error> {
        let lock_path = Self::lock_path(path);
        let mut options = fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options
                .mode(0o600)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        }
        let lock = options
            .open(&lock_path)
            .map_err(|e| io_error(&lock_path, "cannot open the state lock file", &e))?;
        #[cfg(unix)]
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(
            |e| {
                if e == rustix::io::Errno::WOULDBLOCK {
                    Error::StateLocked {
                        path: path.display().to_string(),
                    }
                } else {
                    io_error(&lock_path, "cannot lock the state file", &e.into())
                }
            },
        )?;
        Ok(lock)
    }

    /// Refuses a state file that others could read or change (ISO/IEC 7816 cards keep their
    /// secrets in protected memory; a file is the card's memory here).
    #[cfg(unix)]
    fn check_exposure(&self, meta: &fs::Metadata) -> Result<(), Error> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let path = self.path.display().to_string();
        if meta.file_type().is_symlink() {
            return Err(Error::StateExposed {
                path,
                reason: "it is a symbolic link; give the real file's path".to_string(),
            });
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::StateExposed {
                reason: format!(
                    "its mode {mode:03o} lets group or others read or change it; run `chmod 600 {path}`"
                ),
                path,
            });
        }
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(Error::StateExposed {
                reason: format!(
                    "it belongs to user {} and this process runs as user {me}; run `chown {me} {path}` or use your own file",
                    meta.uid()
                ),
                path,
            });
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn check_exposure(&self, _meta: &fs::Metadata) -> Result<(), Error> {
        Ok(())
    }

    fn read_existing(&self) -> Result<Option<CardState>, Error> {
        let meta = match fs::symlink_metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&self.path, "cannot inspect the state file", &e)),
        };
        let name = self.path.display().to_string();
        if !meta.is_file() && !meta.file_type().is_symlink() {
            return Err(Error::ForeignState { path: name });
        }
        if meta.len() > MAX_STATE_LEN as u64 {
            return Err(Error::CorruptState {
                path: name,
                reason: format!(
                    "it is {} bytes, more than the {MAX_STATE_LEN} bytes a state file may have",
                    meta.len()
                ),
            });
        }
        let bytes = Zeroizing::new(
            fs::read(&self.path)
                .map_err(|e| io_error(&self.path, "cannot read the state file", &e))?,
        );
        let sealed = bytes.get(..SEALED_MAGIC.len()) == Some(&SEALED_MAGIC[..]);
        if !sealed && bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return Err(Error::ForeignState { path: name });
        }
        // Only a file that is ours can be exposed: anything else is reported as foreign.
        self.check_exposure(&meta)?;
        if sealed {
            let plain = self.unseal(&bytes, &name)?;
            return CardState::decode(&plain, &name).map(Some);
        }
        CardState::decode(&bytes, &name).map(Some)
    }

    /// The key for `salt` and `cost`: the cached one, or Argon2id of the passphrase.
    fn key_for(
        &self,
        salt: [u8; 16],
        cost: Cost,
        name: &str,
    ) -> Result<Zeroizing<[u8; 32]>, Error> {
        let Some(passphrase) = &self.passphrase else {
            return Err(Error::StatePassphrase {
                path: name.to_string(),
                reason: "it is protected with a passphrase and none was given (--state-passphrase-file)",
            });
        };
        let mut cached = self
            .seal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(k) = cached.as_ref() {
            if k.salt == salt && k.cost == cost {
                return Ok(k.key.clone());
            }
        }
        let key = argon2id(passphrase, &salt, cost).ok_or_else(|| Error::CorruptState {
            path: name.to_string(),
            reason: "its passphrase key parameters are out of range".to_string(),
        })?;
        *cached = Some(SealKey {
            key: key.clone(),
            salt,
            cost,
        });
        Ok(key)
    }

    fn unseal(&self, bytes: &[u8], name: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
        let corrupt = |reason: String| Error::CorruptState {
            path: name.to_string(),
            reason,
        };
        let mut r = ByteReader::new(bytes);
        r.take(SEALED_MAGIC.len()).map_err(|e| corrupt(short(e)))?;
        let version = r.u16().map_err(|e| corrupt(short(e)))?;
        if version != SEALED_VERSION {
            return Err(Error::UnsupportedStateVersion {
                path: name.to_string(),
                version,
            });
        }
        let cost = read_cost(&mut r).map_err(corrupt)?;
        let salt: [u8; 16] = r.array().map_err(|e| corrupt(short(e)))?;
        let nonce: [u8; 12] = r.array().map_err(|e| corrupt(short(e)))?;
        let (aad, sealed) = bytes.split_at(SEALED_HEADER_LEN.min(bytes.len()));
        let key = self.key_for(salt, cost, name)?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
        let plain = cipher
            .decrypt(Nonce::from_slice(&nonce), Payload { msg: sealed, aad })
            .map_err(|_| Error::StatePassphrase {
                path: name.to_string(),
                reason: "the passphrase is wrong or the file was changed (its ChaCha20-Poly1305 tag does not verify)",
            })?;
        Ok(Zeroizing::new(plain))
    }

    fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, Error> {
        let name = self.path.display().to_string();
        let rng = |e: getrandom::Error| Error::Io {
            path: name.clone(),
            message: format!("no random salt or nonce from the operating system: {e}"),
        };
        let cached = self
            .seal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|k| (k.salt, k.cost));
        let (salt, cost) = match cached {
            Some(c) => c,
            None => (random_salt().map_err(rng)?, Cost::DEFAULT),
        };
        let key = self.key_for(salt, cost, &name)?;
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(rng)?;
        let mut out = Vec::with_capacity(SEALED_HEADER_LEN + plain.len() + 16);
        out.extend_from_slice(&SEALED_MAGIC);
        out.extend_from_slice(&SEALED_VERSION.to_be_bytes());
        out.extend_from_slice(&cost.memory_kib.to_be_bytes());
        out.extend_from_slice(&cost.passes.to_be_bytes());
        out.extend_from_slice(&cost.lanes.to_be_bytes());
        out.extend_from_slice(&salt);
        out.extend_from_slice(&nonce);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &out,
                },
            )
            .map_err(|_| Error::Io {
                path: name.clone(),
                message: "the state could not be encrypted".to_string(),
            })?;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Saves `state` atomically (fresh `0600` temporary file, `fsync`, rename, directory
    /// `fsync`).
    ///
    /// # Errors
    /// [`Error::StateTooLarge`] beyond [`MAX_STATE_LEN`]; [`Error::Io`] when writing fails
    /// (the old file is intact), or the errors of [`StateFile::open`] when the file on disk
    /// was replaced by something that is not this card's state file since it was opened (it
    /// is not overwritten).
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
        let plain = Zeroizing::new(state.encode());
        let bytes = match &self.passphrase {
            Some(_) => Zeroizing::new(self.seal(&plain)?),
            None => plain,
        };
        if bytes.len() > MAX_STATE_LEN {
            return Err(Error::StateTooLarge {
                path: self.path.display().to_string(),
                len: bytes.len(),
                max: MAX_STATE_LEN,
            });
        }
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".to_string());
        // Created exclusively (O_EXCL) at an unpredictable name with mode 0600.
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| io_error(dir, "cannot create the temporary state file", &e))?;
        let tmp_path = tmp.path().to_path_buf();
        tmp.write_all(&bytes)
            .map_err(|e| io_error(&tmp_path, "cannot write the temporary state file", &e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| io_error(&tmp_path, "cannot flush the temporary state file", &e))?;
        before_rename().map_err(|e| io_error(&tmp_path, "interrupted before the rename", &e))?;
        // On failure the temporary file is removed when `tmp` is dropped.
        tmp.persist(&self.path)
            .map_err(|e| io_error(&self.path, "cannot replace the state file", &e.error))?;
        // Make the rename itself durable (best effort where directories cannot be opened).
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CardState {
        let seed = Seed::DEFAULT;
        CardState {
            pin: PinRecord::new([1; 16], Cost::TEST_ONLY_MINIMAL, b"1234", 3).unwrap(),
            puk: PinRecord::new([2; 16], Cost::TEST_ONLY_MINIMAL, b"12345678", 10).unwrap(),
            seed,
            scp03: Scp03Keys::test_keys(),
            scp03_tries: KeyTries::new(10),
            management_tries: KeyTries::from_parts(10, 4).unwrap(),
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
    fn the_record_matches_the_verifier_and_secrets_are_redacted() {
        use crate::verifier::Argon2idVerifier;
        use cardwire_pin::{PinVerifier, Secret};
        let p = PinRecord::new([1; 16], Cost::TEST_ONLY_MINIMAL, b"1234", 3).unwrap();
        let mut v = Argon2idVerifier::new(Cost::TEST_ONLY_MINIMAL).unwrap();
        v.restore(p.salt(), p.salt());
        assert_eq!(v.reference(Secret::Pin, b"1234").expose_secret(), p.tag());
        assert_ne!(v.reference(Secret::Pin, b"1235").expose_secret(), p.tag());
        assert!(format!("{p:?}").contains("redacted"));
        let keys = format!("{:?}", Scp03Keys::test_keys());
        assert!(keys.contains("redacted") && !keys.contains("64"), "{keys}");
        // Records compare by value (in constant time).
        let q = PinRecord::new([1; 16], Cost::TEST_ONLY_MINIMAL, b"1234", 3).unwrap();
        assert_eq!(p, q);
        assert_ne!(
            p,
            PinRecord::new([3; 16], Cost::TEST_ONLY_MINIMAL, b"1234", 3).unwrap()
        );
    }

    #[test]
    fn version_1_and_hostile_costs_are_refused() {
        let mut bytes = sample().encode();
        bytes[9] = 1;
        assert!(matches!(
            CardState::decode(&bytes, "f").unwrap_err(),
            Error::UnsupportedStateVersion { version: 1, .. }
        ));
        // A PIN record asking for 4 GiB of Argon2id memory: refused before any hashing.
        let mut s = sample();
        s.pin.cost.memory_kib = u32::MAX;
        let bytes = s.encode();
        let err = CardState::decode(&bytes, "f").unwrap_err();
        assert!(err.to_string().contains("Argon2id cost"), "{err}");
    }

    #[test]
    fn files_without_the_management_key_tries_load_with_all_tries() {
        // The layout written before the management key counter existed: the body ends after
        // the files.
        let bytes = sample().encode();
        let body_end = bytes.len() - DIGEST_LEN - 2;
        assert_eq!(&bytes[body_end..body_end + 2], &[10, 4]);
        let mut old = bytes[..body_end].to_vec();
        let body_len = u32::try_from(body_end - HEADER_LEN).unwrap();
        old[10..14].copy_from_slice(&body_len.to_be_bytes());
        let digest = Sha256::digest(&old);
        old.extend_from_slice(&digest);
        let loaded = CardState::decode(&old, "f").unwrap();
        assert_eq!(
            loaded.management_tries,
            KeyTries::new(KeyTries::MANAGEMENT_LIMIT)
        );
        assert_eq!(loaded.scp03_tries, sample().scp03_tries);
        assert_eq!(loaded.files, sample().files);
        // A counter out of range is refused.
        let mut bad = bytes[..body_end].to_vec();
        bad.extend_from_slice(&[10, 11]);
        let digest = Sha256::digest(&bad);
        bad.extend_from_slice(&digest);
        let err = CardState::decode(&bad, "f").unwrap_err();
        assert!(err.to_string().contains("management key"), "{err}");
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
        let mut v3 = bytes.clone();
        v3[9] = 3;
        assert!(matches!(
            CardState::decode(&v3, "f").unwrap_err(),
            Error::UnsupportedStateVersion { version: 3, .. }
        ));
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cardwire-vcard-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The fuzz target keeps a card in a `static`, and `serve` moves cards to threads.
    #[test]
    fn a_card_with_a_state_file_is_send_and_sync() {
        fn is<T: Send + Sync>() {}
        is::<StateFile>();
        is::<crate::VirtualCard>();
    }

    /// Writes `bytes` to `path` with mode 0600, as the card would.
    fn write_private(path: &Path, bytes: &[u8]) {
        use std::os::unix::fs::PermissionsExt;
        fs::write(path, bytes).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    }

    #[test]
    fn the_file_is_private_and_an_exposed_one_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("private");
        let path = dir.join("card.state");
        let (file, _) = StateFile::open(&path).unwrap();
        file.save(&sample()).unwrap();
        drop(file);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Group-readable: refused with the fix named, and left as it was.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let before = fs::read(&path).unwrap();
        let err = StateFile::open(&path).unwrap_err();
        assert!(matches!(err, Error::StateExposed { .. }), "{err:?}");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before);
        // A symbolic link to a private state file: refused too.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.join("link.state");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let err = StateFile::open(&link).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_state_beyond_the_limit_is_not_written() {
        let dir = temp_dir("large");
        let path = dir.join("card.state");
        let (file, _) = StateFile::open(&path).unwrap();
        file.save(&sample()).unwrap();
        let before = fs::read(&path).unwrap();
        let mut big = sample();
        big.files.push(FileContent {
            path: vec![0x3F00, 0x0001],
            data: FileData::Transparent(vec![0; MAX_STATE_LEN]),
        });
        let err = file.save(&big).unwrap_err();
        assert!(matches!(err, Error::StateTooLarge { .. }), "{err:?}");
        assert_eq!(fs::read(&path).unwrap(), before);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_passphrase_seals_the_whole_file() {
        let dir = temp_dir("sealed");
        let path = dir.join("card.state");
        let pass = || Some(Zeroizing::new(b"correct horse".to_vec()));
        let (file, _) = StateFile::open_with(&path, pass()).unwrap();
        let s = sample();
        file.save(&s).unwrap();
        file.save(&s).unwrap();
        drop(file);
        let bytes = fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"CWVCSEAL");
        // Neither the seed nor the SCP03 keys nor a file's content are visible.
        assert!(!bytes.windows(16).any(|w| w == s.scp03.enc));
        assert!(!bytes.windows(32).any(|w| w == s.seed.0));
        assert!(!bytes.windows(11).any(|w| w == b"Amira Ahmed"));
        let (_, opened) = StateFile::open_with(&path, pass()).unwrap();
        assert!(matches!(opened, Opened::Existing(ref st) if **st == s));
        drop(opened);
        // Without it, or with another one, or changed by one bit: refused, left untouched.
        let err = StateFile::open(&path).unwrap_err();
        assert!(matches!(err, Error::StatePassphrase { .. }), "{err:?}");
        let wrong = Some(Zeroizing::new(b"wrong".to_vec()));
        let err = StateFile::open_with(&path, wrong).unwrap_err();
        assert!(err.to_string().contains("passphrase is wrong"), "{err}");
        let mut flipped = bytes.clone();
        let last = flipped.len() - 20;
        flipped[last] ^= 1;
        write_private(&path, &flipped);
        assert!(StateFile::open_with(&path, pass()).is_err());
        assert_eq!(fs::read(&path).unwrap(), flipped);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn save_and_open() {
        let dir = temp_dir("save");
        let path = dir.join("card.state");
        let (file, opened) = StateFile::open(&path).unwrap();
        assert!(matches!(opened, Opened::Missing));
        let s = sample();
        file.save(&s).unwrap();
        // The lock is held while `file` lives.
        assert!(matches!(
            StateFile::open(&path).unwrap_err(),
            Error::StateLocked { .. }
        ));
        drop(file);
        let (_, opened) = StateFile::open(&path).unwrap();
        match opened {
            Opened::Existing(loaded) => assert_eq!(*loaded, s),
            Opened::Missing => panic!("not saved"),
        }
        // No temporary file is left behind (only the state and its lock file).
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [".card.state.lock", "card.state"]);
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
        write_private(&path, &bytes);
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
        drop(file);
        let (_, opened) = StateFile::open(&path).unwrap();
        match opened {
            Opened::Existing(loaded) => assert_eq!(*loaded, old),
            Opened::Missing => panic!("state lost"),
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
