//! The Responses API reducer against real recorded Azure responses
//! (tests/fixtures/conformance/91-93, sources and scrubbing in each file's `source`).

use aoai::domain::responses::ResponsesState;
use aoai::wire::ErrorInfo;
use aoai::wire::responses::{ResponseEventIn, ResponseIn};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/conformance/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The `data:` payloads of an SSE body, with the `event:` name of each block.
fn events(body: &str) -> Vec<(String, String)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            (!data.is_empty()).then_some((name, data))
        })
        .collect()
}

fn check_expect(st: &ResponsesState, expect: &Value) {
    assert_eq!(st.text, expect["text"].as_str().unwrap());
    assert_eq!(st.model.as_deref(), expect["model"].as_str());
    // `expect.finish_reason` holds the response's status; the record says chat's `stop`.
    assert_eq!(st.status.as_deref(), expect["finish_reason"].as_str());
    assert_eq!(st.finish_reason.as_deref(), Some("stop"));
    let u = st.usage.as_ref().expect("usage");
    let e = &expect["usage"];
    assert_eq!(u.prompt_tokens, e["prompt_tokens"].as_u64().unwrap());
    assert_eq!(
        u.completion_tokens,
        e["completion_tokens"].as_u64().unwrap()
    );
    assert_eq!(
        u.prompt_tokens_details
            .as_ref()
            .map_or(0, |d| d.cached_tokens),
        e["cached_tokens"].as_u64().unwrap()
    );
    assert_eq!(
        u.completion_tokens_details
            .as_ref()
            .map_or(0, |d| d.reasoning_tokens),
        e["reasoning_tokens"].as_u64().unwrap()
    );
    assert_eq!(
        u64::from(st.tool_calls),
        expect["tool_calls"].as_u64().unwrap()
    );
    assert_eq!(st.failure, None);
}

#[test]
fn a_recorded_stream_reduces_to_the_recorded_answer() {
    let f = fixture("91-responses-stream-deployments-api.json");
    let body = f["response"]["body"].as_str().unwrap();
    let mut st = ResponsesState::default();
    let mut answer_deltas = 0;
    let evs = events(body);
    assert!(
        evs.iter().all(|(_, d)| d != "[DONE]"),
        "no [DONE] on this API"
    );
    for (name, data) in &evs {
        let ev: ResponseEventIn = serde_json::from_str(data).unwrap();
        assert_eq!(&ev.kind, name, "the event name repeats the type");
        if st.apply(&ev).is_some() {
            answer_deltas += 1;
        }
    }
    assert!(st.ended, "response.completed ends the stream");
    assert_eq!(st.out_of_order, 0);
    assert_eq!(st.last_sequence, Some(evs.len() as u64 - 1));
    assert!(answer_deltas > 1, "{answer_deltas}");
    check_expect(&st, &f["expect"]);
}

#[test]
fn a_recorded_non_stream_body_with_content_filters() {
    let f = fixture("93-responses-v1-content-filters.json");
    let body = &f["response"]["body"];
    let text = body
        .as_str()
        .map_or_else(|| body.to_string(), str::to_string);
    let r: ResponseIn = serde_json::from_str(&text).unwrap();
    let mut st = ResponsesState::default();
    st.take_response(&r);
    check_expect(&st, &f["expect"]);
}

#[test]
fn a_recorded_prompt_filter_rejection() {
    let f = fixture("92-responses-prompt-filter-400.json");
    let body = &f["response"]["body"];
    let text = body
        .as_str()
        .map_or_else(|| body.to_string(), str::to_string);
    let e = ErrorInfo::parse(text.as_bytes()).unwrap();
    assert_eq!(e.code.as_deref(), f["expect"]["error_code"].as_str());
    assert_eq!(e.message, f["expect"]["error_message"].as_str().unwrap());
}
