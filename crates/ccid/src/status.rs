//! `bStatus`, `bError` and `bClockStatus` of the bulk-IN messages (USB CCID Rev 1.1 §6.2.6,
//! Tables 6.2-1, 6.2-2 and 6.2-3; §6.2.2).

use core::fmt;

/// `bmICCStatus`, bits 1-0 of `bStatus` (CCID Rev 1.1 Table 6.2-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IccStatus(pub u8);

impl IccStatus {
    /// 0: an ICC is present and active (powered and clocked).
    pub const PRESENT_ACTIVE: Self = Self(0);
    /// 1: an ICC is present and inactive (not activated or shut down by hardware error).
    pub const PRESENT_INACTIVE: Self = Self(1);
    /// 2: no ICC is present.
    pub const NO_ICC: Self = Self(2);
    /// 3: RFU.
    pub const RFU: Self = Self(3);
}

/// `bmCommandStatus`, bits 7-6 of `bStatus` (CCID Rev 1.1 Table 6.2-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandStatus(pub u8);

impl CommandStatus {
    /// 0: processed without error.
    pub const OK: Self = Self(0);
    /// 1: failed; `bError` holds the error code.
    pub const FAILED: Self = Self(1);
    /// 2: time extension requested; `bError` holds the BWT multiplier.
    pub const TIME_EXTENSION: Self = Self(2);
    /// 3: RFU.
    pub const RFU: Self = Self(3);
}

/// The `bStatus` byte of every bulk-IN message: ICC status in bits 1-0, command status in
/// bits 7-6, bits 5-2 RFU (CCID Rev 1.1 §6.2.6, Table 6.2-3).
///
/// ```
/// use cardwire_ccid::{CommandStatus, IccStatus, SlotStatus};
/// let s = SlotStatus::new(CommandStatus::FAILED, IccStatus::NO_ICC);
/// assert_eq!(s.0, 0x42);
/// assert_eq!(s.icc(), IccStatus::NO_ICC);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotStatus(pub u8);

impl SlotStatus {
    /// The byte for a command status and an ICC status.
    pub const fn new(command: CommandStatus, icc: IccStatus) -> Self {
        Self(((command.0 & 0x03) << 6) | (icc.0 & 0x03))
    }

    /// `bmICCStatus`.
    pub const fn icc(self) -> IccStatus {
        IccStatus(self.0 & 0x03)
    }

    /// `bmCommandStatus`.
    pub const fn command(self) -> CommandStatus {
        CommandStatus(self.0 >> 6)
    }

    /// Whether the RFU bits 5-2 are clear.
    pub const fn rfu_clear(self) -> bool {
        self.0 & 0x3C == 0
    }
}

/// The `bError` byte (CCID Rev 1.1 §6.2.6, Table 6.2-2): an error code when the command
/// failed, the BWT multiplier in a time extension, 0 otherwise.
///
/// Values 1..=127 name the offset of the message field that is wrong or not supported
/// ([`SlotError::bad_parameter`]); 0 means "command not supported"; `81`..`C0` are
/// manufacturer errors.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotError(pub u8);

impl SlotError {
    /// `FF` CMD_ABORTED: host aborted the current activity.
    pub const CMD_ABORTED: Self = Self(0xFF);
    /// `FE` ICC_MUTE: CCID timed out while talking to the ICC.
    pub const ICC_MUTE: Self = Self(0xFE);
    /// `FD` XFR_PARITY_ERROR: parity error while talking to the ICC.
    pub const XFR_PARITY_ERROR: Self = Self(0xFD);
    /// `FC` XFR_OVERRUN: overrun error while talking to the ICC.
    pub const XFR_OVERRUN: Self = Self(0xFC);
    /// `FB` HW_ERROR: an all-inclusive hardware error during activation.
    pub const HW_ERROR: Self = Self(0xFB);
    /// `F8` BAD_ATR_TS.
    pub const BAD_ATR_TS: Self = Self(0xF8);
    /// `F7` BAD_ATR_TCK.
    pub const BAD_ATR_TCK: Self = Self(0xF7);
    /// `F6` ICC_PROTOCOL_NOT_SUPPORTED.
    pub const ICC_PROTOCOL_NOT_SUPPORTED: Self = Self(0xF6);
    /// `F5` ICC_CLASS_NOT_SUPPORTED.
    pub const ICC_CLASS_NOT_SUPPORTED: Self = Self(0xF5);
    /// `F4` PROCEDURE_BYTE_CONFLICT.
    pub const PROCEDURE_BYTE_CONFLICT: Self = Self(0xF4);
    /// `F3` DEACTIVATED_PROTOCOL.
    pub const DEACTIVATED_PROTOCOL: Self = Self(0xF3);
    /// `F2` BUSY_WITH_AUTO_SEQUENCE: automatic sequence ongoing (activation, PPS, ...).
    pub const BUSY_WITH_AUTO_SEQUENCE: Self = Self(0xF2);
    /// `F0` PIN_TIMEOUT.
    pub const PIN_TIMEOUT: Self = Self(0xF0);
    /// `EF` PIN_CANCELLED.
    pub const PIN_CANCELLED: Self = Self(0xEF);
    /// `E0` CMD_SLOT_BUSY: a second command was sent to a slot already processing one.
    pub const CMD_SLOT_BUSY: Self = Self(0xE0);
    /// `00` command not supported.
    pub const CMD_NOT_SUPPORTED: Self = Self(0x00);

    /// The error for a bad or unsupported parameter at `offset` in the message (1..=127);
    /// larger offsets are reported as 127.
    pub const fn bad_parameter(offset: usize) -> Self {
        if offset == 0 {
            Self(1)
        } else if offset > 127 {
            Self(127)
        } else {
            Self(offset as u8)
        }
    }

    /// The spec's name for this value.
    pub fn name(self) -> &'static str {
        match self.0 {
            0xFF => "CMD_ABORTED",
            0xFE => "ICC_MUTE",
            0xFD => "XFR_PARITY_ERROR",
            0xFC => "XFR_OVERRUN",
            0xFB => "HW_ERROR",
            0xF8 => "BAD_ATR_TS",
            0xF7 => "BAD_ATR_TCK",
            0xF6 => "ICC_PROTOCOL_NOT_SUPPORTED",
            0xF5 => "ICC_CLASS_NOT_SUPPORTED",
            0xF4 => "PROCEDURE_BYTE_CONFLICT",
            0xF3 => "DEACTIVATED_PROTOCOL",
            0xF2 => "BUSY_WITH_AUTO_SEQUENCE",
            0xF0 => "PIN_TIMEOUT",
            0xEF => "PIN_CANCELLED",
            0xE0 => "CMD_SLOT_BUSY",
            0x00 => "command not supported",
            0x01..=0x7F => "bad or unsupported parameter (offset in the message)",
            0x81..=0xC0 => "manufacturer error",
            _ => "RFU",
        }
    }
}

impl fmt::Debug for SlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SlotError({:02X} {})", self.0, self.name())
    }
}

/// `bClockStatus` of `RDR_to_PC_SlotStatus` (CCID Rev 1.1 §6.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClockStatus(pub u8);

impl ClockStatus {
    /// 0: clock running.
    pub const RUNNING: Self = Self(0);
    /// 1: clock stopped in state L.
    pub const STOPPED_LOW: Self = Self(1);
    /// 2: clock stopped in state H.
    pub const STOPPED_HIGH: Self = Self(2);
    /// 3: clock stopped in an unknown state.
    pub const STOPPED_UNKNOWN: Self = Self(3);
}

#[cfg(test)]
mod tests {
    use super::*;

    // CCID Rev 1.1 Table 6.2-3: bStatus 0x40 = failed, ICC present and active; 0x41 failed
    // and inactive; 0x42 failed, no ICC (libccid's CCID_COMMAND_FAILED = 0x40,
    // CCID_TIME_EXTENSION = 0x80, ccid.h).
    #[test]
    fn status_bits() {
        assert_eq!(
            SlotStatus::new(CommandStatus::FAILED, IccStatus::PRESENT_ACTIVE).0,
            0x40
        );
        assert_eq!(
            SlotStatus::new(CommandStatus::TIME_EXTENSION, IccStatus::PRESENT_ACTIVE).0,
            0x80
        );
        assert_eq!(
            SlotStatus::new(CommandStatus::OK, IccStatus::PRESENT_INACTIVE).0,
            0x01
        );
        let s = SlotStatus(0x42);
        assert_eq!(s.command(), CommandStatus::FAILED);
        assert_eq!(s.icc(), IccStatus::NO_ICC);
        assert!(s.rfu_clear());
        assert!(!SlotStatus(0x04).rfu_clear());
    }

    #[test]
    fn error_names() {
        assert_eq!(SlotError::PIN_CANCELLED.name(), "PIN_CANCELLED");
        assert_eq!(SlotError(0xEF), SlotError::PIN_CANCELLED);
        assert_eq!(SlotError::bad_parameter(5), SlotError(5));
        assert_eq!(SlotError::bad_parameter(500), SlotError(127));
        assert_eq!(SlotError(0xD0).name(), "RFU");
    }
}
