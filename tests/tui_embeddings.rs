//! An embeddings deployment in the deployments browser: Enter does not open a chat that would
//! fail, the browser says why; `e` asks for an embeddings call and its figures show in the
//! browser's embeddings pane. The component alone (TestBackend snapshots), then the whole
//! console against the in-process simulator (real executor, real HTTP).

#[path = "common/console.rs"]
mod console;
#[path = "common/harness.rs"]
mod harness;

use aoai::azure::arm::Deployment;
use aoai::domain::embeddings::EmbedRecord;
use aoai::tui::app::Screen;
use aoai::tui::component::{Component, Props, Update};
use aoai::tui::components::deployments::Deployments;
use aoai::tui::event::ArmMsg;
use aoai::tui::messages::{ArmCommand, Command, Handled};
use aoai::tui::session::Session;
use aoai::tui::theme::{ColourSupport, Theme};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use harness::Harness;
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const ACCT: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/aoai-swe";

fn dep(name: &str, model: &str) -> Deployment {
    Deployment {
        name: name.into(),
        model: model.into(),
        version: "1".into(),
        sku: "Standard".into(),
        capacity: 120,
        rpm: Some(720),
        tpm: Some(120_000),
        state: "Succeeded".into(),
    }
}

fn draw(d: &mut Deployments, p: &Props<'_>) -> Terminal<TestBackend> {
    let theme = Theme::dark().for_terminal(ColourSupport::Ansi16);
    let mut t = Terminal::new(TestBackend::new(100, 22)).unwrap();
    t.draw(|f| d.draw(f.area(), f.buffer_mut(), &theme, p))
        .unwrap();
    t
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

#[test]
fn an_embeddings_row_refuses_chat_and_offers_an_embeddings_call() {
    let s = Session::default();
    let p = Props {
        session: &s,
        deployment: "gpt-4o",
        now: std::time::Duration::from_millis(1500),
        sim: true,
        known_deployments: &[],
    };
    let mut d = Deployments::default();
    d.loading();
    d.update(
        ArmMsg::Accounts(Ok(vec![console::sample_account(ACCT)])),
        &p,
    );
    d.update(
        ArmMsg::Deployments {
            account_id: ACCT.into(),
            result: Ok(vec![
                dep("gpt-4o", "gpt-4o"),
                dep("text-embedding-3-small", "text-embedding-3-small"),
            ]),
        },
        &p,
    );
    d.update(
        ArmMsg::Quota {
            location: "swedencentral".into(),
            result: Ok(vec![]),
        },
        &p,
    );
    // A chat row opens a chat.
    assert!(matches!(
        d.on_key(key(KeyCode::Enter), &p),
        Handled::Command(Command::Arm(ArmCommand::Open(_)))
    ));
    // `e` on a chat row does nothing.
    assert_eq!(d.on_key(key(KeyCode::Char('e')), &p), Handled::Consumed);
    d.on_key(key(KeyCode::Down), &p);
    // Enter on the embeddings row: no chat, the pane says why.
    assert_eq!(d.on_key(key(KeyCode::Enter), &p), Handled::Consumed);
    let refused = draw(&mut d, &p);
    assert_snapshot!("embeddings_row_refuses_chat_100x22", refused.backend());
    assert!(format!("{:?}", refused.backend()).contains("embeddings model: cannot chat"));
    // `e` asks for an embeddings call to it, on its account's endpoint.
    let Handled::Command(Command::Arm(ArmCommand::Embed(t))) =
        d.on_key(key(KeyCode::Char('e')), &p)
    else {
        panic!("e asks for an embeddings call");
    };
    assert_eq!(t.name, "text-embedding-3-small");
    assert_eq!(
        t.endpoint.as_deref(),
        Some("https://aoai-swe.openai.azure.com/")
    );
    // Its figures come back and show.
    let rec = EmbedRecord {
        deployment: "text-embedding-3-small".into(),
        status: Some(200),
        ttfb_ms: Some(41.0),
        e2e_ms: Some(44.0),
        prompt_tokens: Some(10),
        total_tokens: Some(10),
        vectors: 1,
        dimensions: Some(1536),
        model: Some("text-embedding-3-small".into()),
        cost_usd: Some(0.0000002),
        ..Default::default()
    };
    d.update(ArmMsg::Embedded(Box::new(rec)), &p);
    let done = draw(&mut d, &p);
    assert_snapshot!("embeddings_row_call_done_100x22", done.backend());
    assert!(
        format!("{:?}", done.backend())
            .contains("200 · 1 × 1536 · 10 tokens · ttfb 41 ms · e2e 44 ms")
    );
}

#[tokio::test]
async fn the_console_runs_an_embeddings_call_from_the_browser() {
    let mut h = Harness::on_sim("gpt-4o").await;
    h.key(KeyCode::F(4));
    h.run_until(|a| a.screen == Screen::Deployments && a.deployments().is_loaded())
        .await;
    h.keys("/embedding");
    h.key(KeyCode::Enter);
    // Enter on it: the console stays on the browser and says it cannot chat.
    h.key(KeyCode::Enter);
    h.keys("e");
    h.run_until(|a| a.deployments().embeddings().record().is_some())
        .await;
    assert_eq!(h.app.screen, Screen::Deployments);
    assert_eq!(h.app.session.calls.len(), 0, "no chat call was made");
    let rec = h.app.deployments().embeddings().record().unwrap().clone();
    assert_eq!(rec.error, None, "{rec:?}");
    assert_eq!((rec.vectors, rec.dimensions), (1, Some(1536)));
    assert_eq!(
        rec.prompt_tokens,
        Some(aoai::tokens::count_cl100k("The quick brown fox jumps over the lazy dog.") as u64)
    );
    let screen = h.screen();
    assert!(screen.contains("embeddings model: cannot chat"), "{screen}");
    assert!(screen.contains("1 × 1536"), "{screen}");
}
