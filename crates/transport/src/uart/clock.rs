//! [`Clock`] and [`AsyncClock`]: the caller's time source for the UART drivers.

use cardwire_link::Instant;

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
