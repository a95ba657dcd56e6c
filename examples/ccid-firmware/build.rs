//! Puts memory.x where the linker finds it and links with cortex-m-rt's link.x.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    if fs::write(out.join("memory.x"), include_bytes!("memory.x")).is_err() {
        println!("cargo:warning=cannot write memory.x to OUT_DIR");
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg=-Tlink.x");
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
