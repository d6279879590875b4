//! `aoai completions SHELL` and `aoai man`: shell integration generated from the command
//! line's own definition, so it cannot drift from the flags.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or elvish. Install, e.g.:
    /// `aoai completions bash > ~/.local/share/bash-completion/completions/aoai`.
    pub shell: clap_complete::Shell,
}
