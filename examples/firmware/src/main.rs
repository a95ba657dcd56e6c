//! A reader-firmware skeleton on `cardwire-link`: read the ATR, negotiate with PPS, then run
//! one T=1 exchange carrying a SELECT APDU, with no heap and no `unsafe` in this crate.
//!
//! The card's I/O line is the [`Line`] trait: a board support crate implements it over its
//! UART (in the convention TS announced) and a timer. Here the bytes come from
//! [`core::hint::black_box`] so that the optimiser cannot predict them and keeps every path
//! of the engines, which is what the size measurement in docs/PERFORMANCE.md needs.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use cardwire_apdu::{Cla, CommandRepr, Ins, Response};
use cardwire_link::atr::{Atr, Mode};
use cardwire_link::pps::{PpsMessage, PpsRequest, ReaderCaps};
use cardwire_link::t1::{self, Event, T1};
use cardwire_link::{Error, Instant, Timing};
use cortex_m_rt::entry;
use panic_halt as _;

/// The card's I/O line and a clock, as the board provides them.
trait Line {
    /// Sends bytes to the card.
    fn write(&mut self, bytes: &[u8]);
    /// Receives what arrives before `deadline` into `buf` (0 bytes: the deadline passed).
    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> usize;
    /// The current time.
    fn now(&self) -> Instant;
}

/// Stand-in line for the size build: input the optimiser cannot see through.
struct OpaqueLine {
    time: u64,
}

impl Line for OpaqueLine {
    fn write(&mut self, bytes: &[u8]) {
        core::hint::black_box(bytes);
    }
    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> usize {
        self.time = core::hint::black_box(deadline.as_micros());
        let n = core::hint::black_box(buf.len());
        for b in buf.iter_mut().take(n) {
            *b = core::hint::black_box(0);
        }
        n.min(buf.len())
    }
    fn now(&self) -> Instant {
        Instant(core::hint::black_box(self.time))
    }
}

const CLOCK_HZ: u32 = 4_000_000;

/// Reads the ATR: characters until 9600 etu of silence (ISO/IEC 7816-3 §8.2), at most 33.
fn read_atr(line: &mut impl Line) -> Result<Atr, Error> {
    let mut atr = [0u8; 33];
    let initial = Timing::new(CLOCK_HZ, 372, 1);
    let mut len = 0;
    while len < atr.len() {
        let deadline = line.now().add_micros(initial.etus_micros(9600));
        let n = line.read(atr.get_mut(len..len + 1).unwrap_or(&mut []), deadline);
        if n == 0 {
            break;
        }
        len += n;
    }
    Atr::parse(atr.get(..len).unwrap_or(&[]), Mode::Lenient)
}

/// PPS when allowed (§9); the timing to use afterwards.
fn negotiate(line: &mut impl Line, atr: &Atr) -> Timing {
    let default = Timing::new(CLOCK_HZ, 372, 1);
    let Ok(request) = PpsRequest::choose(
        atr,
        &ReaderCaps {
            clock_hz: CLOCK_HZ,
            ..ReaderCaps::default()
        },
    ) else {
        // Specific mode: TA2 tells what to use.
        return if atr.specific_mode().is_some_and(|m| !m.implicit) {
            atr.timing(CLOCK_HZ)
        } else {
            default
        };
    };
    let mut buf = [0u8; 6];
    let Ok(bytes) = request.encode(&mut buf) else {
        return default;
    };
    line.write(bytes);
    let mut rsp = [0u8; 6];
    let deadline = line.now().add_micros(default.wt_micros(atr.wi()));
    let mut len = 0;
    while len < rsp.len() {
        let n = line.read(rsp.get_mut(len..len + 1).unwrap_or(&mut []), deadline);
        if n == 0 {
            break;
        }
        len += n;
        if PpsMessage::parse(rsp.get(..len).unwrap_or(&[])).is_ok() {
            break;
        }
    }
    match request.check_response(rsp.get(..len).unwrap_or(&[])) {
        Ok(agreed) => Timing::new(CLOCK_HZ, agreed.fi, agreed.di),
        Err(_) => default,
    }
}

/// One T=1 exchange: the driving loop of `T1`'s documentation.
fn transmit<'r, const N: usize>(
    line: &mut impl Line,
    t1: &'r mut T1<N>,
    apdu: &[u8],
) -> Result<&'r [u8], Error> {
    t1.start(line.now(), apdu)?;
    let mut block = [0u8; t1::MAX_BLOCK];
    loop {
        while let Some(n) = t1.poll_transmit(&mut block) {
            line.write(block.get(..n).unwrap_or(&[]));
        }
        match t1.poll_event() {
            Some(Event::Response { len }) => return Ok(t1.response().get(..len).unwrap_or(&[])),
            Some(Event::Failed(e)) => return Err(e),
            None => {}
        }
        let deadline = t1.poll_timeout().unwrap_or(line.now());
        let n = line.read(&mut block, deadline);
        match block.get(..n) {
            Some(bytes) if n > 0 => t1.handle_input(line.now(), bytes),
            _ => t1.handle_timeout(line.now()),
        }
    }
}

#[entry]
fn main() -> ! {
    let mut line = OpaqueLine { time: 0 };
    loop {
        let Ok(atr) = read_atr(&mut line) else {
            continue;
        };
        let timing = negotiate(&mut line, &atr);
        let mut t1: T1<300> = T1::new(t1::Config::from_atr(&atr, &timing));
        // SELECT the PIV application (NIST SP 800-73-4 AID A0 00 00 03 08).
        let select = CommandRepr::new(Cla::INTERINDUSTRY, Ins::SELECT, 0x04, 0x00)
            .with_data(&[0xA0, 0x00, 0x00, 0x03, 0x08])
            .with_ne(256);
        let mut apdu = [0u8; 16];
        let Ok(apdu) = select.encode(&mut apdu) else {
            continue;
        };
        if let Ok(rsp) = transmit(&mut line, &mut t1, apdu) {
            if let Ok(rsp) = Response::new_checked(rsp) {
                core::hint::black_box(rsp.sw());
            }
        }
    }
}
