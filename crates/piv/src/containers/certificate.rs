//! [`CertificateObject`]: the X.509 certificate containers of keys 9A, 9C, 9D, 9E and the
//! retired keys (NIST SP 800-73-4 Part 1 Appendix A Tables 10, 15, 16, 20 and 23-42).

use cardwire_tlv::{Tag, Writer};

use super::{EDC_LEN, collect, encode_with, exact, opt_len, required, write, write_edc, write_opt};
use crate::{Error, ObjectId, Target};

const TAGS: [u8; 3] = [0x70, 0x71, 0x72];

/// The CertInfo byte `71` (SP 800-73-4 Part 1 Appendix A, note to Table 10): bit 0
/// (`01`) set means the certificate is gzip-compressed; bits 1-2 (`06`) are "IsX509", zero
/// for an X.509 certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CertInfo(pub u8);

impl CertInfo {
    /// An uncompressed X.509 certificate.
    pub const UNCOMPRESSED: Self = Self(0x00);
    /// A gzip-compressed X.509 certificate.
    pub const GZIP: Self = Self(0x01);

    /// Bit 0: the certificate is gzip-compressed.
    pub const fn is_compressed(self) -> bool {
        self.0 & 0x01 != 0
    }

    /// Bits 1-2 are zero: the object is an X.509 certificate.
    pub const fn is_x509(self) -> bool {
        self.0 & 0x06 == 0
    }
}

/// A checked view of a certificate container's content.
///
/// | tag | content | |
/// |---|---|---|
/// | `70` | certificate (DER, or gzip when CertInfo says so) | mandatory |
/// | `71` | CertInfo, 1 byte | mandatory |
/// | `72` | MSCUID | optional, deprecated |
/// | `FE` | error detection code | |
///
/// ```
/// use cardwire_piv::{CertInfo, CertificateObject, ObjectId};
/// let content = [0x70, 0x02, 0x30, 0x00, 0x71, 0x01, 0x00, 0xFE, 0x00];
/// let cert = CertificateObject::new_checked(ObjectId::X509_PIV_AUTHENTICATION, &content)?;
/// assert_eq!(cert.info(), CertInfo::UNCOMPRESSED);
/// assert_eq!(cert.certificate()?, &[0x30, 0x00]);
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateObject<'a> {
    object: ObjectId,
    certificate: &'a [u8],
    info: CertInfo,
    mscuid: Option<&'a [u8]>,
}

/// The most bytes a compressed certificate may expand to (a bound against gzip bombs).
pub const MAX_DECOMPRESSED: usize = 64 * 1024;

impl<'a> CertificateObject<'a> {
    /// Checks a certificate container of `object`.
    ///
    /// # Errors
    /// [`Error::Tlv`]; [`Error::Malformed`] when `70` or `71` is missing or `71` is not one
    /// byte.
    pub fn new_checked(object: ObjectId, content: &'a [u8]) -> Result<Self, Error> {
        let target = Target::Object(object);
        let [cert, info, mscuid] = collect(target, content, &TAGS)?;
        let cert = required(
            target,
            cert,
            "certificate container has no certificate (tag '70')",
        )?;
        let info = required(
            target,
            info,
            "certificate container has no CertInfo (tag '71')",
        )?;
        exact(target, info, 1, "CertInfo (tag '71') is not one byte")?;
        Ok(CertificateObject {
            object,
            certificate: cert.1,
            info: CertInfo(info.1.first().copied().unwrap_or(0)),
            mscuid: mscuid.map(|v| v.1),
        })
    }

    /// The object this came from.
    pub fn object(&self) -> ObjectId {
        self.object
    }

    /// The CertInfo byte.
    pub fn info(&self) -> CertInfo {
        self.info
    }

    /// The bytes of `70` as stored (compressed or not).
    pub fn raw_certificate(&self) -> &'a [u8] {
        self.certificate
    }

    /// The DER certificate, when it is not compressed.
    ///
    /// # Errors
    /// [`Error::Compressed`] when CertInfo says gzip: use `decompressed` (feature
    /// `std`).
    pub fn certificate(&self) -> Result<&'a [u8], Error> {
        if self.info.is_compressed() {
            Err(Error::Compressed {
                target: Target::Object(self.object),
            })
        } else {
            Ok(self.certificate)
        }
    }

    /// The DER certificate, gunzipped when CertInfo says so (at most [`MAX_DECOMPRESSED`]
    /// bytes).
    ///
    /// # Errors
    /// [`Error::Decompression`] when the gzip data is broken or too large.
    #[cfg(feature = "std")]
    pub fn decompressed(&self) -> Result<std::borrow::Cow<'a, [u8]>, Error> {
        use std::io::Read;
        if !self.info.is_compressed() {
            return Ok(std::borrow::Cow::Borrowed(self.certificate));
        }
        let err = Error::Decompression {
            target: Target::Object(self.object),
        };
        let mut out = std::vec::Vec::new();
        let mut reader =
            flate2::read::GzDecoder::new(self.certificate).take(MAX_DECOMPRESSED as u64 + 1);
        reader.read_to_end(&mut out).map_err(|_| err)?;
        if out.len() > MAX_DECOMPRESSED {
            return Err(err);
        }
        Ok(std::borrow::Cow::Owned(out))
    }

    /// The MSCUID (tag `72`), deprecated.
    pub fn mscuid(&self) -> Option<&'a [u8]> {
        self.mscuid
    }

    /// The plain values.
    pub fn repr(&self) -> CertificateObjectRepr<'a> {
        CertificateObjectRepr {
            certificate: self.certificate,
            info: self.info,
            mscuid: self.mscuid,
        }
    }
}

/// A certificate container as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateObjectRepr<'a> {
    /// `70`: the certificate bytes (compressed when `info` says so).
    pub certificate: &'a [u8],
    /// `71`: CertInfo.
    pub info: CertInfo,
    /// `72`: MSCUID (deprecated).
    pub mscuid: Option<&'a [u8]>,
}

impl<'a> CertificateObjectRepr<'a> {
    /// An uncompressed DER certificate.
    pub fn new(certificate: &'a [u8]) -> Self {
        CertificateObjectRepr {
            certificate,
            info: CertInfo::UNCOMPRESSED,
            mscuid: None,
        }
    }

    /// Parses and checks.
    ///
    /// # Errors
    /// As [`CertificateObject::new_checked`].
    pub fn parse(object: ObjectId, content: &'a [u8]) -> Result<Self, Error> {
        CertificateObject::new_checked(object, content).map(|c| c.repr())
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        opt_len(0x70, Some(self.certificate)) + 3 + opt_len(0x72, self.mscuid) + EDC_LEN
    }

    /// Writes `70`, `71`, `72`, `FE 00`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn write<W: Writer + ?Sized>(&self, out: &mut W) -> Result<(), Error> {
        write(out, Tag(0x70), self.certificate)?;
        write(out, Tag(0x71), &[self.info.0])?;
        write_opt(out, 0x72, self.mscuid)?;
        write_edc(out)
    }

    /// Encodes into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn encode<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        encode_with(out, |w| self.write(w))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn compressed_is_refused_or_decompressed() {
        // gzip of the two bytes 30 00 (RFC 1952 member, made with Python's gzip.compress,
        // mtime 0).
        const GZ: [u8; 22] = [
            0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x33, 0x60, 0x00, 0x00,
            0x0C, 0x24, 0x9F, 0x9E, 0x02, 0x00, 0x00, 0x00,
        ];
        let repr = CertificateObjectRepr {
            certificate: &GZ,
            info: CertInfo::GZIP,
            mscuid: None,
        };
        let mut buf = [0u8; 64];
        let bytes = repr.encode(&mut buf).unwrap();
        assert_eq!(bytes.len(), repr.encoded_len());
        let c = CertificateObject::new_checked(ObjectId::X509_DIGITAL_SIGNATURE, bytes).unwrap();
        assert_eq!(
            c.certificate(),
            Err(Error::Compressed {
                target: Target::Object(ObjectId::X509_DIGITAL_SIGNATURE)
            })
        );
        assert_eq!(&c.decompressed().unwrap()[..], &[0x30, 0x00]);
        let broken = CertificateObjectRepr {
            certificate: &GZ[..12],
            ..repr
        };
        let bytes = broken.encode(&mut buf).unwrap();
        let c = CertificateObject::new_checked(ObjectId::X509_DIGITAL_SIGNATURE, bytes).unwrap();
        assert!(matches!(c.decompressed(), Err(Error::Decompression { .. })));
    }

    #[test]
    fn missing_certinfo() {
        assert!(matches!(
            CertificateObject::new_checked(ObjectId::X509_PIV_AUTHENTICATION, &[0x70, 0x00]),
            Err(Error::Malformed { .. })
        ));
    }
}
