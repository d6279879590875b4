//! `aoai chat`: the headless twin of the chat pane. Streams the answer to stdout, then the
//! call's figures to stderr (so `aoai chat … > answer.txt` keeps only the answer); with
//! `--json`, exactly one JSON object per call on stdout.
//!
//! Exit codes: 0 done, 1 failed, 3 throttled (429 after the retry policy), 130 cancelled.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;

use crate::azure::CallSpec;
use crate::cli::ChatArgs;
use crate::domain::call::{CallEvent, CallRecord, Outcome, WireApi};
use crate::domain::call_text::metrics_block;
use crate::domain::num::fmt_ms;
use crate::domain::params;
use crate::engine::connect::connect;
use crate::wire::{ChatMessage, ChatRequest};

/// Reads a `--messages` file: a JSON array of chat messages.
pub fn read_messages(path: &std::path::Path) -> anyhow::Result<Vec<ChatMessage>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: expected a JSON array of {{\"role\": …, \"content\": …}} messages",
            path.display()
        )
    })
}

/// The request `aoai chat` sends; the output budget goes in `field`.
pub fn build_request(
    args: &ChatArgs,
    history: Vec<ChatMessage>,
    message: &str,
    field: params::MaxTokensField,
) -> ChatRequest {
    let mut messages = Vec::new();
    if let Some(s) = args.system.as_deref().filter(|s| !s.is_empty()) {
        messages.push(ChatMessage::new("system", s));
    }
    messages.extend(history);
    if !message.trim().is_empty() {
        messages.push(ChatMessage::new("user", message));
    }
    let mut req = ChatRequest {
        messages,
        temperature: args.temperature,
        top_p: args.top_p,
        seed: args.seed,
        ..Default::default()
    };
    if let Some(effort) = &args.reasoning_effort {
        req.extra
            .insert("reasoning_effort".into(), serde_json::json!(effort));
    }
    for (key, v) in [
        ("presence_penalty", args.presence_penalty),
        ("frequency_penalty", args.frequency_penalty),
    ] {
        if let Some(v) = v.and_then(serde_json::Number::from_f64) {
            req.extra.insert(key.into(), serde_json::Value::Number(v));
        }
    }
    field.apply(&mut req, args.max_tokens);
    req
}

pub async fn run(args: ChatArgs) -> anyhow::Result<ExitCode> {
    let message = if args.message == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the message from stdin")?;
        s
    } else {
        args.message.clone()
    };
    let history = match &args.messages {
        Some(path) => read_messages(path)?,
        None => Vec::new(),
    };
    if message.trim().is_empty() && history.is_empty() {
        bail!("the message is empty");
    }
    let field = crate::engine::connect::max_tokens_field(&args.conn.options())?;
    let request = build_request(&args, history, &message, field);
    // Refused here, with the range, rather than sent (the flags are checked by clap too).
    params::check_request(&request)?;
    let mut conn = connect(&args.conn.options_for(args.deployment.as_ref())).await?;
    conn.connect_failover(&args.retry, &args.conn.options())
        .await?;
    // Open the scenario before the call, so a bad file is reported before anything is sent.
    let mut recorder = match &args.record {
        Some(path) => Some(crate::engine::record::Recorder::open(
            path,
            conn.is_sim().then_some("simulator"),
        )?),
        None => None,
    };
    // Flag / env, else the profile's deployment, else gpt-4o on the simulator.
    let deployment = conn.deployment(args.deployment.as_ref())?;
    let mut spec = CallSpec::new(deployment, request);
    if args.reasoning_summary.is_some() && conn.client.config().wire_api != WireApi::Responses {
        bail!(
            "--reasoning-summary needs the Responses API (--wire-api responses): Chat Completions has no reasoning summary"
        );
    }
    spec.reasoning_summary = args.reasoning_summary.clone();
    spec.stream = !args.no_stream;
    spec.retry = args.retry.clone();
    spec.capture_events = recorder.is_some();
    spec.extra_headers = args.headers.clone();
    let started = std::time::SystemTime::now();

    let cancel = CancellationToken::new();
    let ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        })
    };
    let json = args.json;
    let mut stdout = std::io::stdout();
    let mut in_summary = false;
    let mut on_event = |ev: CallEvent| {
        if json {
            return;
        }
        match ev {
            CallEvent::Delta(d) => {
                if std::mem::take(&mut in_summary) {
                    eprintln!();
                }
                let _ = stdout.write_all(d.as_bytes());
                let _ = stdout.flush();
            }
            // The reasoning summary is not the answer: stderr, so `> answer.txt` stays clean.
            CallEvent::Summary(d) => {
                if !std::mem::replace(&mut in_summary, true) {
                    eprint!("[reasoning] ");
                }
                eprint!("{d}");
            }
            CallEvent::Retrying {
                after_ms,
                status,
                next_deployment,
            } => {
                let status = status.map_or("no response".to_string(), |s| s.to_string());
                eprintln!(
                    "[{status}: retrying on {next_deployment} in {}]",
                    fmt_ms(after_ms as f64)
                );
            }
            _ => {}
        }
    };
    let record = conn.client.run(1, &spec, &cancel, &mut on_event).await;
    ctrl_c.abort();
    crate::engine::telemetry::call_finished(conn.client.config(), &spec, &record, started);

    let mut record = record;
    if let Some(rec) = recorder.as_mut() {
        let line = crate::engine::record::scenario_call(
            conn.client.config(),
            &spec,
            record.clone(),
            started,
        );
        rec.append(line)?;
        // The raw events belong in the scenario, not in the one-line JSON.
        record.events.clear();
    }
    if json {
        println!("{}", serde_json::to_string(&record)?);
    } else {
        if !record.text.is_empty() && !record.text.ends_with('\n') {
            println!();
        }
        eprint!("{}", metrics_block(&record, conn.is_sim()));
    }
    Ok(exit_code(&record))
}

pub fn exit_code(r: &CallRecord) -> ExitCode {
    match r.outcome {
        Outcome::Done => ExitCode::SUCCESS,
        Outcome::Failed => ExitCode::from(1),
        Outcome::Throttled => ExitCode::from(3),
        Outcome::Cancelled => ExitCode::from(130),
    }
}
