//! Serial framing.
