//! Proof that parsing allocates nothing: a counting global allocator around every read path
//! (walk, parse_all, children, find, find_path, find_deep, SIMPLE/COMPACT, historical bytes,
//! encoding into slices and heapless vectors).
// Test code: helpers outside #[test] functions unwrap and index too; a failure is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::alloc::System;

use cardwire_tlv::compact::HistoricalBytes;
use cardwire_tlv::{Mode, Options, SliceWriter, Tag, Tlv, Walker, parse_all, simple, write_tlv};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

/// Counts every allocation of the process (`stats_alloc` wraps the system allocator).
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Everything a reader of card data does, returning a checksum so nothing is optimised out.
fn read_everything(inputs: &[Vec<u8>]) -> usize {
    let mut sum = 0usize;
    for input in inputs {
        for mode in [Mode::Strict, Mode::Iso, Mode::Lenient] {
            for item in Walker::new(input, Options::from(mode)) {
                match item {
                    Ok((depth, t)) => sum += depth as usize + t.value().len() + t.offset(),
                    Err(e) => sum += e.offset().unwrap_or(0),
                }
            }
        }
        if let Ok(all) = parse_all(input, Options::default()) {
            for t in all.clone() {
                sum += t.children().count();
                sum += t.descendants().map(|(d, _)| d as usize).sum::<usize>();
                sum += t.find_deep(Tag(0x9F11)).map_or(0, |x| x.len());
            }
            sum += all
                .find_path(&[Tag(0x6F), Tag(0xA5), Tag(0x5F2D)])
                .map_or(0, |t| t.len());
        }
        if let Ok(t) = Tlv::parse(input) {
            sum += t.find(Tag(0x84)).map_or(0, |x| x.len());
            let mut buf = [0u8; 2048];
            let mut w = SliceWriter::new(&mut buf);
            if t.encode(&mut w).is_ok() {
                sum += w.position();
            }
        }
    }
    let simple_data = [0x01, 0x02, 0xAA, 0xBB, 0x02, 0xFF, 0x00, 0x01, 0xCC];
    sum += simple::parse_all(&simple_data).map_or(0, |a| a.count());
    let hb = HistoricalBytes::parse(&[
        0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79,
    ])
    .unwrap();
    sum += usize::from(hb.supports_extended_length()) + usize::from(hb.max_logical_channels());
    let mut hv: heapless::Vec<u8, 64> = heapless::Vec::new();
    write_tlv(&mut hv, Tag(0x5F2D), b"enfr").unwrap();
    sum += hv.len();
    sum
}

#[test]
fn no_heap_allocation_on_any_read_path() {
    let inputs: Vec<Vec<u8>> = [
        "emv_fci.bin",
        "emv_records.bin",
        "emrtd_ef_com.bin",
        "emrtd_dg1.bin",
        "isrg_root_x1.der",
        "digicert_global_root_g2.der",
    ]
    .iter()
    .map(|n| data(n))
    .chain([
        vec![0x1F, 0x80, 0x00],
        vec![0x00, 0xFF, 0x84, 0x81, 0x01, 0xAA],
    ])
    .collect();
    // Warm up anything lazily initialised by the test harness itself.
    let expected = read_everything(&inputs);
    let region = Region::new(GLOBAL);
    let sum = read_everything(&inputs);
    let stats = region.change();
    assert_eq!(sum, expected);
    assert!(sum > 0);
    assert_eq!(stats.allocations, 0, "parsing allocated: {stats:?}");
    assert_eq!(stats.reallocations, 0, "parsing reallocated: {stats:?}");
    // The counter does see allocations.
    let region = Region::new(GLOBAL);
    let v = std::hint::black_box(vec![0u8; 16]);
    assert_eq!(region.change().allocations, 1);
    drop(v);
}
