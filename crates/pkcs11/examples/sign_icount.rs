//! Instruction counts of `C_SignInit` + `C_Sign` (through the module's safe core, which the
//! C ABI only wraps) against the bare `cardwire_piv::Piv::sign`, ECDSA P-256 with key 9D on
//! the same in-process virtual card — the ratio issue 15 asks for (at most 1.1×), measured
//! without a quiet machine:
//!
//! ```text
//! cargo build -p cardwire-pkcs11 --features virtual-card --example sign_icount --release
//! for f in bare module; do
//!   valgrind --tool=callgrind --collect-atstart=no --toggle-collect="sign_icount::$f" \
//!     --callgrind-out-file=cg.$f target/release/examples/sign_icount >/dev/null
//!   grep '^totals' cg.$f
//! done
//! ```
//!
//! Each path runs [`N`] signatures (divide the totals by it); the module's ratio was 1.004
//! (4.857 M against 4.836 M instructions per signature).
//! The Criterion benchmark `benches/benches/pkcs11.rs` times the same two paths.

// Example code over fixed inputs: a panic is a failed measurement.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use cardwire_pin::{Pin, PinReference};
use cardwire_piv::{AlgorithmId, Piv, Slot};
use cardwire_pkcs11::backend::{Apdu, ChannelSession};
use cardwire_pkcs11::mechanism::{Mechanism, Param};
use cardwire_pkcs11::module::{Module, Output};
use cardwire_pkcs11::virtual_card::{READER, VirtualReader};
use cryptoki_sys as ck;

/// Signatures per path.
const N: u32 = 20;

const DIGEST: [u8; 32] = [0x5A; 32];

/// `N` bare signatures in the transaction that selected and verified.
#[inline(never)]
fn bare(apdu: &mut dyn Apdu) {
    let mut piv = Piv::new(ChannelSession(apdu));
    let mut buf = [0u8; 1024];
    for _ in 0..N {
        let sig = piv
            .sign(
                Slot::KEY_MANAGEMENT,
                AlgorithmId::ECC_P256,
                black_box(&DIGEST),
                &mut buf,
            )
            .unwrap();
        black_box(sig.len());
    }
}

/// `N` times `C_SignInit` + `C_Sign` in a logged-in session.
#[inline(never)]
fn module(m: &mut Module, h: ck::CK_SESSION_HANDLE, key: ck::CK_OBJECT_HANDLE) {
    let mechanism = Mechanism {
        kind: ck::CKM_ECDSA,
        param: Param::None,
    };
    for _ in 0..N {
        m.sign_init(h, &mechanism, key).unwrap();
        match m.sign(h, Some(black_box(&DIGEST)), Some(64)).unwrap() {
            Output::Done(sig) => black_box(sig.len()),
            Output::Needed(_) => panic!("64 bytes are enough"),
        };
    }
}

fn main() {
    let reader = VirtualReader::new("bench").unwrap();
    let mut channel = reader.source().connect(READER).unwrap();
    channel
        .transaction(&mut |apdu| {
            let mut piv = Piv::new(ChannelSession(&mut *apdu));
            let mut buf = [0u8; 1024];
            piv.select(&mut buf).unwrap();
            let pin = Pin::new(b"123456").unwrap();
            piv.verify_pin(PinReference::PIV_APPLICATION_PIN, &pin)
                .unwrap();
            bare(apdu);
            Ok(())
        })
        .unwrap();

    let (mut m, h, key) = VirtualReader::new("bench")
        .unwrap()
        .logged_in_session(3)
        .unwrap();
    module(&mut m, h, key);
    println!("{N} signatures each: bare, then through the module");
}
