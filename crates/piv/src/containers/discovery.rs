//! [`Discovery`]: the discovery object `7E` (NIST SP 800-73-4 Part 1 §3.3.2, Appendix A
//! Table 18).

use cardwire_tlv::{Mode, SliceWriter, Tag, Tlv, Writer};

use super::{encode_with, write};
use crate::{Error, ObjectId, Target};

const TARGET: Target = Target::Object(ObjectId::DISCOVERY);

/// The PIN usage policy `5F2F`, two bytes (SP 800-73-4 Part 1 §3.3.2).
///
/// First byte: bit 7 (`40`) the PIV Card Application PIN satisfies the access rules, bit 6
/// (`20`) the Global PIN does, bit 5 (`10`) on-card biometric comparison does, bit 4 (`08`)
/// the virtual contact interface is implemented, bit 3 (`04`) a pairing code is required for
/// it. Second byte: which PIN is primary when both qualify, `10` the application PIN, `20`
/// the Global PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PinUsagePolicy(pub [u8; 2]);

impl PinUsagePolicy {
    /// Only the PIV Card Application PIN (`40 00`), what most cards ship.
    pub const APPLICATION_PIN_ONLY: Self = Self([0x40, 0x00]);

    /// The application PIN satisfies the access rules.
    pub const fn application_pin(self) -> bool {
        self.0[0] & 0x40 != 0
    }

    /// The Global PIN satisfies the access rules.
    pub const fn global_pin(self) -> bool {
        self.0[0] & 0x20 != 0
    }

    /// On-card biometric comparison satisfies the access rules.
    pub const fn occ(self) -> bool {
        self.0[0] & 0x10 != 0
    }

    /// The Global PIN is the primary PIN (second byte `20`).
    pub const fn global_pin_is_primary(self) -> bool {
        self.0[1] == 0x20
    }
}

/// A checked view of the discovery object's content (the value of `7E`).
///
/// ```
/// use cardwire_piv::{Discovery, PinUsagePolicy, PIV_AID_FULL};
/// // SP 800-73-4 Part 1 Table 18: 4F (AID), 5F2F (PIN usage policy).
/// let content = [0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
///                0x5F, 0x2F, 0x02, 0x40, 0x00];
/// let d = Discovery::new_checked(&content)?;
/// assert_eq!(d.aid(), &PIV_AID_FULL);
/// assert_eq!(d.pin_usage_policy(), Some(PinUsagePolicy::APPLICATION_PIN_ONLY));
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discovery<'a> {
    aid: &'a [u8],
    policy: Option<PinUsagePolicy>,
}

impl<'a> Discovery<'a> {
    /// Checks the content of `7E`.
    ///
    /// # Errors
    /// [`Error::Tlv`]; [`Error::Malformed`] when `4F` is missing or `5F2F` is not 2 bytes.
    pub fn new_checked(content: &'a [u8]) -> Result<Self, Error> {
        let objects =
            cardwire_tlv::parse_all(content, Mode::Lenient).map_err(Error::tlv(TARGET))?;
        let aid = objects.find(Tag(0x4F)).ok_or(Error::Malformed {
            target: TARGET,
            offset: 0,
            what: "discovery object has no AID (tag '4F')",
        })?;
        let policy = match objects.find(Tag(0x5F2F)) {
            Some(p) => Some(PinUsagePolicy(p.value().try_into().map_err(|_| {
                Error::Malformed {
                    target: TARGET,
                    offset: p.offset(),
                    what: "PIN usage policy (tag '5F2F') is not 2 bytes",
                }
            })?)),
            None => None,
        };
        Ok(Discovery {
            aid: aid.value(),
            policy,
        })
    }

    /// Checks a whole `7E` object (what GET DATA returns).
    ///
    /// # Errors
    /// As [`Self::new_checked`], and [`Error::Malformed`] when the tag is not `7E`.
    pub fn from_object(object: &'a [u8]) -> Result<Self, Error> {
        let tlv = Tlv::parse_with(object, Mode::Lenient).map_err(Error::tlv(TARGET))?;
        if tlv.tag() != ObjectId::DISCOVERY.tag() {
            return Err(Error::Malformed {
                target: TARGET,
                offset: 0,
                what: "the discovery object's tag is not '7E'",
            });
        }
        Self::new_checked(tlv.value())
    }

    /// The PIV AID (tag `4F`).
    pub fn aid(&self) -> &'a [u8] {
        self.aid
    }

    /// The PIN usage policy (tag `5F2F`).
    pub fn pin_usage_policy(&self) -> Option<PinUsagePolicy> {
        self.policy
    }

    /// The plain values.
    pub fn repr(&self) -> DiscoveryRepr<'a> {
        DiscoveryRepr {
            aid: self.aid,
            pin_usage_policy: self.policy,
        }
    }
}

/// The discovery object as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveryRepr<'a> {
    /// `4F`: the PIV AID.
    pub aid: &'a [u8],
    /// `5F2F`: the PIN usage policy.
    pub pin_usage_policy: Option<PinUsagePolicy>,
}

impl<'a> DiscoveryRepr<'a> {
    /// Parses and checks.
    ///
    /// # Errors
    /// As [`Discovery::new_checked`].
    pub fn parse(content: &'a [u8]) -> Result<Self, Error> {
        Discovery::new_checked(content).map(|d| d.repr())
    }

    /// The encoded length of the content.
    pub fn encoded_len(&self) -> usize {
        cardwire_tlv::encoded_len(Tag(0x4F), self.aid.len())
            + if self.pin_usage_policy.is_some() {
                5
            } else {
                0
            }
    }

    /// Writes `4F` and `5F2F`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn write<W: Writer + ?Sized>(&self, out: &mut W) -> Result<(), Error> {
        write(out, Tag(0x4F), self.aid)?;
        if let Some(p) = self.pin_usage_policy {
            write(out, Tag(0x5F2F), &p.0)?;
        }
        Ok(())
    }

    /// Encodes the content into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn encode<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        encode_with(out, |w| self.write(w))
    }

    /// Encodes the whole `7E` object (what PUT DATA sends and GET DATA returns).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn encode_object<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        let mut w = SliceWriter::new(out);
        cardwire_tlv::write_header(&mut w, ObjectId::DISCOVERY.tag(), self.encoded_len())
            .map_err(super::map_write)?;
        self.write(&mut w)?;
        Ok(w.into_written())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The discovery object as SP 800-73-4 Part 1 Table 18 lays it out (AID with version 01 00,
    // policy 40 00: application PIN only); YubiKey PIV cards ship exactly these 20 bytes.
    const OBJECT: [u8; 20] = [
        0x7E, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
        0x5F, 0x2F, 0x02, 0x40, 0x00,
    ];

    #[test]
    fn table_18() {
        let d = Discovery::from_object(&OBJECT).unwrap();
        let p = d.pin_usage_policy().unwrap();
        assert!(p.application_pin() && !p.global_pin() && !p.occ());
        let mut buf = [0u8; 32];
        assert_eq!(d.repr().encode_object(&mut buf).unwrap(), &OBJECT[..]);
        assert!(Discovery::from_object(&OBJECT[..19]).is_err());
        assert!(Discovery::new_checked(&OBJECT[15..]).is_err());
    }
}
