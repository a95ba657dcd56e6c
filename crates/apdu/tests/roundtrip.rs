//! Property tests: every encode/parse pair round-trips, and parsing never panics.

// Test code: a failing test is a panic by design (clippy.toml allows this in #[test] fns,
// not in the helpers they share).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cardwire_apdu::{
    Case, Cla, Command, CommandRepr, Ins, LengthForm, Response, ResponseRepr, StatusWord,
};
use proptest::prelude::*;

fn repr_strategy() -> impl Strategy<Value = (u8, u8, u8, u8, Vec<u8>, u32)> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..=255),
            proptest::collection::vec(any::<u8>(), 256..=1200),
        ],
        prop_oneof![Just(0u32), 1u32..=256, Just(65_536), 257u32..=65_536],
    )
}

proptest! {
    #[test]
    fn repr_encode_parse_round_trip((cla, ins, p1, p2, data, ne) in repr_strategy(), extended in any::<bool>()) {
        let repr = CommandRepr { cla: Cla(cla), ins: Ins(ins), p1, p2, data: &data, ne };
        let form = if extended { LengthForm::Extended } else { LengthForm::Auto };
        let bytes = repr.to_vec_with(form).unwrap();
        prop_assert_eq!(bytes.len(), repr.encoded_len_with(form).unwrap());
        let parsed = CommandRepr::parse(&bytes).unwrap();
        prop_assert_eq!(parsed, repr);
        let view = Command::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(view.nc(), data.len());
        prop_assert_eq!(view.ne(), ne);
        let expect_ext = (extended || data.len() > 255 || ne > 256) && (ne > 0 || !data.is_empty());
        prop_assert_eq!(view.case().is_extended(), expect_ext);
        if data.is_empty() && ne == 0 {
            prop_assert_eq!(view.case(), Case::Case1);
        }
        // The other outputs agree.
        let h: heapless::Vec<u8, 1300> = repr.to_heapless_with(form).unwrap();
        prop_assert_eq!(&h[..], &bytes[..]);
    }

    #[test]
    fn parse_never_panics_and_reencodes_exactly(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(cmd) = Command::new_checked(&bytes[..]) {
            let form = if cmd.case().is_extended() { LengthForm::Extended } else { LengthForm::Auto };
            let again = cmd.repr().to_vec_with(form).unwrap();
            prop_assert_eq!(again, bytes);
        }
    }

    #[test]
    fn response_round_trip(data in proptest::collection::vec(any::<u8>(), 0..600), sw in any::<u16>()) {
        let repr = ResponseRepr { data: &data, sw: StatusWord(sw) };
        let mut out = vec![0u8; repr.encoded_len()];
        let bytes = repr.encode(&mut out).unwrap().to_vec();
        let view = Response::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(view.data(), &data[..]);
        prop_assert_eq!(view.sw(), StatusWord(sw));
        prop_assert_eq!(ResponseRepr::parse(&bytes).unwrap(), repr);
    }

    #[test]
    fn cla_channel_setters(cla in any::<u8>(), ch in 0u8..=19) {
        let c = Cla(cla);
        if let Ok(moved) = c.with_channel(ch) {
            prop_assert_eq!(moved.channel(), ch);
            prop_assert_eq!(moved.chaining(), c.chaining());
            prop_assert_eq!(moved.is_proprietary(), c.is_proprietary());
        }
    }
}
