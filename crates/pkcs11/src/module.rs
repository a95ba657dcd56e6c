//! [`Module`]: the whole PKCS#11 state machine in safe Rust — slots, tokens, sessions,
//! login, object search, signing, decryption, derivation (PKCS#11 v2.40 base specification
//! §5.4-§5.17). The C ABI layer (`ffi`) only converts pointers to and from these calls.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use cardwire_pin::{Pin, PinReference};
use cryptoki_sys as ck;
use zeroize::Zeroizing;

use crate::attribute::{AttributeRead, Attributes, TemplateItem};
use crate::backend::{Cancel, ReaderState, SlotSource, WaitEnd, Watcher};
use crate::error::{self, Result, Rv};
use crate::log::Logger;
use crate::mechanism::{self, Mechanism, Param, SignOperation};
use crate::object::{Object, PublicKey};
use crate::token::{Login, PinCounter, Token};

/// The most sessions open at once.
pub const MAX_SESSIONS: usize = 64;

/// The PIV PIN's length range (SP 800-73-4 Part 2 §3.2.1: 6-8 digits).
pub const PIN_MIN: ck::CK_ULONG = 6;
/// See [`PIN_MIN`].
pub const PIN_MAX: ck::CK_ULONG = 8;

/// What `C_GetSlotInfo` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotInfo {
    /// The reader's name.
    pub description: String,
    /// `CKF_TOKEN_PRESENT | CKF_REMOVABLE_DEVICE | CKF_HW_SLOT`.
    pub flags: ck::CK_FLAGS,
}

/// What `C_GetTokenInfo` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// The label.
    pub label: String,
    /// The serial number.
    pub serial: String,
    /// The flags.
    pub flags: ck::CK_FLAGS,
    /// Sessions open on the token.
    pub sessions: ck::CK_ULONG,
    /// R/W sessions open on the token.
    pub rw_sessions: ck::CK_ULONG,
}

/// What `C_GetSessionInfo` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The slot.
    pub slot: ck::CK_SLOT_ID,
    /// `CKS_*`.
    pub state: ck::CK_STATE,
    /// `CKF_SERIAL_SESSION`, `CKF_RW_SESSION`.
    pub flags: ck::CK_FLAGS,
}

/// The output of a sign, decrypt or final call.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// The result did not fit (or no buffer was given): this many bytes are needed, and
    /// the operation stays active.
    Needed(usize),
    /// The result; the operation has ended.
    Done(Zeroizing<Vec<u8>>),
}

#[derive(Debug)]
struct Operation {
    key: ck::CK_OBJECT_HANDLE,
    always_authenticate: bool,
    context_pin: Option<Pin>,
    result: Option<Zeroizing<Vec<u8>>>,
    kind: OperationKind,
}

#[derive(Debug)]
enum OperationKind {
    Sign(Box<SignOperation>),
    Decrypt {
        mechanism: ck::CK_MECHANISM_TYPE,
        data: Zeroizing<Vec<u8>>,
    },
}

#[derive(Debug)]
struct Session {
    slot: ck::CK_SLOT_ID,
    rw: bool,
    find: Option<VecDeque<ck::CK_OBJECT_HANDLE>>,
    sign: Option<Operation>,
    decrypt: Option<Operation>,
    objects: Vec<(ck::CK_OBJECT_HANDLE, Object)>,
}

#[derive(Debug)]
struct SlotEntry {
    reader: String,
    present: bool,
    events: u64,
    pin_pad: bool,
    token: Option<Token>,
}

/// The module's state: one per `C_Initialize`.
pub struct Module {
    source: Box<dyn SlotSource>,
    slots: Vec<SlotEntry>,
    sessions: BTreeMap<ck::CK_SESSION_HANDLE, Session>,
    next_session: ck::CK_SESSION_HANDLE,
    next_object: ck::CK_OBJECT_HANDLE,
    slot_events: VecDeque<ck::CK_SLOT_ID>,
    // Sessions closed because their card went: the next call on one says so.
    removed: BTreeSet<ck::CK_SESSION_HANDLE>,
    reader_filter: Vec<String>,
    // The readers as the last poll saw them (all of them, before the filter): what a
    // blocked C_WaitForSlotEvent waits to change.
    last_seen: Vec<ReaderState>,
    // The cancel handles of the watchers of blocked C_WaitForSlotEvent calls.
    watchers: Vec<Arc<dyn Cancel>>,
    log: Logger,
}

impl core::fmt::Debug for Module {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Module")
            .field("slots", &self.slots)
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

fn pin_from(bytes: &[u8]) -> Result<Pin> {
    Pin::new(bytes).map_err(error::from_pin_error)
}

impl Module {
    /// A module over `source`, showing only readers whose name contains one of `readers`
    /// (all readers when empty).
    pub fn new(source: Box<dyn SlotSource>, readers: Vec<String>, log: Logger) -> Self {
        let mut module = Module {
            source,
            slots: Vec::new(),
            sessions: BTreeMap::new(),
            next_session: 0,
            next_object: 0,
            slot_events: VecDeque::new(),
            removed: BTreeSet::new(),
            reader_filter: readers,
            last_seen: Vec::new(),
            watchers: Vec::new(),
            log,
        };
        module.refresh();
        module.slot_events.clear();
        module
    }

    /// The logger.
    pub fn log(&self) -> &Logger {
        &self.log
    }

    /// Polls the readers: new readers get new slots (a slot ID is never reused for another
    /// reader), and a card removed or swapped since the last poll drops its token and closes
    /// its sessions. A reader that is gone (unplugged, or the reader service stopped) keeps
    /// its slot, without a token: its card went with it.
    pub fn refresh(&mut self) {
        let readers = match self.source.readers() {
            Ok(r) => r,
            Err(rv) => {
                self.log.warn(format_args!("listing readers failed: {rv}"));
                return;
            }
        };
        self.last_seen.clone_from(&readers);
        let filter = &self.reader_filter;
        let readers: Vec<_> = readers
            .into_iter()
            .filter(|r| filter.is_empty() || filter.iter().any(|f| r.name.contains(f.as_str())))
            .collect();
        for state in readers {
            let index = match self.slots.iter().position(|s| s.reader == state.name) {
                Some(i) => i,
                None => {
                    self.slots.push(SlotEntry {
                        reader: state.name.clone(),
                        present: false,
                        events: state.events,
                        pin_pad: state.pin_pad,
                        token: None,
                    });
                    self.slots.len() - 1
                }
            };
            let Some(entry) = self.slots.get_mut(index) else {
                continue;
            };
            let changed = entry.present != state.card_present || entry.events != state.events;
            entry.present = state.card_present;
            entry.events = state.events;
            entry.pin_pad = state.pin_pad;
            if changed {
                self.slot_events.push_back(index as ck::CK_SLOT_ID);
                self.drop_token(index as ck::CK_SLOT_ID);
            }
        }
        let gone: Vec<_> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.present && !self.last_seen.iter().any(|r| r.name == s.reader))
            .map(|(i, _)| i)
            .collect();
        for index in gone {
            if let Some(entry) = self.slots.get_mut(index) {
                entry.present = false;
                entry.events = 0;
            }
            self.slot_events.push_back(index as ck::CK_SLOT_ID);
            self.drop_token(index as ck::CK_SLOT_ID);
        }
    }

    /// Forgets the token in `slot` and closes its sessions (card removed or reset).
    fn drop_token(&mut self, slot: ck::CK_SLOT_ID) {
        if let Some(entry) = self.slots.get_mut(slot as usize) {
            if entry.token.take().is_some() {
                self.log
                    .info(format_args!("slot {slot}: token gone, sessions closed"));
            }
        }
        let removed = &mut self.removed;
        self.sessions.retain(|h, s| {
            let keep = s.slot != slot;
            if !keep {
                removed.insert(*h);
            }
            keep
        });
    }

    /// A card result: `CKR_DEVICE_REMOVED` drops the token.
    fn card<T>(&mut self, slot: ck::CK_SLOT_ID, r: Result<T>) -> Result<T> {
        if r.as_ref().err() == Some(&Rv::DEVICE_REMOVED) {
            self.drop_token(slot);
        }
        r
    }

    /// `C_GetSlotList`.
    pub fn slot_list(&mut self, token_present: bool) -> Vec<ck::CK_SLOT_ID> {
        self.refresh();
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !token_present || s.present)
            .map(|(i, _)| i as ck::CK_SLOT_ID)
            .collect()
    }

    fn entry(&self, slot: ck::CK_SLOT_ID) -> Result<&SlotEntry> {
        self.slots.get(slot as usize).ok_or(Rv::SLOT_ID_INVALID)
    }

    /// `C_GetSlotInfo`.
    ///
    /// # Errors
    /// `CKR_SLOT_ID_INVALID`.
    pub fn slot_info(&mut self, slot: ck::CK_SLOT_ID) -> Result<SlotInfo> {
        self.refresh();
        let e = self.entry(slot)?;
        let mut flags = ck::CKF_REMOVABLE_DEVICE | ck::CKF_HW_SLOT;
        if e.present {
            flags |= ck::CKF_TOKEN_PRESENT;
        }
        Ok(SlotInfo {
            description: e.reader.clone(),
            flags,
        })
    }

    /// The token in `slot`, read from the card when first needed.
    fn token(&mut self, slot: ck::CK_SLOT_ID) -> Result<&mut Token> {
        let entry = self.slots.get(slot as usize).ok_or(Rv::SLOT_ID_INVALID)?;
        if !entry.present {
            return Err(Rv::TOKEN_NOT_PRESENT);
        }
        if entry.token.is_none() {
            let reader = entry.reader.clone();
            let pin_pad = entry.pin_pad;
            let channel = self.source.connect(&reader)?;
            let token = Token::open(channel, pin_pad, &mut self.next_object)?;
            self.log.info(format_args!(
                "slot {slot}: token \"{}\" serial {} with {} objects",
                token.label,
                token.serial,
                token.objects.len()
            ));
            if let Some(e) = self.slots.get_mut(slot as usize) {
                e.token = Some(token);
            }
        }
        self.slots
            .get_mut(slot as usize)
            .and_then(|e| e.token.as_mut())
            .ok_or(Rv::TOKEN_NOT_PRESENT)
    }

    /// `C_GetTokenInfo`: the flags include the PIN counter state from an empty VERIFY.
    ///
    /// # Errors
    /// `CKR_SLOT_ID_INVALID`, `CKR_TOKEN_NOT_PRESENT`, `CKR_TOKEN_NOT_RECOGNIZED`,
    /// `CKR_DEVICE_REMOVED`.
    pub fn token_info(&mut self, slot: ck::CK_SLOT_ID) -> Result<TokenInfo> {
        self.refresh();
        let sessions = self.sessions.values().filter(|s| s.slot == slot).count();
        let rw = self
            .sessions
            .values()
            .filter(|s| s.slot == slot && s.rw)
            .count();
        let r = self.token(slot).and_then(|t| {
            let counter = t.pin_counter(PinReference::PIV_APPLICATION_PIN)?;
            Ok((t.label.clone(), t.serial.clone(), t.pin_pad, counter))
        });
        let (label, serial, pin_pad, counter) = self.card(slot, r)?;
        let mut flags = ck::CKF_LOGIN_REQUIRED
            | ck::CKF_USER_PIN_INITIALIZED
            | ck::CKF_TOKEN_INITIALIZED
            | ck::CKF_RNG
            | ck::CKF_WRITE_PROTECTED;
        if pin_pad {
            flags |= ck::CKF_PROTECTED_AUTHENTICATION_PATH;
        }
        match counter {
            PinCounter::Locked => flags |= ck::CKF_USER_PIN_LOCKED,
            PinCounter::Left(1) => flags |= ck::CKF_USER_PIN_FINAL_TRY | ck::CKF_USER_PIN_COUNT_LOW,
            // PIV cards usually allow 3 tries or more (SP 800-73-4 leaves it to the issuer):
            // fewer than 3 left means some were spent.
            PinCounter::Left(n) if n < 3 => flags |= ck::CKF_USER_PIN_COUNT_LOW,
            _ => {}
        }
        Ok(TokenInfo {
            label,
            serial,
            flags,
            sessions: sessions as ck::CK_ULONG,
            rw_sessions: rw as ck::CK_ULONG,
        })
    }

    /// `C_OpenSession`.
    ///
    /// # Errors
    /// `CKR_SESSION_PARALLEL_NOT_SUPPORTED` without `CKF_SERIAL_SESSION`,
    /// `CKR_SESSION_READ_WRITE_SO_EXISTS` for a R/O session while the SO is logged in,
    /// `CKR_SESSION_COUNT`, and the token's errors.
    pub fn open_session(
        &mut self,
        slot: ck::CK_SLOT_ID,
        flags: ck::CK_FLAGS,
    ) -> Result<ck::CK_SESSION_HANDLE> {
        if flags & ck::CKF_SERIAL_SESSION == 0 {
            return Err(Rv::SESSION_PARALLEL_NOT_SUPPORTED);
        }
        self.refresh();
        if self.sessions.len() >= MAX_SESSIONS {
            return Err(Rv::SESSION_COUNT);
        }
        let r = self.token(slot).map(|t| t.login);
        let login = self.card(slot, r)?;
        let rw = flags & ck::CKF_RW_SESSION != 0;
        if login == Login::So && !rw {
            return Err(Rv::SESSION_READ_WRITE_SO_EXISTS);
        }
        self.next_session += 1;
        let handle = self.next_session;
        self.sessions.insert(
            handle,
            Session {
                slot,
                rw,
                find: None,
                sign: None,
                decrypt: None,
                objects: Vec::new(),
            },
        );
        Ok(handle)
    }

    /// `C_CloseSession`: closing the last session of a token logs it out (PKCS#11 §5.6).
    ///
    /// # Errors
    /// `CKR_SESSION_HANDLE_INVALID`.
    pub fn close_session(&mut self, handle: ck::CK_SESSION_HANDLE) -> Result<()> {
        let session = self
            .sessions
            .remove(&handle)
            .ok_or(Rv::SESSION_HANDLE_INVALID)?;
        if !self.sessions.values().any(|s| s.slot == session.slot) {
            if let Some(t) = self
                .slots
                .get_mut(session.slot as usize)
                .and_then(|e| e.token.as_mut())
            {
                if t.login != Login::Public {
                    t.logout();
                }
            }
        }
        Ok(())
    }

    /// `C_CloseAllSessions`.
    ///
    /// # Errors
    /// `CKR_SLOT_ID_INVALID`.
    pub fn close_all_sessions(&mut self, slot: ck::CK_SLOT_ID) -> Result<()> {
        self.entry(slot)?;
        let handles: Vec<_> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.slot == slot)
            .map(|(h, _)| *h)
            .collect();
        for h in handles {
            self.close_session(h)?;
        }
        Ok(())
    }

    /// Checks the session and that its token is still the one it was opened on.
    fn session(&mut self, handle: ck::CK_SESSION_HANDLE) -> Result<ck::CK_SLOT_ID> {
        self.refresh();
        if self.removed.remove(&handle) {
            return Err(Rv::DEVICE_REMOVED);
        }
        let slot = self
            .sessions
            .get(&handle)
            .map(|s| s.slot)
            .ok_or(Rv::SESSION_HANDLE_INVALID)?;
        if self
            .slots
            .get(slot as usize)
            .is_none_or(|e| e.token.is_none())
        {
            self.sessions.remove(&handle);
            return Err(Rv::SESSION_HANDLE_INVALID);
        }
        Ok(slot)
    }

    fn login_state(&self, slot: ck::CK_SLOT_ID) -> Login {
        self.slots
            .get(slot as usize)
            .and_then(|e| e.token.as_ref())
            .map_or(Login::Public, |t| t.login)
    }

    /// `C_GetSessionInfo`.
    ///
    /// # Errors
    /// `CKR_SESSION_HANDLE_INVALID`.
    pub fn session_info(&mut self, handle: ck::CK_SESSION_HANDLE) -> Result<SessionInfo> {
        let slot = self.session(handle)?;
        let rw = self.sessions.get(&handle).is_some_and(|s| s.rw);
        let state = match (self.login_state(slot), rw) {
            (Login::Public, false) => ck::CKS_RO_PUBLIC_SESSION,
            (Login::Public, true) => ck::CKS_RW_PUBLIC_SESSION,
            (Login::User, false) => ck::CKS_RO_USER_FUNCTIONS,
            (Login::User, true) => ck::CKS_RW_USER_FUNCTIONS,
            (Login::So, _) => ck::CKS_RW_SO_FUNCTIONS,
        };
        let mut flags = ck::CKF_SERIAL_SESSION;
        if rw {
            flags |= ck::CKF_RW_SESSION;
        }
        Ok(SessionInfo { slot, state, flags })
    }

    /// `C_Login`. `pin` is `None` for the PIN pad (`CKF_PROTECTED_AUTHENTICATION_PATH`).
    ///
    /// # Errors
    /// `CKR_USER_TYPE_INVALID`, `CKR_USER_ALREADY_LOGGED_IN`,
    /// `CKR_USER_ANOTHER_ALREADY_LOGGED_IN`, `CKR_SESSION_READ_ONLY_EXISTS` (SO),
    /// `CKR_OPERATION_NOT_INITIALIZED` (context-specific without an operation),
    /// `CKR_PIN_INCORRECT`, `CKR_PIN_LOCKED`, `CKR_PIN_LEN_RANGE`, `CKR_DEVICE_REMOVED`.
    pub fn login(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        user: ck::CK_USER_TYPE,
        pin: Option<&[u8]>,
    ) -> Result<()> {
        let slot = self.session(handle)?;
        let login = self.login_state(slot);
        let pin = pin.map(pin_from).transpose()?;
        match user {
            ck::CKU_USER => {
                match login {
                    Login::User => return Err(Rv::USER_ALREADY_LOGGED_IN),
                    Login::So => return Err(Rv::USER_ANOTHER_ALREADY_LOGGED_IN),
                    Login::Public => {}
                }
                let r = self.token(slot).and_then(|t| t.login_user(pin.as_ref()));
                let r = self.card(slot, r);
                self.log
                    .info(format_args!("slot {slot}: user login: {}", rv_text(&r)));
                r
            }
            ck::CKU_SO => {
                match login {
                    Login::So => return Err(Rv::USER_ALREADY_LOGGED_IN),
                    Login::User => return Err(Rv::USER_ANOTHER_ALREADY_LOGGED_IN),
                    Login::Public => {}
                }
                if self.sessions.values().any(|s| s.slot == slot && !s.rw) {
                    return Err(Rv::SESSION_READ_ONLY_EXISTS);
                }
                let puk = pin.ok_or(Rv::FUNCTION_NOT_SUPPORTED)?;
                let r = self.token(slot).and_then(|t| t.login_so(puk));
                self.log
                    .info(format_args!("slot {slot}: SO login: {}", rv_text(&r)));
                r
            }
            ck::CKU_CONTEXT_SPECIFIC => {
                if login != Login::User {
                    return Err(Rv::USER_NOT_LOGGED_IN);
                }
                let session = self
                    .sessions
                    .get_mut(&handle)
                    .ok_or(Rv::SESSION_HANDLE_INVALID)?;
                let op = session
                    .sign
                    .as_mut()
                    .or(session.decrypt.as_mut())
                    .ok_or(Rv::OPERATION_NOT_INITIALIZED)?;
                let pin = pin.ok_or(Rv::FUNCTION_NOT_SUPPORTED)?;
                let check = pin.duplicate();
                op.context_pin = Some(pin);
                // VERIFY now, so that a wrong PIN is reported by C_Login; the signature
                // repeats it in the same transaction as GENERAL AUTHENTICATE.
                let r = self.token(slot).and_then(|t| t.login_user(Some(&check)));
                let r = self.card(slot, r);
                if r.is_err() {
                    if let Some(s) = self.sessions.get_mut(&handle) {
                        for op in [s.sign.as_mut(), s.decrypt.as_mut()].into_iter().flatten() {
                            op.context_pin = None;
                        }
                    }
                }
                self.log.info(format_args!(
                    "slot {slot}: context-specific login: {}",
                    rv_text(&r)
                ));
                r
            }
            _ => Err(Rv::USER_TYPE_INVALID),
        }
    }

    /// `C_Logout`.
    ///
    /// # Errors
    /// `CKR_USER_NOT_LOGGED_IN`.
    pub fn logout(&mut self, handle: ck::CK_SESSION_HANDLE) -> Result<()> {
        let slot = self.session(handle)?;
        if self.login_state(slot) == Login::Public {
            return Err(Rv::USER_NOT_LOGGED_IN);
        }
        self.token(slot)?.logout();
        for s in self.sessions.values_mut().filter(|s| s.slot == slot) {
            s.sign = None;
            s.decrypt = None;
        }
        Ok(())
    }

    /// `C_InitPIN`: RESET RETRY COUNTER with the PUK given at SO login.
    ///
    /// # Errors
    /// `CKR_USER_NOT_LOGGED_IN` outside an R/W SO session, `CKR_PIN_INCORRECT` /
    /// `CKR_PIN_LOCKED` (the PUK), `CKR_PIN_LEN_RANGE` (the new PIN).
    pub fn init_pin(&mut self, handle: ck::CK_SESSION_HANDLE, pin: Option<&[u8]>) -> Result<()> {
        let slot = self.session(handle)?;
        if self.login_state(slot) != Login::So {
            return Err(Rv::USER_NOT_LOGGED_IN);
        }
        let pin = pin_from(pin.ok_or(Rv::FUNCTION_NOT_SUPPORTED)?)?;
        let r = self.token(slot).and_then(|t| t.init_pin(&pin));
        let r = self.card(slot, r);
        self.log.info(format_args!(
            "slot {slot}: InitPIN (RESET RETRY COUNTER): {}",
            rv_text(&r)
        ));
        r
    }

    /// `C_SetPIN`: CHANGE REFERENCE DATA of the PIN (the PUK in an SO session).
    ///
    /// # Errors
    /// `CKR_SESSION_READ_ONLY`, `CKR_PIN_INCORRECT`, `CKR_PIN_LOCKED`, `CKR_PIN_LEN_RANGE`.
    pub fn set_pin(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<()> {
        let slot = self.session(handle)?;
        if !self.sessions.get(&handle).is_some_and(|s| s.rw) {
            return Err(Rv::SESSION_READ_ONLY);
        }
        let (Some(old), Some(new)) = (old, new) else {
            return Err(Rv::FUNCTION_NOT_SUPPORTED);
        };
        let (old, new) = (pin_from(old)?, pin_from(new)?);
        let r = self.token(slot).and_then(|t| t.set_pin(&old, &new));
        let r = self.card(slot, r);
        self.log.info(format_args!(
            "slot {slot}: SetPIN (CHANGE REFERENCE DATA): {}",
            rv_text(&r)
        ));
        r
    }

    fn visible(
        &self,
        slot: ck::CK_SLOT_ID,
        handle: ck::CK_SESSION_HANDLE,
    ) -> Vec<(ck::CK_OBJECT_HANDLE, &Object)> {
        let logged_in = self.login_state(slot) == Login::User;
        let token = self.slots.get(slot as usize).and_then(|e| e.token.as_ref());
        let session = self.sessions.get(&handle);
        token
            .into_iter()
            .flat_map(|t| t.objects.iter())
            .chain(session.into_iter().flat_map(|s| s.objects.iter()))
            .filter(|(_, o)| logged_in || !o.is_private())
            .map(|(h, o)| (*h, o))
            .collect()
    }

    fn object(
        &self,
        slot: ck::CK_SLOT_ID,
        session: ck::CK_SESSION_HANDLE,
        object: ck::CK_OBJECT_HANDLE,
    ) -> Result<&Object> {
        let logged_in = self.login_state(slot) == Login::User;
        let token = self.slots.get(slot as usize).and_then(|e| e.token.as_ref());
        let found = token
            .and_then(|t| t.object(object))
            .or_else(|| {
                self.sessions
                    .get(&session)
                    .and_then(|s| s.objects.iter().find(|(h, _)| *h == object).map(|(_, o)| o))
            })
            .ok_or(Rv::OBJECT_HANDLE_INVALID)?;
        if found.is_private() && !logged_in {
            return Err(Rv::OBJECT_HANDLE_INVALID);
        }
        Ok(found)
    }

    /// `C_FindObjectsInit`.
    ///
    /// # Errors
    /// `CKR_OPERATION_ACTIVE` while a search runs.
    pub fn find_init(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        template: &[TemplateItem<'_>],
    ) -> Result<()> {
        let slot = self.session(handle)?;
        if self.sessions.get(&handle).is_some_and(|s| s.find.is_some()) {
            return Err(Rv::OPERATION_ACTIVE);
        }
        let found: VecDeque<_> = self
            .visible(slot, handle)
            .into_iter()
            .filter(|(_, o)| o.attributes.matches(template))
            .map(|(h, _)| h)
            .collect();
        if let Some(s) = self.sessions.get_mut(&handle) {
            s.find = Some(found);
        }
        Ok(())
    }

    /// `C_FindObjects`: up to `max` more handles.
    ///
    /// # Errors
    /// `CKR_OPERATION_NOT_INITIALIZED`.
    pub fn find(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        max: usize,
    ) -> Result<Vec<ck::CK_OBJECT_HANDLE>> {
        self.session(handle)?;
        let s = self
            .sessions
            .get_mut(&handle)
            .ok_or(Rv::SESSION_HANDLE_INVALID)?;
        let found = s.find.as_mut().ok_or(Rv::OPERATION_NOT_INITIALIZED)?;
        let n = max.min(found.len());
        Ok(found.drain(..n).collect())
    }

    /// `C_FindObjectsFinal`.
    ///
    /// # Errors
    /// `CKR_OPERATION_NOT_INITIALIZED`.
    pub fn find_final(&mut self, handle: ck::CK_SESSION_HANDLE) -> Result<()> {
        self.session(handle)?;
        let s = self
            .sessions
            .get_mut(&handle)
            .ok_or(Rv::SESSION_HANDLE_INVALID)?;
        s.find
            .take()
            .map(|_| ())
            .ok_or(Rv::OPERATION_NOT_INITIALIZED)
    }

    /// `C_GetAttributeValue` for one attribute (see [`Attributes::read_into`]).
    ///
    /// # Errors
    /// `CKR_OBJECT_HANDLE_INVALID`.
    pub fn read_attributes(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        object: ck::CK_OBJECT_HANDLE,
        requests: &mut [(ck::CK_ATTRIBUTE_TYPE, Option<&mut [u8]>)],
    ) -> Result<Vec<AttributeRead>> {
        let slot = self.session(handle)?;
        let o = self.object(slot, handle, object)?;
        Ok(requests
            .iter_mut()
            .map(|(kind, buf)| o.attributes.read_into(*kind, buf.as_deref_mut()))
            .collect())
    }

    /// The attributes of `object` as `session` sees it (for `C_GetAttributeValue`).
    ///
    /// # Errors
    /// `CKR_SESSION_HANDLE_INVALID`, `CKR_OBJECT_HANDLE_INVALID`.
    pub fn object_attributes(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        object: ck::CK_OBJECT_HANDLE,
    ) -> Result<Attributes> {
        let slot = self.session(handle)?;
        Ok(self.object(slot, handle, object)?.attributes.clone())
    }

    /// Checks that `handle` is an open session whose token is still there.
    ///
    /// # Errors
    /// `CKR_SESSION_HANDLE_INVALID`, `CKR_DEVICE_REMOVED`.
    pub fn check_session(&mut self, handle: ck::CK_SESSION_HANDLE) -> Result<()> {
        self.session(handle).map(|_| ())
    }

    /// `C_GetObjectSize`: the sum of the readable values' lengths.
    ///
    /// # Errors
    /// `CKR_OBJECT_HANDLE_INVALID`.
    pub fn object_size(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        object: ck::CK_OBJECT_HANDLE,
    ) -> Result<usize> {
        let slot = self.session(handle)?;
        let o = self.object(slot, handle, object)?;
        Ok(o.attributes
            .iter()
            .filter_map(|a| a.value.as_ref())
            .map(Vec::len)
            .sum())
    }

    /// `C_DestroyObject`: session objects only (token objects are write-protected).
    ///
    /// # Errors
    /// `CKR_OBJECT_HANDLE_INVALID`, `CKR_ACTION_PROHIBITED` for a token object.
    pub fn destroy_object(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        object: ck::CK_OBJECT_HANDLE,
    ) -> Result<()> {
        let slot = self.session(handle)?;
        self.object(slot, handle, object)?;
        let s = self
            .sessions
            .get_mut(&handle)
            .ok_or(Rv::SESSION_HANDLE_INVALID)?;
        let before = s.objects.len();
        s.objects.retain(|(h, _)| *h != object);
        if s.objects.len() == before {
            return Err(Rv(ck::CKR_ACTION_PROHIBITED));
        }
        Ok(())
    }

    fn key_operation(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        key: ck::CK_OBJECT_HANDLE,
        usage: ck::CK_ATTRIBUTE_TYPE,
    ) -> Result<(ck::CK_SLOT_ID, crate::object::CardKey, bool)> {
        let slot = self.session(handle)?;
        if self.login_state(slot) != Login::User {
            return Err(Rv::USER_NOT_LOGGED_IN);
        }
        let o = self
            .object(slot, handle, key)
            .map_err(|_| Rv::KEY_HANDLE_INVALID)?;
        if o.class() != Some(ck::CKO_PRIVATE_KEY) {
            return Err(Rv::KEY_HANDLE_INVALID);
        }
        if o.attributes.bool(usage) != Some(true) {
            return Err(Rv::KEY_FUNCTION_NOT_PERMITTED);
        }
        let card_key = o.key.clone().ok_or(Rv::KEY_HANDLE_INVALID)?;
        let always = o.attributes.bool(ck::CKA_ALWAYS_AUTHENTICATE) == Some(true);
        Ok((slot, card_key, always))
    }

    /// `C_SignInit`.
    ///
    /// # Errors
    /// `CKR_OPERATION_ACTIVE`, `CKR_USER_NOT_LOGGED_IN`, `CKR_KEY_HANDLE_INVALID`,
    /// `CKR_KEY_FUNCTION_NOT_PERMITTED`, `CKR_MECHANISM_INVALID`, `CKR_KEY_TYPE_INCONSISTENT`,
    /// `CKR_MECHANISM_PARAM_INVALID`.
    pub fn sign_init(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        key: ck::CK_OBJECT_HANDLE,
    ) -> Result<()> {
        self.session(handle)?;
        if self.sessions.get(&handle).is_some_and(|s| s.sign.is_some()) {
            return Err(Rv::OPERATION_ACTIVE);
        }
        let (_, card_key, always) = self.key_operation(handle, key, ck::CKA_SIGN)?;
        let op = SignOperation::new(mechanism, &card_key)?;
        let s = self
            .sessions
            .get_mut(&handle)
            .ok_or(Rv::SESSION_HANDLE_INVALID)?;
        s.sign = Some(Operation {
            key,
            always_authenticate: always,
            context_pin: None,
            result: None,
            kind: OperationKind::Sign(Box::new(op)),
        });
        Ok(())
    }

    fn op_mut(&mut self, handle: ck::CK_SESSION_HANDLE, decrypt: bool) -> Result<&mut Operation> {
        let s = self
            .sessions
            .get_mut(&handle)
            .ok_or(Rv::SESSION_HANDLE_INVALID)?;
        let op = if decrypt { &mut s.decrypt } else { &mut s.sign };
        op.as_mut().ok_or(Rv::OPERATION_NOT_INITIALIZED)
    }

    fn end_op(&mut self, handle: ck::CK_SESSION_HANDLE, decrypt: bool) {
        if let Some(s) = self.sessions.get_mut(&handle) {
            if decrypt {
                s.decrypt = None;
            } else {
                s.sign = None;
            }
        }
    }

    /// `C_SignUpdate`.
    ///
    /// # Errors
    /// `CKR_OPERATION_NOT_INITIALIZED`, `CKR_DATA_LEN_RANGE` (the operation ends on error).
    pub fn sign_update(&mut self, handle: ck::CK_SESSION_HANDLE, data: &[u8]) -> Result<()> {
        self.session(handle)?;
        let op = self.op_mut(handle, false)?;
        let r = match &mut op.kind {
            OperationKind::Sign(s) => s.update(data),
            OperationKind::Decrypt { .. } => Err(Rv::OPERATION_NOT_INITIALIZED),
        };
        if r.is_err() {
            self.end_op(handle, false);
        }
        r
    }

    /// `C_Sign` (with `data`) or `C_SignFinal` (without): `capacity` is the caller's buffer
    /// length, `None` for a length query.
    ///
    /// # Errors
    /// `CKR_OPERATION_NOT_INITIALIZED`, `CKR_USER_NOT_LOGGED_IN` (9C without
    /// context-specific login), card errors; every error ends the operation.
    pub fn sign(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        data: Option<&[u8]>,
        capacity: Option<usize>,
    ) -> Result<Output> {
        let slot = self.session(handle)?;
        let op = self.op_mut(handle, false)?;
        let OperationKind::Sign(sign) = &mut op.kind else {
            return Err(Rv::OPERATION_NOT_INITIALIZED);
        };
        if op.result.is_none() {
            let len = sign.signature_len();
            if capacity.is_none_or(|c| c < len) {
                return Ok(Output::Needed(len));
            }
            if let Some(data) = data {
                if let Err(rv) = sign.update(data) {
                    self.end_op(handle, false);
                    return Err(rv);
                }
            }
            if op.always_authenticate && op.context_pin.is_none() {
                self.end_op(handle, false);
                return Err(Rv::USER_NOT_LOGGED_IN);
            }
            let sign = sign.clone();
            let pin = op.context_pin.take();
            let r = self.token(slot).and_then(|t| t.sign(&sign, pin.as_ref()));
            let r = self.card(slot, r);
            self.log
                .debug(format_args!("slot {slot}: sign: {}", rv_text(&r)));
            match r {
                Ok(sig) => {
                    if let Ok(op) = self.op_mut(handle, false) {
                        op.result = Some(Zeroizing::new(sig));
                    }
                }
                Err(rv) => {
                    self.end_op(handle, false);
                    return Err(rv);
                }
            }
        }
        self.take_result(handle, false, capacity)
    }

    fn take_result(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        decrypt: bool,
        capacity: Option<usize>,
    ) -> Result<Output> {
        let op = self.op_mut(handle, decrypt)?;
        let len = op.result.as_ref().map_or(0, |r| r.len());
        if capacity.is_none_or(|c| c < len) {
            return Ok(Output::Needed(len));
        }
        let out = op.result.take().unwrap_or_default();
        self.end_op(handle, decrypt);
        Ok(Output::Done(out))
    }

    /// `C_DecryptInit`: `CKM_RSA_PKCS` or `CKM_RSA_X_509` with an RSA key management key.
    ///
    /// # Errors
    /// As [`Self::sign_init`].
    pub fn decrypt_init(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        key: ck::CK_OBJECT_HANDLE,
    ) -> Result<()> {
        self.session(handle)?;
        if self
            .sessions
            .get(&handle)
            .is_some_and(|s| s.decrypt.is_some())
        {
            return Err(Rv::OPERATION_ACTIVE);
        }
        if !matches!(mechanism.kind, ck::CKM_RSA_PKCS | ck::CKM_RSA_X_509) {
            return Err(Rv::MECHANISM_INVALID);
        }
        let (_, card_key, always) = self.key_operation(handle, key, ck::CKA_DECRYPT)?;
        if !matches!(card_key.public, PublicKey::Rsa { .. }) {
            return Err(Rv::KEY_TYPE_INCONSISTENT);
        }
        let s = self
            .sessions
            .get_mut(&handle)
            .ok_or(Rv::SESSION_HANDLE_INVALID)?;
        s.decrypt = Some(Operation {
            key,
            always_authenticate: always,
            context_pin: None,
            result: None,
            kind: OperationKind::Decrypt {
                mechanism: mechanism.kind,
                data: Zeroizing::new(Vec::new()),
            },
        });
        Ok(())
    }

    /// `C_DecryptUpdate` collects the ciphertext (the result comes with `C_DecryptFinal`).
    ///
    /// # Errors
    /// `CKR_ENCRYPTED_DATA_LEN_RANGE` beyond one block.
    pub fn decrypt_update(&mut self, handle: ck::CK_SESSION_HANDLE, data: &[u8]) -> Result<()> {
        self.session(handle)?;
        let op = self.op_mut(handle, true)?;
        let OperationKind::Decrypt { data: buffered, .. } = &mut op.kind else {
            return Err(Rv::OPERATION_NOT_INITIALIZED);
        };
        if buffered.len() + data.len() > 512 {
            self.end_op(handle, true);
            return Err(Rv::ENCRYPTED_DATA_LEN_RANGE);
        }
        buffered.extend_from_slice(data);
        Ok(())
    }

    /// `C_Decrypt` (with `data`) or `C_DecryptFinal` (without).
    ///
    /// # Errors
    /// `CKR_ENCRYPTED_DATA_LEN_RANGE`, `CKR_ENCRYPTED_DATA_INVALID`, card errors.
    pub fn decrypt(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        data: Option<&[u8]>,
        capacity: Option<usize>,
    ) -> Result<Output> {
        let slot = self.session(handle)?;
        let key = self.op_mut(handle, true)?.key;
        let card_key = self
            .object(slot, handle, key)
            .ok()
            .and_then(|o| o.key.clone())
            .ok_or(Rv::KEY_HANDLE_INVALID)?;
        let op = self.op_mut(handle, true)?;
        if op.result.is_none() {
            let OperationKind::Decrypt {
                mechanism,
                data: buffered,
            } = &mut op.kind
            else {
                return Err(Rv::OPERATION_NOT_INITIALIZED);
            };
            if capacity.is_none() {
                return Ok(Output::Needed(card_key.size()));
            }
            let mechanism = *mechanism;
            if let Some(d) = data {
                buffered.extend_from_slice(d);
            }
            let block = Zeroizing::new(core::mem::take(&mut **buffered));
            if block.len() != card_key.size() {
                self.end_op(handle, true);
                return Err(Rv::ENCRYPTED_DATA_LEN_RANGE);
            }
            if op.always_authenticate && op.context_pin.is_none() {
                self.end_op(handle, true);
                return Err(Rv::USER_NOT_LOGGED_IN);
            }
            let pin = op.context_pin.take();
            let r = self
                .token(slot)
                .and_then(|t| t.raw(&card_key, &block, pin.as_ref()))
                .map(Zeroizing::new);
            let r = self.card(slot, r).and_then(|plain| match mechanism {
                ck::CKM_RSA_PKCS => mechanism::pkcs1_type2_unpad(&plain).map(Zeroizing::new),
                _ => Ok(plain),
            });
            self.log
                .debug(format_args!("slot {slot}: decrypt: {}", rv_text(&r)));
            match r {
                Ok(plain) => {
                    if let Ok(op) = self.op_mut(handle, true) {
                        op.result = Some(plain);
                    }
                }
                Err(rv) => {
                    self.end_op(handle, true);
                    return Err(rv);
                }
            }
        }
        self.take_result(handle, true, capacity)
    }

    /// `C_DeriveKey` with `CKM_ECDH1_DERIVE` (`CKD_NULL`): a session secret-key object
    /// holding the shared secret's x coordinate (or its first `CKA_VALUE_LEN` bytes).
    ///
    /// # Errors
    /// `CKR_MECHANISM_INVALID`, `CKR_MECHANISM_PARAM_INVALID`, `CKR_TEMPLATE_INCONSISTENT`
    /// (a token object asked for), key and card errors.
    pub fn derive(
        &mut self,
        handle: ck::CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        key: ck::CK_OBJECT_HANDLE,
        template: &[TemplateItem<'_>],
    ) -> Result<ck::CK_OBJECT_HANDLE> {
        self.session(handle)?;
        if mechanism.kind != ck::CKM_ECDH1_DERIVE {
            return Err(Rv::MECHANISM_INVALID);
        }
        let Param::Ecdh {
            kdf, public_data, ..
        } = &mechanism.param
        else {
            return Err(Rv::MECHANISM_PARAM_INVALID);
        };
        if *kdf != ck::CKD_NULL {
            return Err(Rv::MECHANISM_PARAM_INVALID);
        }
        let (slot, card_key, always) = self.key_operation(handle, key, ck::CKA_DERIVE)?;
        if always {
            return Err(Rv::USER_NOT_LOGGED_IN);
        }
        let point = mechanism::ecdh_peer_point(public_data, card_key.size())?;
        let mut attributes = Attributes::new();
        attributes
            .set_ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY)
            .set_ulong(ck::CKA_KEY_TYPE, ck::CKK_GENERIC_SECRET)
            .set_bool(ck::CKA_TOKEN, false)
            .set_bool(ck::CKA_PRIVATE, false)
            .set_bool(ck::CKA_SENSITIVE, false)
            .set_bool(ck::CKA_EXTRACTABLE, true)
            .set_bool(ck::CKA_LOCAL, false)
            .set_bool(ck::CKA_DERIVE, false)
            .set(ck::CKA_LABEL, Vec::new())
            .set(ck::CKA_ID, Vec::new());
        let mut value_len = None;
        for item in template {
            match item.kind {
                ck::CKA_TOKEN if item.bool()? => return Err(Rv::TEMPLATE_INCONSISTENT),
                ck::CKA_CLASS if item.ulong()? != ck::CKO_SECRET_KEY => {
                    return Err(Rv::TEMPLATE_INCONSISTENT);
                }
                ck::CKA_VALUE_LEN => value_len = Some(item.ulong()? as usize),
                ck::CKA_VALUE => return Err(Rv::TEMPLATE_INCONSISTENT),
                ck::CKA_SENSITIVE
                | ck::CKA_EXTRACTABLE
                | ck::CKA_PRIVATE
                | ck::CKA_TOKEN
                | ck::CKA_DERIVE
                | ck::CKA_ENCRYPT
                | ck::CKA_DECRYPT
                | ck::CKA_SIGN
                | ck::CKA_VERIFY
                | ck::CKA_WRAP
                | ck::CKA_UNWRAP => {
                    attributes.set_bool(item.kind, item.bool()?);
                }
                _ => {
                    attributes.set(item.kind, item.value.to_vec());
                }
            }
        }
        let r = self
            .token(slot)
            .and_then(|t| t.ecdh(&card_key, &point, None));
        let secret = self.card(slot, r)?;
        let len = value_len.unwrap_or(secret.len());
        let value = secret.get(..len).ok_or(Rv::TEMPLATE_INCONSISTENT)?.to_vec();
        attributes.set_ulong(ck::CKA_VALUE_LEN, len as ck::CK_ULONG);
        if attributes.bool(ck::CKA_SENSITIVE) == Some(true)
            || attributes.bool(ck::CKA_EXTRACTABLE) == Some(false)
        {
            attributes.set_sensitive(ck::CKA_VALUE);
        } else {
            attributes.set(ck::CKA_VALUE, value);
        }
        self.next_object += 1;
        let h = self.next_object;
        let s = self
            .sessions
            .get_mut(&handle)
            .ok_or(Rv::SESSION_HANDLE_INVALID)?;
        s.objects.push((
            h,
            Object {
                attributes,
                key: None,
            },
        ));
        Ok(h)
    }

    /// `C_WaitForSlotEvent` without blocking: the next slot whose card came or went.
    ///
    /// # Errors
    /// `CKR_NO_EVENT`.
    pub fn slot_event(&mut self) -> Result<ck::CK_SLOT_ID> {
        self.refresh();
        self.slot_events.pop_front().ok_or(Rv::NO_EVENT)
    }

    /// A watcher for a blocking `C_WaitForSlotEvent` ([`wait_for_slot_event`]), cancelled
    /// by [`Self::finalize`].
    ///
    /// # Errors
    /// `CKR_FUNCTION_NOT_SUPPORTED` for a source that cannot block, `CKR_DEVICE_ERROR`.
    pub fn watcher(&mut self) -> Result<Box<dyn Watcher>> {
        let watcher = self.source.watcher()?;
        // Forget the handles of watchers that are gone (only this list holds them).
        self.watchers.retain(|c| Arc::strong_count(c) > 1);
        self.watchers.push(watcher.canceller());
        Ok(watcher)
    }

    /// Ends every session (`C_Finalize`), logging tokens out, and wakes every blocked
    /// `C_WaitForSlotEvent`.
    pub fn finalize(&mut self) {
        for c in self.watchers.drain(..) {
            c.cancel();
        }
        let handles: Vec<_> = self.sessions.keys().copied().collect();
        for h in handles {
            let _ = self.close_session(h);
        }
    }
}

/// `C_WaitForSlotEvent` on the module in `state` (the module's lock; `None` before
/// `C_Initialize` and after `C_Finalize`): the next slot whose card came or went (PKCS#11
/// v2.40 §5.5).
///
/// With `block` false (`CKF_DONT_BLOCK`) a poll. Otherwise the thread sleeps in the
/// source's [`Watcher`] — for PC/SC `SCardGetStatusChange` with the PnP notification, not a
/// polling loop — with the lock released, so that other threads go on using the module;
/// `C_Finalize` from another thread cancels the wait (`SCardCancel`), and the call returns
/// `CKR_CRYPTOKI_NOT_INITIALIZED`.
///
/// # Errors
/// `CKR_NO_EVENT` (not blocking), `CKR_CRYPTOKI_NOT_INITIALIZED`,
/// `CKR_FUNCTION_NOT_SUPPORTED` (a source that cannot block), `CKR_DEVICE_ERROR`.
pub fn wait_for_slot_event(state: &Mutex<Option<Module>>, block: bool) -> Result<ck::CK_SLOT_ID> {
    let lock = || state.lock().unwrap_or_else(PoisonError::into_inner);
    let mut watcher: Option<Box<dyn Watcher>> = None;
    let mut idle_changes = 0u32;
    loop {
        let known = {
            let mut guard = lock();
            let module = guard.as_mut().ok_or(Rv::CRYPTOKI_NOT_INITIALIZED)?;
            match module.slot_event() {
                Err(Rv::NO_EVENT) if block => {}
                r => return r,
            }
            if watcher.is_none() {
                watcher = Some(module.watcher()?);
            }
            // What this poll saw: any change after it makes the watcher return.
            module.last_seen.clone()
        };
        let Some(w) = watcher.as_mut() else {
            return Err(Rv::GENERAL_ERROR);
        };
        match w.wait(&known)? {
            WaitEnd::Changed => {
                // A change the module does not report (a reader outside the filter, a
                // reader service that went away) must not turn into a busy loop.
                idle_changes += 1;
                if idle_changes > 3 {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            }
            // Only C_Finalize cancels (§5.5: the blocked call then returns this).
            WaitEnd::Cancelled => return Err(Rv::CRYPTOKI_NOT_INITIALIZED),
        }
    }
}

fn rv_text<T>(r: &Result<T>) -> &'static str {
    match r {
        Ok(_) => "CKR_OK",
        Err(rv) => rv.name(),
    }
}

#[cfg(test)]
#[cfg(feature = "virtual-card")]
mod tests {
    use super::*;
    use crate::virtual_card::VirtualReader;

    fn module() -> (Module, VirtualReader) {
        let reader = VirtualReader::new("module tests").unwrap();
        (
            Module::new(reader.source(), Vec::new(), Logger::default()),
            reader,
        )
    }

    fn rw(m: &mut Module) -> ck::CK_SESSION_HANDLE {
        m.open_session(0, ck::CKF_SERIAL_SESSION | ck::CKF_RW_SESSION)
            .unwrap()
    }

    fn private_key(m: &mut Module, h: ck::CK_SESSION_HANDLE, id: u8) -> ck::CK_OBJECT_HANDLE {
        crate::virtual_card::private_key(m, h, id).unwrap()
    }

    fn ecdsa() -> Mechanism {
        Mechanism {
            kind: ck::CKM_ECDSA,
            param: Param::None,
        }
    }

    #[test]
    fn sessions_and_login_states() {
        let (mut m, _reader) = module();
        assert_eq!(m.slot_list(true), vec![0]);
        assert_eq!(
            m.open_session(0, 0),
            Err(Rv::SESSION_PARALLEL_NOT_SUPPORTED)
        );
        assert_eq!(
            m.open_session(7, ck::CKF_SERIAL_SESSION),
            Err(Rv::SLOT_ID_INVALID)
        );
        let ro = m.open_session(0, ck::CKF_SERIAL_SESSION).unwrap();
        let h = rw(&mut m);
        assert_eq!(m.session_info(ro).unwrap().state, ck::CKS_RO_PUBLIC_SESSION);
        // SO login needs every session R/W.
        assert_eq!(
            m.login(h, ck::CKU_SO, Some(b"12345678")),
            Err(Rv::SESSION_READ_ONLY_EXISTS)
        );
        assert_eq!(m.logout(h), Err(Rv::USER_NOT_LOGGED_IN));
        assert_eq!(m.login(h, 7, Some(b"123456")), Err(Rv::USER_TYPE_INVALID));
        assert_eq!(
            m.login(h, ck::CKU_CONTEXT_SPECIFIC, Some(b"123456")),
            Err(Rv::USER_NOT_LOGGED_IN)
        );
        m.login(h, ck::CKU_USER, Some(b"123456")).unwrap();
        assert_eq!(m.session_info(ro).unwrap().state, ck::CKS_RO_USER_FUNCTIONS);
        assert_eq!(m.session_info(h).unwrap().state, ck::CKS_RW_USER_FUNCTIONS);
        assert_eq!(
            m.login(h, ck::CKU_SO, Some(b"12345678")),
            Err(Rv::USER_ANOTHER_ALREADY_LOGGED_IN)
        );
        // Context-specific login without an operation.
        assert_eq!(
            m.login(h, ck::CKU_CONTEXT_SPECIFIC, Some(b"123456")),
            Err(Rv::OPERATION_NOT_INITIALIZED)
        );
        assert_eq!(
            m.set_pin(ro, Some(b"123456"), Some(b"654321")),
            Err(Rv::SESSION_READ_ONLY)
        );
        assert_eq!(m.init_pin(h, Some(b"654321")), Err(Rv::USER_NOT_LOGGED_IN));
        // Closing the last session logs the token out.
        m.close_session(ro).unwrap();
        m.close_session(h).unwrap();
        assert_eq!(m.close_session(h), Err(Rv::SESSION_HANDLE_INVALID));
        let h = rw(&mut m);
        assert_eq!(m.session_info(h).unwrap().state, ck::CKS_RW_PUBLIC_SESSION);
        m.login(h, ck::CKU_SO, Some(b"12345678")).unwrap();
        assert_eq!(m.session_info(h).unwrap().state, ck::CKS_RW_SO_FUNCTIONS);
        assert_eq!(
            m.open_session(0, ck::CKF_SERIAL_SESSION),
            Err(Rv::SESSION_READ_WRITE_SO_EXISTS)
        );
        // A PUK that cannot be one is refused before anything is sent.
        m.logout(h).unwrap();
        assert_eq!(m.login(h, ck::CKU_SO, Some(b"1")), Err(Rv::PIN_LEN_RANGE));
    }

    #[test]
    fn operations_need_login_and_the_right_key() {
        let (mut m, _reader) = module();
        let h = rw(&mut m);
        // Before login the private key is not visible at all.
        let class = crate::attribute::ulong_bytes(ck::CKO_PRIVATE_KEY);
        m.find_init(
            h,
            &[TemplateItem {
                kind: ck::CKA_CLASS,
                value: &class,
            }],
        )
        .unwrap();
        assert_eq!(m.find_init(h, &[]), Err(Rv::OPERATION_ACTIVE));
        assert!(m.find(h, 10).unwrap().is_empty());
        m.find_final(h).unwrap();
        assert_eq!(m.find(h, 1), Err(Rv::OPERATION_NOT_INITIALIZED));
        m.login(h, ck::CKU_USER, Some(b"123456")).unwrap();
        let key = private_key(&mut m, h, 3);
        m.logout(h).unwrap();
        assert_eq!(m.sign_init(h, &ecdsa(), key), Err(Rv::USER_NOT_LOGGED_IN));
        assert_eq!(m.object_attributes(h, key), Err(Rv::OBJECT_HANDLE_INVALID));
        m.login(h, ck::CKU_USER, Some(b"123456")).unwrap();
        assert_eq!(m.sign_init(h, &ecdsa(), 9999), Err(Rv::KEY_HANDLE_INVALID));
        let rsa = Mechanism {
            kind: ck::CKM_RSA_PKCS,
            param: Param::None,
        };
        assert_eq!(m.sign_init(h, &rsa, key), Err(Rv::KEY_TYPE_INCONSISTENT));
        assert_eq!(
            m.decrypt_init(h, &rsa, key),
            Err(Rv::KEY_FUNCTION_NOT_PERMITTED)
        );
        assert_eq!(
            m.sign(h, Some(b"x"), Some(64)),
            Err(Rv::OPERATION_NOT_INITIALIZED)
        );
        m.sign_init(h, &ecdsa(), key).unwrap();
        assert_eq!(m.sign_init(h, &ecdsa(), key), Err(Rv::OPERATION_ACTIVE));
        // A length query and a short buffer leave the operation active.
        assert_eq!(m.sign(h, Some(&[1; 32]), None), Ok(Output::Needed(64)));
        assert_eq!(m.sign(h, Some(&[1; 32]), Some(10)), Ok(Output::Needed(64)));
        let Ok(Output::Done(sig)) = m.sign(h, Some(&[1; 32]), Some(64)) else {
            panic!("no signature")
        };
        assert_eq!(sig.len(), 64);
        assert_eq!(
            m.sign(h, Some(&[1; 32]), Some(64)),
            Err(Rv::OPERATION_NOT_INITIALIZED)
        );
        // The private value is sensitive; a token object cannot be destroyed.
        let attrs = m.object_attributes(h, key).unwrap();
        assert_eq!(
            attrs.read_into(ck::CKA_VALUE, None),
            AttributeRead::Failed(Rv::ATTRIBUTE_SENSITIVE)
        );
        assert_eq!(m.destroy_object(h, key), Err(Rv(ck::CKR_ACTION_PROHIBITED)));
        assert!(m.object_size(h, key).unwrap() > 0);
    }

    #[test]
    fn removal_closes_sessions_and_reinsertion_reads_the_card_again() {
        let (mut m, reader) = module();
        let h = rw(&mut m);
        m.login(h, ck::CKU_USER, Some(b"123456")).unwrap();
        let key = private_key(&mut m, h, 3);
        reader.set_present(false).unwrap();
        assert_eq!(m.slot_list(true), Vec::<ck::CK_SLOT_ID>::new());
        assert_eq!(m.slot_list(false), vec![0]);
        assert_eq!(m.slot_event(), Ok(0));
        assert_eq!(m.slot_event(), Err(Rv::NO_EVENT));
        // The next call on the old session says the device went; afterwards it is gone.
        assert_eq!(m.sign_init(h, &ecdsa(), key), Err(Rv::DEVICE_REMOVED));
        assert_eq!(
            m.sign_init(h, &ecdsa(), key),
            Err(Rv::SESSION_HANDLE_INVALID)
        );
        assert_eq!(
            m.open_session(0, ck::CKF_SERIAL_SESSION),
            Err(Rv::TOKEN_NOT_PRESENT)
        );
        assert_eq!(m.token_info(0), Err(Rv::TOKEN_NOT_PRESENT));
        reader.set_present(true).unwrap();
        let h = rw(&mut m);
        // New objects, new handles; the old key handle means nothing now.
        assert_eq!(m.object_attributes(h, key), Err(Rv::OBJECT_HANDLE_INVALID));
        // Not logged in: the card was powered off.
        assert_eq!(m.session_info(h).unwrap().state, ck::CKS_RW_PUBLIC_SESSION);
    }

    #[test]
    fn a_reset_between_calls_is_detected_and_the_pin_verified_again() {
        // Another application resets the card between two calls: the same card, its
        // verified state lost. The module notices (the connection's reset counter), sends
        // the cached PIN again and signs; the session stays logged in.
        let (mut m, reader) = module();
        let h = rw(&mut m);
        m.login(h, ck::CKU_USER, Some(b"123456")).unwrap();
        let key = private_key(&mut m, h, 3);
        assert_eq!(reader.pin_verifications().unwrap(), 1);
        m.sign_init(h, &ecdsa(), key).unwrap();
        reader.reset().unwrap();
        let Ok(Output::Done(sig)) = m.sign(h, Some(&[1; 32]), Some(64)) else {
            panic!("no signature after a reset")
        };
        assert_eq!(sig.len(), 64);
        assert_eq!(reader.pin_verifications().unwrap(), 2);
        assert_eq!(m.session_info(h).unwrap().state, ck::CKS_RW_USER_FUNCTIONS);
        // A removal and reinsertion between two calls is a removal, never a reset: the
        // session is closed (the card in the reader may be another one).
        reader.set_present(false).unwrap();
        reader.set_present(true).unwrap();
        assert_eq!(m.sign_init(h, &ecdsa(), key), Err(Rv::DEVICE_REMOVED));
        let h = rw(&mut m);
        assert_eq!(m.session_info(h).unwrap().state, ck::CKS_RW_PUBLIC_SESSION);
        assert_eq!(reader.pin_verifications().unwrap(), 2);
    }

    #[test]
    fn the_card_stays_verified_between_operations() {
        // The PIN goes to the card at login, not with each signature; logout resets it.
        let (mut m, reader) = module();
        let h = rw(&mut m);
        m.login(h, ck::CKU_USER, Some(b"123456")).unwrap();
        let key = private_key(&mut m, h, 3);
        for _ in 0..3 {
            m.sign_init(h, &ecdsa(), key).unwrap();
            assert!(matches!(
                m.sign(h, Some(&[7; 32]), Some(64)),
                Ok(Output::Done(_))
            ));
        }
        assert_eq!(reader.pin_verifications().unwrap(), 1);
        // The PIN-always key (9C) wants the context-specific PIN each time.
        let signing = private_key(&mut m, h, 2);
        let attrs = m.object_attributes(h, signing).unwrap();
        assert_eq!(attrs.bool(ck::CKA_ALWAYS_AUTHENTICATE), Some(true));
        m.sign_init(h, &ecdsa(), signing).unwrap();
        assert_eq!(
            m.sign(h, Some(&[7; 32]), Some(64)),
            Err(Rv::USER_NOT_LOGGED_IN)
        );
        m.sign_init(h, &ecdsa(), signing).unwrap();
        m.login(h, ck::CKU_CONTEXT_SPECIFIC, Some(b"123456"))
            .unwrap();
        assert!(matches!(
            m.sign(h, Some(&[7; 32]), Some(64)),
            Ok(Output::Done(_))
        ));
        // C_Login's VERIFY and the one right before GENERAL AUTHENTICATE.
        assert_eq!(reader.pin_verifications().unwrap(), 3);
        // Logout leaves no verified card behind: a new connection cannot sign.
        m.logout(h).unwrap();
        let mut channel = reader
            .source()
            .connect(crate::virtual_card::READER)
            .unwrap();
        let refused = channel.transaction(&mut |apdu| {
            let mut piv = cardwire_piv::Piv::new(crate::backend::ChannelSession(apdu));
            let mut buf = [0u8; 512];
            piv.select(&mut buf).unwrap();
            let r = piv.sign(
                cardwire_piv::Slot::KEY_MANAGEMENT,
                cardwire_piv::AlgorithmId::ECC_P256,
                &[7; 32],
                &mut buf,
            );
            assert!(r.is_err(), "the card is still verified after logout");
            Ok(())
        });
        assert_eq!(refused, Ok(()));
    }

    #[test]
    fn a_reset_during_an_operation_is_recovered_and_a_removal_reported() {
        // The card is reset after the module polled the reader but before the card
        // operation: the transport's CardReset is recovered from (same card); a removal
        // there becomes CKR_DEVICE_REMOVED.
        let reader = VirtualReader::new("reset").unwrap();
        let mut token = Token::open(
            reader
                .source()
                .connect(crate::virtual_card::READER)
                .unwrap(),
            false,
            &mut 0,
        )
        .unwrap();
        reader.reset().unwrap();
        assert_eq!(
            token.pin_counter(PinReference::PIV_APPLICATION_PIN),
            Ok(PinCounter::Left(3))
        );
        token
            .login_user(Some(&Pin::new(b"123456").unwrap()))
            .unwrap();
        reader.reset().unwrap();
        assert_eq!(
            token.pin_counter(PinReference::PIV_APPLICATION_PIN),
            Ok(PinCounter::Unknown)
        );
        reader.set_present(false).unwrap();
        reader.set_present(true).unwrap();
        assert_eq!(
            token.pin_counter(PinReference::PIV_APPLICATION_PIN),
            Err(Rv::DEVICE_REMOVED)
        );
    }

    #[test]
    fn wait_for_slot_event_blocks_until_a_card_moves_and_finalize_wakes_it() {
        use std::time::Duration;
        let reader = VirtualReader::new("wait").unwrap();
        let module = Module::new(reader.source(), Vec::new(), Logger::default());
        let state = Arc::new(Mutex::new(Some(module)));
        let wait = |state: &Arc<Mutex<Option<Module>>>| {
            let state = state.clone();
            std::thread::spawn(move || wait_for_slot_event(&state, true))
        };
        assert_eq!(wait_for_slot_event(&state, false), Err(Rv::NO_EVENT));

        let waiting = wait(&state);
        std::thread::sleep(Duration::from_millis(100));
        assert!(!waiting.is_finished());
        // The module is not locked while a thread waits; a reset is no slot event.
        let h = {
            let mut guard = state.lock().unwrap();
            let m = guard.as_mut().unwrap();
            assert_eq!(m.slot_list(true), vec![0]);
            rw(m)
        };
        reader.reset().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(!waiting.is_finished());
        reader.set_present(false).unwrap();
        assert_eq!(waiting.join().unwrap(), Ok(0));
        assert_eq!(wait_for_slot_event(&state, false), Err(Rv::NO_EVENT));
        {
            let mut guard = state.lock().unwrap();
            let m = guard.as_mut().unwrap();
            assert_eq!(m.check_session(h), Err(Rv::DEVICE_REMOVED));
        }

        // A card that came while nobody waited is reported by the next call at once.
        reader.set_present(true).unwrap();
        assert_eq!(wait(&state).join().unwrap(), Ok(0));

        // C_Finalize from another thread ends the wait.
        let waiting = wait(&state);
        std::thread::sleep(Duration::from_millis(100));
        assert!(!waiting.is_finished());
        let taken = state.lock().unwrap().take();
        taken.unwrap().finalize();
        assert_eq!(waiting.join().unwrap(), Err(Rv::CRYPTOKI_NOT_INITIALIZED));
        assert_eq!(
            wait_for_slot_event(&state, false),
            Err(Rv::CRYPTOKI_NOT_INITIALIZED)
        );
    }

    #[test]
    fn a_reader_that_goes_away_takes_its_card_with_it() {
        use crate::backend::{Channel, ReaderState};
        struct Readers(Arc<Mutex<Vec<ReaderState>>>);
        impl SlotSource for Readers {
            fn readers(&mut self) -> Result<Vec<ReaderState>> {
                Ok(self.0.lock().unwrap().clone())
            }
            fn connect(&mut self, _: &str) -> Result<Box<dyn Channel>> {
                Err(Rv::TOKEN_NOT_PRESENT)
            }
        }
        let state = |name: &str| ReaderState {
            name: name.into(),
            card_present: true,
            events: 1,
            pin_pad: false,
        };
        let readers = Arc::new(Mutex::new(vec![state("A"), state("B")]));
        let mut m = Module::new(
            Box::new(Readers(readers.clone())),
            Vec::new(),
            Logger::default(),
        );
        assert_eq!(m.slot_list(true), vec![0, 1]);
        readers.lock().unwrap().remove(0);
        assert_eq!(m.slot_list(true), vec![1]);
        assert_eq!(m.slot_list(false), vec![0, 1]);
        assert_eq!(m.slot_event(), Ok(0));
        assert_eq!(m.slot_event(), Err(Rv::NO_EVENT));
        // It comes back with its card: the same slot, one more event.
        readers.lock().unwrap().push(state("A"));
        assert_eq!(m.slot_list(true), vec![0, 1]);
        assert_eq!(m.slot_event(), Ok(0));
        assert_eq!(m.slot_event(), Err(Rv::NO_EVENT));
    }

    /// A deterministic generator for the test's RSA encryption (its randomness is no secret).
    struct Counter(u8);
    impl rsa::rand_core::TryRng for Counter {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
            Ok(u32::from(self.next()))
        }
        fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
            Ok(u64::from(self.next()))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Self::Error> {
            dst.iter_mut().for_each(|b| *b = self.next());
            Ok(())
        }
    }
    impl rsa::rand_core::TryCryptoRng for Counter {}
    impl Counter {
        fn next(&mut self) -> u8 {
            self.0 = self.0.wrapping_mul(29).wrapping_add(7) | 1;
            self.0
        }
    }

    #[test]
    fn rsa_decryption_with_a_key_management_key() {
        use cardwire_piv::{AlgorithmId, ManagementKey, ObjectId, Piv, Slot};
        use rsa::pkcs8::EncodePublicKey;

        // Issue an RSA-2048 key management key (9D) on the virtual card, as a credential
        // management system would: management key, GENERATE, certificate, PUT DATA.
        let reader = VirtualReader::new("decrypt").unwrap();
        let mut channel = reader
            .source()
            .connect(crate::virtual_card::READER)
            .unwrap();
        let mut public = None;
        channel
            .transaction(&mut |apdu| {
                let mut piv = Piv::new(crate::backend::ChannelSession(apdu));
                let mut buf = vec![0u8; 4096];
                piv.select(&mut buf).unwrap();
                let key = ManagementKey::new(
                    AlgorithmId::TDES_3KEY,
                    &cardwire_vcard::piv::DEFAULT_MANAGEMENT_KEY,
                )
                .unwrap();
                piv.authenticate_management_key(&key, &mut Counter(1))
                    .unwrap();
                let generated = piv
                    .generate(Slot::KEY_MANAGEMENT, AlgorithmId::RSA_2048, &mut buf)
                    .unwrap()
                    .to_rsa()
                    .unwrap();
                let spki = generated.to_public_key_der().unwrap();
                let cert = cardwire_vcard::identity::issue_piv_certificate(
                    spki.as_bytes(),
                    0x9D,
                    "Decrypt Test",
                    cardwire_vcard::UserId(123_456_789_012),
                    cardwire_vcard::CardSerial([7; 8]),
                )
                .unwrap();
                let content = cardwire_vcard::piv::certificate_object(&cert).unwrap();
                piv.put_data(ObjectId::X509_KEY_MANAGEMENT, &content, &mut buf)
                    .unwrap();
                public = Some(generated);
                Ok(())
            })
            .unwrap();
        let public = public.unwrap();
        drop(channel);

        let mut m = Module::new(reader.source(), Vec::new(), Logger::default());
        let h = rw(&mut m);
        m.login(h, ck::CKU_USER, Some(b"123456")).unwrap();
        let key = private_key(&mut m, h, 3);
        let attrs = m.object_attributes(h, key).unwrap();
        assert_eq!(attrs.ulong(ck::CKA_KEY_TYPE), Some(ck::CKK_RSA));
        assert_eq!(attrs.bool(ck::CKA_DECRYPT), Some(true));
        let pkcs = Mechanism {
            kind: ck::CKM_RSA_PKCS,
            param: Param::None,
        };
        let secret = b"a wrapped session key";
        let ciphertext = public
            .encrypt(&mut Counter(9), rsa::Pkcs1v15Encrypt, secret)
            .unwrap();

        // Single-part, with a length query first.
        m.decrypt_init(h, &pkcs, key).unwrap();
        assert_eq!(
            m.decrypt(h, Some(&ciphertext), None),
            Ok(Output::Needed(256))
        );
        assert_eq!(
            m.decrypt(h, Some(&ciphertext), Some(4)),
            Ok(Output::Needed(secret.len()))
        );
        let Ok(Output::Done(plain)) = m.decrypt(h, Some(&ciphertext), Some(256)) else {
            panic!("no plaintext")
        };
        assert_eq!(&plain[..], secret);

        // Multi-part.
        m.decrypt_init(h, &pkcs, key).unwrap();
        m.decrypt_update(h, &ciphertext[..100]).unwrap();
        m.decrypt_update(h, &ciphertext[100..]).unwrap();
        let Ok(Output::Done(plain)) = m.decrypt(h, None, Some(256)) else {
            panic!("no plaintext")
        };
        assert_eq!(&plain[..], secret);

        // A ciphertext of the wrong length, and one that is not PKCS#1 v1.5 padded.
        m.decrypt_init(h, &pkcs, key).unwrap();
        assert_eq!(
            m.decrypt(h, Some(&ciphertext[1..]), Some(256)),
            Err(Rv::ENCRYPTED_DATA_LEN_RANGE)
        );
        m.decrypt_init(h, &pkcs, key).unwrap();
        let mut garbage = ciphertext.clone();
        garbage[200] ^= 1;
        assert_eq!(
            m.decrypt(h, Some(&garbage), Some(256)),
            Err(Rv::ENCRYPTED_DATA_INVALID)
        );
    }

    #[test]
    fn token_flags_follow_the_retry_counter() {
        let (mut m, _reader) = module();
        let h = rw(&mut m);
        let flags = |m: &mut Module| m.token_info(0).unwrap().flags;
        assert_eq!(flags(&mut m) & ck::CKF_USER_PIN_COUNT_LOW, 0);
        assert!(flags(&mut m) & ck::CKF_LOGIN_REQUIRED != 0);
        assert_eq!(
            m.login(h, ck::CKU_USER, Some(b"000000")),
            Err(Rv::PIN_INCORRECT)
        );
        assert!(flags(&mut m) & ck::CKF_USER_PIN_COUNT_LOW != 0);
        assert_eq!(
            m.login(h, ck::CKU_USER, Some(b"000000")),
            Err(Rv::PIN_INCORRECT)
        );
        assert!(flags(&mut m) & ck::CKF_USER_PIN_FINAL_TRY != 0);
        assert_eq!(
            m.login(h, ck::CKU_USER, Some(b"000000")),
            Err(Rv::PIN_LOCKED)
        );
        assert!(flags(&mut m) & ck::CKF_USER_PIN_LOCKED != 0);
        let info = m.token_info(0).unwrap();
        assert_eq!((info.sessions, info.rw_sessions), (1, 1));
    }
}
