//! A sans-IO CCID reader: host messages and card-line events in, CCID responses, card bytes
//! and line requests out (USB CCID Rev 1.1 §6, ISO/IEC 7816-3 §8-§11 through
//! `cardwire-link`).
//!
//! # Driving order
//! Feed whatever happened — a complete bulk-OUT message ([`Reader::handle_message`]), bytes
//! from the card ([`Reader::handle_card_input`]), a key ([`Reader::handle_key`] or
//! [`Reader::poll_keypad`]), a card movement ([`Reader::card_inserted`],
//! [`Reader::card_removed`]), an expired deadline ([`Reader::handle_timeout`]) — then drain,
//! in this order: [`Reader::poll_line`] (activate / deactivate the card, change the UART's
//! F/D), [`Reader::poll_card_transmit`] (bytes for the card), [`Reader::poll_response`]
//! (bulk-IN messages) and [`Reader::poll_interrupt`] (interrupt-IN); then wait for input
//! until [`Reader::poll_timeout`].
//!
//! # Rules the engine keeps
//! - Every bulk-OUT message with a header gets exactly one final response, with its `bSeq`
//!   and `bSlot` echoed; while it runs, time-extension responses (`bStatus` 80) with the
//!   same `bSeq` keep the host waiting (§6.2.6). A second message while one runs gets
//!   `CMD_SLOT_BUSY` at once (`bMaxCCIDBusySlots` = 1).
//! - Every job ends: the card engines have waiting times, PIN entry has its timeout, the
//!   ATR and PPS have theirs.
//! - A message shorter than the 10-byte header has no `bSeq` to echo and gets no response.

use cardwire_link::atr::{Atr, Mode as AtrMode};
use cardwire_link::pps::{PpsMessage, PpsRequest, ReaderCaps};
use cardwire_link::t0::{T0, T0Config, T0Event};
use cardwire_link::t1::{self, T1};
use cardwire_link::{Instant, Timing};
use cardwire_pin::pinpad::{self, ModifyEntries};
use cardwire_pin::{EntryValidation, Pin};
use heapless::{Deque, Vec};
use zeroize::Zeroize;

use crate::descriptor::{ExchangeLevel, Features, ReaderDescriptor};
use crate::message::{
    ChainParameter, Command, HEADER_LEN, LevelParameter, Message, MessageType, slot_state,
};
use crate::params::{DEFAULT_FIDI, ProtocolData};
use crate::secure::SecureRequest;
use crate::{ClockStatus, CommandStatus, Error, IccStatus, SlotError, SlotStatus};

/// What the reader announces and how it behaves.
#[derive(Debug, Clone, Copy)]
pub struct ReaderConfig {
    /// The class descriptor: exchange level, features (automatic PPS), PIN support,
    /// `dwMaxCCIDMessageLength`.
    pub descriptor: ReaderDescriptor,
    /// The clock given to the card, in hertz.
    pub clock_hz: u32,
    /// The largest D the reader's UART supports.
    pub max_di: u8,
    /// The reader's IFSD for T=1 (sent with S(IFS) before the first command).
    pub ifsd: u8,
    /// The answer to the GemPC Escape `02` (get firmware version) that libccid's serial
    /// driver sends first (ccid_serial.c `OpenSerialByName`).
    pub firmware: &'static [u8],
    /// Interval between time-extension responses while the card or the user is busy.
    pub time_extension_micros: u64,
    /// PIN entry timeout when `bTimeOut` is 0.
    pub pin_timeout_micros: u64,
    /// Longest silence accepted during the ATR.
    pub atr_timeout_micros: u64,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        Self {
            descriptor: ReaderDescriptor::default(),
            clock_hz: 4_000_000,
            max_di: 32,
            ifsd: 254,
            firmware: b"GemPC Twin cardwire",
            time_extension_micros: 1_000_000,
            pin_timeout_micros: 30_000_000,
            atr_timeout_micros: 1_000_000,
        }
    }
}

/// What the engine asks of the card interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRequest {
    /// Power, clock and reset the card (cold reset, ISO/IEC 7816-3 §6.2); feed its ATR with
    /// [`Reader::handle_card_input`]. The UART starts at Fd = 372, Dd = 1.
    Activate,
    /// Deactivate the card (§6.4).
    Deactivate,
    /// Change the UART to these F and D (after PPS or `SetParameters`).
    SetTiming(Timing),
}

/// A key of the reader's PIN pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A digit 0..=9.
    Digit(u8),
    /// The validation key (OK / Enter).
    Enter,
    /// Cancel: the PIN operation ends with `PIN_CANCELLED`.
    Cancel,
    /// Clear the entry in progress.
    Clear,
    /// Remove the last digit.
    Backspace,
}

/// The reader's keypad, polled by [`Reader::poll_keypad`] while a PIN is being entered.
pub trait Keypad {
    /// The next key pressed, if any.
    fn poll_key(&mut self) -> Option<Key>;
}

/// Replies that can wait for [`Reader::poll_response`].
const REPLIES: usize = 8;

/// The longest PIN the keypad collects (PC/SC Part 10 allows more; no real PIN is longer).
pub const MAX_PIN_DIGITS: usize = 32;

/// Digits typed for one entry, wiped on drop.
#[derive(Default)]
struct Digits {
    values: [u8; MAX_PIN_DIGITS],
    len: usize,
}

impl Digits {
    fn clear(&mut self) {
        self.values.zeroize();
        self.len = 0;
    }

    fn pin(&self) -> Result<Pin, cardwire_pin::Error> {
        Pin::from_digit_values(self.values.get(..self.len).unwrap_or(&[]))
    }
}

impl Drop for Digits {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The card engine in use. No heap on firmware: the enum is as large as its larger engine
/// (one APDU buffer for T=1, two for T=0), which is the RAM the reader needs anyway.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
enum Link<const N: usize> {
    None,
    T0(T0<N>),
    T1(T1<N>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Card {
    Absent,
    Inactive,
    /// Waiting for the ATR (bytes collect in `rx`).
    Activating,
    /// Automatic PPS sent, waiting for the answer.
    Pps {
        req: PpsRequest,
    },
    Active,
}

/// What a raw exchange (TPDU level, PPS at TPDU level, secure PIN block) waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawKind {
    /// One T=1 block with this EDC length.
    T1Block { edc: usize },
    /// A PPS response.
    Pps,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    None,
    PowerOn { seq: u8 },
    Link { seq: u8 },
    Raw { seq: u8, kind: RawKind },
    Pin { seq: u8, stage: u8 },
}

impl Job {
    fn seq(self) -> Option<u8> {
        match self {
            Job::None => None,
            Job::PowerOn { seq }
            | Job::Link { seq }
            | Job::Raw { seq, .. }
            | Job::Pin { seq, .. } => Some(seq),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Data {
    None,
    Inline(Vec<u8, 33>),
    /// From the card engine's response.
    Link {
        offset: usize,
        len: usize,
    },
    /// From the raw receive buffer.
    Raw {
        len: usize,
    },
    Firmware,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    ty: MessageType,
    slot: u8,
    seq: u8,
    status: SlotStatus,
    error: SlotError,
    /// `bChainParameter`, `bClockStatus` or `bProtocolNum`.
    extra: u8,
    data: Data,
}

impl Reply {
    fn is_final(&self) -> bool {
        self.status.command() != CommandStatus::TIME_EXTENSION
    }
}

/// The sans-IO reader for one slot; `N` bounds an APDU (command or response) and the raw
/// buffers. See the [module documentation](self) for the driving order.
///
/// ```
/// use cardwire_ccid::engine::{LineRequest, Reader, ReaderConfig};
/// use cardwire_ccid::message::{Message, Response};
/// use cardwire_link::Instant;
/// let mut r: Reader<300> = Reader::new(ReaderConfig::default());
/// r.card_inserted(Instant(0));
/// // PC_to_RDR_IccPowerOn, bSeq 1.
/// r.handle_message(Instant(0), &[0x62, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
/// assert_eq!(r.poll_line(), Some(LineRequest::Activate));
/// // A T=0 card answers 3B 00.
/// r.handle_card_input(Instant(100), &[0x3B, 0x00]);
/// let mut out = [0u8; 300];
/// let bytes = r.poll_response(&mut out).unwrap();
/// let msg = Message::new_checked(bytes)?;
/// assert_eq!((msg.seq(), msg.data()), (1, &[0x3B, 0x00][..]));
/// # Ok::<(), cardwire_ccid::Error>(())
/// ```
#[derive(Debug)]
pub struct Reader<const N: usize> {
    cfg: ReaderConfig,
    card: Card,
    link: Link<N>,
    atr: Option<Atr>,
    params: Option<ProtocolData>,
    job: Job,
    /// Outgoing raw bytes / received raw bytes / command assembly (one buffer, one use at a
    /// time).
    buf: Vec<u8, N>,
    raw_tx_pending: bool,
    /// Extended APDU command chain in progress (bytes in `buf`).
    cmd_chain: bool,
    /// Response chain: next offset and total length in the card engine's response.
    rsp_chain: Option<(usize, usize)>,
    deadline: Option<Instant>,
    te_deadline: Option<Instant>,
    now: Instant,
    replies: Deque<Reply, REPLIES>,
    lines: Deque<LineRequest, 4>,
    interrupt: Option<u8>,
    abort_seq: Option<u8>,
    entries: [Digits; 3],
    bwi_multiplier: u8,
}

impl core::fmt::Debug for Digits {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("<PIN digits redacted>")
    }
}

fn inline(bytes: &[u8]) -> Data {
    match Vec::from_slice(bytes) {
        Ok(v) => Data::Inline(v),
        Err(_) => Data::None,
    }
}

impl<const N: usize> Reader<N> {
    /// A reader with no card.
    pub fn new(cfg: ReaderConfig) -> Self {
        Self {
            cfg,
            card: Card::Absent,
            link: Link::None,
            atr: None,
            params: None,
            job: Job::None,
            buf: Vec::new(),
            raw_tx_pending: false,
            cmd_chain: false,
            rsp_chain: None,
            deadline: None,
            te_deadline: None,
            now: Instant(0),
            replies: Deque::new(),
            lines: Deque::new(),
            interrupt: None,
            abort_seq: None,
            entries: Default::default(),
            bwi_multiplier: 1,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ReaderConfig {
        &self.cfg
    }

    /// Whether a PIN is being entered on the keypad.
    pub fn is_pin_entry_active(&self) -> bool {
        matches!(self.job, Job::Pin { .. })
    }

    /// Whether a command is running.
    pub fn is_busy(&self) -> bool {
        self.job != Job::None
    }

    fn exchange(&self) -> ExchangeLevel {
        self.cfg.descriptor.exchange
    }

    fn max_chunk(&self) -> usize {
        (self.cfg.descriptor.max_message_len as usize).saturating_sub(HEADER_LEN)
    }

    fn icc(&self) -> IccStatus {
        match self.card {
            Card::Absent => IccStatus::NO_ICC,
            Card::Active => IccStatus::PRESENT_ACTIVE,
            _ => IccStatus::PRESENT_INACTIVE,
        }
    }

    fn push_reply(&mut self, reply: Reply) {
        if self.replies.is_full() {
            // A driver that drains after every call never gets here (one job and one
            // immediate answer at most); otherwise a pending time extension makes room,
            // since it only keeps the host waiting.
            let mut kept: Deque<Reply, REPLIES> = Deque::new();
            let mut dropped = false;
            while let Some(r) = self.replies.pop_front() {
                if !dropped && !r.is_final() {
                    dropped = true;
                    continue;
                }
                let _ = kept.push_back(r);
            }
            self.replies = kept;
        }
        if self.replies.push_back(reply).is_err() {
            debug_assert!(
                false,
                "reply queue full: drain poll_response after each call"
            );
        }
    }

    fn reply(&mut self, ty: MessageType, seq: u8, error: Option<SlotError>, extra: u8, data: Data) {
        let status = SlotStatus::new(
            if error.is_some() {
                CommandStatus::FAILED
            } else {
                CommandStatus::OK
            },
            self.icc(),
        );
        self.push_reply(Reply {
            ty,
            slot: 0,
            seq,
            status,
            error: error.unwrap_or(SlotError(0)),
            extra,
            data,
        });
    }

    fn fail(&mut self, ty: MessageType, seq: u8, error: SlotError) {
        let extra = if ty == MessageType::RDR_TO_PC_SLOT_STATUS {
            self.clock_status().0
        } else {
            0
        };
        let data = self.failure_data(ty);
        self.reply(ty, seq, Some(error), extra, data);
    }

    /// `RDR_to_PC_DataRateAndClockFrequency` always carries the values in force (§6.2.5:
    /// `dwLength` is 8), failed or not.
    fn failure_data(&self, ty: MessageType) -> Data {
        if ty == MessageType::RDR_TO_PC_DATA_RATE_AND_CLOCK_FREQUENCY {
            let (clock, rate) = self.rates();
            let mut d: Vec<u8, 33> = Vec::new();
            let _ = d.extend_from_slice(&clock.to_le_bytes());
            let _ = d.extend_from_slice(&rate.to_le_bytes());
            Data::Inline(d)
        } else {
            Data::None
        }
    }

    fn clock_status(&self) -> ClockStatus {
        if self.card == Card::Active {
            ClockStatus::RUNNING
        } else {
            ClockStatus::STOPPED_UNKNOWN
        }
    }

    fn start_job(&mut self, job: Job) {
        self.job = job;
        self.te_deadline = Some(self.now.add_micros(self.cfg.time_extension_micros));
    }

    fn end_job(&mut self) {
        self.job = Job::None;
        self.te_deadline = None;
        self.deadline = None;
        for e in &mut self.entries {
            e.clear();
        }
    }

    /// The final answer to the running job: failure.
    fn fail_job(&mut self, error: SlotError) {
        let Some(seq) = self.job.seq() else { return };
        self.end_job();
        self.buf.clear();
        self.raw_tx_pending = false;
        self.fail(MessageType::RDR_TO_PC_DATA_BLOCK, seq, error);
    }

    /// A card was inserted.
    pub fn card_inserted(&mut self, now: Instant) {
        self.now = now;
        if self.card == Card::Absent {
            self.card = Card::Inactive;
            self.interrupt = Some(slot_state(true, true));
        }
    }

    /// The card was removed: a running command fails with `ICC_MUTE` and no ICC.
    pub fn card_removed(&mut self, now: Instant) {
        self.now = now;
        if self.card == Card::Absent {
            return;
        }
        self.card = Card::Absent;
        self.link = Link::None;
        self.atr = None;
        self.params = None;
        self.rsp_chain = None;
        self.cmd_chain = false;
        self.interrupt = Some(slot_state(false, true));
        self.fail_job(SlotError::ICC_MUTE);
    }

    /// A `PC_to_RDR_*` message from the host (one whole bulk-OUT transfer).
    pub fn handle_message(&mut self, now: Instant, bytes: &[u8]) {
        self.now = now;
        let Some(header) = bytes.first_chunk::<HEADER_LEN>() else {
            return;
        };
        let ty = MessageType(header[0]);
        let rty = ty.response_type();
        let (slot, seq) = (header[5], header[6]);
        let msg = match Message::new_checked(bytes) {
            Ok(m) => m,
            Err(_) => {
                self.fail_slot(rty, slot, seq, SlotError::bad_parameter(1));
                return;
            }
        };
        if slot != 0 {
            self.fail_slot(rty, slot, seq, SlotError::bad_parameter(5));
            return;
        }
        let cmd = match Command::parse(&msg) {
            Ok(c) => c,
            Err(Error::Invalid { offset, .. }) => {
                self.fail(rty, seq, SlotError::bad_parameter(offset));
                return;
            }
            Err(_) => {
                self.fail(rty, seq, SlotError::CMD_NOT_SUPPORTED);
                return;
            }
        };
        if let Some(abort_seq) = self.abort_seq {
            if cmd == Command::Abort && seq == abort_seq {
                self.abort_seq = None;
                self.reply(rty, seq, None, self.clock_status().0, Data::None);
            } else {
                self.fail(rty, seq, SlotError::CMD_ABORTED);
            }
            return;
        }
        if cmd == Command::Abort {
            self.abort_running();
            self.reply(rty, seq, None, self.clock_status().0, Data::None);
            return;
        }
        let link_busy = match &self.link {
            Link::T1(t1) => !t1.is_idle() && self.job == Job::None,
            _ => false,
        };
        let pending_data = self
            .replies
            .iter()
            .any(|r| matches!(r.data, Data::Link { .. } | Data::Raw { .. }));
        if self.job != Job::None || link_busy || pending_data {
            self.fail(rty, seq, SlotError::CMD_SLOT_BUSY);
            return;
        }
        self.dispatch(cmd, seq, rty);
    }

    fn fail_slot(&mut self, ty: MessageType, slot: u8, seq: u8, error: SlotError) {
        self.push_reply(Reply {
            ty,
            slot,
            seq,
            status: SlotStatus::new(
                CommandStatus::FAILED,
                if slot == 0 {
                    self.icc()
                } else {
                    IccStatus::NO_ICC
                },
            ),
            error,
            extra: 0,
            data: self.failure_data(ty),
        });
    }

    /// The host's ABORT class request (CCID Rev 1.1 §5.3.1) for the `PC_to_RDR_Abort`
    /// with `seq` that will follow: the running command ends with `CMD_ABORTED`, and every
    /// bulk message is refused with `CMD_ABORTED` until that Abort arrives. Serial readers
    /// have no control pipe: a bulk Abort alone aborts there.
    pub fn handle_control_abort(&mut self, now: Instant, slot: u8, seq: u8) {
        self.now = now;
        if slot != 0 {
            return;
        }
        self.abort_running();
        self.abort_seq = Some(seq);
    }

    fn abort_running(&mut self) {
        match self.job {
            Job::Link { .. } => {
                match &mut self.link {
                    Link::T1(t1) => {
                        // S(ABORT) finishes in the background; the result is dropped.
                        if t1.abort(self.now).is_err() {
                            t1.reset();
                        }
                    }
                    Link::T0(t0) => t0.reset(),
                    Link::None => {}
                }
                self.fail_job(SlotError::CMD_ABORTED);
            }
            Job::None => {}
            _ => self.fail_job(SlotError::CMD_ABORTED),
        }
        self.cmd_chain = false;
        self.rsp_chain = None;
    }

    fn dispatch(&mut self, cmd: Command<'_>, seq: u8, rty: MessageType) {
        if !matches!(
            cmd,
            Command::XfrBlock {
                level: LevelParameter::RESPONSE_CONTINUE,
                ..
            }
        ) {
            self.rsp_chain = None;
        }
        match cmd {
            Command::IccPowerOn { .. } => self.power_on(seq),
            Command::IccPowerOff => {
                self.deactivate();
                self.reply(rty, seq, None, self.clock_status().0, Data::None);
            }
            Command::GetSlotStatus | Command::IccClock { .. } => {
                self.reply(rty, seq, None, self.clock_status().0, Data::None);
            }
            Command::XfrBlock {
                bwi, level, data, ..
            } => self.xfr_block(seq, bwi, level, data),
            Command::GetParameters => self.reply_params(seq),
            Command::ResetParameters => {
                if self.card == Card::Active {
                    if let Some(atr) = self.atr {
                        let protocol = self.params.map_or(0, |p| p.protocol_num());
                        self.apply_params(ProtocolData::from_atr(&atr, protocol, DEFAULT_FIDI));
                    }
                }
                self.reply_params(seq);
            }
            Command::SetParameters { params } => {
                if self.card != Card::Active {
                    self.fail(rty, seq, SlotError::ICC_MUTE);
                    return;
                }
                let offered = self
                    .atr
                    .is_some_and(|a| a.protocols().contains(params.protocol_num()));
                if !offered {
                    self.fail(rty, seq, SlotError::bad_parameter(7));
                    return;
                }
                if self.params != Some(params) {
                    self.apply_params(Some(params));
                }
                self.reply_params(seq);
            }
            Command::Escape { data } => match data {
                [0x02] => self.reply(rty, seq, None, 0, Data::Firmware),
                [0x01, 0x01, 0x01] => self.reply(rty, seq, None, 0, Data::None),
                // GemPC PinPad "load strings" (libccid ccid.c ccid_open_hack_post: the
                // keypad's display messages); accepted, there is no display.
                [0xB2, 0xA0, 0x00, 0x4D, 0x4C, ..] => self.reply(rty, seq, None, 0, Data::None),
                _ => self.fail(rty, seq, SlotError::CMD_NOT_SUPPORTED),
            },
            Command::Secure { data, .. } => self.secure(seq, data),
            Command::SetDataRateAndClockFrequency {
                clock_khz,
                data_rate,
            } => {
                let (clock, rate) = self.rates();
                if clock_khz == clock && data_rate == rate {
                    let data = self.failure_data(rty);
                    self.reply(rty, seq, None, 0, data);
                } else {
                    self.fail(rty, seq, SlotError::bad_parameter(10));
                }
            }
            Command::T0Apdu { .. } | Command::Mechanical { .. } | Command::Abort => {
                self.fail(rty, seq, SlotError::CMD_NOT_SUPPORTED);
            }
        }
    }

    fn rates(&self) -> (u32, u32) {
        let clock_khz = self.cfg.clock_hz / 1000;
        let timing = self
            .params
            .map_or(Timing::new(self.cfg.clock_hz, 372, 1), |p| {
                p.timing(self.cfg.clock_hz)
            });
        (
            clock_khz,
            data_rate(self.cfg.clock_hz, timing.fi, timing.di),
        )
    }

    fn reply_params(&mut self, seq: u8) {
        let ty = MessageType::RDR_TO_PC_PARAMETERS;
        match (self.card, self.params) {
            (Card::Active, Some(p)) => {
                let (bytes, n) = p.to_bytes();
                let data = inline(bytes.get(..n).unwrap_or(&[]));
                self.reply(ty, seq, None, p.protocol_num(), data);
            }
            _ => self.fail(ty, seq, SlotError::ICC_MUTE),
        }
    }

    /// Installs new parameters: the card engine is rebuilt and the UART told of F/D.
    fn apply_params(&mut self, params: Option<ProtocolData>) {
        let Some(params) = params else { return };
        let old_fidi = self.params.map_or(DEFAULT_FIDI, |p| p.findex_dindex());
        self.params = Some(params);
        let timing = params.timing(self.cfg.clock_hz);
        if params.findex_dindex() != old_fidi {
            let _ = self.lines.push_back(LineRequest::SetTiming(timing));
        }
        self.link = match params {
            ProtocolData::T0(p) => Link::T0(T0::new(T0Config::new(
                p.waiting_integer,
                &timing,
                p.guard_time,
            ))),
            ProtocolData::T1(p) => {
                Link::T1(T1::new(p.link_config(self.cfg.clock_hz, self.cfg.ifsd)))
            }
        };
    }

    fn deactivate(&mut self) {
        if matches!(
            self.card,
            Card::Activating | Card::Pps { .. } | Card::Active
        ) {
            let _ = self.lines.push_back(LineRequest::Deactivate);
            self.card = Card::Inactive;
        }
        self.link = Link::None;
        self.atr = None;
        self.params = None;
        self.cmd_chain = false;
        self.rsp_chain = None;
    }

    fn power_on(&mut self, seq: u8) {
        if self.card == Card::Absent {
            self.fail(MessageType::RDR_TO_PC_DATA_BLOCK, seq, SlotError::ICC_MUTE);
            return;
        }
        self.deactivate();
        let _ = self.lines.push_back(LineRequest::Activate);
        self.card = Card::Activating;
        self.buf.clear();
        self.deadline = Some(self.now.add_micros(self.cfg.atr_timeout_micros));
        self.start_job(Job::PowerOn { seq });
    }

    /// The ATR is complete: PPS or done.
    fn atr_done(&mut self, atr: Atr) {
        self.atr = Some(atr);
        self.buf.clear();
        let features = self.cfg.descriptor.dw_features();
        let auto_pps = self.exchange() != ExchangeLevel::Tpdu
            && (features.contains(Features::AUTO_PPS_ACTIVE)
                || features.contains(Features::AUTO_PPS_PROPRIETARY));
        let caps = ReaderCaps {
            protocols: cardwire_link::atr::Protocols(
                u16::from(self.cfg.descriptor.t0) | (u16::from(self.cfg.descriptor.t1) << 1),
            ),
            max_di: self.cfg.max_di,
            clock_hz: self.cfg.clock_hz,
        };
        if let Some(mode) = atr.specific_mode() {
            let fidi = if mode.implicit {
                DEFAULT_FIDI
            } else {
                atr.ta(1).unwrap_or(DEFAULT_FIDI)
            };
            self.activation_done(atr, mode.protocol, fidi);
            return;
        }
        match PpsRequest::choose(&atr, &caps) {
            Ok(req) if auto_pps && req.pps1.is_some() => {
                let mut tmp = [0u8; 6];
                match req.encode(&mut tmp) {
                    Ok(bytes) => {
                        self.buf.clear();
                        let _ = self.buf.extend_from_slice(bytes);
                        self.raw_tx_pending = true;
                        self.card = Card::Pps { req };
                        let t = Timing::new(self.cfg.clock_hz, 372, 1);
                        self.deadline =
                            Some(self.now.add_micros(
                                t.chars_micros(bytes.len() as u64, 0) + t.wt_micros(10),
                            ));
                    }
                    Err(_) => self.activation_done(atr, req.protocol, DEFAULT_FIDI),
                }
            }
            Ok(req) => self.activation_done(atr, req.protocol, DEFAULT_FIDI),
            Err(_) => {
                self.deactivate();
                self.fail_job(SlotError::ICC_PROTOCOL_NOT_SUPPORTED);
            }
        }
    }

    fn activation_done(&mut self, atr: Atr, protocol: u8, fidi: u8) {
        self.card = Card::Active;
        self.params = None;
        self.apply_params(ProtocolData::from_atr(&atr, protocol, fidi));
        if self.params.is_none() {
            self.deactivate();
            self.fail_job(SlotError::ICC_PROTOCOL_NOT_SUPPORTED);
            return;
        }
        let Some(seq) = self.job.seq() else { return };
        self.end_job();
        self.reply(
            MessageType::RDR_TO_PC_DATA_BLOCK,
            seq,
            None,
            0,
            inline(atr.as_bytes()),
        );
    }

    fn xfr_block(&mut self, seq: u8, bwi: u8, level: LevelParameter, data: &[u8]) {
        let ty = MessageType::RDR_TO_PC_DATA_BLOCK;
        if self.card != Card::Active {
            self.fail(ty, seq, SlotError::ICC_MUTE);
            return;
        }
        self.bwi_multiplier = bwi.max(1);
        match self.exchange() {
            ExchangeLevel::Tpdu => self.tpdu(seq, data),
            ExchangeLevel::ShortApdu => {
                if level != LevelParameter::BEGIN_AND_END {
                    self.fail(ty, seq, SlotError::bad_parameter(8));
                } else {
                    self.start_link(seq, data);
                }
            }
            ExchangeLevel::ExtendedApdu => self.extended(seq, level, data),
        }
    }

    fn extended(&mut self, seq: u8, level: LevelParameter, data: &[u8]) {
        let ty = MessageType::RDR_TO_PC_DATA_BLOCK;
        match level {
            LevelParameter::BEGIN_AND_END => {
                self.cmd_chain = false;
                self.start_link(seq, data);
            }
            LevelParameter::BEGIN_CONTINUE
            | LevelParameter::CONTINUE
            | LevelParameter::CONTINUE_END => {
                let begin = level == LevelParameter::BEGIN_CONTINUE;
                if begin {
                    self.buf.clear();
                    self.cmd_chain = true;
                } else if !self.cmd_chain {
                    self.fail(ty, seq, SlotError::bad_parameter(8));
                    return;
                }
                if self.buf.extend_from_slice(data).is_err() {
                    self.cmd_chain = false;
                    self.buf.clear();
                    self.fail(ty, seq, SlotError::XFR_OVERRUN);
                    return;
                }
                if level == LevelParameter::CONTINUE_END {
                    self.cmd_chain = false;
                    let mut apdu: Vec<u8, N> = Vec::new();
                    core::mem::swap(&mut apdu, &mut self.buf);
                    self.start_link(seq, &apdu);
                } else {
                    self.reply(
                        ty,
                        seq,
                        None,
                        ChainParameter::COMMAND_CONTINUE.0,
                        Data::None,
                    );
                }
            }
            LevelParameter::RESPONSE_CONTINUE => match self.rsp_chain {
                Some((offset, total)) => self.send_chunk(seq, offset, total),
                None => self.fail(ty, seq, SlotError::bad_parameter(8)),
            },
            _ => self.fail(ty, seq, SlotError::bad_parameter(8)),
        }
    }

    fn start_link(&mut self, seq: u8, apdu: &[u8]) {
        let now = self.now;
        let started = match &mut self.link {
            Link::T0(t0) => t0.start(now, apdu),
            Link::T1(t1) => t1.start(now, apdu),
            Link::None => Err(cardwire_link::Error::Dead),
        };
        match started {
            Ok(()) => self.start_job(Job::Link { seq }),
            Err(e) => self.fail(MessageType::RDR_TO_PC_DATA_BLOCK, seq, link_error(e)),
        }
    }

    /// TPDU level: T=0 TPDUs go through the T=0 engine (procedure bytes, `61xx`/`6Cxx`);
    /// T=1 blocks and PPS requests go to the card as they are and one answer comes back.
    fn tpdu(&mut self, seq: u8, data: &[u8]) {
        let ty = MessageType::RDR_TO_PC_DATA_BLOCK;
        if data.first() == Some(&0xFF) {
            self.start_raw(seq, data, RawKind::Pps);
            return;
        }
        match self.params {
            Some(ProtocolData::T1(p)) => {
                let edc = if p.tcckst1 & 1 != 0 { 2 } else { 1 };
                self.start_raw(seq, data, RawKind::T1Block { edc });
            }
            Some(ProtocolData::T0(_)) => self.start_link(seq, data),
            None => self.fail(ty, seq, SlotError::ICC_MUTE),
        }
    }

    fn start_raw(&mut self, seq: u8, data: &[u8], kind: RawKind) {
        self.buf.clear();
        if data.is_empty() || self.buf.extend_from_slice(data).is_err() {
            self.buf.clear();
            self.fail(
                MessageType::RDR_TO_PC_DATA_BLOCK,
                seq,
                SlotError::bad_parameter(10),
            );
            return;
        }
        self.raw_tx_pending = true;
        self.start_job(Job::Raw { seq, kind });
        self.deadline = Some(self.raw_deadline(data.len(), kind));
    }

    fn raw_deadline(&self, len: usize, kind: RawKind) -> Instant {
        let clock = self.cfg.clock_hz;
        let timing = self
            .params
            .map_or(Timing::new(clock, 372, 1), |p| p.timing(clock));
        let wait = match (kind, self.params) {
            (RawKind::T1Block { .. }, Some(ProtocolData::T1(p))) => timing
                .bwt_micros(p.waiting_integers >> 4)
                .saturating_mul(u64::from(self.bwi_multiplier)),
            _ => Timing::new(clock, 372, 1).wt_micros(10),
        };
        self.now
            .add_micros(timing.chars_micros(len as u64, 0).saturating_add(wait))
    }

    fn secure(&mut self, seq: u8, data: &[u8]) {
        let ty = MessageType::RDR_TO_PC_DATA_BLOCK;
        if self.cfg.descriptor.pin_support == 0 {
            self.fail(ty, seq, SlotError::CMD_NOT_SUPPORTED);
            return;
        }
        if self.card != Card::Active {
            self.fail(ty, seq, SlotError::ICC_MUTE);
            return;
        }
        let parsed = match SecureRequest::parse(data) {
            Ok(r) => r,
            Err(Error::Invalid { offset, .. }) => {
                self.fail(ty, seq, SlotError::bad_parameter(offset));
                return;
            }
            Err(_) => {
                self.fail(ty, seq, SlotError::bad_parameter(1));
                return;
            }
        };
        let supported = match parsed {
            SecureRequest::Verify(_) => self.cfg.descriptor.pin_support & 1 != 0,
            SecureRequest::Modify(_) => self.cfg.descriptor.pin_support & 2 != 0,
        };
        let timeout = match parsed {
            SecureRequest::Verify(s) => s.timeout,
            SecureRequest::Modify(s) => s.timeout,
        };
        if !supported {
            self.fail(ty, seq, SlotError::bad_parameter(HEADER_LEN));
            return;
        }
        self.buf.clear();
        if self.buf.extend_from_slice(data).is_err() {
            self.fail(ty, seq, SlotError::XFR_OVERRUN);
            return;
        }
        for e in &mut self.entries {
            e.clear();
        }
        self.start_job(Job::Pin { seq, stage: 0 });
        let micros = if timeout == 0 {
            self.cfg.pin_timeout_micros
        } else {
            u64::from(timeout) * 1_000_000
        };
        self.deadline = Some(self.now.add_micros(micros));
    }

    /// How many entries the PIN operation needs, and the structure's limits.
    fn pin_plan(&self) -> Option<(u8, u8, EntryValidation)> {
        match SecureRequest::parse(&self.buf).ok()? {
            SecureRequest::Verify(s) => Some((1, s.max_digits, s.entry_validation)),
            SecureRequest::Modify(s) => Some((
                1 + u8::from(s.confirm.enter_current()) + u8::from(s.confirm.confirm_new()),
                s.max_digits,
                s.entry_validation,
            )),
        }
    }

    /// Drains keys from `keypad` while a PIN is being entered.
    pub fn poll_keypad<K: Keypad + ?Sized>(&mut self, now: Instant, keypad: &mut K) {
        while self.is_pin_entry_active() {
            match keypad.poll_key() {
                Some(key) => self.handle_key(now, key),
                None => break,
            }
        }
    }

    /// A key pressed on the reader's keypad (ignored unless a PIN is being entered).
    pub fn handle_key(&mut self, now: Instant, key: Key) {
        self.now = now;
        let Job::Pin { seq, stage } = self.job else {
            return;
        };
        let Some((stages, max, validation)) = self.pin_plan() else {
            self.fail_job(SlotError::bad_parameter(HEADER_LEN));
            return;
        };
        let Some(entry) = self.entries.get_mut(usize::from(stage)) else {
            self.fail_job(SlotError::HW_ERROR);
            return;
        };
        let limit = usize::from(max).clamp(1, MAX_PIN_DIGITS);
        let mut complete = false;
        match key {
            Key::Digit(d) if d <= 9 => {
                if let Some(slot) = entry.values.get_mut(entry.len) {
                    if entry.len < limit {
                        *slot = d;
                        entry.len += 1;
                    }
                }
                if entry.len >= limit && validation.contains(EntryValidation::MAX_SIZE_REACHED) {
                    complete = true;
                }
            }
            Key::Digit(_) => {}
            Key::Enter => complete = true,
            Key::Clear => entry.clear(),
            Key::Backspace => {
                if entry.len > 0 {
                    entry.len -= 1;
                    if let Some(slot) = entry.values.get_mut(entry.len) {
                        *slot = 0;
                    }
                }
            }
            Key::Cancel => {
                self.fail_job(SlotError::PIN_CANCELLED);
                return;
            }
        }
        if complete {
            if stage + 1 < stages {
                self.job = Job::Pin {
                    seq,
                    stage: stage + 1,
                };
            } else {
                self.pin_entered(seq);
            }
        }
    }

    /// All entries are in: build the APDU and send it.
    fn pin_entered(&mut self, seq: u8) {
        let mut apdu = [0u8; 5 + 255 + 2];
        let built = self.build_pin_apdu(&mut apdu);
        let result = match built {
            Ok(len) => {
                let bytes = apdu.get(..len).unwrap_or(&[]);
                self.end_job();
                self.send_pin_apdu(seq, bytes);
                Ok(())
            }
            Err(e) => Err(e),
        };
        apdu.zeroize();
        if let Err(e) = result {
            // Entry errors are answered with the PC/SC Part 10 reader status words
            // (6402 mismatch, 6403 length, 6B80 bad structure) as the response data.
            self.end_job();
            self.buf.clear();
            let sw = pinpad::reader_status(&e).0.to_be_bytes();
            self.reply(MessageType::RDR_TO_PC_DATA_BLOCK, seq, None, 0, inline(&sw));
        }
    }

    fn build_pin_apdu(&self, out: &mut [u8]) -> Result<usize, cardwire_pin::Error> {
        let request =
            SecureRequest::parse(&self.buf).map_err(|_| cardwire_pin::Error::Invalid {
                offset: 0,
                what: "secure structure",
            })?;
        let [e0, e1, e2] = &self.entries;
        match request {
            SecureRequest::Verify(s) => {
                let pin = e0
                    .pin()
                    .map_err(|_| cardwire_pin::Error::EntryLengthOutOfRange)?;
                pinpad::verify_apdu(&s, &pin, out).map(|b| b.len())
            }
            SecureRequest::Modify(s) => {
                let mut next = [e0, e1, e2].into_iter();
                let current = if s.confirm.enter_current() {
                    next.next().map(|d| d.pin())
                } else {
                    None
                };
                let new = next.next().map(|d| d.pin());
                let confirmation = if s.confirm.confirm_new() {
                    next.next().map(|d| d.pin())
                } else {
                    None
                };
                let length = |_| cardwire_pin::Error::EntryLengthOutOfRange;
                let current = current.transpose().map_err(length)?;
                let new = new
                    .ok_or(cardwire_pin::Error::EntryLengthOutOfRange)?
                    .map_err(length)?;
                let confirmation = confirmation.transpose().map_err(length)?;
                let entries = ModifyEntries {
                    current: current.as_ref(),
                    new: &new,
                    confirmation: confirmation.as_ref(),
                };
                pinpad::modify_apdu(&s, &entries, out).map(|b| b.len())
            }
        }
    }

    fn send_pin_apdu(&mut self, seq: u8, apdu: &[u8]) {
        let teo = match SecureRequest::parse(&self.buf) {
            Ok(SecureRequest::Verify(s)) => s.teo_prologue,
            Ok(SecureRequest::Modify(s)) => s.teo_prologue,
            Err(_) => [0; 3],
        };
        self.buf.clear();
        match (self.exchange(), self.params) {
            (ExchangeLevel::Tpdu, Some(ProtocolData::T1(p))) => {
                // TPDU level T=1: the host gave the block prologue (bTeoPrologue, CCID Rev
                // 1.1 §6.1.11.7); LEN is the built APDU's length and the EDC is added here.
                let edc = if p.tcckst1 & 1 != 0 {
                    t1::Edc::CRC
                } else {
                    t1::Edc::Lrc
                };
                let mut block = [0u8; t1::MAX_BLOCK];
                let len = u8::try_from(apdu.len()).unwrap_or(u8::MAX);
                let [nad, pcb, _] = teo;
                let mut n = 0;
                for b in [nad, pcb, len].iter().chain(apdu) {
                    if let Some(slot) = block.get_mut(n) {
                        *slot = *b;
                        n += 1;
                    }
                }
                let (code, code_len) = edc.compute(block.get(..n).unwrap_or(&[]));
                for b in code.iter().take(code_len) {
                    if let Some(slot) = block.get_mut(n) {
                        *slot = *b;
                        n += 1;
                    }
                }
                self.start_raw(
                    seq,
                    block.get(..n).unwrap_or(&[]),
                    RawKind::T1Block { edc: code_len },
                );
                block.zeroize();
            }
            _ => self.start_link(seq, apdu),
        }
    }

    /// Bytes from the card, received at `now`.
    pub fn handle_card_input(&mut self, now: Instant, bytes: &[u8]) {
        self.now = now;
        match self.card {
            Card::Activating => {
                for &b in bytes {
                    if self.card != Card::Activating {
                        break;
                    }
                    if self.buf.push(b).is_err() {
                        self.deactivate();
                        self.fail_job(SlotError::HW_ERROR);
                        return;
                    }
                    self.check_atr(false);
                }
                if self.card == Card::Activating {
                    self.deadline = Some(now.add_micros(self.cfg.atr_timeout_micros));
                }
            }
            Card::Pps { req } => {
                if self.raw_tx_pending {
                    return;
                }
                for &b in bytes {
                    if self.buf.push(b).is_err() {
                        break;
                    }
                    match PpsMessage::parse(&self.buf) {
                        Err(cardwire_link::Error::PpsIncomplete { .. }) => continue,
                        _ => break,
                    }
                }
                match PpsMessage::parse(&self.buf) {
                    Err(cardwire_link::Error::PpsIncomplete { .. }) => {}
                    _ => self.pps_done(req),
                }
            }
            Card::Active => match self.job {
                Job::Raw { kind, .. } => self.raw_input(bytes, kind),
                _ => {
                    match &mut self.link {
                        Link::T0(t0) => t0.handle_input(now, bytes),
                        Link::T1(t1) => t1.handle_input(now, bytes),
                        Link::None => {}
                    }
                    self.pump_link();
                }
            },
            Card::Absent | Card::Inactive => {}
        }
    }

    fn check_atr(&mut self, timed_out: bool) {
        let parsed = match Atr::parse(&self.buf, AtrMode::Strict) {
            Ok(atr) => Some(Ok(atr)),
            Err(
                cardwire_link::Error::AtrIncomplete { .. }
                | cardwire_link::Error::AtrTooShort { .. }
                | cardwire_link::Error::MissingTck { .. },
            ) if !timed_out => None,
            Err(cardwire_link::Error::InvalidTs { .. }) => Some(Err(SlotError::BAD_ATR_TS)),
            Err(_) => Some(
                Atr::parse(&self.buf, AtrMode::Lenient).map_err(|e| match e {
                    cardwire_link::Error::AtrTooShort { len: 0 } => SlotError::ICC_MUTE,
                    cardwire_link::Error::InvalidTs { .. } => SlotError::BAD_ATR_TS,
                    _ => SlotError::HW_ERROR,
                }),
            ),
        };
        match parsed {
            None => {}
            Some(Ok(atr)) => self.atr_done(atr),
            Some(Err(e)) => {
                self.deactivate();
                self.fail_job(e);
            }
        }
    }

    fn pps_done(&mut self, req: PpsRequest) {
        let Some(atr) = self.atr else {
            self.deactivate();
            self.fail_job(SlotError::HW_ERROR);
            return;
        };
        let result = req.check_response(&self.buf);
        self.buf.clear();
        match result {
            Ok(agreed) => {
                self.activation_done(atr, agreed.protocol, req.pps1.unwrap_or(DEFAULT_FIDI))
            }
            Err(_) => {
                self.deactivate();
                self.fail_job(SlotError::ICC_PROTOCOL_NOT_SUPPORTED);
            }
        }
    }

    fn raw_input(&mut self, bytes: &[u8], kind: RawKind) {
        if self.raw_tx_pending {
            return;
        }
        for &b in bytes {
            if self.buf.push(b).is_err() {
                self.fail_job(SlotError::XFR_OVERRUN);
                return;
            }
            let complete = match kind {
                RawKind::T1Block { edc } => match self.buf.get(2) {
                    Some(&len) => self.buf.len() >= 3 + usize::from(len) + edc,
                    None => false,
                },
                RawKind::Pps => !matches!(
                    PpsMessage::parse(&self.buf),
                    Err(cardwire_link::Error::PpsIncomplete { .. })
                ),
            };
            if complete {
                self.raw_done(kind);
                return;
            }
        }
        // Character waiting: restart the wait after each byte.
        self.deadline = Some(self.raw_deadline(0, kind));
    }

    fn raw_done(&mut self, kind: RawKind) {
        let Job::Raw { seq, .. } = self.job else {
            return;
        };
        if kind == RawKind::Pps {
            // The card's echo decides F/D; the host follows with SetParameters.
            if let Ok(msg) = PpsMessage::parse(&self.buf) {
                if let Some(code) = msg.pps1 {
                    if let Some(ProtocolData::T0(mut p)) = self.params {
                        p.findex_dindex = code;
                        self.apply_params(Some(ProtocolData::T0(p)));
                    } else if let Some(ProtocolData::T1(mut p)) = self.params {
                        p.findex_dindex = code;
                        self.apply_params(Some(ProtocolData::T1(p)));
                    }
                }
            }
        }
        let len = self.buf.len();
        self.job = Job::None;
        self.te_deadline = None;
        self.deadline = None;
        self.reply(
            MessageType::RDR_TO_PC_DATA_BLOCK,
            seq,
            None,
            0,
            Data::Raw { len },
        );
    }

    /// Checks the card engine for an outcome.
    fn pump_link(&mut self) {
        let outcome = match &mut self.link {
            Link::T0(t0) => t0.poll_event().map(|e| match e {
                T0Event::Response { len } => Ok(len),
                T0Event::Failed(e) => Err(e),
            }),
            Link::T1(t1) => t1.poll_event().map(|e| match e {
                t1::Event::Response { len } => Ok(len),
                t1::Event::Failed(e) => Err(e),
            }),
            Link::None => None,
        };
        let Some(outcome) = outcome else { return };
        let Job::Link { seq } = self.job else {
            // An aborted exchange finishing in the background.
            return;
        };
        match outcome {
            Ok(len) => {
                self.end_job();
                let chunk = self.max_chunk();
                if len <= chunk {
                    self.reply(
                        MessageType::RDR_TO_PC_DATA_BLOCK,
                        seq,
                        None,
                        ChainParameter::BEGIN_AND_END.0,
                        Data::Link { offset: 0, len },
                    );
                } else if self.exchange() == ExchangeLevel::ExtendedApdu {
                    self.send_chunk(seq, 0, len);
                } else {
                    self.fail(
                        MessageType::RDR_TO_PC_DATA_BLOCK,
                        seq,
                        SlotError::XFR_OVERRUN,
                    );
                }
            }
            Err(e) => self.fail_job(link_error(e)),
        }
    }

    fn send_chunk(&mut self, seq: u8, offset: usize, total: usize) {
        let chunk = self.max_chunk().max(1);
        let len = (total - offset.min(total)).min(chunk);
        let end = offset + len;
        let chain = match (offset == 0, end >= total) {
            (true, true) => ChainParameter::BEGIN_AND_END,
            (true, false) => ChainParameter::BEGIN_CONTINUE,
            (false, true) => ChainParameter::CONTINUE_END,
            (false, false) => ChainParameter::CONTINUE,
        };
        self.rsp_chain = if end >= total {
            None
        } else {
            Some((end, total))
        };
        self.reply(
            MessageType::RDR_TO_PC_DATA_BLOCK,
            seq,
            None,
            chain.0,
            Data::Link { offset, len },
        );
    }

    /// Call when [`Reader::poll_timeout`]'s instant has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        let due = |d: Option<Instant>| d.is_some_and(|d| now >= d);
        match &mut self.link {
            Link::T0(t0) if t0.poll_timeout().is_some_and(|d| now >= d) => {
                t0.handle_timeout(now);
            }
            Link::T1(t1) if t1.poll_timeout().is_some_and(|d| now >= d) => {
                t1.handle_timeout(now);
            }
            _ => {}
        }
        self.pump_link();
        if due(self.deadline) {
            self.deadline = None;
            match (self.card, self.job) {
                (Card::Activating, _) => self.check_atr(true),
                (Card::Pps { .. }, _) => {
                    self.deactivate();
                    self.fail_job(SlotError::ICC_MUTE);
                }
                (_, Job::Raw { .. }) => self.fail_job(SlotError::ICC_MUTE),
                (_, Job::Pin { seq, stage }) => {
                    let typed = self
                        .entries
                        .get(usize::from(stage))
                        .is_some_and(|e| e.len > 0);
                    let on_timeout = self
                        .pin_plan()
                        .is_some_and(|(_, _, v)| v.contains(EntryValidation::TIMEOUT));
                    let last = self.pin_plan().is_some_and(|(n, _, _)| stage + 1 >= n);
                    if typed && on_timeout && last {
                        self.pin_entered(seq);
                    } else {
                        self.fail_job(SlotError::PIN_TIMEOUT);
                    }
                }
                _ => {}
            }
        }
        if due(self.te_deadline) {
            if let Some(seq) = self.job.seq() {
                let pending = self.replies.iter().any(|r| !r.is_final());
                if !pending {
                    self.push_reply(Reply {
                        ty: MessageType::RDR_TO_PC_DATA_BLOCK,
                        slot: 0,
                        seq,
                        status: SlotStatus::new(CommandStatus::TIME_EXTENSION, self.icc()),
                        error: SlotError(1),
                        extra: 0,
                        data: Data::None,
                    });
                }
                self.te_deadline = Some(now.add_micros(self.cfg.time_extension_micros));
            } else {
                self.te_deadline = None;
            }
        }
    }

    /// The next request for the card interface.
    pub fn poll_line(&mut self) -> Option<LineRequest> {
        self.lines.pop_front()
    }

    /// The next bytes for the card, written to `buf` (which should hold
    /// [`t1::MAX_BLOCK`] bytes, or `N` at TPDU level); `None` when there is nothing to send.
    pub fn poll_card_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.raw_tx_pending {
            self.raw_tx_pending = false;
            let n = self.buf.len();
            let ok = match buf.get_mut(..n) {
                Some(dst) => {
                    dst.copy_from_slice(&self.buf);
                    true
                }
                None => false,
            };
            self.buf.zeroize();
            self.buf.clear();
            if !ok {
                self.fail_job(SlotError::XFR_OVERRUN);
                return None;
            }
            // The answer's wait starts after our own bytes.
            if let Job::Raw { kind, .. } = self.job {
                self.deadline = Some(self.raw_deadline(n, kind));
            }
            return Some(n);
        }
        match &mut self.link {
            Link::T0(t0) => t0.poll_transmit(buf),
            Link::T1(t1) => t1.poll_transmit(buf),
            Link::None => None,
        }
    }

    /// The next bulk-IN message, encoded into `out` (which should hold
    /// `dwMaxCCIDMessageLength` bytes). A message that does not fit `out` is replaced by a
    /// failed one with `XFR_OVERRUN`, so the host still gets its one answer.
    pub fn poll_response<'o>(&mut self, out: &'o mut [u8]) -> Option<&'o [u8]> {
        let reply = self.replies.pop_front()?;
        let data: &[u8] = match &reply.data {
            Data::None => &[],
            Data::Inline(v) => v,
            Data::Firmware => self.cfg.firmware,
            Data::Raw { len } => self.buf.get(..*len).unwrap_or(&[]),
            Data::Link { offset, len } => {
                let rsp = match &self.link {
                    Link::T0(t0) => t0.response(),
                    Link::T1(t1) => t1.response(),
                    Link::None => &[],
                };
                rsp.get(*offset..offset.saturating_add(*len)).unwrap_or(&[])
            }
        };
        let [s0, s1, s2] = [reply.status.0, reply.error.0, reply.extra];
        let needed = HEADER_LEN + data.len();
        let total = if out.len() >= needed {
            needed
        } else {
            HEADER_LEN
        };
        let (status, error, extra, data) = if total == needed {
            (s0, s1, s2, data)
        } else {
            (
                SlotStatus::new(CommandStatus::FAILED, reply.status.icc()).0,
                SlotError::XFR_OVERRUN.0,
                0,
                &[][..],
            )
        };
        let out = out.get_mut(..total)?;
        let len = u32::try_from(data.len()).unwrap_or(0).to_le_bytes();
        let [l0, l1, l2, l3] = len;
        let header = [
            reply.ty.0, l0, l1, l2, l3, reply.slot, reply.seq, status, error, extra,
        ];
        let (head, body) = out.split_at_mut(HEADER_LEN);
        head.copy_from_slice(&header);
        body.copy_from_slice(data);
        if matches!(reply.data, Data::Raw { .. }) {
            self.buf.zeroize();
            self.buf.clear();
        }
        Some(out)
    }

    /// The next interrupt-IN message (`RDR_to_PC_NotifySlotChange`), as its two bytes.
    pub fn poll_interrupt(&mut self) -> Option<[u8; 2]> {
        let state = self.interrupt.take()?;
        Some([MessageType::RDR_TO_PC_NOTIFY_SLOT_CHANGE.0, state])
    }

    /// The earliest instant at which [`Reader::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let link = match &self.link {
            Link::T0(t0) => t0.poll_timeout(),
            Link::T1(t1) => t1.poll_timeout(),
            Link::None => None,
        };
        [link, self.deadline, self.te_deadline]
            .into_iter()
            .flatten()
            .min()
    }
}

/// The `bError` for a link failure.
fn link_error(e: cardwire_link::Error) -> SlotError {
    match e {
        cardwire_link::Error::Aborted => SlotError::CMD_ABORTED,
        cardwire_link::Error::ApduTooLong { .. } | cardwire_link::Error::BufferTooSmall { .. } => {
            SlotError::XFR_OVERRUN
        }
        cardwire_link::Error::InvalidApdu => SlotError::bad_parameter(HEADER_LEN),
        cardwire_link::Error::ProtocolViolation { .. } => SlotError::PROCEDURE_BYTE_CONFLICT,
        cardwire_link::Error::Busy => SlotError::CMD_SLOT_BUSY,
        _ => SlotError::ICC_MUTE,
    }
}

/// The data rate f × D / F in bit/s, rounded down and saturating (a zero F or D counts as 1).
///
/// In 32 bits: a 64-bit division costs a firmware 864 bytes of library code. With f = q × F + r
/// and r < F, f × D / F = q × D + r × D / F exactly, and r × D < 2^24.
fn data_rate(clock_hz: u32, fi: u16, di: u8) -> u32 {
    let (fi, di) = (u32::from(fi.max(1)), u32::from(di.max(1)));
    let (q, r) = (clock_hz / fi, clock_hz % fi);
    q.saturating_mul(di).saturating_add(r * di / fi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The formula with 64-bit arithmetic, as it was.
    fn data_rate_u64(clock_hz: u32, fi: u16, di: u8) -> u32 {
        let rate = u64::from(clock_hz) * u64::from(di.max(1)) / u64::from(fi.max(1));
        u32::try_from(rate).unwrap_or(u32::MAX)
    }

    #[test]
    fn data_rate_matches_64_bit_arithmetic_for_every_table_entry() {
        use cardwire_link::atr::{di_from_code, fi_from_code};
        for (fi, fmax_khz) in (0..16).filter_map(fi_from_code) {
            for di in (0..16).filter_map(di_from_code) {
                for clock in [1_000_000, 3_579_545, 4_000_000, 4_800_000, fmax_khz * 1000] {
                    assert_eq!(data_rate(clock, fi, di), data_rate_u64(clock, fi, di));
                }
            }
        }
        // 4.8 MHz with Fi 372 / Di 32: the 412 903 bit/s of docs/PERFORMANCE.md.
        assert_eq!(data_rate(4_800_000, 372, 32), 412_903);
        assert_eq!(data_rate(u32::MAX, 1, 255), u32::MAX);
        assert_eq!(data_rate(0, 0, 0), 0);
    }

    proptest! {
        #[test]
        fn data_rate_is_the_64_bit_formula(clock: u32, fi: u16, di: u8) {
            prop_assert_eq!(data_rate(clock, fi, di), data_rate_u64(clock, fi, di));
        }
    }
}
