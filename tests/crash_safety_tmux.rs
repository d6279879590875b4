//! Crash safety of the console, end to end in a private tmux server (80×24): SIGKILL while
//! an answer streams leaves a recording with every finished call; a recording to a full
//! disk stops in words while the console keeps working; after a panic the shell gets its
//! terminal back (main screen, cooked mode, cursor shown) and the panic message is printed.
//!
//! Requires tmux (`.ci/run` installs it). Outside CI a missing tmux is reported loudly on
//! stderr and the tests are skipped; with `CI` set they fail.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "common/tmux.rs"]
mod tmux;
use tmux::{POLL, SimChild, Tmux, WAIT, have_tmux};

/// The console command line; after it exits the shell prints its exit code and whether the
/// terminal is back in cooked mode (`icanon echo`, not `-icanon -echo`).
fn console_cmd(env: &str, args: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_aoai");
    format!(
        "env -u AZURE_OPENAI_ENDPOINT -u AZURE_OPENAI_API_KEY -u AZURE_OPENAI_DEPLOYMENT -u AOAI_THEME -u NO_COLOR -u VISUAL -u RUST_BACKTRACE {env} TERM=xterm-16color {bin} {args}; echo AOAI-EXITED-$?; echo MODE $(stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo); sleep 60"
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aoai-crash-tmux-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `aoai sim` with a deployment whose answers take about 3 s; killed on drop.
fn paced_sim(dir: &Path) -> SimChild {
    let config = dir.join("sim.toml");
    std::fs::write(
        &config,
        r#"
[[deployments]]
name = "paced"
model = "gpt-4o"
version = "2024-11-20"
sku = "GlobalStandard"
capacity = 450
answer_tokens = [90, 90]
[deployments.latency]
ttft_ms = 50
tokens_per_s = 30.0
"#,
    )
    .unwrap();
    SimChild::start(&config)
}

fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn wait_until(what: &str, pred: impl Fn() -> bool) {
    let start = Instant::now();
    while !pred() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

/// Two answers finished, a third streaming, then SIGKILL: the file loads with the two.
#[test]
fn console_killed_mid_stream_keeps_the_finished_calls() {
    if !have_tmux() {
        return;
    }
    let dir = scratch("kill");
    let sim = paced_sim(&dir);
    let file = dir.join("console.jsonl");
    let t = Tmux::start(
        "kill",
        &console_cmd(
            "",
            &format!(
                "--endpoint {} --api-key sim -d paced --record {}",
                sim.url,
                file.display()
            ),
        ),
    );
    t.wait_for("the console", |s| {
        s.contains("→ paced") && s.contains("Prompt")
    });
    wait_until("the recording's header", || lines_in(&file) == 1);
    for n in 1..=2 {
        t.text(&format!("question {n}"));
        t.keys(&["Enter"]);
        wait_until("the call recorded", || lines_in(&file) == 1 + n);
    }
    t.text("question 3");
    t.keys(&["Enter"]);
    t.wait_for("the third answer streaming", |s| s.contains("streaming"));
    let pid = t.aoai_pid();
    // SAFETY: kill(2) on a pid we just found under our own tmux pane.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    // 128 + 9. Nothing runs after SIGKILL: the terminal stays raw (`reset` mends it), so
    // the shell's lines land at odd columns and may overwrite each other's starts.
    let s = t.wait_for("the shell after the kill", |s| s.contains("MODE "));
    assert!(s.contains("EXITED-137"), "{s}");
    assert!(s.contains("MODE -icanon -echo"), "{s}");
    let loaded = aoai::engine::record::load(&file).expect("the recording loads");
    assert_eq!(loaded.calls.len(), 2, "{:?}", loaded.warnings);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    for c in &loaded.calls {
        assert_eq!(c.record.outcome, aoai::domain::call::Outcome::Done);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `aoai --record /dev/full`: the status line says recording stopped and why; a prompt
/// still gets its answer and the call is in History.
#[test]
fn console_recording_to_a_full_disk_keeps_working() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::start("full", &console_cmd("", "--record /dev/full"));
    let s = t.wait_for("the recording error", |s| s.contains("No space left"));
    assert!(s.contains("Recording stopped: /dev/full"), "{s}");
    assert!(!s.contains("● REC"), "the badge is off\n{s}");
    t.text("Still there?");
    t.keys(&["Enter"]);
    t.wait_for("the answer", |s| s.contains("✓ done"));
    t.keys(&["F3"]);
    let h = t.wait_for("history", |s| s.contains("History ("));
    assert!(h.contains("History (1"), "{h}");
    t.keys(&["q"]);
    t.wait_for("the console to exit", |s| s.contains("AOAI-EXITED-0"));
}

/// The test hook `AOAI_TEST_PANIC_AFTER_MS` panics the console's loop: the panic message
/// reaches the shell's screen, the alternate screen is off, the terminal is in cooked mode
/// again and the cursor is shown.
#[test]
fn the_terminal_is_restored_after_a_panic() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::start("panic", &console_cmd("AOAI_TEST_PANIC_AFTER_MS=200", ""));
    t.wait_for("the console", |s| s.contains("Prompt"));
    assert_eq!(t.format("#{alternate_on}"), "1");
    std::thread::sleep(Duration::from_millis(300));
    t.text("x");
    let s = t.wait_for("the shell after the panic", |s| s.contains("MODE "));
    assert!(s.contains("AOAI-EXITED-101"), "{s}");
    assert!(s.contains("panicked at"), "{s}");
    assert!(s.contains("AOAI_TEST_PANIC_AFTER_MS"), "{s}");
    assert!(s.contains("MODE icanon echo"), "cooked mode again\n{s}");
    assert_eq!(t.format("#{alternate_on}"), "0", "{s}");
    assert_eq!(t.format("#{cursor_flag}"), "1", "the cursor is shown\n{s}");
}
