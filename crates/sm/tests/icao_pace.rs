//! PACE over a card session, replaying ICAO Doc 9303-11 (8th edition) Appendix G.1 ("ECDH
//! based example": PACE-GM, brainpoolP256r1, AES-128, MRZ password): the terminal's random
//! draws are the appendix's private keys, so every command must equal the appendix's bytes.
// Test code: a failing unwrap or index is a failing test.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use cardwire_apdu::{CommandRepr, Response};
use cardwire_sm::pace::{PacePassword, PaceSession};
use cardwire_sm::pace_driver::{choose_pace, establish_pace, establish_pace_async};
use cardwire_sm::security_infos::SecurityInfos;
use cardwire_sm::{Error, MrzInfo};
use cardwire_transport::{AsyncSession, ErrorKind, Session};
use common::{FailingRng, Recorded, block_on, hex};

/// EF.CardAccess of Appendix G.1.
const CARD_ACCESS: &str = "31143012060A04007F0007020204020202010202010D";
const SK_MAP_IFD: &str = "7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99";
const SK_IFD: &str = "A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595";

/// (command, response) pairs of Appendix G.1.
fn transcript() -> Vec<(Vec<u8>, Vec<u8>)> {
    [
        ("0022C1A40F800A04007F00070202040202830101", "9000"),
        (
            "10860000027C0000",
            "7C12801095A3A016522EE98D01E76CB6B98B42C39000",
        ),
        (
            "10860000457C438141047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E\
             544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D00",
            "7C43824104824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57\
             30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C549000",
        ),
        (
            "10860000457C438341042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C\
             3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB3646200",
            "7C438441049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB\
             7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F0949000",
        ),
        (
            "008600000C7C0A8508C2B0BD78D94BA86600",
            "7C0A86083ABB9674BCE93C089000",
        ),
    ]
    .iter()
    .map(|(c, r)| (hex(c), hex(r)))
    .collect()
}

/// A chip that replays the transcript and checks each command byte for byte.
struct Scripted {
    script: Vec<(Vec<u8>, Vec<u8>)>,
    sent: usize,
    /// Commands that differed from the appendix (allowed only when not strict).
    mismatches: usize,
    strict: bool,
}

impl Scripted {
    fn new() -> Self {
        Self {
            script: transcript(),
            sent: 0,
            mismatches: 0,
            strict: true,
        }
    }
    fn exchange<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, ErrorKind> {
        let mut wire = [0u8; 300];
        let wire = command.encode(&mut wire).unwrap();
        let (expected, answer) = &self.script[self.sent];
        if self.strict {
            assert_eq!(wire, &expected[..], "command {}", self.sent);
        } else if wire != &expected[..] {
            self.mismatches += 1;
        }
        self.sent += 1;
        response[..answer.len()].copy_from_slice(answer);
        Ok(Response::new_checked(&response[..answer.len()]).unwrap())
    }
}

impl Session for Scripted {
    type Error = ErrorKind;
    fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, ErrorKind> {
        self.exchange(command, response)
    }
}

impl AsyncSession for Scripted {
    type Error = ErrorKind;
    async fn transmit<'r>(
        &mut self,
        command: &CommandRepr<'_>,
        response: &'r mut [u8],
    ) -> Result<Response<&'r [u8]>, ErrorKind> {
        self.exchange(command, response)
    }
}

/// A "generator" that yields the appendix's two private keys, in order.
fn appendix_keys() -> Recorded {
    let mut v = hex(SK_MAP_IFD);
    v.extend(hex(SK_IFD));
    Recorded(v)
}

fn mrz() -> MrzInfo {
    MrzInfo::new("T22000129", "640812", "101031").unwrap()
}

#[test]
fn appendix_g1_over_a_session() {
    let card_access = hex(CARD_ACCESS);
    let infos = SecurityInfos::parse(&card_access).unwrap();
    let (info, curve) = choose_pace(&infos).unwrap();
    let mrz = mrz();
    let mut chip = Scripted::new();
    let session = establish_pace(
        &mut chip,
        info.protocol(),
        curve,
        &PacePassword::Mrz(&mrz),
        &mut appendix_keys(),
    )
    .unwrap();
    assert_eq!(chip.sent, 5);
    let PaceSession::Aes(sm) = session else {
        panic!("AES-128 expected")
    };
    assert_eq!(sm.ssc(), &[0u8; 16]);
}

#[test]
fn appendix_g1_over_an_async_session() {
    let card_access = hex(CARD_ACCESS);
    let infos = SecurityInfos::parse(&card_access).unwrap();
    let (info, curve) = choose_pace(&infos).unwrap();
    let mrz = mrz();
    let mut chip = Scripted::new();
    let session = block_on(establish_pace_async(
        &mut chip,
        info.protocol(),
        curve,
        &PacePassword::Mrz(&mrz),
        &mut appendix_keys(),
    ));
    assert!(matches!(session, Ok(PaceSession::Aes(_))));
    assert_eq!(chip.sent, 5);
}

#[test]
fn failing_generator_sends_nothing() {
    let card_access = hex(CARD_ACCESS);
    let infos = SecurityInfos::parse(&card_access).unwrap();
    let (info, curve) = choose_pace(&infos).unwrap();
    let mrz = mrz();
    let mut chip = Scripted::new();
    let r = establish_pace(
        &mut chip,
        info.protocol(),
        curve,
        &PacePassword::Mrz(&mrz),
        &mut FailingRng,
    );
    assert_eq!(r.err(), Some(Error::Randomness));
    assert_eq!(chip.sent, 0);
}

#[test]
fn tampered_chip_token_is_refused() {
    let card_access = hex(CARD_ACCESS);
    let infos = SecurityInfos::parse(&card_access).unwrap();
    let (info, curve) = choose_pace(&infos).unwrap();
    let mrz = mrz();
    let mut chip = Scripted::new();
    let last = chip.script.len() - 1;
    chip.script[last].1[5] ^= 0x01;
    let r = establish_pace(
        &mut chip,
        info.protocol(),
        curve,
        &PacePassword::Mrz(&mrz),
        &mut appendix_keys(),
    );
    assert_eq!(r.err(), Some(Error::AuthenticationFailed));
}

#[test]
fn wrong_mrz_is_refused() {
    // With another MRZ, Kπ differs, so s and hence Ĝ and PK_IFD differ: the key agreement
    // command no longer matches the appendix (T_IFD still does: it covers PK_IC under a key
    // from SK_IFD · PK_IC, both unchanged), and the chip's token, over the appendix's PK_IFD,
    // is refused.
    let other = MrzInfo::new("T22000130", "640812", "101031").unwrap();
    let card_access = hex(CARD_ACCESS);
    let infos = SecurityInfos::parse(&card_access).unwrap();
    let (info, curve) = choose_pace(&infos).unwrap();
    let mut chip = Scripted::new();
    chip.strict = false;
    let r = establish_pace(
        &mut chip,
        info.protocol(),
        curve,
        &PacePassword::Mrz(&other),
        &mut appendix_keys(),
    );
    assert_eq!(r.err(), Some(Error::AuthenticationFailed));
    assert_eq!(chip.sent, 5, "sent");
    assert_eq!(chip.mismatches, 1, "only the key agreement command differs");
}
