//! Azure Monitor sparklines for the selected deployment (a panel of the deployments screen):
//! the last hour at one minute of requests (with the split by status code), prompt and
//! generated tokens, PTU utilisation and time to response. Loading and errors show in place.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Widget, Wrap};

use super::call_panel::compact;
use super::load::Load;
use super::{block, ellipsize, put_line};
use crate::domain::monitor::DeploymentMetrics;
use crate::tui::theme::Theme;

/// Draws the last `area.width` points of `data` as a one-row-or-more sparkline.
pub fn spark(area: Rect, buf: &mut Buffer, data: &[f64], style: Style) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let from = data.len().saturating_sub(area.width as usize);
    let points: Vec<u64> = data[from..]
        .iter()
        .map(|v| {
            if v.is_finite() {
                v.max(0.0).round() as u64
            } else {
                0
            }
        })
        .collect();
    let max = points.iter().copied().max().unwrap_or(0).max(1);
    Sparkline::default()
        .data(&points)
        .max(max)
        .style(style)
        .render(area, buf);
}

/// `label ▁▂▅█ value`, one row.
fn row(area: Rect, buf: &mut Buffer, theme: &Theme, label: &str, data: &[f64], value: String) {
    let label_w = 10u16.min(area.width);
    let value_w = (value.chars().count() as u16 + 1).min(area.width.saturating_sub(label_w));
    put_line(
        buf,
        Rect {
            width: label_w,
            ..area
        },
        &Line::styled(format!("{label:<10}"), theme.muted),
    );
    let spark_w = area.width.saturating_sub(label_w + value_w);
    spark(
        Rect {
            x: area.x + label_w,
            width: spark_w,
            height: 1,
            ..area
        },
        buf,
        data,
        theme.accent,
    );
    put_line(
        buf,
        Rect {
            x: area.x + label_w + spark_w,
            width: value_w,
            height: 1,
            ..area
        },
        &Line::styled(format!(" {value}"), theme.text),
    );
}

fn last(v: &[f64]) -> f64 {
    v.last().copied().unwrap_or(0.0)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

pub fn render<E: std::fmt::Display>(
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    m: &Load<DeploymentMetrics, E>,
) {
    let blk = block(" Azure Monitor · last hour (1 min) ", false, theme);
    let inner = blk.inner(area);
    blk.render(area, buf);
    let message = match m {
        Load::NotLoaded => Some((
            "Metrics load when a deployment is selected (m reloads).".to_string(),
            theme.muted,
        )),
        Load::Loading => Some(("Loading metrics…".to_string(), theme.muted)),
        Load::Failed(e) => Some((format!("Metrics: {e}  (m retries)"), theme.error)),
        Load::Ready(_) => None,
    };
    if let Some((text, style)) = message {
        Paragraph::new(text)
            .style(style)
            .wrap(Wrap { trim: false })
            .render(inner, buf);
        return;
    }
    let Load::Ready(m) = m else { return };
    let statuses: Vec<String> = m
        .requests_by_status
        .iter()
        .map(|(code, v)| format!("{code}: {}", v.iter().sum::<f64>()))
        .collect();
    let rows: [(&str, Vec<f64>, String); 5] = [
        (
            "requests",
            m.requests(),
            format!("{} total", m.total_requests()),
        ),
        (
            "prompt",
            m.prompt_tokens.clone(),
            format!("{}/min", compact(last(&m.prompt_tokens) as u64)),
        ),
        (
            "generated",
            m.generated_tokens.clone(),
            format!("{}/min", compact(last(&m.generated_tokens) as u64)),
        ),
        (
            "PTU util",
            m.ptu_utilization.clone(),
            format!("max {:.0} %", max(&m.ptu_utilization)),
        ),
        (
            "TTR",
            m.time_to_response_ms.clone(),
            format!("max {:.0} ms", max(&m.time_to_response_ms)),
        ),
    ];
    let mut y = inner.y;
    let bottom = inner.y + inner.height;
    if y < bottom {
        let text = if statuses.is_empty() {
            "no requests in the last hour".to_string()
        } else {
            format!("by status  {}", statuses.join(" · "))
        };
        put_line(
            buf,
            Rect {
                y,
                height: 1,
                ..inner
            },
            &Line::from(Span::styled(
                ellipsize(&text, inner.width as usize),
                theme.text,
            )),
        );
        y += 1;
    }
    for (label, data, value) in rows {
        if y >= bottom {
            break;
        }
        row(
            Rect {
                y,
                height: 1,
                ..inner
            },
            buf,
            theme,
            label,
            &data,
            value,
        );
        y += 1;
    }
}
