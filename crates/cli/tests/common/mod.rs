//! Running the built `cardwire` binary from the integration tests.
// Not every test file uses every helper.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `cardwire ARGS` to completion.
pub fn cardwire(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cardwire"))
        .args(args)
        .output()
        .expect("run cardwire")
}

/// Runs `cardwire ARGS` with the environment variable `key` set to `value`.
pub fn cardwire_env(args: &[&str], key: &str, value: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cardwire"))
        .args(args)
        .env(key, value)
        .output()
        .expect("run cardwire")
}

/// Runs `cardwire ARGS` with `stdin` on standard input.
pub fn cardwire_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cardwire"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cardwire");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}
