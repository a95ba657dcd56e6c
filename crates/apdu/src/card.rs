//! The card side of an APDU exchange: reassembling command chains and serving long responses
//! with `61xx` and GET RESPONSE (ISO/IEC 7816-4 §5.3.3, §5.3.4).
//!
//! [`CardExchange`] sits between the wire and a card application (card firmware, the virtual
//! card): every wire command goes through [`CardExchange::receive`], which either hands a
//! complete logical command to the application or answers by itself; the application's full
//! answer goes through [`CardExchange::respond`], which sends what fits and keeps the rest for
//! GET RESPONSE. No I/O, no allocation: the chain and the pending response live in a buffer
//! the caller chooses (`[u8; N]`, `Vec<u8>`, `&mut [u8]`).
//!
//! ```
//! use cardwire_apdu::card::{CardExchange, Incoming};
//! use cardwire_apdu::StatusWord;
//!
//! let mut card = CardExchange::new([0u8; 1024]);
//! let mut rsp = [0u8; 258];
//! // A chained UPDATE BINARY: first link (CLA 10), then the last one.
//! assert!(matches!(card.receive(&[0x10, 0xD6, 0, 0, 2, 0xAA, 0xBB], &mut rsp), Incoming::Answered(2)));
//! assert_eq!(&rsp[..2], &[0x90, 0x00]);
//! let Incoming::Command(cmd) = card.receive(&[0x00, 0xD6, 0, 0, 1, 0xCC], &mut rsp) else { panic!() };
//! assert_eq!(cmd.data, &[0xAA, 0xBB, 0xCC]);
//! # Ok::<(), cardwire_apdu::Error>(())
//! ```

use crate::{Command, CommandRepr, Error, Ins, StatusWord};

/// What [`CardExchange::receive`] made of one wire command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A complete logical command (its data possibly reassembled from a chain) for the
    /// application; answer it with [`CardExchange::respond`].
    Command(CommandRepr<'a>),
    /// The exchange layer already wrote the answer (this many bytes) into the response buffer:
    /// `9000` for a chain link, the next part of a pending response for GET RESPONSE, or an
    /// error status (`6700` malformed APDU or chain too long, `6883` chain broken off, `6985`
    /// GET RESPONSE with nothing pending, `6A80`... ).
    Answered(usize),
}

/// A command chain being received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chain {
    ins: Ins,
    p1: u8,
    p2: u8,
    channel: u8,
    len: usize,
}

/// Response data waiting for GET RESPONSE: `buffer[start..end]`, then `sw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    start: usize,
    end: usize,
    sw: StatusWord,
    channel: u8,
}

/// The card side of the exchange (see the [module documentation](self)).
///
/// Rules:
/// * A command with the chaining bit (§5.4.1) is a non-final link: its data is appended and it
///   is answered `9000`. The final link (same INS, P1, P2 and channel, no chaining bit) yields
///   [`Incoming::Command`] with all the data. A different command in the middle of a chain
///   discards the chain and is answered `6883`; a chain longer than the buffer, `6700`.
/// * [`CardExchange::respond`] sends at most Ne data bytes (and what fits the response
///   buffer); if more remains it answers `61xx` (xx = the bytes left, `00` for 256 or more) and
///   serves the rest to GET RESPONSE on the same channel, the last part with the
///   application's status word. Any other command drops a pending response (§5.3.4).
#[derive(Debug, Clone)]
pub struct CardExchange<B> {
    buffer: B,
    chain: Option<Chain>,
    pending: Option<Pending>,
    /// The logical channel of the last command handed to the application.
    last_channel: u8,
}

fn write_sw(sw: StatusWord, rsp: &mut [u8]) -> usize {
    match rsp.get_mut(..2) {
        Some(out) => {
            out.copy_from_slice(&sw.to_bytes());
            2
        }
        None => 0,
    }
}

/// SW for "`remaining` bytes still available".
fn more_available(remaining: usize) -> StatusWord {
    // 256 or more is coded 00.
    StatusWord::new(
        0x61,
        if remaining >= 256 {
            0
        } else {
            (remaining & 0xFF) as u8
        },
    )
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> CardExchange<B> {
    /// A card-side exchange keeping chains and pending responses in `buffer`; its size bounds
    /// both the longest chained command and the longest response.
    pub fn new(buffer: B) -> Self {
        Self {
            buffer,
            chain: None,
            pending: None,
            last_channel: 0,
        }
    }

    /// Forgets any chain and pending response (power off, reset).
    pub fn reset(&mut self) {
        self.chain = None;
        self.pending = None;
    }

    /// True while a command chain is being received.
    pub fn in_chain(&self) -> bool {
        self.chain.is_some()
    }

    /// How many response bytes wait for GET RESPONSE.
    pub fn pending_len(&self) -> usize {
        self.pending.map_or(0, |p| p.end - p.start)
    }

    /// Processes one wire command APDU. `rsp` receives the answer when the exchange layer
    /// answers by itself ([`Incoming::Answered`]); it needs at least 2 bytes, and bounds the
    /// data served per GET RESPONSE.
    pub fn receive<'s>(&'s mut self, apdu: &'s [u8], rsp: &mut [u8]) -> Incoming<'s> {
        let Ok(cmd) = Command::new_checked(apdu) else {
            self.reset();
            return Incoming::Answered(write_sw(StatusWord::WRONG_LENGTH, rsp));
        };
        let cla = cmd.cla();
        if cla.chaining() {
            self.pending = None;
            return Incoming::Answered(self.chain_link(&cmd, rsp));
        }
        if let Some(chain) = self.chain.take() {
            if chain.ins != cmd.ins()
                || chain.p1 != cmd.p1()
                || chain.p2 != cmd.p2()
                || chain.channel != cla.channel()
            {
                return Incoming::Answered(write_sw(
                    StatusWord::LAST_COMMAND_OF_CHAIN_EXPECTED,
                    rsp,
                ));
            }
            let end = chain.len + cmd.nc();
            let Some(dest) = self.buffer.as_mut().get_mut(chain.len..end) else {
                return Incoming::Answered(write_sw(StatusWord::WRONG_LENGTH, rsp));
            };
            dest.copy_from_slice(cmd.data());
            self.last_channel = cla.channel();
            let data = self.buffer.as_ref().get(..end).unwrap_or(&[]);
            return Incoming::Command(CommandRepr {
                data,
                ..cmd.into_repr()
            });
        }
        if cmd.ins() == Ins::GET_RESPONSE && cla.is_interindustry() {
            return Incoming::Answered(self.get_response(&cmd, rsp));
        }
        self.pending = None;
        self.last_channel = cla.channel();
        Incoming::Command(cmd.into_repr())
    }

    /// Takes a wire command that the layer above handles whole, without this layer's chaining
    /// or GET RESPONSE: a command under secure messaging, whose chaining bit means something
    /// only once the command is unwrapped, since each link of a protected chain is a
    /// command–response pair of its own (ISO/IEC 7816-4 §10; GlobalPlatform Card Specification
    /// Amendment D §6.2.4). Drops any pending response (§5.3.4) and remembers `channel` for
    /// the next [`CardExchange::respond`].
    ///
    /// Returns `false` when a plain command chain was being received: that chain is discarded
    /// and the command is to be answered `6883` (last command of the chain expected, §5.3.3).
    pub fn receive_whole(&mut self, channel: u8) -> bool {
        self.pending = None;
        self.last_channel = channel;
        self.chain.take().is_none()
    }

    fn chain_link(&mut self, cmd: &Command<&[u8]>, rsp: &mut [u8]) -> usize {
        let cla = cmd.cla();
        let same = self.chain.is_some_and(|c| {
            c.ins == cmd.ins() && c.p1 == cmd.p1() && c.p2 == cmd.p2() && c.channel == cla.channel()
        });
        let start = if same {
            self.chain.map_or(0, |c| c.len)
        } else {
            // A new chain (or a different command) starts afresh.
            0
        };
        let end = start + cmd.nc();
        let Some(dest) = self.buffer.as_mut().get_mut(start..end) else {
            self.chain = None;
            return write_sw(StatusWord::WRONG_LENGTH, rsp);
        };
        dest.copy_from_slice(cmd.data());
        self.chain = Some(Chain {
            ins: cmd.ins(),
            p1: cmd.p1(),
            p2: cmd.p2(),
            channel: cla.channel(),
            len: end,
        });
        write_sw(StatusWord::SUCCESS, rsp)
    }

    fn get_response(&mut self, cmd: &Command<&[u8]>, rsp: &mut [u8]) -> usize {
        let Some(pending) = self.pending.filter(|p| p.channel == cmd.cla().channel()) else {
            self.pending = None;
            return write_sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED, rsp);
        };
        if cmd.p1() != 0 || cmd.p2() != 0 {
            return write_sw(StatusWord::INCORRECT_P1_P2, rsp);
        }
        let ne = if cmd.ne() == 0 { 256 } else { cmd.ne() };
        self.serve(pending, ne, rsp)
    }

    /// Sends `buffer[pending]` up to `ne` bytes, keeping the rest pending.
    fn serve(&mut self, pending: Pending, ne: u32, rsp: &mut [u8]) -> usize {
        let room = rsp.len().saturating_sub(2);
        let available = pending.end - pending.start;
        let n = available
            .min(room)
            .min(usize::try_from(ne).unwrap_or(usize::MAX));
        let (Some(src), Some(dst)) = (
            self.buffer.as_ref().get(pending.start..pending.start + n),
            rsp.get_mut(..n),
        ) else {
            self.pending = None;
            return write_sw(StatusWord::NO_PRECISE_DIAGNOSIS, rsp);
        };
        dst.copy_from_slice(src);
        let remaining = available - n;
        let sw = if remaining == 0 {
            self.pending = None;
            pending.sw
        } else {
            self.pending = Some(Pending {
                start: pending.start + n,
                ..pending
            });
            more_available(remaining)
        };
        n + write_sw(sw, rsp.get_mut(n..).unwrap_or(&mut []))
    }

    /// Sends the application's answer to the last [`Incoming::Command`]: `data` then `sw`.
    ///
    /// `ne` is the command's Ne. When `data` is longer than Ne (or than `rsp` can carry), the
    /// first part goes out with `61xx` and the rest waits for GET RESPONSE; a command without
    /// Le (Ne 0) that produces data gets `61xx` and no data at once. Returns the number of
    /// bytes written into `rsp`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `rsp` is shorter than 2 bytes;
    /// [`Error::ResponseBufferFull`] when the part to keep does not fit this exchange's buffer
    /// (nothing is written; answer with an error status instead).
    pub fn respond(
        &mut self,
        data: &[u8],
        sw: StatusWord,
        ne: u32,
        rsp: &mut [u8],
    ) -> Result<usize, Error> {
        self.pending = None;
        let room = rsp
            .len()
            .checked_sub(2)
            .ok_or(Error::BufferTooSmall { needed: 2 })?;
        let first = data
            .len()
            .min(room)
            .min(usize::try_from(ne).unwrap_or(usize::MAX));
        let (head, rest) = data.split_at(first);
        if !rest.is_empty() {
            let capacity = self.buffer.as_ref().len();
            let keep = self
                .buffer
                .as_mut()
                .get_mut(..rest.len())
                .ok_or(Error::ResponseBufferFull { capacity })?;
            keep.copy_from_slice(rest);
        }
        let out = rsp
            .get_mut(..first)
            .ok_or(Error::BufferTooSmall { needed: first + 2 })?;
        out.copy_from_slice(head);
        let status = if rest.is_empty() {
            sw
        } else {
            self.pending = Some(Pending {
                start: 0,
                end: rest.len(),
                sw,
                channel: self.last_channel,
            });
            more_available(rest.len())
        };
        Ok(first + write_sw(status, rsp.get_mut(first..).unwrap_or(&mut [])))
    }
}
