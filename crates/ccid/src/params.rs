//! The protocol data structures of `PC_to_RDR_SetParameters` and `RDR_to_PC_Parameters`
//! (USB CCID Rev 1.1 §6.1.7, Table 6.1-7 for T=0 and Table 6.1-8 for T=1).

use cardwire_link::atr::{Atr, Convention, EdcKind, di_from_code, fi_from_code};
use cardwire_link::{Timing, t1};

use crate::Error;

/// T=0 protocol data: 5 bytes (CCID Rev 1.1 §6.1.7, Table 6.1-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct T0Data {
    /// `bmFindexDindex`: Fi code in bits 7-4, Di code in bits 3-0 (as TA1).
    pub findex_dindex: u8,
    /// `bmTCCKST0`: bit 1 is the convention (0 direct, 1 inverse); the others are 0.
    pub tcckst0: u8,
    /// `bGuardTimeT0`: extra guard time N (TC1).
    pub guard_time: u8,
    /// `bWaitingIntegerT0`: WI (TC2).
    pub waiting_integer: u8,
    /// `bClockStop`: 0 not allowed, 1 stop with clock L, 2 with clock H, 3 L or H.
    pub clock_stop: u8,
}

/// T=1 protocol data: 7 bytes (CCID Rev 1.1 §6.1.7, Table 6.1-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct T1Data {
    /// `bmFindexDindex`: Fi code in bits 7-4, Di code in bits 3-0.
    pub findex_dindex: u8,
    /// `bmTCCKST1`: bit 0 the checksum (0 LRC, 1 CRC), bit 1 the convention, bits 7-2
    /// `000100b`: so `10`..`13`.
    pub tcckst1: u8,
    /// `bGuardTimeT1`: extra guard time N (TC1).
    pub guard_time: u8,
    /// `bmWaitingIntegersT1`: BWI in bits 7-4, CWI in bits 3-0.
    pub waiting_integers: u8,
    /// `bClockStop`.
    pub clock_stop: u8,
    /// `bIFSC`.
    pub ifsc: u8,
    /// `bNadValue`: the NAD the reader uses (0 unless dwFeatures allows others).
    pub nad: u8,
}

/// The protocol data of one protocol (`bProtocolNum` 0 or 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolData {
    /// T=0 (`bProtocolNum` 0, `dwLength` 5).
    T0(T0Data),
    /// T=1 (`bProtocolNum` 1, `dwLength` 7).
    T1(T1Data),
}

/// Fi/Di code used when the card gives none (Fi 372, Di 1, f max 5 MHz: ISO/IEC 7816-3 §8.3).
pub const DEFAULT_FIDI: u8 = 0x11;

impl ProtocolData {
    /// `bProtocolNum`: 0 for T=0, 1 for T=1.
    pub fn protocol_num(&self) -> u8 {
        match self {
            ProtocolData::T0(_) => 0,
            ProtocolData::T1(_) => 1,
        }
    }

    /// Bytes of the structure (5 or 7).
    pub fn encoded_len(&self) -> usize {
        match self {
            ProtocolData::T0(_) => 5,
            ProtocolData::T1(_) => 7,
        }
    }

    /// The structure's bytes.
    pub fn to_bytes(&self) -> ([u8; 7], usize) {
        match *self {
            ProtocolData::T0(p) => (
                [
                    p.findex_dindex,
                    p.tcckst0,
                    p.guard_time,
                    p.waiting_integer,
                    p.clock_stop,
                    0,
                    0,
                ],
                5,
            ),
            ProtocolData::T1(p) => (
                [
                    p.findex_dindex,
                    p.tcckst1,
                    p.guard_time,
                    p.waiting_integers,
                    p.clock_stop,
                    p.ifsc,
                    p.nad,
                ],
                7,
            ),
        }
    }

    /// Parses the structure for `protocol_num`; `base` is the offset of `bytes` in the
    /// message (10 in a CCID message), used in errors; `protocol_offset` that of
    /// `bProtocolNum`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a protocol other than 0 or 1, a length other than 5 / 7, or a
    /// reserved `bmTCCKST` value; [`Error::Truncated`] is never returned (the length is part
    /// of the check).
    pub fn parse(
        protocol_num: u8,
        bytes: &[u8],
        base: usize,
        protocol_offset: usize,
    ) -> Result<Self, Error> {
        match (protocol_num, bytes) {
            (
                0,
                &[
                    findex_dindex,
                    tcckst0,
                    guard_time,
                    waiting_integer,
                    clock_stop,
                ],
            ) => {
                if tcckst0 & !0x02 != 0 {
                    return Err(Error::Invalid {
                        offset: base + 1,
                        what: "bmTCCKST0 must be 00 or 02",
                    });
                }
                Ok(ProtocolData::T0(T0Data {
                    findex_dindex,
                    tcckst0,
                    guard_time,
                    waiting_integer,
                    clock_stop,
                }))
            }
            (
                1,
                &[
                    findex_dindex,
                    tcckst1,
                    guard_time,
                    waiting_integers,
                    clock_stop,
                    ifsc,
                    nad,
                ],
            ) => {
                if tcckst1 & !0x03 != 0x10 {
                    return Err(Error::Invalid {
                        offset: base + 1,
                        what: "bmTCCKST1 must be 10, 11, 12 or 13",
                    });
                }
                Ok(ProtocolData::T1(T1Data {
                    findex_dindex,
                    tcckst1,
                    guard_time,
                    waiting_integers,
                    clock_stop,
                    ifsc,
                    nad,
                }))
            }
            (0 | 1, _) => Err(Error::Invalid {
                offset: 1,
                what: "dwLength must be 5 for T=0 and 7 for T=1",
            }),
            _ => Err(Error::Invalid {
                offset: protocol_offset,
                what: "bProtocolNum must be 0 (T=0) or 1 (T=1)",
            }),
        }
    }

    /// The structure for `protocol` after `atr`, with the Fi/Di code `fidi` in use (after PPS,
    /// or [`DEFAULT_FIDI`]); `None` for a protocol other than 0 and 1.
    pub fn from_atr(atr: &Atr, protocol: u8, fidi: u8) -> Option<Self> {
        let inverse = atr.convention() == Convention::Inverse;
        let conv = if inverse { 0x02 } else { 0x00 };
        let clock_stop = atr.clock_stop().unwrap_or(0);
        match protocol {
            0 => Some(ProtocolData::T0(T0Data {
                findex_dindex: fidi,
                tcckst0: conv,
                guard_time: atr.extra_guard_time(),
                waiting_integer: atr.wi(),
                clock_stop,
            })),
            1 => {
                let t1 = atr.t1();
                Some(ProtocolData::T1(T1Data {
                    findex_dindex: fidi,
                    tcckst1: 0x10 | conv | u8::from(t1.edc == EdcKind::Crc),
                    guard_time: atr.extra_guard_time(),
                    waiting_integers: (t1.bwi << 4) | (t1.cwi & 0x0F),
                    clock_stop,
                    ifsc: t1.ifsc,
                    nad: 0,
                }))
            }
            _ => None,
        }
    }

    /// `bmFindexDindex`.
    pub fn findex_dindex(&self) -> u8 {
        match self {
            ProtocolData::T0(p) => p.findex_dindex,
            ProtocolData::T1(p) => p.findex_dindex,
        }
    }

    /// The extra guard time N.
    pub fn guard_time(&self) -> u8 {
        match self {
            ProtocolData::T0(p) => p.guard_time,
            ProtocolData::T1(p) => p.guard_time,
        }
    }

    /// The timing at `clock_hz` with this structure's F and D (372/1 for RFU codes).
    pub fn timing(&self, clock_hz: u32) -> Timing {
        let code = self.findex_dindex();
        let fi = fi_from_code(code >> 4).map_or(372, |(fi, _)| fi);
        let di = di_from_code(code).unwrap_or(1);
        Timing::new(clock_hz, fi, di)
    }
}

impl T1Data {
    /// The T=1 engine configuration these parameters give at `clock_hz`, with the reader's
    /// IFSD `ifsd` (ISO/IEC 7816-3 §11.4).
    pub fn link_config(&self, clock_hz: u32, ifsd: u8) -> t1::Config {
        let timing = ProtocolData::T1(*self).timing(clock_hz);
        let n = self.guard_time;
        let char_micros = if n == 255 {
            timing.etus_micros(11)
        } else {
            timing.chars_micros(1, n)
        };
        t1::Config {
            ifsc: if self.ifsc == 0 || self.ifsc == 0xFF {
                32
            } else {
                self.ifsc
            },
            ifsd,
            edc: if self.tcckst1 & 0x01 != 0 {
                t1::Edc::CRC
            } else {
                t1::Edc::Lrc
            },
            nad: self.nad,
            bwt_micros: timing.bwt_micros(self.waiting_integers >> 4),
            cwt_micros: timing.cwt_micros(self.waiting_integers & 0x0F),
            char_micros,
            max_retries: 3,
            max_resynch: 3,
            max_wtx: 256,
            exchange_deadline_micros: cardwire_link::DEFAULT_EXCHANGE_DEADLINE_MICROS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardwire_link::atr::Mode;

    #[test]
    fn t1_from_atr() {
        // ATR of cardwire-link's README (TA1 96, IFSC FE, BWI 4 CWI 5).
        let atr = Atr::parse(
            &[
                0x3B, 0x95, 0x96, 0x81, 0x31, 0xFE, 0x45, 0x4A, 0x43, 0x4F, 0x50, 0x34, 0x2A,
            ],
            Mode::Strict,
        )
        .unwrap();
        let p = ProtocolData::from_atr(&atr, 1, 0x96).unwrap();
        assert_eq!(
            p.to_bytes(),
            ([0x96, 0x10, 0x00, 0x45, 0x00, 0xFE, 0x00], 7)
        );
        let t = p.timing(4_000_000);
        assert_eq!((t.fi, t.di), (512, 32));
        let ProtocolData::T1(t1) = p else { panic!() };
        let cfg = t1.link_config(4_000_000, 254);
        assert_eq!(cfg.ifsc, 0xFE);
        assert!(matches!(cfg.edc, t1::Edc::Lrc));
    }

    #[test]
    fn parse_checks() {
        // libccid's T=1 SetParameters default (ifdhandler.c): 11 10 00 4D 00 20 00.
        let p = ProtocolData::parse(1, &[0x11, 0x10, 0x00, 0x4D, 0x00, 0x20, 0x00], 10, 7).unwrap();
        assert_eq!(p.protocol_num(), 1);
        assert!(ProtocolData::parse(1, &[0x11, 0x00, 0, 0, 0, 0x20, 0], 10, 7).is_err());
        assert!(ProtocolData::parse(0, &[0x11, 0x04, 0, 10, 0], 10, 7).is_err());
        assert!(ProtocolData::parse(0, &[0x11, 0x00, 0, 10], 10, 7).is_err());
        assert_eq!(
            ProtocolData::parse(2, &[], 10, 7),
            Err(Error::Invalid {
                offset: 7,
                what: "bProtocolNum must be 0 (T=0) or 1 (T=1)"
            })
        );
    }
}
