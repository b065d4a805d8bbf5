//! What the `gp` binary's tests share: running it, and its output as text.
#![allow(dead_code, clippy::unwrap_used)] // reason: each test file uses part of it

use std::process::{Command, Output};

/// `gp ARGS`, without the caller's token or scratch workspace in its environment.
pub(crate) fn gp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gp"))
        .args(args)
        .env_remove("GP_TOKEN")
        .env_remove("GP_SCRATCH_WORKSPACE")
        .output()
        .unwrap()
}

/// Standard output then standard error, as text.
pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
