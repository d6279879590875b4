//! Network clients: the Azure OpenAI data plane (streaming chat) and, later, ARM. Knows
//! nothing of the UI; reports progress through [`crate::domain::call::CallEvent`]s.

pub mod arm;
pub mod auth;
mod call_error;
pub mod data_plane;
mod embeddings;
pub mod endpoint;
pub mod identity;
pub mod monitor;
pub mod net;
pub mod responses;
pub mod secret;
mod sse;

pub use auth::{Auth, Secret};
pub use data_plane::{CallSpec, ChatClient, ClientConfig, Timeouts};
pub use endpoint::Endpoint;
pub use sse::read_events;
