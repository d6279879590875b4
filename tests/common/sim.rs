//! Helpers shared by the `sim_*` loopback tests (included with `#[path]`): raw HTTP against
//! the simulator, without our client in between.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use aoai::sim::{SimConfig, SimHandle, Simulator};
use reqwest::header::HeaderMap;
use serde_json::Value;

pub const T: Duration = Duration::from_secs(20);
pub const V: &str = "2024-10-21";

/// Awaits `f` for at most `T`.
pub async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(T, f).await.expect("timed out")
}

pub async fn start(cfg: SimConfig) -> SimHandle {
    within(Simulator::start(cfg))
        .await
        .expect("simulator starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client builds")
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .expect("ascii header")
    }
    /// The SSE events (text between blank lines), `data: ` stripped.
    pub fn events(&self) -> Vec<String> {
        self.text()
            .split("\n\n")
            .filter(|s| !s.is_empty())
            .map(|s| s.strip_prefix("data: ").unwrap_or(s).to_string())
            .collect()
    }

    /// [`Self::events`] with each chunk's random `obfuscation` padding emptied, so that
    /// chunks can be compared byte for byte.
    pub fn events_unpadded(&self) -> Vec<String> {
        self.events().iter().map(|e| unpad(e)).collect()
    }
}

/// `"obfuscation":"<anything>"` → `"obfuscation":""`.
pub fn unpad(event: &str) -> String {
    const KEY: &str = "\"obfuscation\":\"";
    match event.find(KEY) {
        Some(i) => {
            let start = i + KEY.len();
            let end = start + event[start..].find('"').unwrap_or(0);
            format!("{}{}", &event[..start], &event[end..])
        }
        None => event.to_string(),
    }
}

pub fn classic_url(sim: &SimHandle, deployment: &str) -> String {
    format!(
        "{}/openai/deployments/{deployment}/chat/completions?api-version={V}",
        sim.base_url()
    )
}

pub fn chat_body(stream: bool, include_usage: bool) -> Value {
    let mut b = serde_json::json!({
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello."}
        ],
        "seed": 7,
        "stream": stream,
    });
    if include_usage {
        b["stream_options"] = serde_json::json!({"include_usage": true});
    }
    b
}

/// POSTs JSON with `api-key: x` plus `extra` headers; the body read may fail (`reset`).
pub async fn post_raw(
    url: &str,
    body: &Value,
    extra: &[(&str, &str)],
) -> (u16, HeaderMap, Result<Vec<u8>, reqwest::Error>) {
    let mut req = client().post(url).header("api-key", "x").json(body);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = within(req.send()).await.expect("request sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = within(resp.bytes()).await.map(|b| b.to_vec());
    (status, headers, bytes)
}

pub async fn post(url: &str, body: &Value, extra: &[(&str, &str)]) -> Resp {
    let (status, headers, body) = post_raw(url, body, extra).await;
    Resp {
        status,
        headers,
        body: body.expect("body read"),
    }
}

pub async fn get(url: &str, extra: &[(&str, &str)]) -> Resp {
    let mut req = client().get(url);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = within(req.send()).await.expect("request sent");
    Resp {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: within(resp.bytes()).await.expect("body").to_vec(),
    }
}
