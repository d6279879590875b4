//! Pure domain types and logic: call records and timings, rate-limit header parsing, usage,
//! cost, retry decisions and the stream reducer. No UI, no network, no tokio.

pub mod call;
pub mod cost;
pub mod headroom;
pub mod ptu;
pub mod ratelimit;
pub mod retry;
pub mod stats;
pub mod stream;
pub mod usage;
pub mod diff;
pub mod scenario;
pub mod compare;
pub mod rank;
