//! T=1 blocks (ISO/IEC 7816-3 §11.3): prologue (NAD, PCB, LEN), information field, epilogue
//! (LRC or CRC), and the receiver checks of §11.

use core::fmt;

use crate::Error;

/// The largest information field (§11.4.2: IFS is at most 254).
pub const MAX_INF: usize = 254;
/// The largest block: prologue, 254 bytes of INF and a two-byte CRC.
pub const MAX_BLOCK: usize = 3 + MAX_INF + 2;

/// A CRC function: the two epilogue bytes for the block's prologue and INF, in transmission
/// order.
pub type CrcFn = fn(&[u8]) -> [u8; 2];

/// The error detection code of the epilogue (§11.4.4).
#[derive(Clone, Copy)]
pub enum Edc {
    /// Longitudinal redundancy check: the XOR of all bytes (one byte).
    Lrc,
    /// A two-byte CRC. Implementations disagree about the exact CRC; cardwire provides
    /// [`crc16_iso13239`] and lets you plug in another.
    Crc(CrcFn),
}

impl fmt::Debug for Edc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edc::Lrc => f.write_str("Lrc"),
            Edc::Crc(_) => f.write_str("Crc"),
        }
    }
}

impl Edc {
    /// The ISO/IEC 13239 CRC ([`crc16_iso13239`]).
    pub const CRC: Edc = Edc::Crc(crc16_iso13239);

    /// Epilogue length: 1 for LRC, 2 for CRC.
    pub fn len(&self) -> usize {
        match self {
            Edc::Lrc => 1,
            Edc::Crc(_) => 2,
        }
    }

    /// Whether this code takes no bytes (never: kept for API symmetry with `len`).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Computes the epilogue over `data` (prologue and INF); returns it and its length.
    pub fn compute(&self, data: &[u8]) -> ([u8; 2], usize) {
        match self {
            Edc::Lrc => ([lrc(data), 0], 1),
            Edc::Crc(f) => (f(data), 2),
        }
    }
}

/// The LRC: XOR of all bytes (§11.4.4).
pub fn lrc(data: &[u8]) -> u8 {
    data.iter().fold(0, |a, b| a ^ b)
}

/// CRC-16 of ISO/IEC 13239 (the HDLC frame check sequence, also called CRC-16/X-25 or
/// CRC-16/IBM-SDLC): polynomial x¹⁶ + x¹² + x⁵ + 1 processed least significant bit first
/// (reflected `8408`), initial value `FFFF`, final complement; sent low byte first. Its check
/// value for ASCII "123456789" is `906E`. Some readers use the same polynomial without the
/// final complement or send the high byte first: plug such a function into [`Edc::Crc`].
pub fn crc16_iso13239(data: &[u8]) -> [u8; 2] {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x8408
            } else {
                crc >> 1
            };
        }
    }
    (!crc).to_le_bytes()
}

/// The S-block types (§11.3.2.2, bits 5..1 of the PCB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SKind {
    /// S(RESYNCH): resets the sequence numbers (sent by the interface device only).
    Resynch,
    /// S(IFS): new maximum information field size.
    Ifs,
    /// S(ABORT): abort a chain.
    Abort,
    /// S(WTX): waiting-time extension (sent by the card only).
    Wtx,
    /// S(VPP error) response (deprecated).
    VppError,
}

/// What a PCB says (§11.3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PcbKind {
    /// I-block with its send sequence number N(S) and more-data bit M.
    I {
        /// N(S).
        ns: bool,
        /// M: another block of the chain follows.
        more: bool,
    },
    /// R-block with the expected sequence number N(R) and its error code (0 no error, 1 EDC
    /// or parity error, 2 other error).
    R {
        /// N(R).
        nr: bool,
        /// Bits 4..1.
        code: u8,
    },
    /// S-block.
    S {
        /// Which.
        kind: SKind,
        /// Response (bit 6 set) or request.
        response: bool,
    },
}

/// The protocol control byte (§11.3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pcb(pub u8);

impl Pcb {
    /// An I-block PCB.
    pub fn i(ns: bool, more: bool) -> Self {
        Self(u8::from(ns) << 6 | u8::from(more) << 5)
    }
    /// An R-block PCB.
    pub fn r(nr: bool, code: u8) -> Self {
        Self(0x80 | u8::from(nr) << 4 | (code & 0x0F))
    }
    /// An S-block PCB.
    pub fn s(kind: SKind, response: bool) -> Self {
        let k = match kind {
            SKind::Resynch => 0,
            SKind::Ifs => 1,
            SKind::Abort => 2,
            SKind::Wtx => 3,
            SKind::VppError => 4,
        };
        Self(0xC0 | u8::from(response) << 5 | k)
    }

    /// Classifies the PCB; `None` for a coding §11.3.2.2 does not define (I-block with bits
    /// 5..1 set, R-block with bit 6 set or code above 2, unknown S type).
    pub fn kind(self) -> Option<PcbKind> {
        let b = self.0;
        match b >> 6 {
            0 | 1 => (b & 0x1F == 0).then_some(PcbKind::I {
                ns: b & 0x40 != 0,
                more: b & 0x20 != 0,
            }),
            2 => (b & 0x20 == 0 && b & 0x0F <= 2).then_some(PcbKind::R {
                nr: b & 0x10 != 0,
                code: b & 0x0F,
            }),
            _ => {
                let response = b & 0x20 != 0;
                let kind = match b & 0x1F {
                    0 => SKind::Resynch,
                    1 => SKind::Ifs,
                    2 => SKind::Abort,
                    3 => SKind::Wtx,
                    4 if response => SKind::VppError,
                    _ => return None,
                };
                Some(PcbKind::S { kind, response })
            }
        }
    }
}

/// Why a received block is invalid (the receiver checks of §11.3 and §11.6.3).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockFault {
    /// The epilogue does not match (or, for the engines, a parity error).
    Edc,
    /// Fewer bytes than prologue, LEN and epilogue announce (or a character came too late).
    Truncated,
    /// More bytes than LEN announces.
    TooLong,
    /// NAD is not the expected one.
    WrongNad,
    /// LEN is `FF` (reserved).
    LenFF,
    /// LEN exceeds the information field size agreed for the receiver.
    LenBeyondIfs,
    /// PCB coding not defined (including an unknown S type).
    BadPcb,
    /// An R-block carries an information field.
    RBlockWithInf,
    /// An S(IFS) block has LEN other than 1, or IFS `00` or `FF`.
    BadIfs,
    /// An S(WTX) or S(ABORT)/S(RESYNCH) block with a wrong LEN.
    BadSLen,
}

impl fmt::Display for BlockFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BlockFault::Edc => "error detection code mismatch",
            BlockFault::Truncated => "block shorter than announced",
            BlockFault::TooLong => "more bytes than LEN announces",
            BlockFault::WrongNad => "unexpected NAD",
            BlockFault::LenFF => "LEN FF is reserved",
            BlockFault::LenBeyondIfs => "LEN beyond the agreed information field size",
            BlockFault::BadPcb => "undefined PCB coding",
            BlockFault::RBlockWithInf => "R-block with LEN other than 0",
            BlockFault::BadIfs => "S(IFS) with LEN other than 1 or IFS 00/FF",
            BlockFault::BadSLen => "S-block with a wrong LEN",
        })
    }
}

/// A T=1 block as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Block<'a> {
    /// Node address byte.
    pub nad: u8,
    /// Protocol control byte.
    pub pcb: Pcb,
    /// Information field (at most 254 bytes).
    pub inf: &'a [u8],
}

impl<'a> Block<'a> {
    /// Encoded length with `edc`.
    pub fn encoded_len(&self, edc: &Edc) -> usize {
        3 + self.inf.len() + edc.len()
    }

    /// Writes prologue, INF and epilogue.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is too short; [`Error::InvalidBlock`] with
    /// [`BlockFault::LenFF`] when INF is longer than 254 bytes.
    pub fn encode<'o>(&self, edc: &Edc, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        let len = u8::try_from(self.inf.len())
            .ok()
            .filter(|l| usize::from(*l) <= MAX_INF)
            .ok_or(Error::InvalidBlock(BlockFault::LenFF))?;
        let total = self.encoded_len(edc);
        let out = out
            .get_mut(..total)
            .ok_or(Error::BufferTooSmall { needed: total })?;
        {
            let (head, rest) = out.split_at_mut(3);
            head.copy_from_slice(&[self.nad, self.pcb.0, len]);
            if let Some(inf) = rest.get_mut(..self.inf.len()) {
                inf.copy_from_slice(self.inf);
            }
        }
        let data_len = total - edc.len();
        let (code, n) = edc.compute(out.get(..data_len).unwrap_or(&[]));
        if let Some(epi_out) = out.get_mut(data_len..) {
            for (o, c) in epi_out.iter_mut().zip(code.iter().take(n)) {
                *o = *c;
            }
        }
        Ok(out)
    }

    /// Parses one whole block and runs the receiver checks that need no protocol state:
    /// EDC, exact length, LEN `FF`, LEN beyond `max_inf`, PCB coding, R-block LEN, S(IFS)
    /// LEN and value, S(WTX)/S(ABORT)/S(RESYNCH) LEN.
    ///
    /// # Errors
    /// [`Error::InvalidBlock`] with the [`BlockFault`].
    pub fn decode(bytes: &'a [u8], edc: &Edc, max_inf: usize) -> Result<Self, Error> {
        let fault = |f| Error::InvalidBlock(f);
        let [nad, pcb, len] = *bytes
            .first_chunk::<3>()
            .ok_or(fault(BlockFault::Truncated))?;
        let total = 3 + usize::from(len) + edc.len();
        if bytes.len() < total {
            return Err(fault(BlockFault::Truncated));
        }
        if bytes.len() > total {
            return Err(fault(BlockFault::TooLong));
        }
        let data = bytes
            .get(..total - edc.len())
            .ok_or(fault(BlockFault::Truncated))?;
        let (code, n) = edc.compute(data);
        if bytes.get(total - edc.len()..) != code.get(..n) {
            return Err(fault(BlockFault::Edc));
        }
        if len == 0xFF {
            return Err(fault(BlockFault::LenFF));
        }
        let inf = data.get(3..).unwrap_or(&[]);
        let pcb = Pcb(pcb);
        match pcb.kind().ok_or(fault(BlockFault::BadPcb))? {
            PcbKind::I { .. } => {
                if inf.len() > max_inf {
                    return Err(fault(BlockFault::LenBeyondIfs));
                }
            }
            PcbKind::R { .. } => {
                if !inf.is_empty() {
                    return Err(fault(BlockFault::RBlockWithInf));
                }
            }
            PcbKind::S {
                kind: SKind::Ifs, ..
            } => {
                if !matches!(inf, [v] if *v != 0 && *v != 0xFF) {
                    return Err(fault(BlockFault::BadIfs));
                }
            }
            PcbKind::S {
                kind: SKind::Wtx, ..
            } => {
                if inf.len() != 1 {
                    return Err(fault(BlockFault::BadSLen));
                }
            }
            PcbKind::S { .. } => {
                if !inf.is_empty() {
                    return Err(fault(BlockFault::BadSLen));
                }
            }
        }
        Ok(Block { nad, pcb, inf })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        // The CRC-16/X-25 check value (CRC RevEng catalogue): 906E for "123456789".
        assert_eq!(u16::from_le_bytes(crc16_iso13239(b"123456789")), 0x906E);
    }

    #[test]
    fn encode_decode_round_trip_and_checks() {
        // ISO/IEC 7816-3 Annex A example shape: I(0,0) carrying 4 bytes, LRC.
        let b = Block {
            nad: 0,
            pcb: Pcb::i(false, false),
            inf: &[0x00, 0xA4, 0x04, 0x00],
        };
        let mut out = [0u8; MAX_BLOCK];
        let enc = b.encode(&Edc::Lrc, &mut out).unwrap().to_vec();
        assert_eq!(enc, [0x00, 0x00, 0x04, 0x00, 0xA4, 0x04, 0x00, 0xA4]);
        assert_eq!(Block::decode(&enc, &Edc::Lrc, 254).unwrap(), b);
        let mut bad = enc.clone();
        bad[4] ^= 1;
        assert_eq!(
            Block::decode(&bad, &Edc::Lrc, 254),
            Err(Error::InvalidBlock(BlockFault::Edc))
        );
        assert_eq!(
            Block::decode(&enc, &Edc::Lrc, 3),
            Err(Error::InvalidBlock(BlockFault::LenBeyondIfs))
        );
        // S(WTX request) C3 01 01 (LRC C3^01^01 = C3)
        let s = [0x00, 0xC3, 0x01, 0x01, 0xC3];
        assert_eq!(
            Pcb(0xC3).kind(),
            Some(PcbKind::S {
                kind: SKind::Wtx,
                response: false
            })
        );
        assert!(Block::decode(&s, &Edc::Lrc, 32).is_ok());
        // R-block with INF, unknown S type, S(IFS) with IFS 0.
        assert_eq!(
            Block::decode(&[0, 0x80, 1, 0, 0x81], &Edc::Lrc, 32),
            Err(Error::InvalidBlock(BlockFault::RBlockWithInf))
        );
        assert_eq!(
            Block::decode(&[0, 0xC5, 0, 0xC5], &Edc::Lrc, 32),
            Err(Error::InvalidBlock(BlockFault::BadPcb))
        );
        assert_eq!(
            Block::decode(&[0, 0xC1, 1, 0, 0xC0], &Edc::Lrc, 32),
            Err(Error::InvalidBlock(BlockFault::BadIfs))
        );
        let crc = Block {
            nad: 0,
            pcb: Pcb::r(true, 0),
            inf: &[],
        };
        let enc = crc.encode(&Edc::CRC, &mut out).unwrap().to_vec();
        assert_eq!(Block::decode(&enc, &Edc::CRC, 32).unwrap(), crc);
    }
}
