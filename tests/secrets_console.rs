//! No secret on the screen: the console in a private tmux server with `--api-key CANARY`
//! against an `aoai sim` child that takes only that key, a prompt sent, recorded, and the
//! call's full view in History (figures, request, every response header) scrolled through.
//! Every captured pane and the recording are searched for the canaries.
//!
//! Requires tmux; without it the test is skipped loudly (and fails with `CI` set).

#[path = "common/canary.rs"]
mod canary;

use std::time::Duration;

#[path = "common/tmux.rs"]
mod tmux;
use tmux::{SimChild, Tmux, WAIT, have_tmux};

use canary::{APIM, BEARER, KEY, QKEY, SIG, XAPI, assert_clean, assert_file_clean, scratch};

/// The pane, checked for canaries.
fn screen(t: &Tmux) -> String {
    let s = t.screen();
    assert_clean("the console's screen", &s);
    s
}

/// Waits for `pred`, checking every screen polled on the way for canaries.
fn wait_for(t: &Tmux, what: &str, pred: impl Fn(&str) -> bool) -> String {
    t.wait_for(what, |s| {
        assert_clean("the console's screen", s);
        pred(s)
    })
}

/// `first` and the screens after each of a dozen PageDowns, concatenated.
fn scroll_through(t: &Tmux, first: String) -> String {
    let mut seen = first;
    for _ in 0..12 {
        t.keys(&["PageDown"]);
        std::thread::sleep(Duration::from_millis(100));
        seen.push_str(&screen(t));
    }
    seen
}

#[test]
fn the_console_never_shows_the_key() {
    if !have_tmux() {
        return;
    }
    let dir = scratch("console");
    let config = dir.join("sim.toml");
    std::fs::write(&config, format!("api_keys = [\"{KEY}\"]\n")).unwrap();
    let sim = SimChild::start(&config);
    let rec = dir.join("console.jsonl");
    let bin = env!("CARGO_BIN_EXE_aoai");
    let cmd = format!(
        "env -u AZURE_OPENAI_ENDPOINT -u AZURE_OPENAI_API_KEY -u AOAI_PROFILE -u AOAI_CONFIG RUST_LOG=trace TERM=xterm-16color {bin} --endpoint {} --api-key {KEY} -d gpt-4o --record {} 2>&1; echo AOAI-EXITED-$?; sleep 60",
        sim.url,
        rec.display()
    );
    let t = Tmux::start("chat", &cmd);
    wait_for(&t, "the console", |s| s.contains("Prompt"));
    t.text("Explain rate limits briefly");
    t.keys(&["Enter"]);
    wait_for(&t, "a finished call", |s| s.contains("✓ done"));
    // History, then the call's full view, scrolled to its end.
    t.keys(&["F3"]);
    wait_for(&t, "history", |s| s.contains("History (1 call)"));
    t.keys(&["Enter"]);
    let first = wait_for(&t, "the full view", |s| s.contains("200"));
    let seen = scroll_through(&t, first);
    assert!(
        seen.to_ascii_lowercase().contains("x-ratelimit") || seen.contains("apim-request-id"),
        "the full view shows response headers:\n{seen}"
    );
    t.keys(&["Escape"]);
    t.keys(&["F2"]);
    wait_for(&t, "the chat", |s| s.contains("Prompt"));
    // Quit from outside the prompt; the exit message (if any) is on the pane too.
    t.keys(&["Escape"]);
    wait_for(&t, "the focus to leave the prompt", |s| {
        !s.contains("Enter  send")
    });
    t.keys(&["q"]);
    wait_for(&t, "the console to exit", |s| s.contains("AOAI-EXITED-"));
    assert_file_clean(&rec);
}

/// The console command line: no Azure settings from the environment, 16 colours, stderr on
/// the pane too; the pane stays after exit.
fn console_cmd(args: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_aoai");
    format!(
        "env -u AZURE_OPENAI_ENDPOINT -u AZURE_OPENAI_API_KEY -u AOAI_PROFILE -u AOAI_CONFIG RUST_LOG=trace TERM=xterm-16color {bin} {args} 2>&1; echo AOAI-EXITED-$?; sleep 60"
    )
}

/// A raw HTTP/1.1 POST to 127.0.0.1:`port` (the application, without a client library in
/// between); returns the whole response.
fn post(port: u16, target: &str, headers: &[(&str, &str)], body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut req = format!(
        "POST {target} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert_clean("the proxied response", &out);
    out
}

/// `aoai --proxy PORT`: the application's calls carry every credential shape (and a key and
/// signature in the URL); the Traffic screen, the call's full view and the recording show
/// none of them.
#[test]
fn the_traffic_screen_never_shows_the_applications_credentials() {
    if !have_tmux() {
        return;
    }
    let dir = scratch("traffic");
    let config = dir.join("sim.toml");
    std::fs::write(
        &config,
        format!("api_keys = [\"{KEY}\"]\nbearer_tokens = [\"{BEARER}\"]\n"),
    )
    .unwrap();
    let sim = SimChild::start(&config);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rec = dir.join("traffic.jsonl");
    let args = format!(
        "--endpoint {} --api-key {KEY} -d gpt-4o --proxy {port} --record {}",
        sim.url,
        rec.display()
    );
    let t = Tmux::start("traffic", &console_cmd(&args));
    wait_for(&t, "the console", |s| s.contains("Prompt"));
    t.keys(&["F10"]);
    wait_for(&t, "the empty Traffic screen", |s| {
        s.contains("No calls yet")
    });
    let target = format!(
        "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21&api-key={QKEY}&sig={SIG}"
    );
    let bearer = format!("Bearer {BEARER}");
    for (auth, stream) in [
        (("api-key", KEY), true),
        (("authorization", bearer.as_str()), false),
    ] {
        let body = format!(
            r#"{{"messages":[{{"role":"user","content":"Say hello."}}],"stream":{stream}}}"#
        );
        let headers = [
            auth,
            ("ocp-apim-subscription-key", APIM),
            ("x-api-key", XAPI),
        ];
        let r = post(port, &target, &headers, &body);
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }
    wait_for(&t, "the proxied calls", |s| s.contains("Traffic · 2 calls"));
    t.keys(&["Enter"]);
    let first = wait_for(&t, "its details", |s| {
        s.contains("POST /openai/deployments/gpt-4o")
    });
    assert!(first.contains("api-version=2024-10-21"), "{first}");
    scroll_through(&t, first);
    t.keys(&["Escape"]);
    t.keys(&["Up"]);
    t.keys(&["Enter"]);
    let first = wait_for(&t, "the other's details", |s| {
        s.contains("POST /openai/deployments/gpt-4o")
    });
    scroll_through(&t, first);
    t.keys(&["Escape"]);
    t.keys(&["q"]);
    wait_for(&t, "the console to exit", |s| s.contains("AOAI-EXITED-"));
    // The console records its own calls (none here): the header only.
    assert_file_clean(&rec);
}
