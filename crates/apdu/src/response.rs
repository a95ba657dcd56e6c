//! Response APDUs: the checked view [`Response`] and the plain [`ResponseRepr`]
//! (ISO/IEC 7816-4 §5.1).

use core::fmt;

use crate::{Error, StatusWord};

/// Longest response APDU: 65 536 data bytes and SW1 SW2.
pub const MAX_RESPONSE_LEN: usize = 65_538;

/// A response APDU over any byte buffer: data then SW1 SW2, checked once (ISO/IEC 7816-4 §5.1).
///
/// ```
/// use cardwire_apdu::{Response, StatusWord};
/// let rsp = Response::new_checked(&[0x6F, 0x00, 0x90, 0x00][..])?;
/// assert_eq!(rsp.data(), &[0x6F, 0x00]);
/// assert_eq!(rsp.sw(), StatusWord::SUCCESS);
/// # Ok::<(), cardwire_apdu::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Response<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Response<T> {
    /// Checks the buffer as one response APDU.
    ///
    /// # Errors
    /// [`Error::Truncated`] for fewer than 2 bytes, [`Error::ResponseTooLong`] for more than
    /// 65 538.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let len = buffer.as_ref().len();
        if len < 2 {
            return Err(Error::Truncated {
                offset: len,
                needed: 2 - len,
            });
        }
        if len > MAX_RESPONSE_LEN {
            return Err(Error::ResponseTooLong { len });
        }
        Ok(Self { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole response as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The response data field (possibly empty).
    #[inline]
    pub fn data(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(..b.len().saturating_sub(2)).unwrap_or(&[])
    }

    /// The status word SW1 SW2.
    #[inline]
    pub fn sw(&self) -> StatusWord {
        match self.buffer.as_ref().last_chunk::<2>() {
            Some(sw) => StatusWord::from(*sw),
            None => StatusWord(0),
        }
    }

    /// The same response as plain values.
    pub fn repr(&self) -> ResponseRepr<'_> {
        ResponseRepr {
            data: self.data(),
            sw: self.sw(),
        }
    }
}

impl<T: AsRef<[u8]>> fmt::Debug for Response<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("data_len", &self.data().len())
            .field("sw", &self.sw())
            .finish()
    }
}

/// A response APDU as plain values, for building one (card side) or holding a parsed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResponseRepr<'a> {
    /// The data field (at most 65 536 bytes).
    pub data: &'a [u8],
    /// The status word.
    pub sw: StatusWord,
}

impl<'a> ResponseRepr<'a> {
    /// Parses a response APDU.
    ///
    /// # Errors
    /// As [`Response::new_checked`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let rsp = Response::new_checked(bytes)?;
        Ok(Self {
            data: bytes.get(..bytes.len() - 2).unwrap_or(&[]),
            sw: rsp.sw(),
        })
    }

    /// `data.len() + 2`.
    pub fn encoded_len(&self) -> usize {
        self.data.len() + 2
    }

    /// Writes data then SW1 SW2 into `out` and returns the written prefix.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is too short, [`Error::ResponseTooLong`] for more
    /// than 65 536 data bytes.
    pub fn encode<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        let len = self.encoded_len();
        if len > MAX_RESPONSE_LEN {
            return Err(Error::ResponseTooLong { len });
        }
        let Some(out) = out.get_mut(..len) else {
            return Err(Error::BufferTooSmall { needed: len });
        };
        let (data, sw) = out.split_at_mut(self.data.len());
        data.copy_from_slice(self.data);
        sw.copy_from_slice(&self.sw.to_bytes());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn views() {
        let r = Response::new_checked(&[0x90, 0x00][..]).unwrap();
        assert!(r.data().is_empty());
        assert_eq!(r.sw(), StatusWord::SUCCESS);
        assert_eq!(
            Response::new_checked(&[0x90][..]).unwrap_err(),
            Error::Truncated {
                offset: 1,
                needed: 1
            }
        );
        assert_eq!(
            Response::new_checked(&[][..]).unwrap_err(),
            Error::Truncated {
                offset: 0,
                needed: 2
            }
        );
        let big = vec![0u8; MAX_RESPONSE_LEN + 1];
        assert_eq!(
            Response::new_checked(&big[..]).unwrap_err(),
            Error::ResponseTooLong {
                len: MAX_RESPONSE_LEN + 1
            }
        );
        assert!(Response::new_checked(&big[1..]).is_ok());
    }

    #[test]
    fn repr_round_trip() {
        let bytes = [1, 2, 3, 0x62, 0x82];
        let r = ResponseRepr::parse(&bytes).unwrap();
        assert_eq!(r.data, &[1, 2, 3]);
        assert_eq!(r.sw, StatusWord::END_OF_FILE);
        let mut out = [0u8; 5];
        assert_eq!(r.encode(&mut out).unwrap(), &bytes);
        assert!(r.encode(&mut [0u8; 4]).is_err());
    }
}
