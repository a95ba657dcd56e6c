//! Shared helpers for the integration tests.
// Test code: a failing unwrap or index is a failing test.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

/// Decodes hex, ignoring spaces.
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// Encodes upper-case hex.
pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// A deterministic byte generator for tests (xorshift), so runs are repeatable.
pub struct TestRng(pub u64);

impl TestRng {
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for b in &mut out {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = (self.0 >> 24) as u8;
        }
        out
    }
}
