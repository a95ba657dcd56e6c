//! T=1 blocks (ISO/IEC 7816-3 §11.3): decoding never panics, and a decoded block encodes back
//! to exactly the input (LRC or CRC, chosen by the first byte).
#![no_main]

use cardwire_link::t1::{Block, Edc, MAX_BLOCK};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let edc = if sel & 1 == 0 { Edc::Lrc } else { Edc::CRC };
    let max_inf = usize::from(sel >> 1).max(1).min(254);
    if let Ok(block) = Block::decode(bytes, &edc, max_inf) {
        let mut out = [0u8; MAX_BLOCK];
        assert_eq!(block.encode(&edc, &mut out).ok(), Some(bytes));
    }
});
