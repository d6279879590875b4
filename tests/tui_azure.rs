//! The console's Azure features against the in-process simulator, under TestBackend with the
//! real loop and executor: opening a deployment derives its account endpoint and prices calls
//! on its ARM model, headroom after calls, Azure Monitor sparklines, profile switching.

#[path = "common/harness.rs"]
mod harness;

use aoai::azure::Endpoint;
use aoai::azure::arm::SIM_SUBSCRIPTION;
use aoai::domain::call::Outcome;
use aoai::domain::cost::PriceTable;
use aoai::sim::{SimConfig, SimHandle};
use aoai::tui::app::Screen;
use aoai::tui::components::deployments::Load;
use clap::Parser;
use crossterm::event::KeyCode;
use harness::{Harness, config, sim_arm, sim_client, start_sim as start};

/// The chat client starts on the second simulator; ARM (and the accounts' endpoints) are the
/// first's.
async fn harness(w: u16, h: u16) -> Harness {
    let arm_sim = start(SimConfig::instant()).await;
    let first_sim = start(SimConfig::instant()).await;
    let mut h = Harness::new(
        sim_client(&first_sim, "test"),
        Some(sim_arm(&arm_sim)),
        config("gpt-4o"),
        (w, h),
    );
    h.sims = vec![arm_sim, first_sim];
    h
}

impl Harness {
    /// Serves ARM (and the accounts' data plane).
    fn arm_sim(&self) -> &SimHandle {
        &self.sims[0]
    }

    /// Where the data-plane client points at first.
    fn first_sim(&self) -> &SimHandle {
        &self.sims[1]
    }

    /// F4, wait for ARM, filter to `name`, Enter.
    async fn open(&mut self, name: &str) {
        self.key(KeyCode::F(4));
        self.run_until(|a| a.screen == Screen::Deployments && a.deployments().is_loaded())
            .await;
        // Clear an earlier filter, then filter to the one deployment.
        self.keys("/");
        self.key(KeyCode::Esc);
        self.keys(&format!("/{name}"));
        self.key(KeyCode::Enter);
        self.key(KeyCode::Enter);
        let n = name.to_string();
        self.run_until(move |a| a.screen == Screen::Chat && a.deployment == n)
            .await;
    }

    async fn call(&mut self, prompt: &str) {
        let n = self.app.session.calls.len() + 1;
        self.keys(prompt);
        self.key(KeyCode::Enter);
        self.run_until(move |a| {
            a.session.calls.len() >= n && a.session.calls[n - 1].record.is_some()
        })
        .await;
    }
}

fn chat_requests(sim: &SimHandle) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path.contains("chat/completions"))
        .count()
}

#[tokio::test]
async fn opening_a_deployment_switches_endpoint_and_prices_on_the_arm_model() {
    let mut h = harness(80, 24).await;
    h.open("gpt-4o-mini").await;
    assert_eq!(
        h.exec.endpoint().host(),
        Endpoint::parse(&h.arm_sim().base_url()).unwrap().host(),
        "the data plane follows the account's properties.endpoint"
    );
    let m = h.app.model_ref("gpt-4o-mini").unwrap().clone();
    assert_eq!(
        (m.model.as_str(), m.sku.as_str()),
        ("gpt-4o-mini", "Standard")
    );

    h.call("Hello there").await;
    assert_eq!(chat_requests(h.arm_sim()), 1);
    assert_eq!(chat_requests(h.first_sim()), 0);
    let call = h.app.session.latest().unwrap();
    let rec = call.record.clone().unwrap();
    assert_eq!(rec.outcome, Outcome::Done, "{rec:?}");
    let usage = rec.usage.unwrap();
    let prices = PriceTable::builtin();
    // Priced on ARM's model, version and SKU (Standard carries a multiplier), not on the
    // model name the service reported.
    let arm_cost = prices.cost_usd(&m.priced_name(), Some(&m.sku), &usage);
    let plain = prices.cost_usd(rec.model.as_deref().unwrap(), None, &usage);
    assert_eq!(rec.cost_usd, arm_cost);
    assert_ne!(rec.cost_usd, plain);
    assert_eq!(call.model.as_ref(), Some(&m));

    // A provisioned deployment shows utilisation, not a token price.
    h.open("gpt-4.1-ptu").await;
    h.call("And now on PTU").await;
    let call = h.app.session.latest().unwrap();
    let rec = call.record.clone().unwrap();
    assert_eq!(rec.outcome, Outcome::Done, "{rec:?}");
    assert_eq!(rec.cost_usd, None);
    let screen = h.screen();
    assert!(screen.contains("PTU util"), "{screen}");
    assert!(!screen.contains("cost "), "{screen}");
}

#[tokio::test]
async fn headroom_joins_the_session_calls_limits_and_quota() {
    let mut h = harness(160, 48).await;
    h.open("gpt-4o").await;
    h.call("one").await;
    h.call("two").await;
    let remaining = h
        .app
        .session
        .latest()
        .unwrap()
        .ratelimit
        .remaining_requests
        .unwrap();
    h.key(KeyCode::F(4));
    h.keys("d");
    h.run_until(|a| {
        a.screen == Screen::Deployments
            && a.deployments().details()
            && a.deployments()
                .selected()
                .is_some_and(|d| d.name == "gpt-4o")
            && matches!(a.deployments().metrics(), Load::Ready(_) | Load::Failed(_))
    })
    .await;
    let (_, hr, calls) = h.app.deployments().headroom(&h.app.session).unwrap();
    assert_eq!(calls, 2);
    let (rem, lim) = hr.requests.unwrap();
    assert_eq!(rem, remaining);
    assert!(lim >= rem);
    let (pool, _, limit) = hr.pool.clone().unwrap();
    assert_eq!(pool, "OpenAI.GlobalStandard.gpt-4o");
    assert!(limit > 0.0);
    let screen = h.screen();
    assert!(screen.contains("Headroom · gpt-4o"), "{screen}");
    assert!(screen.contains("OpenAI.GlobalStandard.gpt-4o"), "{screen}");
    assert!(screen.contains("to 429"), "{screen}");
}

#[tokio::test]
async fn monitor_sparklines_load_for_the_selected_deployment() {
    let mut h = harness(80, 24).await;
    h.call("count me").await;
    // The first client is not the ARM simulator: make a call there too, via the browser.
    h.open("gpt-4o").await;
    h.call("count me too").await;
    h.key(KeyCode::F(4));
    h.keys("d");
    h.run_until(|a| {
        a.screen == Screen::Deployments
            && matches!(a.deployments().metrics(), Load::Ready(_) | Load::Failed(_))
    })
    .await;
    let Load::Ready(m) = h.app.deployments().metrics().clone() else {
        panic!("{:?}\n{}", h.app.deployments().metrics(), h.screen());
    };
    assert_eq!(m.deployment, "gpt-4o");
    assert!(m.total_requests() >= 1.0, "{m:?}");
    assert!(m.requests_by_status.contains_key("200"), "{m:?}");
    let screen = h.screen();
    assert!(screen.contains("Azure Monitor"), "{screen}");
    assert!(screen.contains("by status  200:"), "{screen}");
}

#[tokio::test]
async fn profile_switch_rebuilds_the_clients_from_a_config_file() {
    let mut h = harness(80, 24).await;
    let second = start(SimConfig::instant()).await;
    let path = temp_config("second");
    std::fs::write(
        &path,
        format!(
            "[profiles.second]\nendpoint = \"{url}\"\ndeployment = \"gpt-4o-mini\"\nsubscriptions = [\"{SIM_SUBSCRIPTION}\"]\narm_endpoint = \"{url}\"\nauth = {{ type = \"key\", key = \"k\" }}\n",
            url = second.base_url()
        ),
    )
    .unwrap();
    let cli = aoai::cli::Cli::try_parse_from(["aoai", "--config", path.to_str().unwrap()]).unwrap();
    h.exec.set_conn_args(cli.console.conn.options());
    h.app.set_profiles(vec!["second".into()]);

    h.alt('p');
    h.run_until(|a| a.picker_open()).await;
    let screen = h.screen();
    assert!(screen.contains("Switch profile"), "{screen}");
    assert!(screen.contains("simulator (current)"), "{screen}");
    // The current profile is selected first.
    h.key(KeyCode::Up);
    h.key(KeyCode::Enter);
    h.run_until(|a| a.deployment == "gpt-4o-mini").await;
    let host = Endpoint::parse(&second.base_url()).unwrap().host();
    assert_eq!(h.app.endpoint_label(), format!("{host} (second)"));
    let screen = h.screen();
    assert!(screen.contains("LIVE"), "{screen}");
    assert!(screen.contains("gpt-4o-mini @"), "{screen}");

    h.call("on the second simulator").await;
    let rec = h.app.session.latest().unwrap().record.clone().unwrap();
    assert_eq!(rec.outcome, Outcome::Done, "{rec:?}");
    assert_eq!(chat_requests(&second), 1);
    assert_eq!(chat_requests(h.first_sim()), 0);

    // ARM follows the profile too: with key auth, ARM needs an Entra ID token; without a
    // developer login on this machine, the browser says what to do.
    h.key(KeyCode::F(4));
    h.run_until(|a| {
        a.screen == Screen::Deployments
            && matches!(a.deployments().accounts(), Load::Failed(_) | Load::Ready(_))
    })
    .await;
    if let Load::Failed(e) = h.app.deployments().accounts() {
        let screen = h.screen();
        assert!(
            screen.contains("Accounts could not be listed"),
            "{e}\n{screen}"
        );
        assert!(screen.contains("az login"), "{e}\n{screen}");
    }
    let _ = std::fs::remove_file(&path);
}

/// A config file path private to this test process.
fn temp_config(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("aoai-tui-azure-{}-{name}.toml", std::process::id()))
}

#[tokio::test]
async fn a_profile_that_cannot_connect_says_so_and_keeps_the_old_clients() {
    let mut h = harness(80, 24).await;
    let path = temp_config("broken");
    std::fs::write(
        &path,
        "[profiles.broken]\nendpoint = \"https://x.openai.azure.com\"\nauth = { type = \"key\", key_env = \"AOAI_TEST_UNSET_KEY_VAR\" }\n",
    )
    .unwrap();
    let cli = aoai::cli::Cli::try_parse_from(["aoai", "--config", path.to_str().unwrap()]).unwrap();
    h.exec.set_conn_args(cli.console.conn.options());
    h.app.set_profiles(vec!["broken".into()]);
    h.alt('p');
    h.key(KeyCode::Up);
    h.key(KeyCode::Enter);
    h.run_until(|a| {
        a.message
            .as_deref()
            .is_some_and(|m| m.starts_with("Profile not switched"))
    })
    .await;
    let m = h.app.message.clone().unwrap();
    assert!(m.contains("AOAI_TEST_UNSET_KEY_VAR"), "{m}");
    h.call("still on the first").await;
    assert_eq!(chat_requests(h.first_sim()), 1);
}

/// `P` on the Deployments screen probes every chat deployment the browser sees, each on its
/// account's endpoint (the ARM simulator's, not the chat's first client); `P` again adds a
/// round to each target's history; Esc closes the panel.
#[tokio::test]
async fn p_probes_every_deployment_on_its_accounts_endpoint() {
    let mut h = harness(100, 30).await;
    h.key(KeyCode::F(4));
    h.run_until(|a| a.screen == Screen::Deployments && a.deployments().is_loaded())
        .await;
    let before = chat_requests(h.arm_sim());
    h.keys("P");
    h.run_until(|a| a.probe_view().is_some_and(|p| p.rounds == 1))
        .await;
    let v = h.app.probe_view().unwrap();
    let names: Vec<&str> = v.rows.iter().map(|(t, _)| t.deployment.as_str()).collect();
    assert!(
        names.contains(&"gpt-4o") && !names.iter().any(|n| n.contains("embedding")),
        "{names:?}"
    );
    assert!(
        v.rows.iter().any(|(_, h)| h.last().is_some_and(|s| s.ok)),
        "{v:?}"
    );
    assert_eq!(
        chat_requests(h.arm_sim()),
        before + names.len(),
        "on the accounts' endpoint"
    );
    let screen = h.screen();
    assert!(
        screen.contains("Probe · 1 round") && screen.contains("Sweden Central"),
        "{screen}"
    );
    h.keys("P");
    h.run_until(|a| a.probe_view().is_some_and(|p| p.rounds == 2))
        .await;
    assert_eq!(h.app.probe_view().unwrap().rows[0].1.samples.len(), 2);
    h.key(KeyCode::Esc);
    h.run_until(|a| a.probe_view().is_none()).await;
    assert_eq!(h.app.screen, Screen::Deployments);
}
