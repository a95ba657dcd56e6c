//! The card's side of T=1 (ISO/IEC 7816-3 §11), for simulated cards, card emulators and tests.

use super::block::{Block, MAX_INF, PcbKind, SKind};
use super::reader::Config;
use super::rx::{Push, Rx};
use super::{Out, encode_out};
use crate::{Error, Instant};

/// What the card's engine reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardEvent {
    /// A whole command APDU arrived: [`T1Card::command`] holds its `len` bytes; answer with
    /// [`T1Card::respond`].
    Command {
        /// Length of the command.
        len: usize,
    },
    /// The reader resynchronised the link; any command in progress is dropped.
    Resynchronized,
    /// The reader aborted the chain.
    Aborted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a command.
    Receiving,
    /// The application has the command.
    Processing,
    /// Sending the response chain from `offset`.
    Sending { offset: usize },
}

/// The card side of T=1: receives command chains, hands each command to the application,
/// sends the response (chained by the reader's IFSD), answers S(RESYNCH), S(IFS) and
/// S(ABORT), and can ask for S(WTX) and S(IFS) itself. Driven like [`super::T1`]: feed
/// [`T1Card::handle_input`], drain [`T1Card::poll_transmit`] and [`T1Card::poll_event`], and
/// call [`T1Card::handle_timeout`] at [`T1Card::poll_timeout`] (the character waiting time;
/// a card never times out otherwise).
#[derive(Debug, Clone)]
pub struct T1Card<const N: usize> {
    cfg: Config,
    ifsc: u8,
    ifsd: u8,
    buf: [u8; N],
    len: usize,
    cur_len: usize,
    cur_more: bool,
    ns: bool,
    nr: bool,
    phase: Phase,
    last: Option<Out>,
    pending: Option<Out>,
    rx: Rx,
    deadline: Option<Instant>,
    event: Option<CardEvent>,
    s_outstanding: bool,
}

impl<const N: usize> T1Card<N> {
    /// A card engine after its ATR: `cfg.ifsc` is the card's own receive size (as its ATR
    /// announces); the reader's IFSD starts at 32.
    pub fn new(cfg: Config) -> Self {
        Self {
            cfg,
            ifsc: if cfg.ifsc == 0 || usize::from(cfg.ifsc) > MAX_INF {
                32
            } else {
                cfg.ifsc
            },
            ifsd: 32,
            buf: [0; N],
            len: 0,
            cur_len: 0,
            cur_more: false,
            ns: false,
            nr: false,
            phase: Phase::Receiving,
            last: None,
            pending: None,
            rx: Rx::new(),
            deadline: None,
            event: None,
            s_outstanding: false,
        }
    }

    /// Whether a command waits for [`T1Card::respond`] and the card may send (no S request
    /// of its own is waiting for the reader's answer).
    pub fn can_respond(&self) -> bool {
        self.phase == Phase::Processing && self.pending.is_none() && !self.s_outstanding
    }

    /// The command after [`CardEvent::Command`].
    pub fn command(&self) -> &[u8] {
        match self.phase {
            Phase::Processing => self.buf.get(..self.len).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The reader's IFSD in force.
    pub fn ifsd(&self) -> u8 {
        self.ifsd
    }

    /// Sends `rsp` as the response to the current command.
    ///
    /// # Errors
    /// [`Error::Busy`] when no command waits for an answer, [`Error::ApduTooLong`] when
    /// `rsp` does not fit the buffer.
    pub fn respond(&mut self, rsp: &[u8]) -> Result<(), Error> {
        if !self.can_respond() {
            return Err(Error::Busy);
        }
        let dst = self.buf.get_mut(..rsp.len()).ok_or(Error::ApduTooLong {
            len: rsp.len(),
            capacity: N,
        })?;
        dst.copy_from_slice(rsp);
        self.len = rsp.len();
        self.phase = Phase::Sending { offset: 0 };
        self.send_i(0);
        Ok(())
    }

    /// Asks the reader for a waiting-time extension of `multiplier` × BWT (S(WTX request)).
    ///
    /// # Errors
    /// [`Error::Busy`] unless a command is being processed and nothing waits to be sent.
    pub fn request_wtx(&mut self, multiplier: u8) -> Result<(), Error> {
        if !self.can_respond() {
            return Err(Error::Busy);
        }
        self.pending = Some(Out::S {
            kind: SKind::Wtx,
            response: false,
            inf: Some(multiplier),
        });
        Ok(())
    }

    /// Announces a new IFSC with S(IFS request) (1..=254).
    ///
    /// # Errors
    /// [`Error::Busy`] unless a command is being processed and nothing waits to be sent;
    /// [`Error::InvalidBlock`] for IFS 0 or above 254.
    pub fn request_ifs(&mut self, ifsc: u8) -> Result<(), Error> {
        if !self.can_respond() {
            return Err(Error::Busy);
        }
        if ifsc == 0 || usize::from(ifsc) > MAX_INF {
            return Err(Error::InvalidBlock(super::BlockFault::BadIfs));
        }
        self.pending = Some(Out::S {
            kind: SKind::Ifs,
            response: false,
            inf: Some(ifsc),
        });
        Ok(())
    }

    /// The next block to send.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        let out = self.pending.take()?;
        let nad = {
            let n = self.cfg.nad;
            ((n & 0x07) << 4) | ((n >> 4) & 0x07)
        };
        let n = encode_out(
            out,
            nad,
            self.buf.get(..self.len).unwrap_or(&[]),
            &self.cfg.edc,
            buf,
        )
        .ok()?;
        self.last = Some(out);
        if let Out::S {
            response: false, ..
        } = out
        {
            self.s_outstanding = true;
        }
        self.rx.clear();
        Some(n)
    }

    /// The character waiting time deadline while a block is partly received.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<CardEvent> {
        self.event.take()
    }

    /// Drops a partly received block whose next character did not come in time.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| now >= d) {
            self.deadline = None;
            self.rx.clear();
        }
    }

    /// Bytes from the reader.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        if bytes.is_empty() || self.pending.is_some() {
            return;
        }
        match self.rx.push(bytes, self.cfg.edc.len()) {
            Push::Partial => self.deadline = Some(now.add_micros(self.cfg.cwt_micros)),
            Push::Complete { extra } => {
                self.deadline = None;
                let result = if extra {
                    Err(Error::InvalidBlock(super::BlockFault::TooLong))
                } else {
                    self.check_block()
                };
                self.rx.clear();
                if let Err(e) = result {
                    let code = if e == Error::InvalidBlock(super::BlockFault::Edc) {
                        1
                    } else {
                        2
                    };
                    self.on_invalid(code);
                }
            }
        }
    }

    fn on_invalid(&mut self, code: u8) {
        match self.phase {
            Phase::Processing => {}
            _ => self.pending = Some(Out::R { nr: self.nr, code }),
        }
    }

    fn send_i(&mut self, offset: usize) {
        let remaining = self.len.saturating_sub(offset);
        let len = remaining.min(usize::from(self.ifsd));
        self.cur_len = len;
        self.cur_more = remaining > len;
        self.pending = Some(Out::I {
            offset,
            len,
            ns: self.ns,
            more: self.cur_more,
        });
    }

    fn check_block(&mut self) -> Result<(), Error> {
        let edc = self.cfg.edc;
        let block = Block::decode(self.rx.bytes(), &edc, usize::from(self.ifsc))?;
        if block.nad != self.cfg.nad {
            return Err(Error::InvalidBlock(super::BlockFault::WrongNad));
        }
        let kind = block
            .pcb
            .kind()
            .ok_or(Error::InvalidBlock(super::BlockFault::BadPcb))?;
        let value = block.inf.first().copied();
        let mut inf = [0u8; MAX_INF];
        let n = block.inf.len();
        if let Some(dst) = inf.get_mut(..n) {
            dst.copy_from_slice(block.inf);
        }
        self.on_block(kind, value, inf.get(..n).unwrap_or(&[]))
    }

    fn on_block(&mut self, kind: PcbKind, value: Option<u8>, inf: &[u8]) -> Result<(), Error> {
        let invalid = Err(Error::InvalidBlock(super::BlockFault::BadPcb));
        match (kind, self.phase) {
            (
                PcbKind::S {
                    kind: SKind::Resynch,
                    response: false,
                },
                _,
            ) => {
                self.ns = false;
                self.nr = false;
                self.ifsd = 32;
                self.ifsc = if self.cfg.ifsc == 0 || usize::from(self.cfg.ifsc) > MAX_INF {
                    32
                } else {
                    self.cfg.ifsc
                };
                self.len = 0;
                self.s_outstanding = false;
                self.phase = Phase::Receiving;
                self.pending = Some(Out::S {
                    kind: SKind::Resynch,
                    response: true,
                    inf: None,
                });
                self.event = Some(CardEvent::Resynchronized);
                Ok(())
            }
            (
                PcbKind::S {
                    kind: SKind::Ifs,
                    response: false,
                },
                Phase::Receiving | Phase::Sending { .. },
            ) => {
                self.ifsd = value.unwrap_or(32);
                self.pending = Some(Out::S {
                    kind: SKind::Ifs,
                    response: true,
                    inf: value,
                });
                Ok(())
            }
            (
                PcbKind::S {
                    kind: SKind::Abort,
                    response: false,
                },
                Phase::Receiving | Phase::Sending { .. },
            ) => {
                self.len = 0;
                self.phase = Phase::Receiving;
                self.pending = Some(Out::S {
                    kind: SKind::Abort,
                    response: true,
                    inf: None,
                });
                self.event = Some(CardEvent::Aborted);
                Ok(())
            }
            (
                PcbKind::S {
                    kind: SKind::Wtx,
                    response: true,
                },
                Phase::Processing,
            ) => match self.last {
                Some(Out::S {
                    kind: SKind::Wtx,
                    response: false,
                    inf,
                }) if inf == value => {
                    self.s_outstanding = false;
                    Ok(())
                }
                _ => invalid,
            },
            (
                PcbKind::S {
                    kind: SKind::Ifs,
                    response: true,
                },
                Phase::Processing,
            ) => match self.last {
                Some(Out::S {
                    kind: SKind::Ifs,
                    response: false,
                    inf,
                }) if inf == value => {
                    self.ifsc = value.unwrap_or(32);
                    self.s_outstanding = false;
                    Ok(())
                }
                _ => invalid,
            },
            (PcbKind::R { .. }, Phase::Processing) => {
                // The reader lost our S request: send it again; otherwise it waits for us.
                if let Some(
                    out @ Out::S {
                        response: false, ..
                    },
                ) = self.last
                {
                    self.pending = Some(out);
                }
                Ok(())
            }
            (PcbKind::R { nr, .. }, Phase::Sending { offset }) => {
                if self.cur_more && nr != self.ns {
                    self.ns = !self.ns;
                    let next = offset + self.cur_len;
                    self.phase = Phase::Sending { offset: next };
                    self.send_i(next);
                } else if nr == self.ns {
                    self.send_i(offset);
                } else {
                    // The reader wants our next I-block, so our response went through and its
                    // new command did not: ask for it.
                    self.pending = Some(Out::R {
                        nr: self.nr,
                        code: 0,
                    });
                }
                Ok(())
            }
            (PcbKind::R { .. }, Phase::Receiving) => {
                self.pending = Some(Out::R {
                    nr: self.nr,
                    code: 0,
                });
                Ok(())
            }
            (PcbKind::I { ns, more }, Phase::Receiving | Phase::Sending { .. }) => {
                if ns != self.nr {
                    // A repeat of the reader's I-block we already took: its answer to a stale
                    // block of ours. Answering again would keep two blocks in flight; the
                    // reader's block waiting time covers a real loss.
                    return Ok(());
                }
                if let Phase::Sending { .. } = self.phase {
                    if self.cur_more {
                        return invalid;
                    }
                    // A new command acknowledges our last response block.
                    self.ns = !self.ns;
                    self.phase = Phase::Receiving;
                    self.len = 0;
                }
                let end = self.len + inf.len();
                let Some(dst) = self.buf.get_mut(self.len..end) else {
                    self.pending = Some(Out::S {
                        kind: SKind::Abort,
                        response: false,
                        inf: None,
                    });
                    return Ok(());
                };
                dst.copy_from_slice(inf);
                self.len = end;
                self.nr = !ns;
                if more {
                    self.pending = Some(Out::R {
                        nr: self.nr,
                        code: 0,
                    });
                } else {
                    self.phase = Phase::Processing;
                    self.event = Some(CardEvent::Command { len: self.len });
                }
                Ok(())
            }
            _ => invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::t1::{Edc, MAX_BLOCK, Pcb};
    use std::vec::Vec;

    fn enc(pcb: Pcb, inf: &[u8]) -> Vec<u8> {
        let mut out = [0u8; MAX_BLOCK];
        let b = Block { nad: 0, pcb, inf };
        b.encode(&Edc::Lrc, &mut out).unwrap().to_vec()
    }

    #[test]
    fn a_repeated_i_block_is_dropped_not_answered() {
        let mut c: T1Card<300> = T1Card::new(Config::default());
        let first = enc(Pcb::i(false, true), &[0x00, 0xD6, 0x00]);
        c.handle_input(Instant(0), &first);
        let mut buf = [0u8; MAX_BLOCK];
        let n = c.poll_transmit(&mut buf).unwrap();
        assert_eq!(&buf[..n], &enc(Pcb::r(true, 0), &[])[..]);
        // The reader's answer to a stale block of ours: nothing to say.
        c.handle_input(Instant(10), &first);
        assert_eq!(c.poll_transmit(&mut buf), None);
        c.handle_input(Instant(20), &enc(Pcb::i(true, false), &[0x00, 0x01, 0xAA]));
        assert_eq!(c.poll_event(), Some(CardEvent::Command { len: 6 }));
        assert_eq!(c.command(), &[0x00, 0xD6, 0x00, 0x00, 0x01, 0xAA]);
    }
}
