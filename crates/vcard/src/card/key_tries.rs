//! [`KeyTries`]: the failed-authentication counter of a key (SCP03 keys, a management key),
//! as real cards keep one for every authentication key.

use cardwire_apdu::StatusWord;

/// A key's failed-authentication counter: `limit` consecutive failures block the key; a
/// success resets the counter. Kept in the card's persistent state, like a PIN's counter, so
/// that a served card (`cardwire serve`) cannot be searched for its key by a local client
/// that reconnects.
///
/// Use it around every check of a key (GlobalPlatform Card Specification v2.3 §11.8.2 /
/// Amendment D §7.1.2 for SCP03's host cryptogram; SP 800-73-4 Part 2 §3.2.4 for the PIV
/// management key):
/// ```
/// use cardwire_vcard::card::KeyTries;
/// let mut tries = KeyTries::new(3);
/// assert!(tries.check().is_ok());
/// tries.failed();
/// tries.failed();
/// tries.failed();
/// assert_eq!(tries.check(), Err(cardwire_apdu::StatusWord::AUTHENTICATION_METHOD_BLOCKED));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyTries {
    limit: u8,
    left: u8,
}

impl KeyTries {
    /// How many consecutive failures block an SCP03 key set on the virtual card.
    pub const SCP03_LIMIT: u8 = 10;

    /// How many consecutive failed authentications block the virtual card's PIV card
    /// management key `9B` (SP 800-73-4 Part 2 §3.2.4 leaves the limit to the card). Nothing
    /// unblocks it afterwards: like a real card that must be re-issued, a blocked `9B` needs a
    /// new card state (a fresh state file).
    pub const MANAGEMENT_LIMIT: u8 = 10;

    /// A counter with all `limit` tries left (`limit` is at least 1 and at most 15).
    pub const fn new(limit: u8) -> KeyTries {
        let limit = if limit == 0 {
            1
        } else if limit > 15 {
            15
        } else {
            limit
        };
        KeyTries { limit, left: limit }
    }

    /// A counter from stored values; `None` when they are out of range (`left > limit`,
    /// `limit` 0 or above 15).
    pub const fn from_parts(limit: u8, left: u8) -> Option<KeyTries> {
        if limit == 0 || limit > 15 || left > limit {
            None
        } else {
            Some(KeyTries { limit, left })
        }
    }

    /// The limit.
    pub const fn limit(self) -> u8 {
        self.limit
    }

    /// Tries left; 0 means the key is blocked.
    pub const fn left(self) -> u8 {
        self.left
    }

    /// Whether the key is blocked.
    pub const fn is_blocked(self) -> bool {
        self.left == 0
    }

    /// Before checking a key.
    ///
    /// # Errors
    /// `6983` (authentication method blocked, ISO/IEC 7816-4 §5.6) when the key is blocked:
    /// the card answers that without looking at the cryptogram.
    pub fn check(self) -> Result<(), StatusWord> {
        if self.is_blocked() {
            Err(StatusWord::AUTHENTICATION_METHOD_BLOCKED)
        } else {
            Ok(())
        }
    }

    /// After a wrong cryptogram: one try fewer.
    pub fn failed(&mut self) {
        self.left = self.left.saturating_sub(1);
    }

    /// After a correct cryptogram: all tries back.
    pub fn succeeded(&mut self) {
        self.left = self.limit;
    }

    /// Unblocks (an administrator's reset, or a new key loaded).
    pub fn reset(&mut self) {
        self.left = self.limit;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_resets_on_success() {
        let mut t = KeyTries::new(2);
        t.failed();
        assert_eq!(t.left(), 1);
        t.succeeded();
        assert_eq!(t.left(), 2);
        t.failed();
        t.failed();
        assert!(t.is_blocked());
        assert_eq!(t.check(), Err(StatusWord::AUTHENTICATION_METHOD_BLOCKED));
        t.failed();
        assert_eq!(t.left(), 0);
        t.reset();
        assert!(t.check().is_ok());
    }

    #[test]
    fn limits_are_kept_in_range() {
        assert_eq!(KeyTries::new(0).limit(), 1);
        assert_eq!(KeyTries::new(200).limit(), 15);
        assert_eq!(KeyTries::from_parts(3, 4), None);
        assert_eq!(KeyTries::from_parts(0, 0), None);
        assert_eq!(KeyTries::from_parts(3, 0).map(KeyTries::left), Some(0));
    }
}
