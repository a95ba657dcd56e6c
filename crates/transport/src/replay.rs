//! [`Replay`]: a [`Transport`] that plays a recorded transcript of card answers.

use crate::transport::{ErrorKind, TransactionEnd, Transport, exclusive_transaction};

/// Plays back a transcript: an ATR, then one response per command, whatever is sent.
///
/// Transcript format (all lengths big-endian):
///
/// ```text
/// atr_len: u8, atr: [u8; atr_len],
/// then repeated: rsp_len: u16, rsp: [u8; rsp_len]
/// ```
///
/// A record whose length runs past the end of the transcript is cut short to what is left
/// (so every byte string is a valid transcript: fuzz targets feed random bytes through it).
/// When the responses run out, [`Transport::transmit`] fails with
/// [`ErrorKind::CardRemoved`]. [`Transport::reset`] keeps the position and the ATR.
///
/// Commands are not checked against the transcript; [`Replay::sent`] counts them.
///
/// ```
/// use cardwire_transport::{Replay, Transport};
/// let transcript = [2, 0x3B, 0x00, 0, 3, 0x01, 0x90, 0x00];
/// let mut card = Replay::new(&transcript)?;
/// assert_eq!(card.atr(), [0x3B, 0x00]);
/// let mut buf = [0u8; 8];
/// assert_eq!(card.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x01], &mut buf)?, [0x01, 0x90, 0x00]);
/// assert!(card.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x01], &mut buf).is_err());
/// # Ok::<(), cardwire_transport::ErrorKind>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay<'a> {
    atr: &'a [u8],
    rest: &'a [u8],
    sent: usize,
}

impl<'a> Replay<'a> {
    /// Reads the ATR off the front of `transcript`.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when the transcript is empty.
    pub fn new(transcript: &'a [u8]) -> Result<Self, ErrorKind> {
        let (&atr_len, rest) = transcript.split_first().ok_or(ErrorKind::Protocol)?;
        let (atr, rest) = rest.split_at(usize::from(atr_len).min(rest.len()));
        Ok(Self { atr, rest, sent: 0 })
    }

    /// How many commands were transmitted so far.
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// The transcript bytes not played yet.
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// Takes the next response record off the transcript.
    fn next_record(&mut self) -> Option<&'a [u8]> {
        let (len, rest) = match self.rest {
            [] => return None,
            [only] => (usize::from(*only), &[][..]),
            [hi, lo, rest @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), rest),
        };
        let (record, rest) = rest.split_at(len.min(rest.len()));
        self.rest = rest;
        Some(record)
    }
}

impl Transport for Replay<'_> {
    type Error = ErrorKind;

    fn transmit<'b>(
        &mut self,
        _command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], ErrorKind> {
        self.sent += 1;
        let record = self.next_record().ok_or(ErrorKind::CardRemoved)?;
        let out = response
            .get_mut(..record.len())
            .ok_or(ErrorKind::BufferTooSmall)?;
        out.copy_from_slice(record);
        Ok(out)
    }

    fn atr(&self) -> &[u8] {
        self.atr
    }

    fn reset(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }

    /// Exclusive anyway: `body` runs at once ([`exclusive_transaction`]).
    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut dyn Transport<Error = Self::Error>) -> TransactionEnd,
    ) -> Result<(), Self::Error> {
        exclusive_transaction(self, body)
    }
}

/// Builds transcripts in the [`Replay`] format (for tests and fuzz seed corpora).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TranscriptWriter {
    bytes: alloc::vec::Vec<u8>,
}

#[cfg(feature = "alloc")]
impl TranscriptWriter {
    /// Starts a transcript with `atr` (at most 255 bytes are kept; an ATR has at most 33).
    pub fn new(atr: &[u8]) -> Self {
        let atr = atr.get(..atr.len().min(255)).unwrap_or_default();
        let mut bytes = alloc::vec::Vec::with_capacity(atr.len() + 1);
        bytes.push(u8::try_from(atr.len()).unwrap_or(u8::MAX));
        bytes.extend_from_slice(atr);
        Self { bytes }
    }

    /// Appends one response (at most 65 535 bytes are kept).
    pub fn response(&mut self, response: &[u8]) -> &mut Self {
        let response = response
            .get(..response.len().min(usize::from(u16::MAX)))
            .unwrap_or_default();
        let len = u16::try_from(response.len()).unwrap_or(u16::MAX);
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(response);
        self
    }

    /// The transcript so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The finished transcript.
    pub fn into_bytes(self) -> alloc::vec::Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_records_in_order_then_reports_removal() {
        let t = [1, 0x3B, 0, 2, 0x90, 0x00, 0, 3, 0xAA, 0x61, 0x01];
        let mut r = Replay::new(&t).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(r.atr(), [0x3B]);
        assert_eq!(r.transmit(&[0; 4], &mut buf).unwrap(), [0x90, 0x00]);
        assert_eq!(r.transmit(&[0; 4], &mut buf).unwrap(), [0xAA, 0x61, 0x01]);
        assert_eq!(r.transmit(&[0; 4], &mut buf), Err(ErrorKind::CardRemoved));
        assert_eq!(r.sent(), 3);
    }

    #[test]
    fn truncated_records_and_short_buffers_are_errors_or_cut_short() {
        assert_eq!(Replay::new(&[]), Err(ErrorKind::Protocol));
        let mut r = Replay::new(&[5, 0x3B]).unwrap();
        assert_eq!(r.atr(), [0x3B]);
        let mut buf = [0u8; 4];
        assert_eq!(r.transmit(&[], &mut buf), Err(ErrorKind::CardRemoved));
        let mut r = Replay::new(&[0, 0, 9, 0x90, 0x00]).unwrap();
        assert_eq!(r.transmit(&[], &mut buf).unwrap(), [0x90, 0x00]);
        let mut r = Replay::new(&[0, 0, 5, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!(r.transmit(&[], &mut buf), Err(ErrorKind::BufferTooSmall));
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn writer_output_replays() {
        let mut w = TranscriptWriter::new(&[0x3B, 0x80]);
        w.response(&[0x90, 0x00]).response(&[0x6A, 0x82]);
        let bytes = w.into_bytes();
        let mut r = Replay::new(&bytes).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(r.atr(), [0x3B, 0x80]);
        assert_eq!(r.transmit(&[], &mut buf).unwrap(), [0x90, 0x00]);
        assert_eq!(r.transmit(&[], &mut buf).unwrap(), [0x6A, 0x82]);
    }
}
