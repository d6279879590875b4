//! The spans of a recorded scenario as one OTLP JSON `ExportTraceServiceRequest` (the
//! protobuf JSON mapping: hex ids, camelCase, 64-bit integers as strings), for offline
//! import into a collector or a backend. The same mapping and SDK path as the live export.

use std::io::Write;
use std::sync::{Arc, Mutex};

use opentelemetry::trace::TracerProvider;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanData, SpanExporter};

use crate::domain::telemetry::{MapOptions, call_span};
use crate::engine::record::Loaded;

#[derive(Debug, thiserror::Error)]
pub enum OtlpJsonError {
    #[error("call {line}: `started` is not an RFC 3339 time: {value}")]
    Started { line: usize, value: String },
    #[error("writing the OTLP JSON: {0}")]
    Io(#[from] std::io::Error),
    #[error("encoding the OTLP JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Collects finished spans in memory.
#[derive(Debug, Clone, Default)]
struct Collect(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Collect {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if let Ok(mut v) = self.0.lock() {
            v.extend(batch);
        }
        Ok(())
    }
}

/// Writes the spans of every call of `loaded` to `w`; returns how many calls were written.
/// Message content is included only with `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`
/// (or `capture_content`), as for the live export.
pub fn write_otlp_json(
    loaded: &Loaded,
    capture_content: bool,
    mut w: impl Write,
) -> Result<usize, OtlpJsonError> {
    let sink = Collect::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(sink.clone())
        .with_sampler(Sampler::AlwaysOn)
        .with_resource(super::resource())
        .build();
    let tracer = provider.tracer_with_scope(super::scope());
    let opts = MapOptions { capture_content };
    for (i, call) in loaded.calls.iter().enumerate() {
        let started =
            humantime::parse_rfc3339_weak(&call.started).map_err(|_| OtlpJsonError::Started {
                line: i + 1,
                value: call.started.clone(),
            })?;
        let plan = call_span(&call.request, &call.record, started, None, opts);
        super::emit(&tracer, &plan);
    }
    let _ = provider.shutdown();
    let spans = sink
        .0
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default();
    let resource = ResourceAttributesWithSchema::from(&super::resource());
    let request = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(spans, &resource),
    };
    serde_json::to_writer(&mut w, &request)?;
    writeln!(w)?;
    Ok(loaded.calls.len())
}
