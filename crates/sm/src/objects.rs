//! The secure messaging data objects (ISO/IEC 7816-4 §10.2, Table 49) as this engine writes and
//! accepts them: `87` (padding indicator ‖ cryptogram) or `85` (cryptogram), then `97` (Le, in
//! commands) or `99` (status, in responses), then `8E` (the MAC), in that order, each at most
//! once. Tags are one byte; lengths are BER (`xx`, `81 xx`, `82 xx xx`).

use crate::Error;

/// Cryptogram with padding-content indicator (ISO/IEC 7816-4 Table 49).
pub(crate) const TAG_CRYPTOGRAM_PI: u8 = 0x87;
/// Cryptogram of BER-TLV encoded data, used for odd INS (ICAO 9303-11 §9.8.5).
pub(crate) const TAG_CRYPTOGRAM: u8 = 0x85;
/// Le (`97`).
pub(crate) const TAG_LE: u8 = 0x97;
/// Processing status (`99`).
pub(crate) const TAG_STATUS: u8 = 0x99;
/// Cryptographic checksum (`8E`).
pub(crate) const TAG_MAC: u8 = 0x8E;

/// Which message the objects belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// A protected command: `87`/`85`, `97`, `8E`.
    Command,
    /// A protected response: `87`/`85`, `99`, `8E`.
    Response,
}

/// One data object: its tag, value and where its tag starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Object<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    /// Offset of the tag.
    pub offset: usize,
    /// Offset of the value.
    pub value_at: usize,
}

/// The objects of one protected message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Objects<'a> {
    /// `87` or `85`.
    pub cryptogram: Option<Object<'a>>,
    /// `97` in a command, `99` in a response.
    pub middle: Option<Object<'a>>,
    /// `8E`.
    pub mac: Object<'a>,
    /// The bytes the MAC covers: everything before the `8E` tag.
    pub authenticated: &'a [u8],
}

/// Reads one BER length at `at`; returns (length, bytes used).
fn read_len(body: &[u8], at: usize, base: usize) -> Result<(usize, usize), Error> {
    let bad = Error::MalformedObject { offset: base + at };
    match body.get(at..) {
        Some([n, ..]) if *n < 0x80 => Ok((usize::from(*n), 1)),
        Some([0x81, n, ..]) if *n >= 0x80 => Ok((usize::from(*n), 2)),
        Some([0x82, hi, lo, ..]) if *hi > 0 => Ok((usize::from(u16::from_be_bytes([*hi, *lo])), 3)),
        _ => Err(bad),
    }
}

fn rank(tag: u8, direction: Direction) -> Option<u8> {
    match (tag, direction) {
        (TAG_CRYPTOGRAM_PI | TAG_CRYPTOGRAM, _) => Some(0),
        (TAG_LE, Direction::Command) | (TAG_STATUS, Direction::Response) => Some(1),
        (TAG_MAC, _) => Some(2),
        _ => None,
    }
}

/// Splits `body` into its data objects and checks their order. `base` is added to offsets in
/// errors (the position of `body` in the whole message).
///
/// # Errors
/// [`Error::MalformedObject`], [`Error::UnexpectedObject`], [`Error::DuplicateObject`],
/// [`Error::MisorderedObject`], [`Error::MissingObject`] (no `8E`; no `99` in a response), and
/// [`Error::LengthMismatch`] when the `8E` value is not 8 bytes.
pub(crate) fn parse(body: &[u8], base: usize, direction: Direction) -> Result<Objects<'_>, Error> {
    parse_with(body, base, direction, true)
}

/// [`parse`], with DO'99' optional in a response when `require_status` is false (the host's
/// opt-in [`crate::session::StatusPolicy::AllowMissingStatus`]).
///
/// # Errors
/// As [`parse`].
pub(crate) fn parse_with(
    body: &[u8],
    base: usize,
    direction: Direction,
    require_status: bool,
) -> Result<Objects<'_>, Error> {
    match parse_canonical(body, direction, require_status) {
        Some(objects) => Ok(objects),
        None => parse_general(body, base, direction, require_status),
    }
}

/// One object with tag `tag` at `at` in `body`, its value within `body`; `None` when its
/// length is malformed or runs past `body`.
#[inline]
fn object_at(body: &[u8], at: usize, tag: u8) -> Option<Object<'_>> {
    let (len, used) = read_len(body, at + 1, 0).ok()?;
    let start = at + 1 + used;
    let value = body.get(start..start.checked_add(len)?)?;
    Some(Object {
        tag,
        value,
        offset: at,
        value_at: start,
    })
}

/// The shape every conforming message has, read straight through: `8E 08` and the MAC as
/// the last ten bytes, and before them exactly an optional `87`/`85`, then an optional
/// `97`/`99`. Returns `None` for anything else, which [`parse_general`] then reads and
/// refuses with the precise error; when this returns objects, [`parse_general`] returns the
/// same (the unit test `canonical_agrees_with_general` checks it on generated messages).
#[inline]
fn parse_canonical(body: &[u8], direction: Direction, require_status: bool) -> Option<Objects<'_>> {
    let auth_len = body.len().checked_sub(10)?;
    let (authenticated, mac_do) = body.split_at_checked(auth_len)?;
    let [TAG_MAC, 8, mac @ ..] = mac_do else {
        return None;
    };
    let middle_tag = match direction {
        Direction::Command => TAG_LE,
        Direction::Response => TAG_STATUS,
    };
    let mut at = 0;
    let mut cryptogram = None;
    if let Some(&tag @ (TAG_CRYPTOGRAM_PI | TAG_CRYPTOGRAM)) = authenticated.first() {
        let object = object_at(authenticated, 0, tag)?;
        at = object.value_at + object.value.len();
        cryptogram = Some(object);
    }
    let mut middle = None;
    if authenticated.get(at) == Some(&middle_tag) {
        let object = object_at(authenticated, at, middle_tag)?;
        at = object.value_at + object.value.len();
        middle = Some(object);
    }
    if at != auth_len || (middle.is_none() && require_status && direction == Direction::Response) {
        return None;
    }
    Some(Objects {
        cryptogram,
        middle,
        mac: Object {
            tag: TAG_MAC,
            value: mac,
            offset: auth_len,
            value_at: auth_len + 2,
        },
        authenticated,
    })
}

/// [`parse_with`] for any input: walks the objects one by one and names the first fault.
fn parse_general(
    body: &[u8],
    base: usize,
    direction: Direction,
    require_status: bool,
) -> Result<Objects<'_>, Error> {
    let mut slots: [Option<Object<'_>>; 3] = [None, None, None];
    let mut last_rank: Option<u8> = None;
    let mut at = 0usize;
    while at < body.len() {
        let offset = at;
        let tag = *body
            .get(at)
            .ok_or(Error::MalformedObject { offset: base + at })?;
        let rank = rank(tag, direction).ok_or(Error::UnexpectedObject {
            tag,
            offset: base + offset,
        })?;
        let (len, used) = read_len(body, at + 1, base)?;
        let start = at + 1 + used;
        let end = start.checked_add(len).ok_or(Error::MalformedObject {
            offset: base + at + 1,
        })?;
        let value = body.get(start..end).ok_or(Error::MalformedObject {
            offset: base + at + 1,
        })?;
        if let Some(last) = last_rank {
            if rank == last {
                return Err(Error::DuplicateObject {
                    tag,
                    offset: base + offset,
                });
            }
            if rank < last || last == 2 {
                return Err(Error::MisorderedObject {
                    tag,
                    offset: base + offset,
                });
            }
        }
        if let Some(slot) = slots.get_mut(usize::from(rank)) {
            *slot = Some(Object {
                tag,
                value,
                offset,
                value_at: start,
            });
        }
        last_rank = Some(rank);
        at = end;
    }
    let [cryptogram, middle, mac] = slots;
    let mac = mac.ok_or(Error::MissingObject { tag: TAG_MAC })?;
    if mac.value.len() != 8 {
        return Err(Error::LengthMismatch {
            offset: base + mac.offset + 1,
        });
    }
    if direction == Direction::Response && middle.is_none() && require_status {
        return Err(Error::MissingObject { tag: TAG_STATUS });
    }
    let authenticated = body.get(..mac.offset).ok_or(Error::MalformedObject {
        offset: base + mac.offset,
    })?;
    Ok(Objects {
        cryptogram,
        middle,
        mac,
        authenticated,
    })
}

/// The encoded size of a BER length.
pub(crate) fn len_size(len: usize) -> usize {
    match len {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        _ => 3,
    }
}

/// Writes tag and length at the start of `out`; returns the header size.
///
/// # Errors
/// [`Error::BufferTooSmall`] or [`Error::TooLong`] (a value over 65 535 bytes).
pub(crate) fn write_header(out: &mut [u8], tag: u8, len: usize) -> Result<usize, Error> {
    // One fixed-size store per form rather than a `memcpy` call for two to four bytes.
    fn put<const K: usize>(out: &mut [u8], bytes: [u8; K]) -> Result<usize, Error> {
        *out.first_chunk_mut::<K>()
            .ok_or(Error::BufferTooSmall { needed: K })? = bytes;
        Ok(K)
    }
    match len {
        0..=0x7F => put(out, [tag, len as u8]),
        0x80..=0xFF => put(out, [tag, 0x81, len as u8]),
        0x100..=0xFFFF => {
            let [hi, lo] = (len as u16).to_be_bytes();
            put(out, [tag, 0x82, hi, lo])
        }
        _ => Err(Error::TooLong),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 10] = [0x8E, 8, 1, 2, 3, 4, 5, 6, 7, 8];

    fn msg(parts: &[&[u8]]) -> std::vec::Vec<u8> {
        parts.concat()
    }

    #[test]
    fn accepts_the_icao_response_shape() {
        let m = msg(&[&[0x87, 3, 1, 0xAA, 0xBB], &[0x99, 2, 0x90, 0], &MAC]);
        let o = parse(&m, 0, Direction::Response).unwrap();
        assert_eq!(o.cryptogram.unwrap().value, &[1, 0xAA, 0xBB]);
        assert_eq!(o.middle.unwrap().value, &[0x90, 0]);
        assert_eq!(o.authenticated.len(), 9);
    }

    #[test]
    fn rejects_misordered_duplicate_missing_unknown() {
        let dup = msg(&[&[0x99, 2, 0x90, 0], &[0x99, 2, 0x90, 0], &MAC]);
        assert_eq!(
            parse(&dup, 0, Direction::Response),
            Err(Error::DuplicateObject {
                tag: 0x99,
                offset: 4
            })
        );
        let two_crypto = msg(&[&[0x87, 1, 1], &[0x85, 0], &[0x99, 2, 0x90, 0], &MAC]);
        assert!(matches!(
            parse(&two_crypto, 0, Direction::Response),
            Err(Error::DuplicateObject { tag: 0x85, .. })
        ));
        let order = msg(&[&[0x99, 2, 0x90, 0], &[0x87, 1, 1], &MAC]);
        assert!(matches!(
            parse(&order, 0, Direction::Response),
            Err(Error::MisorderedObject { tag: 0x87, .. })
        ));
        let after_mac = msg(&[&[0x99, 2, 0x90, 0], &MAC, &[0x87, 1, 1]]);
        assert!(matches!(
            parse(&after_mac, 0, Direction::Response),
            Err(Error::MisorderedObject { tag: 0x87, .. })
        ));
        let no_mac = msg(&[&[0x99, 2, 0x90, 0]]);
        assert_eq!(
            parse(&no_mac, 0, Direction::Response),
            Err(Error::MissingObject { tag: 0x8E })
        );
        let no_status = msg(&[&MAC]);
        assert_eq!(
            parse(&no_status, 0, Direction::Response),
            Err(Error::MissingObject { tag: 0x99 })
        );
        let le_in_response = msg(&[&[0x97, 1, 0], &MAC]);
        assert!(matches!(
            parse(&le_in_response, 0, Direction::Response),
            Err(Error::UnexpectedObject { tag: 0x97, .. })
        ));
        let short_mac = msg(&[&[0x8E, 4, 1, 2, 3, 4]]);
        assert!(matches!(
            parse(&short_mac, 0, Direction::Command),
            Err(Error::LengthMismatch { .. })
        ));
    }

    #[test]
    fn rejects_broken_lengths() {
        for bad in [
            &[0x87, 5, 1][..],
            &[0x87, 0x81][..],
            &[0x87, 0x81, 0x10][..],
            &[0x87, 0x83, 0, 0, 1][..],
            &[0x87, 0x80][..],
            &[0x87][..],
        ] {
            assert!(matches!(
                parse(bad, 0, Direction::Command),
                Err(Error::MalformedObject { .. })
            ));
        }
    }

    proptest::proptest! {
        /// The straight-through reading of the usual shape gives exactly what the general
        /// walk gives, on messages built from the objects, lengths and faults that matter:
        /// every tag of both directions and a stray one, short and long length forms, short,
        /// long and odd MACs, truncation.
        #[test]
        fn canonical_agrees_with_general(
            parts in proptest::collection::vec(
                (0usize..7, 0usize..4, proptest::num::u8::ANY),
                0..5,
            ),
            cut in 0usize..3,
            response in proptest::bool::ANY,
            require_status in proptest::bool::ANY,
            base in 0usize..8,
        ) {
            let tags = [0x87u8, 0x85, 0x97, 0x99, 0x8E, 0x8E, 0x01];
            let mut m = std::vec::Vec::new();
            for (tag, form, fill) in parts {
                let tag = tags[tag];
                let len = match (tag, form) {
                    (0x8E, 0 | 1) => 8,
                    (_, 0) => 0,
                    (_, 1) => 2,
                    (_, 2) => 7,
                    _ => 0x90,
                };
                m.push(tag);
                match form {
                    3 => m.extend_from_slice(&[0x81, len as u8]),
                    _ => m.push(len as u8),
                }
                m.extend(core::iter::repeat_n(fill, len));
            }
            let m = &m[..m.len().saturating_sub(cut.saturating_sub(1))];
            let direction = if response { Direction::Response } else { Direction::Command };
            proptest::prop_assert_eq!(
                parse_with(m, base, direction, require_status),
                parse_general(m, base, direction, require_status)
            );
        }
    }

    #[test]
    fn writes_headers() {
        let mut out = [0u8; 4];
        assert_eq!(write_header(&mut out, 0x87, 5).unwrap(), 2);
        assert_eq!(out[..2], [0x87, 5]);
        assert_eq!(write_header(&mut out, 0x87, 0x90).unwrap(), 3);
        assert_eq!(out[..3], [0x87, 0x81, 0x90]);
        assert_eq!(write_header(&mut out, 0x87, 0x1234).unwrap(), 4);
        assert_eq!(out, [0x87, 0x82, 0x12, 0x34]);
        assert_eq!(len_size(0x1234), 3);
    }
}
