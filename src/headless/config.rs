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
