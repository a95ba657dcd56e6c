//! The session state and driving loop shared by [`Card`](crate::Card) and
//! [`AsyncCard`](crate::AsyncCard).
//!
//! The protocol lives in `cardwire-apdu`'s sans-IO [`Exchange`] engine; this module holds what
//! a session adds around it (capabilities, logical channels, the secure channel, the buffers)
//! and drives the engine **once**, as `async` code over an [`AsyncTransport`]. The async session
//! awaits it; the blocking session runs it over [`SyncRef`], whose futures are ready on their
//! first poll, with [`run_ready`]. So both sessions send exactly the same APDUs.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use cardwire_apdu::command::{MAX_SHORT_NC, MAX_SHORT_NE};
use cardwire_apdu::exchange::{Capabilities, Completed, Exchange, MAX_GET_RESPONSE, Step};
use cardwire_apdu::response::MAX_RESPONSE_LEN;
use cardwire_apdu::{Cla, CommandRepr, Ins, LengthForm, Response, StatusWord};
use cardwire_link::atr::{Atr, Mode as AtrMode};

use crate::asynch::AsyncTransport;
use crate::card_error::CardError;
use crate::secure::{SecureChannel, SecureChannelError, SecureChannelErrorKind};
use crate::session::{carries_reference_data, raises_security_state, safe_to_resend};
use crate::transport::{Error, ErrorKind, Protocol, Transport};

/// The highest logical channel number (ISO/IEC 7816-4 §5.4.1: channels 0–19).
pub const MAX_CHANNEL: u8 = 19;

/// File identifier of EF.ATR/INFO (ISO/IEC 7816-4 §12.2.2).
pub const EF_ATR_FID: [u8; 2] = [0x2F, 0x01];

/// The error of a session over a transport with error `E` and a secure channel `S`.
pub(crate) type CoreError<E, S> = CardError<E, <S as SecureChannel>::Error>;

/// The capabilities an ATR's historical bytes announce (ISO/IEC 7816-4 §12.1.1), derived by
/// [`Capabilities::from_historical_bytes`]; [`Capabilities::SHORT`] for an ATR that does not
/// parse.
pub(crate) fn capabilities_from_atr(atr: &[u8]) -> Capabilities {
    Atr::parse(atr, AtrMode::Lenient).map_or(Capabilities::SHORT, |parsed| {
        Capabilities::from_historical_bytes_raw(parsed.historical_bytes())
    })
}

/// Polls a future that never waits to completion.
///
/// Invariant: every future the blocking session builds awaits only [`SyncRef`]'s methods,
/// which complete on their first poll, so the first poll returns `Ready`. A `Pending` would be
/// a bug in this module: it is made visible in debug builds and the future is polled again.
pub(crate) fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => debug_assert!(false, "a blocking session future waited"),
        }
    }
}

/// A blocking [`Transport`] seen through [`AsyncTransport`], borrowed: each call completes on
/// its first poll.
pub(crate) struct SyncRef<'a, T>(pub(crate) &'a mut T);

impl<T: Transport> AsyncTransport for SyncRef<'_, T> {
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

    fn protocol(&self) -> Option<crate::Protocol> {
        self.0.protocol()
    }

    async fn reset(&mut self) -> Result<(), Self::Error> {
        self.0.reset()
    }
}

/// The session's buffers: the plain wire APDU from the engine, its protected form, and the
/// card's protected answer. Without secure messaging the card answers straight into the
/// caller's buffer ([`Exchange::answer_space`]) and only `tx` is used.
struct Buffers<const N: usize> {
    tx: [u8; N],
    wrapped: [u8; N],
    rx: [u8; N],
    /// How many leading bytes of each buffer may hold data since the last wipe.
    dirty: Dirty,
}

/// The used prefixes of the three [`Buffers`].
#[derive(Clone, Copy, Default)]
struct Dirty {
    tx: usize,
    wrapped: usize,
    rx: usize,
}

impl<const N: usize> Buffers<N> {
    /// Wipes what the exchange wrote into the buffers (after every exchange: they held a
    /// plain VERIFY, keys in PUT KEY, decrypted answers). Only the used prefixes: zeroizing
    /// all three `N`-byte buffers byte by byte cost more than the rest of a plain exchange.
    fn wipe(&mut self) {
        let Dirty { tx, wrapped, rx } = core::mem::take(&mut self.dirty);
        wipe_prefix(&mut self.tx, tx);
        wipe_prefix(&mut self.wrapped, wrapped);
        wipe_prefix(&mut self.rx, rx);
    }
}

/// Zeroizes the first `len` bytes of `buf` (all of it when `len` is larger).
fn wipe_prefix(buf: &mut [u8], len: usize) {
    use zeroize::Zeroize;
    // Most exchanges leave `wrapped` and `rx` unused: no call for those.
    if len == 0 {
        return;
    }
    // A short command (the common case) is wiped with one fixed 16-byte store rather than a
    // `memset` call; the bytes after `len` are the buffer's own, unused.
    if len <= 16 {
        if let Some(head) = buf.first_chunk_mut::<16>() {
            head.zeroize();
            return;
        }
    }
    let len = len.min(buf.len());
    if let Some(used) = buf.get_mut(..len) {
        used.zeroize();
    }
}

impl<const N: usize> Drop for Buffers<N> {
    fn drop(&mut self) {
        self.dirty = Dirty {
            tx: N,
            wrapped: N,
            rx: N,
        };
        self.wipe();
    }
}

/// What a session knows about the card and itself, and the buffers it encodes into.
pub(crate) struct Core<S, const N: usize> {
    pub(crate) capabilities: Capabilities,
    pub(crate) secure: Option<S>,
    pub(crate) secure_required: bool,
    /// Bit n set: logical channel n is open (bit 0, the basic channel, always is).
    pub(crate) channels: u32,
    /// A command that raises the card's security status (a verified PIN, an authentication)
    /// succeeded since the card's last reset ([`raises_security_state`]).
    pub(crate) security_raised: bool,
    /// The opt-in extended-length fallback: re-send in short form a command whose first,
    /// extended APDU was answered `6700`.
    pub(crate) extended_fallback: bool,
    buffers: Buffers<N>,
}

impl<S: SecureChannel, const N: usize> Core<S, N> {
    pub(crate) fn new(capabilities: Capabilities) -> Self {
        Self {
            capabilities,
            secure: None,
            secure_required: false,
            channels: 1,
            security_raised: false,
            extended_fallback: false,
            buffers: Buffers {
                tx: [0; N],
                wrapped: [0; N],
                rx: [0; N],
                dirty: Dirty::default(),
            },
        }
    }

    /// The same state under another secure-channel type, with secure messaging off.
    pub(crate) fn with_secure_channel_type<S2: SecureChannel>(self) -> Core<S2, N> {
        Core {
            capabilities: self.capabilities,
            secure: None,
            secure_required: self.secure_required,
            channels: self.channels,
            security_raised: self.security_raised,
            extended_fallback: self.extended_fallback,
            buffers: self.buffers,
        }
    }

    /// A fresh state with the same settings and what is known about the card, for the
    /// session inside a transaction; [`Core::take_back`] returns it.
    pub(crate) fn lend(&mut self) -> Self {
        let mut lent = Self::new(self.capabilities);
        lent.secure = self.secure.take();
        lent.secure_required = self.secure_required;
        lent.channels = self.channels;
        lent.security_raised = self.security_raised;
        lent.extended_fallback = self.extended_fallback;
        core::mem::swap(&mut lent.buffers, &mut self.buffers);
        lent
    }

    /// Takes back the state lent with [`Core::lend`].
    pub(crate) fn take_back(&mut self, lent: Self) {
        *self = lent;
    }

    /// The card lost its volatile state: so does the session.
    pub(crate) fn forget_card_state(&mut self) {
        self.channels = 1;
        self.secure = None;
        self.security_raised = false;
    }

    /// Starts afresh from an ATR: capabilities from its historical bytes, state forgotten.
    pub(crate) fn restart(&mut self, atr: &[u8]) {
        self.forget_card_state();
        self.capabilities = capabilities_from_atr(atr);
    }

    pub(crate) fn is_channel_open(&self, channel: u8) -> bool {
        channel <= MAX_CHANNEL && self.channels & (1 << channel) != 0
    }

    pub(crate) fn plain_pin_forbidden(&self) -> bool {
        self.secure_required && self.secure.is_none()
    }

    /// The most response data one APDU can bring back with the current capabilities over
    /// `link`.
    pub(crate) fn max_response_per_apdu(&self, link: Option<Protocol>) -> usize {
        let caps = self.engine_capabilities(self.secure.is_some(), link);
        usize::try_from(caps.max_response_data).unwrap_or(usize::MAX)
    }

    /// What the engine may use per wire APDU: the card's capabilities, narrowed to the
    /// session's buffers, the secure channel's overhead and the transmission protocol `link`:
    /// over T=0 no extended length whatever the card announces (a T=0 TPDU has one length
    /// byte, ISO/IEC 7816-3 §12.2), so long data is chained and long answers come with `61xx`.
    fn engine_capabilities(&self, protect: bool, link: Option<Protocol>) -> Capabilities {
        let caps = &self.capabilities;
        let extended = caps.extended_length && link.is_none_or(Protocol::carries_extended_length);
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
        Capabilities {
            max_command_data: u16::try_from(cmd.max(1)).unwrap_or(u16::MAX),
            max_response_data: u32::try_from(rsp.max(1)).unwrap_or(u32::MAX),
            extended_length: extended,
            ..*caps
        }
    }

    /// Sends one logical command on `channel`: the policy check, the channel bits, then the
    /// exchange (protected when secure messaging is on).
    pub(crate) async fn transmit_on<'r, T: AsyncTransport>(
        &mut self,
        transport: &mut T,
        channel: u8,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, CoreError<T::Error, S>> {
        if !self.is_channel_open(channel) {
            return Err(CardError::ChannelNotOpen(channel));
        }
        if self.plain_pin_forbidden()
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
        let rsp = self
            .exchange(transport, &command, response, protect)
            .await?;
        if rsp.sw().is_success() && raises_security_state(command.ins, !command.data.is_empty()) {
            self.security_raised = true;
        }
        Ok(rsp)
    }

    /// Runs one logical command through the exchange engine
    /// ([`cardwire_apdu::exchange::Exchange`]: chaining, `61xx`, `6Cxx`), with the extended
    /// fallback and secure messaging around it.
    pub(crate) async fn exchange<'r, T: AsyncTransport>(
        &mut self,
        transport: &mut T,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
        protect: bool,
    ) -> Result<Response<&'r [u8]>, CoreError<T::Error, S>> {
        let protect = protect && self.secure.is_some();
        let result = self
            .exchange_with_fallback(transport, command, response, protect)
            .await;
        // The buffers held the plain command (a VERIFY's PIN) and the unwrapped answer.
        self.buffers.wipe();
        let len = match result {
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

    /// One engine run; with the opt-in fallback, a second in short form when the card
    /// rejects an extended APDU and the command is safe to send again ([`safe_to_resend`],
    /// never under secure messaging).
    async fn exchange_with_fallback<T: AsyncTransport>(
        &mut self,
        transport: &mut T,
        command: &CommandRepr<'_>,
        response: &mut [u8],
        protect: bool,
    ) -> Result<usize, CoreError<T::Error, S>> {
        let link = transport.protocol();
        let mut caps = self.engine_capabilities(protect, link);
        let first_is_extended = caps.extended_length
            && (command.data.len().min(usize::from(caps.max_command_data)) > 255
                || command.ne.min(caps.max_response_data) > 256);
        let mut resent = false;
        // One call site of `run_engine` (the re-send loops back), so that it inlines here.
        loop {
            let (done, wire_apdus) = self
                .run_engine(transport, command, caps, response, protect)
                .await?;
            if !resent
                && self.extended_fallback
                && !protect
                && safe_to_resend(command)
                && first_is_extended
                && wire_apdus == 1
                && done.sw == StatusWord::WRONG_LENGTH
            {
                // The card does not take extended APDUs after all (ISO/IEC 7816-4 §5.1): from
                // now on it is treated as short-only, and this command is sent again.
                self.capabilities.extended_length = false;
                self.capabilities.max_command_data = 255;
                self.capabilities.max_response_data = 256;
                caps = self.engine_capabilities(protect, link);
                resent = true;
                continue;
            }
            return Ok(done.len);
        }
    }

    /// Drives the engine: each wire APDU it asks for goes through the transport (wrapped by
    /// the secure channel when `protect`, except GET RESPONSE), its answer back into it.
    async fn run_engine<T: AsyncTransport>(
        &mut self,
        transport: &mut T,
        command: &CommandRepr<'_>,
        caps: Capabilities,
        response: &mut [u8],
        protect: bool,
    ) -> Result<(Completed, u32), CoreError<T::Error, S>> {
        // Fast path: a plain command that goes out as one short APDU and is answered `9000`
        // (most commands) needs none of the engine's state. Its wire APDU is the one the
        // engine would send first (the same command with Ne capped at the card's response
        // limit, short form), received where the engine would take it (the start of the
        // caller's buffer). Any other status word goes to the engine as the answer to its own
        // first APDU, so `61xx`, `6Cxx` and the warning rule behave exactly as before.
        let mut first_answer = None;
        let nc = command.data.len();
        if !protect
            && nc <= MAX_SHORT_NC
            && command.ne <= MAX_SHORT_NE
            && nc <= usize::from(caps.max_command_data.max(1))
            && response.len() >= 2
        {
            let first = CommandRepr {
                ne: command.ne.min(caps.max_response_data.max(1)),
                ..*command
            };
            let used = self.buffers.dirty.tx;
            self.buffers.dirty.tx = N;
            let wire_len = first
                .encode(&mut self.buffers.tx)
                .map_err(CardError::Apdu)?
                .len();
            self.buffers.dirty.tx = used.max(wire_len);
            let wire = self.buffers.tx.get(..wire_len).unwrap_or_default();
            let capacity = response.len();
            let space = response
                .get_mut(..capacity.min(MAX_RESPONSE_LEN))
                .unwrap_or_default();
            let start = space.as_ptr();
            let result = transport.transmit(wire, space).await;
            let len = answer_in_place::<T::Error, S>(result, start, capacity)?;
            if response.get(..len).and_then(<[u8]>::last_chunk::<2>) == Some(&[0x90, 0x00]) {
                let done = Completed {
                    len,
                    sw: StatusWord::SUCCESS,
                };
                return Ok((done, 1));
            }
            first_answer = Some(len);
        }
        let mut engine = Exchange::new(*command, caps, response).map_err(engine_error)?;
        loop {
            // The plain command (a VERIFY's PIN) is in `tx`: wiped after the exchange. An
            // error may leave any part written.
            let used = self.buffers.dirty.tx;
            self.buffers.dirty.tx = N;
            let wire_len = engine
                .poll_transmit(&mut self.buffers.tx)
                .map_err(engine_error)?
                .len();
            self.buffers.dirty.tx = used.max(wire_len);
            let step = if let Some(len) = first_answer.take() {
                // The fast path's answer to this same APDU (already sent, see above).
                engine.handle_response_in_place(len)
            } else if protect && !is_get_response(&self.buffers.tx) {
                let answer_len = self.send_protected(transport, wire_len).await?;
                let answer = self.buffers.rx.get(..answer_len).unwrap_or_default();
                engine.handle_response(answer)
            } else {
                // The card answers straight into the caller's buffer, after the data so far.
                let wire = self.buffers.tx.get(..wire_len).unwrap_or_default();
                let capacity = engine.response_capacity();
                // At most the longest response APDU: PC/SC refuses receive buffers above its
                // own maximum (pcsc-lite: 65 548 bytes), whatever the caller's buffer size.
                let space = engine.answer_space();
                let limit = space.len().min(MAX_RESPONSE_LEN);
                let space = space.get_mut(..limit).unwrap_or_default();
                let start = space.as_ptr();
                let result = transport.transmit(wire, space).await;
                let answer_len = answer_in_place::<T::Error, S>(result, start, capacity)?;
                engine.handle_response_in_place(answer_len)
            };
            if let Step::Done(done) = step.map_err(engine_error)? {
                return Ok((done, engine.wire_apdus()));
            }
        }
    }

    /// Wraps the plain wire APDU in `tx`, sends it, collects a `61xx` protected response
    /// with GET RESPONSE and unwraps it in `rx`. Returns the plain answer's length.
    async fn send_protected<T: AsyncTransport>(
        &mut self,
        transport: &mut T,
        plain_len: usize,
    ) -> Result<usize, CoreError<T::Error, S>> {
        let Buffers {
            tx,
            rx,
            wrapped,
            dirty,
        } = &mut self.buffers;
        let plain = tx.get(..plain_len).unwrap_or_default();
        let repr = CommandRepr::parse(plain).map_err(CardError::Apdu)?;
        let Some(sm) = self.secure.as_mut() else {
            return Err(CardError::SecureChannelClosed);
        };
        // Each buffer counts as wholly used until a write into it succeeds: an error may
        // leave any part written.
        // `wrapped` stays wholly used: a secure channel may use it as scratch space beyond the
        // protected APDU it returns (`cardwire-sm` builds the data field at offset 7 before
        // moving it), and under a MAC-only channel the command data is plain.
        let used_rx = dirty.rx;
        dirty.wrapped = N;
        dirty.rx = N;
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
        let first = transmit_into(transport, wire, rx).await?;
        // The protected response is one R-APDU even when the card hands it out with 61xx
        // (ISO/IEC 7816-4 §5.3.4): collect it whole before unwrapping.
        let mut filled = first - 2;
        let mut sw = status_of(rx, first)?;
        let mut rounds = 0u16;
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
            let len = transmit_into(transport, get, dest).await?;
            sw = status_of(dest, len)?;
            filled += len - 2;
        }
        let total = filled + 2;
        // The card's answers fill `rx` up to `total`; the plain answer is unwrapped in place.
        dirty.rx = used_rx.max(total);
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

    // ----- the session's own commands -----------------------------------------------------

    /// MANAGE CHANNEL open (ISO/IEC 7816-4 §11.1.2).
    pub(crate) async fn open_channel<T: AsyncTransport>(
        &mut self,
        transport: &mut T,
    ) -> Result<u8, CoreError<T::Error, S>> {
        let open = CommandRepr::new(Cla::INTERINDUSTRY, Ins::MANAGE_CHANNEL, 0x00, 0x00).with_ne(1);
        let mut buf = [0u8; 3];
        let rsp = self.exchange(transport, &open, &mut buf, false).await?;
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

    /// MANAGE CHANNEL close (ISO/IEC 7816-4 §11.1.2).
    pub(crate) async fn close_channel<T: AsyncTransport>(
        &mut self,
        transport: &mut T,
        channel: u8,
    ) -> Result<(), CoreError<T::Error, S>> {
        if channel == 0 || !self.is_channel_open(channel) {
            return Err(CardError::ChannelNotOpen(channel));
        }
        let close = CommandRepr::new(Cla::INTERINDUSTRY, Ins::MANAGE_CHANNEL, 0x80, channel);
        let mut buf = [0u8; 2];
        let sw = self
            .exchange(transport, &close, &mut buf, false)
            .await?
            .sw();
        if sw != StatusWord::SUCCESS {
            return Err(CardError::Refused(sw));
        }
        self.channels &= !(1 << channel);
        Ok(())
    }

    /// READ BINARY of `len` bytes from `offset` in as few APDUs as the card allows.
    pub(crate) async fn read_binary<'r, T: AsyncTransport>(
        &mut self,
        transport: &mut T,
        offset: u16,
        len: usize,
        buf: &'r mut [u8],
    ) -> Result<(&'r [u8], StatusWord), CoreError<T::Error, S>> {
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
            let want = (len - filled).min(self.max_response_per_apdu(transport.protocol()));
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
            let rsp = self.transmit_on(transport, 0, &read, dest).await?;
            let got = rsp.data().len().min(want);
            sw = rsp.sw();
            filled += got;
            // A card (or reader) may serve fewer bytes than asked per APDU (0xDF, 0xE7 under
            // secure messaging) with 9000: keep reading. Stop at the end of the file (6282,
            // or 6B00 for an offset beyond it, ISO/IEC 7816-4 §11.3.3), at an empty answer,
            // or at any other status.
            if got == 0 || !sw.is_normal() || sw == StatusWord::END_OF_FILE {
                break;
            }
        }
        let data = buf
            .get(..filled)
            .ok_or(CardError::ResponseTooLong { capacity: len })?;
        Ok((data, sw))
    }

    /// Selects EF.ATR/INFO and applies its content to the capabilities
    /// ([`Capabilities::apply_ef_atr`]). Returns whether the file was read; a card that
    /// refuses (file not found, no READ BINARY) keeps its capabilities.
    pub(crate) async fn read_ef_atr<T: AsyncTransport>(
        &mut self,
        transport: &mut T,
    ) -> Result<bool, CoreError<T::Error, S>> {
        // SELECT by file identifier from the MF, no response data (§11.2.2, P1=00 P2=0C).
        let select =
            CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x00, 0x0C).with_data(&EF_ATR_FID);
        let mut buf = [0u8; 258];
        let sw = self
            .exchange(transport, &select, &mut buf, false)
            .await?
            .sw();
        if !sw.is_success() {
            return Ok(false);
        }
        let read = CommandRepr::new(Cla::INTERINDUSTRY, Ins::READ_BINARY, 0, 0).with_ne(256);
        // Read EF.ATR in short form: the extended length the file may announce is not known yet.
        let saved = self.capabilities;
        self.capabilities.extended_length = false;
        let result = self.exchange(transport, &read, &mut buf, false).await;
        self.capabilities = saved;
        let rsp = result?;
        if rsp.sw().is_normal() || rsp.sw() == StatusWord::END_OF_FILE {
            self.capabilities.apply_ef_atr(rsp.data());
            return Ok(true);
        }
        Ok(false)
    }
}

/// The length of an answer the transport received at `start`, the start of the space it was
/// given (part of the caller's response buffer, whose whole length is `capacity`): at least 2.
/// A plain function over the transport's result (not an `async fn`), so that it inlines into
/// the session's one future.
#[inline(always)]
fn answer_in_place<E: Error, S: SecureChannel>(
    result: Result<&[u8], E>,
    start: *const u8,
    capacity: usize,
) -> Result<usize, CoreError<E, S>> {
    match result {
        // Transports answer at the start of the buffer they are given.
        Ok(rsp) if rsp.len() >= 2 && core::ptr::eq(rsp.as_ptr(), start) => Ok(rsp.len()),
        Ok(_) => Err(CardError::MalformedResponse),
        Err(e) if e.kind() == ErrorKind::BufferTooSmall => {
            Err(CardError::ResponseTooLong { capacity })
        }
        Err(e) => Err(CardError::Transport(e)),
    }
}

/// Sends `wire` and receives the answer into `rx`; returns its length (at least 2).
async fn transmit_into<T: AsyncTransport, S>(
    transport: &mut T,
    wire: &[u8],
    rx: &mut [u8],
) -> Result<usize, CardError<T::Error, S>> {
    let capacity = rx.len();
    match transport.transmit(wire, rx).await {
        Ok(rsp) if rsp.len() >= 2 => Ok(rsp.len()),
        Ok(_) => Err(CardError::MalformedResponse),
        Err(e) if e.kind() == ErrorKind::BufferTooSmall => {
            Err(CardError::ResponseTooLong { capacity })
        }
        Err(e) => Err(CardError::Transport(e)),
    }
}

/// Whether a wire APDU is GET RESPONSE: INS `C0` in an interindustry class (ISO/IEC 7816-4
/// §5.3.4). A proprietary command with INS `C0` is an ordinary command and is protected.
fn is_get_response(wire: &[u8]) -> bool {
    match wire {
        [cla, ins, ..] => *ins == Ins::GET_RESPONSE.0 && Cla(*cla).is_interindustry(),
        _ => false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secure::NoSecureChannel;

    /// A card that answers every command with a PIN-looking payload and `9000`, every byte
    /// XOR the mask (0: plain).
    struct Echo(u8);

    impl Transport for Echo {
        type Error = ErrorKind;
        fn transmit<'b>(
            &mut self,
            _command: &[u8],
            response: &'b mut [u8],
        ) -> Result<&'b [u8], ErrorKind> {
            let answer = b"secret answer\x90\x00";
            let out = response.get_mut(..answer.len()).ok_or(ErrorKind::Other)?;
            for (o, a) in out.iter_mut().zip(answer) {
                *o = a ^ self.0;
            }
            Ok(out)
        }
        fn atr(&self) -> &[u8] {
            &[0x3B, 0x00]
        }
        fn reset(&mut self) -> Result<(), ErrorKind> {
            Ok(())
        }
        fn transaction(
            &mut self,
            body: &mut dyn FnMut(&mut dyn Transport<Error = ErrorKind>) -> crate::TransactionEnd,
        ) -> Result<(), ErrorKind> {
            crate::exclusive_transaction(self, body)
        }
    }

    #[test]
    fn the_buffers_are_wiped_after_each_exchange() {
        let mut core: Core<NoSecureChannel, 300> = Core::new(Capabilities::SHORT);
        let mut t = Echo(0);
        // VERIFY with a PIN block: the plain command passes through the session's buffers.
        let verify =
            CommandRepr::new(Cla(0x00), Ins::VERIFY, 0x00, 0x80).with_data(b"1234\xFF\xFF\xFF\xFF");
        let mut rsp = [0u8; 64];
        let answer = run_ready(core.exchange(&mut SyncRef(&mut t), &verify, &mut rsp, false));
        assert_eq!(answer.unwrap().data(), b"secret answer");
        let Buffers {
            tx, wrapped, rx, ..
        } = &core.buffers;
        assert!(tx.iter().chain(wrapped).chain(rx).all(|b| *b == 0));
    }

    /// A toy secure channel: the protected command is the plain one with CLA `0C`; the
    /// protected answer is the plain one with every byte XOR `5A`.
    struct Xor;

    impl SecureChannel for Xor {
        type Error = SecureChannelErrorKind;
        fn wrap<'o>(
            &mut self,
            command: &CommandRepr<'_>,
            out: &'o mut [u8],
        ) -> Result<&'o [u8], SecureChannelErrorKind> {
            let protected = CommandRepr {
                cla: Cla(0x0C),
                ..*command
            };
            protected
                .encode(out)
                .map_err(|_| SecureChannelErrorKind::BufferTooSmall)
        }
        fn unwrap(&mut self, response: &mut [u8]) -> Result<usize, SecureChannelErrorKind> {
            for b in response.iter_mut() {
                *b ^= 0x5A;
            }
            Ok(response.len())
        }
    }

    #[test]
    fn the_buffers_are_wiped_after_a_protected_exchange() {
        let mut core: Core<Xor, 300> = Core::new(Capabilities::SHORT);
        core.secure = Some(Xor);
        let mut t = Echo(0x5A);
        let verify =
            CommandRepr::new(Cla(0x00), Ins::VERIFY, 0x00, 0x80).with_data(b"1234\xFF\xFF\xFF\xFF");
        let mut rsp = [0u8; 64];
        let answer = run_ready(core.exchange(&mut SyncRef(&mut t), &verify, &mut rsp, true));
        assert_eq!(answer.unwrap().data(), b"secret answer");
        let Buffers {
            tx, wrapped, rx, ..
        } = &core.buffers;
        assert!(tx.iter().chain(wrapped).chain(rx).all(|b| *b == 0));
    }
}
