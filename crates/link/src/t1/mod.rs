//! T=1, the half-duplex block transmission protocol (ISO/IEC 7816-3 §11), as sans-IO engines:
//! [`T1`] for the interface device (reader) and [`T1Card`] for the card side.

mod block;
mod card;
mod reader;
mod rx;

pub use block::{
    Block, BlockFault, CrcFn, Edc, MAX_BLOCK, MAX_INF, Pcb, PcbKind, SKind, crc16_iso13239, lrc,
};
pub use card::{CardEvent, T1Card};
pub use reader::{Config, Event, Stats, T1};

/// A block an engine has to send (or sent last), described by its parameters so that no copy
/// of it needs to be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Out {
    /// I-block carrying `buf[offset..offset + len]`.
    I {
        offset: usize,
        len: usize,
        ns: bool,
        more: bool,
    },
    /// R-block.
    R { nr: bool, code: u8 },
    /// S-block with an optional one-byte INF.
    S {
        kind: SKind,
        response: bool,
        inf: Option<u8>,
    },
}

/// Encodes `out` (I-block data taken from `data`) into `buf`; the number of bytes written.
pub(crate) fn encode_out(
    out: Out,
    nad: u8,
    data: &[u8],
    edc: &Edc,
    buf: &mut [u8],
) -> Result<usize, crate::Error> {
    let one;
    let (pcb, inf): (Pcb, &[u8]) = match out {
        Out::I {
            offset,
            len,
            ns,
            more,
        } => (
            Pcb::i(ns, more),
            data.get(offset..offset + len)
                .ok_or(crate::Error::BufferTooSmall {
                    needed: offset + len,
                })?,
        ),
        Out::R { nr, code } => (Pcb::r(nr, code), &[]),
        Out::S {
            kind,
            response,
            inf,
        } => {
            one = inf.map(|b| [b]);
            (
                Pcb::s(kind, response),
                one.as_ref().map(|a| a.as_slice()).unwrap_or(&[]),
            )
        }
    };
    Block { nad, pcb, inf }.encode(edc, buf).map(|b| b.len())
}
