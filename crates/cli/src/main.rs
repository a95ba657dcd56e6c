//! The `cardwire` command line: decode smart card data and talk to cards.
//!
//! Exit status for every subcommand: 0 success, 1 the input (or the card's answer) is
//! malformed or an operation failed, 2 a usage error. It never panics, whatever it is given.
#![forbid(unsafe_code)]

mod failure;
mod input;
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("cardwire: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}
