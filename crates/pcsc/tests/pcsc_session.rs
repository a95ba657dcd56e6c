//! Session guarantees through a real pcscd serving the vpcd test card
//! (crates/vpcd/tests/support/testcard.rs), run by `.ci/steps/55-pcsc-session.sh` in a private
//! mount and network namespace:
//!
//! - `shared::` — readers `cardwire vpcd 00 00` (reversed mode): transactions that hold, the
//!   reset at the end of a transaction after VERIFY, a reset by another client mid-session;
//! - `restart::` — pcscd stopped and restarted mid-session; the script stops and starts it
//!   when the test asks through files in `$CARDWIRE_PCSC_SYNC`;
//! - `removable::` — the card removed and re-inserted mid-session, reader
//!   `$CARDWIRE_PCSC_READER`.
//!
//! Ignored by `cargo test`; they fail (not skip) when run without that set-up.
// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cardwire_apdu::{Cla, CommandRepr, Ins, StatusWord};
use cardwire_pcsc::{Context, Disposition, PcscCard, Protocols, ReaderEvent, Reason, Share};
use cardwire_transport::{Card, Error as _, ErrorKind, ReleasePolicy, Transport};

/// The test card's ATR (crates/vpcd/tests/support/testcard.rs).
const ATR: [u8; 10] = [0x3B, 0x85, 0x80, 0x01, 0x80, 0x73, 0xC0, 0x21, 0x80, 0x96];

fn reader() -> String {
    std::env::var("CARDWIRE_PCSC_READER").unwrap_or_else(|_| "cardwire vpcd 00 00".to_string())
}

fn connect(context: &Context) -> PcscCard {
    context
        .connect(&reader(), Share::Shared, Protocols::T0 | Protocols::T1)
        .expect("connect to the vpcd test card")
}

fn select(fid: &[u8; 2]) -> CommandRepr<'_> {
    CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0, 0x0C).with_data(fid)
}

/// Byte `i` of EF 2F02 is `i % 251`.
fn large_file(range: std::ops::Range<usize>) -> Vec<u8> {
    range.map(|i| (i % 251) as u8).collect()
}

const VERIFY_PIN: CommandRepr<'static> =
    CommandRepr::new(Cla::INTERINDUSTRY, Ins::VERIFY, 0, 0x80).with_data(b"1234");
const VERIFY_STATUS: CommandRepr<'static> =
    CommandRepr::new(Cla::INTERINDUSTRY, Ins::VERIFY, 0, 0x80);

mod shared {
    use super::*;

    #[test]
    #[ignore = "needs pcscd with vpcd; run by .ci/steps/55-pcsc-session.sh"]
    fn a_transaction_is_held_between_commands_and_no_one_interleaves() {
        let context = Context::establish().expect("pcscd must be running");
        let mut card = Card::open(connect(&context)).unwrap();
        // vpcd states no reader limits (no Part 10 features): the card's own capabilities hold.
        assert_eq!(card.transport().max_apdu_data_size().unwrap(), None);
        let mut buf = [0u8; 300];
        let (tx_done, rx_done) = std::sync::mpsc::channel();
        let mut other = None;
        card.transaction(|tx| {
            assert!(
                tx.transmit(&select(&[0x2F, 0x02]), &mut buf)
                    .unwrap()
                    .sw()
                    .is_success()
            );
            // Another client selects another file and waits for the transaction.
            other = Some(std::thread::spawn(move || {
                let context = Context::establish().unwrap();
                let mut other = connect(&context);
                let mut b = [0u8; 2];
                let r = other
                    .transmit(&[0, 0xA4, 0, 0x0C, 2, 0x2F, 0x01], &mut b)
                    .map(<[u8]>::to_vec);
                other.disconnect(Disposition::Leave).unwrap();
                tx_done.send(r).unwrap();
            }));
            // Between the session's commands, nothing else reaches the card: READ BINARY
            // still reads the file this transaction selected, however long it pauses.
            for at in [0u16, 200, 400] {
                std::thread::sleep(Duration::from_millis(200));
                let (data, sw) = tx.read_binary(at, 200, &mut buf).unwrap();
                assert_eq!(sw, StatusWord::SUCCESS);
                assert_eq!(data, large_file(usize::from(at)..usize::from(at) + 200));
            }
            assert!(rx_done.try_recv().is_err(), "another client got through");
        })
        .unwrap();
        let r = rx_done
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .unwrap();
        assert_eq!(r, [0x90, 0]);
        other.unwrap().join().unwrap();
    }

    #[test]
    #[ignore = "needs pcscd with vpcd; run by .ci/steps/55-pcsc-session.sh"]
    fn a_verified_pin_does_not_outlive_the_transaction() {
        let context = Context::establish().expect("pcscd must be running");
        let mut card = Card::open(connect(&context)).unwrap();
        let mut buf = [0u8; 16];
        card.transaction(|tx| {
            assert!(
                tx.transmit(&VERIFY_PIN, &mut buf)
                    .unwrap()
                    .sw()
                    .is_success()
            );
            assert!(
                tx.transmit(&VERIFY_STATUS, &mut buf)
                    .unwrap()
                    .sw()
                    .is_success()
            );
        })
        .unwrap();
        // SCARD_RESET_CARD at the end of the transaction: the PIN is no longer verified, for
        // this session and for the next application.
        assert!(!card.security_state_raised());
        assert_eq!(card.atr(), ATR);
        let sw = card.transmit(&VERIFY_STATUS, &mut buf).unwrap().sw();
        assert_eq!(
            sw,
            StatusWord(0x63C3),
            "the PIN state leaked past the transaction"
        );
        let mut other = connect(&context);
        let mut b = [0u8; 2];
        assert_eq!(
            other.transmit(&[0, 0x20, 0, 0x80], &mut b).unwrap(),
            [0x63, 0xC3]
        );

        // The documented opt-out keeps it.
        card.set_release_policy(ReleasePolicy::Leave);
        card.transaction(|tx| {
            assert!(
                tx.transmit(&VERIFY_PIN, &mut buf)
                    .unwrap()
                    .sw()
                    .is_success()
            );
        })
        .unwrap();
        assert!(
            card.transmit(&VERIFY_STATUS, &mut buf)
                .unwrap()
                .sw()
                .is_success()
        );
        // And closing the session with the default policy resets the card.
        card.set_release_policy(ReleasePolicy::ResetWhenAuthenticated);
        let transport = card.close().unwrap();
        transport.disconnect(Disposition::Leave).unwrap();
        let err = other.transmit(&[0, 0x20, 0, 0x80], &mut b).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CardReset, "{err}");
        assert_eq!(
            other.transmit(&[0, 0x20, 0, 0x80], &mut b).unwrap(),
            [0x63, 0xC3]
        );
        other.disconnect(Disposition::Leave).unwrap();
    }

    /// Another client resets the card mid-session: a second process (`opensc-tool --reset`)
    /// when `with_opensc`, else a second connection with `SCardReconnect(RESET)`.
    fn reset_by_another_client(with_opensc: bool) {
        let context = Context::establish().expect("pcscd must be running");
        let mut card = Card::open(connect(&context)).unwrap();
        let mut buf = [0u8; 1100];
        assert!(
            card.transmit(&select(&[0x2F, 0x02]), &mut buf)
                .unwrap()
                .sw()
                .is_success()
        );
        let (data, _) = card.read_binary(0, 100, &mut buf).unwrap();
        assert_eq!(data, large_file(0..100));
        assert!(
            card.transmit(&VERIFY_PIN, &mut buf)
                .unwrap()
                .sw()
                .is_success()
        );

        if with_opensc {
            let out = std::process::Command::new("opensc-tool")
                .args(["-r", &reader(), "--reset"])
                .output()
                .expect("run opensc-tool");
            assert!(out.status.success(), "opensc-tool --reset: {out:?}");
        } else {
            let mut theirs = connect(&context);
            theirs.reconnect(Disposition::Reset).unwrap();
            theirs.disconnect(Disposition::Leave).unwrap();
        }

        // The documented outcome: the session learns of the reset, typed, after the
        // transport reconnected and found the same ATR; the session forgot the card's state.
        let err = card.read_binary(100, 100, &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CardReset, "{err}");
        assert!(card.transport().resets_seen() >= 1);
        assert!(
            !card.security_state_raised(),
            "the security state is reported lost"
        );
        assert_eq!(card.atr(), ATR);
        // Never a wrong answer: the card forgot its current file and its PIN, and says so.
        let (data, sw) = card.read_binary(100, 100, &mut buf).unwrap();
        assert!(data.is_empty());
        assert_eq!(sw, StatusWord::NO_CURRENT_EF);
        assert_eq!(
            card.transmit(&VERIFY_STATUS, &mut buf).unwrap().sw(),
            StatusWord(0x63C3)
        );
        // Re-established by the caller, the session goes on.
        assert!(
            card.transmit(&select(&[0x2F, 0x02]), &mut buf)
                .unwrap()
                .sw()
                .is_success()
        );
        let (data, sw) = card.read_binary(100, 900, &mut buf).unwrap();
        assert_eq!(sw, StatusWord::SUCCESS);
        assert_eq!(data, large_file(100..1000));
    }

    #[test]
    #[ignore = "needs pcscd with vpcd; run by .ci/steps/55-pcsc-session.sh"]
    fn reset_by_another_connection_mid_session() {
        reset_by_another_client(false);
    }

    #[test]
    #[ignore = "needs pcscd with vpcd and opensc-tool; run by .ci/steps/55-pcsc-session.sh"]
    fn reset_by_opensc_tool_mid_session() {
        reset_by_another_client(true);
    }

    #[test]
    #[ignore = "needs pcscd with vpcd; run by .ci/steps/55-pcsc-session.sh"]
    fn a_reset_cannot_cut_into_a_transaction() {
        let context = Context::establish().expect("pcscd must be running");
        let mut card = Card::open(connect(&context)).unwrap();
        card.set_release_policy(ReleasePolicy::Leave);
        let mut buf = [0u8; 300];
        let (tx_done, rx_done) = std::sync::mpsc::channel();
        let mut other = None;
        card.transaction(|tx| {
            assert!(
                tx.transmit(&VERIFY_PIN, &mut buf)
                    .unwrap()
                    .sw()
                    .is_success()
            );
            other = Some(std::thread::spawn(move || {
                let context = Context::establish().unwrap();
                let mut theirs = connect(&context);
                let r = theirs.reconnect(Disposition::Reset);
                let _ = theirs.disconnect(Disposition::Leave);
                tx_done.send(r.map_err(|e| e.reason())).unwrap();
            }));
            std::thread::sleep(Duration::from_millis(500));
            // Whatever the other client does meanwhile, the PIN is still verified here.
            assert!(
                tx.transmit(&VERIFY_STATUS, &mut buf)
                    .unwrap()
                    .sw()
                    .is_success()
            );
        })
        .unwrap();
        // The other client's reset waited for the transaction (pcsc-lite) or was refused.
        let r = rx_done.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(matches!(r, Ok(()) | Err(Reason::SharingViolation)), "{r:?}");
        other.unwrap().join().unwrap();
    }
}

mod restart {
    use super::*;

    /// Asks the script to do `what` (`stop` or `start` pcscd) and waits until it is done.
    fn ask(what: &str) {
        let dir = PathBuf::from(std::env::var("CARDWIRE_PCSC_SYNC").expect("CARDWIRE_PCSC_SYNC"));
        std::fs::write(dir.join(format!("want-{what}")), b"").unwrap();
        let done = dir.join(format!("done-{what}"));
        let until = Instant::now() + Duration::from_secs(30);
        while !done.exists() {
            assert!(Instant::now() < until, "the script did not {what} pcscd");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    #[test]
    #[ignore = "needs pcscd run by .ci/steps/55-pcsc-session.sh (it stops and restarts it)"]
    fn pcscd_stopped_and_restarted_mid_session() {
        let context = Context::establish().expect("pcscd must be running");
        let mut card = Card::open(connect(&context)).unwrap();
        let mut buf = [0u8; 300];
        assert!(
            card.transmit(&select(&[0x2F, 0x02]), &mut buf)
                .unwrap()
                .sw()
                .is_success()
        );

        ask("stop");
        let err = card.read_binary(0, 100, &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoService, "{err}");
        let err = card.transaction(|_| ()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoService, "{err}");

        ask("start");
        // The old connection stays void after the restart: typed errors, never an answer.
        let err = card.read_binary(0, 100, &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoService, "{err}");
        // A new context finds the reader again, and a new session works.
        let until = Instant::now() + Duration::from_secs(15);
        let context = loop {
            if let Ok(context) = Context::establish() {
                if let Ok(mut monitor) = context.monitor() {
                    if let Ok(Some(_)) =
                        monitor.wait_for_card(Some(&reader()), Duration::from_secs(1))
                    {
                        break context;
                    }
                }
            }
            assert!(
                Instant::now() < until,
                "pcscd did not come back with the card"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        let mut card = Card::open(connect(&context)).unwrap();
        assert!(
            card.transmit(&select(&[0x2F, 0x02]), &mut buf)
                .unwrap()
                .sw()
                .is_success()
        );
        let (data, sw) = card.read_binary(0, 100, &mut buf).unwrap();
        assert_eq!((data, sw), (&large_file(0..100)[..], StatusWord::SUCCESS));
    }
}

mod removable {
    use super::*;

    #[test]
    #[ignore = "needs pcscd with vpcd in default mode; run by .ci/steps/55-pcsc-session.sh"]
    fn removal_and_reinsertion_mid_session() {
        let context = Context::establish().expect("pcscd must be running");
        let mut monitor = context.monitor().unwrap();
        let found = monitor
            .wait_for_card(Some(&reader()), Duration::from_secs(10))
            .unwrap();
        assert_eq!(found.map(|(_, atr)| atr), Some(ATR.to_vec()));
        let mut card = Card::open(connect(&context)).unwrap();
        let mut buf = [0u8; 300];
        let result = card.transaction(|tx| {
            assert!(
                tx.transmit(&select(&[0x2F, 0x02]), &mut buf)
                    .unwrap()
                    .sw()
                    .is_success()
            );
            assert!(
                tx.transmit(&VERIFY_PIN, &mut buf)
                    .unwrap()
                    .sw()
                    .is_success()
            );
            // EJECT: the test card leaves for 2 s.
            let eject = CommandRepr::new(Cla(0x80), Ins(0xEE), 0, 0).with_data(&[20]);
            assert!(tx.transmit(&eject, &mut buf).unwrap().sw().is_success());
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
            let err = tx.read_binary(0, 100, &mut buf).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::CardRemoved, "{err}");
        });
        // Ending the transaction on a removed card fails typed, or succeeds: either way
        // nothing is answered from a card that left.
        if let Err(e) = result {
            assert_eq!(e.kind(), ErrorKind::CardRemoved, "{e}");
        }
        assert!(!card.security_state_raised());
        let back = monitor
            .wait_for_card(Some(&reader()), Duration::from_secs(10))
            .unwrap();
        assert!(back.is_some(), "the card did not come back");
        // The session never reconnects on its own to what may be another card.
        let err = card.transmit(&select(&[0x2F, 0x02]), &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CardRemoved, "{err}");
        // The caller reconnects explicitly, and starts from a fresh card state.
        card.transport_mut().reconnect(Disposition::Leave).unwrap();
        card.reconnect().unwrap();
        assert_eq!(card.atr(), ATR);
        assert_eq!(
            card.transmit(&VERIFY_STATUS, &mut buf).unwrap().sw(),
            StatusWord(0x63C3)
        );
        assert!(
            card.transmit(&select(&[0x2F, 0x02]), &mut buf)
                .unwrap()
                .sw()
                .is_success()
        );
        let (data, _) = card.read_binary(0, 100, &mut buf).unwrap();
        assert_eq!(data, large_file(0..100));
    }
}
