//! The TLV walks shared by the criterion bench (`benches/tlv.rs`) and the instruction-count
//! harness (`benches/icount.rs`): the inputs, the floor, cardwire's walks as users write them,
//! and the peers. Each walk returns the same checksum over a fully parsed input.

#![allow(dead_code)]

use std::hint::black_box;

use cardwire_tlv::{Options, Tag, Walker, parse_all};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/tlv/tests/data/");

pub fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// 64 KiB of EMV-record-like objects: `70` templates of six small primitives each, the last
/// object padded so the total is exactly 65 536 bytes.
pub fn many_small_objects() -> Vec<u8> {
    let mut out = Vec::with_capacity(1 << 16);
    let mut i = 0u32;
    while out.len() < (1 << 16) - 64 {
        let n = (i % 7) as u8;
        let mut body = Vec::new();
        body.extend([0x5A, 0x08, 0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, n]);
        body.extend([0x5F, 0x24, 0x03, 0x22, 0x12, 0x31]);
        body.extend([0x9F, 0x36, 0x02, 0x00, n]);
        body.extend([0x57, 0x04 + n]);
        body.extend(std::iter::repeat_n(0x11, 4 + usize::from(n)));
        body.extend([0x5F, 0x34, 0x01, n]);
        body.extend([0x8C, 0x03, 0x9F, 0x02, 0x06]);
        out.push(0x70);
        out.push(body.len() as u8);
        out.extend(body);
        i += 1;
    }
    let pad = (1 << 16) - out.len() - 2;
    out.extend([0x04, pad as u8]);
    out.extend(std::iter::repeat_n(0xAB, pad));
    assert_eq!(out.len(), 1 << 16);
    out
}

/// What every walker does with each node: it counts it and reads its tag and, for a
/// primitive, its value (constructed objects pass an empty value). Every walker computes the
/// same sum over a fully parsed input, which the setup checks.
#[inline(always)]
pub fn touch(acc: &mut usize, tag: u32, value: &[u8]) {
    black_box(tag);
    *acc = acc
        .wrapping_add(1)
        .wrapping_add(value.len())
        .wrapping_add(usize::from(value.first().copied().unwrap_or(0)));
}

/// cardwire-tlv: the validating walker, driven by internal iteration (`for_each`, which
/// `finish`, `parse_all` and `count` use too).
pub fn cardwire_walk(input: &[u8], opts: Options) -> usize {
    let mut acc = 0;
    Walker::new(input, opts).for_each(|item| {
        let (depth, tlv) = item.expect("valid input");
        let value = if tlv.is_constructed() {
            &[][..]
        } else {
            tlv.value()
        };
        touch(&mut acc, tlv.tag().0 ^ depth, value);
    });
    acc
}

/// The same walk driven by a `for` loop (`Iterator::next`), as most callers write it.
pub fn cardwire_walk_for(input: &[u8], opts: Options) -> usize {
    let mut acc = 0;
    for item in Walker::new(input, opts) {
        let (depth, tlv) = item.expect("valid input");
        let value = if tlv.is_constructed() {
            &[][..]
        } else {
            tlv.value()
        };
        touch(&mut acc, tlv.tag().0 ^ depth, value);
    }
    acc
}

/// The floor: walk headers with no checks at all (input known valid). Constructed objects are
/// entered, primitive values touched and skipped.
pub fn floor_walk(input: &[u8]) -> usize {
    let mut acc = 0;
    let mut pos = 0;
    let end = input.len();
    while pos < end {
        let first = input[pos];
        let mut tag = u32::from(first);
        pos += 1;
        if first & 0x1F == 0x1F {
            loop {
                let b = input[pos];
                tag = (tag << 8) | u32::from(b);
                pos += 1;
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let l0 = input[pos];
        pos += 1;
        let len = if l0 < 0x80 {
            usize::from(l0)
        } else {
            let n = usize::from(l0 & 0x7F);
            let mut len = 0;
            for &b in &input[pos..pos + n] {
                len = (len << 8) | usize::from(b);
            }
            pos += n;
            len
        };
        if first & 0x20 != 0 {
            touch(&mut acc, tag, &[]);
        } else {
            touch(&mut acc, tag, &input[pos..pos + len]);
            pos += len;
        }
    }
    acc
}

pub fn iso7816_tlv_walk(input: &[u8]) -> usize {
    use iso7816_tlv::ber::{Tlv, Value};
    fn walk(t: &Tlv, acc: &mut usize) {
        let tag = t
            .tag()
            .to_bytes()
            .iter()
            .fold(0u32, |a, &b| (a << 8) | u32::from(b));
        match t.value() {
            Value::Primitive(v) => touch(acc, tag, v),
            Value::Constructed(children) => {
                touch(acc, tag, &[]);
                for c in children {
                    walk(c, acc);
                }
            }
        }
    }
    let mut acc = 0;
    for t in Tlv::parse_all(input) {
        walk(&t, &mut acc);
    }
    acc
}

pub fn tlv_parser_walk(input: &[u8]) -> Option<usize> {
    use tlv_parser::tlv::{Tlv, Value};
    fn walk(t: &Tlv, acc: &mut usize) {
        match t.val() {
            Value::Val(v) => touch(acc, t.tag() as u32, v),
            Value::TlvList(children) => {
                touch(acc, t.tag() as u32, &[]);
                for c in children {
                    walk(c, acc);
                }
            }
            Value::Nothing => touch(acc, t.tag() as u32, &[]),
        }
    }
    let mut acc = 0;
    let mut rest = input;
    while !rest.is_empty() {
        let t = Tlv::from_vec(rest).ok()?;
        walk(&t, &mut acc);
        rest = rest.get(t.len()..)?;
    }
    Some(acc)
}

/// The `iso7816` crate's zero-copy `tlv::take_data_object`, walked recursively.
pub fn iso7816_walk(input: &[u8]) -> Option<usize> {
    fn walk(mut data: &[u8], acc: &mut usize) -> Option<()> {
        while !data.is_empty() {
            let constructed = data[0] & 0x20 != 0;
            let (_tag, value, rest) = iso7816::tlv::take_data_object(data)?;
            if constructed {
                touch(acc, u32::from(data[0]), &[]);
                walk(value, acc)?;
            } else {
                touch(acc, u32::from(data[0]), value);
            }
            data = rest;
        }
        Some(())
    }
    let mut acc = 0;
    walk(input, &mut acc)?;
    Some(acc)
}

pub fn asn1_rs_walk(input: &[u8]) -> Option<usize> {
    use asn1_rs::{Any, FromBer};
    fn walk(mut data: &[u8], acc: &mut usize) -> Option<()> {
        while !data.is_empty() {
            let (rest, any) = Any::from_ber(data).ok()?;
            if any.header.is_constructed() {
                touch(acc, any.header.tag().0, &[]);
                walk(any.data, acc)?;
            } else {
                touch(acc, any.header.tag().0, any.data);
            }
            data = rest;
        }
        Some(())
    }
    let mut acc = 0;
    walk(input, &mut acc)?;
    Some(acc)
}

/// `parse_all` (validates everything) then `descendants()` over the result: the other way
/// users write a full walk.
pub fn cardwire_descendants(input: &[u8], opts: Options) -> usize {
    let mut acc = 0;
    let all = parse_all(input, opts).expect("valid input");
    for (depth, tlv) in all.descendants() {
        let value = if tlv.is_constructed() {
            &[][..]
        } else {
            tlv.value()
        };
        touch(&mut acc, tlv.tag().0 ^ depth, value);
    }
    acc
}

/// `parse_all` then `find_deep` of the last node's tag (its first occurrence): validation
/// plus one lookup.
pub fn cardwire_find_deep(input: &[u8], opts: Options, tag: Tag) -> usize {
    let all = parse_all(input, opts).expect("valid input");
    all.find_deep(tag).map_or(0, |t| t.offset())
}

/// The tag of the last node of `input` in walk order (what `cardwire_find_deep` looks for:
/// for the inputs here, at or near the end of the walk).
pub fn last_tag(input: &[u8]) -> Tag {
    Walker::new(input, Options::default())
        .filter_map(Result::ok)
        .last()
        .map_or(Tag(0), |(_, t)| t.tag())
}

/// The bench inputs: name and bytes.
pub fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("emv_fci", read("emv_fci.bin")),
        ("emv_records", read("emv_records.bin")),
        ("emrtd_ef_com", read("emrtd_ef_com.bin")),
        ("emrtd_dg1", read("emrtd_dg1.bin")),
        ("x509_isrg_root_x1", read("isrg_root_x1.der")),
        ("many_small_64k", many_small_objects()),
    ]
}
