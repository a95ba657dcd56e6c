//! Reading PINs, PUKs, keys and passphrases without putting them on the command line.
//!
//! A secret comes, in this order of preference, from: the command line (accepted only for
//! the virtual card, as a test convenience: anything on a command line is visible to every
//! local user in `ps` and lands in shell history), a file (`--pin-file FILE`), standard input
//! (`--pin-stdin`), an environment variable named in the help (`CARDWIRE_PIN`, ...), the
//! virtual card's published default, or the terminal without echo. The text is held in
//! [`Zeroizing`] buffers and wiped as soon as it is parsed into a secret type.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::failure::Failure;

/// Where one secret comes from.
#[derive(Debug, Clone, Copy)]
pub struct SecretArgs<'a> {
    /// What the secret is, for prompts and messages ("PIN", "PUK", ...).
    pub what: &'a str,
    /// The option that gave it on the command line (`--pin`), if any, and its value.
    pub argument: Option<(&'a str, &'a str)>,
    /// A file holding it (its first line).
    pub file: Option<&'a Path>,
    /// Read it from standard input (its first line).
    pub stdin: bool,
    /// The environment variable that may hold it.
    pub env: &'a str,
    /// The virtual card's published default (`None` for a real card: ask on the terminal).
    pub default: Option<&'a str>,
    /// Whether a real card is used (then the command line is refused).
    pub real_card: bool,
}

/// The first line of `text` without its line end, in a wiped buffer.
fn first_line(text: &str) -> Zeroizing<String> {
    Zeroizing::new(
        text.lines()
            .next()
            .unwrap_or("")
            .trim_end_matches(['\r', '\n'])
            .to_string(),
    )
}

/// Reads the secret described by `args`.
///
/// # Errors
/// [`Failure::Usage`] when a real card's secret is given on the command line, the file or
/// standard input cannot be read, or the terminal is not available.
pub fn read(args: &SecretArgs<'_>) -> Result<Zeroizing<String>, Failure> {
    if let Some((option, value)) = args.argument {
        if args.real_card {
            return Err(Failure::Usage(format!(
                "{option} is accepted only for the virtual card: a secret on the command line is visible to every local user; use {option}-file FILE, {}, or type it when asked",
                args.env
            )));
        }
        return Ok(Zeroizing::new(value.to_string()));
    }
    if let Some(path) = args.file {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            Failure::Usage(format!(
                "cannot read the {} from {}: {e}",
                args.what,
                path.display()
            ))
        })?);
        return Ok(first_line(&text));
    }
    if args.stdin {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            Failure::Usage(format!(
                "cannot read the {} from standard input: {e}",
                args.what
            ))
        })?;
        return Ok(first_line(&line));
    }
    if let Ok(value) = std::env::var(args.env) {
        return Ok(first_line(&Zeroizing::new(value)));
    }
    if let Some(default) = args.default {
        return Ok(Zeroizing::new(default.to_string()));
    }
    let value = Zeroizing::new(
        rpassword::prompt_password(format!("{}: ", args.what)).map_err(|e| {
            Failure::Usage(format!(
                "cannot read the {} from the terminal ({e}); give it with a file, standard input or {}",
                args.what, args.env
            ))
        })?,
    );
    Ok(first_line(&value))
}

/// A passphrase from a file (its first line), for `--state-passphrase-file`.
///
/// # Errors
/// [`Failure::Usage`] when the file cannot be read or its first line is empty.
pub fn passphrase_file(path: &PathBuf) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        Failure::Usage(format!(
            "cannot read the state passphrase from {}: {e}",
            path.display()
        ))
    })?);
    let line = first_line(&text);
    if line.is_empty() {
        return Err(Failure::Usage(format!(
            "the first line of {} is empty: it must hold the state passphrase",
            path.display()
        )));
    }
    Ok(Zeroizing::new(line.as_bytes().to_vec()))
}

/// Hex digits into bytes in a wiped buffer, without echoing any character of the secret in
/// the error.
///
/// # Errors
/// [`Failure::Usage`] naming `what` when `text` is not an even number of hex digits.
pub fn secret_hex(text: &str, what: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let digits: Zeroizing<Vec<u8>> =
        Zeroizing::new(text.bytes().filter(|b| !b.is_ascii_whitespace()).collect());
    let bad = || Failure::Usage(format!("{what} is not an even number of hex digits"));
    if !digits.len().is_multiple_of(2) {
        return Err(bad());
    }
    let mut out = Zeroizing::new(Vec::with_capacity(digits.len() / 2));
    for pair in digits.chunks(2) {
        let nibble = |b: Option<&u8>| {
            b.and_then(|b| char::from(*b).to_digit(16))
                .map(|d| d as u8)
                .ok_or_else(bad)
        };
        out.push((nibble(pair.first())? << 4) | nibble(pair.get(1))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args<'a>() -> SecretArgs<'a> {
        SecretArgs {
            what: "PIN",
            argument: None,
            file: None,
            stdin: false,
            env: "CARDWIRE_TEST_SECRET_INPUT_UNSET",
            default: Some("123456"),
            real_card: false,
        }
    }

    #[test]
    fn the_command_line_is_refused_for_a_real_card() {
        let a = SecretArgs {
            argument: Some(("--pin", "4321")),
            ..args()
        };
        assert_eq!(read(&a).unwrap().as_str(), "4321");
        let err = read(&SecretArgs {
            real_card: true,
            ..a
        })
        .unwrap_err();
        let Failure::Usage(m) = err else {
            panic!("{err:?}")
        };
        assert!(m.contains("--pin-file") && !m.contains("4321"), "{m}");
    }

    #[test]
    fn a_file_gives_its_first_line_and_the_default_is_last() {
        let path = std::env::temp_dir().join(format!("cw-secret-{}", std::process::id()));
        std::fs::write(&path, "97531\r\nignored\n").unwrap();
        let a = SecretArgs {
            file: Some(&path),
            real_card: true,
            ..args()
        };
        assert_eq!(read(&a).unwrap().as_str(), "97531");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(read(&args()).unwrap().as_str(), "123456");
    }

    #[test]
    fn hex_errors_do_not_echo_the_key() {
        assert_eq!(*secret_hex("40 41\n4f", "k").unwrap(), [0x40, 0x41, 0x4F]);
        let Err(Failure::Usage(m)) = secret_hex("4041zq", "--scp03-keys") else {
            panic!()
        };
        assert!(!m.contains('z') && !m.contains("4041"), "{m}");
        assert!(secret_hex("404", "k").is_err());
    }
}
