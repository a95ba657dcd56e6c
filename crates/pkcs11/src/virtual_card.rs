//! Feature `virtual-card`: an in-process PIV card as the module's only slot, for tests and
//! demonstrations (`CARDWIRE_PKCS11_VIRTUAL=<seed text>`).
//!
//! [`PivStandIn`] answers the PIV commands the module sends (SELECT, GET DATA, VERIFY,
//! CHANGE REFERENCE DATA, RESET RETRY COUNTER, GENERAL AUTHENTICATE for ECDSA and ECDH on
//! P-256; SP 800-73-4 Part 2 §3) with keys and certificates from `cardwire-vcard`'s
//! deterministic identities: 9A holds the identity of the seed, 9C and 9D identities of
//! derived seeds. PIN `123456`, PUK `12345678`, three tries each. It is a stand-in for the
//! PIV application of `cardwire-vcard` and is replaced by it once that exists; the module
//! sees it only through [`crate::backend::SlotSource`].

use std::sync::{Arc, Mutex};

use cardwire_transport::{Card, CardHandler, ErrorKind, InProcess};
use cardwire_vcard::identity::{Identity, Seed, derive_signing_key};
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::hazmat::PrehashSigner;

use crate::backend::{Apdu, Channel, ReaderState, SlotSource};
use crate::error::{Result, Rv};
use crate::object::der_tlv;

/// The virtual reader's name.
pub const READER: &str = "cardwire virtual PIV reader 00 00";

/// The PIN the virtual card starts with.
pub const PIN: &[u8] = b"123456";
/// The PUK the virtual card starts with.
pub const PUK: &[u8] = b"12345678";

const TRIES: u8 = 3;

struct Key {
    slot: u8,
    key: SigningKey,
    certificate: Vec<u8>,
}

/// The card side: state that survives resets (PINs, keys) and state that does not
/// (verification, selection, a pending long answer).
pub struct PivStandIn {
    keys: Vec<Key>,
    chuid: Vec<u8>,
    pin: [u8; 8],
    puk: [u8; 8],
    pin_tries: u8,
    puk_tries: u8,
    pin_verified: bool,
    // Set by a successful VERIFY and cleared by the next command: 9C's "PIN always".
    just_verified: bool,
    selected: bool,
    pending: Vec<u8>,
}

fn pad8(pin: &[u8]) -> [u8; 8] {
    let mut out = [0xFF; 8];
    for (o, p) in out.iter_mut().zip(pin) {
        *o = *p;
    }
    out
}

fn identity(text: &str) -> Result<(Identity, SigningKey)> {
    let seed = Seed::from_text(text);
    let identity = Identity::from_seed(&seed).map_err(|_| Rv::GENERAL_ERROR)?;
    let key = derive_signing_key(&seed.0, "identity key").map_err(|_| Rv::GENERAL_ERROR)?;
    Ok((identity, key))
}

fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    let n = value.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x100 {
        out.extend_from_slice(&[0x81, n as u8]);
    } else {
        out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(value);
    out
}

impl PivStandIn {
    /// The card for `seed`.
    ///
    /// # Errors
    /// `CKR_GENERAL_ERROR` when an identity cannot be built.
    pub fn new(seed: &str) -> Result<Self> {
        let mut keys = Vec::new();
        let mut guid = [0u8; 16];
        for (slot, suffix) in [(0x9A, ""), (0x9C, "/9C"), (0x9D, "/9D")] {
            let (identity, key) = identity(&format!("{seed}{suffix}"))?;
            if slot == 0x9A {
                guid[..8].copy_from_slice(&identity.serial.0);
            }
            keys.push(Key {
                slot,
                key,
                certificate: identity.certificate,
            });
        }
        // CHUID (SP 800-73-4 Part 1 Table 9): FASC-N, GUID, expiration, empty signature.
        let mut chuid = tlv(&[0x30], &[0xD4; 25]);
        chuid.extend(tlv(&[0x34], &guid));
        chuid.extend(tlv(&[0x35], b"20991231"));
        chuid.extend(tlv(&[0x3E], &[]));
        chuid.extend(tlv(&[0xFE], &[]));
        Ok(PivStandIn {
            keys,
            chuid,
            pin: pad8(PIN),
            puk: pad8(PUK),
            pin_tries: TRIES,
            puk_tries: TRIES,
            pin_verified: false,
            just_verified: false,
            selected: false,
            pending: Vec::new(),
        })
    }

    fn answer(&mut self, data: &[u8], sw: u16, out: &mut [u8]) -> usize {
        let (now, later) = data.split_at(data.len().min(256));
        self.pending = later.to_vec();
        let sw = if self.pending.is_empty() {
            sw
        } else {
            0x6100 | (self.pending.len().min(255) as u16 & 0xFF)
        };
        let n = now.len();
        if let Some(dst) = out.get_mut(..n) {
            dst.copy_from_slice(now);
        }
        if let Some(dst) = out.get_mut(n..n + 2) {
            dst.copy_from_slice(&sw.to_be_bytes());
        }
        n + 2
    }

    fn pin_check(&mut self, reference: u8, given: &[u8]) -> u16 {
        let (secret, tries) = match reference {
            0x80 => (self.pin, &mut self.pin_tries),
            _ => (self.puk, &mut self.puk_tries),
        };
        if *tries == 0 {
            return 0x6983;
        }
        if given == secret {
            *tries = TRIES;
            0x9000
        } else {
            *tries -= 1;
            0x63C0 | u16::from(*tries)
        }
    }

    fn dispatch(&mut self, ins: u8, p1: u8, p2: u8, data: &[u8]) -> (Vec<u8>, u16) {
        let fresh = core::mem::take(&mut self.just_verified);
        match ins {
            0xA4 if p1 == 0x04 => {
                if data.starts_with(&cardwire_piv::PIV_AID) {
                    self.selected = true;
                    let mut apt = tlv(&[0x4F], &cardwire_piv::PIV_AID_FULL[5..]);
                    apt.extend(tlv(&[0x79], &tlv(&[0x4F], &cardwire_piv::PIV_AID[..5])));
                    (tlv(&[0x61], &apt), 0x9000)
                } else {
                    self.selected = false;
                    (Vec::new(), 0x6A82)
                }
            }
            _ if !self.selected => (Vec::new(), 0x6D00),
            0xC0 => {
                let rest = core::mem::take(&mut self.pending);
                (rest, 0x9000)
            }
            0xCB => {
                let tag = match data {
                    [0x5C, 0x03, a, b, c] => [*a, *b, *c],
                    _ => return (Vec::new(), 0x6A80),
                };
                let content = match tag {
                    [0x5F, 0xC1, 0x02] => Some(self.chuid.clone()),
                    [0x5F, 0xC1, obj] => {
                        let slot = match obj {
                            0x05 => 0x9A,
                            0x0A => 0x9C,
                            0x0B => 0x9D,
                            _ => 0,
                        };
                        self.keys.iter().find(|k| k.slot == slot).map(|k| {
                            let mut c = tlv(&[0x70], &k.certificate);
                            c.extend(tlv(&[0x71], &[0x00]));
                            c.extend(tlv(&[0xFE], &[]));
                            c
                        })
                    }
                    _ => None,
                };
                match content {
                    Some(c) => (tlv(&[0x53], &c), 0x9000),
                    None => (Vec::new(), 0x6A82),
                }
            }
            0x20 => {
                if p2 != 0x80 {
                    return (Vec::new(), 0x6A88);
                }
                if p1 == 0xFF {
                    self.pin_verified = false;
                    return (Vec::new(), 0x9000);
                }
                if data.is_empty() {
                    return match (self.pin_verified, self.pin_tries) {
                        (true, _) => (Vec::new(), 0x9000),
                        (false, 0) => (Vec::new(), 0x6983),
                        (false, n) => (Vec::new(), 0x63C0 | u16::from(n)),
                    };
                }
                if data.len() != 8 {
                    return (Vec::new(), 0x6A80);
                }
                let sw = self.pin_check(0x80, data);
                self.pin_verified = sw == 0x9000;
                self.just_verified = self.pin_verified;
                (Vec::new(), sw)
            }
            0x24 => {
                let (old, new) = data.split_at(data.len().min(8));
                if data.len() != 16 || !matches!(p2, 0x80 | 0x81) {
                    return (Vec::new(), 0x6A80);
                }
                let sw = self.pin_check(p2, old);
                if sw == 0x9000 {
                    let new = pad8(new);
                    if p2 == 0x80 {
                        self.pin = new;
                    } else {
                        self.puk = new;
                    }
                }
                (Vec::new(), sw)
            }
            0x2C => {
                let (puk, new) = data.split_at(data.len().min(8));
                if data.len() != 16 || p2 != 0x80 {
                    return (Vec::new(), 0x6A80);
                }
                let sw = self.pin_check(0x81, puk);
                if sw == 0x9000 {
                    self.pin = pad8(new);
                    self.pin_tries = TRIES;
                }
                (Vec::new(), sw)
            }
            0x87 => self.general_authenticate(p1, p2, data, fresh),
            _ => (Vec::new(), 0x6D00),
        }
    }

    fn general_authenticate(
        &mut self,
        alg: u8,
        slot: u8,
        data: &[u8],
        fresh: bool,
    ) -> (Vec<u8>, u16) {
        let Some(key) = self.keys.iter().find(|k| k.slot == slot) else {
            return (Vec::new(), 0x6A88);
        };
        if alg != 0x11 {
            return (Vec::new(), 0x6A80);
        }
        let allowed = if slot == 0x9C {
            fresh
        } else {
            self.pin_verified
        };
        if !allowed {
            return (Vec::new(), 0x6982);
        }
        let Some((0x7C, mut inner, [])) = der_tlv(data) else {
            return (Vec::new(), 0x6A80);
        };
        let (mut challenge, mut exponentiation) = (None, None);
        while let Some((tag, value, rest)) = der_tlv(inner) {
            match tag {
                0x81 => challenge = Some(value),
                0x85 => exponentiation = Some(value),
                _ => {}
            }
            inner = rest;
        }
        if let Some(digest) = challenge {
            let signature: p256::ecdsa::Signature = match key.key.sign_prehash(digest) {
                Ok(s) => s,
                Err(_) => return (Vec::new(), 0x6A80),
            };
            let der = signature.to_der();
            (tlv(&[0x7C], &tlv(&[0x82], der.as_bytes())), 0x9000)
        } else if let Some(point) = exponentiation {
            let Ok(peer) = p256::PublicKey::from_sec1_bytes(point) else {
                return (Vec::new(), 0x6A80);
            };
            let shared = p256::ecdh::diffie_hellman(key.key.as_nonzero_scalar(), peer.as_affine());
            (
                tlv(&[0x7C], &tlv(&[0x82], shared.raw_secret_bytes())),
                0x9000,
            )
        } else {
            (Vec::new(), 0x6A80)
        }
    }
}

impl CardHandler for PivStandIn {
    fn atr(&self) -> &[u8] {
        &[0x3B, 0x00]
    }

    fn power_on(&mut self) {
        self.pin_verified = false;
        self.just_verified = false;
        self.selected = false;
        self.pending.clear();
    }

    fn power_off(&mut self) {
        self.power_on();
    }

    fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize {
        let (header, body) = command.split_at(command.len().min(4));
        let [_cla, ins, p1, p2] = header else {
            return self.answer(&[], 0x6700, response);
        };
        // Short APDUs only: Lc and data, then an optional Le.
        let data = match body {
            [] | [_] => &[][..],
            [lc, rest @ ..] => rest.get(..usize::from(*lc)).unwrap_or_default(),
        };
        let (out, sw) = self.dispatch(*ins, *p1, *p2, data);
        self.answer(&out, sw, response)
    }
}

/// Shared between the source, its channels and a test: the card and whether it is inserted.
pub struct Shared {
    card: PivStandIn,
    present: bool,
    events: u64,
}

/// A handle a test uses to remove, insert or reset the virtual card.
#[derive(Clone)]
pub struct VirtualReader(Arc<Mutex<Shared>>);

impl VirtualReader {
    /// A reader with the card for `seed` inserted.
    ///
    /// # Errors
    /// As [`PivStandIn::new`].
    pub fn new(seed: &str) -> Result<Self> {
        Ok(VirtualReader(Arc::new(Mutex::new(Shared {
            card: PivStandIn::new(seed)?,
            present: true,
            events: 0,
        }))))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> Result<R> {
        let mut guard = self.0.lock().map_err(|_| Rv::GENERAL_ERROR)?;
        Ok(f(&mut guard))
    }

    /// Takes the card out (`insert == false`) or puts it back; either is one reader event.
    ///
    /// # Errors
    /// `CKR_GENERAL_ERROR` for a poisoned lock.
    pub fn set_present(&self, insert: bool) -> Result<()> {
        self.with(|s| {
            s.present = insert;
            s.events += 1;
            s.card.power_on();
        })
    }

    /// Resets the card (another application did): its security state is lost, and
    /// connections made before see `CardReset`.
    ///
    /// # Errors
    /// `CKR_GENERAL_ERROR` for a poisoned lock.
    pub fn reset(&self) -> Result<()> {
        self.with(|s| {
            s.events += 1;
            s.card.power_on();
        })
    }

    /// The source for a [`crate::module::Module`].
    pub fn source(&self) -> Box<dyn SlotSource> {
        Box::new(VirtualSource(self.clone()))
    }
}

struct VirtualSource(VirtualReader);

impl SlotSource for VirtualSource {
    fn readers(&mut self) -> Result<Vec<ReaderState>> {
        self.0.with(|s| {
            vec![ReaderState {
                name: READER.into(),
                card_present: s.present,
                events: s.events,
                pin_pad: false,
            }]
        })
    }

    fn connect(&mut self, reader: &str) -> Result<Box<dyn Channel>> {
        if reader != READER {
            return Err(Rv::SLOT_ID_INVALID);
        }
        let events = self.0.with(|s| s.present.then_some(s.events))?;
        let events = events.ok_or(Rv::TOKEN_NOT_PRESENT)?;
        let handler = Connection {
            reader: self.0.clone(),
        };
        let card = Card::open(InProcess::new(handler)).map_err(|_| Rv::DEVICE_ERROR)?;
        Ok(Box::new(VirtualChannel {
            card,
            reader: self.0.clone(),
            events,
        }))
    }
}

/// One connection: talks to the card while it is the one connected to; afterwards every
/// call fails as PC/SC would (`CardRemoved` or `CardReset`).
struct VirtualChannel {
    card: Card<InProcess<Connection>>,
    reader: VirtualReader,
    events: u64,
}

impl VirtualChannel {
    fn check(&self) -> core::result::Result<(), ErrorKind> {
        let state = self
            .reader
            .with(|s| (s.present, s.events))
            .map_err(|_| ErrorKind::Other)?;
        match state {
            (false, _) => Err(ErrorKind::CardRemoved),
            (true, e) if e != self.events => Err(ErrorKind::CardReset),
            _ => Ok(()),
        }
    }
}

impl Channel for VirtualChannel {
    fn transaction(&mut self, op: &mut dyn FnMut(&mut dyn Apdu) -> Result<()>) -> Result<()> {
        self.check().map_err(crate::error::from_transport)?;
        Channel::transaction(&mut self.card, op)
    }

    fn keep_security_state(&mut self, keep: bool) {
        self.card.keep_security_state(keep);
    }
}

/// The card as the transport's session sees it.
struct Connection {
    reader: VirtualReader,
}

impl CardHandler for Connection {
    fn atr(&self) -> &[u8] {
        &[0x3B, 0x00]
    }

    /// This connection's own reset (the session's release policy): the card's security
    /// state is lost, but it is no reader event for the other connections.
    fn power_on(&mut self) {
        let _ = self.reader.with(|s| s.card.power_on());
    }

    fn power_off(&mut self) {
        self.power_on();
    }

    fn process(&mut self, command: &[u8], response: &mut [u8]) -> usize {
        self.reader
            .with(|s| s.card.process(command, response))
            .unwrap_or(0)
    }
}
