//! CCID message parsing (USB CCID Rev 1.1 §6, §5.1) never panics, and every parse that
//! succeeds re-encodes to exactly the same bytes: bulk-OUT and bulk-IN messages, interrupt
//! messages, Secure PIN structures, the class descriptor; the GemPC Twin frame decoder takes
//! any byte stream.
#![no_main]

use cardwire_ccid::descriptor::{BCD_CCID, ReaderDescriptor};
use cardwire_ccid::message::{Command, Interrupt, Message, Response};
use cardwire_ccid::secure::SecureRequest;
use cardwire_ccid::serial::{Event, FrameDecoder, Role};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = vec![0u8; data.len() + 64];
    if let Ok(msg) = Message::new_checked(data) {
        assert_eq!(msg.data().len() as u32, msg.length());
        if let Ok(cmd) = Command::parse(&msg) {
            assert_eq!(cmd.encoded_len(), data.len());
            let bytes = cmd.encode(msg.slot(), msg.seq(), &mut out).unwrap();
            assert_eq!(bytes, data, "command round trip");
            assert_eq!(cmd.message_type(), msg.message_type());
        }
        if let Ok(rsp) = Response::parse(&msg) {
            let bytes = rsp.encode(msg.slot(), msg.seq(), &mut out).unwrap();
            assert_eq!(bytes, data, "response round trip");
            let _ = rsp.protocol_data();
        }
    }
    if let Ok(i) = Interrupt::parse(data) {
        assert_eq!(i.encode(&mut out).unwrap(), data, "interrupt round trip");
    }
    if let Ok(s) = SecureRequest::parse(data) {
        assert_eq!(
            s.encode(&mut out).unwrap(),
            data,
            "secure structure round trip"
        );
    }
    if let Ok(d) = ReaderDescriptor::parse(data) {
        if data.get(2..4) == Some(&BCD_CCID.to_le_bytes()[..]) {
            if let Ok(bytes) = d.to_bytes() {
                assert_eq!(&bytes[..], data, "descriptor round trip");
            }
        }
    }
    for role in [Role::Reader, Role::Host] {
        let mut d: FrameDecoder<300> = FrameDecoder::new(role);
        for &b in data {
            if let Some(Event::Message(m)) = d.push(b) {
                assert!(Message::new_checked(m).is_ok(), "a framed message is whole");
            }
        }
    }
});
