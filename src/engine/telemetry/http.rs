//! The OTLP exporters' HTTP client: our reqwest 0.13 behind opentelemetry-http's
//! `HttpClient`, so the OpenTelemetry crates bring no second reqwest / hyper.
//!
//! The SDK's batch processor and periodic reader export from their own threads; each request
//! is spawned onto the application's tokio runtime and awaited there. Every failure (no
//! connection, a timeout, a non-2xx answer) goes to the [`Reporter`], which says it once.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

/// Says the first export failure once; later ones are counted silently.
#[derive(Debug, Default)]
pub struct Reporter {
    reported: AtomicBool,
    /// The console owns the terminal: its message waits for the end (see [`Reporter::take`]).
    defer: AtomicBool,
    deferred: Mutex<Option<String>>,
}

impl Reporter {
    pub fn defer(&self, on: bool) {
        self.defer.store(on, Ordering::SeqCst);
    }

    /// Reports `what` if nothing was reported yet.
    pub fn fail(&self, what: &str) {
        if self.reported.swap(true, Ordering::SeqCst) {
            return;
        }
        let line = format!(
            "aoai: telemetry export failed ({what}); calls are unaffected, further export failures are not reported"
        );
        if self.defer.load(Ordering::SeqCst) {
            if let Ok(mut d) = self.deferred.lock() {
                *d = Some(line);
            }
        } else {
            eprintln!("{line}");
        }
    }

    pub fn failed(&self) -> bool {
        self.reported.load(Ordering::SeqCst)
    }

    /// The deferred message, once.
    pub fn take(&self) -> Option<String> {
        self.deferred.lock().ok().and_then(|mut d| d.take())
    }
}

#[derive(Debug, Clone)]
pub struct OtlpHttp {
    client: reqwest::Client,
    rt: tokio::runtime::Handle,
    reporter: Arc<Reporter>,
}

impl OtlpHttp {
    pub fn new(
        rt: tokio::runtime::Handle,
        timeout: Duration,
        reporter: Arc<Reporter>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .build()?;
        Ok(OtlpHttp {
            client,
            rt,
            reporter,
        })
    }
}

/// An error and its causes, `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

async fn send(client: reqwest::Client, request: Request<Bytes>) -> Result<Response<Bytes>, String> {
    let request = reqwest::Request::try_from(request).map_err(|e| e.to_string())?;
    let url = request.url().clone();
    let resp = client
        .execute(request)
        .await
        .map_err(|e| format!("{url}: {}", chain(&e)))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    let mut out = Response::builder()
        .status(status)
        .body(body)
        .map_err(|e| e.to_string())?;
    *out.headers_mut() = headers;
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}"));
    }
    Ok(out)
}

#[async_trait]
impl HttpClient for OtlpHttp {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let joined = self.rt.spawn(send(self.client.clone(), request)).await;
        let result = match joined {
            Ok(r) => r,
            Err(e) => Err(format!("export task ended: {e}")),
        };
        result.map_err(|e| {
            self.reporter.fail(&e);
            e.into()
        })
    }
}
