//! Cases: tables of named fields that fill `{{name}}` placeholders. Inline `[[case]]`
//! tables, a JSONL file (one object per line) or a CSV file (a header row of field names).
//! A case's `assert` list (inline or JSONL) adds assertions to that case only; a field
//! named `id` labels the case in reports (else its 1-based number).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::assert::{AssertFile, Assertion};
#[cfg(test)]
use super::template::{fill, placeholders};
use super::{EvalError, err};

/// Most cases a set may run (each runs on every variant, `repeat` times).
pub const MAX_CASES: usize = 10_000;

/// One case.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Case {
    /// `id` field, else the 1-based number.
    pub label: String,
    /// Where it was written, for errors: `case[2]`, `cases.jsonl line 4`.
    pub source: String,
    pub fields: BTreeMap<String, String>,
    /// Assertions of this case only (after the set's and the variant's).
    #[serde(skip)]
    pub asserts: Vec<Assertion>,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn from_object(obj: Map<String, Value>, n: usize, source: String) -> Result<Case, EvalError> {
    let mut fields = BTreeMap::new();
    let mut asserts = Vec::new();
    for (k, v) in obj {
        if k == "assert" {
            let list: Vec<AssertFile> = serde_json::from_value(v)
                .map_err(|e| err(format!("{source}.assert"), e.to_string()))?;
            for (i, a) in list.into_iter().enumerate() {
                asserts.push(a.resolve(&format!("{source}.assert[{}]", i + 1))?);
            }
            continue;
        }
        if k.trim().is_empty() {
            return Err(err(source, "a field with an empty name"));
        }
        fields.insert(k, text_of(&v));
    }
    let label = fields
        .get("id")
        .filter(|s| !s.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| n.to_string());
    Ok(Case {
        label,
        source,
        fields,
        asserts,
    })
}

fn check_count(n: usize, key: &str) -> Result<(), EvalError> {
    if n > MAX_CASES {
        return Err(err(key, format!("{n} cases; at most {MAX_CASES}")));
    }
    Ok(())
}

/// Inline `[[case]]` tables (already read as JSON objects).
pub fn from_tables(tables: Vec<Map<String, Value>>) -> Result<Vec<Case>, EvalError> {
    check_count(tables.len(), "case")?;
    tables
        .into_iter()
        .enumerate()
        .map(|(i, t)| from_object(t, i + 1, format!("case[{}]", i + 1)))
        .collect()
}

/// A JSONL data set: one JSON object per non-blank line. `name` is the file as the set
/// wrote it (for errors).
pub fn from_jsonl(text: &str, name: &str) -> Result<Vec<Case>, EvalError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let source = format!("{name} line {}", i + 1);
        let v: Value = serde_json::from_str(line).map_err(|e| err(&source, e.to_string()))?;
        let Value::Object(obj) = v else {
            return Err(err(source, "not a JSON object"));
        };
        out.push(from_object(obj, out.len() + 1, source)?);
    }
    check_count(out.len(), name)?;
    if out.is_empty() {
        return Err(err(name, "no cases (the file has no JSON lines)"));
    }
    Ok(out)
}

/// A CSV data set: a header row of field names, then one case per row.
pub fn from_csv(text: &str, name: &str) -> Result<Vec<Case>, EvalError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| err(format!("{name} line 1"), e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if let Some(i) = headers.iter().position(String::is_empty) {
        return Err(err(
            format!("{name} line 1"),
            format!("column {} has no name", i + 1),
        ));
    }
    let mut out = Vec::new();
    for row in rdr.records() {
        let row = row.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            err(format!("{name} line {line}"), e.to_string())
        })?;
        let line = row.position().map_or(0, |p| p.line());
        let mut obj = Map::new();
        for (h, v) in headers.iter().zip(row.iter()) {
            obj.insert(h.clone(), Value::String(v.to_string()));
        }
        out.push(from_object(
            obj,
            out.len() + 1,
            format!("{name} line {line}"),
        )?);
    }
    check_count(out.len(), name)?;
    if out.is_empty() {
        return Err(err(name, "no cases (a header row and no rows)"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_fill() {
        let f: BTreeMap<String, String> = [("q".to_string(), "What?".to_string())].into();
        assert_eq!(
            placeholders("a {{q}} b {{ other }} {{not a name}}"),
            ["q", "other"]
        );
        assert_eq!(fill("Ask: {{ q }} / {{x}}", &f), "Ask: What? / {{x}}");
        assert_eq!(fill("{{q}}{{q}}", &f), "What?What?");
        assert_eq!(fill("no braces {{", &f), "no braces {{");
    }

    #[test]
    fn jsonl_errors_name_the_line() {
        let e = from_jsonl("{\"q\":\"a\"}\n\n[1]\n", "c.jsonl").unwrap_err();
        assert_eq!(e.to_string(), "c.jsonl line 3: not a JSON object");
        let e = from_jsonl("{\"q\":\"a\"}\n{bad\n", "c.jsonl").unwrap_err();
        assert!(e.to_string().starts_with("c.jsonl line 2: "), "{e}");
        let cases = from_jsonl("{\"id\":\"x1\",\"n\":3}\n{\"q\":\"b\"}\n", "c.jsonl").unwrap();
        assert_eq!(cases[0].label, "x1");
        assert_eq!(cases[0].fields["n"], "3");
        assert_eq!(cases[1].label, "2");
    }

    #[test]
    fn csv_rows_become_cases() {
        let cases = from_csv("question,context\n\"What, now?\",ctx\nq2,\n", "c.csv").unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].fields["question"], "What, now?");
        assert_eq!(cases[1].source, "c.csv line 3");
        let e = from_csv("a,b\n1,2,3\n", "c.csv").unwrap_err();
        assert!(e.to_string().starts_with("c.csv line 2"), "{e}");
        let e = from_csv("a,\n1,2\n", "c.csv").unwrap_err();
        assert_eq!(e.to_string(), "c.csv line 1: column 2 has no name");
    }
}
