//! Azure AI Foundry model inference (`--api foundry`): our client against the simulator's
//! `/models/chat/completions` over loopback, the URL shapes users paste, and `aoai chat`.

use std::time::Duration;

use aoai::azure::endpoint::Endpoint;
use aoai::azure::{Auth, CallSpec, ChatClient, ClientConfig, Secret};
use aoai::domain::call::{ApiPath, Outcome};
use aoai::sim::{SimConfig, Simulator};
use aoai::wire::{ChatMessage, ChatRequest};
use tokio_util::sync::CancellationToken;

async fn call(base: &str, deployment: &str, stream: bool) -> aoai::domain::call::CallRecord {
    let mut cfg = ClientConfig::new(
        Endpoint::parse(base).unwrap(),
        Auth::ApiKey(Secret::new("foundry-key")),
    );
    cfg.api = ApiPath::Foundry;
    let client = ChatClient::new(cfg).unwrap();
    let mut spec = CallSpec::new(
        deployment,
        ChatRequest {
            messages: vec![ChatMessage::new("user", "Name a prime number.")],
            max_completion_tokens: Some(40),
            ..Default::default()
        },
    );
    spec.stream = stream;
    tokio::time::timeout(
        Duration::from_secs(20),
        client.run(1, &spec, &CancellationToken::new(), &mut |_| {}),
    )
    .await
    .expect("the call ends")
}

#[tokio::test]
async fn the_client_speaks_foundry_model_inference_to_the_simulator() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    for base in [sim.base_url(), format!("{}/models", sim.base_url())] {
        for stream in [true, false] {
            let rec = call(&base, "gpt-4o", stream).await;
            assert_eq!(
                rec.outcome,
                Outcome::Done,
                "{base} stream={stream}: {:?}",
                rec.error
            );
            assert!(!rec.text.is_empty());
            assert!(rec.usage.is_some_and(|u| u.prompt_tokens > 0));
            assert!(rec.request_id.is_some());
        }
    }
    let paths: Vec<String> = sim.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths.iter().all(|p| p == "/models/chat/completions"),
        "{paths:?}"
    );
    // Completion ids are 32 hex digits, as the recordings show (not `chatcmpl-…`).
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/models/chat/completions?api-version=2024-05-01-preview",
            sim.base_url()
        ))
        .header("api-key", "k")
        .json(&serde_json::json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = body["id"].as_str().unwrap();
    assert!(
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    // An unknown model is explained as on the v1 path.
    let rec = call(&sim.base_url(), "no-such-model", true).await;
    assert_eq!(rec.outcome, Outcome::Failed);
    let msg = rec.error.unwrap().to_string();
    assert!(msg.contains("no deployment named `no-such-model`"), "{msg}");
}
