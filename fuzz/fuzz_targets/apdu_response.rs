//! Response APDU parsing never panics; data + SW re-encode to the input; status word
//! accessors are total.
#![no_main]

use cardwire_apdu::{Response, ResponseRepr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rsp) = Response::new_checked(data) else {
        assert!(data.len() < 2 || data.len() > 65_538);
        return;
    };
    let sw = rsp.sw();
    let _ = (
        sw.class(),
        sw.description(),
        sw.bytes_available(),
        sw.exact_length(),
        sw.retries_left(),
    );
    let repr = ResponseRepr {
        data: rsp.data(),
        sw,
    };
    let mut out = vec![0u8; repr.encoded_len()];
    assert_eq!(repr.encode(&mut out).expect("fits"), data);
    // FCI parsing of the data never panics either.
    let _ = cardwire_apdu::fci::FileControl::parse(rsp.data()).map(|fc| {
        let _ = (
            fc.file_size(),
            fc.descriptor().map(|d| {
                (
                    d.file_type(),
                    d.ef_structure(),
                    d.max_record_size(),
                    d.number_of_records(),
                )
            }),
            fc.sfi(),
            fc.life_cycle(),
            fc.file_id(),
        );
        fc.security_attributes().count()
    });
});
