//! [`Scp03Host`]: SCP03 mutual authentication, host side (GPC Amendment D §6.2, §7.1).

use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use subtle::ConstantTimeEq;

use super::kdf::{Derived, derive};
use super::{Scp03Session, SecurityLevel, StaticKeys};
use crate::Error;
use crate::session::Role;

/// SCP03 mutual authentication, host side (Amendment D §6.2, §7.1): send
/// [`initialize_update_command`](Self::initialize_update_command), pass the card's answer to
/// [`external_authenticate_command`](Self::external_authenticate_command) (which checks the card
/// cryptogram), send that, and pass its answer to [`finish`](Self::finish).
pub struct Scp03Host {
    keys: StaticKeys,
    key_version: u8,
    host_challenge: [u8; 8],
    derived: Option<(Derived, SecurityLevel, [u8; 16])>,
}

impl core::fmt::Debug for Scp03Host {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scp03Host")
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

/// The card's answer to INITIALIZE UPDATE (Amendment D §7.1.1.6, Table 7-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitializeUpdateResponse {
    /// Key diversification data (10 bytes).
    pub key_diversification: [u8; 10],
    /// Key version number of the key set used.
    pub key_version: u8,
    /// The `i` parameter (Amendment D §5.1): `10` pseudo-random challenge, `20` R-MAC
    /// supported, `40` R-ENCRYPTION supported.
    pub i_param: u8,
    /// The card challenge.
    pub card_challenge: [u8; 8],
    /// The card cryptogram.
    pub card_cryptogram: [u8; 8],
    /// The sequence counter, present with pseudo-random challenges.
    pub sequence_counter: Option<[u8; 3]>,
}

impl InitializeUpdateResponse {
    /// Parses the response data (without SW1 SW2): 29 or 32 bytes in S8 mode.
    ///
    /// # Errors
    /// [`Error::UnsupportedProtocol`] for another length, an SCP identifier other than `03`
    /// or S16 mode.
    pub fn parse(data: &[u8]) -> Result<Self, Error> {
        if data.len() != 29 && data.len() != 32 {
            return Err(Error::UnsupportedProtocol);
        }
        let field = |range: core::ops::Range<usize>| data.get(range).unwrap_or(&[]);
        let scp = field(11..12).first().copied();
        let i_param = field(12..13).first().copied().unwrap_or(0);
        if scp != Some(0x03) || i_param & 0x01 != 0 {
            return Err(Error::UnsupportedProtocol);
        }
        let arr8 = |r| -> Result<[u8; 8], Error> {
            field(r).try_into().map_err(|_| Error::UnsupportedProtocol)
        };
        Ok(Self {
            key_diversification: field(0..10)
                .try_into()
                .map_err(|_| Error::UnsupportedProtocol)?,
            key_version: field(10..11).first().copied().unwrap_or(0),
            i_param,
            card_challenge: arr8(13..21)?,
            card_cryptogram: arr8(21..29)?,
            sequence_counter: field(29..32).try_into().ok(),
        })
    }
}

impl Scp03Host {
    /// Starts SCP03 with the card's static keys, the key version number to use (`00`: the
    /// card's default) and a fresh 8-byte host challenge from the caller's RNG.
    pub fn new(keys: StaticKeys, key_version: u8, host_challenge: [u8; 8]) -> Self {
        Self {
            keys,
            key_version,
            host_challenge,
            derived: None,
        }
    }

    /// INITIALIZE UPDATE (`80 50 kvn 00 08` host challenge `00`), 14 bytes.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is under 14 bytes.
    pub fn initialize_update_command(&self, out: &mut [u8]) -> Result<usize, Error> {
        CommandRepr::new(Cla(0x80), Ins::INITIALIZE_UPDATE, self.key_version, 0x00)
            .with_data(&self.host_challenge)
            .with_ne(256)
            .encode(out)
            .map(|c| c.len())
            .map_err(|_| Error::BufferTooSmall { needed: 14 })
    }

    /// Checks the card's answer to INITIALIZE UPDATE (data ‖ SW1 SW2), derives the session
    /// keys, verifies the card cryptogram and writes EXTERNAL AUTHENTICATE (`84 82 level 00
    /// 10` host cryptogram ‖ C-MAC) for `level`; returns its length (21).
    ///
    /// # Errors
    /// [`Error::CardRefused`] for a status other than `9000`, [`Error::UnsupportedProtocol`],
    /// [`Error::AuthenticationFailed`] (wrong card cryptogram: wrong keys or not the card),
    /// [`Error::SecurityLevel`] (invalid, or R-MAC/R-ENCRYPTION the card does not offer),
    /// [`Error::BufferTooSmall`].
    pub fn external_authenticate_command(
        &mut self,
        response: &[u8],
        level: SecurityLevel,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let (data, sw) = response
            .split_last_chunk::<2>()
            .ok_or(Error::UnsupportedProtocol)?;
        let sw = StatusWord(u16::from_be_bytes(*sw));
        if sw != StatusWord::SUCCESS {
            return Err(Error::CardRefused { sw });
        }
        let answer = InitializeUpdateResponse::parse(data)?;
        if !level.is_valid()
            || (level.r_mac() && answer.i_param & 0x20 == 0)
            || (level.r_encryption() && answer.i_param & 0x40 == 0)
        {
            return Err(Error::SecurityLevel { level: level.0 });
        }
        let out: &mut [u8; 21] = out
            .get_mut(..21)
            .and_then(|o| o.try_into().ok())
            .ok_or(Error::BufferTooSmall { needed: 21 })?;
        let mut context = [0u8; 16];
        context[..8].copy_from_slice(&self.host_challenge);
        context[8..].copy_from_slice(&answer.card_challenge);
        let mut d = derive(&self.keys, &context)?;
        if !bool::from(d.card_cryptogram.ct_eq(&answer.card_cryptogram)) {
            return Err(Error::AuthenticationFailed);
        }
        let header = [0x84, Ins::EXTERNAL_AUTHENTICATE.0, level.0, 0x00];
        let mac = d
            .s_mac
            .compute(&[&[0u8; 16], &header, &[0x10], &d.host_cryptogram]);
        out[..4].copy_from_slice(&header);
        out[4] = 0x10;
        out[5..13].copy_from_slice(&d.host_cryptogram);
        out[13..].copy_from_slice(&mac[..8]);
        self.derived = Some((d, level, mac));
        Ok(21)
    }

    /// Checks the card's answer to EXTERNAL AUTHENTICATE (SW1 SW2) and opens the channel.
    ///
    /// # Errors
    /// [`Error::CardRefused`] for a status other than `9000` (`6300`: the card rejected the
    /// host cryptogram); [`Error::WrongState`] before
    /// [`external_authenticate_command`](Self::external_authenticate_command).
    pub fn finish(self, response: &[u8]) -> Result<Scp03Session, Error> {
        let sw = match response {
            [a, b] => StatusWord(u16::from_be_bytes([*a, *b])),
            _ => return Err(Error::UnsupportedProtocol),
        };
        let mut this = self;
        let (d, level, chaining) = this.derived.take().ok_or(Error::WrongState)?;
        if sw != StatusWord::SUCCESS {
            return Err(Error::CardRefused { sw });
        }
        Ok(Scp03Session::new(d, level, Role::Host, chaining))
    }
}
