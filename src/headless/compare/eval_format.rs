//! The evaluation's part of `aoai compare`'s output: a table of pass rates and judge scores
//! with the failures per assertion and case (after the figures, in the table and Markdown
//! formats), the extra CSV columns, and JUnit XML (`--format junit`: a testsuite per
//! variant, a testcase per case × repeat, a `failure` per failed assertion and an `error`
//! per call that gave no answer), which Azure DevOps and GitHub Actions render.

use crate::domain::compare::{CompareReport, VariantRow};
use crate::domain::eval::{CaseRun, JudgeUsage, VariantEval};
use crate::domain::num::fixed;
use crate::headless::table::align;

/// Failures listed per variant in the text formats (all are in JSON and JUnit).
const MAX_LISTED: usize = 20;

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn score(x: Option<f64>) -> String {
    x.map_or("—".into(), |s| format!("{s:.2}"))
}

fn by_assertion(e: &VariantEval) -> String {
    if e.failures_by_assertion.is_empty() {
        return "—".into();
    }
    e.failures_by_assertion
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn run_name(case: &str, repeat: u32) -> String {
    format!("case {case} #{}", repeat + 1)
}

fn judge_line(j: &JudgeUsage) -> String {
    format!(
        "judges: {} call{} ({} failed), {} prompt + {} completion tokens, {}{} (not in the variants' figures)\n",
        j.calls,
        if j.calls == 1 { "" } else { "s" },
        j.failed,
        j.prompt_tokens,
        j.completion_tokens,
        j.cost_usd
            .map_or("cost unknown".into(), |c| format!("${c:.6}")),
        if j.unpriced_calls > 0 {
            format!(" ({} unpriced)", j.unpriced_calls)
        } else {
            String::new()
        },
    )
}

fn evals(rep: &CompareReport) -> Vec<(&VariantRow, &VariantEval)> {
    rep.variants
        .iter()
        .filter_map(|r| r.eval.as_ref().map(|e| (r, e)))
        .collect()
}

/// The evaluation table and failures, for the text report (empty without an evaluation).
pub fn table(rep: &CompareReport) -> String {
    let Some(ev) = &rep.eval else {
        return String::new();
    };
    let mut out = format!(
        "\nevaluation · {} case{} × {} repeat{}\n",
        ev.cases,
        if ev.cases == 1 { "" } else { "s" },
        rep.repeat,
        if rep.repeat == 1 { "" } else { "s" },
    );
    let mut rows = vec![
        [
            "variant",
            "pass",
            "rate",
            "judge mean",
            "judge p05",
            "failures",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (r, e) in evals(rep) {
        rows.push(vec![
            r.name.clone(),
            format!("{}/{}", e.passed, e.runs),
            pct(e.pass_rate),
            score(e.judge_mean),
            score(e.judge_p05),
            by_assertion(e),
        ]);
    }
    out.push_str(&align(&rows));
    if let Some(j) = &ev.judge {
        out.push_str(&judge_line(j));
    }
    for (r, e) in evals(rep) {
        if e.failures.is_empty() {
            continue;
        }
        out.push_str(&format!("\n── {} failures\n", r.name));
        for f in e.failures.iter().take(MAX_LISTED) {
            out.push_str(&format!(
                "{} · {}: {}\n",
                run_name(&f.case, f.repeat),
                f.assertion,
                f.message
            ));
        }
        if e.failures.len() > MAX_LISTED {
            out.push_str(&format!(
                "… and {} more (--format json lists all)\n",
                e.failures.len() - MAX_LISTED
            ));
        }
    }
    out
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The evaluation as Markdown (empty without an evaluation).
pub fn markdown(rep: &CompareReport) -> String {
    let Some(ev) = &rep.eval else {
        return String::new();
    };
    let mut out = format!(
        "\n### Evaluation\n\n{} case{} × {} repeat{}.\n\n| variant | pass | rate | judge mean | judge p05 | failures |\n|---|--:|--:|--:|--:|---|\n",
        ev.cases,
        if ev.cases == 1 { "" } else { "s" },
        rep.repeat,
        if rep.repeat == 1 { "" } else { "s" },
    );
    for (r, e) in evals(rep) {
        out.push_str(&format!(
            "| {} | {}/{} | {} | {} | {} | {} |\n",
            md(&r.name),
            e.passed,
            e.runs,
            pct(e.pass_rate),
            score(e.judge_mean),
            score(e.judge_p05),
            md(&by_assertion(e))
        ));
    }
    if let Some(j) = &ev.judge {
        out.push('\n');
        out.push_str(&judge_line(j));
    }
    for (r, e) in evals(rep) {
        if e.failures.is_empty() {
            continue;
        }
        out.push_str(&format!("\n#### {} failures\n\n", md(&r.name)));
        for f in e.failures.iter().take(MAX_LISTED) {
            out.push_str(&format!(
                "- {} · `{}`: {}\n",
                run_name(&f.case, f.repeat),
                f.assertion,
                md(&f.message)
            ));
        }
        if e.failures.len() > MAX_LISTED {
            out.push_str(&format!("- … and {} more\n", e.failures.len() - MAX_LISTED));
        }
    }
    out
}

/// CSV columns added after the documented ones when the run was evaluated.
pub const CSV_COLUMNS: &[&str] = &["runs", "passed", "pass_rate", "judge_mean", "judge_p05"];

/// The cells of [`CSV_COLUMNS`] for a row.
pub fn csv_cells(r: &VariantRow) -> Vec<String> {
    match &r.eval {
        None => vec![String::new(); CSV_COLUMNS.len()],
        Some(e) => vec![
            e.runs.to_string(),
            e.passed.to_string(),
            fixed(e.pass_rate, 4),
            e.judge_mean.map_or(String::new(), |x| fixed(x, 3)),
            e.judge_p05.map_or(String::new(), |x| fixed(x, 3)),
        ],
    }
}

/// Text escaped for XML 1.0 (attribute or element); characters XML cannot carry dropped.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn secs(ms: f64) -> String {
    format!("{:.3}", ms / 1000.0)
}

fn testcase(out: &mut String, class: &str, run: &CaseRun) {
    out.push_str(&format!(
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
        xml(&run_name(&run.case, run.repeat)),
        xml(class),
        secs(run.e2e_ms.unwrap_or(0.0)),
    ));
    let failed: Vec<_> = run.checks.iter().filter(|c| !c.passed).collect();
    if failed.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    for c in failed {
        let tag = if c.kind == "call" { "error" } else { "failure" };
        out.push_str(&format!(
            "      <{tag} message=\"{}\" type=\"{}\">{}: {}</{tag}>\n",
            xml(&c.message),
            xml(&c.kind),
            xml(&c.kind),
            xml(&c.message)
        ));
    }
    out.push_str("    </testcase>\n");
}

fn counts(e: &VariantEval) -> (usize, usize) {
    let errors = e
        .cases
        .iter()
        .filter(|c| c.checks.iter().any(|k| k.kind == "call"))
        .count();
    let failures = e
        .cases
        .iter()
        .filter(|c| !c.passed && !c.checks.iter().any(|k| k.kind == "call"))
        .count();
    (failures, errors)
}

/// JUnit XML: `<testsuites>` of one `<testsuite>` per variant (properties: deployment,
/// pass rate, judge scores), one `<testcase>` per case × repeat.
pub fn junit(rep: &CompareReport) -> String {
    let set = rep.set.clone().unwrap_or_else(|| "compare".into());
    let all = evals(rep);
    let (mut tests, mut failures, mut errors, mut time) = (0, 0, 0, 0.0);
    for (_, e) in &all {
        let (f, x) = counts(e);
        tests += e.runs;
        failures += f;
        errors += x;
        time += e.cases.iter().filter_map(|c| c.e2e_ms).sum::<f64>();
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{}\">\n",
        xml(&set),
        secs(time)
    ));
    for (i, (r, e)) in all.iter().enumerate() {
        let (f, x) = counts(e);
        let t: f64 = e.cases.iter().filter_map(|c| c.e2e_ms).sum();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" id=\"{i}\" tests=\"{}\" failures=\"{f}\" errors=\"{x}\" skipped=\"0\" time=\"{}\">\n",
            xml(&r.name),
            e.runs,
            secs(t)
        ));
        out.push_str("    <properties>\n");
        let mut props = vec![
            ("deployment", r.deployment.clone()),
            ("baseline", r.baseline.to_string()),
            ("pass_rate", fixed(e.pass_rate, 4)),
        ];
        if let Some(m) = e.judge_mean {
            props.push(("judge_mean", fixed(m, 3)));
        }
        if let Some(p) = e.judge_p05 {
            props.push(("judge_p05", fixed(p, 3)));
        }
        for (k, v) in props {
            out.push_str(&format!(
                "      <property name=\"{k}\" value=\"{}\"/>\n",
                xml(&v)
            ));
        }
        out.push_str("    </properties>\n");
        let class = format!("{set}.{}", r.name);
        for run in &e.cases {
            testcase(&mut out, &class, run);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_and_drops_what_xml_cannot_carry() {
        assert_eq!(
            xml("a<b & \"c\" 'd'\u{1}\n"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;\n"
        );
    }
}
