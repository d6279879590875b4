//! A value a screen fetches over the network, through its life cycle.

/// A value fetched over the network; `E` is why it could not be (put into words when drawn).
#[derive(Debug, Clone, PartialEq)]
pub enum Load<T, E> {
    NotLoaded,
    Loading,
    Ready(T),
    Failed(E),
}
