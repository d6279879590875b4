use std::process::ExitCode;

use clap::Parser;

use aoai::cli::{Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Chat(args)) => aoai::headless::chat::run(args).await,
        Some(Command::Sim(args)) => aoai::headless::sim::run(args).await,
        None => aoai::tui::run(cli.console).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("aoai: {e:#}");
            ExitCode::from(2)
        }
    }
}
