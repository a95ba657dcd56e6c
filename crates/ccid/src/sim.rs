//! A simulated card line for tests, fuzzers and the host-side reader: a T=1 card (the card
//! side of `cardwire-link`, [`T1Card`]) or a T=0 card ([`T0Card`], with the TPDU-to-APDU
//! mapping of ISO/IEC 7816-3 §12.2 done here) that answers activation with its ATR, echoes a
//! PPS request (ISO/IEC 7816-3 §9.3: accepted) and hands each command APDU to an
//! application. Every byte goes through the same engines as on a board.
//!
//! The protocol is the ATR's default one ([`Atr::default_protocol`]): build the ATR with
//! [`atr_with_protocol`] to choose.

use cardwire_apdu::Ins;
use cardwire_link::Instant;
use cardwire_link::atr::{Atr, Mode as AtrMode};
use cardwire_link::pps::PpsMessage;
use cardwire_link::t0::{T0Card, T0CardEvent};
use cardwire_link::t1::{CardEvent, Config, Edc, T1Card};
use heapless::{Deque, Vec};

use crate::engine::LineRequest;

/// Bytes the card can have in flight towards the reader.
const OUT: usize = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Off,
    /// ATR sent; a PPS request may come first.
    AfterAtr,
    Running,
}

/// A simulated T=1 or T=0 card with an ATR, driven by bytes and [`LineRequest`]s.
#[derive(Debug)]
pub struct SimCard<const N: usize> {
    atr: Vec<u8, 33>,
    cfg: Config,
    t1: T1Card<N>,
    /// `Some` for a T=0 card (the ATR's default protocol is 0).
    t0: Option<T0Side>,
    state: State,
    pps: Vec<u8, 8>,
    out: Deque<u8, OUT>,
    /// WTX requests (multiplier) to send before each answer, for time extension tests.
    pub wtx_before_answer: u8,
    /// Commands answered.
    pub commands: u32,
}

impl<const N: usize> SimCard<N> {
    /// A card answering `atr` (direct convention), speaking the ATR's default protocol: T=1
    /// with the ATR's parameters, or T=0.
    ///
    /// # Errors
    /// The link layer's error when `atr` is not an ATR.
    pub fn new(atr: &[u8]) -> Result<Self, cardwire_link::Error> {
        let parsed = Atr::parse(atr, AtrMode::Lenient)?;
        let t1 = parsed.t1();
        let cfg = Config {
            ifsc: t1.ifsc,
            edc: if t1.edc == cardwire_link::atr::EdcKind::Crc {
                Edc::CRC
            } else {
                Edc::Lrc
            },
            ..Config::default()
        };
        Ok(Self {
            atr: Vec::from_slice(parsed.as_bytes())
                .map_err(|_| cardwire_link::Error::AtrTooLong { len: atr.len() })?,
            cfg,
            t1: T1Card::new(cfg),
            t0: (parsed.default_protocol() == 0).then(T0Side::new),
            state: State::Off,
            pps: Vec::new(),
            out: Deque::new(),
            wtx_before_answer: 0,
            commands: 0,
        })
    }

    /// Applies a request of the reader's card interface: activation queues the ATR.
    pub fn handle_line(&mut self, req: LineRequest) {
        match req {
            LineRequest::Activate => {
                self.t1 = T1Card::new(self.cfg);
                if let Some(t0) = &mut self.t0 {
                    *t0 = T0Side::new();
                }
                self.out.clear();
                self.pps.clear();
                for &b in self.atr.iter() {
                    let _ = self.out.push_back(b);
                }
                self.state = State::AfterAtr;
            }
            LineRequest::Deactivate => {
                self.state = State::Off;
                self.out.clear();
            }
            LineRequest::SetTiming(_) => {}
        }
    }

    /// Bytes from the reader; `app` answers each whole command APDU into its buffer and
    /// returns the response length.
    pub fn handle_input(
        &mut self,
        now: Instant,
        bytes: &[u8],
        app: &mut dyn FnMut(&[u8], &mut [u8]) -> usize,
    ) {
        let mut bytes = bytes;
        if self.state == State::AfterAtr {
            if self.pps.is_empty() && bytes.first() != Some(&0xFF) {
                self.state = State::Running;
            } else {
                while let Some((&b, rest)) = bytes.split_first() {
                    bytes = rest;
                    let _ = self.pps.push(b);
                    match PpsMessage::parse(&self.pps) {
                        Err(cardwire_link::Error::PpsIncomplete { .. }) => {}
                        Ok(_) => {
                            // Accept: echo the request.
                            for &b in self.pps.iter() {
                                let _ = self.out.push_back(b);
                            }
                            self.state = State::Running;
                            break;
                        }
                        Err(_) => {
                            self.state = State::Running;
                            break;
                        }
                    }
                }
                if bytes.is_empty() {
                    return;
                }
            }
        }
        if self.state != State::Running {
            return;
        }
        if let Some(t0) = &mut self.t0 {
            t0.handle_input(bytes, app, &mut self.commands);
            let mut buf = [0u8; 64];
            while let Some(n) = t0.card.poll_transmit(&mut buf) {
                for &b in buf.get(..n).unwrap_or(&[]) {
                    let _ = self.out.push_back(b);
                }
            }
            return;
        }
        self.t1.handle_input(now, bytes);
        self.run(app);
    }

    /// The protocol the card speaks: 0 or 1.
    pub fn protocol(&self) -> u8 {
        if self.t0.is_some() { 0 } else { 1 }
    }

    fn run(&mut self, app: &mut dyn FnMut(&[u8], &mut [u8]) -> usize) {
        for _ in 0..8 {
            if let Some(CardEvent::Command { .. }) = self.t1.poll_event() {
                if self.wtx_before_answer > 0 && self.t1.request_wtx(self.wtx_before_answer).is_ok()
                {
                    self.flush();
                    return;
                }
                self.answer(app);
            } else if self.t1.can_respond() {
                // The reader answered our S(WTX): now the real answer.
                self.answer(app);
            }
            if !self.flush() {
                break;
            }
        }
    }

    fn answer(&mut self, app: &mut dyn FnMut(&[u8], &mut [u8]) -> usize) {
        let mut cmd = [0u8; N];
        let n = self.t1.command().len().min(N);
        if let (Some(dst), Some(src)) = (cmd.get_mut(..n), self.t1.command().get(..n)) {
            dst.copy_from_slice(src);
        }
        let mut rsp = [0u8; N];
        let len = app(cmd.get(..n).unwrap_or(&[]), &mut rsp).min(N);
        self.commands += 1;
        if self
            .t1
            .respond(rsp.get(..len).unwrap_or(&[0x6F, 0x00]))
            .is_err()
        {
            let _ = self.t1.respond(&[0x6F, 0x00]);
        }
    }

    fn flush(&mut self) -> bool {
        let mut block = [0u8; cardwire_link::t1::MAX_BLOCK];
        let mut any = false;
        while let Some(n) = self.t1.poll_transmit(&mut block) {
            any = true;
            for &b in block.get(..n).unwrap_or(&[]) {
                let _ = self.out.push_back(b);
            }
        }
        any
    }

    /// The next bytes towards the reader.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        let mut n = 0;
        while let Some(slot) = buf.get_mut(n) {
            match self.out.pop_front() {
                Some(b) => {
                    *slot = b;
                    n += 1;
                }
                None => break,
            }
        }
        (n > 0).then_some(n)
    }
}

/// Builds an ATR (direct convention) announcing `protocol` with `historical` bytes
/// (ISO/IEC 7816-3 §8.2): for T=0 no interface bytes at all (T=0 is implied, no TCK); for
/// T=1 TD1 = `81`, TD2 = `31` with TA3 (IFSC 254) and TB3 (BWI 4, CWI 5), and TCK.
/// At most 15 historical bytes are used.
pub fn atr_with_protocol(protocol: u8, historical: &[u8]) -> Vec<u8, 33> {
    let hist = historical.get(..historical.len().min(15)).unwrap_or(&[]);
    let k = u8::try_from(hist.len()).unwrap_or(15);
    let mut atr: Vec<u8, 33> = Vec::new();
    let _ = atr.push(0x3B);
    if protocol == 0 {
        let _ = atr.push(k);
        let _ = atr.extend_from_slice(hist);
    } else {
        let _ = atr.extend_from_slice(&[0x80 | k, 0x81, 0x31, 0xFE, 0x45]);
        let _ = atr.extend_from_slice(hist);
        let tck = atr.iter().skip(1).fold(0u8, |x, b| x ^ b);
        let _ = atr.push(tck);
    }
    atr
}

/// The card's side of T=0 above the character engine: decides from INS whether P3 is Lc or
/// Le, forms the command APDU (ISO/IEC 7816-3 §12.2: cases 1, 2S and 3S; case 4S is sent
/// as case 3S and its answer fetched with GET RESPONSE after `61xx`), and answers a wrong
/// Le with `6Cxx` (§12.2.2), keeping the answer for the re-sent command.
#[derive(Debug)]
struct T0Side {
    card: T0Card<264>,
    /// Response data waiting for GET RESPONSE (case 4 answers).
    pending: Vec<u8, 256>,
    /// The application's status word, sent with the last of `pending`: `9000`, or its own
    /// `61xx` when its answer is longer than 256 bytes and goes on in its own GET RESPONSE.
    pending_sw: [u8; 2],
    /// The answer kept after `6Cxx`: CLA INS P1 P2 of the command, data and status word.
    kept: Option<([u8; 4], Vec<u8, 256>, [u8; 2])>,
}

/// Whether the command with this INS carries command data (P3 is Lc); otherwise P3 is Le
/// (ISO/IEC 7816-4 §11, the commands' descriptions, and GlobalPlatform's INITIALIZE UPDATE
/// `50`).
fn has_command_data(ins: u8) -> bool {
    const WITH_DATA: [Ins; 24] = [
        Ins::VERIFY,
        Ins::VERIFY_ODD,
        Ins::MANAGE_SECURITY_ENVIRONMENT,
        Ins::CHANGE_REFERENCE_DATA,
        Ins::PERFORM_SECURITY_OPERATION,
        Ins::RESET_RETRY_COUNTER,
        Ins::GENERATE_ASYMMETRIC_KEY_PAIR,
        Ins::GENERATE_ASYMMETRIC_KEY_PAIR_ODD,
        Ins::EXTERNAL_AUTHENTICATE,
        Ins::GENERAL_AUTHENTICATE,
        Ins::GENERAL_AUTHENTICATE_ODD,
        Ins::INTERNAL_AUTHENTICATE,
        Ins::SELECT,
        Ins::READ_BINARY_ODD,
        Ins::ENVELOPE,
        Ins(0xCB), // GET DATA (odd INS)
        Ins(0xD0), // WRITE BINARY
        Ins(0xD6), // UPDATE BINARY
        Ins(0xD7), // UPDATE BINARY (odd INS)
        Ins(0xDA), // PUT DATA
        Ins(0xDB), // PUT DATA (odd INS)
        Ins(0xDC), // UPDATE RECORD
        Ins(0xE2), // APPEND RECORD
        Ins(0x50), // INITIALIZE UPDATE (GlobalPlatform)
    ];
    WITH_DATA.iter().any(|i| i.0 == ins)
}

/// Whether a command of this INS that carries data may also answer with data (case 4: SELECT,
/// the authentications, key generation, PSO, ENVELOPE, the odd READ BINARY and GET DATA,
/// GlobalPlatform's INITIALIZE UPDATE). Over T=0 the card cannot tell case 4S from 3S: the
/// reader sends such a command without Le and fetches any answer with GET RESPONSE after
/// `61xx` (ISO/IEC 7816-3 §12.2), so the card's OS gives the application the most it can
/// answer, Ne 256 (as Java Card's `APDU.setOutgoing` does on T=0).
fn may_answer_data(ins: u8) -> bool {
    const WITH_ANSWER: [Ins; 11] = [
        Ins::SELECT,
        Ins::GENERAL_AUTHENTICATE,
        Ins::GENERAL_AUTHENTICATE_ODD,
        Ins::INTERNAL_AUTHENTICATE,
        Ins::GENERATE_ASYMMETRIC_KEY_PAIR,
        Ins::GENERATE_ASYMMETRIC_KEY_PAIR_ODD,
        Ins::PERFORM_SECURITY_OPERATION,
        Ins::ENVELOPE,
        Ins::READ_BINARY_ODD,
        Ins(0xCB), // GET DATA (odd INS)
        Ins(0x50), // INITIALIZE UPDATE (GlobalPlatform)
    ];
    WITH_ANSWER.iter().any(|i| i.0 == ins)
}

impl T0Side {
    fn new() -> Self {
        Self {
            card: T0Card::new(),
            pending: Vec::new(),
            pending_sw: [0x90, 0x00],
            kept: None,
        }
    }

    fn handle_input(
        &mut self,
        bytes: &[u8],
        app: &mut dyn FnMut(&[u8], &mut [u8]) -> usize,
        commands: &mut u32,
    ) {
        self.card.handle_input(bytes);
        match self.card.poll_event() {
            Some(T0CardEvent::Header(h)) => self.on_header(h, app, commands),
            Some(T0CardEvent::Data { .. }) => {
                let h = self.card.header();
                let mut cmd = [0u8; 5 + 256 + 1];
                let data = self.card.data();
                let (head, body) = cmd.split_at_mut(5);
                head.copy_from_slice(&h);
                if let Some(body) = body.get_mut(..data.len()) {
                    body.copy_from_slice(data);
                }
                // Case 4S arrives as 3S: Le 00 (Ne 256) lets the application answer.
                let [_, ins, ..] = h;
                let n = 5 + data.len() + usize::from(may_answer_data(ins));
                let mut rsp = [0u8; 258];
                let len = app(cmd.get(..n).unwrap_or(&[]), &mut rsp).min(rsp.len());
                *commands += 1;
                let (data, sw) = split_sw(rsp.get(..len).unwrap_or(&[]));
                if data.is_empty() {
                    self.card.respond(&[], sw);
                } else {
                    // Case 4 over T=0: the data waits for GET RESPONSE.
                    self.pending.clear();
                    let _ = self.pending.extend_from_slice(data);
                    self.pending_sw = sw;
                    let na = u8::try_from(data.len()).unwrap_or(0);
                    self.card.respond(&[], [0x61, na]);
                }
            }
            None => {}
        }
    }

    fn on_header(
        &mut self,
        h: [u8; 5],
        app: &mut dyn FnMut(&[u8], &mut [u8]) -> usize,
        commands: &mut u32,
    ) {
        let [cla, ins, p1, p2, p3] = h;
        let le = if p3 == 0 { 256 } else { usize::from(p3) };
        if has_command_data(ins) && p3 > 0 {
            self.kept = None;
            self.card.ack_all();
            return;
        }
        if ins == Ins::GET_RESPONSE.0 && !self.pending.is_empty() {
            let n = le.min(self.pending.len());
            let mut chunk: Vec<u8, 256> = Vec::new();
            let _ = chunk.extend_from_slice(self.pending.get(..n).unwrap_or(&[]));
            let rest = self.pending.len() - n;
            let mut left: Vec<u8, 256> = Vec::new();
            let _ = left.extend_from_slice(self.pending.get(n..).unwrap_or(&[]));
            self.pending = left;
            let sw = if rest == 0 {
                self.pending_sw
            } else {
                [0x61, u8::try_from(rest).unwrap_or(0)]
            };
            self.card.respond(&chunk, sw);
            return;
        }
        self.pending.clear();
        if let Some((head, data, sw)) = self.kept.take() {
            if head == [cla, ins, p1, p2] && data.len() == le.min(256) {
                self.card.respond(&data, sw);
                return;
            }
        }
        // Case 1 (P3 = 00 and data-carrying INS: no data) or case 2 (P3 is Le).
        let case1 = has_command_data(ins);
        let cmd_len = if case1 { 4 } else { 5 };
        let mut rsp = [0u8; 258];
        let len = app(h.get(..cmd_len).unwrap_or(&h), &mut rsp).min(rsp.len());
        *commands += 1;
        let (data, sw) = split_sw(rsp.get(..len).unwrap_or(&[]));
        if data.len() == le && !case1 {
            self.card.respond(data, sw);
        } else if data.is_empty() || case1 {
            // An error (or warning) without data, or case 1 (no Le: any data the application
            // returned has no place on the line): the status word only.
            self.card.respond(&[], sw);
        } else {
            // Wrong Le: 6C with the exact length; the re-sent command gets the kept answer.
            let mut kept: Vec<u8, 256> = Vec::new();
            let _ = kept.extend_from_slice(data.get(..data.len().min(256)).unwrap_or(&[]));
            let na = u8::try_from(kept.len()).unwrap_or(0);
            self.kept = Some(([cla, ins, p1, p2], kept, sw));
            self.card.respond(&[], [0x6C, na]);
        }
    }
}

/// Splits a response APDU into data and status word (`6F00` when shorter than a status word).
fn split_sw(rsp: &[u8]) -> (&[u8], [u8; 2]) {
    match rsp {
        [data @ .., sw1, sw2] => (data, [*sw1, *sw2]),
        _ => (&[], [0x6F, 0x00]),
    }
}
