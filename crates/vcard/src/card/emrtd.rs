//! The eMRTD applet's access control and chip authentication commands (ICAO Doc 9303-11):
//! PACE (§4.4: MSE:Set AT `C1 A4`, then four GENERAL AUTHENTICATE, through cardwire-sm's
//! [`PaceCard`]), Chip Authentication v1 (§6.2: MSE:Set AT `41 A4` and GENERAL AUTHENTICATE
//! under secure messaging, the keys switched after the answer), Active Authentication (§6.1:
//! INTERNAL AUTHENTICATE, ECDSA P-256 over SHA-256) and the BAC refusal of a card made without
//! BAC (`6982`, as newer documents answer).
//!
//! PACE runs with the Generic Mapping or, when EF.CardAccess offers it (the default), the
//! Chip Authentication Mapping (§4.4.3.3.3), whose static key is the Chip Authentication key
//! of DG14 and EF.CardSecurity. PACE runs with the MF or the eMRTD application selected; a PACE session opened at the MF
//! survives the protected SELECT of the eMRTD application (§4.4: the application is selected
//! after PACE). Passwords: the MRZ (reference 1) and the card access number (reference 2,
//! [`personalise::can`]).

use cardwire_apdu::{Ins, StatusWord};
use cardwire_sm::bac::MrzInfo;
use cardwire_sm::kdf::{COUNTER_ENC, COUNTER_MAC, KeyAlgorithm, derive_key};
use cardwire_sm::pace::{PaceCurve, PacePassword};
use cardwire_sm::pace_card::{MseSetAt, PaceCard, PaceCardRandomness};
use cardwire_sm::security_infos::{ID_CA, ParameterId};
use cardwire_sm::{AesSuite, SmSession};
use zeroize::Zeroize;

use crate::fs::{Body, NodeId};
use crate::personalise;

use super::command::{Arrival, Cmd, Reply};
use super::session::{Protection, Session};
use super::virtual_card::VirtualCard;

/// The PACE-GM protocol the card offers in EF.CardAccess and accepts.
const PACE_PROTOCOL: &[u8] = personalise::PACE_GM_PROTOCOL;
/// The PACE-CAM protocol, accepted when EF.CardAccess offers it.
const PACE_CAM_PROTOCOL: &[u8] = personalise::PACE_CAM_PROTOCOL;
/// The card's PACE domain parameters (EF.CardAccess parameter ID 12).
const PACE_CURVE: PaceCurve = PaceCurve::NistP256;
/// `6982`: BAC refused on a card made without it.
const REFUSED: StatusWord = StatusWord::SECURITY_STATUS_NOT_SATISFIED;

/// A PACE run under way on one logical channel.
pub(super) struct PaceRun {
    channel: u8,
    engine: PaceCard,
}

impl VirtualCard {
    /// Whether the MF or the eMRTD application is the current DF on `channel` (where PACE
    /// may run).
    fn pace_context(&self, channel: u8) -> bool {
        self.emrtd_selected(channel) || self.channel(channel).df == NodeId::MF
    }

    /// Whether this card refuses BAC (made with `serve --no-bac`, or switched by
    /// [`VirtualCard::set_bac_refused`]). Kept in the eMRTD application's configuration file,
    /// so a state file keeps it.
    pub fn bac_refused(&self) -> bool {
        self.emrtd_config().is_some_and(|c| c.first() == Some(&1))
    }

    fn emrtd_config(&self) -> Option<&[u8]> {
        let e = self.fs.child_by_fid(NodeId::MF, personalise::DF_EMRTD)?;
        let f = self.fs.child_by_fid(e, personalise::EF_EMRTD_CONFIG)?;
        match &self.fs.node(f)?.body {
            Body::Transparent(b) => Some(b),
            _ => None,
        }
    }

    /// Makes the eMRTD application refuse BAC (`6982` to GET CHALLENGE and EXTERNAL
    /// AUTHENTICATE) or accept it again, and saves that when the card has a state file.
    ///
    /// # Errors
    /// `6581` (memory failure) when the card has a state file and it cannot be saved.
    pub fn set_bac_refused(&mut self, refused: bool) -> Result<(), StatusWord> {
        let e = self.fs.child_by_fid(NodeId::MF, personalise::DF_EMRTD);
        let f = e.and_then(|e| self.fs.child_by_fid(e, personalise::EF_EMRTD_CONFIG));
        if let Some(Body::Transparent(b)) = f.and_then(|f| self.fs.node_mut(f)).map(|n| &mut n.body)
        {
            *b = vec![u8::from(refused)];
        }
        self.persist()
    }

    /// Whether EF.CardAccess offers PACE-CAM (besides PACE-GM), as a fresh card does.
    pub fn pace_cam_offered(&self) -> bool {
        self.card_access().is_some_and(|bytes| {
            cardwire_sm::security_infos::SecurityInfos::parse(bytes).is_ok_and(|infos| {
                infos
                    .pace_infos()
                    .any(|p| p.protocol() == PACE_CAM_PROTOCOL)
            })
        })
    }

    fn card_access(&self) -> Option<&[u8]> {
        let f = self
            .fs
            .child_by_fid(NodeId::MF, personalise::EF_CARD_ACCESS)?;
        match &self.fs.node(f)?.body {
            Body::Transparent(b) => Some(b),
            _ => None,
        }
    }

    /// Makes EF.CardAccess offer PACE-CAM and PACE-GM (`true`, a fresh card) or PACE-GM only
    /// (`false`, as cards made before CAM), and saves that when the card has a state file.
    /// MSE:Set AT for CAM is refused (`6A80`) while CAM is not offered.
    ///
    /// # Errors
    /// `6581` (memory failure) when the card has a state file and it cannot be saved.
    pub fn set_pace_cam(&mut self, offered: bool) -> Result<(), StatusWord> {
        let f = self
            .fs
            .child_by_fid(NodeId::MF, personalise::EF_CARD_ACCESS);
        if let Some(Body::Transparent(b)) = f.and_then(|f| self.fs.node_mut(f)).map(|n| &mut n.body)
        {
            *b = personalise::card_access(offered);
        }
        self.persist()
    }

    /// The card access number of this card (a PACE password, reference 2).
    pub fn can(&self) -> String {
        personalise::can(&self.seed)
    }

    /// GET CHALLENGE or EXTERNAL AUTHENTICATE in the eMRTD application of a card that refuses
    /// BAC: `6982`.
    pub(super) fn bac_is_refused_here(&self, cmd: &Cmd) -> bool {
        cmd.arrival == Arrival::Plain && self.emrtd_selected(cmd.channel) && self.bac_refused()
    }

    /// MANAGE SECURITY ENVIRONMENT for the eMRTD: `C1 A4` starts PACE, `41 A4` under secure
    /// messaging in the eMRTD application prepares Chip Authentication. `None`: not the
    /// eMRTD's, the identity application's MSE handles it.
    pub(super) fn emrtd_mse(&mut self, cmd: &Cmd) -> Option<Reply> {
        match (cmd.p1, cmd.p2) {
            (0xC1, 0xA4) if self.pace_context(cmd.channel) => Some(self.pace_set_at(cmd)),
            (0x41, 0xA4)
                if self.emrtd_selected(cmd.channel)
                    && matches!(cmd.arrival, Arrival::Bac | Arrival::Pace) =>
            {
                Some(self.chip_auth_set_at(cmd))
            }
            _ => None,
        }
    }

    fn pace_set_at(&mut self, cmd: &Cmd) -> Reply {
        self.pace = None;
        let Ok(mse) = MseSetAt::parse(&cmd.data) else {
            return Reply::sw(StatusWord::INCORRECT_DATA);
        };
        let cam = mse.protocol == PACE_CAM_PROTOCOL && self.pace_cam_offered();
        if (mse.protocol != PACE_PROTOCOL && !cam)
            || mse
                .parameter_id
                .is_some_and(|p| p != ParameterId::NIST_P256)
        {
            return Reply::sw(StatusWord::INCORRECT_DATA);
        }
        let random = match self.pace_randomness() {
            Ok(r) => r,
            Err(sw) => return Reply::sw(sw),
        };
        let mrz = &self.mrz;
        let info = MrzInfo::new(&mrz.document_number, &mrz.birth_date, &mrz.expiry_date);
        let can = self.can();
        let password = match mse.reference {
            1 => {
                let Ok(info) = &info else {
                    return Reply::sw(StatusWord::REFERENCE_DATA_NOT_USABLE);
                };
                PacePassword::Mrz(info)
            }
            2 => PacePassword::Can(can.as_bytes()),
            _ => return Reply::sw(StatusWord::INCORRECT_DATA),
        };
        let engine = if cam {
            // The static key of CAM: DG14's Chip Authentication key (EF.CardSecurity's).
            let Ok(key) = personalise::chip_authentication_key(&self.seed) else {
                return Reply::sw(StatusWord::EXECUTION_ERROR);
            };
            let mut sk = key.to_bytes();
            let engine = PaceCard::new_cam(mse.protocol, PACE_CURVE, &password, random, &sk);
            sk.zeroize();
            engine
        } else {
            PaceCard::new(PACE_PROTOCOL, PACE_CURVE, &password, random)
        };
        match engine {
            Ok(engine) => {
                // A new PACE ends the channel's secure messaging (§4.4.4.1: PACE starts
                // unprotected).
                if let Some(slot) = self.sessions.get_mut(usize::from(cmd.channel)) {
                    *slot = None;
                }
                self.pace = Some(PaceRun {
                    channel: cmd.channel,
                    engine,
                });
                Reply::sw(StatusWord::SUCCESS)
            }
            Err(_) => Reply::sw(StatusWord::EXECUTION_ERROR),
        }
    }

    /// The chip's nonce and private keys for one PACE run, from the operating system.
    fn pace_randomness(&self) -> Result<PaceCardRandomness, StatusWord> {
        let mut nonce = [0u8; 16];
        let (mut sk_map, mut sk_eph) = ([0u8; 32], [0u8; 32]);
        self.random(&mut nonce)?;
        for key in [&mut sk_map, &mut sk_eph] {
            let mut tries = 0;
            loop {
                self.random(key)?;
                if PACE_CURVE.is_valid_private_key(key) {
                    break;
                }
                tries += 1;
                if tries > 64 {
                    return Err(StatusWord::EXECUTION_ERROR);
                }
            }
        }
        let r = PaceCardRandomness::new(nonce, &sk_map, &sk_eph)
            .map_err(|_| StatusWord::EXECUTION_ERROR);
        nonce.zeroize();
        sk_map.zeroize();
        sk_eph.zeroize();
        r
    }

    /// GENERAL AUTHENTICATE (INS `86`): a PACE step (plain, steps 1-3 chained with CLA `10`),
    /// or Chip Authentication's key agreement under secure messaging.
    pub(super) fn emrtd_general_authenticate(&mut self, cmd: &Cmd) -> Reply {
        if matches!(cmd.arrival, Arrival::Bac | Arrival::Pace) {
            return self.chip_auth_general_authenticate(cmd);
        }
        if cmd.arrival != Arrival::Plain {
            return Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED);
        }
        let Some(mut run) = self.pace.take() else {
            return Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED);
        };
        if run.channel != cmd.channel {
            return Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED);
        }
        let Some(wire) = super::secure::encode(cmd) else {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        };
        let mut out = [0u8; 80];
        match run.engine.general_authenticate(&wire, &mut out) {
            Ok(n) => {
                let answer = out.get(..n).unwrap_or(&[]).to_vec();
                if run.engine.is_done() {
                    match run.engine.into_session() {
                        Ok(sm) => {
                            if let Some(slot) = self.sessions.get_mut(usize::from(cmd.channel)) {
                                *slot = Some(Session::new(Protection::Pace(Box::new(sm))));
                            }
                        }
                        Err(_) => return Reply::sw(StatusWord::EXECUTION_ERROR),
                    }
                } else {
                    self.pace = Some(run);
                }
                Reply::ok(answer)
            }
            // The run is over (a wrong token answers 6300); PACE starts again with MSE:Set AT.
            Err(e) => Reply::sw(PaceCard::status_for(e)),
        }
    }

    fn chip_auth_set_at(&mut self, cmd: &Cmd) -> Reply {
        self.chip_auth = None;
        let Ok(objects) = cardwire_tlv::parse_all(
            &cmd.data,
            cardwire_tlv::Options::new().with_mode(cardwire_tlv::Mode::Iso),
        ) else {
            return Reply::sw(StatusWord::INCORRECT_DATA);
        };
        let mut protocol_ok = false;
        for o in objects {
            match (o.tag(), o.value()) {
                (cardwire_tlv::Tag(0x80), oid) => {
                    protocol_ok = oid.strip_prefix(ID_CA) == Some(&[0x02, 0x02][..]);
                }
                // One key only: key ID 1, or none.
                (cardwire_tlv::Tag(0x84), id) if id != [1] => {
                    return Reply::sw(StatusWord::REFERENCED_DATA_NOT_FOUND);
                }
                _ => {}
            }
        }
        if !protocol_ok {
            return Reply::sw(StatusWord::INCORRECT_DATA);
        }
        self.chip_auth = Some(cmd.channel);
        Reply::sw(StatusWord::SUCCESS)
    }

    /// Chip Authentication's GENERAL AUTHENTICATE `7C { 80 PK_IFD }` → `7C 00`; K =
    /// x(SK_chip · PK_IFD) and the new AES-128 keys take over after this answer is sent
    /// (ICAO 9303-11 §6.2.4, §9.7.1; SSC 0).
    fn chip_auth_general_authenticate(&mut self, cmd: &Cmd) -> Reply {
        if self.chip_auth.take() != Some(cmd.channel) || cmd.cla.chaining() {
            return Reply::sw(StatusWord::CONDITIONS_OF_USE_NOT_SATISFIED);
        }
        let Ok(pk_ifd) = cardwire_sm::pace::parse_dynamic_authentication_data(&cmd.data, 0x80)
        else {
            return Reply::sw(StatusWord::INCORRECT_DATA);
        };
        let Ok(key) = personalise::chip_authentication_key(&self.seed) else {
            return Reply::sw(StatusWord::EXECUTION_ERROR);
        };
        let Ok(peer) = p256::PublicKey::from_sec1_bytes(pk_ifd) else {
            return Reply::sw(StatusWord::INCORRECT_DATA);
        };
        let shared = p256::ecdh::diffie_hellman(key.as_nonzero_scalar(), peer.as_affine());
        let mut k = [0u8; 32];
        k.copy_from_slice(shared.raw_secret_bytes());
        let enc = derive_key(&k, COUNTER_ENC, KeyAlgorithm::Aes128);
        let mac = derive_key(&k, COUNTER_MAC, KeyAlgorithm::Aes128);
        k.zeroize();
        let session = AesSuite::new(enc.as_bytes(), mac.as_bytes())
            .and_then(|suite| SmSession::card(suite, &[0; 16]));
        match session {
            Ok(s) => {
                self.switch_session = Some(Box::new(s));
                Reply::ok(vec![0x7C, 0x00])
            }
            Err(_) => Reply::sw(StatusWord::EXECUTION_ERROR),
        }
    }

    /// INTERNAL AUTHENTICATE in the eMRTD application: Active Authentication (ICAO 9303-11
    /// §6.1) with DG15's ECDSA P-256 key: the 8-byte challenge in, the plain signature `r ‖ s`
    /// over SHA-256(challenge) out (BSI TR-03111 §5.2.1).
    pub(super) fn active_authenticate(&mut self, cmd: &Cmd) -> Reply {
        use p256::ecdsa::signature::Signer;
        if cmd.p1 != 0 || cmd.p2 != 0 {
            return Reply::sw(StatusWord::INCORRECT_P1_P2);
        }
        if cmd.arrival == Arrival::Plain {
            return Reply::sw(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        if cmd.data.len() != 8 {
            return Reply::sw(StatusWord::WRONG_LENGTH);
        }
        let Ok(key) = personalise::active_authentication_key(&self.seed) else {
            return Reply::sw(StatusWord::EXECUTION_ERROR);
        };
        let signature: p256::ecdsa::Signature = key.sign(&cmd.data);
        Reply::ok(signature.to_bytes().to_vec())
    }

    /// GET CHALLENGE and EXTERNAL AUTHENTICATE of BAC on a card that refuses BAC.
    pub(super) fn refuse_bac(&self) -> Reply {
        Reply::sw(REFUSED)
    }

    /// Whether a plain GENERAL AUTHENTICATE (INS `86`) must bypass command chaining: PACE's
    /// steps carry CLA `10` but each is answered (ICAO 9303-11 §4.4.4.2).
    pub(super) fn is_pace_step(wire: &[u8]) -> bool {
        matches!(wire, [cla, ins, ..] if *ins == Ins(0x86).0 && cla & 0xE0 == 0)
    }
}

#[cfg(test)]
mod tests {
    use cardwire_transport::CardHandler;

    use super::*;
    use crate::identity::Seed;

    fn send(card: &mut VirtualCard, apdu: &[u8]) -> Vec<u8> {
        let mut rsp = [0u8; 512];
        let n = card.process(apdu, &mut rsp);
        rsp[..n].to_vec()
    }

    fn sw(rsp: &[u8]) -> [u8; 2] {
        [rsp[rsp.len() - 2], rsp[rsp.len() - 1]]
    }

    const SELECT_EMRTD: [u8; 12] = [
        0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01,
    ];
    /// MSE:Set AT for PACE-GM ECDH AES-128 with the CAN (reference 2) on parameter ID 12.
    const MSE_CAN: [u8; 23] = [
        0x00, 0x22, 0xC1, 0xA4, 0x12, 0x80, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04,
        0x02, 0x02, 0x83, 0x01, 0x02, 0x84, 0x01, 0x0C,
    ];

    fn card() -> VirtualCard {
        let mut c = VirtualCard::new(&Seed::DEFAULT).unwrap();
        c.power_on();
        c
    }

    #[test]
    fn pace_set_at_and_the_first_step() {
        let mut c = card();
        assert_eq!(send(&mut c, &MSE_CAN), [0x90, 0x00]);
        // Step 1 with CLA 10 is answered (not gathered as a chain): 7C 12 80 10 z.
        let rsp = send(&mut c, &[0x10, 0x86, 0x00, 0x00, 0x02, 0x7C, 0x00, 0x00]);
        assert_eq!(sw(&rsp), [0x90, 0x00]);
        assert_eq!(&rsp[..4], &[0x7C, 0x12, 0x80, 0x10]);
        assert_eq!(rsp.len(), 20 + 2);
        // Step 1 again is out of order: the run is dropped (6A80: not step 2's data).
        let rsp = send(&mut c, &[0x10, 0x86, 0x00, 0x00, 0x02, 0x7C, 0x00, 0x00]);
        assert_eq!(sw(&rsp), [0x6A, 0x80]);
        // No run any more.
        let rsp = send(&mut c, &[0x10, 0x86, 0x00, 0x00, 0x02, 0x7C, 0x00, 0x00]);
        assert_eq!(sw(&rsp), [0x69, 0x85]);
    }

    #[test]
    fn pace_refuses_unknown_passwords_protocols_and_domain_parameters() {
        let mut c = card();
        let mut pin = MSE_CAN;
        pin[19] = 0x03;
        assert_eq!(send(&mut c, &pin), [0x6A, 0x80]);
        let mut dh = MSE_CAN;
        dh[15] = 0x01;
        assert_eq!(send(&mut c, &dh), [0x6A, 0x80]);
        let mut brainpool = MSE_CAN;
        brainpool[22] = 0x0D;
        assert_eq!(send(&mut c, &brainpool), [0x6A, 0x80]);
        // Chip Authentication's MSE is refused outside secure messaging (the identity
        // application's MSE answers it; in the eMRTD DF it is not the eMRTD's).
        assert_eq!(send(&mut c, &SELECT_EMRTD), [0x90, 0x00]);
        let ga = [0x00, 0x86, 0x00, 0x00, 0x04, 0x7C, 0x02, 0x80, 0x00, 0x00];
        assert_eq!(sw(&send(&mut c, &ga)), [0x69, 0x85]);
        // Active Authentication needs secure messaging.
        let ia = [0x00, 0x88, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00];
        assert_eq!(sw(&send(&mut c, &ia)), [0x69, 0x82]);
    }

    #[test]
    fn bac_is_refused_with_6982_only_when_configured() {
        let mut c = card();
        assert_eq!(send(&mut c, &SELECT_EMRTD), [0x90, 0x00]);
        let challenge = [0x00, 0x84, 0x00, 0x00, 0x08];
        assert_eq!(sw(&send(&mut c, &challenge)), [0x90, 0x00]);
        c.set_bac_refused(true).unwrap();
        assert!(c.bac_refused());
        assert_eq!(send(&mut c, &challenge), [0x69, 0x82]);
        let mut ea = vec![0x00, 0x82, 0x00, 0x00, 0x28];
        ea.extend_from_slice(&[0u8; 40]);
        ea.push(0x28);
        assert_eq!(send(&mut c, &ea), [0x69, 0x82]);
        // Outside the eMRTD application GET CHALLENGE still works.
        assert_eq!(
            send(&mut c, &[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00]),
            [0x90, 0x00]
        );
        assert_eq!(sw(&send(&mut c, &challenge)), [0x90, 0x00]);
    }

    #[test]
    fn the_can_is_six_digits_from_the_seed() {
        let c = card();
        assert_eq!(c.can(), "721853");
        assert_ne!(personalise::can(&Seed::from_text("another card")), c.can());
    }
}
