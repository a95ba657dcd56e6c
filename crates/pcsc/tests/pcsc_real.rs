//! The PC/SC backend against a real pcscd serving the test card through vsmartcard's vpcd
//! driver. `.ci/steps/50-pcsc.sh` starts everything and runs these in three phases:
//!
//! - `running::` — pcscd with the card server in reversed mode (`vpcd_testcard PORT`), readers
//!   `cardwire vpcd 00 00` and `00 01`;
//! - `removable::` — pcscd with the driver in its default mode and `vpcd_testcard --connect`
//!   (the only mode in which the card can leave and come back), reader `$CARDWIRE_PCSC_READER`;
//! - `stopped::` — after pcscd has been stopped.
//!
//! They are ignored by `cargo test` and fail (not skip) when run without that set-up.
// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use cardwire_pcsc::{
    Attribute, Context, Disposition, PcscCard, Protocol, Protocols, ReaderEvent, Reason, Share,
};
use cardwire_transport::{Error as _, ErrorKind, Transport};

/// The test card's ATR (crates/vpcd/tests/support/testcard.rs).
const ATR: [u8; 10] = [0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0x80, 0x96];

fn reader() -> String {
    std::env::var("CARDWIRE_PCSC_READER").unwrap_or_else(|_| "cardwire vpcd 00 00".to_string())
}

fn connect(context: &Context, share: Share) -> PcscCard {
    context
        .connect(&reader(), share, Protocols::T0 | Protocols::T1)
        .expect("connect to the vpcd test card")
}

fn send(card: &mut impl Transport, command: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 258];
    card.transmit(command, &mut buf)
        .map(<[u8]>::to_vec)
        .unwrap_or_else(|e| panic!("transmit {command:02X?}: {e:?}"))
}

mod running {
    use super::*;

    #[test]
    #[ignore = "needs pcscd with vpcd; run by .ci/run"]
    fn lists_both_vpcd_readers_with_the_card() {
        let context = Context::establish().expect("pcscd must be running");
        let readers = context.readers().unwrap();
        assert!(
            readers.contains(&"cardwire vpcd 00 00".to_string()),
            "{readers:?}"
        );
        assert!(
            readers.contains(&"cardwire vpcd 00 01".to_string()),
            "{readers:?}"
        );
        let statuses = context.reader_statuses().unwrap();
        for status in statuses
            .iter()
            .filter(|s| s.name.starts_with("cardwire vpcd"))
        {
            assert!(status.card_present, "{status:?}");
            assert_eq!(status.atr, ATR);
        }
        let monitor = context.monitor().unwrap();
        assert!(monitor.readers().iter().any(|r| r.card_present));
    }

    #[test]
    #[ignore = "needs pcscd with vpcd; run by .ci/run"]
    fn exchanges_apdus_with_get_response_and_chaining() {
        let context = Context::establish().expect("pcscd must be running");
        let mut card = connect(&context, Share::Shared);
        assert_eq!(card.atr(), ATR);
        let status = card.status().unwrap();
        assert_eq!(status.protocol, Some(Protocol::T1));
        assert!(status.powered);
        assert_eq!(status.atr, ATR);

        assert_eq!(
            send(&mut card, &[0, 0xA4, 0, 0x0C, 2, 0x2F, 0x01]),
            [0x90, 0]
        );
        let r = send(&mut card, &[0, 0xB0, 0, 0, 0]);
        assert_eq!(&r[..r.len() - 2], b"cardwire test card");
        assert_eq!(&r[r.len() - 2..], [0x62, 0x82]);

        // 600 bytes: 6100, then GET RESPONSE through pcscd until 9000.
        assert_eq!(send(&mut card, &[0, 0xCA, 1, 1, 0]), [0x61, 0]);
        let mut data = Vec::new();
        for _ in 0..10 {
            let r = send(&mut card, &[0, 0xC0, 0, 0, 0]);
            let (body, sw) = r.split_at(r.len() - 2);
            data.extend_from_slice(body);
            if sw == [0x90, 0] {
                break;
            }
            assert_eq!(sw[0], 0x61, "{sw:02X?}");
        }
        assert_eq!(data, (0..600).map(|i| (i % 256) as u8).collect::<Vec<_>>());

        // Command chaining: three links, then read back.
        assert_eq!(send(&mut card, &[0x10, 0xDA, 1, 2, 2, 1, 2]), [0x90, 0]);
        assert_eq!(send(&mut card, &[0x10, 0xDA, 1, 2, 2, 3, 4]), [0x90, 0]);
        assert_eq!(send(&mut card, &[0x00, 0xDA, 1, 2, 1, 5]), [0x90, 0]);
        assert_eq!(
            send(&mut card, &[0, 0xCA, 1, 2, 0]),
            [1, 2, 3, 4, 5, 0x90, 0]
        );
    }

    #[test]
    #[ignore = "needs pcscd with vpcd; run by .ci/run"]
    fn transaction_then_reset_by_another_application() {
        let context = Context::establish().expect("pcscd must be running");
        let mut ours = connect(&context, Share::Shared);
        let mut theirs = connect(&context, Share::Shared);
        {
            let mut tx = ours.begin_transaction().unwrap();
            assert_eq!(send(&mut tx, &[0, 0xA4, 0, 0x0C, 2, 0x3F, 0x00]), [0x90, 0]);
            tx.end(Disposition::Leave).unwrap();
        }
        // The other application resets the card: our next command learns it, typed.
        theirs.reconnect(Disposition::Reset).unwrap();
        let mut buf = [0u8; 258];
        let err = ours
            .transmit(&[0, 0xA4, 0, 0x0C, 2, 0x3F, 0x00], &mut buf)
            .unwrap_err();
        assert_eq!(err.reason(), Reason::CardReset, "{err}");
        assert_eq!(err.kind(), ErrorKind::CardReset);
        assert!(
            err.to_string().contains("reset by another application"),
            "{err}"
        );
        // Reconnecting without another reset goes on.
        ours.reconnect(Disposition::Leave).unwrap();
        assert_eq!(
            send(&mut ours, &[0, 0xA4, 0, 0x0C, 2, 0x3F, 0x00]),
            [0x90, 0]
        );
        // Our own reset through the Transport trait re-reads the ATR.
        ours.reset().unwrap();
        assert_eq!(ours.atr(), ATR);
    }

    #[test]
    #[ignore = "needs pcscd with vpcd; run by .ci/run"]
    fn card_session_over_pcsc_with_a_transaction() {
        use cardwire_apdu::{CommandRepr, Ins, StatusWord};
        use cardwire_transport::Card;

        let context = Context::establish().expect("pcscd must be running");
        let mut card = Card::open(connect(&context, Share::Shared)).unwrap();
        // The session reads the capabilities from the ATR: chaining, short lengths only.
        assert!(card.capabilities().command_chaining);
        assert!(!card.capabilities().extended_length);
        let mut buf = [0u8; 1100];
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let mut other = None;
        card.transaction(|tx| {
            // Another application cannot interleave while the transaction is open: pcsc-lite
            // holds its command back until the transaction ends.
            other = Some(std::thread::spawn(move || {
                let context = Context::establish().unwrap();
                let mut other = connect(&context, Share::Shared);
                let r = send(&mut other, &[0, 0xA4, 0, 0x0C, 2, 0x3F, 0x00]);
                // Dropping a connection resets the card; leave it for the session instead.
                other.disconnect(Disposition::Leave).unwrap();
                done_tx.send(r).unwrap();
            }));
            assert!(
                done_rx.recv_timeout(Duration::from_millis(500)).is_err(),
                "another application got through during the transaction"
            );
            // GET DATA of 600 bytes: the session follows 61xx with GET RESPONSE itself.
            let get_data =
                CommandRepr::new(cardwire_apdu::Cla(0), Ins::GET_DATA, 1, 1).with_ne(256);
            let r = tx.transmit(&get_data, &mut buf).unwrap();
            assert_eq!(r.sw(), StatusWord::SUCCESS);
            assert_eq!(r.data().len(), 600);
            // 300 bytes of PUT DATA: the session chains them (two short APDUs).
            let payload: Vec<u8> = (0..300u16).map(|i| (i % 7) as u8).collect();
            let put =
                CommandRepr::new(cardwire_apdu::Cla(0), Ins::PUT_DATA, 1, 2).with_data(&payload);
            assert_eq!(
                tx.transmit(&put, &mut buf).unwrap().sw(),
                StatusWord::SUCCESS
            );
            let get = CommandRepr::new(cardwire_apdu::Cla(0), Ins::GET_DATA, 1, 2).with_ne(256);
            let r = tx.transmit(&get, &mut buf).unwrap();
            assert_eq!(r.data(), &payload[..]);
            // Still held after a second of the session's silence: no disconnect in between.
            std::thread::sleep(Duration::from_millis(300));
            assert!(
                done_rx.try_recv().is_err(),
                "the transaction was let go early"
            );
        })
        .unwrap();
        // The transaction is over: the other application's command goes through.
        let r = done_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(r, [0x90, 0]);
        other.unwrap().join().unwrap();
        // READ BINARY of a 1024-byte file in the fewest short APDUs.
        let select =
            CommandRepr::new(cardwire_apdu::Cla(0), Ins::SELECT, 0, 0x0C).with_data(&[0x2F, 0x02]);
        assert_eq!(
            card.transmit(&select, &mut buf).unwrap().sw(),
            StatusWord::SUCCESS
        );
        let (data, sw) = card.read_binary(0, 1024, &mut buf).unwrap();
        assert_eq!(sw, StatusWord::SUCCESS);
        assert_eq!(data, (0..1024).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    }

    #[test]
    #[ignore = "needs pcscd with vpcd; run by .ci/run"]
    fn exclusive_connection_refuses_others() {
        let context = Context::establish().expect("pcscd must be running");
        let card = connect(&context, Share::Exclusive);
        let err = context
            .connect(&reader(), Share::Shared, Protocols::ANY)
            .unwrap_err();
        assert_eq!(err.reason(), Reason::SharingViolation, "{err}");
        card.disconnect(Disposition::Leave).unwrap();
        connect(&context, Share::Shared);
    }

    #[test]
    #[ignore = "needs pcscd with vpcd; run by .ci/run"]
    fn control_features_and_attributes() {
        let context = Context::establish().expect("pcscd must be running");
        let card = connect(&context, Share::Shared);
        // vpcd implements no IFDHControl: no Part 10 features, and a typed "unsupported".
        assert!(card.features().unwrap().list().is_empty());
        let mut out = [0u8; 64];
        let err = card
            .control(cardwire_pcsc::control_code(3500), &[], &mut out)
            .unwrap_err();
        assert_eq!(err.reason(), Reason::Unsupported, "{err}");
        // pcsc-lite 1.9.9 passes attributes to the driver, and vpcd has none (docs/PCSC.md):
        // a typed "unsupported", not a crash or an empty value.
        for attribute in [
            Attribute::AtrString,
            Attribute::DeviceFriendlyName,
            Attribute::VendorName,
        ] {
            let err = card.attribute(attribute).unwrap_err();
            assert_eq!(err.reason(), Reason::Unsupported, "{attribute:?}: {err}");
        }
        let err = card.attribute(Attribute::AtrString).unwrap_err();
        assert_eq!(err.reason(), Reason::Unsupported, "{err}");
    }

    #[test]
    #[ignore = "needs pcscd with vpcd; run by .ci/run"]
    fn unknown_reader_is_typed() {
        let context = Context::establish().expect("pcscd must be running");
        let err = context
            .connect("no such reader 00 00", Share::Shared, Protocols::ANY)
            .unwrap_err();
        assert_eq!(err.reason(), Reason::UnknownReader, "{err}");
    }
}

mod removable {
    use super::*;

    #[test]
    #[ignore = "needs pcscd with vpcd in default mode; run by .ci/run"]
    fn removal_mid_transaction_and_reinsertion() {
        let context = Context::establish().expect("pcscd must be running");
        let mut monitor = context.monitor().unwrap();
        let found = monitor
            .wait_for_card(Some(&reader()), Duration::from_secs(10))
            .unwrap();
        assert_eq!(found.map(|(_, atr)| atr), Some(ATR.to_vec()));

        let mut card = connect(&context, Share::Shared);
        {
            let mut tx = card.begin_transaction().unwrap();
            assert_eq!(send(&mut tx, &[0, 0xA4, 0, 0x0C, 2, 0x3F, 0x00]), [0x90, 0]);
            // EJECT: the test card leaves for 2 s.
            assert_eq!(send(&mut tx, &[0x80, 0xEE, 0, 0, 1, 20]), [0x90, 0]);
            let mut removed = false;
            for _ in 0..20 {
                let events = monitor.wait(Duration::from_millis(500)).unwrap();
                if events
                    .iter()
                    .any(|e| matches!(e, ReaderEvent::CardRemoved { reader: r } if *r == reader()))
                {
                    removed = true;
                    break;
                }
            }
            assert!(removed, "pcscd did not report the removal");
            let mut buf = [0u8; 258];
            let err = tx
                .transmit(&[0, 0xA4, 0, 0x0C, 2, 0x3F, 0x00], &mut buf)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::CardRemoved, "{err}");
            assert!(err.to_string().contains("removed"), "{err}");
        }
        let back = monitor
            .wait_for_card(Some(&reader()), Duration::from_secs(10))
            .unwrap();
        assert!(back.is_some(), "the card did not come back");
        let err = card.status().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CardRemoved, "{err}");
        let mut card = connect(&context, Share::Shared);
        assert_eq!(
            send(&mut card, &[0, 0xA4, 0, 0x0C, 2, 0x2F, 0x01]),
            [0x90, 0]
        );
    }
}

mod stopped {
    use super::*;

    #[test]
    #[ignore = "run by .ci/run after stopping pcscd"]
    fn fails_cleanly_without_pcscd() {
        let err = Context::establish().unwrap_err();
        assert_eq!(err.reason(), Reason::ServiceNotRunning, "{err}");
        assert_eq!(err.kind(), ErrorKind::NoService);
        let text = err.to_string();
        assert!(
            text.contains("pcscd") && text.contains("not running"),
            "{text}"
        );
    }
}
