//! Randomness from the operating system, failing closed (`CKR_FUNCTION_FAILED`, never zeros).

use core::convert::Infallible;

use crate::error::{Result, Rv};

/// Fills `out` from the operating system's generator.
///
/// # Errors
/// `CKR_FUNCTION_FAILED` when the generator fails (`out` is wiped).
pub fn fill(out: &mut [u8]) -> Result<()> {
    getrandom::fill(out).map_err(|_| {
        out.fill(0);
        Rv::FUNCTION_FAILED
    })
}

/// An infallible generator over bytes drawn from the operating system beforehand, for APIs
/// that take a `rand_core::CryptoRng` (the PSS salt). Once its bytes are used up it draws
/// again and, if that fails, gives zeros — so it is only handed to code that needs fewer
/// than [`PreDrawn::CAPACITY`] bytes.
pub struct PreDrawn {
    bytes: zeroize::Zeroizing<[u8; PreDrawn::CAPACITY]>,
    used: usize,
}

impl PreDrawn {
    /// Bytes drawn up front (more than any PSS salt, which is at most 64 bytes here).
    pub const CAPACITY: usize = 128;

    /// Draws [`Self::CAPACITY`] bytes.
    ///
    /// # Errors
    /// `CKR_FUNCTION_FAILED` when the operating system's generator fails.
    pub fn new() -> Result<Self> {
        let mut bytes = zeroize::Zeroizing::new([0u8; Self::CAPACITY]);
        fill(&mut bytes[..])?;
        Ok(PreDrawn { bytes, used: 0 })
    }
}

impl rand_core::TryRng for PreDrawn {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> core::result::Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Infallible> {
        for d in dst.iter_mut() {
            if self.used >= Self::CAPACITY {
                let _ = fill(&mut self.bytes[..]);
                self.used = 0;
            }
            *d = self.bytes.get(self.used).copied().unwrap_or(0);
            self.used += 1;
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for PreDrawn {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::TryRng;

    #[test]
    fn draws_are_not_constant() {
        let mut a = PreDrawn::new().unwrap();
        let x = a.try_next_u64().unwrap();
        let y = a.try_next_u64().unwrap();
        let mut big = [0u8; 300];
        a.try_fill_bytes(&mut big).unwrap();
        assert!(x != y || big.iter().any(|&b| b != 0));
    }
}
