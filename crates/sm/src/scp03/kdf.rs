//! The SCP03 key derivation (GPC Amendment D §4.1.5): the KDF, the pseudo-random card
//! challenge, and the session keys and cryptograms both sides derive from the two challenges.

use zeroize::Zeroize;

use super::StaticKeys;
use super::constant;
use crate::Error;
use crate::primitives::{AesCmac, AesKey};

/// The SCP03 KDF (Amendment D §4.1.5): NIST SP 800-108 counter mode with AES-CMAC; derivation
/// data = 11 zero bytes ‖ constant ‖ `00` ‖ L (bits, 2 bytes) ‖ i ‖ context. Fills `out`.
///
/// # Errors
/// [`Error::KeyLength`] for a key that is not 16, 24 or 32 bytes, or an `out` over 255 blocks.
pub fn kdf(key: &[u8], constant: u8, context: &[u8], out: &mut [u8]) -> Result<(), Error> {
    let mut prf = AesCmac::new(key)?;
    let bits = u16::try_from(out.len() * 8).map_err(|_| Error::KeyLength { len: out.len() })?;
    let [lh, ll] = bits.to_be_bytes();
    for (i, chunk) in out.chunks_mut(16).enumerate() {
        let counter = u8::try_from(i + 1).map_err(|_| Error::KeyLength { len: 0 })?;
        let mut label = [0u8; 16];
        label[11] = constant;
        label[13] = lh;
        label[14] = ll;
        label[15] = counter;
        let mut block = prf.compute(&[&label, context]);
        if let Some(src) = block.get(..chunk.len()) {
            chunk.copy_from_slice(src);
        }
        block.zeroize();
    }
    Ok(())
}

/// The pseudo-random card challenge (Amendment D §6.2.2.1): KDF(key-ENC, `02`, sequence counter
/// ‖ AID of the security domain, 64 bits).
///
/// # Errors
/// [`Error::TooLong`] for an AID over 16 bytes.
pub fn pseudo_random_challenge(
    keys: &StaticKeys,
    sequence_counter: [u8; 3],
    aid: &[u8],
) -> Result<[u8; 8], Error> {
    let mut context = [0u8; 19];
    let dst = context.get_mut(3..3 + aid.len()).ok_or(Error::TooLong)?;
    dst.copy_from_slice(aid);
    context[..3].copy_from_slice(&sequence_counter);
    let mut out = [0u8; 8];
    kdf(
        keys.enc.as_bytes(),
        constant::CARD_CHALLENGE,
        context.get(..3 + aid.len()).unwrap_or(&[]),
        &mut out,
    )?;
    Ok(out)
}

/// The session keys and both cryptograms for one host challenge ‖ card challenge.
pub(super) struct Derived {
    pub(super) s_enc: AesKey,
    pub(super) s_mac: AesCmac,
    pub(super) s_rmac: AesCmac,
    pub(super) card_cryptogram: [u8; 8],
    pub(super) host_cryptogram: [u8; 8],
}

pub(super) fn derive(keys: &StaticKeys, context: &[u8; 16]) -> Result<Derived, Error> {
    let len = keys.enc.as_bytes().len();
    let mut buf = [0u8; 32];
    let out = buf.get_mut(..len).ok_or(Error::KeyLength { len })?;
    kdf(keys.enc.as_bytes(), constant::S_ENC, context, out)?;
    let s_enc = AesKey::new(out)?;
    kdf(keys.mac.as_bytes(), constant::S_MAC, context, out)?;
    let s_mac = AesCmac::new(out)?;
    let mut card_cryptogram = [0u8; 8];
    let mut host_cryptogram = [0u8; 8];
    kdf(
        out,
        constant::CARD_CRYPTOGRAM,
        context,
        &mut card_cryptogram,
    )?;
    kdf(
        out,
        constant::HOST_CRYPTOGRAM,
        context,
        &mut host_cryptogram,
    )?;
    kdf(keys.mac.as_bytes(), constant::S_RMAC, context, out)?;
    let s_rmac = AesCmac::new(out)?;
    buf.zeroize();
    Ok(Derived {
        s_enc,
        s_mac,
        s_rmac,
        card_cryptogram,
        host_cryptogram,
    })
}
