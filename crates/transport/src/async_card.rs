//! [`AsyncCard`]: the async session over any [`AsyncTransport`], the twin of [`Card`](crate::Card).

use core::fmt;

use cardwire_apdu::exchange::Capabilities;
use cardwire_apdu::{CommandRepr, Response, StatusWord};

use crate::asynch::AsyncTransport;
use crate::card::DEFAULT_COMMAND_BUFFER;
use crate::card_error::CardError;
use crate::engine::Core;
use crate::secure::{NoSecureChannel, SecureChannel};
use crate::session::AsyncSession;

/// The error type of an `AsyncCard<T, S, N>`.
pub type AsyncCardResult<V, T, S> =
    Result<V, CardError<<T as AsyncTransport>::Error, <S as SecureChannel>::Error>>;

/// A session with one card over an [`AsyncTransport`]: the same exchange logic as the blocking
/// [`Card`](crate::Card) — both drive one shared loop around `cardwire-apdu`'s sans-IO
/// [`Exchange`](cardwire_apdu::exchange::Exchange) engine, so they send the same APDUs — with
/// `async` methods. No runtime dependency: any executor (Embassy, Tokio, a test's `block_on`)
/// drives it. No allocation; the futures are not `Send` unless the transport's are.
///
/// Capabilities, the extended fallback, logical channels, secure messaging and the PIN policy
/// behave as documented on [`Card`](crate::Card). Opening sends nothing; EF.ATR/INFO is read
/// on [`AsyncCard::read_ef_atr`].
///
/// ```
/// use cardwire_apdu::{Cla, CommandRepr, Ins};
/// use cardwire_transport::{AsyncCard, Blocking, Replay};
/// # fn block_on<F: core::future::Future>(f: F) -> F::Output {
/// #     let mut f = core::pin::pin!(f);
/// #     let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
/// #     loop { if let core::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// // ATR 3B 00, then the card answers 6102 and, to GET RESPONSE, 01 02 9000.
/// let transcript = [2, 0x3B, 0x00, 0, 2, 0x61, 0x02, 0, 4, 0x01, 0x02, 0x90, 0x00];
/// let mut card = AsyncCard::open(Blocking(Replay::new(&transcript)?));
/// let select = CommandRepr::new(Cla(0x00), Ins::SELECT, 0x04, 0x00).with_ne(256);
/// let mut buf = [0u8; 260];
/// let rsp = block_on(card.transmit(&select, &mut buf))?;
/// assert_eq!(rsp.data(), [0x01, 0x02]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AsyncCard<
    T: AsyncTransport,
    S: SecureChannel = NoSecureChannel,
    const N: usize = DEFAULT_COMMAND_BUFFER,
> {
    transport: T,
    core: Core<S, N>,
}

impl<T: AsyncTransport, S: SecureChannel, const N: usize> fmt::Debug for AsyncCard<T, S, N>
where
    T: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncCard")
            .field("transport", &self.transport)
            .field("capabilities", &self.core.capabilities)
            .field("secure", &self.core.secure.is_some())
            .field("secure_required", &self.core.secure_required)
            .field("channels", &format_args!("{:#07x}", self.core.channels))
            .finish_non_exhaustive()
    }
}

impl<T: AsyncTransport> AsyncCard<T> {
    /// Opens a session: capabilities from the ATR's historical bytes (ISO/IEC 7816-4
    /// §12.1.1.9). Nothing is sent to the card.
    pub fn open(transport: T) -> Self {
        AsyncCard::open_typed(transport)
    }

    /// Opens a session with capabilities the caller knows, reading nothing from the card.
    pub fn with_capabilities(transport: T, capabilities: Capabilities) -> Self {
        AsyncCard::with_capabilities_typed(transport, capabilities)
    }
}

impl<T: AsyncTransport, S: SecureChannel, const N: usize> AsyncCard<T, S, N> {
    /// Opens a session with a chosen secure-channel type `S` and buffer size `N`; nothing is
    /// sent to the card.
    pub fn open_typed(transport: T) -> Self {
        let mut core = Core::new(Capabilities::SHORT);
        core.restart(transport.atr());
        Self { transport, core }
    }

    /// Opens a session with a chosen secure-channel type `S`, buffer size `N` and
    /// capabilities the caller knows, reading nothing from the card.
    pub fn with_capabilities_typed(transport: T, capabilities: Capabilities) -> Self {
        Self {
            transport,
            core: Core::new(capabilities),
        }
    }

    /// The card's capabilities as the session uses them.
    pub fn capabilities(&self) -> &Capabilities {
        &self.core.capabilities
    }

    /// Overrides the capabilities.
    pub fn set_capabilities(&mut self, capabilities: Capabilities) {
        self.core.capabilities = capabilities;
    }

    /// The card's Answer-to-Reset (ISO/IEC 7816-3 §8).
    pub fn atr(&self) -> &[u8] {
        self.transport.atr()
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Ends the session and gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// Switches secure messaging on (see [`Card::start_secure_messaging`](crate::Card::start_secure_messaging)).
    pub fn start_secure_messaging(&mut self, channel: S) {
        self.core.secure = Some(channel);
    }

    /// Switches secure messaging off and gives the secure channel back.
    pub fn stop_secure_messaging(&mut self) -> Option<S> {
        self.core.secure.take()
    }

    /// Whether secure messaging is active.
    pub fn is_secure(&self) -> bool {
        self.core.secure.is_some()
    }

    /// The active secure channel.
    pub fn secure_channel(&self) -> Option<&S> {
        self.core.secure.as_ref()
    }

    /// The active secure channel, mutably.
    pub fn secure_channel_mut(&mut self) -> Option<&mut S> {
        self.core.secure.as_mut()
    }

    /// Sets the policy "secure messaging required" (see
    /// [`Card::require_secure_messaging`](crate::Card::require_secure_messaging)).
    pub fn require_secure_messaging(&mut self, required: bool) {
        self.core.secure_required = required;
    }

    /// Whether the policy requires secure messaging for PIN data.
    pub fn secure_messaging_required(&self) -> bool {
        self.core.secure_required
    }

    /// As [`crate::Card::set_extended_fallback`]: the opt-in extended-length fallback.
    pub fn set_extended_fallback(&mut self, on: bool) {
        self.core.extended_fallback = on;
    }

    /// Whether logical channel `channel` is open in this session.
    pub fn is_channel_open(&self, channel: u8) -> bool {
        self.core.is_channel_open(channel)
    }

    /// Reads EF.ATR/INFO and applies it (see [`Card::read_ef_atr`](crate::Card::read_ef_atr)).
    ///
    /// # Errors
    /// As [`AsyncCard::transmit`].
    pub async fn read_ef_atr(&mut self) -> AsyncCardResult<bool, T, S> {
        self.core.read_ef_atr(&mut self.transport).await
    }

    /// Resets the card and starts the session afresh; sends nothing after the reset.
    ///
    /// # Errors
    /// A transport error from the reset.
    pub async fn reset(&mut self) -> AsyncCardResult<(), T, S> {
        self.core.forget_card_state();
        self.transport.reset().await.map_err(CardError::Transport)?;
        self.core.restart(self.transport.atr());
        Ok(())
    }

    /// Starts the session afresh from the current ATR without resetting the card.
    pub fn reconnect(&mut self) {
        self.core.restart(self.transport.atr());
    }

    /// Opens a logical channel with MANAGE CHANNEL (ISO/IEC 7816-4 §11.1.2).
    ///
    /// # Errors
    /// As [`Card::open_channel`](crate::Card::open_channel).
    pub async fn open_channel(&mut self) -> AsyncCardResult<u8, T, S> {
        self.core.open_channel(&mut self.transport).await
    }

    /// Closes logical channel `channel` with MANAGE CHANNEL (ISO/IEC 7816-4 §11.1.2).
    ///
    /// # Errors
    /// As [`Card::close_channel`](crate::Card::close_channel).
    pub async fn close_channel(&mut self, channel: u8) -> AsyncCardResult<(), T, S> {
        self.core.close_channel(&mut self.transport, channel).await
    }

    /// Sends one logical command on the basic channel and returns its complete response.
    ///
    /// # Errors
    /// As [`Card::transmit`](crate::Card::transmit).
    pub async fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> AsyncCardResult<Response<&'r [u8]>, T, S> {
        self.transmit_on(0, command, response).await
    }

    /// Sends one logical command on logical channel `channel`.
    ///
    /// # Errors
    /// As [`Card::transmit_on`](crate::Card::transmit_on).
    pub async fn transmit_on<'r>(
        &mut self,
        channel: u8,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> AsyncCardResult<Response<&'r [u8]>, T, S> {
        self.core
            .transmit_on(&mut self.transport, channel, command, response)
            .await
    }

    /// READ BINARY of `len` bytes from `offset` (see
    /// [`Card::read_binary`](crate::Card::read_binary)).
    ///
    /// # Errors
    /// As [`Card::read_binary`](crate::Card::read_binary).
    pub async fn read_binary<'r>(
        &mut self,
        offset: u16,
        len: usize,
        buf: &'r mut [u8],
    ) -> AsyncCardResult<(&'r [u8], StatusWord), T, S> {
        self.core
            .read_binary(&mut self.transport, offset, len, buf)
            .await
    }
}

impl<T: AsyncTransport, S: SecureChannel, const N: usize> AsyncSession for AsyncCard<T, S, N> {
    type Error = CardError<T::Error, S::Error>;

    async fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, Self::Error> {
        AsyncCard::transmit(self, command, response).await
    }

    fn plain_pin_forbidden(&self) -> bool {
        self.core.plain_pin_forbidden()
    }
}
