//! The official `openai` Python SDK against `aoai sim` (tests/python/test_sdk.py): AzureOpenAI
//! and OpenAI(base_url=…/openai/v1/), streaming and not, 429 as RateLimitError; the Responses
//! API through `client.responses` (tests/python/test_responses_sdk.py); and a recorded
//! scenario served back by `aoai sim --replay` (tests/python/test_replay_sdk.py).
//! Requires python3 with `openai` installed (`.ci/run` installs it). Outside CI a missing
//! package is reported loudly and the test is skipped; under CI=true it fails.

use std::process::Command;

#[test]
fn official_python_sdk_works_against_the_simulator() {
    let have_openai = Command::new("python3")
        .args(["-c", "import openai"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !have_openai {
        let msg = "python3 with the `openai` package is needed (pip install openai)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
        return;
    }
    for script in [
        "test_sdk.py",
        "test_responses_sdk.py",
        "test_replay_sdk.py",
        "test_replay_responses_sdk.py",
    ] {
        let out = Command::new("python3")
            .arg(format!(
                "{}/tests/python/{script}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .env("AOAI_BIN", env!("CARGO_BIN_EXE_aoai"))
            .output()
            .expect("python3 runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{script} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
        assert!(stdout.contains(" passed, 0 failed"), "{script}: {stdout}");
    }
}
