//! `{{name}}` placeholders: finding them and filling them with a case's fields.

use std::collections::BTreeMap;

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Each `{{name}}` (spaces inside the braces allowed): (byte range, name).
fn spans(s: &str) -> Vec<(std::ops::Range<usize>, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = s[from..].find("{{").map(|i| from + i) {
        let Some(close) = s[open + 2..].find("}}").map(|i| open + 2 + i) else {
            break;
        };
        let name = s[open + 2..close].trim();
        if !name.is_empty() && name.chars().all(is_name_char) {
            out.push((open..close + 2, name));
            from = close + 2;
        } else {
            from = open + 2;
        }
    }
    out
}

/// The placeholder names in `s`, in order of appearance.
pub fn placeholders(s: &str) -> Vec<&str> {
    spans(s).into_iter().map(|(_, n)| n).collect()
}

/// `s` with each `{{name}}` replaced by the case's field; unknown names are left as written
/// (a loaded set has been checked to have none).
pub fn fill(s: &str, fields: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (range, name) in spans(s) {
        if let Some(v) = fields.get(name) {
            out.push_str(&s[last..range.start]);
            out.push_str(v);
            last = range.end;
        }
    }
    out.push_str(&s[last..]);
    out
}
