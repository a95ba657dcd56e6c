//! [`AsyncUartTransport`]: an [`AsyncTransport`] over an `embedded-io-async` UART.

use core::future::Future;
use core::pin::pin;
use core::task::Poll;

use cardwire_link::Timing;
use cardwire_link::t0::T0;
use cardwire_link::t1::{Config, MAX_BLOCK, T1};

use super::DEFAULT_APDU_BUFFER;
use super::clock::AsyncClock;
use super::engine::{Link, LinkEngine, Next, link, t0_from_atr, t1_from_atr};
use super::error::UartError;
use crate::asynch::AsyncTransport;

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
    /// T=1 with the parameters of `atr` (IFSC, BWT, CWT, EDC) at the timing in use when no PPS
    /// was made: [`Atr::initial_timing`](cardwire_link::atr::Atr::initial_timing) at the card
    /// clock `clock_hz` (TA1's F and D only in the specific mode of TA2 without the implicit
    /// bit, else Fd/Dd = 372/1; ISO/IEC 7816-3 §6.3.1, §8.3). After a PPS use
    /// [`Self::negotiated`].
    ///
    /// # Errors
    /// [`UartError::Atr`] when `atr` is not an ATR.
    pub fn new(uart: U, clock: C, atr: &[u8], clock_hz: u32) -> Result<Self, UartError<U::Error>> {
        Ok(Self {
            uart,
            clock,
            link: link(atr, |a| t1_from_atr(a, &a.initial_timing(clock_hz)))?,
        })
    }

    /// T=1 with the parameters of `atr` at the negotiated `timing`: the result of the PPS
    /// exchange ([`PpsAgreed::timing`](cardwire_link::pps::PpsAgreed::timing)), with the card
    /// clock in it (ISO/IEC 7816-3 §9).
    ///
    /// # Errors
    /// [`UartError::Atr`] when `atr` is not an ATR.
    pub fn negotiated(
        uart: U,
        clock: C,
        atr: &[u8],
        timing: Timing,
    ) -> Result<Self, UartError<U::Error>> {
        Ok(Self {
            uart,
            clock,
            link: link(atr, |a| t1_from_atr(a, &timing))?,
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
    /// T=0 with the parameters of `atr` (WI, extra guard time) at the timing in use when no PPS
    /// was made: [`Atr::initial_timing`](cardwire_link::atr::Atr::initial_timing) at the card
    /// clock `clock_hz` (TA1's F and D only in the specific mode of TA2 without the implicit
    /// bit, else Fd/Dd = 372/1; ISO/IEC 7816-3 §6.3.1, §8.3). After a PPS use
    /// [`Self::negotiated`].
    ///
    /// # Errors
    /// [`UartError::Atr`] when `atr` is not an ATR.
    pub fn new(uart: U, clock: C, atr: &[u8], clock_hz: u32) -> Result<Self, UartError<U::Error>> {
        Ok(Self {
            uart,
            clock,
            link: link(atr, |a| t0_from_atr(a, &a.initial_timing(clock_hz)))?,
        })
    }

    /// T=0 with the parameters of `atr` at the negotiated `timing`: the result of the PPS
    /// exchange ([`PpsAgreed::timing`](cardwire_link::pps::PpsAgreed::timing)), with the card
    /// clock in it (ISO/IEC 7816-3 §9).
    ///
    /// # Errors
    /// [`UartError::Atr`] when `atr` is not an ATR.
    pub fn negotiated(
        uart: U,
        clock: C,
        atr: &[u8],
        timing: Timing,
    ) -> Result<Self, UartError<U::Error>> {
        Ok(Self {
            uart,
            clock,
            link: link(atr, |a| t0_from_atr(a, &timing))?,
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

    fn protocol(&self) -> Option<crate::Protocol> {
        self.link.engine.protocol()
    }

    async fn reset(&mut self) -> Result<(), Self::Error> {
        self.link.engine.reset();
        Err(UartError::Unsupported)
    }
}
