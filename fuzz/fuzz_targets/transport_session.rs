//! transport_session: random card answers (a Replay transcript: ATR, then responses) drive the
//! whole Card session — capability detection with EF.ATR/INFO, 61xx/6Cxx, chaining, the opt-in
//! extended fallback, channels, transactions and the reset after a verified PIN,
//! secure-messaging policy — through the tracing adapter.
//! Never panics; never sends more APDUs than the transcript has answers plus one per
//! operation (each operation stops at the first transport error).
#![no_main]

use cardwire_apdu::{Cla, CommandRepr, Ins};
use cardwire_transport::{Card, FmtSink, NoSecureChannel, Replay, Traced};
use libfuzzer_sys::fuzz_target;

/// Counts what the trace would print, without keeping it.
struct Count(usize);
impl core::fmt::Write for Count {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(replay) = Replay::new(data) else {
        return;
    };
    let traced = Traced::new(replay, FmtSink(Count(0)));
    let Ok(mut card) = Card::<_, NoSecureChannel, 1024>::open_typed(traced) else {
        return;
    };
    // The extended-length fallback is opt-in: both ways.
    let fallback = data.len() % 2 == 1;
    card.set_extended_fallback(fallback);
    // Opening sends nothing (no hidden I/O).
    assert_eq!(card.transport().inner().sent(), 0, "open sent an APDU");
    let mut operations = 0usize;
    if card.capabilities().ef_atr_length_info {
        operations += 1; // SELECT and READ BINARY: counted as up to two below
        operations += 1;
        let _ = card.read_ef_atr();
    }
    let payload = [0x5Au8; 700];
    let mut buf = vec![0u8; 4098];
    let commands = [
        CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x04, 0x00)
            .with_data(&[0xA0, 0x00, 0x00, 0x03, 0x08])
            .with_ne(256),
        CommandRepr::new(Cla::INTERINDUSTRY, Ins::GET_DATA, 0x01, 0x02).with_ne(65_536),
        CommandRepr::new(Cla::INTERINDUSTRY, Ins::PUT_DATA, 0x01, 0x03).with_data(&payload),
        CommandRepr::new(Cla(0x80), Ins(0xCA), 0x9F, 0x7F).with_ne(1),
    ];
    for cmd in &commands {
        operations += 1;
        if let Ok(rsp) = card.transmit(cmd, &mut buf) {
            assert!(rsp.as_bytes().len() >= 2);
        }
    }
    operations += 1;
    let _ = card.read_binary(0, 4096, &mut buf);
    operations += 1;
    if let Ok(ch) = card.open_channel() {
        operations += 2;
        let _ = card.transmit_on(ch, &commands[0], &mut buf);
        let _ = card.close_channel(ch);
    }
    card.require_secure_messaging(true);
    let verify = CommandRepr::new(Cla::INTERINDUSTRY, Ins::VERIFY, 0, 0x81).with_data(b"1234");
    assert!(card.transmit(&verify, &mut buf).is_err(), "PIN in plain under an SM policy");
    // A transaction holding a PIN verification: at its end the card is reset (Replay's reset
    // sends nothing), and the session forgets the raised security state.
    card.require_secure_messaging(false);
    operations += 2;
    let held = card.transaction(|tx| {
        let _ = tx.transmit(&commands[1], &mut buf);
        tx.transmit(&verify, &mut buf).map(|r| r.sw())
    });
    if let Ok(Ok(sw)) = held {
        if sw.is_success() {
            assert!(!card.security_state_raised(), "the PIN state outlived the transaction");
        }
    }
    operations += 1;
    let _ = card.reset();
    let sent = card.transport().inner().sent();
    // Each record is at least 2 bytes of length.
    let records = data.len() / 2 + 1;
    // read_binary is up to 16 operations in short mode; the others at most one failing APDU.
    assert!(sent <= records + operations + 16, "sent {sent} > {records} records + {operations}");
});
