//! The machine readable zone of a passport (ICAO Doc 9303 Part 4, TD3) and the two eMRTD
//! files built from it: EF.COM and EF.DG1 (ICAO Doc 9303 Part 10 §4.6 and §4.7.1); and the
//! other files of the virtual eMRTD: EF.CardAccess, DG2 (a synthetic face), DG14, DG15 and
//! EF.SOD (ICAO Doc 9303 Part 10 §4.7.2, §4.7.14, §4.7.15, §4.6.2; Part 11 §9.2).

use core::fmt;

use cardwire_sm::MrzField;
use cardwire_sm::mrz::check_digit;

use crate::fs::tlv;

/// The check digit of a field [`field`] already restricted to `0-9 A-Z <`, with cardwire-sm's
/// check digit (ICAO Doc 9303 Part 3 §4.9), the one implementation in cardwire.
fn digit(value: &str, which: MrzField) -> char {
    // `field` leaves no other character, so the error cannot arise; `<` would then show in
    // the MRZ, not a wrong digit.
    check_digit(which, value.as_bytes()).map_or('<', char::from)
}

/// The data a TD3 (passport) MRZ carries.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Mrz {
    /// Document code, e.g. `P`.
    pub document_code: String,
    /// Issuing state (3 letters).
    pub issuing_state: String,
    /// Primary identifier (surname).
    pub surname: String,
    /// Secondary identifier (given names, separated by spaces).
    pub given_names: String,
    /// Document number (up to 9 characters).
    pub document_number: String,
    /// Nationality (3 letters).
    pub nationality: String,
    /// Date of birth, YYMMDD.
    pub birth_date: String,
    /// Sex: `M`, `F` or `<`.
    pub sex: char,
    /// Date of expiry, YYMMDD.
    pub expiry_date: String,
    /// Optional data / personal number (up to 14 characters).
    pub optional_data: String,
}

fn field(text: &str, width: usize) -> String {
    let mut s: String = text
        .chars()
        .map(|c| match c.to_ascii_uppercase() {
            c @ ('A'..='Z' | '0'..='9') => c,
            _ => '<',
        })
        .take(width)
        .collect();
    while s.len() < width {
        s.push('<');
    }
    s
}

impl Mrz {
    /// The specimen passport of ICAO Doc 9303 Part 4 Appendix A (Anna Maria Eriksson, Utopia):
    /// the eMRTD applet of a fresh virtual card carries it.
    pub fn specimen() -> Mrz {
        Mrz {
            document_code: "P".into(),
            issuing_state: "UTO".into(),
            surname: "ERIKSSON".into(),
            given_names: "ANNA MARIA".into(),
            document_number: "L898902C3".into(),
            nationality: "UTO".into(),
            birth_date: "740812".into(),
            sex: 'F',
            expiry_date: "120415".into(),
            optional_data: "ZE184226B".into(),
        }
    }

    /// The two 44-character lines of the TD3 MRZ (ICAO Doc 9303 Part 4 §4.2.2).
    pub fn lines(&self) -> [String; 2] {
        let names = format!(
            "{}<<{}",
            field(&self.surname, self.surname.len()),
            field(&self.given_names, self.given_names.len())
        );
        let line1 = format!(
            "{}{}{}",
            field(&self.document_code, 2),
            field(&self.issuing_state, 3),
            field(&names, 39)
        );
        let number = field(&self.document_number, 9);
        let birth = field(&self.birth_date, 6);
        let expiry = field(&self.expiry_date, 6);
        let optional = field(&self.optional_data, 14);
        let optional_check = if optional.bytes().all(|b| b == b'<') {
            '<'
        } else {
            digit(&optional, MrzField::OptionalData)
        };
        let composite = format!(
            "{number}{}{birth}{}{expiry}{}{optional}{optional_check}",
            digit(&number, MrzField::DocumentNumber),
            digit(&birth, MrzField::DateOfBirth),
            digit(&expiry, MrzField::DateOfExpiry)
        );
        let sex = match self.sex {
            'M' | 'F' => self.sex,
            _ => '<',
        };
        let line2 = format!(
            "{number}{}{}{birth}{}{sex}{expiry}{}{optional}{optional_check}{}",
            digit(&number, MrzField::DocumentNumber),
            field(&self.nationality, 3),
            digit(&birth, MrzField::DateOfBirth),
            digit(&expiry, MrzField::DateOfExpiry),
            digit(&composite, MrzField::Composite)
        );
        [line1, line2]
    }

    /// The MRZ information BAC keys are derived from: document number, date of birth, date
    /// of expiry, each with its check digit (ICAO Doc 9303 Part 11 §9.7.2).
    pub fn key_seed_info(&self) -> String {
        mrz_information(&self.document_number, &self.birth_date, &self.expiry_date)
    }

    /// Parses the 88 characters of a TD3 MRZ (two lines, with or without a line break).
    ///
    /// # Errors
    /// A message naming what is wrong: length, or a check digit that does not match.
    pub fn parse(text: &str) -> Result<Mrz, String> {
        let chars: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if chars.len() != 88 || !chars.is_ascii() {
            return Err(format!(
                "a TD3 MRZ has 88 ASCII characters, this one has {}",
                chars.len()
            ));
        }
        let (l1, l2) = chars.split_at(44);
        let get = |s: &str, a: usize, b: usize| s.get(a..b).unwrap_or("").to_string();
        let unfill = |s: String| s.trim_end_matches('<').replace('<', " ");
        let check = |value: &str, digit: &str, which: MrzField, what: &str| match check_digit(
            which,
            value.as_bytes(),
        ) {
            Ok(d) if digit.as_bytes() == [d] => Ok(()),
            Ok(_) => Err(format!("the {what} check digit does not match")),
            Err(e) => Err(format!("{e}")),
        };
        let number = get(l2, 0, 9);
        check(
            &number,
            &get(l2, 9, 10),
            MrzField::DocumentNumber,
            "document number",
        )?;
        let birth = get(l2, 13, 19);
        check(
            &birth,
            &get(l2, 19, 20),
            MrzField::DateOfBirth,
            "date of birth",
        )?;
        let expiry = get(l2, 21, 27);
        check(
            &expiry,
            &get(l2, 27, 28),
            MrzField::DateOfExpiry,
            "date of expiry",
        )?;
        let composite = format!("{}{}{}", get(l2, 0, 10), get(l2, 13, 20), get(l2, 21, 43));
        check(
            &composite,
            &get(l2, 43, 44),
            MrzField::Composite,
            "composite",
        )?;
        let names = get(l1, 5, 44);
        let (surname, given) = names.split_once("<<").unwrap_or((names.as_str(), ""));
        Ok(Mrz {
            document_code: unfill(get(l1, 0, 2)),
            issuing_state: unfill(get(l1, 2, 5)),
            surname: unfill(surname.to_string()),
            given_names: unfill(given.to_string()).trim().to_string(),
            document_number: unfill(number),
            nationality: unfill(get(l2, 10, 13)),
            birth_date: birth,
            sex: get(l2, 20, 21).chars().next().unwrap_or('<'),
            expiry_date: expiry,
            optional_data: unfill(get(l2, 28, 42)),
        })
    }

    /// EF.DG1: template `61` holding the MRZ in `5F1F` (ICAO Doc 9303 Part 10 §4.7.1).
    pub fn dg1(&self) -> Vec<u8> {
        let [l1, l2] = self.lines();
        let mut mrz = Vec::with_capacity(88);
        mrz.extend_from_slice(l1.as_bytes());
        mrz.extend_from_slice(l2.as_bytes());
        let mut inner = Vec::new();
        tlv(0x5F1F, &mrz, &mut inner);
        let mut out = Vec::new();
        tlv(0x61, &inner, &mut out);
        out
    }
}

impl fmt::Display for Mrz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [l1, l2] = self.lines();
        write!(f, "{l1}\n{l2}")
    }
}

/// The MRZ information for BAC (document number padded to 9 with its check digit, date of
/// birth and its check digit, date of expiry and its check digit; ICAO Doc 9303 Part 11
/// §9.7.2). Long document numbers (more than 9 characters) are not supported.
pub fn mrz_information(document_number: &str, birth_date: &str, expiry_date: &str) -> String {
    let number = field(document_number, 9);
    let birth = field(birth_date, 6);
    let expiry = field(expiry_date, 6);
    format!(
        "{number}{}{birth}{}{expiry}{}",
        digit(&number, MrzField::DocumentNumber),
        digit(&birth, MrzField::DateOfBirth),
        digit(&expiry, MrzField::DateOfExpiry)
    )
}

/// EF.COM: template `60` with the LDS version `5F01` ("0107"), the Unicode version `5F36`
/// ("040000") and the tag list `5C` of the data groups present (ICAO Doc 9303 Part 10 §4.6).
pub fn ef_com(data_group_tags: &[u8]) -> Vec<u8> {
    let mut inner = Vec::new();
    tlv(0x5F01, b"0107", &mut inner);
    tlv(0x5F36, b"040000", &mut inner);
    tlv(0x5C, data_group_tags, &mut inner);
    let mut out = Vec::new();
    tlv(0x60, &inner, &mut out);
    out
}

/// DER `SEQUENCE` (`30`) around `parts`.
fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    tlv(0x30, &parts.concat(), &mut out);
    out
}

/// A DER TLV with a one-byte tag.
fn der(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    tlv(u16::from(tag), value, &mut out);
    out
}

/// EF.CardAccess (ICAO Doc 9303-11 §9.2.1, §9.2.2): a `SecurityInfos` with one `PACEInfo`,
/// version 2, for `protocol` (an `id-PACE-*` OID's content octets) on the standardized domain
/// parameters `parameter_id` (12 = NIST P-256).
pub fn ef_card_access(protocol: &[u8], parameter_id: u8) -> Vec<u8> {
    der(0x31, &pace_info(protocol, parameter_id))
}

/// A `PACEInfo` (ICAO Doc 9303-11 §9.2.1), version 2, for `protocol` on the standardized
/// domain parameters `parameter_id`.
pub fn pace_info(protocol: &[u8], parameter_id: u8) -> Vec<u8> {
    sequence(&[
        &der(0x06, protocol),
        &der(0x02, &[2]),
        &der(0x02, &[parameter_id]),
    ])
}

/// EF.CardAccess offering PACE-GM and PACE-CAM (ICAO Doc 9303-11 §9.2.1, §4.4.3.3.3): a
/// `SecurityInfos` with a `PACEInfo` for `gm` and one for `cam` (an
/// `id-PACE-ECDH-CAM-*` OID), both on `parameter_id`. The chip's static key is not here but
/// in EF.CardSecurity ([`card_security_infos`]).
pub fn ef_card_access_cam(gm: &[u8], cam: &[u8], parameter_id: u8) -> Vec<u8> {
    der(
        0x31,
        &[pace_info(gm, parameter_id), pace_info(cam, parameter_id)].concat(),
    )
}

/// EF.CardSecurity's `SecurityInfos` (ICAO Doc 9303-11 §9.2.2, BSI TR-03110-3 §A.1.2.2): the
/// `PACEInfo`s of [`ef_card_access_cam`] and the chip's static key as a
/// `ChipAuthenticationPublicKeyInfo` (`id-PK-ECDH`, `ca_spki` a DER SubjectPublicKeyInfo)
/// whose `keyId` is `parameter_id`: for PACE-CAM the `PACEInfo`'s parameterId names the key
/// (§9.2.1).
pub fn card_security_infos(gm: &[u8], cam: &[u8], parameter_id: u8, ca_spki: &[u8]) -> Vec<u8> {
    let pk_ecdh = [cardwire_sm::security_infos::ID_PK, &[0x02]].concat();
    let pk = sequence(&[&der(0x06, &pk_ecdh), ca_spki, &der(0x02, &[parameter_id])]);
    der(
        0x31,
        &[
            pace_info(gm, parameter_id),
            pace_info(cam, parameter_id),
            pk,
        ]
        .concat(),
    )
}

/// DG14 (tag `6E`, ICAO Doc 9303-10 §4.7.14; 9303-11 §9.2.5, §9.2.6, §9.2.7): a
/// `SecurityInfos` with a `ChipAuthenticationInfo` (`ca_protocol`, version 1), the
/// `ChipAuthenticationPublicKeyInfo` (`id-PK-ECDH` with `ca_spki`, a DER
/// SubjectPublicKeyInfo) and an `ActiveAuthenticationInfo` (version 1, `aa_algorithm`).
pub fn dg14(ca_protocol: &[u8], ca_spki: &[u8], aa_algorithm: &[u8]) -> Vec<u8> {
    use cardwire_sm::security_infos::ID_AA;
    let ca = sequence(&[&der(0x06, ca_protocol), &der(0x02, &[1])]);
    let pk_ecdh = [cardwire_sm::security_infos::ID_PK, &[0x02]].concat();
    let pk = sequence(&[&der(0x06, &pk_ecdh), ca_spki]);
    let aa = sequence(&[
        &der(0x06, ID_AA),
        &der(0x02, &[1]),
        &der(0x06, aa_algorithm),
    ]);
    let mut out = Vec::new();
    tlv(0x6E, &der(0x31, &[ca, pk, aa].concat()), &mut out);
    out
}

/// DG15 (tag `6F`, ICAO Doc 9303-10 §4.7.15): the Active Authentication public key as a DER
/// SubjectPublicKeyInfo.
pub fn dg15(aa_spki: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    tlv(0x6F, aa_spki, &mut out);
    out
}

/// A flat grey baseline JPEG (ITU-T T.81) of `width` × `height` pixels (multiples of 8), with
/// `comment` in a COM segment: every 8×8 block has DC difference 0 and ends at once (EOB),
/// coded with one-symbol Huffman tables (code `0`), so the scan is 2 bits a block.
pub fn flat_jpeg(width: u16, height: u16, comment: &[u8]) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    // DQT: table 0, 8-bit, all ones.
    j.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    j.extend_from_slice(&[1u8; 64]);
    // SOF0: 8-bit, height, width, one component (id 1, 1x1 sampling, table 0).
    j.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08]);
    j.extend_from_slice(&height.to_be_bytes());
    j.extend_from_slice(&width.to_be_bytes());
    j.extend_from_slice(&[0x01, 0x01, 0x11, 0x00]);
    // DHT: DC table 0 and AC table 0, one code of length 1 each (DC category 0; AC EOB).
    for class in [0x00, 0x10] {
        j.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 0x01]);
        j.extend_from_slice(&[0u8; 15]);
        j.push(0x00);
    }
    for chunk in comment.chunks(60_000) {
        j.extend_from_slice(&[0xFF, 0xFE]);
        j.extend_from_slice(
            &u16::try_from(chunk.len() + 2)
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
        j.extend_from_slice(chunk);
    }
    // SOS: one component, tables 0/0, spectral selection 0..63.
    j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
    let blocks = usize::from(width / 8) * usize::from(height / 8);
    let bits = blocks * 2;
    j.extend(std::iter::repeat_n(0u8, bits / 8));
    if bits % 8 != 0 {
        // The rest of the last byte is padding with one bits.
        j.push(0xFFu8 >> (bits % 8));
    }
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

/// DG2 (tag `75`, ICAO Doc 9303-10 §4.7.2): one biometric information template `7F60` in
/// the group template `7F61`, with the biometric header template `A1` and the ISO/IEC
/// 19794-5:2005 facial record (format owner `0101`, type `0008`) in `5F2E`: the general
/// header (`FAC\0`, `010\0`, record length, one face), the facial information block (20
/// bytes) and the image information block (12 bytes, JPEG), then the `jpeg` image.
pub fn dg2(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
    let face_len = 20 + 12 + jpeg.len();
    let total = 14 + face_len;
    let mut record = Vec::with_capacity(total);
    record.extend_from_slice(b"FAC\x00010\x00");
    record.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
    record.extend_from_slice(&1u16.to_be_bytes());
    // Facial information: length, 0 feature points, gender unspecified, eye and hair colour
    // unspecified, property mask 0, expression neutral, pose angles and uncertainties 0.
    record.extend_from_slice(&u32::try_from(face_len).unwrap_or(u32::MAX).to_be_bytes());
    record.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]);
    record.extend_from_slice(&[0; 6]);
    // Image information: full frontal, JPEG (0), width, height, colour space unspecified,
    // source "static photo, scanner", device 0, quality 0.
    record.extend_from_slice(&[0x01, 0x00]);
    record.extend_from_slice(&width.to_be_bytes());
    record.extend_from_slice(&height.to_be_bytes());
    record.extend_from_slice(&[0x00, 0x02, 0x00, 0x00, 0x00, 0x00]);
    record.extend_from_slice(jpeg);
    let mut header = Vec::new();
    tlv(0x80, &[0x01, 0x01], &mut header);
    tlv(0x87, &[0x01, 0x01], &mut header);
    tlv(0x88, &[0x00, 0x08], &mut header);
    let mut bit = Vec::new();
    tlv(0xA1, &header, &mut bit);
    tlv(0x5F2E, &record, &mut bit);
    let mut group = Vec::new();
    tlv(0x02, &[1], &mut group);
    tlv(0x7F60, &bit, &mut group);
    let mut dg = Vec::new();
    tlv(0x7F61, &group, &mut dg);
    let mut out = Vec::new();
    tlv(0x75, &dg, &mut out);
    out
}

/// `id-ldsSecurityObject` (2.23.136.1.1.1, ICAO Doc 9303-10 §4.6.2).
const ID_LDS_SECURITY_OBJECT: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x01];
/// `id-signedData` (1.2.840.113549.1.7.2, RFC 5652 §5.1).
const ID_SIGNED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
/// `id-sha256` (2.16.840.1.101.3.4.2.1).
const ID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];

/// The `LDSSecurityObject` (ICAO Doc 9303-10 §4.6.2.2, version 0) with the SHA-256 hash of
/// every data group file as stored (tag and length included).
pub fn lds_security_object(data_groups: &[(u8, &[u8])]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let alg = sequence(&[&der(0x06, ID_SHA256)]);
    let hashes: Vec<u8> = data_groups
        .iter()
        .flat_map(|(n, file)| {
            let hash = Sha256::digest(file);
            sequence(&[&der(0x02, &[*n]), &der(0x04, &hash)])
        })
        .collect();
    sequence(&[&der(0x02, &[0]), &alg, &der(0x30, &hashes)])
}

/// EF.SOD (tag `77`) *without a signature*: a CMS SignedData (RFC 5652 §5.1, version 3) that
/// encapsulates `lds` but has no certificates and no SignerInfo. Passive Authentication's hash
/// check works on it; its signature check cannot. The card personalises a signed SOD where
/// [`crate::personalise`]'s `ef_sod` says so.
pub fn ef_sod_unsigned(lds: &[u8]) -> Vec<u8> {
    let digest_algorithms = der(0x31, &sequence(&[&der(0x06, ID_SHA256)]));
    let encap = sequence(&[
        &der(0x06, ID_LDS_SECURITY_OBJECT),
        &der(0xA0, &der(0x04, lds)),
    ]);
    let signed_data = sequence(&[
        &der(0x02, &[3]),
        &digest_algorithms,
        &encap,
        &der(0x31, &[]),
    ]);
    let content_info = sequence(&[&der(0x06, ID_SIGNED_DATA), &der(0xA0, &signed_data)]);
    der(0x77, &content_info)
}

#[cfg(test)]
mod tests {
    use super::*;

    // ICAO Doc 9303 Part 4 (seventh edition) Appendix A, the TD3 specimen.
    const SPECIMEN_LINE1: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
    const SPECIMEN_LINE2: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

    #[test]
    fn the_specimen_mrz_is_reproduced() {
        let [l1, l2] = Mrz::specimen().lines();
        assert_eq!(l1, SPECIMEN_LINE1);
        assert_eq!(l2, SPECIMEN_LINE2);
    }

    #[test]
    fn parse_round_trip_and_check_digits() {
        let parsed = Mrz::parse(&format!("{SPECIMEN_LINE1}\n{SPECIMEN_LINE2}")).unwrap();
        assert_eq!(parsed, Mrz::specimen());
        let bad = SPECIMEN_LINE2.replace("L898902C36", "L898902C37");
        let err = Mrz::parse(&format!("{SPECIMEN_LINE1}{bad}")).unwrap_err();
        assert!(err.contains("document number"), "{err}");
        assert!(Mrz::parse("short").is_err());
        // A character outside the MRZ's alphabet is refused, not counted as `<`.
        let odd = SPECIMEN_LINE2.replace("L898902C36", "L898902c36");
        let err = Mrz::parse(&format!("{SPECIMEN_LINE1}{odd}")).unwrap_err();
        assert!(err.contains("document number"), "{err}");
    }

    #[test]
    fn bac_mrz_information() {
        // ICAO Doc 9303 Part 11 Appendix D.2: document number L898902C, birth 690806,
        // expiry 940623 give "L898902C<369080619406236".
        assert_eq!(
            mrz_information("L898902C", "690806", "940623"),
            "L898902C<369080619406236"
        );
        assert_eq!(Mrz::specimen().key_seed_info(), "L898902C3674081221204159");
    }

    /// EF.CardAccess with GM and CAM, and EF.CardSecurity's SecurityInfos, read back by
    /// cardwire-sm: the CAM PACEInfo's parameterId is the static key's keyId.
    #[test]
    fn cam_security_infos_parse_with_the_host_side() {
        use cardwire_sm::security_infos::{
            ID_PACE_ECDH_GM_AES_CBC_CMAC_128, PaceMapping, ParameterId, SecurityInfos,
        };
        let gm = ID_PACE_ECDH_GM_AES_CBC_CMAC_128;
        // id-PACE-ECDH-CAM-AES-CBC-CMAC-128 (BSI TR-03110-3 §A.1.1.1).
        let cam = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x06, 0x02];
        let ca = ef_card_access_cam(gm, &cam, 12);
        assert_eq!(ca[..2], [0x31, 0x28]);
        // The first PACEInfo is Appendix G.1's (parameter ID 12); the second differs in the
        // mapping byte only.
        assert_eq!(ca[2..22], ef_card_access(gm, 12)[2..]);
        let infos = SecurityInfos::parse(&ca).unwrap();
        let mappings: Vec<_> = infos.pace_infos().map(|p| p.mapping()).collect();
        assert_eq!(
            mappings,
            [
                Some(PaceMapping::EcdhGeneric),
                Some(PaceMapping::EcdhChipAuthentication)
            ]
        );
        // A P-256 SubjectPublicKeyInfo (RFC 5480): the default card's chip key.
        let key = crate::personalise::chip_authentication_key(&crate::Seed::DEFAULT).unwrap();
        let spki = {
            use p256::pkcs8::EncodePublicKey;
            key.verifying_key()
                .to_public_key_der()
                .unwrap()
                .as_bytes()
                .to_vec()
        };
        let cs = card_security_infos(gm, &cam, 12, &spki);
        let infos = SecurityInfos::parse(&cs).unwrap();
        assert_eq!(infos.pace_infos().count(), 2);
        let pk = infos.chip_authentication_public_keys().next().unwrap();
        assert_eq!(pk.key_id(), Some(12));
        assert_eq!(pk.subject_public_key_info(), &spki[..]);
        assert!(
            infos
                .pace_infos()
                .all(|p| p.parameter_id() == Some(ParameterId::NIST_P256))
        );
    }

    #[test]
    fn emrtd_files_parse_with_the_host_side() {
        use cardwire_sm::security_infos::{ID_PACE_ECDH_GM_AES_CBC_CMAC_128, SecurityInfos};
        let ca = ef_card_access(ID_PACE_ECDH_GM_AES_CBC_CMAC_128, 12);
        // ICAO Doc 9303-11 Appendix G.1's EF.CardAccess, with parameter ID 12 for 13.
        assert_eq!(
            ca,
            [
                0x31, 0x14, 0x30, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04,
                0x02, 0x02, 0x02, 0x01, 0x02, 0x02, 0x01, 0x0C
            ]
        );
        let infos = SecurityInfos::parse(&ca).unwrap();
        assert_eq!(infos.pace_infos().count(), 1);
        let jpeg = flat_jpeg(16, 24, b"x");
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9]);
        // 6 blocks of 2 bits: one byte and a half, padded with ones.
        assert_eq!(&jpeg[jpeg.len() - 4..jpeg.len() - 2], &[0x00, 0x0F]);
        let dg2 = dg2(&jpeg, 16, 24);
        assert_eq!(dg2[0], 0x75);
        let at = dg2.windows(8).position(|w| w == b"FAC\x00010\x00").unwrap();
        assert_eq!(&dg2[at + 46..at + 48], &[0xFF, 0xD8]);
        let dg1 = Mrz::specimen().dg1();
        let sod = ef_sod_unsigned(&lds_security_object(&[(1, &dg1), (2, &dg2)]));
        let lds = cardwire_sm::sod::LdsSecurityObject::parse(&sod).unwrap();
        lds.check_data_group(1, &dg1).unwrap();
        lds.check_data_group(2, &dg2).unwrap();
        assert!(lds.check_data_group(1, &dg2).is_err());
    }

    #[test]
    fn dg1_and_com_layout() {
        let dg1 = Mrz::specimen().dg1();
        assert_eq!(&dg1[..5], &[0x61, 0x5B, 0x5F, 0x1F, 0x58]);
        assert_eq!(&dg1[5..49], SPECIMEN_LINE1.as_bytes());
        let com = ef_com(&[0x61]);
        assert_eq!(
            com,
            [
                0x60, 0x13, 0x5F, 0x01, 0x04, b'0', b'1', b'0', b'7', 0x5F, 0x36, 0x06, b'0', b'4',
                b'0', b'0', b'0', b'0', 0x5C, 0x01, 0x61
            ]
        );
    }
}
