//! One APDU round trip through pcscd three ways, in the same run: the bare `pcsc` crate,
//! cardwire's `PcscCard` transport, and the `Card` session over it. Prints the median time per
//! APDU of each and the ratios to the bare crate (docs/PERFORMANCE.md, `## pcsc`).
//!
//! Usage: `pcsc_roundtrip READER [BATCHES]`. `.ci/steps/50-pcsc.sh` runs it against the vpcd
//! test card (`benches/pcsc_roundtrip.sh`). The three ways send the same wire APDU
//! (SELECT 2F01, answered `9000`), interleaved batch by batch in a rotating order so drift and
//! position hit them alike.

use std::ffi::CString;
use std::process::ExitCode;
use std::time::Instant;

use cardwire_apdu::{Cla, CommandRepr, Ins};
use cardwire_pcsc::{Context, Protocols, Share};
use cardwire_transport::{Card, Transport};

/// SELECT EF 2F01 (ISO/IEC 7816-4 §11.2.2), no response data.
const SELECT: [u8; 7] = [0x00, 0xA4, 0x00, 0x0C, 0x02, 0x2F, 0x01];
/// APDUs per timed batch.
const BATCH: u32 = 100;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let reader = args
        .next()
        .ok_or("usage: pcsc_roundtrip READER [BATCHES]")?;
    let batches: usize = match args.next() {
        Some(n) => n
            .parse()
            .map_err(|_| format!("BATCHES must be a number, not {n:?}"))?,
        None => 30,
    };

    // The bare pcsc crate.
    let bare_ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(|e| e.to_string())?;
    let name = CString::new(reader.clone()).map_err(|e| e.to_string())?;
    let bare = bare_ctx
        .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
        .map_err(|e| format!("bare pcsc connect: {e}"))?;

    // cardwire: the transport alone, and the Card session over a second connection.
    let ctx = Context::establish().map_err(|e| e.to_string())?;
    let mut transport = ctx
        .connect(&reader, Share::Shared, Protocols::ANY)
        .map_err(|e| e.to_string())?;
    let session_transport = ctx
        .connect(&reader, Share::Shared, Protocols::ANY)
        .map_err(|e| e.to_string())?;
    let mut card = Card::open(session_transport).map_err(|e| format!("{e:?}"))?;
    let select = CommandRepr::new(Cla(0x00), Ins::SELECT, 0x00, 0x0C).with_data(&[0x2F, 0x01]);

    let mut buf = [0u8; 258];
    let (mut t_bare, mut t_transport, mut t_session) = (Vec::new(), Vec::new(), Vec::new());
    for batch in 0..=batches {
        // Rotate which way goes first, so no way always runs right after another one.
        let mut ns = [0f64; 3];
        for k in 0..3 {
            let way = (batch + k) % 3;
            let start = Instant::now();
            for _ in 0..BATCH {
                let ok = match way {
                    0 => {
                        bare.transmit(&SELECT, &mut buf)
                            .map_err(|e| e.to_string())?
                            == [0x90, 0x00]
                    }
                    1 => {
                        transport
                            .transmit(&SELECT, &mut buf)
                            .map_err(|e| e.to_string())?
                            == [0x90, 0x00]
                    }
                    _ => card
                        .transmit(&select, &mut buf)
                        .map_err(|e| format!("{e:?}"))?
                        .sw()
                        .is_success(),
                };
                if !ok {
                    return Err(format!("way {way}: the card did not answer 9000"));
                }
            }
            if let Some(slot) = ns.get_mut(way) {
                *slot = start.elapsed().as_nanos() as f64 / f64::from(BATCH);
            }
        }
        // Batch 0 warms the connections up and is not counted.
        if batch > 0 {
            t_bare.push(ns[0]);
            t_transport.push(ns[1]);
            t_session.push(ns[2]);
        }
    }
    let (b, t, s) = (
        median(&mut t_bare),
        median(&mut t_transport),
        median(&mut t_session),
    );
    println!(
        "pcsc round trip, median of {batches} batches of {BATCH} APDUs (SELECT 2F01 -> 9000):"
    );
    println!("  bare pcsc crate          {:>9.1} µs", b / 1000.0);
    println!(
        "  cardwire PcscCard        {:>9.1} µs   ratio {:.3}",
        t / 1000.0,
        t / b
    );
    println!(
        "  cardwire Card session    {:>9.1} µs   ratio {:.3}",
        s / 1000.0,
        s / b
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pcsc_roundtrip: {e}");
            ExitCode::FAILURE
        }
    }
}
