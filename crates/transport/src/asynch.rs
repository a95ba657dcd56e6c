//! [`AsyncTransport`]: the async twin of [`Transport`], for executors such as Embassy or Tokio.

use crate::transport::{Error, Protocol, Transport};

/// Carries command APDUs to a card and its responses back, asynchronously
/// (ISO/IEC 7816-3 §12, 7816-4 §5).
///
/// The same contract as [`Transport`]: bytes only, no status-word logic. Uses native
/// `async fn` in traits, so it needs no allocator and works in `no_std`. The futures are not
/// declared `Send`; executors that need `Send` futures wrap a transport that is `Send`.
#[allow(async_fn_in_trait)] // no `Send` bound on purpose: embedded executors are single-threaded
pub trait AsyncTransport {
    /// The backend's error type.
    type Error: Error;

    /// Sends one command APDU, receives its response (data and SW1 SW2) into `response` and
    /// returns it as the first bytes of `response` (as [`crate::Transport::transmit`]).
    ///
    /// # Errors
    /// A backend error; [`crate::ErrorKind::BufferTooSmall`] when `response` cannot hold the
    /// answer.
    async fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], Self::Error>;

    /// The card's Answer-to-Reset as last seen by the transport (ISO/IEC 7816-3 §8).
    fn atr(&self) -> &[u8];

    /// The transmission protocol in use, `None` when the transport does not know (as
    /// [`crate::Transport::protocol`]).
    fn protocol(&self) -> Option<Protocol> {
        None
    }

    /// Resets the card (warm reset where the backend can) and reads the new ATR.
    ///
    /// # Errors
    /// A backend error; [`crate::ErrorKind::Unsupported`] when the backend cannot reset.
    async fn reset(&mut self) -> Result<(), Self::Error>;
}

/// Runs a blocking [`Transport`] behind the [`AsyncTransport`] interface.
///
/// Each call completes on its first poll: use it for in-process cards, replays and tests, not
/// for transports that block for long.
///
/// ```
/// use cardwire_transport::{AsyncTransport, Blocking, Replay};
/// # fn block_on<F: core::future::Future>(f: F) -> F::Output {
/// #     let mut f = core::pin::pin!(f);
/// #     let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
/// #     loop { if let core::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// // An ATR of 2 bytes, then one response of 2 bytes (9000).
/// let transcript = [2, 0x3B, 0x00, 0, 2, 0x90, 0x00];
/// let mut t = Blocking(Replay::new(&transcript)?);
/// let mut buf = [0u8; 16];
/// let rsp = block_on(t.transmit(&[0x00, 0xA4, 0x04, 0x00], &mut buf))?;
/// assert_eq!(rsp, [0x90, 0x00]);
/// # Ok::<(), cardwire_transport::ErrorKind>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocking<T>(pub T);

impl<T: Transport> AsyncTransport for Blocking<T> {
    type Error = T::Error;

    async fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], Self::Error> {
        self.0.transmit(command, response)
    }

    fn atr(&self) -> &[u8] {
        self.0.atr()
    }

    fn protocol(&self) -> Option<Protocol> {
        self.0.protocol()
    }

    async fn reset(&mut self) -> Result<(), Self::Error> {
        self.0.reset()
    }
}
