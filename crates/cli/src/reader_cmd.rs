//! `cardwire reader --serial PTY`: the CCID reader firmware logic (`cardwire-ccid`) running on
//! the host as a GemPC PinPad serial reader, with the virtual card behind a simulated UART
//! (the card side of cardwire-link's T=1 or T=0, chosen with `--protocol`), so that pcscd's
//! own CCID driver (`libccidtwin.so`) talks to cardwire exactly as to a board.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant as StdInstant};

use cardwire_ccid::descriptor::{ExchangeLevel, Features, ReaderDescriptor};
use cardwire_ccid::engine::{Key, Keypad, LineRequest, Reader, ReaderConfig};
use cardwire_ccid::serial::SerialPort;
use cardwire_ccid::sim::{SimCard, atr_with_protocol};
use cardwire_link::Instant;
use cardwire_transport::CardHandler;
use cardwire_vcard::personalise::DEFAULT_PIN;
use cardwire_vcard::{Seed, VirtualCard};

use crate::failure::Failure;
use crate::input::to_hex;

/// The largest APDU the simulated line carries (the virtual card's extended limit and more).
const APDU: usize = 4200;
/// Frames in flight towards the host: an echo and an answer of 271 bytes each, with room.
const FRAMES: usize = 1200;

/// Arguments of `cardwire reader`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example (with socat making a pseudo-terminal pair):
  socat pty,raw,echo=0,link=/tmp/ccid-host pty,raw,echo=0,link=/tmp/ccid-reader &
  cardwire reader --serial /tmp/ccid-reader --keypad-pin 123456
and in /etc/reader.conf.d/cardwire-ccid:
  FRIENDLYNAME \"cardwire CCID\"
  DEVICENAME   /tmp/ccid-host:GemPCPinPad
  LIBPATH      /usr/lib/pcsc/drivers/serial/libccidtwin.so

The reader announces itself to libccid as a GemPC PinPad (TPDU level, PIN verification and
modification): secure PIN entry types --keypad-pin on the simulated keypad.")]
pub struct Args {
    /// The reader's end of the serial line (a pseudo-terminal).
    #[arg(long, value_name = "PTY")]
    pub serial: PathBuf,
    /// Keep the virtual card's state (PIN counters, files) in FILE.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// The digits the simulated keypad types for each PIN entry, then OK.
    #[arg(long, value_name = "PIN")]
    pub keypad_pin: Option<String>,
    /// The transmission protocol the virtual card announces in its ATR and speaks on the
    /// simulated line (ISO/IEC 7816-3 §10 T=0, §11 T=1).
    #[arg(long, value_enum, default_value_t = LineProtocol::T1)]
    pub protocol: LineProtocol,
}

/// A transmission protocol of the simulated card line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineProtocol {
    /// T=0: characters with procedure bytes (the ATR has no interface bytes).
    T0,
    /// T=1: blocks (the virtual card's own ATR).
    T1,
}

/// A keypad that types the same digits, then OK, for every entry.
struct ScriptedKeypad {
    keys: Vec<Key>,
    pos: usize,
}

impl Keypad for ScriptedKeypad {
    fn poll_key(&mut self) -> Option<Key> {
        let key = self.keys.get(self.pos).copied();
        self.pos = if key.is_some() { self.pos + 1 } else { 0 };
        // After OK the next entry starts over.
        if key == Some(Key::Enter) {
            self.pos = 0;
        }
        key.or(Some(Key::Enter))
    }
}

/// The configuration libccid's serial driver assumes for a GemPC PinPad (ccid_serial.c
/// `set_ccid_descriptor`: dwFeatures 00010230, 271-byte messages, IFSD 254, 4 MHz, PIN
/// verification and modification).
fn gempc_pinpad() -> ReaderConfig {
    ReaderConfig {
        descriptor: ReaderDescriptor {
            exchange: ExchangeLevel::Tpdu,
            features: Features(0x0000_0230),
            max_data_rate: 500_000,
            pin_support: 0x03,
            ..ReaderDescriptor::default()
        },
        firmware: b"GemPC Pinpad cardwire",
        ..ReaderConfig::default()
    }
}

/// Runs `cardwire reader`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let keys = match &args.keypad_pin {
        Some(pin) => {
            let mut keys = Vec::new();
            for c in pin.chars() {
                let d = c.to_digit(10).ok_or_else(|| {
                    Failure::Usage(
                        "--keypad-pin takes digits only (a keypad has no letters)".into(),
                    )
                })?;
                keys.push(Key::Digit(d as u8)); // 0..=9
            }
            keys.push(Key::Enter);
            keys
        }
        None => {
            let mut keys: Vec<Key> = DEFAULT_PIN
                .bytes()
                .filter(u8::is_ascii_digit)
                .map(|b| Key::Digit(b - b'0'))
                .collect();
            keys.push(Key::Enter);
            keys
        }
    };
    let mut keypad = ScriptedKeypad { keys, pos: 0 };
    let mut card = match &args.state {
        Some(path) => VirtualCard::open(path, &Seed::DEFAULT),
        None => VirtualCard::new(&Seed::DEFAULT),
    }
    .map_err(|e| Failure::Failed(e.to_string()))?;
    let atr = match args.protocol {
        LineProtocol::T1 => card.atr().to_vec(),
        LineProtocol::T0 => {
            // The same card, announcing T=0: its historical bytes behind TS and T0 only,
            // unchanged — extended Lc/Le included: hosts must not send extended APDUs over
            // T=0 whatever the card announces (ISO/IEC 7816-3 §12.2).
            let own = cardwire_link::atr::Atr::parse(card.atr(), cardwire_link::atr::Mode::Lenient)
                .map_err(|e| Failure::Failed(format!("the virtual card's ATR: {e}")))?;
            atr_with_protocol(0, own.historical_bytes()).to_vec()
        }
    };
    let mut line: SimCard<APDU> = SimCard::new(&atr)
        .map_err(|e| Failure::Failed(format!("the virtual card's ATR {}: {e}", to_hex(&atr))))?;
    let mut reader: Reader<APDU> = Reader::new(gempc_pinpad());
    let mut port: SerialPort<FRAMES> = SerialPort::new(true);

    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&args.serial)
        .map_err(|e| Failure::Failed(format!("cannot open {}: {e}", args.serial.display())))?;
    let mut tty_in = tty
        .try_clone()
        .map_err(|e| Failure::Failed(format!("cannot share {}: {e}", args.serial.display())))?;
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        loop {
            match tty_in.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf.get(..n).unwrap_or_default().to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });

    println!(
        "cardwire CCID reader (GemPC PinPad, TPDU level) on {} with the virtual card, T={}, ATR {}",
        args.serial.display(),
        line.protocol(),
        to_hex(&atr)
    );
    let start = StdInstant::now();
    let now = || Instant(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX));
    reader.card_inserted(now());
    let _ = reader.poll_interrupt(); // libccid flushes the line when it opens it.
    loop {
        let wait = match reader.poll_timeout() {
            Some(t) => Duration::from_micros(t.0.saturating_sub(now().0)),
            None => Duration::from_secs(3600),
        };
        let wait = if reader.is_pin_entry_active() {
            wait.min(Duration::from_millis(50))
        } else {
            wait
        };
        match rx.recv_timeout(wait) {
            Ok(bytes) => {
                for b in bytes {
                    if let Some(msg) = port.push(b) {
                        reader.handle_message(now(), msg);
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Failure::Failed(format!(
                    "{} closed: the other end of the line went away",
                    args.serial.display()
                )));
            }
        }
        let t = now();
        if reader.poll_timeout().is_some_and(|d| t >= d) {
            reader.handle_timeout(t);
        }
        if reader.is_pin_entry_active() {
            // The simulated user types the PIN and presses OK.
            reader.poll_keypad(now(), &mut keypad);
        }
        pump(&mut reader, &mut line, &mut card, now());
        let mut out = vec![0u8; FRAMES];
        while let Some(msg) = reader.poll_response(&mut out) {
            port.send_message(msg)
                .map_err(|e| Failure::Failed(format!("framing a response: {e}")))?;
            let mut bytes = vec![0u8; FRAMES];
            while let Some(n) = port.poll_transmit(&mut bytes) {
                tty.write_all(bytes.get(..n).unwrap_or_default())
                    .and_then(|()| tty.flush())
                    .map_err(|e| {
                        Failure::Failed(format!("writing {}: {e}", args.serial.display()))
                    })?;
            }
        }
        // NAKs and echoes of broken frames.
        let mut bytes = vec![0u8; FRAMES];
        while let Some(n) = port.poll_transmit(&mut bytes) {
            tty.write_all(bytes.get(..n).unwrap_or_default())
                .map_err(|e| Failure::Failed(format!("writing {}: {e}", args.serial.display())))?;
        }
    }
}

/// Moves bytes between the reader engine and the simulated card until both are quiet.
fn pump(reader: &mut Reader<APDU>, line: &mut SimCard<APDU>, card: &mut VirtualCard, now: Instant) {
    let mut buf = vec![0u8; APDU + 16];
    for _ in 0..1000 {
        let mut moved = false;
        while let Some(req) = reader.poll_line() {
            match req {
                LineRequest::Activate => card.power_on(),
                LineRequest::Deactivate => card.power_off(),
                LineRequest::SetTiming(_) => {}
            }
            line.handle_line(req);
            moved = true;
        }
        while let Some(n) = reader.poll_card_transmit(&mut buf) {
            line.handle_input(now, buf.get(..n).unwrap_or_default(), &mut |c, r| {
                card.process(c, r)
            });
            moved = true;
        }
        while let Some(n) = line.poll_transmit(&mut buf) {
            reader.handle_card_input(now, buf.get(..n).unwrap_or_default());
            moved = true;
        }
        if !moved {
            break;
        }
    }
}
