//! End to end in a real terminal: the built binary in a private tmux server at 80×24 with
//! TERM=xterm-16color, embedded simulator. Fails loudly when tmux is missing.

use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(cmd: &str) -> Tmux {
        let socket = format!("aoai-{}", std::process::id());
        let t = Tmux { socket };
        let ok = Command::new("tmux")
            .args([
                "-L",
                &t.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "80",
                "-y",
                "24",
                "-s",
                "e2e",
            ])
            .arg(cmd)
            .env("TERM", "xterm-16color")
            .status()
            .expect("tmux is required for tests/e2e_tmux.rs (apt-get install tmux)");
        assert!(ok.success(), "tmux new-session failed");
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        self.run(&[&["send-keys", "-t", "e2e"], keys].concat());
    }

    fn text(&self, s: &str) {
        self.run(&["send-keys", "-t", "e2e", "-l", s]);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }

    /// Polls the screen until `pred` holds; panics with the last screen after [`WAIT`].
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > WAIT {
                panic!("timed out waiting for {what}; last screen:\n{s}");
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

#[test]
fn console_end_to_end_in_tmux() {
    let bin = env!("CARGO_BIN_EXE_aoai");
    // Keep the pane after the console exits so alternate_on can be checked on the shell.
    let cmd = format!(
        "env -u AZURE_OPENAI_ENDPOINT -u AZURE_OPENAI_API_KEY -u AOAI_THEME -u NO_COLOR TERM=xterm-16color {bin}; echo AOAI-EXITED-$?; sleep 60"
    );
    let t = Tmux::start(&cmd);
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

    // Leave the prompt, quit with q; the terminal is restored.
    t.keys(&["Escape"]);
    t.keys(&["q"]);
    t.wait_for("the console to exit", |s| s.contains("AOAI-EXITED-0"));
    let alt = t.run(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"]);
    assert_eq!(alt.trim(), "0", "alternate screen still on");
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
