//! `cardwire serve --vpcd`: the vpcd protocol spoken to the served card, as the driver would.

// Test helpers outside #[test] functions may panic too: a failure is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if port < 65_000 && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair");
}

fn message(stream: &mut TcpStream, payload: &[u8]) -> Vec<u8> {
    let mut m = (payload.len() as u16).to_be_bytes().to_vec();
    m.extend_from_slice(payload);
    stream.write_all(&m).unwrap();
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut body).unwrap();
    body
}

#[test]
fn the_driver_sees_the_virtual_card() {
    let port = free_port_pair();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_cardwire"))
            .args(["serve", "--vpcd", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("serve did not listen: {e}"),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Power on (no answer), then "get ATR" (control 04).
    stream.write_all(&[0, 1, 1]).unwrap();
    let atr = message(&mut stream, &[0x04]);
    assert_eq!(
        atr,
        [
            0x3B, 0x87, 0x81, 0x31, 0xFE, 0x45, 0x80, 0x31, 0xE4, 0x73, 0xB6, 0x01, 0xFB, 0xE6
        ]
    );
    // SELECT the cardholder data DF by path and read the user ID.
    let select = [0x00, 0xA4, 0x08, 0x0C, 0x02, 0x50, 0x00];
    assert_eq!(message(&mut stream, &select), [0x90, 0x00]);
    let rsp = message(&mut stream, &[0x00, 0xB0, 0x82, 0x00, 0x00]);
    assert_eq!(rsp.len(), 14);
    assert_eq!(&rsp[12..], &[0x90, 0x00]);
}

#[test]
fn only_loopback_addresses_are_served() {
    let out = Command::new(env!("CARGO_BIN_EXE_cardwire"))
        .args(["serve", "--vpcd", "0.0.0.0:35963"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_cardwire"))
        .args(["serve", "--vpcd", "localhost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `serve --no-bac` prints the eMRTD application's CAN and serves a card that refuses BAC
/// (`6982` to GET CHALLENGE in the eMRTD application) but reads EF.CardAccess for PACE.
#[test]
fn no_bac_prints_the_can_and_refuses_bac() {
    use std::io::BufRead;
    let port = free_port_pair();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cardwire"))
        .args(["serve", "--vpcd", &format!("127.0.0.1:{port}"), "--no-bac"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let mut printed = String::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("serving on") {
            break;
        }
    }
    assert!(
        printed.contains("CAN 721853") && printed.contains("BAC refused (PACE only)"),
        "{printed}"
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(&[0, 1, 1]).unwrap();
    message(&mut stream, &[0x04]);
    // EF.CardAccess by SFI 1C in the MF: PACEInfos for PACE-GM and PACE-CAM (the last),
    // P-256 (parameter ID 12).
    let card_access = message(&mut stream, &[0x00, 0xB0, 0x9C, 0x00, 0x00]);
    let cam = cardwire_vcard::personalise::PACE_CAM_PROTOCOL;
    assert!(card_access.windows(cam.len()).any(|w| w == cam));
    assert_eq!(
        &card_access[card_access.len() - 5..],
        &[0x02, 0x01, 0x0C, 0x90, 0x00]
    );
    let select = [
        0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01,
    ];
    assert_eq!(message(&mut stream, &select), [0x90, 0x00]);
    assert_eq!(
        message(&mut stream, &[0x00, 0x84, 0x00, 0x00, 0x08]),
        [0x69, 0x82]
    );
}
