//! Names of well-known tags, for tools that print TLV trees.
//!
//! Interindustry tags of ISO/IEC 7816-4 (§7.4 FCP/FCI, §8 data objects), EMV Book 3 Annex A
//! data elements, and the ICAO Doc 9303-10 LDS tags. Context-specific tags (`80`–`BF`) mean
//! different things in different templates, so the parent tag is taken into account.

use crate::Tag;

/// A human-readable name for `tag` inside an object tagged `parent` (`None` at the top
/// level), or `None` when the tag is not known.
///
/// ```
/// use cardwire_tlv::{names::name, Tag};
///
/// assert_eq!(name(Tag(0x6F), None), Some("File Control Information (FCI) template"));
/// assert_eq!(name(Tag(0x82), Some(Tag(0x62))), Some("File descriptor"));
/// assert_eq!(name(Tag(0x82), Some(Tag(0x77))), Some("Application Interchange Profile"));
/// ```
pub fn name(tag: Tag, parent: Option<Tag>) -> Option<&'static str> {
    let parent = parent.map(|p| p.0);
    if matches!(parent, Some(0x62 | 0x64)) {
        if let Some(n) = fcp_name(tag.0) {
            return Some(n);
        }
    }
    if matches!(parent, Some(0x60)) {
        if let Some(n) = ef_com_name(tag.0) {
            return Some(n);
        }
    }
    if matches!(parent, Some(0x61)) && tag.0 == 0x5F1F {
        return Some("MRZ data elements (ICAO 9303 DG1)");
    }
    general_name(tag.0).or_else(|| fcp_name(tag.0))
}

/// File control parameters (ISO/IEC 7816-4 §7.4.3, Table 12).
fn fcp_name(tag: u32) -> Option<&'static str> {
    Some(match tag {
        0x80 => "Number of data bytes in the file",
        0x81 => "Number of data bytes in the file, including structural information",
        0x82 => "File descriptor",
        0x83 => "File identifier",
        0x84 => "DF name",
        0x85 => "Proprietary information, primitive",
        0x86 => "Security attribute in proprietary format",
        0x87 => "Identifier of an EF containing an extension of the FCI",
        0x88 => "Short EF identifier",
        0x8A => "Life cycle status",
        0x8B => "Security attribute referencing the expanded format",
        0x8C => "Security attribute in compact format",
        0x8D => "Identifier of an EF containing security environment templates",
        0x8E => "Channel security attribute",
        0xA0 => "Security attribute template for data objects",
        0xA1 => "Security attribute template in proprietary format",
        0xA2 => "Template of pairs of short EF identifier and file reference",
        0xA5 => "Proprietary information, constructed",
        0xAB => "Security attribute template in expanded format",
        0xAC => "Cryptographic mechanism identifier template",
        _ => return None,
    })
}

/// EF.COM contents (ICAO Doc 9303-10 §4.6.1).
fn ef_com_name(tag: u32) -> Option<&'static str> {
    Some(match tag {
        0x5F01 => "LDS version number",
        0x5F36 => "Unicode version number",
        0x5C => "Tag list",
        _ => return None,
    })
}

/// Interindustry (ISO/IEC 7816-4 §8, §7.4.1) and EMV (Book 3 Annex A) names; for tags that
/// both ICAO and ISO use at the top level, both meanings.
fn general_name(tag: u32) -> Option<&'static str> {
    Some(match tag {
        // ISO/IEC 7816-4 interindustry templates and data objects
        0x06 => "Object identifier",
        0x41 => "Country code and national data",
        0x42 => "Issuer identification number",
        0x43 => "Card service data",
        0x44 => "Initial access data",
        0x45 => "Card issuer's data",
        0x46 => "Pre-issuing data",
        0x47 => "Card capabilities",
        0x48 => "Status information",
        0x4D => "Extended header list",
        0x4F => "Application identifier (AID)",
        0x50 => "Application label",
        0x51 => "Path",
        0x52 => "Command to perform",
        0x53 => "Discretionary data",
        0x56 => "Track 1 data",
        0x57 => "Track 2 equivalent data",
        0x5A => "Application primary account number (PAN)",
        0x5B => "Name of an individual",
        0x5C => "Tag list",
        0x5D => "Header list",
        0x5E => "Login data",
        0x60 => "Common data elements (ICAO EF.COM)",
        0x61 => "Application template (ICAO: DG1)",
        0x62 => "File Control Parameters (FCP) template",
        0x63 => "Wrapper (ICAO: DG3)",
        0x64 => "File Management Data (FMD) template",
        0x65 => "Cardholder related data (ICAO: DG5)",
        0x66 => "Card data (ICAO: DG6)",
        0x67 => "Authentication data (ICAO: DG7)",
        0x68 => "Special user requirements (ICAO: DG8)",
        0x69 => "ICAO: DG9",
        0x6A => "Login template (ICAO: DG10)",
        0x6B => "ICAO: DG11, additional personal details",
        0x6C => "ICAO: DG12, additional document details",
        0x6D => "ICAO: DG13, optional details",
        0x6E => "Qualified name (ICAO: DG14, security options)",
        0x6F => "File Control Information (FCI) template",
        0x70 => "READ RECORD response template (ICAO: DG16)",
        0x71 => "Issuer script template 1",
        0x72 => "Issuer script template 2",
        0x73 => "Directory discretionary template",
        0x75 => "ICAO: DG2, encoded face",
        0x76 => "ICAO: DG4, encoded iris",
        0x77 => "Response message template format 2 (ICAO: EF.SOD)",
        0x78 => "Compatible tag allocation authority",
        0x7D => "Secure messaging template",
        0x7E => "Interindustry template for nesting",
        0x7F21 => "Cardholder certificate",
        0x7F2E => "Biometric data block, enciphered",
        0x7F49 => "Public key",
        0x7F4E => "Certificate body",
        0x7F60 => "Biometric information template",
        0x7F61 => "Biometric information group template",
        0x5F1F => "MRZ data elements (ICAO 9303 DG1)",
        0x5F2E => "Biometric data block",
        0x5F36 => "Unicode version number",
        0x5F01 => "LDS version number",
        // EMV Book 3 Annex A
        0x81 => "Amount, authorised (binary)",
        0x82 => "Application Interchange Profile",
        0x84 => "Dedicated file (DF) name",
        0x87 => "Application priority indicator",
        0x88 => "Short file identifier (SFI)",
        0x8C => "Card risk management data object list 1 (CDOL1)",
        0x8D => "Card risk management data object list 2 (CDOL2)",
        0x8E => "Cardholder verification method (CVM) list",
        0x8F => "Certification authority public key index",
        0x90 => "Issuer public key certificate",
        0x92 => "Issuer public key remainder",
        0x93 => "Signed static application data",
        0x94 => "Application file locator (AFL)",
        0x95 => "Terminal verification results",
        0x9A => "Transaction date",
        0x9C => "Transaction type",
        0xA5 => "FCI proprietary template",
        0xBF0C => "FCI issuer discretionary data",
        0x5F20 => "Cardholder name",
        0x5F24 => "Application expiration date",
        0x5F25 => "Application effective date",
        0x5F28 => "Issuer country code",
        0x5F2A => "Transaction currency code",
        0x5F2D => "Language preference",
        0x5F30 => "Service code",
        0x5F34 => "Application PAN sequence number",
        0x9F02 => "Amount, authorised (numeric)",
        0x9F03 => "Amount, other (numeric)",
        0x9F07 => "Application usage control",
        0x9F08 => "Application version number",
        0x9F0D => "Issuer action code, default",
        0x9F0E => "Issuer action code, denial",
        0x9F0F => "Issuer action code, online",
        0x9F10 => "Issuer application data",
        0x9F11 => "Issuer code table index",
        0x9F12 => "Application preferred name",
        0x9F1A => "Terminal country code",
        0x9F1F => "Track 1 discretionary data",
        0x9F26 => "Application cryptogram",
        0x9F27 => "Cryptogram information data",
        0x9F32 => "Issuer public key exponent",
        0x9F36 => "Application transaction counter (ATC)",
        0x9F37 => "Unpredictable number",
        0x9F38 => "Processing options data object list (PDOL)",
        0x9F42 => "Application currency code",
        0x9F44 => "Application currency exponent",
        0x9F46 => "ICC public key certificate",
        0x9F47 => "ICC public key exponent",
        0x9F48 => "ICC public key remainder",
        0x9F49 => "Dynamic data authentication data object list (DDOL)",
        0x9F4A => "Static data authentication tag list",
        0x9F4D => "Log entry",
        0x9F6E => "Form factor indicator",
        0x9F4B => "Signed dynamic application data",
        // X.690 universal types, as certificates use them
        0x01 => "BOOLEAN",
        0x02 => "INTEGER",
        0x03 => "BIT STRING",
        0x04 => "OCTET STRING",
        0x05 => "NULL",
        0x0C => "UTF8String",
        0x13 => "PrintableString",
        0x16 => "IA5String",
        0x17 => "UTCTime",
        0x18 => "GeneralizedTime",
        0x30 => "SEQUENCE",
        0x31 => "SET",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_picks_the_meaning() {
        assert_eq!(
            name(Tag(0x84), Some(Tag(0x6F))),
            Some("Dedicated file (DF) name")
        );
        assert_eq!(name(Tag(0x84), Some(Tag(0x62))), Some("DF name"));
        assert_eq!(name(Tag(0x83), Some(Tag(0x62))), Some("File identifier"));
        assert_eq!(name(Tag(0x83), None), Some("File identifier"));
        assert_eq!(
            name(Tag(0x5F01), Some(Tag(0x60))),
            Some("LDS version number")
        );
        assert_eq!(
            name(Tag(0x5F1F), Some(Tag(0x61))),
            Some("MRZ data elements (ICAO 9303 DG1)")
        );
        assert_eq!(
            name(Tag(0x9F38), None),
            Some("Processing options data object list (PDOL)")
        );
        assert_eq!(name(Tag(0xDF7F), None), None);
    }
}
