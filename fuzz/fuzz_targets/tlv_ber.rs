//! BER-TLV in every mode never panics; what parses can be walked, searched and re-encoded.
#![no_main]

use cardwire_tlv::{Mode, Options, Tag, Tlv, Walker, parse_all};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for mode in [Mode::Strict, Mode::Iso, Mode::Lenient] {
        let opts = Options::from(mode)
            .with_max_depth(256)
            .with_max_nodes(10_000);
        let walked = Walker::new(data, opts).take_while(Result::is_ok).count();
        match parse_all(data, opts) {
            Ok(all) => {
                // A successful parse visits exactly what the walk visits.
                assert_eq!(
                    all.clone()
                        .map(|t| 1 + t.descendants().count())
                        .sum::<usize>(),
                    walked
                );
                let _ = all.find_path(&[Tag(0x6F), Tag(0xA5), Tag(0xBF0C)]);
                for t in all {
                    let _ = t.find_deep(Tag(0x9F38));
                    let mut out = Vec::new();
                    t.encode(&mut out).unwrap();
                    assert_eq!(out.len(), t.encoded_len());
                    assert!(data[t.offset()..].starts_with(t.raw()));
                }
            }
            Err(e) => {
                // Errors carry an offset inside (or just past) the input.
                if let Some(offset) = e.offset() {
                    assert!(offset <= data.len(), "{e:?}");
                }
            }
        }
        let _ = Tlv::parse_with(data, opts);
        let _ = Tlv::parse_prefix(data, opts);
    }
});
