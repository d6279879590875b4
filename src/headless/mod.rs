//! Headless twins of the console's screens: one module per subcommand, text or `--json`
//! output. No ratatui here.

pub mod bench;
pub mod chat;
pub mod ptu;
pub mod sim;
pub mod replay;
pub mod config;
pub mod deployments;
pub mod quota;
pub mod compare;
