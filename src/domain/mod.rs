//! Pure domain types and logic: call records and timings, rate-limit header parsing, usage,
//! cost, retry decisions and the stream reducer. No UI, no network, no tokio.

pub mod arm;
pub mod call;
pub mod call_text;
pub mod compare;
pub mod cost;
pub mod diff;
pub mod doctor;
pub mod doctor_azure;
pub mod embeddings;
pub mod eval;
pub mod headroom;
pub mod live;
pub mod monitor;
pub mod netaddr;
pub mod num;
pub mod params;
pub mod plan;
pub mod probe;
pub mod ptu;
pub mod rank;
pub mod ratelimit;
pub mod responses;
pub mod retry;
pub mod scenario;
pub mod stats;
pub mod stream;
pub mod telemetry;
pub mod usage;
