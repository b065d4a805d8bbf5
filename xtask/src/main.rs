//! Project automation for the gp workspace, following the cargo-xtask convention
//! (<https://github.com/matklad/cargo-xtask>): `cargo xtask <task>`.
//!
//! - `cargo xtask ci`: everything CI checks, in order: formatting, clippy with
//!   warnings denied, the architecture invariants, the whole test suite (nextest when
//!   installed, plus doctests), and rustdoc with warnings denied.

#![allow(clippy::print_stdout, clippy::print_stderr)] // reason: a command-line tool reports on the terminal

mod arch;
mod ci;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// gp project tasks.
#[derive(Parser)]
#[command(name = "cargo xtask", about = "gp project automation")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run every CI check: fmt, clippy, architecture invariants, tests, docs.
    Ci,
    /// Check only the architecture invariants (which crate may depend on which).
    Arch,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    std::env::set_current_dir(project_root())?;
    match cli.task {
        Task::Ci => ci::run(),
        Task::Arch => arch::check(),
    }
}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn project_root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent().map(PathBuf::from).unwrap_or(dir)
}

/// The cargo that runs us (so `cargo +toolchain xtask` stays on that toolchain).
pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}
