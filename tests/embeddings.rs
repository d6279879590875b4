//! Embeddings end to end over loopback: the simulator's `/embeddings` on both paths (shapes,
//! exact cl100k token counts, unit vectors of the model's size or `dimensions`, 401, 429,
//! unknown deployments), a chat call to an embeddings deployment refused with Azure's
//! explanation, our client's `ChatClient::embed` figures, and `aoai embed --json`.

mod common;
#[path = "common/sim.rs"]
mod support;

use aoai::azure::{Auth, Secret};
use aoai::domain::call::{ApiPath, ErrorKind, Outcome};
use aoai::domain::embeddings::EmbedSpec;
use aoai::sim::SimConfig;
use aoai::sim::config::DeploymentConfig;
use aoai::tokens;
use aoai::wire::embeddings::EmbeddingVector;
use common::{ask, bounded, client, client_for, run, sim, sim_with};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use support::{V, post, start};
use tokio_util::sync::CancellationToken;

const EMB: &str = "text-embedding-3-small";

fn classic(base: &str, deployment: &str) -> String {
    format!("{base}/openai/deployments/{deployment}/embeddings?api-version={V}")
}

fn v1(base: &str) -> String {
    format!("{base}/openai/v1/embeddings")
}

fn vector(item: &Value) -> Vec<f64> {
    item["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn spec(inputs: &[&str], dimensions: Option<u32>) -> EmbedSpec {
    EmbedSpec {
        deployment: EMB.into(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        dimensions,
    }
}

/// A fleet whose embeddings deployment admits one request per 10 s.
fn one_call_per_window(cfg: &mut SimConfig) {
    for d in &mut cfg.deployments {
        if d.name == EMB {
            d.capacity = 1;
        }
    }
}

#[tokio::test]
async fn classic_path_answers_in_the_api_shape_with_exact_tokens() {
    let sim = start(SimConfig::instant()).await;
    let texts = ["The food was delicious and the waiter…", "second phrase"];
    let r = post(
        &classic(&sim.base_url(), EMB),
        &json!({ "input": texts }),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("content-type").starts_with("application/json"));
    assert!(!r.header("apim-request-id").is_empty());
    assert!(!r.header("x-ratelimit-remaining-tokens").is_empty());
    let body = r.json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["data", "model", "object", "usage"]);
    assert_eq!(body["object"], "list");
    assert_eq!(body["model"], EMB);
    let exact: usize = texts.iter().map(|t| tokens::count_cl100k(t)).sum();
    assert_eq!(
        body["usage"],
        json!({ "prompt_tokens": exact, "total_tokens": exact })
    );
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    for (i, item) in data.iter().enumerate() {
        assert_eq!(item["object"], "embedding");
        assert_eq!(item["index"], i);
        let v = vector(item);
        assert_eq!(v.len(), 1536);
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "unit length, got {norm}");
    }
    assert_ne!(vector(&data[0]), vector(&data[1]));
    // The same text embeds the same, call after call.
    let again = post(
        &classic(&sim.base_url(), EMB),
        &json!({ "input": texts[0] }),
        &[],
    )
    .await;
    assert_eq!(vector(&again.json()["data"][0]), vector(&data[0]));
    let log = sim.requests();
    assert_eq!(
        log.last().unwrap().prompt_tokens,
        tokens::count_cl100k(texts[0]) as u64
    );
}

#[tokio::test]
async fn v1_path_takes_the_deployment_as_model_and_honours_dimensions() {
    let sim = start(SimConfig::instant()).await;
    let r = post(
        &v1(&sim.base_url()),
        &json!({ "model": EMB, "input": "hello", "dimensions": 256 }),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(vector(&r.json()["data"][0]).len(), 256);
    // Token ids count as themselves.
    let r = post(
        &v1(&sim.base_url()),
        &json!({ "model": EMB, "input": [[1, 2, 3], [4]] }),
        &[],
    )
    .await;
    assert_eq!(r.json()["usage"]["prompt_tokens"], 4);
    // base64 vectors (what the Python SDK asks for) carry the same number of floats.
    let r = post(
        &v1(&sim.base_url()),
        &json!({ "model": EMB, "input": "hello", "encoding_format": "base64" }),
        &[],
    )
    .await;
    let b64 = r.json()["data"][0]["embedding"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(EmbeddingVector::Base64(b64).dimensions(), Some(1536));
    // Too many dimensions, an unknown model.
    let r = post(
        &v1(&sim.base_url()),
        &json!({ "model": EMB, "input": "x", "dimensions": 5000 }),
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("'dimensions' = 5000"), "{}", r.text());
    let r = post(
        &v1(&sim.base_url()),
        &json!({ "model": "nope", "input": "x" }),
        &[],
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (400, json!("unknown_model"))
    );
}

#[tokio::test]
async fn large_model_is_3072_and_classic_errors_are_azures() {
    let sim = start({
        let mut cfg = SimConfig::instant();
        cfg.deployments.push(DeploymentConfig::new(
            "emb-large",
            "text-embedding-3-large",
            "1",
            "Standard",
            10,
        ));
        cfg
    })
    .await;
    let r = post(
        &classic(&sim.base_url(), "emb-large"),
        &json!({"input": "x"}),
        &[],
    )
    .await;
    assert_eq!(vector(&r.json()["data"][0]).len(), 3072);
    let r = post(
        &classic(&sim.base_url(), "missing"),
        &json!({"input": "x"}),
        &[],
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("DeploymentNotFound"));
    let no_version = format!("{}/openai/deployments/{EMB}/embeddings", sim.base_url());
    let r = post(&no_version, &json!({"input": "x"}), &[]).await;
    assert_eq!(
        (r.status, r.text()),
        (
            404,
            r#"{"error":{"code":"404","message":"Resource not found"}}"#.to_string()
        )
    );
    // An embeddings call to a chat deployment: Azure's OperationNotSupported, naming the model.
    let r = post(
        &classic(&sim.base_url(), "gpt-4o"),
        &json!({"input": "x"}),
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "OperationNotSupported");
    assert!(
        r.json()["error"]["message"].as_str().unwrap().starts_with(
            "The embeddings operation does not work with the specified model, gpt-4o."
        )
    );
}

#[tokio::test]
async fn wrong_key_is_401() {
    let sim = sim_with(|c| c.api_keys = vec!["right".into()]).await;
    let r = post(&classic(&sim.base_url(), EMB), &json!({"input": "x"}), &[]).await;
    assert_eq!(r.status, 401);
    assert!(
        r.text()
            .contains("Access denied due to invalid subscription key")
    );
    let c = client_for(&sim, ApiPath::Classic, Auth::ApiKey(Secret::new("wrong")));
    let rec = bounded(c.embed(&spec(&["x"], None), &CancellationToken::new())).await;
    assert_eq!(rec.status, Some(401));
    let err = rec.error.unwrap();
    assert_eq!(err.kind, ErrorKind::Http);
    assert!(err.message.contains("Access denied"), "{}", err.message);
    let ok = client_for(&sim, ApiPath::Classic, Auth::ApiKey(Secret::new("right")));
    let rec = bounded(ok.embed(&spec(&["x"], None), &CancellationToken::new())).await;
    assert_eq!(rec.error, None);
}

#[tokio::test]
async fn rate_limits_answer_429_naming_the_embeddings_operation() {
    let sim = sim_with(one_call_per_window).await;
    let url = classic(&sim.base_url(), EMB);
    assert_eq!(post(&url, &json!({"input": "a"}), &[]).await.status, 200);
    let r = post(&url, &json!({"input": "b"}), &[]).await;
    assert_eq!(r.status, 429, "{}", r.text());
    let retry: u64 = r.header("retry-after").parse().unwrap();
    assert!(retry >= 1);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("Embeddings_Create"), "{msg}");
    assert!(msg.contains("call rate limit"), "{msg}");
    assert!(
        msg.contains(&format!("retry after {retry} second")),
        "{msg}"
    );
    // Our client reports it as throttled, with the retry-after.
    let rec = bounded(client(&sim).embed(&spec(&["c"], None), &CancellationToken::new())).await;
    assert_eq!(rec.status, Some(429));
    assert_eq!(rec.error.as_ref().unwrap().kind, ErrorKind::Throttled);
    assert!(rec.ratelimit.retry_after_ms.is_some());
}

#[tokio::test]
async fn a_429_fault_header_throttles_an_embeddings_call() {
    let sim = sim().await;
    let r = post(
        &v1(&sim.base_url()),
        &json!({"model": EMB, "input": "a"}),
        &[("x-sim-fault", "429"), ("x-sim-retry-after-ms", "2000")],
    )
    .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after-ms"), "2000");
    assert!(r.text().contains("Embeddings_Create"));
}

#[tokio::test]
async fn client_measures_an_embeddings_call_on_both_paths() {
    let sim = sim().await;
    let texts = ["first phrase", "second phrase", "third"];
    for api in [ApiPath::Classic, ApiPath::V1] {
        let c = client_for(&sim, api, Auth::ApiKey(Secret::new("k")));
        let rec = bounded(c.embed(&spec(&texts, Some(64)), &CancellationToken::new())).await;
        assert_eq!(rec.error, None, "{api:?}");
        assert_eq!(rec.status, Some(200));
        assert_eq!(rec.api, api);
        assert_eq!((rec.vectors, rec.dimensions), (3, Some(64)));
        let exact: usize = texts.iter().map(|t| tokens::count_cl100k(t)).sum();
        assert_eq!(rec.prompt_tokens, Some(exact as u64));
        assert_eq!(rec.total_tokens, Some(exact as u64));
        assert_eq!(rec.model.as_deref(), Some(EMB));
        assert!(rec.request_id.is_some() && rec.region.is_some());
        assert!(rec.ttfb_ms.is_some() && rec.e2e_ms >= rec.ttfb_ms);
        assert!(rec.ratelimit.remaining_tokens.is_some());
        // $0.02 per 1M input tokens.
        let cost = rec.cost_usd.unwrap();
        assert!((cost - exact as f64 * 0.02 / 1e6).abs() < 1e-12, "{cost}");
    }
    let path = |i: usize| sim.requests()[i].path.clone();
    assert_eq!(path(0), format!("/openai/deployments/{EMB}/embeddings"));
    assert_eq!(path(1), "/openai/v1/embeddings");
}

#[tokio::test]
async fn chat_to_an_embeddings_deployment_is_refused_and_explained() {
    let sim = sim().await;
    let r = post(
        &format!(
            "{}/openai/deployments/{EMB}/chat/completions?api-version={V}",
            sim.base_url()
        ),
        &json!({"messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "OperationNotSupported");
    assert_eq!(
        r.json()["error"]["message"],
        "The chatCompletion operation does not work with the specified model, text-embedding-3-small. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993."
    );
    let (rec, _) = run(&client(&sim), &ask(EMB, "hi")).await;
    assert_eq!(rec.outcome, Outcome::Failed);
    let msg = rec.error.unwrap().message;
    assert!(
        msg.starts_with("deployment `text-embedding-3-small` cannot chat: its model does not support it; for an embeddings model try `aoai embed -d text-embedding-3-small TEXT`"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aoai_embed_json_prints_the_record() {
    let sim = sim().await;
    let out = common::aoai()
        .args(["embed", "--endpoint", &sim.base_url(), "--api-key", "k"])
        .args([
            "--json",
            "--dimensions",
            "128",
            "-d",
            EMB,
            "one text",
            "two",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let exact = tokens::count_cl100k("one text") + tokens::count_cl100k("two");
    assert_eq!(v["status"], 200);
    assert_eq!(v["vectors"], 2);
    assert_eq!(v["dimensions"], 128);
    assert_eq!(v["prompt_tokens"], exact);
    assert_eq!(v["model"], EMB);
    assert!(v["request_id"].is_string() && v["e2e_ms"].is_number());
    assert_eq!(v["error"], Value::Null);
    // A chat deployment cannot embed: exit 1, the reason in the record.
    let out = common::aoai()
        .args(["embed", "--endpoint", &sim.base_url(), "--api-key", "k"])
        .args(["--json", "-d", "gpt-4o", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("deployment `gpt-4o` cannot embed"),
        "{v}"
    );
}
