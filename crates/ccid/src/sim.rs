//! A simulated card line for tests, fuzzers and the host-side reader: a T=1 card (the card
//! side of `cardwire-link`, [`T1Card`]) that answers activation with its ATR, echoes a PPS
//! request (ISO/IEC 7816-3 §9.3: accepted) and hands each command APDU to an application.
//! Every byte goes through the same engines as on a board.

use cardwire_link::Instant;
use cardwire_link::atr::{Atr, Mode as AtrMode};
use cardwire_link::pps::PpsMessage;
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

/// A simulated T=1 card with an ATR, driven by bytes and [`LineRequest`]s.
#[derive(Debug)]
pub struct SimCard<const N: usize> {
    atr: Vec<u8, 33>,
    cfg: Config,
    t1: T1Card<N>,
    state: State,
    pps: Vec<u8, 8>,
    out: Deque<u8, OUT>,
    /// WTX requests (multiplier) to send before each answer, for time extension tests.
    pub wtx_before_answer: u8,
    /// Commands answered.
    pub commands: u32,
}

impl<const N: usize> SimCard<N> {
    /// A card answering `atr` (direct convention, T=1 parameters taken from it).
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
        self.t1.handle_input(now, bytes);
        self.run(app);
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
