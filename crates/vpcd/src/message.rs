//! The vpcd wire format: 2-byte big-endian length-prefixed messages ([`Frame`]), and what a
//! message from the driver means ([`Request`], [`Control`]).

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The largest message the 2-byte length prefix can carry.
pub const MAX_MESSAGE_LEN: usize = 0xFFFF;

/// A 1-byte control message from the driver (vsmartcard `vpcd.h`, `VPCD_CTRL_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Control(pub u8);

impl Control {
    /// Power removed from the card.
    pub const POWER_OFF: Self = Self(0x00);
    /// Power applied (cold reset).
    pub const POWER_ON: Self = Self(0x01);
    /// Warm reset.
    pub const RESET: Self = Self(0x02);
    /// Asks for the ATR; answered with the ATR, or an empty message when no card is inserted.
    pub const GET_ATR: Self = Self(0x04);
}

/// One message from the driver, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// A 1-byte control message.
    Control(Control),
    /// A command APDU (any message longer than one byte, passed on as it is).
    Apdu(&'a [u8]),
    /// An empty message; the driver never sends one, it is ignored.
    Empty,
}

impl<'a> Request<'a> {
    /// Decodes a message body (after its length prefix).
    pub fn parse(message: &'a [u8]) -> Self {
        match message {
            [] => Request::Empty,
            [code] => Request::Control(Control(*code)),
            apdu => Request::Apdu(apdu),
        }
    }
}

/// The length-prefixed framing of every vpcd message, in both directions: a 2-byte big-endian
/// length, then that many bytes (vsmartcard `vpcd.c`, `sendToVICC`/`recvFromVICC`).
///
/// ```
/// use bytes::BytesMut;
/// use cardwire_vpcd::Frame;
/// let mut out = BytesMut::new();
/// Frame::encode(&[0x90, 0x00], &mut out)?;
/// assert_eq!(&out[..], [0x00, 0x02, 0x90, 0x00]);
/// let body = Frame::decode(&mut out).expect("a whole frame");
/// assert_eq!(&body[..], [0x90, 0x00]);
/// assert!(out.is_empty());
/// # Ok::<(), cardwire_vpcd::FrameTooLong>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Frame;

/// A message body longer than the 2-byte length prefix can carry ([`MAX_MESSAGE_LEN`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameTooLong {
    /// The body's length.
    pub len: usize,
}

impl core::fmt::Display for FrameTooLong {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "a vpcd message of {} bytes does not fit the 2-byte length prefix (at most {MAX_MESSAGE_LEN})",
            self.len
        )
    }
}

impl core::error::Error for FrameTooLong {}

impl Frame {
    /// The length of the prefix.
    pub const HEADER_LEN: usize = 2;

    /// Appends `body` with its length prefix to `out`.
    ///
    /// # Errors
    /// [`FrameTooLong`] when `body` is longer than [`MAX_MESSAGE_LEN`]; `out` is unchanged.
    pub fn encode(body: &[u8], out: &mut BytesMut) -> Result<(), FrameTooLong> {
        let len = u16::try_from(body.len()).map_err(|_| FrameTooLong { len: body.len() })?;
        out.reserve(Self::HEADER_LEN + body.len());
        out.put_u16(len);
        out.put_slice(body);
        Ok(())
    }

    /// The body length announced by a 2-byte prefix.
    pub fn body_len(header: [u8; 2]) -> usize {
        usize::from(u16::from_be_bytes(header))
    }

    /// Takes one whole frame's body off the front of `input`, or `None` (leaving `input` as
    /// it is) when the frame is not complete yet.
    pub fn decode(input: &mut BytesMut) -> Option<Bytes> {
        let header: [u8; 2] = input.get(..Self::HEADER_LEN)?.try_into().ok()?;
        let len = Self::body_len(header);
        if input.len() < Self::HEADER_LEN + len {
            return None;
        }
        input.advance(Self::HEADER_LEN);
        Some(input.split_to(len).freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_decode_by_length() {
        assert_eq!(Request::parse(&[]), Request::Empty);
        assert_eq!(Request::parse(&[4]), Request::Control(Control::GET_ATR));
        assert_eq!(Request::parse(&[0, 0xA4]), Request::Apdu(&[0, 0xA4]));
    }

    #[test]
    fn frames_round_trip_and_wait_for_the_whole_body() {
        let mut out = BytesMut::new();
        Frame::encode(&[1, 2, 3], &mut out).unwrap();
        Frame::encode(&[], &mut out).unwrap();
        assert_eq!(&out[..], [0, 3, 1, 2, 3, 0, 0]);
        let mut partial = BytesMut::from(&out[..4]);
        assert_eq!(Frame::decode(&mut partial), None);
        assert_eq!(partial.len(), 4);
        assert_eq!(Frame::decode(&mut out).as_deref(), Some(&[1u8, 2, 3][..]));
        assert_eq!(Frame::decode(&mut out).as_deref(), Some(&[][..]));
        assert_eq!(Frame::decode(&mut out), None);
    }

    #[test]
    fn a_body_longer_than_the_prefix_is_refused() {
        let mut out = BytesMut::new();
        let body = [0u8; MAX_MESSAGE_LEN + 1];
        assert_eq!(
            Frame::encode(&body, &mut out),
            Err(FrameTooLong {
                len: MAX_MESSAGE_LEN + 1
            })
        );
        assert!(out.is_empty());
    }
}
