//! `aoai config check [FILE]` and `aoai config path`.

use std::process::ExitCode;

use crate::cli::{ConfigAction, ConfigArgs};
use crate::config::{self, ConfigFile};

pub fn run(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        ConfigAction::Path => {
            match config::config_path(None) {
                Some((p, _)) => println!("{}", p.display()),
                None => println!("(no config dir: set AOAI_CONFIG or pass --config)"),
            }
            Ok(ExitCode::SUCCESS)
        }
        ConfigAction::Check { file } => {
            let path = match file.or_else(|| config::config_path(None).map(|(p, _)| p)) {
                Some(p) => p,
                None => {
                    eprintln!("aoai config: no config file (pass FILE or set AOAI_CONFIG)");
                    return Ok(ExitCode::from(1));
                }
            };
            if !path.exists() {
                eprint!("{}", missing_file(&path));
                return Ok(ExitCode::from(1));
            }
            match ConfigFile::load(&path) {
                Ok(c) => {
                    let names = c.names();
                    println!(
                        "{}: ok, {} profile{}{}{}",
                        path.display(),
                        names.len(),
                        if names.len() == 1 { "" } else { "s" },
                        if names.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", names.join(", "))
                        },
                        c.default_profile
                            .as_deref()
                            .map_or(String::new(), |d| format!(", default `{d}`"))
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("aoai config: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// What `config check` says when there is no file: where it was looked for and how to make one.
pub fn missing_file(path: &std::path::Path) -> String {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or(String::new(), |d| format!("mkdir -p {} && ", d.display()));
    format!(
        "aoai config: there is no config file at {path} (none is needed: without one aoai uses \
AZURE_OPENAI_ENDPOINT / AZURE_OPENAI_API_KEY, else the embedded simulator).
To create one, write {path}, e.g. `{dir}$EDITOR {path}`, with at least:

default_profile = \"prod\"

[profiles.prod]
endpoint = \"https://my-resource.openai.azure.com\"
deployment = \"gpt-4o\"
auth = {{ type = \"key\", key_env = \"AZURE_OPENAI_API_KEY\" }}   # or {{ type = \"entra\" }}

(a profile needs `endpoint`, or `simulator = true`; every key is in docs/azure.md), then run `aoai config check` again.
",
        path = path.display(),
    )
}
