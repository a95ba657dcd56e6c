//! Configuration: environment variables, or a small `key = value` file.
//!
//! | variable | file key | meaning |
//! |---|---|---|
//! | `CARDWIRE_PKCS11_CONFIG` | — | path of the file (read first; variables override it) |
//! | `CARDWIRE_PKCS11_READERS` | `readers` | comma-separated substrings: only readers whose name contains one are slots |
//! | `CARDWIRE_PKCS11_LOG` | `log_level` | `off` (default), `error`, `warn`, `info`, `debug` |
//! | `CARDWIRE_PKCS11_LOG_FILE` | `log_file` | append the log to this file instead of standard error |
//! | `CARDWIRE_PKCS11_VIRTUAL` | `virtual` | feature `virtual-card` only: an in-process virtual PIV card from this seed text is the only slot |
//!
//! Lines starting with `#` and blank lines are ignored; unknown keys are ignored.

use crate::log::Level;

/// The module's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Reader name filters (all readers when empty).
    pub readers: Vec<String>,
    /// The log level.
    pub log_level: Option<Level>,
    /// The log file.
    pub log_file: Option<String>,
    /// The virtual card's seed (feature `virtual-card`).
    pub virtual_seed: Option<String>,
}

impl Config {
    /// Applies one `key`/`value` pair.
    fn set(&mut self, key: &str, value: &str) {
        let value = value.trim();
        match key.trim() {
            "readers" => {
                self.readers = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
            }
            "log_level" => self.log_level = Level::parse(value),
            "log_file" => self.log_file = Some(value.to_string()).filter(|s| !s.is_empty()),
            "virtual" => self.virtual_seed = Some(value.to_string()),
            _ => {}
        }
    }

    /// Parses the file format.
    pub fn parse(text: &str) -> Config {
        let mut c = Config::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                c.set(k, v);
            }
        }
        c
    }

    /// From the environment (and the file it names).
    pub fn from_env() -> Config {
        let var = |name: &str| std::env::var(name).ok();
        let mut c = var("CARDWIRE_PKCS11_CONFIG")
            .and_then(|path| std::fs::read_to_string(path).ok())
            .map(|text| Config::parse(&text))
            .unwrap_or_default();
        for (name, key) in [
            ("CARDWIRE_PKCS11_READERS", "readers"),
            ("CARDWIRE_PKCS11_LOG", "log_level"),
            ("CARDWIRE_PKCS11_LOG_FILE", "log_file"),
            ("CARDWIRE_PKCS11_VIRTUAL", "virtual"),
        ] {
            if let Some(v) = var(name) {
                c.set(key, &v);
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_format() {
        let c = Config::parse(
            "# comment\nreaders = Gemalto, Yubico \nlog_level=debug\n\nlog_file = /tmp/x.log\nunknown = 1\nnot a pair\n",
        );
        assert_eq!(c.readers, vec!["Gemalto".to_string(), "Yubico".to_string()]);
        assert_eq!(c.log_level, Some(Level::Debug));
        assert_eq!(c.log_file.as_deref(), Some("/tmp/x.log"));
        assert_eq!(c.virtual_seed, None);
        assert_eq!(Config::parse(""), Config::default());
    }
}
