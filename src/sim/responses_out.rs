//! What the Responses API sends back: the response object (pretty-printed when it is the
//! whole body), and the timed stream of `event: <type>\ndata: <json>\n\n` frames, each with
//! `type` and an increasing `sequence_number`, ending with `response.completed`,
//! `response.incomplete` or `response.failed` (no `[DONE]`). Key order and fields are those of
//! the recordings `tests/fixtures/conformance/91` (stream) and `93` (v1 body).

use std::time::Duration;

use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::{Map, Value, json};

use super::completion::{self, Generated, Timing};
use super::config::LatencyConfig;
use super::faults::FaultKind;
use super::sse::{Plan, Usage};
use crate::tokens;

/// Request fields the response echoes.
#[derive(Debug, Clone)]
pub struct Echo {
    pub instructions: Option<String>,
    pub max_output_tokens: Option<u64>,
    pub effort: Option<String>,
    pub summary: Option<String>,
    pub temperature: f64,
    pub top_p: f64,
    pub store: bool,
    /// Everything else the caller sent (tools, metadata, text, …).
    pub extra: Map<String, Value>,
}

/// Identity of one response: ids (`resp_`, `msg_`, `rs_` + 50 hex digits that share a
/// per-response prefix and carry `created_at`, as the recorded ids do), time, deployment.
pub struct Head<'a> {
    pub id: String,
    pub msg_id: String,
    pub rs_id: String,
    pub created_at: u64,
    /// The deployment name (echoed as `model`: fixtures 91, 93).
    pub model: String,
    /// `/openai/v1`: a non-stream body carries `content_filters` (fixture 93).
    pub v1: bool,
    pub echo: &'a Echo,
}

fn hex(rng: &mut SmallRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16u32), 16).unwrap_or('0'))
        .collect()
}

impl<'a> Head<'a> {
    pub fn new(
        rng: &mut SmallRng,
        created_at: u64,
        deployment: &str,
        v1: bool,
        echo: &'a Echo,
    ) -> Self {
        let prefix = hex(rng, 18);
        let id = |kind: &str, rng: &mut SmallRng| {
            format!(
                "{kind}_{prefix}{:08x}{}",
                created_at & 0xffff_ffff,
                hex(rng, 24)
            )
        };
        Self {
            id: id("resp", rng),
            msg_id: id("msg", rng),
            rs_id: id("rs", rng),
            created_at,
            model: deployment.to_string(),
            v1,
            echo,
        }
    }
}

/// What was generated for the response.
pub struct Outcome<'a> {
    pub generated: &'a Generated,
    pub usage: Usage,
    /// A reasoning deployment: its output starts with a `reasoning` item.
    pub reasoning_item: bool,
    /// The reasoning summary, when `reasoning.summary` was asked.
    pub summary: Option<String>,
    /// Characters of the prompt (the offsets of `content_filters`).
    pub prompt_chars: usize,
}

impl Outcome<'_> {
    fn text(&self) -> String {
        self.generated.pieces.concat()
    }

    /// `completed`, or `incomplete` with its reason.
    fn end(&self) -> (&'static str, Option<&'static str>) {
        match self.generated.finish {
            "length" => ("incomplete", Some("max_output_tokens")),
            "content_filter" => ("incomplete", Some("content_filter")),
            _ => ("completed", None),
        }
    }

    /// A message item is sent unless nothing was generated (the budget went on reasoning,
    /// or the prompt was blocked).
    fn has_message(&self) -> bool {
        !self.generated.pieces.is_empty()
    }
}

/// A reasoning summary: a bold title and a few sentences of the simulator's prose.
pub fn summary_text(rng: &mut SmallRng) -> String {
    const TITLES: &[&str] = &[
        "Weighing the question",
        "Planning the answer",
        "Considering the trade-offs",
        "Checking the details",
    ];
    let title = TITLES[rng.random_range(0..TITLES.len())];
    let mut trng = super::text::rng_for(rng.random(), "summary");
    let body = super::text::generate(&mut trng, 24);
    let first = body.split("\n\n").nth(1).unwrap_or(&body);
    format!("**{title}**\n\n{first}")
}

pub fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.prompt,
        "input_tokens_details": {"cached_tokens": u.cached},
        "output_tokens": u.completion,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": u.prompt + u.completion,
    })
}

fn part(text: &str) -> Value {
    json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
}

fn summary_part(text: &str) -> Value {
    json!({"type": "summary_text", "text": text})
}

/// The state of the response at one point of its life.
struct Snapshot<'s> {
    status: &'s str,
    output: Vec<Value>,
    usage: Option<Value>,
    incomplete: Option<&'s str>,
    error: Option<Value>,
    completed_at: Option<u64>,
    content_filters: Value,
}

impl Head<'_> {
    fn reasoning_item(&self, summary: Option<&str>) -> Value {
        json!({
            "id": self.rs_id,
            "type": "reasoning",
            "summary": summary.map(|s| vec![summary_part(s)]).unwrap_or_default(),
        })
    }

    fn message_item(&self, status: &str, text: Option<&str>) -> Value {
        json!({
            "id": self.msg_id,
            "type": "message",
            "status": status,
            "content": text.map(|t| vec![part(t)]).unwrap_or_default(),
            "role": "assistant",
        })
    }

    /// The response object (fields in the order of fixture 93).
    fn object(&self, s: Snapshot<'_>) -> Value {
        let e = self.echo;
        let x = |k: &str, default: Value| e.extra.get(k).cloned().unwrap_or(default);
        let tier = if s.status == "in_progress" {
            "auto"
        } else {
            "default"
        };
        json!({
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": s.status,
            "background": x("background", json!(false)),
            "completed_at": s.completed_at,
            "content_filters": s.content_filters,
            "error": s.error,
            "frequency_penalty": x("frequency_penalty", json!(0.0)),
            "incomplete_details": s.incomplete.map(|r| json!({"reason": r})),
            "instructions": e.instructions,
            "max_output_tokens": e.max_output_tokens,
            "max_tool_calls": x("max_tool_calls", Value::Null),
            "model": self.model,
            "output": s.output,
            "parallel_tool_calls": x("parallel_tool_calls", json!(true)),
            "presence_penalty": x("presence_penalty", json!(0.0)),
            "previous_response_id": x("previous_response_id", Value::Null),
            "prompt_cache_key": x("prompt_cache_key", Value::Null),
            "prompt_cache_retention": x("prompt_cache_retention", Value::Null),
            "reasoning": {"effort": e.effort, "summary": e.summary},
            "safety_identifier": x("safety_identifier", Value::Null),
            "service_tier": tier,
            "store": e.store,
            "temperature": e.temperature,
            "text": x("text", json!({"format": {"type": "text"}, "verbosity": "medium"})),
            "tool_choice": x("tool_choice", json!("auto")),
            "tools": x("tools", json!([])),
            "top_logprobs": x("top_logprobs", json!(0)),
            "top_p": e.top_p,
            "truncation": x("truncation", json!("disabled")),
            "usage": s.usage,
            "user": x("user", Value::Null),
            "metadata": x("metadata", json!({})),
        })
    }

    /// The finished response: every output item, usage, and how it ended.
    fn finished(&self, o: &Outcome<'_>, text: &str, end: Duration, filters: Value) -> Value {
        let (status, reason) = o.end();
        let mut output = Vec::new();
        if o.reasoning_item {
            output.push(self.reasoning_item(o.summary.as_deref()));
        }
        if o.has_message() {
            output.push(self.message_item(status, Some(text)));
        }
        self.object(Snapshot {
            status,
            output,
            usage: Some(usage_json(&o.usage)),
            incomplete: reason,
            error: None,
            completed_at: Some(self.created_at + end.as_secs()),
            content_filters: filters,
        })
    }
}

/// `content_filters` of a v1 body (fixture 93): the prompt's results, then the completion's.
fn content_filters(o: &Outcome<'_>, text: &str) -> Value {
    let sev = json!({"filtered": false, "severity": "safe"});
    let offsets = |end: usize| json!({"start_offset": 0, "end_offset": end, "check_offset": 0});
    let filtered = o.generated.filtered;
    json!([
        {
            "blocked": false,
            "source_type": "prompt",
            "content_filter_raw": [],
            "content_filter_results": {
                "jailbreak": {"detected": false, "filtered": false},
                "hate": sev, "sexual": sev, "violence": sev, "self_harm": sev,
            },
            "content_filter_offsets": offsets(o.prompt_chars),
        },
        {
            "blocked": filtered,
            "source_type": "completion",
            "content_filter_raw": [],
            "content_filter_results": {
                "protected_material_code": {"detected": false, "filtered": false},
                "protected_material_text": {"detected": filtered, "filtered": filtered},
                "hate": sev, "sexual": sev, "violence": sev, "self_harm": sev,
            },
            "content_filter_offsets": offsets(text.chars().count()),
        },
    ])
}

/// The non-stream body: the finished response, pretty-printed with no trailing newline
/// (fixture 93's length equals its content-length).
pub fn body(
    head: &Head<'_>,
    o: &Outcome<'_>,
    timing: &Timing,
    fault: Option<FaultKind>,
) -> Vec<u8> {
    let mut text = o.text();
    if fault == Some(FaultKind::BigDelta) {
        text.push_str(completion::big_delta());
    }
    let filters = if head.v1 {
        content_filters(o, &text)
    } else {
        Value::Null
    };
    let v = head.finished(o, &text, timing.end, filters);
    serde_json::to_vec_pretty(&v).unwrap_or_default()
}

/// Raw invalid UTF-8 right inside the message text (fault `invalid-utf8`).
pub fn corrupt_utf8(body: &mut Vec<u8>) {
    let needle = br#""text": ""#;
    if let Some(pos) = body.windows(needle.len()).rposition(|w| w == needle) {
        let at = pos + needle.len();
        body.splice(at..at, b"\xff\xfe".iter().copied());
    }
}

/// Everything a streamed response needs.
pub struct Spec<'a> {
    pub head: &'a Head<'a>,
    pub outcome: &'a Outcome<'a>,
    pub timing: &'a Timing,
    pub latency: &'a LatencyConfig,
    pub fault: Option<FaultKind>,
    pub stall: Duration,
}

/// Writes frames with increasing sequence numbers.
struct Writer<'r> {
    eol: &'static str,
    data_prefix: &'static str,
    seq: u64,
    rng: &'r mut SmallRng,
}

const BAD_UTF8_MARK: &str = "\u{1}BAD-UTF8\u{1}";
/// The message of a `response.failed` (fault `error-event`), as the chat error event's.
const SERVER_ERROR: &str =
    "The server had an error while processing your request. Sorry about that!";

impl Writer<'_> {
    fn event(&mut self, kind: &str, fields: Value, out: &mut Vec<u8>) {
        let mut m = Map::new();
        m.insert("type".into(), json!(kind));
        m.insert("sequence_number".into(), json!(self.seq));
        self.seq += 1;
        if let Value::Object(f) = fields {
            m.extend(f);
        }
        let data = serde_json::to_vec(&Value::Object(m)).unwrap_or_default();
        self.frame(kind, &data, out);
    }

    fn frame(&self, kind: &str, data: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(self.eol.as_bytes());
        out.extend_from_slice(self.data_prefix.as_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(self.eol.as_bytes());
        out.extend_from_slice(self.eol.as_bytes());
    }

    fn comment(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b": keep-alive");
        out.extend_from_slice(self.eol.as_bytes());
        out.extend_from_slice(self.eol.as_bytes());
    }

    /// 0–15 random characters: the padding on `output_text.delta` events (fixture 91).
    fn obfuscation(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let n = self.rng.random_range(0..16);
        (0..n)
            .map(|_| char::from(ALPHABET[self.rng.random_range(0..ALPHABET.len())]))
            .collect()
    }

    fn delta(
        &mut self,
        kind: &str,
        head: &Head<'_>,
        index: (u64, &str, u64),
        delta: &str,
    ) -> Value {
        let (output_index, key, sub) = index;
        let mut v = json!({"item_id": head.msg_id, "output_index": output_index});
        if kind == "response.output_text.delta" {
            v[key] = json!(sub);
            v["delta"] = json!(delta);
            v["logprobs"] = json!([]);
        } else {
            v["item_id"] = json!(head.rs_id);
            v[key] = json!(sub);
            v["delta"] = json!(delta);
        }
        v["obfuscation"] = json!(self.obfuscation());
        v
    }
}

/// Evenly spread instants in `[from, to]`, one per piece.
fn spread(from: Duration, to: Duration, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let f = if n > 1 {
                i as f64 / (n - 1) as f64
            } else {
                1.0
            };
            from + to.saturating_sub(from).mul_f64(f)
        })
        .collect()
}

/// The timed stream: created → in_progress → [reasoning item, summary] → message item →
/// content part → text deltas → the `.done` events → completed | incomplete; faults cut,
/// corrupt or fail it at the same points as a chat stream.
pub fn stream_plan(spec: &Spec<'_>, rng: &mut SmallRng) -> Plan {
    let (head, o, timing) = (spec.head, spec.outcome, spec.timing);
    let framing = match spec.fault {
        Some(FaultKind::Crlf) => ("\r\n", "data: "),
        Some(FaultKind::Comments) => ("\n", "data:"),
        _ => ("\n", "data: "),
    };
    let mut w = Writer {
        eol: framing.0,
        data_prefix: framing.1,
        seq: 0,
        rng,
    };
    let comments = spec.fault == Some(FaultKind::Comments);
    let mut plan = Plan::default();
    let zero = Duration::ZERO;
    if comments {
        w.comment(plan.at(zero));
    }
    let in_progress = |h: &Head<'_>| {
        h.object(Snapshot {
            status: "in_progress",
            output: vec![],
            usage: None,
            incomplete: None,
            error: None,
            completed_at: None,
            content_filters: Value::Null,
        })
    };
    w.event(
        "response.created",
        json!({"response": in_progress(head)}),
        plan.at(zero),
    );
    w.event(
        "response.in_progress",
        json!({"response": in_progress(head)}),
        plan.at(zero),
    );

    let mut output_index = 0u64;
    if o.reasoning_item {
        // Reasoning starts at the base TTFT and lasts reasoning tokens / rate.
        let thinking = if spec.latency.reasoning_tokens_per_s > 0.0 {
            Duration::from_secs_f64(
                o.generated.reasoning as f64 / spec.latency.reasoning_tokens_per_s,
            )
        } else {
            zero
        };
        let start = timing.ttft.saturating_sub(thinking);
        let item = json!({"output_index": 0, "item": head.reasoning_item(None)});
        w.event("response.output_item.added", item, plan.at(start));
        if let Some(s) = &o.summary {
            let idx = json!({"item_id": head.rs_id, "output_index": 0, "summary_index": 0});
            let mut added = idx.clone();
            added["part"] = summary_part("");
            w.event(
                "response.reasoning_summary_part.added",
                added,
                plan.at(start),
            );
            let pieces = tokens::split(s);
            for (p, at) in pieces.iter().zip(spread(start, timing.ttft, pieces.len())) {
                let d = w.delta(
                    "response.reasoning_summary_text.delta",
                    head,
                    (0, "summary_index", 0),
                    p,
                );
                w.event("response.reasoning_summary_text.delta", d, plan.at(at));
            }
            let mut done = idx.clone();
            done["text"] = json!(s);
            w.event(
                "response.reasoning_summary_text.done",
                done,
                plan.at(timing.ttft),
            );
            let mut done = idx;
            done["part"] = summary_part(s);
            w.event(
                "response.reasoning_summary_part.done",
                done,
                plan.at(timing.ttft),
            );
        }
        let item = json!({"output_index": 0, "item": head.reasoning_item(o.summary.as_deref())});
        w.event("response.output_item.done", item, plan.at(timing.ttft));
        output_index = 1;
    }

    let (status, reason) = o.end();
    let pieces = &o.generated.pieces;
    let n = pieces.len();
    let shift = if spec.fault == Some(FaultKind::Stall) {
        spec.stall
    } else {
        zero
    };
    let mut text = String::new();
    if o.has_message() {
        let ttft = timing.ttft;
        let item =
            json!({"output_index": output_index, "item": head.message_item("in_progress", None)});
        w.event("response.output_item.added", item, plan.at(ttft));
        let at_part =
            json!({"item_id": head.msg_id, "output_index": output_index, "content_index": 0});
        let mut added = at_part.clone();
        added["part"] = part("");
        w.event("response.content_part.added", added, plan.at(ttft));
        let at_of = |i: usize| timing.offsets.get(i.min(n - 1)).copied().unwrap_or(ttft) + shift;
        let (inject_at, cut_at) = (n.min(2), n.min(3));
        for i in 0..=n {
            let at = at_of(i);
            if i == inject_at {
                inject(&mut w, spec.fault, head, output_index, plan.at(at));
            }
            if i == cut_at {
                match spec.fault {
                    Some(FaultKind::Truncate) => return plan,
                    Some(FaultKind::ErrorEvent) => {
                        let failed = head.object(Snapshot {
                            status: "failed",
                            output: vec![head.message_item("in_progress", Some(&text))],
                            usage: None,
                            incomplete: None,
                            error: Some(json!({"code": "server_error", "message": SERVER_ERROR})),
                            completed_at: None,
                            content_filters: Value::Null,
                        });
                        w.event("response.failed", json!({"response": failed}), plan.at(at));
                        return plan;
                    }
                    Some(FaultKind::Reset) => {
                        plan.at(at);
                        plan.mark_reset();
                        return plan;
                    }
                    _ => {}
                }
            }
            if i == n {
                break;
            }
            if comments && i % 3 == 2 {
                w.comment(plan.at(at));
            }
            let piece = pieces.get(i).map_or("", String::as_str);
            let d = w.delta(
                "response.output_text.delta",
                head,
                (output_index, "content_index", 0),
                piece,
            );
            w.event("response.output_text.delta", d, plan.at(at));
            text.push_str(piece);
            if i == 0 {
                plan.mark_first_token();
            }
        }
        let end = timing.end + shift;
        let mut done = at_part.clone();
        done["text"] = json!(text);
        done["logprobs"] = json!([]);
        w.event("response.output_text.done", done, plan.at(end));
        let mut done = at_part;
        done["part"] = part(&text);
        w.event("response.content_part.done", done, plan.at(end));
        let item =
            json!({"output_index": output_index, "item": head.message_item(status, Some(&text))});
        w.event("response.output_item.done", item, plan.at(end));
    }
    let end = timing.end + shift;
    if spec.fault == Some(FaultKind::NoDone) {
        // The Responses API has no `[DONE]`: its end is the terminal event, left out here.
        return plan;
    }
    let kind = if reason.is_some() {
        "response.incomplete"
    } else {
        "response.completed"
    };
    let done = head.finished(o, &text, end, Value::Null);
    w.event(kind, json!({"response": done}), plan.at(end));
    plan
}

/// The extra, broken or huge delta of the `malformed`, `invalid-utf8` and `big-delta` faults.
fn inject(
    w: &mut Writer<'_>,
    fault: Option<FaultKind>,
    head: &Head<'_>,
    oi: u64,
    out: &mut Vec<u8>,
) {
    const KIND: &str = "response.output_text.delta";
    match fault {
        Some(FaultKind::Malformed) => {
            let data = format!(
                r#"{{"type":"{KIND}","sequence_number":{},"item_id":"{}","output_index":{oi},"content_index":0,"delta":"oo"#,
                w.seq, head.msg_id
            );
            w.seq += 1;
            w.frame(KIND, data.as_bytes(), out);
        }
        Some(FaultKind::BigDelta) => {
            let d = w.delta(
                KIND,
                head,
                (oi, "content_index", 0),
                completion::big_delta(),
            );
            w.event(KIND, d, out);
        }
        Some(FaultKind::InvalidUtf8) => {
            let d = w.delta(KIND, head, (oi, "content_index", 0), BAD_UTF8_MARK);
            let mut ev = Vec::new();
            w.event(KIND, d, &mut ev);
            let mark = serde_json::to_string(BAD_UTF8_MARK).unwrap_or_default();
            let mark = mark.trim_matches('"').as_bytes();
            if let Some(pos) = ev.windows(mark.len()).position(|x| x == mark) {
                ev.splice(
                    pos..pos + mark.len(),
                    b"bad \xff\xfe\xc3 bytes".iter().copied(),
                );
            }
            out.extend_from_slice(&ev);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn echo() -> Echo {
        Echo {
            instructions: None,
            max_output_tokens: None,
            effort: Some("medium".into()),
            summary: Some("auto".into()),
            temperature: 1.0,
            top_p: 1.0,
            store: true,
            extra: Map::new(),
        }
    }

    /// The frames of the segment written at `ms`, by event name.
    fn names_at(plan: &Plan, ms: u64) -> Vec<String> {
        let seg = plan
            .segments
            .iter()
            .find(|s| s.at == Duration::from_millis(ms))
            .unwrap_or_else(|| panic!("no segment at {ms} ms"));
        String::from_utf8_lossy(&seg.bytes)
            .lines()
            .filter_map(|l| l.strip_prefix("event: ").map(str::to_string))
            .collect()
    }

    #[test]
    fn the_stream_follows_the_latency_model() {
        let mut rng = SmallRng::seed_from_u64(3);
        let e = echo();
        let head = Head::new(&mut rng, 1_000, "o4-mini", true, &e);
        let generated = Generated {
            pieces: vec!["Hello".into(), " there".into(), ".".into()],
            finish: "stop",
            filtered: false,
            reasoning: 50,
        };
        let latency = LatencyConfig {
            ttft_ms: 400,
            tokens_per_s: 100.0,
            reasoning_tokens_per_s: 100.0,
            ..LatencyConfig::default()
        };
        // 400 ms to the first model output, 500 ms of reasoning, then 10 ms per token.
        let timing = completion::schedule(&latency, 3, 50, &mut rng);
        assert_eq!(timing.ttft, Duration::from_millis(900));
        let outcome = Outcome {
            generated: &generated,
            usage: Usage::default(),
            reasoning_item: true,
            summary: Some("**Plan**\n\nShort.".into()),
            prompt_chars: 5,
        };
        let spec = Spec {
            head: &head,
            outcome: &outcome,
            timing: &timing,
            latency: &latency,
            fault: None,
            stall: Duration::ZERO,
        };
        let plan = stream_plan(&spec, &mut rng);
        assert_eq!(
            names_at(&plan, 0),
            ["response.created", "response.in_progress"]
        );
        assert_eq!(
            names_at(&plan, 400)[..3],
            [
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta"
            ]
        );
        let at_ttft = names_at(&plan, 900);
        assert!(at_ttft.contains(&"response.output_item.done".to_string()));
        assert_eq!(
            at_ttft[at_ttft.len() - 3..],
            [
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta"
            ]
        );
        let first = plan.segments.iter().find(|s| s.first_token).unwrap();
        assert_eq!(first.at, Duration::from_millis(900));
        assert_eq!(names_at(&plan, 910), ["response.output_text.delta"]);
        assert_eq!(
            names_at(&plan, 920),
            [
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.completed"
            ]
        );
    }

    #[test]
    fn ids_share_a_prefix_and_carry_created_at() {
        let mut rng = SmallRng::seed_from_u64(1);
        let e = echo();
        let h = Head::new(&mut rng, 0x690c_2178, "gpt-4o", false, &e);
        assert_eq!(h.id.len(), 5 + 50);
        assert_eq!(h.id[5..23], h.msg_id[4..22]);
        assert_eq!(h.id[5..23], h.rs_id[3..21]);
        assert_eq!(&h.id[23..31], "690c2178");
    }
}
