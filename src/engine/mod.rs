//! The UI-free runners both front ends drive: connecting (profiles, env, the embedded
//! simulator), the bench load generator, the compare runner, scenario recording, reports,
//! re-sending and the replay scheduler. No ratatui, no crossterm, no clap: `headless` prints
//! what these produce and `tui` draws it.

pub mod bench;
pub mod capture;
pub mod compare;
pub mod connect;
pub mod doctor;
pub mod evaluate;
pub mod har;
pub mod probe;
pub mod proxy;
pub mod record;
pub mod replay;
pub mod signed_in;
pub mod telemetry;
