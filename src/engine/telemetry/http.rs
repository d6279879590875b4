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

/// Who hears of a failure while the console owns the terminal.
pub type Notify = Box<dyn Fn(String) + Send + Sync>;

/// Says the first export failure once; later ones are counted silently.
#[derive(Default)]
pub struct Reporter {
    reported: AtomicBool,
    /// The console owns the terminal: its message waits for the end (see [`Reporter::take`]),
    /// and is shown on its status line meanwhile ([`Reporter::notify`]).
    defer: AtomicBool,
    deferred: Mutex<Option<String>>,
    notify: Mutex<Option<Notify>>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("reported", &self.reported)
            .field("defer", &self.defer)
            .finish_non_exhaustive()
    }
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
            if let Ok(n) = self.notify.lock()
                && let Some(n) = n.as_ref()
            {
                n(format!(
                    "Telemetry export failed ({what}); calls are unaffected"
                ));
            }
            if let Ok(mut d) = self.deferred.lock() {
                *d = Some(line);
            }
        } else {
            eprintln!("{line}");
        }
    }

    /// While deferred, `f` hears of the failure when it happens (the console's status line).
    pub fn notify(&self, f: Notify) {
        if let Ok(mut n) = self.notify.lock() {
            *n = Some(f);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deferred_failure_is_shown_once_as_it_happens_and_kept_for_the_end() {
        let r = Reporter::default();
        r.defer(true);
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let s2 = seen.clone();
        r.notify(Box::new(move |m| s2.lock().unwrap().push(m)));
        r.fail("http://127.0.0.1:1/v1/traces: connection refused");
        r.fail("again");
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].contains("connection refused") && seen[0].contains("unaffected"));
        assert!(r.failed());
        assert!(r.take().is_some_and(|l| l.contains("connection refused")));
        assert!(r.take().is_none(), "printed once");
    }
}
