//! The jump-box operations, end to end against the simulator: zero-config from the az CLI,
//! an API Management gateway, `aoai probe` across regions and failover across resources.
//! One test binary for the four (each links the whole crate; fewer binaries build faster).

#[path = "../common/az.rs"]
mod az;
#[path = "../common/mod.rs"]
mod common;

mod apim;
mod failover;
mod probe;
mod zero_config;
