//! Reading a PIN or PUK from the terminal without echo.

use crate::failure::Failure;

/// Asks for a secret on the terminal without echoing it.
pub fn read_secret(prompt: &str) -> Result<String, Failure> {
    let value = rpassword::prompt_password(prompt).map_err(|e| {
        Failure::Usage(format!(
            "cannot read {} from the terminal ({e}); pass it on the command line instead",
            prompt.trim_end_matches([':', ' '])
        ))
    })?;
    Ok(value.trim().to_string())
}
