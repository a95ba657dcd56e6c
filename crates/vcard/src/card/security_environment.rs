//! The security environment MANAGE SECURITY ENVIRONMENT sets.

/// The security environment set by MANAGE SECURITY ENVIRONMENT (§7.5.11 template `B6`/`A4`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct SecurityEnvironment {
    /// A signing key is set (template `B6`).
    pub(super) signing_key_set: bool,
    /// An authentication key is set (template `A4`).
    pub(super) auth_key_set: bool,
}
