//! A [`CardPin`]'s persistent state as bytes (for card firmware that keeps it in its own
//! non-volatile memory), written and read with the crate's [`codec`](crate::codec).

use crate::codec::{ByteReader, ByteWriter};
use crate::{Error, PinData, PinFormat};

use super::card_pin::CardPin;
use super::config::{check_counter, check_limit};

impl CardPin {
    /// Largest [`CardPin::save_state`] output.
    pub const STATE_MAX_LEN: usize = STATE_HEADER_LEN + 2 * (1 + PinData::CAPACITY);

    /// Writes the persistent state (limits, counters, stored PIN and PUK; not the volatile
    /// verified flag) into `out` and returns its length.
    ///
    /// Layout, version 1: `01`, flags (bit 0 PIN set, bit 1 PUK set), PIN limit, PIN tries
    /// left, PUK limit, PUK tries left, PIN length + PIN bytes, PUK length + PUK bytes.
    /// **The output contains the secrets**: the caller must protect and wipe it.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is too short (at most [`CardPin::STATE_MAX_LEN`]).
    pub fn save_state(&self, out: &mut [u8]) -> Result<usize, Error> {
        let empty: &[u8] = &[];
        let pin = self.value.as_ref().map_or(empty, PinData::expose_secret);
        let puk = self.puk.as_ref().map_or(empty, PinData::expose_secret);
        let needed = STATE_HEADER_LEN + 2 + pin.len() + puk.len();
        let out = out
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed })?;
        let mut flags = 0;
        if self.value.is_some() {
            flags |= FLAG_PIN_SET;
        }
        if self.puk.is_some() {
            flags |= FLAG_PUK_SET;
        }
        let mut w = ByteWriter::new(out);
        w.bytes(&[
            STATE_VERSION,
            flags,
            self.retry_limit,
            self.retries_left,
            self.puk_retry_limit,
            self.puk_retries_left,
        ]);
        w.u8(pin.len() as u8); // <= PinData::CAPACITY = 255
        w.bytes(pin);
        w.u8(puk.len() as u8);
        w.bytes(puk);
        w.finish()
    }

    /// Restores state written by [`CardPin::save_state`]. On error nothing changes. The
    /// verified flag is cleared (a restore is a power-up).
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::TrailingBytes`], or [`Error::Invalid`] for an unknown
    /// version or flag, a limit outside 1..=15, a counter above its limit, or a stored value
    /// that does not decode in the configured format.
    pub fn restore_state(&mut self, state: &[u8]) -> Result<(), Error> {
        let mut r = ByteReader::new(state);
        let header = r.take(STATE_HEADER_LEN)?;
        let [version, flags, limit, left, puk_limit, puk_left] =
            <[u8; STATE_HEADER_LEN]>::try_from(header).map_err(|_| Error::Truncated {
                offset: 0,
                needed: STATE_HEADER_LEN,
            })?;
        if version != STATE_VERSION {
            return Err(Error::Invalid {
                offset: 0,
                what: "unknown PIN state version",
            });
        }
        if flags & !(FLAG_PIN_SET | FLAG_PUK_SET) != 0 {
            return Err(Error::Invalid {
                offset: 1,
                what: "unknown PIN state flags",
            });
        }
        check_limit(limit, 2)?;
        check_limit(puk_limit, 4)?;
        check_counter(left, limit, 3)?;
        check_counter(puk_left, puk_limit, 5)?;
        let value = read_value(&mut r, flags & FLAG_PIN_SET != 0, self.config.format)?;
        let puk = read_value(&mut r, flags & FLAG_PUK_SET != 0, self.config.puk_format)?;
        if !r.is_empty() {
            return Err(Error::TrailingBytes {
                offset: r.position(),
            });
        }
        self.retry_limit = limit;
        self.retries_left = left;
        self.puk_retry_limit = puk_limit;
        self.puk_retries_left = puk_left;
        self.value = value;
        self.puk = puk;
        self.verified = false;
        Ok(())
    }
}

const STATE_VERSION: u8 = 1;
const FLAG_PIN_SET: u8 = 0x01;
const FLAG_PUK_SET: u8 = 0x02;
const STATE_HEADER_LEN: usize = 6;

fn read_value(
    r: &mut ByteReader<'_>,
    present: bool,
    format: PinFormat,
) -> Result<Option<PinData>, Error> {
    let len_offset = r.position();
    let len = usize::from(r.u8()?);
    let bytes = r.take(len)?;
    if !present {
        return if len == 0 {
            Ok(None)
        } else {
            Err(Error::Invalid {
                offset: len_offset,
                what: "value present but its flag is clear",
            })
        };
    }
    format.decode(bytes).map_err(|_| Error::Invalid {
        offset: len_offset + 1,
        what: "stored value does not decode in the configured format",
    })?;
    PinData::from_slice(bytes).map(Some)
}

#[cfg(test)]
mod tests {
    use super::super::config::CardPinConfig;
    use super::super::testing::{card, piv};
    use super::*;
    use crate::PinOutcome;

    #[test]
    fn state_round_trip_and_rejects_bad_state() {
        let mut c = card();
        c.verify(&piv(b"000000"), &mut ());
        c.unblock(&piv(b"00000000"), None, &mut ());
        let mut buf = [0u8; CardPin::STATE_MAX_LEN];
        let n = c.save_state(&mut buf).unwrap();
        assert_eq!(n, 6 + 2 + 8 + 8);
        assert_eq!(buf[..6], [1, 3, 3, 2, 3, 2]);
        let mut fresh = CardPin::new(CardPinConfig::PIV, None, None).unwrap();
        fresh.restore_state(&buf[..n]).unwrap();
        assert_eq!(fresh.retries_left(), 2);
        assert_eq!(fresh.puk_retries_left(), 2);
        assert_eq!(fresh.verify(&piv(b"123456"), &mut ()), PinOutcome::Verified);
        assert_eq!(
            fresh.unblock(&piv(b"87654321"), None, &mut ()),
            PinOutcome::Verified
        );

        let mut small = [0u8; 10];
        assert_eq!(
            c.save_state(&mut small).err(),
            Some(Error::BufferTooSmall { needed: 24 })
        );
        let mut bad = buf;
        bad[3] = 4; // counter above limit
        assert!(fresh.restore_state(&bad[..n]).is_err());
        assert!(fresh.restore_state(&buf[..n - 1]).is_err());
        let mut longer = buf;
        longer[n] = 0;
        assert_eq!(
            fresh.restore_state(&longer[..n + 1]).err(),
            Some(Error::TrailingBytes { offset: n })
        );
        bad = buf;
        bad[7] = b'x'; // digits-only padding broken: "x23456" still decodes as ASCII...
        bad[8] = 0xFF; // ... but a pad byte inside the PIN does not.
        assert!(fresh.restore_state(&bad[..n]).is_err());
        // Nothing changed after the failed restores.
        assert_eq!(fresh.retries_left(), 3);
    }
}
