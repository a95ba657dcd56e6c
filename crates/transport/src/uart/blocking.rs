//! [`UartTransport`]: a blocking [`Transport`] over an `embedded-io` UART.

use cardwire_link::Timing;
use cardwire_link::t0::T0;
use cardwire_link::t1::{Config, MAX_BLOCK, T1};

use super::DEFAULT_APDU_BUFFER;
use super::clock::Clock;
use super::engine::{Link, LinkEngine, Next, link, t0_from_atr, t1_from_atr};
use super::error::UartError;
use crate::transport::{TransactionEnd, Transport, exclusive_transaction};

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

impl<U: embedded_io::ErrorType, C, const N: usize> UartTransport<T0<N>, U, C> {
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

    fn protocol(&self) -> Option<crate::Protocol> {
        self.link.engine.protocol()
    }

    fn reset(&mut self) -> Result<(), Self::Error> {
        self.link.engine.reset();
        Err(UartError::Unsupported)
    }

    /// Exclusive anyway: `body` runs at once ([`exclusive_transaction`]).
    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut dyn Transport<Error = Self::Error>) -> TransactionEnd,
    ) -> Result<(), Self::Error> {
        exclusive_transaction(self, body)
    }
}
