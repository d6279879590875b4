//! The executor's side of the Bench screen: one load run at a time, reporting every second
//! and at the end as [`BenchMsg`]s tagged with the run's generation.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Executor;
use crate::azure::ChatClient;
use crate::azure::arm::ModelRef;
use crate::domain::call::{ApiPath, WireApi};
use crate::domain::ptu::DeploymentType;
use crate::domain::retry::RetryPolicy;
use crate::domain::stats::BenchReport;
use crate::engine::bench::{self, LoadPlan, PromptTemplate, PtuTarget};
use crate::tui::event::{AppEventSender, BenchError, BenchMsg};
use crate::tui::messages::{BenchEffect, BenchSpec};

impl Executor {
    pub(super) fn bench(&mut self, effect: BenchEffect) {
        match effect {
            BenchEffect::Start {
                generation,
                spec,
                deployment,
                api,
                wire_api,
                model,
            } => self.start_bench(generation, spec, (deployment, api, wire_api), model),
            BenchEffect::Stop => {
                if let Some(t) = self.bench.take() {
                    t.cancel();
                }
            }
        }
    }

    fn start_bench(
        &mut self,
        generation: u64,
        spec: BenchSpec,
        (deployment, api, wire_api): (String, ApiPath, WireApi),
        model: Option<ModelRef>,
    ) {
        if let Some(t) = self.bench.take() {
            t.cancel();
        }
        let tx = self.tx.clone();
        let Some(client) = self.client(api) else {
            done(&tx, generation, Err(BenchError::NoClient));
            return;
        };
        let cancel = CancellationToken::new();
        self.bench = Some(cancel.clone());
        tokio::spawn(run_bench(
            client,
            tx,
            generation,
            spec,
            (deployment, wire_api),
            model,
            cancel,
        ));
    }
}

fn done(tx: &AppEventSender, generation: u64, result: Result<Box<BenchReport>, BenchError>) {
    tx.bench(BenchMsg::Done { generation, result });
}

async fn run_bench(
    client: ChatClient,
    tx: AppEventSender,
    generation: u64,
    spec: BenchSpec,
    (deployment, wire_api): (String, WireApi),
    model: Option<ModelRef>,
    cancel: CancellationToken,
) {
    let (p, c) = (spec.prompt_tokens, spec.max_tokens);
    let template = match tokio::task::spawn_blocking(move || PromptTemplate::new(p, c)).await {
        Ok(t) => t,
        Err(e) => return done(&tx, generation, Err(BenchError::Prompt(e.to_string()))),
    };
    let plan = LoadPlan {
        wire_api: Some(wire_api),
        deployment: deployment.clone(),
        template: Arc::new(template),
        pacing: spec.pacing,
        duration: spec.duration,
        report_every: Duration::from_secs(1),
        retry: RetryPolicy::None,
        max_in_flight: 1000,
        connections: None,
        drain: Duration::from_secs(10),
    };
    let reports = tx.clone();
    let mut on_report = move |r: &BenchReport| {
        reports.bench(BenchMsg::Report {
            generation,
            report: Box::new(r.clone()),
        });
    };
    let ptu = match &model {
        Some(m) => PtuTarget {
            model: Some(m.priced_name()),
            kind: DeploymentType::of_sku(&m.sku),
        },
        None => PtuTarget::default(),
    };
    let result = bench::measure(&client, &plan, &cancel, None, &ptu, &mut on_report)
        .await
        .map(Box::new)
        .map_err(BenchError::from);
    done(&tx, generation, result);
}
