//! `aoai replay FILE`: the console on a scenario (default), `--report` (figures), or
//! `--resend` (send the recorded requests again and compare).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;

use crate::cli::{ExportFormat, ReplayArgs};
use crate::domain::call::{Outcome, WireApi};
use crate::domain::cost::PriceTable;
use crate::domain::diff;
use crate::domain::num::fmt_ms;
use crate::domain::num::plural;
use crate::domain::params;
use crate::engine::connect::connect;
use crate::engine::record::Recorder;
use crate::engine::record::report::{ReportBuilder, render_text};
use crate::engine::record::resend::{ResendRow, resend};

pub async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    if args.report {
        return report(&args);
    }
    if args.resend {
        return resend_cmd(&args).await;
    }
    if let Some(format) = args.export {
        return export(&args, format);
    }
    bail!("pass --report or --resend (without them, `aoai replay FILE` opens the console)")
}

/// `--export FORMAT [-o FILE]`: the scenario in another format. A file is created
/// readable by its owner only (it holds prompts and answers when content is captured); a
/// failed write removes it rather than leaving half a file.
fn export(args: &ReplayArgs, format: ExportFormat) -> anyhow::Result<ExitCode> {
    let prices = prices(args)?;
    let loaded = crate::engine::capture::load(&args.file)?;
    for w in &loaded.warnings {
        eprintln!("{}: {w}", args.file.display());
    }
    // Message content only when opted in, as for live export (docs/telemetry.md).
    let capture = std::env::var("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
        .is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let write = |w: &mut dyn Write| -> anyhow::Result<usize> {
        match format {
            ExportFormat::OtlpJson => Ok(crate::engine::telemetry::write_otlp_json(
                &loaded, capture, w,
            )?),
            ExportFormat::Har => crate::engine::har::export::write_har(&loaded, w),
            ExportFormat::Markdown => {
                let name = args.file.file_name().map_or_else(
                    || args.file.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                w.write_all(
                    crate::engine::record::incident::render_markdown(&name, &loaded, &prices)
                        .as_bytes(),
                )?;
                Ok(loaded.calls.len())
            }
        }
    };
    let n = match &args.output {
        None => write(&mut std::io::stdout().lock())?,
        Some(path) => {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let file = opts
                .open(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let done = write(&mut out).and_then(|n| {
                out.flush()?;
                Ok(n)
            });
            match done {
                Ok(n) => n,
                Err(e) => {
                    let _ = std::fs::remove_file(path);
                    return Err(e.context(format!("writing {}", path.display())));
                }
            }
        }
    };
    if let Some(path) = &args.output {
        eprintln!(
            "wrote {} to {}",
            match format {
                ExportFormat::OtlpJson => plural(n as u64, "span", "spans"),
                ExportFormat::Har => plural(n as u64, "HAR entry", "HAR entries"),
                ExportFormat::Markdown => {
                    format!(
                        "an incident summary of {}",
                        plural(n as u64, "call", "calls")
                    )
                }
            },
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn prices(args: &ReplayArgs) -> anyhow::Result<PriceTable> {
    match &args.conn.prices {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading price table {}", path.display()))?;
            Ok(PriceTable::parse(&text)?)
        }
        None => Ok(PriceTable::builtin()),
    }
}

fn report(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let prices = prices(args)?;
    let mut builder = ReportBuilder::new(&prices);
    // The report alone streams summaries; `--what-if` needs the calls, so the file is read
    // whole once for both.
    let (warnings, what_if) = if args.what_if.is_empty() {
        let (_header, warnings) =
            crate::engine::capture::for_each_summary(&args.file, |c| builder.add(c))?;
        (warnings, None)
    } else {
        let loaded = crate::engine::capture::load(&args.file)?;
        loaded
            .calls
            .iter()
            .for_each(|c| builder.add(crate::engine::record::report::CallSummary::from(c)));
        let plans = super::plan::what_if(
            &args.file,
            &loaded.calls,
            &args.what_if,
            args.deployment_type,
            &prices,
        )?;
        (loaded.warnings, Some(plans))
    };
    for w in &warnings {
        eprintln!("{}: {w}", args.file.display());
    }
    let report = builder.finish();
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        if let Some((w, plans)) = &what_if {
            v["what_if"] = serde_json::json!({ "workload": w, "models": plans });
        }
        serde_json::to_writer(&mut out, &v)?;
        writeln!(out)?;
    } else {
        out.write_all(render_text(&report).as_bytes())?;
        if let Some((w, plans)) = &what_if {
            out.write_all(super::plan::format_what_if(w, plans).as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn signed(v: Option<i64>) -> String {
    v.map_or("—".into(), |d| format!("{d:+}"))
}

fn signed_ms(v: Option<f64>) -> String {
    v.map_or("—".into(), |d| {
        if d < 0.0 {
            format!("-{}", fmt_ms(-d))
        } else {
            format!("+{}", fmt_ms(d))
        }
    })
}

fn row_text(r: &ResendRow) -> String {
    let opt = |v: Option<u64>| v.map_or("—".into(), |n| n.to_string());
    let ms = crate::domain::num::opt_ms;
    let usd = |v: Option<f64>| v.map_or("—".into(), |c| format!("${c:.6}"));
    let side = |s: &crate::engine::record::resend::Side| match s.wire_api {
        WireApi::Chat => s.deployment.clone(),
        WireApi::Responses => format!("{} (responses)", s.deployment),
    };
    let mut s = format!(
        "call {}: {} → {} · status {} → {}\n",
        r.call,
        side(&r.recorded),
        side(&r.now),
        r.recorded.status.map_or("—".into(), |v| v.to_string()),
        r.now.status.map_or("—".into(), |v| v.to_string()),
    );
    s.push_str(&format!(
        "  prompt {} → {} ({}) · completion {} → {} ({}) · TTFT {} → {} ({}) · e2e {} → {} ({}) · cost {} → {}\n",
        opt(r.recorded.prompt_tokens),
        opt(r.now.prompt_tokens),
        signed(r.delta_prompt_tokens),
        opt(r.recorded.completion_tokens),
        opt(r.now.completion_tokens),
        signed(r.delta_completion_tokens),
        ms(r.recorded.ttft_ms),
        ms(r.now.ttft_ms),
        signed_ms(r.delta_ttft_ms),
        ms(r.recorded.e2e_ms),
        ms(r.now.e2e_ms),
        signed_ms(r.delta_e2e_ms),
        usd(r.recorded.cost_usd),
        usd(r.now.cost_usd),
    ));
    if let Some(e) = &r.now.error {
        s.push_str(&format!("  error now: {e}\n"));
    }
    s.push_str(&format!(
        "  answer: {:.0}% of words the same\n",
        r.similarity * 100.0
    ));
    if r.similarity < 1.0 {
        s.push_str(&format!(
            "  {}\n",
            diff::plain(&r.diff).replace('\n', "\n  ")
        ));
    }
    s
}

async fn resend_cmd(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let loaded = crate::engine::capture::load(&args.file)?;
    for w in &loaded.warnings {
        eprintln!("{}: {w}", args.file.display());
    }
    if loaded.calls.is_empty() {
        bail!("{}: no calls to re-send", args.file.display());
    }
    // Every recorded body is checked before the first is sent.
    for (i, c) in loaded.calls.iter().enumerate() {
        if let Err(e) = params::check_request(&c.request.body) {
            bail!(
                "{}: call {}: {e}; nothing was re-sent",
                args.file.display(),
                i + 1
            );
        }
    }
    let conn = connect(&args.conn.options()).await?;
    let mut recorder = match &args.record {
        Some(p) => Some(Recorder::open(p, conn.is_sim().then_some("simulator"))?),
        None => None,
    };
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            c2.cancel();
        }
    });
    let json = args.json;
    let rows = resend(
        &conn.client,
        &loaded.calls,
        args.deployment.as_deref(),
        // `--wire-api` re-sends every call over that API; without it, each as recorded.
        args.conn.wire_api,
        recorder.as_mut(),
        &cancel,
        |row| {
            if !json {
                print!("{}", row_text(row));
                let _ = std::io::stdout().flush();
            }
        },
    )
    .await?;
    ctrl_c.abort();
    if json {
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({ "calls": rows }))?
        );
    } else {
        let count = |o: Outcome| rows.iter().filter(|r| r.now.outcome == o).count();
        println!(
            "{} re-sent: {} failed, {} throttled",
            plural(rows.len() as u64, "call", "calls"),
            count(Outcome::Failed),
            count(Outcome::Throttled)
        );
    }
    Ok(exit_code(&rows, cancel.is_cancelled()))
}

/// As `aoai chat`: 130 cancelled, 1 some call failed, 3 some throttled (none failed), else 0.
fn exit_code(rows: &[ResendRow], cancelled: bool) -> ExitCode {
    let any = |o: Outcome| rows.iter().any(|r| r.now.outcome == o);
    if cancelled || any(Outcome::Cancelled) {
        ExitCode::from(130)
    } else if any(Outcome::Failed) {
        ExitCode::from(1)
    } else if any(Outcome::Throttled) {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}
