//! Serves the test card to pcscd through the vpcd driver until killed.
//!
//! ```text
//! vpcd_testcard [PORT] [--conf FILE]     reversed mode: listen on 127.0.0.1:PORT and PORT+1
//! vpcd_testcard --connect PORT           default mode: connect to the driver on 127.0.0.1:PORT
//! ```
//! In reversed mode (default port 35990, a card in each slot) it writes the matching
//! reader.conf.d entry to `FILE` when `--conf` is given, prints `ready PORT` once listening and
//! serves until stopped; start it before pcscd, which aborts when the driver cannot connect
//! at start-up. In `--connect` mode the card can be removed and re-inserted (the test card's
//! EJECT command); see docs/PCSC.md.

#[path = "../tests/support/testcard.rs"]
mod testcard;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use cardwire_vpcd::{self as vpcd, Server, reader_conf};

fn main() -> ExitCode {
    let mut port: u16 = 35_990;
    let mut conf: Option<String> = None;
    let mut connect = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--conf" {
            conf = args.next();
        } else if arg == "--connect" {
            connect = true;
        } else if let Ok(p) = arg.parse() {
            port = p;
        } else {
            eprintln!("usage: vpcd_testcard [PORT] [--conf FILE] | --connect PORT");
            return ExitCode::from(2);
        }
    }
    let running = if connect {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        vpcd::connect(addr, testcard::TestCard::new())
    } else {
        let server = match Server::bind(port) {
            Ok(server) => server,
            Err(e) => {
                eprintln!(
                    "vpcd_testcard: cannot listen on 127.0.0.1:{port} and :{}: {e}",
                    port.wrapping_add(1)
                );
                return ExitCode::FAILURE;
            }
        };
        if let Some(path) = conf {
            if let Err(e) = std::fs::write(&path, reader_conf("cardwire vpcd", port)) {
                eprintln!("vpcd_testcard: cannot write {path}: {e}");
                return ExitCode::FAILURE;
            }
        }
        server.spawn([testcard::TestCard::new(), testcard::TestCard::new()])
    };
    match running {
        Ok(running) => {
            println!("ready {}", running.port());
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            eprintln!("vpcd_testcard: {e}");
            ExitCode::FAILURE
        }
    }
}
