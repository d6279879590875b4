//! Answers the simulator gives instead of its generated markdown: the config's answer rules
//! (`[[answer]]`: a regex on the last user message → a fixed text) and structured output
//! (`response_format` / `text.format` of type `json_schema`: a JSON value that validates
//! against the schema; `json_object`: a small object). Deterministic: the same schema and
//! seed give the same value, so judges and evaluations run offline and repeatably.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

pub use super::config::AnswerRule;
use super::fleet::fnv;

/// The answer for a request, if a rule or a structured-output format decides it.
/// `last_user` is the text of the last user message (input item); `format` the request's
/// `response_format` (chat) or `text.format` (Responses) object.
pub fn decide(
    rules: &[AnswerRule],
    deployment: &str,
    last_user: &str,
    format: Option<&Value>,
    seed: u64,
) -> Option<String> {
    for r in rules {
        if r.deployment.as_deref().is_some_and(|d| d != deployment) {
            continue;
        }
        // Patterns are checked when the config is loaded; one that fails here never matches.
        if regex::Regex::new(&r.pattern).is_ok_and(|re| re.is_match(last_user)) {
            return Some(r.text.clone());
        }
    }
    let format = format?;
    match format.get("type").and_then(Value::as_str)? {
        "json_schema" => {
            // Chat nests it (`json_schema: {name, schema, strict}`); Responses does not.
            let schema = format
                .get("json_schema")
                .and_then(|j| j.get("schema"))
                .or_else(|| format.get("schema"))?;
            let salt = fnv(schema.to_string().as_bytes()) ^ fnv(last_user.as_bytes());
            Some(from_schema(schema, seed ^ salt).to_string())
        }
        "json_object" => {
            let mut rng = SmallRng::seed_from_u64(seed ^ fnv(last_user.as_bytes()));
            Some(serde_json::json!({ "answer": sentence(&mut rng) }).to_string())
        }
        _ => None,
    }
}

/// The text of the last user message of a chat conversation.
pub fn last_user_text(messages: &[crate::wire::ChatMessage]) -> String {
    messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.text())
        .unwrap_or_default()
}

/// A JSON value valid against `schema`, drawn deterministically from `seed`.
pub fn from_schema(schema: &Value, seed: u64) -> Value {
    let mut rng = SmallRng::seed_from_u64(seed);
    value(schema, schema, &mut rng, 0)
}

/// Deepest nesting followed (a recursive schema ends in its simplest value there).
const MAX_DEPTH: usize = 12;

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..MAX_DEPTH {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) if r.starts_with('#') => match root.pointer(&r[1..]) {
                Some(t) => s = t,
                None => return s,
            },
            _ => return s,
        }
    }
    s
}

fn value(root: &Value, schema: &Value, rng: &mut SmallRng, depth: usize) -> Value {
    let s = resolve(root, schema);
    if let Some(c) = s.get("const") {
        return c.clone();
    }
    if let Some(Value::Array(opts)) = s.get("enum")
        && !opts.is_empty()
    {
        return opts[rng.random_range(0..opts.len())].clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alts)) = s.get(key) {
            // The first alternative that is not `null`: the one a strict schema's
            // optional field (`anyOf: [T, {type: null}]`) means.
            let pick = alts
                .iter()
                .find(|a| resolve(root, a).get("type").and_then(Value::as_str) != Some("null"))
                .or(alts.first());
            if let Some(a) = pick {
                return value(root, a, rng, depth + 1);
            }
        }
    }
    if let Some(Value::Array(all)) = s.get("allOf") {
        // Merge the objects' properties and required lists (the common use).
        let mut merged = Map::new();
        for part in all {
            if let Value::Object(m) = resolve(root, part) {
                for (k, v) in m {
                    merged.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        return value(root, &Value::Object(merged), rng, depth + 1);
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if s.get("properties").is_some() => "object",
        _ if s.get("items").is_some() => "array",
        _ => "string",
    };
    match ty {
        "object" => object(root, s, rng, depth),
        "array" => array(root, s, rng, depth),
        "integer" => integer(s, rng),
        "number" => number(s, rng),
        "boolean" => Value::Bool(rng.random()),
        "null" => Value::Null,
        _ => Value::String(string(s, rng)),
    }
}

fn object(root: &Value, s: &Value, rng: &mut SmallRng, depth: usize) -> Value {
    let mut out = Map::new();
    if depth >= MAX_DEPTH {
        return Value::Object(out);
    }
    let required: Vec<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(Value::Object(props)) = s.get("properties") {
        // Every property (strict schemas require them all), in the schema's order.
        for (k, p) in props {
            out.insert(k.clone(), value(root, p, rng, depth + 1));
        }
    }
    // A required name with no property schema still gets a value.
    for k in required {
        if !out.contains_key(k) {
            out.insert(k.to_string(), Value::String(sentence(rng).to_string()));
        }
    }
    Value::Object(out)
}

fn array(root: &Value, s: &Value, rng: &mut SmallRng, depth: usize) -> Value {
    let min = s.get("minItems").and_then(Value::as_u64).unwrap_or(1);
    let max = s
        .get("maxItems")
        .and_then(Value::as_u64)
        .unwrap_or(min.max(3))
        .max(min);
    let n = if depth >= MAX_DEPTH {
        min
    } else {
        rng.random_range(min..=max.min(min + 3))
    };
    let default_item = Value::Object(Map::new());
    let items = s.get("items").unwrap_or(&default_item);
    let mut out: Vec<Value> = Vec::new();
    let unique = s.get("uniqueItems").and_then(Value::as_bool) == Some(true);
    let mut tries = 0;
    while (out.len() as u64) < n && tries < n * 10 {
        tries += 1;
        let v = value(root, items, rng, depth + 1);
        if unique && out.contains(&v) {
            continue;
        }
        out.push(v);
    }
    Value::Array(out)
}

fn bounds(s: &Value) -> (Option<f64>, Option<f64>, bool, bool) {
    let f = |k: &str| s.get(k).and_then(Value::as_f64);
    let (lo, lo_ex) = match (f("minimum"), f("exclusiveMinimum")) {
        (_, Some(e)) => (Some(e), true),
        (m, None) => (m, false),
    };
    let (hi, hi_ex) = match (f("maximum"), f("exclusiveMaximum")) {
        (_, Some(e)) => (Some(e), true),
        (m, None) => (m, false),
    };
    (lo, hi, lo_ex, hi_ex)
}

fn integer(s: &Value, rng: &mut SmallRng) -> Value {
    let (lo, hi, lo_ex, hi_ex) = bounds(s);
    let mut lo = lo.map_or(0, |l| {
        if lo_ex {
            l.floor() as i64 + 1
        } else {
            l.ceil() as i64
        }
    });
    let mut hi = hi.map_or(lo.saturating_add(100), |h| {
        if hi_ex {
            h.ceil() as i64 - 1
        } else {
            h.floor() as i64
        }
    });
    if hi < lo {
        std::mem::swap(&mut lo, &mut hi);
    }
    let mut v = rng.random_range(lo..=hi);
    if let Some(m) = s
        .get("multipleOf")
        .and_then(Value::as_i64)
        .filter(|m| *m > 0)
    {
        v = (v / m) * m;
        if v < lo {
            v += m;
        }
    }
    Value::from(v)
}

fn number(s: &Value, rng: &mut SmallRng) -> Value {
    let (lo, hi, _, _) = bounds(s);
    let lo = lo.unwrap_or(0.0);
    let hi = hi.unwrap_or(lo + 100.0).max(lo);
    // Two decimals, kept strictly inside exclusive bounds by staying off the ends.
    let span = hi - lo;
    let x = lo + span * (0.1 + 0.8 * rng.random::<f64>());
    let x = (x * 100.0).round() / 100.0;
    let x = if x <= lo || x >= hi {
        (lo + hi) / 2.0
    } else {
        x
    };
    serde_json::Number::from_f64(x).map_or(Value::from(0), Value::Number)
}

const WORDS: &[&str] = &[
    "latency",
    "throughput",
    "quota",
    "deployment",
    "provisioned",
    "streaming",
    "tokens",
    "region",
    "capacity",
    "cache",
];

fn sentence(rng: &mut SmallRng) -> &'static str {
    super::text::sentence(rng)
}

fn string(s: &Value, rng: &mut SmallRng) -> String {
    let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = s
        .get("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m as usize);
    let mut out = match s.get("format").and_then(Value::as_str) {
        Some("date-time") => "2025-04-24T12:00:00Z".to_string(),
        Some("date") => "2025-04-24".to_string(),
        Some("time") => "12:00:00Z".to_string(),
        Some("email") => "user@example.com".to_string(),
        Some("uri") => "https://example.com/".to_string(),
        Some("uuid") => "00000000-0000-4000-8000-000000000000".to_string(),
        _ if max.is_some_and(|m| m < 40) => WORDS[rng.random_range(0..WORDS.len())].to_string(),
        _ => sentence(rng).to_string(),
    };
    while out.chars().count() < min {
        out.push(' ');
        out.push_str(WORDS[rng.random_range(0..WORDS.len())]);
    }
    if let Some(m) = max {
        out = out.chars().take(m).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_win_in_order_and_filter_by_deployment() {
        let rules = vec![
            AnswerRule {
                pattern: "(?i)ptu".into(),
                text: "mini".into(),
                deployment: Some("gpt-4o-mini".into()),
            },
            AnswerRule {
                pattern: "(?i)ptu".into(),
                text: "any".into(),
                deployment: None,
            },
        ];
        assert_eq!(
            decide(&rules, "gpt-4o-mini", "what is a PTU", None, 1).as_deref(),
            Some("mini")
        );
        assert_eq!(
            decide(&rules, "gpt-4o", "what is a PTU", None, 1).as_deref(),
            Some("any")
        );
        assert_eq!(decide(&rules, "gpt-4o", "hello", None, 1), None);
    }

    #[test]
    fn schema_values_are_deterministic_and_bounded() {
        let schema = json!({"type":"object","properties":{
            "score":{"type":"integer","minimum":1,"maximum":5},
            "label":{"enum":["a","b"]},
            "ratio":{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1},
            "tags":{"type":"array","items":{"type":"string","maxLength":10},"minItems":2,"maxItems":2}
        },"required":["score","label","ratio","tags"]});
        for seed in 0..50 {
            let v = from_schema(&schema, seed);
            assert_eq!(v, from_schema(&schema, seed));
            let score = v["score"].as_i64().unwrap();
            assert!((1..=5).contains(&score), "{v}");
            assert!(["a", "b"].contains(&v["label"].as_str().unwrap()));
            let r = v["ratio"].as_f64().unwrap();
            assert!(r > 0.0 && r < 1.0, "{v}");
            let tags = v["tags"].as_array().unwrap();
            assert_eq!(tags.len(), 2);
            assert!(tags.iter().all(|t| t.as_str().unwrap().len() <= 10));
        }
    }

    #[test]
    fn chat_and_responses_format_shapes() {
        let schema =
            json!({"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]});
        let chat =
            json!({"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":schema}});
        let resp = json!({"type":"json_schema","name":"x","strict":true,"schema":schema});
        let a = decide(&[], "d", "q", Some(&chat), 3).unwrap();
        let b = decide(&[], "d", "q", Some(&resp), 3).unwrap();
        assert_eq!(a, b);
        let v: Value = serde_json::from_str(&a).unwrap();
        assert!(v["ok"].is_boolean());
        assert!(decide(&[], "d", "q", Some(&json!({"type":"text"})), 3).is_none());
        let o = decide(&[], "d", "q", Some(&json!({"type":"json_object"})), 3).unwrap();
        assert!(serde_json::from_str::<Value>(&o).unwrap()["answer"].is_string());
    }
}
