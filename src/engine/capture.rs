//! A capture file, whichever kind: a scenario (JSON Lines, `crate::engine::record`) or a HAR
//! of an application's calls (`crate::engine::har`), told apart by content, so every command
//! that reads a scenario reads a HAR the same way.

use std::path::Path;

use crate::domain::scenario::{Header, LineWarning};
use crate::engine::har;
use crate::engine::record::{self, Loaded, RecordError, report::CallSummary};

fn read_har(path: &Path) -> Result<Loaded, RecordError> {
    let bytes = std::fs::read(path).map_err(|source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    har::import::read_har(&bytes).map_err(|message| RecordError::Har {
        path: path.to_path_buf(),
        message,
    })
}

/// Loads a whole scenario, or a HAR read as one.
pub fn load(path: &Path) -> Result<Loaded, RecordError> {
    if har::is_har(path) {
        return read_har(path);
    }
    record::load(path)
}

/// The file's calls as report rows, in order.
pub fn for_each_summary(
    path: &Path,
    mut each: impl FnMut(CallSummary),
) -> Result<(Header, Vec<LineWarning>), RecordError> {
    if !har::is_har(path) {
        return record::for_each_summary(path, each);
    }
    let loaded = read_har(path)?;
    loaded
        .calls
        .iter()
        .map(CallSummary::from)
        .for_each(&mut each);
    Ok((loaded.header, loaded.warnings))
}
