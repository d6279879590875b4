//! The full-screen console: `run()` sets up the terminal guard, the clients and the loop.
//!
//! One loop, one typed [`AppEvent`] stream: terminal input, call progress (tagged with call
//! ids), ARM results and a tick that runs only while something animates. Network work runs in
//! tokio tasks ([`executor::Executor`]); the UI never awaits I/O. Drawing happens only when the
//! app is dirty, at most once per [`FRAME`], so a fast stream coalesces into ~60 fps.

pub mod app;
pub mod backend;
pub mod compare;
pub mod component;
pub mod components;
pub mod event;
pub mod executor;
pub mod input;
pub mod keymap;
pub mod markdown;
pub mod messages;
pub mod recording;
pub mod session;
pub mod terminal;
pub mod theme;

use std::io;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use crossterm::event::Event;
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use crate::cli::ConsoleArgs;
use crate::engine::connect::connect;

use app::{App, AppConfig};
use event::{AppEvent, AppEventSender, CallMsg, TokioClock};
use executor::Executor;
use messages::{ChatParams, TerminalEffect};
use terminal::EditorError;
use theme::{ColourSupport, Theme};

/// Shortest time between two frames while streaming.
pub const FRAME: Duration = Duration::from_millis(16);
/// Animation tick (waiting timer, retry-after countdown); runs only while animating.
pub const TICK: Duration = Duration::from_millis(100);

/// Terminal input the loop reads. `pause`/`resume` let `$EDITOR` own stdin meanwhile.
pub trait Input: Stream<Item = io::Result<Event>> + Unpin {
    fn pause(&mut self) {}
    fn resume(&mut self) {}
}

pub use input::ThreadInput;

/// Injected input for tests: events sent on a channel.
pub struct ChannelInput(pub mpsc::UnboundedReceiver<Event>);

impl Stream for ChannelInput {
    type Item = io::Result<Event>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|o| o.map(Ok))
    }
}

impl Input for ChannelInput {}

/// Effects that need the terminal itself.
pub trait TerminalOps<B: Backend> {
    /// Suspends the UI, runs `$EDITOR` on `text`, restores the UI.
    fn edit(&mut self, terminal: &mut Terminal<B>, text: &str) -> Result<String, EditorError>;
    fn copy(&mut self, text: &str) -> io::Result<()>;
}

/// The real terminal's editor and clipboard.
pub struct RealOps;

impl<B: Backend> TerminalOps<B> for RealOps {
    /// The caller has paused the input reader. Leaves the alternate screen and raw mode, runs
    /// the editor, comes back and clears, so the next frame redraws everything. No step asks
    /// the terminal anything (see [`backend`]).
    fn edit(&mut self, terminal: &mut Terminal<B>, text: &str) -> Result<String, EditorError> {
        terminal::restore();
        let result = terminal::run_editor(text);
        let back = terminal::reenter().and_then(|()| {
            terminal
                .clear()
                .map_err(|e| io::Error::other(e.to_string()))
        });
        match back {
            Ok(()) => result,
            Err(e) => Err(EditorError::Restore(e)),
        }
    }
    fn copy(&mut self, text: &str) -> io::Result<()> {
        terminal::copy_osc52(text)
    }
}

/// Handles `first` and every event already queued behind it, so a burst of deltas makes one
/// frame.
fn drain(
    first: Option<AppEvent>,
    rx: &mut mpsc::UnboundedReceiver<AppEvent>,
    app: &mut App,
    exec: &mut Executor,
) -> Vec<messages::Effect> {
    let mut effects = Vec::new();
    let mut next = first.or_else(|| rx.try_recv().ok());
    while let Some(ev) = next {
        if let AppEvent::Call(id, CallMsg::Finished(_)) = &ev {
            exec.call_ended(*id);
        }
        effects.extend(app.handle(ev));
        next = rx.try_recv().ok();
    }
    effects
}

/// The event loop. Returns when the app asks to quit, the input ends, or `stop(&app)` holds
/// (a seam for tests).
pub async fn run_loop<B, I>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    exec: &mut Executor,
    rx: &mut mpsc::UnboundedReceiver<AppEvent>,
    input: &mut I,
    ops: &mut dyn TerminalOps<B>,
    stop: &mut dyn FnMut(&App) -> bool,
) -> anyhow::Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    I: Input,
{
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_draw: Option<Instant> = None;
    loop {
        if app.dirty {
            let now = Instant::now();
            if last_draw.is_none_or(|t| now >= t + FRAME) {
                terminal.draw(|f| app.render(f.area(), f.buffer_mut()))?;
                app.dirty = false;
                last_draw = Some(now);
            }
        }
        if stop(app) {
            return Ok(());
        }
        let draw_at = last_draw.map(|t| t + FRAME).filter(|_| app.dirty);
        let animating = app.animating();
        // While a frame is already due, events wait in the channel for it: a stream of 2,000
        // deltas a second then wakes this thread once a frame, not once a delta (each wake is
        // a futex call and a context switch on both threads). Keys are never held.
        let holding = draw_at.is_some();
        let effects = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(e)) => app.handle(AppEvent::Input(e)),
                Some(Err(e)) => return Err(e).context("reading terminal input"),
                None => return Ok(()),
            },
            Some(ev) = rx.recv(), if !holding => drain(Some(ev), rx, app, exec),
            _ = tick.tick(), if animating => app.handle(AppEvent::Tick),
            _ = tokio::time::sleep_until(draw_at.unwrap_or_else(Instant::now)), if holding => {
                drain(None, rx, app, exec)
            },
        };
        for e in effects {
            match exec.run(e) {
                None => {}
                Some(TerminalEffect::Quit) => return Ok(()),
                Some(TerminalEffect::Copy(text)) => {
                    if let Err(e) = ops.copy(&text) {
                        app.message = Some(format!("Clipboard: {e}"));
                    }
                }
                Some(TerminalEffect::Edit(target, text)) => {
                    input.pause();
                    let result = ops.edit(terminal, &text);
                    input.resume();
                    let _ = app.handle(AppEvent::Edited(target, result));
                    app.dirty = true;
                }
            }
        }
    }
}

/// `aoai` with no subcommand.
pub async fn run(args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    terminal::ensure_tty()?;
    let theme = Theme::load(args.theme.as_deref())?.for_terminal(ColourSupport::from_env());
    // `--compare FILE`: a bad set is reported before the terminal is taken.
    let compare_set = match &args.compare {
        Some(path) => Some(crate::engine::compare::load(path)?),
        None => None,
    };
    let mut options = args.conn.options_for(args.deployment.as_ref());
    // A set's `simulator` file (its answer rules) configures the embedded simulator, as
    // `aoai compare` does.
    if let (Some(path), Some(set)) = (&args.compare, &compare_set) {
        options.sim_config = crate::engine::compare::sim_config(path, set)?;
    }
    let mut conn = connect(&options).await?;
    conn.connect_failover(&args.retry, &args.conn.options())
        .await?;
    // Flag / env, else the profile's deployment, else gpt-4o on the simulator.
    let deployment = conn.deployment(args.deployment.as_ref())?;
    // ARM: the simulator's, or real ARM when the profile names a subscription (Entra ID).
    let arm = conn.arm.clone();
    let endpoint_label = match (&conn.sim, &conn.profile) {
        (Some(_), _) => "in-process".to_string(),
        (None, Some(p)) => format!("{} ({p})", conn.client.config().endpoint.host()),
        (None, None) => conn.client.config().endpoint.host().to_string(),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    notify_telemetry(&tx);
    // `--proxy PORT`: the application's calls, forwarded to this console's endpoint.
    let proxy = match args.proxy {
        Some(port) => Some(start_proxy(port, &conn, tx.clone()).await?),
        None => None,
    };
    let mut exec = Executor::new(conn.client.clone(), arm, AppEventSender::new(tx));
    let cfg = AppConfig {
        deployment,
        endpoint_label,
        sim: conn.is_sim(),
        params: ChatParams {
            max_tokens: Some(args.max_tokens),
            temperature: args.temperature,
            api: conn.client.config().api,
            wire_api: conn.client.config().wire_api,
            retry: args.retry.clone(),
            ..ChatParams::default()
        },
        system: args.system.clone(),
    };
    let mut app = App::new(cfg, theme, Arc::new(TokioClock::new()));
    // Profile switching (Alt+P / `p`): the config's profiles plus the simulator.
    exec.set_conn_args(args.conn.options());
    app.set_profiles(profile_names(&args.conn));
    app.set_max_tokens_field(crate::engine::connect::max_tokens_field(
        &args.conn.options(),
    )?);
    // Zero-config (signed in with the az CLI): open on the user's own deployments.
    if let Some(who) = &conn.signed_in {
        app.set_signed_in(who.clone(), conn.named_subscriptions.clone());
        if compare_set.is_none() {
            for e in app.open_deployments() {
                exec.run(e);
            }
        }
    }
    if let Some(set) = compare_set {
        app.open_compare(set);
    }
    // `--record FILE`: record from the start.
    exec.set_record_profile(record_profile(&conn));
    app.set_record_path(args.record.clone());
    if args.record.is_some() {
        for e in app.toggle_record() {
            exec.run(e);
        }
    }

    if let Some((_, label)) = &proxy {
        app.screens.traffic = Some(crate::tui::components::traffic::Traffic::new(label.clone()));
    }

    let result = run_on_terminal(&mut app, &mut exec, &mut rx).await;
    drop(proxy);
    drop(conn);
    result
}

/// Starts the recording proxy on `127.0.0.1:port`, forwarding to the connection's resource;
/// its events become [`AppEvent::Proxy`]. Returns the handle (the proxy stops when it is
/// dropped) and the Traffic screen's title.
async fn start_proxy(
    port: u16,
    conn: &crate::engine::connect::Connection,
    tx: mpsc::UnboundedSender<AppEvent>,
) -> anyhow::Result<(crate::engine::proxy::ProxyHandle, String)> {
    let mut upstream = url::Url::parse(conn.client.config().endpoint.as_str())?;
    // The resource, not a path under it: the application names its own paths.
    upstream.set_path("");
    let mut opts = crate::engine::proxy::ProxyOptions::new(upstream.clone());
    opts.port = port;
    opts.prices = conn.client.config().prices.clone();
    // The Traffic screen follows a live call's text.
    opts.live = true;
    let (ptx, mut prx) = mpsc::unbounded_channel();
    let handle = crate::engine::proxy::start(opts, Some(ptx)).await?;
    tokio::spawn(async move {
        while let Some(ev) = prx.recv().await {
            if tx.send(AppEvent::Proxy(ev)).is_err() {
                break;
            }
        }
    });
    let target = if conn.is_sim() {
        "simulator".to_string()
    } else {
        upstream.host_str().unwrap_or("upstream").to_string()
    };
    let label = format!("{} → {target}", handle.base_url());
    Ok((handle, label))
}

/// Runs the loop on the real terminal until the user quits; the guard restores the terminal
/// whatever happens (quit, error or panic).
async fn run_on_terminal(
    app: &mut App,
    exec: &mut Executor,
    rx: &mut mpsc::UnboundedReceiver<AppEvent>,
) -> anyhow::Result<ExitCode> {
    let mut guard = terminal::TerminalGuard::new()?;
    let mut input = ThreadInput::new();
    let panic_at = test_panic_at();
    let result = run_loop(
        &mut guard.terminal,
        app,
        exec,
        rx,
        &mut input,
        &mut RealOps,
        &mut |_| {
            if panic_at.is_some_and(|t| Instant::now() >= t) {
                panic!("AOAI_TEST_PANIC_AFTER_MS: the console panics on purpose (a test hook)");
            }
            false
        },
    )
    .await;
    drop(input);
    drop(guard);
    result?;
    Ok(ExitCode::SUCCESS)
}

/// A test hook (tests/crash_safety.rs shows the terminal restored after a panic): with
/// `AOAI_TEST_PANIC_AFTER_MS=N` set, the console panics at the first event it handles N ms
/// after it started. Unset, as for every user, it does nothing.
fn test_panic_at() -> Option<Instant> {
    let ms: u64 = std::env::var("AOAI_TEST_PANIC_AFTER_MS")
        .ok()?
        .parse()
        .ok()?;
    Some(Instant::now() + Duration::from_millis(ms))
}

/// The profile name a scenario header carries: the config profile, or `simulator`.
fn record_profile(conn: &crate::engine::connect::Connection) -> Option<String> {
    if conn.is_sim() {
        Some("simulator".into())
    } else {
        conn.profile.clone()
    }
}

/// `aoai replay FILE`: the console opened on a recorded scenario. The chat and the other
/// screens keep working against the connection the flags name (the simulator by default).
/// `aoai replay FILE` (no `--report` / `--resend`): the console on the Replay screen.
pub async fn run_replay(args: crate::cli::ReplayArgs) -> anyhow::Result<ExitCode> {
    if !(args.speed == 0.0 || args.speed >= 0.1) || !args.speed.is_finite() {
        anyhow::bail!(
            "--speed must be 0 (instant) or at least 0.1, got {}",
            args.speed
        );
    }
    // A HAR is read whole (it is one JSON document); a scenario file is only checked here (its
    // header), then read in the background while the screen shows the rows read so far.
    let loaded = if crate::engine::har::is_har(&args.file) {
        let loaded = crate::engine::capture::load(&args.file)?;
        for w in &loaded.warnings {
            eprintln!("{}: {w}", args.file.display());
        }
        Some(loaded)
    } else {
        crate::engine::record::index::header(&args.file)?;
        None
    };
    terminal::ensure_tty()?;
    let theme = Theme::load(std::env::var("AOAI_THEME").ok().as_deref())?
        .for_terminal(ColourSupport::from_env());
    let conn = connect(&args.conn.options()).await?;
    let first = match &loaded {
        Some(l) => l.calls.first().map(|c| c.request.deployment.clone()),
        None => first_deployment(&args.file),
    };
    let deployment = match conn.deployment(None) {
        Ok(d) => d,
        Err(e) => first.ok_or(e)?,
    };
    let endpoint_label = match &conn.sim {
        Some(_) => "in-process".to_string(),
        None => conn.client.config().endpoint.host().to_string(),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    notify_telemetry(&tx);
    let reader_tx = tx.clone();
    let mut exec = Executor::new(
        conn.client.clone(),
        conn.arm.clone(),
        AppEventSender::new(tx),
    );
    exec.set_record_profile(record_profile(&conn));
    let cfg = AppConfig {
        deployment,
        endpoint_label,
        sim: conn.is_sim(),
        params: ChatParams {
            api: conn.client.config().api,
            wire_api: conn.client.config().wire_api,
            ..ChatParams::default()
        },
        system: None,
    };
    let mut app = App::new(cfg, theme, Arc::new(TokioClock::new()));
    let file = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let speed = crate::engine::replay::Speed::from_factor(args.speed);
    match loaded {
        Some(loaded) => {
            app.open_replay(&file, loaded.calls, speed);
            app.set_replay_skipped(&loaded.warnings);
        }
        None => {
            app.open_replay_file(&file, args.file.clone(), speed);
            read_scenario_rows(args.file.clone(), reader_tx);
        }
    }

    let result = run_on_terminal(&mut app, &mut exec, &mut rx).await;
    drop(conn);
    result
}

/// Reads the scenario's rows on their own thread, in batches, as [`AppEvent::ReplayRows`],
/// then [`AppEvent::ReplayRead`]; stops when the console has gone.
fn read_scenario_rows(path: std::path::PathBuf, tx: mpsc::UnboundedSender<AppEvent>) {
    std::thread::spawn(move || {
        let result = crate::engine::record::index::rows(&path, |rows| {
            tx.send(AppEvent::ReplayRows(rows)).is_ok()
        });
        let _ = tx.send(AppEvent::ReplayRead(
            result
                .map(|(_, warnings)| warnings)
                .map_err(|e| e.to_string()),
        ));
    });
}

/// The deployment of a scenario file's first call (the chat's default target when the flags
/// name none), read without reading the rest.
fn first_deployment(path: &std::path::Path) -> Option<String> {
    let mut first = None;
    crate::engine::record::index::rows(path, |rows| {
        first = rows.into_iter().next().map(|r| r.deployment);
        false
    })
    .ok()?;
    first
}

/// A telemetry export failure shows on the status line as it happens (and is printed again
/// after the console exits).
fn notify_telemetry(tx: &mpsc::UnboundedSender<AppEvent>) {
    let tx = tx.clone();
    crate::engine::telemetry::on_failure(Box::new(move |m| {
        let _ = tx.send(AppEvent::Notice(m));
    }));
}

/// The config file's profiles, for the profile picker (none when there is no file).
fn profile_names(conn: &crate::cli::ConnArgs) -> Vec<String> {
    crate::config::load(conn.config.as_deref())
        .ok()
        .flatten()
        .map(|f| f.names())
        .unwrap_or_default()
}
