//! The reader engine.
