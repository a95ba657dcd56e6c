//! Parsing modes and limits.

/// How strictly BER-TLV input is read. Every mode rejects indefinite lengths (`80`), length
/// bytes `85`–`FF`, tags of more than four bytes and the tag `1F 80 ..`.
///
/// | | `00`/`FF` between objects | high-tag form with number < 31 (`9F01`–`9F1E`, `5F01`, `BF0C`) | non-minimal lengths (`81 05`, `82 00 80`) |
/// |---|---|---|---|
/// | [`Mode::Strict`] | invalid tag | invalid tag | rejected |
/// | [`Mode::Iso`] | skipped as filler | invalid tag | rejected |
/// | [`Mode::Lenient`] | skipped as filler | accepted | accepted |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// DER-like (ITU-T X.690 §10): lengths in their shortest form (§10.1), the high-tag form
    /// only for tag numbers of 31 and more (§8.1.2.4), no `00` or `FF` where a tag starts
    /// (so no padding and no end-of-contents octets).
    Strict,
    /// The ISO/IEC 7816 file mode (ISO/IEC 7816-4 §5.2.2): as strict, except that `00` and
    /// `FF` bytes before, between and after objects, at any level, are filler and skipped
    /// (§5.2.2: "erased or modified TLV-coded data objects").
    Iso,
    /// What real cards need: the ISO mode, plus the tags EMV uses that break X.690's rule
    /// for the high-tag form (EMV Book 3 Annex B: `9F01`–`9F1E`, `5F01`–`5F1E`, `BF0C`, i.e.
    /// any second tag byte `01`–`1E`), plus lengths not in their shortest form. The default.
    #[default]
    Lenient,
}

/// How input is read: the [`Mode`] and the limits that bound the work a hostile input can
/// cause.
///
/// ```
/// use cardwire_tlv::{Mode, Options};
///
/// let opts = Options::new().with_mode(Mode::Strict).with_max_depth(8);
/// assert_eq!(opts.max_depth, 8);
/// assert_eq!(Options::default().mode, Mode::Lenient);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Options {
    /// The parsing mode (default [`Mode::Lenient`]).
    pub mode: Mode,
    /// The deepest nesting allowed: a top-level object has depth 1, its children depth 2.
    /// Default [`Options::DEFAULT_MAX_DEPTH`]. Walks never recurse, so any value is safe
    /// for the stack.
    pub max_depth: u32,
    /// The most objects one parse may visit, at all levels together. Default
    /// [`Options::DEFAULT_MAX_NODES`].
    pub max_nodes: u32,
}

impl Options {
    /// The default depth limit: deeper than any card data or X.509 certificate seen.
    pub const DEFAULT_MAX_DEPTH: u32 = 64;
    /// The default node limit.
    pub const DEFAULT_MAX_NODES: u32 = 1 << 20;

    /// Lenient mode with the default limits.
    pub const fn new() -> Self {
        Self {
            mode: Mode::Lenient,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            max_nodes: Self::DEFAULT_MAX_NODES,
        }
    }

    /// These options in `mode`.
    pub const fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// These options with a depth limit of `max_depth`.
    pub const fn with_max_depth(mut self, max_depth: u32) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// These options with a node limit of `max_nodes`.
    pub const fn with_max_nodes(mut self, max_nodes: u32) -> Self {
        self.max_nodes = max_nodes;
        self
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Mode> for Options {
    fn from(mode: Mode) -> Self {
        Self::new().with_mode(mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let o = Options::default();
        assert_eq!(o.mode, Mode::Lenient);
        assert_eq!(o.max_depth, 64);
        assert_eq!(o.max_nodes, 1 << 20);
        assert_eq!(Options::from(Mode::Iso).mode, Mode::Iso);
        assert_eq!(Options::new().with_max_nodes(3).max_nodes, 3);
    }
}
