//! The vpcd protocol over loopback TCP, with this test playing the driver's side (no pcscd).
// Test code: a failed expectation is a panic by design (the helpers below are test code too).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

#[path = "support/testcard.rs"]
mod testcard;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use cardwire_vpcd::{self as vpcd, Server};
use testcard::{ATR, SHORT_FILE, TestCard};

/// The driver's side of one connection.
struct FakeDriver {
    stream: TcpStream,
}

impl FakeDriver {
    fn new(stream: TcpStream) -> Self {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Self { stream }
    }

    fn connect(port: u16) -> Self {
        Self::new(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap())
    }

    /// Sends a message the way vsmartcard 3.3 does: the length and the body in two writes.
    fn send(&mut self, body: &[u8]) {
        let len = u16::try_from(body.len()).unwrap().to_be_bytes();
        self.stream.write_all(&len).unwrap();
        self.stream.write_all(body).unwrap();
    }

    fn receive(&mut self) -> Vec<u8> {
        let mut len = [0u8; 2];
        self.stream.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
        self.stream.read_exact(&mut body).unwrap();
        body
    }

    fn exchange(&mut self, body: &[u8]) -> Vec<u8> {
        self.send(body);
        self.receive()
    }

    /// Asserts the peer closed the connection.
    fn assert_closed(&mut self) {
        let mut byte = [0u8; 1];
        assert_eq!(
            self.stream.read(&mut byte).unwrap(),
            0,
            "connection still open"
        );
    }
}

#[test]
fn server_serves_atr_apdus_get_response_and_chaining_on_both_slots() {
    let server = Server::bind_any().unwrap();
    let port = server.port();
    let running = server.spawn([TestCard::new(), TestCard::new()]).unwrap();

    let mut slot0 = FakeDriver::connect(port);
    let mut slot1 = FakeDriver::connect(port + 1);
    for driver in [&mut slot0, &mut slot1] {
        driver.send(&[vpcd::Control::POWER_ON.0]);
        assert_eq!(driver.exchange(&[vpcd::Control::GET_ATR.0]), ATR);
    }

    // SELECT and READ BINARY (6282: end of file before Le bytes).
    assert_eq!(
        slot0.exchange(&[0, 0xA4, 0, 0x0C, 2, 0x2F, 0x01]),
        [0x90, 0]
    );
    let mut expected = SHORT_FILE.to_vec();
    expected.extend_from_slice(&[0x62, 0x82]);
    assert_eq!(slot0.exchange(&[0, 0xB0, 0, 0, 0]), expected);

    // A 600-byte answer: 6100, then GET RESPONSE until 9000.
    assert_eq!(slot0.exchange(&[0, 0xCA, 1, 1, 0]), [0x61, 0]);
    let mut data = Vec::new();
    loop {
        let r = slot0.exchange(&[0, 0xC0, 0, 0, 0]);
        let (body, sw) = r.split_at(r.len() - 2);
        data.extend_from_slice(body);
        if sw == [0x90, 0] {
            break;
        }
        assert_eq!(sw[0], 0x61);
    }
    assert_eq!(data, (0..600).map(|i| (i % 256) as u8).collect::<Vec<_>>());

    // Command chaining into slot 1; slot 0's card is a separate instance.
    assert_eq!(
        slot1.exchange(&[0x10, 0xDA, 1, 2, 2, 0xAA, 0xBB]),
        [0x90, 0]
    );
    assert_eq!(slot1.exchange(&[0x00, 0xDA, 1, 2, 1, 0xCC]), [0x90, 0]);
    assert_eq!(
        slot1.exchange(&[0, 0xCA, 1, 2, 0]),
        [0xAA, 0xBB, 0xCC, 0x90, 0]
    );
    assert_eq!(slot0.exchange(&[0, 0xCA, 1, 2, 0]), [0x90, 0]);

    // The driver disconnects and comes back: the card (and what it stores) is still there.
    drop(slot1);
    let mut slot1 = FakeDriver::connect(port + 1);
    assert_eq!(slot1.exchange(&[vpcd::Control::GET_ATR.0]), ATR);
    assert_eq!(
        slot1.exchange(&[0, 0xCA, 1, 2, 0]),
        [0xAA, 0xBB, 0xCC, 0x90, 0]
    );

    // The largest message the length prefix allows is read whole and answered.
    let mut huge = vec![0u8; vpcd::MAX_MESSAGE_LEN];
    huge[..4].copy_from_slice(&[0, 0xDA, 1, 2]);
    assert_eq!(slot0.exchange(&huge), [0x67, 0]);
    assert_eq!(slot0.exchange(&[vpcd::Control::GET_ATR.0]), ATR);

    drop(slot0);
    drop(slot1);
    let cards = running.shutdown();
    assert_eq!(cards.len(), 2);
    let card0 = cards[0].as_ref().unwrap();
    let card1 = cards[1].as_ref().unwrap();
    assert_eq!(card0.commands, 8);
    assert_eq!(card1.commands, 4);
    assert_eq!(card0.resets, 1);
}

#[test]
fn shutdown_is_prompt_with_a_connection_open() {
    let server = Server::bind_any().unwrap();
    let port = server.port();
    let running = server.spawn([TestCard::new(), TestCard::new()]).unwrap();
    let mut driver = FakeDriver::connect(port);
    assert_eq!(driver.exchange(&[4]), ATR);
    let started = Instant::now();
    let cards = running.shutdown();
    assert!(cards.iter().all(Option::is_some));
    assert!(started.elapsed() < Duration::from_secs(2));
    driver.assert_closed();
}

#[test]
fn connect_mode_removes_and_reinserts_the_card() {
    // The driver's default mode: it listens, the card connects.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let running = vpcd::connect(addr, TestCard::new()).unwrap();

    let (stream, _) = listener.accept().unwrap();
    let mut driver = FakeDriver::new(stream);
    driver.send(&[vpcd::Control::POWER_ON.0]);
    assert_eq!(driver.exchange(&[4]), ATR);
    // EJECT for 0.3 s: the card answers, then reports no ATR and closes the connection.
    assert_eq!(driver.exchange(&[0x80, 0xEE, 0, 0, 1, 3]), [0x90, 0]);
    assert_eq!(driver.exchange(&[4]), Vec::<u8>::new());
    driver.assert_closed();

    // Re-inserted: the card connects again by itself.
    let started = Instant::now();
    let (stream, _) = listener.accept().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    let mut driver = FakeDriver::new(stream);
    assert_eq!(driver.exchange(&[4]), ATR);
    assert_eq!(
        driver.exchange(&[0, 0xA4, 0, 0x0C, 2, 0x3F, 0x00]),
        [0x90, 0]
    );
    drop(driver);

    let cards = running.shutdown();
    assert_eq!(cards[0].as_ref().unwrap().commands, 2);
}
