//! Benchmarks live in `benches/`; this library only holds shared inputs.
#![forbid(unsafe_code)]
