//! ISO/IEC 9797-1 padding method 2 (`80 00 ..`, the ISO/IEC 7816-4 padding) and big-endian
//! counters. The padding bytes are RustCrypto `block-padding`'s [`Iso7816`]; this module only
//! finds the last block and turns its error into [`Error::BadPadding`].

use block_padding::{Iso7816, Padding};

use crate::Error;

/// Number of bytes ISO/IEC 9797-1 padding method 2 appends to `len` bytes for `block`-byte
/// blocks: always at least one (`80`), at most `block`.
pub fn padded_len(len: usize, block: usize) -> usize {
    len + (block - len % block)
}

/// Writes padding method 2 after the first `len` bytes of `buf` up to the next block boundary
/// and returns the padded length (ISO/IEC 9797-1 §6.3.3).
///
/// # Errors
/// [`Error::BufferTooSmall`] when `buf` cannot hold the padded data.
pub fn pad(buf: &mut [u8], len: usize, block: usize) -> Result<usize, Error> {
    let total = padded_len(len, block);
    let start = total.saturating_sub(block);
    let last = buf
        .get_mut(start..total)
        .ok_or(Error::BufferTooSmall { needed: total })?;
    // `len - start` < `block` by the definition of `padded_len`, as `raw_pad` requires.
    Iso7816::raw_pad(last, len - start);
    Ok(total)
}

/// Returns the length of `data` without its padding method 2 (ISO/IEC 9797-1 §6.3.3).
///
/// The scan runs over at most one block from the end, so a card cannot make it long.
///
/// # Errors
/// [`Error::BadPadding`] when the data does not end in `80 00 ..` within the last block.
pub fn unpad(data: &[u8], block: usize) -> Result<usize, Error> {
    let floor = data.len().saturating_sub(block);
    let last = data.get(floor..).unwrap_or(&[]);
    Iso7816::raw_unpad(last)
        .map(|plain| floor + plain.len())
        .map_err(|_| Error::BadPadding)
}

/// Adds one to a big-endian counter of any length.
///
/// # Errors
/// [`Error::CounterExhausted`] when the counter is all `FF` (it is left unchanged).
pub fn increment(counter: &mut [u8]) -> Result<(), Error> {
    if counter.iter().all(|b| *b == 0xFF) {
        return Err(Error::CounterExhausted);
    }
    for byte in counter.iter_mut().rev() {
        let (next, carry) = byte.overflowing_add(1);
        *byte = next;
        if !carry {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_to_next_block_always() {
        let mut buf = [0xAAu8; 32];
        assert_eq!(pad(&mut buf, 3, 8).unwrap(), 8);
        assert_eq!(&buf[..8], &[0xAA, 0xAA, 0xAA, 0x80, 0, 0, 0, 0]);
        let mut buf = [0xAAu8; 32];
        assert_eq!(pad(&mut buf, 8, 8).unwrap(), 16);
        assert_eq!(&buf[8..16], &[0x80, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            pad(&mut [0u8; 31], 30, 8),
            Err(Error::BufferTooSmall { needed: 32 })
        );
    }

    #[test]
    fn unpad_finds_marker_and_rejects_garbage() {
        assert_eq!(unpad(&[1, 2, 0x80, 0, 0, 0, 0, 0], 8), Ok(2));
        assert_eq!(unpad(&[1, 2, 3, 4, 5, 6, 7, 0x80], 8), Ok(7));
        assert_eq!(unpad(&[1, 2, 3, 4, 5, 6, 7, 8], 8), Err(Error::BadPadding));
        assert_eq!(
            unpad(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0], 8),
            Err(Error::BadPadding)
        );
        assert_eq!(unpad(&[], 8), Err(Error::BadPadding));
        assert_eq!(unpad(&[1, 0x81, 0, 0], 8), Err(Error::BadPadding));
    }

    #[test]
    fn increments_with_carry_and_refuses_wrap() {
        let mut c = [0x00, 0xFF, 0xFF];
        increment(&mut c).unwrap();
        assert_eq!(c, [0x01, 0x00, 0x00]);
        let mut c = [0xFF, 0xFF];
        assert_eq!(increment(&mut c), Err(Error::CounterExhausted));
        assert_eq!(c, [0xFF, 0xFF]);
    }
}
