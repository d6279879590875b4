//! Evaluation of prompt variants (issue 16): cases (named fields that fill `{{name}}`
//! placeholders), assertions in promptfoo's shape (`assert = [{ type = "contains", value =
//! "PTU" }]`), judges (a model grading each answer 1–5 through structured output) and the
//! per-variant results (pass rate, judge score mean and p05, failures per assertion). Pure:
//! the calls are run by `engine::compare` and handed in as [`CallRecord`]s; data-set files
//! are read there and parsed here from their text.
//!
//! Layout: [`cases`] (inline `[[case]]`, JSONL, CSV; placeholders), [`assert`] (the
//! assertion types and their checks), [`judge`] (rubrics, the judge's request and grade),
//! [`report`] (results per variant), [`set`] (a variant set's cases and placeholders).

pub mod assert;
pub mod cases;
pub mod judge;
pub mod report;
pub mod set;
pub mod template;

pub use assert::{AssertFile, Assertion, Check};
pub use cases::Case;
pub use judge::{Grade, Judge, JudgeFile, Rubric};
pub use report::Failure;
pub use report::{CaseRun, EvalReport, JudgeUsage, VariantEval};
pub use template::{fill, placeholders};

/// An evaluation setting that cannot be used; the message names its key (and line).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct EvalError {
    pub key: String,
    pub message: String,
}

pub(crate) fn err(key: impl Into<String>, message: impl Into<String>) -> EvalError {
    EvalError {
        key: key.into(),
        message: message.into(),
    }
}
