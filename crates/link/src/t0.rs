//! T=0, the half-duplex character protocol (ISO/IEC 7816-3 §10), as sans-IO engines:
//! [`T0`] carries a command APDU over TPDUs with procedure bytes (§10.3.3) and the APDU
//! mapping of §12.2 (all four cases, GET RESPONSE on `61xx`, re-send on `6Cxx`, extended APDUs
//! through ENVELOPE and GET RESPONSE); [`T0Card`] is the card's byte-level side for tests.

use cardwire_apdu::{Case, Command, Ins};

use crate::{Error, Instant, Timing};

/// T=0 parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct T0Config {
    /// Work waiting time WT in microseconds (§10.2): the longest silence allowed from the card.
    pub wwt_micros: u64,
    /// Time to send one character, in microseconds (added for the reader's own bytes).
    pub char_micros: u64,
    /// NULL (`60`) procedure bytes accepted per exchange, so a card cannot stall for ever.
    pub max_nulls: u32,
    /// GET RESPONSE commands per exchange (default
    /// [`cardwire_apdu::exchange::MAX_GET_RESPONSE`], the one limit of the whole stack).
    pub max_get_response: u16,
    /// `6Cxx` re-sends per exchange.
    pub max_resend: u8,
    /// The longest one exchange may take, from [`T0::start`] to its outcome (GET RESPONSEs
    /// and ENVELOPEs included), in microseconds (default
    /// [`crate::DEFAULT_EXCHANGE_DEADLINE_MICROS`], 60 s: long enough for an on-card RSA key
    /// generation). `max_nulls` NULL bytes of up to WT each could add up to hours; past this
    /// deadline the exchange ends with [`Error::DeadlineExceeded`]. `u64::MAX` turns it off.
    pub exchange_deadline_micros: u64,
}

impl T0Config {
    /// From the waiting time integer (TC2, [`crate::atr::Atr::wi`]) and the timing in use.
    pub fn new(wi: u8, timing: &Timing, n: u8) -> Self {
        Self {
            wwt_micros: timing.wt_micros(wi),
            char_micros: timing.chars_micros(1, if n == 255 { 0 } else { n }),
            max_nulls: 10_000,
            max_get_response: cardwire_apdu::exchange::MAX_GET_RESPONSE,
            max_resend: 3,
            exchange_deadline_micros: crate::DEFAULT_EXCHANGE_DEADLINE_MICROS,
        }
    }
}

impl Default for T0Config {
    fn default() -> Self {
        Self::new(10, &Timing::new(4_000_000, 372, 1), 0)
    }
}

/// What the T=0 engine reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T0Event {
    /// The response (data and SW1 SW2) is in [`T0::response`].
    Response {
        /// Its length.
        len: usize,
    },
    /// The exchange failed; after [`Error::Timeout`] or [`Error::ProtocolViolation`] the
    /// engine is dead until [`T0::reset`].
    Failed(Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    None,
    /// Command data `cmd[pos..end]` still to send.
    Out {
        pos: usize,
        end: usize,
    },
    /// Response bytes still to receive.
    In {
        remaining: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Main,
    Envelope { next: usize },
    GetResponse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Idle,
    Procedure,
    Receive { count: usize },
    Sw2 { sw1: u8 },
    Dead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Header,
    Data { pos: usize, len: usize },
}

/// The reader side of T=0.
///
/// # Driving order
/// Exactly as [`crate::t1::T1`]: [`T0::start`], then loop over [`T0::poll_transmit`] (write
/// the bytes), [`T0::poll_event`] (done?), and wait for card bytes until [`T0::poll_timeout`],
/// feeding [`T0::handle_input`] or calling [`T0::handle_timeout`]. The work waiting time
/// restarts with every character from the card, NULL bytes included; the number of NULL
/// bytes, GET RESPONSEs and re-sends per exchange is bounded by [`T0Config`], and so is the
/// whole exchange's duration (`exchange_deadline_micros`, [`Error::DeadlineExceeded`]).
///
/// ```
/// use cardwire_link::t0::{T0, T0Config, T0Event};
/// use cardwire_link::Instant;
/// let mut t0: T0<300> = T0::new(T0Config::default());
/// // Case 2: READ BINARY, Le = 2.
/// t0.start(Instant(0), &[0x00, 0xB0, 0x00, 0x00, 0x02])?;
/// let mut buf = [0u8; 300];
/// assert_eq!(t0.poll_transmit(&mut buf), Some(5));
/// assert_eq!(&buf[..5], &[0x00, 0xB0, 0x00, 0x00, 0x02]);
/// // The card: procedure byte INS, two data bytes, SW 90 00.
/// t0.handle_input(Instant(10), &[0xB0, 0xCA, 0xFE, 0x90, 0x00]);
/// assert_eq!(t0.poll_event(), Some(T0Event::Response { len: 4 }));
/// assert_eq!(t0.response(), &[0xCA, 0xFE, 0x90, 0x00]);
/// # Ok::<(), cardwire_link::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct T0<const N: usize> {
    cfg: T0Config,
    cmd: [u8; N],
    cmd_len: usize,
    case: Case,
    data_off: usize,
    nc: usize,
    ne: usize,
    rsp: [u8; N],
    rsp_len: usize,
    header: [u8; 5],
    dir: Dir,
    stage: Stage,
    wire: Wire,
    pending: Option<Pending>,
    deadline: Option<Instant>,
    exchange_deadline: Instant,
    now: Instant,
    nulls: u32,
    get_responses: u16,
    resends: u8,
    event: Option<T0Event>,
}

impl<const N: usize> T0<N> {
    /// A fresh engine.
    pub fn new(cfg: T0Config) -> Self {
        Self {
            cfg,
            cmd: [0; N],
            cmd_len: 0,
            case: Case::Case1,
            data_off: 0,
            nc: 0,
            ne: 0,
            rsp: [0; N],
            rsp_len: 0,
            header: [0; 5],
            dir: Dir::None,
            stage: Stage::Main,
            wire: Wire::Idle,
            pending: None,
            deadline: None,
            exchange_deadline: Instant(u64::MAX),
            now: Instant(0),
            nulls: 0,
            get_responses: 0,
            resends: 0,
            event: None,
        }
    }

    /// Leaves the dead state (after the caller reset the card).
    pub fn reset(&mut self) {
        *self = Self::new(self.cfg);
    }

    /// Whether the engine gave up (timeout or protocol violation) and needs a card reset.
    pub fn is_dead(&self) -> bool {
        self.wire == Wire::Dead
    }

    /// The parameters the engine was built with.
    pub fn config(&self) -> &T0Config {
        &self.cfg
    }

    /// Starts carrying the command APDU `apdu`.
    ///
    /// # Errors
    /// [`Error::Busy`], [`Error::Dead`], [`Error::ApduTooLong`], [`Error::InvalidApdu`] (not a
    /// valid command APDU); nothing changes then.
    pub fn start(&mut self, now: Instant, apdu: &[u8]) -> Result<(), Error> {
        match self.wire {
            Wire::Idle => {}
            Wire::Dead => return Err(Error::Dead),
            _ => return Err(Error::Busy),
        }
        let view = Command::new_checked(apdu).map_err(|_| Error::InvalidApdu)?;
        let dst = self.cmd.get_mut(..apdu.len()).ok_or(Error::ApduTooLong {
            len: apdu.len(),
            capacity: N,
        })?;
        dst.copy_from_slice(apdu);
        self.cmd_len = apdu.len();
        self.case = view.case();
        self.nc = view.nc();
        self.ne = view.ne() as usize;
        // Data follow the header and Lc (1 byte short, 3 bytes extended).
        self.data_off = if self.nc == 0 {
            4
        } else {
            apdu.len() - self.nc - self.le_len(&view)
        };
        self.rsp_len = 0;
        self.now = now;
        self.exchange_deadline = now.add_micros(self.cfg.exchange_deadline_micros);
        self.nulls = 0;
        self.get_responses = 0;
        self.resends = 0;
        self.event = None;
        let [cla, ins, p1, p2] = [view.cla().0, view.ins().0, view.p1(), view.p2()];
        if self.nc > 255 {
            // Case 3E/4E with more than 255 bytes: the whole APDU goes in ENVELOPEs.
            self.stage = Stage::Envelope { next: 0 };
            self.send_envelope(cla, 0);
        } else {
            self.stage = Stage::Main;
            let (p3, dir) = match self.case {
                Case::Case1 => (0, Dir::None),
                Case::Case2Short | Case::Case2Extended => {
                    let n = self.ne.min(256);
                    (n as u8, Dir::In { remaining: n })
                }
                _ => (
                    self.nc as u8,
                    Dir::Out {
                        pos: self.data_off,
                        end: self.data_off + self.nc,
                    },
                ),
            };
            self.send_header([cla, ins, p1, p2, p3], dir);
        }
        Ok(())
    }

    fn le_len(&self, view: &Command<&[u8]>) -> usize {
        match view.case() {
            Case::Case4Short => 1,
            Case::Case4Extended => 2,
            _ => 0,
        }
    }

    fn send_header(&mut self, header: [u8; 5], dir: Dir) {
        self.header = header;
        self.dir = dir;
        self.wire = Wire::Procedure;
        self.pending = Some(Pending::Header);
    }

    fn send_envelope(&mut self, cla: u8, from: usize) {
        let len = self.cmd_len.saturating_sub(from).min(255);
        self.stage = Stage::Envelope { next: from + len };
        self.send_header(
            [cla, Ins::ENVELOPE.0, 0, 0, len as u8],
            Dir::Out {
                pos: from,
                end: from + len,
            },
        );
    }

    fn get_response(&mut self, sw2: u8) {
        self.get_responses = self.get_responses.saturating_add(1);
        let offered = if sw2 == 0 { 256 } else { usize::from(sw2) };
        let room = if self.ne == 0 {
            offered
        } else {
            self.ne.saturating_sub(self.rsp_len)
        };
        let n = offered.min(room);
        if n == 0 || self.get_responses > self.cfg.max_get_response {
            self.finish(0x61, sw2);
            return;
        }
        let cla = cardwire_apdu::Cla(self.cmd.first().copied().unwrap_or(0))
            .interindustry_on_same_channel()
            .0;
        self.stage = Stage::GetResponse;
        self.send_header(
            [cla, Ins::GET_RESPONSE.0, 0, 0, n as u8],
            Dir::In { remaining: n },
        );
    }

    fn finish(&mut self, sw1: u8, sw2: u8) {
        self.wire = Wire::Idle;
        self.deadline = None;
        match self.rsp.get_mut(self.rsp_len..self.rsp_len + 2) {
            Some(dst) => {
                dst.copy_from_slice(&[sw1, sw2]);
                self.rsp_len += 2;
                self.event = Some(T0Event::Response { len: self.rsp_len });
            }
            None => {
                self.event = Some(T0Event::Failed(Error::ApduTooLong {
                    len: self.rsp_len + 2,
                    capacity: N,
                }))
            }
        }
    }

    fn die(&mut self, e: Error) {
        self.wire = Wire::Dead;
        self.deadline = None;
        self.pending = None;
        self.event = Some(T0Event::Failed(e));
    }

    fn on_sw(&mut self, sw1: u8, sw2: u8) {
        let was_in = matches!(self.dir, Dir::In { .. });
        match self.stage {
            Stage::Envelope { next } if sw1 == 0x90 && sw2 == 0 && next < self.cmd_len => {
                let cla = self.cmd.first().copied().unwrap_or(0);
                self.send_envelope(cla, next);
            }
            _ if sw1 == 0x6C && was_in && self.resends < self.cfg.max_resend => {
                // §12.2.2: wrong Le, re-send the same header with P3 = SW2.
                self.resends += 1;
                let n = if sw2 == 0 { 256 } else { usize::from(sw2) };
                let mut h = self.header;
                h[4] = sw2;
                self.send_header(h, Dir::In { remaining: n });
            }
            _ if sw1 == 0x61 && self.ne > 0 => self.get_response(sw2),
            _ => self.finish(sw1, sw2),
        }
    }

    /// The next bytes to send (header or command data); `buf` should hold 255 bytes.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        let p = self.pending?;
        let src: &[u8] = match p {
            Pending::Header => &self.header,
            Pending::Data { pos, len } => self.cmd.get(pos..pos + len)?,
        };
        let dst = buf.get_mut(..src.len())?;
        dst.copy_from_slice(src);
        self.pending = None;
        let n = src.len();
        self.deadline = Some(
            self.now
                .add_micros(self.cfg.char_micros.saturating_mul(n as u64) + self.cfg.wwt_micros),
        );
        Some(n)
    }

    /// When [`T0::handle_timeout`] is due: the work waiting time, or the exchange deadline
    /// when that comes first.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.pending.is_some() {
            None
        } else {
            self.deadline.map(|d| d.min(self.exchange_deadline))
        }
    }

    /// Ends a running exchange past its deadline with [`Error::DeadlineExceeded`]; the card
    /// may still be sending, so the engine is dead until [`T0::reset`]. True when it did.
    fn check_exchange_deadline(&mut self, now: Instant) -> bool {
        let running = !matches!(self.wire, Wire::Idle | Wire::Dead);
        if running && now >= self.exchange_deadline {
            self.die(Error::DeadlineExceeded);
            return true;
        }
        false
    }

    /// The outcome, once.
    pub fn poll_event(&mut self) -> Option<T0Event> {
        self.event.take()
    }

    /// The response after [`T0Event::Response`].
    pub fn response(&self) -> &[u8] {
        self.rsp.get(..self.rsp_len).unwrap_or(&[])
    }

    /// The work waiting time passed without a character: the card is mute (§10.2).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.pending.is_none() && self.check_exchange_deadline(now) {
            return;
        }
        if self.pending.is_none() && self.deadline.is_some_and(|d| now >= d) {
            self.die(Error::Timeout);
        }
    }

    /// Characters from the card.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        self.now = now;
        if self.check_exchange_deadline(now) {
            return;
        }
        for &b in bytes {
            if self.pending.is_some() || matches!(self.wire, Wire::Idle | Wire::Dead) {
                // Not our turn to listen: a card talking now breaks the protocol.
                if self.wire != Wire::Idle && self.wire != Wire::Dead {
                    self.die(Error::ProtocolViolation { byte: b });
                }
                return;
            }
            self.deadline = Some(now.add_micros(self.cfg.wwt_micros));
            self.on_byte(b);
        }
    }

    fn on_byte(&mut self, b: u8) {
        let ins = self.header[1];
        match self.wire {
            Wire::Receive { count } => {
                match self.rsp.get_mut(self.rsp_len) {
                    Some(slot) => *slot = b,
                    None => {
                        return self.die(Error::ApduTooLong {
                            len: self.rsp_len + 1,
                            capacity: N,
                        });
                    }
                }
                self.rsp_len += 1;
                if let Dir::In { remaining } = &mut self.dir {
                    *remaining = remaining.saturating_sub(1);
                }
                self.wire = if count > 1 {
                    Wire::Receive { count: count - 1 }
                } else {
                    Wire::Procedure
                };
            }
            Wire::Sw2 { sw1 } => self.on_sw(sw1, b),
            Wire::Procedure => {
                if b == 0x60 {
                    self.nulls += 1;
                    if self.nulls > self.cfg.max_nulls {
                        self.die(Error::ProtocolViolation { byte: b });
                    }
                } else if b == ins || b == !ins {
                    let all = b == ins;
                    match self.dir {
                        Dir::Out { pos, end } if pos < end => {
                            let len = if all { end - pos } else { 1 };
                            self.pending = Some(Pending::Data { pos, len });
                            self.dir = Dir::Out {
                                pos: pos + len,
                                end,
                            };
                        }
                        Dir::In { remaining } if remaining > 0 => {
                            self.wire = Wire::Receive {
                                count: if all { remaining } else { 1 },
                            };
                        }
                        _ => self.die(Error::ProtocolViolation { byte: b }),
                    }
                } else if (b & 0xF0 == 0x60 || b & 0xF0 == 0x90) && b != 0x60 {
                    self.wire = Wire::Sw2 { sw1: b };
                } else {
                    self.die(Error::ProtocolViolation { byte: b });
                }
            }
            Wire::Idle | Wire::Dead => {}
        }
    }
}

/// What the T=0 card engine reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T0CardEvent {
    /// A command header (CLA INS P1 P2 P3) arrived.
    Header([u8; 5]),
    /// The data asked for with [`T0Card::ack_all`] or [`T0Card::ack_one`] arrived; all data
    /// received for this header is in [`T0Card::data`].
    Data {
        /// Bytes received so far for this header.
        len: usize,
    },
}

/// The card's side of T=0 at the character level, for simulated cards: it collects headers,
/// sends procedure bytes, takes command data and sends response data and status words. The
/// application decides what each header means (whether P3 is Lc or Le).
#[derive(Debug, Clone)]
pub struct T0Card<const N: usize> {
    header: [u8; 5],
    got_header: usize,
    data: [u8; 256],
    data_len: usize,
    want: usize,
    out: [u8; N],
    out_len: usize,
    event: Option<T0CardEvent>,
}

impl<const N: usize> Default for T0Card<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> T0Card<N> {
    /// A card waiting for a header.
    pub const fn new() -> Self {
        Self {
            header: [0; 5],
            got_header: 0,
            data: [0; 256],
            data_len: 0,
            want: 0,
            out: [0; N],
            out_len: 0,
            event: None,
        }
    }

    /// The current header.
    pub fn header(&self) -> [u8; 5] {
        self.header
    }

    /// Command data received for the current header.
    pub fn data(&self) -> &[u8] {
        self.data.get(..self.data_len).unwrap_or(&[])
    }

    fn queue(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if let Some(slot) = self.out.get_mut(self.out_len) {
                *slot = b;
                self.out_len += 1;
            }
        }
    }

    /// Sends the procedure byte INS: the reader sends all remaining data.
    pub fn ack_all(&mut self) {
        let p3 = if self.header[4] == 0 {
            256
        } else {
            usize::from(self.header[4])
        };
        self.want = p3.saturating_sub(self.data_len);
        self.queue(&[self.header[1]]);
    }

    /// Sends the procedure byte complement of INS: the reader sends one byte.
    pub fn ack_one(&mut self) {
        self.want = 1;
        self.queue(&[!self.header[1]]);
    }

    /// Sends a NULL procedure byte (`60`): more work waiting time.
    pub fn null(&mut self) {
        self.queue(&[0x60]);
    }

    /// Sends response data after the procedure byte INS (or nothing before the data when
    /// `data` is empty), then SW1 SW2; the next header follows.
    pub fn respond(&mut self, data: &[u8], sw: [u8; 2]) {
        if !data.is_empty() {
            self.queue(&[self.header[1]]);
            self.queue(data);
        }
        self.queue(&sw);
        self.got_header = 0;
        self.data_len = 0;
        self.want = 0;
    }

    /// Bytes the card sends.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.out_len == 0 {
            return None;
        }
        let n = self.out_len.min(buf.len());
        buf.get_mut(..n)?.copy_from_slice(self.out.get(..n)?);
        self.out.copy_within(n..self.out_len, 0);
        self.out_len -= n;
        Some(n)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<T0CardEvent> {
        self.event.take()
    }

    /// Bytes from the reader.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.got_header < 5 {
                if let Some(slot) = self.header.get_mut(self.got_header) {
                    *slot = b;
                }
                self.got_header += 1;
                if self.got_header == 5 {
                    self.event = Some(T0CardEvent::Header(self.header));
                }
            } else if self.want > 0 {
                if let Some(slot) = self.data.get_mut(self.data_len) {
                    *slot = b;
                    self.data_len += 1;
                }
                self.want -= 1;
                if self.want == 0 {
                    self.event = Some(T0CardEvent::Data { len: self.data_len });
                }
            }
        }
    }
}
