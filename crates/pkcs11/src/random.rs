//! Randomness from the operating system, failing closed (`CKR_FUNCTION_FAILED`, never zeros).

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_not_constant() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        fill(&mut a).unwrap();
        fill(&mut b).unwrap();
        assert_ne!(a, b);
    }
}
