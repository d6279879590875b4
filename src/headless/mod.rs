//! Headless twins of the console's screens: one module per subcommand, text or `--json`
//! output. No ratatui here.

pub mod bench;
pub mod chat;
pub mod compare;
pub mod config;
pub mod deployments;
pub mod doctor;
pub mod embed;
pub mod plan;
pub mod probe;
pub mod proxy;
pub mod ptu;
pub mod quota;
pub mod replay;
pub mod shell;
pub mod sim;
pub mod table;

/// An error as printed on stderr: the chain of causes joined with `: `, each said once. A
/// cause whose text is already part of the message (an error that prints its source and
/// also returns it from `source()`, or a context that quotes the error it wraps) is left
/// out, so `the file is empty: the file is empty` cannot happen.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        let s = s.trim();
        if s.is_empty() || out.contains(s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct Wraps {
        path: String,
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn each_cause_is_said_once() {
        let inner = std::io::Error::other("the file is empty");
        let e = anyhow::Error::new(Wraps {
            path: "s.jsonl".into(),
            source: inner,
        });
        assert_eq!(error_text(&e), "s.jsonl: the file is empty");
        let e = anyhow::anyhow!("no such file").context("reading price table p.toml");
        assert_eq!(error_text(&e), "reading price table p.toml: no such file");
        let e = anyhow::anyhow!("bad version").context("api-version: bad version");
        assert_eq!(error_text(&e), "api-version: bad version");
    }
}
