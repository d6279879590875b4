//! The chat's parameters row: max tokens, temperature, API path and retry policy, each
//! cycled with ←/→ and +/-. Retry offers `none`, `honor:3` and `failover:NAME` for every other
//! deployment known from the browser (a policy given on the command line is kept in the list).

use ratatui::text::{Line, Span};

use super::{Chat, Focus};
use crate::domain::call::ApiPath;
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
const APIS: [ApiPath; 3] = [ApiPath::Classic, ApiPath::V1, ApiPath::Openai];
pub(super) const PARAMS: usize = 4;

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
            _ => {
                let choices = retry_choices(&p.retry, &self.failover_targets);
                p.retry = cycle(&choices, &p.retry, d);
            }
        }
        Handled::Consumed
    }

    pub(super) fn params_line(&self, deployment: &str, theme: &Theme) -> Line<'static> {
        let p = &self.params;
        let retry = match &p.retry {
            RetryPolicy::None => "none".to_string(),
            RetryPolicy::Honor { max_attempts, .. } => format!("honor:{max_attempts}"),
            RetryPolicy::Failover { deployment } => format!("failover:{deployment}"),
        };
        let values = [
            (
                "max tokens",
                p.max_tokens.map_or("default".into(), |v| v.to_string()),
            ),
            (
                "temp",
                p.temperature
                    .map_or("default".into(), |t| format!("{t:.1}")),
            ),
            ("api", p.api.as_str().to_string()),
            ("retry", retry),
        ];
        let mut spans = vec![
            Span::styled("→ ", theme.muted),
            Span::styled(deployment.to_string(), theme.accent),
        ];
        for (i, (k, v)) in values.into_iter().enumerate() {
            spans.push(Span::styled(" │ ", theme.border));
            let selected = self.focus == Focus::Params && i == self.param_sel;
            let vs = if selected {
                theme.selection
            } else {
                theme.text
            };
            spans.push(Span::styled(format!("{k} "), theme.muted));
            spans.push(Span::styled(v, vs));
        }
        Line::from(spans)
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
