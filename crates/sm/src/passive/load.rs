//! Loading a CSCA trust list from the file system (`std`): one certificate (DER or PEM, PEM
//! files may hold several), a directory of such files, or an ICAO master list (9303-12 §8).

use std::path::{Path, PathBuf};
use std::vec::Vec;

use core::time::Duration;
use der::Decode;
use x509_cert::Certificate;

use super::{MasterList, MasterListCheck, PassiveError, TrustList};

/// Why a trust list did not load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadError {
    /// The file or directory could not be read.
    Io(std::io::ErrorKind),
    /// A file given by name is neither a certificate nor a master list.
    Parse(PassiveError),
    /// No certificate was found.
    Empty,
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LoadError::Io(k) => write!(f, "cannot read the trust list: {k}"),
            LoadError::Parse(e) => {
                write!(f, "not a certificate (DER/PEM) or an ICAO master list: {e}")
            }
            LoadError::Empty => f.write_str("no CSCA certificate found"),
        }
    }
}

impl std::error::Error for LoadError {}

/// A loaded trust list and how it was made.
#[derive(Debug, Clone)]
pub struct LoadedTrust {
    /// The CSCA certificates.
    pub list: TrustList,
    /// For each master list read: its file and the check of its signer.
    pub master_lists: Vec<(PathBuf, MasterListCheck)>,
    /// Files of a directory that were neither certificates nor master lists.
    pub skipped: Vec<PathBuf>,
}

impl TrustList {
    /// Loads a trust list from `path`: a certificate file (DER, or PEM with one or more
    /// certificates), an ICAO master list (its signer checked at `now`, see
    /// [`MasterListCheck`]), or a directory whose regular files are any of these (others are
    /// listed in [`LoadedTrust::skipped`]).
    ///
    /// # Errors
    /// [`LoadError::Io`]; [`LoadError::Parse`] for a single file that is none of these;
    /// [`LoadError::Empty`] when no certificate was found.
    pub fn load(path: &Path, now: Duration) -> Result<LoadedTrust, LoadError> {
        let mut out = LoadedTrust {
            list: TrustList::new(),
            master_lists: Vec::new(),
            skipped: Vec::new(),
        };
        let meta = std::fs::metadata(path).map_err(|e| LoadError::Io(e.kind()))?;
        if meta.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| LoadError::Io(e.kind()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for file in files {
                if load_file(&file, now, &mut out).is_err() {
                    out.skipped.push(file);
                }
            }
        } else {
            load_file(path, now, &mut out)?;
        }
        if out.list.is_empty() {
            return Err(LoadError::Empty);
        }
        Ok(out)
    }
}

fn load_file(path: &Path, now: Duration, out: &mut LoadedTrust) -> Result<(), LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError::Io(e.kind()))?;
    if bytes.starts_with(b"-----BEGIN") {
        let certs = Certificate::load_pem_chain(&bytes)
            .map_err(|e| LoadError::Parse(PassiveError::from(e)))?;
        if certs.is_empty() {
            return Err(LoadError::Empty);
        }
        for c in certs {
            out.list.push(c);
        }
        return Ok(());
    }
    if let Ok(cert) = Certificate::from_der(&bytes) {
        out.list.push(cert);
        return Ok(());
    }
    let ml = MasterList::parse(&bytes, now).map_err(LoadError::Parse)?;
    for c in ml.cscas.certificates() {
        out.list.push(c.clone());
    }
    out.master_lists.push((path.to_path_buf(), ml.check));
    Ok(())
}
