//! PPS (ISO/IEC 7816-3 §9): parsing never panics and round-trips through the request encoder;
//! response checking never panics and only agrees on what was asked or the defaults.
#![no_main]

use cardwire_link::pps::{PpsMessage, PpsRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = PpsMessage::parse(data) {
        let req = PpsRequest {
            protocol: msg.pps0 & 0x0F,
            pps1: msg.pps1,
            pps2: msg.pps2,
            pps3: msg.pps3,
        };
        let mut buf = [0u8; 6];
        assert_eq!(req.encode(&mut buf).ok(), Some(data));
    }
    if let Some((&split, rest)) = data.split_first() {
        let (req, rsp) = rest.split_at((split as usize).min(rest.len()));
        if let Ok(msg) = PpsMessage::parse(req) {
            let req = PpsRequest {
                protocol: msg.pps0 & 0x0F,
                pps1: msg.pps1,
                pps2: msg.pps2,
                pps3: msg.pps3,
            };
            if let Ok(agreed) = req.check_response(rsp) {
                assert_eq!(agreed.protocol, req.protocol);
                if agreed.fi != 372 || agreed.di != 1 {
                    assert!(req.pps1.is_some());
                }
            }
        }
    }
});
