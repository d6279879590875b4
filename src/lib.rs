//! aoai-console: a terminal operator console for Azure OpenAI / Azure AI Foundry.
//!
//! Layers (imports point downward only; `docs/architecture.md`): `wire`, `domain` and
//! `tokens` are pure; `config` reads profiles; `azure` (clients) and `sim` (the simulator)
//! are siblings that never import each other; `engine` runs what both front ends need;
//! `cli` defines the flags; `headless` and `tui` are sibling front ends on top.

pub mod azure;
pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
pub mod headless;
pub mod sim;
pub mod tokens;
pub mod tui;
pub mod wire;
