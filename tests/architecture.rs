//! The shape of the code (docs/architecture.md), checked on the source so that breaking it
//! fails the build:
//!
//! - layers: `wire`, `domain`, `tokens` (pure) → `config` → `azure` | `sim` → `engine` →
//!   `cli` → `headless` | `tui`; a module imports only from layers below it, and the
//!   siblings (`azure`/`sim`, `headless`/`tui`) never import each other;
//! - the pure core knows no tokio, network, UI or file I/O; the engine knows no UI and no
//!   clap; only `tui` knows ratatui or crossterm; console components never import a client,
//!   the simulator, the engine's runners or do I/O;
//! - the console's `App` routes keys and messages: it builds no request and writes no file;
//! - no two files import each other, directly or round a circle;
//! - no file in `src/` is over 800 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Code lines of a file with comments and the unit-test module dropped.
fn code_lines(f: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(f).unwrap();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("").to_string();
        if !code.trim().is_empty() {
            out.push((i + 1, code));
        }
    }
    out
}

/// Code lines of every file under `src/<dir>` (or `src/<dir>.rs`).
fn code_of(dir: &str) -> Vec<(PathBuf, usize, String)> {
    // `src/<dir>.rs` and everything under `src/<dir>/`.
    let root = src().join(dir);
    let mut files = if root.is_dir() {
        rust_files(&root)
    } else {
        vec![]
    };
    if root.with_extension("rs").is_file() {
        files.push(root.with_extension("rs"));
    }
    files
        .into_iter()
        .flat_map(|f| {
            code_lines(&f)
                .into_iter()
                .map(move |(n, c)| (f.clone(), n, c))
        })
        .collect()
}

fn forbid(dir: &str, needles: &[&str]) -> Vec<String> {
    code_of(dir)
        .into_iter()
        .filter_map(|(f, n, code)| {
            needles
                .iter()
                .find(|w| code.contains(*w))
                .map(|w| format!("{}:{n}: `{w}` in {dir}/", f.display()))
        })
        .collect()
}

/// The module path of a file: `src/tui/components/chat.rs` → `tui::components::chat`.
fn module_of(f: &Path) -> Vec<String> {
    let rel = f.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Every `crate::a::b`, `super::x` and `self::y` path in a line, `{a, b::c}` groups expanded
/// one level, made absolute.
fn paths_in(module: &[String], is_mod_file: bool, code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let start_ok = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let base = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|p| start_ok && rest.starts_with(p));
        let Some(base) = base else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let mut path: Vec<String> = match base {
            "crate::" => vec![],
            // `super` of `a/b.rs` (module a::b) and of `a/b/mod.rs` (also a::b) is `a`.
            "super::" => module[..module.len().saturating_sub(1)].to_vec(),
            _ => module.to_vec(),
        };
        let _ = is_mod_file;
        let mut j = i + base.len();
        loop {
            let seg: String = code[j..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if seg.is_empty() {
                break;
            }
            j += seg.len();
            if seg == "super" {
                path.pop();
            } else {
                path.push(seg);
            }
            if code[j..].starts_with("::") {
                j += 2;
            } else {
                break;
            }
        }
        if code[j..].starts_with('{') {
            let end = code[j..].find('}').map_or(code.len(), |e| j + e);
            for item in code[j + 1..end].split(',') {
                let item = item.trim().split(' ').next().unwrap_or("");
                if !item.is_empty() && item != "self" {
                    let mut p = path.clone();
                    p.extend(item.split("::").map(str::to_string));
                    out.push(p);
                }
            }
            j = end;
        }
        out.push(path);
        i = j.max(i + 1);
    }
    out
}

/// File-level import graph: module → modules (files) it names.
fn import_graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let files = rust_files(&src());
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f)).collect();
    let resolve = |p: &[String]| -> Option<Vec<String>> {
        (1..=p.len())
            .rev()
            .map(|n| p[..n].to_vec())
            .find(|m| modules.contains(m))
    };
    let mut g = BTreeMap::new();
    for f in &files {
        let m = module_of(f);
        let is_mod = f.file_name().is_some_and(|n| n == "mod.rs");
        let mut to = BTreeSet::new();
        for (_, code) in code_lines(f) {
            for p in paths_in(&m, is_mod, &code) {
                if let Some(t) = resolve(&p)
                    && t != m
                {
                    to.insert(t);
                }
            }
        }
        g.insert(m, to);
    }
    g
}

/// Strongly connected components with more than one module (Tarjan).
fn circles(g: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on: BTreeSet<&'a Vec<String>>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a Vec<String>) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            let Some((w, _)) = t.g.get_key_value(w) else {
                continue;
            };
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                scc.push(w.join("::"));
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: vec![],
        on: BTreeSet::new(),
        out: vec![],
    };
    for v in g.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// The layer of a top-level module; a module may import only from lower layers.
fn layer(top: &str) -> Option<u8> {
    Some(match top {
        "wire" | "domain" | "tokens" => 0,
        "config" => 1,
        "azure" | "sim" => 2,
        "engine" => 3,
        "cli" => 4,
        "headless" | "tui" => 5,
        _ => return None,
    })
}

/// Pure-layer imports that are allowed within layer 0.
fn pure_ok(from: &str, to: &str) -> bool {
    matches!((from, to), ("domain" | "tokens", "wire"))
}

#[test]
fn layers_point_downward_only() {
    let mut bad = Vec::new();
    for (from, to) in import_graph() {
        let (Some(f), Some(lf)) = (from.first(), from.first().and_then(|t| layer(t))) else {
            continue;
        };
        for t in to {
            let top = &t[0];
            if top == f {
                continue;
            }
            let Some(lt) = layer(top) else { continue };
            let ok = lt < lf || (lf == 0 && pure_ok(f, top));
            if !ok {
                bad.push(format!("{} imports {}", from.join("::"), t.join("::")));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "imports pointing up or sideways:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_import_circles() {
    let c = circles(&import_graph());
    assert!(
        c.is_empty(),
        "modules that import each other:\n{}",
        c.iter()
            .map(|s| s.join(" ↔ "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_scanner_sees_imports_and_circles() {
    // The checks above could pass by seeing nothing: they must see today's edges.
    let g = import_graph();
    let m = |s: &str| s.split("::").map(str::to_string).collect::<Vec<_>>();
    assert!(g[&m("tui::app")].contains(&m("tui::components::chat")));
    assert!(g[&m("headless::bench")].contains(&m("engine::bench")));
    let mut fake = g.clone();
    fake.get_mut(&m("wire")).unwrap().insert(m("domain::call"));
    fake.get_mut(&m("domain::call")).unwrap().insert(m("wire"));
    assert!(!circles(&fake).is_empty());
    assert_eq!(
        paths_in(
            &m("tui::components::chat"),
            false,
            "use super::{a, b::c}; x(crate::domain::num::fixed)"
        ),
        vec![
            m("tui::components::a"),
            m("tui::components::b::c"),
            m("tui::components"),
            m("domain::num::fixed"),
        ]
    );
}

#[test]
fn the_pure_core_and_the_engine_know_no_ui() {
    let mut bad = Vec::new();
    let impure = [
        "tokio",
        "reqwest",
        "hyper",
        "ratatui",
        "crossterm",
        "axum",
        "clap",
        "azure_core",
        "azure_identity",
        "std::fs",
        "std::net",
    ];
    for dir in ["domain", "wire", "tokens"] {
        bad.extend(forbid(dir, &impure));
    }
    bad.extend(forbid("engine", &["ratatui", "crossterm", "clap"]));
    for dir in ["azure", "sim", "config", "headless", "cli"] {
        bad.extend(forbid(dir, &["ratatui", "crossterm"]));
    }
    assert!(bad.is_empty(), "layering broken:\n{}", bad.join("\n"));
    assert!(!forbid("tui", &["ratatui"]).is_empty());
}

#[test]
fn console_components_do_no_io_and_build_no_clients() {
    let bad = forbid(
        "tui/components",
        &[
            "crate::azure",
            "crate::sim",
            "crate::engine::connect",
            "crate::engine::bench::run",
            "crate::engine::record::Recorder",
            "tokio::",
            "reqwest",
            "std::fs",
            "std::net",
            "std::process",
        ],
    );
    assert!(
        bad.is_empty(),
        "a component reaching out:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_app_routes_and_builds_no_requests() {
    // Requests are built by the components that own their fields (the chat's, the compare
    // set's); recording is the recording module's; the app routes keys and messages.
    let bad = forbid(
        "tui/app",
        &[
            "CallSpec",
            "ChatRequest",
            "ChatMessage",
            "Recorder",
            "spawn_writer",
        ],
    );
    assert!(
        bad.is_empty(),
        "the app doing a component's work:\n{}",
        bad.join("\n")
    );
    assert!(
        !forbid("tui/app", &["Screen"]).is_empty(),
        "the scanner reads tui/app.rs"
    );
}

#[test]
fn no_source_file_over_800_lines() {
    let long: Vec<String> = rust_files(&src())
        .into_iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(&f).unwrap().lines().count();
            (n > 800).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these:\n{}", long.join("\n"));
}
