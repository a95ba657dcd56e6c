//! How a subcommand fails: the message for stderr and the exit status.

use std::fmt;

/// Why a subcommand did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The input or the card's answer is malformed, or an operation failed (exit 1).
    Failed(String),
    /// The command line was wrong in a way clap could not see (exit 2).
    #[allow(
        dead_code,
        reason = "for subcommands whose arguments clap cannot check alone"
    )]
    Usage(String),
    /// The operating system gave no random bytes: the command stopped before sending anything
    /// that needed them (exit 1).
    Randomness(crate::randomness::RandomnessError),
}

impl From<crate::randomness::RandomnessError> for Failure {
    fn from(e: crate::randomness::RandomnessError) -> Self {
        Failure::Randomness(e)
    }
}

impl Failure {
    /// The process exit status for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Failed(_) | Failure::Randomness(_) => 1,
            Failure::Usage(_) => 2,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Failed(msg) | Failure::Usage(msg) => f.write_str(msg),
            Failure::Randomness(e) => write!(f, "{e}"),
        }
    }
}
