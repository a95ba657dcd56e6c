#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod apdu_cmd;
mod atr_cmd;
mod card_source;
mod certificate;
mod emrtd_cmd;
mod emrtd_trust;
mod failure;
mod input;
mod journey_cmd;
mod pinpad_cmd;
mod piv_cmd;
mod piv_cmd_ops;
mod piv_cmd_status;
mod randomness;
mod reader_cmd;
mod readers_cmd;
mod secret_input;
mod send_cmd;
mod serve_cmd;
mod sw_cmd;
mod tlv_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// cardwire: the ISO/IEC 7816 smart card stack on the command line.
#[derive(Parser)]
#[command(name = "cardwire", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// One variant per subcommand; each lives in its own `<name>_cmd.rs` module.
#[derive(Subcommand)]
enum Command {
    /// Decode BER-TLV (or SIMPLE-/COMPACT-TLV) data and print its tree.
    Tlv(tlv_cmd::Args),
    /// Decode a command APDU, or with --response a response APDU.
    Apdu(apdu_cmd::Args),
    /// Print the meaning of a status word (SW1 SW2).
    Sw(sw_cmd::Args),
    /// Decode an Answer-to-Reset: interface bytes, protocols, Fi/Di, historical bytes, TCK.
    Atr(atr_cmd::Args),
    /// Walk a healthcare worker's PIV card life: issuance, identify, PIN, signatures, blocking, PUK, SCP03.
    Journey(journey_cmd::Args),
    /// A PIV card (SP 800-73-4): status, PIN, sign, generate, certificates, objects.
    Piv(piv_cmd::Args),
    /// Serve the virtual card to a real pcscd through the vpcd driver (reversed mode).
    Serve(serve_cmd::Args),
    /// Read an ICAO eMRTD (passport chip) with BAC and secure messaging.
    Emrtd(emrtd_cmd::Args),
    /// List the PC/SC readers with card presence and ATR (needs `--features pcsc`).
    Readers(readers_cmd::Args),
    /// Send command APDUs to a reader's card or the built-in virtual card, with status meanings.
    Send(send_cmd::Args),
    /// Be a serial CCID smart card reader (GemPC PinPad) with the virtual card, for pcscd.
    Reader(reader_cmd::Args),
    /// Verify a PIN typed on a reader's PIN pad (PC/SC Part 10 secure PIN entry).
    Pinpad(pinpad_cmd::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Tlv(args) => tlv_cmd::run(&args),
        Command::Apdu(args) => apdu_cmd::run(&args),
        Command::Sw(args) => sw_cmd::run(&args),
        Command::Atr(args) => atr_cmd::run(&args),
        Command::Journey(args) => journey_cmd::run(&args),
        Command::Piv(args) => piv_cmd::run(&args),
        Command::Serve(args) => serve_cmd::run(&args),
        Command::Emrtd(args) => emrtd_cmd::run(&args),
        Command::Readers(args) => readers_cmd::run(&args),
        Command::Send(args) => send_cmd::run(&args),
        Command::Reader(args) => reader_cmd::run(&args),
        Command::Pinpad(args) => pinpad_cmd::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("cardwire: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}
