//! Builders for the interindustry commands (ISO/IEC 7816-4:2005 clause 7; PERFORM SECURITY
//! OPERATION from ISO/IEC 7816-8:2004 clause 11).
//!
//! Each builder returns a [`CommandRepr`] with CLA `00`; change the class (logical channel,
//! secure messaging, a proprietary class) with [`CommandRepr::with_cla`]. Builders whose data
//! field must be assembled (odd-INS offset data objects) write it into a caller buffer.
//! VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER live in `cardwire-pin`.
//!
//! ```
//! use cardwire_apdu::commands::{select, SelectBy, Occurrence, SelectResponse, read_binary, EfRef};
//! let mut out = [0u8; 32];
//! let cmd = select(SelectBy::DfName(&[0xA0, 0x00, 0x00, 0x03, 0x08]), Occurrence::First, SelectResponse::Fci);
//! assert_eq!(cmd.encode(&mut out)?, &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00]);
//! let cmd = read_binary(EfRef::Sfi(2), 0, 256)?;
//! assert_eq!(cmd.encode(&mut out)?, &[0x00, 0xB0, 0x82, 0x00, 0x00]);
//! # Ok::<(), cardwire_apdu::Error>(())
//! ```

use crate::{Cla, CommandRepr, Error, Ins};

impl<'a> CommandRepr<'a> {
    /// The same command with class byte `cla`.
    #[must_use]
    pub const fn with_cla(self, cla: Cla) -> Self {
        Self { cla, ..self }
    }
}

const fn cmd(ins: Ins, p1: u8, p2: u8) -> CommandRepr<'static> {
    CommandRepr::new(Cla::INTERINDUSTRY, ins, p1, p2)
}

// ---------------------------------------------------------------- SELECT, MANAGE CHANNEL

/// What SELECT selects (P1 and the data field, ISO/IEC 7816-4:2005 §7.1.1, Table 39).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SelectBy<'a> {
    /// P1 `00`, no data: the MF.
    Mf,
    /// P1 `00`: a DF, EF or the MF by file identifier.
    FileId(&'a [u8; 2]),
    /// P1 `01`: a child DF by file identifier.
    ChildDf(&'a [u8; 2]),
    /// P1 `02`: an EF under the current DF by file identifier.
    ChildEf(&'a [u8; 2]),
    /// P1 `03`, no data: the parent DF of the current DF.
    Parent,
    /// P1 `04`: a DF by name (an application identifier, possibly truncated).
    DfName(&'a [u8]),
    /// P1 `08`: by path from the MF (file identifiers without `3F00`).
    PathFromMf(&'a [u8]),
    /// P1 `09`: by path from the current DF.
    PathFromCurrentDf(&'a [u8]),
}

/// Which occurrence SELECT picks (P2 bits 2–1, §7.1.1 Table 40).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Occurrence {
    /// `00`: the first or only occurrence.
    #[default]
    First,
    /// `01`: the last occurrence.
    Last,
    /// `02`: the next occurrence (same DF name prefix, for example).
    Next,
    /// `03`: the previous occurrence.
    Previous,
}

/// What SELECT returns (P2 bits 4–3, §7.1.1 Table 40).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SelectResponse {
    /// `00`: the FCI template (`6F`).
    #[default]
    Fci,
    /// `04`: the FCP template (`62`).
    Fcp,
    /// `08`: the FMD template (`64`).
    Fmd,
    /// `0C`: no response data (case 1 or 3).
    None,
}

/// SELECT (`A4`, ISO/IEC 7816-4:2005 §7.1.1). Ne is 256 (Le `00`) unless
/// [`SelectResponse::None`].
pub const fn select<'a>(
    by: SelectBy<'a>,
    occurrence: Occurrence,
    response: SelectResponse,
) -> CommandRepr<'a> {
    let (p1, data): (u8, &'a [u8]) = match by {
        SelectBy::Mf => (0x00, &[]),
        SelectBy::FileId(fid) => (0x00, fid),
        SelectBy::ChildDf(fid) => (0x01, fid),
        SelectBy::ChildEf(fid) => (0x02, fid),
        SelectBy::Parent => (0x03, &[]),
        SelectBy::DfName(name) => (0x04, name),
        SelectBy::PathFromMf(path) => (0x08, path),
        SelectBy::PathFromCurrentDf(path) => (0x09, path),
    };
    let p2_occ = match occurrence {
        Occurrence::First => 0x00,
        Occurrence::Last => 0x01,
        Occurrence::Next => 0x02,
        Occurrence::Previous => 0x03,
    };
    let (p2_rsp, ne) = match response {
        SelectResponse::Fci => (0x00, 256),
        SelectResponse::Fcp => (0x04, 256),
        SelectResponse::Fmd => (0x08, 256),
        SelectResponse::None => (0x0C, 0),
    };
    CommandRepr {
        data,
        ne,
        ..cmd(Ins::SELECT, p1, p2_occ | p2_rsp)
    }
}

/// MANAGE CHANNEL open (`70`, P1 `00`, ISO/IEC 7816-4:2005 §7.1.2): with `None` the card picks
/// the channel and returns its number (Ne 1); with `Some(n)` channel `n` (1–19) is opened.
///
/// # Errors
/// [`Error::InvalidParameter`] for a channel of 0 or above 19.
pub const fn manage_channel_open(channel: Option<u8>) -> Result<CommandRepr<'static>, Error> {
    match channel {
        None => Ok(cmd(Ins::MANAGE_CHANNEL, 0x00, 0x00).with_ne(1)),
        Some(n @ 1..=19) => Ok(cmd(Ins::MANAGE_CHANNEL, 0x00, n)),
        Some(_) => Err(Error::InvalidParameter {
            what: "MANAGE CHANNEL: channel must be 1-19",
        }),
    }
}

/// MANAGE CHANNEL close (`70`, P1 `80`, §7.1.2) of channel `channel` (1–19). Send it on any
/// open channel ([`CommandRepr::with_cla`]).
///
/// # Errors
/// [`Error::InvalidParameter`] for a channel of 0 or above 19.
pub const fn manage_channel_close(channel: u8) -> Result<CommandRepr<'static>, Error> {
    match channel {
        1..=19 => Ok(cmd(Ins::MANAGE_CHANNEL, 0x80, channel)),
        _ => Err(Error::InvalidParameter {
            what: "MANAGE CHANNEL: channel must be 1-19",
        }),
    }
}

// ---------------------------------------------------------------- data units (binary)

/// Which EF an even-INS data-unit or record command works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EfRef {
    /// The current EF.
    Current,
    /// A short EF identifier, 1–30.
    Sfi(u8),
}

const fn check_sfi(sfi: u8) -> Result<u8, Error> {
    if sfi >= 1 && sfi <= 30 {
        Ok(sfi)
    } else {
        Err(Error::InvalidParameter {
            what: "short EF identifier must be 1-30",
        })
    }
}

/// P1 P2 of an even-INS data-unit command (§7.2.2): with an SFI, P1 = `100sssss` and P2 the
/// offset (0–255); otherwise a 15-bit offset (0–32 767).
const fn binary_p1p2(file: EfRef, offset: u16) -> Result<(u8, u8), Error> {
    match file {
        EfRef::Current => {
            if offset > 0x7FFF {
                return Err(Error::InvalidParameter {
                    what: "offset above 32767 needs the odd-INS form (offset data object 54)",
                });
            }
            let [hi, lo] = offset.to_be_bytes();
            Ok((hi, lo))
        }
        EfRef::Sfi(sfi) => {
            let sfi = match check_sfi(sfi) {
                Ok(s) => s,
                Err(e) => return Err(e),
            };
            if offset > 0xFF {
                return Err(Error::InvalidParameter {
                    what: "offset with a short EF identifier must be 0-255",
                });
            }
            Ok((0x80 | sfi, (offset & 0xFF) as u8))
        }
    }
}

/// READ BINARY (`B0`, ISO/IEC 7816-4:2005 §7.2.3) of Ne bytes from `offset`.
///
/// # Errors
/// [`Error::InvalidParameter`] for an SFI outside 1–30, an offset above 255 with an SFI or
/// above 32 767 otherwise.
pub const fn read_binary(file: EfRef, offset: u16, ne: u32) -> Result<CommandRepr<'static>, Error> {
    match binary_p1p2(file, offset) {
        Ok((p1, p2)) => Ok(cmd(Ins::READ_BINARY, p1, p2).with_ne(ne)),
        Err(e) => Err(e),
    }
}

/// UPDATE BINARY (`D6`, §7.2.5): replaces the bytes at `offset` with `data`.
///
/// # Errors
/// As [`read_binary`].
pub const fn update_binary<'a>(
    file: EfRef,
    offset: u16,
    data: &'a [u8],
) -> Result<CommandRepr<'a>, Error> {
    match binary_p1p2(file, offset) {
        Ok((p1, p2)) => Ok(cmd(Ins::UPDATE_BINARY, p1, p2).with_data(data)),
        Err(e) => Err(e),
    }
}

/// WRITE BINARY (`D0`, §7.2.4): writes `data` at `offset` (OR/AND per the data coding byte).
///
/// # Errors
/// As [`read_binary`].
pub const fn write_binary<'a>(
    file: EfRef,
    offset: u16,
    data: &'a [u8],
) -> Result<CommandRepr<'a>, Error> {
    match binary_p1p2(file, offset) {
        Ok((p1, p2)) => Ok(cmd(Ins::WRITE_BINARY, p1, p2).with_data(data)),
        Err(e) => Err(e),
    }
}

/// ERASE BINARY (`0E`, §7.2.7): erases from `offset` to the end of the EF.
///
/// # Errors
/// As [`read_binary`].
pub const fn erase_binary(file: EfRef, offset: u16) -> Result<CommandRepr<'static>, Error> {
    match binary_p1p2(file, offset) {
        Ok((p1, p2)) => Ok(cmd(Ins::ERASE_BINARY, p1, p2)),
        Err(e) => Err(e),
    }
}

/// Which EF an odd-INS data-unit command works on (P1-P2, §7.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OddEfRef {
    /// P1-P2 `0000`: the current EF.
    Current,
    /// P1-P2 `000s` with a short EF identifier 1–30 in bits 5–1.
    Sfi(u8),
    /// P1-P2: a file identifier.
    FileId(u16),
}

const fn odd_p1p2(file: OddEfRef) -> Result<(u8, u8), Error> {
    match file {
        OddEfRef::Current => Ok((0, 0)),
        OddEfRef::Sfi(s) => match check_sfi(s) {
            Ok(s) => Ok((0, s)),
            Err(e) => Err(e),
        },
        OddEfRef::FileId(fid) => {
            let [hi, lo] = fid.to_be_bytes();
            Ok((hi, lo))
        }
    }
}

/// Writes one BER-TLV data object into `out` at `*pos` (cardwire-tlv's encoder).
fn put_do(out: &mut [u8], pos: &mut usize, tag: u8, value: &[u8]) -> Result<(), Error> {
    let tag = cardwire_tlv::Tag(u32::from(tag));
    let end = *pos + cardwire_tlv::encoded_len(tag, value.len());
    let dest = out
        .get_mut(*pos..end)
        .ok_or(Error::BufferTooSmall { needed: end })?;
    cardwire_tlv::encode(tag, value, dest)?;
    *pos = end;
    Ok(())
}

/// The offset data object `54` value: the offset on the minimum number of bytes (at least 1).
fn offset_bytes(offset: u32) -> ([u8; 4], usize) {
    let bytes = offset.to_be_bytes();
    let skip = (offset.leading_zeros() / 8).min(3) as usize;
    (bytes, skip)
}

fn odd_data<'a>(out: &'a mut [u8], offset: u32, payload: Option<&[u8]>) -> Result<&'a [u8], Error> {
    let (bytes, skip) = offset_bytes(offset);
    let mut pos = 0;
    put_do(out, &mut pos, 0x54, bytes.get(skip..).unwrap_or(&[0]))?;
    if let Some(data) = payload {
        put_do(out, &mut pos, 0x53, data)?;
    }
    Ok(out.get(..pos).unwrap_or(&[]))
}

/// READ BINARY odd INS (`B1`, §7.2.3): the data field is the offset data object `54`, so
/// offsets beyond 32 767 can be reached. The data field is written into `buf` (6 bytes
/// suffice).
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad SFI, [`Error::BufferTooSmall`] for a short `buf`.
pub fn read_binary_odd(
    file: OddEfRef,
    offset: u32,
    ne: u32,
    buf: &mut [u8],
) -> Result<CommandRepr<'_>, Error> {
    let (p1, p2) = odd_p1p2(file)?;
    let data = odd_data(buf, offset, None)?;
    Ok(cmd(Ins::READ_BINARY_ODD, p1, p2)
        .with_data(data)
        .with_ne(ne))
}

/// UPDATE BINARY odd INS (`D7`, §7.2.5): data field `54` offset then `53` discretionary data
/// holding `data`, assembled in `buf` (`data.len()` + 10 bytes suffice).
///
/// # Errors
/// As [`read_binary_odd`].
pub fn update_binary_odd<'b>(
    file: OddEfRef,
    offset: u32,
    data: &[u8],
    buf: &'b mut [u8],
) -> Result<CommandRepr<'b>, Error> {
    let (p1, p2) = odd_p1p2(file)?;
    let body = odd_data(buf, offset, Some(data))?;
    Ok(cmd(Ins::UPDATE_BINARY_ODD, p1, p2).with_data(body))
}

/// WRITE BINARY odd INS (`D1`, §7.2.4), data field as [`update_binary_odd`].
///
/// # Errors
/// As [`read_binary_odd`].
pub fn write_binary_odd<'b>(
    file: OddEfRef,
    offset: u32,
    data: &[u8],
    buf: &'b mut [u8],
) -> Result<CommandRepr<'b>, Error> {
    let (p1, p2) = odd_p1p2(file)?;
    let body = odd_data(buf, offset, Some(data))?;
    Ok(cmd(Ins::WRITE_BINARY_ODD, p1, p2).with_data(body))
}

/// ERASE BINARY odd INS (`0F`, §7.2.7): erases from `start` up to (not including) `end`, or to
/// the end of the EF; the data field is one or two offset data objects `54`, in `buf`.
///
/// # Errors
/// As [`read_binary_odd`].
pub fn erase_binary_odd(
    file: OddEfRef,
    start: u32,
    end: Option<u32>,
    buf: &mut [u8],
) -> Result<CommandRepr<'_>, Error> {
    let (p1, p2) = odd_p1p2(file)?;
    let mut pos = 0;
    let (bytes, skip) = offset_bytes(start);
    put_do(buf, &mut pos, 0x54, bytes.get(skip..).unwrap_or(&[0]))?;
    if let Some(end) = end {
        let (bytes, skip) = offset_bytes(end);
        put_do(buf, &mut pos, 0x54, bytes.get(skip..).unwrap_or(&[0]))?;
    }
    let body = buf.get(..pos).unwrap_or(&[]);
    Ok(cmd(Ins::ERASE_BINARY_ODD, p1, p2).with_data(body))
}

// ---------------------------------------------------------------- records

/// How P1 designates records (P2 bits 3–1, ISO/IEC 7816-4:2005 §7.3.2-§7.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordRef {
    /// `100`: the record with number P1 (`00` = the current record).
    Number(u8),
    /// `101` (READ RECORD only): all records from number P1 to the last.
    FromNumberToLast(u8),
    /// `110` (READ RECORD only): all records from the last to number P1.
    FromLastToNumber(u8),
    /// `000`: the first record with identifier P1 (`00` = any).
    FirstWithId(u8),
    /// `001`: the last record with identifier P1.
    LastWithId(u8),
    /// `010`: the next record with identifier P1.
    NextWithId(u8),
    /// `011`: the previous record with identifier P1.
    PreviousWithId(u8),
}

const fn record_p1p2(file: EfRef, rec: RecordRef) -> Result<(u8, u8), Error> {
    let sfi_bits = match file {
        EfRef::Current => 0,
        EfRef::Sfi(s) => match check_sfi(s) {
            Ok(s) => s << 3,
            Err(e) => return Err(e),
        },
    };
    let (p1, mode) = match rec {
        RecordRef::Number(n) => (n, 0b100),
        RecordRef::FromNumberToLast(n) => (n, 0b101),
        RecordRef::FromLastToNumber(n) => (n, 0b110),
        RecordRef::FirstWithId(id) => (id, 0b000),
        RecordRef::LastWithId(id) => (id, 0b001),
        RecordRef::NextWithId(id) => (id, 0b010),
        RecordRef::PreviousWithId(id) => (id, 0b011),
    };
    if p1 == 0xFF {
        return Err(Error::InvalidParameter {
            what: "record number or identifier FF is reserved",
        });
    }
    Ok((p1, sfi_bits | mode))
}

/// READ RECORD(S) (`B2`, ISO/IEC 7816-4:2005 §7.3.3).
///
/// # Errors
/// [`Error::InvalidParameter`] for an SFI outside 1–30 or P1 `FF`.
pub const fn read_record(
    file: EfRef,
    rec: RecordRef,
    ne: u32,
) -> Result<CommandRepr<'static>, Error> {
    match record_p1p2(file, rec) {
        Ok((p1, p2)) => Ok(cmd(Ins::READ_RECORD, p1, p2).with_ne(ne)),
        Err(e) => Err(e),
    }
}

/// UPDATE RECORD (`DC`, §7.3.5): replaces one record with `data`.
///
/// # Errors
/// As [`read_record`], and for the multi-record modes, which UPDATE RECORD does not have.
pub const fn update_record<'a>(
    file: EfRef,
    rec: RecordRef,
    data: &'a [u8],
) -> Result<CommandRepr<'a>, Error> {
    if matches!(
        rec,
        RecordRef::FromNumberToLast(_) | RecordRef::FromLastToNumber(_)
    ) {
        return Err(Error::InvalidParameter {
            what: "UPDATE RECORD works on one record",
        });
    }
    match record_p1p2(file, rec) {
        Ok((p1, p2)) => Ok(cmd(Ins::UPDATE_RECORD, p1, p2).with_data(data)),
        Err(e) => Err(e),
    }
}

/// APPEND RECORD (`E2`, §7.3.6): adds `data` as a new record (P1 `00`, P2 = SFI or current).
///
/// # Errors
/// [`Error::InvalidParameter`] for an SFI outside 1–30.
pub const fn append_record(file: EfRef, data: &[u8]) -> Result<CommandRepr<'_>, Error> {
    let p2 = match file {
        EfRef::Current => 0,
        EfRef::Sfi(s) => match check_sfi(s) {
            Ok(s) => s << 3,
            Err(e) => return Err(e),
        },
    };
    Ok(cmd(Ins::APPEND_RECORD, 0x00, p2).with_data(data))
}

// ---------------------------------------------------------------- data objects

/// GET DATA even INS (`CA`, ISO/IEC 7816-4:2005 §7.4.2): P1-P2 is the tag of the data object
/// (`9F36`, or `00xx` for a one-byte tag).
pub const fn get_data(tag: u16, ne: u32) -> CommandRepr<'static> {
    let [p1, p2] = tag.to_be_bytes();
    cmd(Ins::GET_DATA, p1, p2).with_ne(ne)
}

/// GET DATA odd INS (`CB`, §7.4.2): P1-P2 identifies a file (`3FFF` = current DF, `0000` =
/// current EF) and `data` selects what to return (for example a tag list `5C`).
pub const fn get_data_odd(file_id: u16, data: &[u8], ne: u32) -> CommandRepr<'_> {
    let [p1, p2] = file_id.to_be_bytes();
    cmd(Ins::GET_DATA_ODD, p1, p2).with_data(data).with_ne(ne)
}

/// PUT DATA even INS (`DA`, §7.4.3): `data` becomes the value of the data object `tag`.
pub const fn put_data(tag: u16, data: &[u8]) -> CommandRepr<'_> {
    let [p1, p2] = tag.to_be_bytes();
    cmd(Ins::PUT_DATA, p1, p2).with_data(data)
}

/// PUT DATA odd INS (`DB`, §7.4.3): P1-P2 identifies a file, `data` is BER-TLV.
pub const fn put_data_odd(file_id: u16, data: &[u8]) -> CommandRepr<'_> {
    let [p1, p2] = file_id.to_be_bytes();
    cmd(Ins::PUT_DATA_ODD, p1, p2).with_data(data)
}

// ---------------------------------------------------------------- security

/// GET CHALLENGE (`84`, ISO/IEC 7816-4:2005 §7.5.3): asks for `len` random bytes (Ne).
pub const fn get_challenge(len: u32) -> CommandRepr<'static> {
    cmd(Ins::GET_CHALLENGE, 0x00, 0x00).with_ne(len)
}

/// INTERNAL AUTHENTICATE (`88`, §7.5.2): the card computes authentication data over
/// `challenge` with the algorithm `algorithm` (P1, `00` = known) and key `key_ref` (P2).
pub const fn internal_authenticate(
    algorithm: u8,
    key_ref: u8,
    challenge: &[u8],
) -> CommandRepr<'_> {
    cmd(Ins::INTERNAL_AUTHENTICATE, algorithm, key_ref)
        .with_data(challenge)
        .with_ne(256)
}

/// EXTERNAL AUTHENTICATE (`82`, §7.5.4): the card checks `response` (the cryptogram over its
/// challenge). Empty `response` asks for the retries left.
pub const fn external_authenticate(algorithm: u8, key_ref: u8, response: &[u8]) -> CommandRepr<'_> {
    cmd(Ins::EXTERNAL_AUTHENTICATE, algorithm, key_ref).with_data(response)
}

/// MUTUAL AUTHENTICATE (`82`, §7.5.4): as [`external_authenticate`] with response data
/// expected (Ne 256).
pub const fn mutual_authenticate(algorithm: u8, key_ref: u8, data: &[u8]) -> CommandRepr<'_> {
    cmd(Ins::MUTUAL_AUTHENTICATE, algorithm, key_ref)
        .with_data(data)
        .with_ne(256)
}

/// GENERAL AUTHENTICATE (`87`, odd INS, §7.5.5): `data` is the dynamic authentication data
/// template `7C`; `ne` is 0 when no data is expected back.
pub const fn general_authenticate(
    algorithm: u8,
    key_ref: u8,
    data: &[u8],
    ne: u32,
) -> CommandRepr<'_> {
    cmd(Ins::GENERAL_AUTHENTICATE_ODD, algorithm, key_ref)
        .with_data(data)
        .with_ne(ne)
}

/// The template a MANAGE SECURITY ENVIRONMENT SET works on (P2, §7.5.11 Table 79).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeTemplate {
    /// `A4`: authentication (AT).
    Authentication,
    /// `AA`: hash code (HT).
    Hash,
    /// `B4`: cryptographic checksum (CCT).
    Checksum,
    /// `B6`: digital signature (DST).
    DigitalSignature,
    /// `B8`: confidentiality (CT).
    Confidentiality,
}

impl SeTemplate {
    /// The P2 byte (the template's tag).
    pub const fn tag(self) -> u8 {
        match self {
            SeTemplate::Authentication => 0xA4,
            SeTemplate::Hash => 0xAA,
            SeTemplate::Checksum => 0xB4,
            SeTemplate::DigitalSignature => 0xB6,
            SeTemplate::Confidentiality => 0xB8,
        }
    }
}

/// Which operations a MANAGE SECURITY ENVIRONMENT SET prepares (P1 bits 8–5, §7.5.11 Table 78).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeUsage {
    /// P1 `41`: computation, decipherment, internal authentication, key agreement.
    Compute,
    /// P1 `81`: verification, encipherment, external authentication, key agreement.
    Verify,
    /// P1 `C1`: both.
    Both,
}

/// MANAGE SECURITY ENVIRONMENT SET (`22`, ISO/IEC 7816-4:2005 §7.5.11): `data` holds the
/// control reference data objects (`80` algorithm, `83`/`84` key reference, ...).
pub const fn mse_set(usage: SeUsage, template: SeTemplate, data: &[u8]) -> CommandRepr<'_> {
    let p1 = match usage {
        SeUsage::Compute => 0x41,
        SeUsage::Verify => 0x81,
        SeUsage::Both => 0xC1,
    };
    cmd(Ins::MANAGE_SECURITY_ENVIRONMENT, p1, template.tag()).with_data(data)
}

/// MANAGE SECURITY ENVIRONMENT RESTORE (`22`, P1 `F3`, §7.5.11): restores the stored security
/// environment `se_id`.
pub const fn mse_restore(se_id: u8) -> CommandRepr<'static> {
    cmd(Ins::MANAGE_SECURITY_ENVIRONMENT, 0xF3, se_id)
}

/// PERFORM SECURITY OPERATION: COMPUTE DIGITAL SIGNATURE (`2A 9E 9A`, ISO/IEC 7816-8:2004
/// §11.4): signs `input` (a hash or DigestInfo, per the current security environment).
pub const fn pso_compute_signature(input: &[u8], ne: u32) -> CommandRepr<'_> {
    cmd(Ins::PERFORM_SECURITY_OPERATION, 0x9E, 0x9A)
        .with_data(input)
        .with_ne(ne)
}

/// PSO: VERIFY DIGITAL SIGNATURE (`2A 00 A8`, ISO/IEC 7816-8:2004 §11.7): `data` holds the
/// input and signature data objects (`9A`/`90`, `9E`).
pub const fn pso_verify_signature(data: &[u8]) -> CommandRepr<'_> {
    cmd(Ins::PERFORM_SECURITY_OPERATION, 0x00, 0xA8).with_data(data)
}

/// PSO: VERIFY CERTIFICATE (`2A 00 AE`, ISO/IEC 7816-8:2004 §11.8).
pub const fn pso_verify_certificate(certificate: &[u8]) -> CommandRepr<'_> {
    cmd(Ins::PERFORM_SECURITY_OPERATION, 0x00, 0xAE).with_data(certificate)
}

/// PSO: ENCIPHER (`2A 86 80`, ISO/IEC 7816-8:2004 §11.10): returns padding indicator and
/// cryptogram for the plain value `plain`.
pub const fn pso_encipher(plain: &[u8], ne: u32) -> CommandRepr<'_> {
    cmd(Ins::PERFORM_SECURITY_OPERATION, 0x86, 0x80)
        .with_data(plain)
        .with_ne(ne)
}

/// PSO: DECIPHER (`2A 80 86`, ISO/IEC 7816-8:2004 §11.11): `cryptogram` starts with the
/// padding indicator byte; returns the plain value.
pub const fn pso_decipher(cryptogram: &[u8], ne: u32) -> CommandRepr<'_> {
    cmd(Ins::PERFORM_SECURITY_OPERATION, 0x80, 0x86)
        .with_data(cryptogram)
        .with_ne(ne)
}

/// PSO: HASH (`2A 90 80`, ISO/IEC 7816-8:2004 §11.5): the card hashes `data` (ne > 0 returns
/// the hash code; ne 0 keeps it for a following signature).
pub const fn pso_hash(data: &[u8], ne: u32) -> CommandRepr<'_> {
    cmd(Ins::PERFORM_SECURITY_OPERATION, 0x90, 0x80)
        .with_data(data)
        .with_ne(ne)
}

// ---------------------------------------------------------------- transmission

/// GET RESPONSE (`C0`, ISO/IEC 7816-4:2005 §7.6.1) for `ne` bytes. The exchange engine sends
/// it for you on `61xx`.
pub const fn get_response(ne: u32) -> CommandRepr<'static> {
    cmd(Ins::GET_RESPONSE, 0x00, 0x00).with_ne(ne)
}

/// ENVELOPE (`C2`, §7.6.2): carries `data` (a part of an APDU or a data string);
/// `ne` 0 for no response data.
pub const fn envelope(data: &[u8], ne: u32) -> CommandRepr<'_> {
    cmd(Ins::ENVELOPE, 0x00, 0x00).with_data(data).with_ne(ne)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn enc(c: CommandRepr<'_>) -> Vec<u8> {
        c.to_heapless::<300>().unwrap().to_vec()
    }

    #[test]
    fn select_variants() {
        // SELECT MF by FID 3F00, no response data (a common PKCS#15 first command).
        assert_eq!(
            enc(select(
                SelectBy::FileId(&[0x3F, 0x00]),
                Occurrence::First,
                SelectResponse::None
            )),
            [0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00]
        );
        assert_eq!(
            enc(select(
                SelectBy::PathFromMf(&[0x50, 0x15, 0x44, 0x01]),
                Occurrence::First,
                SelectResponse::Fcp
            )),
            [0x00, 0xA4, 0x08, 0x04, 0x04, 0x50, 0x15, 0x44, 0x01, 0x00]
        );
        assert_eq!(
            enc(select(
                SelectBy::DfName(&[0xA0, 0x00]),
                Occurrence::Next,
                SelectResponse::Fci
            )),
            [0x00, 0xA4, 0x04, 0x02, 0x02, 0xA0, 0x00, 0x00]
        );
        assert_eq!(
            enc(select(
                SelectBy::Parent,
                Occurrence::First,
                SelectResponse::Fmd
            )),
            [0x00, 0xA4, 0x03, 0x08, 0x00]
        );
        assert_eq!(
            enc(select(
                SelectBy::Mf,
                Occurrence::First,
                SelectResponse::None
            )),
            [0x00, 0xA4, 0x00, 0x0C]
        );
    }

    #[test]
    fn binary_addressing() {
        assert_eq!(
            enc(read_binary(EfRef::Current, 0x7FFF, 16).unwrap()),
            [0, 0xB0, 0x7F, 0xFF, 0x10]
        );
        assert_eq!(
            enc(read_binary(EfRef::Sfi(30), 255, 0).unwrap()),
            [0, 0xB0, 0x9E, 0xFF]
        );
        assert!(read_binary(EfRef::Current, 0x8000, 1).is_err());
        assert!(read_binary(EfRef::Sfi(31), 0, 1).is_err());
        assert!(read_binary(EfRef::Sfi(1), 256, 1).is_err());
        assert_eq!(
            enc(update_binary(EfRef::Sfi(1), 4, &[9]).unwrap()),
            [0, 0xD6, 0x81, 4, 1, 9]
        );
        assert_eq!(
            enc(write_binary(EfRef::Current, 0x100, &[9]).unwrap()),
            [0, 0xD0, 1, 0, 1, 9]
        );
        assert_eq!(
            enc(erase_binary(EfRef::Current, 2).unwrap()),
            [0, 0x0E, 0, 2]
        );
    }

    #[test]
    fn odd_ins_offsets() {
        let mut buf = [0u8; 64];
        let c = read_binary_odd(OddEfRef::FileId(0x011C), 0x0001_0000, 256, &mut buf).unwrap();
        assert_eq!(
            enc(c),
            [
                0, 0xB1, 0x01, 0x1C, 0x05, 0x54, 0x03, 0x01, 0x00, 0x00, 0x00
            ]
        );
        let c = read_binary_odd(OddEfRef::Current, 0, 0, &mut buf).unwrap();
        assert_eq!(enc(c), [0, 0xB1, 0, 0, 3, 0x54, 1, 0]);
        let c = update_binary_odd(OddEfRef::Sfi(2), 0x8000, &[0xAA, 0xBB], &mut buf).unwrap();
        assert_eq!(
            enc(c),
            [0, 0xD7, 0, 2, 8, 0x54, 2, 0x80, 0x00, 0x53, 2, 0xAA, 0xBB]
        );
        let c = erase_binary_odd(OddEfRef::Current, 1, Some(0x200), &mut buf).unwrap();
        assert_eq!(enc(c), [0, 0x0F, 0, 0, 7, 0x54, 1, 1, 0x54, 2, 2, 0]);
        let c = write_binary_odd(OddEfRef::Current, 5, &[1], &mut buf).unwrap();
        assert_eq!(c.ins, Ins::WRITE_BINARY_ODD);
        let big = [0u8; 300];
        let mut bigbuf = [0u8; 320];
        let c = update_binary_odd(OddEfRef::Current, 0, &big, &mut bigbuf).unwrap();
        assert_eq!(&c.data[..7], &[0x54, 1, 0, 0x53, 0x82, 0x01, 0x2C]);
        assert_eq!(
            update_binary_odd(OddEfRef::Current, 0, &big, &mut buf).unwrap_err(),
            Error::BufferTooSmall { needed: 307 }
        );
    }

    #[test]
    fn records() {
        // EMV READ RECORD 1 of SFI 1 (EMV Book 3 §6.5.11: P2 = SFI << 3 | 4).
        assert_eq!(
            enc(read_record(EfRef::Sfi(1), RecordRef::Number(1), 256).unwrap()),
            [0, 0xB2, 1, 0x0C, 0]
        );
        assert_eq!(
            enc(read_record(EfRef::Current, RecordRef::FromNumberToLast(2), 256).unwrap()),
            [0, 0xB2, 2, 0x05, 0]
        );
        assert_eq!(
            enc(update_record(EfRef::Current, RecordRef::NextWithId(7), &[1]).unwrap()),
            [0, 0xDC, 7, 0x02, 1, 1]
        );
        assert!(update_record(EfRef::Current, RecordRef::FromLastToNumber(1), &[1]).is_err());
        assert!(read_record(EfRef::Current, RecordRef::Number(0xFF), 1).is_err());
        assert_eq!(
            enc(append_record(EfRef::Sfi(3), &[5]).unwrap()),
            [0, 0xE2, 0, 0x18, 1, 5]
        );
    }

    #[test]
    fn data_objects_and_security() {
        // EMV GET DATA ATC (tag 9F36).
        assert_eq!(enc(get_data(0x9F36, 256)), [0x00, 0xCA, 0x9F, 0x36, 0x00]);
        // PIV GET DATA (NIST SP 800-73-4 §3.1.2): CB 3F FF, tag list 5C 03 5F C1 02.
        assert_eq!(
            enc(get_data_odd(0x3FFF, &[0x5C, 0x03, 0x5F, 0xC1, 0x02], 256)),
            [
                0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x02, 0x00
            ]
        );
        assert_eq!(enc(put_data(0x005E, &[1])), [0, 0xDA, 0x00, 0x5E, 1, 1]);
        assert_eq!(enc(put_data_odd(0x3FFF, &[1])), [0, 0xDB, 0x3F, 0xFF, 1, 1]);
        assert_eq!(enc(get_challenge(8)), [0, 0x84, 0, 0, 8]);
        assert_eq!(
            enc(internal_authenticate(0, 1, &[1, 2])),
            [0, 0x88, 0, 1, 2, 1, 2, 0]
        );
        assert_eq!(enc(external_authenticate(0, 1, &[])), [0, 0x82, 0, 1]);
        assert_eq!(
            enc(mutual_authenticate(0, 0, &[7])),
            [0, 0x82, 0, 0, 1, 7, 0]
        );
        assert_eq!(
            enc(general_authenticate(0x07, 0x9A, &[0x7C, 0x00], 256)),
            [0, 0x87, 7, 0x9A, 2, 0x7C, 0, 0]
        );
        assert_eq!(
            enc(mse_set(
                SeUsage::Compute,
                SeTemplate::DigitalSignature,
                &[0x84, 0x01, 0x81]
            )),
            [0, 0x22, 0x41, 0xB6, 3, 0x84, 1, 0x81]
        );
        assert_eq!(enc(mse_restore(1)), [0, 0x22, 0xF3, 1]);
        assert_eq!(
            enc(pso_compute_signature(&[1], 256)),
            [0, 0x2A, 0x9E, 0x9A, 1, 1, 0]
        );
        assert_eq!(enc(pso_verify_signature(&[1])), [0, 0x2A, 0, 0xA8, 1, 1]);
        assert_eq!(enc(pso_verify_certificate(&[1])), [0, 0x2A, 0, 0xAE, 1, 1]);
        assert_eq!(enc(pso_encipher(&[1], 256)), [0, 0x2A, 0x86, 0x80, 1, 1, 0]);
        assert_eq!(
            enc(pso_decipher(&[0, 1], 256)),
            [0, 0x2A, 0x80, 0x86, 2, 0, 1, 0]
        );
        assert_eq!(enc(pso_hash(&[1], 0)), [0, 0x2A, 0x90, 0x80, 1, 1]);
    }

    #[test]
    fn channels_and_transmission() {
        assert_eq!(enc(manage_channel_open(None).unwrap()), [0, 0x70, 0, 0, 1]);
        assert_eq!(
            enc(manage_channel_open(Some(19)).unwrap()),
            [0, 0x70, 0, 19]
        );
        assert!(manage_channel_open(Some(0)).is_err());
        assert!(manage_channel_open(Some(20)).is_err());
        assert_eq!(
            enc(manage_channel_close(2).unwrap().with_cla(Cla(0x02))),
            [0x02, 0x70, 0x80, 2]
        );
        assert!(manage_channel_close(0).is_err());
        assert_eq!(enc(get_response(0x10)), [0, 0xC0, 0, 0, 0x10]);
        assert_eq!(enc(envelope(&[1, 2], 0)), [0, 0xC2, 0, 0, 2, 1, 2]);
    }
}
