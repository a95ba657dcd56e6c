//! [`AuthTemplate`]: the dynamic authentication template `7C` of GENERAL AUTHENTICATE
//! (NIST SP 800-73-4 Part 2 §3.2.4, Table 7).

use cardwire_tlv::{Mode, SliceWriter, Tag, Tlv, Writer};

use crate::containers::{map_write, write};
use crate::{Error, Target};

/// Tag `7C`.
pub const TAG_TEMPLATE: Tag = Tag(0x7C);
const TARGET: Target = Target::Template(0x7C);

/// A checked view of a dynamic authentication template. Each data object may be absent,
/// present and empty (a request: "give me this"), or present with a value.
///
/// | tag | meaning |
/// |---|---|
/// | `80` | witness |
/// | `81` | challenge |
/// | `82` | response |
/// | `85` | exponentiation (the other party's public point, for ECDH) |
///
/// ```
/// use cardwire_piv::{AuthTemplate, AuthTemplateRepr};
/// // A signature request: 82 empty (give me the response), 81 the input.
/// let repr = AuthTemplateRepr { response: Some(&[]), challenge: Some(&[1, 2, 3]), ..Default::default() };
/// let mut buf = [0u8; 16];
/// let bytes = repr.encode(&mut buf)?;
/// assert_eq!(bytes, &[0x7C, 0x07, 0x82, 0x00, 0x81, 0x03, 1, 2, 3]);
/// assert_eq!(AuthTemplate::new_checked(bytes)?.repr(), repr);
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthTemplate<'a> {
    repr: AuthTemplateRepr<'a>,
}

impl<'a> AuthTemplate<'a> {
    /// Checks a whole `7C` object (filler after it is tolerated).
    ///
    /// # Errors
    /// [`Error::Tlv`]; [`Error::Malformed`] when the tag is not `7C`.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, Error> {
        let t = Tlv::parse_with(bytes, Mode::Lenient).map_err(Error::tlv(TARGET))?;
        if t.tag() != TAG_TEMPLATE {
            return Err(Error::Malformed {
                target: TARGET,
                offset: 0,
                what: "not a dynamic authentication template (tag '7C')",
            });
        }
        let get = |tag: u32| t.find(Tag(tag)).map(|x| x.value());
        Ok(AuthTemplate {
            repr: AuthTemplateRepr {
                witness: get(0x80),
                challenge: get(0x81),
                response: get(0x82),
                exponentiation: get(0x85),
            },
        })
    }

    /// `80` witness.
    pub fn witness(&self) -> Option<&'a [u8]> {
        self.repr.witness
    }

    /// `81` challenge.
    pub fn challenge(&self) -> Option<&'a [u8]> {
        self.repr.challenge
    }

    /// `82` response.
    pub fn response(&self) -> Option<&'a [u8]> {
        self.repr.response
    }

    /// `85` exponentiation.
    pub fn exponentiation(&self) -> Option<&'a [u8]> {
        self.repr.exponentiation
    }

    /// The plain values.
    pub fn repr(&self) -> AuthTemplateRepr<'a> {
        self.repr
    }
}

/// A dynamic authentication template as plain values. `Some(&[])` encodes an empty data
/// object (a request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthTemplateRepr<'a> {
    /// `80` witness.
    pub witness: Option<&'a [u8]>,
    /// `81` challenge.
    pub challenge: Option<&'a [u8]>,
    /// `82` response.
    pub response: Option<&'a [u8]>,
    /// `85` exponentiation.
    pub exponentiation: Option<&'a [u8]>,
}

impl<'a> AuthTemplateRepr<'a> {
    /// Parses and checks.
    ///
    /// # Errors
    /// As [`AuthTemplate::new_checked`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        AuthTemplate::new_checked(bytes).map(|t| t.repr())
    }

    /// The objects in the order they are written: the requests (empty values) first, as
    /// SP 800-73-4 Part 2 Appendix A.2 shows them (`82 00` before `81`), then the others in
    /// tag order.
    fn fields(&self) -> [(u32, Option<&'a [u8]>); 4] {
        [
            (0x80, self.witness),
            (0x81, self.challenge),
            (0x82, self.response),
            (0x85, self.exponentiation),
        ]
    }

    fn ordered(&self) -> impl Iterator<Item = (u32, &'a [u8])> {
        let f = self.fields();
        let empties = f
            .into_iter()
            .filter_map(|(t, v)| v.filter(|v| v.is_empty()).map(|v| (t, v)));
        let full = f
            .into_iter()
            .filter_map(|(t, v)| v.filter(|v| !v.is_empty()).map(|v| (t, v)));
        empties.chain(full)
    }

    fn inner_len(&self) -> usize {
        self.ordered()
            .map(|(t, v)| cardwire_tlv::encoded_len(Tag(t), v.len()))
            .sum()
    }

    /// The encoded length of the whole `7C` object.
    pub fn encoded_len(&self) -> usize {
        cardwire_tlv::encoded_len(TAG_TEMPLATE, self.inner_len())
    }

    /// Writes the `7C` object.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn write<W: Writer + ?Sized>(&self, out: &mut W) -> Result<(), Error> {
        cardwire_tlv::write_header(out, TAG_TEMPLATE, self.inner_len()).map_err(map_write)?;
        for (t, v) in self.ordered() {
            write(out, Tag(t), v)?;
        }
        Ok(())
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

    #[test]
    fn appendix_a_shapes() {
        // SP 800-73-4 Part 2 Appendix A.1 (mutual authentication, step 1): 7C 02 80 00.
        let req = AuthTemplateRepr {
            witness: Some(&[]),
            ..Default::default()
        };
        let mut buf = [0u8; 300];
        assert_eq!(req.encode(&mut buf).unwrap(), &[0x7C, 0x02, 0x80, 0x00]);
        // A 256-byte RSA input needs the two-byte length form: 7C 82 01 06 82 00 81 82 01 00.
        let input = [0xAB; 256];
        let sign = AuthTemplateRepr {
            response: Some(&[]),
            challenge: Some(&input),
            ..Default::default()
        };
        let bytes = sign.encode(&mut buf).unwrap();
        assert_eq!(
            &bytes[..10],
            &[0x7C, 0x82, 0x01, 0x06, 0x82, 0x00, 0x81, 0x82, 0x01, 0x00]
        );
        assert_eq!(bytes.len(), sign.encoded_len());
        assert_eq!(AuthTemplateRepr::parse(bytes).unwrap(), sign);
        assert!(AuthTemplate::new_checked(&[0x7D, 0x00]).is_err());
    }
}
