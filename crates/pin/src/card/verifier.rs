//! What a [`CardPin`](super::CardPin) stores: the reference a [`PinVerifier`] makes of a value.

use crate::PinData;

use super::Secret;

/// Turns a PIN or PUK value (its wire bytes) into the reference a [`CardPin`](super::CardPin) stores and
/// compares (in constant time). Both the stored value and every presented value pass
/// through it, so with a one-way function no plaintext PIN is kept.
///
/// ```
/// use cardwire_pin::{CardPin, CardPinConfig, Pin, PinData, PinOutcome, PinVerifier, Secret};
/// /// A toy transform (a real one is a salted hash).
/// struct Reversed;
/// impl PinVerifier for Reversed {
///     fn reference(&self, _secret: Secret, value: &[u8]) -> PinData {
///         let mut out = PinData::new();
///         for b in value.iter().rev() {
///             let _ = out.extend(&[*b]);
///         }
///         out
///     }
/// }
/// let mut pin = CardPin::with_verifier(CardPinConfig::PIV, Reversed, Some(&Pin::new(b"123456")?), None)?;
/// assert_eq!(pin.state().pin, Some(&b"\xFF\xFF654321"[..]));
/// assert_eq!(pin.verify(b"123456\xFF\xFF", &mut ()), PinOutcome::Verified);
/// # Ok::<(), cardwire_pin::Error>(())
/// ```
pub trait PinVerifier {
    /// The reference stored for (or compared with) `value` of `secret`. `value` is at most
    /// [`PinData::CAPACITY`] bytes.
    fn reference(&self, secret: Secret, value: &[u8]) -> PinData;

    /// Called just before a new value of `secret` is stored (a change, an unblock with a new
    /// PIN, an administrator reset): the place to rotate a salt. Does nothing by default.
    fn rekey(&mut self, secret: Secret) {
        let _ = secret;
    }
}

/// The [`PinVerifier`] that stores the wire bytes themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Plain;

impl PinVerifier for Plain {
    fn reference(&self, _secret: Secret, value: &[u8]) -> PinData {
        PinData::from_slice(value).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::piv;
    use super::super::{CardPin, CardPinConfig};
    use super::*;
    use crate::{Pin, PinOutcome};
    use cardwire_apdu::StatusWord;

    /// A verifier that XORs with a per-secret key and counts rekeys (a stand-in for a salted
    /// hash: the stored reference is never the PIN).
    #[derive(Clone)]
    struct Xor {
        key: [u8; 2],
    }

    impl PinVerifier for Xor {
        fn reference(&self, secret: Secret, value: &[u8]) -> PinData {
            let k = self.key[secret as usize];
            let mut out = PinData::new();
            for b in value {
                out.extend(&[b ^ k]).unwrap();
            }
            out
        }
        fn rekey(&mut self, secret: Secret) {
            self.key[secret as usize] = self.key[secret as usize].wrapping_add(1);
        }
    }

    #[test]
    fn verifier_stores_no_plain_value_and_follows_the_same_rules() {
        let mut c = CardPin::with_verifier(
            CardPinConfig::PIV,
            Xor { key: [0x55, 0xAA] },
            Some(&Pin::new(b"123456").unwrap()),
            Some(&Pin::new(b"87654321").unwrap()),
        )
        .unwrap();
        assert_ne!(c.state().pin, Some(&piv(b"123456")[..]));
        assert_ne!(c.state().puk, Some(&piv(b"87654321")[..]));
        assert_eq!(
            c.verify(&piv(b"000000"), &mut ()).status_word(),
            StatusWord(0x63C2)
        );
        assert_eq!(
            c.verify(&piv(b"000001"), &mut ()).status_word(),
            StatusWord(0x63C1)
        );
        assert_eq!(
            c.verify(&piv(b"000002"), &mut ()).status_word(),
            StatusWord(0x6983)
        );
        assert_eq!(c.verify(&piv(b"123456"), &mut ()), PinOutcome::Blocked);
        // Unblock with a new PIN: the verifier rekeys the PIN, not the PUK.
        assert_eq!(
            c.unblock(&piv(b"87654321"), Some(&piv(b"2468024")), &mut ()),
            PinOutcome::Verified
        );
        assert_eq!(c.verifier().key, [0x56, 0xAA]);
        assert_eq!(c.verify(&piv(b"2468024"), &mut ()), PinOutcome::Verified);
        // State round trip through the references, into a copy with the same verifier.
        let mut copy =
            CardPin::with_verifier(CardPinConfig::PIV, c.verifier().clone(), None, None).unwrap();
        copy.set_state(c.state()).unwrap();
        assert_eq!(copy.verify(&piv(b"2468024"), &mut ()), PinOutcome::Verified);
        let dup = c.duplicate();
        assert!(!dup.is_verified());
        assert_eq!(dup.state(), c.state());
        let mut bad = c.state();
        bad.retries_left = 4;
        assert!(copy.set_state(bad).is_err());
    }
}
