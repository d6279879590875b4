use std::process::ExitCode;

use clap::Parser;

use aoai::cli::{Cli, Command};

/// mimalloc: the load generator and simulator allocate many small, short-lived buffers per
/// request, where it is markedly cheaper than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Telemetry is off (and costs nothing) unless --otlp or an OTLP endpoint variable is set.
    if let Err(e) = aoai::engine::telemetry::init(cli.otlp.as_deref()) {
        eprintln!("aoai: {e}; continuing without telemetry");
    }
    if cli.command.is_none()
        || matches!(&cli.command, Some(Command::Replay(a)) if a.opens_console())
    {
        aoai::engine::telemetry::defer_reports();
    }
    let result = match cli.command {
        Some(Command::Chat(args)) => aoai::headless::chat::run(args).await,
        Some(Command::Embed(args)) => aoai::headless::embed::run(args).await,
        Some(Command::Sim(args)) => aoai::headless::sim::run(args).await,
        Some(Command::Replay(args)) if args.opens_console() => aoai::tui::run_replay(args).await,
        Some(Command::Replay(args)) => aoai::headless::replay::run(args).await,
        Some(Command::Bench(args)) => aoai::headless::bench::run(args).await,
        Some(Command::Ptu(args)) => aoai::headless::ptu::run(args),
        Some(Command::Deployments(args)) => aoai::headless::deployments::run(args).await,
        Some(Command::Quota(args)) => aoai::headless::quota::run(args).await,
        Some(Command::Config(args)) => aoai::headless::config::run(args),
        Some(Command::Compare(args)) if args.tui => aoai::tui::compare::run(args).await,
        Some(Command::Compare(args)) => aoai::headless::compare::run(args).await,
        Some(Command::Proxy(args)) => aoai::headless::proxy::run(args).await,
        Some(Command::Doctor(args)) => aoai::headless::doctor::run(args).await,
        Some(Command::Probe(args)) => aoai::headless::probe::run(args).await,
        Some(Command::Completions(args)) => aoai::headless::shell::completions(args.shell),
        Some(Command::Man) => aoai::headless::shell::man(),
        None => aoai::tui::run(cli.console).await,
    };
    aoai::engine::telemetry::shutdown().await;
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("aoai: {}", aoai::headless::error_text(&e));
            ExitCode::from(2)
        }
    }
}
