//! Property tests: every encoder/parser pair round-trips (T=1 blocks with LRC and CRC, PPS
//! messages), and the ATR parser is total on arbitrary bytes.

// Test code: a failing test is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cardwire_link::atr::{Atr, Mode};
use cardwire_link::pps::{PpsMessage, PpsRequest};
use cardwire_link::t1::{Block, Edc, MAX_BLOCK, Pcb};
use proptest::prelude::*;

proptest! {
    #[test]
    fn t1_blocks_round_trip(nad in any::<u8>(), ns in any::<bool>(), more in any::<bool>(), inf in proptest::collection::vec(any::<u8>(), 0..=254), crc in any::<bool>()) {
        let edc = if crc { Edc::CRC } else { Edc::Lrc };
        let block = Block { nad, pcb: Pcb::i(ns, more), inf: &inf };
        let mut out = [0u8; MAX_BLOCK];
        let bytes = block.encode(&edc, &mut out).unwrap().to_vec();
        prop_assert_eq!(bytes.len(), block.encoded_len(&edc));
        prop_assert_eq!(Block::decode(&bytes, &edc, 254).unwrap(), block);
        // Any single flipped bit is caught by either code.
        for bit in (0..bytes.len() * 8).step_by(7) {
            let mut bad = bytes.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let back = Block::decode(&bad, &edc, 254);
            prop_assert!(back.is_err() || back.unwrap() != block);
        }
    }

    #[test]
    fn pps_round_trips(protocol in 0u8..15, pps1 in proptest::option::of(any::<u8>()), pps2 in proptest::option::of(any::<u8>()), pps3 in proptest::option::of(any::<u8>())) {
        let req = PpsRequest { protocol, pps1, pps2, pps3 };
        let mut buf = [0u8; 6];
        let bytes = req.encode(&mut buf).unwrap().to_vec();
        let msg = PpsMessage::parse(&bytes).unwrap();
        prop_assert_eq!((msg.pps0 & 0x0F, msg.pps1, msg.pps2, msg.pps3), (protocol, pps1, pps2, pps3));
    }

    #[test]
    fn atr_parser_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(strict) = Atr::parse(&bytes, Mode::Strict) {
            prop_assert_eq!(Atr::parse(strict.as_bytes(), Mode::Strict), Ok(strict));
            prop_assert_eq!(Atr::parse(&bytes, Mode::Lenient), Ok(strict));
        }
    }
}
