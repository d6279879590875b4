//! A variant set's cases: attaching them, checking every placeholder and judge field
//! against every case, and the variant a case makes (its fields in system, user and
//! messages).

use serde_json::Value;

use super::assert::Assertion;
use super::cases::Case;
use super::template::{fill, placeholders};
use crate::domain::call::{CallRecord, CallSpec};
use crate::domain::compare::{CompareError, Variant, VariantSet};
use crate::wire::ChatMessage;

fn invalid(key: impl Into<String>, message: impl Into<String>) -> CompareError {
    CompareError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// Each templated text of a variant: (key, text).
fn texts(v: &Variant) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(s) = &v.system {
        out.push(("system".to_string(), s.clone()));
    }
    for (j, m) in v.messages.iter().enumerate() {
        out.push((format!("messages[{}].content", j + 1), m.text()));
    }
    if let Some(u) = &v.user {
        out.push(("user".to_string(), u.clone()));
    }
    for (j, a) in v.asserts.iter().enumerate() {
        for p in a.placeholders() {
            out.push((format!("assert[{}].value", j + 1), format!("{{{{{p}}}}}")));
        }
    }
    out
}

impl Variant {
    /// The variant with a case's fields in its system prompt, messages and user prompt.
    pub fn for_case(&self, case: &Case) -> Variant {
        if case.fields.is_empty() {
            return self.clone();
        }
        let f = |s: &String| fill(s, &case.fields);
        Variant {
            system: self.system.as_ref().map(f),
            user: self.user.as_ref().map(f),
            messages: self
                .messages
                .iter()
                .map(|m| match &m.content {
                    Value::String(s) => ChatMessage::new(&m.role, &f(s)),
                    _ => m.clone(),
                })
                .collect(),
            ..self.clone()
        }
    }

    /// The question a judge is shown: the last user message as sent.
    pub fn question(&self) -> String {
        self.chat_messages()
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.text())
            .unwrap_or_default()
    }

    /// The assertions for a case: the variant's, then the case's, with its fields filled.
    pub fn asserts_for(&self, case: &Case) -> Vec<Assertion> {
        self.asserts
            .iter()
            .chain(case.asserts.iter())
            .map(|a| a.filled(&case.fields))
            .collect()
    }

    /// The grading calls for this variant's answer `rec` to `case`: one per judge assertion,
    /// in order (`Err`: that judge cannot be asked, e.g. its rubric's field is missing). Not
    /// streamed; sent to the judge's deployment, else the variant's, else `deployment`.
    /// `aoai compare` and the console's Compare screen both grade through this.
    pub fn grading_calls(
        &self,
        case: &Case,
        rec: &CallRecord,
        deployment: &str,
    ) -> Vec<Result<CallSpec, String>> {
        let question = self.for_case(case).question();
        self.asserts_for(case)
            .iter()
            .filter_map(|a| match a {
                Assertion::Judge(j) => Some(j),
                _ => None,
            })
            .map(|j| {
                let req = j.request(&question, &rec.text, &case.fields)?;
                let d = j
                    .deployment
                    .clone()
                    .unwrap_or_else(|| self.deployment_or(deployment).to_string());
                let mut spec = CallSpec::new(&d, req);
                spec.stream = false;
                Ok(spec)
            })
            .collect()
    }
}

impl VariantSet {
    /// Attaches a data set's cases and checks them.
    pub fn attach_cases(&mut self, cases: Vec<Case>) -> Result<(), CompareError> {
        self.cases = cases;
        self.check_cases()
    }

    /// How many cases a run has: the set's, or one (the variants as written).
    pub fn case_count(&self) -> usize {
        self.cases.len().max(1)
    }

    /// Case `i` of a run (an empty case for a set without cases).
    pub fn case(&self, i: usize) -> Case {
        self.cases.get(i).cloned().unwrap_or_else(|| Case {
            label: "1".into(),
            source: "set".into(),
            ..Case::default()
        })
    }

    /// Whether a run is evaluated: any assertion or judge anywhere.
    pub fn evaluates(&self) -> bool {
        self.variants.iter().any(|v| !v.asserts.is_empty())
            || self.cases.iter().any(|c| !c.asserts.is_empty())
    }

    /// Every placeholder of every variant (and assertion) has its field in every case, and
    /// every judge's rubric finds the field it needs.
    pub fn check_cases(&self) -> Result<(), CompareError> {
        for (i, v) in self.variants.iter().enumerate() {
            let vkey = format!("variant[{}] (`{}`)", i + 1, v.name);
            if self.cases.is_empty() {
                if let Some((k, t)) = texts(v)
                    .into_iter()
                    .find(|(_, t)| !placeholders(t).is_empty())
                {
                    return Err(invalid(
                        format!("{vkey}.{k}"),
                        format!(
                            "uses {{{{{}}}}} but the set has no cases (`dataset` or [[case]])",
                            placeholders(&t)[0]
                        ),
                    ));
                }
                continue;
            }
            for c in &self.cases {
                let mut names: Vec<(String, String)> = Vec::new();
                for (k, t) in texts(v) {
                    for p in placeholders(&t) {
                        names.push((k.clone(), p.to_string()));
                    }
                }
                for (j, a) in c.asserts.iter().enumerate() {
                    for p in a.placeholders() {
                        names.push((format!("case assert[{}].value", j + 1), p));
                    }
                }
                for (k, p) in names {
                    if !c.fields.contains_key(&p) {
                        let fields: Vec<&str> = c.fields.keys().map(String::as_str).collect();
                        return Err(invalid(
                            c.source.clone(),
                            format!(
                                "{vkey}.{k} uses {{{{{p}}}}}, which the case does not have (fields: {})",
                                if fields.is_empty() {
                                    "none".to_string()
                                } else {
                                    fields.join(", ")
                                }
                            ),
                        ));
                    }
                }
                for a in v.asserts.iter().chain(c.asserts.iter()) {
                    if let Assertion::Judge(j) = a
                        && let Some(f) = j.rubric.needs_field()
                        && !c.fields.contains_key(f)
                    {
                        return Err(invalid(
                            c.source.clone(),
                            format!(
                                "{vkey}: the {} judge needs a `{f}` field in every case",
                                j.rubric.name()
                            ),
                        ));
                    }
                }
            }
        }
        if self.cases.is_empty() {
            for v in &self.variants {
                for a in &v.asserts {
                    if let Assertion::Judge(j) = a
                        && let Some(f) = j.rubric.needs_field()
                    {
                        return Err(invalid(
                            format!("variant (`{}`).judge", v.name),
                            format!(
                                "the {} judge needs a `{f}` field: give the set cases (`dataset` or [[case]])",
                                j.rubric.name()
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::compare::VariantSet;

    const SET: &str = r#"
[defaults]
system = "Classify as {{labels}}."
user = "{{question}}"
assert = [{ type = "icontains", value = "{{expected}}" }]
[[variant]]
name = "a"
[[case]]
id = "q1"
question = "Is PTU cheaper at 40 rpm?"
labels = "yes/no"
expected = "no"
[[case]]
question = "Is 429 a throttle?"
labels = "yes/no"
expected = "yes"
assert = [{ type = "max_output_tokens", value = 50 }]
"#;

    #[test]
    fn cases_fill_variants_and_assertions() {
        let s = VariantSet::from_toml_str(SET).unwrap();
        assert_eq!(s.case_count(), 2);
        let c = s.case(1);
        assert_eq!(c.label, "2");
        let v = s.variants[0].for_case(&c);
        assert_eq!(v.system.as_deref(), Some("Classify as yes/no."));
        assert_eq!(v.question(), "Is 429 a throttle?");
        let a = s.variants[0].asserts_for(&c);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0], super::Assertion::IContains("yes".into()));
        assert!(s.evaluates());
    }

    #[test]
    fn missing_placeholder_names_case_variant_and_key() {
        let bad = SET.replace(
            "labels = \"yes/no\"\nexpected = \"yes\"",
            "expected = \"yes\"",
        );
        let e = VariantSet::from_toml_str(&bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            "case[2]: variant[1] (`a`).system uses {{labels}}, which the case does not have (fields: expected, question)"
        );
        let e =
            VariantSet::from_toml_str("[[variant]]\nname = \"a\"\nuser = \"{{q}}\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "variant[1] (`a`).user: uses {{q}} but the set has no cases (`dataset` or [[case]])"
        );
        let e = VariantSet::from_toml_str(
            "[defaults]\njudge = { rubric = \"groundedness\" }\n[[variant]]\nname = \"a\"\nuser = \"{{q}}\"\n[[case]]\nq = \"x\"\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "case[1]: variant[1] (`a`): the groundedness judge needs a `context` field in every case"
        );
        let e = VariantSet::from_toml_str(
            "[defaults]\njudge = { rubric = \"coherence\", threshold = 9 }\n[[variant]]\nname = \"a\"\nuser = \"x\"\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "defaults.judge.threshold: 9 is not a score 1–5"
        );
        let e = VariantSet::from_toml_str(
            "[[variant]]\nname = \"a\"\nuser = \"x\"\nassert = [{ type = \"contains\" }]\n",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "variant[1].assert[1].value: is missing");
    }
}
