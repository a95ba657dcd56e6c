//! The C ABI: every `C_*` entry point of PKCS#11 v2.40 and the function list. This is the
//! crate's only module with `unsafe` code: it turns the caller's pointers into slices and
//! values (checking for null first: `CKR_ARGUMENTS_BAD`), calls [`crate::module::Module`]
//! under one global lock, and writes results back with the output-buffer conventions of
//! PKCS#11 §5.2 (length query with a null buffer, `CKR_BUFFER_TOO_SMALL`).
//!
//! No panic crosses the ABI: each entry point runs under `catch_unwind`, and a panic (a bug)
//! becomes `CKR_GENERAL_ERROR`.

#![allow(unsafe_code)]
#![allow(non_snake_case)]
#![allow(clippy::missing_safety_doc)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, MutexGuard};

use cryptoki_sys as ck;

use crate::attribute::{AttributeRead, TemplateItem};
use crate::backend::SlotSource;
use crate::config::Config;
use crate::error::{Result, Rv};
use crate::log::{Level, Logger};
use crate::mechanism::{self, Mechanism, Param};
use crate::module::{self, Module, Output};

/// The module, between `C_Initialize` and `C_Finalize`. One lock serialises every call: card
/// operations are serial anyway, and the lock makes concurrent sessions safe
/// (`CKF_OS_LOCKING_OK`).
static STATE: Mutex<Option<Module>> = Mutex::new(None);

fn lock() -> MutexGuard<'static, Option<Module>> {
    // A panic while holding the lock was caught at the ABI; the state is still consistent
    // enough to finalize, so a poisoned lock is taken over.
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

fn rv(r: Result<()>) -> ck::CK_RV {
    match r {
        Ok(()) => ck::CKR_OK,
        Err(Rv(v)) => v,
    }
}

/// Runs `f` on the initialized module, catching panics.
fn with(f: impl FnOnce(&mut Module) -> Result<()>) -> ck::CK_RV {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut guard = lock();
        let module = guard.as_mut().ok_or(Rv::CRYPTOKI_NOT_INITIALIZED)?;
        f(module)
    }));
    match r {
        Ok(r) => rv(r),
        Err(_) => ck::CKR_GENERAL_ERROR,
    }
}

/// Runs `f` (no module needed), catching panics.
fn guarded(f: impl FnOnce() -> Result<()>) -> ck::CK_RV {
    catch_unwind(AssertUnwindSafe(f)).map_or(ck::CKR_GENERAL_ERROR, rv)
}

// ----- pointer helpers (every unsafe block of the crate is below) -----------------------

/// The `len` bytes at `ptr` (empty when `len` is 0, whatever `ptr` is).
///
/// # Safety
/// When `ptr` is not null it points to `len` readable bytes that stay valid and unwritten
/// for `'a` (the caller's PKCS#11 contract for input buffers).
unsafe fn input<'a>(ptr: *const u8, len: ck::CK_ULONG) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Rv::ARGUMENTS_BAD);
    }
    let len = usize::try_from(len).map_err(|_| Rv::ARGUMENTS_BAD)?;
    // SAFETY: not null, and by the caller's contract `len` bytes are readable for 'a.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Like [`input`], but a null pointer is `None` (a PIN to be entered on the PIN pad).
///
/// # Safety
/// As [`input`].
unsafe fn optional_input<'a>(ptr: *const u8, len: ck::CK_ULONG) -> Result<Option<&'a [u8]>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: as this function's contract.
    unsafe { input(ptr, len) }.map(Some)
}

/// Writes `value` through `ptr`.
///
/// # Safety
/// `ptr` is null or valid for writing one `T`.
unsafe fn put<T>(ptr: *mut T, value: T) -> Result<()> {
    if ptr.is_null() {
        return Err(Rv::ARGUMENTS_BAD);
    }
    // SAFETY: not null and writable by the caller's contract; `write_unaligned` makes no
    // alignment assumption about the caller's memory.
    unsafe { ptr.write_unaligned(value) };
    Ok(())
}

/// Reads the `T` at `ptr`.
///
/// # Safety
/// `ptr` is null or valid for reading one `T`.
unsafe fn get<T: Copy>(ptr: *const T) -> Result<T> {
    if ptr.is_null() {
        return Err(Rv::ARGUMENTS_BAD);
    }
    // SAFETY: not null and readable by the caller's contract.
    Ok(unsafe { ptr.read_unaligned() })
}

/// The output-buffer convention of PKCS#11 §5.2: `out` null → report the length; too
/// small → report the length and `CKR_BUFFER_TOO_SMALL`; else copy.
///
/// # Safety
/// `len_ptr` is null or valid for reading and writing a `CK_ULONG`; `out` is null or valid
/// for writing `*len_ptr` bytes.
unsafe fn output(items: &[u8], out: *mut u8, len_ptr: *mut ck::CK_ULONG) -> Result<()> {
    // SAFETY: as this function's contract.
    let capacity = unsafe { get(len_ptr) }?;
    // SAFETY: as this function's contract.
    unsafe { put(len_ptr, items.len() as ck::CK_ULONG) }?;
    if out.is_null() {
        return Ok(());
    }
    if (capacity as usize) < items.len() {
        return Err(Rv::BUFFER_TOO_SMALL);
    }
    // SAFETY: `out` is writable for `capacity` >= `items.len()` bytes; the regions are
    // distinct because `items` is the module's own memory.
    unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), out, items.len()) };
    Ok(())
}

/// [`output`] for a list of values (slots, mechanisms, interfaces).
///
/// # Safety
/// As [`output`], with `out` valid for `*len_ptr` elements.
unsafe fn output_list<T: Copy>(items: &[T], out: *mut T, len_ptr: *mut ck::CK_ULONG) -> Result<()> {
    // SAFETY: as this function's contract.
    let capacity = unsafe { get(len_ptr) }?;
    // SAFETY: as this function's contract.
    unsafe { put(len_ptr, items.len() as ck::CK_ULONG) }?;
    if out.is_null() {
        return Ok(());
    }
    if (capacity as usize) < items.len() {
        return Err(Rv::BUFFER_TOO_SMALL);
    }
    for (i, item) in items.iter().enumerate() {
        // SAFETY: `i` < `items.len()` <= `capacity` elements are writable at `out`.
        unsafe { out.add(i).write_unaligned(*item) };
    }
    Ok(())
}

/// A sign/decrypt [`Output`] through the output convention, where the length is known
/// only to the module.
///
/// # Safety
/// As [`output`].
unsafe fn write_output(result: Output, out: *mut u8, len_ptr: *mut ck::CK_ULONG) -> Result<()> {
    match result {
        Output::Needed(n) => {
            // SAFETY: as this function's contract.
            unsafe { put(len_ptr, n as ck::CK_ULONG) }?;
            if out.is_null() {
                Ok(())
            } else {
                Err(Rv::BUFFER_TOO_SMALL)
            }
        }
        // SAFETY: as this function's contract.
        Output::Done(bytes) => unsafe { output(&bytes, out, len_ptr) },
    }
}

/// The capacity of an output buffer: `None` for a length query (null buffer).
///
/// # Safety
/// `len_ptr` is null or readable.
unsafe fn capacity(out: *const u8, len_ptr: *const ck::CK_ULONG) -> Result<Option<usize>> {
    // SAFETY: as this function's contract.
    let len = unsafe { get(len_ptr) }?;
    Ok((!out.is_null()).then_some(len as usize))
}

/// A template (`C_FindObjectsInit`, `C_DeriveKey`).
///
/// # Safety
/// `ptr` is null or points to `count` readable `CK_ATTRIBUTE`s whose values are readable
/// for `'a`.
unsafe fn template<'a>(
    ptr: *const ck::CK_ATTRIBUTE,
    count: ck::CK_ULONG,
) -> Result<Vec<TemplateItem<'a>>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() || count > 1024 {
        return Err(Rv::ARGUMENTS_BAD);
    }
    let mut items = Vec::with_capacity(count as usize);
    for i in 0..count as usize {
        // SAFETY: `i` < `count` readable attributes.
        let a = unsafe { ptr.add(i).read_unaligned() };
        // SAFETY: the attribute's value is readable for `ulValueLen` bytes.
        let value = unsafe { input(a.pValue as *const u8, a.ulValueLen) }?;
        items.push(TemplateItem {
            kind: a.type_,
            value,
        });
    }
    Ok(items)
}

/// A mechanism and its parameter.
///
/// # Safety
/// `ptr` is null or points to a readable `CK_MECHANISM` whose parameter is readable for
/// `ulParameterLen` bytes (and, for ECDH, whose data pointers are readable).
unsafe fn mechanism(ptr: *const ck::CK_MECHANISM) -> Result<Mechanism> {
    // SAFETY: as this function's contract.
    let m = unsafe { get(ptr) }?;
    let param_len = m.ulParameterLen as usize;
    let param = match m.mechanism {
        _ if m.pParameter.is_null() => {
            if param_len != 0 {
                return Err(Rv::ARGUMENTS_BAD);
            }
            Param::None
        }
        ck::CKM_RSA_PKCS_PSS | ck::CKM_SHA256_RSA_PKCS_PSS | ck::CKM_SHA384_RSA_PKCS_PSS => {
            if param_len != size_of::<ck::CK_RSA_PKCS_PSS_PARAMS>() {
                return Err(Rv::MECHANISM_PARAM_INVALID);
            }
            // SAFETY: the parameter is readable for its length, which is one struct.
            let p = unsafe { get(m.pParameter as *const ck::CK_RSA_PKCS_PSS_PARAMS) }?;
            Param::Pss {
                hash: p.hashAlg,
                mgf: p.mgf,
                salt_len: p.sLen,
            }
        }
        ck::CKM_ECDH1_DERIVE => {
            if param_len != size_of::<ck::CK_ECDH1_DERIVE_PARAMS>() {
                return Err(Rv::MECHANISM_PARAM_INVALID);
            }
            // SAFETY: the parameter is readable for its length, which is one struct.
            let p = unsafe { get(m.pParameter as *const ck::CK_ECDH1_DERIVE_PARAMS) }?;
            // SAFETY: the struct's data pointers are readable for their lengths.
            let shared = unsafe { input(p.pSharedData, p.ulSharedDataLen) }?;
            // SAFETY: as above.
            let public = unsafe { input(p.pPublicData, p.ulPublicDataLen) }?;
            Param::Ecdh {
                kdf: p.kdf,
                shared_data: shared.to_vec(),
                public_data: public.to_vec(),
            }
        }
        _ => Param::Other(param_len),
    };
    Ok(Mechanism {
        kind: m.mechanism,
        param,
    })
}

/// Blank-padded, truncated at a character boundary (PKCS#11 §3.3 text fields).
fn padded<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [b' '; N];
    let mut end = text.len().min(N);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    for (o, b) in out
        .iter_mut()
        .zip(text.as_bytes().get(..end).unwrap_or_default())
    {
        *o = *b;
    }
    out
}

const VERSION: ck::CK_VERSION = ck::CK_VERSION { major: 0, minor: 1 };

// ----- general purpose ------------------------------------------------------------------

fn make_source(config: &Config) -> Result<Box<dyn SlotSource>> {
    #[cfg(feature = "virtual-card")]
    if let Some(seed) = &config.virtual_seed {
        return Ok(crate::virtual_card::VirtualReader::new(seed)?.source());
    }
    let _ = config;
    #[cfg(feature = "pcsc")]
    return Ok(Box::new(crate::pcsc_source::PcscSource::new()));
    #[cfg(not(feature = "pcsc"))]
    Ok(Box::new(NoReaders))
}

/// The slot source of a build without `pcsc`: no readers.
#[cfg(not(feature = "pcsc"))]
struct NoReaders;

#[cfg(not(feature = "pcsc"))]
impl SlotSource for NoReaders {
    fn readers(&mut self) -> Result<Vec<crate::backend::ReaderState>> {
        Ok(Vec::new())
    }
    fn connect(&mut self, _: &str) -> Result<Box<dyn crate::backend::Channel>> {
        Err(Rv::TOKEN_NOT_PRESENT)
    }
}

/// `C_Initialize` (PKCS#11 §5.4).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Initialize(pInitArgs: *mut core::ffi::c_void) -> ck::CK_RV {
    guarded(|| {
        if !pInitArgs.is_null() {
            // SAFETY: a non-null argument points to a CK_C_INITIALIZE_ARGS (§5.4).
            let args = unsafe { get(pInitArgs as *const ck::CK_C_INITIALIZE_ARGS) }?;
            if !args.pReserved.is_null() {
                return Err(Rv::ARGUMENTS_BAD);
            }
            let given = [
                args.CreateMutex.is_some(),
                args.DestroyMutex.is_some(),
                args.LockMutex.is_some(),
                args.UnlockMutex.is_some(),
            ];
            if given.iter().any(|&g| g) && !given.iter().all(|&g| g) {
                return Err(Rv::ARGUMENTS_BAD);
            }
            // With or without the application's mutex functions, the module uses the
            // operating system's locking, which §5.4 allows when CKF_OS_LOCKING_OK is set,
            // and which is always safe to use in addition to the application's.
        }
        let mut guard = lock();
        if guard.is_some() {
            return Err(Rv::CRYPTOKI_ALREADY_INITIALIZED);
        }
        let config = Config::from_env();
        let log = Logger::new(
            config.log_level.unwrap_or(Level::Off),
            config.log_file.as_deref(),
        );
        let source = make_source(&config)?;
        let module = Module::new(source, config.readers.clone(), log);
        module.log().info(format_args!("initialized"));
        *guard = Some(module);
        Ok(())
    })
}

/// Like `C_Initialize` with no arguments, but with the slots of `source` and no log, for
/// tests and fuzzing of the C ABI against an in-process card.
pub fn initialize_with(source: Box<dyn SlotSource>) -> ck::CK_RV {
    guarded(|| {
        let mut guard = lock();
        if guard.is_some() {
            return Err(Rv::CRYPTOKI_ALREADY_INITIALIZED);
        }
        *guard = Some(Module::new(source, Vec::new(), Logger::default()));
        Ok(())
    })
}

/// `C_Finalize`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Finalize(pReserved: *mut core::ffi::c_void) -> ck::CK_RV {
    guarded(|| {
        if !pReserved.is_null() {
            return Err(Rv::ARGUMENTS_BAD);
        }
        let mut guard = lock();
        let mut module = guard.take().ok_or(Rv::CRYPTOKI_NOT_INITIALIZED)?;
        module.finalize();
        Ok(())
    })
}

/// `C_GetInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetInfo(pInfo: *mut ck::CK_INFO) -> ck::CK_RV {
    with(|_| {
        let info = ck::CK_INFO {
            cryptokiVersion: ck::CK_VERSION {
                major: 2,
                minor: 40,
            },
            manufacturerID: padded("cardwire"),
            flags: 0,
            libraryDescription: padded("cardwire PIV PKCS#11 module"),
            libraryVersion: VERSION,
        };
        // SAFETY: pInfo is null or writable (checked in `put`).
        unsafe { put(pInfo, info) }
    })
}

/// `C_GetFunctionList`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetFunctionList(
    ppFunctionList: *mut *mut ck::CK_FUNCTION_LIST,
) -> ck::CK_RV {
    guarded(|| {
        let list = &FUNCTION_LIST as *const ck::CK_FUNCTION_LIST as *mut ck::CK_FUNCTION_LIST;
        // SAFETY: ppFunctionList is null or writable. The list is a static the caller only
        // reads (PKCS#11 §5.2: "the application must not modify it").
        unsafe { put(ppFunctionList, list) }
    })
}

// ----- PKCS#11 3.0 interfaces -------------------------------------------------------------

/// The name PKCS#11 v3.0 §5.4 gives the standard interface.
const INTERFACE_NAME: &core::ffi::CStr = c"PKCS 11";

/// A `CK_INTERFACE` in a static (raw pointers are not `Sync`).
struct StaticInterface(ck::CK_INTERFACE);

// SAFETY: the pointers inside are to immutable statics (the name literal and
// FUNCTION_LIST), which any thread may read; nobody writes through them (v3.0 §5.4: the
// application must not modify them).
unsafe impl Sync for StaticInterface {}

/// The interfaces this module offers: "PKCS 11" with the v2.40 function list (the 3.0
/// function list, with the message-based functions and `C_LoginUser`, is not offered).
static INTERFACES: [StaticInterface; 1] = [StaticInterface(ck::CK_INTERFACE {
    pInterfaceName: INTERFACE_NAME.as_ptr() as *mut ck::CK_UTF8CHAR,
    pFunctionList: &FUNCTION_LIST as *const ck::CK_FUNCTION_LIST as *mut core::ffi::c_void,
    flags: 0,
})];

/// `C_GetInterfaceList` (PKCS#11 v3.0 §5.4.5): the interfaces, with the output-buffer
/// convention of §5.2. Callable before `C_Initialize`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetInterfaceList(
    pInterfacesList: *mut ck::CK_INTERFACE,
    pulCount: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    guarded(|| {
        let list: Vec<ck::CK_INTERFACE> = INTERFACES.iter().map(|i| i.0).collect();
        // SAFETY: the caller's buffers per §5.2 (checked for null inside).
        unsafe { output_list(&list, pInterfacesList, pulCount) }
    })
}

/// `C_GetInterface` (PKCS#11 v3.0 §5.4.6): the interface with this name (null: the
/// default, "PKCS 11"), version (null: any) and at least these flags; `CKR_ARGUMENTS_BAD`
/// when there is none. Callable before `C_Initialize`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetInterface(
    pInterfaceName: *mut ck::CK_UTF8CHAR,
    pVersion: *mut ck::CK_VERSION,
    ppInterface: *mut *mut ck::CK_INTERFACE,
    flags: ck::CK_FLAGS,
) -> ck::CK_RV {
    guarded(|| {
        if ppInterface.is_null() {
            return Err(Rv::ARGUMENTS_BAD);
        }
        let name = if pInterfaceName.is_null() {
            None
        } else {
            // SAFETY: a non-null name is a NUL-terminated string (v3.0 §5.4.6).
            Some(unsafe { core::ffi::CStr::from_ptr(pInterfaceName as *const core::ffi::c_char) })
        };
        let version = if pVersion.is_null() {
            None
        } else {
            // SAFETY: a non-null version points to a CK_VERSION.
            Some(unsafe { get(pVersion as *const ck::CK_VERSION) }?)
        };
        let found = INTERFACES
            .iter()
            .find(|i| {
                let list_version = FUNCTION_LIST.version;
                name.is_none_or(|n| n == INTERFACE_NAME)
                    && version.is_none_or(|v| {
                        (v.major, v.minor) == (list_version.major, list_version.minor)
                    })
                    && flags & !i.0.flags == 0
            })
            .ok_or(Rv::ARGUMENTS_BAD)?;
        let interface = &found.0 as *const ck::CK_INTERFACE as *mut ck::CK_INTERFACE;
        // SAFETY: ppInterface is writable (not null, the caller's contract); the interface
        // is a static the caller only reads.
        unsafe { put(ppInterface, interface) }
    })
}

// ----- slots and tokens -------------------------------------------------------------------

/// `C_GetSlotList`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetSlotList(
    tokenPresent: ck::CK_BBOOL,
    pSlotList: *mut ck::CK_SLOT_ID,
    pulCount: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        let slots = m.slot_list(tokenPresent != ck::CK_FALSE);
        // SAFETY: the caller's buffers per §5.2 (checked for null inside).
        unsafe { output_list(&slots, pSlotList, pulCount) }
    })
}

/// `C_GetSlotInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetSlotInfo(
    slotID: ck::CK_SLOT_ID,
    pInfo: *mut ck::CK_SLOT_INFO,
) -> ck::CK_RV {
    with(|m| {
        if pInfo.is_null() {
            return Err(Rv::ARGUMENTS_BAD);
        }
        let s = m.slot_info(slotID)?;
        let info = ck::CK_SLOT_INFO {
            slotDescription: padded(&s.description),
            manufacturerID: padded("cardwire"),
            flags: s.flags,
            hardwareVersion: VERSION,
            firmwareVersion: VERSION,
        };
        // SAFETY: pInfo is writable (not null, caller's contract).
        unsafe { put(pInfo, info) }
    })
}

/// `C_GetTokenInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetTokenInfo(
    slotID: ck::CK_SLOT_ID,
    pInfo: *mut ck::CK_TOKEN_INFO,
) -> ck::CK_RV {
    with(|m| {
        if pInfo.is_null() {
            return Err(Rv::ARGUMENTS_BAD);
        }
        let t = m.token_info(slotID)?;
        let info = ck::CK_TOKEN_INFO {
            label: padded(&t.label),
            manufacturerID: padded("piv_II"),
            model: padded("PIV II"),
            serialNumber: padded(&t.serial),
            flags: t.flags,
            ulMaxSessionCount: module::MAX_SESSIONS as ck::CK_ULONG,
            ulSessionCount: t.sessions,
            ulMaxRwSessionCount: module::MAX_SESSIONS as ck::CK_ULONG,
            ulRwSessionCount: t.rw_sessions,
            ulMaxPinLen: module::PIN_MAX,
            ulMinPinLen: module::PIN_MIN,
            ulTotalPublicMemory: ck::CK_UNAVAILABLE_INFORMATION,
            ulFreePublicMemory: ck::CK_UNAVAILABLE_INFORMATION,
            ulTotalPrivateMemory: ck::CK_UNAVAILABLE_INFORMATION,
            ulFreePrivateMemory: ck::CK_UNAVAILABLE_INFORMATION,
            hardwareVersion: VERSION,
            firmwareVersion: VERSION,
            utcTime: [b' '; 16],
        };
        // SAFETY: pInfo is writable (not null, caller's contract).
        unsafe { put(pInfo, info) }
    })
}

/// `C_GetMechanismList`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetMechanismList(
    slotID: ck::CK_SLOT_ID,
    pMechanismList: *mut ck::CK_MECHANISM_TYPE,
    pulCount: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        if m.slot_info(slotID)?.flags & ck::CKF_TOKEN_PRESENT == 0 {
            return Err(Rv::TOKEN_NOT_PRESENT);
        }
        let list: Vec<_> = mechanism::MECHANISMS.iter().map(|i| i.kind).collect();
        // SAFETY: the caller's buffers per §5.2 (checked for null inside).
        unsafe { output_list(&list, pMechanismList, pulCount) }
    })
}

/// `C_GetMechanismInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetMechanismInfo(
    slotID: ck::CK_SLOT_ID,
    type_: ck::CK_MECHANISM_TYPE,
    pInfo: *mut ck::CK_MECHANISM_INFO,
) -> ck::CK_RV {
    with(|m| {
        if m.slot_info(slotID)?.flags & ck::CKF_TOKEN_PRESENT == 0 {
            return Err(Rv::TOKEN_NOT_PRESENT);
        }
        let i = mechanism::info(type_).ok_or(Rv::MECHANISM_INVALID)?;
        let info = ck::CK_MECHANISM_INFO {
            ulMinKeySize: i.min,
            ulMaxKeySize: i.max,
            flags: i.flags,
        };
        // SAFETY: pInfo is null or writable (checked in `put`).
        unsafe { put(pInfo, info) }
    })
}

/// `C_InitPIN`: RESET RETRY COUNTER under SO login.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_InitPIN(
    hSession: ck::CK_SESSION_HANDLE,
    pPin: *mut ck::CK_UTF8CHAR,
    ulPinLen: ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        // SAFETY: the PIN is null (PIN pad) or readable for its length.
        let pin = unsafe { optional_input(pPin, ulPinLen) }?;
        m.init_pin(hSession, pin)
    })
}

/// `C_SetPIN`: CHANGE REFERENCE DATA.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SetPIN(
    hSession: ck::CK_SESSION_HANDLE,
    pOldPin: *mut ck::CK_UTF8CHAR,
    ulOldLen: ck::CK_ULONG,
    pNewPin: *mut ck::CK_UTF8CHAR,
    ulNewLen: ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        // SAFETY: each PIN is null (PIN pad) or readable for its length.
        let old = unsafe { optional_input(pOldPin, ulOldLen) }?;
        // SAFETY: as above.
        let new = unsafe { optional_input(pNewPin, ulNewLen) }?;
        m.set_pin(hSession, old, new)
    })
}

// ----- sessions ---------------------------------------------------------------------------

/// `C_OpenSession` (notification callbacks are not used).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_OpenSession(
    slotID: ck::CK_SLOT_ID,
    flags: ck::CK_FLAGS,
    _pApplication: *mut core::ffi::c_void,
    _Notify: ck::CK_NOTIFY,
    phSession: *mut ck::CK_SESSION_HANDLE,
) -> ck::CK_RV {
    with(|m| {
        if phSession.is_null() {
            return Err(Rv::ARGUMENTS_BAD);
        }
        let h = m.open_session(slotID, flags)?;
        // SAFETY: phSession is writable (not null, caller's contract).
        unsafe { put(phSession, h) }
    })
}

/// `C_CloseSession`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_CloseSession(hSession: ck::CK_SESSION_HANDLE) -> ck::CK_RV {
    with(|m| m.close_session(hSession))
}

/// `C_CloseAllSessions`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_CloseAllSessions(slotID: ck::CK_SLOT_ID) -> ck::CK_RV {
    with(|m| m.close_all_sessions(slotID))
}

/// `C_GetSessionInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetSessionInfo(
    hSession: ck::CK_SESSION_HANDLE,
    pInfo: *mut ck::CK_SESSION_INFO,
) -> ck::CK_RV {
    with(|m| {
        if pInfo.is_null() {
            return Err(Rv::ARGUMENTS_BAD);
        }
        let s = m.session_info(hSession)?;
        let info = ck::CK_SESSION_INFO {
            slotID: s.slot,
            state: s.state,
            flags: s.flags,
            ulDeviceError: 0,
        };
        // SAFETY: pInfo is writable (not null, caller's contract).
        unsafe { put(pInfo, info) }
    })
}

/// `C_Login`: a null PIN means the reader's PIN pad.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Login(
    hSession: ck::CK_SESSION_HANDLE,
    userType: ck::CK_USER_TYPE,
    pPin: *mut ck::CK_UTF8CHAR,
    ulPinLen: ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        // SAFETY: the PIN is null (PIN pad) or readable for its length.
        let pin = unsafe { optional_input(pPin, ulPinLen) }?;
        m.login(hSession, userType, pin)
    })
}

/// `C_Logout`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Logout(hSession: ck::CK_SESSION_HANDLE) -> ck::CK_RV {
    with(|m| m.logout(hSession))
}

// ----- objects ----------------------------------------------------------------------------

/// `C_DestroyObject` (session objects only).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DestroyObject(
    hSession: ck::CK_SESSION_HANDLE,
    hObject: ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    with(|m| m.destroy_object(hSession, hObject))
}

/// `C_GetObjectSize`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetObjectSize(
    hSession: ck::CK_SESSION_HANDLE,
    hObject: ck::CK_OBJECT_HANDLE,
    pulSize: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        if pulSize.is_null() {
            return Err(Rv::ARGUMENTS_BAD);
        }
        let n = m.object_size(hSession, hObject)?;
        // SAFETY: pulSize is writable (not null, caller's contract).
        unsafe { put(pulSize, n as ck::CK_ULONG) }
    })
}

/// `C_GetAttributeValue` with the size-query protocol of §5.7.5.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetAttributeValue(
    hSession: ck::CK_SESSION_HANDLE,
    hObject: ck::CK_OBJECT_HANDLE,
    pTemplate: *mut ck::CK_ATTRIBUTE,
    ulCount: ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        if pTemplate.is_null() && ulCount != 0 {
            return Err(Rv::ARGUMENTS_BAD);
        }
        let attributes = m.object_attributes(hSession, hObject)?;
        let mut first = None;
        for i in 0..ulCount as usize {
            // SAFETY: `i` < `ulCount` attributes are readable and writable at pTemplate.
            let slot = unsafe { pTemplate.add(i) };
            // SAFETY: as above.
            let mut a = unsafe { slot.read_unaligned() };
            let read = if a.pValue.is_null() {
                attributes.read_into(a.type_, None)
            } else {
                // SAFETY: a non-null value pointer is writable for `ulValueLen` bytes; the
                // slice lives only for this call and no other reference to it exists.
                let buf = unsafe {
                    std::slice::from_raw_parts_mut(a.pValue as *mut u8, a.ulValueLen as usize)
                };
                attributes.read_into(a.type_, Some(buf))
            };
            a.ulValueLen = match read {
                AttributeRead::Length(n) => n as ck::CK_ULONG,
                AttributeRead::Failed(rv) => {
                    first.get_or_insert(rv);
                    ck::CK_UNAVAILABLE_INFORMATION
                }
            };
            // SAFETY: as above.
            unsafe { slot.write_unaligned(a) };
        }
        first.map_or(Ok(()), Err)
    })
}

/// `C_FindObjectsInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_FindObjectsInit(
    hSession: ck::CK_SESSION_HANDLE,
    pTemplate: *mut ck::CK_ATTRIBUTE,
    ulCount: ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        // SAFETY: the template is null (with count 0) or readable.
        let t = unsafe { template(pTemplate, ulCount) }?;
        m.find_init(hSession, &t)
    })
}

/// `C_FindObjects`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_FindObjects(
    hSession: ck::CK_SESSION_HANDLE,
    phObject: *mut ck::CK_OBJECT_HANDLE,
    ulMaxObjectCount: ck::CK_ULONG,
    pulObjectCount: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        if phObject.is_null() || pulObjectCount.is_null() {
            return Err(Rv::ARGUMENTS_BAD);
        }
        let found = m.find(hSession, ulMaxObjectCount as usize)?;
        for (i, h) in found.iter().enumerate() {
            // SAFETY: `i` < `ulMaxObjectCount` handles are writable at phObject.
            unsafe { phObject.add(i).write_unaligned(*h) };
        }
        // SAFETY: pulObjectCount is writable (not null, caller's contract).
        unsafe { put(pulObjectCount, found.len() as ck::CK_ULONG) }
    })
}

/// `C_FindObjectsFinal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_FindObjectsFinal(hSession: ck::CK_SESSION_HANDLE) -> ck::CK_RV {
    with(|m| m.find_final(hSession))
}

// ----- decryption -------------------------------------------------------------------------

/// `C_DecryptInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DecryptInit(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hKey: ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    with(|m| {
        // SAFETY: the mechanism is null or readable.
        let mech = unsafe { mechanism(pMechanism) }?;
        m.decrypt_init(hSession, &mech, hKey)
    })
}

/// `C_Decrypt`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Decrypt(
    hSession: ck::CK_SESSION_HANDLE,
    pEncryptedData: *mut ck::CK_BYTE,
    ulEncryptedDataLen: ck::CK_ULONG,
    pData: *mut ck::CK_BYTE,
    pulDataLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        // SAFETY: input readable for its length; output per §5.2.
        let data = unsafe { input(pEncryptedData, ulEncryptedDataLen) }?;
        // SAFETY: as above.
        let cap = unsafe { capacity(pData, pulDataLen) }?;
        let out = m.decrypt(hSession, Some(data), cap)?;
        // SAFETY: as above.
        unsafe { write_output(out, pData, pulDataLen) }
    })
}

/// `C_DecryptUpdate`: collects the ciphertext; the plaintext comes from `C_DecryptFinal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DecryptUpdate(
    hSession: ck::CK_SESSION_HANDLE,
    pEncryptedPart: *mut ck::CK_BYTE,
    ulEncryptedPartLen: ck::CK_ULONG,
    _pPart: *mut ck::CK_BYTE,
    pulPartLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        // SAFETY: input readable for its length.
        let data = unsafe { input(pEncryptedPart, ulEncryptedPartLen) }?;
        m.decrypt_update(hSession, data)?;
        // SAFETY: pulPartLen is null or writable (checked in `put`).
        unsafe { put(pulPartLen, 0) }
    })
}

/// `C_DecryptFinal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DecryptFinal(
    hSession: ck::CK_SESSION_HANDLE,
    pLastPart: *mut ck::CK_BYTE,
    pulLastPartLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        // SAFETY: output per §5.2.
        let cap = unsafe { capacity(pLastPart, pulLastPartLen) }?;
        let out = m.decrypt(hSession, None, cap)?;
        // SAFETY: as above.
        unsafe { write_output(out, pLastPart, pulLastPartLen) }
    })
}

// ----- signatures -------------------------------------------------------------------------

/// `C_SignInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignInit(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hKey: ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    with(|m| {
        // SAFETY: the mechanism is null or readable.
        let mech = unsafe { mechanism(pMechanism) }?;
        m.sign_init(hSession, &mech, hKey)
    })
}

/// `C_Sign`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Sign(
    hSession: ck::CK_SESSION_HANDLE,
    pData: *mut ck::CK_BYTE,
    ulDataLen: ck::CK_ULONG,
    pSignature: *mut ck::CK_BYTE,
    pulSignatureLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        // SAFETY: input readable for its length; output per §5.2.
        let data = unsafe { input(pData, ulDataLen) }?;
        // SAFETY: as above.
        let cap = unsafe { capacity(pSignature, pulSignatureLen) }?;
        let out = m.sign(hSession, Some(data), cap)?;
        // SAFETY: as above.
        unsafe { write_output(out, pSignature, pulSignatureLen) }
    })
}

/// `C_SignUpdate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignUpdate(
    hSession: ck::CK_SESSION_HANDLE,
    pPart: *mut ck::CK_BYTE,
    ulPartLen: ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        // SAFETY: input readable for its length.
        let data = unsafe { input(pPart, ulPartLen) }?;
        m.sign_update(hSession, data)
    })
}

/// `C_SignFinal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignFinal(
    hSession: ck::CK_SESSION_HANDLE,
    pSignature: *mut ck::CK_BYTE,
    pulSignatureLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        // SAFETY: output per §5.2.
        let cap = unsafe { capacity(pSignature, pulSignatureLen) }?;
        let out = m.sign(hSession, None, cap)?;
        // SAFETY: as above.
        unsafe { write_output(out, pSignature, pulSignatureLen) }
    })
}

// ----- key derivation, random -------------------------------------------------------------

/// `C_DeriveKey` (`CKM_ECDH1_DERIVE`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_DeriveKey(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hBaseKey: ck::CK_OBJECT_HANDLE,
    pTemplate: *mut ck::CK_ATTRIBUTE,
    ulAttributeCount: ck::CK_ULONG,
    phKey: *mut ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    with(|m| {
        if phKey.is_null() {
            return Err(Rv::ARGUMENTS_BAD);
        }
        // SAFETY: the mechanism and template are null or readable.
        let mech = unsafe { mechanism(pMechanism) }?;
        // SAFETY: as above.
        let t = unsafe { template(pTemplate, ulAttributeCount) }?;
        let h = m.derive(hSession, &mech, hBaseKey, &t)?;
        // SAFETY: phKey is writable (not null, caller's contract).
        unsafe { put(phKey, h) }
    })
}

/// `C_GenerateRandom`: from the operating system's generator.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GenerateRandom(
    hSession: ck::CK_SESSION_HANDLE,
    RandomData: *mut ck::CK_BYTE,
    ulRandomLen: ck::CK_ULONG,
) -> ck::CK_RV {
    with(|m| {
        m.check_session(hSession)?;
        if ulRandomLen == 0 {
            return Ok(());
        }
        if RandomData.is_null() {
            return Err(Rv::ARGUMENTS_BAD);
        }
        // SAFETY: RandomData is writable for ulRandomLen bytes (caller's contract).
        let out = unsafe { std::slice::from_raw_parts_mut(RandomData, ulRandomLen as usize) };
        crate::random::fill(out)
    })
}

/// `C_WaitForSlotEvent`: with `CKF_DONT_BLOCK` a poll (`CKR_NO_EVENT`); otherwise blocks
/// without the lock until a card comes or goes, or `C_Finalize` is called
/// (`CKR_CRYPTOKI_NOT_INITIALIZED`); see [`module::wait_for_slot_event`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_WaitForSlotEvent(
    flags: ck::CK_FLAGS,
    pSlot: *mut ck::CK_SLOT_ID,
    pReserved: *mut core::ffi::c_void,
) -> ck::CK_RV {
    guarded(|| {
        if pSlot.is_null() || !pReserved.is_null() {
            return Err(Rv::ARGUMENTS_BAD);
        }
        let slot = module::wait_for_slot_event(&STATE, flags & ck::CKF_DONT_BLOCK == 0)?;
        // SAFETY: pSlot is writable (not null, caller's contract).
        unsafe { put(pSlot, slot) }
    })
}

// ----- functions this token does not offer ------------------------------------------------

macro_rules! unsupported {
    ($($name:ident($($arg:ident: $ty:ty),*) => $rv:expr;)*) => {
        $(
            #[doc = concat!("`", stringify!($name), "`: not offered by a PIV token.")]
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn $name($($arg: $ty),*) -> ck::CK_RV {
                with(|_| Err(Rv($rv)))
            }
        )*
    };
}

unsupported! {
    C_InitToken(_a1: ck::CK_SLOT_ID, _a2: *mut ck::CK_UTF8CHAR, _a3: ck::CK_ULONG, _a4: *mut ck::CK_UTF8CHAR) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_GetOperationState(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: *mut ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_SetOperationState(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG, _a4: ck::CK_OBJECT_HANDLE, _a5: ck::CK_OBJECT_HANDLE) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_CreateObject(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_ATTRIBUTE, _a3: ck::CK_ULONG, _a4: *mut ck::CK_OBJECT_HANDLE) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_CopyObject(_a1: ck::CK_SESSION_HANDLE, _a2: ck::CK_OBJECT_HANDLE, _a3: *mut ck::CK_ATTRIBUTE, _a4: ck::CK_ULONG, _a5: *mut ck::CK_OBJECT_HANDLE) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_SetAttributeValue(_a1: ck::CK_SESSION_HANDLE, _a2: ck::CK_OBJECT_HANDLE, _a3: *mut ck::CK_ATTRIBUTE, _a4: ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_EncryptInit(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_MECHANISM, _a3: ck::CK_OBJECT_HANDLE) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_Encrypt(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG, _a4: *mut ck::CK_BYTE, _a5: *mut ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_EncryptUpdate(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG, _a4: *mut ck::CK_BYTE, _a5: *mut ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_EncryptFinal(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: *mut ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_DigestInit(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_MECHANISM) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_Digest(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG, _a4: *mut ck::CK_BYTE, _a5: *mut ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_DigestUpdate(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_DigestKey(_a1: ck::CK_SESSION_HANDLE, _a2: ck::CK_OBJECT_HANDLE) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_DigestFinal(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: *mut ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_SignRecoverInit(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_MECHANISM, _a3: ck::CK_OBJECT_HANDLE) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_SignRecover(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG, _a4: *mut ck::CK_BYTE, _a5: *mut ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_VerifyInit(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_MECHANISM, _a3: ck::CK_OBJECT_HANDLE) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_Verify(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG, _a4: *mut ck::CK_BYTE, _a5: ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_VerifyUpdate(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_VerifyFinal(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_VerifyRecoverInit(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_MECHANISM, _a3: ck::CK_OBJECT_HANDLE) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_VerifyRecover(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG, _a4: *mut ck::CK_BYTE, _a5: *mut ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_DigestEncryptUpdate(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG, _a4: *mut ck::CK_BYTE, _a5: *mut ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_DecryptDigestUpdate(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG, _a4: *mut ck::CK_BYTE, _a5: *mut ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_SignEncryptUpdate(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG, _a4: *mut ck::CK_BYTE, _a5: *mut ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_DecryptVerifyUpdate(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG, _a4: *mut ck::CK_BYTE, _a5: *mut ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_GenerateKey(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_MECHANISM, _a3: *mut ck::CK_ATTRIBUTE, _a4: ck::CK_ULONG, _a5: *mut ck::CK_OBJECT_HANDLE) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_GenerateKeyPair(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_MECHANISM, _a3: *mut ck::CK_ATTRIBUTE, _a4: ck::CK_ULONG, _a5: *mut ck::CK_ATTRIBUTE, _a6: ck::CK_ULONG, _a7: *mut ck::CK_OBJECT_HANDLE, _a8: *mut ck::CK_OBJECT_HANDLE) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_WrapKey(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_MECHANISM, _a3: ck::CK_OBJECT_HANDLE, _a4: ck::CK_OBJECT_HANDLE, _a5: *mut ck::CK_BYTE, _a6: *mut ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_UnwrapKey(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_MECHANISM, _a3: ck::CK_OBJECT_HANDLE, _a4: *mut ck::CK_BYTE, _a5: ck::CK_ULONG, _a6: *mut ck::CK_ATTRIBUTE, _a7: ck::CK_ULONG, _a8: *mut ck::CK_OBJECT_HANDLE) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_SeedRandom(_a1: ck::CK_SESSION_HANDLE, _a2: *mut ck::CK_BYTE, _a3: ck::CK_ULONG) => ck::CKR_FUNCTION_NOT_SUPPORTED;
    C_GetFunctionStatus(_a1: ck::CK_SESSION_HANDLE) => ck::CKR_FUNCTION_NOT_PARALLEL;
    C_CancelFunction(_a1: ck::CK_SESSION_HANDLE) => ck::CKR_FUNCTION_NOT_PARALLEL;
}

/// The function list (`C_GetFunctionList`), PKCS#11 v2.40.
static FUNCTION_LIST: ck::CK_FUNCTION_LIST = ck::CK_FUNCTION_LIST {
    version: ck::CK_VERSION {
        major: 2,
        minor: 40,
    },
    C_Initialize: Some(C_Initialize),
    C_Finalize: Some(C_Finalize),
    C_GetInfo: Some(C_GetInfo),
    C_GetFunctionList: Some(C_GetFunctionList),
    C_GetSlotList: Some(C_GetSlotList),
    C_GetSlotInfo: Some(C_GetSlotInfo),
    C_GetTokenInfo: Some(C_GetTokenInfo),
    C_GetMechanismList: Some(C_GetMechanismList),
    C_GetMechanismInfo: Some(C_GetMechanismInfo),
    C_InitToken: Some(C_InitToken),
    C_InitPIN: Some(C_InitPIN),
    C_SetPIN: Some(C_SetPIN),
    C_OpenSession: Some(C_OpenSession),
    C_CloseSession: Some(C_CloseSession),
    C_CloseAllSessions: Some(C_CloseAllSessions),
    C_GetSessionInfo: Some(C_GetSessionInfo),
    C_GetOperationState: Some(C_GetOperationState),
    C_SetOperationState: Some(C_SetOperationState),
    C_Login: Some(C_Login),
    C_Logout: Some(C_Logout),
    C_CreateObject: Some(C_CreateObject),
    C_CopyObject: Some(C_CopyObject),
    C_DestroyObject: Some(C_DestroyObject),
    C_GetObjectSize: Some(C_GetObjectSize),
    C_GetAttributeValue: Some(C_GetAttributeValue),
    C_SetAttributeValue: Some(C_SetAttributeValue),
    C_FindObjectsInit: Some(C_FindObjectsInit),
    C_FindObjects: Some(C_FindObjects),
    C_FindObjectsFinal: Some(C_FindObjectsFinal),
    C_EncryptInit: Some(C_EncryptInit),
    C_Encrypt: Some(C_Encrypt),
    C_EncryptUpdate: Some(C_EncryptUpdate),
    C_EncryptFinal: Some(C_EncryptFinal),
    C_DecryptInit: Some(C_DecryptInit),
    C_Decrypt: Some(C_Decrypt),
    C_DecryptUpdate: Some(C_DecryptUpdate),
    C_DecryptFinal: Some(C_DecryptFinal),
    C_DigestInit: Some(C_DigestInit),
    C_Digest: Some(C_Digest),
    C_DigestUpdate: Some(C_DigestUpdate),
    C_DigestKey: Some(C_DigestKey),
    C_DigestFinal: Some(C_DigestFinal),
    C_SignInit: Some(C_SignInit),
    C_Sign: Some(C_Sign),
    C_SignUpdate: Some(C_SignUpdate),
    C_SignFinal: Some(C_SignFinal),
    C_SignRecoverInit: Some(C_SignRecoverInit),
    C_SignRecover: Some(C_SignRecover),
    C_VerifyInit: Some(C_VerifyInit),
    C_Verify: Some(C_Verify),
    C_VerifyUpdate: Some(C_VerifyUpdate),
    C_VerifyFinal: Some(C_VerifyFinal),
    C_VerifyRecoverInit: Some(C_VerifyRecoverInit),
    C_VerifyRecover: Some(C_VerifyRecover),
    C_DigestEncryptUpdate: Some(C_DigestEncryptUpdate),
    C_DecryptDigestUpdate: Some(C_DecryptDigestUpdate),
    C_SignEncryptUpdate: Some(C_SignEncryptUpdate),
    C_DecryptVerifyUpdate: Some(C_DecryptVerifyUpdate),
    C_GenerateKey: Some(C_GenerateKey),
    C_GenerateKeyPair: Some(C_GenerateKeyPair),
    C_WrapKey: Some(C_WrapKey),
    C_UnwrapKey: Some(C_UnwrapKey),
    C_DeriveKey: Some(C_DeriveKey),
    C_SeedRandom: Some(C_SeedRandom),
    C_GenerateRandom: Some(C_GenerateRandom),
    C_GetFunctionStatus: Some(C_GetFunctionStatus),
    C_CancelFunction: Some(C_CancelFunction),
    C_WaitForSlotEvent: Some(C_WaitForSlotEvent),
};

#[cfg(test)]
#[cfg(feature = "virtual-card")]
mod tests {
    use super::*;
    use core::ptr::{null, null_mut};

    use crate::virtual_card::VirtualReader;

    // The module is one global: tests that use it take turns.
    static TURN: Mutex<()> = Mutex::new(());

    #[test]
    fn interfaces() {
        let mut count: ck::CK_ULONG = 0;
        // SAFETY: every pointer is null or to a local of the right type.
        unsafe {
            assert_eq!(C_GetInterfaceList(null_mut(), &mut count), ck::CKR_OK);
            assert_eq!(count, 1);
            let mut list = [ck::CK_INTERFACE {
                pInterfaceName: null_mut(),
                pFunctionList: null_mut(),
                flags: 7,
            }; 2];
            let mut short = 0;
            assert_eq!(
                C_GetInterfaceList(list.as_mut_ptr(), &mut short),
                ck::CKR_BUFFER_TOO_SMALL
            );
            assert_eq!(short, 1);
            count = 2;
            assert_eq!(
                C_GetInterfaceList(list.as_mut_ptr(), &mut count),
                ck::CKR_OK
            );
            assert_eq!(count, 1);
            assert_eq!(
                core::ffi::CStr::from_ptr(list[0].pInterfaceName as *const core::ffi::c_char),
                c"PKCS 11"
            );
            assert_eq!(list[0].flags, 0);
            let mut functions = null_mut();
            assert_eq!(C_GetFunctionList(&mut functions), ck::CKR_OK);
            assert_eq!(list[0].pFunctionList, functions.cast());
            assert_eq!(
                C_GetInterfaceList(list.as_mut_ptr(), null_mut()),
                ck::CKR_ARGUMENTS_BAD
            );

            let mut found: *mut ck::CK_INTERFACE = null_mut();
            assert_eq!(
                C_GetInterface(null_mut(), null_mut(), &mut found, 0),
                ck::CKR_OK
            );
            assert_eq!((*found).pFunctionList, functions.cast());
            let version = (*functions).version;
            assert_eq!((version.major, version.minor), (2, 40));
            let mut v240 = ck::CK_VERSION {
                major: 2,
                minor: 40,
            };
            let mut name = *b"PKCS 11\0";
            found = null_mut();
            assert_eq!(
                C_GetInterface(name.as_mut_ptr(), &mut v240, &mut found, 0),
                ck::CKR_OK
            );
            assert!(!found.is_null());
            let mut v300 = ck::CK_VERSION { major: 3, minor: 0 };
            assert_eq!(
                C_GetInterface(name.as_mut_ptr(), &mut v300, &mut found, 0),
                ck::CKR_ARGUMENTS_BAD
            );
            let mut other = *b"Vendor\0";
            assert_eq!(
                C_GetInterface(other.as_mut_ptr(), null_mut(), &mut found, 0),
                ck::CKR_ARGUMENTS_BAD
            );
            assert_eq!(
                C_GetInterface(
                    null_mut(),
                    null_mut(),
                    &mut found,
                    ck::CKF_INTERFACE_FORK_SAFE
                ),
                ck::CKR_ARGUMENTS_BAD
            );
            assert_eq!(
                C_GetInterface(null_mut(), null_mut(), null_mut(), 0),
                ck::CKR_ARGUMENTS_BAD
            );
        }
    }

    fn with_card(test: impl FnOnce()) {
        let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
        let reader = VirtualReader::new("ffi tests").unwrap();
        assert_eq!(initialize_with(reader.source()), ck::CKR_OK);
        test();
        // SAFETY: a null argument is allowed.
        assert_eq!(unsafe { C_Finalize(null_mut()) }, ck::CKR_OK);
    }

    fn session() -> ck::CK_SESSION_HANDLE {
        let mut h = 0;
        // SAFETY: `h` is writable.
        let rv = unsafe {
            C_OpenSession(
                0,
                ck::CKF_SERIAL_SESSION | ck::CKF_RW_SESSION,
                null_mut(),
                None,
                &mut h,
            )
        };
        assert_eq!(rv, ck::CKR_OK);
        h
    }

    fn find(h: ck::CK_SESSION_HANDLE, class: ck::CK_OBJECT_CLASS) -> ck::CK_OBJECT_HANDLE {
        let mut class = class;
        let mut template = [ck::CK_ATTRIBUTE {
            type_: ck::CKA_CLASS,
            pValue: (&mut class as *mut ck::CK_ULONG).cast(),
            ulValueLen: size_of::<ck::CK_ULONG>() as ck::CK_ULONG,
        }];
        let (mut found, mut n) = ([0; 4], 0);
        // SAFETY: every pointer is to a live local of the right size.
        unsafe {
            assert_eq!(C_FindObjectsInit(h, template.as_mut_ptr(), 1), ck::CKR_OK);
            assert_eq!(C_FindObjects(h, found.as_mut_ptr(), 4, &mut n), ck::CKR_OK);
            assert_eq!(C_FindObjectsFinal(h), ck::CKR_OK);
        }
        assert!(n >= 1);
        found[0]
    }

    #[test]
    fn before_initialize_and_bad_initialize_arguments() {
        let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
        let mut n = 0;
        // SAFETY: pointers are null or to live locals.
        unsafe {
            assert_eq!(
                C_GetSlotList(0, null_mut(), &mut n),
                ck::CKR_CRYPTOKI_NOT_INITIALIZED
            );
            assert_eq!(C_Finalize(null_mut()), ck::CKR_CRYPTOKI_NOT_INITIALIZED);
            assert_eq!(
                C_Encrypt(1, null_mut(), 0, null_mut(), null_mut()),
                ck::CKR_CRYPTOKI_NOT_INITIALIZED
            );
            let mut reserved = 0u8;
            let mut args = ck::CK_C_INITIALIZE_ARGS {
                CreateMutex: None,
                DestroyMutex: None,
                LockMutex: None,
                UnlockMutex: None,
                flags: ck::CKF_OS_LOCKING_OK,
                pReserved: (&mut reserved as *mut u8).cast(),
            };
            assert_eq!(
                C_Initialize((&mut args as *mut ck::CK_C_INITIALIZE_ARGS).cast()),
                ck::CKR_ARGUMENTS_BAD
            );
            args.pReserved = null_mut();
            unsafe extern "C" fn destroy(_: *mut core::ffi::c_void) -> ck::CK_RV {
                ck::CKR_OK
            }
            args.DestroyMutex = Some(destroy);
            assert_eq!(
                C_Initialize((&mut args as *mut ck::CK_C_INITIALIZE_ARGS).cast()),
                ck::CKR_ARGUMENTS_BAD
            );
            let mut list = null_mut();
            assert_eq!(C_GetFunctionList(null_mut()), ck::CKR_ARGUMENTS_BAD);
            assert_eq!(C_GetFunctionList(&mut list), ck::CKR_OK);
            assert!((*list).C_Sign.is_some() && (*list).version.minor == 40);
        }
    }

    #[test]
    fn null_pointers_and_short_buffers() {
        with_card(|| {
            // SAFETY: pointers are null or to live locals of the stated sizes.
            unsafe {
                assert_eq!(
                    initialize_with(VirtualReader::new("x").unwrap().source()),
                    ck::CKR_CRYPTOKI_ALREADY_INITIALIZED
                );
                assert_eq!(C_GetInfo(null_mut()), ck::CKR_ARGUMENTS_BAD);
                assert_eq!(
                    C_GetSlotList(1, null_mut(), null_mut()),
                    ck::CKR_ARGUMENTS_BAD
                );
                let mut n = 0;
                assert_eq!(C_GetSlotList(1, null_mut(), &mut n), ck::CKR_OK);
                assert_eq!(n, 1);
                let mut slots = [99; 1];
                n = 0;
                assert_eq!(
                    C_GetSlotList(1, slots.as_mut_ptr(), &mut n),
                    ck::CKR_BUFFER_TOO_SMALL
                );
                assert_eq!((n, slots[0]), (1, 99));
                assert_eq!(C_GetSlotList(1, slots.as_mut_ptr(), &mut n), ck::CKR_OK);
                assert_eq!(slots[0], 0);
                assert_eq!(C_GetSlotInfo(0, null_mut()), ck::CKR_ARGUMENTS_BAD);
                assert_eq!(C_GetTokenInfo(5, null_mut()), ck::CKR_ARGUMENTS_BAD);
                let mut info: ck::CK_TOKEN_INFO = core::mem::zeroed();
                assert_eq!(C_GetTokenInfo(5, &mut info), ck::CKR_SLOT_ID_INVALID);
                assert_eq!(C_GetTokenInfo(0, &mut info), ck::CKR_OK);
                assert_eq!(&info.model, b"PIV II          ");
                let mut mech_n = 0;
                assert_eq!(C_GetMechanismList(0, null_mut(), &mut mech_n), ck::CKR_OK);
                assert_eq!(mech_n as usize, mechanism::MECHANISMS.len());
                let mut minfo: ck::CK_MECHANISM_INFO = core::mem::zeroed();
                assert_eq!(
                    C_GetMechanismInfo(0, ck::CKM_MD5, &mut minfo),
                    ck::CKR_MECHANISM_INVALID
                );
                assert_eq!(
                    C_OpenSession(0, ck::CKF_SERIAL_SESSION, null_mut(), None, null_mut()),
                    ck::CKR_ARGUMENTS_BAD
                );
                let mut h = 0;
                assert_eq!(
                    C_OpenSession(9, ck::CKF_SERIAL_SESSION, null_mut(), None, &mut h),
                    ck::CKR_SLOT_ID_INVALID
                );
                assert_eq!(C_CloseSession(12345), ck::CKR_SESSION_HANDLE_INVALID);
                assert_eq!(
                    C_Login(12345, ck::CKU_USER, null_mut(), 0),
                    ck::CKR_SESSION_HANDLE_INVALID
                );

                let h = session();
                // A null PIN means the PIN pad, which the virtual reader does not have.
                assert_eq!(
                    C_Login(h, ck::CKU_USER, null_mut(), 6),
                    ck::CKR_FUNCTION_NOT_SUPPORTED
                );
                assert_eq!(C_FindObjectsInit(h, null_mut(), 2), ck::CKR_ARGUMENTS_BAD);
                let mut template = [ck::CK_ATTRIBUTE {
                    type_: ck::CKA_ID,
                    pValue: null_mut(),
                    ulValueLen: 4,
                }];
                assert_eq!(
                    C_FindObjectsInit(h, template.as_mut_ptr(), 1),
                    ck::CKR_ARGUMENTS_BAD
                );
                assert_eq!(
                    C_FindObjects(h, null_mut(), 1, null_mut()),
                    ck::CKR_ARGUMENTS_BAD
                );

                // C_GetAttributeValue: every attribute answered, the first failure returned.
                let cert = find(h, ck::CKO_CERTIFICATE);
                let mut label = [0u8; 3];
                let mut id = [0u8; 8];
                let mut template = [
                    ck::CK_ATTRIBUTE {
                        type_: ck::CKA_VALUE,
                        pValue: null_mut(),
                        ulValueLen: 0,
                    },
                    ck::CK_ATTRIBUTE {
                        type_: ck::CKA_LABEL,
                        pValue: label.as_mut_ptr().cast(),
                        ulValueLen: 3,
                    },
                    ck::CK_ATTRIBUTE {
                        type_: ck::CKA_MODULUS,
                        pValue: null_mut(),
                        ulValueLen: 0,
                    },
                    ck::CK_ATTRIBUTE {
                        type_: ck::CKA_ID,
                        pValue: id.as_mut_ptr().cast(),
                        ulValueLen: 8,
                    },
                ];
                assert_eq!(
                    C_GetAttributeValue(h, cert, template.as_mut_ptr(), 4),
                    ck::CKR_BUFFER_TOO_SMALL
                );
                assert!(template[0].ulValueLen > 100);
                assert_eq!(template[1].ulValueLen, ck::CK_UNAVAILABLE_INFORMATION);
                assert_eq!(label, [0; 3]);
                assert_eq!(template[2].ulValueLen, ck::CK_UNAVAILABLE_INFORMATION);
                assert_eq!((template[3].ulValueLen, id[0]), (1, 1));
                assert_eq!(
                    C_GetAttributeValue(h, cert, null_mut(), 1),
                    ck::CKR_ARGUMENTS_BAD
                );
                assert_eq!(
                    C_GetAttributeValue(h, 777_777, template.as_mut_ptr(), 1),
                    ck::CKR_OBJECT_HANDLE_INVALID
                );
                let mut size = 0;
                assert_eq!(C_GetObjectSize(h, cert, null_mut()), ck::CKR_ARGUMENTS_BAD);
                assert_eq!(C_GetObjectSize(h, cert, &mut size), ck::CKR_OK);

                // Signing: bad mechanisms, then the output protocol.
                let mut pin = *b"123456";
                assert_eq!(C_Login(h, ck::CKU_USER, pin.as_mut_ptr(), 6), ck::CKR_OK);
                let key = find(h, ck::CKO_PRIVATE_KEY);
                assert_eq!(C_SignInit(h, null_mut(), key), ck::CKR_ARGUMENTS_BAD);
                // The first private key is 9A, RSA-2048 on the virtual card.
                let mut mech = ck::CK_MECHANISM {
                    mechanism: ck::CKM_SHA256_RSA_PKCS,
                    pParameter: null_mut(),
                    ulParameterLen: 8,
                };
                assert_eq!(C_SignInit(h, &mut mech, key), ck::CKR_ARGUMENTS_BAD);
                let mut pss = [0u8; 4];
                let mut bad_pss = ck::CK_MECHANISM {
                    mechanism: ck::CKM_RSA_PKCS_PSS,
                    pParameter: pss.as_mut_ptr().cast(),
                    ulParameterLen: 4,
                };
                assert_eq!(
                    C_SignInit(h, &mut bad_pss, key),
                    ck::CKR_MECHANISM_PARAM_INVALID
                );
                mech.ulParameterLen = 0;
                assert_eq!(C_SignInit(h, &mut mech, 4242), ck::CKR_KEY_HANDLE_INVALID);
                assert_eq!(C_SignInit(h, &mut mech, key), ck::CKR_OK);
                let mut digest = [7u8; 32];
                let mut sig = [0u8; 300];
                let mut len = 0;
                assert_eq!(
                    C_Sign(h, digest.as_mut_ptr(), 32, sig.as_mut_ptr(), null_mut()),
                    ck::CKR_ARGUMENTS_BAD
                );
                assert_eq!(
                    C_Sign(h, null_mut(), 32, null_mut(), &mut len),
                    ck::CKR_ARGUMENTS_BAD
                );
                assert_eq!(
                    C_Sign(h, digest.as_mut_ptr(), 32, null_mut(), &mut len),
                    ck::CKR_OK
                );
                assert_eq!(len, 256);
                len = 10;
                assert_eq!(
                    C_Sign(h, digest.as_mut_ptr(), 32, sig.as_mut_ptr(), &mut len),
                    ck::CKR_BUFFER_TOO_SMALL
                );
                assert_eq!(len, 256);
                len = 300;
                assert_eq!(
                    C_Sign(h, digest.as_mut_ptr(), 32, sig.as_mut_ptr(), &mut len),
                    ck::CKR_OK
                );
                assert_eq!(len, 256);
                assert_eq!(
                    C_SignFinal(h, sig.as_mut_ptr(), &mut len),
                    ck::CKR_OPERATION_NOT_INITIALIZED
                );
                assert_eq!(
                    C_DecryptFinal(h, null_mut(), null_mut()),
                    ck::CKR_ARGUMENTS_BAD
                );

                assert_eq!(C_GenerateRandom(h, null_mut(), 8), ck::CKR_ARGUMENTS_BAD);
                assert_eq!(
                    C_GenerateRandom(h + 100, sig.as_mut_ptr(), 8),
                    ck::CKR_SESSION_HANDLE_INVALID
                );
                assert_eq!(
                    C_DeriveKey(h, &mut mech, key, null_mut(), 0, null_mut()),
                    ck::CKR_ARGUMENTS_BAD
                );
                let mut slot = 0;
                assert_eq!(
                    C_WaitForSlotEvent(ck::CKF_DONT_BLOCK, &mut slot, null_mut()),
                    ck::CKR_NO_EVENT
                );
                assert_eq!(
                    C_WaitForSlotEvent(ck::CKF_DONT_BLOCK, null_mut(), null_mut()),
                    ck::CKR_ARGUMENTS_BAD
                );
                assert_eq!(
                    C_Encrypt(h, null_mut(), 0, null_mut(), null_mut()),
                    ck::CKR_FUNCTION_NOT_SUPPORTED
                );
                assert_eq!(C_GetFunctionStatus(h), ck::CKR_FUNCTION_NOT_PARALLEL);
                assert_eq!(C_CloseAllSessions(0), ck::CKR_OK);
                assert_eq!(C_CloseSession(h), ck::CKR_SESSION_HANDLE_INVALID);
                let _ = null::<u8>();
            }
        });
    }

    #[test]
    fn concurrent_sessions_on_threads() {
        // CKF_OS_LOCKING_OK: sessions on several threads at once, each logging in, signing
        // and reading attributes, all serialised by the module's lock.
        with_card(|| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    std::thread::spawn(|| {
                        let h = session();
                        let mut pin = *b"123456";
                        // SAFETY: pointers are to live locals of the stated sizes.
                        unsafe {
                            let rv = C_Login(h, ck::CKU_USER, pin.as_mut_ptr(), 6);
                            assert!(rv == ck::CKR_OK || rv == ck::CKR_USER_ALREADY_LOGGED_IN);
                            for _ in 0..5 {
                                let key = find(h, ck::CKO_PRIVATE_KEY);
                                let mut mech = ck::CK_MECHANISM {
                                    mechanism: ck::CKM_SHA256_RSA_PKCS,
                                    pParameter: null_mut(),
                                    ulParameterLen: 0,
                                };
                                assert_eq!(C_SignInit(h, &mut mech, key), ck::CKR_OK);
                                let (mut data, mut sig, mut len) = ([1u8; 16], [0u8; 256], 256);
                                assert_eq!(
                                    C_Sign(h, data.as_mut_ptr(), 16, sig.as_mut_ptr(), &mut len),
                                    ck::CKR_OK
                                );
                                assert_eq!(len, 256);
                                let mut random = [0u8; 16];
                                assert_eq!(
                                    C_GenerateRandom(h, random.as_mut_ptr(), 16),
                                    ck::CKR_OK
                                );
                            }
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        });
    }

    #[test]
    fn text_fields_are_blank_padded_at_char_boundaries() {
        assert_eq!(&padded::<4>("ab"), b"ab  ");
        assert_eq!(&padded::<4>("abcdef"), b"abcd");
        // "é" is two bytes: it is cut whole, never in half.
        assert_eq!(&padded::<4>("abcé"), b"abc ");
    }
}
