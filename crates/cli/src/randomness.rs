//! The command line's randomness: the operating system's generator, failing closed.
//!
//! Host challenges (the journey's signature challenge, SCP03's host challenge) and BAC's
//! RND.IFD and K.IFD must be unpredictable. When the operating system cannot give random
//! bytes, the command stops with [`RandomnessError`] (exit status 1) **before** anything
//! that needs them is sent: nothing falls back to zeros.
//!
//! The secure-messaging engines take an infallible [`cardwire_sm::Rng`], so the bytes they
//! will draw are reserved ahead with [`OsRandom::reserve`] (a failure is reported there) and
//! served from that pool. Only if an engine draws more than was reserved and the operating
//! system fails at that moment does a draw go unserved; [`OsRandom::check`] then reports it
//! and the caller discards what the engine produced.
//!
//! In debug builds (tests), setting `CARDWIRE_TEST_FAIL_RANDOM` makes the operating system's
//! generator fail, so the failure path can be exercised end to end; release builds never
//! read it.

use std::fmt;

use zeroize::Zeroizing;

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
    /// Bytes drawn ahead for an engine, served front to back.
    pool: Zeroizing<Vec<u8>>,
    /// Set when an engine's draw could not be served.
    failed: Option<RandomnessError>,
}

impl Default for OsRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl OsRandom {
    /// The operating system's generator, nothing reserved.
    pub fn new() -> Self {
        Self::with_source(os_source)
    }

    fn with_source(source: Source) -> Self {
        OsRandom {
            source,
            pool: Zeroizing::new(Vec::new()),
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
            RandomnessError { detail }
        })
    }

    /// Draws `n` bytes now for an engine that will ask for them through
    /// [`cardwire_sm::Rng`].
    ///
    /// # Errors
    /// [`RandomnessError`] when the generator fails.
    pub fn reserve(&mut self, n: usize) -> Result<(), RandomnessError> {
        let mut more = Zeroizing::new(vec![0u8; n]);
        self.fill(&mut more)?;
        self.pool.extend_from_slice(&more);
        Ok(())
    }

    /// Whether every draw an engine made was served with random bytes.
    ///
    /// # Errors
    /// [`RandomnessError`] when one was not: what the engine made must be discarded.
    pub fn check(&self) -> Result<(), RandomnessError> {
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

impl cardwire_sm::Rng for OsRandom {
    fn fill_bytes(&mut self, out: &mut [u8]) {
        if self.pool.len() >= out.len() {
            // The drained bytes' old places are wiped with the pool's whole capacity on drop.
            let n = out.len();
            for (o, b) in out.iter_mut().zip(self.pool.drain(..n)) {
                *o = b;
            }
            return;
        }
        if let Err(e) = self.fill(out) {
            // `fill` wiped `out`; the caller learns of it from `check` and discards the result.
            self.failed.get_or_insert(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardwire_sm::Rng;

    fn failing(_: &mut [u8]) -> Result<(), String> {
        Err("no entropy".to_string())
    }

    fn counting(out: &mut [u8]) -> Result<(), String> {
        for (i, b) in out.iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        Ok(())
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
        assert_eq!(rng.reserve(24), Err(err));
    }

    #[test]
    fn an_engine_draw_that_cannot_be_served_is_reported() {
        let mut rng = OsRandom::with_source(failing);
        assert!(rng.check().is_ok());
        let mut out = [0u8; 8];
        rng.fill_bytes(&mut out);
        assert!(rng.check().is_err());
    }

    #[test]
    fn reserved_bytes_are_served_in_order_then_the_os_again() {
        let mut rng = OsRandom::with_source(counting);
        rng.reserve(4).unwrap();
        rng.reserve(2).unwrap();
        let mut a = [0u8; 3];
        rng.fill_bytes(&mut a);
        assert_eq!(a, [1, 2, 3]);
        let mut b = [0u8; 3];
        rng.fill_bytes(&mut b);
        assert_eq!(b, [4, 1, 2]);
        let mut c = [0u8; 2];
        rng.fill_bytes(&mut c);
        assert_eq!(c, [1, 2], "the pool is empty: straight from the generator");
        assert!(rng.check().is_ok());
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
