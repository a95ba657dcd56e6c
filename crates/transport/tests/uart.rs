//! The UART drivers over simulated UARTs wired to `cardwire-link`'s card-side engines.
#![cfg(all(feature = "embedded-io", feature = "embedded-io-async"))]
// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::VecDeque;
use std::vec::Vec;

use cardwire_link::t1::{CardEvent, T1Card};

use cardwire_link::Instant;
use cardwire_link::t1::{Config, MAX_BLOCK};
use cardwire_transport::uart::{AsyncClock, AsyncT1Uart, Clock, T0Uart, T1Uart, UartError};
use core::task::Poll;

use cardwire_transport::{AsyncTransport, Error as _, ErrorKind, Transport};

/// ATR 3B 80 80 01 01: T=1 offered, no historical bytes (TCK missing; lenient parsing).
const ATR_T1: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

/// A UART wired to a T=1 card engine that answers each APDU with its reverse and 9000.
struct SimUart {
    card: T1Card<300>,
    to_host: VecDeque<u8>,
    mute: bool,
    /// The card answers every command with S(WTX request)s only, for ever.
    wtx_forever: bool,
    now: u64,
}

impl SimUart {
    fn new() -> Self {
        Self {
            card: T1Card::new(Config::default()),
            to_host: VecDeque::new(),
            mute: false,
            wtx_forever: false,
            now: 0,
        }
    }
    fn pump(&mut self) {
        let mut block = [0u8; MAX_BLOCK];
        loop {
            while let Some(n) = self.card.poll_transmit(&mut block) {
                self.to_host.extend(&block[..n]);
            }
            match self.card.poll_event() {
                Some(CardEvent::Command { .. }) if self.wtx_forever => {}
                Some(CardEvent::Command { .. }) => {
                    let mut rsp: Vec<u8> = self.card.command().iter().rev().copied().collect();
                    rsp.extend([0x90, 0x00]);
                    self.card.respond(&rsp).unwrap();
                }
                Some(_) => {}
                None if self.wtx_forever && self.card.can_respond() => {
                    self.card.request_wtx(1).unwrap();
                }
                None => break,
            }
        }
    }
}

impl embedded_io::ErrorType for SimUart {
    type Error = core::convert::Infallible;
}
impl embedded_io::Write for SimUart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if !self.mute {
            self.card.handle_input(Instant(self.now), buf);
            self.pump();
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
impl embedded_io::ReadReady for SimUart {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.to_host.is_empty())
    }
}
impl embedded_io::Read for SimUart {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.to_host.len()).min(7);
        for b in buf.iter_mut().take(n) {
            *b = self.to_host.pop_front().unwrap();
        }
        Ok(n)
    }
}

impl embedded_io_async::Read for SimUart {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        embedded_io::Read::read(self, buf)
    }
}
impl embedded_io_async::Write for SimUart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        embedded_io::Write::write(self, buf)
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A clock that advances 50 µs each time it is read.
struct StepClock(u64);
impl Clock for StepClock {
    fn now(&mut self) -> Instant {
        self.0 += 50;
        Instant(self.0)
    }
}

#[test]
fn blocking_t1_carries_apdus_across_several_blocks() {
    let mut t: T1Uart<_, _, 300> =
        T1Uart::with_config(SimUart::new(), StepClock(0), &ATR_T1, Config::default()).unwrap();
    assert_eq!(t.atr(), ATR_T1);
    // 100 bytes of data: more than IFSC 32, so the command is chained over 4 blocks.
    let mut cmd = std::vec![0x00, 0xDA, 0x01, 0x00, 100];
    cmd.extend(0..100u8);
    let mut buf = [0u8; 300];
    let rsp = t.transmit(&cmd, &mut buf).unwrap();
    let mut expected: Vec<u8> = cmd.iter().rev().copied().collect();
    expected.extend([0x90, 0x00]);
    assert_eq!(rsp, expected.as_slice());
    assert!(t.engine().stats().blocks_sent >= 4);
    // And again: sequence numbers carry on.
    assert_eq!(
        t.transmit(&[0x00, 0xA4, 0x00, 0x0C], &mut buf).unwrap(),
        [0x0C, 0x00, 0xA4, 0x00, 0x90, 0x00]
    );
}

#[test]
fn blocking_t1_gives_up_on_a_mute_card_with_a_typed_error() {
    let mut uart = SimUart::new();
    uart.mute = true;
    let mut t: T1Uart<_, _, 300> =
        T1Uart::with_config(uart, StepClock(0), &ATR_T1, Config::default()).unwrap();
    let mut buf = [0u8; 300];
    let err = t.transmit(&[0x00, 0xA4, 0x00, 0x0C], &mut buf).unwrap_err();
    assert!(matches!(err, UartError::Link(_)), "{err:?}");
    assert!(matches!(
        err.kind(),
        ErrorKind::Protocol | ErrorKind::Timeout
    ));
    assert_eq!(t.reset().unwrap_err(), UartError::Unsupported);
}

#[test]
fn small_response_buffer_is_an_error() {
    let mut t: T1Uart<_, _, 300> =
        T1Uart::with_config(SimUart::new(), StepClock(0), &ATR_T1, Config::default()).unwrap();
    let mut buf = [0u8; 3];
    assert_eq!(
        t.transmit(&[0x00, 0xA4, 0x00, 0x0C], &mut buf).unwrap_err(),
        UartError::BufferTooSmall
    );
}

#[test]
fn async_t1_over_a_ready_uart() {
    struct ReadyClock(u64);
    impl AsyncClock for ReadyClock {
        fn now(&mut self) -> Instant {
            self.0 += 50;
            Instant(self.0)
        }
        async fn wait_until(&mut self, deadline: Instant) {
            self.0 = self.0.max(deadline.0);
        }
    }
    let mut t: AsyncT1Uart<_, _, 300> =
        AsyncT1Uart::with_config(SimUart::new(), ReadyClock(0), &ATR_T1, Config::default())
            .unwrap();
    let mut buf = [0u8; 300];
    let fut = t.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x10], &mut buf);
    let mut fut = core::pin::pin!(fut);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    let rsp = loop {
        if let Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
            break r.unwrap();
        }
    };
    assert_eq!(rsp, [0x10, 0x00, 0x00, 0xB0, 0x00, 0x90, 0x00]);
}

/// A UART wired to a T=0 card: READ BINARY (INS B0) answers P3 bytes `0..P3`; any other
/// command takes its data and answers `61 Lc`, and GET RESPONSE returns the data reversed.
struct SimUart0 {
    card: cardwire_link::t0::T0Card<300>,
    to_host: VecDeque<u8>,
    last: Vec<u8>,
}

impl SimUart0 {
    fn pump(&mut self) {
        use cardwire_link::t0::T0CardEvent;
        loop {
            match self.card.poll_event() {
                Some(T0CardEvent::Header(h)) if h[1] == 0xB0 || h[1] == 0xC0 => {
                    let n = if h[4] == 0 { 256 } else { usize::from(h[4]) };
                    let data: Vec<u8> = if h[1] == 0xB0 {
                        (0..n).map(|i| i as u8).collect()
                    } else {
                        self.last.iter().rev().take(n).copied().collect()
                    };
                    self.card.respond(&data, [0x90, 0x00]);
                }
                Some(T0CardEvent::Header(_)) => self.card.ack_all(),
                Some(T0CardEvent::Data { len }) => {
                    self.last = self.card.data().to_vec();
                    self.card.respond(&[], [0x61, len as u8]);
                }
                None => break,
            }
        }
        let mut out = [0u8; 300];
        while let Some(n) = self.card.poll_transmit(&mut out) {
            self.to_host.extend(&out[..n]);
        }
    }
}

impl embedded_io::ErrorType for SimUart0 {
    type Error = core::convert::Infallible;
}
impl embedded_io::Write for SimUart0 {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.card.handle_input(buf);
        self.pump();
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
impl embedded_io::ReadReady for SimUart0 {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.to_host.is_empty())
    }
}
impl embedded_io::Read for SimUart0 {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.to_host.len()).min(5);
        for b in buf.iter_mut().take(n) {
            *b = self.to_host.pop_front().unwrap();
        }
        Ok(n)
    }
}

#[test]
fn blocking_t0_carries_case_2_and_case_4_with_get_response() {
    // ATR 3B 00: T=0 implied, default WI.
    let uart = SimUart0 {
        card: cardwire_link::t0::T0Card::new(),
        to_host: VecDeque::new(),
        last: Vec::new(),
    };
    let mut t: T0Uart<_, _, 300> =
        T0Uart::new(uart, StepClock(0), &[0x3B, 0x00], 4_000_000).unwrap();
    let mut buf = [0u8; 300];
    let rsp = t
        .transmit(&[0x00, 0xB0, 0x00, 0x00, 0x04], &mut buf)
        .unwrap();
    assert_eq!(rsp, [0, 1, 2, 3, 0x90, 0x00]);
    // Case 4: the engine sends the data, then GET RESPONSE on 61xx (ISO/IEC 7816-3 §12.2.5).
    let rsp = t
        .transmit(
            &[0x00, 0xA4, 0x04, 0x00, 0x03, 0xA0, 0x00, 0x01, 0x00],
            &mut buf,
        )
        .unwrap();
    assert_eq!(rsp, [0x01, 0x00, 0xA0, 0x90, 0x00]);
}

/// Issue 12: the drivers run at the timing in use — the PPS result, or Fd/Dd = 372/1 when no
/// PPS was made, TA1's F and D without PPS only in the specific mode of TA2 without the
/// implicit bit (ISO/IEC 7816-3 §6.3.1, §8.3, §9) — not at TA1's values by themselves.
#[test]
fn drivers_take_the_timing_in_use_not_ta1() {
    use cardwire_link::Timing;
    use cardwire_link::atr::{Atr, Mode};
    use cardwire_link::t0::T0Config;
    use cardwire_transport::uart::{AsyncT0Uart, T1Uart};
    let clock = 4_000_000;
    let default = Timing::new(clock, 372, 1);
    let ta1 = Timing::new(clock, 512, 32); // TA1 = 96
    // TA1 = 96, TD1 = 01: negotiable mode (no TA2), T=1.
    let negotiable = [0x3B, 0x90, 0x96, 0x01, 0x07];
    // TD1 = 11, TA2 = 91: specific mode T=1, parameters implicit (bit 5): TA1 must not be used.
    let implicit = [0x3B, 0x90, 0x96, 0x11, 0x91, 0x86];
    // TA2 = 81: specific mode T=1 with TA1's parameters.
    let explicit = [0x3B, 0x90, 0x96, 0x11, 0x81, 0x96];
    let t1 = |atr: &[u8]| -> (u64, u64, u64) {
        let t: T1Uart<_, _, 300> = T1Uart::new(SimUart::new(), StepClock(0), atr, clock).unwrap();
        let c = t.engine().config();
        (c.bwt_micros, c.cwt_micros, c.char_micros)
    };
    let want = |atr: &[u8], timing: Timing| -> (u64, u64, u64) {
        let parsed = Atr::parse(atr, Mode::Lenient).unwrap();
        let c = Config::from_atr(&parsed, &timing);
        (c.bwt_micros, c.cwt_micros, c.char_micros)
    };
    assert_ne!(want(&negotiable, default), want(&negotiable, ta1));
    assert_eq!(t1(&negotiable), want(&negotiable, default));
    assert_eq!(t1(&implicit), want(&implicit, default));
    assert_eq!(t1(&explicit), want(&explicit, ta1));
    // After a PPS to TA1 the caller passes the agreed timing.
    let t: T1Uart<_, _, 300> =
        T1Uart::negotiated(SimUart::new(), StepClock(0), &negotiable, ta1).unwrap();
    let c = t.engine().config();
    assert_eq!(
        (c.bwt_micros, c.cwt_micros, c.char_micros),
        want(&negotiable, ta1)
    );

    // T=0: the work waiting time WT = WI × 960 × F / f follows F too.
    let t0_negotiable = [0x3B, 0x10, 0x96];
    let t0_implicit = [0x3B, 0x90, 0x96, 0x10, 0x90];
    for atr in [&t0_negotiable[..], &t0_implicit[..]] {
        let t: T0Uart<_, _, 300> = T0Uart::new(SimUart::new(), StepClock(0), atr, clock).unwrap();
        assert_eq!(*t.engine().config(), T0Config::new(10, &default, 0));
        let t: AsyncT0Uart<_, _, 300> =
            AsyncT0Uart::new(SimUart::new(), StepClock(0), atr, clock).unwrap();
        assert_eq!(*t.engine().config(), T0Config::new(10, &default, 0));
    }
    assert_ne!(T0Config::new(10, &default, 0), T0Config::new(10, &ta1, 0));
    let t: AsyncT0Uart<_, _, 300> =
        AsyncT0Uart::negotiated(SimUart::new(), StepClock(0), &t0_negotiable, ta1).unwrap();
    assert_eq!(*t.engine().config(), T0Config::new(10, &ta1, 0));
}

/// A card that keeps asking for more time past the exchange deadline is a timeout to the
/// caller, like a mute one.
#[test]
fn the_exchange_deadline_is_a_timeout_kind() {
    let e: UartError<core::convert::Infallible> =
        UartError::Link(cardwire_link::Error::DeadlineExceeded);
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let e: UartError<core::convert::Infallible> = UartError::Link(cardwire_link::Error::Dead);
    assert_eq!(e.kind(), ErrorKind::Protocol);
}

/// A clock that advances one second each time it is read.
struct SecondClock(u64);
impl Clock for SecondClock {
    fn now(&mut self) -> Instant {
        self.0 += 1_000_000;
        Instant(self.0)
    }
}

/// Issue 12: through the blocking driver, a card that answers with S(WTX) for ever ends at
/// the 60 s exchange deadline (before the 256-WTX limit), as a timeout.
#[test]
fn blocking_t1_ends_endless_wtx_at_the_exchange_deadline() {
    let mut uart = SimUart::new();
    uart.wtx_forever = true;
    let mut t: T1Uart<_, _, 300> =
        T1Uart::with_config(uart, SecondClock(0), &ATR_T1, Config::default()).unwrap();
    let mut buf = [0u8; 300];
    let err = t
        .transmit(&[0x00, 0x46, 0x00, 0x00, 0x00], &mut buf)
        .unwrap_err();
    assert_eq!(err, UartError::Link(cardwire_link::Error::DeadlineExceeded));
    assert_eq!(err.kind(), ErrorKind::Timeout);
    let wtx = t.engine().stats().wtx;
    assert!(wtx > 1 && wtx < 256, "{wtx}");
}

/// Issue 16/11: the UART drivers report their protocol, and a `Card` over T=0 whose ATR claims
/// extended Lc/Le (historical bytes 80 73 00 00 DB, ISO/IEC 7816-4 §12.1.1.9) reads 600
/// bytes with short READ BINARY (P3 = 00, then 58): an extended APDU would be refused by the
/// T=0 engine, as it cannot be one TPDU (ISO/IEC 7816-3 §12.2).
#[test]
fn a_card_over_t0_uses_short_apdus_although_the_atr_claims_extended() {
    use cardwire_transport::{Card, Protocol};
    let t1: T1Uart<_, _, 300> =
        T1Uart::with_config(SimUart::new(), StepClock(0), &ATR_T1, Config::default()).unwrap();
    assert_eq!(t1.protocol(), Some(Protocol::T1));
    let uart = SimUart0 {
        card: cardwire_link::t0::T0Card::new(),
        to_host: VecDeque::new(),
        last: Vec::new(),
    };
    let atr = [0x3B, 0x05, 0x80, 0x73, 0x00, 0x00, 0xDB];
    let t0: T0Uart<_, _, 300> = T0Uart::new(uart, StepClock(0), &atr, 4_000_000).unwrap();
    assert_eq!(t0.protocol(), Some(Protocol::T0));
    let mut card = Card::open(t0).unwrap();
    assert!(card.capabilities().extended_length);
    let mut buf = [0u8; 602];
    let (data, sw) = card.read_binary(0, 600, &mut buf).unwrap();
    assert!(sw.is_success());
    let expected: Vec<u8> = (0..600).map(|i| (i % 256) as u8).collect();
    assert_eq!(data, expected.as_slice());
}
