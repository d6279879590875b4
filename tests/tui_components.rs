//! Each component drawn alone, with its props, into a TestBackend (no `App`): chat, call
//! panel, history, deployments, bench, compare, replay and the status bar. The whole-app
//! frames are in `tui_snapshots.rs` and the feature suites.

use std::time::Duration;

use aoai::azure::arm::{Deployment, QuotaUsage};
use aoai::domain::call::{ApiPath, CallEvent, CallRecord, WireApi};
use aoai::domain::compare::{Variant, VariantSet};
use aoai::domain::scenario::{PromptShape, RecordedRequest, ScenarioCall};
use aoai::engine::replay::Speed;
use aoai::tui::app::{Screen, Screens};
use aoai::tui::component::{Component, Props, Update};
use aoai::tui::components::bench::BenchView;
use aoai::tui::components::call_panel;
use aoai::tui::components::chat::Chat;
use aoai::tui::components::compare::Compare;
use aoai::tui::components::deployments::Deployments;
use aoai::tui::components::history::History;
use aoai::tui::components::replay::Replay;
use aoai::tui::components::status_bar::{self, StatusProps};
use aoai::tui::event::ArmMsg;
use aoai::tui::keymap;
use aoai::tui::messages::{ArmCommand, Command, Handled};
use aoai::tui::session::{LiveCall, Session};
use aoai::tui::theme::{ColourSupport, Theme};
use aoai::wire::{ChatMessage, ChatRequest};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

#[path = "common/console.rs"]
mod console;
use console::sample_ratelimit;

const ACCT: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/aoai-swe";
const ANSWER: &str = "Quota is per region and model.\nEach deployment takes a share of it.\n";
const NOW: Duration = Duration::from_millis(1500);

fn theme() -> Theme {
    Theme::dark().for_terminal(ColourSupport::Ansi16)
}

/// Draws with `f` into a `w`×`h` TestBackend.
fn frame(w: u16, h: u16, f: impl FnOnce(Rect, &mut Buffer)) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|frame| f(frame.area(), frame.buffer_mut())).unwrap();
    t
}

fn draw(c: &mut dyn Component, props: &Props<'_>, w: u16, h: u16) -> Terminal<TestBackend> {
    let theme = theme();
    frame(w, h, |area, buf| c.draw(area, buf, &theme, props))
}

fn props(session: &Session) -> Props<'_> {
    Props {
        session,
        deployment: "gpt-4o",
        now: NOW,
        sim: true,
        known_deployments: &[],
    }
}

fn record() -> CallRecord {
    CallRecord {
        model: Some("gpt-4o-2024-11-20".into()),
        ratelimit: sample_ratelimit(),
        region: Some("Sweden Central".into()),
        ..console::done_record(ANSWER, 24, 18)
    }
}

/// One finished call, streamed through the same events a live one gets.
fn session() -> Session {
    let mut s = Session::default();
    let mut c = LiveCall::new(
        1,
        "gpt-4o",
        ApiPath::Classic,
        "How does quota work?",
        Duration::ZERO,
    );
    c.apply(
        CallEvent::AttemptStarted {
            attempt: 1,
            deployment: "gpt-4o".into(),
        },
        Duration::from_millis(5),
    );
    c.apply(
        CallEvent::Headers {
            status: 200,
            ttfb_ms: 120.0,
            ratelimit: Box::new(sample_ratelimit()),
            request_id: Some("0d6a3c1e-0000-4000-8000-000000000001".into()),
            region: Some("Sweden Central".into()),
        },
        Duration::from_millis(120),
    );
    c.apply(
        CallEvent::FirstToken { ttft_ms: 420.0 },
        Duration::from_millis(420),
    );
    c.apply(CallEvent::Delta(ANSWER.into()), Duration::from_millis(900));
    c.finish(record(), Duration::from_millis(1310));
    s.calls.push(c);
    s
}

#[test]
fn chat_narrow_with_summary_and_wide_with_call_panel() {
    let s = session();
    let mut chat = Chat::new();
    assert_snapshot!(
        "component_chat_60x16",
        draw(&mut chat, &props(&s), 60, 16).backend()
    );
    assert_snapshot!(
        "component_chat_110x16",
        draw(&mut chat, &props(&s), 110, 16).backend()
    );
}

/// A Responses call to a reasoning model: its summary streams first (muted, not the answer,
/// not TTFT), then the answer; the panel names the wire API and times the summary apart.
#[test]
fn a_responses_call_with_a_reasoning_summary() {
    let mut s = Session::default();
    let mut c = LiveCall::new(
        1,
        "o4-mini",
        ApiPath::V1,
        "Why is the sky blue?",
        Duration::ZERO,
    );
    c.wire_api = WireApi::Responses;
    c.apply(
        CallEvent::AttemptStarted {
            attempt: 1,
            deployment: "o4-mini".into(),
        },
        Duration::from_millis(5),
    );
    c.apply(
        CallEvent::Headers {
            status: 200,
            ttfb_ms: 110.0,
            ratelimit: Box::new(sample_ratelimit()),
            request_id: None,
            region: Some("Sweden Central".into()),
        },
        Duration::from_millis(110),
    );
    c.apply(
        CallEvent::Summary("Considering Rayleigh scattering.".into()),
        Duration::from_millis(300),
    );
    c.apply(
        CallEvent::FirstToken { ttft_ms: 900.0 },
        Duration::from_millis(900),
    );
    c.apply(
        CallEvent::Delta("Shorter wavelengths scatter more.\n".into()),
        Duration::from_millis(950),
    );
    let mut rec = CallRecord {
        deployment: "o4-mini".into(),
        api: ApiPath::V1,
        wire_api: WireApi::Responses,
        reasoning_summary: Some("Considering Rayleigh scattering.".into()),
        ..record()
    };
    rec.text = "Shorter wavelengths scatter more.\n".into();
    rec.timing.first_summary_ms = Some(300.0);
    rec.timing.ttft_ms = Some(900.0);
    c.finish(rec, Duration::from_millis(1000));
    s.calls.push(c);
    let mut chat = Chat::new();
    let t = draw(&mut chat, &props(&s), 80, 12);
    let screen = format!("{:?}", t.backend());
    assert!(
        screen.contains("∴ Considering Rayleigh scattering."),
        "{screen}"
    );
    assert_snapshot!("component_chat_responses_80x12", t.backend());
    let theme = theme();
    let t = frame(32, 20, |area, buf| {
        call_panel::render(area, buf, &theme, s.latest(), NOW)
    });
    let panel = format!("{:?}", t.backend());
    assert!(panel.contains("wire     responses"), "{panel}");
    assert!(panel.contains("summary"), "{panel}");
    assert_snapshot!("component_call_panel_responses_32x20", t.backend());
}

#[test]
fn call_panel_of_a_finished_call() {
    let s = session();
    let theme = theme();
    let t = frame(32, 20, |area, buf| {
        call_panel::render(area, buf, &theme, s.latest(), NOW)
    });
    assert_snapshot!("component_call_panel_32x20", t.backend());
}

/// A call that could not connect: the panel shows the error and points to `aoai doctor`.
#[test]
fn call_panel_of_a_call_that_could_not_connect() {
    use aoai::domain::call::{CallError, ErrorKind, Outcome};
    let mut s = Session::default();
    let mut c = LiveCall::new(1, "gpt-4o", ApiPath::Classic, "Hi", Duration::ZERO);
    let rec = CallRecord {
        outcome: Outcome::Failed,
        status: None,
        text: String::new(),
        usage: None,
        finish_reason: None,
        timing: Default::default(),
        ratelimit: Default::default(),
        request_id: None,
        region: None,
        error: Some(CallError::new(
            ErrorKind::Connect,
            "could not connect: Connection refused (os error 111)",
        )),
        ..record()
    };
    c.finish(rec, Duration::from_millis(3));
    s.calls.push(c);
    let theme = theme();
    let t = frame(32, 24, |area, buf| {
        call_panel::render(area, buf, &theme, s.latest(), NOW)
    });
    let panel = format!("{:?}", t.backend());
    assert!(panel.contains("hint: run `aoai doctor`"), "{panel}");
    assert_snapshot!("component_call_panel_connect_failed_32x24", t.backend());
}

#[test]
fn history_table() {
    let s = session();
    let mut h = History::default();
    assert_snapshot!(
        "component_history_80x8",
        draw(&mut h, &props(&s), 80, 8).backend()
    );
}

fn deployment(name: &str, sku: &str, capacity: u64) -> Deployment {
    Deployment {
        name: name.into(),
        model: "gpt-4o".into(),
        version: "2024-11-20".into(),
        sku: sku.into(),
        capacity,
        rpm: Some(capacity * 6),
        tpm: Some(capacity * 1000),
        state: "Succeeded".into(),
    }
}

#[test]
fn deployments_loaded_through_update() {
    let s = Session::default();
    let p = props(&s);
    let mut d = Deployments::default();
    d.loading();
    let acct = console::sample_account(ACCT);
    // Accounts in: the first is selected and its deployments and quota are asked for.
    assert_eq!(
        d.update(ArmMsg::Accounts(Ok(vec![acct])), &p),
        Handled::Command(Command::Arm(ArmCommand::SelectAccount {
            account_id: ACCT.into(),
            location: "swedencentral".into(),
        }))
    );
    d.update(
        ArmMsg::Deployments {
            account_id: ACCT.into(),
            result: Ok(vec![
                deployment("gpt-4o", "GlobalStandard", 450),
                deployment("gpt-4o-mini", "Standard", 100),
            ]),
        },
        &p,
    );
    d.update(
        ArmMsg::Quota {
            location: "swedencentral".into(),
            result: Ok(vec![QuotaUsage {
                name: "OpenAI.GlobalStandard.gpt-4o".into(),
                label: "OpenAI.GlobalStandard.gpt-4o".into(),
                current: 450.0,
                limit: 1000.0,
                unit: "Count".into(),
            }]),
        },
        &p,
    );
    assert!(d.is_loaded());
    assert_snapshot!(
        "component_deployments_100x20",
        draw(&mut d, &p, 100, 20).backend()
    );
}

#[test]
fn bench_form() {
    let s = Session::default();
    let mut b = BenchView::default();
    assert_snapshot!(
        "component_bench_80x20",
        draw(&mut b, &props(&s), 80, 20).backend()
    );
}

#[test]
fn compare_idle_columns() {
    let s = Session::default();
    let set = VariantSet {
        variants: vec![
            Variant::new("terse", "How does quota work?"),
            Variant::new("detailed", "Explain quota in detail."),
        ],
        ..VariantSet::single(Variant::new("v1", ""))
    };
    let mut c = Compare::new(set);
    assert_snapshot!(
        "component_compare_100x16",
        draw(&mut c, &props(&s), 100, 16).backend()
    );
}

fn scenario_call() -> ScenarioCall {
    ScenarioCall {
        proxied: None,
        started: "2026-01-05T10:00:00Z".into(),
        request: RecordedRequest {
            wire_api: Default::default(),
            wire_body: None,
            deployment: "gpt-4o".into(),
            api: ApiPath::Classic,
            api_version: Some("2024-10-21".into()),
            endpoint: Some("http://127.0.0.1".into()),
            stream: true,
            retry: "none".into(),
            headers: vec![],
            body: ChatRequest {
                messages: vec![ChatMessage::new("user", "How does quota work?")],
                ..Default::default()
            },
        },
        prompt_shape: PromptShape {
            system: 0,
            user: 6,
            assistant: 0,
            tool: 0,
            framing: 4,
        },
        record: record(),
    }
}

#[test]
fn replay_list() {
    let s = Session::default();
    let mut r = Replay::new(
        "session.jsonl",
        vec![scenario_call()],
        Speed::from_factor(1.0),
    );
    assert_snapshot!(
        "component_replay_100x14",
        draw(&mut r, &props(&s), 100, 14).backend()
    );
}

#[test]
fn status_bar_tabs_and_hints() {
    let theme = theme();
    let mut screens = Screens::default();
    let tabs = screens.tabs(Screen::History);
    let status = StatusProps {
        tabs: &tabs,
        deployment: "gpt-4o",
        endpoint: "in-process",
        signed_in: None,
        sim: true,
        calls_in_flight: false,
        recording: Some("● REC session.jsonl (3)".into()),
        recording_short: Some("● REC 3".into()),
    };
    let top = frame(100, 1, |area, buf| {
        status_bar::render_status(area, buf, &theme, &status)
    });
    assert_snapshot!("component_status_bar_100x1", top.backend());
    // Signed in with the az CLI: who and which subscription outrank the host and the tab
    // names, at 80 and 160 columns.
    let row = |w: u16, p: &StatusProps<'_>| {
        let t = frame(w, 1, |area, buf| {
            status_bar::render_status(area, buf, &theme, p)
        });
        let buf = t.backend().buffer();
        (0..w).map(|x| buf[(x, 0)].symbol()).collect::<String>()
    };
    let signed = StatusProps {
        endpoint: "prod-res.openai.azure.com",
        signed_in: Some("ops@contoso.com · Prod"),
        sim: false,
        recording: None,
        recording_short: None,
        ..status
    };
    let wide = row(160, &signed);
    assert!(
        wide.contains("F2 Chat")
            && wide.contains("gpt-4o @ prod-res.openai.azure.com · ops@contoso.com · Prod  LIVE"),
        "{wide}"
    );
    let narrow = row(80, &signed);
    assert!(
        narrow.contains("· ops@contoso.com · Prod  LIVE"),
        "{narrow}"
    );
    assert_eq!(narrow.chars().count(), 80);
    // The current screen's tab is the highlighted one.
    let buf = top.backend().buffer();
    let at = |word: &str| {
        let row: String = (0..100).map(|x| buf[(x, 0)].symbol()).collect();
        row.find(word)
            .map(|i| row[..i].chars().count() as u16)
            .unwrap()
    };
    assert_eq!(buf[(at("History"), 0)].style().bg, theme.tab_active.bg);
    assert_ne!(buf[(at("Chat"), 0)].style().bg, theme.tab_active.bg);
    // Replay is listed once a scenario is open.
    screens.replay = Some(Replay::new("s.jsonl", vec![], Speed::from_factor(1.0)));
    assert_eq!(screens.tabs(Screen::Chat).len(), Screen::ALL.len() - 1);
    // Traffic once the proxy runs (`aoai --proxy PORT`).
    screens.traffic = Some(aoai::tui::components::traffic::Traffic::new(
        "http://127.0.0.1:1",
    ));
    assert_eq!(screens.tabs(Screen::Chat).len(), Screen::ALL.len());
    // The hint bar of the chat's transcript: its keymap, then the unfocused globals.
    let mut chat = Chat::new();
    chat.on_key(
        KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
        &props(&Session::default()),
    );
    assert!(!chat.wants_text());
    let mut hints = chat.hints();
    hints.extend(keymap::hints(keymap::GLOBAL_UNFOCUSED));
    let bottom = frame(100, 1, |area, buf| {
        status_bar::render_hints(area, buf, &theme, &hints, None)
    });
    assert_snapshot!("component_hint_bar_100x1", bottom.backend());
}

/// The 2026 wire facts on the panel: a call a PTU deployment spilled over, low on tokens
/// (so the window resets show), with the async filter's late verdict.
#[test]
fn call_panel_of_a_spilled_call_with_an_async_verdict() {
    let rl = aoai::domain::ratelimit::RateLimit::from_headers([
        ("x-ratelimit-remaining-requests", "449"),
        ("x-ratelimit-limit-requests", "450"),
        ("x-ratelimit-remaining-tokens", "2000"),
        ("x-ratelimit-limit-tokens", "450000"),
        ("x-ratelimit-reset-requests", "9"),
        ("x-ratelimit-reset-tokens", "42"),
        ("x-ratelimit-renewalperiod-requests", "10"),
        ("x-ratelimit-renewalperiod-tokens", "60"),
        ("x-ms-is-spilled-over", "true"),
    ]);
    let mut s = Session::default();
    let mut c = LiveCall::new(1, "gpt-4.1-ptu", ApiPath::Classic, "Hi", Duration::ZERO);
    c.finish(
        CallRecord {
            ratelimit: rl,
            async_filter: Some(aoai::domain::stream::AsyncFilter {
                annotations: 2,
                filtered: vec!["violence".into()],
                checked_to: 70,
            }),
            ..record()
        },
        Duration::from_millis(1310),
    );
    s.calls.push(c);
    let theme = theme();
    let t = frame(44, 26, |area, buf| {
        call_panel::render(area, buf, &theme, s.latest(), NOW)
    });
    let screen = format!("{:?}", t.backend());
    assert!(screen.contains("spilled  yes"), "{screen}");
    assert!(screen.contains("filtered (async): violence"), "{screen}");
    assert!(screen.contains("requests 9 s · tokens 42 s"), "{screen}");
    assert_snapshot!("component_call_panel_spilled_async_44x26", t.backend());
}

/// The Traffic screen fed the proxy's events for two calls (one streamed answer, one still
/// in flight): rows fill in as headers, first token, progress and the end arrive; the live
/// pane follows the selected call's text; `/`, `s` and `d` filter; Enter opens History's
/// full view with the request line and client above it.
#[test]
fn traffic_rows_fill_in_as_the_proxy_reports() {
    use aoai::engine::proxy::{ClientInfo, ProxiedCall, ProxyEvent};
    use aoai::tui::components::traffic::Traffic;
    let client = ClientInfo {
        addr: "127.0.0.1:50012".parse().unwrap(),
        user_agent: Some("AzureOpenAI/Python 1.99.0".into()),
    };
    let started = |id: u64, deployment: &str| ProxyEvent::Started {
        id,
        client: client.clone(),
        method: "POST".into(),
        path: format!("/openai/deployments/{deployment}/chat/completions?api-version=2024-10-21"),
        deployment: deployment.into(),
        api: ApiPath::Classic,
        wire_api: aoai::domain::call::WireApi::Chat,
        stream: true,
        injected: None,
        prompt: "system: Be brief.\nuser: How does quota work?".into(),
    };
    let headers = |id: u64| ProxyEvent::Headers {
        id,
        status: 200,
        ttfb_ms: 120.0,
        ratelimit: Box::new(sample_ratelimit()),
        request_id: Some(format!("req-{id}")),
        region: Some("Sweden Central".into()),
    };
    let ms = Duration::from_millis;
    let mut t = Traffic::new("http://127.0.0.1:8090 → simulator");
    assert!(t.on_event(started(1, "gpt-4o"), ms(0)));
    assert!(t.on_event(headers(1), ms(120)));
    assert!(t.on_event(
        ProxyEvent::FirstToken {
            id: 1,
            ttft_ms: 420.0
        },
        ms(420)
    ));
    assert!(t.on_event(started(2, "gpt-4o-mini"), ms(430)));
    let done = CallRecord {
        id: 1,
        deployment: "gpt-4o".into(),
        cost_usd: Some(0.00058),
        ..record()
    };
    assert!(t.on_event(
        ProxyEvent::Finished(Box::new(ProxiedCall {
            record: done,
            client: client.clone(),
            method: "POST".into(),
            path: "/openai/deployments/gpt-4o/chat/completions".into(),
            injected: None,
            started: std::time::UNIX_EPOCH,
        })),
        ms(900)
    ));
    assert!(
        !t.on_event(
            ProxyEvent::FirstToken {
                id: 99,
                ttft_ms: 1.0
            },
            ms(901)
        ),
        "an unknown call changes nothing"
    );
    // Call 2 streams: its text reaches the live pane as progress reports arrive.
    assert!(t.on_event(headers(2), ms(500)));
    assert!(t.on_event(
        ProxyEvent::FirstToken {
            id: 2,
            ttft_ms: 310.0
        },
        ms(740)
    ));
    assert!(t.on_event(
        ProxyEvent::Progress {
            id: 2,
            text: "Quota is granted per region".into(),
            summary: String::new(),
            chunks: 5,
        },
        ms(800)
    ));
    assert!(t.on_event(
        ProxyEvent::Progress {
            id: 2,
            text: " and model, in tokens per minute.".into(),
            summary: String::new(),
            chunks: 11,
        },
        ms(850)
    ));
    assert_eq!(t.rows().len(), 2);
    assert_eq!(
        t.rows()[1].live.answer.text(),
        "Quota is granted per region and model, in tokens per minute."
    );
    let theme = theme();
    let shot = |t: &mut Traffic, w: u16, h: u16| {
        frame(w, h, |area, buf| t.render(area, buf, &theme, ms(1000)))
    };
    let screen = format!("{:?}", shot(&mut t, 80, 14).backend());
    assert!(
        screen.contains("420 ms") && screen.contains("$0.0006") && screen.contains("…11"),
        "{screen}"
    );
    assert_snapshot!("component_traffic_80x14", shot(&mut t, 80, 14).backend());
    // Following, the live pane shows the newest call streaming, with the call panel.
    let screen = format!("{:?}", shot(&mut t, 100, 30).backend());
    assert!(
        screen.contains("in tokens per minute.") && screen.contains("~11 chunks"),
        "{screen}"
    );
    assert_snapshot!(
        "component_traffic_live_100x30",
        shot(&mut t, 100, 30).backend()
    );
    // `/` filters by deployment (or status, client, path).
    for c in "/mini".chars() {
        t.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    t.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let screen = format!("{:?}", shot(&mut t, 80, 14).backend());
    assert!(
        screen.contains("1 of 2") && !screen.contains("420 ms"),
        "{screen}"
    );
    t.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    // `s` steps the status filter: errors (none here), then 429 (none), then ok (call 1).
    let key = |t: &mut Traffic, c: char| {
        t.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    };
    key(&mut t, 's');
    let screen = format!("{:?}", shot(&mut t, 80, 14).backend());
    assert!(
        screen.contains("status:errors") && screen.contains("No call matches"),
        "{screen}"
    );
    key(&mut t, 's');
    key(&mut t, 's');
    let screen = format!("{:?}", shot(&mut t, 80, 14).backend());
    assert!(
        screen.contains("status:ok") && screen.contains("1 of 2") && screen.contains("420 ms"),
        "{screen}"
    );
    key(&mut t, 's');
    let screen = format!("{:?}", shot(&mut t, 80, 14).backend());
    assert!(
        screen.contains("status:live") && !screen.contains("420 ms"),
        "{screen}"
    );
    key(&mut t, 's');
    // `d` steps through the deployments seen.
    key(&mut t, 'd');
    let screen = format!("{:?}", shot(&mut t, 80, 14).backend());
    assert!(
        screen.contains("deployment:gpt-4o`") && screen.contains("1 of 2"),
        "{screen}"
    );
    key(&mut t, 'd');
    key(&mut t, 'd');
    let screen = format!("{:?}", shot(&mut t, 80, 14).backend());
    assert!(screen.contains("2 calls"), "{screen}");
    // Enter: History's full view of the selected call (call 1), headers included.
    t.handle_key(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE));
    t.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let t2 = frame(80, 40, |area, buf| t.render(area, buf, &theme, ms(1000)));
    let screen = format!("{:?}", t2.backend());
    assert!(screen.contains("AzureOpenAI/Python 1.99.0"), "{screen}");
    assert!(screen.contains("ttfb 120 ms · ttft 420 ms"), "{screen}");
    assert!(screen.contains("Response headers"), "{screen}");
    assert!(screen.contains("How does quota work?"), "{screen}");
    t.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    let screen = format!("{:?}", shot(&mut t, 80, 14).backend());
    assert!(screen.contains("2 calls"), "{screen}");
}
