//! A simulated card link for tests, benchmarks and fuzzing: the reader engine and a card-side
//! engine connected by a virtual line with a seeded fault injector and a virtual clock.
//!
//! Behind the `sim` feature. Nothing here does I/O or reads a clock; a run is fully determined by its seed.
//!
//! ```
//! use cardwire_link::sim::{Faults, Outcome, T1Link, echo_card};
//! use cardwire_link::t1::Config;
//! let mut link: T1Link<512> = T1Link::new(Config::default(), Config::default(), Faults::NONE, 1);
//! let mut rsp = [0u8; 512];
//! let out = link.exchange(&[0x00, 0x84, 0x00, 0x00, 0x08], echo_card, &mut rsp);
//! assert_eq!(out, Outcome::Response(7)); // 5 bytes reversed + 90 00
//! ```

use crate::t1::{CardEvent, Config, Event, MAX_BLOCK, T1, T1Card};
use crate::{Error, Instant};

/// SplitMix64, a small seeded pseudo-random generator: enough to choose faults, not for
/// anything secret (randomness for keys and challenges is a `rand_core::TryCryptoRng`).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u16) -> bool {
        self.below(1000) < u64::from(per_mille)
    }
}

/// Fault probabilities, in per mille. Line faults hit at most one fault per block on the
/// line, so that the error detection code is guaranteed to see it (an LRC misses two flipped
/// bits in the same column; one fault per block is what the property test promises to
/// survive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Faults {
    /// A block gets one bit flipped.
    pub flip_bit: u16,
    /// A block loses one byte.
    pub drop_byte: u16,
    /// A block gets one byte duplicated.
    pub dup_byte: u16,
    /// A card block is delayed past the block waiting time.
    pub delay: u16,
    /// The card answers a command with a storm of 1..=`wtx_max` S(WTX) requests first.
    pub wtx_storm: u16,
    /// Most S(WTX) requests in one storm.
    pub wtx_max: u16,
    /// The card announces a new IFSC with S(IFS) before answering.
    pub ifs_change: u16,
}

impl Faults {
    /// A perfect line.
    pub const NONE: Faults = Faults {
        flip_bit: 0,
        drop_byte: 0,
        dup_byte: 0,
        delay: 0,
        wtx_storm: 0,
        wtx_max: 0,
        ifs_change: 0,
    };
    /// A noisy line and an awkward card: every fault kind, often.
    pub const NOISY: Faults = Faults {
        flip_bit: 40,
        drop_byte: 25,
        dup_byte: 25,
        delay: 20,
        wtx_storm: 50,
        wtx_max: 8,
        ifs_change: 50,
    };
}

/// How an exchange over the simulated link ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The reader got a response of this length (copied to the caller's buffer).
    Response(usize),
    /// The reader's engine failed cleanly.
    Failed(Error),
    /// The step bound was hit: the engines would have hung (a bug).
    Hung,
}

/// A card application: the response for a command, written to `rsp`; returns its length.
pub type CardApp = fn(cmd: &[u8], rsp: &mut [u8]) -> usize;

/// A test card: answers with the command's bytes reversed, padded to `P2` bytes when P2 is
/// larger (pattern `i as u8`), then `90 00`. Deterministic, so a test can predict it.
pub fn echo_card(cmd: &[u8], rsp: &mut [u8]) -> usize {
    let want = usize::from(cmd.get(3).copied().unwrap_or(0)).max(cmd.len());
    let mut n = 0;
    for i in 0..want {
        let b = match cmd.len().checked_sub(i + 1).and_then(|j| cmd.get(j)) {
            Some(b) => *b,
            None => i as u8,
        };
        if let Some(slot) = rsp.get_mut(n) {
            *slot = b;
            n += 1;
        }
    }
    for b in [0x90, 0x00] {
        if let Some(slot) = rsp.get_mut(n) {
            *slot = b;
            n += 1;
        }
    }
    n
}

const QUEUE: usize = 4;

/// One direction of the line: blocks in flight, delivered in order.
#[derive(Debug, Clone)]
struct Wire {
    slots: [([u8; MAX_BLOCK + 1], usize, Instant); QUEUE],
    head: usize,
    count: usize,
}

impl Wire {
    const fn new() -> Self {
        Self {
            slots: [([0; MAX_BLOCK + 1], 0, Instant(0)); QUEUE],
            head: 0,
            count: 0,
        }
    }

    fn push(&mut self, bytes: &[u8], at: Instant) {
        if self.count == QUEUE {
            // A full line loses its oldest block.
            self.head = (self.head + 1) % QUEUE;
            self.count -= 1;
        }
        let last_at = if self.count > 0 {
            self.slots
                .get((self.head + self.count - 1) % QUEUE)
                .map(|s| s.2)
                .unwrap_or(at)
        } else {
            at
        };
        if let Some(slot) = self.slots.get_mut((self.head + self.count) % QUEUE) {
            let n = bytes.len().min(MAX_BLOCK + 1);
            if let (Some(dst), Some(src)) = (slot.0.get_mut(..n), bytes.get(..n)) {
                dst.copy_from_slice(src);
            }
            slot.1 = n;
            slot.2 = at.max(last_at);
            self.count += 1;
        }
    }

    fn next_at(&self) -> Option<Instant> {
        (self.count > 0)
            .then(|| self.slots.get(self.head).map(|s| s.2))
            .flatten()
    }

    fn pop_due(&mut self, now: Instant, out: &mut [u8]) -> Option<usize> {
        if self.next_at()? > now {
            return None;
        }
        let slot = self.slots.get(self.head)?;
        let n = slot.1;
        out.get_mut(..n)?.copy_from_slice(slot.0.get(..n)?);
        self.head = (self.head + 1) % QUEUE;
        self.count -= 1;
        Some(n)
    }

    fn clear(&mut self) {
        self.count = 0;
    }
}

/// A reader engine and a card engine over a virtual, faulty line.
#[derive(Debug, Clone)]
pub struct T1Link<const N: usize> {
    /// The reader's engine.
    pub reader: T1<N>,
    /// The card's engine.
    pub card: T1Card<N>,
    reader_cfg: Config,
    card_cfg: Config,
    faults: Faults,
    rng: SplitMix64,
    now: Instant,
    to_card: Wire,
    to_reader: Wire,
    wtx_left: u16,
    ifs_pending: bool,
    /// Loop iterations allowed per exchange before [`Outcome::Hung`].
    pub max_steps: u32,
    /// Card resets done after the reader's engine died.
    pub resets: u32,
}

impl<const N: usize> T1Link<N> {
    /// A link whose reader uses `reader_cfg` and card uses `card_cfg` (its `ifsc` is the
    /// card's IFSC), with `faults` seeded by `seed`.
    pub fn new(reader_cfg: Config, card_cfg: Config, faults: Faults, seed: u64) -> Self {
        Self {
            reader: T1::new(reader_cfg),
            card: T1Card::new(card_cfg),
            reader_cfg,
            card_cfg,
            faults,
            rng: SplitMix64::new(seed),
            now: Instant(0),
            to_card: Wire::new(),
            to_reader: Wire::new(),
            wtx_left: 0,
            ifs_pending: false,
            max_steps: 20_000,
            resets: 0,
        }
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Resets the card and both engines, as a reader does after [`Error::Dead`].
    pub fn reset(&mut self) {
        self.reader = T1::new(self.reader_cfg);
        self.card = T1Card::new(self.card_cfg);
        self.to_card.clear();
        self.to_reader.clear();
        self.wtx_left = 0;
        self.ifs_pending = false;
        self.resets += 1;
    }

    fn inject(
        &mut self,
        bytes: &mut [u8; MAX_BLOCK + 1],
        mut n: usize,
        to_reader: bool,
    ) -> (usize, u64) {
        let f = self.faults;
        let mut delay = 0;
        let roll = self.rng.below(1000);
        let mut edge = u64::from(f.flip_bit);
        if roll < edge && n > 0 {
            let bit = self.rng.below(n as u64 * 8);
            if let Some(b) = bytes.get_mut((bit / 8) as usize) {
                *b ^= 1 << (bit % 8);
            }
            return (n, 0);
        }
        edge += u64::from(f.drop_byte);
        if roll < edge && n > 0 {
            let i = self.rng.below(n as u64) as usize;
            bytes.copy_within(i + 1..n, i);
            n -= 1;
            return (n, 0);
        }
        edge += u64::from(f.dup_byte);
        if roll < edge && n > 0 && n < MAX_BLOCK + 1 {
            let i = self.rng.below(n as u64) as usize;
            bytes.copy_within(i..n, i + 1);
            n += 1;
            return (n, 0);
        }
        edge += u64::from(f.delay);
        if roll < edge && to_reader {
            let bwt = self.reader_cfg.bwt_micros;
            delay = bwt + 1 + self.rng.below(bwt.max(1));
        }
        (n, delay)
    }

    /// Runs one exchange: the reader sends `cmd`, the card answers with `app`; the response
    /// is copied to `rsp`.
    pub fn exchange(&mut self, cmd: &[u8], app: CardApp, rsp: &mut [u8]) -> Outcome {
        if let Err(e) = self.reader.start(self.now, cmd) {
            return Outcome::Failed(e);
        }
        let mut buf = [0u8; MAX_BLOCK + 1];
        let mut app_buf = [0u8; N];
        for _ in 0..self.max_steps {
            // Reader: send, then look for the outcome.
            while let Some(n) = self.reader.poll_transmit(&mut buf) {
                let (n, delay) = self.inject(&mut buf, n, false);
                let line = self.reader_cfg.char_micros * n as u64;
                self.to_card.push(
                    buf.get(..n).unwrap_or(&[]),
                    self.now.add_micros(line + delay),
                );
            }
            match self.reader.poll_event() {
                Some(Event::Response { len }) => {
                    let got = self.reader.response();
                    return match rsp.get_mut(..len) {
                        Some(dst) if got.len() == len => {
                            dst.copy_from_slice(got);
                            Outcome::Response(len)
                        }
                        _ => Outcome::Failed(Error::BufferTooSmall { needed: len }),
                    };
                }
                Some(Event::Failed(e)) => return Outcome::Failed(e),
                None => {}
            }
            // Card: events, then the application's move, then send.
            match self.card.poll_event() {
                Some(CardEvent::Command { .. }) => {
                    self.wtx_left = if self.rng.chance(self.faults.wtx_storm) {
                        1 + self.rng.below(u64::from(self.faults.wtx_max.max(1))) as u16
                    } else {
                        0
                    };
                    self.ifs_pending = self.rng.chance(self.faults.ifs_change);
                }
                Some(CardEvent::Resynchronized | CardEvent::Aborted) | None => {}
            }
            if self.card.can_respond() {
                if self.ifs_pending {
                    self.ifs_pending = false;
                    let _ = self.card.request_ifs(1 + self.rng.below(254) as u8);
                } else if self.wtx_left > 0 {
                    self.wtx_left -= 1;
                    let _ = self.card.request_wtx(1 + self.rng.below(3) as u8);
                } else {
                    let n = app(self.card.command(), &mut app_buf);
                    let _ = self.card.respond(app_buf.get(..n).unwrap_or(&[]));
                }
            }
            while let Some(n) = self.card.poll_transmit(&mut buf) {
                let (n, delay) = self.inject(&mut buf, n, true);
                let line = self.card_cfg.char_micros * n as u64;
                self.to_reader.push(
                    buf.get(..n).unwrap_or(&[]),
                    self.now.add_micros(line + delay),
                );
            }
            // Deliver what is due, else move the clock to the next thing that happens.
            if let Some(n) = self.to_card.pop_due(self.now, &mut buf) {
                self.card
                    .handle_input(self.now, buf.get(..n).unwrap_or(&[]));
                continue;
            }
            if let Some(n) = self.to_reader.pop_due(self.now, &mut buf) {
                self.reader
                    .handle_input(self.now, buf.get(..n).unwrap_or(&[]));
                continue;
            }
            let next = [
                self.to_card.next_at(),
                self.to_reader.next_at(),
                self.reader.poll_timeout(),
                self.card.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next else {
                return Outcome::Hung;
            };
            self.now = self.now.max(next);
            if self.reader.poll_timeout().is_some_and(|d| d <= self.now) {
                self.reader.handle_timeout(self.now);
            }
            if self.card.poll_timeout().is_some_and(|d| d <= self.now) {
                self.card.handle_timeout(self.now);
            }
        }
        Outcome::Hung
    }
}
