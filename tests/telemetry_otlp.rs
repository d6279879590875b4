//! OTLP export of `aoai chat` into an in-process OTLP/HTTP receiver on 127.0.0.1 that decodes
//! the protobuf with opentelemetry-proto: the GenAI span and its attributes, retries as child
//! spans, the metrics, no secret in any exported byte, and a dead collector that changes no
//! call's outcome and is reported once.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use common::*;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::Value;

const CANARY: &str = "canary-key-7f3a9";

type Bodies = Arc<Mutex<Vec<(String, Bytes)>>>;

/// A loopback OTLP/HTTP receiver: keeps every body it is sent.
async fn receiver() -> (String, Bodies) {
    let bodies: Bodies = Arc::default();
    async fn keep(path: &'static str, State(b): State<Bodies>, body: Bytes) -> &'static str {
        b.lock().unwrap().push((path.to_string(), body));
        ""
    }
    let app = Router::new()
        .route("/v1/traces", post(|s, b| keep("traces", s, b)))
        .route("/v1/metrics", post(|s, b| keep("metrics", s, b)))
        .with_state(bodies.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, bodies)
}

/// Runs `aoai chat --json` (bounded by the command's own timeouts) and returns (record, stderr).
async fn chat(sim: &str, otlp: Option<&str>, extra: &[&str]) -> (Value, String) {
    let mut args: Vec<String> = [
        "chat",
        "--endpoint",
        sim,
        "--api-key",
        CANARY,
        "-d",
        "gpt-4o",
    ]
    .map(String::from)
    .to_vec();
    if let Some(o) = otlp {
        args.extend(["--otlp".to_string(), o.to_string()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--json".into(), "Name three fruits".into()]);
    let out = bounded(tokio::task::spawn_blocking(move || {
        let mut c = aoai();
        for v in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_TRACES_SAMPLER",
            "OTEL_SDK_DISABLED",
        ] {
            c.env_remove(v);
        }
        c.env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true");
        c.args(&args).timeout(LIMIT).output().unwrap()
    }))
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let rec: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout} / {}", String::from_utf8_lossy(&out.stderr)));
    (rec, String::from_utf8_lossy(&out.stderr).to_string())
}

fn spans(bodies: &Bodies) -> Vec<Span> {
    let b = bodies.lock().unwrap();
    b.iter()
        .filter(|(p, _)| p == "traces")
        .flat_map(|(_, body)| {
            ExportTraceServiceRequest::decode(body.clone())
                .expect("protobuf traces")
                .resource_spans
        })
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .collect()
}

fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a any_value::Value> {
    s.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

fn str_attr(s: &Span, key: &str) -> Option<String> {
    match attr(s, key) {
        Some(any_value::Value::StringValue(v)) => Some(v.clone()),
        _ => None,
    }
}

fn int_attr(s: &Span, key: &str) -> Option<i64> {
    match attr(s, key) {
        Some(any_value::Value::IntValue(v)) => Some(*v),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_exports_a_gen_ai_span_and_metrics_without_secrets() {
    let sim = sim().await;
    let (url, bodies) = receiver().await;
    let (rec, _) = chat(&sim.base_url(), Some(&url), &[]).await;
    assert_eq!(rec["status"], 200);

    let spans = spans(&bodies);
    assert_eq!(spans.len(), 1, "one span for one call of one attempt");
    let s = &spans[0];
    assert_eq!(s.name, "chat gpt-4o");
    assert_eq!(s.kind, 3, "CLIENT");
    assert_eq!(
        str_attr(s, "gen_ai.operation.name").as_deref(),
        Some("chat")
    );
    assert_eq!(
        str_attr(s, "gen_ai.provider.name").as_deref(),
        Some("azure.ai.openai")
    );
    assert_eq!(
        str_attr(s, "gen_ai.request.model").as_deref(),
        Some("gpt-4o")
    );
    assert_eq!(
        int_attr(s, "gen_ai.usage.input_tokens"),
        rec["usage"]["prompt_tokens"].as_i64()
    );
    assert_eq!(
        int_attr(s, "gen_ai.usage.output_tokens"),
        rec["usage"]["completion_tokens"].as_i64()
    );
    assert_eq!(
        str_attr(s, "azure.request_id"),
        rec["request_id"].as_str().map(String::from)
    );
    assert_eq!(str_attr(s, "server.address").as_deref(), Some("127.0.0.1"));
    assert!(
        str_attr(s, "gen_ai.input.messages")
            .unwrap()
            .contains("Name three fruits")
    );
    // The span lasts as long as the call did (its own timings, not the export's).
    let e2e_ns = (rec["call_ms"].as_f64().unwrap() * 1e6) as u64;
    assert!(s.end_time_unix_nano - s.start_time_unix_nano <= e2e_ns + 1_000);

    let b = bodies.lock().unwrap();
    let metric_names: Vec<String> = b
        .iter()
        .filter(|(p, _)| p == "metrics")
        .flat_map(|(_, body)| {
            ExportMetricsServiceRequest::decode(body.clone())
                .unwrap()
                .resource_metrics
        })
        .flat_map(|r| r.scope_metrics)
        .flat_map(|s| s.metrics)
        .map(|m| m.name)
        .collect();
    for name in [
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.time_to_first_chunk",
    ] {
        assert!(
            metric_names.iter().any(|m| m == name),
            "{name} in {metric_names:?}"
        );
    }
    for (_, body) in b.iter() {
        assert!(
            !body.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
            "the API key reached an export"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_are_child_spans_and_a_throttle_is_an_error() {
    let sim = sim().await;
    let (url, bodies) = receiver().await;
    let (rec, _) = chat(
        &sim.base_url(),
        Some(&url),
        &[
            "--retry",
            "honor:3",
            "-H",
            "x-sim-fault:429",
            "-H",
            "x-sim-retry-after-ms:10",
        ],
    )
    .await;
    assert_eq!(rec["status"], 429);
    let attempts = rec["attempts"].as_array().unwrap().len();
    assert!(attempts >= 2, "retried: {rec}");
    let spans = spans(&bodies);
    let parent = spans
        .iter()
        .find(|s| s.name == "chat gpt-4o")
        .expect("call span");
    let children: Vec<_> = spans
        .iter()
        .filter(|s| s.parent_span_id == parent.span_id)
        .collect();
    assert_eq!(children.len(), attempts, "one child per attempt: {spans:?}");
    assert_eq!(str_attr(parent, "error.type").as_deref(), Some("429"));
    assert_eq!(parent.status.as_ref().unwrap().code, 2, "ERROR");
    assert!(
        children
            .iter()
            .all(|c| int_attr(c, "http.response.status_code") == Some(429))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_collector_changes_no_call_and_is_reported_once() {
    let sim = sim().await;
    // A port nothing listens on: bound, then closed.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let other = common::sim().await;
    let (plain, plain_err) = chat(&sim.base_url(), None, &["--seed", "3"]).await;
    let (with, err) = chat(&other.base_url(), Some(&dead), &["--seed", "3"]).await;
    assert!(
        !plain_err.contains("telemetry"),
        "off by default: {plain_err}"
    );
    for key in ["status", "text", "outcome", "finish_reason", "usage"] {
        assert_eq!(plain[key], with[key], "{key}");
    }
    assert_eq!(err.matches("telemetry export failed").count(), 1, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_scenario_writes_as_otlp_json() {
    let sim = sim().await;
    let dir = std::env::temp_dir().join(format!("aoai-otlp-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("calls.jsonl");
    let f = file.to_string_lossy().to_string();
    chat(&sim.base_url(), None, &["--record", &f]).await;
    let loaded = aoai::engine::record::load(&file).unwrap();
    let mut out = Vec::new();
    let n = aoai::engine::telemetry::write_otlp_json(&loaded, false, &mut out).unwrap();
    assert_eq!(n, 1);
    assert!(!out.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()));
    let v: Value = serde_json::from_slice(&out).unwrap();
    let span = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["name"], "chat gpt-4o");
    assert_eq!(
        span["traceId"].as_str().unwrap().len(),
        32,
        "hex trace id: {span}"
    );
    assert_eq!(span["spanId"].as_str().unwrap().len(), 16);
    let start: u64 = span["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
    let started = humantime::parse_rfc3339(&loaded.calls[0].started).unwrap();
    let want = started
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert_eq!(start, want, "the call's own start time");
    let attrs = span["attributes"].as_array().unwrap();
    let tokens = attrs
        .iter()
        .find(|a| a["key"] == "gen_ai.usage.input_tokens")
        .expect("input tokens");
    assert_eq!(
        tokens["value"]["intValue"],
        Value::String(
            loaded.calls[0]
                .record
                .usage
                .unwrap()
                .prompt_tokens
                .to_string()
        ),
        "int64 as a string"
    );
    assert!(
        attrs.iter().all(|a| a["key"] != "gen_ai.input.messages"),
        "no content by default"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A traces-only endpoint (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, as for Phoenix or Jaeger)
/// gets spans and no metrics; `OTEL_TRACES_EXPORTER=none` with a general endpoint sends
/// metrics only.
#[tokio::test(flavor = "multi_thread")]
async fn each_signal_goes_only_where_an_endpoint_names_it() {
    let sim = sim().await;
    let run = |envs: Vec<(&'static str, String)>| {
        let sim = sim.base_url();
        tokio::task::spawn_blocking(move || {
            let mut c = aoai();
            for v in [
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "OTEL_TRACES_EXPORTER",
                "OTEL_METRICS_EXPORTER",
                "OTEL_SDK_DISABLED",
            ] {
                c.env_remove(v);
            }
            c.envs(envs);
            let out = c
                .args([
                    "chat",
                    "--endpoint",
                    &sim,
                    "--api-key",
                    CANARY,
                    "-d",
                    "gpt-4o",
                ])
                .args(["--json", "Name three fruits"])
                .timeout(LIMIT)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stderr).to_string()
        })
    };
    let kinds = |b: &Bodies| -> Vec<String> {
        let mut k: Vec<String> = b.lock().unwrap().iter().map(|(p, _)| p.clone()).collect();
        k.dedup();
        k
    };

    let (url, bodies) = receiver().await;
    let stderr = bounded(run(vec![(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        format!("{url}/v1/traces"),
    )]))
    .await
    .unwrap();
    assert_eq!(kinds(&bodies), vec!["traces"], "{stderr}");
    assert!(!stderr.contains("telemetry"), "nothing failed: {stderr}");

    let (url, bodies) = receiver().await;
    let stderr = bounded(run(vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", url.clone()),
        ("OTEL_TRACES_EXPORTER", "none".into()),
    ]))
    .await
    .unwrap();
    assert_eq!(kinds(&bodies), vec!["metrics"], "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_embeddings_call_exports_an_embeddings_span_and_metrics() {
    let sim = sim().await;
    let (url, bodies) = receiver().await;
    let base = sim.base_url();
    let out = bounded(tokio::task::spawn_blocking(move || {
        let mut c = aoai();
        for v in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ] {
            c.env_remove(v);
        }
        c.args(["embed", "--endpoint", &base, "--api-key", CANARY])
            .args(["-d", "text-embedding-3-small", "--otlp", &url, "--json"])
            .args(["first text", "second text"])
            .timeout(LIMIT)
            .output()
            .unwrap()
    }))
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec: Value = serde_json::from_slice(&out.stdout).unwrap();
    let spans = spans(&bodies);
    assert_eq!(spans.len(), 1);
    let s = &spans[0];
    assert_eq!(s.name, "embeddings text-embedding-3-small");
    assert_eq!(s.kind, 3, "CLIENT");
    assert_eq!(
        str_attr(s, "gen_ai.operation.name").as_deref(),
        Some("embeddings")
    );
    assert_eq!(
        int_attr(s, "gen_ai.usage.input_tokens"),
        rec["prompt_tokens"].as_i64()
    );
    assert_eq!(int_attr(s, "gen_ai.embeddings.dimension.count"), Some(1536));
    assert_eq!(int_attr(s, "azure.embeddings.inputs"), Some(2));
    assert_eq!(
        str_attr(s, "azure.request_id"),
        rec["request_id"].as_str().map(String::from)
    );
    let metrics = bodies
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| p == "metrics")
        .count();
    assert!(metrics > 0, "duration and token metrics are sent");
    for (_, body) in bodies.lock().unwrap().iter() {
        assert!(
            !String::from_utf8_lossy(body).contains(CANARY),
            "no key in any export"
        );
    }
}
