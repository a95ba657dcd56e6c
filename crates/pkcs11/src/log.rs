//! The module's log: a level and a destination (standard error or a file). Only what the
//! module writes itself goes here, and it never writes a PIN, PUK or key: login lines carry
//! the slot and the `CKR_` result only.

use std::fmt;
use std::io::Write;
use std::sync::Mutex;

/// How much is logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing.
    Off,
    /// Failures the application may not report.
    Error,
    /// Unexpected conditions.
    Warn,
    /// Tokens found, logins (result only).
    Info,
    /// Every card operation's result.
    Debug,
}

impl Level {
    /// Parses `off`, `error`, `warn`, `info`, `debug`.
    pub fn parse(text: &str) -> Option<Level> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "off" | "none" => Level::Off,
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" | "trace" => Level::Debug,
            _ => return None,
        })
    }
}

/// The log.
#[derive(Debug)]
pub struct Logger {
    level: Level,
    file: Option<Mutex<std::fs::File>>,
}

impl Default for Logger {
    fn default() -> Self {
        Logger {
            level: Level::Off,
            file: None,
        }
    }
}

impl Logger {
    /// A log at `level` to `file` (appended), or to standard error without one.
    pub fn new(level: Level, file: Option<&str>) -> Logger {
        let file = file.and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
                .map(Mutex::new)
        });
        Logger { level, file }
    }

    fn write(&self, level: Level, args: fmt::Arguments<'_>) {
        if level > self.level || self.level == Level::Off {
            return;
        }
        let line = format!("cardwire-pkcs11 {level:?}: {args}\n");
        match &self.file {
            Some(f) => {
                if let Ok(mut f) = f.lock() {
                    let _ = f.write_all(line.as_bytes());
                }
            }
            None => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }

    /// Logs at `Error`.
    pub fn error(&self, args: fmt::Arguments<'_>) {
        self.write(Level::Error, args);
    }

    /// Logs at `Warn`.
    pub fn warn(&self, args: fmt::Arguments<'_>) {
        self.write(Level::Warn, args);
    }

    /// Logs at `Info`.
    pub fn info(&self, args: fmt::Arguments<'_>) {
        self.write(Level::Info, args);
    }

    /// Logs at `Debug`.
    pub fn debug(&self, args: fmt::Arguments<'_>) {
        self.write(Level::Debug, args);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_order() {
        assert_eq!(Level::parse("Debug"), Some(Level::Debug));
        assert_eq!(Level::parse(" warn "), Some(Level::Warn));
        assert_eq!(Level::parse("loud"), None);
        assert!(Level::Debug > Level::Info);
    }
}
