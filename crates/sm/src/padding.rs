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
    // The usual case, a whole last block of 8 or 16 bytes: read it as one big-endian word.
    // Its trailing zero bytes are the padding's zeros and the byte before them must be `80`
    // (a handful of instructions instead of a byte loop over up to a block).
    let word = match block {
        16 => data.last_chunk::<16>().map(|b| u128::from_be_bytes(*b)),
        8 => data
            .last_chunk::<8>()
            .map(|b| u128::from(u64::from_be_bytes(*b))),
        _ => None,
    };
    if let Some(word) = word {
        if word == 0 {
            return Err(Error::BadPadding);
        }
        // At most `block - 1` zero bytes, since the word is not zero.
        let zeros = (word.trailing_zeros() / 8) as usize;
        if (word >> (zeros * 8)) as u8 != 0x80 {
            return Err(Error::BadPadding);
        }
        return Ok(data.len() - zeros - 1);
    }
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
        let mut b16 = [0x11u8; 20];
        b16[19] = 0x80;
        assert_eq!(unpad(&b16, 16), Ok(19));
        b16[5] = 0x80;
        b16[6..].fill(0);
        assert_eq!(unpad(&b16, 16), Ok(5));
        b16[12] = 0x01;
        assert_eq!(unpad(&b16, 16), Err(Error::BadPadding));
        assert_eq!(unpad(&[0u8; 16], 16), Err(Error::BadPadding));
    }

    /// The word-wise scan agrees with `block-padding`'s byte loop on every last block made of
    /// the bytes that matter (`00`, `80`, `01`, `81`), for 8- and 16-byte blocks.
    #[test]
    fn word_unpad_agrees_with_the_byte_loop() {
        let reference = |data: &[u8], block: usize| {
            let floor = data.len().saturating_sub(block);
            Iso7816::raw_unpad(&data[floor..])
                .map(|p| floor + p.len())
                .map_err(|_| Error::BadPadding)
        };
        let alphabet = [0x00u8, 0x80, 0x01, 0x81];
        for block in [8usize, 16] {
            for seed in 0u32..4096 {
                let mut data = [0x55u8; 24];
                let len = block + (seed as usize % 3);
                let data = &mut data[..len];
                // Base-4 digits of the seed pick the last six bytes; the rest stays 55 or 00.
                let mut x = seed;
                for i in 0..6 {
                    data[len - 1 - i] = alphabet[(x % 4) as usize];
                    x /= 4;
                }
                if seed % 2 == 0 {
                    data[len - block..len - 6].fill(0);
                }
                assert_eq!(unpad(data, block), reference(data, block), "{data:02x?}");
            }
        }
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
