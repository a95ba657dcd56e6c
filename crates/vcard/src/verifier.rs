//! Argon2id: the card's PIN and PUK verifiers and the key of a passphrase-protected state
//! file (RFC 9106).
//!
//! The card never stores a PIN: `cardwire_pin::CardPin` keeps Argon2id(value, salt) instead,
//! with a random 16-byte salt per stored value, drawn again whenever the value changes.
//!
//! # Cost parameters
//! [`Cost::DEFAULT`] is RFC 9106 §4's second recommended option scaled to the OWASP
//! password-storage minimum for Argon2id: 19 MiB of memory, 2 passes, 1 lane, a 32-byte tag.
//! It makes an offline search over a stolen state file cost about 20 ms of one core per
//! guess; a 6-digit PIN still falls in hours. That is the honest limit: a retry counter in a
//! file is not tamper resistant, which is why this is a test card (see `docs/SECURITY.md`).
//! The parameters are stored with every verifier, so a file keeps working when the default
//! changes.

use argon2::{Algorithm, Argon2, Params, Version};
use cardwire_pin::{PinData, PinVerifier, Secret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Argon2id cost parameters (RFC 9106 §3.1): memory in KiB, passes, lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cost {
    /// Memory size m in KiB.
    pub memory_kib: u32,
    /// Number of passes t.
    pub passes: u32,
    /// Degree of parallelism p.
    pub lanes: u32,
}

impl Cost {
    /// 19 MiB, 2 passes, 1 lane (see the [module documentation](self)).
    pub const DEFAULT: Cost = Cost {
        memory_kib: 19 * 1024,
        passes: 2,
        lanes: 1,
    };

    /// The smallest cost `argon2` accepts (8 KiB, 1 pass, 1 lane): for tests only, where
    /// thousands of hashes must stay fast. Never for a state file anyone relies on.
    pub const TEST_ONLY_MINIMAL: Cost = Cost {
        memory_kib: 8,
        passes: 1,
        lanes: 1,
    };

    /// Whether `argon2` accepts these parameters and they are no larger than this code will
    /// ever spend on a file it reads (1 GiB, 16 passes, 16 lanes): a damaged or hostile file
    /// must not make the card allocate without bound.
    pub fn is_usable(self) -> bool {
        self.memory_kib <= 1024 * 1024
            && self.passes <= 16
            && self.lanes <= 16
            && Params::new(self.memory_kib, self.passes, self.lanes, Some(32)).is_ok()
    }
}

/// Argon2id(`secret`, `salt`) with `cost`, a 32-byte tag; `None` when the parameters are
/// unusable (see [`Cost::is_usable`]).
pub fn argon2id(secret: &[u8], salt: &[u8; 16], cost: Cost) -> Option<Zeroizing<[u8; 32]>> {
    if !cost.is_usable() {
        return None;
    }
    let params = Params::new(cost.memory_kib, cost.passes, cost.lanes, Some(32)).ok()?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(secret, salt, out.as_mut())
        .ok()?;
    Some(out)
}

/// A fresh random salt from the operating system.
///
/// # Errors
/// The operating system's generator failed (no salt is made up).
pub fn random_salt() -> Result<[u8; 16], getrandom::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)?;
    Ok(salt)
}

/// The salt and cost of one stored verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Zeroize)]
pub struct SaltAndCost {
    /// The random salt.
    pub salt: [u8; 16],
    /// The cost parameters.
    #[zeroize(skip)]
    pub cost: Cost,
}

/// The card's [`PinVerifier`]: Argon2id of the PIN and of the PUK, each with its own random
/// salt, drawn again (with [`PinVerifier::rekey`]) whenever a new value is stored.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Argon2idVerifier {
    pin: SaltAndCost,
    puk: SaltAndCost,
}

impl core::fmt::Debug for Argon2idVerifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Argon2idVerifier(<salts redacted>)")
    }
}

impl Argon2idVerifier {
    /// Fresh random salts for the PIN and the PUK, with `cost`.
    ///
    /// # Errors
    /// The operating system's generator failed.
    pub fn new(cost: Cost) -> Result<Argon2idVerifier, getrandom::Error> {
        Ok(Argon2idVerifier {
            pin: SaltAndCost {
                salt: random_salt()?,
                cost,
            },
            puk: SaltAndCost {
                salt: random_salt()?,
                cost,
            },
        })
    }

    /// Takes the salts and costs of stored records.
    pub fn restore(&mut self, pin: SaltAndCost, puk: SaltAndCost) {
        self.pin = pin;
        self.puk = puk;
    }

    /// The salt and cost in use for `secret`.
    pub fn salt(&self, secret: Secret) -> SaltAndCost {
        match secret {
            Secret::Pin => self.pin,
            Secret::Puk => self.puk,
        }
    }
}

impl PinVerifier for Argon2idVerifier {
    fn reference(&self, secret: Secret, value: &[u8]) -> PinData {
        let SaltAndCost { salt, cost } = self.salt(secret);
        // Unusable parameters (never stored by this code) give an empty reference, which
        // matches no value: the PIN fails closed.
        argon2id(value, &salt, cost)
            .and_then(|tag| PinData::from_slice(tag.as_ref()).ok())
            .unwrap_or_default()
    }

    fn rekey(&mut self, secret: Secret) {
        let slot = match secret {
            Secret::Pin => &mut self.pin,
            Secret::Puk => &mut self.puk,
        };
        // A salt must be unique, not secret: should the generator fail, the next salt is
        // derived from the previous one (still unique), rather than refusing the change.
        slot.salt = random_salt().unwrap_or_else(|_| {
            use sha2::{Digest, Sha256};
            let d: [u8; 32] = Sha256::new()
                .chain_update(b"cardwire-vcard/salt-step")
                .chain_update(slot.salt)
                .finalize()
                .into();
            let mut s = [0u8; 16];
            s.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
            s
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9106 §5.3 test vector for Argon2id (with secret and associated data) cannot be
    /// run through `hash_password_into`; this checks the properties the card relies on.
    #[test]
    fn tags_depend_on_value_salt_and_cost() {
        let c = Cost::TEST_ONLY_MINIMAL;
        let a = argon2id(b"1234", &[1; 16], c).unwrap();
        assert_eq!(*a, *argon2id(b"1234", &[1; 16], c).unwrap());
        assert_ne!(*a, *argon2id(b"1235", &[1; 16], c).unwrap());
        assert_ne!(*a, *argon2id(b"1234", &[2; 16], c).unwrap());
        let c2 = Cost { passes: 2, ..c };
        assert_ne!(*a, *argon2id(b"1234", &[1; 16], c2).unwrap());
    }

    #[test]
    fn hostile_costs_are_refused() {
        assert!(Cost::DEFAULT.is_usable());
        for bad in [
            Cost {
                memory_kib: u32::MAX,
                ..Cost::DEFAULT
            },
            Cost {
                passes: 0,
                ..Cost::DEFAULT
            },
            Cost {
                lanes: 1000,
                ..Cost::DEFAULT
            },
        ] {
            assert!(!bad.is_usable(), "{bad:?}");
            assert!(argon2id(b"1", &[0; 16], bad).is_none());
        }
    }

    #[test]
    fn rekey_draws_a_new_salt_and_debug_redacts() {
        let mut v = Argon2idVerifier::new(Cost::TEST_ONLY_MINIMAL).unwrap();
        let before = v.salt(Secret::Pin);
        let r = v.reference(Secret::Pin, b"1234");
        v.rekey(Secret::Pin);
        assert_ne!(v.salt(Secret::Pin).salt, before.salt);
        assert_ne!(
            v.reference(Secret::Pin, b"1234").expose_secret(),
            r.expose_secret()
        );
        assert_ne!(v.salt(Secret::Puk).salt, v.salt(Secret::Pin).salt);
        assert!(format!("{v:?}").contains("redacted"));
    }
}
