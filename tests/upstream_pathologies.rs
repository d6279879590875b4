//! Upstreams that misbehave at the socket level, through `aoai chat` and `aoai proxy`: one
//! that accepts and never answers, one that sends its headers then drips a byte a second,
//! one that sends 100 MB, one that closes mid-header. Each tiny server is a thread on
//! 127.0.0.1:0 speaking raw HTTP/1.1. Every run must end in bounded time with a clear
//! outcome, and the client's peak memory (VmHWM) must stay far below the body's size.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long any one run may take; the client's timeouts are 2 s.
const BOUND: Duration = Duration::from_secs(15);
/// The size of the large body.
const BIG: usize = 100 << 20;

#[derive(Clone, Copy, Debug)]
enum Pathology {
    /// Accepts, reads the request, never answers.
    Silent,
    /// 200 and SSE headers, then one byte of an event a second.
    Drip,
    /// 200 and SSE headers, then one 100 MB event with no line end.
    BigEvent,
    /// 200 JSON headers with a 100 MB content-length, then 100 MB of a JSON string.
    BigJson,
    /// Half a status line and headers, then the connection closes.
    CloseMidHeader,
    /// 200 and SSE headers, then silence.
    Stall,
}

/// A server with one pathology; it stops when dropped.
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(p: Pathology) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if flag.load(Ordering::SeqCst) {
                return;
            }
            let Ok(conn) = conn else { continue };
            let flag = flag.clone();
            std::thread::spawn(move || answer(p, conn, &flag));
        }
    });
    Server { port, stop }
}

/// Reads the request head and its body (by content-length), so closing does not reset.
fn read_request(conn: &mut TcpStream) {
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    let _ = r.read_exact(&mut body);
}

fn answer(p: Pathology, mut conn: TcpStream, stop: &AtomicBool) {
    read_request(&mut conn);
    let until = Instant::now() + Duration::from_secs(40);
    let alive = || !stop.load(Ordering::SeqCst) && Instant::now() < until;
    match p {
        Pathology::Silent | Pathology::Stall => {
            if matches!(p, Pathology::Stall) {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
                let _ = conn.write_all(head.as_bytes());
            }
            while alive() {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Pathology::Drip => {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
            if conn.write_all(head.as_bytes()).is_err() {
                return;
            }
            let event = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"drip\"}}]}\n\n";
            for b in event.iter().cycle() {
                if !alive() || conn.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        Pathology::BigEvent | Pathology::BigJson => {
            let (ctype, prefix, suffix): (&str, &[u8], &[u8]) = match p {
                Pathology::BigEvent => ("text/event-stream", b"data: ", b"\n\n"),
                _ => ("application/json", b"{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"", b"\"}}]}"),
            };
            let len = prefix.len() + BIG + suffix.len();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
            );
            let chunk = vec![b'a'; 64 << 10];
            let mut sent = 0;
            if conn.write_all(head.as_bytes()).is_err() || conn.write_all(prefix).is_err() {
                return;
            }
            while sent < BIG && alive() {
                let n = chunk.len().min(BIG - sent);
                if conn.write_all(&chunk[..n]).is_err() {
                    return;
                }
                sent += n;
            }
            let _ = conn.write_all(suffix);
        }
        Pathology::CloseMidHeader => {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/ev");
            let _ = conn.flush();
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Peak resident memory of a live process, KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Waits for `child` at most [`BOUND`] (killing it then), tracking its peak memory.
/// Returns (exit code, elapsed, peak KiB, stdout, stderr).
fn finish(mut child: Child) -> (Option<i32>, Duration, u64, String, String) {
    let start = Instant::now();
    let pid = child.id();
    let mut peak = 0;
    // Drain the pipes on threads so a chatty child never blocks on them.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let code = loop {
        if let Some(k) = peak_kib(pid) {
            peak = peak.max(k);
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if start.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    (
        code,
        elapsed,
        peak,
        out_t.join().unwrap(),
        err_t.join().unwrap(),
    )
}

fn chat(port: u16, extra: &[&str]) -> (Option<i32>, Duration, u64, String, String) {
    let endpoint = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_aoai"))
        .args([
            "chat",
            "--endpoint",
            &endpoint,
            "--api-key",
            "k",
            "-d",
            "gpt-4o",
        ])
        .args(["--first-byte-timeout", "2", "--idle-timeout", "2", "--json"])
        .args(extra)
        .arg("hi")
        .env_remove("AZURE_OPENAI_ENDPOINT")
        .env_remove("AZURE_OPENAI_API_KEY")
        .env_remove("AZURE_OPENAI_DEPLOYMENT")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("aoai chat starts");
    finish(child)
}

/// The `error` object of a `chat --json` line.
fn chat_error(out: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {out}"));
    v["error"].clone()
}

/// Runs `aoai chat` against one pathology and checks its outcome.
fn chat_case(p: Pathology, extra: &[&str], kind: &str, words: &str) {
    let server = serve(p);
    let (code, took, peak, out, err) = chat(server.port, extra);
    eprintln!(
        "chat {p:?}: exit {code:?} in {:.2} s, peak {} MiB",
        took.as_secs_f64(),
        peak / 1024
    );
    assert_ne!(code, Some(0), "{p:?} is not a success\n{out}\n{err}");
    let e = chat_error(&out);
    assert_eq!(e["kind"], kind, "{p:?}: {e}\n{err}");
    let msg = e["message"].as_str().unwrap_or_default();
    assert!(msg.contains(words), "{p:?}: {msg:?} lacks {words:?}");
    assert!(took < Duration::from_secs(12), "{p:?} took {took:?}");
    // Bounded by the client's caps (an event of 16 MiB, a body of 32 MiB), not by the
    // body: measured about 104 and 140 MiB for a 100 MB or a 300 MB body alike, in a debug
    // build with the tokenizer's tables loaded (about 50 MiB of it).
    assert!(peak < 192 * 1024, "{p:?}: peak {peak} KiB");
}

#[test]
fn chat_gives_up_on_a_server_that_never_answers() {
    chat_case(Pathology::Silent, &[], "timeout", "first-byte timeout");
}

#[test]
fn chat_gives_up_on_a_stream_that_drips() {
    chat_case(Pathology::Drip, &[], "timeout", "idle");
}

#[test]
fn chat_refuses_a_100_mb_stream_event() {
    chat_case(Pathology::BigEvent, &[], "malformed_sse", "MiB");
}

#[test]
fn chat_refuses_a_100_mb_body() {
    chat_case(Pathology::BigJson, &["--no-stream"], "bad_body", "MiB");
}

#[test]
fn chat_reports_a_connection_closed_mid_header() {
    chat_case(Pathology::CloseMidHeader, &[], "connect", "");
}

#[test]
fn chat_gives_up_on_a_stream_that_stalls_after_its_headers() {
    chat_case(Pathology::Stall, &[], "timeout", "idle");
}

/// `aoai proxy` forwarding to one pathology; killed on drop. Its stdout lines (one per
/// finished call) are collected.
struct Proxy {
    child: Child,
    base: String,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Proxy {
    fn start(upstream_port: u16) -> Proxy {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aoai"))
            .args(["proxy", "--port", "0", "--upstream"])
            .arg(format!("http://127.0.0.1:{upstream_port}"))
            .args(["--first-byte-timeout", "2", "--idle-timeout", "2"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("aoai proxy starts");
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = out.next().unwrap().unwrap();
        let base = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in out.map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        Proxy { child, base, lines }
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The proxy's line for its next finished call.
    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(BOUND)
            .expect("a line for the finished call")
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the application saw: the status (or its own timeout), the body bytes read, the
/// time taken, and whether the body broke off.
#[derive(Debug)]
struct Seen {
    status: Option<u16>,
    body_bytes: usize,
    body_text: String,
    took: Duration,
    broke: bool,
}

/// One streamed chat call through the proxy, as an application makes it with its own
/// patience of `patience`.
async fn app_call(base: &str, patience: Duration) -> Seen {
    use futures_util::StreamExt;
    let start = Instant::now();
    let url = format!("{base}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
    let body = serde_json::json!({"messages": [{"role": "user", "content": "hi"}], "stream": true});
    let run = async {
        let r = reqwest::Client::new()
            .post(&url)
            .header("api-key", "k")
            .json(&body)
            .send()
            .await;
        let Ok(r) = r else {
            return (None, 0, String::new(), true);
        };
        let status = r.status().as_u16();
        let mut stream = r.bytes_stream();
        let (mut n, mut text, mut broke) = (0, String::new(), false);
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(b) => {
                    n += b.len();
                    if text.len() < 4096 {
                        text.push_str(&String::from_utf8_lossy(&b[..b.len().min(4096)]));
                    }
                }
                Err(_) => {
                    broke = true;
                    break;
                }
            }
        }
        (Some(status), n, text, broke)
    };
    match tokio::time::timeout(patience, run).await {
        Ok((status, body_bytes, body_text, broke)) => Seen {
            status,
            body_bytes,
            body_text,
            took: start.elapsed(),
            broke,
        },
        Err(_) => Seen {
            status: None,
            body_bytes: 0,
            body_text: String::new(),
            took: start.elapsed(),
            broke: true,
        },
    }
}

/// Runs two calls through a proxy in front of `p`: the proxy must stay up for the second.
async fn proxy_case(p: Pathology, patience: Duration) -> (Vec<Seen>, Vec<String>, u64) {
    let server = serve(p);
    let mut proxy = Proxy::start(server.port);
    let mut seen = Vec::new();
    let mut lines = Vec::new();
    for _ in 0..2 {
        seen.push(app_call(&proxy.base, patience).await);
        assert!(proxy.alive(), "{p:?}: the proxy died");
        lines.push(tokio::task::block_in_place(|| proxy.next_line()));
    }
    let peak = peak_kib(proxy.child.id()).unwrap_or(0);
    for (s, l) in seen.iter().zip(&lines) {
        eprintln!(
            "proxy {p:?}: status {:?} in {:.2} s, {} body bytes, broke {}; peak {} MiB; {l}",
            s.status,
            s.took.as_secs_f64(),
            s.body_bytes,
            s.broke,
            peak / 1024
        );
    }
    (seen, lines, peak)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_answers_504_for_an_upstream_that_never_answers() {
    let (seen, lines, _) = proxy_case(Pathology::Silent, Duration::from_secs(10)).await;
    for (s, l) in seen.iter().zip(&lines) {
        assert_eq!(s.status, Some(504), "{s:?}");
        assert!(s.body_text.contains("UpstreamTimeout"), "{s:?}");
        assert!(s.took < Duration::from_secs(5), "{s:?}");
        assert!(l.contains("first-byte timeout"), "{l}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_answers_502_for_an_upstream_that_closes_mid_header() {
    let (seen, lines, _) = proxy_case(Pathology::CloseMidHeader, Duration::from_secs(10)).await;
    for (s, l) in seen.iter().zip(&lines) {
        assert_eq!(s.status, Some(502), "{s:?}");
        assert!(s.body_text.contains("UpstreamUnreachable"), "{s:?}");
        assert!(s.took < Duration::from_secs(3), "{s:?}");
        assert!(l.contains("[failed]"), "{l}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_breaks_off_a_body_that_stalls() {
    let (seen, lines, _) = proxy_case(Pathology::Stall, Duration::from_secs(10)).await;
    for (s, l) in seen.iter().zip(&lines) {
        assert_eq!(s.status, Some(200), "{s:?}");
        assert!(s.broke, "the application sees the body break off: {s:?}");
        assert!(s.took < Duration::from_secs(5), "{s:?}");
        assert!(l.contains("idle timeout"), "{l}");
    }
}

/// A drip keeps every silence under the idle timeout: the proxy relays it as it comes and
/// the application's own patience decides; when it hangs up the call ends cancelled.
#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_relays_a_drip_until_the_application_hangs_up() {
    let (seen, lines, _) = proxy_case(Pathology::Drip, Duration::from_secs(4)).await;
    for (s, l) in seen.iter().zip(&lines) {
        assert!(s.broke && s.took < Duration::from_secs(6), "{s:?}");
        assert!(l.contains("[cancelled]"), "{l}");
    }
}

/// 100 MB pass through to the application whole, streamed: the proxy's memory stays
/// bounded by its tap's 32 MiB cap on what it reads of a body.
#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_streams_100_mb_through_in_bounded_memory() {
    let (seen, lines, peak) = proxy_case(Pathology::BigEvent, Duration::from_secs(14)).await;
    for (s, l) in seen.iter().zip(&lines) {
        assert_eq!(s.status, Some(200), "{s:?}");
        assert_eq!(s.body_bytes, BIG + 8, "{s:?}");
        assert!(l.contains(" 200 "), "{l}");
    }
    assert!(peak < 192 * 1024, "peak {peak} KiB");
}
