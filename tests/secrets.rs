//! No secret anywhere, from the command line: a canary API key and a canary bearer token run
//! through `aoai chat` (text, `--json`, `--record`, a profile's `key_env`, Bearer on the
//! `--api openai` path, a 404 and a 401), `compare`, `bench`, `embed`, and the recordings
//! through `replay --report`, every `--export` and `--resend`. Every stream and every file
//! written is searched for them, and every file written must be `0600`.
//! (The proxy and the console: tests/secrets_proxy.rs.)

#[path = "common/canary.rs"]
mod canary;
mod common;

use std::path::Path;
use std::process::Output;

use canary::{BEARER, KEY, XAPI, assert_file_clean, assert_output_clean, scratch};
use common::{aoai, bounded, sim_with};

/// `aoai ARGS` with `env`, off the runtime's threads; checked for canaries before it returns.
async fn run(what: &str, args: Vec<String>, env: Vec<(&'static str, String)>) -> Output {
    let out = bounded(tokio::task::spawn_blocking(move || {
        let mut c = aoai();
        c.args(&args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }))
    .await
    .unwrap();
    assert_output_clean(what, &out);
    out
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn path(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A simulator that takes only the canary key and the canary bearer token.
async fn guarded_sim() -> aoai::sim::SimHandle {
    sim_with(|c| {
        c.api_keys = vec![KEY.into()];
        c.bearer_tokens = vec![BEARER.into()];
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_on_every_auth_path_and_its_failures_print_and_record_no_secret() {
    let sim = guarded_sim().await;
    let base = sim.base_url();
    let dir = scratch("chat");
    let rec = dir.join("chat.jsonl");
    let conn = |extra: &[&str]| {
        let mut v = strings(&["chat", "--endpoint", &base, "--api-key", KEY]);
        v.extend(strings(extra));
        v
    };
    // Text and --json, streamed and not, recorded; with every log variable a user might try
    // (the binary has no debug log: nothing may change).
    let logs = vec![
        ("RUST_LOG", "trace".to_string()),
        ("AOAI_LOG", "debug".to_string()),
        ("RUST_BACKTRACE", "1".to_string()),
    ];
    for extra in [
        vec!["-d", "gpt-4o", "hello there"],
        vec!["-d", "gpt-4o", "--json", "hello there"],
        vec!["-d", "gpt-4o", "--json", "--no-stream", "hello there"],
    ] {
        let mut a = conn(&extra);
        a.extend(strings(&["--record", &path(&rec)]));
        let out = run(&format!("chat {extra:?}"), a, logs.clone()).await;
        ok("chat", &out);
    }
    // A profile whose key comes from `key_env`.
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.p]\nendpoint = \"{base}\"\nauth = {{ type = \"key\", key_env = \"AOAI_SECRETS_KEY\" }}\n"
        ),
    )
    .unwrap();
    let prof = |extra: &[&str]| {
        let mut v = strings(&["chat", "--profile", "p", "--config", &path(&config)]);
        v.extend(strings(extra));
        v
    };
    let env = vec![("AOAI_SECRETS_KEY", KEY.to_string())];
    let rec_p = dir.join("profile.jsonl");
    for extra in [
        vec!["-d", "gpt-4o", "--json", "hi"],
        vec!["-d", "gpt-4o", "hi"],
    ] {
        let mut a = prof(&extra);
        a.extend(strings(&["--record", &path(&rec_p)]));
        let out = run(&format!("chat --profile {extra:?}"), a, env.clone()).await;
        ok("chat --profile", &out);
    }
    // The bearer token on the OpenAI-compatible path.
    let v1 = format!("{base}/openai/v1");
    let rec_b = dir.join("bearer.jsonl");
    for json in [true, false] {
        let mut a = strings(&["chat", "--endpoint", &v1, "--api", "openai", "--api-key"]);
        a.push(BEARER.into());
        a.extend(strings(&["-d", "gpt-4o", "--record", &path(&rec_b), "hi"]));
        if json {
            a.push("--json".into());
        }
        let out = run("chat --api openai (bearer)", a, vec![]).await;
        ok("chat --api openai", &out);
    }
    // Failures: a deployment that does not exist (404), a wrong key and a wrong bearer
    // (401) — shaped like the canaries, so an echo would be caught.
    let rec_f = dir.join("failed.jsonl");
    let wrong_key = "sk-CANARY-KEY-5e1f-wrong";
    let wrong_bearer = "eyJhbGciOiJub25lIn0.e30.CANARY-BEARER-9d3c41-wrong";
    let failing = [
        conn(&["-d", "no-such-deployment", "hi"]),
        conn(&["-d", "no-such-deployment", "--json", "hi"]),
        strings(&[
            "chat",
            "--endpoint",
            &base,
            "--api-key",
            wrong_key,
            "-d",
            "gpt-4o",
            "hi",
        ]),
        strings(&[
            "chat",
            "--endpoint",
            &base,
            "--api-key",
            wrong_key,
            "-d",
            "gpt-4o",
            "--json",
            "hi",
        ]),
        strings(&[
            "chat",
            "--endpoint",
            &v1,
            "--api",
            "openai",
            "--api-key",
            wrong_bearer,
            "-d",
            "gpt-4o",
            "hi",
        ]),
        prof(&["-d", "no-such-deployment", "--json", "hi"]),
    ];
    for mut a in failing {
        let what = format!("failing {a:?}");
        a.extend(strings(&["--record", &path(&rec_f)]));
        let out = run(&what, a, env.clone()).await;
        assert_eq!(out.status.code(), Some(1), "{what}");
    }
    // The key in the environment, with no flag.
    let out = run(
        "chat with AZURE_OPENAI_API_KEY",
        strings(&["chat", "--endpoint", &base, "-d", "gpt-4o", "hi"]),
        vec![("AZURE_OPENAI_API_KEY", KEY.to_string())],
    )
    .await;
    ok("chat with the env key", &out);
    // An endpoint carrying a password and a signature in its URL: neither is shown or kept.
    let host = base.strip_prefix("http://").unwrap();
    let leaky = format!(
        "http://user:CANARY-PW@{host}/?sig={}&api-key={}",
        canary::SIG,
        canary::QKEY
    );
    for json in [true, false] {
        let mut a = strings(&[
            "chat",
            "--endpoint",
            &leaky,
            "--api-key",
            KEY,
            "-d",
            "gpt-4o",
        ]);
        a.extend(strings(&["--record", &path(&rec), "hi"]));
        if json {
            a.push("--json".into());
        }
        let out = run("chat --endpoint with userinfo and query", a, vec![]).await;
        ok("chat --endpoint with userinfo and query", &out);
    }
    // A credential passed as a plain header is refused without being repeated.
    let out = run(
        "chat -H x-api-key",
        strings(&[
            "chat",
            "--endpoint",
            &base,
            "-H",
            &format!("x-api-key: {XAPI}"),
            "hi",
        ]),
        vec![],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    for f in [&rec, &rec_p, &rec_b, &rec_f] {
        assert_file_clean(f);
    }
    assert_eq!(
        std::fs::read_to_string(&rec_f).unwrap().lines().count(),
        1 + 6,
        "every failed call recorded"
    );
    replay_everything(&rec, &base, &dir).await;
    replay_everything(&rec_f, &base, &dir).await;
}

/// `aoai replay FILE` headless in every form, its exports to stdout and to files, and
/// `--resend` with the canary key (recorded again).
async fn replay_everything(rec: &Path, base: &str, dir: &Path) {
    let f = path(rec);
    let stem = rec.file_stem().unwrap().to_str().unwrap();
    for extra in [vec!["--report"], vec!["--report", "--json"]] {
        let mut a = strings(&["replay", &f]);
        a.extend(strings(&extra));
        let out = run(&format!("replay {extra:?}"), a, vec![]).await;
        ok("replay --report", &out);
    }
    for format in ["har", "otlp-json", "markdown"] {
        let out = run(
            &format!("--export {format}"),
            strings(&["replay", &f, "--export", format]),
            vec![],
        )
        .await;
        ok("--export", &out);
        let file = dir.join(format!("{stem}.{format}"));
        let out = run(
            &format!("--export {format} -o"),
            strings(&["replay", &f, "--export", format, "-o", &path(&file)]),
            vec![],
        )
        .await;
        ok("--export -o", &out);
        assert_file_clean(&file);
    }
    let again = dir.join(format!("{stem}-resent.jsonl"));
    let out = run(
        "replay --resend",
        strings(&[
            "replay",
            &f,
            "--resend",
            "--endpoint",
            base,
            "--api-key",
            KEY,
            "--json",
            "--record",
            &path(&again),
        ]),
        vec![],
    )
    .await;
    assert!(out.status.code().is_some(), "replay --resend ran");
    assert_file_clean(&again);
}

#[tokio::test(flavor = "multi_thread")]
async fn compare_bench_and_embed_print_and_record_no_secret() {
    let sim = guarded_sim().await;
    let base = sim.base_url();
    let dir = scratch("others");
    let set = dir.join("set.toml");
    std::fs::write(
        &set,
        "name = \"s\"\n[defaults]\nuser = \"Name two fruits.\"\nmax_tokens = 40\n[[variant]]\nname = \"a\"\nseed = 1\n[[variant]]\nname = \"b\"\nseed = 2\n",
    )
    .unwrap();
    let conn = |cmd: &str| strings(&[cmd, "--endpoint", &base, "--api-key", KEY]);
    let rec_c = dir.join("compare.jsonl");
    for format in [vec!["--json"], vec![]] {
        let mut a = conn("compare");
        a.push(path(&set));
        a.extend(strings(&["-d", "gpt-4o", "--record", &path(&rec_c)]));
        a.extend(strings(&format));
        let out = run(&format!("compare {format:?}"), a, vec![]).await;
        ok("compare", &out);
    }
    let rec_b = dir.join("bench.jsonl");
    for output in ["jsonl", "text"] {
        let mut a = conn("bench");
        a.extend(strings(&[
            "-d",
            "gpt-4o",
            "--clients",
            "2",
            "--duration",
            "1s",
            "--report-every",
            "1s",
            "--shape",
            "custom",
            "--context-tokens",
            "40",
            "--max-tokens",
            "5",
            "--output",
            output,
            "--record",
            &path(&rec_b),
        ]));
        let out = run(&format!("bench --output {output}"), a, vec![]).await;
        ok("bench", &out);
    }
    for json in [true, false] {
        let mut a = conn("embed");
        a.extend(strings(&["-d", "text-embedding-3-small", "one", "two"]));
        if json {
            a.push("--json".into());
        }
        let out = run("embed", a, vec![]).await;
        ok("embed", &out);
    }
    // A failing embed (a chat deployment) and a wrong key on bench.
    let mut a = conn("embed");
    a.extend(strings(&["-d", "gpt-4o", "--json", "x"]));
    let out = run("embed on a chat deployment", a, vec![]).await;
    assert_eq!(out.status.code(), Some(1));
    let out = run(
        "bench with a wrong key",
        strings(&[
            "bench",
            "--endpoint",
            &base,
            "--api-key",
            "sk-CANARY-KEY-5e1f-wrong",
            "-d",
            "gpt-4o",
            "--clients",
            "1",
            "--duration",
            "1s",
            "--output",
            "jsonl",
        ]),
        vec![],
    )
    .await;
    assert!(out.status.code().is_some());
    for f in [&rec_c, &rec_b] {
        assert_file_clean(f);
    }
    replay_everything(&rec_c, &base, &dir).await;
}

/// `config check` and `doctor` (text and `--json`, a good and a wrong key) on profiles whose
/// key is inline in the file and in `key_env`.
#[tokio::test(flavor = "multi_thread")]
async fn config_check_and_doctor_print_no_secret() {
    let sim = guarded_sim().await;
    let base = sim.base_url();
    let dir = scratch("doctor");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.inline]\nendpoint = \"{base}\"\nauth = {{ type = \"key\", key = \"{KEY}\" }}\n\
             [profiles.env]\nendpoint = \"{base}\"\nauth = {{ type = \"key\", key_env = \"AOAI_SECRETS_KEY\" }}\n\
             [profiles.wrong]\nendpoint = \"{base}\"\nauth = {{ type = \"key\", key = \"sk-CANARY-KEY-5e1f-wrong\" }}\n"
        ),
    )
    .unwrap();
    let c = path(&config);
    let env = vec![("AOAI_SECRETS_KEY", KEY.to_string())];
    let out = run(
        "config check",
        strings(&["config", "check", &c]),
        env.clone(),
    )
    .await;
    ok("config check", &out);
    for profile in ["inline", "env", "wrong"] {
        for json in [true, false] {
            let mut a = strings(&[
                "doctor",
                "--profile",
                profile,
                "--config",
                &c,
                "-d",
                "gpt-4o",
            ]);
            if json {
                a.push("--json".into());
            }
            let out = run(&format!("doctor --profile {profile}"), a, env.clone()).await;
            assert!(out.status.code().is_some(), "doctor ran");
        }
    }
}

/// What a panic message or a `{:?}` could print: the credential types, the client and
/// connection options, the parsed command line.
#[test]
fn debug_formatting_never_shows_a_secret() {
    use aoai::azure::{Auth, ClientConfig, Endpoint, Secret};
    use clap::Parser;
    let auth = Auth::ApiKey(Secret::new(KEY));
    canary::assert_clean("Auth", &format!("{auth:?}"));
    let cfg = ClientConfig::new(Endpoint::parse("http://127.0.0.1:1").unwrap(), auth);
    canary::assert_clean("ClientConfig", &format!("{cfg:?}"));
    let cli = aoai::cli::Cli::parse_from(["aoai", "chat", "--api-key", KEY, "hi"]);
    canary::assert_clean("Cli", &format!("{cli:?}"));
    if let Some(aoai::cli::Command::Chat(a)) = &cli.command {
        canary::assert_clean("ConnectOptions", &format!("{:?}", a.conn.options()));
    }
    let proxy = ["aoai", "proxy", "--auth", "profile", "--proxy-key", KEY];
    let cli = aoai::cli::Cli::parse_from(proxy);
    canary::assert_clean("Cli (proxy)", &format!("{cli:?}"));
    let text = format!(
        "[profiles.p]\nendpoint = \"http://127.0.0.1:1\"\nauth = {{ type = \"key\", key = \"{KEY}\" }}\n"
    );
    let file = aoai::config::ConfigFile::parse(&text, "config.toml").unwrap();
    canary::assert_clean("ConfigFile", &format!("{file:?}"));
}
