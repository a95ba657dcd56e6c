//! A fresh card: the file tree and its content, created deterministically from a seed.
//!
//! ```text
//! MF 3F00
//! ├── EF.DIR   2F00  records, SFI 1E   application templates (ISO/IEC 7816-4 §8.2.1.1)
//! ├── EF.ATR   2F01  transparent        card capabilities and extended length info
//! ├── EF.CardAccess 011C SFI 1C  PACEInfos: PACE-GM and PACE-CAM ECDH, AES-128, P-256   read: always
//! ├── EF.CardSecurity 011D SFI 1D  signed SecurityInfos with the chip's static key   read: secure messaging
//! ├── DF 5000  cardholder data (no AID: selected by FID or path; PIV is the identity application)
//! │   ├── 5001 SFI 01  cardholder name (UTF-8)              read: always
//! │   ├── 5002 SFI 02  unique user ID (12 ASCII digits)     read: always
//! │   ├── 5003 SFI 03  card serial number (8 bytes)         read: always
//! │   ├── 5010 SFI 0A  authentication certificate (DER)     read: always
//! │   ├── 5011 SFI 0B  issuing CA certificate (DER)         read: always
//! │   ├── 5020 SFI 14  roles, one record each               read: PIN
//! │   └── 5030 SFI 15  40 000-byte record cache             read, update: PIN
//! └── DF 4D00  ICAO eMRTD application, AID A0 00 00 02 47 10 01 (ICAO 9303-10 §3.1)
//!     ├── 011E SFI 1E  EF.COM                               read: secure messaging
//!     ├── 0101 SFI 01  EF.DG1 (MRZ)                         read: secure messaging
//!     ├── 0102 SFI 02  EF.DG2 (a flat grey JPEG face, ~12 KB)  read: secure messaging
//!     ├── 010E SFI 0E  EF.DG14 (Chip Authentication key, AA info)  read: secure messaging
//!     ├── 010F SFI 0F  EF.DG15 (Active Authentication key)  read: secure messaging
//!     ├── 011D SFI 1D  EF.SOD (hashes of DG1, DG2, DG14, DG15)  read: secure messaging
//!     ├── 01F0         8 192-byte scratch file (not ICAO)   read, update: secure messaging
//!     └── 01F1         configuration: `01` = BAC refused (not ICAO)  read, update: SCP03
//! ```
//! Every EF is updatable only under SCP03 administration unless noted; eMRTD data groups
//! never. The eMRTD scratch file is the virtual card's own: ICAO 9303-10 defines no writable
//! file, but a write of a few kilobytes under BAC is what exercises secure messaging over
//! command chaining (each link protected on its own) end to end.
//!
//! Secure messaging in the eMRTD application comes from PACE (with the MRZ or the card access
//! number [`can`], ICAO Doc 9303-11 §4.4) or BAC (§4.3; refused with `6982` on a card made
//! with BAC switched off, as on newer documents). The Chip Authentication key (DG14) and the
//! Active Authentication key (DG15, ECDSA P-256) are derived from the seed.

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
/// EF.CardAccess, under the MF (ICAO Doc 9303-10 §3.11.3).
pub const EF_CARD_ACCESS: Fid = Fid(0x011C);
/// EF.DG2 (encoded face).
pub const EF_DG2: Fid = Fid(0x0102);
/// EF.DG14 (security options: Chip and Active Authentication).
pub const EF_DG14: Fid = Fid(0x010E);
/// EF.DG15 (Active Authentication public key).
pub const EF_DG15: Fid = Fid(0x010F);
/// EF.SOD (document security object).
pub const EF_SOD: Fid = Fid(0x011D);
/// EF.CardSecurity, under the MF (ICAO Doc 9303-10 §3.11.4; the same FID as EF.SOD, in
/// another DF): the signed `SecurityInfos` with the chip's static key for PACE-CAM.
pub const EF_CARD_SECURITY: Fid = Fid(0x011D);
/// `id-PACE-ECDH-GM-AES-CBC-CMAC-128`, the Generic Mapping the card offers.
pub const PACE_GM_PROTOCOL: &[u8] = cardwire_sm::security_infos::ID_PACE_ECDH_GM_AES_CBC_CMAC_128;
/// `id-PACE-ECDH-CAM-AES-CBC-CMAC-128` (0.4.0.127.0.7.2.2.4.6.2, ICAO Doc 9303-11 §9.2.1,
/// BSI TR-03110-3 §A.1.1.1), the Chip Authentication Mapping the card offers too.
pub const PACE_CAM_PROTOCOL: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x06, 0x02];
/// The standardized domain parameters of both (NIST P-256), and the `keyId` of the chip's
/// static key in EF.CardSecurity (ICAO Doc 9303-11 §9.2.1).
pub const PACE_PARAMETER_ID: u8 = 12;

/// EF.CardAccess offering PACE-CAM and PACE-GM (`cam`) or PACE-GM only.
pub fn card_access(cam: bool) -> Vec<u8> {
    if cam {
        crate::mrz::ef_card_access_cam(PACE_GM_PROTOCOL, PACE_CAM_PROTOCOL, PACE_PARAMETER_ID)
    } else {
        crate::mrz::ef_card_access(PACE_GM_PROTOCOL, PACE_PARAMETER_ID)
    }
}

/// EF.CardSecurity: the `SecurityInfos` of [`crate::mrz::card_security_infos`] with the
/// Chip Authentication key (DG14's, also PACE-CAM's static key), signed by the seed's test
/// document signer ([`crate::emrtd_pki::build_card_security`]). Empty only if a key or the
/// test PKI cannot be built, which does not happen with a valid seed.
pub fn card_security(seed: &Seed) -> Vec<u8> {
    let Ok(key) = chip_authentication_key(seed) else {
        return Vec::new();
    };
    let infos = crate::mrz::card_security_infos(
        PACE_GM_PROTOCOL,
        PACE_CAM_PROTOCOL,
        PACE_PARAMETER_ID,
        &spki(&key),
    );
    crate::emrtd_pki::build_card_security(seed, &infos).unwrap_or_default()
}
/// The width and height of DG2's face image.
pub const FACE_SIZE: (u16, u16) = (96, 128);

/// The card access number printed on the virtual document: six digits derived from the seed
/// (ICAO Doc 9303-11 §4.4.1 and §9.7.3: the CAN is a PACE password, reference 2).
pub fn can(seed: &Seed) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::new()
        .chain_update(b"cardwire-vcard/v1/emrtd-can")
        .chain_update(seed.0)
        .finalize();
    let first: [u8; 4] = h.first_chunk().copied().unwrap_or_default();
    let n = u32::from_be_bytes(first) % 1_000_000;
    format!("{n:06}")
}

/// The Chip Authentication private key (ECDH P-256; DG14's public key), derived from the seed.
///
/// # Errors
/// [`crate::Error::KeyDerivation`] (practically never).
pub fn chip_authentication_key(seed: &Seed) -> Result<p256::ecdsa::SigningKey, crate::Error> {
    crate::identity::derive_signing_key(&seed.0, "emrtd/chip-authentication")
}

/// The Active Authentication private key (ECDSA P-256; DG15's public key), derived from the
/// seed.
///
/// # Errors
/// [`crate::Error::KeyDerivation`] (practically never).
pub fn active_authentication_key(seed: &Seed) -> Result<p256::ecdsa::SigningKey, crate::Error> {
    crate::identity::derive_signing_key(&seed.0, "emrtd/active-authentication")
}

fn spki(key: &p256::ecdsa::SigningKey) -> Vec<u8> {
    use p256::pkcs8::EncodePublicKey;
    key.verifying_key()
        .to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_default()
}

/// The data groups of the virtual eMRTD, in order, with their numbers, FIDs and SFIs.
fn emrtd_data_groups(seed: &Seed, mrz: &Mrz) -> Vec<(u8, Fid, u8, Vec<u8>)> {
    use cardwire_sm::active_auth::ECDSA_WITH_SHA256;
    let mut comment = Vec::new();
    while comment.len() < 11_000 {
        comment.extend_from_slice(b"cardwire virtual eMRTD, synthetic face image; ");
    }
    let (w, h) = FACE_SIZE;
    let face = crate::mrz::dg2(&crate::mrz::flat_jpeg(w, h, &comment), w, h);
    let mut groups = vec![(1, EF_DG1, 0x01, mrz.dg1()), (2, EF_DG2, 0x02, face)];
    if let (Ok(ca), Ok(aa)) = (
        chip_authentication_key(seed),
        active_authentication_key(seed),
    ) {
        let ca_protocol = [cardwire_sm::security_infos::ID_CA, &[0x02, 0x02]].concat();
        groups.push((
            14,
            EF_DG14,
            0x0E,
            crate::mrz::dg14(&ca_protocol, &spki(&ca), ECDSA_WITH_SHA256),
        ));
        groups.push((15, EF_DG15, 0x0F, crate::mrz::dg15(&spki(&aa))));
    }
    groups
}

/// EF.SOD over the data groups (number, file as stored): CMS SignedData whose
/// LDSSecurityObject carries their SHA-256 hashes, signed by the seed's **test** document
/// signer under the seed's test CSCA ([`crate::emrtd_pki`]; ICAO Doc 9303-10 §4.6.2,
/// 9303-12 §4). Falls back to the unsigned hash-only object only if the test PKI cannot be
/// built, which does not happen with a valid seed.
fn ef_sod(seed: &Seed, data_groups: &[(u8, &[u8])]) -> Vec<u8> {
    crate::emrtd_pki::build_sod(seed, data_groups).unwrap_or_else(|_| {
        crate::mrz::ef_sod_unsigned(&crate::mrz::lds_security_object(data_groups))
    })
}

/// The eMRTD application's scratch file: not an ICAO data group, readable and writable under
/// secure messaging (BAC or SCP03); [`EMRTD_SCRATCH_LEN`] zero bytes on a fresh card.
pub const EF_EMRTD_SCRATCH: Fid = Fid(0x01F0);
/// The eMRTD application's configuration (the virtual card's own, not ICAO): one byte, `01`
/// when BAC is refused; readable and writable only under SCP03 administration.
pub const EF_EMRTD_CONFIG: Fid = Fid(0x01F1);
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
    fs.add_transparent(
        mf,
        EF_CARD_ACCESS,
        Some(0x1C),
        Access::PUBLIC,
        card_access(true),
    );
    fs.add_transparent(
        mf,
        EF_CARD_SECURITY,
        Some(0x1D),
        Access::SM_READ_ONLY,
        card_security(seed),
    );
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
        let groups = emrtd_data_groups(seed, mrz);
        let tags: Vec<u8> = groups
            .iter()
            .map(|(n, ..)| match n {
                1 => 0x61,
                2 => 0x75,
                14 => 0x6E,
                _ => 0x6F,
            })
            .collect();
        fs.add_transparent(e, EF_COM, Some(0x1E), Access::SM_READ_ONLY, ef_com(&tags));
        let hashed: Vec<(u8, &[u8])> = groups.iter().map(|(n, .., f)| (*n, &f[..])).collect();
        let sod = ef_sod(seed, &hashed);
        for (_, fid, sfi, content) in &groups {
            fs.add_transparent(e, *fid, Some(*sfi), Access::SM_READ_ONLY, content.clone());
        }
        fs.add_transparent(e, EF_SOD, Some(0x1D), Access::SM_READ_ONLY, sod);
        fs.add_transparent(
            e,
            EF_EMRTD_SCRATCH,
            None,
            Access::SM_RW,
            vec![0; EMRTD_SCRATCH_LEN],
        );
        let admin = Access {
            read: crate::fs::Condition::Admin,
            update: crate::fs::Condition::Admin,
        };
        fs.add_transparent(e, EF_EMRTD_CONFIG, None, admin, vec![0]);
    }
    fs
}
