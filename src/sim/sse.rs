//! Byte-exact chunk writers and the timed body stream. Chunks are written with
//! pre-serialized constant parts into one reused buffer per timed segment; zero-delay
//! neighbours are coalesced so an instant stream is a single write.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;

use super::config::ChunkFilterResults;

/// `prompt_filter_results` as recorded (key order of the recording, not alphabetical; since
/// 2026 `jailbreak` lists `detected` first: tests/fixtures/conformance/05 and 11).
pub const PROMPT_FILTER_RESULTS: &str = r#"[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"detected":false,"filtered":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]"#;
/// Per-choice results of a non-streamed completion (§4.1).
pub const CHOICE_FILTER_RESULTS: &str = r#"{"hate":{"filtered":false,"severity":"safe"},"protected_material_code":{"filtered":false,"detected":false},"protected_material_text":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}"#;
/// Per-choice results of a non-streamed completion whose output was filtered.
pub const CHOICE_FILTER_RESULTS_FILTERED: &str = r#"{"hate":{"filtered":false,"severity":"safe"},"protected_material_code":{"filtered":false,"detected":false},"protected_material_text":{"filtered":true,"detected":true},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}"#;
/// Per-chunk results on content deltas (2024–25 shape).
pub const CHUNK_FILTER_RESULTS: &str = r#"{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}"#;
/// The finish chunk's results when the output was filtered.
pub const CHUNK_FILTER_FILTERED: &str =
    r#"{"protected_material_text":{"detected":true,"filtered":true}}"#;

/// Token counts reported in `usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub prompt: u64,
    pub cached: u64,
    pub completion: u64,
    pub reasoning: u64,
}

impl Usage {
    pub fn write_json(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        let _ = write!(
            out,
            r#"{{"completion_tokens":{},"completion_tokens_details":{{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":{},"rejected_prediction_tokens":0}},"prompt_tokens":{},"prompt_tokens_details":{{"audio_tokens":0,"cached_tokens":{}}},"total_tokens":{}}}"#,
            self.completion,
            self.reasoning,
            self.prompt,
            self.cached,
            self.prompt + self.completion
        );
    }
}

/// Writes a JSON string literal (with quotes).
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    // serde_json's escaping into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// SSE line framing (`data: ` + LF normally; faults change it).
#[derive(Debug, Clone, Copy)]
pub struct Framing {
    pub data_prefix: &'static str,
    pub eol: &'static str,
}

impl Framing {
    pub const STANDARD: Self = Self {
        data_prefix: "data: ",
        eol: "\n",
    };
}

/// Per-stream chunk writer: the constant tail of every chunk is serialized once.
///
/// Every chunk but the annotation one carries `obfuscation`, a random 0–15 character string
/// between `model` and `object` (in every stream recorded since November 2025:
/// tests/fixtures/conformance/README.md), so the writer keeps a small random state.
pub struct ChunkWriter {
    framing: Framing,
    /// `],"created":…,"id":"…","model":"…"`: the part of every chunk's tail before
    /// `obfuscation`.
    tail_head: String,
    /// `,"object":"chat.completion.chunk","system_fingerprint":"…"` plus `,"usage":null`
    /// when include_usage.
    tail: String,
    /// The same without usage (for the usage chunk).
    tail_no_usage: String,
    content_prefix: String,
    /// Asynchronous filter mode: no `content_filter_results` on role, content and finish
    /// chunks (tests/fixtures/conformance/13).
    asynchronous: bool,
    rng: std::cell::Cell<u64>,
}

/// Results of the async filter's first verdict chunk: the severity categories (the key set
/// of tests/fixtures/conformance/13, without its custom blocklist).
pub const ASYNC_VERDICT_SEVERITY: &str = r#"{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}"#;
/// The second verdict chunk: protected material, as recorded in 13.
pub const ASYNC_VERDICT_PROTECTED: &str = r#"{"protected_material_code":{"filtered":false,"detected":false},"protected_material_text":{"filtered":false,"detected":false}}"#;
/// The second verdict when the output is blocked (azure-wire.md §4.2, content-streaming doc).
pub const ASYNC_VERDICT_BLOCKED: &str =
    r#"{"protected_material_text":{"detected":true,"filtered":true}}"#;

impl ChunkWriter {
    pub fn new(
        framing: Framing,
        created: u64,
        id: &str,
        model: &str,
        fingerprint: &str,
        include_usage: bool,
        filter: ChunkFilterResults,
    ) -> Self {
        let tail_head = format!(r#"],"created":{created},"id":"{id}","model":"{model}""#);
        let tail_no_usage =
            format!(r#","object":"chat.completion.chunk","system_fingerprint":"{fingerprint}""#);
        let tail = if include_usage {
            format!(r#"{tail_no_usage},"usage":null"#)
        } else {
            tail_no_usage.clone()
        };
        let filters = match filter {
            ChunkFilterResults::Full => CHUNK_FILTER_RESULTS,
            ChunkFilterResults::Empty => "{}",
        };
        // Seeded from the stream's id: the same request gives the same bytes.
        let seed = id.bytes().fold(0x9E37_79B9_7F4A_7C15u64 ^ created, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
        });
        Self {
            framing,
            tail_head,
            tail,
            tail_no_usage,
            rng: std::cell::Cell::new(seed | 1),
            content_prefix: format!(
                r#"{{"choices":[{{"content_filter_results":{filters},"delta":{{"content":"#
            ),
            asynchronous: false,
        }
    }

    /// Switches to the asynchronous filter's chunk shapes.
    pub fn asynchronous(mut self) -> Self {
        self.asynchronous = true;
        self.content_prefix = r#"{"choices":[{"delta":{"content":"#.to_string();
        self
    }

    /// The opening of a role or finish chunk's choice: `{"choices":[{` plus the empty
    /// `content_filter_results` the synchronous mode puts there.
    fn choice_open(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"choices":[{"#);
        if !self.asynchronous {
            out.extend_from_slice(br#""content_filter_results":{},"#);
        }
    }

    /// An async-filter verdict chunk: offsets and results of one span of the answer, with
    /// the annotation chunk's empty identity and no `usage` or `obfuscation` (as recorded in
    /// tests/fixtures/conformance/13). `finish` = `content_filter` when it blocks the answer.
    pub fn async_verdict(
        &self,
        (start, end): (usize, usize),
        results: &str,
        finish: Option<&str>,
        out: &mut Vec<u8>,
    ) {
        use std::io::Write;
        self.open(out);
        let _ = write!(
            out,
            r#"{{"choices":[{{"content_filter_offsets":{{"check_offset":{start},"start_offset":{start},"end_offset":{end}}},"content_filter_results":{results},"finish_reason":"#
        );
        match finish {
            Some(f) => write_json_str(out, f),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(br#","index":0}],"created":0,"id":"","model":"","object":""}"#);
        self.close(out);
    }

    /// The tail of a chunk: `],"created":…,"model":"…","obfuscation":"…","object":…`.
    fn write_tail(&self, with_usage_null: bool, out: &mut Vec<u8>) {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        out.extend_from_slice(self.tail_head.as_bytes());
        out.extend_from_slice(br#","obfuscation":""#);
        // xorshift64: cheap, and enough to look like the service's padding.
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        let len = (x & 0xF) as usize;
        let mut bits = x >> 4;
        for _ in 0..len {
            out.push(ALPHABET[(bits % ALPHABET.len() as u64) as usize]);
            bits /= ALPHABET.len() as u64;
            if bits == 0 {
                bits = x.rotate_left(29) | 1;
            }
        }
        out.push(b'"');
        out.extend_from_slice(if with_usage_null {
            self.tail.as_bytes()
        } else {
            self.tail_no_usage.as_bytes()
        });
    }

    fn open(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.framing.data_prefix.as_bytes());
    }

    fn close(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.framing.eol.as_bytes());
        out.extend_from_slice(self.framing.eol.as_bytes());
    }

    /// The leading `prompt_filter_results` chunk (empty id/model/object, created 0).
    pub fn annotation(&self, out: &mut Vec<u8>) {
        self.open(out);
        out.extend_from_slice(
            br#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":"#,
        );
        out.extend_from_slice(PROMPT_FILTER_RESULTS.as_bytes());
        // No `usage` key here, even with include_usage (every recording: fixtures 01–13).
        out.push(b'}');
        self.close(out);
    }

    pub fn role(&self, out: &mut Vec<u8>) {
        self.open(out);
        self.choice_open(out);
        out.extend_from_slice(br#""delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}"#);
        self.write_tail(true, out);
        out.push(b'}');
        self.close(out);
    }

    pub fn content(&self, text: &str, out: &mut Vec<u8>) {
        self.open(out);
        out.extend_from_slice(self.content_prefix.as_bytes());
        write_json_str(out, text);
        out.extend_from_slice(br#"},"finish_reason":null,"index":0,"logprobs":null}"#);
        self.write_tail(true, out);
        out.push(b'}');
        self.close(out);
    }

    /// A content chunk whose string carries raw invalid UTF-8 bytes (fault `invalid-utf8`).
    pub fn content_invalid_utf8(&self, out: &mut Vec<u8>) {
        self.open(out);
        out.extend_from_slice(self.content_prefix.as_bytes());
        out.extend_from_slice(b"\"bad \xff\xfe\xc3 bytes\"");
        out.extend_from_slice(br#"},"finish_reason":null,"index":0,"logprobs":null}"#);
        self.write_tail(true, out);
        out.push(b'}');
        self.close(out);
    }

    pub fn finish(&self, reason: &str, filtered: bool, out: &mut Vec<u8>) {
        self.open(out);
        if self.asynchronous {
            out.extend_from_slice(br#"{"choices":[{"delta":{},"finish_reason":""#);
        } else {
            out.extend_from_slice(br#"{"choices":[{"content_filter_results":"#);
            out.extend_from_slice(if filtered {
                CHUNK_FILTER_FILTERED.as_bytes()
            } else {
                b"{}"
            });
            out.extend_from_slice(br#","delta":{},"finish_reason":""#);
        }
        out.extend_from_slice(reason.as_bytes());
        out.extend_from_slice(br#"","index":0,"logprobs":null}"#);
        self.write_tail(true, out);
        out.push(b'}');
        self.close(out);
    }

    pub fn usage(&self, usage: &Usage, out: &mut Vec<u8>) {
        self.open(out);
        out.extend_from_slice(b"{\"choices\":[");
        self.write_tail(false, out);
        out.extend_from_slice(br#","usage":"#);
        usage.write_json(out);
        out.push(b'}');
        self.close(out);
    }

    pub fn done(&self, out: &mut Vec<u8>) {
        self.open(out);
        out.extend_from_slice(b"[DONE]");
        self.close(out);
    }

    /// A raw event with the given JSON (mid-stream error event).
    pub fn raw_event(&self, json: &str, out: &mut Vec<u8>) {
        self.open(out);
        out.extend_from_slice(json.as_bytes());
        self.close(out);
    }

    /// A data line with broken JSON (fault `malformed`).
    pub fn malformed(&self, out: &mut Vec<u8>) {
        self.open(out);
        out.extend_from_slice(
            br#"{"choices":[{"content_filter_results":{},"delta":{"content":"oops"#,
        );
        self.close(out);
    }

    /// An SSE comment (fault `comments`).
    pub fn comment(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b": keep-alive");
        self.close(out);
    }
}

/// One timed write.
#[derive(Debug)]
pub struct Segment {
    /// Offset from the response start.
    pub at: Duration,
    pub bytes: Vec<u8>,
    /// Contains the first content delta: stamp `first_token_at` just before handing it over.
    pub first_token: bool,
    /// After this segment the body yields an error (connection reset).
    pub reset_after: bool,
}

/// The whole timed body, built up front.
#[derive(Debug, Default)]
pub struct Plan {
    pub segments: Vec<Segment>,
}

impl Plan {
    /// The buffer for a write at `at`: appended to the previous segment when simultaneous.
    pub fn at(&mut self, at: Duration) -> &mut Vec<u8> {
        let merge = self
            .segments
            .last()
            .is_some_and(|s| s.at == at && !s.reset_after);
        if !merge {
            self.segments.push(Segment {
                at,
                bytes: Vec::with_capacity(4096),
                first_token: false,
                reset_after: false,
            });
        }
        // Just pushed or merged: a segment exists.
        let last = self.segments.len() - 1;
        &mut self.segments[last].bytes
    }

    pub fn mark_first_token(&mut self) {
        if let Some(s) = self.segments.last_mut() {
            s.first_token = true;
        }
    }

    pub fn mark_reset(&mut self) {
        if let Some(s) = self.segments.last_mut() {
            s.reset_after = true;
        }
    }
}

/// Receives the first-token instant.
pub trait FirstTokenSink: Send + Sync + 'static {
    fn first_token(&self, at: Instant);
}

/// Turns a plan into a body stream that sleeps until each segment's offset.
pub fn into_stream(
    plan: Plan,
    start: tokio::time::Instant,
    sink: Arc<dyn FirstTokenSink>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    // (remaining segments, reset pending, ended)
    let state = (plan.segments.into_iter(), false, false);
    futures_util::stream::unfold(state, move |(mut segs, reset, ended)| {
        let sink = sink.clone();
        async move {
            if ended {
                return None;
            }
            if reset {
                // Let hyper flush the headers and the bytes so far, then abort.
                tokio::time::sleep(Duration::from_millis(10)).await;
                let err = std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "simulated connection reset",
                );
                return Some((Err(err), (segs, false, true)));
            }
            let seg = segs.next()?;
            if !seg.at.is_zero() {
                tokio::time::sleep_until(start + seg.at).await;
            }
            if seg.first_token {
                sink.first_token(Instant::now());
            }
            Some((Ok(Bytes::from(seg.bytes)), (segs, seg.reset_after, false)))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(include_usage: bool) -> ChunkWriter {
        ChunkWriter::new(
            Framing::STANDARD,
            7,
            "chatcmpl-x",
            "gpt-4o-2024-11-20",
            "fp_0123456789",
            include_usage,
            ChunkFilterResults::Full,
        )
    }

    #[test]
    fn chunks_are_valid_json_with_alphabetical_keys() {
        let w = writer(true);
        let mut out = Vec::new();
        w.annotation(&mut out);
        w.role(&mut out);
        w.content("he said \"hi\"\n", &mut out);
        w.finish("stop", false, &mut out);
        w.usage(
            &Usage {
                prompt: 5,
                cached: 0,
                completion: 3,
                reasoning: 0,
            },
            &mut out,
        );
        w.done(&mut out);
        let text = String::from_utf8(out).unwrap();
        let events: Vec<&str> = text.split("\n\n").filter(|s| !s.is_empty()).collect();
        assert_eq!(events.len(), 6);
        for e in &events[..5] {
            let json = e.strip_prefix("data: ").unwrap();
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "{json}");
        }
        assert!(events[2].contains(r#""delta":{"content":"he said \"hi\"\n"}"#));
        assert!(events[3].ends_with(r#""usage":null}"#));
        assert!(events[4].contains(r#""choices":[],"created":7"#));
        assert_eq!(events[5], "data: [DONE]");
    }

    #[test]
    fn async_mode_chunks_match_the_recording_shapes() {
        let w = writer(true).asynchronous();
        let mut out = Vec::new();
        w.role(&mut out);
        w.content("Hello", &mut out);
        w.finish("stop", false, &mut out);
        w.async_verdict((0, 5), ASYNC_VERDICT_SEVERITY, None, &mut out);
        w.async_verdict(
            (0, 5),
            ASYNC_VERDICT_BLOCKED,
            Some("content_filter"),
            &mut out,
        );
        let text = String::from_utf8(out).unwrap();
        let events: Vec<serde_json::Value> = text
            .split("\n\n")
            .filter(|s| !s.is_empty())
            .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
            .collect();
        for e in &events[..3] {
            assert!(
                e["choices"][0].get("content_filter_results").is_none(),
                "{e}"
            );
        }
        assert_eq!(events[1]["choices"][0]["delta"]["content"], "Hello");
        // As in tests/fixtures/conformance/13: identity blank, no delta/logprobs/usage.
        let v = &events[3];
        assert_eq!(
            v.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["choices", "created", "id", "model", "object"]
        );
        assert_eq!(
            v["choices"][0]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            [
                "content_filter_offsets",
                "content_filter_results",
                "finish_reason",
                "index"
            ]
        );
        assert_eq!(v["choices"][0]["content_filter_offsets"]["end_offset"], 5);
        assert_eq!(events[4]["choices"][0]["finish_reason"], "content_filter");
    }

    #[test]
    fn plan_coalesces_simultaneous_writes() {
        let mut p = Plan::default();
        p.at(Duration::ZERO).extend_from_slice(b"a");
        p.at(Duration::ZERO).extend_from_slice(b"b");
        p.mark_first_token();
        p.at(Duration::from_millis(5)).extend_from_slice(b"c");
        assert_eq!(p.segments.len(), 2);
        assert_eq!(p.segments[0].bytes, b"ab");
        assert!(p.segments[0].first_token);
    }
}
