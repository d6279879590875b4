//! PTU estimate for this session's chat workload (a panel of the Bench screen): the average
//! prompt, cached and completion tokens of the session's answered calls and their rate, run
//! through [`crate::domain::ptu`] for the model (and deployment type) of the latest call.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use crate::domain::call::Outcome;
use crate::domain::cost::PriceTable;
use crate::domain::ptu::{DeploymentType, PtuTable, Workload};
use crate::tui::session::Session;
use crate::tui::theme::Theme;

/// The session's workload and what it runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionWorkload {
    /// Answered calls counted.
    pub calls: usize,
    pub workload: Workload,
    /// Model (with version when known) the estimate is for.
    pub model: String,
    pub kind: DeploymentType,
}

/// Averages of the answered calls; the rate is calls ÷ minutes between the first and the last
/// call's start, over at least one minute.
pub fn session_workload(session: &Session) -> Option<SessionWorkload> {
    let done: Vec<_> = session
        .calls
        .iter()
        .filter(|c| {
            c.record
                .as_ref()
                .is_some_and(|r| r.outcome == Outcome::Done && r.usage.is_some())
        })
        .collect();
    let last = done.last()?;
    let n = done.len() as f64;
    let (mut p, mut c, mut k) = (0.0, 0.0, 0.0);
    for call in &done {
        let u = call
            .record
            .as_ref()
            .and_then(|r| r.usage)
            .unwrap_or_default();
        p += u.prompt_tokens as f64;
        c += u.completion_tokens as f64;
        k += u.cached_tokens as f64;
    }
    let span_min = last.started.saturating_sub(done[0].started).as_secs_f64() / 60.0;
    let (model, kind) = match &last.model {
        Some(m) => (
            m.priced_name(),
            crate::domain::ptu::DeploymentType::of_sku(&m.sku),
        ),
        None => (
            last.record
                .as_ref()
                .and_then(|r| r.model.clone())
                .unwrap_or_else(|| last.deployment.clone()),
            DeploymentType::Global,
        ),
    };
    Some(SessionWorkload {
        calls: done.len(),
        workload: Workload {
            prompt_tokens: p / n,
            completion_tokens: c / n,
            cached_tokens: k / n,
            rpm: n / span_min.max(1.0),
        },
        model,
        kind,
    })
}

pub fn lines(
    w: Option<&SessionWorkload>,
    table: &PtuTable,
    prices: &PriceTable,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let Some(w) = w else {
        return vec![Line::styled(
            "No answered chat call yet: the estimate uses this session's calls.",
            theme.muted,
        )];
    };
    let wl = &w.workload;
    let mut out = vec![Line::styled(
        format!(
            "{} · avg {:.0} prompt ({:.0} cached) + {:.0} completion tokens · {:.1} RPM",
            super::count(w.calls, "call"),
            wl.prompt_tokens,
            wl.cached_tokens,
            wl.completion_tokens,
            wl.rpm
        ),
        theme.text,
    )];
    match table.estimate(&w.model, w.kind, wl) {
        Ok(e) => {
            out.push(Line::from(vec![
                Span::styled(format!("{} PTU", e.ptu), theme.accent),
                Span::styled(
                    format!(
                        " {} {} · {:.2} exact · min {}, step {}",
                        e.model,
                        e.deployment_type.as_str(),
                        e.ptu_exact,
                        e.min,
                        e.step
                    ),
                    theme.text,
                ),
            ]));
            out.push(Line::styled(
                format!(
                    "weighted {:.0} TPM ÷ {:.0} per PTU (output ×{})",
                    e.weighted_tpm, e.input_tpm_per_ptu, e.output_weight
                ),
                theme.muted,
            ));
            // PAYG at this rate against a month's reservation of these PTUs.
            let p = crate::domain::plan::plan_of(&w.model, w.kind, wl, prices, Ok(e));
            if let (Some(payg), Some(t)) = (p.payg_month_usd, &p.ptu) {
                let be = t
                    .reserved_month
                    .break_even_rpm
                    .map_or("no break-even at this shape".into(), |r| {
                        format!("break-even {r:.1} RPM")
                    });
                out.push(Line::styled(
                    format!(
                        "PAYG ${payg:.0}/month · 1-month reservation ${:.0}/month · {be}",
                        t.reserved_month.month_usd
                    ),
                    theme.text,
                ));
            }
        }
        Err(e) => out.push(Line::styled(format!("{}: {e}", w.model), theme.warn)),
    }
    out
}

pub fn render(
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    w: Option<&SessionWorkload>,
    table: &PtuTable,
    prices: &PriceTable,
) {
    let blk = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border)
        .title(" PTU estimate · this session's chat workload ")
        .title_style(theme.title);
    let inner = blk.inner(area);
    blk.render(area, buf);
    Paragraph::new(lines(w, table, prices, theme))
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::arm::ModelRef;
    use crate::domain::call::{ApiPath, CallRecord};
    use crate::domain::usage::Usage;
    use crate::tui::session::LiveCall;
    use std::time::Duration;

    fn call(id: u64, at_s: u64, prompt: u64, completion: u64) -> LiveCall {
        let mut c = LiveCall::new(
            id,
            "gpt-4o",
            ApiPath::Classic,
            "hi",
            Duration::from_secs(at_s),
        );
        c.finish(
            CallRecord {
                outcome: Outcome::Done,
                usage: Some(Usage {
                    prompt_tokens: prompt,
                    completion_tokens: completion,
                    ..Default::default()
                }),
                ..Default::default()
            },
            Duration::from_secs(at_s + 1),
        );
        c
    }

    #[test]
    fn averages_and_rate_of_the_session() {
        let mut s = Session::default();
        assert_eq!(session_workload(&s), None);
        s.calls.push(call(1, 0, 1000, 200));
        let mut last = call(2, 120, 3000, 400);
        last.model = Some(ModelRef {
            model: "gpt-4o".into(),
            version: "2024-11-20".into(),
            sku: "DataZoneStandard".into(),
        });
        s.calls.push(last);
        let w = session_workload(&s).unwrap();
        assert_eq!(w.calls, 2);
        assert_eq!(w.workload.prompt_tokens, 2000.0);
        assert_eq!(w.workload.completion_tokens, 300.0);
        assert_eq!(w.workload.rpm, 1.0, "2 calls over 2 minutes");
        assert_eq!(w.model, "gpt-4o-2024-11-20");
        assert_eq!(w.kind, DeploymentType::Datazone);
    }
}
