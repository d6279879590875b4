//! aoai-console: a terminal operator console for Azure OpenAI / Azure AI Foundry.
//!
//! Layers (imports point downward only): `wire` and `domain` are pure; `azure` (clients)
//! and `sim` (the simulator) are siblings that never import each other; `headless` and
//! `tui` sit on top.

pub mod azure;
pub mod cli;
pub mod config;
pub mod connect;
pub mod domain;
pub mod headless;
pub mod record;
pub mod sim;
pub mod tokens;
pub mod tui;
pub mod wire;
