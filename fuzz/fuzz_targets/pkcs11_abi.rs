//! The C ABI of cardwire-pkcs11 under arbitrary call sequences against the in-process
//! virtual PIV card: null pointers, short buffers, bad handles, mechanisms with bad
//! parameters. Every call returns a `CKR_` value; none crashes. Buffers are always real (the
//! declared length never exceeds the memory given: that is the caller's side of the
//! contract), but may be null, empty or too short.
#![no_main]

use std::sync::OnceLock;

use cardwire_pkcs11::ffi::*;
use cardwire_pkcs11::virtual_card::VirtualReader;
use core::ptr::null_mut;
use cryptoki_sys as ck;
use libfuzzer_sys::fuzz_target;

static READER: OnceLock<VirtualReader> = OnceLock::new();

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0 {
            [b, rest @ ..] => {
                self.0 = rest;
                *b
            }
            [] => 0,
        }
    }
    fn chunk(&mut self, max: u8) -> Vec<u8> {
        let n = usize::from(self.byte() % max);
        self.bytes(n)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a.to_vec()
    }
}

const MECHANISMS: [ck::CK_MECHANISM_TYPE; 8] = [
    ck::CKM_ECDSA,
    ck::CKM_ECDSA_SHA256,
    ck::CKM_RSA_PKCS,
    ck::CKM_RSA_PKCS_PSS,
    ck::CKM_SHA256_RSA_PKCS_PSS,
    ck::CKM_ECDH1_DERIVE,
    ck::CKM_RSA_X_509,
    ck::CKM_MD5,
];

/// An output buffer: null (a length query) or `n` real bytes.
fn out_buf(input: &mut Input<'_>, storage: &mut Vec<u8>) -> (*mut u8, ck::CK_ULONG) {
    let n = usize::from(input.byte() % 80);
    if n == 0 {
        return (null_mut(), ck::CK_ULONG::from(input.byte()));
    }
    *storage = vec![0; n];
    (storage.as_mut_ptr(), n as ck::CK_ULONG)
}

fuzz_target!(|data: &[u8]| {
    let reader = READER.get_or_init(|| VirtualReader::new("fuzz").expect("virtual card"));
    // SAFETY: a null argument is allowed; the module may or may not be initialized.
    unsafe { C_Finalize(null_mut()) };
    assert_eq!(initialize_with(reader.source()), ck::CKR_OK);
    let mut input = Input(data);
    let mut handles: Vec<ck::CK_ULONG> = vec![0, 1, 2, 3, 1000];
    let pick = |input: &mut Input<'_>, handles: &[ck::CK_ULONG]| {
        let i = usize::from(input.byte());
        handles.get(i % handles.len()).copied().unwrap_or(0)
    };
    for _ in 0..64 {
        if input.0.is_empty() {
            break;
        }
        let op = input.byte() % 16;
        let mut storage = Vec::new();
        // SAFETY (whole block): every pointer passed is null or points to live memory of at
        // least the declared length, as the PKCS#11 caller contract requires.
        let rv = unsafe {
            match op {
                0 => {
                    let (p, _) = out_buf(&mut input, &mut storage);
                    let mut n = ck::CK_ULONG::from(input.byte() % 4);
                    let count = if input.byte() & 1 == 0 { &mut n as *mut _ } else { null_mut() };
                    let mut slots = [0 as ck::CK_SLOT_ID; 4];
                    let list = if p.is_null() { null_mut() } else { slots.as_mut_ptr() };
                    C_GetSlotList(input.byte() & 1, list, count)
                }
                1 => {
                    let mut h = 0;
                    let ph = if input.byte() & 1 == 0 { &mut h as *mut _ } else { null_mut() };
                    let rv = C_OpenSession(
                        ck::CK_SLOT_ID::from(input.byte() % 2),
                        ck::CK_FLAGS::from(input.byte() & 6),
                        null_mut(),
                        None,
                        ph,
                    );
                    if rv == ck::CKR_OK {
                        handles.push(h);
                    }
                    rv
                }
                2 => {
                    let h = pick(&mut input, &handles);
                    let user = ck::CK_ULONG::from(input.byte() % 4);
                    let n = usize::from(input.byte() % 12);
                    let mut pin = match input.byte() % 3 {
                        0 => b"123456".to_vec(),
                        1 => b"12345678".to_vec(),
                        _ => input.bytes(n),
                    };
                    let p = if input.byte() == 0 { null_mut() } else { pin.as_mut_ptr() };
                    C_Login(h, user, p, pin.len() as ck::CK_ULONG)
                }
                3 => {
                    let h = pick(&mut input, &handles);
                    let mut values: Vec<Vec<u8>> = (0..input.byte() % 4)
                        .map(|_| {
                            let n = usize::from(input.byte() % 9);
                            input.bytes(n)
                        })
                        .collect();
                    let mut template: Vec<ck::CK_ATTRIBUTE> = values
                        .iter_mut()
                        .map(|v| ck::CK_ATTRIBUTE {
                            type_: ck::CK_ULONG::from(input.byte() % 4) * 0x100 % 0x300,
                            pValue: if v.is_empty() { null_mut() } else { v.as_mut_ptr().cast() },
                            ulValueLen: v.len() as ck::CK_ULONG,
                        })
                        .collect();
                    let ptr = if template.is_empty() { null_mut() } else { template.as_mut_ptr() };
                    C_FindObjectsInit(h, ptr, template.len() as ck::CK_ULONG)
                }
                4 => {
                    let h = pick(&mut input, &handles);
                    let mut found = [0; 8];
                    let mut n = 0;
                    let max = ck::CK_ULONG::from(input.byte() % 9);
                    let rv = C_FindObjects(h, found.as_mut_ptr(), max, &mut n);
                    if rv == ck::CKR_OK {
                        assert!(n <= max);
                        handles.extend_from_slice(&found[..n as usize]);
                    }
                    if input.byte() & 1 == 0 { C_FindObjectsFinal(h) } else { rv }
                }
                5 => {
                    let h = pick(&mut input, &handles);
                    let o = pick(&mut input, &handles);
                    let count = usize::from(input.byte() % 4);
                    let mut buffers: Vec<Vec<u8>> =
                        (0..count).map(|_| vec![0u8; usize::from(input.byte() % 70)]).collect();
                    let mut template: Vec<ck::CK_ATTRIBUTE> = buffers
                        .iter_mut()
                        .map(|b| ck::CK_ATTRIBUTE {
                            type_: [ck::CKA_VALUE, ck::CKA_LABEL, ck::CKA_ID, ck::CKA_EC_POINT, ck::CKA_MODULUS][usize::from(input.byte()) % 5],
                            pValue: if b.is_empty() { null_mut() } else { b.as_mut_ptr().cast() },
                            ulValueLen: b.len() as ck::CK_ULONG,
                        })
                        .collect();
                    let ptr = if input.byte() == 0 { null_mut() } else { template.as_mut_ptr() };
                    let rv = C_GetAttributeValue(h, o, ptr, template.len() as ck::CK_ULONG);
                    for (a, b) in template.iter().zip(&buffers) {
                        assert!(a.ulValueLen == ck::CK_UNAVAILABLE_INFORMATION || b.is_empty() || a.ulValueLen as usize <= b.len());
                    }
                    rv
                }
                6 | 11 | 12 => {
                    let h = pick(&mut input, &handles);
                    let k = pick(&mut input, &handles);
                    let kind = MECHANISMS[usize::from(input.byte()) % MECHANISMS.len()];
                    let mut param = input.chunk(48);
                    let mut mech = ck::CK_MECHANISM {
                        mechanism: kind,
                        pParameter: if param.is_empty() { null_mut() } else { param.as_mut_ptr().cast() },
                        ulParameterLen: param.len() as ck::CK_ULONG,
                    };
                    let pm = if input.byte() == 0 { null_mut() } else { &mut mech as *mut _ };
                    match op {
                        6 => C_SignInit(h, pm, k),
                        11 => C_DecryptInit(h, pm, k),
                        _ => {
                            // ECDH parameters with a real point (or garbage) behind them.
                            let mut point = input.bytes(65);
                            let mut ecdh = ck::CK_ECDH1_DERIVE_PARAMS {
                                kdf: ck::CK_ULONG::from(input.byte() % 2),
                                ulSharedDataLen: 0,
                                pSharedData: null_mut(),
                                ulPublicDataLen: point.len() as ck::CK_ULONG,
                                pPublicData: if point.is_empty() { null_mut() } else { point.as_mut_ptr() },
                            };
                            let mut mech = ck::CK_MECHANISM {
                                mechanism: ck::CKM_ECDH1_DERIVE,
                                pParameter: (&mut ecdh as *mut ck::CK_ECDH1_DERIVE_PARAMS).cast(),
                                ulParameterLen: size_of::<ck::CK_ECDH1_DERIVE_PARAMS>() as ck::CK_ULONG,
                            };
                            let mut key = 0;
                            let rv = C_DeriveKey(h, &mut mech, k, null_mut(), 0, &mut key);
                            if rv == ck::CKR_OK {
                                handles.push(key);
                            }
                            rv
                        }
                    }
                }
                7 | 8 | 13 => {
                    let h = pick(&mut input, &handles);
                    let mut msg = input.chunk(64);
                    let (p, cap) = out_buf(&mut input, &mut storage);
                    let mut len = cap;
                    let pl = if input.byte() == 0 { null_mut() } else { &mut len as *mut _ };
                    let pmsg = if msg.is_empty() { null_mut() } else { msg.as_mut_ptr() };
                    let rv = match op {
                        7 => C_Sign(h, pmsg, msg.len() as ck::CK_ULONG, p, pl),
                        8 => {
                            if input.byte() & 1 == 0 {
                                C_SignUpdate(h, pmsg, msg.len() as ck::CK_ULONG)
                            } else {
                                C_SignFinal(h, p, pl)
                            }
                        }
                        _ => C_Decrypt(h, pmsg, msg.len() as ck::CK_ULONG, p, pl),
                    };
                    if rv == ck::CKR_OK && !p.is_null() {
                        assert!(len <= cap);
                    }
                    if rv == ck::CKR_BUFFER_TOO_SMALL {
                        assert!(len > cap);
                    }
                    rv
                }
                9 => {
                    let h = pick(&mut input, &handles);
                    match input.byte() % 3 {
                        0 => C_Logout(h),
                        1 => C_CloseSession(h),
                        _ => C_CloseAllSessions(ck::CK_SLOT_ID::from(input.byte() % 2)),
                    }
                }
                10 => {
                    let h = pick(&mut input, &handles);
                    let (p, n) = out_buf(&mut input, &mut storage);
                    // A null buffer with a length is the ARGUMENTS_BAD case; a real one is `n` long.
                    C_GenerateRandom(h, p, n)
                }
                14 => {
                    let h = pick(&mut input, &handles);
                    let mut a = input.chunk(10);
                    let mut b = input.chunk(10);
                    let pa = if a.is_empty() { null_mut() } else { a.as_mut_ptr() };
                    let pb = if b.is_empty() { null_mut() } else { b.as_mut_ptr() };
                    if input.byte() & 1 == 0 {
                        C_InitPIN(h, pa, a.len() as ck::CK_ULONG)
                    } else {
                        C_SetPIN(h, pa, a.len() as ck::CK_ULONG, pb, b.len() as ck::CK_ULONG)
                    }
                }
                _ => {
                    let h = pick(&mut input, &handles);
                    let mut info: ck::CK_SESSION_INFO = core::mem::zeroed();
                    let mut token: ck::CK_TOKEN_INFO = core::mem::zeroed();
                    match input.byte() % 4 {
                        0 => C_GetSessionInfo(h, &mut info),
                        1 => C_GetSessionInfo(h, null_mut()),
                        2 => C_GetTokenInfo(ck::CK_SLOT_ID::from(input.byte() % 3), &mut token),
                        _ => {
                            let mut slot = 0;
                            C_WaitForSlotEvent(ck::CKF_DONT_BLOCK, &mut slot, null_mut())
                        }
                    }
                }
            }
        };
        assert_ne!(rv, ck::CKR_GENERAL_ERROR, "a panic was caught at the ABI (op {op})");
    }
    // SAFETY: a null argument is allowed.
    unsafe { C_Finalize(null_mut()) };
});
