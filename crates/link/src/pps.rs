//! Protocol and parameters selection (ISO/IEC 7816-3 §9): build the reader's request and check
//! the card's response.
//!
//! ```
//! use cardwire_link::atr::{Atr, Mode};
//! use cardwire_link::pps::{PpsRequest, ReaderCaps};
//! let atr = Atr::parse(&[0x3B, 0x95, 0x96, 0x81, 0x31, 0xFE, 0x45, 0x4A, 0x43, 0x4F, 0x50, 0x34, 0x2A], Mode::Strict)?;
//! let req = PpsRequest::choose(&atr, &ReaderCaps::default())?;
//! let mut buf = [0u8; 6];
//! let bytes = req.encode(&mut buf)?;
//! assert_eq!(bytes, &[0xFF, 0x11, 0x96, 0x78]);
//! // The card echoes the request: accepted.
//! let agreed = req.check_response(&[0xFF, 0x11, 0x96, 0x78])?;
//! assert_eq!((agreed.protocol, agreed.fi, agreed.di), (1, 512, 32));
//! # Ok::<(), cardwire_link::Error>(())
//! ```

use crate::Error;
use crate::atr::{Atr, Protocols, di_from_code, fi_from_code};

/// What the reader can do, for choosing the PPS request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReaderCaps {
    /// Protocols the reader runs (default T=0 and T=1).
    pub protocols: Protocols,
    /// The largest D the reader's UART supports at its clock (default 32).
    pub max_di: u8,
    /// The clock the reader gives the card, in hertz: TA1 is used only if its f max allows it.
    pub clock_hz: u32,
}

impl Default for ReaderCaps {
    fn default() -> Self {
        Self {
            protocols: Protocols(0b11),
            max_di: 32,
            clock_hz: 4_000_000,
        }
    }
}

/// A PPS request: protocol, and optionally PPS1 (Fi/Di), PPS2 and PPS3 (§9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PpsRequest {
    /// The protocol T (0..=14).
    pub protocol: u8,
    /// PPS1: the Fi/Di code as in TA1, or `None` to keep Fd = 372, Dd = 1.
    pub pps1: Option<u8>,
    /// PPS2 (SPU), rarely used.
    pub pps2: Option<u8>,
    /// PPS3 (RFU).
    pub pps3: Option<u8>,
}

/// The parameters agreed after a successful PPS exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PpsAgreed {
    /// The protocol in use.
    pub protocol: u8,
    /// F in use (372 when the card did not echo PPS1).
    pub fi: u16,
    /// D in use (1 when the card did not echo PPS1).
    pub di: u8,
}

impl PpsAgreed {
    /// The timing in use after this PPS exchange, at the card clock `clock_hz`: F and D as
    /// agreed (372/1 when PPS1 was not echoed, §9.3). Give it to the link engines and UART
    /// drivers instead of [`Atr::timing`].
    pub fn timing(&self, clock_hz: u32) -> crate::Timing {
        crate::Timing::new(clock_hz, self.fi, self.di)
    }
}

impl PpsRequest {
    /// The request a reader with `caps` should send after `atr`: the card's default protocol
    /// when the reader runs it (else the first common one), and TA1's Fi/Di when the reader's
    /// UART and clock allow them.
    ///
    /// # Errors
    /// [`Error::PpsNotAllowed`] in specific mode (TA2 present, §9.1),
    /// [`Error::NoCommonProtocol`] when the reader runs none of the card's protocols.
    pub fn choose(atr: &Atr, caps: &ReaderCaps) -> Result<Self, Error> {
        if atr.specific_mode().is_some() {
            return Err(Error::PpsNotAllowed);
        }
        let offered = atr.protocols();
        let default = atr.default_protocol();
        let protocol = if offered.contains(default) && caps.protocols.contains(default) {
            default
        } else {
            offered
                .iter()
                .find(|t| caps.protocols.contains(*t))
                .ok_or(Error::NoCommonProtocol)?
        };
        let pps1 = atr.ta(1).filter(|&ta1| {
            let usable = match (fi_from_code(ta1 >> 4), di_from_code(ta1)) {
                (Some((_, fmax_khz)), Some(di)) => {
                    di <= caps.max_di && u64::from(caps.clock_hz) <= u64::from(fmax_khz) * 1000
                }
                _ => false,
            };
            usable && ta1 != 0x11 && ta1 != 0x01
        });
        Ok(Self {
            protocol,
            pps1,
            pps2: None,
            pps3: None,
        })
    }

    /// The PPS0 byte.
    pub fn pps0(&self) -> u8 {
        let mut b = self.protocol & 0x0F;
        if self.pps1.is_some() {
            b |= 0x10;
        }
        if self.pps2.is_some() {
            b |= 0x20;
        }
        if self.pps3.is_some() {
            b |= 0x40;
        }
        b
    }

    /// Encoded length: PPSS, PPS0, the optional bytes and PCK.
    pub fn encoded_len(&self) -> usize {
        3 + usize::from(self.pps1.is_some())
            + usize::from(self.pps2.is_some())
            + usize::from(self.pps3.is_some())
    }

    /// Writes PPSS, PPS0, PPS1..3 and PCK.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is shorter than [`Self::encoded_len`].
    pub fn encode<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        let len = self.encoded_len();
        let out = out
            .get_mut(..len)
            .ok_or(Error::BufferTooSmall { needed: len })?;
        let mut i = 0;
        let mut put = |b: u8, out: &mut [u8]| {
            if let Some(slot) = out.get_mut(i) {
                *slot = b;
            }
            i += 1;
        };
        put(0xFF, out);
        put(self.pps0(), out);
        for b in [self.pps1, self.pps2, self.pps3].into_iter().flatten() {
            put(b, out);
        }
        let pck = out.iter().take(len - 1).fold(0u8, |a, b| a ^ b);
        put(pck, out);
        Ok(out)
    }

    /// Checks the card's response against this request (§9.3): PPSS and T echoed, each of
    /// PPS1..3 either echoed or left out, nothing added, PCK right.
    ///
    /// # Errors
    /// [`Error::PpsIncomplete`], [`Error::PpsMalformed`] (PPSS, reserved bit, PCK),
    /// [`Error::PpsRefused`] (echo rules broken), [`Error::TrailingBytes`].
    pub fn check_response(&self, rsp: &[u8]) -> Result<PpsAgreed, Error> {
        let msg = PpsMessage::parse(rsp)?;
        if msg.pps0 & 0x0F != self.protocol & 0x0F {
            return Err(Error::PpsRefused { offset: 1 });
        }
        let mut offset = 2;
        let pairs = [
            (msg.pps1, self.pps1),
            (msg.pps2, self.pps2),
            (msg.pps3, self.pps3),
        ];
        for (got, asked) in pairs {
            match (got, asked) {
                (Some(g), Some(a)) if g != a => return Err(Error::PpsRefused { offset }),
                (Some(_), None) => return Err(Error::PpsRefused { offset: 1 }),
                _ => {}
            }
            offset += usize::from(got.is_some());
        }
        let (fi, di) = match msg.pps1 {
            Some(code) => match (fi_from_code(code >> 4), di_from_code(code)) {
                (Some((fi, _)), Some(di)) => (fi, di),
                _ => return Err(Error::PpsRefused { offset: 2 }),
            },
            None => (372, 1),
        };
        Ok(PpsAgreed {
            protocol: self.protocol & 0x0F,
            fi,
            di,
        })
    }
}

/// A parsed PPS message, request or response (§9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PpsMessage {
    /// PPS0 (format byte).
    pub pps0: u8,
    /// PPS1 when announced.
    pub pps1: Option<u8>,
    /// PPS2 when announced.
    pub pps2: Option<u8>,
    /// PPS3 when announced.
    pub pps3: Option<u8>,
}

impl PpsMessage {
    /// Parses PPSS..PCK, rejecting trailing bytes.
    ///
    /// # Errors
    /// [`Error::PpsIncomplete`], [`Error::PpsMalformed`] (PPSS not `FF`, bit 8 of PPS0 set,
    /// wrong PCK), [`Error::TrailingBytes`].
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let Some(&ppss) = bytes.first() else {
            return Err(Error::PpsIncomplete { needed: 3 });
        };
        if ppss != 0xFF {
            return Err(Error::PpsMalformed { offset: 0 });
        }
        let Some(&pps0) = bytes.get(1) else {
            return Err(Error::PpsIncomplete { needed: 2 });
        };
        if pps0 & 0x80 != 0 {
            return Err(Error::PpsMalformed { offset: 1 });
        }
        let optional = (pps0 >> 4 & 0x7).count_ones() as usize;
        let len = 3 + optional;
        if bytes.len() < len {
            return Err(Error::PpsIncomplete {
                needed: len - bytes.len(),
            });
        }
        if bytes.len() > len {
            return Err(Error::TrailingBytes { offset: len });
        }
        if bytes.iter().fold(0u8, |a, b| a ^ b) != 0 {
            return Err(Error::PpsMalformed { offset: len - 1 });
        }
        let mut next = 2;
        let mut take = |present: bool| {
            if present {
                let v = bytes.get(next).copied();
                next += 1;
                v
            } else {
                None
            }
        };
        let pps1 = take(pps0 & 0x10 != 0);
        let pps2 = take(pps0 & 0x20 != 0);
        let pps3 = take(pps0 & 0x40 != 0);
        Ok(Self {
            pps0,
            pps1,
            pps2,
            pps3,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atr::Mode;

    #[test]
    fn agreed_timing_is_the_negotiated_one() {
        // TA1 = 96: F 512, D 32; negotiable mode.
        let atr = Atr::parse(&[0x3B, 0x10, 0x96], Mode::Strict).unwrap();
        let req = PpsRequest::choose(&atr, &ReaderCaps::default()).unwrap();
        assert_eq!(req.pps1, Some(0x96));
        let mut buf = [0u8; 6];
        let n = req.encode(&mut buf).unwrap().len();
        let agreed = req.check_response(&buf[..n]).unwrap();
        assert_eq!(
            agreed.timing(4_000_000),
            crate::Timing::new(4_000_000, 512, 32)
        );
        // The card answers without PPS1: the default values stay.
        let agreed = req.check_response(&[0xFF, 0x00, 0xFF]).unwrap();
        assert_eq!(
            agreed.timing(4_000_000),
            crate::Timing::new(4_000_000, 372, 1)
        );
    }

    #[test]
    fn partial_echo_keeps_defaults() {
        let req = PpsRequest {
            protocol: 1,
            pps1: Some(0x96),
            pps2: None,
            pps3: None,
        };
        // Card drops PPS1: PPS0 = 01, PCK = FF ^ 01 = FE.
        let agreed = req.check_response(&[0xFF, 0x01, 0xFE]).unwrap();
        assert_eq!((agreed.fi, agreed.di), (372, 1));
    }

    #[test]
    fn wrong_echo_and_malformed_are_refused() {
        let req = PpsRequest {
            protocol: 1,
            pps1: Some(0x96),
            pps2: None,
            pps3: None,
        };
        assert_eq!(
            req.check_response(&[0xFF, 0x10, 0x96, 0x79]),
            Err(Error::PpsRefused { offset: 1 })
        );
        assert_eq!(
            req.check_response(&[0xFF, 0x11, 0x95, 0x7B]),
            Err(Error::PpsRefused { offset: 2 })
        );
        assert_eq!(
            req.check_response(&[0xFF, 0x11, 0x96, 0x00]),
            Err(Error::PpsMalformed { offset: 3 })
        );
        assert_eq!(
            req.check_response(&[0xFF, 0x11]),
            Err(Error::PpsIncomplete { needed: 2 })
        );
        assert_eq!(
            req.check_response(&[0xFE]),
            Err(Error::PpsMalformed { offset: 0 })
        );
    }

    #[test]
    fn specific_mode_forbids_pps() {
        // TD1 = 11 (TA2 present, T=1), TA2 = 01 (specific mode, T=1).
        let atr = Atr::parse(&[0x3B, 0x80, 0x11, 0x01, 0x90], Mode::Strict).unwrap();
        assert!(atr.specific_mode().is_some());
        assert_eq!(
            PpsRequest::choose(&atr, &ReaderCaps::default()),
            Err(Error::PpsNotAllowed)
        );
    }
}
