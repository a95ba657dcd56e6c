//! EF.CardAccess, EF.CardSecurity and DG14: `SecurityInfos` (ICAO Doc 9303-11 §9.2, BSI
//! TR-03110-3 §A.1) as zero-copy views over DER.
//!
//! ```text
//! SecurityInfos ::= SET OF SecurityInfo
//! SecurityInfo ::= SEQUENCE { protocol OBJECT IDENTIFIER, requiredData ANY, optionalData ANY OPTIONAL }
//! ```
//!
//! [`SecurityInfos::parse`] checks the whole set once (DER lengths, each element a `SEQUENCE`
//! starting with an OID, the fields of the infos it knows); iterating then cannot fail. Infos
//! this module does not know (for example `ChipAuthenticationDomainParameterInfo` or
//! proprietary ones) are kept as [`SecurityInfo::Unknown`], not rejected (§9.2: "unknown
//! SecurityInfos MUST be ignored").
//!
//! ```
//! use cardwire_sm::security_infos::{SecurityInfos, SecurityInfo, PaceMapping, ParameterId};
//! use cardwire_sm::kdf::KeyAlgorithm;
//! // ICAO Doc 9303-11, Appendix G.1: EF.CardAccess of the worked example.
//! let card_access = [
//!     0x31, 0x14, 0x30, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04,
//!     0x02, 0x02, 0x02, 0x01, 0x02, 0x02, 0x01, 0x0D,
//! ];
//! let infos = SecurityInfos::parse(&card_access)?;
//! let pace = infos.pace_infos().next().unwrap();
//! assert_eq!(pace.mapping(), Some(PaceMapping::EcdhGeneric));
//! assert_eq!(pace.cipher(), Some(KeyAlgorithm::Aes128));
//! assert_eq!(pace.parameter_id(), Some(ParameterId::BRAINPOOL_P256R1));
//! # Ok::<(), cardwire_sm::security_infos::SecurityInfosError>(())
//! ```

use core::fmt;

use der::{Decode, Header, Reader, SliceReader, Tag};

use crate::kdf::KeyAlgorithm;

/// The DER content octets of `bsi-de` (0.4.0.127.0.7, BSI TR-03110-3 §A.1.1).
#[cfg(test)]
const BSI_DE: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07];
/// `id-PACE` = bsi-de protocols(2) smartcard(2) 4.
pub const ID_PACE: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04];
/// `id-CA` = bsi-de protocols(2) smartcard(2) 3.
pub const ID_CA: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03];
/// `id-PK` = bsi-de protocols(2) smartcard(2) 1.
pub const ID_PK: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x01];
/// `id-TA` = bsi-de protocols(2) smartcard(2) 2.
pub const ID_TA: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02];
/// `id-AA` = 2.23.136.1.1.5 (ICAO Doc 9303-11 §9.2.8).
pub const ID_AA: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x05];

/// The DER content octets of `id-PACE-ECDH-GM-AES-CBC-CMAC-128` (0.4.0.127.0.7.2.2.4.2.2), the
/// protocol of ICAO 9303-11 Appendix G.1.
pub const ID_PACE_ECDH_GM_AES_CBC_CMAC_128: &[u8] =
    &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02];

/// Why [`SecurityInfos::parse`] refused its input. Offsets count from the start of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityInfosError {
    /// A DER tag or length is broken (not DER, or runs past its container).
    Malformed {
        /// Offset of the broken header.
        offset: usize,
    },
    /// A field has the wrong type (the outer `SET`, a `SEQUENCE`, an `OBJECT IDENTIFIER`, an
    /// `INTEGER`).
    UnexpectedTag {
        /// The first tag byte found.
        tag: u8,
        /// Offset of the tag.
        offset: usize,
    },
    /// A mandatory field of a known info is absent.
    MissingField {
        /// Offset of the end of the info missing it.
        offset: usize,
    },
    /// An `INTEGER` is negative, not minimally encoded or over 32 bits.
    Integer {
        /// Offset of the integer's content.
        offset: usize,
    },
    /// Bytes follow the end of a structure.
    TrailingData {
        /// Offset of the first extra byte.
        offset: usize,
    },
}

impl fmt::Display for SecurityInfosError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SecurityInfosError::Malformed { offset } => {
                write!(f, "malformed DER in SecurityInfos at offset {offset}")
            }
            SecurityInfosError::UnexpectedTag { tag, offset } => {
                write!(
                    f,
                    "unexpected tag {tag:02X} in SecurityInfos at offset {offset}"
                )
            }
            SecurityInfosError::MissingField { offset } => {
                write!(
                    f,
                    "a mandatory SecurityInfo field is missing (before offset {offset})"
                )
            }
            SecurityInfosError::Integer { offset } => {
                write!(f, "invalid INTEGER in SecurityInfos at offset {offset}")
            }
            SecurityInfosError::TrailingData { offset } => {
                write!(f, "trailing data in SecurityInfos at offset {offset}")
            }
        }
    }
}

impl core::error::Error for SecurityInfosError {}

/// One DER element: its tag byte, content, and the absolute offsets of its header and content.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Element<'a> {
    pub(crate) tag: Tag,
    pub(crate) tag_byte: u8,
    offset: usize,
    pub(crate) content: &'a [u8],
    content_offset: usize,
    /// The whole encoding (header and content).
    pub(crate) raw: &'a [u8],
}

/// A cursor over consecutive DER elements of `bytes`, which start at absolute offset `base`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    base: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8], base: usize) -> Self {
        Self { bytes, base }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn peek_byte(&self) -> Option<u8> {
        self.bytes.first().copied()
    }

    pub(crate) fn next(&mut self) -> Result<Option<Element<'a>>, SecurityInfosError> {
        let Some(&tag_byte) = self.bytes.first() else {
            return Ok(None);
        };
        let malformed = SecurityInfosError::Malformed { offset: self.base };
        let mut reader = SliceReader::new(self.bytes).map_err(|_| malformed)?;
        let header = Header::decode(&mut reader).map_err(|_| malformed)?;
        let header_len = usize::try_from(u32::from(reader.position())).map_err(|_| malformed)?;
        let len = usize::try_from(u32::from(header.length())).map_err(|_| malformed)?;
        let end = header_len.checked_add(len).ok_or(malformed)?;
        let raw = self.bytes.get(..end).ok_or(malformed)?;
        let content = raw.get(header_len..).ok_or(malformed)?;
        let element = Element {
            tag: header.tag(),
            tag_byte,
            offset: self.base,
            content,
            content_offset: self.base + header_len,
            raw,
        };
        self.bytes = self.bytes.get(end..).unwrap_or(&[]);
        self.base += end;
        Ok(Some(element))
    }

    /// The next element, which must be present and have tag `tag`.
    pub(crate) fn expect(
        &mut self,
        tag: Tag,
        end: usize,
    ) -> Result<Element<'a>, SecurityInfosError> {
        let e = self
            .next()?
            .ok_or(SecurityInfosError::MissingField { offset: end })?;
        if e.tag != tag {
            return Err(SecurityInfosError::UnexpectedTag {
                tag: e.tag_byte,
                offset: e.offset,
            });
        }
        Ok(e)
    }

    /// An optional trailing `INTEGER`.
    fn optional_integer(&mut self) -> Result<Option<u32>, SecurityInfosError> {
        if self.peek_byte() != Some(0x02) {
            return Ok(None);
        }
        let e = self.expect(Tag::Integer, self.base)?;
        integer(&e).map(Some)
    }

    pub(crate) fn finish(&self) -> Result<(), SecurityInfosError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(SecurityInfosError::TrailingData { offset: self.base })
        }
    }
}

/// A non-negative DER `INTEGER` of at most 32 bits.
pub(crate) fn integer(e: &Element<'_>) -> Result<u32, SecurityInfosError> {
    let err = SecurityInfosError::Integer {
        offset: e.content_offset,
    };
    let bytes = e.content;
    match bytes {
        [] => return Err(err),
        [first, ..] if first & 0x80 != 0 => return Err(err),
        [0, second, ..] if second & 0x80 == 0 => return Err(err),
        _ => {}
    }
    let digits = match bytes {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => bytes,
    };
    if digits.len() > 4 {
        return Err(err);
    }
    Ok(digits
        .iter()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
}

/// A standardized domain parameter identifier (ICAO Doc 9303-11 §9.5.1, Table 6; BSI
/// TR-03110-3 Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParameterId(pub u32);

impl ParameterId {
    /// 1024-bit MODP group with 160-bit prime order subgroup (RFC 5114 §2.1).
    pub const MODP_1024_160: ParameterId = ParameterId(0);
    /// 2048-bit MODP group with 224-bit prime order subgroup (RFC 5114 §2.2).
    pub const MODP_2048_224: ParameterId = ParameterId(1);
    /// 2048-bit MODP group with 256-bit prime order subgroup (RFC 5114 §2.3).
    pub const MODP_2048_256: ParameterId = ParameterId(2);
    /// NIST P-192 (secp192r1).
    pub const NIST_P192: ParameterId = ParameterId(8);
    /// brainpoolP192r1 (RFC 5639).
    pub const BRAINPOOL_P192R1: ParameterId = ParameterId(9);
    /// NIST P-224 (secp224r1).
    pub const NIST_P224: ParameterId = ParameterId(10);
    /// brainpoolP224r1.
    pub const BRAINPOOL_P224R1: ParameterId = ParameterId(11);
    /// NIST P-256 (secp256r1).
    pub const NIST_P256: ParameterId = ParameterId(12);
    /// brainpoolP256r1.
    pub const BRAINPOOL_P256R1: ParameterId = ParameterId(13);
    /// brainpoolP320r1.
    pub const BRAINPOOL_P320R1: ParameterId = ParameterId(14);
    /// NIST P-384 (secp384r1).
    pub const NIST_P384: ParameterId = ParameterId(15);
    /// brainpoolP384r1.
    pub const BRAINPOOL_P384R1: ParameterId = ParameterId(16);
    /// brainpoolP512r1.
    pub const BRAINPOOL_P512R1: ParameterId = ParameterId(17);
    /// NIST P-521 (secp521r1).
    pub const NIST_P521: ParameterId = ParameterId(18);
}

/// The PACE mapping named by a `PACEInfo` protocol (ICAO Doc 9303-11 §9.2.1 / §4.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaceMapping {
    /// Generic Mapping over a MODP group (`id-PACE-DH-GM`).
    DhGeneric,
    /// Generic Mapping over an elliptic curve (`id-PACE-ECDH-GM`).
    EcdhGeneric,
    /// Integrated Mapping over a MODP group (`id-PACE-DH-IM`).
    DhIntegrated,
    /// Integrated Mapping over an elliptic curve (`id-PACE-ECDH-IM`).
    EcdhIntegrated,
    /// Chip Authentication Mapping over an elliptic curve (`id-PACE-ECDH-CAM`).
    EcdhChipAuthentication,
}

/// The cipher arc shared by `id-PACE-*` and `id-CA-*` (1 = 3DES, 2/3/4 = AES-128/192/256).
fn cipher_arc(arc: u8) -> Option<KeyAlgorithm> {
    match arc {
        1 => Some(KeyAlgorithm::Tdes),
        2 => Some(KeyAlgorithm::Aes128),
        3 => Some(KeyAlgorithm::Aes192),
        4 => Some(KeyAlgorithm::Aes256),
        _ => None,
    }
}

/// `PACEInfo` (ICAO Doc 9303-11 §9.2.1): a PACE protocol the chip supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaceInfo<'a> {
    protocol: &'a [u8],
    version: u32,
    parameter_id: Option<u32>,
}

impl<'a> PaceInfo<'a> {
    /// The protocol OID's DER content octets (e.g. [`ID_PACE_ECDH_GM_AES_CBC_CMAC_128`]), as
    /// MSE:Set AT's DO `80` carries them.
    pub fn protocol(&self) -> &'a [u8] {
        self.protocol
    }

    /// The PACE version (2 for PACE v2).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The standardized domain parameters, if given (absent when a
    /// `PACEDomainParameterInfo` carries proprietary ones).
    pub fn parameter_id(&self) -> Option<ParameterId> {
        self.parameter_id.map(ParameterId)
    }

    /// The mapping, or `None` for an arc this module does not know.
    pub fn mapping(&self) -> Option<PaceMapping> {
        match self.protocol.get(ID_PACE.len()) {
            Some(1) => Some(PaceMapping::DhGeneric),
            Some(2) => Some(PaceMapping::EcdhGeneric),
            Some(3) => Some(PaceMapping::DhIntegrated),
            Some(4) => Some(PaceMapping::EcdhIntegrated),
            Some(6) => Some(PaceMapping::EcdhChipAuthentication),
            _ => None,
        }
    }

    /// The session key cipher, or `None` for an arc this module does not know.
    pub fn cipher(&self) -> Option<KeyAlgorithm> {
        self.protocol
            .get(ID_PACE.len() + 1)
            .and_then(|&a| cipher_arc(a))
            .filter(|_| self.protocol.len() == ID_PACE.len() + 2)
    }
}

/// `PACEDomainParameterInfo` (ICAO Doc 9303-11 §9.2.2): explicit domain parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaceDomainParameterInfo<'a> {
    protocol: &'a [u8],
    domain_parameter: &'a [u8],
    parameter_id: Option<u32>,
}

impl<'a> PaceDomainParameterInfo<'a> {
    /// The protocol OID's content octets (`id-PACE-DH-GM`, `id-PACE-ECDH-GM`, ...).
    pub fn protocol(&self) -> &'a [u8] {
        self.protocol
    }
    /// The `AlgorithmIdentifier` of the domain parameters, whole DER encoding.
    pub fn domain_parameter(&self) -> &'a [u8] {
        self.domain_parameter
    }
    /// The identifier linking it to a [`PaceInfo`], if several are present.
    pub fn parameter_id(&self) -> Option<u32> {
        self.parameter_id
    }
}

/// `ChipAuthenticationInfo` (ICAO Doc 9303-11 §9.2.5): a Chip Authentication protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChipAuthenticationInfo<'a> {
    protocol: &'a [u8],
    version: u32,
    key_id: Option<u32>,
}

impl<'a> ChipAuthenticationInfo<'a> {
    /// The protocol OID's content octets (`id-CA-ECDH-AES-CBC-CMAC-128`, ...).
    pub fn protocol(&self) -> &'a [u8] {
        self.protocol
    }
    /// The version (1 or 2).
    pub fn version(&self) -> u32 {
        self.version
    }
    /// The key identifier, when the chip has several keys.
    pub fn key_id(&self) -> Option<u32> {
        self.key_id
    }
    /// Whether the key agreement is ECDH (`id-CA-ECDH`) rather than DH.
    pub fn is_ecdh(&self) -> bool {
        self.protocol.get(ID_CA.len()) == Some(&2)
    }
    /// The session key cipher.
    pub fn cipher(&self) -> Option<KeyAlgorithm> {
        self.protocol
            .get(ID_CA.len() + 1)
            .and_then(|&a| cipher_arc(a))
    }
}

/// `ChipAuthenticationPublicKeyInfo` (ICAO Doc 9303-11 §9.2.6): the chip's static key (DG14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChipAuthenticationPublicKeyInfo<'a> {
    protocol: &'a [u8],
    public_key: &'a [u8],
    key_id: Option<u32>,
}

impl<'a> ChipAuthenticationPublicKeyInfo<'a> {
    /// The protocol OID's content octets (`id-PK-DH` or `id-PK-ECDH`).
    pub fn protocol(&self) -> &'a [u8] {
        self.protocol
    }
    /// The key as a `SubjectPublicKeyInfo`, whole DER encoding.
    pub fn subject_public_key_info(&self) -> &'a [u8] {
        self.public_key
    }
    /// The key identifier, when the chip has several keys.
    pub fn key_id(&self) -> Option<u32> {
        self.key_id
    }
    /// Whether the key is an EC key (`id-PK-ECDH`).
    pub fn is_ecdh(&self) -> bool {
        self.protocol.get(ID_PK.len()) == Some(&2)
    }
}

/// `ActiveAuthenticationInfo` (ICAO Doc 9303-11 §9.2.8): the signature algorithm of ECDSA
/// Active Authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveAuthenticationInfo<'a> {
    version: u32,
    signature_algorithm: &'a [u8],
}

impl<'a> ActiveAuthenticationInfo<'a> {
    /// The version (1).
    pub fn version(&self) -> u32 {
        self.version
    }
    /// The signature algorithm OID's content octets (e.g. `ecdsa-with-SHA256`).
    pub fn signature_algorithm(&self) -> &'a [u8] {
        self.signature_algorithm
    }
}

/// `TerminalAuthenticationInfo` (ICAO Doc 9303-11 §9.2.7 / BSI TR-03110-3 §A.1.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalAuthenticationInfo<'a> {
    protocol: &'a [u8],
    version: u32,
    ef_cvca: Option<&'a [u8]>,
}

impl<'a> TerminalAuthenticationInfo<'a> {
    /// The protocol OID's content octets (`id-TA`).
    pub fn protocol(&self) -> &'a [u8] {
        self.protocol
    }
    /// The version (1 or 2).
    pub fn version(&self) -> u32 {
        self.version
    }
    /// The `efCVCA` `FileID`, whole DER encoding, if present (TA v1).
    pub fn ef_cvca(&self) -> Option<&'a [u8]> {
        self.ef_cvca
    }
}

/// An info this module does not interpret, kept whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownInfo<'a> {
    protocol: &'a [u8],
    raw: &'a [u8],
}

impl<'a> UnknownInfo<'a> {
    /// The protocol OID's content octets.
    pub fn protocol(&self) -> &'a [u8] {
        self.protocol
    }
    /// The whole `SecurityInfo` encoding (`30 ...`).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

/// One `SecurityInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityInfo<'a> {
    /// `PACEInfo`.
    Pace(PaceInfo<'a>),
    /// `PACEDomainParameterInfo`.
    PaceDomainParameter(PaceDomainParameterInfo<'a>),
    /// `ChipAuthenticationInfo`.
    ChipAuthentication(ChipAuthenticationInfo<'a>),
    /// `ChipAuthenticationPublicKeyInfo`.
    ChipAuthenticationPublicKey(ChipAuthenticationPublicKeyInfo<'a>),
    /// `ActiveAuthenticationInfo`.
    ActiveAuthentication(ActiveAuthenticationInfo<'a>),
    /// `TerminalAuthenticationInfo`.
    TerminalAuthentication(TerminalAuthenticationInfo<'a>),
    /// Anything else, kept.
    Unknown(UnknownInfo<'a>),
}

/// Decodes one `SecurityInfo` element (already checked to be a `SEQUENCE`).
fn decode_info<'a>(e: &Element<'a>) -> Result<SecurityInfo<'a>, SecurityInfosError> {
    let end = e.content_offset + e.content.len();
    let mut c = Cursor::new(e.content, e.content_offset);
    let oid = c.expect(Tag::ObjectIdentifier, end)?;
    let protocol = oid.content;
    let under =
        |arc: &[u8], extra: usize| protocol.len() == arc.len() + extra && protocol.starts_with(arc);
    let info = if under(ID_PACE, 2) {
        let version = integer(&c.expect(Tag::Integer, end)?)?;
        let parameter_id = c.optional_integer()?;
        SecurityInfo::Pace(PaceInfo {
            protocol,
            version,
            parameter_id,
        })
    } else if under(ID_PACE, 1) {
        let domain_parameter = c.expect(Tag::Sequence, end)?.raw;
        let parameter_id = c.optional_integer()?;
        SecurityInfo::PaceDomainParameter(PaceDomainParameterInfo {
            protocol,
            domain_parameter,
            parameter_id,
        })
    } else if under(ID_CA, 2) {
        let version = integer(&c.expect(Tag::Integer, end)?)?;
        let key_id = c.optional_integer()?;
        SecurityInfo::ChipAuthentication(ChipAuthenticationInfo {
            protocol,
            version,
            key_id,
        })
    } else if under(ID_PK, 1) {
        let public_key = c.expect(Tag::Sequence, end)?.raw;
        let key_id = c.optional_integer()?;
        SecurityInfo::ChipAuthenticationPublicKey(ChipAuthenticationPublicKeyInfo {
            protocol,
            public_key,
            key_id,
        })
    } else if protocol == ID_AA {
        let version = integer(&c.expect(Tag::Integer, end)?)?;
        let signature_algorithm = c.expect(Tag::ObjectIdentifier, end)?.content;
        SecurityInfo::ActiveAuthentication(ActiveAuthenticationInfo {
            version,
            signature_algorithm,
        })
    } else if protocol == ID_TA {
        let version = integer(&c.expect(Tag::Integer, end)?)?;
        let ef_cvca = match c.peek_byte() {
            Some(0x30) => Some(c.expect(Tag::Sequence, end)?.raw),
            _ => None,
        };
        SecurityInfo::TerminalAuthentication(TerminalAuthenticationInfo {
            protocol,
            version,
            ef_cvca,
        })
    } else {
        // Unknown: only the element structure of the remaining fields is checked.
        while c.next()?.is_some() {}
        return Ok(SecurityInfo::Unknown(UnknownInfo {
            protocol,
            raw: e.raw,
        }));
    };
    c.finish()?;
    Ok(info)
}

/// A checked `SecurityInfos` set; iterate with [`SecurityInfos::iter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityInfos<'a> {
    content: &'a [u8],
    base: usize,
}

impl<'a> SecurityInfos<'a> {
    /// The empty set (`31 00`).
    pub const EMPTY: SecurityInfos<'static> = SecurityInfos {
        content: &[],
        base: 2,
    };

    /// Checks `bytes`, a DER `SET OF SecurityInfo` (the whole of EF.CardAccess, or the content
    /// of DG14's tag `6E`), and keeps a view of it.
    ///
    /// # Errors
    /// A [`SecurityInfosError`] with the offset of the first fault; trailing bytes after the
    /// `SET` are refused.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, SecurityInfosError> {
        let mut outer = Cursor::new(bytes, 0);
        let set = outer.expect(Tag::Set, 0)?;
        outer.finish()?;
        let infos = Self {
            content: set.content,
            base: set.content_offset,
        };
        let mut c = Cursor::new(infos.content, infos.base);
        while let Some(e) = c.next()? {
            if e.tag != Tag::Sequence {
                return Err(SecurityInfosError::UnexpectedTag {
                    tag: e.tag_byte,
                    offset: e.offset,
                });
            }
            decode_info(&e)?;
        }
        Ok(infos)
    }

    /// The infos, in the order of the encoding.
    pub fn iter(&self) -> SecurityInfoIter<'a> {
        SecurityInfoIter {
            cursor: Cursor::new(self.content, self.base),
        }
    }

    /// The `PACEInfo`s.
    pub fn pace_infos(&self) -> impl Iterator<Item = PaceInfo<'a>> + 'a {
        self.iter().filter_map(|i| match i {
            SecurityInfo::Pace(p) => Some(p),
            _ => None,
        })
    }

    /// The `ChipAuthenticationPublicKeyInfo`s.
    pub fn chip_authentication_public_keys(
        &self,
    ) -> impl Iterator<Item = ChipAuthenticationPublicKeyInfo<'a>> + 'a {
        self.iter().filter_map(|i| match i {
            SecurityInfo::ChipAuthenticationPublicKey(p) => Some(p),
            _ => None,
        })
    }
}

impl<'a> IntoIterator for &SecurityInfos<'a> {
    type Item = SecurityInfo<'a>;
    type IntoIter = SecurityInfoIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over a checked [`SecurityInfos`].
#[derive(Debug, Clone)]
pub struct SecurityInfoIter<'a> {
    cursor: Cursor<'a>,
}

impl<'a> Iterator for SecurityInfoIter<'a> {
    type Item = SecurityInfo<'a>;
    fn next(&mut self) -> Option<SecurityInfo<'a>> {
        // The set was checked by `SecurityInfos::parse`, so these cannot fail; stop if they do.
        let e = self.cursor.next().ok()??;
        decode_info(&e).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ICAO Doc 9303-11, Appendix G.1: EF.CardAccess of the PACE-GM ECDH worked example.
    const ICAO_G1_CARD_ACCESS: [u8; 22] = [
        0x31, 0x14, 0x30, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02,
        0x02, 0x02, 0x01, 0x02, 0x02, 0x01, 0x0D,
    ];

    #[test]
    fn icao_appendix_g1_card_access() {
        let infos = SecurityInfos::parse(&ICAO_G1_CARD_ACCESS).unwrap();
        let all: std::vec::Vec<_> = infos.iter().collect();
        assert_eq!(all.len(), 1);
        let SecurityInfo::Pace(p) = all[0] else {
            panic!("not PACEInfo")
        };
        assert_eq!(p.protocol(), ID_PACE_ECDH_GM_AES_CBC_CMAC_128);
        assert_eq!(p.version(), 2);
        assert_eq!(p.parameter_id(), Some(ParameterId::BRAINPOOL_P256R1));
        assert_eq!(p.mapping(), Some(PaceMapping::EcdhGeneric));
        assert_eq!(p.cipher(), Some(KeyAlgorithm::Aes128));
    }

    /// A DG14-like set: CA info, an EC public key info, AA info, TA info and an unknown info.
    #[test]
    fn mixed_infos_and_unknown_kept() {
        let bytes: &[u8] = &[
            0x31, 0x44, //
            // ChipAuthenticationInfo id-CA-ECDH-AES-CBC-CMAC-128, version 1, keyId 7
            0x30, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x02,
            0x02, 0x01, 0x01, 0x02, 0x01, 0x07, //
            // ChipAuthenticationPublicKeyInfo id-PK-ECDH, SPKI (placeholder SEQUENCE)
            0x30, 0x0F, 0x06, 0x09, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x01, 0x02, 0x30,
            0x02, 0x05, 0x00, //
            // ActiveAuthenticationInfo, version 1, ecdsa-with-SHA256 (1.2.840.10045.4.3.2)
            0x30, 0x15, 0x06, 0x06, 0x67, 0x81, 0x08, 0x01, 0x01, 0x05, 0x02, 0x01, 0x01, 0x06,
            0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02, //
            // Unknown (1.2.3), with a NULL
            0x30, 0x06, 0x06, 0x02, 0x2A, 0x03, 0x05, 0x00,
        ];
        let infos = SecurityInfos::parse(bytes).unwrap();
        let all: std::vec::Vec<_> = infos.iter().collect();
        assert_eq!(all.len(), 4);
        let SecurityInfo::ChipAuthentication(ca) = all[0] else {
            panic!()
        };
        assert!(ca.is_ecdh());
        assert_eq!(ca.version(), 1);
        assert_eq!(ca.key_id(), Some(7));
        assert_eq!(ca.cipher(), Some(KeyAlgorithm::Aes128));
        let SecurityInfo::ChipAuthenticationPublicKey(pk) = all[1] else {
            panic!()
        };
        assert!(pk.is_ecdh());
        assert_eq!(pk.subject_public_key_info(), &[0x30, 0x02, 0x05, 0x00]);
        assert_eq!(pk.key_id(), None);
        let SecurityInfo::ActiveAuthentication(aa) = all[2] else {
            panic!()
        };
        assert_eq!(aa.version(), 1);
        assert_eq!(
            aa.signature_algorithm(),
            &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]
        );
        let SecurityInfo::Unknown(u) = all[3] else {
            panic!()
        };
        assert_eq!(u.protocol(), &[0x2A, 0x03]);
        assert_eq!(u.raw().len(), 8);
        assert_eq!(infos.chip_authentication_public_keys().count(), 1);
    }

    #[test]
    fn terminal_authentication_info() {
        let bytes = [
            0x31, 0x0F, 0x30, 0x0D, 0x06, 0x08, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02,
            0x02, 0x01, 0x02,
        ];
        let infos = SecurityInfos::parse(&bytes).unwrap();
        let Some(SecurityInfo::TerminalAuthentication(ta)) = infos.iter().next() else {
            panic!()
        };
        assert_eq!(ta.version(), 2);
        assert_eq!(ta.ef_cvca(), None);
    }

    #[test]
    fn errors_carry_offsets() {
        // Truncated.
        assert_eq!(
            SecurityInfos::parse(&ICAO_G1_CARD_ACCESS[..21]),
            Err(SecurityInfosError::Malformed { offset: 0 })
        );
        // Not a SET.
        let mut b = ICAO_G1_CARD_ACCESS;
        b[0] = 0x30;
        assert_eq!(
            SecurityInfos::parse(&b),
            Err(SecurityInfosError::UnexpectedTag {
                tag: 0x30,
                offset: 0
            })
        );
        // The version is not an INTEGER.
        let mut b = ICAO_G1_CARD_ACCESS;
        b[16] = 0x04;
        assert_eq!(
            SecurityInfos::parse(&b),
            Err(SecurityInfosError::UnexpectedTag {
                tag: 0x04,
                offset: 16
            })
        );
        // Negative parameter id.
        let mut b = ICAO_G1_CARD_ACCESS;
        b[21] = 0x8D;
        assert_eq!(
            SecurityInfos::parse(&b),
            Err(SecurityInfosError::Integer { offset: 21 })
        );
        // Trailing byte after the set.
        let mut v = ICAO_G1_CARD_ACCESS.to_vec();
        v.push(0);
        assert_eq!(
            SecurityInfos::parse(&v),
            Err(SecurityInfosError::TrailingData { offset: 22 })
        );
        // PACEInfo without version.
        let b = [
            0x31, 0x0E, 0x30, 0x0C, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04,
            0x02, 0x02,
        ];
        assert_eq!(
            SecurityInfos::parse(&b),
            Err(SecurityInfosError::MissingField { offset: 16 })
        );
    }

    #[test]
    fn integers() {
        let e = |c: &'static [u8]| Element {
            tag: Tag::Integer,
            tag_byte: 2,
            offset: 0,
            content: c,
            content_offset: 2,
            raw: c,
        };
        assert_eq!(integer(&e(&[0x00])), Ok(0));
        assert_eq!(integer(&e(&[0x00, 0x80])), Ok(0x80));
        assert_eq!(integer(&e(&[0x00, 0xFF, 0xFF, 0xFF, 0xFF])), Ok(u32::MAX));
        assert!(integer(&e(&[0x00, 0x01])).is_err());
        assert!(integer(&e(&[])).is_err());
        assert!(integer(&e(&[0x01, 0, 0, 0, 0])).is_err());
    }

    #[test]
    fn bsi_prefix_is_consistent() {
        for oid in [ID_PACE, ID_CA, ID_PK, ID_TA] {
            assert!(oid.starts_with(BSI_DE));
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            if let Ok(infos) = SecurityInfos::parse(&bytes) {
                for _ in infos.iter() {}
            }
        }
    }
}
