//! Terminal safety: refuse a non-TTY, enter raw mode + alternate screen behind a guard that
//! restores on drop (quit, error) and from a chained panic hook; suspend/resume around
//! `$EDITOR`; OSC 52 clipboard.

use std::io::{self, IsTerminal, Stdout, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;

use super::backend::ConsoleBackend;

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error(
        "the console needs a terminal, but standard {0} is not one. For scripts and pipes use `aoai chat \"your message\"` (add --json for one JSON object per call)"
    )]
    NotATty(&'static str),
    /// Not a `source`: the message already carries it, and `{:#}` would print it twice.
    #[error("could not set up the terminal: {0}")]
    Setup(io::Error),
}

impl From<io::Error> for TerminalError {
    fn from(e: io::Error) -> Self {
        TerminalError::Setup(e)
    }
}

/// Fails unless stdin and stdout are terminals.
pub fn ensure_tty() -> Result<(), TerminalError> {
    if !io::stdout().is_terminal() {
        return Err(TerminalError::NotATty("output"));
    }
    if !io::stdin().is_terminal() {
        return Err(TerminalError::NotATty("input"));
    }
    Ok(())
}

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Leaves raw mode and the alternate screen. Safe to call more than once, from any thread.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(
            io::stdout(),
            DisableBracketedPaste,
            LeaveAlternateScreen,
            crossterm::cursor::Show
        );
        let _ = io::stdout().flush();
    }
}

/// Re-enters raw mode and the alternate screen after [`restore`] (e.g. after `$EDITOR`).
pub fn reenter() -> io::Result<()> {
    enter()
}

fn enter() -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableBracketedPaste,
        crossterm::cursor::Hide
    )?;
    Ok(())
}

/// Restores the terminal before the previous panic hook prints the message.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// The console's terminal over any writer: the backend never queries the cursor position,
/// so a terminal that does not answer `ESC [ 6 n` still starts (see [`super::backend`]).
pub fn open<W: Write>(backend: ConsoleBackend<W>) -> io::Result<Terminal<ConsoleBackend<W>>> {
    let mut t = Terminal::new(backend)?;
    t.clear()?;
    Ok(t)
}

/// Owns the real terminal; restores it when dropped.
pub struct TerminalGuard {
    pub terminal: Terminal<ConsoleBackend<Stdout>>,
}

impl TerminalGuard {
    pub fn new() -> Result<Self, TerminalError> {
        ensure_tty()?;
        install_panic_hook();
        let guard = || -> io::Result<Terminal<ConsoleBackend<Stdout>>> {
            enter()?;
            open(ConsoleBackend::new(io::stdout()))
        };
        match guard() {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(e.into())
            }
        }
    }

    /// Gives the terminal back to the shell (for `$EDITOR`).
    pub fn suspend(&mut self) {
        restore();
    }

    pub fn resume(&mut self) -> io::Result<()> {
        enter()?;
        self.terminal.clear()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Copies text to the system clipboard with OSC 52 (works over SSH in most terminals).
pub fn copy_osc52(text: &str) -> io::Result<()> {
    execute!(
        io::stdout(),
        crossterm::clipboard::CopyToClipboard::to_clipboard_from(text.as_bytes())
    )
}

static EDIT_SEQ: AtomicU64 = AtomicU64::new(0);

/// Why an `$EDITOR` round trip left the text as it was.
#[derive(Debug, thiserror::Error)]
pub enum EditorError {
    #[error("writing {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("reading {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("`{editor}` exited with {status}; prompt unchanged")]
    Exited {
        editor: String,
        status: std::process::ExitStatus,
    },
    #[error("could not run `{editor}`: {source}")]
    Spawn { editor: String, source: io::Error },
    #[error("the terminal could not be restored after the editor: {0}")]
    Restore(io::Error),
}

/// Runs `$VISUAL` / `$EDITOR` (default `vi`) on a temporary file holding `text`; returns the
/// edited text. The caller suspends the terminal (and pauses the input reader) around it.
pub fn run_editor(text: &str) -> Result<String, EditorError> {
    let editor = std::env::var("VISUAL")
        .ok()
        .or_else(|| std::env::var("EDITOR").ok())
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string());
    let seq = EDIT_SEQ.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("aoai-prompt-{}-{seq}.md", std::process::id()));
    // In the shared temp dir: the prompt is readable by its owner only.
    let written = {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
    };
    if let Err(source) = written {
        return Err(EditorError::Write { path, source });
    }
    let mut parts = editor.split_whitespace();
    let program = parts.next().unwrap_or("vi");
    let status = std::process::Command::new(program)
        .args(parts)
        .arg(&path)
        .status();
    let result = match status {
        Ok(s) if s.success() => {
            std::fs::read_to_string(&path).map_err(|source| EditorError::Read {
                path: path.clone(),
                source,
            })
        }
        Ok(status) => Err(EditorError::Exited { editor, status }),
        Err(source) => Err(EditorError::Spawn { editor, source }),
    };
    let _ = std::fs::remove_file(&path);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_that_never_answers_still_opens() {
        // A Vec is a terminal that answers nothing: opening must not wait for a reply.
        let t = open(ConsoleBackend::with_size(Vec::new(), 80, 24)).expect("opens");
        let out = String::from_utf8_lossy(t.backend().writer()).into_owned();
        assert!(!out.contains("\x1b[6n"), "{out:?}");
    }

    #[test]
    fn a_setup_error_is_printed_once() {
        let e = anyhow::Error::from(TerminalError::from(io::Error::other(
            "The cursor position could not be read within a normal duration",
        )));
        let shown = format!("{e:#}");
        assert_eq!(shown.matches("cursor position").count(), 1, "{shown}");
    }
}
