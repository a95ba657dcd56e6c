//! `C_WaitForSlotEvent` through a real PKCS#11 consumer (the `cryptoki` crate), for the CI
//! step `.ci/steps/80-pkcs11.sh`:
//!
//! - `wait_slot_event <module.so> event`: prints `waiting`, blocks in `C_WaitForSlotEvent`
//!   until a card comes or goes, then prints `slot <id>`;
//! - `wait_slot_event <module.so> finalize`: blocks likewise while another thread calls
//!   `C_Finalize` after one second, and prints `cancelled` when the wait ended with
//!   `CKR_CRYPTOKI_NOT_INITIALIZED` after that second (not at once, not by polling).
//!
//! Both first check that `CKF_DONT_BLOCK` answers `CKR_NO_EVENT`.

// Example code: a failed expectation ends the run with a message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, module, mode] = args.as_slice() else {
        panic!("usage: wait_slot_event <module.so> event|finalize");
    };
    let pkcs11 = Pkcs11::new(module).unwrap();
    pkcs11
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    // The slots as the application sees them before waiting (the module's baseline).
    pkcs11.get_slots_with_token().unwrap();
    assert_eq!(
        pkcs11.get_slot_event().unwrap(),
        None,
        "an event before any change"
    );
    println!("waiting");
    std::io::stdout().flush().unwrap();
    match mode.as_str() {
        "event" => {
            let slot = pkcs11.wait_for_slot_event().unwrap();
            println!("slot {}", slot.id());
            pkcs11.finalize().unwrap();
        }
        "finalize" => {
            let other = pkcs11.clone();
            let start = Instant::now();
            let finalizer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(1));
                other.finalize().unwrap();
            });
            match pkcs11.wait_for_slot_event() {
                Err(Error::Pkcs11(RvError::CryptokiNotInitialized, _))
                    if start.elapsed() >= Duration::from_millis(900) =>
                {
                    println!("cancelled");
                }
                other => panic!("C_WaitForSlotEvent: {other:?} after {:?}", start.elapsed()),
            }
            finalizer.join().unwrap();
        }
        _ => panic!("unknown mode {mode}"),
    }
}
