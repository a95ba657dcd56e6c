//! Secure messaging over command chaining, end to end: the host's `Card` session (with
//! `cardwire-sm`'s BAC and SCP03 channels) against the virtual card, over a transport that
//! records — and, for the tamper tests, alters — every wire APDU.
//!
//! What is checked (ISO/IEC 7816-4 §10 and §5.3.3; GlobalPlatform Card Specification
//! Amendment D §6.2.4–§6.2.7; ICAO 9303-11 §9.8): every link of a chained command is a complete
//! protected APDU (SM bits and the chaining bit in its CLA, its own MAC), the card verifies
//! each link as it arrives and answers each with a protected response, and the host verifies
//! each of those; a link with a bad MAC, or a bad MAC on the answer to one, stops the chain and
//! the card's state is unchanged.

// Test code: a failing unwrap or index is a failing test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cardwire_apdu::exchange::Capabilities;
use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use cardwire_sm::channel::{establish_bac, open_scp03, secure_card};
use cardwire_sm::scp03::{SecurityLevel, StaticKeys};
use cardwire_sm::{BacKeys, MrzInfo};
use cardwire_transport::{
    Card, CardError, InProcess, SecureChannel, SecureChannelError, SecureChannelErrorKind,
    TransactionEnd, Transport,
};
use cardwire_vcard::personalise::{
    CACHE_LEN, DEFAULT_PIN, EF_EMRTD_SCRATCH, EMRTD_AID, EMRTD_SCRATCH_LEN,
};
use cardwire_vcard::{Seed, VirtualCard};

/// The size of the object written: 3 KB, more than a dozen short APDUs.
const OBJECT_LEN: usize = 3 * 1024;
const _: () = assert!(OBJECT_LEN < CACHE_LEN && OBJECT_LEN < EMRTD_SCRATCH_LEN);

/// What to alter on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tamper {
    None,
    /// Flip the last MAC byte of the n-th (0-based) UPDATE BINARY link the host sends.
    CommandMac(usize),
    /// Flip the last MAC byte of the card's answer to the n-th UPDATE BINARY link.
    ResponseMac(usize),
}

/// A transport that records every exchange and may alter one.
struct Wire {
    inner: InProcess<VirtualCard>,
    log: Vec<(Vec<u8>, Vec<u8>)>,
    tamper: Tamper,
    /// The answer to alter came with `61xx`: alter the part GET RESPONSE fetches last.
    tamper_rest: bool,
    updates: usize,
}

impl Wire {
    fn new(card: VirtualCard) -> Self {
        Self {
            inner: InProcess::new(card),
            log: Vec::new(),
            tamper: Tamper::None,
            tamper_rest: false,
            updates: 0,
        }
    }

    /// The recorded UPDATE BINARY links from index `from` of the log on, each with its whole
    /// answer: when the card handed the protected answer out with `61xx`, the parts that
    /// GET RESPONSE fetched are joined (ISO/IEC 7816-4 §5.3.4).
    fn update_links(&self, from: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut links: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for (cmd, rsp) in &self.log[from..] {
            if cmd.get(1) == Some(&Ins::UPDATE_BINARY.0) {
                links.push((cmd.clone(), rsp.clone()));
            } else if cmd.get(1) == Some(&Ins::GET_RESPONSE.0) {
                if let Some((_, answer)) = links.last_mut() {
                    if answer.len() >= 2 && answer[answer.len() - 2] == 0x61 {
                        answer.truncate(answer.len() - 2);
                        answer.extend_from_slice(rsp);
                    }
                }
            }
        }
        links
    }
}

impl Transport for Wire {
    type Error = <InProcess<VirtualCard> as Transport>::Error;

    fn transmit<'b>(
        &mut self,
        command: &[u8],
        response: &'b mut [u8],
    ) -> Result<&'b [u8], Self::Error> {
        let mut cmd = command.to_vec();
        let update = cmd.get(1) == Some(&Ins::UPDATE_BINARY.0);
        let link = self.updates;
        if update {
            self.updates += 1;
            if self.tamper == Tamper::CommandMac(link) {
                // The MAC is the last data bytes; a protected command ends with Le.
                let le = if cmd[4] == 0 { 2 } else { 1 };
                let at = cmd.len() - le - 1;
                cmd[at] ^= 0x01;
            }
        }
        let n = self.inner.transmit(&cmd, response)?.len();
        let get_response = cmd.get(1) == Some(&Ins::GET_RESPONSE.0);
        if (update && self.tamper == Tamper::ResponseMac(link))
            || (get_response && self.tamper_rest)
        {
            if response[n - 2] == 0x61 {
                // The answer comes in parts: its MAC is in the last.
                self.tamper_rest = true;
            } else {
                // The MAC is the last bytes before SW1 SW2 in both SM formats.
                response[n - 3] ^= 0x01;
                self.tamper_rest = false;
            }
        }
        self.log.push((cmd, response[..n].to_vec()));
        Ok(&response[..n])
    }

    fn atr(&self) -> &[u8] {
        self.inner.atr()
    }

    fn reset(&mut self) -> Result<(), Self::Error> {
        self.inner.reset()
    }

    fn transaction(
        &mut self,
        body: &mut dyn FnMut(&mut dyn Transport<Error = Self::Error>) -> TransactionEnd,
    ) -> Result<(), Self::Error> {
        // The tampering wire is as exclusive as the in-process card behind it.
        cardwire_transport::exclusive_transaction(self, body)
    }
}

/// A deterministic generator for the host's challenges and keys (xorshift).
struct TestRng(u64);

impl cardwire_sm::rand_core::TryRng for TestRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.try_next_u64()? as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Ok(self.0)
    }
    fn try_fill_bytes(&mut self, out: &mut [u8]) -> Result<(), Self::Error> {
        for b in out {
            *b = (self.try_next_u64()? >> 24) as u8;
        }
        Ok(())
    }
}

impl cardwire_sm::rand_core::TryCryptoRng for TestRng {}

/// A 3 KB object that is not all one byte (so a misplaced link shows).
fn object() -> Vec<u8> {
    (0..OBJECT_LEN).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn fresh() -> VirtualCard {
    VirtualCard::new(&Seed::DEFAULT).unwrap()
}

fn select_aid<S: SecureChannel>(card: &mut Card<Wire, S>, aid: &[u8]) {
    let select = CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x04, 0x0C).with_data(aid);
    let mut buf = [0u8; 64];
    assert_eq!(
        card.transmit(&select, &mut buf).unwrap().sw(),
        StatusWord::SUCCESS
    );
}

/// SELECT by path from the MF (P1 `08`), no answer data: the cardholder data DF `5000`.
fn select_path<S: SecureChannel>(card: &mut Card<Wire, S>, path: &[u8]) {
    let select = CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x08, 0x0C).with_data(path);
    let mut buf = [0u8; 64];
    assert_eq!(
        card.transmit(&select, &mut buf).unwrap().sw(),
        StatusWord::SUCCESS
    );
}

/// UPDATE BINARY of `data` at offset 0 of the EF `p1` names (`80 | SFI`, or `00` for the
/// current EF).
fn update<S: SecureChannel>(
    card: &mut Card<Wire, S>,
    p1: u8,
    data: &[u8],
) -> Result<StatusWord, CardError<<Wire as Transport>::Error, S::Error>> {
    let cmd = CommandRepr::new(Cla::INTERINDUSTRY, Ins::UPDATE_BINARY, p1, 0).with_data(data);
    let mut buf = [0u8; 64];
    card.transmit(&cmd, &mut buf).map(|r| r.sw())
}

/// Reads `len` bytes of the current EF from offset 0, 200 bytes per READ BINARY.
fn read_current<S: SecureChannel>(card: &mut Card<Wire, S>, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 300];
    while out.len() < len {
        let at = u16::try_from(out.len()).unwrap();
        let want = (len - out.len()).min(200);
        let read = CommandRepr::new(
            Cla::INTERINDUSTRY,
            Ins::READ_BINARY,
            (at >> 8) as u8,
            at as u8,
        )
        .with_ne(u32::try_from(want).unwrap());
        let rsp = card.transmit(&read, &mut buf).unwrap();
        assert_eq!(rsp.sw(), StatusWord::SUCCESS);
        // At least Ne bytes: an SCP03 command travels with Le `00` (its Ne is not carried
        // under SCP03), so the card may answer up to 256.
        assert!(rsp.data().len() >= want, "{} < {want}", rsp.data().len());
        out.extend_from_slice(&rsp.data()[..want]);
    }
    out
}

// ----- BAC (3DES secure messaging, ICAO 9303-11 §9.8) ---------------------------------------

fn bac_keys(card: &VirtualCard) -> BacKeys {
    let mrz = card.mrz();
    BacKeys::from_mrz(
        &MrzInfo::new(&mrz.document_number, &mrz.birth_date, &mrz.expiry_date).unwrap(),
    )
}

/// A `Card` with the given capabilities, the eMRTD application selected, BAC done and the
/// scratch EF selected under secure messaging.
fn bac_session(
    card: VirtualCard,
    caps: Capabilities,
    rng: u64,
) -> Card<Wire, cardwire_sm::SmSession<cardwire_sm::TdesSuite>> {
    let keys = bac_keys(&card);
    let mut plain = Card::with_capabilities(Wire::new(card), caps);
    select_aid(&mut plain, &EMRTD_AID);
    let sm = establish_bac(&mut plain, &keys, &mut TestRng(rng)).unwrap();
    let mut card = secure_card(plain, sm);
    let fid = EF_EMRTD_SCRATCH.0.to_be_bytes();
    let select = CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x02, 0x0C).with_data(&fid);
    let mut buf = [0u8; 64];
    assert_eq!(
        card.transmit(&select, &mut buf).unwrap().sw(),
        StatusWord::SUCCESS
    );
    card
}

/// Checks the wire form of a protected chain under ISO/IEC 7816-4 SM with an authenticated
/// header: CLA `1C` on every link but the last (`0C`), each with its own DO `8E`, each answered
/// DO `99` (`9000`) ‖ DO `8E` ‖ `9000`.
fn assert_iso_sm_links(links: &[(Vec<u8>, Vec<u8>)], expect: usize) {
    assert_eq!(links.len(), expect, "links");
    let mut macs = Vec::new();
    for (i, (cmd, rsp)) in links.iter().enumerate() {
        let last = i + 1 == links.len();
        assert_eq!(cmd[0], if last { 0x0C } else { 0x1C }, "link {i} CLA");
        let le = if cmd[4] == 0 { 2 } else { 1 };
        let mac_do = &cmd[cmd.len() - le - 10..cmd.len() - le];
        assert_eq!(&mac_do[..2], &[0x8E, 0x08], "link {i} DO 8E");
        macs.push(mac_do[2..].to_vec());
        assert_eq!(rsp.len(), 16, "link {i} answer");
        assert_eq!(
            &rsp[..6],
            &[0x99, 0x02, 0x90, 0x00, 0x8E, 0x08],
            "link {i} answer"
        );
        assert_eq!(&rsp[14..], &[0x90, 0x00], "link {i} SW");
    }
    macs.sort();
    macs.dedup();
    assert_eq!(macs.len(), links.len(), "each link has a MAC of its own");
}

#[test]
fn bac_update_binary_of_3_kb_is_protected_link_by_link() {
    let mut card = bac_session(fresh(), Capabilities::SHORT_CHAINING, 1);
    let from = card.transport().log.len();
    let data = object();
    assert_eq!(update(&mut card, 0x00, &data).unwrap(), StatusWord::SUCCESS);
    assert!(card.is_secure());
    // 3DES under short APDUs: up to 231 plain bytes per link.
    let links = card.transport().update_links(from);
    assert_iso_sm_links(&links, OBJECT_LEN.div_ceil(231));
    assert_eq!(read_current(&mut card, OBJECT_LEN), data);
    // The rest of the file is untouched.
    let rest = read_current(&mut card, EMRTD_SCRATCH_LEN);
    assert!(rest[OBJECT_LEN..].iter().all(|b| *b == 0));
}

#[test]
fn bac_chain_of_extended_links_is_protected_link_by_link() {
    // A card taking extended lengths but at most 1 024 data bytes per APDU: three links of
    // extended-length protected APDUs.
    let caps = Capabilities {
        max_command_data: 1024,
        max_response_data: 1024,
        ..Capabilities::EXTENDED
    };
    let mut card = bac_session(fresh(), caps, 2);
    let from = card.transport().log.len();
    let data = object();
    assert_eq!(update(&mut card, 0x00, &data).unwrap(), StatusWord::SUCCESS);
    // The session's 512-byte buffer bounds each protected link below the card's 1 024.
    let links = card.transport().update_links(from);
    assert!(links.len() > 1 && links.len() < OBJECT_LEN.div_ceil(231));
    for (i, (cmd, rsp)) in links.iter().enumerate() {
        assert_eq!(cmd[0], if i + 1 == links.len() { 0x0C } else { 0x1C });
        if i + 1 < links.len() {
            assert_eq!(cmd[4], 0x00, "link {i}: extended Lc");
        }
        assert_eq!(&rsp[..2], &[0x99, 0x02]);
    }
    assert_eq!(read_current(&mut card, OBJECT_LEN), data);
}

#[test]
fn bac_bad_mac_on_the_middle_link_is_refused_and_nothing_is_written() {
    let mut card = bac_session(fresh(), Capabilities::SHORT_CHAINING, 3);
    let from = card.transport().log.len();
    let middle = OBJECT_LEN.div_ceil(231) / 2;
    card.transport_mut().tamper = Tamper::CommandMac(card.transport().updates + middle);
    let err = update(&mut card, 0x00, &object()).unwrap_err();
    // The card answers the bad link with a bare 6988 (ICAO 9303-11 §9.8.4); the host takes
    // that as a closed channel and stops.
    match err {
        CardError::SecureChannel(e) => assert_eq!(e.kind(), SecureChannelErrorKind::Closed),
        other => panic!("{other:?}"),
    }
    assert!(!card.is_secure());
    let links = card.transport().update_links(from);
    assert_eq!(links.len(), middle + 1, "no link after the refused one");
    assert_eq!(links[middle].1, [0x69, 0x88]);
    // The card's state is unchanged: a new BAC session reads the scratch file as it was.
    let vcard = card.into_transport().inner.into_inner();
    let mut card = bac_session(vcard, Capabilities::SHORT_CHAINING, 4);
    assert_eq!(read_current(&mut card, OBJECT_LEN), vec![0u8; OBJECT_LEN]);
}

#[test]
fn bac_bad_mac_on_the_answer_to_the_middle_link_stops_the_host() {
    let mut card = bac_session(fresh(), Capabilities::SHORT_CHAINING, 5);
    let from = card.transport().log.len();
    let middle = OBJECT_LEN.div_ceil(231) / 2;
    card.transport_mut().tamper = Tamper::ResponseMac(card.transport().updates + middle);
    let err = update(&mut card, 0x00, &object()).unwrap_err();
    match err {
        CardError::SecureChannel(e) => assert_eq!(e.kind(), SecureChannelErrorKind::Integrity),
        other => panic!("{other:?}"),
    }
    assert!(!card.is_secure());
    // The host sent nothing after the answer it could not verify: the final link never
    // reached the card, so the command never ran.
    assert_eq!(card.transport().update_links(from).len(), middle + 1);
    let vcard = card.into_transport().inner.into_inner();
    let mut card = bac_session(vcard, Capabilities::SHORT_CHAINING, 6);
    assert_eq!(read_current(&mut card, OBJECT_LEN), vec![0u8; OBJECT_LEN]);
}

// ----- SCP03 (GlobalPlatform Amendment D) ----------------------------------------------------

/// A `Card` with the given capabilities, the cardholder data DF selected, SCP03 open at
/// `level` and the PIN verified under it.
fn scp03_session(
    card: VirtualCard,
    caps: Capabilities,
    level: SecurityLevel,
    rng: u64,
) -> Card<Wire, cardwire_sm::scp03::Scp03Session> {
    let k = card.scp03_keys().clone();
    let keys = StaticKeys::new(&k.enc, &k.mac, &k.dek).unwrap();
    let mut plain = Card::with_capabilities(Wire::new(card), caps);
    select_path(&mut plain, &[0x50, 0x00]);
    let scp = open_scp03(&mut plain, keys, k.kvn, level, &mut TestRng(rng)).unwrap();
    let mut card = secure_card(plain, scp);
    let pin = cardwire_pin::Pin::new(DEFAULT_PIN.as_bytes()).unwrap();
    let block = cardwire_vcard::card::PIN_FORMAT.encode(&pin).unwrap();
    let verify = CommandRepr::new(Cla::INTERINDUSTRY, Ins::VERIFY, 0x00, 0x80)
        .with_data(block.expose_secret());
    let mut buf = [0u8; 64];
    assert_eq!(
        card.transmit(&verify, &mut buf).unwrap().sw(),
        StatusWord::SUCCESS
    );
    card
}

/// SFI 15 (the 40 000-byte cache, read and update after the PIN) as UPDATE BINARY P1.
const CACHE_P1: u8 = 0x80 | 0x15;

#[test]
fn scp03_update_binary_of_3_kb_is_protected_link_by_link() {
    let mut card = scp03_session(fresh(), Capabilities::SHORT_CHAINING, SecurityLevel::ALL, 7);
    let from = card.transport().log.len();
    let data = object();
    assert_eq!(
        update(&mut card, CACHE_P1, &data).unwrap(),
        StatusWord::SUCCESS
    );
    assert!(card.is_secure());
    // C-DECRYPTION: 239 plain bytes per link (15 blocks with padding, and the C-MAC).
    let links = card.transport().update_links(from);
    assert_eq!(links.len(), OBJECT_LEN.div_ceil(239));
    let mut macs = Vec::new();
    for (i, (cmd, rsp)) in links.iter().enumerate() {
        let last = i + 1 == links.len();
        // CLA: b3 (C-MAC), and b5 (chaining) on every link but the last.
        assert_eq!(cmd[0], if last { 0x04 } else { 0x14 }, "link {i} CLA");
        assert_eq!(
            (cmd.len() - 5 - 8) % 16,
            0,
            "link {i}: whole encrypted blocks"
        );
        macs.push(cmd[cmd.len() - 8..].to_vec());
        // Each answer carries its own R-MAC: 8 bytes, then 9000 (the protected command has
        // no Le, so the card hands the R-MAC out with 6108 and GET RESPONSE).
        assert_eq!(rsp.len(), 10, "link {i} answer");
        assert_eq!(&rsp[8..], &[0x90, 0x00]);
    }
    macs.sort();
    macs.dedup();
    assert_eq!(macs.len(), links.len(), "each link has a C-MAC of its own");
    let back = read_current(&mut card, OBJECT_LEN);
    assert_eq!(back, data);
}

#[test]
fn scp03_c_mac_only_chain_is_protected_link_by_link() {
    let mut card = scp03_session(
        fresh(),
        Capabilities::SHORT_CHAINING,
        SecurityLevel::C_MAC,
        8,
    );
    let from = card.transport().log.len();
    let data = object();
    assert_eq!(
        update(&mut card, CACHE_P1, &data).unwrap(),
        StatusWord::SUCCESS
    );
    let links = card.transport().update_links(from);
    // 247 plain bytes and the C-MAC per link; the answers are plain 9000 at this level.
    assert_eq!(links.len(), OBJECT_LEN.div_ceil(247));
    for (i, (cmd, rsp)) in links.iter().enumerate() {
        assert_eq!(cmd[0], if i + 1 == links.len() { 0x04 } else { 0x14 });
        assert_eq!(rsp, &[0x90, 0x00]);
    }
    assert_eq!(read_current(&mut card, OBJECT_LEN), data);
}

/// Makes the cache the current EF (READ BINARY by SFI selects it, ISO/IEC 7816-4 §11.3.3).
fn select_cache<S: SecureChannel>(card: &mut Card<Wire, S>) {
    let read = CommandRepr::new(Cla::INTERINDUSTRY, Ins::READ_BINARY, CACHE_P1, 0).with_ne(16);
    let mut buf = [0u8; 300];
    assert_eq!(
        card.transmit(&read, &mut buf).unwrap().sw(),
        StatusWord::SUCCESS
    );
}

#[test]
fn scp03_bad_mac_on_the_middle_link_is_refused_and_nothing_is_written() {
    let mut card = scp03_session(fresh(), Capabilities::SHORT_CHAINING, SecurityLevel::ALL, 9);
    select_cache(&mut card);
    let before = read_current(&mut card, OBJECT_LEN);
    assert_ne!(before, object());
    let from = card.transport().log.len();
    let middle = OBJECT_LEN.div_ceil(239) / 2;
    card.transport_mut().tamper = Tamper::CommandMac(card.transport().updates + middle);
    let err = update(&mut card, CACHE_P1, &object()).unwrap_err();
    match err {
        CardError::SecureChannel(e) => assert_eq!(e.kind(), SecureChannelErrorKind::Closed),
        other => panic!("{other:?}"),
    }
    assert!(!card.is_secure());
    let links = card.transport().update_links(from);
    assert_eq!(links.len(), middle + 1, "no link after the refused one");
    assert_eq!(links[middle].1, [0x69, 0x88]);
    // The card's state is unchanged: a new channel reads the cache as it was.
    let vcard = card.into_transport().inner.into_inner();
    let mut card = scp03_session(vcard, Capabilities::SHORT_CHAINING, SecurityLevel::ALL, 10);
    select_cache(&mut card);
    assert_eq!(read_current(&mut card, OBJECT_LEN), before);
}

#[test]
fn scp03_bad_r_mac_on_the_middle_answer_stops_the_host() {
    let mut card = scp03_session(
        fresh(),
        Capabilities::SHORT_CHAINING,
        SecurityLevel::ALL,
        11,
    );
    let from = card.transport().log.len();
    let middle = OBJECT_LEN.div_ceil(239) / 2;
    card.transport_mut().tamper = Tamper::ResponseMac(card.transport().updates + middle);
    let err = update(&mut card, CACHE_P1, &object()).unwrap_err();
    match err {
        CardError::SecureChannel(e) => assert_eq!(e.kind(), SecureChannelErrorKind::Integrity),
        other => panic!("{other:?}"),
    }
    assert!(!card.is_secure());
    assert_eq!(card.transport().update_links(from).len(), middle + 1);
}

#[test]
fn scratch_file_needs_secure_messaging() {
    // Plain access to the eMRTD scratch file is refused both ways.
    let mut card = Card::with_capabilities(Wire::new(fresh()), Capabilities::SHORT_CHAINING);
    select_aid(&mut card, &EMRTD_AID);
    let fid = EF_EMRTD_SCRATCH.0.to_be_bytes();
    let select = CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x02, 0x0C).with_data(&fid);
    let mut buf = [0u8; 300];
    assert_eq!(
        card.transmit(&select, &mut buf).unwrap().sw(),
        StatusWord::SUCCESS
    );
    assert_eq!(
        update(&mut card, 0x00, &[1, 2, 3]).unwrap(),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
    let read = CommandRepr::new(Cla::INTERINDUSTRY, Ins::READ_BINARY, 0, 0).with_ne(16);
    assert_eq!(
        card.transmit(&read, &mut buf).unwrap().sw(),
        StatusWord::SECURITY_STATUS_NOT_SATISFIED
    );
}

// ----- the card's rules for protected chains, APDU by APDU ---------------------------------

/// Sends one APDU straight to the card, following `61xx` with GET RESPONSE.
fn raw(card: &mut VirtualCard, apdu: &[u8]) -> Vec<u8> {
    use cardwire_transport::CardHandler;
    let mut rsp = vec![0u8; 70_000];
    let mut out = Vec::new();
    let mut n = card.process(apdu, &mut rsp);
    loop {
        out.extend_from_slice(&rsp[..n - 2]);
        if rsp[n - 2] == 0x61 {
            n = card.process(&[apdu[0] & 0x03, 0xC0, 0, 0, rsp[n - 1]], &mut rsp);
            continue;
        }
        out.extend_from_slice(&rsp[n - 2..n]);
        return out;
    }
}

/// A powered card with BAC done on the basic channel and the scratch EF selected under SM;
/// the host's secure messaging session.
fn raw_bac() -> (VirtualCard, cardwire_sm::SmSession<cardwire_sm::TdesSuite>) {
    use cardwire_sm::bac::BacHost;
    use cardwire_transport::CardHandler;
    let mut card = fresh();
    card.power_on();
    let mut select = vec![0x00, 0xA4, 0x04, 0x0C, 7];
    select.extend_from_slice(&EMRTD_AID);
    assert_eq!(raw(&mut card, &select), [0x90, 0x00]);
    let mut host = BacHost::new(bac_keys(&card), [1; 8], [2; 16]);
    let challenge = raw(&mut card, &BacHost::GET_CHALLENGE);
    let mut ea = [0u8; 64];
    let n = host
        .external_authenticate_command(&challenge[..8], &mut ea)
        .unwrap();
    let answer = raw(&mut card, &ea[..n]);
    let mut sm = host.finish(&answer).unwrap();
    let fid = EF_EMRTD_SCRATCH.0.to_be_bytes();
    let sel = CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x02, 0x0C).with_data(&fid);
    assert_eq!(send_protected(&mut card, &mut sm, &sel), [0x90, 0x00]);
    (card, sm)
}

/// Wraps `cmd`, sends it and unwraps the answer (which must verify).
fn send_protected(
    card: &mut VirtualCard,
    sm: &mut cardwire_sm::SmSession<cardwire_sm::TdesSuite>,
    cmd: &CommandRepr<'_>,
) -> Vec<u8> {
    let mut wire = vec![0u8; cmd.data.len() + 128];
    let n = sm
        .wrap(cmd, cardwire_apdu::LengthForm::Auto, &mut wire)
        .unwrap();
    let answer = raw(card, &wire[..n]);
    let mut plain = vec![0u8; answer.len() + 16];
    let m = sm.unwrap_response(&answer, &mut plain).unwrap();
    plain[..m].to_vec()
}

fn update_link(chaining: bool, data: &[u8]) -> CommandRepr<'_> {
    CommandRepr::new(
        Cla::INTERINDUSTRY.with_chaining(chaining),
        Ins::UPDATE_BINARY,
        0,
        0,
    )
    .with_data(data)
}

fn read_scratch(
    card: &mut VirtualCard,
    sm: &mut cardwire_sm::SmSession<cardwire_sm::TdesSuite>,
) -> Vec<u8> {
    let read = CommandRepr::new(Cla::INTERINDUSTRY, Ins::READ_BINARY, 0, 0).with_ne(8);
    send_protected(card, sm, &read)
}

#[test]
fn protected_links_are_joined_in_order_and_run_once() {
    let (mut card, mut sm) = raw_bac();
    assert_eq!(
        send_protected(&mut card, &mut sm, &update_link(true, &[1, 2, 3])),
        [0x90, 0x00]
    );
    // Another command in the middle of the chain breaks it off (6883, ISO/IEC 7816-4
    // §5.3.3); nothing was written.
    assert_eq!(read_scratch(&mut card, &mut sm), [0x68, 0x83]);
    assert_eq!(
        read_scratch(&mut card, &mut sm),
        [0, 0, 0, 0, 0, 0, 0, 0, 0x90, 0x00]
    );
    assert_eq!(
        send_protected(&mut card, &mut sm, &update_link(true, &[1, 2, 3])),
        [0x90, 0x00]
    );
    assert_eq!(
        send_protected(&mut card, &mut sm, &update_link(true, &[4, 5])),
        [0x90, 0x00]
    );
    assert_eq!(
        send_protected(&mut card, &mut sm, &update_link(false, &[6])),
        [0x90, 0x00]
    );
    assert_eq!(
        read_scratch(&mut card, &mut sm),
        [1, 2, 3, 4, 5, 6, 0, 0, 0x90, 0x00]
    );
}

#[test]
fn a_plain_link_cannot_join_or_finish_a_protected_chain() {
    let (mut card, mut sm) = raw_bac();
    assert_eq!(
        send_protected(&mut card, &mut sm, &update_link(true, &[1, 2, 3])),
        [0x90, 0x00]
    );
    // A plain final link with the same header is refused and ends the chain.
    assert_eq!(raw(&mut card, &[0x00, 0xD6, 0, 0, 1, 9]), [0x68, 0x83]);
    // The secure channel lives on; the chain is gone: a protected final link alone is a
    // whole command now, written at offset 0.
    assert_eq!(
        send_protected(&mut card, &mut sm, &update_link(false, &[7])),
        [0x90, 0x00]
    );
    assert_eq!(
        read_scratch(&mut card, &mut sm),
        [7, 0, 0, 0, 0, 0, 0, 0, 0x90, 0x00]
    );
    // A plain chain link first, then a protected command: refused bare, plain chain dropped.
    assert_eq!(raw(&mut card, &[0x10, 0xD6, 0, 0, 1, 8]), [0x90, 0x00]);
    let mut wire = [0u8; 128];
    let n = sm
        .wrap(
            &update_link(false, &[5]),
            cardwire_apdu::LengthForm::Auto,
            &mut wire,
        )
        .unwrap();
    assert_eq!(raw(&mut card, &wire[..n]), [0x68, 0x83]);
}

#[test]
fn a_protected_final_link_with_another_header_is_refused_protected() {
    let (mut card, mut sm) = raw_bac();
    assert_eq!(
        send_protected(&mut card, &mut sm, &update_link(true, &[1, 2, 3])),
        [0x90, 0x00]
    );
    // Same INS, another offset: 6883, protected (the command itself verified).
    let other = CommandRepr::new(Cla::INTERINDUSTRY, Ins::UPDATE_BINARY, 0, 4).with_data(&[9]);
    assert_eq!(send_protected(&mut card, &mut sm, &other), [0x68, 0x83]);
    assert_eq!(
        read_scratch(&mut card, &mut sm),
        [0, 0, 0, 0, 0, 0, 0, 0, 0x90, 0x00]
    );
}
