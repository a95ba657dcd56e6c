//! Each malformed-input case of issue 2 as its own test, through the public API, with the
//! exact error and offset.
// Test code: helpers outside #[test] functions unwrap and index too; a failure is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cardwire_tlv::{Error, Mode, Options, Tlv, parse_all};

#[test]
fn truncated_header() {
    assert_eq!(
        Tlv::parse(&[0x9F]),
        Err(Error::TruncatedHeader { offset: 0 })
    );
    assert_eq!(
        Tlv::parse(&[0x84, 0x82, 0x01]),
        Err(Error::TruncatedHeader { offset: 0 })
    );
    assert!(Error::TruncatedHeader { offset: 0 }.is_incomplete());
}

#[test]
fn truncated_value_says_how_many_bytes_are_needed() {
    let err = Tlv::parse(&[0x84, 0x82, 0x01, 0x00, 0xAA]).unwrap_err();
    assert_eq!(
        err,
        Error::TruncatedValue {
            offset: 0,
            needed: 255
        }
    );
    assert!(err.is_incomplete());
}

#[test]
fn invalid_tag_1f_80() {
    assert_eq!(
        Tlv::parse(&[0x1F, 0x80, 0x01, 0x00]),
        Err(Error::InvalidTag { offset: 0 })
    );
    assert_eq!(
        parse_all(&[0x84, 0x00, 0x3F, 0x80, 0x05, 0x00], Options::default()).unwrap_err(),
        Error::InvalidTag { offset: 2 }
    );
}

#[test]
fn invalid_length_byte_85_to_ff() {
    for byte in 0x85..=0xFFu8 {
        assert_eq!(
            Tlv::parse(&[0x6F, byte, 0, 0, 0, 0, 0]),
            Err(Error::InvalidLength { offset: 1, byte })
        );
    }
}

#[test]
fn indefinite_length_is_rejected() {
    assert_eq!(
        Tlv::parse(&[0x30, 0x80, 0x00, 0x00]),
        Err(Error::IndefiniteLength { offset: 1 })
    );
}

#[test]
fn length_beyond_input_does_not_overflow() {
    // 84 FFFFFFFF at the top level: offset + len would overflow a u32; it is an incomplete
    // value, counted in usize.
    assert_eq!(
        Tlv::parse(&[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]),
        Err(Error::TruncatedValue {
            offset: 0,
            needed: 0xFFFF_FFFF - 1
        })
    );
    // Inside a constructed object it is malformed: the parent has fewer bytes.
    assert_eq!(
        Tlv::parse(&[0x70, 0x07, 0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]),
        Err(Error::LengthBeyondInput {
            offset: 2,
            length: u32::MAX,
            available: 1
        })
    );
}

#[test]
fn too_deep() {
    // A1 A1 A1 ... 50 levels, each 81-long-form, then a leaf.
    let mut v = vec![0x80, 0x00];
    for _ in 0..50 {
        let mut h = vec![0xA1, 0x81, v.len() as u8];
        if v.len() < 0x80 {
            h = vec![0xA1, v.len() as u8];
        }
        h.extend(v);
        v = h;
    }
    let err = Tlv::parse_with(&v, Options::default().with_max_depth(10)).unwrap_err();
    assert!(matches!(err, Error::TooDeep { limit: 10, .. }), "{err:?}");
    assert!(Tlv::parse_with(&v, Options::default().with_max_depth(51)).is_ok());
}

#[test]
fn too_many_nodes() {
    let data = [0x80, 0x00].repeat(100);
    assert_eq!(
        parse_all(&data, Options::default().with_max_nodes(99)).unwrap_err(),
        Error::TooManyNodes {
            offset: 198,
            limit: 99
        }
    );
    assert!(parse_all(&data, Options::default().with_max_nodes(100)).is_ok());
}

#[test]
fn trailing_data() {
    assert_eq!(
        Tlv::parse_with(&[0x84, 0x01, 0xAA, 0x90, 0x00], Mode::Lenient),
        Err(Error::TrailingData { offset: 3 })
    );
}

#[test]
fn non_minimal_length_outside_lenient() {
    let data = [0x84, 0x81, 0x01, 0xAA];
    assert_eq!(
        Tlv::parse_with(&data, Mode::Strict),
        Err(Error::NonMinimalLength { offset: 1 })
    );
    assert_eq!(
        Tlv::parse_with(&data, Mode::Lenient).unwrap().value(),
        &[0xAA]
    );
}

#[test]
fn error_messages_name_error_and_offset() {
    let msg = Tlv::parse(&[0x1F, 0x80, 0x01, 0x00])
        .unwrap_err()
        .to_string();
    assert_eq!(msg, "invalid tag at offset 0");
}
