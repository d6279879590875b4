//! Word-level diff of two answers (the `similar` crate's word tokenizer), as spans a renderer
//! can colour, and as `git diff --word-diff=plain` text.

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    Same,
    Removed,
    Added,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffSpan {
    pub kind: DiffKind,
    pub text: String,
}

/// Word-level diff from `old` to `new`; adjacent spans of one kind are merged.
pub fn word_diff(old: &str, new: &str) -> Vec<DiffSpan> {
    let diff = TextDiff::from_words(old, new);
    let mut out: Vec<DiffSpan> = Vec::new();
    for change in diff.iter_all_changes() {
        let kind = match change.tag() {
            ChangeTag::Equal => DiffKind::Same,
            ChangeTag::Delete => DiffKind::Removed,
            ChangeTag::Insert => DiffKind::Added,
        };
        match out.last_mut() {
            Some(last) if last.kind == kind => last.text.push_str(change.value()),
            _ => out.push(DiffSpan {
                kind,
                text: change.value().to_string(),
            }),
        }
    }
    out
}

/// Share of words that are the same in both texts (1.0 = identical).
pub fn similarity(old: &str, new: &str) -> f64 {
    f64::from(TextDiff::from_words(old, new).ratio())
}

/// `[-removed-]{+added+}` rendering, like `git diff --word-diff=plain`.
pub fn plain(spans: &[DiffSpan]) -> String {
    let mut s = String::new();
    for d in spans {
        match d.kind {
            DiffKind::Same => s.push_str(&d.text),
            DiffKind::Removed => s.push_str(&format!("[-{}-]", d.text)),
            DiffKind::Added => s.push_str(&format!("{{+{}+}}", d.text)),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_not_characters() {
        let d = word_diff("the quick brown fox", "the slow brown fox jumps");
        assert_eq!(plain(&d), "the [-quick-]{+slow+} brown fox{+ jumps+}");
        assert_eq!(
            word_diff("same", "same"),
            vec![DiffSpan {
                kind: DiffKind::Same,
                text: "same".into()
            }]
        );
        assert!((similarity("a b c d", "a b c d") - 1.0).abs() < 1e-9);
        assert!(similarity("a b c d", "w x y z") < 0.5);
    }
}
