//! PC/SC Part 10 PIN_VERIFY_STRUCTURE / PIN_MODIFY_STRUCTURE parsing: never panics,
//! round-trips exactly, and the PIN pad side (structure + digits -> APDU) never panics and
//! always yields a well-formed short command APDU.
#![no_main]

use cardwire_apdu::Command;
use cardwire_pin::pinpad::{self, ModifyEntries};
use cardwire_pin::{ModifyStructure, Pin, VerifyStructure};
use libfuzzer_sys::fuzz_target;

fn check_apdu(apdu: &[u8]) {
    assert!(apdu.len() >= 5);
    assert_eq!(usize::from(apdu[4]), apdu.len() - 5, "Lc is recomputed");
    if apdu[4] > 0 {
        assert!(Command::new_checked(apdu).is_ok(), "the built APDU parses");
    }
}

fuzz_target!(|data: &[u8]| {
    let digits = Pin::from_digit_values(&[1, 2, 3, 4, 5, 6]).unwrap();
    let other = Pin::from_digit_values(&[9, 8, 7, 6, 5, 4, 3, 2]).unwrap();
    let mut out = [0u8; 300];
    if let Ok(s) = VerifyStructure::parse(data) {
        let mut encoded = vec![0u8; s.encoded_len()];
        assert_eq!(s.encode(&mut encoded).unwrap(), data);
        if let Ok(apdu) = pinpad::verify_apdu(&s, &digits, &mut out) {
            check_apdu(apdu);
        }
    }
    if let Ok(s) = ModifyStructure::parse(data) {
        let mut encoded = vec![0u8; s.encoded_len()];
        assert_eq!(s.encode(&mut encoded).unwrap(), data);
        let entries = ModifyEntries {
            current: Some(&digits),
            new: &other,
            confirmation: Some(&other),
        };
        if let Ok(apdu) = pinpad::modify_apdu(&s, &entries, &mut out) {
            check_apdu(apdu);
        }
    }
});
