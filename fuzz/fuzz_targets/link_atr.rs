//! ATR parser (ISO/IEC 7816-3 §8): never panics; strict success implies the same lenient
//! result; a parsed ATR re-parses to itself; every accessor is total; the timing in use
//! without PPS follows TA2 (specific mode, implicit bit).
#![no_main]

use cardwire_link::atr::{Atr, Mode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lenient = Atr::parse(data, Mode::Lenient);
    if let Ok(strict) = Atr::parse(data, Mode::Strict) {
        assert_eq!(lenient.as_ref().ok(), Some(&strict));
        assert_eq!(Atr::parse(strict.as_bytes(), Mode::Strict), Ok(strict));
    }
    if let Ok(atr) = lenient {
        let _ = (
            atr.protocols(),
            atr.default_protocol(),
            atr.fi(),
            atr.di(),
            atr.f_max_khz(),
            atr.t1(),
            atr.wi(),
        );
        let _ = (
            atr.specific_mode(),
            atr.clock_stop(),
            atr.class_indicator(),
            atr.spu(),
            atr.tck_ok(),
        );
        let _ = (
            atr.interface_bytes().count(),
            atr.findings().iter().count(),
            atr.historical().is_ok(),
        );
        let t = atr.timing(4_000_000);
        // The timing in use without PPS is TA1's only in specific mode without the implicit
        // bit (ISO/IEC 7816-3 §8.3); with the implicit bit TA1 is never used.
        let default = cardwire_link::Timing::new(4_000_000, 372, 1);
        let initial = atr.initial_timing(4_000_000);
        match atr.specific_mode() {
            Some(m) if m.implicit => assert!(t == default && initial == default),
            Some(_) => assert_eq!(initial, t),
            None => assert_eq!(initial, default),
        }
        let _ = (
            t.etu_nanos(),
            t.wt_micros(atr.wi()),
            t.bwt_micros(atr.t1().bwi),
            t.cwt_micros(atr.t1().cwi),
        );
    }
});
