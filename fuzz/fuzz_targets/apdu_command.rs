//! Command APDU parsing: never panics, and parse → encode gives back exactly the same bytes
//! (the short form when the input was short, the extended form when it was extended).
#![no_main]

use cardwire_apdu::{Command, CommandRepr, LengthForm};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(cmd) = Command::new_checked(data) else {
        // Parsing the repr must agree with the view.
        assert!(CommandRepr::parse(data).is_err());
        return;
    };
    let repr = cmd.repr();
    assert_eq!(CommandRepr::parse(data).ok(), Some(repr));
    assert_eq!(repr.data.len(), cmd.nc());
    assert!(cmd.ne() <= 65_536);
    let form = if cmd.case().is_extended() {
        LengthForm::Extended
    } else {
        LengthForm::Short
    };
    let mut out = vec![0u8; data.len()];
    let encoded = repr
        .encode_with(form, &mut out)
        .expect("a parsed command re-encodes");
    assert_eq!(encoded, data);
    // The automatic form is never longer than the input.
    assert!(repr.encoded_len() <= data.len());
});
