//! The command and answer as the card OS handles them, and how a command arrived.

use cardwire_apdu::{Cla, Ins, StatusWord};

/// How a command arrived: in plain, or unwrapped from a secure channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Arrival {
    /// No secure messaging.
    Plain,
    /// Under eMRTD BAC secure messaging.
    Bac,
    /// Under an authenticated SCP03 channel.
    Scp03,
}

/// A command as the OS handles it (owned, after chain reassembly and SM unwrapping).
#[derive(Clone, Debug)]
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

/// An answer: data and status word.
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
