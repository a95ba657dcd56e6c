//! The command line's randomness: the operating system's generator, failing closed.
//!
//! Host challenges (the journey's signature challenge, SCP03's host challenge) and BAC's
//! RND.IFD and K.IFD must be unpredictable. When the operating system cannot give random
//! bytes, the command stops with [`RandomnessError`] (exit status 1) **before** anything
//! that needs them is sent: nothing falls back to zeros.
//!
//! [`OsRandom`] is a fallible [`rand_core::TryCryptoRng`]: the secure-messaging drivers
//! (`cardwire_sm::channel`) draw every challenge and key before the first command goes out,
//! and a failed draw becomes `cardwire_sm::Error::Randomness` with nothing sent.
//!
//! In debug builds (tests), setting `CARDWIRE_TEST_FAIL_RANDOM` makes the operating system's
//! generator fail, so the failure path can be exercised end to end; release builds never
//! read it.

use std::fmt;

/// The operating system's random number generator failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RandomnessError {
    detail: String,
}

impl fmt::Display for RandomnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the operating system's random number generator failed ({}); stopping, because \
             challenges and session keys made without it would be predictable",
            self.detail
        )
    }
}

impl std::error::Error for RandomnessError {}

/// Where random bytes come from.
type Source = fn(&mut [u8]) -> Result<(), String>;

/// The operating system's generator (with the debug-build failure injection).
fn os_source(out: &mut [u8]) -> Result<(), String> {
    #[cfg(debug_assertions)]
    if std::env::var_os("CARDWIRE_TEST_FAIL_RANDOM").is_some() {
        return Err("failure injected by CARDWIRE_TEST_FAIL_RANDOM".to_string());
    }
    getrandom::fill(out).map_err(|e| e.to_string())
}

/// Random bytes from the operating system, failing closed (see the [module](self)).
pub struct OsRandom {
    source: Source,
    /// The last failure, kept for the caller of an engine that only says "no randomness".
    failed: Option<RandomnessError>,
}

impl Default for OsRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl OsRandom {
    /// The operating system's generator.
    pub fn new() -> Self {
        Self::with_source(os_source)
    }

    fn with_source(source: Source) -> Self {
        OsRandom {
            source,
            failed: None,
        }
    }

    /// Fills `out` from the operating system.
    ///
    /// # Errors
    /// [`RandomnessError`] when the generator fails (`out` is then wiped, never used).
    pub fn fill(&mut self, out: &mut [u8]) -> Result<(), RandomnessError> {
        (self.source)(out).map_err(|detail| {
            out.fill(0);
            let e = RandomnessError { detail };
            self.failed = Some(e.clone());
            e
        })
    }

    /// Why the generator last failed: what to report when an engine that drew from it says
    /// only that randomness was unavailable (`cardwire_sm::Error::Randomness`).
    pub fn failure(&self) -> RandomnessError {
        self.failed.clone().unwrap_or_else(|| RandomnessError {
            detail: "an engine reported that randomness was unavailable".to_string(),
        })
    }
}

impl rand_core::TryRng for OsRandom {
    type Error = RandomnessError;

    fn try_next_u32(&mut self) -> Result<u32, RandomnessError> {
        let mut b = [0u8; 4];
        self.fill(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, RandomnessError> {
        let mut b = [0u8; 8];
        self.fill(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), RandomnessError> {
        self.fill(dst)
    }
}

/// The operating system's generator is a cryptographically secure source.
impl rand_core::TryCryptoRng for OsRandom {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::TryRng;

    fn failing(_: &mut [u8]) -> Result<(), String> {
        Err("no entropy".to_string())
    }

    #[test]
    fn a_failing_generator_is_an_error_not_zeros() {
        let mut rng = OsRandom::with_source(failing);
        let mut out = [0xAAu8; 8];
        let err = rng.fill(&mut out).unwrap_err();
        assert_eq!(
            out, [0; 8],
            "the buffer is wiped, and the error says not to use it"
        );
        let text = err.to_string();
        assert!(text.contains("random number generator failed"), "{text}");
        assert!(text.contains("no entropy"), "{text}");
        assert!(text.contains("predictable"), "{text}");
        assert_eq!(rng.try_next_u64(), Err(err.clone()));
        assert_eq!(rng.try_fill_bytes(&mut out), Err(err));
    }

    #[test]
    fn a_failing_generator_stops_bac_before_anything_is_sent() {
        // The driver draws RND.IFD and K.IFD first: with no randomness, no command goes out.
        use cardwire_transport::{Card, Transport};
        struct Untouched(u32);
        impl Transport for Untouched {
            type Error = cardwire_transport::ErrorKind;
            fn transmit<'b>(&mut self, _: &[u8], _: &'b mut [u8]) -> Result<&'b [u8], Self::Error> {
                self.0 += 1;
                Err(cardwire_transport::ErrorKind::Other)
            }
            fn atr(&self) -> &[u8] {
                &[0x3B, 0x00]
            }
            fn reset(&mut self) -> Result<(), Self::Error> {
                Ok(())
            }
            fn transaction(
                &mut self,
                body: &mut dyn FnMut(
                    &mut dyn Transport<Error = Self::Error>,
                ) -> cardwire_transport::TransactionEnd,
            ) -> Result<(), Self::Error> {
                cardwire_transport::exclusive_transaction(self, body)
            }
        }
        let keys = cardwire_sm::BacKeys::from_mrz(
            &cardwire_sm::MrzInfo::new("L898902C", "690806", "940623").unwrap(),
        );
        let mut card = Card::open(Untouched(0)).unwrap();
        let mut rng = OsRandom::with_source(failing);
        let err = cardwire_sm::channel::establish_bac(&mut card, &keys, &mut rng).unwrap_err();
        assert!(matches!(err, cardwire_sm::Error::Randomness), "{err}");
        assert_eq!(card.transport().0, 0, "nothing was sent");
    }

    #[test]
    fn the_operating_system_generator_works() {
        // (The failure injection is an environment variable that this test does not set.)
        if std::env::var_os("CARDWIRE_TEST_FAIL_RANDOM").is_some() {
            return;
        }
        let mut rng = OsRandom::new();
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        rng.fill(&mut a).unwrap();
        rng.fill(&mut b).unwrap();
        assert_ne!(a, b);
    }
}
