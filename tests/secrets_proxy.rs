//! No secret anywhere, through `aoai proxy --record`: the application's canary key, bearer
//! token, `Ocp-Apim-Subscription-Key`, `x-api-key` and `?api-key=` / `&sig=` in the URL
//! (`--auth app`), and the profile's canary key and a local `--proxy-key` (`--auth
//! profile`). The proxy's output, its recordings, and their reports, exports and re-sends are
//! searched for every one of them; every file written must be `0600`.

#[path = "common/canary.rs"]
mod canary;
#[path = "common/sim.rs"]
mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aoai::sim::SimConfig;
use canary::{APIM, BEARER, KEY, QKEY, SIG, XAPI, assert_file_clean, assert_output_clean, scratch};
use common::{V, chat_body, within};

const PROXY_KEY: &str = "local-CANARY-PROXY-55ee";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aoai"));
    for v in [
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "AOAI_PROFILE",
        "AOAI_CONFIG",
        "AOAI_PROXY_KEY",
    ] {
        c.env_remove(v);
    }
    c
}

/// A running `aoai proxy`, its base URL, and its stdout after the first line.
struct Proxy {
    child: std::process::Child,
    base: String,
    rest: BufReader<std::process::ChildStdout>,
}

impl Proxy {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Proxy {
        let mut c = bin();
        c.args(["proxy", "--port", "0"]).args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut rest = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        rest.read_line(&mut first).unwrap();
        let base = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        canary::assert_clean("the proxy's first line", &first);
        Proxy { child, base, rest }
    }

    /// Stops the proxy and checks everything it printed.
    fn stop(mut self, what: &str) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut out = String::new();
        let _ = self.rest.read_to_string(&mut out);
        let mut err = String::new();
        let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
        canary::assert_clean(&format!("{what} stdout"), &out);
        canary::assert_clean(&format!("{what} stderr"), &err);
        assert!(!out.is_empty(), "{what} printed a line per call");
    }
}

/// Waits until `rec` holds its header and `calls` calls.
async fn recorded(rec: &Path, calls: usize) {
    let start = Instant::now();
    loop {
        let n = std::fs::read_to_string(rec)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if n > calls {
            return;
        }
        assert!(
            start.elapsed() < common::T,
            "{} holds {n} lines, not 1 + {calls}",
            rec.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// POSTs `body` to `url` with exactly `headers`; returns the status.
async fn send(url: &str, body: &serde_json::Value, headers: &[(&str, &str)]) -> u16 {
    let mut rb = common::client().post(url).json(body);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = within(rb.send()).await.expect("sent");
    let status = r.status().as_u16();
    let text = within(r.text()).await.unwrap_or_default();
    canary::assert_clean(&format!("the response from {url}"), &text);
    status
}

/// A classic chat URL carrying a key and a signature in its query.
fn leaky_url(base: &str, dep: &str) -> String {
    format!(
        "{base}/openai/deployments/{dep}/chat/completions?api-version={V}&api-key={QKEY}&sig={SIG}"
    )
}

/// One call the application makes: URL, body, headers, the status expected (if any).
type Planned<'a> = (
    String,
    serde_json::Value,
    Vec<(&'a str, String)>,
    Option<u16>,
);

/// The application's traffic: every credential shape, streamed and not, chat and Responses,
/// a 404 and a 401. Returns how many calls it made.
async fn traffic(base: &str, own_key: Option<&str>) -> usize {
    let extra = [("ocp-apim-subscription-key", APIM), ("x-api-key", XAPI)];
    let with = |cred: Option<(&'static str, String)>| {
        let mut h: Vec<(&str, String)> = extra.iter().map(|(k, v)| (*k, v.to_string())).collect();
        h.extend(cred);
        h
    };
    let key = own_key.map(|k| ("api-key", k.to_string()));
    let bearer = own_key.map(|_| ("authorization", format!("Bearer {BEARER}")));
    let calls: Vec<Planned> = vec![
        (
            leaky_url(base, "gpt-4o"),
            chat_body(true, true),
            with(key.clone()),
            Some(200),
        ),
        (
            leaky_url(base, "gpt-4o"),
            chat_body(false, false),
            with(bearer.clone()),
            Some(200),
        ),
        (
            leaky_url(base, "no-such-deployment"),
            chat_body(false, false),
            with(key.clone()),
            Some(404),
        ),
        (
            format!("{base}/openai/v1/responses?api-key={QKEY}&sig={SIG}"),
            serde_json::json!({"model": "gpt-4o", "input": "Say hello.", "stream": true}),
            with(bearer),
            None,
        ),
    ];
    let n = calls.len();
    for (url, body, headers, want) in calls {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let status = send(&url, &body, &h).await;
        if let Some(w) = want {
            assert_eq!(status, w, "{url}");
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_app_records_none_of_the_applications_credentials() {
    let mut cfg = SimConfig::instant();
    cfg.api_keys = vec![KEY.into()];
    cfg.bearer_tokens = vec![BEARER.into()];
    let sim = common::start(cfg).await;
    let dir = scratch("proxy-app");
    for json in [false, true] {
        let rec = dir.join(format!("app-{json}.jsonl"));
        let mut args = vec!["--upstream", &sim.base_url()]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        args.extend(["--record".into(), rec.to_str().unwrap().into()]);
        if json {
            args.push("--json".into());
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let p = Proxy::start(&a, &[]);
        let mut n = traffic(&p.base, Some(KEY)).await;
        // A wrong key, shaped like the canary: the 401 passes through, unrecorded as a key.
        let wrong = "sk-CANARY-KEY-5e1f-wrong";
        let status = send(
            &leaky_url(&p.base, "gpt-4o"),
            &chat_body(false, false),
            &[("api-key", wrong)],
        )
        .await;
        assert_eq!(status, 401);
        n += 1;
        recorded(&rec, n).await;
        p.stop("aoai proxy --auth app");
        assert_file_clean(&rec);
        replay_everything(&rec, &sim.base_url(), &dir).await;
    }
    // A HAR from elsewhere (devtools, mitmproxy) holds the credentials as sent: imported, it
    // is reported, exported and re-sent without them.
    let har = dir.join("import.json");
    leaky_har(&dir.join("app-false.har"), &har);
    replay_everything(&har, &sim.base_url(), &dir).await;
}

/// `from`, with every request given each credential header and the key and signature in
/// its URL and query string, written to `to`.
fn leaky_har(from: &Path, to: &Path) {
    let mut har: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(from).unwrap()).unwrap();
    let entries = har["log"]["entries"].as_array_mut().unwrap();
    assert!(!entries.is_empty());
    for e in entries {
        let req = &mut e["request"];
        let url = req["url"].as_str().unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        req["url"] = format!("{url}{sep}api-key={QKEY}&sig={SIG}").into();
        let bearer = format!("Bearer {BEARER}");
        for (name, value) in [
            ("api-key", KEY),
            ("Authorization", bearer.as_str()),
            ("Ocp-Apim-Subscription-Key", APIM),
            ("x-api-key", XAPI),
        ] {
            let h = serde_json::json!({"name": name, "value": value});
            req["headers"].as_array_mut().unwrap().push(h);
        }
        let q = req["queryString"].as_array_mut().unwrap();
        q.push(serde_json::json!({"name": "api-key", "value": QKEY}));
        q.push(serde_json::json!({"name": "sig", "value": SIG}));
    }
    std::fs::write(to, serde_json::to_string_pretty(&har).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_profile_records_neither_the_profiles_key_nor_the_local_one() {
    let mut cfg = SimConfig::instant();
    cfg.api_keys = vec![KEY.into()];
    let sim = common::start(cfg).await;
    let dir = scratch("proxy-profile");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.p]\nendpoint = \"{}\"\nauth = {{ type = \"key\", key_env = \"AOAI_SECRETS_KEY\" }}\n",
            sim.base_url()
        ),
    )
    .unwrap();
    let rec = dir.join("profile.jsonl");
    let p = Proxy::start(
        &[
            "--profile",
            "p",
            "--auth",
            "profile",
            "--config",
            config.to_str().unwrap(),
            "--record",
            rec.to_str().unwrap(),
        ],
        &[("AOAI_SECRETS_KEY", KEY), ("AOAI_PROXY_KEY", PROXY_KEY)],
    );
    let url = leaky_url(&p.base, "gpt-4o");
    let local = [
        ("api-key", PROXY_KEY),
        ("ocp-apim-subscription-key", APIM),
        ("x-api-key", XAPI),
    ];
    assert_eq!(send(&url, &chat_body(true, true), &local).await, 200);
    let bearer = format!("Bearer {PROXY_KEY}");
    assert_eq!(
        send(
            &url,
            &chat_body(false, false),
            &[("authorization", bearer.as_str())]
        )
        .await,
        200
    );
    assert_eq!(
        send(
            &leaky_url(&p.base, "no-such-deployment"),
            &chat_body(false, false),
            &local
        )
        .await,
        404
    );
    // Without the local key: refused by the proxy, and nothing says what the key is.
    assert_eq!(
        send(
            &url,
            &chat_body(false, false),
            &[("api-key", "local-CANARY-PROXY-55")]
        )
        .await,
        401
    );
    recorded(&rec, 3).await;
    p.stop("aoai proxy --auth profile");
    assert_file_clean(&rec);
    replay_everything(&rec, &sim.base_url(), &dir).await;
}

/// Runs `aoai ARGS` off the runtime's threads and checks both streams.
async fn run(what: String, args: Vec<String>) -> Output {
    let out = within(tokio::task::spawn_blocking(move || {
        bin().args(&args).output().unwrap()
    }))
    .await
    .unwrap();
    assert_output_clean(&what, &out);
    out
}

/// `replay --report` (text and JSON), every export (stdout and `-o`), and `--resend` with the
/// canary key, recorded again.
async fn replay_everything(rec: &Path, base: &str, dir: &Path) {
    let f = rec.to_str().unwrap().to_string();
    let stem = rec.file_stem().unwrap().to_str().unwrap().to_string();
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for extra in [vec!["--report"], vec!["--report", "--json"]] {
        let out = run(
            format!("replay {extra:?}"),
            [s(&["replay", &f]), s(&extra)].concat(),
        )
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for format in ["har", "otlp-json", "markdown"] {
        let out = run(
            format!("--export {format}"),
            s(&["replay", &f, "--export", format]),
        )
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let file = dir.join(format!("{stem}.{format}"));
        let file_s = file.to_str().unwrap();
        let out = run(
            format!("--export {format} -o"),
            s(&["replay", &f, "--export", format, "-o", file_s]),
        )
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_file_clean(&file);
    }
    let again = dir.join(format!("{stem}-resent.jsonl"));
    let out = run(
        "replay --resend".into(),
        s(&[
            "replay",
            &f,
            "--resend",
            "--endpoint",
            base,
            "--api-key",
            KEY,
            "--json",
            "--record",
            again.to_str().unwrap(),
        ]),
    )
    .await;
    assert!(out.status.code().is_some());
    assert_file_clean(&again);
}
