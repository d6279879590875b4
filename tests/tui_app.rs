//! The whole console under TestBackend against the in-process simulator (`SimConfig::instant`):
//! real event loop, real executor, real HTTP calls; input injected through a channel.

#[path = "common/harness.rs"]
mod harness;

use aoai::domain::call::Outcome;
use aoai::tui::app::Screen;
use crossterm::event::{KeyCode, KeyModifiers};
use harness::{Harness, ended};

async fn harness(deployment: &str) -> Harness {
    let mut h = Harness::on_sim(deployment).await;
    h.ops.edit_suffix = " (edited)";
    h
}

#[tokio::test]
async fn a_real_call_streams_into_the_transcript_and_panel() {
    let mut h = harness("gpt-4o").await;
    h.keys("Tell me about quotas");
    h.key(KeyCode::Enter);
    h.run_until(|a| ended(a, 1)).await;
    let call = h.app.session.latest().unwrap();
    let rec = call.record.as_ref().unwrap();
    assert_eq!(rec.outcome, Outcome::Done, "{rec:?}");
    assert!(!rec.text.is_empty());
    assert!(rec.timing.ttft_ms.is_some());
    let screen = h.screen();
    assert_eq!(call.prompt, "Tell me about quotas");
    assert!(screen.contains("✓ done"), "{screen}");
    assert!(screen.contains("TTFT"), "{screen}");
    assert!(screen.contains("Sweden Central"), "{screen}");

    // A follow-up carries the conversation; history shows both; copy the request id.
    h.keys("And more?");
    h.key(KeyCode::Enter);
    h.run_until(|a| ended(a, 2)).await;
    h.key(KeyCode::F(3));
    h.keys("c");
    h.run_until(|a| a.screen == Screen::History && a.message.is_some())
        .await;
    let id = h.app.session.latest().unwrap().request_id.clone().unwrap();
    assert_eq!(h.ops.copied, vec![id]);
}

#[tokio::test]
async fn deployments_screen_loads_from_arm_and_opens_a_chat() {
    let mut h = harness("gpt-4o").await;
    h.key(KeyCode::F(4));
    h.run_until(|a| a.screen == Screen::Deployments && a.deployments().is_loaded())
        .await;
    let screen = h.screen();
    assert!(
        screen.contains("gpt-4o-mini") && screen.contains("GlobalStandard"),
        "{screen}"
    );
    assert!(screen.contains("OpenAI.GlobalStandard.gpt-4o"), "{screen}");
    h.keys("/4o-mini");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Enter);
    h.run_until(|a| a.screen == Screen::Chat).await;
    assert_eq!(h.app.deployment, "gpt-4o-mini");
}

#[tokio::test]
async fn third_quick_call_on_gpt_4o_mini_is_throttled_with_a_countdown() {
    let mut h = harness("gpt-4o-mini").await;
    for n in 1..=3 {
        h.keys(&format!("call {n}"));
        h.key(KeyCode::Enter);
        h.run_until(|a| ended(a, n)).await;
    }
    let rec = h.app.session.latest().unwrap().record.clone().unwrap();
    assert_eq!(rec.outcome, Outcome::Throttled, "{rec:?}");
    assert_eq!(rec.status, Some(429));
    assert!(h.app.animating(), "retry-after countdown ticks");
    let screen = h.screen();
    assert!(screen.contains("left"), "{screen}");
}

#[tokio::test]
async fn cancel_marks_the_call_cancelled() {
    let mut h = harness("gpt-4o").await;
    h.keys("Hello");
    h.key(KeyCode::Enter);
    h.key(KeyCode::Esc);
    h.run_until(|a| ended(a, 1)).await;
    let rec = h.app.session.latest().unwrap().record.clone().unwrap();
    // The instant simulator may finish before Esc is read; either way the record is final.
    assert!(
        matches!(rec.outcome, Outcome::Cancelled | Outcome::Done),
        "{rec:?}"
    );
}

#[tokio::test]
async fn editor_round_trip_replaces_the_prompt() {
    let mut h = harness("gpt-4o").await;
    h.keys("draft");
    h.key_with(KeyCode::Char('g'), KeyModifiers::CONTROL);
    h.run_until(|a| a.screens.chat.prompt() == "draft (edited)")
        .await;
}

/// The console sends the output budget in the same wire field as `aoai chat`, bench and
/// compare (`max_completion_tokens`, which reasoning models require), or `max_tokens` when
/// told (`--max-tokens-field`, profile key): the simulator refuses `max_tokens` on o4-mini as
/// Azure does.
#[tokio::test]
async fn the_budget_goes_in_the_configured_wire_field() {
    let mut h = harness("o4-mini").await;
    h.keys("hi");
    h.key(KeyCode::Enter);
    h.run_until(|a| ended(a, 1)).await;
    let rec = h.app.session.latest().unwrap().record.clone().unwrap();
    assert_eq!(rec.status, Some(200), "{:?}", rec.error);

    h.app
        .set_max_tokens_field(aoai::domain::params::MaxTokensField::MaxTokens);
    h.keys("again");
    h.key(KeyCode::Enter);
    h.run_until(|a| ended(a, 2)).await;
    let rec = h.app.session.latest().unwrap().record.clone().unwrap();
    assert_eq!(rec.status, Some(400));
    assert!(
        rec.error.unwrap().message.contains("max_tokens"),
        "the service names the field"
    );
}
