//! The command and answer as the card OS handles them, and how a command arrived.

use cardwire_apdu::{Cla, Ins, StatusWord};
use zeroize::Zeroize;

/// How a command arrived: in plain, or unwrapped from a secure channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Arrival {
    /// No secure messaging.
    Plain,
    /// Under eMRTD BAC secure messaging.
    Bac,
    /// Under eMRTD PACE (or Chip Authentication) secure messaging.
    Pace,
    /// Under an authenticated SCP03 channel.
    Scp03,
}

/// A command as the OS handles it (owned, after chain reassembly and SM unwrapping). Its data
/// (a PIN, a key) is wiped on drop and not shown by `Debug`.
#[derive(Clone)]
pub(super) struct Cmd {
    pub(super) cla: Cla,
    pub(super) ins: Ins,
    pub(super) p1: u8,
    pub(super) p2: u8,
    pub(super) data: Vec<u8>,
    pub(super) ne: u32,
    pub(super) channel: u8,
    pub(super) arrival: Arrival,
}

/// An answer: data and status word. Its data is wiped on drop.
#[derive(Clone, Debug)]
pub(super) struct Reply {
    pub(super) data: Vec<u8>,
    pub(super) sw: StatusWord,
}

impl Reply {
    pub(super) fn sw(sw: StatusWord) -> Reply {
        Reply {
            data: Vec::new(),
            sw,
        }
    }
    pub(super) fn ok(data: Vec<u8>) -> Reply {
        Reply {
            data,
            sw: StatusWord::SUCCESS,
        }
    }
}

impl Drop for Cmd {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

impl core::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Cmd {{ cla: {:02X}, ins: {:02X}, p1: {:02X}, p2: {:02X}, data: <{} bytes>, ne: {} }}",
            self.cla.0,
            self.ins.0,
            self.p1,
            self.p2,
            self.data.len(),
            self.ne
        )
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}
