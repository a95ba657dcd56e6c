//! GENERATE ASYMMETRIC KEY PAIR: the control template `AC` and the public key `7F49` the
//! card returns (NIST SP 800-73-4 Part 2 §3.3.3, Tables 10 and 11).

use cardwire_tlv::{Mode, SliceWriter, Tag, Tlv, Writer};

use crate::containers::{map_write, write};
use crate::{AlgorithmId, Error, Operation, Slot, Target};

/// Tag `7F49`.
pub const TAG_PUBLIC_KEY: Tag = Tag(0x7F49);
/// Tag `AC`: the cryptographic mechanism template of the command.
pub const TAG_CONTROL: Tag = Tag(0xAC);

/// Encodes the command's control template `AC 03 80 01 <algorithm>` (Table 10).
///
/// ```
/// use cardwire_piv::{keygen::encode_control_template, AlgorithmId};
/// let mut buf = [0u8; 5];
/// assert_eq!(encode_control_template(AlgorithmId::ECC_P256, &mut buf)?, &[0xAC, 0x03, 0x80, 0x01, 0x11]);
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
///
/// # Errors
/// [`Error::BufferTooSmall`].
pub fn encode_control_template(algorithm: AlgorithmId, out: &mut [u8]) -> Result<&[u8], Error> {
    let mut w = SliceWriter::new(out);
    cardwire_tlv::write_header(&mut w, TAG_CONTROL, 3).map_err(map_write)?;
    write(&mut w, Tag(0x80), &[algorithm.0])?;
    Ok(w.into_written())
}

/// Reads the algorithm from a control template (the card side).
///
/// # Errors
/// [`Error::Tlv`]; [`Error::Malformed`] when it is not `AC` with a one-byte `80`.
pub fn parse_control_template(data: &[u8]) -> Result<AlgorithmId, Error> {
    let target = Target::Template(0xAC);
    let t = Tlv::parse_with(data, Mode::Lenient).map_err(Error::tlv(target))?;
    let alg = (t.tag() == TAG_CONTROL)
        .then(|| t.find(Tag(0x80)))
        .flatten()
        .filter(|a| a.len() == 1)
        .and_then(|a| a.value().first().copied())
        .ok_or(Error::Malformed {
            target,
            offset: 0,
            what: "control template is not 'AC' with a one-byte algorithm '80'",
        })?;
    Ok(AlgorithmId(alg))
}

/// A public key as the card returns it, checked against the algorithm that was asked for.
///
/// ```
/// use cardwire_piv::{AlgorithmId, PublicKey, PublicKeyRepr, Slot};
/// let modulus = [0xC5; 256];
/// let repr = PublicKeyRepr::Rsa { modulus: &modulus, exponent: &[0x01, 0x00, 0x01] };
/// let mut buf = [0u8; 300];
/// let key = PublicKey::new_checked(Slot::SIGNATURE, AlgorithmId::RSA_2048, repr.encode(&mut buf)?)?;
/// assert_eq!(key.repr(), repr);
/// assert!(PublicKey::new_checked(Slot::SIGNATURE, AlgorithmId::ECC_P256, repr.encode(&mut buf)?).is_err());
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey<'a> {
    algorithm: AlgorithmId,
    repr: PublicKeyRepr<'a>,
}

impl<'a> PublicKey<'a> {
    /// Checks a `7F49` object for `algorithm`: RSA modulus `81` of exactly the key size (one
    /// leading `00` tolerated) with a non-empty exponent `82` of at most 8 bytes; EC point
    /// `86` uncompressed (`04 || X || Y`) and on the curve.
    ///
    /// # Errors
    /// [`Error::Tlv`], [`Error::Malformed`] for the structure; [`Error::AlgorithmMismatch`]
    /// when the key is not of the requested kind or size; [`Error::UnsupportedAlgorithm`]
    /// for a symmetric `algorithm`.
    pub fn new_checked(slot: Slot, algorithm: AlgorithmId, bytes: &'a [u8]) -> Result<Self, Error> {
        let target = Target::Key(slot);
        let t = Tlv::parse_with(bytes, Mode::Lenient).map_err(Error::tlv(target))?;
        if t.tag() != TAG_PUBLIC_KEY {
            return Err(Error::Malformed {
                target,
                offset: 0,
                what: "public key is not a '7F49' template",
            });
        }
        let mismatch = |what| Error::AlgorithmMismatch {
            target,
            expected: algorithm,
            what,
        };
        let repr = if let Some(n) = algorithm.rsa_modulus_len() {
            let modulus = t
                .find(Tag(0x81))
                .ok_or(mismatch("no RSA modulus (tag '81')"))?
                .value();
            let modulus = match modulus.split_first() {
                Some((0, rest)) if rest.len() == n => rest,
                _ => modulus,
            };
            if modulus.len() != n || modulus.first().is_none_or(|&b| b & 0x80 == 0) {
                return Err(mismatch("RSA modulus is not of the requested size"));
            }
            let exponent = t
                .find(Tag(0x82))
                .ok_or(mismatch("no RSA public exponent (tag '82')"))?
                .value();
            if exponent.is_empty() || exponent.len() > 8 {
                return Err(mismatch(
                    "RSA public exponent is empty or longer than 8 bytes",
                ));
            }
            PublicKeyRepr::Rsa { modulus, exponent }
        } else if let Some(c) = algorithm.ec_coordinate_len() {
            let point = t
                .find(Tag(0x86))
                .ok_or(mismatch("no EC point (tag '86')"))?
                .value();
            if point.len() != 1 + 2 * c || point.first() != Some(&0x04) {
                return Err(mismatch(
                    "EC point is not an uncompressed point of the curve",
                ));
            }
            let on_curve = if algorithm == AlgorithmId::ECC_P256 {
                p256::PublicKey::from_sec1_bytes(point).is_ok()
            } else {
                p384::PublicKey::from_sec1_bytes(point).is_ok()
            };
            if !on_curve {
                return Err(mismatch("EC point is not on the curve"));
            }
            PublicKeyRepr::Ec { algorithm, point }
        } else {
            return Err(Error::UnsupportedAlgorithm {
                algorithm,
                operation: Operation::GenerateKeyPair,
            });
        };
        Ok(PublicKey { algorithm, repr })
    }

    /// The algorithm the key was checked for.
    pub fn algorithm(&self) -> AlgorithmId {
        self.algorithm
    }

    /// The plain values.
    pub fn repr(&self) -> PublicKeyRepr<'a> {
        self.repr
    }

    /// The P-256 key.
    ///
    /// # Errors
    /// [`Error::Crypto`] when the key is not a P-256 key.
    pub fn to_p256(&self) -> Result<p256::PublicKey, Error> {
        match self.repr {
            PublicKeyRepr::Ec { algorithm, point } if algorithm == AlgorithmId::ECC_P256 => {
                p256::PublicKey::from_sec1_bytes(point)
                    .map_err(|_| Error::Crypto("not a P-256 point"))
            }
            _ => Err(Error::Crypto("not a P-256 key")),
        }
    }

    /// The P-384 key.
    ///
    /// # Errors
    /// [`Error::Crypto`] when the key is not a P-384 key.
    pub fn to_p384(&self) -> Result<p384::PublicKey, Error> {
        match self.repr {
            PublicKeyRepr::Ec { algorithm, point } if algorithm == AlgorithmId::ECC_P384 => {
                p384::PublicKey::from_sec1_bytes(point)
                    .map_err(|_| Error::Crypto("not a P-384 point"))
            }
            _ => Err(Error::Crypto("not a P-384 key")),
        }
    }

    /// The RSA key.
    ///
    /// # Errors
    /// [`Error::Crypto`] when the key is not RSA or `rsa` refuses it.
    #[cfg(feature = "alloc")]
    pub fn to_rsa(&self) -> Result<rsa::PublicKey, Error> {
        match self.repr {
            PublicKeyRepr::Rsa { modulus, exponent } => {
                let n = rsa::BoxedUint::from_be_slice_vartime(modulus);
                let e = rsa::BoxedUint::from_be_slice_vartime(exponent);
                rsa::PublicKey::new(n, e).map_err(|_| Error::Crypto("RSA public key refused"))
            }
            PublicKeyRepr::Ec { .. } => Err(Error::Crypto("not an RSA key")),
        }
    }
}

/// A public key as plain values (SP 800-73-4 Part 2 Table 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKeyRepr<'a> {
    /// `81` modulus, `82` public exponent.
    Rsa {
        /// Modulus, big-endian, no leading zero.
        modulus: &'a [u8],
        /// Public exponent, big-endian.
        exponent: &'a [u8],
    },
    /// `86` point.
    Ec {
        /// The curve.
        algorithm: AlgorithmId,
        /// Uncompressed point `04 || X || Y`.
        point: &'a [u8],
    },
}

impl PublicKeyRepr<'_> {
    fn inner_len(&self) -> usize {
        match self {
            PublicKeyRepr::Rsa { modulus, exponent } => {
                cardwire_tlv::encoded_len(Tag(0x81), modulus.len())
                    + cardwire_tlv::encoded_len(Tag(0x82), exponent.len())
            }
            PublicKeyRepr::Ec { point, .. } => cardwire_tlv::encoded_len(Tag(0x86), point.len()),
        }
    }

    /// The encoded length of the `7F49` object.
    pub fn encoded_len(&self) -> usize {
        cardwire_tlv::encoded_len(TAG_PUBLIC_KEY, self.inner_len())
    }

    /// Writes the `7F49` object.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn write<W: Writer + ?Sized>(&self, out: &mut W) -> Result<(), Error> {
        cardwire_tlv::write_header(out, TAG_PUBLIC_KEY, self.inner_len()).map_err(map_write)?;
        match self {
            PublicKeyRepr::Rsa { modulus, exponent } => {
                write(out, Tag(0x81), modulus)?;
                write(out, Tag(0x82), exponent)
            }
            PublicKeyRepr::Ec { point, .. } => write(out, Tag(0x86), point),
        }
    }

    /// Encodes into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn encode<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        let mut w = SliceWriter::new(out);
        self.write(&mut w)?;
        Ok(w.into_written())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The P-256 generator G in uncompressed form (SEC 2 v2 §2.4.2 / FIPS 186-4 D.1.2.3): a
    // point certainly on the curve.
    pub(crate) const P256_G: [u8; 65] = [
        0x04, 0x6B, 0x17, 0xD1, 0xF2, 0xE1, 0x2C, 0x42, 0x47, 0xF8, 0xBC, 0xE6, 0xE5, 0x63, 0xA4,
        0x40, 0xF2, 0x77, 0x03, 0x7D, 0x81, 0x2D, 0xEB, 0x33, 0xA0, 0xF4, 0xA1, 0x39, 0x45, 0xD8,
        0x98, 0xC2, 0x96, 0x4F, 0xE3, 0x42, 0xE2, 0xFE, 0x1A, 0x7F, 0x9B, 0x8E, 0xE7, 0xEB, 0x4A,
        0x7C, 0x0F, 0x9E, 0x16, 0x2B, 0xCE, 0x33, 0x57, 0x6B, 0x31, 0x5E, 0xCE, 0xCB, 0xB6, 0x40,
        0x68, 0x37, 0xBF, 0x51, 0xF5,
    ];

    #[test]
    fn ec_point_checked() {
        let repr = PublicKeyRepr::Ec {
            algorithm: AlgorithmId::ECC_P256,
            point: &P256_G,
        };
        let mut buf = [0u8; 80];
        let bytes = repr.encode(&mut buf).unwrap();
        assert_eq!(&bytes[..5], &[0x7F, 0x49, 0x43, 0x86, 0x41]);
        let key =
            PublicKey::new_checked(Slot::AUTHENTICATION, AlgorithmId::ECC_P256, bytes).unwrap();
        assert!(key.to_p256().is_ok());
        assert!(key.to_p384().is_err());
        assert!(matches!(
            PublicKey::new_checked(Slot::AUTHENTICATION, AlgorithmId::ECC_P384, bytes),
            Err(Error::AlgorithmMismatch { .. })
        ));
        let mut off = P256_G;
        off[64] ^= 1;
        let bytes = PublicKeyRepr::Ec {
            algorithm: AlgorithmId::ECC_P256,
            point: &off,
        }
        .encode(&mut buf)
        .unwrap();
        assert!(matches!(
            PublicKey::new_checked(Slot::AUTHENTICATION, AlgorithmId::ECC_P256, bytes),
            Err(Error::AlgorithmMismatch {
                what: "EC point is not on the curve",
                ..
            })
        ));
        assert!(PublicKey::new_checked(Slot::AUTHENTICATION, AlgorithmId::AES_128, bytes).is_err());
    }

    #[test]
    fn control_template() {
        let mut buf = [0u8; 8];
        let t = encode_control_template(AlgorithmId::RSA_2048, &mut buf).unwrap();
        assert_eq!(parse_control_template(t).unwrap(), AlgorithmId::RSA_2048);
        assert!(parse_control_template(&[0xAC, 0x00]).is_err());
    }
}
