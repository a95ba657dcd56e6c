//! [`Card`]: the session over any [`Transport`] that does the exchange logic once.

use core::fmt;

use cardwire_apdu::exchange::{self, Exchange, Step};
use cardwire_apdu::{Cla, CommandRepr, Ins, LengthForm, Response, StatusWord};

use crate::capabilities::Capabilities;
use crate::secure::{NoSecureChannel, SecureChannel, SecureChannelError, SecureChannelErrorKind};
use crate::transport::{Error, ErrorKind, Transport};

/// The default size of the session's command buffer: a short APDU (261 bytes) with room for
/// secure messaging overhead.
pub const DEFAULT_COMMAND_BUFFER: usize = 512;

/// Most GET RESPONSE commands the session sends for one command: a 65 536-byte answer in
/// 256-byte pieces, with room to spare. Bounds the loop a card drives with `61xx`.
pub const MAX_GET_RESPONSE: usize = 300;

/// The highest logical channel number (ISO/IEC 7816-4 §5.4.1: channels 0–19).
pub const MAX_CHANNEL: u8 = 19;

/// A session error: the transport, the secure channel, or a rule of the session.
///
/// A status word is not an error: [`Card::transmit`] returns every complete response, whatever
/// its status. Only the session's own commands (MANAGE CHANNEL) turn a refusal into
/// [`CardError::Refused`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardError<E, S = core::convert::Infallible> {
    /// The transport failed.
    Transport(E),
    /// The secure channel failed; secure messaging is now off.
    SecureChannel(S),
    /// A VERIFY, CHANGE REFERENCE DATA or RESET RETRY COUNTER with data was about to go out in
    /// plain while the policy requires secure messaging and none is active.
    SecureMessagingRequired,
    /// The command does not fit: more data than one APDU may carry, and the card does not
    /// accept chaining (or the session's command buffer is too small).
    CommandTooLong {
        /// Data bytes in the command.
        len: usize,
        /// The most one APDU can carry with this card and buffer.
        max: usize,
    },
    /// The response does not fit the caller's buffer.
    ResponseTooLong {
        /// Size of the caller's buffer.
        capacity: usize,
    },
    /// The card answered with fewer than the two status bytes.
    MalformedResponse,
    /// The card asked for more GET RESPONSE commands than [`MAX_GET_RESPONSE`].
    TooManyResponses,
    /// The command cannot be encoded (for example class `FF` on a logical channel).
    Apdu(cardwire_apdu::Error),
    /// Secure messaging was switched off while a protected command was under way; nothing
    /// is sent in plain in its place.
    SecureChannelClosed,
    /// The logical channel is not open in this session.
    ChannelNotOpen(u8),
    /// The card refused a command the session sent for itself (MANAGE CHANNEL).
    Refused(StatusWord),
}

impl<E: Error, S: SecureChannelError> CardError<E, S> {
    /// The transport error kind this error corresponds to, for generic handling.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CardError::Transport(e) => e.kind(),
            CardError::ResponseTooLong { .. } => ErrorKind::BufferTooSmall,
            CardError::MalformedResponse | CardError::TooManyResponses => ErrorKind::Protocol,
            _ => ErrorKind::Other,
        }
    }
}

impl<E: Error, S: SecureChannelError> Error for CardError<E, S> {
    fn kind(&self) -> ErrorKind {
        CardError::kind(self)
    }
}

impl<E: fmt::Debug, S: fmt::Debug> fmt::Display for CardError<E, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardError::Transport(e) => write!(f, "transport failed: {e:?}"),
            CardError::SecureChannel(e) => write!(f, "secure channel failed: {e:?}"),
            CardError::SecureMessagingRequired => f.write_str(
                "refused to send PIN data in plain: secure messaging is required but not active",
            ),
            CardError::CommandTooLong { len, max } => write!(
                f,
                "command data of {len} bytes does not fit one APDU (at most {max}) and the card does not accept chaining"
            ),
            CardError::ResponseTooLong { capacity } => write!(
                f,
                "the card's response does not fit the {capacity}-byte response buffer"
            ),
            CardError::MalformedResponse => {
                f.write_str("the card answered without the two status bytes")
            }
            CardError::TooManyResponses => write!(
                f,
                "the card kept answering 61xx for more than {MAX_GET_RESPONSE} GET RESPONSE commands"
            ),
            CardError::Apdu(e) => write!(f, "cannot encode the command: {e}"),
            CardError::SecureChannelClosed => {
                f.write_str("secure messaging ended during a protected command")
            }
            CardError::ChannelNotOpen(n) => write!(f, "logical channel {n} is not open"),
            CardError::Refused(sw) => write!(f, "the card refused: {sw}"),
        }
    }
}

impl<E: fmt::Debug, S: fmt::Debug> core::error::Error for CardError<E, S> {}

/// The error type of a `Card<T, S, N>`.
pub type CardResult<V, T, S> =
    Result<V, CardError<<T as Transport>::Error, <S as SecureChannel>::Error>>;

/// Whether an instruction carries PIN or PUK data (ISO/IEC 7816-4 §11.5.6–§11.5.10):
/// VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, even and odd.
pub fn carries_reference_data(ins: Ins) -> bool {
    matches!(ins.0, 0x20 | 0x21 | 0x24 | 0x25 | 0x2C | 0x2D)
}

/// A session with one card over a [`Transport`]: the exchange logic, done once for every
/// transport (ISO/IEC 7816-3 §12, 7816-4 §5).
///
/// - **Lengths and chaining** from the card's [`Capabilities`]: short APDUs unless the card
///   announces extended Lc/Le; data longer than one APDU is sent with command chaining
///   (§5.3.3) when the card accepts it; Ne is capped to what the card can return at once.
/// - **`61xx`**: GET RESPONSE until the whole answer is in the caller's buffer (§5.3.4);
///   at most [`MAX_GET_RESPONSE`] times.
/// - **`6Cxx`**: the command is sent once more with Le = xx (§5.3.4).
/// - **Extended fallback**: a card that answers `6700` to an extended APDU is treated as
///   short-only from then on, and the command is re-sent in short form (chained if needed).
/// - **Logical channels** (§5.4.1, §11.1.2): [`Card::open_channel`], [`Card::close_channel`],
///   [`Card::transmit_on`] set the channel bits of the class byte.
/// - **Transactions**: [`Card::transaction`] returns a guard; see [`Transaction`].
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
    capabilities: Capabilities,
    secure: Option<S>,
    secure_required: bool,
    /// Bit n set: logical channel n is open (bit 0, the basic channel, always is).
    channels: u32,
    transaction_depth: u32,
    buffers: Buffers<N>,
}

impl<T: Transport, S: SecureChannel, const N: usize> fmt::Debug for Card<T, S, N>
where
    T: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Card")
            .field("transport", &self.transport)
            .field("capabilities", &self.capabilities)
            .field("secure", &self.secure.is_some())
            .field("secure_required", &self.secure_required)
            .field("channels", &format_args!("{:#07x}", self.channels))
            .field("transaction_depth", &self.transaction_depth)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Card<T> {
    /// Opens a session: reads the card's capabilities from the ATR's historical bytes and,
    /// where the card announces it, from EF.ATR/INFO (see [`Card::open_typed`]).
    ///
    /// # Errors
    /// A transport error while reading EF.ATR/INFO.
    pub fn open(transport: T) -> CardResult<Self, T, NoSecureChannel> {
        Card::open_typed(transport)
    }

    /// Opens a session with capabilities the caller knows, reading nothing from the card.
    pub fn with_capabilities(transport: T, capabilities: Capabilities) -> Self {
        Card::with_capabilities_typed(transport, capabilities)
    }
}

impl<T: Transport, S: SecureChannel, const N: usize> Card<T, S, N> {
    /// Opens a session with a chosen secure-channel type `S` and buffer size `N`.
    ///
    /// The capabilities come from the historical bytes (ISO/IEC 7816-4 §12.1.1.9); when the
    /// card says EF.ATR/INFO holds extended length information, the session selects
    /// EF.ATR/INFO (`2F01`) and reads it (§12.2.2). A card that refuses that is kept with the
    /// historical bytes' answer.
    ///
    /// # Errors
    /// A transport error while reading EF.ATR/INFO.
    pub fn open_typed(transport: T) -> CardResult<Self, T, S> {
        let mut card = Self::with_capabilities_typed(transport, Capabilities::SHORT_ONLY);
        card.reconnect()?;
        Ok(card)
    }

    /// Opens a session with a chosen secure-channel type `S`, buffer size `N` and
    /// capabilities the caller knows, reading nothing from the card.
    pub fn with_capabilities_typed(transport: T, capabilities: Capabilities) -> Self {
        Self {
            transport,
            capabilities,
            secure: None,
            secure_required: false,
            channels: 1,
            transaction_depth: 0,
            buffers: Buffers {
                tx: [0; N],
                wrapped: [0; N],
                rx: [0; N],
            },
        }
    }

    /// The card's capabilities as the session uses them.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Overrides the capabilities (for cards whose ATR does not tell the truth).
    pub fn set_capabilities(&mut self, capabilities: Capabilities) {
        self.capabilities = capabilities;
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
        self.secure = Some(channel);
    }

    /// Switches secure messaging off and gives the secure channel back.
    pub fn stop_secure_messaging(&mut self) -> Option<S> {
        self.secure.take()
    }

    /// Whether secure messaging is active.
    pub fn is_secure(&self) -> bool {
        self.secure.is_some()
    }

    /// The active secure channel.
    pub fn secure_channel(&self) -> Option<&S> {
        self.secure.as_ref()
    }

    /// The active secure channel, mutably.
    pub fn secure_channel_mut(&mut self) -> Option<&mut S> {
        self.secure.as_mut()
    }

    /// Sets the policy "secure messaging required": while it is set and secure messaging is
    /// not active, the session refuses to send PIN data (VERIFY, CHANGE REFERENCE DATA,
    /// RESET RETRY COUNTER with a data field) with [`CardError::SecureMessagingRequired`].
    /// `cardwire-pin` checks the same flag to refuse earlier with a typed outcome.
    pub fn require_secure_messaging(&mut self, required: bool) {
        self.secure_required = required;
    }

    /// Whether the policy requires secure messaging for PIN data.
    pub fn secure_messaging_required(&self) -> bool {
        self.secure_required
    }

    /// Moves the session to another secure-channel type, with secure messaging off.
    pub fn with_secure_channel_type<S2: SecureChannel>(self) -> Card<T, S2, N> {
        Card {
            transport: self.transport,
            capabilities: self.capabilities,
            secure: None,
            secure_required: self.secure_required,
            channels: self.channels,
            transaction_depth: self.transaction_depth,
            buffers: self.buffers,
        }
    }

    // ----- reset --------------------------------------------------------------------------

    /// Resets the card (ISO/IEC 7816-3 §6.2.3) and starts the session afresh: capabilities
    /// read again, logical channels closed, secure messaging off.
    ///
    /// # Errors
    /// A transport error from the reset or from reading EF.ATR/INFO.
    pub fn reset(&mut self) -> CardResult<(), T, S> {
        self.forget_card_state();
        self.transport.reset().map_err(CardError::Transport)?;
        self.reconnect()
    }

    /// Starts the session afresh without resetting the card: for a card that was reset by
    /// another application or re-inserted ([`ErrorKind::CardReset`]). Capabilities are read
    /// again from the current ATR; channels are closed, secure messaging is off.
    ///
    /// # Errors
    /// A transport error while reading EF.ATR/INFO.
    pub fn reconnect(&mut self) -> CardResult<(), T, S> {
        self.forget_card_state();
        self.capabilities = crate::atr_info::capabilities_from_atr(self.transport.atr());
        if self.capabilities.ef_atr_length_info {
            crate::atr_info::read_ef_atr(self)?;
        }
        Ok(())
    }

    /// The card lost its volatile state: so does the session.
    fn forget_card_state(&mut self) {
        self.channels = 1;
        self.secure = None;
    }

    // ----- logical channels ---------------------------------------------------------------

    /// Whether logical channel `channel` is open in this session (0, the basic channel, is).
    pub fn is_channel_open(&self, channel: u8) -> bool {
        channel <= MAX_CHANNEL && self.channels & (1 << channel) != 0
    }

    /// Opens a logical channel with MANAGE CHANNEL (ISO/IEC 7816-4 §11.1.2); the card picks
    /// the number.
    ///
    /// # Errors
    /// [`CardError::Refused`] with the card's status (for example `6881` logical channel not
    /// supported), [`CardError::MalformedResponse`] when the answer is not one channel
    /// number between 1 and 19 that is not open already.
    pub fn open_channel(&mut self) -> CardResult<u8, T, S> {
        let open = CommandRepr::new(Cla::INTERINDUSTRY, Ins::MANAGE_CHANNEL, 0x00, 0x00).with_ne(1);
        let mut buf = [0u8; 3];
        let rsp = self.exchange(&open, &mut buf, false)?;
        if rsp.sw() != StatusWord::SUCCESS {
            return Err(CardError::Refused(rsp.sw()));
        }
        match *rsp.data() {
            [n] if (1..=MAX_CHANNEL).contains(&n) && !self.is_channel_open(n) => {
                self.channels |= 1 << n;
                Ok(n)
            }
            _ => Err(CardError::MalformedResponse),
        }
    }

    /// Closes logical channel `channel` with MANAGE CHANNEL (ISO/IEC 7816-4 §11.1.2).
    ///
    /// # Errors
    /// [`CardError::ChannelNotOpen`] for the basic channel or a channel not open;
    /// [`CardError::Refused`] when the card refuses (the channel is then kept open).
    pub fn close_channel(&mut self, channel: u8) -> CardResult<(), T, S> {
        if channel == 0 || !self.is_channel_open(channel) {
            return Err(CardError::ChannelNotOpen(channel));
        }
        let close = CommandRepr::new(Cla::INTERINDUSTRY, Ins::MANAGE_CHANNEL, 0x80, channel);
        let mut buf = [0u8; 2];
        let sw = self.exchange(&close, &mut buf, false)?.sw();
        if sw != StatusWord::SUCCESS {
            return Err(CardError::Refused(sw));
        }
        self.channels &= !(1 << channel);
        Ok(())
    }

    // ----- transactions -------------------------------------------------------------------

    /// Starts a transaction: until the returned guard is dropped (or
    /// [`Transaction::end`]ed), no other application can talk to the card between this
    /// session's commands (PC/SC `SCardBeginTransaction`; a no-op on transports that are
    /// exclusive anyway). Transactions nest; only the outermost reaches the transport.
    ///
    /// # Errors
    /// A transport error from [`Transport::begin_transaction`].
    pub fn transaction(&mut self) -> CardResult<Transaction<'_, T, S, N>, T, S> {
        if self.transaction_depth == 0 {
            self.transport
                .begin_transaction()
                .map_err(CardError::Transport)?;
        }
        self.transaction_depth += 1;
        Ok(Transaction { card: self })
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.transaction_depth > 0
    }

    fn end_transaction(&mut self) -> Result<(), T::Error> {
        self.transaction_depth = self.transaction_depth.saturating_sub(1);
        if self.transaction_depth == 0 {
            self.transport.end_transaction()
        } else {
            Ok(())
        }
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
        if !self.is_channel_open(channel) {
            return Err(CardError::ChannelNotOpen(channel));
        }
        if self.secure_required
            && self.secure.is_none()
            && carries_reference_data(command.ins)
            && !command.data.is_empty()
        {
            return Err(CardError::SecureMessagingRequired);
        }
        let mut command = *command;
        if channel != 0 {
            command.cla = command.cla.with_channel(channel).map_err(CardError::Apdu)?;
        }
        let protect = self.secure.is_some();
        self.exchange(&command, response, protect)
    }

    /// Reads `len` bytes of the current transparent EF from `offset` with READ BINARY
    /// (ISO/IEC 7816-4 §11.3.3) in as few APDUs as the card allows: one per
    /// [`Capabilities::max_response_data`] bytes (256 for a short-only card).
    ///
    /// `buf` must be at least `len + 2` bytes (the status word of the last piece lands after
    /// the data). Stops early at the end of the file (`6282`, or fewer bytes than asked).
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
        if buf.len() < len.saturating_add(2) {
            return Err(CardError::ResponseTooLong {
                capacity: buf.len(),
            });
        }
        let mut filled = 0usize;
        let mut sw = StatusWord::SUCCESS;
        while filled < len {
            let at = usize::from(offset) + filled;
            let at = u16::try_from(at).ok().filter(|a| *a <= 0x7FFF).ok_or(
                CardError::CommandTooLong {
                    len: at,
                    max: 0x7FFF,
                },
            )?;
            let want = (len - filled).min(self.max_response_per_apdu());
            let read = CommandRepr::new(
                Cla::INTERINDUSTRY,
                Ins::READ_BINARY,
                (at >> 8) as u8,
                at as u8,
            )
            .with_ne(u32::try_from(want).unwrap_or(u32::MAX));
            let dest = buf
                .get_mut(filled..)
                .ok_or(CardError::ResponseTooLong { capacity: len })?;
            let rsp = self.transmit(&read, dest)?;
            let got = rsp.data().len().min(want);
            sw = rsp.sw();
            filled += got;
            // An extended fallback may have lowered what one APDU can bring back.
            let expected = want.min(self.max_response_per_apdu());
            if !sw.is_normal() || sw == StatusWord::END_OF_FILE || got < expected {
                break;
            }
        }
        let data = buf
            .get(..filled)
            .ok_or(CardError::ResponseTooLong { capacity: len })?;
        Ok((data, sw))
    }

    /// The most response data one APDU can bring back with the current capabilities.
    fn max_response_per_apdu(&self) -> usize {
        let caps = self.engine_capabilities(self.is_secure());
        usize::try_from(caps.max_response_data).unwrap_or(usize::MAX)
    }

    /// Runs one logical command through the exchange engine
    /// ([`cardwire_apdu::exchange::Exchange`]: chaining, `61xx`, `6Cxx`), with the extended
    /// fallback and secure messaging around it.
    pub(crate) fn exchange<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
        protect: bool,
    ) -> CardResult<Response<&'r [u8]>, T, S> {
        let protect = protect && self.secure.is_some();
        let len = match self.exchange_with_fallback(command, response, protect) {
            Ok(len) => len,
            Err(e) => {
                if let CardError::Transport(t) = &e {
                    if matches!(t.kind(), ErrorKind::CardReset | ErrorKind::CardRemoved) {
                        self.forget_card_state();
                    }
                }
                return Err(e);
            }
        };
        let bytes = response.get(..len).ok_or(CardError::MalformedResponse)?;
        Response::new_checked(bytes).map_err(|_| CardError::MalformedResponse)
    }

    /// One engine run; a second in short form when the card rejects an extended APDU.
    fn exchange_with_fallback(
        &mut self,
        command: &CommandRepr<'_>,
        response: &mut [u8],
        protect: bool,
    ) -> CardResult<usize, T, S> {
        let caps = self.engine_capabilities(protect);
        let first_is_extended = caps.extended_length
            && (command.data.len().min(usize::from(caps.max_command_data)) > 255
                || command.ne.min(caps.max_response_data) > 256);
        let (done, wire_apdus) = self.run_engine(command, caps, response, protect)?;
        if first_is_extended && wire_apdus == 1 && done.sw == StatusWord::WRONG_LENGTH {
            // The card does not take extended APDUs after all (ISO/IEC 7816-4 §5.1): from
            // now on it is treated as short-only, and this command is sent again.
            self.capabilities.extended_length = false;
            self.capabilities.max_command_data = 255;
            self.capabilities.max_response_data = 256;
            let caps = self.engine_capabilities(protect);
            let (done, _) = self.run_engine(command, caps, response, protect)?;
            return Ok(done.len);
        }
        Ok(done.len)
    }

    /// What the engine may use per wire APDU: the card's capabilities, narrowed to the
    /// session's buffers and the secure channel's overhead.
    fn engine_capabilities(&self, protect: bool) -> exchange::Capabilities {
        let caps = &self.capabilities;
        let extended = caps.extended_length;
        let (mut cmd, mut rsp) = if extended {
            // Header 4, Lc 3, Le 2; SW1 SW2.
            (
                usize::from(caps.max_command_data).min(N.saturating_sub(9)),
                usize::try_from(caps.max_response_data)
                    .unwrap_or(usize::MAX)
                    .min(N.saturating_sub(2)),
            )
        } else {
            (
                255usize.min(N.saturating_sub(6)),
                256usize.min(N.saturating_sub(2)),
            )
        };
        if let (Some(sm), true) = (&self.secure, protect) {
            cmd = sm.plain_capacity(cmd);
            rsp = sm.plain_capacity(rsp);
        }
        exchange::Capabilities {
            extended_length: extended,
            command_chaining: caps.chaining,
            max_command_data: u16::try_from(cmd.max(1)).unwrap_or(u16::MAX),
            max_response_data: u32::try_from(rsp.max(1)).unwrap_or(u32::MAX),
            get_response_after_warning: false,
        }
    }

    /// Drives the engine: each wire APDU it asks for goes through the transport (wrapped by
    /// the secure channel when `protect`, except GET RESPONSE), its answer back into it.
    fn run_engine(
        &mut self,
        command: &CommandRepr<'_>,
        caps: exchange::Capabilities,
        response: &mut [u8],
        protect: bool,
    ) -> CardResult<(exchange::Completed, u32), T, S> {
        let mut engine = Exchange::new(*command, caps, response).map_err(engine_error)?;
        loop {
            let wire_len = engine
                .poll_transmit(&mut self.buffers.tx)
                .map_err(engine_error)?
                .len();
            let answer_len = if protect && self.buffers.tx.get(1) != Some(&Ins::GET_RESPONSE.0) {
                self.send_protected(wire_len)?
            } else {
                let wire = self.buffers.tx.get(..wire_len).unwrap_or_default();
                transmit_into(&mut self.transport, wire, &mut self.buffers.rx)?
            };
            let answer = self.buffers.rx.get(..answer_len).unwrap_or_default();
            if let Step::Done(done) = engine.handle_response(answer).map_err(engine_error)? {
                return Ok((done, engine.wire_apdus()));
            }
        }
    }

    /// Wraps the plain wire APDU in `tx`, sends it, collects a `61xx` protected response
    /// with GET RESPONSE and unwraps it in `rx`. Returns the plain answer's length.
    fn send_protected(&mut self, plain_len: usize) -> CardResult<usize, T, S> {
        let Buffers { tx, rx, wrapped } = &mut self.buffers;
        let plain = tx.get(..plain_len).unwrap_or_default();
        let repr = CommandRepr::parse(plain).map_err(CardError::Apdu)?;
        let Some(sm) = self.secure.as_mut() else {
            return Err(CardError::SecureChannelClosed);
        };
        let wire_len = match sm.wrap(&repr, wrapped) {
            Ok(wire) => wire.len(),
            Err(e) => {
                if e.kind() != SecureChannelErrorKind::BufferTooSmall {
                    self.secure = None;
                }
                return Err(CardError::SecureChannel(e));
            }
        };
        let wire = wrapped.get(..wire_len).unwrap_or_default();
        let first = transmit_into(&mut self.transport, wire, rx)?;
        // The protected response is one R-APDU even when the card hands it out with 61xx
        // (ISO/IEC 7816-4 §5.3.4): collect it whole before unwrapping.
        let mut filled = first - 2;
        let mut sw = status_of(rx, first)?;
        let mut rounds = 0usize;
        while let Some(available) = sw.bytes_available() {
            rounds += 1;
            if rounds > MAX_GET_RESPONSE {
                return Err(CardError::TooManyResponses);
            }
            let capacity = rx.len();
            let dest = rx
                .get_mut(filled..)
                .filter(|d| d.len() > 2)
                .ok_or(CardError::ResponseTooLong { capacity })?;
            let le = usize::from(available).min(dest.len() - 2);
            let get = CommandRepr::new(
                repr.cla.interindustry_on_same_channel(),
                Ins::GET_RESPONSE,
                0,
                0,
            )
            .with_ne(u32::try_from(le).unwrap_or(256));
            let get = get
                .encode_with(LengthForm::Short, wrapped)
                .map_err(CardError::Apdu)?;
            let len = transmit_into(&mut self.transport, get, dest)?;
            sw = status_of(dest, len)?;
            filled += len - 2;
        }
        let total = filled + 2;
        let protected = rx.get_mut(..total).ok_or(CardError::MalformedResponse)?;
        match sm.unwrap(protected) {
            Ok(n) if (2..=total).contains(&n) => Ok(n),
            Ok(_) => {
                self.secure = None;
                Err(CardError::MalformedResponse)
            }
            Err(e) => {
                self.secure = None;
                Err(CardError::SecureChannel(e))
            }
        }
    }
}

/// The session's buffers: the plain wire APDU from the engine, its protected form, and the
/// card's answer.
struct Buffers<const N: usize> {
    tx: [u8; N],
    wrapped: [u8; N],
    rx: [u8; N],
}

/// Sends `wire` and receives the answer into `rx`; returns its length (at least 2).
fn transmit_into<T: Transport, S>(
    transport: &mut T,
    wire: &[u8],
    rx: &mut [u8],
) -> Result<usize, CardError<T::Error, S>> {
    let capacity = rx.len();
    match transport.transmit(wire, rx) {
        Ok(rsp) if rsp.len() >= 2 => Ok(rsp.len()),
        Ok(_) => Err(CardError::MalformedResponse),
        Err(e) if e.kind() == ErrorKind::BufferTooSmall => {
            Err(CardError::ResponseTooLong { capacity })
        }
        Err(e) => Err(CardError::Transport(e)),
    }
}

/// Maps an engine error to the session's error.
fn engine_error<E, S>(e: cardwire_apdu::Error) -> CardError<E, S> {
    use cardwire_apdu::Error as A;
    match e {
        A::CommandTooLong { len } => CardError::CommandTooLong { len, max: 255 },
        A::ResponseBufferFull { capacity } => CardError::ResponseTooLong { capacity },
        A::TooManyGetResponses { .. } | A::TooManyResends { .. } => CardError::TooManyResponses,
        A::Truncated { .. } | A::ResponseTooLong { .. } => CardError::MalformedResponse,
        other => CardError::Apdu(other),
    }
}

/// The status word at the end of the first `len` bytes of `response`.
fn status_of<E, S>(response: &[u8], len: usize) -> Result<StatusWord, CardError<E, S>> {
    match response.get(..len) {
        Some([.., sw1, sw2]) => Ok(StatusWord::new(*sw1, *sw2)),
        _ => Err(CardError::MalformedResponse),
    }
}

/// A transaction on a [`Card`]: while it lives, the session's commands are not interleaved
/// with another application's (PC/SC `SCardBeginTransaction`/`SCardEndTransaction`).
///
/// Dereferences to the [`Card`], so every session method works through it. Dropping it ends
/// the transaction (ignoring a failure to do so); [`Transaction::end`] reports that failure.
///
/// ```
/// use cardwire_apdu::{Cla, CommandRepr, Ins};
/// use cardwire_transport::{Card, Replay};
/// let transcript = [0, 0, 2, 0x90, 0x00, 0, 2, 0x90, 0x00];
/// let mut card = Card::open(Replay::new(&transcript)?)?;
/// {
///     let mut tx = card.transaction()?;
///     let mut buf = [0u8; 2];
///     tx.transmit(&CommandRepr::new(Cla(0), Ins::SELECT, 0, 0x0C), &mut buf)?;
///     tx.transmit(&CommandRepr::new(Cla(0), Ins::SELECT, 0, 0x0C), &mut buf)?;
///     assert!(tx.in_transaction());
/// }
/// assert!(!card.in_transaction());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Transaction<'c, T: Transport, S: SecureChannel, const N: usize> {
    card: &'c mut Card<T, S, N>,
}

impl<T: Transport, S: SecureChannel, const N: usize> Transaction<'_, T, S, N> {
    /// Ends the transaction now.
    ///
    /// # Errors
    /// A transport error from [`Transport::end_transaction`].
    pub fn end(self) -> Result<(), T::Error> {
        let mut this = core::mem::ManuallyDrop::new(self);
        this.card.end_transaction()
    }
}

impl<T: Transport, S: SecureChannel, const N: usize> core::ops::Deref for Transaction<'_, T, S, N> {
    type Target = Card<T, S, N>;
    fn deref(&self) -> &Self::Target {
        self.card
    }
}

impl<T: Transport, S: SecureChannel, const N: usize> core::ops::DerefMut
    for Transaction<'_, T, S, N>
{
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.card
    }
}

impl<T: Transport, S: SecureChannel, const N: usize> Drop for Transaction<'_, T, S, N> {
    fn drop(&mut self) {
        // Nothing useful can be done with a failure here; `end` reports it.
        let _ = self.card.end_transaction();
    }
}

impl<T: Transport, S: SecureChannel, const N: usize> crate::session::Session for Card<T, S, N> {
    type Error = CardError<T::Error, S::Error>;

    fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, Self::Error> {
        Card::transmit(self, command, response)
    }

    fn plain_pin_forbidden(&self) -> bool {
        self.secure_required && self.secure.is_none()
    }
}
