//! Passive Authentication for `cardwire emrtd read --trust CSCA_OR_MASTERLIST` (ICAO Doc
//! 9303-11 §5.1): loading the trust list, running the checks at the current time and printing
//! or serialising the report; and exporting the virtual card's test CSCA
//! (`cardwire serve --export-csca FILE`).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cardwire_sm::passive::{
    LoadedTrust, MasterListCheck, PassiveReport, TrustList, passive_authentication,
};
use cardwire_vcard::Seed;
use cardwire_vcard::emrtd_pki;

use crate::failure::Failure;

/// The current time since the UNIX epoch, the moment certificates must be valid at (the
/// library reads no clock; the command line does).
pub fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// Loads `--trust PATH`: a CSCA certificate (DER or PEM), a directory of them, or an ICAO
/// master list, with notes for the user (master list signer checks, skipped files).
///
/// # Errors
/// [`Failure::Failed`] naming the path when nothing usable is found.
pub fn load_trust(path: &Path) -> Result<(TrustList, Vec<String>), Failure> {
    let LoadedTrust {
        list,
        master_lists,
        skipped,
    } = TrustList::load(path, now())
        .map_err(|e| Failure::Failed(format!("--trust {}: {e}", path.display())))?;
    let mut notes = Vec::new();
    for (file, check) in master_lists {
        let what = match check {
            MasterListCheck::Verified => "signature verified under a CSCA it lists".to_string(),
            MasterListCheck::SignerNotInList => {
                "signature verified, but its signer's CSCA is not in it: trusted as obtained"
                    .to_string()
            }
            MasterListCheck::Failed(e) => format!("signer NOT verified ({e}): trusted as obtained"),
        };
        notes.push(format!("master list {}: {what}", file.display()));
    }
    for file in skipped {
        notes.push(format!(
            "skipped {}: not a certificate or master list",
            file.display()
        ));
    }
    Ok((list, notes))
}

/// Passive Authentication of EF.SOD (as read) and the data groups read (number, whole file)
/// under `trust`, now.
///
/// # Errors
/// [`Failure::Failed`] when EF.SOD does not parse; every other failure is in the report.
pub fn passive_report(
    sod: &[u8],
    data_groups: &[(u8, &[u8])],
    trust: &TrustList,
) -> Result<PassiveReport, Failure> {
    passive_authentication(sod, data_groups, trust, now())
        .map_err(|e| Failure::Failed(format!("EF.SOD: {e}")))
}

/// Writes the virtual card's **test** CSCA for `seed` to `path`: PEM when the name ends in
/// `.pem`, DER otherwise.
///
/// # Errors
/// [`Failure::Failed`] when the certificate cannot be made or the file written.
pub fn export_csca(seed: &Seed, path: &Path) -> Result<(), Failure> {
    let pem = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pem"));
    let bytes = if pem {
        emrtd_pki::csca_pem(seed).map(String::into_bytes)
    } else {
        emrtd_pki::csca_cert(seed)
    }
    .map_err(|e| Failure::Failed(format!("test CSCA: {e}")))?;
    std::fs::write(path, bytes)
        .map_err(|e| Failure::Failed(format!("--export-csca {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dg(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag, body.len() as u8];
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn exported_csca_verifies_the_virtual_cards_sod() {
        let seed = Seed::from_text("cli trust");
        let dir = tempfile_dir();
        let (dg1, dg2) = (dg(0x61, b"dg1"), dg(0x75, b"dg2"));
        let sod = emrtd_pki::build_sod(&seed, &[(1, &dg1), (2, &dg2)]).unwrap();
        for name in ["csca.der", "csca.pem"] {
            let path = dir.join(name);
            export_csca(&seed, &path).unwrap();
            let (trust, notes) = load_trust(&path).unwrap();
            assert!(notes.is_empty());
            let report = passive_report(&sod, &[(1, &dg1), (2, &dg2)], &trust).unwrap();
            assert!(report.passed(), "{report}");
            assert!(
                report
                    .data_groups
                    .iter()
                    .all(|d| d.outcome == cardwire_sm::passive::DataGroupOutcome::Match)
            );
        }
        // Another card's CSCA does not vouch for this SOD.
        let other = dir.join("other.der");
        export_csca(&Seed::from_text("other"), &other).unwrap();
        let (trust, _) = load_trust(&other).unwrap();
        let report = passive_report(&sod, &[(1, &dg1)], &trust).unwrap();
        assert!(!report.passed());
        assert!(report.sod_signature.is_ok() && report.document_signer.is_err());
        // A missing trust file and a broken SOD are failures.
        assert!(load_trust(&dir.join("missing")).is_err());
        assert!(passive_report(&sod[..20], &[], &trust).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("cardwire-emrtd-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
