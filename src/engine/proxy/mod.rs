//! The recording proxy (`aoai proxy`): an HTTP server that forwards every request of an
//! application to the upstream resource unchanged and streams each answer back as it
//! arrives, while it reads the same bytes into a [`CallRecord`] from its vantage point (TTFB,
//! TTFT, e2e, usage, cost, rate-limit headers, 429 cause, request id, region). UI-free: what
//! happens is reported as typed [`ProxyEvent`]s on a channel a front end subscribes to (the
//! headless printer today, a Traffic screen later), and optionally recorded as a scenario.
//!
//! Credentials: the application's `api-key` / `Authorization` pass through to the upstream,
//! never into a record, an event or a log; a non-https upstream is refused unless it is on
//! loopback.

mod call;
mod forward;
pub mod inject;
pub mod measure;
pub mod request;
pub mod tap;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::domain::call::{ApiPath, CallRecord, WireApi};
use crate::domain::cost::PriceTable;
use crate::domain::ratelimit::RateLimit;
use crate::domain::scenario::ScenarioCall;
use crate::engine::record::writer::{RecordMsg, spawn_writer};
use crate::engine::record::{RecordError, Recorder};
use inject::{InjectSpec, Injector};

/// How to run the proxy.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// Address to listen on (default 127.0.0.1).
    pub bind: IpAddr,
    /// 0: any free port.
    pub port: u16,
    /// The upstream's base URL (scheme, host, port); the request's path and query follow it.
    pub upstream: url::Url,
    pub inject: Vec<InjectSpec>,
    /// Seed of the fault draws.
    pub seed: u64,
    /// Record every chat / Responses call into this scenario file (appending).
    pub record: Option<PathBuf>,
    /// Shown in the scenario header (never a secret).
    pub profile: Option<String>,
    pub prices: Arc<PriceTable>,
    pub connect_timeout: Duration,
    /// Until the upstream's response headers; past it the application gets a 504.
    pub first_byte_timeout: Duration,
    /// Longest silence of the upstream mid-body; past it the body breaks off.
    pub idle_timeout: Duration,
    /// `--auth profile`: the credential sent upstream in place of the application's own
    /// (`api-key` / `Authorization` from the application are dropped), so an application
    /// can run with a dummy key. Entra tokens are fetched and refreshed per request.
    pub auth: Option<crate::azure::Auth>,
    /// `--proxy-key`: the application must present this secret (as `api-key` or a Bearer
    /// token) before the profile's credential is used for it.
    pub proxy_key: Option<crate::azure::Secret>,
    /// Report each call's streamed text as it arrives ([`ProxyEvent::Progress`], at most
    /// every [`PROGRESS_EVERY`] per call), for a view that follows a live call.
    pub live: bool,
}

/// How often a live call's progress is reported at most.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(50);

impl ProxyOptions {
    pub fn new(upstream: url::Url) -> Self {
        ProxyOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            upstream,
            inject: vec![],
            seed: 1,
            record: None,
            profile: None,
            prices: Arc::new(PriceTable::builtin()),
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(60),
            auth: None,
            proxy_key: None,
            live: false,
        }
    }
}

/// Who made a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub addr: SocketAddr,
    pub user_agent: Option<String>,
}

/// A call once it ended: the record plus what only the proxy knows.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxiedCall {
    pub record: CallRecord,
    pub client: ClientInfo,
    pub method: String,
    /// The path as the application sent it, and of its query only `api-version`: a key or
    /// signature in the URL (`api-key=`, `sig=`) is never kept.
    pub path: String,
    /// The injected fault, if any (`429`, `cut-stream`, …).
    pub injected: Option<String>,
    pub started: SystemTime,
}

/// What the proxy reports, per call in this order (`Headers` and `FirstToken` only when
/// they happen), each call with its own id.
#[derive(Debug, Clone, PartialEq)]
pub enum ProxyEvent {
    Started {
        id: u64,
        client: ClientInfo,
        method: String,
        path: String,
        deployment: String,
        api: ApiPath,
        wire_api: WireApi,
        stream: bool,
        injected: Option<String>,
        /// The conversation sent, as text (`role: content` lines, capped at
        /// [`request::PROMPT_SHOWN`] bytes); empty for other calls.
        prompt: String,
    },
    Headers {
        id: u64,
        status: u16,
        ttfb_ms: f64,
        ratelimit: Box<RateLimit>,
        request_id: Option<String>,
        region: Option<String>,
    },
    FirstToken {
        id: u64,
        ttft_ms: f64,
    },
    /// More of a streamed answer (only with [`ProxyOptions::live`]): the text and summary
    /// added since the last report, and the content chunks so far.
    Progress {
        id: u64,
        text: String,
        summary: String,
        chunks: u64,
    },
    Finished(Box<ProxiedCall>),
    /// News from the recording thread (opened, written, failed).
    Record(RecordMsg),
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error(
        "refusing upstream {0}: credentials would travel unencrypted; use https (plain http only to loopback)"
    )]
    InsecureUpstream(String),
    #[error("upstream {0}: only http and https URLs can be forwarded to")]
    BadUpstream(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("building the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// Whether credentials may be sent to `url`: https anywhere, http only on loopback.
pub fn check_upstream(url: &url::Url) -> Result<(), ProxyError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            if crate::azure::net::is_loopback(url) {
                Ok(())
            } else {
                Err(ProxyError::InsecureUpstream(url.to_string()))
            }
        }
        _ => Err(ProxyError::BadUpstream(url.to_string())),
    }
}

/// What every request handler shares.
pub(crate) struct Shared {
    pub http: reqwest::Client,
    /// The upstream base, no trailing slash.
    pub base: String,
    /// The upstream as a scenario may show it (scheme, host, port).
    pub endpoint: String,
    pub injector: Injector,
    pub prices: Arc<PriceTable>,
    pub events: Option<mpsc::UnboundedSender<ProxyEvent>>,
    pub recorder: Option<std::sync::mpsc::Sender<ScenarioCall>>,
    pub next_id: AtomicU64,
    pub auth: Option<crate::azure::Auth>,
    pub proxy_key: Option<crate::azure::Secret>,
    pub live: bool,
    pub first_byte_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Shared {
    pub fn emit(&self, ev: ProxyEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.send(ev);
        }
    }
}

/// A running proxy. Dropping it stops the server.
pub struct ProxyHandle {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl ProxyHandle {
    /// `http://ADDR:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs until the server stops (it stops only on [`ProxyHandle::shutdown`] or an error).
    pub async fn wait(mut self) {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// Stops accepting and lets open calls end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the proxy; `events` receives what happens (none: run silently, still recording).
pub async fn start(
    opts: ProxyOptions,
    events: Option<mpsc::UnboundedSender<ProxyEvent>>,
) -> Result<ProxyHandle, ProxyError> {
    check_upstream(&opts.upstream)?;
    let events_wanted = events.is_some();
    // The upstream is reached as every client of ours reaches Azure: through the egress
    // proxy the environment names, a plain-http loopback upstream (the simulator) direct.
    let http = crate::azure::net::client_builder(opts.upstream.as_str())
        .connect_timeout(opts.connect_timeout)
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let recorder = match &opts.record {
        Some(path) => {
            // Opened here first, so a bad file fails the start rather than the first call.
            drop(Recorder::open(path, opts.profile.as_deref())?);
            let tx = events.clone();
            Some(spawn_writer(
                1,
                path.clone(),
                opts.profile.clone(),
                move |m| {
                    if let Some(tx) = &tx {
                        let _ = tx.send(ProxyEvent::Record(m));
                    }
                },
            ))
        }
        None => None,
    };
    let mut endpoint = opts.upstream.clone();
    let _ = endpoint.set_username("");
    let _ = endpoint.set_password(None);
    endpoint.set_query(None);
    endpoint.set_fragment(None);
    let shared = Arc::new(Shared {
        http,
        // The request's own path and query follow the base: an upstream given with a query
        // or fragment (`http://host/?x=y`) must not keep them in front of the path.
        base: {
            let mut u = opts.upstream.clone();
            u.set_query(None);
            u.set_fragment(None);
            u.as_str().trim_end_matches('/').to_string()
        },
        endpoint: endpoint.as_str().trim_end_matches('/').to_string(),
        injector: Injector::new(opts.inject.clone(), opts.seed),
        prices: opts.prices.clone(),
        events,
        recorder,
        next_id: AtomicU64::new(1),
        auth: opts.auth.clone(),
        proxy_key: opts.proxy_key.clone(),
        live: opts.live && events_wanted,
        first_byte_timeout: opts.first_byte_timeout,
        idle_timeout: opts.idle_timeout,
    });
    let addr = SocketAddr::new(opts.bind, opts.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ProxyError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ProxyError::Bind { addr, source })?;
    // Each chunk goes out as it is written (no Nagle wait for the next one).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = axum::Router::new()
        .fallback(forward::handle)
        .with_state(shared);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await;
    });
    Ok(ProxyHandle {
        addr,
        shutdown: Some(tx),
        task: Some(task),
    })
}
