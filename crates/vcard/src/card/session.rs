//! The secure channel a logical channel holds (see `secure.rs` for how it is opened and used).

use cardwire_sm::scp03::{Scp03Card, Scp03Session};
use cardwire_sm::{SmSession, TdesSuite};

/// A secure channel on one logical channel.
pub(super) enum Session {
    /// eMRTD BAC done: 3DES secure messaging.
    Bac(Box<SmSession<TdesSuite>>),
    /// SCP03 INITIALIZE UPDATE answered; EXTERNAL AUTHENTICATE is next.
    Scp03Pending(Box<Scp03Card>),
    /// SCP03 authenticated: administration commands under C-MAC (and C-DECRYPTION).
    Scp03(Box<Scp03Session>),
}
