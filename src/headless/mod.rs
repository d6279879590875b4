//! Headless twins of the console's screens: one module per subcommand, text or `--json`
//! output. No ratatui here.

pub mod bench;
pub mod chat;
pub mod compare;
pub mod config;
pub mod deployments;
pub mod ptu;
pub mod quota;
pub mod replay;
pub mod sim;
