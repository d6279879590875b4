//! mitmproxy's `mitmdump` for tests: where it is, a free port, and a child process that is
//! killed when the test ends (tests/har.rs, tests/https_proxy.rs).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Where mitmproxy's `mitmdump` is: `AOAI_MITMDUMP`, the virtualenv `.ci/run` installs it
/// into, or PATH.
pub fn mitmdump() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("AOAI_MITMDUMP") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let venv = home.join(".cache/aoai-mitmproxy/bin/mitmdump");
    if venv.exists() {
        return Some(venv);
    }
    Command::new("mitmdump")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from("mitmdump"))
}

/// `mitmdump`, or `None` after saying why the test is skipped; under `CI` its absence fails.
pub fn mitmdump_or_skip() -> Option<PathBuf> {
    let found = mitmdump();
    if found.is_none() {
        let msg = "mitmproxy's mitmdump is needed (.ci/run installs it)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    found
}

/// A child process, killed and reaped on drop.
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Spawns `mitmdump ARGS` on 127.0.0.1:`port` with its own confdir (its CA is
/// `<confdir>/mitmproxy-ca-cert.pem`) and its log, unbuffered, in `log`. It takes a second or
/// two to listen: see [`wait_listening`].
pub fn spawn_mitmdump(mitm: &Path, port: u16, confdir: &Path, log: &Path, args: &[&str]) -> Kill {
    let out = std::fs::File::create(log).unwrap();
    Kill(
        Command::new(mitm)
            .args(args)
            .args(["--listen-host", "127.0.0.1", "-p", &port.to_string()])
            .args(["--set", &format!("confdir={}", confdir.display())])
            .env("HOME", confdir)
            .env("PYTHONUNBUFFERED", "1")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("mitmdump starts"),
    )
}

/// Waits (30 s at most) until something accepts on 127.0.0.1:`port`.
pub fn wait_listening(port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "nothing listens on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
