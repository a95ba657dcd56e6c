//! One stage of the journey: what it did, what it found, why it failed; and the journey's
//! errors.

use cardwire_apdu::StatusWord;
use serde_json::Value;

use crate::card_source::WireApdu;
use crate::randomness::RandomnessError;

/// Why a stage could not go on.
#[derive(Debug)]
pub(super) enum Fatal {
    /// The card or reader could not be reached, or a session failed: the stage fails.
    Session(String),
    /// No randomness: the whole journey stops (nothing predictable is ever sent).
    Randomness(RandomnessError),
}

impl From<String> for Fatal {
    fn from(message: String) -> Self {
        Fatal::Session(message)
    }
}

impl From<RandomnessError> for Fatal {
    fn from(e: RandomnessError) -> Self {
        Fatal::Randomness(e)
    }
}

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fatal::Session(message) => f.write_str(message),
            Fatal::Randomness(e) => write!(f, "{e}"),
        }
    }
}

/// What one stage did.
#[derive(Debug, Default)]
pub(super) struct Stage {
    pub(super) number: u8,
    pub(super) title: &'static str,
    pub(super) ok: bool,
    pub(super) skipped: bool,
    /// Human-readable lines: what happened.
    pub(super) lines: Vec<String>,
    /// The stage's findings for the JSON report.
    pub(super) facts: serde_json::Map<String, Value>,
    /// Why the stage failed, explained.
    pub(super) failure: Option<String>,
    pub(super) apdus: Vec<WireApdu>,
    /// The status words the card answered, in order (for the summary).
    pub(super) status_words: Vec<StatusWord>,
}

impl Stage {
    pub(super) fn new(number: u8, title: &'static str) -> Stage {
        Stage {
            number,
            title,
            ok: true,
            ..Stage::default()
        }
    }
    pub(super) fn say(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }
    pub(super) fn fact(&mut self, key: &str, value: impl Into<Value>) {
        self.facts.insert(key.to_string(), value.into());
    }
    pub(super) fn fail(&mut self, why: impl Into<String>) {
        self.ok = false;
        if self.failure.is_none() {
            self.failure = Some(why.into());
        }
    }
}

/// Explains a status word for a failure message.
pub(super) fn explain(sw: StatusWord) -> String {
    let why = match sw.0 {
        0x6982 => " — the card wants a verified PIN (or a secure channel) first",
        0x6983 => " — the PIN is blocked: only the PUK or an administrator can unblock it",
        0x6984 => " — the reference data is not usable",
        0x6985 => " — conditions of use not satisfied (was MANAGE SECURITY ENVIRONMENT sent?)",
        0x6A82 => " — the card does not have this application or file",
        0x6A88 => " — the card does not know this key or PIN reference",
        0x6D00 | 0x6E00 => " — the card does not support this command",
        s if s & 0xFFF0 == 0x63C0 => " — the value was wrong; that try was counted",
        _ => "",
    };
    format!("{sw} ({}){why}", sw.description())
}

/// Checks a status word: records it, and fails the stage (explaining the answer) when it
/// is not `want`.
pub(super) fn expect(stage: &mut Stage, what: &str, got: StatusWord, want: StatusWord) -> bool {
    stage.status_words.push(got);
    if got == want {
        true
    } else {
        stage.fail(format!(
            "{what}: the card answered {}, expected {want}",
            explain(got)
        ));
        false
    }
}

/// The tries a PIN status word reports, in words.
pub(super) fn tries_text(sw: StatusWord) -> String {
    match sw.retries_left() {
        Some(n) => format!("{n} tries left"),
        None if sw == StatusWord::AUTHENTICATION_METHOD_BLOCKED => "blocked".to_string(),
        None if sw.is_success() => "verified".to_string(),
        None => sw.description().to_string(),
    }
}

/// The stage as run: a session failure fails this stage; no randomness stops the journey.
pub(super) fn settle(
    number: u8,
    title: &'static str,
    run: Result<Stage, Fatal>,
) -> Result<Stage, Fatal> {
    match run {
        Ok(stage) => Ok(stage),
        Err(Fatal::Session(why)) => Ok(failed(number, title, why)),
        Err(fatal @ Fatal::Randomness(_)) => Err(fatal),
    }
}

pub(super) fn failed(number: u8, title: &'static str, why: String) -> Stage {
    let mut s = Stage::new(number, title);
    s.fail(why);
    s
}

pub(super) fn skipped(number: u8, title: &'static str, why: &str) -> Stage {
    let mut s = Stage::new(number, title);
    s.skipped = true;
    s.say(format!("skipped: {why}"));
    s
}
