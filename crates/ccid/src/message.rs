//! CCID messages (USB CCID Rev 1.1 §6): the checked view [`Message`] over any buffer, and the
//! plain reprs [`Command`] (bulk-OUT, §6.1), [`Response`] (bulk-IN, §6.2) and [`Interrupt`]
//! (interrupt-IN, §6.3).
//!
//! Every bulk message starts with the same 10-byte header (§6.1, §6.2):
//!
//! | offset | field | size |
//! |---|---|---|
//! | 0 | bMessageType | 1 |
//! | 1 | dwLength (little-endian: bytes of abData) | 4 |
//! | 5 | bSlot | 1 |
//! | 6 | bSeq | 1 |
//! | 7 | three message-specific bytes | 3 |
//! | 10 | abData | dwLength |

use crate::params::ProtocolData;
use crate::{ClockStatus, Error, SlotError, SlotStatus};

/// Length of the header of every bulk message.
pub const HEADER_LEN: usize = 10;

/// `bMessageType` (CCID Rev 1.1 §6.1, §6.2, §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType(pub u8);

impl MessageType {
    /// `62` PC_to_RDR_IccPowerOn (§6.1.1).
    pub const PC_TO_RDR_ICC_POWER_ON: Self = Self(0x62);
    /// `63` PC_to_RDR_IccPowerOff (§6.1.2).
    pub const PC_TO_RDR_ICC_POWER_OFF: Self = Self(0x63);
    /// `65` PC_to_RDR_GetSlotStatus (§6.1.3).
    pub const PC_TO_RDR_GET_SLOT_STATUS: Self = Self(0x65);
    /// `6F` PC_to_RDR_XfrBlock (§6.1.4).
    pub const PC_TO_RDR_XFR_BLOCK: Self = Self(0x6F);
    /// `6C` PC_to_RDR_GetParameters (§6.1.5).
    pub const PC_TO_RDR_GET_PARAMETERS: Self = Self(0x6C);
    /// `6D` PC_to_RDR_ResetParameters (§6.1.6).
    pub const PC_TO_RDR_RESET_PARAMETERS: Self = Self(0x6D);
    /// `61` PC_to_RDR_SetParameters (§6.1.7).
    pub const PC_TO_RDR_SET_PARAMETERS: Self = Self(0x61);
    /// `6B` PC_to_RDR_Escape (§6.1.8).
    pub const PC_TO_RDR_ESCAPE: Self = Self(0x6B);
    /// `6E` PC_to_RDR_IccClock (§6.1.9).
    pub const PC_TO_RDR_ICC_CLOCK: Self = Self(0x6E);
    /// `6A` PC_to_RDR_T0APDU (§6.1.10).
    pub const PC_TO_RDR_T0_APDU: Self = Self(0x6A);
    /// `69` PC_to_RDR_Secure (§6.1.11).
    pub const PC_TO_RDR_SECURE: Self = Self(0x69);
    /// `71` PC_to_RDR_Mechanical (§6.1.12).
    pub const PC_TO_RDR_MECHANICAL: Self = Self(0x71);
    /// `72` PC_to_RDR_Abort (§6.1.13).
    pub const PC_TO_RDR_ABORT: Self = Self(0x72);
    /// `73` PC_to_RDR_SetDataRateAndClockFrequency (§6.1.14).
    pub const PC_TO_RDR_SET_DATA_RATE_AND_CLOCK_FREQUENCY: Self = Self(0x73);
    /// `80` RDR_to_PC_DataBlock (§6.2.1).
    pub const RDR_TO_PC_DATA_BLOCK: Self = Self(0x80);
    /// `81` RDR_to_PC_SlotStatus (§6.2.2).
    pub const RDR_TO_PC_SLOT_STATUS: Self = Self(0x81);
    /// `82` RDR_to_PC_Parameters (§6.2.3).
    pub const RDR_TO_PC_PARAMETERS: Self = Self(0x82);
    /// `83` RDR_to_PC_Escape (§6.2.4).
    pub const RDR_TO_PC_ESCAPE: Self = Self(0x83);
    /// `84` RDR_to_PC_DataRateAndClockFrequency (§6.2.5).
    pub const RDR_TO_PC_DATA_RATE_AND_CLOCK_FREQUENCY: Self = Self(0x84);
    /// `50` RDR_to_PC_NotifySlotChange (interrupt-IN, §6.3.1).
    pub const RDR_TO_PC_NOTIFY_SLOT_CHANGE: Self = Self(0x50);
    /// `51` RDR_to_PC_HardwareError (interrupt-IN, §6.3.2).
    pub const RDR_TO_PC_HARDWARE_ERROR: Self = Self(0x51);

    /// The bulk-IN message type that answers this bulk-OUT message type (§6.1, "Response"
    /// of each message); unknown types are answered with `RDR_to_PC_SlotStatus` (§6.2.6,
    /// "command not supported").
    pub fn response_type(self) -> MessageType {
        match self {
            Self::PC_TO_RDR_ICC_POWER_ON | Self::PC_TO_RDR_XFR_BLOCK | Self::PC_TO_RDR_SECURE => {
                Self::RDR_TO_PC_DATA_BLOCK
            }
            Self::PC_TO_RDR_GET_PARAMETERS
            | Self::PC_TO_RDR_RESET_PARAMETERS
            | Self::PC_TO_RDR_SET_PARAMETERS => Self::RDR_TO_PC_PARAMETERS,
            Self::PC_TO_RDR_ESCAPE => Self::RDR_TO_PC_ESCAPE,
            Self::PC_TO_RDR_SET_DATA_RATE_AND_CLOCK_FREQUENCY => {
                Self::RDR_TO_PC_DATA_RATE_AND_CLOCK_FREQUENCY
            }
            _ => Self::RDR_TO_PC_SLOT_STATUS,
        }
    }

    /// The spec's name of the message.
    pub fn name(self) -> &'static str {
        match self.0 {
            0x62 => "PC_to_RDR_IccPowerOn",
            0x63 => "PC_to_RDR_IccPowerOff",
            0x65 => "PC_to_RDR_GetSlotStatus",
            0x6F => "PC_to_RDR_XfrBlock",
            0x6C => "PC_to_RDR_GetParameters",
            0x6D => "PC_to_RDR_ResetParameters",
            0x61 => "PC_to_RDR_SetParameters",
            0x6B => "PC_to_RDR_Escape",
            0x6E => "PC_to_RDR_IccClock",
            0x6A => "PC_to_RDR_T0APDU",
            0x69 => "PC_to_RDR_Secure",
            0x71 => "PC_to_RDR_Mechanical",
            0x72 => "PC_to_RDR_Abort",
            0x73 => "PC_to_RDR_SetDataRateAndClockFrequency",
            0x80 => "RDR_to_PC_DataBlock",
            0x81 => "RDR_to_PC_SlotStatus",
            0x82 => "RDR_to_PC_Parameters",
            0x83 => "RDR_to_PC_Escape",
            0x84 => "RDR_to_PC_DataRateAndClockFrequency",
            0x50 => "RDR_to_PC_NotifySlotChange",
            0x51 => "RDR_to_PC_HardwareError",
            _ => "unknown",
        }
    }
}

/// A bulk message (either direction) over any byte buffer, checked once: the header is
/// present and `dwLength` matches the bytes that follow exactly. Afterwards no accessor can
/// panic.
///
/// ```
/// use cardwire_ccid::message::Message;
/// // PC_to_RDR_GetSlotStatus, slot 0, bSeq 7.
/// let m = Message::new_checked([0x65, 0, 0, 0, 0, 0, 7, 0, 0, 0])?;
/// assert_eq!((m.slot(), m.seq(), m.data().len()), (0, 7, 0));
/// # Ok::<(), cardwire_ccid::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<T: AsRef<[u8]>> {
    buffer: T,
}

/// Reads `dwLength` from a buffer that holds at least a header.
fn dw_length(header: &[u8; HEADER_LEN]) -> u32 {
    let [_, a, b, c, d, ..] = *header;
    u32::from_le_bytes([a, b, c, d])
}

/// How many bytes a message starting with `prefix` has in all, once its header is there:
/// `None` while fewer than 10 bytes are known. Framing layers use this.
pub fn total_len(prefix: &[u8]) -> Option<usize> {
    let header: &[u8; HEADER_LEN] = prefix.first_chunk()?;
    Some(HEADER_LEN.saturating_add(dw_length(header) as usize))
}

impl<T: AsRef<[u8]>> Message<T> {
    /// Checks the header and that `dwLength` equals the number of bytes after it.
    ///
    /// # Errors
    /// [`Error::Truncated`] when the header or the data is cut short,
    /// [`Error::TrailingBytes`] when bytes follow the data.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let bytes = buffer.as_ref();
        let header: &[u8; HEADER_LEN] = bytes.first_chunk().ok_or(Error::Truncated {
            offset: bytes.len(),
            needed: HEADER_LEN.saturating_sub(bytes.len()),
        })?;
        let len = dw_length(header) as usize;
        let have = bytes.len() - HEADER_LEN;
        if have < len {
            return Err(Error::Truncated {
                offset: bytes.len(),
                needed: len - have,
            });
        }
        if have > len {
            return Err(Error::TrailingBytes {
                offset: HEADER_LEN + len,
            });
        }
        Ok(Self { buffer })
    }

    fn byte(&self, i: usize) -> u8 {
        // The header was checked in `new_checked`: i < HEADER_LEN is always present.
        self.buffer.as_ref().get(i).copied().unwrap_or(0)
    }

    /// `bMessageType`.
    pub fn message_type(&self) -> MessageType {
        MessageType(self.byte(0))
    }

    /// `dwLength`.
    pub fn length(&self) -> u32 {
        u32::from_le_bytes([self.byte(1), self.byte(2), self.byte(3), self.byte(4)])
    }

    /// `bSlot`.
    pub fn slot(&self) -> u8 {
        self.byte(5)
    }

    /// `bSeq`.
    pub fn seq(&self) -> u8 {
        self.byte(6)
    }

    /// The three message-specific header bytes (offsets 7, 8, 9).
    pub fn specific(&self) -> [u8; 3] {
        [self.byte(7), self.byte(8), self.byte(9)]
    }

    /// `abData`.
    pub fn data(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// `bPowerSelect` of `PC_to_RDR_IccPowerOn` (§6.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PowerSelect(pub u8);

impl PowerSelect {
    /// 0: automatic voltage selection.
    pub const AUTOMATIC: Self = Self(0);
    /// 1: 5.0 V.
    pub const V5_0: Self = Self(1);
    /// 2: 3.0 V.
    pub const V3_0: Self = Self(2);
    /// 3: 1.8 V.
    pub const V1_8: Self = Self(3);
}

/// `wLevelParameter` of `PC_to_RDR_XfrBlock` and `PC_to_RDR_Secure` (§6.1.4): for
/// extended APDU level, where a command APDU begins/ends; for character level, the expected
/// response length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LevelParameter(pub u16);

impl LevelParameter {
    /// `0000`: the command APDU begins and ends with this message.
    pub const BEGIN_AND_END: Self = Self(0x0000);
    /// `0001`: the command APDU begins with this message and continues in the next.
    pub const BEGIN_CONTINUE: Self = Self(0x0001);
    /// `0002`: this abData continues the command APDU and ends it.
    pub const CONTINUE_END: Self = Self(0x0002);
    /// `0003`: this abData continues the command APDU and another block follows.
    pub const CONTINUE: Self = Self(0x0003);
    /// `0010`: empty abData; the continuation of the response APDU is expected next.
    pub const RESPONSE_CONTINUE: Self = Self(0x0010);
}

/// `bChainParameter` of `RDR_to_PC_DataBlock` (§6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainParameter(pub u8);

impl ChainParameter {
    /// `00`: the response APDU begins and ends in this message.
    pub const BEGIN_AND_END: Self = Self(0x00);
    /// `01`: the response APDU begins here and continues.
    pub const BEGIN_CONTINUE: Self = Self(0x01);
    /// `02`: this continues the response APDU and ends it.
    pub const CONTINUE_END: Self = Self(0x02);
    /// `03`: this continues the response APDU and another block follows.
    pub const CONTINUE: Self = Self(0x03);
    /// `10`: empty abData; the continuation of the command APDU is expected next.
    pub const COMMAND_CONTINUE: Self = Self(0x10);
}

/// `bClockCommand` of `PC_to_RDR_IccClock` (§6.1.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClockCommand(pub u8);

impl ClockCommand {
    /// 0: restart the clock.
    pub const RESTART: Self = Self(0);
    /// 1: stop the clock in the state the ICC's clock stop indicator allows.
    pub const STOP: Self = Self(1);
}

/// `bFunction` of `PC_to_RDR_Mechanical` (§6.1.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MechanicalFunction(pub u8);

impl MechanicalFunction {
    /// 1: accept card.
    pub const ACCEPT: Self = Self(1);
    /// 2: eject card.
    pub const EJECT: Self = Self(2);
    /// 3: capture card.
    pub const CAPTURE: Self = Self(3);
    /// 4: lock card.
    pub const LOCK: Self = Self(4);
    /// 5: unlock card.
    pub const UNLOCK: Self = Self(5);
}

/// A bulk-OUT message (`PC_to_RDR_*`, CCID Rev 1.1 §6.1) as plain values. RFU bytes are 0 on
/// the wire; [`Command::parse`] refuses others, so parse and encode are exact inverses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// §6.1.1: activate the card and return its ATR.
    IccPowerOn {
        /// The voltage to apply.
        power: PowerSelect,
    },
    /// §6.1.2: deactivate the card.
    IccPowerOff,
    /// §6.1.3: report the slot's status.
    GetSlotStatus,
    /// §6.1.4: send data to the card (a TPDU, short APDU or a part of an extended APDU).
    XfrBlock {
        /// `bBWI`: BWT multiplier for this exchange (T=1 TPDU level).
        bwi: u8,
        /// `wLevelParameter`.
        level: LevelParameter,
        /// `abData`.
        data: &'a [u8],
    },
    /// §6.1.5.
    GetParameters,
    /// §6.1.6: back to the default parameters.
    ResetParameters,
    /// §6.1.7.
    SetParameters {
        /// The protocol and its parameters.
        params: ProtocolData,
    },
    /// §6.1.8: vendor command.
    Escape {
        /// `abData`.
        data: &'a [u8],
    },
    /// §6.1.9.
    IccClock {
        /// Stop or restart.
        command: ClockCommand,
    },
    /// §6.1.10: T=0 APDU-level class bytes for GET RESPONSE and ENVELOPE.
    T0Apdu {
        /// `bmChanges`: bit 0 change bClassGetResponse, bit 1 change bClassEnvelope.
        changes: u8,
        /// `bClassGetResponse`.
        class_get_response: u8,
        /// `bClassEnvelope`.
        class_envelope: u8,
    },
    /// §6.1.11: PIN verification or modification on the reader's keypad.
    Secure {
        /// `bBWI`.
        bwi: u8,
        /// `wLevelParameter`.
        level: LevelParameter,
        /// `abData`: `bPINOperation` and its structure (see [`crate::secure`]).
        data: &'a [u8],
    },
    /// §6.1.12.
    Mechanical {
        /// The function.
        function: MechanicalFunction,
    },
    /// §6.1.13.
    Abort,
    /// §6.1.14.
    SetDataRateAndClockFrequency {
        /// `dwClockFrequency` in kHz.
        clock_khz: u32,
        /// `dwDataRate` in bit/s.
        data_rate: u32,
    },
}

fn rfu_zero(bytes: &[u8], base: usize) -> Result<(), Error> {
    match bytes.iter().position(|&b| b != 0) {
        Some(i) => Err(Error::Invalid {
            offset: base + i,
            what: "RFU byte must be 00",
        }),
        None => Ok(()),
    }
}

fn no_data(data: &[u8]) -> Result<(), Error> {
    if data.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid {
            offset: 1,
            what: "dwLength must be 0 for this message",
        })
    }
}

fn u32_le(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    for (i, slot) in b.iter_mut().enumerate() {
        *slot = bytes.get(at + i).copied().unwrap_or(0);
    }
    u32::from_le_bytes(b)
}

/// Writes the 10-byte header and `data` into `out`.
fn write_message<'o>(
    out: &'o mut [u8],
    message_type: MessageType,
    slot: u8,
    seq: u8,
    specific: [u8; 3],
    data: &[&[u8]],
) -> Result<&'o [u8], Error> {
    let data_len: usize = data.iter().map(|d| d.len()).sum();
    let total = HEADER_LEN + data_len;
    let len32 = u32::try_from(data_len).map_err(|_| Error::TooLong {
        len: total,
        max: u32::MAX as usize,
    })?;
    let out = out
        .get_mut(..total)
        .ok_or(Error::BufferTooSmall { needed: total })?;
    let [l0, l1, l2, l3] = len32.to_le_bytes();
    let [s0, s1, s2] = specific;
    let header = [message_type.0, l0, l1, l2, l3, slot, seq, s0, s1, s2];
    let (head, mut rest) = out.split_at_mut(HEADER_LEN);
    head.copy_from_slice(&header);
    for d in data {
        let (dst, tail) = rest.split_at_mut(d.len());
        dst.copy_from_slice(d);
        rest = tail;
    }
    Ok(out)
}

impl<'a> Command<'a> {
    /// Reads a bulk-OUT message.
    ///
    /// # Errors
    /// [`Error::UnknownMessageType`] for a type that is not `PC_to_RDR_*`; [`Error::Invalid`]
    /// with the offset of a nonzero RFU byte, a wrong `dwLength` or an invalid value.
    pub fn parse<T: AsRef<[u8]>>(msg: &'a Message<T>) -> Result<Self, Error> {
        let [s0, s1, s2] = msg.specific();
        let data = msg.data();
        let level = LevelParameter(u16::from_le_bytes([s1, s2]));
        let ty = msg.message_type();
        let simple = |cmd: Command<'a>| -> Result<Command<'a>, Error> {
            rfu_zero(&[s0, s1, s2], 7)?;
            no_data(data)?;
            Ok(cmd)
        };
        match ty {
            MessageType::PC_TO_RDR_ICC_POWER_ON => {
                rfu_zero(&[s1, s2], 8)?;
                no_data(data)?;
                if s0 > 3 {
                    return Err(Error::Invalid {
                        offset: 7,
                        what: "bPowerSelect must be 0..=3",
                    });
                }
                Ok(Command::IccPowerOn {
                    power: PowerSelect(s0),
                })
            }
            MessageType::PC_TO_RDR_ICC_POWER_OFF => simple(Command::IccPowerOff),
            MessageType::PC_TO_RDR_GET_SLOT_STATUS => simple(Command::GetSlotStatus),
            MessageType::PC_TO_RDR_GET_PARAMETERS => simple(Command::GetParameters),
            MessageType::PC_TO_RDR_RESET_PARAMETERS => simple(Command::ResetParameters),
            MessageType::PC_TO_RDR_ABORT => simple(Command::Abort),
            MessageType::PC_TO_RDR_XFR_BLOCK => Ok(Command::XfrBlock {
                bwi: s0,
                level,
                data,
            }),
            MessageType::PC_TO_RDR_SECURE => Ok(Command::Secure {
                bwi: s0,
                level,
                data,
            }),
            MessageType::PC_TO_RDR_SET_PARAMETERS => {
                rfu_zero(&[s1, s2], 8)?;
                Ok(Command::SetParameters {
                    params: ProtocolData::parse(s0, data, HEADER_LEN, 7)?,
                })
            }
            MessageType::PC_TO_RDR_ESCAPE => {
                rfu_zero(&[s0, s1, s2], 7)?;
                Ok(Command::Escape { data })
            }
            MessageType::PC_TO_RDR_ICC_CLOCK => {
                rfu_zero(&[s1, s2], 8)?;
                no_data(data)?;
                if s0 > 1 {
                    return Err(Error::Invalid {
                        offset: 7,
                        what: "bClockCommand must be 0 (restart) or 1 (stop)",
                    });
                }
                Ok(Command::IccClock {
                    command: ClockCommand(s0),
                })
            }
            MessageType::PC_TO_RDR_T0_APDU => {
                no_data(data)?;
                if s0 & !0x03 != 0 {
                    return Err(Error::Invalid {
                        offset: 7,
                        what: "bmChanges: bits 7-2 are RFU",
                    });
                }
                Ok(Command::T0Apdu {
                    changes: s0,
                    class_get_response: s1,
                    class_envelope: s2,
                })
            }
            MessageType::PC_TO_RDR_MECHANICAL => {
                rfu_zero(&[s1, s2], 8)?;
                no_data(data)?;
                if !(1..=5).contains(&s0) {
                    return Err(Error::Invalid {
                        offset: 7,
                        what: "bFunction must be 1..=5",
                    });
                }
                Ok(Command::Mechanical {
                    function: MechanicalFunction(s0),
                })
            }
            MessageType::PC_TO_RDR_SET_DATA_RATE_AND_CLOCK_FREQUENCY => {
                rfu_zero(&[s0, s1, s2], 7)?;
                if data.len() != 8 {
                    return Err(Error::Invalid {
                        offset: 1,
                        what: "dwLength must be 8",
                    });
                }
                Ok(Command::SetDataRateAndClockFrequency {
                    clock_khz: u32_le(data, 0),
                    data_rate: u32_le(data, 4),
                })
            }
            MessageType(value) => Err(Error::UnknownMessageType { value }),
        }
    }

    /// The message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Command::IccPowerOn { .. } => MessageType::PC_TO_RDR_ICC_POWER_ON,
            Command::IccPowerOff => MessageType::PC_TO_RDR_ICC_POWER_OFF,
            Command::GetSlotStatus => MessageType::PC_TO_RDR_GET_SLOT_STATUS,
            Command::XfrBlock { .. } => MessageType::PC_TO_RDR_XFR_BLOCK,
            Command::GetParameters => MessageType::PC_TO_RDR_GET_PARAMETERS,
            Command::ResetParameters => MessageType::PC_TO_RDR_RESET_PARAMETERS,
            Command::SetParameters { .. } => MessageType::PC_TO_RDR_SET_PARAMETERS,
            Command::Escape { .. } => MessageType::PC_TO_RDR_ESCAPE,
            Command::IccClock { .. } => MessageType::PC_TO_RDR_ICC_CLOCK,
            Command::T0Apdu { .. } => MessageType::PC_TO_RDR_T0_APDU,
            Command::Secure { .. } => MessageType::PC_TO_RDR_SECURE,
            Command::Mechanical { .. } => MessageType::PC_TO_RDR_MECHANICAL,
            Command::Abort => MessageType::PC_TO_RDR_ABORT,
            Command::SetDataRateAndClockFrequency { .. } => {
                MessageType::PC_TO_RDR_SET_DATA_RATE_AND_CLOCK_FREQUENCY
            }
        }
    }

    /// Bytes [`Command::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN
            + match self {
                Command::XfrBlock { data, .. }
                | Command::Secure { data, .. }
                | Command::Escape { data } => data.len(),
                Command::SetParameters { params } => params.encoded_len(),
                Command::SetDataRateAndClockFrequency { .. } => 8,
                _ => 0,
            }
    }

    /// Writes the message for `slot` with sequence number `seq`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is shorter than [`Self::encoded_len`].
    pub fn encode<'o>(&self, slot: u8, seq: u8, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        let ty = self.message_type();
        let w = |spec: [u8; 3], data: &[&[u8]], out: &'o mut [u8]| {
            write_message(out, ty, slot, seq, spec, data)
        };
        match *self {
            Command::IccPowerOn { power } => w([power.0, 0, 0], &[], out),
            Command::XfrBlock { bwi, level, data } | Command::Secure { bwi, level, data } => {
                let [l0, l1] = level.0.to_le_bytes();
                w([bwi, l0, l1], &[data], out)
            }
            Command::SetParameters { params } => {
                let (bytes, n) = params.to_bytes();
                w(
                    [params.protocol_num(), 0, 0],
                    &[bytes.get(..n).unwrap_or(&[])],
                    out,
                )
            }
            Command::Escape { data } => w([0; 3], &[data], out),
            Command::IccClock { command } => w([command.0, 0, 0], &[], out),
            Command::T0Apdu {
                changes,
                class_get_response,
                class_envelope,
            } => w([changes, class_get_response, class_envelope], &[], out),
            Command::Mechanical { function } => w([function.0, 0, 0], &[], out),
            Command::SetDataRateAndClockFrequency {
                clock_khz,
                data_rate,
            } => w(
                [0; 3],
                &[&clock_khz.to_le_bytes(), &data_rate.to_le_bytes()],
                out,
            ),
            Command::IccPowerOff
            | Command::GetSlotStatus
            | Command::GetParameters
            | Command::ResetParameters
            | Command::Abort => w([0; 3], &[], out),
        }
    }
}

/// A bulk-IN message (`RDR_to_PC_*`, CCID Rev 1.1 §6.2) as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response<'a> {
    /// §6.2.1: answer to IccPowerOn (the ATR), XfrBlock and Secure.
    DataBlock {
        /// `bStatus`.
        status: SlotStatus,
        /// `bError`.
        error: SlotError,
        /// `bChainParameter`.
        chain: ChainParameter,
        /// `abData`.
        data: &'a [u8],
    },
    /// §6.2.2: answer to IccPowerOff, GetSlotStatus, IccClock, T0APDU, Mechanical, Abort
    /// and unknown messages.
    SlotStatus {
        /// `bStatus`.
        status: SlotStatus,
        /// `bError`.
        error: SlotError,
        /// `bClockStatus`.
        clock: ClockStatus,
    },
    /// §6.2.3: answer to Get/Reset/SetParameters.
    Parameters {
        /// `bStatus`.
        status: SlotStatus,
        /// `bError`.
        error: SlotError,
        /// `bProtocolNum`.
        protocol_num: u8,
        /// `abProtocolDataStructure` (empty when the command failed); see
        /// [`Response::protocol_data`].
        data: &'a [u8],
    },
    /// §6.2.4: answer to Escape.
    Escape {
        /// `bStatus`.
        status: SlotStatus,
        /// `bError`.
        error: SlotError,
        /// `abData`.
        data: &'a [u8],
    },
    /// §6.2.5: answer to SetDataRateAndClockFrequency.
    DataRateAndClockFrequency {
        /// `bStatus`.
        status: SlotStatus,
        /// `bError`.
        error: SlotError,
        /// `dwClockFrequency` in kHz.
        clock_khz: u32,
        /// `dwDataRate` in bit/s.
        data_rate: u32,
    },
}

impl<'a> Response<'a> {
    /// Reads a bulk-IN message.
    ///
    /// # Errors
    /// [`Error::UnknownMessageType`] for a type that is not `RDR_to_PC_*`; [`Error::Invalid`]
    /// for a nonzero RFU byte or a wrong `dwLength`.
    pub fn parse<T: AsRef<[u8]>>(msg: &'a Message<T>) -> Result<Self, Error> {
        let [s0, s1, s2] = msg.specific();
        let status = SlotStatus(s0);
        let error = SlotError(s1);
        let data = msg.data();
        match msg.message_type() {
            MessageType::RDR_TO_PC_DATA_BLOCK => Ok(Response::DataBlock {
                status,
                error,
                chain: ChainParameter(s2),
                data,
            }),
            MessageType::RDR_TO_PC_SLOT_STATUS => {
                no_data(data)?;
                Ok(Response::SlotStatus {
                    status,
                    error,
                    clock: ClockStatus(s2),
                })
            }
            MessageType::RDR_TO_PC_PARAMETERS => Ok(Response::Parameters {
                status,
                error,
                protocol_num: s2,
                data,
            }),
            MessageType::RDR_TO_PC_ESCAPE => {
                rfu_zero(&[s2], 9)?;
                Ok(Response::Escape {
                    status,
                    error,
                    data,
                })
            }
            MessageType::RDR_TO_PC_DATA_RATE_AND_CLOCK_FREQUENCY => {
                rfu_zero(&[s2], 9)?;
                if data.len() != 8 {
                    return Err(Error::Invalid {
                        offset: 1,
                        what: "dwLength must be 8",
                    });
                }
                Ok(Response::DataRateAndClockFrequency {
                    status,
                    error,
                    clock_khz: u32_le(data, 0),
                    data_rate: u32_le(data, 4),
                })
            }
            MessageType(value) => Err(Error::UnknownMessageType { value }),
        }
    }

    /// The message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Response::DataBlock { .. } => MessageType::RDR_TO_PC_DATA_BLOCK,
            Response::SlotStatus { .. } => MessageType::RDR_TO_PC_SLOT_STATUS,
            Response::Parameters { .. } => MessageType::RDR_TO_PC_PARAMETERS,
            Response::Escape { .. } => MessageType::RDR_TO_PC_ESCAPE,
            Response::DataRateAndClockFrequency { .. } => {
                MessageType::RDR_TO_PC_DATA_RATE_AND_CLOCK_FREQUENCY
            }
        }
    }

    /// `bStatus`.
    pub fn status(&self) -> SlotStatus {
        match *self {
            Response::DataBlock { status, .. }
            | Response::SlotStatus { status, .. }
            | Response::Parameters { status, .. }
            | Response::Escape { status, .. }
            | Response::DataRateAndClockFrequency { status, .. } => status,
        }
    }

    /// `bError`.
    pub fn error(&self) -> SlotError {
        match *self {
            Response::DataBlock { error, .. }
            | Response::SlotStatus { error, .. }
            | Response::Parameters { error, .. }
            | Response::Escape { error, .. }
            | Response::DataRateAndClockFrequency { error, .. } => error,
        }
    }

    /// The protocol data of a [`Response::Parameters`], parsed; `None` for other messages.
    ///
    /// # Errors
    /// As [`ProtocolData::parse`].
    pub fn protocol_data(&self) -> Option<Result<ProtocolData, Error>> {
        match *self {
            Response::Parameters {
                protocol_num, data, ..
            } => Some(ProtocolData::parse(protocol_num, data, HEADER_LEN, 9)),
            _ => None,
        }
    }

    /// Bytes [`Response::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN
            + match self {
                Response::DataBlock { data, .. }
                | Response::Parameters { data, .. }
                | Response::Escape { data, .. } => data.len(),
                Response::SlotStatus { .. } => 0,
                Response::DataRateAndClockFrequency { .. } => 8,
            }
    }

    /// Writes the message for `slot` with sequence number `seq` (the command's, echoed).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is shorter than [`Self::encoded_len`].
    pub fn encode<'o>(&self, slot: u8, seq: u8, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        let ty = self.message_type();
        let (spec, data): ([u8; 3], &[u8]) = match *self {
            Response::DataBlock {
                status,
                error,
                chain,
                data,
            } => ([status.0, error.0, chain.0], data),
            Response::SlotStatus {
                status,
                error,
                clock,
            } => ([status.0, error.0, clock.0], &[]),
            Response::Parameters {
                status,
                error,
                protocol_num,
                data,
            } => ([status.0, error.0, protocol_num], data),
            Response::Escape {
                status,
                error,
                data,
            } => ([status.0, error.0, 0], data),
            Response::DataRateAndClockFrequency {
                status,
                error,
                clock_khz,
                data_rate,
            } => {
                return write_message(
                    out,
                    ty,
                    slot,
                    seq,
                    [status.0, error.0, 0],
                    &[&clock_khz.to_le_bytes(), &data_rate.to_le_bytes()],
                );
            }
        };
        write_message(out, ty, slot, seq, spec, &[data])
    }
}

/// An interrupt-IN message (CCID Rev 1.1 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt<'a> {
    /// §6.3.1: `bmSlotICCState`, two bits per slot (bit 0 of each pair: ICC present; bit 1:
    /// changed since the last message), slot 0 in the low bits of the first byte.
    NotifySlotChange {
        /// `bmSlotICCState` (at least one byte).
        slot_state: &'a [u8],
    },
    /// §6.3.2.
    HardwareError {
        /// `bSlot`.
        slot: u8,
        /// `bSeq` of the command that was running, if any.
        seq: u8,
        /// `bHardwareErrorCode` (`01` overcurrent).
        code: u8,
    },
}

/// `bHardwareErrorCode` `01`: overcurrent (§6.3.2).
pub const HARDWARE_ERROR_OVERCURRENT: u8 = 0x01;

/// `bmSlotICCState` of a one-slot reader: present or not, changed or not.
pub fn slot_state(present: bool, changed: bool) -> u8 {
    u8::from(present) | (u8::from(changed) << 1)
}

impl<'a> Interrupt<'a> {
    /// Reads an interrupt-IN message.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::TrailingBytes`] (HardwareError is 4 bytes),
    /// [`Error::UnknownMessageType`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        match bytes {
            [] => Err(Error::Truncated {
                offset: 0,
                needed: 2,
            }),
            [0x50] => Err(Error::Truncated {
                offset: 1,
                needed: 1,
            }),
            [0x50, rest @ ..] => Ok(Interrupt::NotifySlotChange { slot_state: rest }),
            [0x51, slot, seq, code] => Ok(Interrupt::HardwareError {
                slot: *slot,
                seq: *seq,
                code: *code,
            }),
            [0x51, rest @ ..] if rest.len() < 3 => Err(Error::Truncated {
                offset: bytes.len(),
                needed: 4 - bytes.len(),
            }),
            [0x51, ..] => Err(Error::TrailingBytes { offset: 4 }),
            [value, ..] => Err(Error::UnknownMessageType { value: *value }),
        }
    }

    /// Bytes [`Interrupt::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        match self {
            Interrupt::NotifySlotChange { slot_state } => 1 + slot_state.len(),
            Interrupt::HardwareError { .. } => 4,
        }
    }

    /// Writes the message.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is shorter than [`Self::encoded_len`].
    pub fn encode<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], Error> {
        let needed = self.encoded_len();
        let out = out
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed })?;
        let (first, rest) = out
            .split_first_mut()
            .ok_or(Error::BufferTooSmall { needed })?;
        match *self {
            Interrupt::NotifySlotChange { slot_state } => {
                *first = MessageType::RDR_TO_PC_NOTIFY_SLOT_CHANGE.0;
                rest.copy_from_slice(slot_state);
            }
            Interrupt::HardwareError { slot, seq, code } => {
                *first = MessageType::RDR_TO_PC_HARDWARE_ERROR.0;
                rest.copy_from_slice(&[slot, seq, code]);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::T1Data;
    use crate::{CommandStatus, IccStatus};

    fn roundtrip_command(bytes: &[u8]) {
        let m = Message::new_checked(bytes).unwrap();
        let c = Command::parse(&m).unwrap();
        let mut out = [0u8; 300];
        assert_eq!(c.encoded_len(), bytes.len());
        assert_eq!(c.encode(m.slot(), m.seq(), &mut out).unwrap(), bytes);
    }

    // Messages as libccid writes them (commands.c: CmdPowerOn, CmdPowerOff, CmdGetSlotStatus,
    // CmdXfrBlockTPDU_T0, CmdEscape, SetParameters; ccid_serial.c OpenSerialByName: Escape 02
    // "get reader firmware" and Escape 01 01 01 "card movement notification").
    const POWER_ON_AUTO: [u8; 10] = [0x62, 0, 0, 0, 0, 0x00, 0x01, 0x00, 0, 0];
    const POWER_OFF: [u8; 10] = [0x63, 0, 0, 0, 0, 0x00, 0x05, 0, 0, 0];
    const GET_SLOT_STATUS: [u8; 10] = [0x65, 0, 0, 0, 0, 0x00, 0x02, 0, 0, 0];
    const ESCAPE_FIRMWARE: [u8; 11] = [0x6B, 1, 0, 0, 0, 0, 0x00, 0, 0, 0, 0x02];
    const ESCAPE_NOTIFY: [u8; 13] = [0x6B, 3, 0, 0, 0, 0, 0x01, 0, 0, 0, 0x01, 0x01, 0x01];
    const XFR_SELECT: [u8; 17] = [
        0x6F, 7, 0, 0, 0, 0, 0x03, 0x00, 0x00, 0x00, 0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00,
    ];
    const SET_PARAMS_T1: [u8; 17] = [
        0x61, 7, 0, 0, 0, 0, 0x04, 0x01, 0, 0, 0x96, 0x10, 0x00, 0x45, 0x00, 0xFE, 0x00,
    ];

    #[test]
    fn libccid_messages_roundtrip() {
        for m in [
            &POWER_ON_AUTO[..],
            &POWER_OFF,
            &GET_SLOT_STATUS,
            &ESCAPE_FIRMWARE,
            &ESCAPE_NOTIFY,
            &XFR_SELECT,
            &SET_PARAMS_T1,
        ] {
            roundtrip_command(m);
        }
        let m = Message::new_checked(&SET_PARAMS_T1[..]).unwrap();
        assert_eq!(
            Command::parse(&m).unwrap(),
            Command::SetParameters {
                params: ProtocolData::T1(T1Data {
                    findex_dindex: 0x96,
                    tcckst1: 0x10,
                    guard_time: 0,
                    waiting_integers: 0x45,
                    clock_stop: 0,
                    ifsc: 0xFE,
                    nad: 0
                })
            }
        );
    }

    #[test]
    fn every_command_roundtrips() {
        let cmds = [
            Command::IccPowerOn {
                power: PowerSelect::V3_0,
            },
            Command::IccPowerOff,
            Command::GetSlotStatus,
            Command::XfrBlock {
                bwi: 2,
                level: LevelParameter::BEGIN_CONTINUE,
                data: &[1, 2, 3],
            },
            Command::GetParameters,
            Command::ResetParameters,
            Command::Escape { data: &[0x02] },
            Command::IccClock {
                command: ClockCommand::STOP,
            },
            Command::T0Apdu {
                changes: 3,
                class_get_response: 0xA0,
                class_envelope: 0x80,
            },
            Command::Secure {
                bwi: 0,
                level: LevelParameter::BEGIN_AND_END,
                data: &[0x00, 0x1E],
            },
            Command::Mechanical {
                function: MechanicalFunction::EJECT,
            },
            Command::Abort,
            Command::SetDataRateAndClockFrequency {
                clock_khz: 4000,
                data_rate: 10752,
            },
        ];
        for c in cmds {
            let mut out = [0u8; 64];
            let bytes = c.encode(0, 9, &mut out).unwrap();
            let m = Message::new_checked(bytes).unwrap();
            assert_eq!(m.seq(), 9);
            assert_eq!(Command::parse(&m).unwrap(), c);
        }
    }

    #[test]
    fn checks() {
        assert_eq!(
            Message::new_checked(&POWER_ON_AUTO[..9]),
            Err(Error::Truncated {
                offset: 9,
                needed: 1
            })
        );
        assert_eq!(
            Message::new_checked(&ESCAPE_FIRMWARE[..10]),
            Err(Error::Truncated {
                offset: 10,
                needed: 1
            })
        );
        let mut long = [0u8; 11];
        long[..10].copy_from_slice(&GET_SLOT_STATUS);
        assert_eq!(
            Message::new_checked(&long[..]),
            Err(Error::TrailingBytes { offset: 10 })
        );
        // An RFU byte set.
        let mut bad = GET_SLOT_STATUS;
        bad[8] = 1;
        let m = Message::new_checked(&bad[..]).unwrap();
        assert!(matches!(
            Command::parse(&m),
            Err(Error::Invalid { offset: 8, .. })
        ));
        // bPowerSelect 4.
        let mut bad = POWER_ON_AUTO;
        bad[7] = 4;
        let m = Message::new_checked(&bad[..]).unwrap();
        assert!(matches!(
            Command::parse(&m),
            Err(Error::Invalid { offset: 7, .. })
        ));
        // A response type is not a command.
        let m = Message::new_checked([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(
            Command::parse(&m),
            Err(Error::UnknownMessageType { value: 0x80 })
        );
        // A huge dwLength does not overflow.
        assert!(matches!(
            Message::new_checked([0x6F, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0]),
            Err(Error::Truncated { .. })
        ));
    }

    #[test]
    fn responses() {
        // The ATR of a power-on answer: 80 len 00 00 00 slot seq bStatus bError bChain ATR.
        let atr = [
            0x3B, 0x87, 0x81, 0x31, 0xFE, 0x45, 0x80, 0x31, 0xE4, 0x73, 0xB6, 0x01, 0xFB, 0xE6,
        ];
        let r = Response::DataBlock {
            status: SlotStatus::new(CommandStatus::OK, IccStatus::PRESENT_ACTIVE),
            error: SlotError(0),
            chain: ChainParameter::BEGIN_AND_END,
            data: &atr,
        };
        let mut out = [0u8; 64];
        let bytes = r.encode(0, 1, &mut out).unwrap();
        assert_eq!(&bytes[..10], &[0x80, 14, 0, 0, 0, 0, 1, 0, 0, 0]);
        let m = Message::new_checked(bytes).unwrap();
        assert_eq!(Response::parse(&m).unwrap(), r);

        // Slot status, no card: 81 00000000 00 seq 42 FE 00 (libccid reads FE + 0x02 as
        // IFD_ICC_NOT_PRESENT, commands.c CCID_Receive).
        let bytes = [0x81, 0, 0, 0, 0, 0, 3, 0x42, 0xFE, 0x00];
        let m = Message::new_checked(&bytes[..]).unwrap();
        let r = Response::parse(&m).unwrap();
        assert_eq!(r.status().icc(), IccStatus::NO_ICC);
        assert_eq!(r.error(), SlotError::ICC_MUTE);
        assert_eq!(r.encode(0, 3, &mut out).unwrap(), bytes);

        let r = Response::Parameters {
            status: SlotStatus(0),
            error: SlotError(0),
            protocol_num: 1,
            data: &[0x11, 0x10, 0x00, 0x4D, 0x00, 0x20, 0x00],
        };
        assert_eq!(r.protocol_data().unwrap().unwrap().protocol_num(), 1);
        let r = Response::DataRateAndClockFrequency {
            status: SlotStatus(0),
            error: SlotError(0),
            clock_khz: 4000,
            data_rate: 10752,
        };
        let bytes = r.encode(0, 4, &mut out).unwrap();
        assert_eq!(bytes.len(), 18);
        assert_eq!(
            Response::parse(&Message::new_checked(bytes).unwrap()).unwrap(),
            r
        );
        let r = Response::Escape {
            status: SlotStatus(0),
            error: SlotError(0),
            data: b"GemPC",
        };
        let bytes = r.encode(0, 0, &mut out).unwrap();
        assert_eq!(
            Response::parse(&Message::new_checked(bytes).unwrap()).unwrap(),
            r
        );
    }

    #[test]
    fn interrupts() {
        // ccid_serial.c: a card movement is "50 03" (present) or "50 02" (absent).
        assert_eq!(slot_state(true, true), 0x03);
        assert_eq!(slot_state(false, true), 0x02);
        let i = Interrupt::parse(&[0x50, 0x03]).unwrap();
        assert_eq!(
            i,
            Interrupt::NotifySlotChange {
                slot_state: &[0x03]
            }
        );
        let mut out = [0u8; 4];
        assert_eq!(i.encode(&mut out).unwrap(), &[0x50, 0x03]);
        let h = Interrupt::HardwareError {
            slot: 0,
            seq: 7,
            code: HARDWARE_ERROR_OVERCURRENT,
        };
        assert_eq!(h.encode(&mut out).unwrap(), &[0x51, 0, 7, 1]);
        assert_eq!(Interrupt::parse(&[0x51, 0, 7, 1]).unwrap(), h);
        assert!(Interrupt::parse(&[0x51, 0]).is_err());
        assert!(Interrupt::parse(&[0x51, 0, 0, 0, 0]).is_err());
        assert!(Interrupt::parse(&[0x52, 0]).is_err());
    }
}
