//! `cardwire piv verify|change-pin|unblock|sign|generate|import-cert|read-object`.

use std::path::Path;

use cardwire_pin::{PinOutcome, PinReference};
use cardwire_piv::padding::Hash;
use cardwire_piv::{AlgorithmId, ObjectId, Piv, Slot};
use cardwire_transport::Session;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::failure::Failure;
use crate::input::to_hex;
use crate::piv_cmd::{Args, SecretKind, failed, management_key, pin};

fn outcome_result(what: &str, outcome: PinOutcome) -> Result<(), Failure> {
    match outcome {
        PinOutcome::Verified => {
            println!("{what}: accepted");
            Ok(())
        }
        PinOutcome::WrongPin { retries_left } => Err(Failure::Failed(format!(
            "{what}: wrong ({retries_left} tries left)"
        ))),
        PinOutcome::Blocked => Err(Failure::Failed(format!(
            "{what}: blocked (6983) — unblock it with the PUK (cardwire piv unblock)"
        ))),
        other => Err(Failure::Failed(format!(
            "{what}: the card answered {}",
            other.status_word()
        ))),
    }
}

fn reference(puk: bool) -> PinReference {
    if puk {
        PinReference::PIV_PUK
    } else {
        PinReference::PIV_APPLICATION_PIN
    }
}

/// `verify [--puk]`.
pub fn verify<S: Session>(piv: &mut Piv<S>, args: &Args, puk: bool) -> Result<(), Failure> {
    let kind = if puk {
        SecretKind::Puk
    } else {
        SecretKind::Pin
    };
    let value = pin(args, kind)?;
    let outcome = piv.verify_pin(reference(puk), &value).map_err(failed)?;
    outcome_result(if puk { "VERIFY PUK" } else { "VERIFY PIN" }, outcome)
}

/// `verify [--puk] --pinpad` on a reader with a PIN pad (its `FEATURE_VERIFY_PIN_DIRECT`
/// control `code`): SELECT the PIV application, then the reader builds VERIFY around the PIN
/// typed on its keypad — 6 to 8 digits, ASCII, padded with FF to 8 bytes (SP 800-73-4 Part 2
/// §2.4.3) — and returns the card's answer.
#[cfg(feature = "pcsc")]
pub fn verify_on_pad(
    card: &mut cardwire_pcsc::PcscCard,
    code: u32,
    puk: bool,
) -> Result<(), Failure> {
    {
        let session = cardwire_transport::Card::open(&mut *card)
            .map_err(|e| Failure::Failed(format!("cannot open a session with the card: {e}")))?;
        let mut piv = Piv::new(session);
        let mut buf = [0u8; 512];
        piv.select(&mut buf)
            .map_err(|e| Failure::Failed(format!("SELECT PIV: {e}")))?;
    }
    let structure = crate::pinpad_cmd::verify_structure(reference(puk).p2(), 6, 8)?;
    let sw = crate::pinpad_cmd::verify_on_pad(card, code, &structure)?;
    let what = if puk { "VERIFY PUK" } else { "VERIFY PIN" };
    outcome_result(
        &format!("{what} on the PIN pad"),
        PinOutcome::from_status(sw),
    )
}

/// `change-pin [--puk]`.
pub fn change<S: Session>(piv: &mut Piv<S>, args: &Args, puk: bool) -> Result<(), Failure> {
    let old = pin(
        args,
        if puk {
            SecretKind::Puk
        } else {
            SecretKind::Pin
        },
    )?;
    let new = pin(args, SecretKind::NewPin)?;
    let outcome = piv
        .change_reference_data(reference(puk), &old, &new)
        .map_err(failed)?;
    outcome_result("CHANGE REFERENCE DATA", outcome)
}

/// `unblock`.
pub fn unblock<S: Session>(piv: &mut Piv<S>, args: &Args) -> Result<(), Failure> {
    let puk = pin(args, SecretKind::Puk)?;
    let new = pin(args, SecretKind::NewPin)?;
    let outcome = piv.reset_retry_counter(&puk, &new).map_err(failed)?;
    outcome_result("RESET RETRY COUNTER", outcome)
}

/// The algorithm of a slot's key, from its certificate.
fn slot_algorithm<S: Session>(piv: &mut Piv<S>, slot: Slot) -> Result<AlgorithmId, Failure> {
    let mut buf = vec![0u8; 8192];
    let object = piv.read_certificate(slot, &mut buf).map_err(failed)?;
    let der = object.decompressed().map_err(failed)?;
    let summary = crate::certificate::CertificateSummary::from_der(&der)
        .map_err(|e| Failure::Failed(format!("the {slot} certificate does not decode: {e}")))?;
    match (summary.key_algorithm.as_str(), summary.curve.as_deref()) {
        ("1.2.840.113549.1.1.1", _) => Ok(AlgorithmId::RSA_2048),
        (_, Some("1.2.840.10045.3.1.7")) => Ok(AlgorithmId::ECC_P256),
        (_, Some("1.3.132.0.34")) => Ok(AlgorithmId::ECC_P384),
        (alg, curve) => Err(Failure::Failed(format!(
            "the {slot} key is {alg} {curve:?}, which `cardwire piv sign` does not handle"
        ))),
    }
}

/// `sign --slot S --input FILE [--out FILE]`: SHA-256, then RSA PKCS#1 v1.5 or ECDSA.
pub fn sign<S: Session>(
    piv: &mut Piv<S>,
    args: &Args,
    slot: Slot,
    input: &Path,
    out: Option<&Path>,
) -> Result<(), Failure> {
    let data = std::fs::read(input)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", input.display())))?;
    let digest = Sha256::digest(&data);
    let algorithm = slot_algorithm(piv, slot)?;
    if slot != Slot::CARD_AUTHENTICATION {
        let value = pin(args, SecretKind::Pin)?;
        let outcome = piv
            .verify_pin(PinReference::PIV_APPLICATION_PIN, &value)
            .map_err(failed)?;
        if outcome != PinOutcome::Verified {
            return outcome_result("VERIFY PIN", outcome);
        }
    }
    let mut buf = vec![0u8; 1024];
    let signature = match algorithm {
        AlgorithmId::RSA_2048 => piv
            .sign_pkcs1v15(slot, algorithm, Hash::Sha256, &digest, &mut buf)
            .map_err(failed)?,
        AlgorithmId::ECC_P256 => piv
            .sign(slot, algorithm, &digest, &mut buf)
            .map_err(failed)?,
        other => {
            return Err(Failure::Failed(format!(
                "signing with {other} is not supported here"
            )));
        }
    };
    match out {
        Some(path) => std::fs::write(path, signature)
            .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", path.display())))?,
        None if args.json => println!(
            "{}",
            json!({"slot": format!("{:02X}", slot.0), "algorithm": algorithm.to_string(),
                   "sha256": to_hex(&digest), "signature": to_hex(signature)})
        ),
        None => println!("{}", to_hex(signature)),
    }
    Ok(())
}

fn authenticate<S: Session>(piv: &mut Piv<S>, args: &Args) -> Result<(), Failure> {
    let key = management_key(args)?;
    let mut seed = [0u8; 32];
    crate::randomness::OsRandom::new().fill(&mut seed)?;
    let mut rng = Preset(seed, 0);
    piv.authenticate_management_key(&key, &mut rng)
        .map_err(|e| Failure::Failed(format!("card management key authentication: {e}")))
}

/// Random bytes drawn before anything is sent, handed out as an RNG.
struct Preset([u8; 32], usize);
impl rand_core::TryRng for Preset {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for d in dst {
            *d = self.0.get(self.1 % 32).copied().unwrap_or(0);
            self.1 = self.1.wrapping_add(1);
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for Preset {}

/// `generate --slot S --algorithm A [--out FILE]`.
pub fn generate<S: Session>(
    piv: &mut Piv<S>,
    args: &Args,
    slot: Slot,
    algorithm: AlgorithmId,
    out: Option<&Path>,
) -> Result<(), Failure> {
    authenticate(piv, args)?;
    let mut buf = vec![0u8; 1024];
    let public = piv.generate(slot, algorithm, &mut buf).map_err(failed)?;
    use rsa::pkcs8::EncodePublicKey;
    let der = match algorithm {
        AlgorithmId::RSA_2048 => public.to_rsa().map_err(failed)?.to_public_key_der(),
        _ => public.to_p256().map_err(failed)?.to_public_key_der(),
    }
    .map_err(|e| Failure::Failed(format!("the public key does not encode: {e}")))?;
    match out {
        Some(path) => std::fs::write(path, der.as_bytes())
            .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", path.display())))?,
        None if args.json => println!(
            "{}",
            json!({"slot": format!("{:02X}", slot.0), "algorithm": algorithm.to_string(),
                   "public_key": to_hex(der.as_bytes())})
        ),
        None => println!("{}", to_hex(der.as_bytes())),
    }
    eprintln!(
        "generated a {algorithm} key in {slot}; import a certificate for it with `cardwire piv import-cert`"
    );
    Ok(())
}

/// `import-cert --slot S --cert FILE` (DER or PEM).
pub fn import_cert<S: Session>(
    piv: &mut Piv<S>,
    args: &Args,
    slot: Slot,
    cert: &Path,
) -> Result<(), Failure> {
    let bytes = std::fs::read(cert)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", cert.display())))?;
    let der = if bytes.starts_with(b"-----BEGIN") {
        let text = String::from_utf8_lossy(&bytes);
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        base64_decode(&body).ok_or_else(|| Failure::Usage("the PEM does not decode".into()))?
    } else {
        bytes
    };
    crate::certificate::CertificateSummary::from_der(&der)
        .map_err(|e| Failure::Usage(format!("{} is not a certificate: {e}", cert.display())))?;
    let object = cardwire_vcard::piv::certificate_object(&der)
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let id = slot
        .object()
        .ok_or_else(|| Failure::Usage(format!("{slot} has no certificate")))?;
    authenticate(piv, args)?;
    let mut work = vec![0u8; object.len() + 16];
    piv.put_data(id, &object, &mut work).map_err(failed)?;
    println!("PUT DATA {id}: {} bytes", der.len());
    Ok(())
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\r' | b'\n' | b' ' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xFF).ok()?);
        }
    }
    Some(out)
}

/// `read-object OBJECT [--out FILE]`.
pub fn read_object<S: Session>(
    piv: &mut Piv<S>,
    args: &Args,
    object: ObjectId,
    out: Option<&Path>,
) -> Result<(), Failure> {
    let mut buf = vec![0u8; 70_000];
    let content = piv.get_data(object, &mut buf).map_err(failed)?;
    match out {
        Some(path) => std::fs::write(path, content)
            .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", path.display())))?,
        None if args.json => println!(
            "{}",
            json!({"object": object.to_string(), "content": to_hex(content)})
        ),
        None => println!("{}", to_hex(content)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_pem_bodies() {
        assert_eq!(base64_decode("TWFu").unwrap(), b"Man");
        assert_eq!(base64_decode("TWE=").unwrap(), b"Ma");
        assert!(base64_decode("T*E=").is_none());
    }
}
