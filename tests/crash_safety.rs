//! Crash safety of the recorders, headless: `aoai chat --record` and `aoai proxy --record`
//! killed with SIGKILL mid-stream leave a file that loads with every finished call in it;
//! recording to a full disk or a read-only directory fails in words that name the file and
//! the cause. The console's side (in tmux) is tests/crash_safety_tmux.rs.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aoai::domain::call::Outcome;

#[path = "common/tmux.rs"]
mod tmux;
use tmux::SimChild;

const WAIT: Duration = Duration::from_secs(15);

/// A deployment whose answers take about 2 s (60 tokens at 30 tokens/s), so a call is
/// reliably caught mid-stream.
const PACED_SIM: &str = r#"
[[deployments]]
name = "paced"
model = "gpt-4o"
version = "2024-11-20"
sku = "GlobalStandard"
capacity = 450
answer_tokens = [60, 60]
[deployments.latency]
ttft_ms = 50
tokens_per_s = 30.0
"#;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aoai-crash-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn aoai() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aoai"));
    for v in [
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_DEPLOYMENT",
        "AOAI_PROFILE",
        "AOAI_CONFIG",
    ] {
        c.env_remove(v);
    }
    c.stdin(Stdio::null());
    c
}

/// `aoai sim` as a child with [`PACED_SIM`]; killed on drop.
fn paced_sim(dir: &Path) -> SimChild {
    let config = dir.join("sim.toml");
    std::fs::write(&config, PACED_SIM).unwrap();
    SimChild::start(&config)
}

/// Polls `pred` until it holds; panics after [`WAIT`].
fn wait_until(what: &str, pred: impl Fn() -> bool) {
    let start = Instant::now();
    while !pred() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// The file loads; it holds `calls` finished calls, and (`aoai replay --report --json`)
/// reports them, exit 0.
fn assert_loads_with(path: &Path, calls: usize) -> aoai::engine::record::Loaded {
    let loaded = aoai::engine::record::load(path)
        .unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()));
    assert_eq!(loaded.calls.len(), calls, "{:?}", loaded.warnings);
    for c in &loaded.calls {
        assert_eq!(c.record.outcome, Outcome::Done, "{:?}", c.record.error);
        assert!(!c.record.text.is_empty());
    }
    let out = aoai()
        .args(["replay", "--report", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report.to_string().contains(&format!("\"calls\":{calls}")),
        "{report}"
    );
    loaded
}

/// `aoai chat --record` twice to completion, then a third run killed with SIGKILL while its
/// answer streams: the file holds the two finished calls and nothing damaged (a call is
/// written as one line once it ends, so the killed one is simply absent). A torn last line,
/// as a kill mid-write would leave, is reported as a warning that keeps the rest, and the
/// next recording closes it off and goes on.
#[test]
fn chat_killed_mid_stream_keeps_the_finished_calls() {
    let dir = scratch("chat");
    let sim = paced_sim(&dir);
    let file = dir.join("chat.jsonl");
    let chat = |msg: &str| {
        let mut c = aoai();
        c.args([
            "chat",
            "--endpoint",
            &sim.url,
            "--api-key",
            "sim",
            "-d",
            "paced",
        ])
        .arg("--record")
        .arg(&file)
        .arg(msg);
        c
    };
    for n in 1..=2 {
        let out = chat(&format!("question {n}")).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut child = chat("question 3")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The answer is streaming once its first words are printed.
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    let killed_at = Instant::now();
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    assert!(killed_at.elapsed() < Duration::from_secs(1));
    let loaded = assert_loads_with(&file, 2);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    // A kill in the middle of writing a line: half of a call, no newline.
    let text = std::fs::read_to_string(&file).unwrap();
    let last = text.lines().last().unwrap();
    std::fs::write(&file, format!("{text}{}", &last[..last.len() / 2])).unwrap();
    let torn = aoai::engine::record::load(&file).expect("a torn last line still loads");
    assert_eq!(torn.calls.len(), 2);
    assert_eq!(torn.warnings.len(), 1, "{:?}", torn.warnings);
    assert_eq!(torn.warnings[0].line, 4, "{}", torn.warnings[0]);
    let out = chat("question 4").output().unwrap();
    assert!(out.status.success());
    let after = aoai::engine::record::load(&file).unwrap();
    assert_eq!(
        after.calls.len(),
        3,
        "the next call is on a line of its own"
    );
    assert_eq!(after.warnings.len(), 1, "{:?}", after.warnings);
}

/// `aoai proxy --record` with three finished calls and a fourth streaming when it is
/// SIGKILLed: the three are in the file, the fourth is absent, the file loads.
#[tokio::test(flavor = "multi_thread")]
async fn proxy_killed_mid_stream_keeps_the_finished_calls() {
    use futures_util::StreamExt;
    let dir = scratch("proxy");
    let sim = paced_sim(&dir);
    let file = dir.join("proxy.jsonl");
    let mut proxy = aoai()
        .args(["proxy", "--port", "0", "--upstream", &sim.url, "--record"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(proxy.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let url = format!("{base}/openai/deployments/paced/chat/completions?api-version=2024-10-21");
    let body = serde_json::json!({"messages": [{"role": "user", "content": "hi"}], "stream": true});
    let client = reqwest::Client::new();
    let send = || {
        client
            .post(&url)
            .header("api-key", "sim")
            .json(&body)
            .send()
    };
    // Three at once, each read to its end.
    let finished = futures_util::future::join_all((0..3).map(|_| async {
        let r = send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    }))
    .await;
    assert!(finished.iter().all(|t| t.contains("[DONE]")));
    tokio::task::block_in_place(|| wait_until("three calls recorded", || lines_in(&file) == 4));
    // The fourth: its first chunks arrive, then the proxy dies.
    let r = send().await.unwrap();
    let mut stream = r.bytes_stream();
    let chunk = tokio::time::timeout(WAIT, stream.next()).await.unwrap();
    assert!(chunk.unwrap().is_ok());
    proxy.kill().unwrap();
    proxy.wait().unwrap();
    // The application sees its stream break off.
    let rest = tokio::time::timeout(WAIT, async {
        while let Some(c) = stream.next().await {
            if c.is_err() {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        rest || !text.contains("[DONE]"),
        "the application noticed the proxy dying"
    );
    let loaded = assert_loads_with(&file, 3);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

/// Whether this runs as root, which ignores file permissions.
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A recording in a directory its user may not write to (mode 0500). Root ignores the mode,
/// so as root (CI containers) the binary runs as `nobody` through `setpriv`, the directory
/// owned by it; without setpriv the case is skipped, loudly.
#[test]
fn recording_into_a_read_only_directory_fails_in_words() {
    use std::os::unix::fs::PermissionsExt;
    const NOBODY: u32 = 65534;
    let dir = scratch("readonly");
    let ro = dir.join("ro");
    std::fs::create_dir_all(&ro).unwrap();
    let file = ro.join("calls.jsonl");
    let mut cmd = if is_root() {
        let have = Command::new("setpriv").arg("--version").output();
        if !have.is_ok_and(|o| o.status.success()) {
            eprintln!("SKIPPED: running as root (which ignores mode 0500) and no setpriv");
            return;
        }
        std::os::unix::fs::chown(&ro, Some(NOBODY), Some(NOBODY)).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_aoai"))
            .env_remove("AZURE_OPENAI_ENDPOINT")
            .env_remove("AZURE_OPENAI_API_KEY")
            .env("HOME", &dir);
        c
    } else {
        aoai()
    };
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
    let out = cmd
        .args(["chat", "--record"])
        .arg(&file)
        .arg("hi")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o700)).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&file.display().to_string()) && err.contains("Permission denied"),
        "{err}"
    );
    assert!(!file.exists());
}

/// `--record /dev/full`: the header cannot be written. Chat and proxy fail before any call
/// is sent, naming the file and the cause.
#[test]
fn recording_to_a_full_disk_fails_in_words() {
    let started = Instant::now();
    for args in [
        &["chat", "--record", "/dev/full", "hi"][..],
        &["proxy", "--port", "0", "--record", "/dev/full"],
    ] {
        let out = aoai().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            err.contains("/dev/full") && err.contains("No space left on device"),
            "{args:?}: {err}"
        );
        eprintln!("{}: {}", args[0], err.trim());
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}
