//! `aoai config check`: every file in tests/fixtures/invalid_configs fails with exactly the
//! stderr in its `.stderr` twin (the key at fault is named); a good file passes.

use std::path::Path;

use assert_cmd::Command;

fn aoai() -> Command {
    let mut c = Command::cargo_bin("aoai").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("AOAI_CONFIG")
        .env_remove("AOAI_PROFILE")
        .timeout(std::time::Duration::from_secs(20));
    c
}

#[test]
fn each_invalid_config_names_its_key() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid_configs");
    let mut n = 0;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
    {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let rel = format!("tests/fixtures/invalid_configs/{name}");
        let expected = std::fs::read_to_string(path.with_extension("stderr"))
            .unwrap_or_else(|_| panic!("{name} has no .stderr twin"));
        let out = aoai().args(["config", "check", &rel]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), expected, "{name}");
        assert!(out.stdout.is_empty(), "{name}");
        n += 1;
    }
    assert!(n >= 10, "only {n} fixtures");
}

#[test]
fn a_good_config_passes_and_profiles_select() {
    let dir = std::env::temp_dir().join(format!("aoai-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    std::fs::write(
        &file,
        r#"default_profile = "sim"
[profiles.sim]
simulator = true
deployment = "gpt-4o-mini"
[profiles.jump]
endpoint = "https://my-res.openai.azure.com"
subscriptions = ["00000000-0000-0000-0000-000000000000"]
auth = { type = "entra", credential = "managed-identity" }
"#,
    )
    .unwrap();
    let out = aoai()
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{}: ok, 2 profiles (jump, sim), default `sim`\n",
            file.display()
        )
    );
    // AOAI_CONFIG finds it; the default profile is the simulator.
    let out = aoai()
        .env("AOAI_CONFIG", &file)
        .env_remove("AZURE_OPENAI_ENDPOINT")
        .args(["deployments", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["accounts"][0]["name"], "aoai-sim");
    // An unknown --profile is an error naming the known ones.
    let out = aoai()
        .args(["deployments", "--profile", "nope", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no profile `nope`") && err.contains("jump, sim"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_file_is_said_plainly_with_how_to_create_one() {
    let dir = std::env::temp_dir().join(format!("aoai-cfg-missing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The implicit path (XDG config dir) and an explicit one.
    let implicit = dir.join("aoai").join("config.toml");
    let out = aoai()
        .env("XDG_CONFIG_HOME", &dir)
        .args(["config", "check"])
        .output()
        .unwrap();
    let explicit = dir.join("nope.toml");
    let out2 = aoai()
        .args(["config", "check"])
        .arg(&explicit)
        .output()
        .unwrap();
    for (out, path) in [(out, implicit), (out2, explicit)] {
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with(&format!(
                "aoai config: there is no config file at {}",
                path.display()
            )),
            "{err}"
        );
        assert!(!err.contains("entity not found"), "{err}");
        // The example it gives is itself a valid config.
        let example: String = err
            .lines()
            .skip_while(|l| !l.starts_with("default_profile"))
            .take_while(|l| !l.starts_with("(a profile"))
            .map(|l| format!("{l}\n"))
            .collect();
        let file = dir.join("example.toml");
        std::fs::write(&file, &example).unwrap();
        let ok = aoai()
            .args(["config", "check"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{example}\n{}",
            String::from_utf8_lossy(&ok.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_profile_without_endpoint_is_refused_when_used() {
    // Not only by `config check`: using the profile is the same error (it used to fall back to
    // the simulator silently).
    let dir = std::env::temp_dir().join(format!("aoai-cfg-noep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    std::fs::write(&file, "[profiles.prod]\ndeployment = \"gpt-4o\"\n").unwrap();
    let out = aoai()
        .env_remove("AZURE_OPENAI_ENDPOINT")
        .args(["chat", "--profile", "prod", "--config"])
        .arg(&file)
        .arg("hi")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("key `profiles.prod.endpoint`: missing"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing was answered");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_profile_chooses_the_budget_field_and_the_flag_overrides_it() {
    let dir = std::env::temp_dir().join(format!("aoai-cfg-field-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    std::fs::write(
        &file,
        "[profiles.old]\nsimulator = true\nmax_tokens_field = \"max_tokens\"\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let out = aoai()
            .env_remove("AZURE_OPENAI_ENDPOINT")
            .args(["chat", "--profile", "old", "--config"])
            .arg(&file)
            .args(["-d", "o4-mini", "--max-tokens", "20", "--json"])
            .args(extra)
            .arg("hi")
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["status"].clone()
    };
    // The simulator, like Azure, refuses `max_tokens` on a reasoning model: the profile's
    // field was sent.
    assert_eq!(run(&[]), 400);
    assert_eq!(run(&["--max-tokens-field", "max_completion_tokens"]), 200);
    let _ = std::fs::remove_dir_all(&dir);
}
