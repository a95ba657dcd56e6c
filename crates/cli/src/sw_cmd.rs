//! `cardwire sw`: the meaning of a status word.

use cardwire_apdu::{StatusClass, StatusWord};
use serde_json::json;

use crate::failure::Failure;
use crate::input::parse_hex;

/// Arguments of `cardwire sw`.
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// The status word: four hex digits, SW1 then SW2 (for example `6A82` or `63 C2`).
    pub sw: String,
}

fn class_name(class: StatusClass) -> &'static str {
    match class {
        StatusClass::Normal => "normal processing",
        StatusClass::Warning => "warning",
        StatusClass::ExecutionError => "execution error",
        StatusClass::CheckingError => "checking error",
        StatusClass::Proprietary => "proprietary",
        _ => "invalid",
    }
}

/// Runs `cardwire sw`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let bytes = parse_hex(&args.sw)?;
    let &[sw1, sw2] = bytes.as_slice() else {
        return Err(Failure::Failed(format!(
            "a status word is 2 bytes (4 hex digits), got {} byte(s)",
            bytes.len()
        )));
    };
    let sw = StatusWord::new(sw1, sw2);
    let mut extra = String::new();
    if let Some(n) = sw.bytes_available() {
        extra = format!("; {n} byte(s) available with GET RESPONSE");
    } else if let Some(n) = sw.exact_length() {
        extra = format!("; send again with Le = {n}");
    } else if let Some(n) = sw.retries_left() {
        extra = format!("; counter {n} (retries left)");
    }
    if args.json {
        let v = json!({
            "sw": sw.to_string(),
            "meaning": sw.description(),
            "class": class_name(sw.class()),
            "bytes_available": sw.bytes_available(),
            "exact_length": sw.exact_length(),
            "retries_left": sw.retries_left(),
        });
        println!("{v}");
    } else {
        println!(
            "{sw}: {}{extra} ({})",
            sw.description(),
            class_name(sw.class())
        );
    }
    Ok(())
}
