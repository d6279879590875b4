//! A real terminal for end-to-end tests: the built binary in a private tmux server (one per
//! test) at 80×24 with TERM=xterm-16color, and `aoai sim` as a child process. Shared by
//! tests/e2e_tmux.rs, tests/crash_safety_tmux.rs and tests/secrets_console.rs (and the
//! simulator child by tests/crash_safety.rs).
//!
//! Requires tmux (`.ci/run` installs it). Outside CI a missing tmux is reported loudly on
//! stderr and the tests are skipped; with `CI` set they fail.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(15);
pub const POLL: Duration = Duration::from_millis(100);

/// Whether tmux can run; without it, skips loudly (fails under CI).
pub fn have_tmux() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        let msg =
            "tmux is needed for the terminal tests (apt-get install tmux, or brew install tmux)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    ok
}

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A private server (one per test) running `cmd` in an 80×24 pane.
    pub fn start(name: &str, cmd: &str) -> Tmux {
        let t = Tmux {
            socket: format!("aoai-{}-{name}", std::process::id()),
        };
        let ok = Command::new("tmux")
            .args(["-L", &t.socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "80", "-y", "24", "-s", "e2e"])
            .arg(cmd)
            .env("TERM", "xterm-16color")
            .status()
            .expect("tmux runs");
        assert!(ok.success(), "tmux new-session failed");
        t
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        self.run(&[&["send-keys", "-t", "e2e"], keys].concat());
    }

    pub fn text(&self, s: &str) {
        self.run(&["send-keys", "-t", "e2e", "-l", s]);
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }

    /// A tmux format of the pane, e.g. `#{alternate_on}`, `#{cursor_flag}`, `#{pane_pid}`.
    pub fn format(&self, f: &str) -> String {
        self.run(&["display-message", "-p", "-t", "e2e", f])
            .trim()
            .to_string()
    }

    pub fn alternate_on(&self) -> String {
        self.format("#{alternate_on}")
    }

    /// Polls the screen until `pred` holds; panics with the last screen after [`WAIT`].
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
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

    /// The console's process: the pane's shell runs it (through `env`, which execs).
    pub fn aoai_pid(&self) -> i32 {
        let shell = self.format("#{pane_pid}");
        let out = Command::new("pgrep").args(["-P", &shell]).output().unwrap();
        let pids: Vec<i32> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "aoai")
            })
            .collect();
        assert_eq!(pids.len(), 1, "one aoai under the pane's shell {shell}");
        pids[0]
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// `aoai sim` as a child process with a given config; killed on drop.
pub struct SimChild {
    child: Child,
    pub url: String,
}

impl SimChild {
    pub fn start(config: &Path) -> SimChild {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aoai"))
            .args(["sim", "--port", "0", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("aoai sim starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        SimChild { child, url }
    }
}

impl Drop for SimChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
