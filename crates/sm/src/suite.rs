//! Cipher suites for ISO/IEC 7816-4 secure messaging: the [`CipherSuite`] trait and its two
//! software implementations, [`TdesSuite`] and [`AesSuite`] (ICAO Doc 9303-11 §9.8.6).
//!
//! A suite owns the session keys and does the block cipher work: CBC encryption with the IV the
//! suite derives from the send sequence counter, and the 8-byte MAC. The engine
//! ([`SmSession`](crate::SmSession)) builds the data objects, pads, counts and checks. Firmware
//! with a crypto engine implements [`CipherSuite`] on its own driver and links neither `des` nor
//! `aes` code it does not call.

use crate::Error;
use crate::primitives::{AesCmac, AesKey, RetailMac, TdesKey};

/// The block cipher work of one secure messaging session (ISO/IEC 7816-4 §10, ICAO 9303-11
/// §9.8).
///
/// The engine calls, for each message: [`mac_begin`](Self::mac_begin), then
/// [`mac_update`](Self::mac_update) with the SSC, the padded header and the padded data objects
/// (the input is always padded to the block size by the engine, ISO/IEC 9797-1 padding method
/// 2), then [`mac_finish`](Self::mac_finish); and [`encrypt`](Self::encrypt) /
/// [`decrypt`](Self::decrypt) over padded data with the current SSC.
///
/// Implementations keep keys and intermediate values secret: zeroize them on drop and never
/// print them.
pub trait CipherSuite {
    /// The block size in bytes (8 for DES, 16 for AES); the send sequence counter has this
    /// length too.
    const BLOCK_SIZE: usize;

    /// CBC-encrypts `data` (a whole number of blocks) in place, with the IV the suite derives
    /// from `ssc` (the counter's current value, [`Self::BLOCK_SIZE`] bytes).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `data` is not a whole number of blocks.
    fn encrypt(&mut self, ssc: &[u8], data: &mut [u8]) -> Result<(), Error>;

    /// CBC-decrypts `data` (a whole number of blocks) in place, with the IV derived from `ssc`.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `data` is not a whole number of blocks.
    fn decrypt(&mut self, ssc: &[u8], data: &mut [u8]) -> Result<(), Error>;

    /// CBC-decrypts `src` (a whole number of blocks) into `dst` (the same length), with the IV
    /// derived from `ssc`, leaving `src` unchanged: the engine decrypts a received cryptogram
    /// straight into the caller's output. The default copies and calls
    /// [`decrypt`](Self::decrypt); a suite that can decrypt out of place saves the copy.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the lengths differ or are not a whole number of blocks.
    fn decrypt_to(&mut self, ssc: &[u8], src: &[u8], dst: &mut [u8]) -> Result<(), Error> {
        if src.len() != dst.len() {
            return Err(Error::LengthMismatch { offset: 0 });
        }
        dst.copy_from_slice(src);
        self.decrypt(ssc, dst)
    }

    /// Starts a new MAC computation, discarding any unfinished one.
    fn mac_begin(&mut self);

    /// Feeds MAC input.
    fn mac_update(&mut self, data: &[u8]);

    /// Finishes the MAC and returns its 8 bytes (the first 8 bytes where the algorithm gives
    /// more).
    fn mac_finish(&mut self) -> [u8; 8];
}

/// 3DES-CBC with a zero IV and the ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC"), both with
/// two-key 3DES session keys: the suite of ICAO BAC (ICAO 9303-11 §9.8.6.1).
#[derive(Clone)]
pub struct TdesSuite {
    enc: TdesKey,
    mac: RetailMac,
}

impl TdesSuite {
    /// Creates the suite from the 16-byte session keys KS_enc and KS_mac.
    ///
    /// # Errors
    /// [`Error::KeyLength`] unless both keys have 16 bytes.
    pub fn new(ks_enc: &[u8], ks_mac: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            enc: TdesKey::new(ks_enc)?,
            mac: RetailMac::new(ks_mac)?,
        })
    }
}

impl CipherSuite for TdesSuite {
    const BLOCK_SIZE: usize = 8;

    fn encrypt(&mut self, _ssc: &[u8], data: &mut [u8]) -> Result<(), Error> {
        self.enc.encrypt_cbc(&[0; 8], data)
    }

    fn decrypt(&mut self, _ssc: &[u8], data: &mut [u8]) -> Result<(), Error> {
        self.enc.decrypt_cbc(&[0; 8], data)
    }

    fn mac_begin(&mut self) {
        self.mac.reset();
    }

    fn mac_update(&mut self, data: &[u8]) {
        self.mac.update(data);
    }

    fn mac_finish(&mut self) -> [u8; 8] {
        self.mac.finalize_reset()
    }
}

impl core::fmt::Debug for TdesSuite {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TdesSuite(<keys redacted>)")
    }
}

/// AES-CBC with IV = E(KS_enc, SSC) and AES-CMAC truncated to 8 bytes (ICAO 9303-11
/// §9.8.6.2), for 128-, 192- and 256-bit session keys.
#[derive(Clone)]
pub struct AesSuite {
    enc: AesKey,
    mac: AesCmac,
}

impl AesSuite {
    /// Creates the suite from the session keys KS_enc and KS_mac (16, 24 or 32 bytes each).
    ///
    /// # Errors
    /// [`Error::KeyLength`] for any other key length.
    pub fn new(ks_enc: &[u8], ks_mac: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            enc: AesKey::new(ks_enc)?,
            mac: AesCmac::new(ks_mac)?,
        })
    }

    fn iv(&self, ssc: &[u8]) -> Result<[u8; 16], Error> {
        let mut iv: [u8; 16] = ssc
            .try_into()
            .map_err(|_| Error::LengthMismatch { offset: 0 })?;
        self.enc.encrypt_block(&mut iv)?;
        Ok(iv)
    }
}

impl CipherSuite for AesSuite {
    const BLOCK_SIZE: usize = 16;

    fn encrypt(&mut self, ssc: &[u8], data: &mut [u8]) -> Result<(), Error> {
        let mut iv = self.iv(ssc)?;
        let result = self.enc.encrypt_cbc(&iv, data);
        zeroize::Zeroize::zeroize(&mut iv);
        result
    }

    fn decrypt(&mut self, ssc: &[u8], data: &mut [u8]) -> Result<(), Error> {
        let mut iv = self.iv(ssc)?;
        let result = self.enc.decrypt_cbc(&iv, data);
        zeroize::Zeroize::zeroize(&mut iv);
        result
    }

    fn decrypt_to(&mut self, ssc: &[u8], src: &[u8], dst: &mut [u8]) -> Result<(), Error> {
        let mut iv = self.iv(ssc)?;
        let result = self.enc.decrypt_cbc_to(&iv, src, dst);
        zeroize::Zeroize::zeroize(&mut iv);
        result
    }

    fn mac_begin(&mut self) {
        self.mac.reset();
    }

    fn mac_update(&mut self, data: &[u8]) {
        self.mac.update(data);
    }

    fn mac_finish(&mut self) -> [u8; 8] {
        let mut full = self.mac.finalize_reset();
        let mut out = [0u8; 8];
        if let Some(head) = full.get(..8) {
            out.copy_from_slice(head);
        }
        zeroize::Zeroize::zeroize(&mut full);
        out
    }
}

impl core::fmt::Debug for AesSuite {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AesSuite(<keys redacted>)")
    }
}
