//! The console on a bare pseudo-terminal that answers nothing: no reply to a cursor-position
//! query (`ESC [ 6 n`), as with some serial consoles, web terminals and pipes through `ssh`.
//! It must start, draw and quit without waiting for a reply, and (TERM=xterm-16color) write
//! only the base 16-colour SGR codes.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

/// A pty pair (master, slave) of 80×24.
fn pty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    let ws = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two fds into the out-pointers; the rest are valid or null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &ws,
        )
    };
    assert_eq!(rc, 0, "openpty failed");
    // SAFETY: both fds were just opened and are owned here only.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

#[test]
fn starts_and_quits_on_a_terminal_that_never_answers_a_cursor_query() {
    let (master, slave) = pty();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aoai"))
        .env_remove("AZURE_OPENAI_ENDPOINT")
        .env_remove("AZURE_OPENAI_API_KEY")
        .env_remove("AOAI_THEME")
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-16color")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .spawn()
        .expect("aoai starts");

    // Everything the console writes; nothing is ever answered.
    let out = Arc::new(Mutex::new(Vec::<u8>::new()));
    let mut reader = std::fs::File::from(master.try_clone().unwrap());
    let sink = out.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let text = || String::from_utf8_lossy(&out.lock().unwrap()).into_owned();

    let start = Instant::now();
    while !text().contains("SIMULATOR") {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the console exited ({status}) before drawing:\n{}", text());
        }
        assert!(
            start.elapsed() < WAIT,
            "the console did not draw:\n{}",
            text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let shown = text();
    assert!(!shown.contains("cursor position"), "{shown}");
    assert!(!shown.contains("\x1b[6n"), "asked for the cursor position");
    // A 16-colour terminal gets only the base SGR colour codes.
    for code in ["38;5;", "48;5;", "38;2;", "48;2;"] {
        assert!(
            !shown.contains(code),
            "{code} written on a 16-colour terminal"
        );
    }

    // Ctrl+C twice (idle) quits.
    let mut writer = std::fs::File::from(master);
    writer.write_all(b"\x03\x03").unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > WAIT {
            let _ = child.kill();
            panic!("the console did not quit:\n{}", text());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}\n{}", text());
    assert!(!text().contains("cursor position"), "{}", text());
}
