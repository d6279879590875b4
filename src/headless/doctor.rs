//! `aoai doctor [--json]`: the endpoint's checklist, one step a line (✓ ok, ! warning,
//! ✗ failed, - skipped) with its detail and, under a problem, the fix; wrapped to the
//! terminal's width (`COLUMNS`, else 80). `--json`: the report as one object. Exit status 1
//! when a step failed.

use std::process::ExitCode;

use crate::cli::DoctorArgs;
use crate::domain::doctor::{Report, Status};
use crate::engine::doctor;

/// Column where the detail starts: mark, space, the longest title ("Credential",
/// "Deployment", "Data plane") and two spaces.
const INDENT: usize = 14;

pub async fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let report = doctor::run(&args.options()).await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", render(&report, width()));
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w >= 40)
        .unwrap_or(80)
}

/// The checklist as text, `width` columns wide.
pub fn render(r: &Report, width: usize) -> String {
    let mut head = format!("aoai doctor: {}", r.endpoint);
    if r.simulator {
        head.push_str(" (the embedded simulator)");
    }
    if let Some(p) = &r.profile {
        head.push_str(&format!(", profile {p}"));
    }
    if let Some(d) = &r.deployment {
        head.push_str(&format!(", deployment {d}"));
    }
    let mut out = String::new();
    for line in wrap(&head, width, 0) {
        out.push_str(&line);
        out.push('\n');
    }
    for s in &r.steps {
        let lead = format!("{} {:<w$}", s.status.mark(), s.name.title(), w = INDENT - 2);
        let mut lines = wrap(&s.detail, width, INDENT).into_iter();
        out.push_str(&lead);
        out.push_str(lines.next().unwrap_or_default().trim_start());
        out.push('\n');
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
        if let (Some(fix), Status::Fail | Status::Warn) = (&s.fix, s.status) {
            for l in wrap(&format!("fix: {fix}"), width, INDENT) {
                out.push_str(&l);
                out.push('\n');
            }
        }
    }
    let failed: Vec<&str> = r
        .steps
        .iter()
        .filter(|s| s.status == Status::Fail)
        .map(|s| s.name.title())
        .collect();
    let warned = r.steps.iter().filter(|s| s.status == Status::Warn).count();
    out.push_str(&match (failed.len(), warned) {
        (0, 0) => "All checks passed.\n".to_string(),
        (0, w) => format!("No check failed; {w} warning(s).\n"),
        (1, _) => format!("1 check failed: {}.\n", failed[0]),
        (n, _) => format!("{n} checks failed: {}.\n", failed.join(", ")),
    });
    out
}

/// Words of `text` in lines of at most `width` columns, each indented by `indent` spaces
/// (a word longer than a line gets a line of its own).
fn wrap(text: &str, width: usize, indent: usize) -> Vec<String> {
    let room = width.saturating_sub(indent).max(20);
    let pad = " ".repeat(indent);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let cur_len = cur.chars().count();
        if cur_len > 0 && cur_len + 1 + word.chars().count() > room {
            lines.push(format!("{pad}{cur}"));
            cur.clear();
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(format!("{pad}{cur}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::doctor::{Step, StepName};

    #[test]
    fn lines_fit_the_width_and_fixes_follow_failures() {
        let r = Report::new(
            "http://127.0.0.1:9".into(),
            None,
            false,
            Some("gpt-4o".into()),
            vec![
                Step::ok(
                    StepName::Dns,
                    "IP address 127.0.0.1 (loopback); loopback: a local simulator, proxy or tunnel",
                ),
                Step::fail(
                    StepName::Tcp,
                    "127.0.0.1:9: connection refused",
                    "nothing listens on 127.0.0.1:9: start the simulator there (`aoai sim --port 9`) or fix the endpoint's port",
                ),
                Step::skip(StepName::Tls, "needs TCP"),
            ],
        );
        let text = render(&r, 80);
        for l in text.lines() {
            assert!(l.chars().count() <= 80, "too wide: {l}");
        }
        assert!(text.starts_with("aoai doctor: http://127.0.0.1:9, deployment gpt-4o\n"));
        assert!(
            text.contains("\n✗ TCP         127.0.0.1:9: connection refused\n"),
            "{text}"
        );
        assert!(
            text.contains("\n              fix: nothing listens"),
            "{text}"
        );
        assert!(text.contains("\n- TLS         needs TCP\n"), "{text}");
        assert!(text.ends_with("1 check failed: TCP.\n"), "{text}");
    }
}
