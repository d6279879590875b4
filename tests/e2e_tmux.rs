//! End to end in a real terminal: the built binary in a private tmux server at 80×24 with
//! TERM=xterm-16color, embedded simulator (or an `aoai sim` child with a slow deployment).
//!
//! Requires tmux (`.ci/run` installs it). Outside CI a missing tmux is reported loudly on
//! stderr and the tests are skipped; with `CI` set they fail.

#[path = "common/tmux.rs"]
mod tmux;
use tmux::{SimChild, Tmux, have_tmux};

use std::process::Command;

/// The console command line: no Azure settings from the environment, 16 colours; the pane
/// stays after exit so the shell's state can be checked.
fn console_cmd(env: &str, args: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_aoai");
    format!(
        "env -u AZURE_OPENAI_ENDPOINT -u AZURE_OPENAI_API_KEY -u AZURE_OPENAI_DEPLOYMENT -u AOAI_THEME -u NO_COLOR -u VISUAL {env} TERM=xterm-16color {bin} {args}; echo AOAI-EXITED-$?; sleep 60"
    )
}

/// A scratch directory for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aoai-e2e-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn console_end_to_end_in_tmux() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::start("main", &console_cmd("", ""));
    t.wait_for("the console with the simulator badge", |s| {
        s.contains("SIMULATOR") && s.contains("Prompt")
    });

    // A prompt streams an answer; the call panel shows TTFT and tokens.
    t.text("Explain rate limits briefly");
    t.keys(&["Enter"]);
    let s = t.wait_for("a finished call", |s| {
        s.contains("✓ done") && s.contains("tok/s")
    });
    assert!(s.contains("TTFT"), "{s}");
    assert!(s.contains("output"), "{s}");

    // Deployments screen, then a chat against gpt-4o-mini from it.
    t.keys(&["F4"]);
    t.wait_for("the deployments table", |s| {
        s.contains("gpt-4o-mini") && s.contains("Quota")
    });
    t.text("/4o-mini");
    t.keys(&["Enter"]);
    t.keys(&["Enter"]);
    t.wait_for("the chat on gpt-4o-mini", |s| s.contains("→ gpt-4o-mini"));

    // Its default limit is 2 requests per 10 s: the third quick call is throttled.
    for n in 1..=3 {
        t.text(&format!("ping {n}"));
        t.keys(&["Enter"]);
        // Call #1 went to gpt-4o; these are #2..#4. The status bar shows ● while in flight.
        let title = format!("Call #{} ", n + 1);
        t.wait_for(&title, |s| {
            s.contains(&title) && !s.contains("● gpt-4o-mini")
        });
    }
    let s = t.wait_for("the retry-after countdown", |s| {
        s.contains("throttled") && s.contains(" left")
    });
    assert!(s.contains("429"), "{s}");

    // Leave the prompt, quit with q; the terminal is restored. Wait for the focus to move
    // first: an Esc and a `q` read together are Alt+q, as on any terminal.
    t.keys(&["Escape"]);
    t.wait_for("the focus to leave the prompt", |s| {
        !s.contains("Enter  send")
    });
    t.keys(&["q"]);
    t.wait_for("the console to exit", |s| s.contains("AOAI-EXITED-0"));
    assert_eq!(t.alternate_on(), "0", "alternate screen still on");
}

/// Ctrl+G hands the terminal to `$EDITOR`: the editor reads its own keys (the console's input
/// reader is paused), the console leaves the alternate screen and comes back redrawn with the
/// edited text in the prompt, which then sends.
#[test]
fn editor_gets_the_terminal_and_its_text_becomes_the_prompt() {
    if !have_tmux() {
        return;
    }
    let dir = scratch("editor");
    let editor = dir.join("editor.sh");
    // Reads one line from the terminal (as an editor would) and writes it into the file.
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf 'EDITOR-READY> '\nIFS= read -r line\nprintf 'edited: %s\\n' \"$line\" > \"$1\"\n",
    )
    .unwrap();
    let mut perm = std::fs::metadata(&editor).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&editor, perm).unwrap();

    let t = Tmux::start(
        "editor",
        &console_cmd(&format!("EDITOR={}", editor.display()), ""),
    );
    t.wait_for("the console", |s| {
        s.contains("SIMULATOR") && s.contains("Prompt")
    });
    t.text("draft");
    t.keys(&["C-g"]);
    t.wait_for("the editor", |s| s.contains("EDITOR-READY>"));
    assert_eq!(t.alternate_on(), "0", "the editor runs on the main screen");
    t.text("typed in the editor");
    t.keys(&["Enter"]);
    let s = t.wait_for("the console back with the edited prompt", |s| {
        s.contains("SIMULATOR") && s.contains("edited: typed in the editor")
    });
    assert!(!s.contains("cursor position"), "{s}");
    assert!(!s.contains("Editor:"), "no editor error\n{s}");
    assert_eq!(t.alternate_on(), "1", "back on the alternate screen");
    // Everything is redrawn: the parameters row and the call panel are back.
    assert!(s.contains("max 1024") && s.contains("No call yet"), "{s}");

    t.keys(&["Enter"]);
    t.wait_for("the edited prompt answered", |s| s.contains("✓ done"));
    // To the top of the transcript: the prompt sent was the edited text.
    t.keys(&["Escape"]);
    // Sent together, Esc and `g` would read as Alt+G: wait for the focus to move first.
    t.wait_for("the transcript focused", |s| s.contains("new conversation"));
    t.text("g");
    t.wait_for("the prompt sent", |s| {
        s.contains("› edited: typed in the editor")
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// A long answer cancelled mid-stream keeps its text, the call panel keeps its figures and
/// History says cancelled.
#[test]
fn a_cancelled_answer_stays_on_screen() {
    if !have_tmux() {
        return;
    }
    let dir = scratch("cancel");
    let config = dir.join("sim.toml");
    std::fs::write(
        &config,
        r#"
[[deployments]]
name = "slow"
model = "gpt-4o"
version = "2024-11-20"
sku = "GlobalStandard"
capacity = 450
answer_tokens = [2000, 2000]
[deployments.latency]
ttft_ms = 50
tokens_per_s = 30.0
"#,
    )
    .unwrap();
    let sim = SimChild::start(&config);
    let t = Tmux::start(
        "cancel",
        &console_cmd("", &format!("--endpoint {} --api-key sim -d slow", sim.url)),
    );
    t.wait_for("the console", |s| {
        s.contains("→ slow") && s.contains("Prompt")
    });
    t.text("Tell me a long story");
    t.keys(&["Enter"]);
    // The transcript's answer lines: left of the call panel, indented, with words.
    fn answer_lines(s: &str) -> Vec<String> {
        s.lines()
            .map(|l| l.split('│').next().unwrap_or(l))
            .filter(|l| l.starts_with("  ") && !l.contains("streaming") && l.trim().len() > 20)
            .map(|l| l.trim().to_string())
            .collect()
    }
    // Wait until several lines of the answer are on screen, then cancel.
    let before = t.wait_for("the answer streaming", |s| {
        s.contains("streaming") && answer_lines(s).len() >= 3
    });
    t.keys(&["Escape"]);
    // The record has arrived once the attempts row lists statuses.
    let s = t.wait_for("the cancelled call's record", |s| {
        s.contains("■ cancelled") && s.contains("attempts 1 [")
    });
    // The lines of the answer seen before the cancel are still there.
    for kept in answer_lines(&before) {
        assert!(s.contains(&kept), "lost {kept:?}\n{s}");
    }
    assert!(
        s.contains("status   200"),
        "the panel keeps the status\n{s}"
    );
    for row in ["TTFT     —", "TTFB     —", "e2e      —"] {
        assert!(!s.contains(row), "the panel keeps its timings: {row}\n{s}");
    }
    assert!(s.contains("requests █") || s.contains("requests ░"), "{s}");

    t.keys(&["F3"]);
    let h = t.wait_for("history", |s| s.contains("History ("));
    assert!(h.contains("cancelled"), "{h}");
    assert!(!h.contains("no response"), "{h}");
    t.keys(&["q"]);
    t.wait_for("the console to exit", |s| s.contains("AOAI-EXITED-0"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_without_a_terminal() {
    let out = Command::new(env!("CARGO_BIN_EXE_aoai"))
        .env_remove("AZURE_OPENAI_ENDPOINT")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("aoai chat"), "{err}");
}

/// A Responses call in a real terminal at 80×24: `--wire-api responses` shows on the
/// parameter row, the parameter cycles back to chat and forward again, a reasoning effort
/// asks o4-mini for a summary, which streams muted above the answer; the call panel names
/// the wire API and times the summary apart from TTFT.
#[test]
fn a_responses_call_with_a_reasoning_summary_in_tmux() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::start(
        "responses",
        &console_cmd("", "--wire-api responses -d o4-mini"),
    );
    t.wait_for("the console on the Responses API", |s| {
        s.contains("Prompt") && s.contains("api classic/responses")
    });
    // To the parameters: wire back to chat and forward again, then effort low.
    t.keys(&["Tab", "Tab", "Right", "Right", "Right", "+"]);
    t.wait_for("the wire parameter on chat", |s| {
        s.contains("api classic/chat")
    });
    t.keys(&["-", "Right", "+", "+"]);
    t.wait_for("effort low on responses", |s| {
        s.contains("api classic/responses") && s.contains("effort low")
    });
    t.keys(&["Tab", "Tab"]);
    t.text("Why is the sky blue?");
    t.keys(&["Enter"]);
    let s = t.wait_for("the answer with its summary", |s| {
        s.contains("✓ done") && s.contains("summary  ")
    });
    assert!(s.contains("wire     responses"), "{s}");
    assert!(s.contains("(reasoning "), "{s}");
    // The summary sits between the prompt and the answer: scroll the transcript to the top.
    t.keys(&["Tab", "Tab", "Tab", "Home"]);
    let s = t.wait_for("the summary above the answer", |s| s.contains("∴ "));
    let (p, r) = (s.find("› Why is the sky blue?"), s.find("∴ "));
    assert!(p.is_some() && p < r, "{s}");
}

/// `aoai --proxy PORT` in a real terminal: an application's call (here `aoai chat`, a
/// separate process pointed at the proxy) appears on the Traffic screen with its figures,
/// and Enter shows its details.
#[test]
fn a_proxied_call_shows_on_the_traffic_screen() {
    if !have_tmux() {
        return;
    }
    // A free port for the proxy (the console prints the one it got in the screen's title).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = Tmux::start("traffic", &console_cmd("", &format!("--proxy {port}")));
    t.wait_for("the console", |s| s.contains("Prompt"));
    t.keys(&["F10"]);
    t.wait_for("the empty Traffic screen", |s| {
        s.contains(&format!("http://127.0.0.1:{port} → simulator")) && s.contains("No calls yet")
    });
    let out = Command::new(env!("CARGO_BIN_EXE_aoai"))
        .args(["chat", "-d", "gpt-4o", "--json", "hello through the proxy"])
        .env("AZURE_OPENAI_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("AZURE_OPENAI_API_KEY", "app-key-canary")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = t.wait_for("the proxied call", |s| {
        s.contains("Traffic · 1 call ·") && s.contains("200")
    });
    assert!(s.contains("gpt-4o") && s.contains("chat"), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_for("its details", |s| {
        s.contains("POST /openai/deployments/gpt-4o")
    });
    assert!(s.contains("aoai-console/"), "the client's user-agent\n{s}");
    assert!(!s.contains("app-key-canary"), "the key is never shown\n{s}");
}

/// The bundled evaluation in the console: the set's answer rules configure the embedded
/// simulator, Enter runs both columns, each column's judge grades its answer (a real
/// structured-output call to the simulator) and the badge shows the score; `]` steps to the
/// next case.
#[test]
fn the_bundled_evaluation_runs_its_judges_in_the_console() {
    if !have_tmux() {
        return;
    }
    let set = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/eval/set.toml");
    let t = Tmux::start("eval", &console_cmd("", &format!("--compare {set}")));
    t.wait_for("the Compare screen", |s| s.contains("case 1/3"));
    t.keys(&["Enter"]);
    let s = t.wait_for("both columns judged", |s| {
        s.matches("pass · judge").count() == 2
    });
    assert!(
        s.contains("✓ 5/5 pass · judge") && s.contains("✓ 6/6 pass · judge"),
        "{s}"
    );
    t.keys(&["]"]);
    t.wait_for("the next case", |s| {
        s.contains("case 2/3") && s.contains("not run yet")
    });
}

#[path = "common/az.rs"]
mod az;

/// Zero-config: signed in with the az CLI (fake profile, fake `az`), nothing else. The
/// console opens on the user's deployments, names who and which subscription, switches
/// subscription from the picker (Alt+P), and Enter on a deployment chats with it.
#[test]
fn a_signed_in_user_opens_on_their_deployments() {
    if !have_tmux() {
        return;
    }
    let dir = az::signed_in("console");
    let config = dir.join("sim.toml");
    std::fs::write(
        &config,
        r#"
[account]
subscription_name = "Sim Prod"
other_subscriptions = [{ id = "11111111-1111-1111-1111-111111111111", name = "Sandbox" }]
"#,
    )
    .unwrap();
    let sim = SimChild::start(&config);
    let env = format!(
        "HOME={home} XDG_CONFIG_HOME={home} AZURE_CONFIG_DIR={home}/azure AOAI_ARM_ENDPOINT={arm} PATH={home}/bin:$PATH",
        home = dir.display(),
        arm = sim.url
    );
    let t = Tmux::start("zeroconf", &console_cmd(&env, ""));
    let s = t.wait_for("the deployments browser", |s| {
        s.contains("Account aoai-sim") && s.contains("gpt-4o-mini")
    });
    let top = s.lines().next().unwrap_or_default();
    assert!(
        top.contains("ops@contoso.com · Sim Prod") && top.contains("LIVE"),
        "{s}"
    );
    // The subscription switcher: both subscriptions ARM lists; the other has no account.
    t.keys(&["M-p"]);
    t.wait_for("the picker", |s| {
        s.contains("Sandbox") && s.contains("Sim Prod 00000000… (current)")
    });
    t.keys(&["Down", "Enter"]);
    t.wait_for("the empty subscription", |s| {
        s.contains("No Azure OpenAI accounts in this subscription") && s.contains("· Sandbox")
    });
    // Back, and chat with a deployment: its account's endpoint, an az CLI token.
    t.keys(&["M-p"]);
    t.wait_for("the picker", |s| s.contains("Sandbox 11111111… (current)"));
    t.keys(&["Up", "Enter"]);
    t.wait_for("the accounts again", |s| s.contains("Account aoai-sim"));
    t.keys(&["Enter"]);
    t.wait_for("the chat", |s| s.contains("Chatting with"));
    t.text("Say hi");
    t.keys(&["Enter"]);
    t.wait_for("an answer", |s| s.contains("done in"));
    let log = std::fs::read_to_string(dir.join("az.log")).unwrap_or_default();
    assert!(log.contains("cognitiveservices.azure.com"), "{log}");
}
