//! A fresh card: the file tree and its content, created deterministically from a seed.
//!
//! ```text
//! MF 3F00
//! ├── EF.DIR   2F00  records, SFI 1E   application templates (ISO/IEC 7816-4 §8.2.1.1)
//! ├── EF.ATR   2F01  transparent        card capabilities and extended length info
//! ├── DF 5000  cardholder data (no AID: selected by FID or path; PIV is the identity application)
//! │   ├── 5001 SFI 01  cardholder name (UTF-8)              read: always
//! │   ├── 5002 SFI 02  unique user ID (12 ASCII digits)     read: always
//! │   ├── 5003 SFI 03  card serial number (8 bytes)         read: always
//! │   ├── 5010 SFI 0A  authentication certificate (DER)     read: always
//! │   ├── 5011 SFI 0B  issuing CA certificate (DER)         read: always
//! │   ├── 5020 SFI 14  roles, one record each               read: PIN
//! │   └── 5030 SFI 15  40 000-byte record cache             read, update: PIN
//! └── DF 4D00  ICAO eMRTD application, AID A0 00 00 02 47 10 01 (ICAO 9303-10 §3.1)
//!     ├── 011E SFI 1E  EF.COM                               read: secure messaging (BAC)
//!     ├── 0101 SFI 01  EF.DG1 (MRZ)                         read: secure messaging (BAC)
//!     └── 01F0         8 192-byte scratch file (not ICAO)   read, update: secure messaging
//! ```
//! Every EF is updatable only under SCP03 administration unless noted; eMRTD data groups
//! never. The eMRTD scratch file is the virtual card's own: ICAO 9303-10 defines no writable
//! file, but a write of a few kilobytes under BAC is what exercises secure messaging over
//! command chaining (each link protected on its own) end to end.

use cardwire_pin::{CardPinConfig, PinFormat, PinPolicy, PinSpec};

use crate::fs::{Access, Fid, FileSystem, NodeId, tlv};
use crate::identity::{Identity, Seed};
use crate::mrz::{Mrz, ef_com};

/// The ICAO LDS1 eMRTD application's AID (ICAO Doc 9303 Part 10 §3.1.1).
pub const EMRTD_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// The cardholder data DF: plain ISO/IEC 7816-4 files (name, user ID, serial, certificate,
/// roles, a large file) selected by FID or path, with no application AID of its own. The
/// card's identity application is PIV ([`crate::piv`]); this DF keeps the file-system
/// commands (READ BINARY with SFI and odd INS, READ RECORD, extended lengths) exercised.
pub const DF_IDENTITY: Fid = Fid(0x5000);
/// Cardholder name.
pub const EF_NAME: Fid = Fid(0x5001);
/// Unique user identification number.
pub const EF_USER_ID: Fid = Fid(0x5002);
/// Card serial number.
pub const EF_SERIAL: Fid = Fid(0x5003);
/// The authentication certificate.
pub const EF_CERTIFICATE: Fid = Fid(0x5010);
/// The issuing CA certificate.
pub const EF_CA_CERTIFICATE: Fid = Fid(0x5011);
/// The roles (record EF).
pub const EF_ROLES: Fid = Fid(0x5020);
/// A large PIN-protected file (exercises extended lengths and odd-INS offsets).
pub const EF_CACHE: Fid = Fid(0x5030);
/// The size of [`EF_CACHE`].
pub const CACHE_LEN: usize = 40_000;
/// The eMRTD application's DF.
pub const DF_EMRTD: Fid = Fid(0x4D00);
/// EF.COM.
pub const EF_COM: Fid = Fid(0x011E);
/// EF.DG1.
pub const EF_DG1: Fid = Fid(0x0101);
/// The eMRTD application's scratch file: not an ICAO data group, readable and writable under
/// secure messaging (BAC or SCP03); [`EMRTD_SCRATCH_LEN`] zero bytes on a fresh card.
pub const EF_EMRTD_SCRATCH: Fid = Fid(0x01F0);
/// The size of [`EF_EMRTD_SCRATCH`].
pub const EMRTD_SCRATCH_LEN: usize = 8_192;

/// The cardholder PIN of a fresh card.
pub const DEFAULT_PIN: &str = "123456";
/// The PUK of a fresh card.
pub const DEFAULT_PUK: &str = "12345678";
/// The PIN and PUK wire format: ASCII digits padded with `FF` to 8 bytes (NIST SP 800-73-4
/// Part 2 §3.2.1).
pub const PIN_FORMAT: PinFormat = PinFormat::PIV;
/// The PIN policy: 4 to 8 digits.
pub const PIN_POLICY: PinPolicy = PinPolicy::digits(6, 8);
/// The PUK policy: 8 digits.
pub const PUK_POLICY: PinPolicy = PinPolicy::digits(8, 8);
/// The PIN as a host addresses it: the PIV application PIN's reference `80` and format
/// ([`PinSpec::PIV_APPLICATION_PIN`]) with this card's [`PIN_POLICY`].
pub const PIN_SPEC: PinSpec = PinSpec {
    policy: PIN_POLICY,
    ..PinSpec::PIV_APPLICATION_PIN
};
/// The PUK as a host addresses it: the PIV PUK's reference `81` and format
/// ([`PinSpec::PIV_PUK`]) with this card's [`PUK_POLICY`].
pub const PUK_SPEC: PinSpec = PinSpec {
    policy: PUK_POLICY,
    ..PinSpec::PIV_PUK
};
/// The PIN's key reference (VERIFY P2 `80`, as [`PinSpec::PIV_APPLICATION_PIN`]).
pub const PIN_REFERENCE: u8 = PIN_SPEC.reference.p2();
/// The PUK's key reference (`81`, as [`PinSpec::PIV_PUK`]).
pub const PUK_REFERENCE: u8 = PUK_SPEC.reference.p2();
/// The PIN's retry limit.
pub const PIN_TRIES: u8 = 3;
/// The PUK's retry limit.
pub const PUK_TRIES: u8 = 10;
/// PIN and PUK as `cardwire-pin` keeps them on the card: [`PIN_FORMAT`], [`PIN_POLICY`],
/// [`PIN_TRIES`] PIN tries and [`PUK_TRIES`] PUK tries.
pub const PIN_CONFIG: CardPinConfig = CardPinConfig {
    format: PIN_FORMAT,
    policy: PIN_POLICY,
    retry_limit: PIN_TRIES,
    puk_format: PIN_FORMAT,
    puk_retry_limit: PUK_TRIES,
};
/// The reference of the identity private key (MSE `84`).
pub const KEY_REFERENCE: u8 = 0x01;
/// The algorithm reference for ECDSA P-256 over a SHA-256 digest the host computed, with the
/// signature returned as raw `r ‖ s` (64 bytes, each big-endian, zero-padded to 32 bytes) —
/// MSE `80` (card-specific value, documented in ARCHITECTURE.md).
pub const ALG_ECDSA_SHA256: u8 = 0x11;

fn cache_content(seed: &Seed) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut out = Vec::with_capacity(CACHE_LEN + 32);
    let mut counter = 0u32;
    while out.len() < CACHE_LEN {
        let block = Sha256::new()
            .chain_update(b"cardwire-vcard/v1/cache")
            .chain_update(seed.0)
            .chain_update(counter.to_be_bytes())
            .finalize();
        out.extend_from_slice(&block);
        counter += 1;
    }
    out.truncate(CACHE_LEN);
    out
}

fn dir_record(aid: &[u8], label: &str) -> Vec<u8> {
    let mut inner = Vec::new();
    tlv(0x4F, aid, &mut inner);
    tlv(0x50, label.as_bytes(), &mut inner);
    let mut out = Vec::new();
    tlv(0x61, &inner, &mut out);
    out
}

/// EF.ATR/INFO content: card capabilities `47` and extended length information `7F66`
/// (ISO/IEC 7816-4 §12.7.1: maximum command and response data field sizes).
fn ef_atr_content() -> Vec<u8> {
    let mut out = Vec::new();
    let caps = crate::atr::HISTORICAL_BYTES;
    tlv(0x47, caps.get(4..7).unwrap_or(&[]), &mut out);
    let mut ext = Vec::new();
    // APDU sizes (ISO/IEC 7816-4 §12.7.1), not data sizes.
    let nc = u16::try_from(crate::atr::MAX_COMMAND_APDU).unwrap_or(u16::MAX);
    let ne = u16::try_from(crate::atr::MAX_RESPONSE_APDU).unwrap_or(u16::MAX);
    tlv(0x02, &nc.to_be_bytes(), &mut ext);
    tlv(0x02, &ne.to_be_bytes(), &mut ext);
    tlv(0x7F66, &ext, &mut out);
    out
}

/// The roles a fresh card carries (one record each, `A0` template: role code, name, org).
fn roles(identity: &Identity) -> Vec<Vec<u8>> {
    let entries = [
        ("R8000", "Clinical Practitioner Access Role", "RVC01"),
        ("R8003", "Health Professional Access Role", "RVC01"),
        ("R8008", "Admin/Clinical Support Access Role", "RVC02"),
    ];
    entries
        .iter()
        .map(|(code, name, org)| {
            let mut inner = Vec::new();
            tlv(0x80, code.as_bytes(), &mut inner);
            tlv(0x81, name.as_bytes(), &mut inner);
            tlv(0x82, org.as_bytes(), &mut inner);
            tlv(0x83, identity.user_id.digits().as_bytes(), &mut inner);
            let mut out = Vec::new();
            tlv(0xA0, &inner, &mut out);
            out
        })
        .collect()
}

/// Builds the file system of a fresh card for `identity` and the eMRTD `mrz`.
pub fn file_system(identity: &Identity, seed: &Seed, mrz: &Mrz) -> FileSystem {
    let mut fs = FileSystem::new();
    let mf = NodeId::MF;
    fs.add_records(
        mf,
        Fid::EF_DIR,
        Some(0x1E),
        Access::PUBLIC,
        vec![
            dir_record(&cardwire_piv::PIV_AID_FULL, "PIV"),
            dir_record(&EMRTD_AID, "ICAO eMRTD"),
        ],
    );
    fs.add_transparent(mf, Fid::EF_ATR, None, Access::PUBLIC, ef_atr_content());
    if let Some(id) = fs.add_df(mf, DF_IDENTITY, None) {
        let public = Access::PUBLIC;
        fs.add_transparent(
            id,
            EF_NAME,
            Some(1),
            public,
            identity.name.as_bytes().to_vec(),
        );
        fs.add_transparent(
            id,
            EF_USER_ID,
            Some(2),
            public,
            identity.user_id.digits().into_bytes(),
        );
        fs.add_transparent(id, EF_SERIAL, Some(3), public, identity.serial.0.to_vec());
        fs.add_transparent(
            id,
            EF_CERTIFICATE,
            Some(0x0A),
            public,
            identity.certificate.clone(),
        );
        fs.add_transparent(
            id,
            EF_CA_CERTIFICATE,
            Some(0x0B),
            public,
            identity.ca_certificate.clone(),
        );
        fs.add_records(id, EF_ROLES, Some(0x14), Access::PIN, roles(identity));
        fs.add_transparent(
            id,
            EF_CACHE,
            Some(0x15),
            Access::PIN_RW,
            cache_content(seed),
        );
    }
    if let Some(e) = fs.add_df(mf, DF_EMRTD, Some(&EMRTD_AID)) {
        fs.add_transparent(e, EF_COM, Some(0x1E), Access::SM_READ_ONLY, ef_com(&[0x61]));
        fs.add_transparent(e, EF_DG1, Some(0x01), Access::SM_READ_ONLY, mrz.dg1());
        fs.add_transparent(
            e,
            EF_EMRTD_SCRATCH,
            None,
            Access::SM_RW,
            vec![0; EMRTD_SCRATCH_LEN],
        );
    }
    fs
}
