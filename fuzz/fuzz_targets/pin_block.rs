//! PIN format decoding, ISO 9564-1 format 2 first: never panics; what decodes re-encodes to
//! the same bytes (format 2 and fixed-length ASCII are canonical).
#![no_main]

use cardwire_pin::{Padding, PinFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, block)) = data.split_first() else {
        return;
    };
    let (format, canonical) = match selector % 6 {
        0 | 1 => (PinFormat::Iso9564Format2, true),
        2 => (PinFormat::PIV, true),
        3 => (PinFormat::Ascii(Some(Padding::zero(12))), true),
        4 => (PinFormat::Bcd(Some(8)), false),
        _ => (PinFormat::Binary(None), false),
    };
    if let Ok(pin) = format.decode(block) {
        let again = format.encode(&pin).expect("a decoded PIN encodes again");
        if canonical {
            assert_eq!(again.expose_secret(), block);
        }
        let twice = format.decode(again.expose_secret()).expect("re-encoding decodes");
        assert_eq!(twice.expose_secret(), pin.expose_secret());
    }
});
