//! The whole of Passive Authentication as one typed report (ICAO Doc 9303-11 §5.1).

use alloc::vec::Vec;
use core::time::Duration;

use x509_cert::name::Name;

use super::{PassiveError, SignedSod, TrustList};
use crate::sod::SodError;

/// A data group's check against the SOD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataGroupCheck {
    /// The data group number (1 to 16).
    pub number: u8,
    /// What was found.
    pub outcome: DataGroupOutcome,
}

/// The outcome of one data group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataGroupOutcome {
    /// Read, and its hash is the SOD's.
    Match,
    /// Read, and its hash differs from the SOD's: the data group was altered.
    Mismatch,
    /// Read, but the SOD has no hash for it.
    NotInSod,
    /// In the SOD but not read (not given to the check).
    NotRead,
}

/// Which checks of Passive Authentication passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassiveReport {
    /// The SOD's signature by the document signer (signed attributes and signature).
    pub sod_signature: Result<(), PassiveError>,
    /// The document signer certificate under a CSCA of the trust list, at the time given.
    pub document_signer: Result<(), PassiveError>,
    /// The document signer's subject, when the SOD carries the certificate.
    pub ds_subject: Option<Name>,
    /// The CSCA's subject, when one verified the document signer.
    pub csca_subject: Option<Name>,
    /// Every data group given and every data group the SOD lists, by number.
    pub data_groups: Vec<DataGroupCheck>,
}

impl PassiveReport {
    /// Whether the document passed: the SOD signature and the DS certificate verify, and every
    /// data group read matches the SOD (data groups the SOD lists but that were not read do
    /// not fail it).
    pub fn passed(&self) -> bool {
        self.sod_signature.is_ok()
            && self.document_signer.is_ok()
            && self.data_groups.iter().all(|d| {
                matches!(
                    d.outcome,
                    DataGroupOutcome::Match | DataGroupOutcome::NotRead
                )
            })
    }

    /// The first failure, in the order: SOD signature, DS certificate, data groups
    /// ([`SodError`] inside [`PassiveError::Lds`]).
    pub fn first_error(&self) -> Option<PassiveError> {
        if let Err(e) = self.sod_signature {
            return Some(e);
        }
        if let Err(e) = self.document_signer {
            return Some(e);
        }
        self.data_groups.iter().find_map(|d| {
            let data_group = u32::from(d.number);
            match d.outcome {
                DataGroupOutcome::Mismatch => {
                    Some(PassiveError::Lds(SodError::HashMismatch { data_group }))
                }
                DataGroupOutcome::NotInSod => {
                    Some(PassiveError::Lds(SodError::NoHash { data_group }))
                }
                _ => None,
            }
        })
    }
}

impl core::fmt::Display for PassiveReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let verdict = |r: &Result<(), PassiveError>| match r {
            Ok(()) => alloc::string::String::from("passed"),
            Err(e) => alloc::format!("FAILED ({e})"),
        };
        writeln!(f, "SOD signature: {}", verdict(&self.sod_signature))?;
        if let Some(ds) = &self.ds_subject {
            writeln!(f, "document signer: {ds}")?;
        }
        writeln!(
            f,
            "document signer under CSCA: {}",
            verdict(&self.document_signer)
        )?;
        if let Some(csca) = &self.csca_subject {
            writeln!(f, "CSCA: {csca}")?;
        }
        for d in &self.data_groups {
            let what = match d.outcome {
                DataGroupOutcome::Match => "hash matches",
                DataGroupOutcome::Mismatch => "HASH DIFFERS (altered)",
                DataGroupOutcome::NotInSod => "NOT IN SOD",
                DataGroupOutcome::NotRead => "not read",
            };
            writeln!(f, "DG{}: {what}", d.number)?;
        }
        write!(
            f,
            "passive authentication: {}",
            if self.passed() { "passed" } else { "FAILED" }
        )
    }
}

/// Runs Passive Authentication (ICAO 9303-11 §5.1): parses `sod` (EF.SOD as read), verifies
/// its signature, the document signer under `trust` at `now` (since the UNIX epoch), and each
/// of `data_groups` (number, whole file as read) against the SOD's hashes.
///
/// # Errors
/// Only when `sod` does not parse ([`SignedSod::parse`]); every other failure is in the report.
pub fn passive_authentication(
    sod: &[u8],
    data_groups: &[(u8, &[u8])],
    trust: &TrustList,
    now: Duration,
) -> Result<PassiveReport, PassiveError> {
    let sod = SignedSod::parse(sod)?;
    let sod_signature = sod.verify_signature();
    let ds = sod.document_signer();
    let ds_subject = ds.ok().map(|c| c.tbs_certificate().subject().clone());
    let chain = ds.and_then(|ds| trust.verify_document_signer(ds, now));
    let csca_subject = chain
        .as_ref()
        .ok()
        .map(|c| c.tbs_certificate().subject().clone());
    let lds = sod.lds();
    let mut checks: Vec<DataGroupCheck> = Vec::new();
    for &(number, file) in data_groups {
        let outcome = match lds.check_data_group(u32::from(number), file) {
            Ok(()) => DataGroupOutcome::Match,
            Err(SodError::NoHash { .. }) => DataGroupOutcome::NotInSod,
            Err(_) => DataGroupOutcome::Mismatch,
        };
        checks.push(DataGroupCheck { number, outcome });
    }
    for (n, _) in lds.data_groups() {
        let Ok(number) = u8::try_from(n) else {
            continue;
        };
        if !checks.iter().any(|c| c.number == number) {
            checks.push(DataGroupCheck {
                number,
                outcome: DataGroupOutcome::NotRead,
            });
        }
    }
    checks.sort_by_key(|c| c.number);
    Ok(PassiveReport {
        sod_signature,
        document_signer: chain.map(|_| ()),
        ds_subject,
        csca_subject,
        data_groups: checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    const SOD: &[u8] = include_bytes!("testdata/cardwire-test-sod.der");
    const CSCA: &[u8] = include_bytes!("testdata/cardwire-test-csca.der");
    const DG1: &[u8] = include_bytes!("testdata/cardwire-test-dg1.bin");
    const DG2: &[u8] = include_bytes!("testdata/cardwire-test-dg2.bin");
    /// 2026-01-01T00:00:00Z.
    const NOW: Duration = Duration::from_secs(1_767_225_600);

    fn trust() -> TrustList {
        let mut t = TrustList::new();
        t.push_der(CSCA).unwrap();
        t
    }

    #[test]
    fn report_of_the_test_document() {
        let r = passive_authentication(SOD, &[(2, DG2), (1, DG1)], &trust(), NOW).unwrap();
        assert!(r.passed());
        // Sorted by number whatever the order given.
        assert_eq!(r.data_groups[0].number, 1);
        let text = r.to_string();
        assert!(
            text.contains("DG1: hash matches\nDG2: hash matches"),
            "{text}"
        );
        assert!(text.contains("CSCA: CN=cardwire TEST CSCA"), "{text}");
    }

    #[test]
    fn failures_in_order() {
        // No trust list, DG2 altered, DG3 not in the SOD.
        let r = passive_authentication(SOD, &[(2, DG1), (3, DG1)], &TrustList::new(), NOW).unwrap();
        assert!(!r.passed());
        assert_eq!(r.first_error(), Some(PassiveError::UnknownCsca));
        let outcomes: Vec<_> = r
            .data_groups
            .iter()
            .map(|d| (d.number, d.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                (1, DataGroupOutcome::NotRead),
                (2, DataGroupOutcome::Mismatch),
                (3, DataGroupOutcome::NotInSod)
            ]
        );
        let text = r.to_string();
        assert!(text.contains("DG2: HASH DIFFERS"), "{text}");
        assert!(text.contains("DG3: NOT IN SOD"), "{text}");
        assert!(text.ends_with("passive authentication: FAILED"), "{text}");
        // Only a data group wrong.
        let r = passive_authentication(SOD, &[(2, DG1)], &trust(), NOW).unwrap();
        assert_eq!(
            r.first_error(),
            Some(PassiveError::Lds(SodError::HashMismatch { data_group: 2 }))
        );
        // A file that is not EF.SOD.
        assert_eq!(
            passive_authentication(DG1, &[], &trust(), NOW).unwrap_err(),
            PassiveError::Malformed { offset: 0 }
        );
    }
}
