//! A private tmux server for the benches that measure the real binary on a real terminal
//! (console.rs, scenario.rs), and a process's CPU time from /proc.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn new() -> Self {
        let t = Tmux {
            socket: format!("aoai-bench-{}", std::process::id()),
        };
        // Start the server first so its start-up is not counted as the console's.
        t.cmd(&[
            "new-session",
            "-d",
            "-s",
            "warm",
            "-x",
            "120",
            "-y",
            "40",
            "sleep 600",
        ]);
        t
    }
    pub fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    pub fn capture(&self, target: &str) -> String {
        self.cmd(&["capture-pane", "-p", "-t", target])
    }
    pub fn wait_for(
        &self,
        target: &str,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if pred(&self.capture(target)) {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        None
    }
    pub fn pid(&self, target: &str) -> u32 {
        self.cmd(&["list-panes", "-t", target, "-F", "#{pane_pid}"])
            .trim()
            .parse()
            .expect("pane pid")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// utime + stime of a process, in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after_comm.split_whitespace().collect();
    // Fields 14 and 15 of stat (1-based) are utime and stime; after "pid (comm) " they are 12 and 13.
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    let hz = unsafe_free_clk_tck();
    ticks / hz
}

fn unsafe_free_clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

pub fn cpu_percent_over(pid: u32, secs: u64) -> f64 {
    let c0 = cpu_seconds(pid);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let c1 = cpu_seconds(pid);
    (c1 - c0) / t0.elapsed().as_secs_f64() * 100.0
}
