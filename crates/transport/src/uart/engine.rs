//! [`LinkEngine`]: the driving order both UART drivers share, over `cardwire-link`'s T=1 and
//! T=0 engines.

use cardwire_link::atr::{Atr, Mode as AtrMode};
use cardwire_link::t0::{T0, T0Config, T0Event};
use cardwire_link::t1::{Config, Event, MAX_BLOCK, T1};
use cardwire_link::{Instant, Timing};

use super::error::UartError;

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
    /// The transmission protocol the engine speaks (`None`: not known).
    fn protocol(&self) -> Option<crate::Protocol> {
        None
    }
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
    fn protocol(&self) -> Option<crate::Protocol> {
        Some(crate::Protocol::T1)
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
    fn protocol(&self) -> Option<crate::Protocol> {
        Some(crate::Protocol::T0)
    }
}

/// What the shared part of both drivers decides after one step.
pub(super) enum Next {
    /// The response is in the engine.
    Done(usize),
    /// Wait for input until this deadline.
    Wait(Instant),
}

/// The engine and ATR both drivers share.
#[derive(Debug, Clone)]
pub(super) struct Link<E> {
    pub(super) engine: E,
    pub(super) atr: heapless::Vec<u8, { cardwire_link::atr::MAX_LEN }>,
}

/// Checks `atr` and builds the engine from it.
pub(super) fn link<E, X>(
    atr: &[u8],
    engine: impl FnOnce(&Atr) -> E,
) -> Result<Link<E>, UartError<X>> {
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
    pub(super) fn step<X>(
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

    pub(super) fn finish<'b, X>(
        &self,
        len: usize,
        response: &'b mut [u8],
    ) -> Result<&'b [u8], UartError<X>> {
        let src = self.engine.response().get(..len).unwrap_or_default();
        let dst = response
            .get_mut(..src.len())
            .ok_or(UartError::BufferTooSmall)?;
        dst.copy_from_slice(src);
        Ok(dst)
    }
}

/// T=1 parameters from an ATR at the timing in use (ISO/IEC 7816-3 §11.4): the PPS result,
/// or [`Atr::initial_timing`] when no PPS was made — never TA1's values by themselves.
pub(super) fn t1_from_atr<const N: usize>(atr: &Atr, timing: &Timing) -> T1<N> {
    T1::new(Config::from_atr(atr, timing))
}

/// T=0 parameters from an ATR at the timing in use: WI from TC2, guard time from TC1 (§10.2).
pub(super) fn t0_from_atr<const N: usize>(atr: &Atr, timing: &Timing) -> T0<N> {
    T0::new(T0Config::new(atr.wi(), timing, atr.extra_guard_time()))
}
