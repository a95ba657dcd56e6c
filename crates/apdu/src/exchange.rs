//! The host side of an APDU exchange as a sans-IO state machine: command chaining, extended
//! length, `61xx` GET RESPONSE, `6Cxx` re-send and the EMV warning rule
//! (ISO/IEC 7816-4 §5.1.3, §5.3.3, §5.3.4; EMV Book 1 Annex A).
//!
//! [`Exchange`] turns one logical command into the wire APDUs the card needs and assembles one
//! logical response (data then SW1 SW2) in a buffer the caller provides. It does no I/O, reads
//! no clock and never allocates; a blocking, async or PC/SC driver is a short loop:
//!
//! ```
//! use cardwire_apdu::exchange::{Capabilities, Exchange, Step};
//! use cardwire_apdu::{Cla, CommandRepr, Ins, Response, StatusWord};
//!
//! // A scripted card: READ BINARY answered 6Cxx, then 61xx, then the rest.
//! let mut script: &[&[u8]] = &[&[0x6C, 0x04], &[1, 2, 3, 4, 0x61, 0x02], &[5, 6, 0x90, 0x00]];
//! let mut transmit = |_cmd: &[u8]| -> Vec<u8> {
//!     let (first, rest) = script.split_first().unwrap();
//!     script = rest;
//!     first.to_vec()
//! };
//!
//! let cmd = CommandRepr::new(Cla(0x00), Ins::READ_BINARY, 0, 0).with_ne(256);
//! let mut out = [0u8; 300];
//! let mut tx = [0u8; 261];
//! let mut ex = Exchange::new(cmd, Capabilities::SHORT, &mut out)?;
//! let done = loop {
//!     let wire = ex.poll_transmit(&mut tx)?;
//!     let answer = transmit(wire);
//!     if let Step::Done(done) = ex.handle_response(&answer)? {
//!         break done;
//!     }
//! };
//! let rsp = Response::new_checked(&out[..done.len])?;
//! assert_eq!(rsp.data(), &[1, 2, 3, 4, 5, 6]);
//! assert_eq!(rsp.sw(), StatusWord::SUCCESS);
//! # Ok::<(), cardwire_apdu::Error>(())
//! ```

use crate::command::{MAX_NC, MAX_NE, MAX_SHORT_NC, MAX_SHORT_NE};
use crate::response::MAX_RESPONSE_LEN;
use crate::{Cla, CommandRepr, Error, Ins, LengthForm, StatusWord};

/// The most GET RESPONSE commands sent for one logical command, everywhere in cardwire: the
/// exchange engine's default [`Limits`], the `Card` session's secure-messaging path and the
/// T=0 link engine. 65 536 bytes in 256-byte parts need 256; a card that hands out smaller
/// parts gets room to spare. Bounds the loop a card drives with `61xx` (ISO/IEC 7816-4 §5.3.4).
pub const MAX_GET_RESPONSE: u16 = 1024;

/// BER-TLV tag of the card capabilities in EF.ATR/INFO (ISO/IEC 7816-4 §12.1.1.9).
const CARD_CAPABILITIES_TAG: cardwire_tlv::Tag = cardwire_tlv::Tag(0x47);
/// BER-TLV tag of the extended length information (ISO/IEC 7816-4 §12.7.1).
const EXTENDED_LENGTH_INFO_TAG: cardwire_tlv::Tag = cardwire_tlv::Tag(0x7F66);
/// Universal INTEGER, the two values inside `7F66`.
const INTEGER_TAG: cardwire_tlv::Tag = cardwire_tlv::Tag(0x02);

/// What the card can take, from its ATR historical bytes, EF.ATR/INFO or a profile
/// (ISO/IEC 7816-4 §8.1.1.2.7 / §12.1.1.9 "card capabilities", §12.2.2 EF.ATR/INFO).
///
/// The one capabilities type of cardwire: the exchange engine uses the length and chaining
/// fields, the `Card` session (`cardwire-transport`) also the logical channels and whether
/// EF.ATR/INFO holds more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// The card accepts extended Lc and Le fields.
    pub extended_length: bool,
    /// The card accepts command chaining (CLA bit `10`, §5.3.3).
    pub command_chaining: bool,
    /// The largest Nc the card accepts in one APDU (capped at 255 without extended length).
    pub max_command_data: u16,
    /// The largest Ne to ask for in one APDU (capped at 256 without extended length, 65 536
    /// with it).
    pub max_response_data: u32,
    /// T=0 and EMV behaviour: when a case 4 command is answered with a warning (`62xx`/`63xx`)
    /// and no data, send GET RESPONSE with Le `00` and keep the warning as the final status
    /// (EMV Book 1 §9.3.1.1.4 and Annex A). Leave it off for cards that answer case 4 commands
    /// with data and status at once (T=1, contactless, PC/SC readers that handle T=0 themselves).
    pub get_response_after_warning: bool,
    /// The card says EF.ATR/INFO holds the extended length information (`7F66`; card
    /// capabilities third byte b6).
    pub ef_atr_length_info: bool,
    /// How many logical channels the card supports, the basic channel included (1–20).
    pub logical_channels: u8,
}

impl Capabilities {
    /// Short Lc/Le only, no command chaining, the basic channel only: what every card takes.
    pub const SHORT: Self = Self {
        extended_length: false,
        command_chaining: false,
        max_command_data: 255,
        max_response_data: 256,
        get_response_after_warning: false,
        ef_atr_length_info: false,
        logical_channels: 1,
    };
    /// Short Lc/Le with command chaining.
    pub const SHORT_CHAINING: Self = Self {
        command_chaining: true,
        ..Self::SHORT
    };
    /// Extended Lc/Le up to the maximum, with command chaining.
    pub const EXTENDED: Self = Self {
        extended_length: true,
        command_chaining: true,
        max_command_data: 65_535,
        max_response_data: 65_536,
        ..Self::SHORT
    };

    /// What the card's historical bytes announce in their card capabilities (ISO/IEC 7816-4
    /// §8.1.1.2.7, compact tag `7`): extended Lc/Le (then the full 65 535/65 536), command
    /// chaining, logical channels, EF.ATR/INFO. Cards that announce nothing get
    /// [`Capabilities::SHORT`]. Set [`Capabilities::get_response_after_warning`] yourself for
    /// T=0.
    ///
    /// ```
    /// use cardwire_apdu::exchange::Capabilities;
    /// use cardwire_tlv::compact::HistoricalBytes;
    /// // 80 (COMPACT-TLV follows), 73 00 00 DB: chaining, extended Lc/Le, 4 logical channels.
    /// let hb = HistoricalBytes::parse(&[0x80, 0x73, 0x00, 0x00, 0xDB])?;
    /// let caps = Capabilities::from_historical_bytes(&hb);
    /// assert!(caps.command_chaining && caps.extended_length);
    /// assert_eq!(caps.logical_channels, 4);
    /// # Ok::<(), cardwire_tlv::Error>(())
    /// ```
    pub fn from_historical_bytes(hist: &cardwire_tlv::compact::HistoricalBytes<'_>) -> Self {
        hist.card_capabilities()
            .map_or(Self::SHORT, |c| Self::from_card_capabilities(&c))
    }

    /// As [`Capabilities::from_historical_bytes`] from raw historical bytes;
    /// [`Capabilities::SHORT`] for bytes that do not parse.
    pub fn from_historical_bytes_raw(historical: &[u8]) -> Self {
        cardwire_tlv::compact::HistoricalBytes::parse(historical)
            .map_or(Self::SHORT, |hb| Self::from_historical_bytes(&hb))
    }

    /// The capabilities a card announces with the three card-capability bytes (the value of
    /// compact-TLV `73` in the historical bytes, or of `47` in EF.ATR/INFO; ISO/IEC 7816-4
    /// §12.1.1.9, Tables 117–119). Missing bytes mean "not supported".
    ///
    /// ```
    /// use cardwire_apdu::exchange::Capabilities;
    /// // Third byte 0xDB: chaining, extended Lc/Le, channels assigned by card or device, 4 of them.
    /// let caps = Capabilities::from_capability_bytes(&[0x00, 0x00, 0xDB]);
    /// assert!(caps.command_chaining && caps.extended_length);
    /// assert_eq!(caps.logical_channels, 4);
    /// assert_eq!(caps.max_command_data, 65_535);
    /// ```
    pub fn from_capability_bytes(bytes: &[u8]) -> Self {
        if bytes.is_empty() {
            return Self::SHORT;
        }
        Self::from_card_capabilities(&cardwire_tlv::compact::CardCapabilities::new(bytes))
    }

    /// The capabilities from the decoded card capabilities of `cardwire-tlv`.
    pub fn from_card_capabilities(caps: &cardwire_tlv::compact::CardCapabilities) -> Self {
        let base = if caps.extended_lc_le() {
            Self::EXTENDED
        } else {
            Self::SHORT
        };
        Self {
            command_chaining: caps.command_chaining(),
            ef_atr_length_info: caps.extended_length_info(),
            logical_channels: if caps.logical_channel_assignment().is_supported() {
                caps.max_logical_channels()
            } else {
                1
            },
            ..base
        }
    }

    /// Applies the extended length information of EF.ATR/INFO (DO `7F66`, ISO/IEC 7816-4
    /// §12.7.1): the largest command and response APDUs in bytes. The data limits become
    /// those sizes less the header, Lc and Le fields (7816-3 §12.1.3). Changes nothing on a
    /// card without extended length.
    pub fn apply_length_info(&mut self, max_command_apdu: u32, max_response_apdu: u32) {
        if !self.extended_length {
            return;
        }
        // A command: 4 header bytes, 3 Lc, 2 Le; a response: SW1 SW2.
        let cmd = max_command_apdu
            .saturating_sub(9)
            .clamp(255, u32::from(u16::MAX));
        self.max_command_data = u16::try_from(cmd).unwrap_or(u16::MAX);
        self.max_response_data = max_response_apdu.saturating_sub(2).clamp(256, 65_536);
    }

    /// Applies the content of EF.ATR/INFO (ISO/IEC 7816-4 §12.2.2): the card capabilities
    /// `47` (adding to what the historical bytes said) and the extended length information
    /// `7F66`. Unknown or malformed content changes nothing.
    ///
    /// ```
    /// use cardwire_apdu::exchange::Capabilities;
    /// // 47 03 00 00 C0: chaining + extended; 7F66: 1033-byte commands, 1026-byte responses.
    /// let ef = [0x47, 0x03, 0x00, 0x00, 0xC0, 0x7F, 0x66, 0x08,
    ///           0x02, 0x02, 0x04, 0x09, 0x02, 0x02, 0x04, 0x02];
    /// let mut caps = Capabilities::SHORT;
    /// caps.apply_ef_atr(&ef);
    /// assert!(caps.command_chaining && caps.extended_length);
    /// assert_eq!((caps.max_command_data, caps.max_response_data), (1024, 1024));
    /// ```
    pub fn apply_ef_atr(&mut self, ef_atr: &[u8]) {
        use cardwire_tlv::{Mode, parse_all};
        let Ok(objects) = parse_all(ef_atr, Mode::Lenient) else {
            return;
        };
        if let Some(caps) = objects.find(CARD_CAPABILITIES_TAG) {
            let from_ef = Self::from_capability_bytes(caps.value());
            self.command_chaining |= from_ef.command_chaining;
            if from_ef.extended_length && !self.extended_length {
                self.extended_length = true;
                self.max_command_data = from_ef.max_command_data;
                self.max_response_data = from_ef.max_response_data;
            }
            self.logical_channels = self.logical_channels.max(from_ef.logical_channels);
        }
        if let Some(info) = objects.find(EXTENDED_LENGTH_INFO_TAG) {
            let mut ints = info
                .children()
                .filter(|t| t.tag() == INTEGER_TAG)
                .map(|t| be_u32(t.value()));
            if let (Some(Some(cmd)), Some(Some(rsp))) = (ints.next(), ints.next()) {
                self.apply_length_info(cmd, rsp);
            }
        }
    }

    /// Largest Nc per wire APDU, always at least 1.
    fn command_chunk(&self) -> usize {
        let max = usize::from(self.max_command_data).max(1);
        if self.extended_length {
            max.min(MAX_NC)
        } else {
            max.min(MAX_SHORT_NC)
        }
    }

    /// Largest Ne per wire APDU, always at least 1.
    fn response_chunk(&self) -> u32 {
        let max = self.max_response_data.max(1);
        if self.extended_length {
            max.min(MAX_NE)
        } else {
            max.min(MAX_SHORT_NE)
        }
    }
}

/// An unsigned big-endian integer of at most 4 significant bytes.
fn be_u32(bytes: &[u8]) -> Option<u32> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let significant = bytes.get(start..)?;
    if significant.len() > 4 {
        return None;
    }
    Some(
        significant
            .iter()
            .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)),
    )
}

impl Default for Capabilities {
    /// [`Capabilities::SHORT`].
    fn default() -> Self {
        Self::SHORT
    }
}

/// Bounds on what a card may make the engine do for one logical command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// The most GET RESPONSE commands sent (for `61xx`, and the one after a warning) before
    /// [`Error::TooManyGetResponses`]. Default [`MAX_GET_RESPONSE`].
    pub max_get_response: u16,
    /// The most re-sends for `6Cxx` before [`Error::TooManyResends`]. Default 3.
    pub max_resend: u8,
}

impl Limits {
    /// The default limits.
    pub const DEFAULT: Self = Self {
        max_get_response: MAX_GET_RESPONSE,
        max_resend: 3,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The result of feeding one card answer to [`Exchange::handle_response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Another wire APDU is needed: call [`Exchange::poll_transmit`].
    Continue,
    /// The logical response is complete in the caller's buffer.
    Done(Completed),
}

/// A finished exchange: the caller's response buffer holds `len` bytes, the response data then
/// SW1 SW2 — a valid response APDU for [`crate::Response::new_checked`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Completed {
    /// Bytes of the caller's buffer used (data length + 2).
    pub len: usize,
    /// The final status word (a warning kept over a later `9000`, see
    /// [`Capabilities::get_response_after_warning`]).
    pub sw: StatusWord,
}

impl Completed {
    /// The length of the response data (`len - 2`).
    pub fn data_len(&self) -> usize {
        self.len.saturating_sub(2)
    }
}

/// Which wire APDU comes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum State {
    /// A non-final link of a command chain: data `[offset, offset + chunk)`, CLA bit `10`, no Le.
    Chaining { offset: usize },
    /// The only or final command: data `[offset..]`, Le = `ne`.
    Final { offset: usize, ne: u32 },
    /// GET RESPONSE with Le = `ne`.
    GetResponse { ne: u32 },
    /// Finished with a response.
    Done,
    /// Stopped by an error.
    Failed,
}

/// One logical command exchange, host side (see the [module documentation](self)).
///
/// Driving order: [`Exchange::poll_transmit`] gives the next wire APDU; send it and pass the
/// card's answer to [`Exchange::handle_response`]; repeat while it returns [`Step::Continue`].
/// `poll_transmit` may be called again before `handle_response` (for example to re-send after a
/// transport error) and returns the same APDU.
///
/// Rules:
/// * Data longer than one APDU (more than [`Capabilities::max_command_data`], 255 without
///   extended length) is sent as a command chain (§5.3.3): every non-final link has CLA bit
///   `10` set and no Le, and must be answered `9000`; any other answer ends the exchange with
///   that status.
/// * Ne above what one APDU may ask is capped (256 short); the card then offers the rest with
///   `61xx`.
/// * `61xx`: the data so far is kept and GET RESPONSE is sent with Le = `xx` (`00` = 256), CLA
///   interindustry on the same logical channel (§5.3.4).
/// * `6Cxx`: the last wire APDU is sent again with Le = `xx`; the answer's data is dropped.
/// * A warning before GET RESPONSE is kept as the final status
///   ([`Capabilities::get_response_after_warning`], EMV Book 1 Annex A).
/// * Bounded: [`Limits`] caps GET RESPONSE rounds and re-sends; the assembled response never
///   exceeds the caller's buffer ([`Error::ResponseBufferFull`]). After an error the engine
///   stays failed ([`Error::InvalidState`]).
#[derive(Debug)]
pub struct Exchange<'a> {
    command: CommandRepr<'a>,
    /// The class byte of GET RESPONSE: interindustry, on the command's logical channel.
    get_response_cla: Cla,
    form: LengthForm,
    chunk: usize,
    max_ne: u32,
    warning_get_response: bool,
    limits: Limits,
    response: &'a mut [u8],
    filled: usize,
    state: State,
    sent: bool,
    kept_warning: Option<StatusWord>,
    get_responses: u16,
    resends: u8,
    wire_apdus: u32,
}

impl<'a> Exchange<'a> {
    /// Starts an exchange of `command` with a card of capabilities `caps`, assembling the
    /// response in `response`, with the default [`Limits`].
    ///
    /// # Errors
    /// [`Error::DataTooLong`] / [`Error::NeTooLarge`] for a command out of range,
    /// [`Error::CommandTooLong`] when the data needs chaining the card cannot do,
    /// [`Error::BufferTooSmall`] when `response` is shorter than 2 bytes.
    #[inline]
    pub fn new(
        command: CommandRepr<'a>,
        caps: Capabilities,
        response: &'a mut [u8],
    ) -> Result<Self, Error> {
        Self::with_limits(command, caps, Limits::DEFAULT, response)
    }

    /// As [`Exchange::new`] with explicit limits.
    ///
    /// # Errors
    /// As [`Exchange::new`].
    #[inline]
    pub fn with_limits(
        command: CommandRepr<'a>,
        caps: Capabilities,
        limits: Limits,
        response: &'a mut [u8],
    ) -> Result<Self, Error> {
        let nc = command.data.len();
        if nc > MAX_NC {
            return Err(Error::DataTooLong { len: nc });
        }
        if command.ne > MAX_NE {
            return Err(Error::NeTooLarge { ne: command.ne });
        }
        if response.len() < 2 {
            return Err(Error::BufferTooSmall { needed: 2 });
        }
        let chunk = caps.command_chunk();
        let max_ne = caps.response_chunk();
        let state = if nc <= chunk {
            State::Final {
                offset: 0,
                ne: command.ne.min(max_ne),
            }
        } else if caps.command_chaining && command.cla.with_chaining(true).chaining() {
            State::Chaining { offset: 0 }
        } else {
            return Err(Error::CommandTooLong { len: nc });
        };
        Ok(Self {
            command,
            get_response_cla: command.cla.interindustry_on_same_channel(),
            form: if caps.extended_length {
                LengthForm::Auto
            } else {
                LengthForm::Short
            },
            chunk,
            max_ne,
            warning_get_response: caps.get_response_after_warning,
            limits,
            response,
            filled: 0,
            state,
            sent: false,
            kept_warning: None,
            get_responses: 0,
            resends: 0,
            wire_apdus: 0,
        })
    }

    /// How many wire APDUs have been answered so far.
    pub fn wire_apdus(&self) -> u32 {
        self.wire_apdus
    }

    /// True once [`Step::Done`] was returned.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The next wire APDU as a repr.
    #[inline(always)]
    fn next_command(&self) -> Result<CommandRepr<'a>, Error> {
        let cmd = self.command;
        match self.state {
            State::Chaining { offset } => {
                let data = cmd
                    .data
                    .get(offset..offset + self.chunk)
                    .ok_or(Error::InvalidState)?;
                Ok(CommandRepr {
                    cla: cmd.cla.with_chaining(true),
                    data,
                    ne: 0,
                    ..cmd
                })
            }
            State::Final { offset, ne } => {
                let data = cmd.data.get(offset..).ok_or(Error::InvalidState)?;
                Ok(CommandRepr { data, ne, ..cmd })
            }
            State::GetResponse { ne } => Ok(CommandRepr {
                cla: self.get_response_cla,
                ins: Ins::GET_RESPONSE,
                p1: 0,
                p2: 0,
                data: &[],
                ne,
            }),
            State::Done | State::Failed => Err(Error::InvalidState),
        }
    }

    /// Encodes the next wire APDU into `tx` and returns it.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `tx` cannot hold it (the engine is unchanged: call again
    /// with a larger buffer; 261 bytes always suffice without extended length),
    /// [`Error::InvalidState`] after the exchange finished or failed.
    #[inline(always)]
    pub fn poll_transmit<'t>(&mut self, tx: &'t mut [u8]) -> Result<&'t [u8], Error> {
        if let State::GetResponse {
            ne: ne @ 1..=MAX_SHORT_NE,
        } = self.state
        {
            // GET RESPONSE is always case 2 short here (Le ≤ 256): its five bytes directly.
            let Some(wire) = tx.get_mut(..5) else {
                return Err(Error::BufferTooSmall { needed: 5 });
            };
            wire.copy_from_slice(&[
                self.get_response_cla.0,
                Ins::GET_RESPONSE.0,
                0,
                0,
                (ne & 0xFF) as u8,
            ]);
            self.sent = true;
            return Ok(wire);
        }
        let wire = self.next_command()?.encode_with(self.form, tx)?;
        self.sent = true;
        Ok(wire)
    }

    /// Feeds the card's answer (data then SW1 SW2) to the last wire APDU.
    ///
    /// # Errors
    /// [`Error::Truncated`] for an answer shorter than 2 bytes, [`Error::ResponseTooLong`],
    /// [`Error::ResponseBufferFull`], [`Error::TooManyGetResponses`],
    /// [`Error::TooManyResends`]; [`Error::InvalidState`] when no wire APDU is outstanding.
    /// After an error the exchange is failed.
    #[inline(always)]
    pub fn handle_response(&mut self, answer: &[u8]) -> Result<Step, Error> {
        self.check_outstanding()?;
        let result = match answer.split_last_chunk::<2>() {
            None => Err(Error::Truncated {
                offset: answer.len(),
                needed: 2 - answer.len(),
            }),
            Some(_) if answer.len() > MAX_RESPONSE_LEN => {
                Err(Error::ResponseTooLong { len: answer.len() })
            }
            Some((data, sw)) => self.step(Data::Copy(data), StatusWord::from(*sw)),
        };
        self.after_step(result)
    }

    /// The part of the caller's response buffer after the data assembled so far: where the
    /// card's answer to the outstanding wire APDU may be received directly, followed by
    /// [`Exchange::handle_response_in_place`]. This saves copying each answer from a receive
    /// buffer into the response (the data of a `61xx` answer is then already where the
    /// logical response needs it). Empty once the exchange finished or failed.
    #[inline]
    pub fn answer_space(&mut self) -> &mut [u8] {
        if matches!(self.state, State::Done | State::Failed) {
            return &mut [];
        }
        self.response.get_mut(self.filled..).unwrap_or_default()
    }

    /// The length of the caller's response buffer (the capacity the logical response has).
    #[inline]
    pub fn response_capacity(&self) -> usize {
        self.response.len()
    }

    /// As [`Exchange::handle_response`], for an answer of `len` bytes (data then SW1 SW2)
    /// already received at the start of [`Exchange::answer_space`].
    ///
    /// # Errors
    /// As [`Exchange::handle_response`]; [`Error::ResponseBufferFull`] when `len` exceeds
    /// [`Exchange::answer_space`].
    #[inline(always)]
    pub fn handle_response_in_place(&mut self, len: usize) -> Result<Step, Error> {
        self.check_outstanding()?;
        let capacity = self.response.len();
        let answer = self.response.get(self.filled..).and_then(|r| r.get(..len));
        let result = match answer.map(|a| a.split_last_chunk::<2>()) {
            None => Err(Error::ResponseBufferFull { capacity }),
            Some(None) => Err(Error::Truncated {
                offset: len,
                needed: 2 - len,
            }),
            Some(Some(_)) if len > MAX_RESPONSE_LEN => Err(Error::ResponseTooLong { len }),
            Some(Some((_, sw))) => {
                let sw = StatusWord::from(*sw);
                self.step(Data::InPlace(len - 2), sw)
            }
        };
        self.after_step(result)
    }

    /// [`Error::InvalidState`] unless a wire APDU is outstanding.
    #[inline(always)]
    fn check_outstanding(&self) -> Result<(), Error> {
        if !self.sent || matches!(self.state, State::Done | State::Failed) {
            return Err(Error::InvalidState);
        }
        Ok(())
    }

    /// Counts an answered wire APDU, or fails the exchange.
    #[inline(always)]
    fn after_step(&mut self, result: Result<Step, Error>) -> Result<Step, Error> {
        match result {
            Ok(step) => {
                self.sent = false;
                self.wire_apdus = self.wire_apdus.saturating_add(1);
                Ok(step)
            }
            Err(e) => {
                self.state = State::Failed;
                Err(e)
            }
        }
    }

    #[inline(always)]
    fn step(&mut self, data: Data<'_>, sw: StatusWord) -> Result<Step, Error> {
        if sw == StatusWord::SUCCESS
            && self.kept_warning.is_none()
            && matches!(self.state, State::Final { .. } | State::GetResponse { .. })
        {
            // The common answer first: the last part of the response.
            return self.finish(data, sw);
        }
        if let State::Chaining { offset } = self.state {
            if sw != StatusWord::SUCCESS {
                // The card refused a link of the chain: that is the command's answer.
                return self.finish(data, sw);
            }
            let next = offset + self.chunk;
            let remaining = self.command.data.len().saturating_sub(next);
            self.state = if remaining > self.chunk {
                State::Chaining { offset: next }
            } else {
                State::Final {
                    offset: next,
                    ne: self.command.ne.min(self.max_ne),
                }
            };
            return Ok(Step::Continue);
        }
        if let Some(available) = sw.bytes_available() {
            self.append(data)?;
            self.count_get_response()?;
            self.state = State::GetResponse {
                ne: u32::from(available).min(self.max_ne),
            };
            return Ok(Step::Continue);
        }
        if let Some(exact) = sw.exact_length() {
            self.resends = self.resends.saturating_add(1);
            if self.resends > self.limits.max_resend {
                return Err(Error::TooManyResends {
                    limit: self.limits.max_resend,
                });
            }
            let ne = u32::from(exact).min(self.max_ne);
            match &mut self.state {
                State::Final { ne: le, .. } | State::GetResponse { ne: le } => *le = ne,
                _ => return Err(Error::InvalidState),
            }
            return Ok(Step::Continue);
        }
        let case4 = !self.command.data.is_empty() && self.command.ne > 0;
        if sw.is_warning()
            && self.warning_get_response
            && case4
            && data.is_empty()
            && self.kept_warning.is_none()
            && matches!(self.state, State::Final { .. })
        {
            // EMV Book 1 Annex A: a case 4 command answered with a warning and no data; fetch
            // the data with GET RESPONSE Le 00 and report the warning.
            self.kept_warning = Some(sw);
            self.count_get_response()?;
            self.state = State::GetResponse {
                ne: MAX_SHORT_NE.min(self.max_ne),
            };
            return Ok(Step::Continue);
        }
        let final_sw = self.kept_warning.unwrap_or(sw);
        self.finish(data, final_sw)
    }

    fn count_get_response(&mut self) -> Result<(), Error> {
        self.get_responses = self.get_responses.saturating_add(1);
        if self.get_responses > self.limits.max_get_response {
            return Err(Error::TooManyGetResponses {
                limit: self.limits.max_get_response,
            });
        }
        Ok(())
    }

    /// Appends response data, keeping room for SW1 SW2.
    #[inline(always)]
    fn append(&mut self, data: Data<'_>) -> Result<(), Error> {
        let capacity = self.response.len();
        let end = self.filled + data.len();
        if end + 2 > capacity || end > MAX_RESPONSE_LEN - 2 {
            return Err(Error::ResponseBufferFull { capacity });
        }
        if let Data::Copy(data) = data {
            self.response
                .get_mut(self.filled..end)
                .ok_or(Error::ResponseBufferFull { capacity })?
                .copy_from_slice(data);
        }
        self.filled = end;
        Ok(())
    }

    #[inline(always)]
    fn finish(&mut self, data: Data<'_>, sw: StatusWord) -> Result<Step, Error> {
        self.append(data)?;
        let capacity = self.response.len();
        let len = self.filled + 2;
        self.response
            .get_mut(self.filled..len)
            .ok_or(Error::ResponseBufferFull { capacity })?
            .copy_from_slice(&sw.to_bytes());
        self.state = State::Done;
        Ok(Step::Done(Completed { len, sw }))
    }
}

/// The data part of an answer.
#[derive(Debug, Clone, Copy)]
enum Data<'d> {
    /// Given by the caller: copied after the response so far.
    Copy(&'d [u8]),
    /// This many bytes, already in the response buffer right after the data so far.
    InPlace(usize),
}

impl Data<'_> {
    #[inline]
    fn len(&self) -> usize {
        match self {
            Data::Copy(d) => d.len(),
            Data::InPlace(n) => *n,
        }
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_bytes_decode_per_table_119() {
        // ISO/IEC 7816-4 Table 119: b8 chaining, b7 extended, b6 EF.ATR info,
        // b5-b4 channel assignment, b3-b1 channels - 1.
        assert_eq!(
            Capabilities::from_capability_bytes(&[]),
            Capabilities::SHORT
        );
        let c = Capabilities::from_capability_bytes(&[0, 0, 0x80]);
        assert!(c.command_chaining && !c.extended_length);
        assert_eq!((c.max_command_data, c.max_response_data), (255, 256));
        assert_eq!(c.logical_channels, 1);
        let c = Capabilities::from_capability_bytes(&[0, 0, 0x7F]);
        assert!(!c.command_chaining && c.extended_length && c.ef_atr_length_info);
        assert_eq!(c.logical_channels, 8);
    }

    #[test]
    fn historical_bytes_without_capabilities_are_short() {
        assert_eq!(
            Capabilities::from_historical_bytes_raw(&[]),
            Capabilities::SHORT
        );
        // Category 80 with a country code only (ISO/IEC 7816-4 §12.1.1.5).
        assert_eq!(
            Capabilities::from_historical_bytes_raw(&[0x80, 0x12, 0x02, 0x50]),
            Capabilities::SHORT
        );
        let c = Capabilities::from_historical_bytes_raw(&[0x80, 0x73, 0x00, 0x00, 0xDB]);
        assert!(c.command_chaining && c.extended_length);
        assert_eq!(c.logical_channels, 4);
    }

    #[test]
    fn length_info_narrows_extended_limits_only() {
        let mut c = Capabilities::from_capability_bytes(&[0, 0, 0xC0]);
        c.apply_length_info(1033, 1026);
        assert_eq!((c.max_command_data, c.max_response_data), (1024, 1024));
        let mut s = Capabilities::SHORT;
        s.apply_length_info(5000, 5000);
        assert_eq!(s, Capabilities::SHORT);
    }

    #[test]
    fn ef_atr_length_info_limits_extended_lengths() {
        // 47 03 00 00 C0: chaining + extended; 7F66 08 02 02 04 09 02 02 04 02:
        // at most 1033-byte commands and 1026-byte responses.
        let ef = [
            0x47, 0x03, 0x00, 0x00, 0xC0, 0x7F, 0x66, 0x08, 0x02, 0x02, 0x04, 0x09, 0x02, 0x02,
            0x04, 0x02,
        ];
        let mut caps = Capabilities::SHORT;
        caps.apply_ef_atr(&ef);
        assert!(caps.command_chaining && caps.extended_length);
        assert_eq!(caps.max_command_data, 1024);
        assert_eq!(caps.max_response_data, 1024);
    }

    #[test]
    fn malformed_ef_atr_changes_nothing() {
        let mut caps = Capabilities::SHORT;
        caps.apply_ef_atr(&[0x7F, 0x66, 0x09, 0x02]);
        assert_eq!(caps, Capabilities::SHORT);
        caps.apply_ef_atr(&[0x7F, 0x66, 0x04, 0x02, 0x00, 0x02, 0x00]);
        assert_eq!(caps, Capabilities::SHORT);
    }
}
