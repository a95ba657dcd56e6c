//! Property tests: encode → parse → the same tree and the same bytes, for BER-TLV, SIMPLE-TLV
//! and COMPACT-TLV; and hostile bytes never panic in any mode.
// Test code: helpers outside #[test] functions unwrap and index too; a failure is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cardwire_tlv::compact::{self, CompactTag};
use cardwire_tlv::{Builder, Mode, Options, Tag, Tlv, Walker, parse_all, simple, write_tlv};
use proptest::prelude::*;

/// A generated BER-TLV tree.
#[derive(Clone, Debug)]
enum Node {
    Primitive(Tag, Vec<u8>),
    Constructed(Tag, Vec<Node>),
}

/// Tags valid in strict mode: one byte (not 00/FF, number bits not 1F) or the high-tag form
/// with numbers from 31 up to four bytes.
fn tag(constructed: bool) -> impl Strategy<Value = Tag> {
    let cbit: u32 = if constructed { 0x20 } else { 0 };
    prop_oneof![
        (0u32..4, 0u32..31).prop_filter_map("00/FF", move |(class, n)| {
            let b = (class << 6) | cbit | n;
            (b != 0 && b != 0xFF).then_some(Tag(b))
        }),
        (0u32..3, 31u32..128)
            .prop_map(move |(class, n)| Tag((((class << 6) | cbit | 0x1F) << 8) | n)),
        (0u32..4, 128u32..0x4000).prop_map(move |(class, n)| {
            Tag((((class << 6) | cbit | 0x1F) << 16) | ((0x80 | (n >> 7)) << 8) | (n & 0x7F))
        }),
        (0u32..4, 0x4000u32..0x20_0000).prop_map(move |(class, n)| {
            Tag((((class << 6) | cbit | 0x1F) << 24)
                | ((0x80 | (n >> 14)) << 16)
                | ((0x80 | ((n >> 7) & 0x7F)) << 8)
                | (n & 0x7F))
        }),
    ]
    .prop_filter("private constructed 1F is FF", |t| t.first_byte() != 0xFF)
}

fn tree() -> impl Strategy<Value = Node> {
    let leaf = (tag(false), proptest::collection::vec(any::<u8>(), 0..300))
        .prop_map(|(t, v)| Node::Primitive(t, v));
    leaf.prop_recursive(6, 64, 6, |inner| {
        (tag(true), proptest::collection::vec(inner, 0..6))
            .prop_map(|(t, c)| Node::Constructed(t, c))
    })
}

fn build(b: &mut Builder, node: &Node) -> Result<(), cardwire_tlv::Error> {
    match node {
        Node::Primitive(t, v) => {
            b.primitive(*t, v)?;
        }
        Node::Constructed(t, children) => {
            b.constructed(*t, |b| {
                for c in children {
                    build(b, c)?;
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn same(node: &Node, tlv: Tlv<'_>) {
    match node {
        Node::Primitive(t, v) => {
            assert_eq!(tlv.tag(), *t);
            assert!(!tlv.is_constructed());
            assert_eq!(tlv.value(), v.as_slice());
        }
        Node::Constructed(t, children) => {
            assert_eq!(tlv.tag(), *t);
            let got: Vec<Tlv<'_>> = tlv.children().collect();
            assert_eq!(got.len(), children.len());
            for (c, g) in children.iter().zip(got) {
                same(c, g);
            }
        }
    }
}

/// Re-encodes a parsed object from its tag and children (not from its raw bytes).
fn reencode(tlv: Tlv<'_>, out: &mut Vec<u8>) {
    if tlv.is_constructed() {
        let mut inner = Vec::new();
        for c in tlv.children() {
            reencode(c, &mut inner);
        }
        write_tlv(out, tlv.tag(), &inner).unwrap();
    } else {
        tlv.encode(out).unwrap();
    }
}

/// One object as every walk reports it: depth, tag, offset, raw bytes and value.
type Seen<'a> = (u32, Tag, usize, &'a [u8], &'a [u8]);

fn seen<'a>(depth: u32, t: Tlv<'a>) -> Seen<'a> {
    (depth, t.tag(), t.offset(), t.raw(), t.value())
}

/// The objects of `bytes` in walk order by each way of walking them: `Walker::for_each`
/// (internal iteration, the reference), a `for` loop over the `Walker` (`next`),
/// `parse_all(..)?.descendants()` by `for` loop and by `for_each`, and recursion over
/// `children()`. `None` when the validating walk fails.
fn every_walk<'a>(bytes: &'a [u8], opts: Options) -> Option<[Vec<Seen<'a>>; 5]> {
    let mut by_for_each = Vec::new();
    let mut failed = false;
    Walker::new(bytes, opts).for_each(|item| match item {
        Ok((d, t)) => by_for_each.push(seen(d, t)),
        Err(_) => failed = true,
    });
    let by_next: Result<Vec<Seen<'a>>, _> = Walker::new(bytes, opts)
        .map(|item| item.map(|(d, t)| seen(d, t)))
        .collect();
    let all = parse_all(bytes, opts);
    assert_eq!(failed, by_next.is_err());
    assert_eq!(failed, all.is_err());
    if failed {
        return None;
    }
    let all = all.unwrap();
    let mut by_descendants = Vec::new();
    for (d, t) in all.descendants() {
        by_descendants.push(seen(d, t));
    }
    let mut by_descendants_fold = Vec::new();
    all.descendants()
        .for_each(|(d, t)| by_descendants_fold.push(seen(d, t)));
    fn recurse<'a>(t: Tlv<'a>, depth: u32, out: &mut Vec<Seen<'a>>) {
        out.push(seen(depth, t));
        for c in t.children() {
            recurse(c, depth + 1, out);
        }
    }
    let mut by_children = Vec::new();
    for t in all {
        recurse(t, 1, &mut by_children);
    }
    Some([
        by_for_each,
        by_next.unwrap(),
        by_descendants,
        by_descendants_fold,
        by_children,
    ])
}

/// `node` inside `levels` constructed `A0` objects (to go past the walker's remembered
/// levels).
fn wrapped(node: Node, levels: usize) -> Node {
    (0..levels).fold(node, |n, _| Node::Constructed(Tag(0xA0), vec![n]))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ber_encode_parse_same_tree_in_every_mode(nodes in proptest::collection::vec(tree(), 1..4)) {
        let mut b = Builder::new();
        for n in &nodes {
            build(&mut b, n).unwrap();
        }
        let bytes = b.finish();
        for mode in [Mode::Strict, Mode::Iso, Mode::Lenient] {
            let all: Vec<Tlv<'_>> = parse_all(&bytes, mode).unwrap().collect();
            prop_assert_eq!(all.len(), nodes.len());
            for (n, t) in nodes.iter().zip(all) {
                same(n, t);
            }
        }
        let mut again = Vec::new();
        for t in parse_all(&bytes, Mode::Strict).unwrap() {
            reencode(t, &mut again);
        }
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn offsets_point_at_the_raw_bytes(node in tree()) {
        let mut b = Builder::new();
        build(&mut b, &node).unwrap();
        let bytes = b.finish();
        for item in Walker::new(&bytes, Mode::Strict) {
            let (_, t) = item.unwrap();
            prop_assert_eq!(&bytes[t.offset()..t.offset() + t.raw().len()], t.raw());
            prop_assert_eq!(t.encoded_len(), t.raw().len());
        }
    }

    #[test]
    fn ber_hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for mode in [Mode::Strict, Mode::Iso, Mode::Lenient] {
            let opts = Options::from(mode).with_max_depth(8).with_max_nodes(50);
            if let Ok(all) = parse_all(&bytes, opts) {
                for t in all {
                    let _ = t.find_deep(Tag(0x9F38));
                    let _ = t.children().count();
                }
            }
            let _ = Tlv::parse_with(&bytes, opts);
            let _ = Walker::new(&bytes, opts).count();
        }
    }

    #[test]
    fn ber_lenient_input_reencodes_to_strict_bytes_that_parse_the_same(
        bytes in proptest::collection::vec(any::<u8>(), 0..120)
    ) {
        // Whatever lenient mode accepts (filler, non-minimal lengths), re-encoding gives
        // minimal bytes with the same objects.
        if let Ok(all) = parse_all(&bytes, Mode::Lenient) {
            let mut canon = Vec::new();
            for t in all.clone() {
                reencode(t, &mut canon);
            }
            let again: Vec<(Tag, usize)> = parse_all(&canon, Mode::Lenient)
                .unwrap()
                .map(|t| (t.tag(), t.len()))
                .collect();
            let first: Vec<(Tag, usize)> = all.map(|t| (t.tag(), t.len())).collect();
            prop_assert_eq!(again, first);
        }
    }

    #[test]
    fn every_walk_yields_the_for_each_sequence(
        nodes in proptest::collection::vec((tree(), 0usize..14), 1..4),
        filler in proptest::collection::vec(prop_oneof![Just(0x00u8), Just(0xFF)], 0..3),
    ) {
        let mut b = Builder::new();
        for (n, levels) in &nodes {
            build(&mut b, &wrapped(n.clone(), *levels)).unwrap();
        }
        let bytes = b.finish();
        // Filler before and after the objects (skipped outside strict mode).
        let mut with_filler = filler.clone();
        with_filler.extend_from_slice(&bytes);
        with_filler.extend_from_slice(&filler);
        for (input, modes) in [
            (&bytes, &[Mode::Strict, Mode::Iso, Mode::Lenient][..]),
            (&with_filler, &[Mode::Iso, Mode::Lenient][..]),
        ] {
            for &mode in modes {
                let opts = Options::from(mode).with_max_depth(64);
                let walks = every_walk(input, opts).expect("valid input");
                for other in &walks[1..] {
                    prop_assert_eq!(&walks[0], other);
                }
            }
        }
    }

    #[test]
    fn every_walk_agrees_on_hostile_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for mode in [Mode::Strict, Mode::Iso, Mode::Lenient] {
            for opts in [
                Options::from(mode),
                Options::from(mode).with_max_depth(3).with_max_nodes(7),
            ] {
                if let Some(walks) = every_walk(&bytes, opts) {
                    for other in &walks[1..] {
                        prop_assert_eq!(&walks[0], other);
                    }
                }
            }
        }
    }

    #[test]
    fn simple_roundtrip(objects in proptest::collection::vec((1u8..=0xFE, proptest::collection::vec(any::<u8>(), 0..600)), 0..5)) {
        let mut bytes = Vec::new();
        for (t, v) in &objects {
            simple::write_tlv(&mut bytes, *t, v).unwrap();
        }
        let got: Vec<(u8, Vec<u8>)> = simple::parse_all(&bytes).unwrap().map(|t| (t.tag(), t.value().to_vec())).collect();
        prop_assert_eq!(got, objects.clone());
        let total: usize = objects.iter().map(|(_, v)| simple::encoded_len(v.len())).sum();
        prop_assert_eq!(total, bytes.len());
    }

    #[test]
    fn compact_roundtrip(objects in proptest::collection::vec((0u8..16, proptest::collection::vec(any::<u8>(), 0..16)), 0..8)) {
        let mut bytes = Vec::new();
        for (t, v) in &objects {
            compact::write_tlv(&mut bytes, CompactTag(*t), v).unwrap();
        }
        let got: Vec<(u8, Vec<u8>)> = compact::parse_all(&bytes).unwrap().map(|t| (t.tag().0, t.value().to_vec())).collect();
        prop_assert_eq!(got, objects);
    }

    #[test]
    fn simple_and_compact_hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let _ = simple::parse_all(&bytes).map(|a| a.count());
        let _ = compact::parse_all(&bytes).map(|a| a.count());
        if let Ok(hb) = compact::HistoricalBytes::parse(&bytes) {
            let _ = (hb.supports_extended_length(), hb.status(), hb.max_logical_channels());
        }
    }
}
