//! Assembling one received block from characters that arrive in pieces.

use super::block::MAX_BLOCK;

/// A block being received: bytes so far and how many the prologue announces.
#[derive(Debug, Clone)]
pub(crate) struct Rx {
    buf: [u8; MAX_BLOCK + 1],
    len: usize,
    overflow: bool,
}

/// What pushing bytes did.
pub(crate) enum Push {
    /// More bytes are needed.
    Partial,
    /// A whole block is in; `extra` is true when the input had bytes past its end.
    Complete { extra: bool },
}

impl Rx {
    pub(crate) const fn new() -> Self {
        Self {
            buf: [0; MAX_BLOCK + 1],
            len: 0,
            overflow: false,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
        self.overflow = false;
    }

    fn expected(&self, edc_len: usize) -> Option<usize> {
        self.buf
            .get(2)
            .filter(|_| self.len >= 3)
            .map(|&len| 3 + usize::from(len) + edc_len)
    }

    /// Adds `input`; stops at the end of a block.
    pub(crate) fn push(&mut self, input: &[u8], edc_len: usize) -> Push {
        for (i, &b) in input.iter().enumerate() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            } else {
                self.overflow = true;
            }
            if self.expected(edc_len).is_some_and(|n| self.len >= n) {
                return Push::Complete {
                    extra: i + 1 < input.len(),
                };
            }
        }
        Push::Partial
    }

    /// The received block bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}
