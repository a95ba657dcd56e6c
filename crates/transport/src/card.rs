//! [`Card`]: the blocking session over any [`Transport`] that does the exchange logic once.

use core::fmt;

use cardwire_apdu::exchange::Capabilities;
#[cfg(doc)]
use cardwire_apdu::exchange::MAX_GET_RESPONSE;
use cardwire_apdu::{CommandRepr, Response, StatusWord};

use crate::card_error::{CardError, CardResult};
use crate::engine::{Core, SyncRef, run_ready};
use crate::secure::{NoSecureChannel, SecureChannel};
use crate::session::Session;
use crate::transport::{Error as _, ErrorKind, TransactionEnd, Transport};

pub use crate::engine::{EF_ATR_FID, MAX_CHANNEL};

/// The default size of the session's command buffer: a short APDU (261 bytes) with room for
/// secure messaging overhead.
pub const DEFAULT_COMMAND_BUFFER: usize = 512;

/// A session with one card over a [`Transport`]: the exchange logic, done once for every
/// transport (ISO/IEC 7816-3 §12, 7816-4 §5).
///
/// - **Lengths and chaining** from the card's [`Capabilities`] (from the ATR's historical
///   bytes when opened; [`Card::read_ef_atr`] adds EF.ATR/INFO): short APDUs unless the card
///   announces extended Lc/Le and the transport's [`Transport::protocol`] is not T=0 (a T=0
///   TPDU carries short cases only, ISO/IEC 7816-3 §12.2); data longer than one APDU is sent
///   with command chaining (§5.3.3) when the card accepts it, else the command fails with
///   [`CardError::CommandTooLong`] before anything is sent; Ne is capped to what the card can
///   return at once.
/// - **`61xx`**: GET RESPONSE until the whole answer is in the caller's buffer (§5.3.4);
///   at most [`MAX_GET_RESPONSE`] times.
/// - **No hidden I/O**: opening, resetting and reconnecting send nothing to the card; the
///   session sends only the commands it is given and the ones its documented methods need
///   (GET RESPONSE, MANAGE CHANNEL, EF.ATR/INFO on [`Card::read_ef_atr`]).
/// - **`6Cxx`**: the command is sent once more with Le = xx (§5.3.4).
/// - **Extended fallback** (opt-in, [`Card::set_extended_fallback`]): a card that answers
///   `6700` to an extended APDU is treated as short-only from then on, and the command is
///   re-sent in short form — never VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, PSO,
///   GENERAL AUTHENTICATE or anything under secure messaging.
/// - **Logical channels** (§5.4.1, §11.1.2): [`Card::open_channel`], [`Card::close_channel`],
///   [`Card::transmit_on`] set the channel bits of the class byte.
/// - **Transactions**: [`Card::transaction`] runs a closure with the card held (PC/SC
///   transaction); at its end the card is reset when a PIN was verified
///   ([`ReleasePolicy`]).
/// - **Secure messaging**: a [`SecureChannel`] applied to every command once switched on; see
///   [`crate::secure`] for which APDUs are wrapped. [`Card::require_secure_messaging`] sets the
///   policy that PIN data never goes out in plain, and [`Card::is_secure`] tells whether it can.
///
/// It never allocates: commands are encoded into an `N`-byte buffer inside the session
/// (default [`DEFAULT_COMMAND_BUFFER`]), and responses go straight into the caller's buffer.
/// Raise `N` to send extended APDUs with more data in one piece.
///
/// ```
/// use cardwire_apdu::{Cla, CommandRepr, Ins};
/// use cardwire_transport::{Card, Replay};
///
/// // ATR 3B 00, then the card answers 6102 and, to GET RESPONSE, 01 02 9000.
/// let transcript = [2, 0x3B, 0x00, 0, 2, 0x61, 0x02, 0, 4, 0x01, 0x02, 0x90, 0x00];
/// let mut card = Card::open(Replay::new(&transcript)?)?;
/// let select = CommandRepr::new(Cla(0x00), Ins::SELECT, 0x04, 0x00)
///     .with_data(&[0xA0, 0x00, 0x00, 0x03, 0x08])
///     .with_ne(256);
/// let mut buf = [0u8; 260];
/// let rsp = card.transmit(&select, &mut buf)?;
/// assert_eq!(rsp.data(), [0x01, 0x02]);
/// assert!(rsp.sw().is_success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Card<
    T: Transport,
    S: SecureChannel = NoSecureChannel,
    const N: usize = DEFAULT_COMMAND_BUFFER,
> {
    transport: T,
    core: Core<S, N>,
    transaction_depth: u32,
    release: ReleasePolicy,
}

impl<T: Transport, S: SecureChannel, const N: usize> fmt::Debug for Card<T, S, N>
where
    T: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Card")
            .field("transport", &self.transport)
            .field("capabilities", &self.core.capabilities)
            .field("secure", &self.core.secure.is_some())
            .field("secure_required", &self.core.secure_required)
            .field("channels", &format_args!("{:#07x}", self.core.channels))
            .field("transaction_depth", &self.transaction_depth)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Card<T> {
    /// Opens a session: the card's capabilities come from the ATR's historical bytes
    /// (ISO/IEC 7816-4 §12.1.1.9). Nothing is sent to the card; call [`Card::read_ef_atr`]
    /// to add what EF.ATR/INFO says.
    ///
    /// # Errors
    /// None today: opening does no I/O. The `Result` keeps room for transports whose ATR
    /// must be checked.
    pub fn open(transport: T) -> CardResult<Self, T, NoSecureChannel> {
        Card::open_typed(transport)
    }

    /// Opens a session with capabilities the caller knows, reading nothing from the card.
    pub fn with_capabilities(transport: T, capabilities: Capabilities) -> Self {
        Card::with_capabilities_typed(transport, capabilities)
    }
}

impl<T: Transport, S: SecureChannel, const N: usize> Card<T, S, N> {
    /// Opens a session with a chosen secure-channel type `S` and buffer size `N`: the
    /// capabilities come from the historical bytes (ISO/IEC 7816-4 §12.1.1.9). Nothing is
    /// sent to the card (see [`Card::read_ef_atr`]).
    ///
    /// # Errors
    /// None today (see [`Card::open`]).
    pub fn open_typed(transport: T) -> CardResult<Self, T, S> {
        let mut card = Self::with_capabilities_typed(transport, Capabilities::SHORT);
        card.reconnect()?;
        Ok(card)
    }

    /// Opens a session with a chosen secure-channel type `S`, buffer size `N` and
    /// capabilities the caller knows, reading nothing from the card.
    pub fn with_capabilities_typed(transport: T, capabilities: Capabilities) -> Self {
        Self {
            transport,
            core: Core::new(capabilities),
            transaction_depth: 0,
            release: ReleasePolicy::default(),
        }
    }

    /// The card's capabilities as the session uses them.
    pub fn capabilities(&self) -> &Capabilities {
        &self.core.capabilities
    }

    /// Overrides the capabilities (for cards whose ATR does not tell the truth).
    pub fn set_capabilities(&mut self, capabilities: Capabilities) {
        self.core.capabilities = capabilities;
    }

    /// Selects EF.ATR/INFO (`2F01`, ISO/IEC 7816-4 §12.2.2) and reads it, then applies its
    /// card capabilities (`47`) and extended length information (`7F66`) to the session's
    /// capabilities ([`Capabilities::apply_ef_atr`]). Sends SELECT and READ BINARY: an explicit
    /// call, because selecting a file changes the card's current EF.
    ///
    /// Returns whether the file was read; a card that refuses (file not found, no READ
    /// BINARY) keeps the capabilities it had. [`Capabilities::ef_atr_length_info`] tells
    /// whether the historical bytes announce the file.
    ///
    /// # Errors
    /// As [`Card::transmit`].
    pub fn read_ef_atr(&mut self) -> CardResult<bool, T, S> {
        // SELECT then READ BINARY: one transaction, so that no other application's SELECT
        // comes in between.
        self.run_transaction(false, |tx| {
            run_ready(tx.core.read_ef_atr(&mut SyncRef(&mut tx.transport)))
        })?
    }

    /// The card's Answer-to-Reset (ISO/IEC 7816-3 §8).
    pub fn atr(&self) -> &[u8] {
        self.transport.atr()
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably. Bytes sent around the session are not seen by it.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Ends the session and gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    // ----- secure messaging ---------------------------------------------------------------

    /// Switches secure messaging on: from now on every command is protected by `channel`
    /// (see [`crate::secure`]). Replaces a secure channel already active.
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

    /// Sets the policy "secure messaging required": while it is set and secure messaging is
    /// not active, the session refuses to send PIN data (VERIFY, CHANGE REFERENCE DATA,
    /// RESET RETRY COUNTER with a data field) with [`CardError::SecureMessagingRequired`].
    /// Host helpers check the same policy through [`Session::plain_pin_forbidden`] to refuse
    /// earlier with a typed outcome.
    pub fn require_secure_messaging(&mut self, required: bool) {
        self.core.secure_required = required;
    }

    /// Whether the policy requires secure messaging for PIN data.
    pub fn secure_messaging_required(&self) -> bool {
        self.core.secure_required
    }

    /// Moves the session to another secure-channel type, with secure messaging off.
    pub fn with_secure_channel_type<S2: SecureChannel>(self) -> Card<T, S2, N> {
        Card {
            transport: self.transport,
            core: self.core.with_secure_channel_type(),
            transaction_depth: self.transaction_depth,
            release: self.release,
        }
    }

    // ----- reset --------------------------------------------------------------------------

    /// Resets the card (ISO/IEC 7816-3 §6.2.3) and starts the session afresh: capabilities
    /// from the new ATR's historical bytes, logical channels closed, secure messaging off.
    /// Sends nothing after the reset (call [`Card::read_ef_atr`] again if wanted).
    ///
    /// # Errors
    /// A transport error from the reset.
    pub fn reset(&mut self) -> CardResult<(), T, S> {
        self.core.forget_card_state();
        self.transport.reset().map_err(CardError::Transport)?;
        self.reconnect()
    }

    /// Starts the session afresh without resetting the card: for a card that was reset by
    /// another application or re-inserted ([`ErrorKind::CardReset`]). Capabilities come
    /// again from the current ATR; channels are closed, secure messaging is off. Sends
    /// nothing.
    ///
    /// # Errors
    /// None today: no I/O.
    pub fn reconnect(&mut self) -> CardResult<(), T, S> {
        self.core.restart(self.transport.atr());
        Ok(())
    }

    // ----- logical channels ---------------------------------------------------------------

    /// Whether logical channel `channel` is open in this session (0, the basic channel, is).
    pub fn is_channel_open(&self, channel: u8) -> bool {
        self.core.is_channel_open(channel)
    }

    /// Opens a logical channel with MANAGE CHANNEL (ISO/IEC 7816-4 §11.1.2); the card picks
    /// the number.
    ///
    /// # Errors
    /// [`CardError::Refused`] with the card's status (for example `6881` logical channel not
    /// supported), [`CardError::MalformedResponse`] when the answer is not one channel
    /// number between 1 and 19 that is not open already.
    pub fn open_channel(&mut self) -> CardResult<u8, T, S> {
        run_ready(self.core.open_channel(&mut SyncRef(&mut self.transport)))
    }

    /// Closes logical channel `channel` with MANAGE CHANNEL (ISO/IEC 7816-4 §11.1.2).
    ///
    /// # Errors
    /// [`CardError::ChannelNotOpen`] for the basic channel or a channel not open;
    /// [`CardError::Refused`] when the card refuses (the channel is then kept open).
    pub fn close_channel(&mut self, channel: u8) -> CardResult<(), T, S> {
        run_ready(
            self.core
                .close_channel(&mut SyncRef(&mut self.transport), channel),
        )
    }

    // ----- transactions -------------------------------------------------------------------

    /// Runs `body` in a transaction: no other application talks to the card between its
    /// commands (PC/SC `SCardBeginTransaction` held for the whole of `body`, then
    /// `SCardEndTransaction`; nothing on transports that are exclusive anyway).
    ///
    /// `body` gets this session over the transport *inside* the transaction
    /// ([`InTransaction`]): every session method works on it, with the same capabilities,
    /// channels and secure channel, handed back when `body` returns. Every multi-APDU
    /// operation that depends on the card's state (VERIFY then a signature, opening a secure
    /// channel then a protected command, SELECT then READ BINARY) belongs in one transaction.
    /// A nested call runs `body` at once.
    ///
    /// **Release policy** ([`ReleasePolicy`]): when a command that raises the card's security
    /// status succeeded ([`crate::session::raises_security_state`]: a verified PIN, an
    /// authentication) — in the transaction or before it —, the card is reset as the
    /// outermost transaction ends, so that the
    /// state does not leak to the next application (the class of OpenSC CVE-2023-40660); the
    /// session then starts afresh from the new ATR. [`Card::set_release_policy`] opts out.
    ///
    /// ```
    /// use cardwire_apdu::{Cla, CommandRepr, Ins};
    /// use cardwire_transport::{Card, Replay};
    /// let transcript = [0, 0, 2, 0x90, 0x00, 0, 2, 0x90, 0x00];
    /// let mut card = Card::open(Replay::new(&transcript)?)?;
    /// let sw = card.transaction(|tx| {
    ///     let mut buf = [0u8; 2];
    ///     tx.transmit(&CommandRepr::new(Cla(0), Ins::SELECT, 0, 0x0C), &mut buf)?;
    ///     assert!(tx.in_transaction());
    ///     Ok::<_, cardwire_transport::CardError<_, _>>(
    ///         tx.transmit(&CommandRepr::new(Cla(0), Ins::SELECT, 0, 0x0C), &mut buf)?.sw(),
    ///     )
    /// })??;
    /// assert!(sw.is_success());
    /// assert!(!card.in_transaction());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// A transport error starting the transaction (`body` did not run) or ending it (`body`
    /// ran; its result is lost, and after a failed reset the session has forgotten the card's
    /// state).
    pub fn transaction<R>(
        &mut self,
        body: impl FnOnce(&mut InTransaction<'_, T::Error, S, N>) -> R,
    ) -> CardResult<R, T, S> {
        self.run_transaction(true, body)
    }

    /// [`Card::transaction`]; the session's own multi-APDU operations ([`Card::read_binary`],
    /// [`Card::read_ef_atr`]) run in one with `apply_release` false: they raise nothing, and
    /// must not reset a card the caller verified a PIN on.
    fn run_transaction<R>(
        &mut self,
        apply_release: bool,
        body: impl FnOnce(&mut InTransaction<'_, T::Error, S, N>) -> R,
    ) -> CardResult<R, T, S> {
        let depth = self.transaction_depth;
        let policy = self.release;
        let Card {
            transport, core, ..
        } = self;
        if depth > 0 {
            // Nested: the outer transaction holds; run the body at once.
            let mut card = Card {
                transport: transport as &mut dyn Transport<Error = T::Error>,
                core: core.lend(),
                transaction_depth: depth + 1,
                release: policy,
            };
            let out = body(&mut card);
            core.take_back(card.core);
            return Ok(out);
        }
        let mut body = Some(body);
        let mut out = None;
        let mut reset = false;
        let result = transport.transaction(&mut |inner| {
            let Some(body) = body.take() else {
                return TransactionEnd::Leave;
            };
            let mut card = Card {
                transport: inner,
                core: core.lend(),
                transaction_depth: depth + 1,
                release: policy,
            };
            out = Some(body(&mut card));
            core.take_back(card.core);
            reset = apply_release
                && policy == ReleasePolicy::ResetWhenAuthenticated
                && core.security_raised;
            if reset {
                TransactionEnd::Reset
            } else {
                TransactionEnd::Leave
            }
        });
        if reset {
            // Whether or not the reset went through, the card's state is not ours any more.
            self.core.restart(self.transport.atr());
        }
        result.map_err(|e| {
            if matches!(e.kind(), ErrorKind::CardReset | ErrorKind::CardRemoved) {
                self.core.forget_card_state();
            }
            CardError::Transport(e)
        })?;
        out.ok_or(CardError::TransactionNotRun)
    }

    /// Whether a transaction is open (this session is the one [`Card::transaction`] gave
    /// its body).
    pub fn in_transaction(&self) -> bool {
        self.transaction_depth > 0
    }

    /// Sets what happens at the end of the outermost transaction and at
    /// [`Card::close`] after the card's security status was raised (default
    /// [`ReleasePolicy::ResetWhenAuthenticated`]).
    pub fn set_release_policy(&mut self, policy: ReleasePolicy) {
        self.release = policy;
    }

    /// The release policy.
    pub fn release_policy(&self) -> ReleasePolicy {
        self.release
    }

    /// Whether a command that raises the card's security status (a verified PIN, an
    /// authentication) succeeded since the card's last reset.
    pub fn security_state_raised(&self) -> bool {
        self.core.security_raised
    }

    /// Switches the extended-length fallback on or off (default off): when on, a command
    /// whose first APDU was extended and answered `6700` is sent again in short form and the
    /// card is treated as short-only from then on. Never for a command that is not safe to
    /// send again ([`crate::session::safe_to_resend`]: VERIFY, CHANGE REFERENCE DATA, RESET
    /// RETRY COUNTER, PSO, GENERAL AUTHENTICATE, ...) nor under secure messaging. Off, the
    /// lengths follow the stated capabilities only (historical bytes, EF.ATR `7F66`, the
    /// caller's [`Card::set_capabilities`]) and `6700` is the card's answer.
    pub fn set_extended_fallback(&mut self, on: bool) {
        self.core.extended_fallback = on;
    }

    /// Ends the session: applies the release policy (resets the card when its security
    /// status was raised, [`ReleasePolicy::ResetWhenAuthenticated`]) and gives the
    /// transport back.
    ///
    /// # Errors
    /// A transport error from the reset (the transport is dropped then; a `PcscCard` resets
    /// the card when dropped).
    pub fn close(mut self) -> CardResult<T, T, S> {
        if self.release == ReleasePolicy::ResetWhenAuthenticated && self.core.security_raised {
            self.transport.reset().map_err(CardError::Transport)?;
            self.core.forget_card_state();
        }
        Ok(self.transport)
    }

    // ----- commands -----------------------------------------------------------------------

    /// Sends one logical command on the basic channel and returns its complete response in
    /// `response` (see [`Card`] for what the session does on the way).
    ///
    /// `response` must hold the response data and SW1 SW2. The returned view's status may
    /// be any status word: a status is data, not an error.
    ///
    /// # Errors
    /// [`CardError::Transport`], [`CardError::SecureChannel`], and the session's own checks:
    /// [`CardError::SecureMessagingRequired`], [`CardError::CommandTooLong`],
    /// [`CardError::ResponseTooLong`], [`CardError::MalformedResponse`],
    /// [`CardError::TooManyResponses`], [`CardError::Apdu`].
    pub fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> CardResult<Response<&'r [u8]>, T, S> {
        self.transmit_on(0, command, response)
    }

    /// Sends one logical command on logical channel `channel` (the session sets the channel
    /// bits of the class byte; ISO/IEC 7816-4 §5.4.1). See [`Card::transmit`].
    ///
    /// # Errors
    /// As [`Card::transmit`], and [`CardError::ChannelNotOpen`].
    pub fn transmit_on<'r>(
        &mut self,
        channel: u8,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> CardResult<Response<&'r [u8]>, T, S> {
        run_ready(self.core.transmit_on(
            &mut SyncRef(&mut self.transport),
            channel,
            command,
            response,
        ))
    }

    /// Reads `len` bytes of the current transparent EF from `offset` with READ BINARY
    /// (ISO/IEC 7816-4 §11.3.3) in as few APDUs as the card allows: one per
    /// [`Capabilities::max_response_data`] bytes (256 for a short-only card).
    ///
    /// `buf` must be at least `len + 2` bytes (the status word of the last piece lands after
    /// the data). A card that serves fewer bytes per APDU than asked (for example 0xDF) is
    /// asked again from where it stopped: the read stops early only at the end of the file
    /// (`6282`; `6B00` for an offset beyond it), at an empty answer, or at another status.
    /// Returns the data read, and the last status word (`9000` when all `len` bytes came).
    ///
    /// # Errors
    /// As [`Card::transmit`]; [`CardError::ResponseTooLong`] when `buf` is shorter than
    /// `len + 2`; [`CardError::CommandTooLong`] for offsets above 32 767 (READ BINARY with
    /// an even INS cannot address them).
    pub fn read_binary<'r>(
        &mut self,
        offset: u16,
        len: usize,
        buf: &'r mut [u8],
    ) -> CardResult<(&'r [u8], StatusWord), T, S> {
        // The READ BINARY loop runs in one transaction: no other application's SELECT comes
        // between its pieces (the caller's SELECT belongs in the same transaction too).
        let (n, sw) = self.run_transaction(false, |tx| {
            run_ready(
                tx.core
                    .read_binary(&mut SyncRef(&mut tx.transport), offset, len, &mut *buf),
            )
            .map(|(data, sw)| (data.len(), sw))
        })??;
        let data = buf
            .get(..n)
            .ok_or(CardError::ResponseTooLong { capacity: len })?;
        Ok((data, sw))
    }
}

/// The session [`Card::transaction`] hands its body: the same session over the transport
/// inside the transaction.
pub type InTransaction<'t, E, S, const N: usize> =
    Card<&'t mut (dyn Transport<Error = E> + 't), S, N>;

/// What the session does with the card's security state when a transaction or the session
/// ends ([`Card::set_release_policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReleasePolicy {
    /// Reset the card at the end of the outermost transaction, and at [`Card::close`], when
    /// a command that raises its security status succeeded (a verified PIN, an
    /// authentication): the state does not leak to the next application. The default.
    #[default]
    ResetWhenAuthenticated,
    /// Leave the card as it is: the caller keeps the verified state across transactions
    /// and is responsible for clearing it (for example a PIN cache it controls).
    Leave,
}

impl<T: Transport, S: SecureChannel, const N: usize> Session for Card<T, S, N> {
    type Error = CardError<T::Error, S::Error>;

    fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, Self::Error> {
        Card::transmit(self, command, response)
    }

    fn plain_pin_forbidden(&self) -> bool {
        self.core.plain_pin_forbidden()
    }
}
