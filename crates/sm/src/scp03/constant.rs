//! Derivation constants (Amendment D §4.1.5, Table 4-1).

/// Card cryptogram.
pub const CARD_CRYPTOGRAM: u8 = 0x00;
/// Host cryptogram.
pub const HOST_CRYPTOGRAM: u8 = 0x01;
/// Pseudo-random card challenge.
pub const CARD_CHALLENGE: u8 = 0x02;
/// S-ENC.
pub const S_ENC: u8 = 0x04;
/// S-MAC.
pub const S_MAC: u8 = 0x06;
/// S-RMAC.
pub const S_RMAC: u8 = 0x07;
