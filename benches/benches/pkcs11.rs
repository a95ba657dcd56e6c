//! cardwire-pkcs11: the cost of the PKCS#11 layer around a signature. `C_SignInit` + `C_Sign`
//! (ECDSA P-256 with key 9D, through the module's safe core, which the C ABI only wraps)
//! against the bare `cardwire_piv::Piv::sign` on the same in-process virtual card (the PIN
//! verified once), in one group. The module's extra work per signature: a reader poll, one
//! transaction with SELECT (another application may have selected something else in
//! between) and the DER → `r||s` conversion. The card stays verified from `C_Login` to
//! `C_Logout`, as with any PKCS#11 middleware, so no VERIFY (an Argon2id check on the virtual
//! card) and no reset per signature. Issue 15's goal: at most 1.1× the bare call. The same
//! two paths in instructions: `crates/pkcs11/examples/sign_icount.rs` under callgrind.

// Bench code over fixed inputs: a panic is a failed benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use cardwire_pin::{Pin, PinReference};
use cardwire_piv::{AlgorithmId, Piv, Slot};
use cardwire_pkcs11::backend::ChannelSession;
use cardwire_pkcs11::mechanism::{Mechanism, Param};
use cardwire_pkcs11::module::Output;
use cardwire_pkcs11::virtual_card::{READER, VirtualReader};
use criterion::{Criterion, criterion_group, criterion_main};
use cryptoki_sys as ck;

fn bench(c: &mut Criterion) {
    let digest = [0x5Au8; 32];
    let mut g = c.benchmark_group("pkcs11/sign ECDSA P-256");

    let reader = VirtualReader::new("bench").unwrap();
    let mut channel = reader.source().connect(READER).unwrap();
    channel
        .transaction(&mut |apdu| {
            let mut piv = Piv::new(ChannelSession(apdu));
            let mut buf = [0u8; 1024];
            piv.select(&mut buf).unwrap();
            let pin = Pin::new(b"123456").unwrap();
            piv.verify_pin(PinReference::PIV_APPLICATION_PIN, &pin)
                .unwrap();
            g.bench_function("bare Piv::sign", |b| {
                b.iter(|| {
                    let sig = piv
                        .sign(
                            Slot::KEY_MANAGEMENT,
                            AlgorithmId::ECC_P256,
                            black_box(&digest),
                            &mut buf,
                        )
                        .unwrap();
                    black_box(sig.len())
                })
            });
            Ok(())
        })
        .unwrap();

    let (mut module, h, key) = VirtualReader::new("bench")
        .unwrap()
        .logged_in_session(3)
        .unwrap();
    let mechanism = Mechanism {
        kind: ck::CKM_ECDSA,
        param: Param::None,
    };
    g.bench_function("C_SignInit + C_Sign", |b| {
        b.iter(|| {
            module.sign_init(h, &mechanism, key).unwrap();
            match module.sign(h, Some(black_box(&digest)), Some(64)).unwrap() {
                Output::Done(sig) => black_box(sig.len()),
                Output::Needed(_) => panic!("64 bytes are enough"),
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
