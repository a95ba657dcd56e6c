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

impl cardwire_sm::rand_core::TryRng for TestRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(u32::from_le_bytes(self.bytes()))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(u64::from_le_bytes(self.bytes()))
    }
    fn try_fill_bytes(&mut self, out: &mut [u8]) -> Result<(), Self::Error> {
        for b in out {
            *b = self.bytes::<1>()[0];
        }
        Ok(())
    }
}

impl cardwire_sm::rand_core::TryCryptoRng for TestRng {}

/// A generator that always fails, as an OS generator can.
pub struct FailingRng;

/// Its error.
#[derive(Debug)]
pub struct RngDown;

impl core::fmt::Display for RngDown {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the generator is down")
    }
}

impl core::error::Error for RngDown {}

impl cardwire_sm::rand_core::TryRng for FailingRng {
    type Error = RngDown;
    fn try_next_u32(&mut self) -> Result<u32, RngDown> {
        Err(RngDown)
    }
    fn try_next_u64(&mut self) -> Result<u64, RngDown> {
        Err(RngDown)
    }
    fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), RngDown> {
        Err(RngDown)
    }
}

impl cardwire_sm::rand_core::TryCryptoRng for FailingRng {}

/// Runs a future that never waits on anything outside it (the in-process sessions of the
/// tests) to completion, without a runtime.
pub fn block_on<F: core::future::Future>(future: F) -> F::Output {
    let mut future = core::pin::pin!(future);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    loop {
        if let core::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// A "generator" that yields recorded bytes in order (a published transcript's private
/// keys), so that a driver drawing its keys from it replays the transcript.
pub struct Recorded(pub Vec<u8>);

impl cardwire_sm::rand_core::TryRng for Recorded {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        unreachable!()
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        unreachable!()
    }
    fn try_fill_bytes(&mut self, out: &mut [u8]) -> Result<(), Self::Error> {
        let rest = self.0.split_off(out.len());
        out.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}

impl cardwire_sm::rand_core::TryCryptoRng for Recorded {}
