//! pcsc_part10_features: random bytes as a PC/SC Part 10 feature list (the answer to
//! CM_IOCTL_GET_FEATURE_REQUEST). Never panics; a list that parses iterates over exactly
//! len() entries, each of which control_code() finds again (the first of its tag).
#![no_main]

use cardwire_pcsc::part10::FeatureList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = FeatureList::new_checked(data) {
        assert_eq!(list.len() * 6, data.len());
        assert_eq!(list.iter().count(), list.len());
        for (feature, code) in list.iter() {
            let first = list.control_code(feature).unwrap();
            let expected = list.iter().find(|(f, _)| *f == feature).map(|(_, c)| c).unwrap();
            assert_eq!(first, expected);
            let _ = (feature.to_string(), code);
        }
    }
});
