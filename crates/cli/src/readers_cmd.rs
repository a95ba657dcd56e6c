//! `cardwire readers [--wait]`: the PC/SC readers, with card presence, ATR and the reader's
//! PC/SC Part 10 features (PC/SC Part 10 v2.02.09 §2.2, e.g. `VERIFY_PIN_DIRECT` on a PIN pad).

use crate::failure::Failure;

/// Arguments of `cardwire readers`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  cardwire readers
  cardwire readers --wait --timeout 60

Needs pcscd running and a cardwire built with `--features pcsc` (Debian packages: pcscd,
libpcsclite-dev).")]
pub struct Args {
    /// Wait until a card is in a reader (up to --timeout seconds), then list the readers.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
}

/// Runs `cardwire readers`.
#[cfg(feature = "pcsc")]
pub fn run(args: &Args) -> Result<(), Failure> {
    use std::time::Duration;

    use cardwire_pcsc::Context;

    use crate::input::to_hex;

    let context = Context::establish().map_err(|e| Failure::Failed(e.to_string()))?;
    if args.wait {
        let mut monitor = context
            .monitor()
            .map_err(|e| Failure::Failed(e.to_string()))?;
        let found = monitor
            .wait_for_card(None, Duration::from_secs(args.timeout))
            .map_err(|e| Failure::Failed(e.to_string()))?;
        if found.is_none() {
            return Err(Failure::Failed(format!(
                "no card was inserted within {} s",
                args.timeout
            )));
        }
    }
    let readers = context
        .reader_statuses()
        .map_err(|e| Failure::Failed(e.to_string()))?;
    if readers.is_empty() {
        return Err(Failure::Failed(
            "no smart card reader found (pcscd is running but lists none)".to_string(),
        ));
    }
    for reader in readers {
        if reader.card_present {
            let mut notes = Vec::new();
            if reader.exclusive {
                notes.push("held exclusively");
            } else if reader.in_use {
                notes.push("in use");
            }
            if reader.mute {
                notes.push("mute");
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join(", "))
            };
            println!(
                "{}: card present, ATR {}{notes}",
                reader.name,
                to_hex(&reader.atr)
            );
        } else {
            println!("{}: no card", reader.name);
        }
        print_features(&context, &reader.name);
    }
    Ok(())
}

/// Prints the reader's PC/SC Part 10 features, asked through a direct connection (which
/// needs no card). A reader without any prints nothing; one that cannot be asked says why.
#[cfg(feature = "pcsc")]
fn print_features(context: &cardwire_pcsc::Context, reader: &str) {
    use cardwire_pcsc::{Disposition, Protocols, Share};

    // Disconnect leaving the card alone: dropping the connection would reset a card that
    // another application is using.
    let features = context
        .connect(reader, Share::Direct, Protocols::UNDEFINED)
        .and_then(|card| {
            let features = card.features();
            card.disconnect(Disposition::Leave)?;
            features
        });
    match features {
        Ok(features) if features.list().is_empty() => {}
        Ok(features) => {
            let names: Vec<String> = features
                .list()
                .iter()
                .map(|(feature, code)| format!("{feature} ({code:08X})"))
                .collect();
            println!("  PC/SC Part 10 features: {}", names.join(", "));
        }
        Err(e) => println!("  PC/SC Part 10 features: cannot ask the reader: {e}"),
    }
}

/// Runs `cardwire readers`: this build has no PC/SC support.
#[cfg(not(feature = "pcsc"))]
pub fn run(_args: &Args) -> Result<(), Failure> {
    Err(crate::send_cmd::pcsc_missing("list PC/SC readers"))
}
