//! Headless twins of the console's screens: one module per subcommand, text or `--json`
//! output. No ratatui here.

pub mod chat;
pub mod sim;
