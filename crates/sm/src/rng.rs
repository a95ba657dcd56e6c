//! [`Rng`]: where the random challenges and keying material come from.
//!
//! The crate never draws randomness itself (it is `no_std` and deterministic in tests): the
//! low-level APIs take the random values as arguments, and the drivers over a card session
//! ([`crate::channel`]) take an [`Rng`]. Implement it on the platform's cryptographically secure
//! generator (a hardware TRNG in firmware, `getrandom` on a desktop).

/// A source of cryptographically secure random bytes.
pub trait Rng {
    /// Fills `out` with random bytes.
    fn fill_bytes(&mut self, out: &mut [u8]);
}

impl<R: Rng + ?Sized> Rng for &mut R {
    fn fill_bytes(&mut self, out: &mut [u8]) {
        (**self).fill_bytes(out);
    }
}
