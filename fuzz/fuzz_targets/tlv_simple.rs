//! SIMPLE-TLV never panics, and what parses re-encodes to the same bytes when every length
//! used its shortest form.
#![no_main]

use cardwire_tlv::simple;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = simple::Tlv::parse(data);
    if let Ok(all) = simple::parse_all(data) {
        let mut out = Vec::new();
        let mut shortest = true;
        for t in all {
            shortest &= t.header_len() == simple::encoded_len(t.value().len()) - t.value().len();
            simple::write_tlv(&mut out, t.tag(), t.value()).unwrap();
            assert!(data[t.offset()..].starts_with(t.raw()));
        }
        if shortest {
            assert_eq!(out, data);
        }
    }
});
