//! A logical channel's selection state.

use crate::fs::NodeId;

/// One logical channel's selection state (ISO/IEC 7816-4 §7.1.1: current DF and EF).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Channel {
    /// The current DF.
    pub(super) df: NodeId,
    /// The current EF, if any.
    pub(super) ef: Option<NodeId>,
}

impl Channel {
    /// The state of a newly opened channel: the MF, no EF.
    pub(super) fn fresh() -> Channel {
        Channel {
            df: NodeId::MF,
            ef: None,
        }
    }
}
