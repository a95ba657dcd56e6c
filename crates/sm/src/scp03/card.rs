//! [`Scp03Card`]: SCP03 mutual authentication, card side (GPC Amendment D §6.2, §7.1).

use cardwire_apdu::Ins;
use subtle::ConstantTimeEq;

use crate::frame;

use super::kdf::{Derived, derive, pseudo_random_challenge};
use super::session::mac_cla;
use super::{Scp03Session, SecurityLevel, StaticKeys};
use crate::Error;
use crate::session::Role;

/// SCP03 mutual authentication, card side: answer INITIALIZE UPDATE with
/// [`initialize_update`](Self::initialize_update), then check EXTERNAL AUTHENTICATE with
/// [`external_authenticate`](Self::external_authenticate), which opens the card's session.
pub struct Scp03Card {
    keys: StaticKeys,
    key_version: u8,
    key_diversification: [u8; 10],
    card_challenge: [u8; 8],
    i_param: u8,
    sequence_counter: Option<[u8; 3]>,
    derived: Option<Derived>,
}

impl core::fmt::Debug for Scp03Card {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scp03Card")
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

impl Scp03Card {
    /// A card-side handshake with the key set, its version number, the key diversification
    /// data and a fresh random card challenge. The card offers R-MAC and R-ENCRYPTION
    /// (`i` = `60`).
    pub fn new(
        keys: StaticKeys,
        key_version: u8,
        key_diversification: [u8; 10],
        card_challenge: [u8; 8],
    ) -> Self {
        Self {
            keys,
            key_version,
            key_diversification,
            card_challenge,
            i_param: 0x60,
            sequence_counter: None,
            derived: None,
        }
    }

    /// A card-side handshake with a pseudo-random challenge (`i` = `70`, Amendment D
    /// §6.2.2.1), derived from the sequence counter and the security domain's AID.
    ///
    /// # Errors
    /// [`Error::TooLong`] for an AID over 16 bytes.
    pub fn with_sequence_counter(
        keys: StaticKeys,
        key_version: u8,
        key_diversification: [u8; 10],
        sequence_counter: [u8; 3],
        aid: &[u8],
    ) -> Result<Self, Error> {
        let card_challenge = pseudo_random_challenge(&keys, sequence_counter, aid)?;
        Ok(Self {
            keys,
            key_version,
            key_diversification,
            card_challenge,
            i_param: 0x70,
            sequence_counter: Some(sequence_counter),
            derived: None,
        })
    }

    /// Processes INITIALIZE UPDATE (`80 50 kvn 00 08` host challenge (`00`)) and writes the
    /// answer (29 or 32 bytes) ‖ `9000` into `out`; returns its length.
    ///
    /// # Errors
    /// [`Error::MalformedCommand`]; [`Error::AuthenticationFailed`] for a key version this
    /// card does not have (answer `6A88`); [`Error::BufferTooSmall`].
    pub fn initialize_update(&mut self, command: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let cmd = frame::parse(command)?;
        let (ins, kvn) = (cmd.ins(), cmd.p1());
        if ins != Ins::INITIALIZE_UPDATE {
            return Err(Error::MalformedCommand { offset: 1 });
        }
        let host_challenge: [u8; 8] = cmd
            .data()
            .try_into()
            .map_err(|_| Error::MalformedCommand { offset: 4 })?;
        if kvn != 0 && kvn != self.key_version {
            return Err(Error::AuthenticationFailed);
        }
        let len = if self.sequence_counter.is_some() {
            32
        } else {
            29
        };
        let out = out
            .get_mut(..len + 2)
            .ok_or(Error::BufferTooSmall { needed: len + 2 })?;
        let mut context = [0u8; 16];
        context[..8].copy_from_slice(&host_challenge);
        context[8..].copy_from_slice(&self.card_challenge);
        let d = derive(&self.keys, &context)?;
        let mut answer = [0u8; 34];
        answer[..10].copy_from_slice(&self.key_diversification);
        answer[10] = self.key_version;
        answer[11] = 0x03;
        answer[12] = self.i_param;
        answer[13..21].copy_from_slice(&self.card_challenge);
        answer[21..29].copy_from_slice(&d.card_cryptogram);
        if let Some(seq) = self.sequence_counter {
            answer[29..32].copy_from_slice(&seq);
        }
        if let Some(sw) = answer.get_mut(len..len + 2) {
            sw.copy_from_slice(&[0x90, 0x00]);
        }
        out.copy_from_slice(answer.get(..len + 2).unwrap_or(&[]));
        self.derived = Some(d);
        Ok(len + 2)
    }

    /// Processes EXTERNAL AUTHENTICATE (`84 82 level 00 10` host cryptogram ‖ C-MAC): verifies
    /// the C-MAC and the host cryptogram and the security level, and opens the card's session.
    /// Answer `9000` on success, `6300` on [`Error::AuthenticationFailed`].
    ///
    /// # Errors
    /// [`Error::WrongState`] before INITIALIZE UPDATE; [`Error::MalformedCommand`];
    /// [`Error::AuthenticationFailed`] (C-MAC or host cryptogram wrong);
    /// [`Error::SecurityLevel`].
    pub fn external_authenticate(&mut self, command: &[u8]) -> Result<Scp03Session, Error> {
        let mut d = self.derived.take().ok_or(Error::WrongState)?;
        let cmd = frame::parse(command)?;
        let (cla, ins, level, p2) = (cmd.cla().0, cmd.ins().0, cmd.p1(), cmd.p2());
        if Ins(ins) != Ins::EXTERNAL_AUTHENTICATE || cmd.data().len() != 16 || p2 != 0 {
            return Err(Error::MalformedCommand { offset: 1 });
        }
        let (cryptogram, mac) = cmd.data().split_at(8);
        let full = d.s_mac.compute(&[
            &[0u8; 16],
            &[mac_cla(cla)?, ins, level, p2],
            &[0x10],
            cryptogram,
        ]);
        let ok = full[..8].ct_eq(mac) & d.host_cryptogram.ct_eq(cryptogram);
        if !bool::from(ok) {
            return Err(Error::AuthenticationFailed);
        }
        let level = SecurityLevel(level);
        if !level.is_valid()
            || (level.r_mac() && self.i_param & 0x20 == 0)
            || (level.r_encryption() && self.i_param & 0x40 == 0)
        {
            return Err(Error::SecurityLevel { level: level.0 });
        }
        Ok(Scp03Session::new(d, level, Role::Card, full))
    }
}
