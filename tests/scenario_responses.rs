//! Responses API calls through the scenario pipeline, from a real recording: a recorded Azure
//! Responses stream (conformance fixture 91, Mirascope's vcrpy cassette of
//! `POST /openai/responses`, see tests/fixtures/conformance/README.md) is served over
//! loopback, called by our client with `--wire-api responses` semantics and recorded as a
//! scenario (format version 2); the file loads, reports, and `aoai sim --replay` serves it
//! back to the client with the recorded event names, text, usage and request id.

use std::path::Path;
use std::time::Duration;

use aoai::azure::endpoint::Endpoint;
use aoai::azure::{Auth, CallSpec, ChatClient, ClientConfig, Secret};
use aoai::domain::call::{ApiPath, CallRecord, Outcome, WireApi};
use aoai::engine::record::{self, Recorder, scenario_call};
use aoai::wire::{ChatMessage, ChatRequest};
use axum::body::Body;
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const FIXTURE: &str = "tests/fixtures/conformance/91-responses-stream-deployments-api.json";

/// A loopback server answering every request with the recording, one event per write.
async fn serve_recording() -> (String, Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let f: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let body = f["response"]["body"].as_str().unwrap().to_string();
    let request_id = f["response"]["headers"]["apim-request-id"]
        .as_str()
        .unwrap()
        .to_string();
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        let request_id = request_id.clone();
        async move {
            let pieces: Vec<Result<String, std::convert::Infallible>> = body
                .split_inclusive("\n\n")
                .map(|p| Ok(p.to_string()))
                .collect();
            let mut r = Response::new(Body::from_stream(futures_util::stream::iter(pieces)));
            *r.status_mut() = StatusCode::OK;
            let h = r.headers_mut();
            h.insert(
                "content-type",
                HeaderValue::from_static("text/event-stream; charset=utf-8"),
            );
            h.insert(
                "apim-request-id",
                HeaderValue::from_str(&request_id).unwrap(),
            );
            h.insert("x-ms-region", HeaderValue::from_static("East US"));
            r
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), f)
}

fn client(base: &str, api: ApiPath) -> ChatClient {
    let mut cfg = ClientConfig::new(
        Endpoint::parse(base).unwrap(),
        Auth::ApiKey(Secret::new("scenario-responses-key")),
    );
    cfg.api = api;
    cfg.wire_api = WireApi::Responses;
    ChatClient::new(cfg).unwrap()
}

fn ask(question: &str) -> CallSpec {
    let mut spec = CallSpec::new(
        "gpt-4o-mini",
        ChatRequest {
            messages: vec![
                ChatMessage::new("system", "Answer with the sum."),
                ChatMessage::new("user", question),
            ],
            max_completion_tokens: Some(100),
            ..Default::default()
        },
    );
    spec.capture_events = true;
    spec
}

async fn run(c: &ChatClient, spec: &CallSpec) -> CallRecord {
    tokio::time::timeout(
        Duration::from_secs(20),
        c.run(1, spec, &CancellationToken::new(), &mut |_| {}),
    )
    .await
    .expect("the call ends")
}

#[tokio::test]
async fn a_recorded_azure_responses_stream_round_trips_through_a_scenario() {
    let (base, f) = serve_recording().await;
    let expect = &f["expect"];
    let c = client(&base, ApiPath::Classic);
    let spec = ask("What is 4200 + 42?");
    let rec = run(&c, &spec).await;
    assert_eq!(rec.outcome, Outcome::Done, "{:?}", rec.error);
    assert_eq!(rec.text, expect["text"].as_str().unwrap());
    assert_eq!(rec.wire_api, WireApi::Responses);

    // Recorded as version 2: the wire API and the body as sent (instructions, input).
    let dir = std::env::temp_dir().join(format!("aoai-scenario-responses-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("responses.jsonl");
    let mut recorder = Recorder::open(&file, None).unwrap();
    recorder
        .append(scenario_call(
            c.config(),
            &spec,
            rec.clone(),
            std::time::SystemTime::now(),
        ))
        .unwrap();
    drop(recorder);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.lines().next().unwrap().contains(r#""version":2"#),
        "{text}"
    );
    assert!(
        !text.contains("scenario-responses-key"),
        "no secret in the file"
    );
    let loaded = record::load(&file).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let call = &loaded.calls[0];
    assert_eq!(call.request.wire_api, WireApi::Responses);
    let sent = call.request.wire_body.as_ref().expect("the body as sent");
    assert_eq!(sent["instructions"], "Answer with the sum.");
    assert_eq!(sent["input"][0]["content"], "What is 4200 + 42?");
    assert_eq!(sent["max_output_tokens"], 100);
    assert_eq!(sent["store"], false);
    // Every recorded event, the real ones, is in the file.
    assert!(
        call.record
            .events
            .iter()
            .any(|e| e.data.contains("response.output_text.delta"))
    );

    // Served back by `aoai sim --replay`: the same answer, usage and request id, on both
    // Responses paths, to a request written the way the SDK writes it.
    let replay = aoai::sim::replay::start(loaded.calls.clone(), 0)
        .await
        .unwrap();
    for api in [ApiPath::Classic, ApiPath::V1] {
        let base = match api {
            ApiPath::V1 => format!("{}/openai/v1", replay.base_url()),
            _ => replay.base_url(),
        };
        let again = run(&client(&base, api), &ask("What is 4200 + 42?")).await;
        assert_eq!(again.outcome, Outcome::Done, "{api:?}: {:?}", again.error);
        assert_eq!(again.text, rec.text, "{api:?}");
        assert_eq!(again.usage, rec.usage, "{api:?}");
        assert_eq!(again.finish_reason, rec.finish_reason, "{api:?}");
        assert_eq!(again.request_id, rec.request_id, "{api:?}");
        assert!(again.timing.ttft_ms.is_some(), "{api:?}");
    }
}

#[tokio::test]
async fn the_replay_server_names_responses_events_and_refuses_a_body_without_input() {
    let (base, _) = serve_recording().await;
    let c = client(&base, ApiPath::V1);
    let rec = run(&c, &ask("What is 4200 + 42?")).await;
    let call = scenario_call(c.config(), &ask("q"), rec, std::time::SystemTime::now());
    let replay = aoai::sim::replay::start(vec![call], 0).await.unwrap();
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/openai/v1/responses", replay.base_url()))
        .json(&serde_json::json!({"model": "gpt-4o-mini", "input": "What is 4200 + 42?", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(
        body.starts_with("event: response.created\ndata: {"),
        "{body}"
    );
    assert!(body.contains("event: response.completed\n"), "{body}");
    assert!(!body.contains("[DONE]"), "no [DONE] on the Responses API");
    let bad = http
        .post(format!("{}/openai/v1/responses", replay.base_url()))
        .json(&serde_json::json!({"model": "gpt-4o-mini"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("no `input`"));
}
