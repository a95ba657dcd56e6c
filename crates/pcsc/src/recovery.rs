//! What a PC/SC failure means for a session, and the one recovery policy `PcscCard` applies.
//!
//! Pure logic over PC/SC return codes (PC/SC Part 5 §3, pcsc-lite `pcsclite.h`): it builds
//! and is tested without the `backend` feature.
//!
//! | failure ([`Failure`]) | codes | what `PcscCard` does ([`Action`]) |
//! |---|---|---|
//! | card reset by another application | `SCARD_W_RESET_CARD` | reconnect leaving the card as it is, check the ATR is the one the session started with, then report the reset: the security state (PINs, secure channels, selected files) is lost. Nothing is re-sent. |
//! | card removed | `SCARD_W_REMOVED_CARD`, `SCARD_E_NO_SMARTCARD` | report it; never reconnect on its own (a re-inserted card may be another card) |
//! | sharing violation | `SCARD_E_SHARING_VIOLATION` | the command did not reach the card: send it again after a bounded back-off ([`Backoff`]) |
//! | transient link failure | `SCARD_F_COMM_ERROR`, `SCARD_E_TIMEOUT`, `SCARD_W_UNRESPONSIVE_CARD` | send once more, only a command that is safe to repeat ([`idempotent`]: SELECT, GET DATA, READ BINARY, not under secure messaging; never GET CHALLENGE) |
//! | reader gone | `SCARD_E_READER_UNAVAILABLE`, `SCARD_E_UNKNOWN_READER`, `SCARD_E_NO_READERS_AVAILABLE` | report it |
//! | service stopped | `SCARD_E_NO_SERVICE`, `SCARD_E_SERVICE_STOPPED`, `SCARD_E_INVALID_HANDLE` (after a restart the handles are void), `SCARD_F_INTERNAL_ERROR` | report it: establish a new context |
//! | anything else | | report it |

use core::time::Duration;

use cardwire_apdu::CommandRepr;
use cardwire_transport::ErrorKind;
use cardwire_transport::session::idempotent;

/// A PC/SC failure, classified by what a session must do about it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// Another application (or this one through another handle) reset the card: its
    /// volatile state is lost.
    CardReset,
    /// The card was removed (or is not there).
    CardRemoved,
    /// Another application holds the card (a transaction, an exclusive connection).
    SharingViolation,
    /// The reader was unplugged or is not known.
    ReaderGone,
    /// The smart card service stopped (or restarted: the old handles are void).
    ServiceStopped,
    /// A link failure after which the card's state is intact but the command's fate unknown.
    Transient,
    /// Anything else.
    Other,
}

/// `SCARD_W_RESET_CARD`.
pub const SCARD_W_RESET_CARD: u32 = 0x8010_0068;
/// `SCARD_W_REMOVED_CARD`.
pub const SCARD_W_REMOVED_CARD: u32 = 0x8010_0069;
/// `SCARD_E_NO_SMARTCARD`.
pub const SCARD_E_NO_SMARTCARD: u32 = 0x8010_000C;
/// `SCARD_E_SHARING_VIOLATION`.
pub const SCARD_E_SHARING_VIOLATION: u32 = 0x8010_000B;
/// `SCARD_E_READER_UNAVAILABLE`.
pub const SCARD_E_READER_UNAVAILABLE: u32 = 0x8010_0017;
/// `SCARD_E_UNKNOWN_READER`.
pub const SCARD_E_UNKNOWN_READER: u32 = 0x8010_0009;
/// `SCARD_E_NO_READERS_AVAILABLE`.
pub const SCARD_E_NO_READERS_AVAILABLE: u32 = 0x8010_002E;
/// `SCARD_E_NO_SERVICE`.
pub const SCARD_E_NO_SERVICE: u32 = 0x8010_001D;
/// `SCARD_E_SERVICE_STOPPED`.
pub const SCARD_E_SERVICE_STOPPED: u32 = 0x8010_001E;
/// `SCARD_E_INVALID_HANDLE`.
pub const SCARD_E_INVALID_HANDLE: u32 = 0x8010_0003;
/// `SCARD_F_INTERNAL_ERROR`.
pub const SCARD_F_INTERNAL_ERROR: u32 = 0x8010_0001;
/// `SCARD_F_COMM_ERROR`.
pub const SCARD_F_COMM_ERROR: u32 = 0x8010_0013;
/// `SCARD_E_TIMEOUT`.
pub const SCARD_E_TIMEOUT: u32 = 0x8010_000A;
/// `SCARD_W_UNRESPONSIVE_CARD`.
pub const SCARD_W_UNRESPONSIVE_CARD: u32 = 0x8010_0066;

impl Failure {
    /// Classifies a PC/SC return code.
    pub fn from_code(code: u32) -> Self {
        match code {
            SCARD_W_RESET_CARD => Failure::CardReset,
            SCARD_W_REMOVED_CARD | SCARD_E_NO_SMARTCARD => Failure::CardRemoved,
            SCARD_E_SHARING_VIOLATION => Failure::SharingViolation,
            SCARD_E_READER_UNAVAILABLE | SCARD_E_UNKNOWN_READER | SCARD_E_NO_READERS_AVAILABLE => {
                Failure::ReaderGone
            }
            SCARD_E_NO_SERVICE
            | SCARD_E_SERVICE_STOPPED
            | SCARD_E_INVALID_HANDLE
            | SCARD_F_INTERNAL_ERROR => Failure::ServiceStopped,
            SCARD_F_COMM_ERROR | SCARD_E_TIMEOUT | SCARD_W_UNRESPONSIVE_CARD => Failure::Transient,
            _ => Failure::Other,
        }
    }

    /// The transport error kind a session sees.
    pub fn kind(self) -> ErrorKind {
        match self {
            Failure::CardReset => ErrorKind::CardReset,
            Failure::CardRemoved => ErrorKind::CardRemoved,
            Failure::ReaderGone | Failure::ServiceStopped => ErrorKind::NoService,
            Failure::Transient => ErrorKind::Timeout,
            Failure::SharingViolation | Failure::Other => ErrorKind::Other,
        }
    }
}

/// What to do after a failed `SCardTransmit` (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Send the same command again after this pause.
    RetryAfter(Duration),
    /// Reconnect leaving the card as it is, check the ATR, and report the reset.
    ReconnectAndReport,
    /// Report the failure.
    Report,
}

/// The bounded back-off for sharing violations: `first`, doubled each time up to `max`, at
/// most `retries` times (default 10 ms doubling to 320 ms, 8 retries: about 1.3 s in all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Backoff {
    /// The first pause.
    pub first: Duration,
    /// The longest pause.
    pub max: Duration,
    /// How many times to try again.
    pub retries: u32,
}

impl Backoff {
    /// 10 ms doubling to 320 ms, 8 retries.
    pub const DEFAULT: Self = Self {
        first: Duration::from_millis(10),
        max: Duration::from_millis(320),
        retries: 8,
    };

    /// The pause before retry number `attempt` (0 for the first), or `None` when the
    /// retries are spent.
    pub fn pause(&self, attempt: u32) -> Option<Duration> {
        if attempt >= self.retries {
            return None;
        }
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        Some(self.first.saturating_mul(factor).min(self.max))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The policy's decision for `failure` on the `attempt`-th retry (0 after the first
/// failure) of the command APDU `command`.
pub fn decide(failure: Failure, command: &[u8], attempt: u32, backoff: &Backoff) -> Action {
    match failure {
        Failure::SharingViolation => backoff
            .pause(attempt)
            .map_or(Action::Report, Action::RetryAfter),
        Failure::CardReset => Action::ReconnectAndReport,
        Failure::Transient
            if attempt == 0 && CommandRepr::parse(command).is_ok_and(|c| idempotent(&c)) =>
        {
            Action::RetryAfter(Duration::ZERO)
        }
        _ => Action::Report,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SELECT: [u8; 7] = [0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00];
    const READ_BINARY: [u8; 5] = [0x00, 0xB0, 0x00, 0x00, 0x00];
    const GET_DATA: [u8; 5] = [0x00, 0xCA, 0x01, 0x01, 0x00];
    const GET_CHALLENGE: [u8; 5] = [0x00, 0x84, 0x00, 0x00, 0x08];
    const VERIFY: [u8; 9] = [0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34];
    const SM_READ_BINARY: [u8; 5] = [0x0C, 0xB0, 0x00, 0x00, 0x00];

    #[test]
    fn codes_are_classified() {
        assert_eq!(Failure::from_code(0x8010_0068), Failure::CardReset);
        assert_eq!(Failure::from_code(0x8010_0069), Failure::CardRemoved);
        assert_eq!(Failure::from_code(0x8010_000C), Failure::CardRemoved);
        assert_eq!(Failure::from_code(0x8010_000B), Failure::SharingViolation);
        assert_eq!(Failure::from_code(0x8010_0017), Failure::ReaderGone);
        assert_eq!(Failure::from_code(0x8010_0009), Failure::ReaderGone);
        assert_eq!(Failure::from_code(0x8010_001D), Failure::ServiceStopped);
        assert_eq!(Failure::from_code(0x8010_001E), Failure::ServiceStopped);
        assert_eq!(Failure::from_code(0x8010_0003), Failure::ServiceStopped);
        assert_eq!(Failure::from_code(0x8010_0013), Failure::Transient);
        assert_eq!(Failure::from_code(0x8010_0008), Failure::Other);
        assert_eq!(Failure::CardReset.kind(), ErrorKind::CardReset);
        assert_eq!(Failure::ServiceStopped.kind(), ErrorKind::NoService);
        assert_eq!(Failure::ReaderGone.kind(), ErrorKind::NoService);
    }

    #[test]
    fn a_reset_is_reported_after_reconnecting_and_nothing_is_resent() {
        for command in [&SELECT[..], &READ_BINARY, &VERIFY, &GET_CHALLENGE] {
            assert_eq!(
                decide(Failure::CardReset, command, 0, &Backoff::DEFAULT),
                Action::ReconnectAndReport
            );
        }
    }

    #[test]
    fn only_commands_safe_to_repeat_are_retried_once_after_a_transient_failure() {
        let b = Backoff::DEFAULT;
        for command in [&SELECT[..], &READ_BINARY, &GET_DATA] {
            assert_eq!(
                decide(Failure::Transient, command, 0, &b),
                Action::RetryAfter(Duration::ZERO),
                "{command:02X?}"
            );
            assert_eq!(decide(Failure::Transient, command, 1, &b), Action::Report);
        }
        for command in [&GET_CHALLENGE[..], &VERIFY, &SM_READ_BINARY, &[0x00]] {
            assert_eq!(
                decide(Failure::Transient, command, 0, &b),
                Action::Report,
                "{command:02X?}"
            );
        }
    }

    #[test]
    fn sharing_violations_back_off_within_bounds() {
        let b = Backoff::DEFAULT;
        let pauses: Vec<Duration> = (0..)
            .map_while(
                |n| match decide(Failure::SharingViolation, &VERIFY, n, &b) {
                    Action::RetryAfter(d) => Some(d),
                    _ => None,
                },
            )
            .collect();
        assert_eq!(pauses.len(), 8);
        assert_eq!(pauses[0], Duration::from_millis(10));
        assert_eq!(pauses[5], Duration::from_millis(320));
        assert_eq!(pauses[7], Duration::from_millis(320));
        let total: Duration = pauses.iter().sum();
        assert!(total < Duration::from_secs(2), "{total:?}");
    }

    #[test]
    fn removal_reader_and_service_failures_are_reported() {
        for failure in [
            Failure::CardRemoved,
            Failure::ReaderGone,
            Failure::ServiceStopped,
            Failure::Other,
        ] {
            assert_eq!(
                decide(failure, &SELECT, 0, &Backoff::DEFAULT),
                Action::Report
            );
        }
    }
}
