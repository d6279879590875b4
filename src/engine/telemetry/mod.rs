//! OpenTelemetry export of finished calls (docs/telemetry.md): one GenAI CLIENT span per call
//! (child spans per HTTP attempt when retried) and the GenAI client metrics, over OTLP/HTTP
//! protobuf, batched on the SDK's own threads. The mapping is pure
//! (`domain::telemetry`, semconv v1.41.0); this module only feeds it to the SDK.
//!
//! Off unless `--otlp URL` or `OTEL_EXPORTER_OTLP_ENDPOINT` /
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set: then [`global`] is `None` and every hook
//! returns at once. An export failure never reaches a call: spans go to a bounded queue
//! (2048, the newest dropped when full), are sent from a background thread, and the first
//! failure is reported once ([`http::Reporter`]).

pub mod http;
mod otlp_json;

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use opentelemetry::metrics::{Histogram, MeterProvider};
use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider,
};

use crate::azure::ClientConfig;
use crate::domain::call::{CallRecord, CallSpec};
use crate::domain::scenario::{RecordedRequest, ScenarioCall};
use crate::domain::telemetry::{self as map, AttrValue, MapOptions, SCHEMA_URL, SpanPlan};

pub use otlp_json::{OtlpJsonError, write_otlp_json};

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("telemetry: {0}")]
    Build(String),
    #[error("telemetry needs the tokio runtime it exports on")]
    NoRuntime,
}

/// Where and how to export, from the flag and the standard variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `--otlp URL`: a base like `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` and
    /// `/v1/metrics` are appended). `None`: the variables decide.
    pub base: Option<String>,
    pub capture_content: bool,
    /// Share of bench calls exported as spans (`AOAI_OTEL_BENCH_SAMPLE`, default 0.1);
    /// bench metrics count every call.
    pub bench_sample: f64,
    /// Whether spans / metrics are sent at all: a signal is on when an endpoint names it
    /// (`--otlp`, `OTEL_EXPORTER_OTLP_ENDPOINT`, or its own `…_TRACES_` / `…_METRICS_`
    /// endpoint) and `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` is not `none`. A
    /// traces-only endpoint (Phoenix, Jaeger) gets no metrics posted to it.
    pub traces: bool,
    pub metrics: bool,
}

fn env_on(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

impl Settings {
    /// `None` when telemetry is off (no flag, no endpoint variable, or `OTEL_SDK_DISABLED`).
    pub fn from_env(flag: Option<&str>) -> Option<Settings> {
        if std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
            return None;
        }
        let base = flag.map(|f| f.trim_end_matches('/').to_string());
        let general = base.is_some() || env_on("OTEL_EXPORTER_OTLP_ENDPOINT");
        let not_none =
            |var: &str| !std::env::var(var).is_ok_and(|v| v.trim().eq_ignore_ascii_case("none"));
        let traces = not_none("OTEL_TRACES_EXPORTER")
            && (general || env_on("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
        let metrics = not_none("OTEL_METRICS_EXPORTER")
            && (general || env_on("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"));
        if !traces && !metrics {
            return None;
        }
        Some(Settings {
            traces,
            metrics,
            base,
            capture_content: std::env::var("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
                .is_ok_and(|v| v.trim().eq_ignore_ascii_case("true")),
            bench_sample: std::env::var("AOAI_OTEL_BENCH_SAMPLE")
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|r| (0.0..=1.0).contains(r))
                .unwrap_or(0.1),
        })
    }
}

struct Instruments {
    duration: Histogram<f64>,
    ttfc: Histogram<f64>,
    tokens: Histogram<u64>,
}

/// A running exporter.
pub struct Telemetry {
    settings: Settings,
    traces: SdkTracerProvider,
    tracer: SdkTracer,
    metrics: SdkMeterProvider,
    instruments: Instruments,
    reporter: Arc<http::Reporter>,
    bench_seen: AtomicU64,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

pub(crate) fn resource() -> Resource {
    let b = Resource::builder();
    if env_on("OTEL_SERVICE_NAME") {
        b.build()
    } else {
        b.with_service_name("aoai").build()
    }
}

pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("aoai")
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url(SCHEMA_URL)
        .build()
}

fn kv(attrs: &[(&'static str, AttrValue)]) -> Vec<KeyValue> {
    attrs
        .iter()
        .map(|(k, v)| {
            let v = match v {
                AttrValue::Str(s) => Value::String(s.clone().into()),
                AttrValue::Int(i) => Value::I64(*i),
                AttrValue::Float(f) => Value::F64(*f),
                AttrValue::Bool(b) => Value::Bool(*b),
                AttrValue::StrList(l) => Value::Array(Array::String(
                    l.iter().map(|s| StringValue::from(s.clone())).collect(),
                )),
            };
            KeyValue::new(*k, v)
        })
        .collect()
}

/// Emits a span plan (and its attempt children) through `tracer`, at the plan's own times.
pub(crate) fn emit(tracer: &SdkTracer, plan: &SpanPlan) {
    let span = tracer
        .span_builder(Cow::Owned(plan.name.clone()))
        .with_kind(SpanKind::Client)
        .with_start_time(plan.start)
        .with_attributes(kv(&plan.attrs))
        .start(tracer);
    let cx = opentelemetry::Context::new().with_span(span);
    for child in &plan.attempts {
        let mut c = tracer
            .span_builder(Cow::Owned(child.name.clone()))
            .with_kind(SpanKind::Client)
            .with_start_time(child.start)
            .with_attributes(kv(&child.attrs))
            .start_with_context(tracer, &cx);
        if let Some(e) = &child.error {
            c.set_status(Status::error(e.clone()));
        }
        c.end_with_timestamp(child.end);
    }
    let span = cx.span();
    if let Some(e) = &plan.error {
        span.set_status(Status::error(e.clone()));
    }
    span.end_with_timestamp(plan.end);
}

impl Telemetry {
    /// Builds the exporters; must run inside the tokio runtime.
    pub fn start(settings: Settings) -> Result<Telemetry, TelemetryError> {
        let rt = tokio::runtime::Handle::try_current().map_err(|_| TelemetryError::NoRuntime)?;
        let reporter = Arc::new(http::Reporter::default());
        let timeout = std::env::var("OTEL_EXPORTER_OTLP_TIMEOUT")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(Duration::from_secs(5), Duration::from_millis);
        let client = http::OtlpHttp::new(rt, timeout, reporter.clone())
            .map_err(|e| TelemetryError::Build(e.to_string()))?;
        let build =
            |e: opentelemetry_otlp::ExporterBuildError| TelemetryError::Build(e.to_string());

        let mut spans = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client.clone())
            .with_protocol(Protocol::HttpBinary)
            .with_timeout(timeout);
        if let Some(b) = &settings.base {
            spans = spans.with_endpoint(format!("{b}/v1/traces"));
        }
        let mut traces = SdkTracerProvider::builder().with_resource(resource());
        // A signal that is off gets a provider with nothing to send to: its hooks stay cheap.
        if settings.traces {
            let batch = BatchSpanProcessor::builder(spans.build().map_err(build)?)
                .with_batch_config(
                    BatchConfigBuilder::default()
                        .with_max_queue_size(2048)
                        .with_max_export_batch_size(512)
                        .with_scheduled_delay(Duration::from_secs(1))
                        .build(),
                )
                .build();
            traces = traces.with_span_processor(batch);
        }
        let traces = traces.build();
        let tracer = traces.tracer_with_scope(scope());

        let mut m = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_timeout(timeout);
        if let Some(b) = &settings.base {
            m = m.with_endpoint(format!("{b}/v1/metrics"));
        }
        let mut metrics = SdkMeterProvider::builder().with_resource(resource());
        if settings.metrics {
            metrics = metrics.with_periodic_exporter(m.build().map_err(build)?);
        }
        let metrics = metrics.build();
        let meter = metrics.meter_with_scope(scope());
        // Bucket boundaries as gen-ai-metrics.md advises.
        let secs = vec![
            0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
        ];
        let instruments = Instruments {
            duration: meter
                .f64_histogram("gen_ai.client.operation.duration")
                .with_unit("s")
                .with_description("GenAI operation duration")
                .with_boundaries(secs.clone())
                .build(),
            ttfc: meter
                .f64_histogram("gen_ai.client.operation.time_to_first_chunk")
                .with_unit("s")
                .with_description("Time to the first chunk of a streamed answer")
                .with_boundaries(secs)
                .build(),
            tokens: meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_description("Input and output tokens used")
                .with_boundaries(
                    (0..14).map(|i| 4f64.powi(i)).collect(), // 1, 4, 16 … 67108864
                )
                .build(),
        };
        Ok(Telemetry {
            settings,
            traces,
            tracer,
            metrics,
            instruments,
            reporter,
            bench_seen: AtomicU64::new(0),
        })
    }

    pub fn reporter(&self) -> &http::Reporter {
        &self.reporter
    }

    fn opts(&self) -> MapOptions {
        MapOptions {
            capture_content: self.settings.capture_content,
        }
    }

    /// Exports one finished call: its span and its metric points. Never blocks on the
    /// network (the span goes to the batch queue, the points to in-memory histograms).
    pub fn export(&self, req: &RecordedRequest, rec: &CallRecord, started: SystemTime) {
        self.span(req, rec, started);
        self.points(req, rec);
    }

    fn span(&self, req: &RecordedRequest, rec: &CallRecord, started: SystemTime) {
        let fallback = SystemTime::now().duration_since(started).ok();
        let plan = map::call_span(req, rec, started, fallback, self.opts());
        emit(&self.tracer, &plan);
    }

    fn points(&self, req: &RecordedRequest, rec: &CallRecord) {
        self.record_points(&map::call_metrics(req, rec));
    }

    fn record_points(&self, m: &map::MetricPlan) {
        let attrs = kv(&m.attrs);
        let i = &self.instruments;
        if let Some(d) = m.duration_s {
            i.duration.record(d, &attrs);
        }
        if let Some(t) = m.time_to_first_chunk_s {
            i.ttfc.record(t, &attrs);
        }
        for (kind, n) in [("input", m.input_tokens), ("output", m.output_tokens)] {
            if let Some(n) = n {
                let mut a = attrs.clone();
                a.push(KeyValue::new("gen_ai.token.type", kind));
                i.tokens.record(n, &a);
            }
        }
    }

    /// A bench call: metrics always, a span for `bench_sample` of the calls (every n-th,
    /// the first included), so a load run's export stays small and off its path.
    pub fn export_sampled(&self, req: &RecordedRequest, rec: &CallRecord, started: SystemTime) {
        self.points(req, rec);
        let n = self.bench_seen.fetch_add(1, Ordering::Relaxed);
        let every = if self.settings.bench_sample <= 0.0 {
            return;
        } else {
            (1.0 / self.settings.bench_sample).round().max(1.0) as u64
        };
        if n.is_multiple_of(every) {
            self.span(req, rec, started);
        }
    }

    /// Flushes and stops both exporters, waiting at most `limit` (a dead collector fails
    /// fast; a silent one is cut off).
    pub async fn shutdown(&self, limit: Duration) {
        let traces = self.traces.clone();
        let metrics = self.metrics.clone();
        let job = tokio::task::spawn_blocking(move || {
            let _ = traces.shutdown_with_timeout(limit);
            let _ = metrics.shutdown_with_timeout(limit);
        });
        let _ = tokio::time::timeout(limit + Duration::from_millis(500), job).await;
    }
}

static GLOBAL: OnceLock<Telemetry> = OnceLock::new();

/// Starts the process's exporter when telemetry is configured (`--otlp`, the variables).
pub fn init(flag: Option<&str>) -> Result<(), TelemetryError> {
    let Some(settings) = Settings::from_env(flag) else {
        return Ok(());
    };
    let t = Telemetry::start(settings)?;
    let _ = GLOBAL.set(t);
    Ok(())
}

/// The process's exporter, `None` when telemetry is off.
pub fn global() -> Option<&'static Telemetry> {
    GLOBAL.get()
}

/// Flushes the process's exporter (the end of `main`); prints a deferred failure report.
pub async fn shutdown() {
    if let Some(t) = global() {
        t.shutdown(Duration::from_secs(3)).await;
        if let Some(line) = t.reporter.take() {
            eprintln!("{line}");
        }
    }
}

/// The hook after an embeddings call (`aoai embed`, the console's probe): its span and
/// metric points; a no-op when telemetry is off.
pub fn embeddings_finished(
    cfg: &ClientConfig,
    spec: &crate::domain::embeddings::EmbedSpec,
    rec: &crate::domain::embeddings::EmbedRecord,
    started: SystemTime,
) {
    if let Some(t) = global() {
        let (span, points) = map::embeddings_plan(Some(cfg.endpoint.as_str()), spec, rec, started);
        emit(&t.tracer, &span);
        t.record_points(&points);
    }
}

/// The console owns the terminal: hold the failure report until [`shutdown`].
pub fn defer_reports() {
    if let Some(t) = global() {
        t.reporter.defer(true);
    }
}

/// While reports are deferred, `f` hears of an export failure as it happens.
pub fn on_failure(f: http::Notify) {
    if let Some(t) = global() {
        t.reporter.notify(f);
    }
}

/// The hook after a call made with `ChatClient::run`: a no-op when telemetry is off.
pub fn call_finished(cfg: &ClientConfig, spec: &CallSpec, rec: &CallRecord, started: SystemTime) {
    if let Some(t) = global() {
        let call = request_of(cfg, spec);
        t.export(&call, rec, started);
    }
}

/// The bench's hook: sampled spans, every call in the metrics.
pub fn bench_call_finished(
    cfg: &ClientConfig,
    spec: &CallSpec,
    rec: &CallRecord,
    started: SystemTime,
) {
    if let Some(t) = global() {
        let call = request_of(cfg, spec);
        t.export_sampled(&call, rec, started);
    }
}

/// The hook for a call that is already a scenario line (the proxy's).
pub fn scenario_call_finished(call: &ScenarioCall, started: SystemTime) {
    if let Some(t) = global() {
        t.export(&call.request, &call.record, started);
    }
}

/// The request as a scenario records it (endpoint without credentials, allowlisted headers);
/// no prompt shape (its token counts would cost every call).
fn request_of(cfg: &ClientConfig, spec: &CallSpec) -> RecordedRequest {
    crate::engine::record::recorded_request(cfg, spec)
}
