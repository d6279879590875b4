//! The browser's sort keys, in the order `s` cycles through them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Model,
    Sku,
    Capacity,
    Rpm,
    Tpm,
    State,
}

impl SortKey {
    pub(super) fn next(self) -> SortKey {
        match self {
            SortKey::Name => SortKey::Model,
            SortKey::Model => SortKey::Sku,
            SortKey::Sku => SortKey::Capacity,
            SortKey::Capacity => SortKey::Rpm,
            SortKey::Rpm => SortKey::Tpm,
            SortKey::Tpm => SortKey::State,
            SortKey::State => SortKey::Name,
        }
    }
    pub(super) fn label(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Model => "model",
            SortKey::Sku => "sku",
            SortKey::Capacity => "capacity",
            SortKey::Rpm => "rpm",
            SortKey::Tpm => "tpm",
            SortKey::State => "state",
        }
    }
}
