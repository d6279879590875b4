//! The chat's parameters row: max tokens, temperature, API path, wire API (chat or
//! responses), reasoning effort and retry policy, each cycled with ←/→ and +/-. Retry offers `none`, `honor:3` and `failover:NAME` for every other
//! deployment known from the browser (a policy given on the command line is kept in the list).

use ratatui::text::{Line, Span};

use super::{Chat, Focus};
use crate::domain::call::{ApiPath, WireApi};
use crate::domain::retry::RetryPolicy;
use crate::tui::messages::Handled;
use crate::tui::theme::Theme;

const MAX_TOKENS: [Option<u32>; 9] = [
    None,
    Some(64),
    Some(256),
    Some(512),
    Some(1024),
    Some(2048),
    Some(4096),
    Some(8192),
    Some(16384),
];
const APIS: [ApiPath; 4] = [
    ApiPath::Classic,
    ApiPath::V1,
    ApiPath::Openai,
    ApiPath::Foundry,
];
const WIRES: [WireApi; 2] = [WireApi::Chat, WireApi::Responses];
const EFFORTS: [Option<&str>; 5] = [
    None,
    Some("minimal"),
    Some("low"),
    Some("medium"),
    Some("high"),
];
pub(super) const PARAMS: usize = 6;

/// The retry policies to cycle through: none, honor:3, then failover to each target; the
/// current policy is always among them (so a `--retry honor:5` is not lost by cycling).
pub fn retry_choices(current: &RetryPolicy, targets: &[String]) -> Vec<RetryPolicy> {
    let mut out = vec![RetryPolicy::None, RetryPolicy::honor()];
    out.extend(targets.iter().map(|t| RetryPolicy::Failover {
        deployment: t.clone(),
    }));
    if !out.contains(current) {
        out.insert(1, current.clone());
    }
    out
}

impl Chat {
    pub(super) fn step_param(&mut self, d: i32) -> Handled {
        fn cycle<T: PartialEq + Clone>(list: &[T], cur: &T, d: i32) -> T {
            let i = list.iter().position(|x| x == cur).unwrap_or(0) as i32;
            let n = list.len() as i32;
            list[((i + d).rem_euclid(n)) as usize].clone()
        }
        let p = &mut self.params;
        match self.param_sel {
            0 => p.max_tokens = cycle(&MAX_TOKENS, &p.max_tokens, d),
            1 => {
                p.temperature = match p.temperature {
                    None if d > 0 => Some(0.0),
                    None => None,
                    Some(t) if t <= 0.05 && d < 0 => None,
                    Some(t) => Some(((t * 10.0).round() + d as f64).clamp(0.0, 20.0) / 10.0),
                }
            }
            2 => p.api = cycle(&APIS, &p.api, d),
            3 => p.wire_api = cycle(&WIRES, &p.wire_api, d),
            4 => p.reasoning_effort = cycle(&EFFORTS, &p.reasoning_effort, d),
            _ => {
                let choices = retry_choices(&p.retry, &self.failover_targets);
                p.retry = cycle(&choices, &p.retry, d);
            }
        }
        Handled::Consumed
    }

    /// The row as it fits `width`: full labels, or short ones (and `—` for a default) on a
    /// narrow terminal, so all six stay visible at 80 columns.
    pub(super) fn params_line(&self, deployment: &str, theme: &Theme, width: u16) -> Line<'static> {
        let fits = |spans: &[Span<'static>]| {
            spans.iter().map(Span::width).sum::<usize>() <= width as usize
        };
        let full = self.params_spans(deployment, theme, false);
        if fits(&full) {
            return Line::from(full);
        }
        let short = self.params_spans(deployment, theme, true);
        if fits(&short) {
            return Line::from(short);
        }
        // Still too wide (a long deployment name): the tab bar names the deployment, so the
        // row keeps the parameters, which are only here.
        Line::from(short.into_iter().skip(3).collect::<Vec<_>>())
    }

    fn params_spans(&self, deployment: &str, theme: &Theme, short: bool) -> Vec<Span<'static>> {
        let p = &self.params;
        let default = if short { "—" } else { "default" };
        let retry = match &p.retry {
            RetryPolicy::None => "none".to_string(),
            RetryPolicy::Honor { max_attempts, .. } => format!("honor:{max_attempts}"),
            RetryPolicy::Failover { deployment } => format!("failover:{deployment}"),
        };
        let values = [
            (
                if short { "max" } else { "max tokens" },
                p.max_tokens.map_or(default.into(), |v| v.to_string()),
            ),
            (
                "temp",
                p.temperature.map_or(default.into(), |t| format!("{t:.1}")),
            ),
            ("api", p.api.as_str().to_string()),
            ("wire", p.wire_api.as_str().to_string()),
            (
                if short { "effort" } else { "reasoning" },
                p.reasoning_effort.unwrap_or(default).to_string(),
            ),
            ("retry", retry),
        ];
        let mut spans = vec![
            Span::styled("→ ", theme.muted),
            Span::styled(deployment.to_string(), theme.accent),
        ];
        for (i, (k, v)) in values.into_iter().enumerate() {
            // Short: the wire API rides on the path (`api classic/chat`), still its own stop.
            if short && i == 3 {
                spans.push(Span::styled("/", theme.muted));
            } else {
                spans.push(Span::styled(" │ ", theme.border));
                spans.push(Span::styled(format!("{k} "), theme.muted));
            }
            let selected = self.focus == Focus::Params && i == self.param_sel;
            let vs = if selected {
                theme.selection
            } else {
                theme.text
            };
            spans.push(Span::styled(v, vs));
        }
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_cycles_through_failover_targets_and_keeps_the_current_policy() {
        let targets = vec!["gpt-4o-mini".to_string(), "o4-mini".to_string()];
        let list = retry_choices(&RetryPolicy::None, &targets);
        assert_eq!(
            list,
            vec![
                RetryPolicy::None,
                RetryPolicy::honor(),
                RetryPolicy::Failover {
                    deployment: "gpt-4o-mini".into()
                },
                RetryPolicy::Failover {
                    deployment: "o4-mini".into()
                },
            ]
        );
        let custom = RetryPolicy::Failover {
            deployment: "elsewhere".into(),
        };
        assert!(retry_choices(&custom, &targets).contains(&custom));
    }
}
