//! Deployments & quota browser (k9s-style): accounts → deployments table with limits from
//! ARM `rateLimits`, regional quota as used/limit gauges, `/` filter, sort keys, Enter opens
//! the chat against the selected deployment (on its account's endpoint, priced on its ARM
//! model). `d` shows the selected deployment's headroom and its Azure Monitor sparklines in
//! place of the quota gauges. Loading and errors are visible states.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, StatefulWidget, Table, TableState, Widget, Wrap};

mod advice;
mod embed;
mod sort;

use super::call_panel::compact;
use super::headroom::{self as headroom_view, HeadroomProps};
pub use super::load::Load;
use super::{bar, block, ellipsize, put_line};
use crate::domain::arm::{Account, ArmError, Deployment, QuotaUsage};
use crate::domain::headroom::{self, DeploymentLimits, QuotaRow};
use crate::domain::monitor::DeploymentMetrics;
use crate::tui::component::{Component, Props, Update};
use crate::tui::event::ArmMsg;
use crate::tui::keymap::{self, DeployAction, FilterAction, Hint};
use crate::tui::messages::{ArmCommand, Command, Handled, OpenTarget};
use crate::tui::session::Session;
use crate::tui::theme::Theme;
use advice::with_advice;
pub use embed::EmbedPane;
pub use sort::SortKey;

pub struct Deployments {
    accounts: Load<Vec<Account>, ArmError>,
    account: usize,
    deployments: Load<Vec<Deployment>, ArmError>,
    quota: Load<Vec<QuotaUsage>, ArmError>,
    filter: String,
    filtering: bool,
    sort: SortKey,
    reverse: bool,
    table: TableState,
    /// Headroom + metrics shown instead of the quota gauges (`d`).
    details: bool,
    metrics: Load<DeploymentMetrics, ArmError>,
    /// (account id, deployment) the metrics are (being) loaded for.
    metrics_for: Option<(String, String)>,
    /// What an embeddings deployment offers instead of a chat.
    embed: EmbedPane,
}

impl Default for Deployments {
    fn default() -> Self {
        Deployments {
            accounts: Load::NotLoaded,
            account: 0,
            deployments: Load::NotLoaded,
            quota: Load::NotLoaded,
            filter: String::new(),
            filtering: false,
            sort: SortKey::Name,
            reverse: false,
            table: TableState::default(),
            details: false,
            metrics: Load::NotLoaded,
            metrics_for: None,
            embed: EmbedPane::default(),
        }
    }
}

impl Deployments {
    /// Deployments and quota of the selected account are both in (or failed).
    pub fn is_loaded(&self) -> bool {
        let done = |l: &Load<_, _>| matches!(l, Load::Ready(_) | Load::Failed(_));
        done(&self.deployments) && matches!(self.quota, Load::Ready(_) | Load::Failed(_))
    }

    pub fn needs_load(&self) -> bool {
        self.accounts == Load::NotLoaded
    }

    /// A (re)load of accounts was started.
    pub fn loading(&mut self) {
        self.accounts = Load::Loading;
        self.deployments = Load::NotLoaded;
        self.quota = Load::NotLoaded;
    }

    fn current_account(&self) -> Option<&Account> {
        match &self.accounts {
            Load::Ready(a) => a.get(self.account),
            Load::NotLoaded | Load::Loading | Load::Failed(_) => None,
        }
    }

    fn select_account(&mut self, i: usize) -> Handled {
        let Load::Ready(list) = &self.accounts else {
            return Handled::Consumed;
        };
        if list.is_empty() {
            return Handled::Consumed;
        }
        self.account = i % list.len();
        let a = &list[self.account];
        let cmd = Command::Arm(ArmCommand::SelectAccount {
            account_id: a.id.clone(),
            location: a.location.clone(),
        });
        self.deployments = Load::Loading;
        self.quota = Load::Loading;
        self.table.select(Some(0));
        Handled::Command(cmd)
    }

    /// Applies an ARM or Azure Monitor result; may ask for the next read (deployments +
    /// quota of an account, or the metrics of the deployment shown).
    pub fn on_arm(&mut self, msg: ArmMsg) -> Option<Command> {
        match msg {
            ArmMsg::Accounts(Ok(list)) => {
                self.accounts = Load::Ready(list);
                match self.select_account(self.account) {
                    Handled::Command(c) => return Some(c),
                    // No account: nothing more will load.
                    Handled::Ignored | Handled::Consumed => {
                        self.deployments = Load::Ready(vec![]);
                        self.quota = Load::Ready(vec![]);
                    }
                }
            }
            // Without accounts nothing else loads: every pane ends in the error.
            ArmMsg::Accounts(Err(e)) => {
                self.accounts = Load::Failed(e.clone());
                self.deployments = Load::Failed(e.clone());
                self.quota = Load::Failed(e);
            }
            ArmMsg::Deployments { account_id, result } => {
                if self.current_account().is_some_and(|a| a.id == account_id) {
                    self.deployments = match result {
                        Ok(d) => Load::Ready(d),
                        Err(e) => Load::Failed(e),
                    };
                    return self.metrics_wanted();
                }
            }
            ArmMsg::Metrics {
                account_id,
                deployment,
                result,
            } => self.on_metrics(&account_id, &deployment, result),
            ArmMsg::Embedded(record) => self.embed.finish(*record),
            ArmMsg::Quota { location, result } => {
                if self
                    .current_account()
                    .is_some_and(|a| a.location == location)
                {
                    self.quota = match result {
                        Ok(q) => Load::Ready(q),
                        Err(e) => Load::Failed(e),
                    };
                }
            }
        }
        None
    }

    /// Every deployment of the selected account, by name (empty until loaded).
    pub fn names(&self) -> Vec<String> {
        match &self.deployments {
            Load::Ready(all) => all.iter().map(|d| d.name.clone()).collect(),
            Load::NotLoaded | Load::Loading | Load::Failed(_) => vec![],
        }
    }

    /// The rows shown: filtered and sorted.
    pub fn visible(&self) -> Vec<&Deployment> {
        let Load::Ready(all) = &self.deployments else {
            return vec![];
        };
        let f = self.filter.to_ascii_lowercase();
        let mut rows: Vec<&Deployment> = all
            .iter()
            .filter(|d| {
                f.is_empty()
                    || [&d.name, &d.model, &d.sku]
                        .iter()
                        .any(|s| s.to_ascii_lowercase().contains(&f))
            })
            .collect();
        rows.sort_by(|a, b| {
            let o = match self.sort {
                SortKey::Name => a.name.cmp(&b.name),
                SortKey::Model => a.model.cmp(&b.model),
                SortKey::Sku => a.sku.cmp(&b.sku),
                SortKey::Capacity => a.capacity.cmp(&b.capacity),
                SortKey::Rpm => a.rpm.cmp(&b.rpm),
                SortKey::Tpm => a.tpm.cmp(&b.tpm),
                SortKey::State => a.state.cmp(&b.state),
            };
            o.then_with(|| a.name.cmp(&b.name))
        });
        if self.reverse {
            rows.reverse();
        }
        rows
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Handled {
        if self.filtering {
            return self.filter_key(key);
        }
        let Some(action) = keymap::lookup(keymap::DEPLOYMENTS, &key) else {
            return Handled::Ignored;
        };
        let n = self.visible().len();
        let sel = self.table.selected().unwrap_or(0);
        match action {
            DeployAction::Up => self.table.select(Some(sel.saturating_sub(1))),
            DeployAction::Down => self.table.select(Some((sel + 1).min(n.saturating_sub(1)))),
            DeployAction::Top => self.table.select(Some(0)),
            DeployAction::Bottom => self.table.select(Some(n.saturating_sub(1))),
            DeployAction::OpenChat => {
                return self
                    .target(sel)
                    .map_or(Handled::Consumed, |t| self.embed.open(t));
            }
            DeployAction::Embed => {
                return self
                    .target(sel)
                    .map_or(Handled::Consumed, |t| self.embed.call(t));
            }
            DeployAction::Details => self.details = !self.details,
            DeployAction::ReloadMetrics => {
                self.metrics_for = None;
                self.details = true;
            }
            DeployAction::Filter => self.filtering = true,
            DeployAction::Sort => self.sort = self.sort.next(),
            DeployAction::Reverse => self.reverse = !self.reverse,
            DeployAction::Reload => return Handled::Command(Command::Arm(ArmCommand::Reload)),
            DeployAction::Probe => return Handled::Command(Command::Arm(ArmCommand::Probe)),
            DeployAction::NextAccount => {
                self.metrics_for = None;
                return self.select_account(self.account + 1);
            }
            DeployAction::PrevAccount => {
                let n = match &self.accounts {
                    Load::Ready(a) => a.len().max(1),
                    Load::NotLoaded | Load::Loading | Load::Failed(_) => 1,
                };
                self.metrics_for = None;
                return self.select_account(self.account + n - 1);
            }
        }
        match self.metrics_wanted() {
            Some(c) => Handled::Command(c),
            None => Handled::Consumed,
        }
    }

    /// The selected row as a chat target: its account's endpoint and its ARM model.
    fn target(&self, sel: usize) -> Option<OpenTarget> {
        let d = self.visible().get(sel).copied()?;
        let a = self.current_account();
        Some(OpenTarget {
            name: d.name.clone(),
            account_id: a.map_or(String::new(), |a| a.id.clone()),
            endpoint: a.and_then(|a| a.endpoint.clone()),
            model: d.model_ref(),
        })
    }

    pub fn selected(&self) -> Option<&Deployment> {
        let sel = self.table.selected().unwrap_or(0);
        self.visible().get(sel).copied()
    }

    pub fn accounts(&self) -> &Load<Vec<Account>, ArmError> {
        &self.accounts
    }

    /// The embeddings pane (what the last embeddings call measured).
    pub fn embeddings(&self) -> &EmbedPane {
        &self.embed
    }

    pub fn details(&self) -> bool {
        self.details
    }

    pub fn metrics(&self) -> &Load<DeploymentMetrics, ArmError> {
        &self.metrics
    }

    /// With the details open, the selected deployment's metrics, unless already asked for.
    fn metrics_wanted(&mut self) -> Option<Command> {
        if !self.details {
            return None;
        }
        let account_id = self.current_account()?.id.clone();
        let deployment = self.selected()?.name.clone();
        let key = (account_id.clone(), deployment.clone());
        if self.metrics_for.as_ref() == Some(&key) {
            return None;
        }
        self.metrics_for = Some(key);
        self.metrics = Load::Loading;
        Some(Command::Arm(ArmCommand::LoadMetrics {
            account_id,
            deployment,
        }))
    }

    /// An Azure Monitor result; dropped unless it is for the deployment shown.
    pub fn on_metrics(
        &mut self,
        account_id: &str,
        deployment: &str,
        result: Result<DeploymentMetrics, ArmError>,
    ) {
        let shown = self
            .metrics_for
            .as_ref()
            .is_some_and(|(a, d)| a == account_id && d == deployment);
        if shown {
            self.metrics = match result {
                Ok(m) => Load::Ready(m),
                Err(e) => Load::Failed(e),
            };
        }
    }

    fn filter_key(&mut self, key: KeyEvent) -> Handled {
        match keymap::lookup(keymap::DEPLOYMENTS_FILTER, &key) {
            Some(FilterAction::Apply) => self.filtering = false,
            Some(FilterAction::Clear) => {
                self.filtering = false;
                self.filter.clear();
            }
            None => match key.code {
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c)
                    if !key
                        .modifiers
                        .contains(crossterm::event::KeyModifiers::CONTROL) =>
                {
                    self.filter.push(c)
                }
                _ => return Handled::Consumed,
            },
        }
        self.table.select(Some(0));
        Handled::Consumed
    }

    pub fn render(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, session: &Session) {
        if self.details {
            let [acct_a, table_a, detail_a] = Layout::vertical([
                Constraint::Length(1),
                Constraint::Min(4),
                Constraint::Length(11),
            ])
            .areas(area);
            self.render_account(acct_a, buf, theme);
            self.render_table(table_a, buf, theme);
            self.render_details(detail_a, buf, theme, session);
            return;
        }
        let quota_rows = match &self.quota {
            Load::Ready(q) => q.len().clamp(1, 8) as u16,
            Load::Failed(_) if !matches!(self.accounts, Load::Failed(_)) => 3,
            Load::NotLoaded | Load::Loading | Load::Failed(_) => 1,
        };
        // An embeddings deployment selected: what it offers instead of a chat.
        let embeddings = embed::embeddings_name(self.selected());
        let embed_rows = embeddings.as_ref().map_or(0, |_| embed::HEIGHT);
        let [acct_a, table_a, embed_a, quota_a] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(4),
            Constraint::Length(embed_rows),
            Constraint::Length(quota_rows + 2),
        ])
        .areas(area);
        self.render_account(acct_a, buf, theme);
        self.render_table(table_a, buf, theme);
        if let Some(name) = embeddings {
            self.embed.render(embed_a, buf, theme, &name);
        }
        self.render_quota(quota_a, buf, theme);
    }

    /// The selected deployment's headroom, joined from this session's calls to it, its
    /// `rateLimits` and the region's quota.
    pub fn headroom(
        &self,
        session: &Session,
    ) -> Option<(DeploymentLimits, headroom::Headroom, usize)> {
        let d = self.selected()?;
        let limits = |d: &Deployment| DeploymentLimits::from(d);
        let dep = limits(d);
        let calls: Vec<_> = session
            .calls
            .iter()
            .filter(|c| c.deployment == d.name)
            .collect();
        let last = calls.iter().rev().find(|c| c.status.is_some());
        let throttled = last.is_some_and(|c| c.status == Some(429));
        let quota: Vec<QuotaRow> = match &self.quota {
            Load::Ready(q) => q
                .iter()
                .map(|u| QuotaRow {
                    name: u.name.clone(),
                    current: u.current,
                    limit: u.limit,
                })
                .collect(),
            Load::NotLoaded | Load::Loading | Load::Failed(_) => vec![],
        };
        let siblings: Vec<DeploymentLimits> = match &self.deployments {
            Load::Ready(all) => all.iter().map(limits).collect(),
            Load::NotLoaded | Load::Loading | Load::Failed(_) => vec![],
        };
        let h = headroom::compute(
            &dep,
            last.map(|c| &c.ratelimit),
            throttled,
            &quota,
            &siblings,
        );
        Some((dep, h, calls.len()))
    }

    fn render_details(&self, area: Rect, buf: &mut Buffer, theme: &Theme, session: &Session) {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(area);
        match self.headroom(session) {
            Some((dep, h, calls)) => headroom_view::render(
                left,
                buf,
                theme,
                &HeadroomProps {
                    dep: &dep,
                    headroom: &h,
                    calls,
                },
            ),
            None => {
                let blk = block(" Headroom ", false, theme);
                let inner = blk.inner(left);
                blk.render(left, buf);
                Paragraph::new("No deployment selected.")
                    .style(theme.muted)
                    .render(inner, buf);
            }
        }
        super::metrics::render(right, buf, theme, &self.metrics);
    }

    fn render_account(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let line = match &self.accounts {
            Load::NotLoaded | Load::Loading => Line::styled("Loading accounts…", theme.muted),
            Load::Failed(_) => {
                Line::styled("Accounts could not be listed (r retries)", theme.error)
            }
            Load::Ready(list) if list.is_empty() => Line::styled(
                "No Azure OpenAI accounts in this subscription.",
                theme.muted,
            ),
            Load::Ready(list) => {
                let a = &list[self.account.min(list.len() - 1)];
                Line::from(vec![
                    Span::styled("Account ", theme.muted),
                    Span::styled(a.name.clone(), theme.accent),
                    Span::styled(
                        format!("  {} · {} · {} · {}", a.location, a.kind, a.sku, a.state),
                        theme.text,
                    ),
                    Span::styled(
                        format!("  [{}/{}]", self.account + 1, list.len()),
                        theme.muted,
                    ),
                ])
            }
        };
        put_line(buf, area, &line);
    }

    fn render_table(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let mut title = format!(
            " Deployments · sort {}{} ",
            self.sort.label(),
            if self.reverse { " ↓" } else { "" }
        );
        if self.filtering || !self.filter.is_empty() {
            title.push_str(&format!(
                "· /{}{} ",
                self.filter,
                if self.filtering { "▌" } else { "" }
            ));
        }
        let blk = block(title, true, theme);
        let message = match &self.deployments {
            Load::NotLoaded | Load::Loading => {
                Some(("Loading deployments…".to_string(), theme.muted))
            }
            Load::Failed(e) => Some((format!("{}  (r retries)", with_advice(e)), theme.error)),
            Load::Ready(d) if d.is_empty() => Some(("No deployments.".to_string(), theme.muted)),
            Load::Ready(_) if self.visible().is_empty() => {
                Some((format!("Nothing matches /{}", self.filter), theme.muted))
            }
            Load::Ready(_) => None,
        };
        if let Some((m, style)) = message {
            let inner = blk.inner(area);
            blk.render(area, buf);
            Paragraph::new(m)
                .style(style)
                .wrap(Wrap { trim: false })
                .render(inner, buf);
            return;
        }
        let wide = area.width >= 100;
        let mut head = vec!["name", "model"];
        if wide {
            head.push("version");
        }
        head.extend(["sku", "cap", "RPM", "TPM", "state"]);
        let rows: Vec<Row> = self
            .visible()
            .into_iter()
            .map(|d| {
                let mut cells = vec![Cell::from(d.name.clone()), Cell::from(d.model.clone())];
                if wide {
                    cells.push(Cell::from(d.version.clone()));
                }
                let state_style = if d.state == "Succeeded" {
                    theme.ok
                } else {
                    theme.warn
                };
                cells.extend([
                    Cell::from(d.sku.clone()),
                    Cell::from(d.capacity.to_string()),
                    Cell::from(d.rpm.map_or("—".into(), compact)),
                    Cell::from(d.tpm.map_or("—".into(), compact)),
                    Cell::from(Span::styled(d.state.clone(), state_style)),
                ]);
                Row::new(cells)
            })
            .collect();
        let mut widths = vec![Constraint::Min(11), Constraint::Length(12)];
        if wide {
            widths.push(Constraint::Length(11));
        }
        widths.extend([
            Constraint::Length(if wide { 24 } else { 14 }),
            Constraint::Length(4),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(9),
        ]);
        if self.table.selected().is_none() {
            self.table.select(Some(0));
        }
        let table = Table::new(rows, widths)
            .header(Row::new(head).style(theme.title))
            .block(blk)
            .row_highlight_style(theme.selection)
            .highlight_symbol("▶");
        StatefulWidget::render(table, area, buf, &mut self.table);
    }

    fn render_quota(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let loc = self
            .current_account()
            .map_or(String::new(), |a| format!(" in {}", a.location));
        let blk = block(format!(" Quota{loc} (used / limit) "), false, theme);
        let inner = blk.inner(area);
        blk.render(area, buf);
        let lines: Vec<Line> = match &self.quota {
            Load::NotLoaded | Load::Loading => vec![Line::styled("Loading quota…", theme.muted)],
            Load::Failed(_) if matches!(self.accounts, Load::Failed(_)) => {
                vec![Line::styled("No quota without ARM access.", theme.muted)]
            }
            Load::Failed(e) => vec![Line::styled(with_advice(e), theme.error)],
            Load::Ready(q) if q.is_empty() => vec![Line::styled("No quota lines.", theme.muted)],
            Load::Ready(q) => {
                let w = inner.width as usize;
                let name_w = (w * 2 / 5).clamp(10, 40);
                q.iter()
                    .map(|u| {
                        let used = u.used_ratio();
                        let nums = format!(" {}/{}", fmt_num(u.current), fmt_num(u.limit));
                        let bar_w = w.saturating_sub(name_w + nums.len() + 1).clamp(3, 40);
                        let mut spans = vec![Span::styled(
                            format!("{:<name_w$} ", ellipsize(&u.name, name_w)),
                            theme.text,
                        )];
                        spans.extend(bar(used, bar_w, theme.gauge(1.0 - used), theme.muted));
                        spans.push(Span::styled(nums, theme.text));
                        Line::from(spans)
                    })
                    .collect()
            }
        };
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .render(inner, buf);
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

impl Component for Deployments {
    fn on_key(&mut self, key: KeyEvent, _props: &Props<'_>) -> Handled {
        self.handle_key(key)
    }

    fn draw(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, props: &Props<'_>) {
        self.render(area, buf, theme, props.session);
    }

    fn hints(&self) -> Vec<Hint> {
        if self.filtering {
            keymap::hints(keymap::DEPLOYMENTS_FILTER)
        } else {
            keymap::hints(keymap::DEPLOYMENTS)
        }
    }

    fn wants_text(&self) -> bool {
        self.filtering
    }

    fn help_sections(&self) -> Vec<&'static str> {
        vec!["Deployments", "Deployments: filter"]
    }
}

impl Update for Deployments {
    type Msg = ArmMsg;

    /// An ARM or Azure Monitor result; may ask for the next read.
    fn update(&mut self, msg: ArmMsg, _props: &Props<'_>) -> Handled {
        match self.on_arm(msg) {
            Some(c) => Handled::Command(c),
            None => Handled::Consumed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn dep(name: &str, model: &str, cap: u64) -> Deployment {
        Deployment {
            name: name.into(),
            model: model.into(),
            version: "v".into(),
            sku: "Standard".into(),
            capacity: cap,
            rpm: Some(cap * 6),
            tpm: Some(cap * 1000),
            state: "Succeeded".into(),
        }
    }

    fn loaded() -> Deployments {
        let mut d = Deployments::default();
        let acct = Account {
            id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a".into(),
            name: "a".into(),
            location: "swedencentral".into(),
            kind: "OpenAI".into(),
            sku: "S0".into(),
            endpoint: Some("https://a.openai.azure.com/".into()),
            state: "Succeeded".into(),
        };
        let cmd = d.on_arm(ArmMsg::Accounts(Ok(vec![acct.clone()])));
        assert_eq!(
            cmd,
            Some(Command::Arm(ArmCommand::SelectAccount {
                account_id: acct.id.clone(),
                location: "swedencentral".into()
            }))
        );
        d.on_arm(ArmMsg::Deployments {
            account_id: acct.id,
            result: Ok(vec![dep("zeta", "gpt-4o", 10), dep("alpha", "o4-mini", 50)]),
        });
        d
    }

    fn open(name: &str) -> Handled {
        Handled::Command(Command::Arm(ArmCommand::Open(Box::new(OpenTarget {
            name: name.into(),
            account_id: ACCT.into(),
            endpoint: Some("https://a.openai.azure.com/".into()),
            model: crate::domain::arm::ModelRef {
                model: if name == "alpha" { "o4-mini" } else { "gpt-4o" }.into(),
                version: "v".into(),
                sku: "Standard".into(),
            },
        }))))
    }

    const ACCT: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a";

    #[test]
    fn details_load_metrics_for_the_selection_and_drop_stale_ones() {
        let mut d = loaded();
        let load = |dep: &str| {
            Handled::Command(Command::Arm(ArmCommand::LoadMetrics {
                account_id: ACCT.into(),
                deployment: dep.into(),
            }))
        };
        assert_eq!(d.handle_key(key('d')), load("alpha"));
        assert_eq!(d.metrics(), &Load::Loading);
        assert_eq!(d.handle_key(key('j')), load("zeta"));
        d.on_metrics(ACCT, "alpha", Ok(DeploymentMetrics::default()));
        assert_eq!(d.metrics(), &Load::Loading, "stale result dropped");
        d.on_metrics(ACCT, "zeta", Err(ArmError::Decode("boom".into())));
        assert_eq!(d.metrics(), &Load::Failed(ArmError::Decode("boom".into())));
        assert_eq!(d.handle_key(key('m')), load("zeta"), "m reloads");
        assert_eq!(d.handle_key(key('d')), Handled::Consumed);
        assert!(!d.details());
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn enter_opens_chat_on_selected_and_sort_filter() {
        let mut d = loaded();
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(d.handle_key(enter), open("alpha"));
        d.handle_key(key('s'));
        assert_eq!(d.handle_key(enter), open("zeta"), "sorted by model");
        d.handle_key(key('/'));
        assert!(d.wants_text());
        for c in "o4".chars() {
            d.handle_key(key(c));
        }
        d.handle_key(enter);
        assert!(!d.wants_text());
        assert_eq!(d.visible().len(), 1);
        assert_eq!(d.handle_key(enter), open("alpha"));
        assert_eq!(
            d.handle_key(key('r')),
            Handled::Command(Command::Arm(ArmCommand::Reload))
        );
        assert_eq!(d.handle_key(key('q')), Handled::Ignored);
    }

    #[test]
    fn stale_results_for_another_account_are_dropped() {
        let mut d = loaded();
        d.on_arm(ArmMsg::Deployments {
            account_id: "other".into(),
            result: Ok(vec![]),
        });
        assert_eq!(d.visible().len(), 2);
    }
}
