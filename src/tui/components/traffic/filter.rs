//! The Traffic screen's filter: words separated by spaces, all of which a call must match.
//! `deployment:NAME` (`d:`) matches the deployment by name (`*` matches any run of
//! characters: `d:gpt-4o*`), `client:TEXT` (`c:`) part of the client (address or user-agent); `status:` (`s:`) takes a code (`429`), a class (`5xx`),
//! `ok`, `errors`, `throttled` or `live`; any other word matches part of the deployment,
//! status, path, client or wire API.

use crate::domain::call::Outcome;
use crate::tui::session::Phase;

use super::TrafficRow;

/// Status choices `s` steps through, in order (then none again).
pub const STATUS_STEPS: &[&str] = &["errors", "429", "ok", "live"];

#[derive(Debug, Clone, PartialEq)]
enum Status {
    Code(u16),
    /// The hundreds digit: `5xx` → 5.
    Class(u16),
    Ok,
    Errors,
    Throttled,
    Live,
}

impl Status {
    fn parse(s: &str) -> Option<Status> {
        let s = s.to_ascii_lowercase();
        Some(match s.as_str() {
            "ok" | "done" => Status::Ok,
            "err" | "error" | "errors" | "failed" => Status::Errors,
            "throttled" | "throttle" => Status::Throttled,
            "live" | "inflight" | "in-flight" => Status::Live,
            c if c.len() == 3 && c.ends_with("xx") => {
                Status::Class(c[..1].parse().ok().filter(|d| (1..=5).contains(d))?)
            }
            c => Status::Code(c.parse().ok().filter(|c| (100..600).contains(c))?),
        })
    }

    fn matches(&self, r: &TrafficRow) -> bool {
        let status = r.live.status;
        let outcome = match r.live.phase {
            Phase::Ended(o) => Some(o),
            _ => None,
        };
        match self {
            Status::Code(c) => status == Some(*c),
            Status::Class(d) => status.is_some_and(|s| s / 100 == *d),
            Status::Ok => outcome == Some(Outcome::Done),
            Status::Errors => {
                matches!(outcome, Some(Outcome::Failed | Outcome::Throttled))
                    || status.is_some_and(|s| s >= 400)
            }
            Status::Throttled => outcome == Some(Outcome::Throttled) || status == Some(429),
            Status::Live => r.live.phase.in_flight(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Deployment(String),
    Client(String),
    Status(Status),
    Text(String),
}

/// A parsed filter; empty matches every call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    terms: Vec<Term>,
}

fn contains(hay: &str, needle: &str) -> bool {
    hay.to_ascii_lowercase().contains(needle)
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
fn glob(name: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return name == pattern;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    if !name.ends_with(last) {
        return false;
    }
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

impl Filter {
    pub fn parse(text: &str) -> Filter {
        let terms = text
            .split_whitespace()
            .map(|w| {
                let (key, value) = w.split_once(':').unwrap_or(("", w));
                let lower = value.to_ascii_lowercase();
                match key.to_ascii_lowercase().as_str() {
                    "d" | "deployment" => Term::Deployment(lower),
                    "c" | "client" => Term::Client(lower),
                    "s" | "status" => match Status::parse(value) {
                        Some(s) => Term::Status(s),
                        // Not a status: matched as text, so the user sees nothing match
                        // rather than everything.
                        None => Term::Text(w.to_ascii_lowercase()),
                    },
                    _ => Term::Text(w.to_ascii_lowercase()),
                }
            })
            .collect();
        Filter { terms }
    }

    pub fn matches(&self, r: &TrafficRow) -> bool {
        self.terms.iter().all(|t| match t {
            Term::Deployment(d) => glob(&r.live.deployment.to_ascii_lowercase(), d),
            Term::Client(c) => {
                contains(&r.client.addr.to_string(), c)
                    || r.client
                        .user_agent
                        .as_deref()
                        .is_some_and(|ua| contains(ua, c))
            }
            Term::Status(s) => s.matches(r),
            Term::Text(t) => {
                let status = r.live.status.map(|s| s.to_string()).unwrap_or_default();
                [
                    r.live.deployment.as_str(),
                    status.as_str(),
                    r.path.as_str(),
                    &r.client.addr.to_string(),
                    r.live.wire_api.as_str(),
                ]
                .iter()
                .any(|s| contains(s, t))
            }
        })
    }
}

/// `text` with its `key:` word (either spelling) replaced by `key:value`, or removed when
/// `value` is `None`; other words stay.
pub fn with_word(text: &str, keys: [&str; 2], value: Option<&str>) -> String {
    let mut words: Vec<String> = text
        .split_whitespace()
        .filter(|w| {
            let k = w.split_once(':').map(|(k, _)| k.to_ascii_lowercase());
            !k.is_some_and(|k| keys.contains(&k.as_str()))
        })
        .map(str::to_string)
        .collect();
    if let Some(v) = value {
        words.push(format!("{}:{v}", keys[1]));
    }
    words.join(" ")
}

/// The current value of a `key:` word, if any.
pub fn word_value<'t>(text: &'t str, keys: [&str; 2]) -> Option<&'t str> {
    text.split_whitespace().find_map(|w| {
        let (k, v) = w.split_once(':')?;
        keys.contains(&k.to_ascii_lowercase().as_str()).then_some(v)
    })
}

/// The value after `current` in `steps` (the first when there is none; `None` after the
/// last).
pub fn next_step<'s>(steps: &[&'s str], current: Option<&str>) -> Option<&'s str> {
    match current {
        None => steps.first().copied(),
        Some(c) => {
            let i = steps.iter().position(|s| s.eq_ignore_ascii_case(c))?;
            steps.get(i + 1).copied()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_replace_their_key_and_keep_the_rest() {
        assert_eq!(
            with_word("foo s:429", ["s", "status"], Some("ok")),
            "foo status:ok"
        );
        assert_eq!(with_word("status:ok d:x", ["s", "status"], None), "d:x");
        assert_eq!(word_value("a status:5xx", ["s", "status"]), Some("5xx"));
        assert_eq!(next_step(STATUS_STEPS, None), Some("errors"));
        assert_eq!(next_step(STATUS_STEPS, Some("live")), None);
        assert_eq!(next_step(STATUS_STEPS, Some("bogus")), None);
    }

    #[test]
    fn deployments_match_by_name_or_pattern() {
        assert!(glob("gpt-4o", "gpt-4o"));
        assert!(!glob("gpt-4o-mini", "gpt-4o"));
        assert!(glob("gpt-4o-mini", "gpt-4o*"));
        assert!(glob("gpt-4o-mini", "*mini"));
        assert!(glob("gpt-4o-mini", "g*4o*i"));
        assert!(!glob("gpt-4o", "*mini"));
        assert!(!glob("ab", "ab*b"));
        assert!(glob("anything", "*"));
    }

    #[test]
    fn status_values_parse() {
        assert_eq!(Status::parse("429"), Some(Status::Code(429)));
        assert_eq!(Status::parse("5XX"), Some(Status::Class(5)));
        assert_eq!(Status::parse("errors"), Some(Status::Errors));
        assert_eq!(Status::parse("9xx"), None);
        assert_eq!(Status::parse("42"), None);
    }
}
