//! GlobalPlatform Secure Channel Protocol '03' (GlobalPlatform Card Specification v2.3,
//! Amendment D v1.2), host side ([`Scp03Host`]) and card side ([`Scp03Card`]), with the
//! sans-IO [`Scp03Session`] that wraps and unwraps APDUs afterwards.
//!
//! Implemented: the KDF in counter mode with AES-CMAC (NIST SP 800-108, Amendment D §4.1.5),
//! session keys S-ENC, S-MAC, S-RMAC, card and host cryptograms, INITIALIZE UPDATE and
//! EXTERNAL AUTHENTICATE, pseudo-random card challenges, security levels C-MAC, C-DECRYPTION,
//! R-MAC and R-ENCRYPTION, the MAC chaining value and the encryption counter, AES-128/192/256
//! static keys. Not implemented: S16 mode (16-byte challenges, cryptograms and MACs) and
//! further interindustry class bytes (`40`–`7F`, `C0`–`FF`).
//!
//! # What is wrapped
//!
//! Every command after EXTERNAL AUTHENTICATE, each link of a command chain separately. GET
//! RESPONSE is not wrapped; the transport below reassembles `61xx` answers and the whole
//! response is unwrapped once. A response with an error status (anything but `9000`, `62xx`,
//! `63xx`) carries no R-MAC (Amendment D §6.2.5): it is returned as a bare status word, which
//! is therefore unauthenticated.
//!
//! # Failure
//!
//! A wrong C-MAC, R-MAC, padding or length fails the session for good
//! ([`Error::SessionFailed`] afterwards), as the card closes the channel on its side
//! (Amendment D §6.2.4); a replayed response cannot verify because the MAC chaining value
//! moved on.
//!
//! ```
//! use cardwire_apdu::StatusWord;
//! use cardwire_sm::scp03::{Scp03Card, Scp03Host, SecurityLevel, StaticKeys};
//! let keys = || StaticKeys::new(&[0x40; 16], &[0x41; 16], &[0x42; 16]);
//! let mut host = Scp03Host::new(keys()?, 0x30, [1; 8]);
//! let mut card = Scp03Card::new(keys()?, 0x30, [0; 10], [2; 8]);
//!
//! let (mut cmd, mut rsp) = ([0u8; 64], [0u8; 64]);
//! let n = host.initialize_update_command(&mut cmd)?;
//! let m = card.initialize_update(&cmd[..n], &mut rsp)?;
//! let n = host.external_authenticate_command(&rsp[..m], SecurityLevel::ALL, &mut cmd)?;
//! let mut card_session = card.external_authenticate(&cmd[..n])?;
//! let mut host_session = host.finish(&[0x90, 0x00])?;
//!
//! // GET STATUS, encrypted and MACed both ways.
//! let n = host_session.wrap_command(&[0x80, 0xF2, 0x80, 0x02, 0x02, 0x4F, 0x00, 0x00], &mut cmd)?;
//! let mut plain = [0u8; 64];
//! let p = card_session.unwrap_command(&cmd[..n], &mut plain)?;
//! assert_eq!(&plain[..p], &[0x80, 0xF2, 0x80, 0x02, 0x02, 0x4F, 0x00, 0x00]);
//! let m = card_session.wrap_response(&[0xE3, 0x00], StatusWord::SUCCESS, &mut rsp)?;
//! let p = host_session.unwrap_response(&rsp[..m], &mut plain)?;
//! assert_eq!(&plain[..p], &[0xE3, 0x00, 0x90, 0x00]);
//! # Ok::<(), cardwire_sm::Error>(())
//! ```

use crate::Error;
use crate::kdf::SecretKey;

mod card;
pub mod constant;
mod host;
mod kdf;
mod session;

pub use card::Scp03Card;
pub use host::{InitializeUpdateResponse, Scp03Host};
pub use kdf::{kdf, pseudo_random_challenge};
pub use session::Scp03Session;

/// The SCP03 security level, P1 of EXTERNAL AUTHENTICATE (Amendment D §7.1.2.1, Table 7-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecurityLevel(pub u8);

impl SecurityLevel {
    /// No secure messaging after authentication.
    pub const NONE: Self = Self(0x00);
    /// C-MAC.
    pub const C_MAC: Self = Self(0x01);
    /// C-DECRYPTION and C-MAC.
    pub const C_DEC_C_MAC: Self = Self(0x03);
    /// C-MAC and R-MAC.
    pub const C_MAC_R_MAC: Self = Self(0x11);
    /// C-DECRYPTION, C-MAC and R-MAC.
    pub const C_DEC_C_MAC_R_MAC: Self = Self(0x13);
    /// C-DECRYPTION, C-MAC, R-ENCRYPTION and R-MAC.
    pub const ALL: Self = Self(0x33);

    const C_MAC_BIT: u8 = 0x01;
    const C_DEC_BIT: u8 = 0x02;
    const R_MAC_BIT: u8 = 0x10;
    const R_ENC_BIT: u8 = 0x20;

    /// Whether commands carry a C-MAC.
    pub fn c_mac(self) -> bool {
        self.0 & Self::C_MAC_BIT != 0
    }
    /// Whether command data is encrypted.
    pub fn c_decryption(self) -> bool {
        self.0 & Self::C_DEC_BIT != 0
    }
    /// Whether responses carry an R-MAC.
    pub fn r_mac(self) -> bool {
        self.0 & Self::R_MAC_BIT != 0
    }
    /// Whether response data is encrypted.
    pub fn r_encryption(self) -> bool {
        self.0 & Self::R_ENC_BIT != 0
    }

    /// Whether Amendment D allows this combination: one of `00 01 03 11 13 33`.
    pub fn is_valid(self) -> bool {
        matches!(self.0, 0x00 | 0x01 | 0x03 | 0x11 | 0x13 | 0x33)
    }
}

/// The static keys of a key set (Amendment D §4.1.1): key-ENC, key-MAC, key-DEK; AES-128, -192
/// or -256, all of one length. Zeroized on drop, redacted in `Debug`.
#[derive(Clone, Debug)]
pub struct StaticKeys {
    enc: SecretKey,
    mac: SecretKey,
    dek: SecretKey,
}

impl StaticKeys {
    /// A key set from its three keys.
    ///
    /// # Errors
    /// [`Error::KeyLength`] unless all three are 16, 24 or 32 bytes and of the same length.
    pub fn new(enc: &[u8], mac: &[u8], dek: &[u8]) -> Result<Self, Error> {
        if !matches!(enc.len(), 16 | 24 | 32) || mac.len() != enc.len() || dek.len() != enc.len() {
            return Err(Error::KeyLength { len: enc.len() });
        }
        Ok(Self {
            enc: SecretKey::from_slice(enc)?,
            mac: SecretKey::from_slice(mac)?,
            dek: SecretKey::from_slice(dek)?,
        })
    }

    /// key-DEK, for encrypting keys in PUT KEY and STORE DATA (not used by the channel itself).
    pub fn dek(&self) -> &[u8] {
        self.dek.as_bytes()
    }
}
