//! `aoai compare FILE --tui`: the console opened on the Compare screen with the set loaded
//! (the same as `aoai --compare FILE`). Compare calls go through the executor like chat
//! calls, so the console's recording (`--record`, Ctrl+R / F8) writes them too.

use std::process::ExitCode;

use crate::cli::{CompareArgs, ConsoleArgs};
use crate::domain::compare::VariantSet;
use crate::domain::retry::RetryPolicy;

/// The console options `aoai compare FILE --tui` stands for.
pub fn console_args(args: CompareArgs, set: &VariantSet) -> ConsoleArgs {
    ConsoleArgs {
        conn: args.conn,
        deployment: args.deployment,
        theme: args.theme,
        system: None,
        max_tokens: 1024,
        temperature: None,
        retry: args
            .retry
            .or_else(|| set.retry.clone())
            .unwrap_or(RetryPolicy::Honor {
                max_attempts: 3,
                max_wait_ms: 60_000,
            }),
        record: args.record,
        compare: Some(args.file),
        proxy: None,
    }
}

/// `aoai compare FILE --tui`: a bad set is reported before the terminal is taken.
pub async fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let set = crate::engine::compare::load(&args.file)?;
    let console = console_args(args, &set);
    super::run(console).await
}
