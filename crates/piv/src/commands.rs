//! Sans-IO builders for the PIV commands (NIST SP 800-73-4 Part 2 §3). Each returns a
//! [`CommandRepr`] with CLA `00`; data fields are written into a caller's buffer. PIN
//! commands come from [`cardwire_pin::PinCommand`] (see [`crate::host::pin_spec`]).

use cardwire_apdu::{Cla, CommandRepr, Ins};
use cardwire_tlv::SliceWriter;

use crate::containers::{TAG_DATA, TAG_LIST, map_write, write};
use crate::{AlgorithmId, Error, ObjectId, PIV_AID, Slot};

/// Ne of the commands that return data: Le `00` (256), the short form every PIV card takes.
/// Longer answers come with `61xx` and the session fetches the rest with GET RESPONSE into
/// the caller's buffer (ISO/IEC 7816-4 §5.3.4; SP 800-73-4 Part 2 §3.1.2).
pub const NE_ANY: u32 = 256;

/// The most a GET DATA data field takes: `5C 03 5F C1 xx`.
pub const GET_DATA_LEN: usize = 5;

/// SELECT the PIV application by its AID (SP 800-73-4 Part 2 §3.1.1): `00 A4 04 00 09
/// A0 00 00 03 08 00 00 10 00 00`.
///
/// ```
/// let mut buf = [0u8; 16];
/// let apdu = cardwire_piv::commands::select().encode(&mut buf).unwrap();
/// assert_eq!(apdu, &[0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00]);
/// ```
pub const fn select() -> CommandRepr<'static> {
    CommandRepr::new(Cla(0x00), Ins::SELECT, 0x04, 0x00)
        .with_data(&PIV_AID)
        .with_ne(256)
}

/// GET DATA `00 CB 3F FF` with the tag list `5C` naming `object` (SP 800-73-4 Part 2
/// §3.1.2).
///
/// ```
/// use cardwire_piv::{commands, ObjectId};
/// let mut data = [0u8; commands::GET_DATA_LEN];
/// let mut buf = [0u8; 16];
/// let cmd = commands::get_data(ObjectId::CHUID, &mut data)?;
/// assert_eq!(cmd.encode(&mut buf).unwrap(), &[0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x02, 0x00]);
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
///
/// # Errors
/// [`Error::BufferTooSmall`] when `data` is shorter than the tag list.
pub fn get_data(object: ObjectId, data: &mut [u8]) -> Result<CommandRepr<'_>, Error> {
    let mut w = SliceWriter::new(data);
    write(&mut w, TAG_LIST, object.tag_bytes().as_slice())?;
    Ok(CommandRepr::new(Cla(0x00), Ins::GET_DATA_ODD, 0x3F, 0xFF)
        .with_data(w.into_written())
        .with_ne(NE_ANY))
}

/// The length of a PUT DATA data field for `content_len` bytes of container content.
pub fn put_data_len(object: ObjectId, content_len: usize) -> usize {
    if object == ObjectId::DISCOVERY {
        cardwire_tlv::encoded_len(object.tag(), content_len)
    } else {
        cardwire_tlv::encoded_len(TAG_LIST, object.tag_bytes().as_slice().len())
            + cardwire_tlv::encoded_len(TAG_DATA, content_len)
    }
}

/// PUT DATA `00 DB 3F FF` (SP 800-73-4 Part 2 §3.3.2): `5C <tag> 53 <content>`, or for the
/// discovery object `7E <content>`. The data field is written into `data`; a field longer
/// than one APDU goes out chained (the session's business).
///
/// # Errors
/// [`Error::BufferTooSmall`] when `data` is shorter than [`put_data_len`].
pub fn put_data<'d>(
    object: ObjectId,
    content: &[u8],
    data: &'d mut [u8],
) -> Result<CommandRepr<'d>, Error> {
    let mut w = SliceWriter::new(data);
    if object == ObjectId::DISCOVERY {
        write(&mut w, object.tag(), content)?;
    } else {
        write(&mut w, TAG_LIST, object.tag_bytes().as_slice())?;
        cardwire_tlv::write_header(&mut w, TAG_DATA, content.len()).map_err(map_write)?;
        cardwire_tlv::Writer::write(&mut w, content).map_err(map_write)?;
    }
    Ok(CommandRepr::new(Cla(0x00), Ins::PUT_DATA_ODD, 0x3F, 0xFF).with_data(w.into_written()))
}

/// GENERAL AUTHENTICATE `00 87 <algorithm> <key>` with a dynamic authentication template
/// (SP 800-73-4 Part 2 §3.2.4).
pub fn general_authenticate(algorithm: AlgorithmId, key: Slot, template: &[u8]) -> CommandRepr<'_> {
    CommandRepr::new(Cla(0x00), Ins::GENERAL_AUTHENTICATE_ODD, algorithm.0, key.0)
        .with_data(template)
        .with_ne(NE_ANY)
}

/// GENERATE ASYMMETRIC KEY PAIR `00 47 00 <key>` with the control template
/// (SP 800-73-4 Part 2 §3.3.3).
///
/// ```
/// use cardwire_piv::{commands, AlgorithmId, Slot};
/// let mut data = [0u8; 5];
/// let mut buf = [0u8; 16];
/// let cmd = commands::generate(Slot::AUTHENTICATION, AlgorithmId::ECC_P256, &mut data)?;
/// assert_eq!(cmd.encode(&mut buf).unwrap(), &[0x00, 0x47, 0x00, 0x9A, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x11, 0x00]);
/// # Ok::<(), cardwire_piv::Error>(())
/// ```
///
/// # Errors
/// [`Error::BufferTooSmall`] when `data` is shorter than 5 bytes.
pub fn generate(
    key: Slot,
    algorithm: AlgorithmId,
    data: &mut [u8],
) -> Result<CommandRepr<'_>, Error> {
    let template = crate::keygen::encode_control_template(algorithm, data)?;
    Ok(CommandRepr::new(
        Cla(0x00),
        Ins::GENERATE_ASYMMETRIC_KEY_PAIR_ODD,
        0x00,
        key.0,
    )
    .with_data(template)
    .with_ne(NE_ANY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_data_shapes() {
        let mut data = [0u8; 32];
        let cmd = put_data(ObjectId::KEY_HISTORY, &[0xFE, 0x00], &mut data).unwrap();
        assert_eq!(cmd.ins, Ins(0xDB));
        assert_eq!((cmd.p1, cmd.p2), (0x3F, 0xFF));
        assert_eq!(
            cmd.data,
            &[0x5C, 0x03, 0x5F, 0xC1, 0x0C, 0x53, 0x02, 0xFE, 0x00]
        );
        assert_eq!(put_data_len(ObjectId::KEY_HISTORY, 2), 9);
        let mut data = [0u8; 32];
        let cmd = put_data(ObjectId::DISCOVERY, &[0x4F, 0x00], &mut data).unwrap();
        assert_eq!(cmd.data, &[0x7E, 0x02, 0x4F, 0x00]);
        assert!(put_data(ObjectId::CHUID, &[0; 40], &mut [0u8; 10]).is_err());
    }
}
