//! The machine readable zone of a passport (ICAO Doc 9303 Part 4, TD3) and the two eMRTD
//! files built from it: EF.COM and EF.DG1 (ICAO Doc 9303 Part 10 §4.6 and §4.7.1).

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
