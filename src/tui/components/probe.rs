//! The probe panel of the Deployments screen (`P`): one minimal call to every chat
//! deployment of every account the browser can see, side by side — status, TTFT, e2e,
//! region, remaining requests / tokens, 429 cause — with each target's e2e history as a
//! sparkline over the probes so far. `P` probes again, Esc closes. View state only: the
//! probes are run by the executor (`engine::probe`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{block, ellipsize};
use crate::domain::call::CallRecord;
use crate::domain::num::fmt_ms;
use crate::domain::probe::{History, Sample, Target};
use crate::tui::theme::Theme;

/// The probe panel.
#[derive(Debug, Clone, Default)]
pub struct ProbeView {
    /// Targets in the order first probed, each with its history.
    pub rows: Vec<(Target, History)>,
    pub rounds: u32,
    pub probing: bool,
    pub error: Option<String>,
}

impl ProbeView {
    /// A probe round was started.
    pub fn start(&mut self) {
        self.probing = true;
        self.error = None;
    }

    /// A round's results (or why there are none); a target seen before keeps its history.
    pub fn finish(&mut self, result: Result<Vec<(Target, CallRecord)>, String>) {
        self.probing = false;
        match result {
            Err(e) => self.error = Some(e),
            Ok(results) => {
                self.rounds += 1;
                for (t, rec) in results {
                    let s = Sample::of(&rec);
                    match self.rows.iter_mut().find(|(have, _)| *have == t) {
                        Some((_, h)) => h.push(s),
                        None => {
                            let mut h = History::default();
                            h.push(s);
                            self.rows.push((t, h));
                        }
                    }
                }
            }
        }
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let h = (self.rows.len() as u16 + 4)
            .clamp(5, area.height.max(5))
            .min(area.height);
        let r = Rect {
            x: area.x,
            y: area.y + area.height.saturating_sub(h),
            width: area.width,
            height: h,
        };
        Clear.render(r, buf);
        let state = if self.probing {
            "probing…".to_string()
        } else {
            format!(
                "{} round{}",
                self.rounds,
                if self.rounds == 1 { "" } else { "s" }
            )
        };
        let blk = block(
            format!(" Probe · {state} · P again · Esc closes "),
            true,
            theme,
        );
        let inner = blk.inner(r);
        blk.render(r, buf);
        let w = inner.width as usize;
        let mut lines = vec![Line::styled(
            ellipsize(
                &format!(
                    "{:<16} {:<15} {:<10} {:>7} {:>7} {:>6} {:>8}  trend",
                    "deployment", "region", "status", "TTFT", "e2e", "req", "tokens"
                ),
                w,
            ),
            theme.muted,
        )];
        if let Some(e) = &self.error {
            lines.push(Line::styled(ellipsize(e, w), theme.error));
        }
        if self.rows.is_empty() && self.error.is_none() {
            lines.push(Line::styled("Probing every chat deployment…", theme.muted));
        }
        for (t, h) in &self.rows {
            let Some(s) = h.last() else { continue };
            let region = s.region.clone().unwrap_or_else(|| t.location.clone());
            let ms = |v: Option<f64>| v.map_or("—".to_string(), fmt_ms);
            let n = |v: Option<u64>| v.map_or("—".to_string(), |v| v.to_string());
            let text = format!(
                "{:<16} {:<15} {:<10} {:>7} {:>7} {:>6} {:>8}  ",
                ellipsize(&t.deployment, 16),
                ellipsize(&region, 15),
                ellipsize(&s.status_text(), 10),
                ms(s.ttft_ms),
                ms(s.e2e_ms),
                n(s.remaining_requests),
                n(s.remaining_tokens),
            );
            let style = if s.ok {
                theme.ok
            } else if s.status == Some(429) {
                theme.warn
            } else {
                theme.error
            };
            let room = w.saturating_sub(text.chars().count());
            // The newest samples that fit.
            let spark = h.sparkline();
            let old = spark.chars().count().saturating_sub(room);
            let spark: String = spark.chars().skip(old).collect();
            lines.push(Line::from(vec![
                Span::styled(ellipsize(&text, w), style),
                Span::styled(spark, theme.accent),
            ]));
        }
        Paragraph::new(lines).render(inner, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(d: &str) -> Target {
        Target {
            deployment: d.into(),
            model: "gpt-4o".into(),
            account: "a".into(),
            location: "swedencentral".into(),
            endpoint: "http://127.0.0.1:1".into(),
        }
    }

    #[test]
    fn rounds_accumulate_per_target() {
        let mut v = ProbeView::default();
        v.start();
        let ok = CallRecord {
            status: Some(200),
            outcome: crate::domain::call::Outcome::Done,
            ..CallRecord::default()
        };
        v.finish(Ok(vec![(target("gpt-4o"), ok.clone())]));
        v.finish(Ok(vec![
            (target("gpt-4o"), ok),
            (target("mini"), CallRecord::default()),
        ]));
        assert_eq!(v.rounds, 2);
        assert_eq!(v.rows.len(), 2);
        assert_eq!(v.rows[0].1.samples.len(), 2);
        v.finish(Err("no ARM".into()));
        assert_eq!(v.error.as_deref(), Some("no ARM"));
        assert!(!v.probing);
    }
}
