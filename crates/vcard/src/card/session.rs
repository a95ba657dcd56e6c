//! The secure channel a logical channel holds (see `secure.rs` for how it is opened and used),
//! and the protected command chain it may be receiving.

use cardwire_apdu::{CommandRepr, Ins};
use cardwire_sm::scp03::{Scp03Card, Scp03Session};
use cardwire_sm::{AesSuite, SmSession, TdesSuite};
use zeroize::Zeroizing;

/// A secure channel on one logical channel, with the chain of protected commands it is
/// receiving. The chain lives and dies with the channel: SELECT of another DF, closing the
/// logical channel, a secure messaging error or a power-off discard both.
pub(super) struct Session {
    pub(super) protection: Protection,
    pub(super) chain: Option<ProtectedChain>,
}

impl Session {
    /// A fresh secure channel, no chain under way.
    pub(super) fn new(protection: Protection) -> Session {
        Session {
            protection,
            chain: None,
        }
    }
}

/// How the channel's commands are protected.
pub(super) enum Protection {
    /// eMRTD BAC done: 3DES secure messaging.
    Bac(Box<SmSession<TdesSuite>>),
    /// eMRTD PACE (or Chip Authentication) done: AES secure messaging.
    Pace(Box<SmSession<AesSuite>>),
    /// SCP03 INITIALIZE UPDATE answered; EXTERNAL AUTHENTICATE is next.
    Scp03Pending(Box<Scp03Card>),
    /// SCP03 authenticated: administration commands under C-MAC (and C-DECRYPTION).
    Scp03(Box<Scp03Session>),
}

/// The plain data of the protected links received so far of one command chain (ISO/IEC 7816-4
/// §5.3.3): each link was unwrapped and verified on arrival; the command runs when the final
/// link comes. Wiped when dropped (it may hold PINs or keys sent under C-DECRYPTION).
pub(super) struct ProtectedChain {
    ins: Ins,
    p1: u8,
    p2: u8,
    data: Zeroizing<Vec<u8>>,
}

impl ProtectedChain {
    /// An empty chain for the command `link` begins.
    pub(super) fn new(link: &CommandRepr<'_>) -> ProtectedChain {
        ProtectedChain {
            ins: link.ins,
            p1: link.p1,
            p2: link.p2,
            data: Zeroizing::new(Vec::new()),
        }
    }

    /// Whether `link` continues this chain: the same INS, P1 and P2 (the channel is the
    /// session's own).
    pub(super) fn continues(&self, link: &CommandRepr<'_>) -> bool {
        self.ins == link.ins && self.p1 == link.p1 && self.p2 == link.p2
    }

    /// Appends a link's data; `false` (nothing appended) when the chain would exceed `max`.
    pub(super) fn append(&mut self, data: &[u8], max: usize) -> bool {
        if self.data.len().saturating_add(data.len()) > max {
            return false;
        }
        self.data.extend_from_slice(data);
        true
    }

    /// The data of the whole chain.
    pub(super) fn into_data(self) -> Zeroizing<Vec<u8>> {
        self.data
    }
}
