//! The full-screen console (being built).
use std::process::ExitCode;

use crate::cli::ConsoleArgs;

pub async fn run(_args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    eprintln!("aoai: the full-screen console is being built; use `aoai chat \"hello\"` meanwhile.");
    Ok(ExitCode::from(2))
}
