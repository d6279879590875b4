//! One proxied call from request to end: it collects the response head and the tap's reading
//! and, exactly once, turns them into a [`CallRecord`] (reported as
//! [`ProxyEvent::Finished`] and, when recording, written as a scenario line). A call dropped
//! before it ended — the application hung up — ends as cancelled with what had arrived.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::measure::{self, Ended, Head};
use super::request::RequestMeta;
use super::tap::{Reading, Tap};
use super::{ClientInfo, PROGRESS_EVERY, ProxiedCall, ProxyEvent, Shared};
use crate::domain::call::{CallError, CallRecord, ErrorKind};
use crate::domain::scenario::{Proxied, ScenarioCall};

pub(super) struct Call {
    pub shared: Arc<Shared>,
    pub id: u64,
    pub meta: RequestMeta,
    pub client: ClientInfo,
    pub method: String,
    pub path: String,
    /// Diagnostic request headers a scenario may keep.
    pub request_headers: Vec<(String, String)>,
    pub injected: Option<String>,
    pub started: SystemTime,
    /// When the request was handed to the upstream (or answered here).
    pub sent: Instant,
    pub head: Option<Head>,
    pub tap: Option<Tap>,
    /// How much of the streamed text has been reported live, and when last.
    shown: Shown,
    ended: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct Shown {
    at: Option<Duration>,
    text: usize,
    summary: usize,
}

impl Call {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        shared: Arc<Shared>,
        id: u64,
        meta: RequestMeta,
        client: ClientInfo,
        method: String,
        path: String,
        request_headers: Vec<(String, String)>,
        injected: Option<String>,
    ) -> Self {
        Call {
            shared,
            id,
            meta,
            client,
            method,
            path,
            request_headers,
            injected,
            started: SystemTime::now(),
            sent: Instant::now(),
            head: None,
            tap: None,
            shown: Shown::default(),
            ended: false,
        }
    }

    pub fn capture(&self) -> bool {
        self.shared.recorder.is_some() && self.meta.llm
    }

    /// The response head arrived.
    pub fn headers(&mut self, head: Head) {
        self.shared.emit(ProxyEvent::Headers {
            id: self.id,
            status: head.status,
            ttfb_ms: head.at.as_secs_f64() * 1000.0,
            ratelimit: Box::new(head.ratelimit.clone()),
            request_id: head.request_id.clone(),
            region: head.region.clone(),
        });
        self.tap = Some(Tap::new(self.meta.wire_api, head.status, self.capture()));
        self.head = Some(head);
    }

    /// A body chunk passed.
    pub fn feed(&mut self, bytes: &[u8]) {
        let at = self.sent.elapsed();
        let Some(tap) = self.tap.as_mut() else {
            return;
        };
        let before = tap.first_content();
        tap.feed(bytes, at);
        if before.is_none()
            && let Some(t) = tap.first_content()
        {
            self.shared.emit(ProxyEvent::FirstToken {
                id: self.id,
                ttft_ms: t.as_secs_f64() * 1000.0,
            });
        }
        if self.shared.live {
            self.progress(at, false);
        }
    }

    /// Reports what streamed since the last report: at most every [`PROGRESS_EVERY`], and
    /// whatever is left when `last`.
    fn progress(&mut self, at: Duration, last: bool) {
        let Some(tap) = self.tap.as_ref() else {
            return;
        };
        if !last && self.shown.at.is_some_and(|t| at < t + PROGRESS_EVERY) {
            return;
        }
        let (text, summary, chunks) = tap.progress();
        if text.len() == self.shown.text && summary.len() == self.shown.summary {
            return;
        }
        let ev = ProxyEvent::Progress {
            id: self.id,
            text: text.get(self.shown.text..).unwrap_or("").to_string(),
            summary: summary.get(self.shown.summary..).unwrap_or("").to_string(),
            chunks,
        };
        self.shown = Shown {
            at: Some(at),
            text: text.len(),
            summary: summary.len(),
        };
        self.shared.emit(ev);
    }

    pub fn has_content(&self) -> bool {
        self.tap
            .as_ref()
            .is_some_and(|t| t.first_content().is_some())
    }

    /// Ends the call (once): `error` is how it broke off, `None` when the body ended.
    pub fn end(&mut self, error: Option<CallError>) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let done = self.sent.elapsed();
        if self.shared.live {
            self.progress(done, true);
        }
        let reading = self.tap.take().map(|t| t.finish(done)).unwrap_or_default();
        let record = self.record(reading, done, error);
        let call = ProxiedCall {
            record,
            client: self.client.clone(),
            method: self.method.clone(),
            path: self.path.clone(),
            injected: self.injected.clone(),
            started: self.started,
        };
        // One scenario line for both the recording and telemetry, built only if either wants it.
        let export = crate::engine::telemetry::global().is_some();
        if self.meta.llm && (export || self.shared.recorder.is_some()) {
            let line = self.scenario_call(&call);
            if export {
                crate::engine::telemetry::scenario_call_finished(&line, call.started);
            }
            if let Some(tx) = &self.shared.recorder {
                let _ = tx.send(line);
            }
        }
        self.shared.emit(ProxyEvent::Finished(Box::new(call)));
    }

    fn record(&mut self, reading: Reading, done: Duration, error: Option<CallError>) -> CallRecord {
        measure::record(Ended {
            id: self.id,
            meta: &self.meta,
            head: self.head.take(),
            reading,
            done,
            error,
            injected: self.injected.as_deref(),
            prices: &self.shared.prices,
        })
    }

    fn scenario_call(&self, call: &ProxiedCall) -> ScenarioCall {
        let request =
            measure::recorded_request(&self.meta, &self.shared.endpoint, &self.request_headers);
        ScenarioCall {
            started: crate::engine::record::rfc3339(call.started),
            prompt_shape: crate::engine::record::prompt_shape(&request.body.messages),
            request,
            proxied: Some(Proxied {
                client: call.client.addr.to_string(),
                user_agent: call.client.user_agent.clone(),
                method: call.method.clone(),
                path: call.path.clone(),
                injected: call.injected.clone(),
            }),
            record: call.record.clone(),
        }
        .sanitize()
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.ended {
            self.end(Some(CallError::new(
                ErrorKind::Cancelled,
                "the application closed the connection before the answer ended",
            )));
        }
    }
}
