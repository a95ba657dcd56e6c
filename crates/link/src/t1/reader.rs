//! The interface device's side of T=1 (ISO/IEC 7816-3 §11).

use super::block::{Block, Edc, MAX_BLOCK, MAX_INF, PcbKind, SKind};
use super::rx::{Push, Rx};
use super::{Out, encode_out};
use crate::atr::{Atr, EdcKind};
use crate::{DEFAULT_EXCHANGE_DEADLINE_MICROS, Error, Instant, Timing};

/// T=1 parameters for an engine.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// IFSC: the card's information field size from the ATR (default 32).
    pub ifsc: u8,
    /// IFSD: the information field size the reader wants to receive; when it differs from 32
    /// the engine sends S(IFS request) before the first command (§11.4.2).
    pub ifsd: u8,
    /// The epilogue code (from the first TC for T=1).
    pub edc: Edc,
    /// The NAD the reader sends (SAD in bits 3..1, DAD in bits 7..5; usually 0). Blocks from
    /// the card must carry it with SAD and DAD swapped.
    pub nad: u8,
    /// Block waiting time in microseconds.
    pub bwt_micros: u64,
    /// Character waiting time in microseconds.
    pub cwt_micros: u64,
    /// Time to send one character, in microseconds (12 etu plus extra guard time): the
    /// engine adds the time its own block takes on the line to the block waiting time.
    pub char_micros: u64,
    /// Retransmissions of one block before resynchronising (§11.6.3.2 rule 7.4: 3).
    pub max_retries: u8,
    /// S(RESYNCH) attempts before the link is declared dead (rule 7.4: 3).
    pub max_resynch: u8,
    /// S(WTX) requests accepted during one exchange before giving up, so that a card cannot
    /// keep the reader waiting for ever.
    pub max_wtx: u16,
    /// The longest one exchange may take, from [`T1::start`] to its outcome, in microseconds
    /// (default [`DEFAULT_EXCHANGE_DEADLINE_MICROS`], 60 s: long enough for an on-card RSA
    /// key generation on common cards). S(WTX) counts are bounded by `max_wtx`, but 256
    /// extensions of up to 255 × BWT each would still add up to hours; past this deadline
    /// the exchange ends with [`Error::DeadlineExceeded`]. `u64::MAX` turns it off.
    pub exchange_deadline_micros: u64,
}

impl Config {
    /// Parameters from an ATR's T=1 bytes at the given timing (the F/D in use after PPS and
    /// the clock). IFSD is 254; LRC unless the ATR asks for CRC, with [`Edc::CRC`].
    pub fn from_atr(atr: &Atr, timing: &Timing) -> Self {
        let t1 = atr.t1();
        let n = atr.extra_guard_time();
        // N = 255 means the minimum: 11 etu per character in T=1 (§8.3).
        let char_micros = if n == 255 {
            timing.etus_micros(11)
        } else {
            timing.chars_micros(1, n)
        };
        Self {
            ifsc: t1.ifsc,
            ifsd: 254,
            edc: match t1.edc {
                EdcKind::Lrc => Edc::Lrc,
                EdcKind::Crc => Edc::CRC,
            },
            nad: 0,
            bwt_micros: timing.bwt_micros(t1.bwi),
            cwt_micros: timing.cwt_micros(t1.cwi),
            char_micros,
            max_retries: 3,
            max_resynch: 3,
            max_wtx: 256,
            exchange_deadline_micros: DEFAULT_EXCHANGE_DEADLINE_MICROS,
        }
    }
}

impl Default for Config {
    /// The §11.4 defaults (IFSC 32, IFSD 32, LRC, BWI 4, CWI 13) at 372/1 and 4 MHz.
    fn default() -> Self {
        let t = Timing::new(4_000_000, 372, 1);
        Self {
            ifsc: 32,
            ifsd: 32,
            edc: Edc::Lrc,
            nad: 0,
            bwt_micros: t.bwt_micros(4),
            cwt_micros: t.cwt_micros(13),
            char_micros: t.chars_micros(1, 0),
            max_retries: 3,
            max_resynch: 3,
            max_wtx: 256,
            exchange_deadline_micros: DEFAULT_EXCHANGE_DEADLINE_MICROS,
        }
    }
}

/// What the reader's engine reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The response APDU is complete: [`T1::response`] holds its `len` bytes.
    Response {
        /// Length of the response.
        len: usize,
    },
    /// The exchange failed cleanly; the engine is idle again (or dead: see
    /// [`T1::is_dead`]).
    Failed(Error),
}

/// Counters for tests, benchmarks and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Blocks sent.
    pub blocks_sent: u32,
    /// Blocks received and valid.
    pub blocks_received: u32,
    /// Invalid blocks received.
    pub invalid_blocks: u32,
    /// Block waiting time expiries.
    pub timeouts: u32,
    /// Retransmissions (of any block, R-blocks included).
    pub retransmissions: u32,
    /// S(RESYNCH) requests sent.
    pub resynchs: u32,
    /// S(WTX) requests answered.
    pub wtx: u32,
    /// Bytes received while no block was expected (dropped).
    pub bytes_dropped: u32,
    /// Valid blocks dropped as stale: a repeat of an I-block already acknowledged, or any
    /// block but the answer while resynchronising.
    pub stale_blocks: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    /// S(IFS request) for IFSD sent, command waiting.
    Ifs,
    /// Sending the command chain; `offset` is the start of the unacknowledged block.
    Sending {
        offset: usize,
    },
    /// Receiving the response chain.
    Receiving,
    /// S(RESYNCH request) sent; `then_send` when the command is still to be sent afterwards.
    Resynch {
        then_send: bool,
    },
    /// S(ABORT request) sent.
    Abort,
    Dead,
}

/// The reader (interface device) side of T=1: carries one command APDU at a time to the card
/// and its response back, with chaining, S(IFS), S(WTX), S(ABORT), S(RESYNCH) and the error
/// recovery rules of ISO/IEC 7816-3 §11.6.3. `N` is the APDU buffer size (command and
/// response share it: the response starts arriving only once the command is through).
///
/// # Driving order
/// 1. [`T1::start`]`(now, apdu)` hands a command over.
/// 2. Loop:
///    - while [`T1::poll_transmit`]`(buf)` gives `Some(n)`, write `buf[..n]` to the card;
///    - if [`T1::poll_event`] gives an event, the exchange is over
///      ([`Event::Response`]: read [`T1::response`]);
///    - wait for bytes from the card until [`T1::poll_timeout`]; give bytes to
///      [`T1::handle_input`]`(now, bytes)` as they arrive, or call
///      [`T1::handle_timeout`]`(now)` once the deadline has passed.
///
/// `now` is the caller's clock ([`Instant`], microseconds); the engine never reads a clock.
/// Deadlines are counted from the `now` of the call that produced the block to send, plus
/// the block's own time on the line, so pass a fresh `now`. Every loop is bounded: at most
/// `max_retries` retransmissions per block, `max_resynch` resynchronisations, then
/// [`Error::Dead`]; at most `max_wtx` waiting-time extensions per exchange, and every
/// exchange ends by `exchange_deadline_micros` after its `start` ([`Error::DeadlineExceeded`]).
///
/// ```
/// use cardwire_link::t1::{Config, Event, T1, T1Card, CardEvent, MAX_BLOCK};
/// use cardwire_link::Instant;
/// let mut reader: T1<300> = T1::new(Config::default());
/// let mut card: T1Card<300> = T1Card::new(Config::default());
/// let now = Instant(0);
/// reader.start(now, &[0x00, 0xB0, 0x00, 0x00, 0x02])?;
/// let mut buf = [0u8; MAX_BLOCK];
/// let response = loop {
///     while let Some(n) = reader.poll_transmit(&mut buf) { card.handle_input(now, &buf[..n]); }
///     if let Some(CardEvent::Command { .. }) = card.poll_event() { card.respond(&[0xCA, 0xFE, 0x90, 0x00])?; }
///     while let Some(n) = card.poll_transmit(&mut buf) { reader.handle_input(now, &buf[..n]); }
///     match reader.poll_event() {
///         Some(Event::Response { .. }) => break reader.response().to_vec(),
///         Some(Event::Failed(e)) => return Err(e),
///         None => {}
///     }
/// };
/// assert_eq!(response, [0xCA, 0xFE, 0x90, 0x00]);
/// # Ok::<(), cardwire_link::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct T1<const N: usize> {
    cfg: Config,
    ifsc: u8,
    ifsd: u8,
    ifsd_pending: bool,
    buf: [u8; N],
    cmd_len: usize,
    rsp_len: usize,
    cur_len: usize,
    cur_more: bool,
    ns: bool,
    nr: bool,
    phase: Phase,
    last: Option<Out>,
    pending: Option<Out>,
    rx: Rx,
    deadline: Option<Instant>,
    /// The block waiting deadline of the last block sent (restored after a stale block).
    block_deadline: Option<Instant>,
    /// When the running exchange must be over (`start`'s `now` plus the configured limit).
    exchange_deadline: Instant,
    now: Instant,
    wtx: u8,
    retries: u8,
    resynchs: u8,
    wtx_count: u16,
    desync: bool,
    event: Option<Event>,
    stats: Stats,
}

impl<const N: usize> T1<N> {
    /// A fresh engine, as after an ATR (sequence numbers 0, IFSD 32 until negotiated).
    pub fn new(cfg: Config) -> Self {
        let ifsd = if cfg.ifsd == 0 || usize::from(cfg.ifsd) > MAX_INF {
            32
        } else {
            cfg.ifsd
        };
        Self {
            cfg,
            ifsc: if cfg.ifsc == 0 || usize::from(cfg.ifsc) > MAX_INF {
                32
            } else {
                cfg.ifsc
            },
            ifsd: 32,
            ifsd_pending: ifsd != 32,
            buf: [0; N],
            cmd_len: 0,
            rsp_len: 0,
            cur_len: 0,
            cur_more: false,
            ns: false,
            nr: false,
            phase: Phase::Idle,
            last: None,
            pending: None,
            rx: Rx::new(),
            deadline: None,
            block_deadline: None,
            exchange_deadline: Instant(u64::MAX),
            now: Instant(0),
            wtx: 1,
            retries: 0,
            resynchs: 0,
            wtx_count: 0,
            desync: false,
            event: None,
            stats: Stats::default(),
        }
        .with_ifsd(ifsd)
    }

    fn with_ifsd(mut self, ifsd: u8) -> Self {
        self.cfg.ifsd = ifsd;
        self
    }

    /// Back to the state after an ATR (after the caller reset the card): leaves the dead
    /// state.
    pub fn reset(&mut self) {
        *self = Self::new(self.cfg);
    }

    /// Starts carrying `apdu` to the card.
    ///
    /// # Errors
    /// [`Error::Busy`] while an exchange runs, [`Error::Dead`] after failed recovery,
    /// [`Error::ApduTooLong`] when `apdu` does not fit the buffer; nothing changes then.
    pub fn start(&mut self, now: Instant, apdu: &[u8]) -> Result<(), Error> {
        match self.phase {
            Phase::Idle => {}
            Phase::Dead => return Err(Error::Dead),
            _ => return Err(Error::Busy),
        }
        let dst = self.buf.get_mut(..apdu.len()).ok_or(Error::ApduTooLong {
            len: apdu.len(),
            capacity: N,
        })?;
        dst.copy_from_slice(apdu);
        self.cmd_len = apdu.len();
        self.rsp_len = 0;
        self.now = now;
        self.exchange_deadline = now.add_micros(self.cfg.exchange_deadline_micros);
        self.event = None;
        self.retries = 0;
        self.resynchs = 0;
        self.wtx_count = 0;
        self.rx.clear();
        if self.desync {
            self.begin_resynch(true);
        } else if self.ifsd_pending {
            self.phase = Phase::Ifs;
            self.send(Out::S {
                kind: SKind::Ifs,
                response: false,
                inf: Some(self.cfg.ifsd),
            });
        } else {
            self.phase = Phase::Sending { offset: 0 };
            self.send_i(0);
        }
        Ok(())
    }

    /// Asks the card to abort the running exchange with S(ABORT request) (§11.6.2.3); the
    /// exchange then ends with [`Error::Aborted`].
    ///
    /// # Errors
    /// [`Error::Busy`] when no exchange runs.
    pub fn abort(&mut self, now: Instant) -> Result<(), Error> {
        match self.phase {
            Phase::Sending { .. } | Phase::Receiving | Phase::Ifs => {
                self.now = now;
                self.phase = Phase::Abort;
                self.retries = 0;
                self.send(Out::S {
                    kind: SKind::Abort,
                    response: false,
                    inf: None,
                });
                Ok(())
            }
            _ => Err(Error::Busy),
        }
    }

    /// The next block to send, written to `buf` (which should hold [`MAX_BLOCK`] bytes);
    /// `None` when there is nothing to send.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        let out = self.pending.take()?;
        match encode_out(
            out,
            self.cfg.nad,
            self.buf.get(..self.cmd_len).unwrap_or(&[]),
            &self.cfg.edc,
            buf,
        ) {
            Ok(n) => {
                self.last = Some(out);
                self.stats.blocks_sent += 1;
                self.rx.clear();
                let wait = self
                    .cfg
                    .bwt_micros
                    .saturating_mul(u64::from(self.wtx.max(1)));
                self.wtx = 1;
                let on_line = self.cfg.char_micros.saturating_mul(n as u64);
                self.deadline = Some(self.now.add_micros(on_line.saturating_add(wait)));
                if matches!(self.phase, Phase::Idle | Phase::Dead) {
                    // A closing S(... response): nothing comes back.
                    self.deadline = None;
                }
                self.block_deadline = self.deadline;
                Some(n)
            }
            Err(e) => {
                self.fail(e);
                None
            }
        }
    }

    /// The instant at which [`T1::handle_timeout`] must be called if no byte arrives: the
    /// block or character waiting time, or the exchange deadline when that comes first.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.pending.is_some() {
            None
        } else {
            self.deadline.map(|d| d.min(self.exchange_deadline))
        }
    }

    /// Ends the running exchange with [`Error::DeadlineExceeded`] once `now` is past its
    /// deadline; true when it did. The card may still be working on the command, so the
    /// next exchange starts with S(RESYNCH) (§11.6.3.3).
    fn check_exchange_deadline(&mut self, now: Instant) -> bool {
        let running = !matches!(self.phase, Phase::Idle | Phase::Dead);
        if running && self.event.is_none() && now >= self.exchange_deadline {
            self.desync = true;
            self.pending = None;
            self.rx.clear();
            self.fail(Error::DeadlineExceeded);
            return true;
        }
        false
    }

    /// The outcome of the exchange, once.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.event.take()
    }

    /// The response APDU after [`Event::Response`].
    pub fn response(&self) -> &[u8] {
        self.buf.get(..self.rsp_len).unwrap_or(&[])
    }

    /// Whether recovery failed and only a reset helps.
    pub fn is_dead(&self) -> bool {
        self.phase == Phase::Dead
    }

    /// Whether no exchange runs.
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Idle
    }

    /// The card's information field size in force.
    pub fn ifsc(&self) -> u8 {
        self.ifsc
    }

    /// The reader's information field size in force.
    pub fn ifsd(&self) -> u8 {
        self.ifsd
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The parameters the engine was built with (IFSD as adjusted by [`T1::new`]).
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Bytes from the card, received at `now`. Bytes that arrive when no block is expected
    /// are dropped; a block followed by more bytes in the same call is invalid.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        self.now = now;
        if self.check_exchange_deadline(now) || bytes.is_empty() {
            return;
        }
        if self.pending.is_some() || matches!(self.phase, Phase::Idle | Phase::Dead) {
            self.stats.bytes_dropped = self.stats.bytes_dropped.saturating_add(bytes.len() as u32);
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
                match result {
                    Ok(()) => {}
                    Err(Error::InvalidBlock(super::BlockFault::Edc)) => self.on_error(1),
                    Err(_) => self.on_error(2),
                }
                self.rx.clear();
            }
        }
    }

    /// Call when [`T1::poll_timeout`]'s instant has passed without input.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.pending.is_none() && self.check_exchange_deadline(now) {
            return;
        }
        match self.deadline {
            Some(d) if now >= d && self.pending.is_none() => {
                self.deadline = None;
                self.stats.timeouts += 1;
                // A character that came too late makes the block invalid; silence is a
                // BWT expiry. Both are "other errors" for the R-block.
                self.rx.clear();
                self.on_error(2);
            }
            _ => {}
        }
    }

    fn expected_nad(&self) -> u8 {
        let n = self.cfg.nad;
        ((n & 0x07) << 4) | ((n >> 4) & 0x07)
    }

    fn i_block(&self, offset: usize) -> Out {
        let remaining = self.cmd_len.saturating_sub(offset);
        let len = remaining.min(usize::from(self.ifsc));
        Out::I {
            offset,
            len,
            ns: self.ns,
            more: remaining > len,
        }
    }

    fn send_i(&mut self, offset: usize) {
        let out = self.i_block(offset);
        if let Out::I { len, more, .. } = out {
            self.cur_len = len;
            self.cur_more = more;
        }
        self.send(out);
    }

    fn send(&mut self, out: Out) {
        self.pending = Some(out);
    }

    fn fail(&mut self, e: Error) {
        self.phase = if e == Error::Dead {
            Phase::Dead
        } else {
            Phase::Idle
        };
        self.deadline = None;
        self.event = Some(Event::Failed(e));
    }

    fn begin_resynch(&mut self, then_send: bool) {
        self.phase = Phase::Resynch { then_send };
        self.resynchs = self.resynchs.saturating_add(1);
        self.retries = 0;
        self.stats.resynchs += 1;
        self.send(Out::S {
            kind: SKind::Resynch,
            response: false,
            inf: None,
        });
    }

    /// Rule 7: an invalid block or a timeout.
    fn on_error(&mut self, code: u8) {
        if let Phase::Resynch { .. } = self.phase {
            if self.resynchs >= self.cfg.max_resynch {
                self.fail(Error::Dead);
            } else {
                let then_send = matches!(self.phase, Phase::Resynch { then_send: true });
                self.begin_resynch(then_send);
            }
            return;
        }
        self.retries = self.retries.saturating_add(1);
        if self.retries > self.cfg.max_retries {
            self.desync = true;
            self.begin_resynch(false);
            return;
        }
        self.stats.retransmissions += 1;
        let out = match self.last {
            Some(
                out @ Out::S {
                    response: false, ..
                },
            ) => out,
            _ => Out::R { nr: self.nr, code },
        };
        self.send(out);
    }

    fn check_block(&mut self) -> Result<(), Error> {
        let edc = self.cfg.edc;
        let block = Block::decode(self.rx.bytes(), &edc, usize::from(self.ifsd))?;
        if block.nad != self.expected_nad() {
            return Err(Error::InvalidBlock(super::BlockFault::WrongNad));
        }
        let kind = block
            .pcb
            .kind()
            .ok_or(Error::InvalidBlock(super::BlockFault::BadPcb))?;
        let value = block.inf.first().copied();
        let inf_len = block.inf.len();
        self.stats.blocks_received += 1;
        let mut inf = [0u8; MAX_INF];
        if let Some(dst) = inf.get_mut(..inf_len) {
            dst.copy_from_slice(block.inf);
        }
        self.on_block(kind, value, inf.get(..inf_len).unwrap_or(&[]))
    }

    fn on_block(&mut self, kind: PcbKind, value: Option<u8>, inf: &[u8]) -> Result<(), Error> {
        let invalid = Err(Error::InvalidBlock(super::BlockFault::BadPcb));
        match (kind, self.phase) {
            // Card requests first: rules 3 (WTX), 4 (IFS) and 9 (ABORT).
            (
                PcbKind::S {
                    kind: SKind::Wtx,
                    response: false,
                },
                Phase::Sending { .. } | Phase::Receiving,
            ) => {
                self.wtx_count = self.wtx_count.saturating_add(1);
                self.stats.wtx += 1;
                if self.wtx_count > self.cfg.max_wtx {
                    self.desync = true;
                    self.fail(Error::WtxLimit);
                    return Ok(());
                }
                self.retries = 0;
                self.wtx = value.unwrap_or(1).max(1);
                self.send(Out::S {
                    kind: SKind::Wtx,
                    response: true,
                    inf: value,
                });
                Ok(())
            }
            (
                PcbKind::S {
                    kind: SKind::Ifs,
                    response: false,
                },
                Phase::Sending { .. } | Phase::Receiving,
            ) => {
                let ifsc = value.unwrap_or(32);
                self.ifsc = if usize::from(ifsc) > MAX_INF {
                    MAX_INF as u8
                } else {
                    ifsc
                };
                self.retries = 0;
                self.send(Out::S {
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
                Phase::Sending { .. } | Phase::Receiving,
            ) => {
                self.phase = Phase::Idle;
                self.send(Out::S {
                    kind: SKind::Abort,
                    response: true,
                    inf: None,
                });
                self.event = Some(Event::Failed(Error::Aborted));
                Ok(())
            }
            (
                PcbKind::S {
                    kind: SKind::Ifs,
                    response: true,
                },
                Phase::Ifs,
            ) => {
                if value != Some(self.cfg.ifsd) {
                    return invalid;
                }
                self.ifsd = self.cfg.ifsd;
                self.ifsd_pending = false;
                self.retries = 0;
                self.phase = Phase::Sending { offset: 0 };
                self.send_i(0);
                Ok(())
            }
            (
                PcbKind::S {
                    kind: SKind::Resynch,
                    response: true,
                },
                Phase::Resynch { then_send },
            ) => {
                self.ns = false;
                self.nr = false;
                self.ifsc = if self.cfg.ifsc == 0 || usize::from(self.cfg.ifsc) > MAX_INF {
                    32
                } else {
                    self.cfg.ifsc
                };
                self.ifsd = 32;
                self.ifsd_pending = self.cfg.ifsd != 32;
                self.desync = false;
                self.retries = 0;
                self.rsp_len = 0;
                if then_send {
                    self.resynchs = 0;
                    if self.ifsd_pending {
                        self.phase = Phase::Ifs;
                        self.send(Out::S {
                            kind: SKind::Ifs,
                            response: false,
                            inf: Some(self.cfg.ifsd),
                        });
                    } else {
                        self.phase = Phase::Sending { offset: 0 };
                        self.send_i(0);
                    }
                } else {
                    self.fail(Error::Resynchronized);
                }
                Ok(())
            }
            (
                PcbKind::S {
                    kind: SKind::Abort,
                    response: true,
                },
                Phase::Abort,
            ) => {
                // The card's chain (if any) is dropped; sequence numbers may now disagree.
                self.desync = true;
                self.fail(Error::Aborted);
                Ok(())
            }
            (PcbKind::R { nr, .. }, Phase::Sending { offset }) => {
                if self.cur_more && nr != self.ns {
                    // Rule 5: chain acknowledged, send the next block.
                    self.ns = !self.ns;
                    self.retries = 0;
                    let next = offset + self.cur_len;
                    self.phase = Phase::Sending { offset: next };
                    self.send_i(next);
                    Ok(())
                } else if nr == self.ns {
                    // Rule 7.2: the card asks for the block again.
                    if self.count_retry() {
                        self.send_i(offset);
                    }
                    Ok(())
                } else {
                    invalid
                }
            }
            (PcbKind::R { .. }, Phase::Receiving) => {
                // Our acknowledgement was lost: send it again.
                if self.count_retry() {
                    self.send(Out::R {
                        nr: self.nr,
                        code: 0,
                    });
                }
                Ok(())
            }
            (PcbKind::I { ns, more }, Phase::Sending { offset }) => {
                let _ = offset;
                if ns != self.nr || self.cur_more {
                    return invalid;
                }
                // Rule 2: the response acknowledges our last block.
                self.ns = !self.ns;
                self.phase = Phase::Receiving;
                self.rsp_len = 0;
                self.accept_i(ns, more, inf)
            }
            (PcbKind::I { ns, more }, Phase::Receiving) => {
                if ns != self.nr {
                    // The I-block we already acknowledged, again: the card answered a stale
                    // R-block of ours that crossed its block on the line. Our acknowledgement
                    // is already on its way, so answering again would keep two blocks in
                    // flight for ever; drop it and keep waiting (BWT still covers a loss).
                    self.stats.stale_blocks = self.stats.stale_blocks.saturating_add(1);
                    self.deadline = self.block_deadline;
                    return Ok(());
                }
                self.accept_i(ns, more, inf)
            }
            (_, Phase::Resynch { .. }) => {
                // A valid block that is not the S(RESYNCH response) was sent before the card
                // saw our request (it crossed it on the line): the answer may still follow
                // within BWT, so waiting costs no resynchronisation attempt (§11.6.3.3 counts
                // attempts without a valid response, not blocks that came too early).
                self.stats.stale_blocks = self.stats.stale_blocks.saturating_add(1);
                self.deadline = self.block_deadline;
                Ok(())
            }
            _ => invalid,
        }
    }

    /// Counts a retransmission; false when the limit is reached and a resynchronisation
    /// was started instead (rule 7.4).
    fn count_retry(&mut self) -> bool {
        self.retries = self.retries.saturating_add(1);
        if self.retries > self.cfg.max_retries {
            self.desync = true;
            self.begin_resynch(false);
            return false;
        }
        self.stats.retransmissions += 1;
        true
    }

    fn accept_i(&mut self, ns: bool, more: bool, inf: &[u8]) -> Result<(), Error> {
        let end = self.rsp_len + inf.len();
        let Some(dst) = self.buf.get_mut(self.rsp_len..end) else {
            // The response does not fit: give up on this exchange and resynchronise
            // before the next one.
            self.desync = true;
            self.fail(Error::ApduTooLong {
                len: end,
                capacity: N,
            });
            return Ok(());
        };
        dst.copy_from_slice(inf);
        self.rsp_len = end;
        self.nr = !ns;
        self.retries = 0;
        if more {
            self.send(Out::R {
                nr: self.nr,
                code: 0,
            });
        } else {
            self.phase = Phase::Idle;
            self.deadline = None;
            self.last = None;
            self.event = Some(Event::Response { len: self.rsp_len });
        }
        Ok(())
    }
}

const _: () = assert!(MAX_BLOCK == 259);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::t1::Pcb;
    use std::vec::Vec;

    fn enc(pcb: Pcb, inf: &[u8]) -> Vec<u8> {
        let mut out = [0u8; MAX_BLOCK];
        let b = Block { nad: 0, pcb, inf };
        b.encode(&Edc::Lrc, &mut out).unwrap().to_vec()
    }

    fn sent(r: &mut T1<300>) -> Pcb {
        let mut buf = [0u8; MAX_BLOCK];
        let n = r.poll_transmit(&mut buf).expect("a block to send");
        Block::decode(&buf[..n], &Edc::Lrc, MAX_INF).unwrap().pcb
    }

    #[test]
    fn a_repeated_i_block_is_dropped_not_answered() {
        let mut r: T1<300> = T1::new(Config::default());
        r.start(Instant(0), &[0x00, 0xB0, 0x00, 0x00, 0x22])
            .unwrap();
        assert_eq!(sent(&mut r), Pcb::i(false, false));
        let first = enc(Pcb::i(false, true), &[1; 32]);
        r.handle_input(Instant(100), &first);
        assert_eq!(sent(&mut r), Pcb::r(true, 0));
        let due = r.poll_timeout();
        // The card answered a stale block of ours with the same I-block: already taken.
        r.handle_input(Instant(200), &first);
        let mut buf = [0u8; MAX_BLOCK];
        assert_eq!(r.poll_transmit(&mut buf), None);
        assert_eq!(r.poll_timeout(), due);
        assert_eq!(r.stats().stale_blocks, 1);
        assert_eq!(r.stats().retransmissions, 0);
        r.handle_input(Instant(300), &enc(Pcb::i(true, false), &[2, 0x90, 0x00]));
        assert_eq!(r.poll_event(), Some(Event::Response { len: 35 }));
        assert_eq!(&r.response()[30..], &[1, 1, 2, 0x90, 0x00]);
    }

    #[test]
    fn stale_blocks_cost_no_resynchronisation_attempt() {
        let mut r: T1<300> = T1::new(Config::default());
        r.start(Instant(0), &[0x00, 0xB0, 0x00, 0x00, 0x02])
            .unwrap();
        assert_eq!(sent(&mut r), Pcb::i(false, false));
        // Silence: three R-blocks (rule 7.1), then S(RESYNCH request) (rule 6).
        for _ in 0..3 {
            let due = r.poll_timeout().unwrap();
            r.handle_timeout(due);
            assert_eq!(sent(&mut r), Pcb::r(false, 2));
        }
        let due = r.poll_timeout().unwrap();
        r.handle_timeout(due);
        assert_eq!(sent(&mut r), Pcb::s(SKind::Resynch, false));
        let due = r.poll_timeout().unwrap();
        // Late answers to the earlier blocks, all valid, all before the resynch response:
        // more than max_resynch of them would have declared the link dead.
        let late = [
            enc(Pcb::i(false, false), &[0xCA, 0xFE, 0x90, 0x00]),
            enc(Pcb::i(false, false), &[0xCA, 0xFE, 0x90, 0x00]),
            enc(Pcb::r(false, 0), &[]),
            enc(Pcb::s(SKind::Wtx, false), &[1]),
        ];
        let mut buf = [0u8; MAX_BLOCK];
        for (i, b) in late.iter().enumerate() {
            r.handle_input(Instant(due.0 - 100 + i as u64), b);
            assert_eq!(r.poll_transmit(&mut buf), None);
            assert_eq!(r.poll_event(), None);
            assert_eq!(r.poll_timeout(), Some(due));
        }
        assert_eq!(r.stats().stale_blocks, 4);
        r.handle_input(Instant(due.0 - 1), &enc(Pcb::s(SKind::Resynch, true), &[]));
        assert_eq!(r.poll_event(), Some(Event::Failed(Error::Resynchronized)));
        assert_eq!(r.stats().resynchs, 1);
        assert!(!r.is_dead());
    }

    #[test]
    fn a_corrupted_block_while_resynchronising_still_counts() {
        let mut r: T1<300> = T1::new(Config::default());
        r.start(Instant(0), &[0x00, 0xB0, 0x00, 0x00, 0x02])
            .unwrap();
        let _ = sent(&mut r);
        for _ in 0..4 {
            let due = r.poll_timeout().unwrap();
            r.handle_timeout(due);
            let _ = sent(&mut r);
        }
        let mut bad = enc(Pcb::s(SKind::Resynch, true), &[]);
        bad[3] ^= 0x01;
        for attempt in 1..=3 {
            let due = r.poll_timeout().unwrap();
            r.handle_input(Instant(due.0 - 1), &bad);
            if attempt < 3 {
                assert_eq!(sent(&mut r), Pcb::s(SKind::Resynch, false));
            }
        }
        assert_eq!(r.poll_event(), Some(Event::Failed(Error::Dead)));
        assert!(r.is_dead());
    }

    #[test]
    fn the_exchange_deadline_bounds_the_timeout_and_resynchronises_next() {
        let cfg = Config {
            exchange_deadline_micros: 1_000,
            ..Config::default()
        };
        let mut r: T1<300> = T1::new(cfg);
        r.start(Instant(10), &[0x00, 0xB0, 0x00, 0x00, 0x02])
            .unwrap();
        let _ = sent(&mut r);
        assert_eq!(r.poll_timeout(), Some(Instant(1_010)));
        r.handle_timeout(Instant(1_009));
        assert_eq!(r.poll_event(), None);
        r.handle_timeout(Instant(1_010));
        assert_eq!(r.poll_event(), Some(Event::Failed(Error::DeadlineExceeded)));
        assert!(r.is_idle());
        // The card may still be busy with the command: resynchronise before the next one.
        r.start(Instant(2_000), &[0x00, 0xB0, 0x00, 0x00, 0x02])
            .unwrap();
        assert_eq!(sent(&mut r), Pcb::s(SKind::Resynch, false));
        // Input that arrives after the deadline ends the exchange too.
        r.handle_input(Instant(3_000), &enc(Pcb::s(SKind::Resynch, true), &[]));
        assert_eq!(r.poll_event(), Some(Event::Failed(Error::DeadlineExceeded)));
    }
}
