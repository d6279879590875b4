use std::time::{Duration, SystemTime};

use super::*;
use crate::domain::call::{Attempt, CallError, Timings, WireApi};
use crate::domain::usage::Usage;
use crate::wire::{ChatMessage, ChatRequest};

fn req() -> RecordedRequest {
    RecordedRequest {
        deployment: "gpt-4o".into(),
        api: ApiPath::Classic,
        api_version: Some("2024-10-21".into()),
        endpoint: Some("https://my-res.openai.azure.com".into()),
        stream: true,
        retry: "honor".into(),
        headers: vec![],
        body: ChatRequest {
            messages: vec![
                ChatMessage::new("system", "Be terse."),
                ChatMessage::new("user", "Name a fruit"),
            ],
            max_completion_tokens: Some(64),
            temperature: Some(0.2),
            ..Default::default()
        },
        wire_api: WireApi::Chat,
        wire_body: None,
    }
}

fn rec() -> CallRecord {
    CallRecord {
        deployment: "gpt-4o".into(),
        stream: true,
        status: Some(200),
        model: Some("gpt-4o-2024-08-06".into()),
        response_id: Some("chatcmpl-1".into()),
        finish_reason: Some("stop".into()),
        text: "Apple".into(),
        timing: Timings {
            ttft_ms: Some(400.0),
            e2e_ms: Some(1000.0),
            ..Default::default()
        },
        call_ms: Some(2600.0),
        usage: Some(Usage {
            prompt_tokens: 20,
            completion_tokens: 5,
            cached_tokens: 8,
            reasoning_tokens: 0,
            total_tokens: 25,
        }),
        attempts: vec![
            Attempt {
                deployment: "gpt-4o".into(),
                status: Some(429),
                retry_after_ms: Some(1500),
                waited_ms: 1500,
                ms: Some(100.0),
                ..Default::default()
            },
            Attempt {
                deployment: "gpt-4o".into(),
                status: Some(200),
                ms: Some(1000.0),
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

fn get<'a>(a: &'a Attrs, k: &str) -> Option<&'a AttrValue> {
    a.iter().find(|(n, _)| *n == k).map(|(_, v)| v)
}

#[test]
fn span_carries_the_gen_ai_attributes_and_the_call_times() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let sp = call_span(&req(), &rec(), t0, None, MapOptions::default());
    assert_eq!(sp.name, "chat gpt-4o");
    assert_eq!(sp.start, t0);
    assert_eq!(sp.end, t0 + Duration::from_millis(2600));
    assert_eq!(
        get(&sp.attrs, "gen_ai.provider.name"),
        Some(&s("azure.ai.openai"))
    );
    assert_eq!(get(&sp.attrs, "gen_ai.operation.name"), Some(&s("chat")));
    assert_eq!(
        get(&sp.attrs, "gen_ai.request.max_tokens"),
        Some(&AttrValue::Int(64))
    );
    assert_eq!(
        get(&sp.attrs, "gen_ai.usage.input_tokens"),
        Some(&AttrValue::Int(20))
    );
    assert_eq!(
        get(&sp.attrs, "gen_ai.usage.cache_read.input_tokens"),
        Some(&AttrValue::Int(8))
    );
    assert_eq!(
        get(&sp.attrs, "gen_ai.usage.reasoning.output_tokens"),
        None,
        "zero: omitted"
    );
    assert_eq!(
        get(&sp.attrs, "server.address"),
        Some(&s("my-res.openai.azure.com"))
    );
    assert_eq!(get(&sp.attrs, "server.port"), Some(&AttrValue::Int(443)));
    assert_eq!(
        get(&sp.attrs, "gen_ai.input.messages"),
        None,
        "content only on opt-in"
    );
    assert_eq!(sp.error, None);
    // The 429 then the 200, laid out with the wait between them.
    assert_eq!(sp.attempts.len(), 2);
    assert_eq!(sp.attempts[0].end, t0 + Duration::from_millis(100));
    assert_eq!(sp.attempts[1].start, t0 + Duration::from_millis(1600));
    assert!(sp.attempts[0].error.is_some() && sp.attempts[1].error.is_none());
    assert_eq!(
        get(&sp.attempts[1].attrs, "http.request.resend_count"),
        Some(&AttrValue::Int(1))
    );
}

#[test]
fn content_on_opt_in_and_errors_typed() {
    let opts = MapOptions {
        capture_content: true,
    };
    let sp = call_span(&req(), &rec(), SystemTime::UNIX_EPOCH, None, opts);
    let Some(AttrValue::Str(input)) = get(&sp.attrs, "gen_ai.input.messages") else {
        panic!("no input messages");
    };
    assert!(input.contains("Name a fruit") && !input.contains("Be terse"));
    assert!(get(&sp.attrs, "gen_ai.system_instructions").is_some());
    let mut r = rec();
    r.outcome = Outcome::Throttled;
    r.status = Some(429);
    r.error = Some(CallError::new(ErrorKind::Throttled, "rate limited"));
    let sp = call_span(
        &req(),
        &r,
        SystemTime::UNIX_EPOCH,
        None,
        MapOptions::default(),
    );
    assert_eq!(get(&sp.attrs, "error.type"), Some(&s("429")));
    assert!(sp.error.is_some());
}

#[test]
fn server_of_urls() {
    assert_eq!(
        server_of("http://127.0.0.1:8080/x"),
        Some(("127.0.0.1".into(), 8080))
    );
    assert_eq!(server_of("https://a.b"), Some(("a.b".into(), 443)));
    assert_eq!(server_of("nonsense"), None);
}

#[test]
fn metrics_time_to_first_chunk_only_when_streamed() {
    let mut r = rec();
    assert_eq!(call_metrics(&req(), &r).time_to_first_chunk_s, Some(0.4));
    r.stream = false;
    assert_eq!(call_metrics(&req(), &r).time_to_first_chunk_s, None);
}
