//! UART drivers: the T=1 and T=0 engines of `cardwire-link` over `embedded-io` (blocking) and
//! `embedded-io-async` (async), as [`Transport`] and [`AsyncTransport`] implementations.
//!
//! Each driver is the short loop of the engine's driving order (ISO/IEC 7816-3 §10, §11): send
//! what the engine has to send, feed it the bytes that come back, and tell it when its
//! deadline passed. Time comes from a [`Clock`] (blocking) or an [`AsyncClock`] (async) the
//! caller provides; the engine never reads a clock itself.
//!
//! The drivers start from an ATR the caller has read after resetting the card (the reset line
//! is board-specific): [`Transport::reset`] re-synchronises the engine and reports
//! [`ErrorKind::Unsupported`] so that the caller resets the card and creates a new driver.

use core::fmt;
use core::future::Future;
use core::pin::pin;
use core::task::Poll;

use cardwire_link::Instant;
use cardwire_link::atr::{Atr, Mode as AtrMode};
use cardwire_link::t0::{T0, T0Config, T0Event};
use cardwire_link::t1::{Config, Event, MAX_BLOCK, T1};

use crate::asynch::AsyncTransport;
use crate::transport::{Error, ErrorKind, Transport};

/// Default APDU buffer of a T=1 driver: a short command or response with room to spare.
pub const DEFAULT_APDU_BUFFER: usize = 261;

/// The caller's clock, in microseconds since an origin it picks.
pub trait Clock {
    /// The current time.
    fn now(&mut self) -> Instant;
}

/// The caller's clock and timer for the async drivers.
#[allow(async_fn_in_trait)] // no `Send` bound on purpose: embedded executors are single-threaded
pub trait AsyncClock {
    /// The current time.
    fn now(&mut self) -> Instant;
    /// Completes at (or soon after) `deadline`.
    async fn wait_until(&mut self, deadline: Instant);
}

/// A UART driver error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UartError<E> {
    /// The UART failed.
    Io(E),
    /// The link protocol failed (see [`cardwire_link::Error`]): timeouts that recovery could
    /// not repair, a dead link, a card that kept asking for more time.
    Link(cardwire_link::Error),
    /// The ATR given to the driver is not an ATR.
    Atr(cardwire_link::Error),
    /// The caller's response buffer cannot hold the response.
    BufferTooSmall,
    /// The operation needs the card's reset line, which the driver does not own.
    Unsupported,
}

impl<E: embedded_io::Error> Error for UartError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            UartError::Io(e) => match e.kind() {
                embedded_io::ErrorKind::TimedOut => ErrorKind::Timeout,
                _ => ErrorKind::Other,
            },
            UartError::Link(cardwire_link::Error::Timeout) => ErrorKind::Timeout,
            UartError::Link(_) | UartError::Atr(_) => ErrorKind::Protocol,
            UartError::BufferTooSmall => ErrorKind::BufferTooSmall,
            UartError::Unsupported => ErrorKind::Unsupported,
        }
    }
}

impl<E: fmt::Debug> fmt::Display for UartError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UartError::Io(e) => write!(f, "UART failed: {e:?}"),
            UartError::Link(e) => write!(f, "T=1 failed: {e}"),
            UartError::Atr(e) => write!(f, "invalid ATR: {e}"),
            UartError::BufferTooSmall => f.write_str("the response buffer is too small"),
            UartError::Unsupported => f.write_str(
                "resetting the card needs its reset line: reset it and create a new driver",
            ),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for UartError<E> {}

/// What a driver needs from a link engine: the shared driving order of `cardwire-link`'s
/// [`T1`] and [`T0`] (`start`, `poll_transmit`, `poll_event`, `poll_timeout`, `handle_input`,
/// `handle_timeout`).
pub trait LinkEngine {
    /// Starts carrying one APDU.
    ///
    /// # Errors
    /// The engine's refusal (busy, dead, APDU too long or malformed).
    fn start(&mut self, now: Instant, apdu: &[u8]) -> Result<(), cardwire_link::Error>;
    /// The next bytes to send into `buf`.
    fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize>;
    /// The outcome: the response length, or the failure.
    fn poll_outcome(&mut self) -> Option<Result<usize, cardwire_link::Error>>;
    /// When to call [`LinkEngine::handle_timeout`] if nothing arrives.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Bytes from the card.
    fn handle_input(&mut self, now: Instant, bytes: &[u8]);
    /// The deadline passed.
    fn handle_timeout(&mut self, now: Instant);
    /// The response after a successful outcome.
    fn response(&self) -> &[u8];
    /// Back to the state after an ATR.
    fn reset(&mut self);
}

impl<const N: usize> LinkEngine for T1<N> {
    fn start(&mut self, now: Instant, apdu: &[u8]) -> Result<(), cardwire_link::Error> {
        T1::start(self, now, apdu)
    }
    fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        T1::poll_transmit(self, buf)
    }
    fn poll_outcome(&mut self) -> Option<Result<usize, cardwire_link::Error>> {
        match self.poll_event()? {
            Event::Response { len } => Some(Ok(len)),
            Event::Failed(e) => Some(Err(e)),
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        T1::poll_timeout(self)
    }
    fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        T1::handle_input(self, now, bytes);
    }
    fn handle_timeout(&mut self, now: Instant) {
        T1::handle_timeout(self, now);
    }
    fn response(&self) -> &[u8] {
        T1::response(self)
    }
    fn reset(&mut self) {
        T1::reset(self);
    }
}

impl<const N: usize> LinkEngine for T0<N> {
    fn start(&mut self, now: Instant, apdu: &[u8]) -> Result<(), cardwire_link::Error> {
        T0::start(self, now, apdu)
    }
    fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        T0::poll_transmit(self, buf)
    }
    fn poll_outcome(&mut self) -> Option<Result<usize, cardwire_link::Error>> {
        match self.poll_event()? {
            T0Event::Response { len } => Some(Ok(len)),
            T0Event::Failed(e) => Some(Err(e)),
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        T0::poll_timeout(self)
    }
    fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        T0::handle_input(self, now, bytes);
    }
    fn handle_timeout(&mut self, now: Instant) {
        T0::handle_timeout(self, now);
    }
    fn response(&self) -> &[u8] {
        T0::response(self)
    }
    fn reset(&mut self) {
        T0::reset(self);
    }
}

/// What the shared part of both drivers decides after one step.
enum Next {
    /// The response is in the engine.
    Done(usize),
    /// Wait for input until this deadline.
    Wait(Instant),
}

/// The engine and ATR both drivers share.
#[derive(Debug, Clone)]
struct Link<E> {
    engine: E,
    atr: heapless::Vec<u8, { cardwire_link::atr::MAX_LEN }>,
}

/// Checks `atr` and builds the engine from it.
fn link<E, X>(atr: &[u8], engine: impl FnOnce(&Atr) -> E) -> Result<Link<E>, UartError<X>> {
    let parsed = Atr::parse(atr, AtrMode::Lenient).map_err(UartError::Atr)?;
    let bytes = heapless::Vec::from_slice(parsed.as_bytes())
        .map_err(|_| UartError::Atr(cardwire_link::Error::AtrTooLong { len: atr.len() }))?;
    Ok(Link {
        engine: engine(&parsed),
        atr: bytes,
    })
}

impl<E: LinkEngine> Link<E> {
    /// Writes what the engine has to send through `write`, then reports the outcome or the
    /// next deadline.
    fn step<X>(
        &mut self,
        block: &mut [u8; MAX_BLOCK],
        mut write: impl FnMut(&[u8]) -> Result<(), X>,
    ) -> Result<Next, UartError<X>> {
        while let Some(n) = self.engine.poll_transmit(block) {
            write(block.get(..n).unwrap_or_default()).map_err(UartError::Io)?;
        }
        match self.engine.poll_outcome() {
            Some(Ok(len)) => return Ok(Next::Done(len)),
            Some(Err(e)) => return Err(UartError::Link(e)),
            None => {}
        }
        // With nothing to send and no outcome, the engine always has a deadline; a missing
        // one would be an engine fault, reported rather than waited on for ever.
        self.engine
            .poll_timeout()
            .map(Next::Wait)
            .ok_or(UartError::Link(cardwire_link::Error::InvalidApdu))
    }

    fn finish<'b, X>(&self, len: usize, response: &'b mut [u8]) -> Result<&'b [u8], UartError<X>> {
        let src = self.engine.response().get(..len).unwrap_or_default();
        let dst = response
            .get_mut(..src.len())
            .ok_or(UartError::BufferTooSmall)?;
        dst.copy_from_slice(src);
        Ok(dst)
    }
}

/// T=1 parameters from an ATR at a card clock (ISO/IEC 7816-3 §11.4).
fn t1_from_atr<const N: usize>(atr: &Atr, clock_hz: u32) -> T1<N> {
    T1::new(Config::from_atr(atr, &atr.timing(clock_hz)))
}

/// T=0 parameters from an ATR at a card clock: WI from TC2, guard time from TC1 (§10.2).
fn t0_from_atr<const N: usize>(atr: &Atr, clock_hz: u32) -> T0<N> {
    T0::new(T0Config::new(
        atr.wi(),
        &atr.timing(clock_hz),
        atr.extra_guard_time(),
    ))
}

/// A blocking transport over a UART (`embedded-io` [`Read`](embedded_io::Read) +
/// [`ReadReady`](embedded_io::ReadReady) + [`Write`](embedded_io::Write)) and a link engine
/// `E` ([`T1Uart`] or [`T0Uart`]).
///
/// Waiting polls `read_ready` against the [`Clock`] until the engine's deadline: on a
/// microcontroller without an RTOS that is the usual busy wait; give it a UART with a receive
/// FIFO or interrupt-fed buffer.
#[derive(Debug)]
pub struct UartTransport<E, U, C> {
    uart: U,
    clock: C,
    link: Link<E>,
}

/// T=1 (ISO/IEC 7816-3 §11) over a blocking UART.
pub type T1Uart<U, C, const N: usize = DEFAULT_APDU_BUFFER> = UartTransport<T1<N>, U, C>;
/// T=0 (ISO/IEC 7816-3 §10) over a blocking UART.
pub type T0Uart<U, C, const N: usize = DEFAULT_APDU_BUFFER> = UartTransport<T0<N>, U, C>;

impl<E: LinkEngine, U: embedded_io::ErrorType, C> UartTransport<E, U, C> {
    /// A driver for a card that answered `atr` (already decoded to direct convention),
    /// carrying APDUs with `engine` (configured by the caller, for example after PPS).
    ///
    /// # Errors
    /// [`UartError::Atr`] when `atr` is not an ATR.
    pub fn with_engine(
        uart: U,
        clock: C,
        atr: &[u8],
        engine: E,
    ) -> Result<Self, UartError<U::Error>> {
        Ok(Self {
            uart,
            clock,
            link: link(atr, |_| engine)?,
        })
    }

    /// The link engine (for its counters).
    pub fn engine(&self) -> &E {
        &self.link.engine
    }

    /// Gives the UART and the clock back.
    pub fn into_parts(self) -> (U, C) {
        (self.uart, self.clock)
    }
}

impl<U: embedded_io::ErrorType, C, const N: usize> UartTransport<T1<N>, U, C> {
    /// T=1 with the parameters of `atr` (IFSC, BWT, CWT, EDC) at the card clock `clock_hz`.
    ///
    /// # Errors
    /// [`UartError::Atr`] when `atr` is not an ATR.
    pub fn new(uart: U, clock: C, atr: &[u8], clock_hz: u32) -> Result<Self, UartError<U::Error>> {
        Ok(Self {
            uart,
            clock,
            link: link(atr, |a| t1_from_atr(a, clock_hz))?,
        })
    }

    /// T=1 with explicit parameters.
    ///
    /// # Errors
    /// [`UartError::Atr`] when `atr` is not an ATR.
    pub fn with_config(
        uart: U,
        clock: C,
        atr: &[u8],
        config: Config,
    ) -> Result<Self, UartError<U::Error>> {
        Self::with_engine(uart, clock, atr, T1::new(config))
    }
}

impl<U: embedded_io::ErrorType, C, const N: usize> UartTransport<T0<N>, U, C> {
    /// T=0 with the parameters of `atr` (WI, extra guard time) at the card clock `clock_hz`.
    ///
    /// # Errors
    /// [`UartError::Atr`] when `atr` is not an ATR.
    pub fn new(uart: U, clock: C, atr: &[u8], clock_hz: u32) -> Result<Self, UartError<U::Error>> {
        Ok(Self {
            uart,
            clock,
            link: link(atr, |a| t0_from_atr(a, clock_hz))?,
        })
    }
}

impl<E, U, C> Transport for UartTransport<E, U, C>
where
    E: LinkEngine,
    U: embedded_io::Read + embedded_io::ReadReady + embedded_io::Write,
    C: Clock,
{
    type Error = UartError<U::Error>;

    fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], Self::Error> {
        let now = self.clock.now();
        self.link.engine.handle_input(now, &[]);
        self.link
            .engine
            .start(now, command)
            .map_err(UartError::Link)?;
        let mut block = [0u8; MAX_BLOCK];
        let mut rx = [0u8; MAX_BLOCK];
        loop {
            let uart = &mut self.uart;
            let next = self.link.step(&mut block, |bytes| {
                uart.write_all(bytes)?;
                uart.flush()
            })?;
            let deadline = match next {
                Next::Done(len) => return self.link.finish(len, response),
                Next::Wait(deadline) => deadline,
            };
            loop {
                if self.uart.read_ready().map_err(UartError::Io)? {
                    let n = self.uart.read(&mut rx).map_err(UartError::Io)?;
                    let now = self.clock.now();
                    self.link
                        .engine
                        .handle_input(now, rx.get(..n).unwrap_or_default());
                    break;
                }
                let now = self.clock.now();
                if now >= deadline {
                    self.link.engine.handle_timeout(now);
                    break;
                }
            }
        }
    }

    fn atr(&self) -> &[u8] {
        &self.link.atr
    }

    fn reset(&mut self) -> Result<(), Self::Error> {
        self.link.engine.reset();
        Err(UartError::Unsupported)
    }
}

/// An async transport over a UART (`embedded-io-async` [`Read`](embedded_io_async::Read) +
/// [`Write`](embedded_io_async::Write)), an [`AsyncClock`] and a link engine `E`
/// ([`AsyncT1Uart`] or [`AsyncT0Uart`]).
///
/// Waiting races the UART read against the clock's timer; when the timer wins the read future
/// is dropped, so the UART's `read` must be cancel-safe (bytes not returned stay buffered), as
/// the usual interrupt- or DMA-fed embedded UART drivers are.
#[derive(Debug)]
pub struct AsyncUartTransport<E, U, C> {
    uart: U,
    clock: C,
    link: Link<E>,
}

/// T=1 (ISO/IEC 7816-3 §11) over an async UART.
pub type AsyncT1Uart<U, C, const N: usize = DEFAULT_APDU_BUFFER> = AsyncUartTransport<T1<N>, U, C>;
/// T=0 (ISO/IEC 7816-3 §10) over an async UART.
pub type AsyncT0Uart<U, C, const N: usize = DEFAULT_APDU_BUFFER> = AsyncUartTransport<T0<N>, U, C>;

impl<E: LinkEngine, U: embedded_io_async::ErrorType, C> AsyncUartTransport<E, U, C> {
    /// A driver for a card that answered `atr`, carrying APDUs with `engine`.
    ///
    /// # Errors
    /// [`UartError::Atr`] when `atr` is not an ATR.
    pub fn with_engine(
        uart: U,
        clock: C,
        atr: &[u8],
        engine: E,
    ) -> Result<Self, UartError<U::Error>> {
        Ok(Self {
            uart,
            clock,
            link: link(atr, |_| engine)?,
        })
    }

    /// The link engine (for its counters).
    pub fn engine(&self) -> &E {
        &self.link.engine
    }

    /// Gives the UART and the clock back.
    pub fn into_parts(self) -> (U, C) {
        (self.uart, self.clock)
    }
}

impl<U: embedded_io_async::ErrorType, C, const N: usize> AsyncUartTransport<T1<N>, U, C> {
    /// T=1 with the parameters of `atr` at the card clock `clock_hz`.
    ///
    /// # Errors
    /// [`UartError::Atr`] when `atr` is not an ATR.
    pub fn new(uart: U, clock: C, atr: &[u8], clock_hz: u32) -> Result<Self, UartError<U::Error>> {
        Ok(Self {
            uart,
            clock,
            link: link(atr, |a| t1_from_atr(a, clock_hz))?,
        })
    }

    /// T=1 with explicit parameters.
    ///
    /// # Errors
    /// [`UartError::Atr`] when `atr` is not an ATR.
    pub fn with_config(
        uart: U,
        clock: C,
        atr: &[u8],
        config: Config,
    ) -> Result<Self, UartError<U::Error>> {
        Self::with_engine(uart, clock, atr, T1::new(config))
    }
}

impl<U: embedded_io_async::ErrorType, C, const N: usize> AsyncUartTransport<T0<N>, U, C> {
    /// T=0 with the parameters of `atr` at the card clock `clock_hz`.
    ///
    /// # Errors
    /// [`UartError::Atr`] when `atr` is not an ATR.
    pub fn new(uart: U, clock: C, atr: &[u8], clock_hz: u32) -> Result<Self, UartError<U::Error>> {
        Ok(Self {
            uart,
            clock,
            link: link(atr, |a| t0_from_atr(a, clock_hz))?,
        })
    }
}

/// Which of the two raced futures finished first.
enum Raced<R> {
    Read(R),
    Timeout,
}

/// Polls `read` and `timer` together and returns the first to finish.
async fn race<R>(read: impl Future<Output = R>, timer: impl Future<Output = ()>) -> Raced<R> {
    let mut read = pin!(read);
    let mut timer = pin!(timer);
    core::future::poll_fn(|cx| {
        if let Poll::Ready(r) = read.as_mut().poll(cx) {
            return Poll::Ready(Raced::Read(r));
        }
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Raced::Timeout);
        }
        Poll::Pending
    })
    .await
}

impl<E, U, C> AsyncTransport for AsyncUartTransport<E, U, C>
where
    E: LinkEngine,
    U: embedded_io_async::Read + embedded_io_async::Write,
    C: AsyncClock,
{
    type Error = UartError<U::Error>;

    async fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], Self::Error> {
        let now = self.clock.now();
        self.link.engine.handle_input(now, &[]);
        self.link
            .engine
            .start(now, command)
            .map_err(UartError::Link)?;
        let mut block = [0u8; MAX_BLOCK];
        let mut rx = [0u8; MAX_BLOCK];
        loop {
            while let Some(n) = self.link.engine.poll_transmit(&mut block) {
                let bytes = block.get(..n).unwrap_or_default();
                self.uart.write_all(bytes).await.map_err(UartError::Io)?;
                self.uart.flush().await.map_err(UartError::Io)?;
            }
            let deadline = match self.link.step(&mut block, |_| Ok(()))? {
                Next::Done(len) => return self.link.finish(len, response),
                Next::Wait(deadline) => deadline,
            };
            let raced = race(self.uart.read(&mut rx), self.clock.wait_until(deadline)).await;
            let now = self.clock.now();
            match raced {
                Raced::Read(n) => {
                    let n = n.map_err(UartError::Io)?;
                    self.link
                        .engine
                        .handle_input(now, rx.get(..n).unwrap_or_default());
                }
                Raced::Timeout => self.link.engine.handle_timeout(now),
            }
        }
    }

    fn atr(&self) -> &[u8] {
        &self.link.atr
    }

    async fn reset(&mut self) -> Result<(), Self::Error> {
        self.link.engine.reset();
        Err(UartError::Unsupported)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::collections::VecDeque;
    use std::vec::Vec;

    use cardwire_link::t1::{CardEvent, T1Card};

    use super::*;

    /// ATR 3B 80 80 01 01: T=1 offered, no historical bytes (TCK missing; lenient parsing).
    const ATR_T1: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

    /// A UART wired to a T=1 card engine that answers each APDU with its reverse and 9000.
    struct SimUart {
        card: T1Card<300>,
        to_host: VecDeque<u8>,
        mute: bool,
        now: u64,
    }

    impl SimUart {
        fn new() -> Self {
            Self {
                card: T1Card::new(Config::default()),
                to_host: VecDeque::new(),
                mute: false,
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
                    Some(CardEvent::Command { .. }) => {
                        let mut rsp: Vec<u8> = self.card.command().iter().rev().copied().collect();
                        rsp.extend([0x90, 0x00]);
                        self.card.respond(&rsp).unwrap();
                    }
                    Some(_) => {}
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
}
