//! `aoai embed`: one embeddings call, its figures as text on stdout (or one JSON object with
//! `--json`). Exit codes as `aoai chat`: 0 done, 1 failed, 3 throttled, 130 cancelled.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;

use crate::cli::EmbedArgs;
use crate::domain::call::ErrorKind;
use crate::domain::embeddings::{EmbedRecord, EmbedSpec};
use crate::engine::connect::connect;

/// The deployment `aoai embed` uses on the simulator when none is named.
pub const SIM_EMBEDDINGS_DEPLOYMENT: &str = "text-embedding-3-small";

pub async fn run(args: EmbedArgs) -> anyhow::Result<ExitCode> {
    let mut inputs = Vec::with_capacity(args.text.len());
    for t in &args.text {
        if t == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading the text from stdin")?;
            inputs.push(s);
        } else {
            inputs.push(t.clone());
        }
    }
    if inputs.iter().any(|t| t.is_empty()) {
        bail!("a text to embed is empty");
    }
    let conn = connect(&args.conn.options_for(args.deployment.as_ref())).await?;
    // Flag / env, else the profile's deployment (when it is an embeddings model), else the
    // simulator's embeddings deployment.
    let deployment = match (&args.deployment, conn.is_sim()) {
        (Some(d), _) => d.clone(),
        (None, true) => SIM_EMBEDDINGS_DEPLOYMENT.to_string(),
        (None, false) => conn.deployment(None)?,
    };
    let spec = EmbedSpec {
        deployment,
        inputs,
        dimensions: args.dimensions,
    };
    let cancel = CancellationToken::new();
    let ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        })
    };
    let started = std::time::SystemTime::now();
    let record = conn.client.embed(&spec, &cancel).await;
    crate::engine::telemetry::embeddings_finished(conn.client.config(), &spec, &record, started);
    ctrl_c.abort();
    if args.json {
        println!("{}", serde_json::to_string(&record)?);
    } else {
        print!("{}", record.text_block(conn.is_sim()));
    }
    Ok(exit_code(&record))
}

pub fn exit_code(r: &EmbedRecord) -> ExitCode {
    match r.error.as_ref().map(|e| &e.kind) {
        None => ExitCode::SUCCESS,
        Some(ErrorKind::Throttled) => ExitCode::from(3),
        Some(ErrorKind::Cancelled) => ExitCode::from(130),
        Some(_) => ExitCode::from(1),
    }
}
