//! `cardwire tlv`: decode a TLV tree. (Being written for issue 2.)

use crate::failure::Failure;

/// Arguments of `cardwire tlv`.
#[derive(clap::Args)]
pub struct Args {
    /// Hex bytes (spaces, colons and newlines allowed), or `-` for standard input.
    pub input: String,
}

/// Runs `cardwire tlv`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let bytes = crate::input::hex_arg(&args.input)?;
    println!("{}", crate::input::to_hex(&bytes));
    Ok(())
}
