//! A value a screen fetches over the network, through its life cycle.

/// A value fetched over the network.
#[derive(Debug, Clone, PartialEq)]
pub enum Load<T> {
    NotLoaded,
    Loading,
    Ready(T),
    Failed(String),
}
