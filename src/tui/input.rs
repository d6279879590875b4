//! Terminal input on a thread of its own that can be paused with a handshake, so `$EDITOR`
//! gets stdin to itself.
//!
//! Crossterm's `EventStream` reads on a helper thread that only notices it was dropped after its
//! current poll returns; meanwhile it can take the editor's first keys or the terminal's
//! replies. Here the reader polls in short slices and [`ThreadInput::pause`] returns only once
//! the thread has stopped between two polls: from then until [`ThreadInput::resume`] nothing
//! in this process reads the terminal.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use crossterm::event::Event;
use futures_util::Stream;
use tokio::sync::mpsc;

use super::Input;

/// How long one poll of the terminal waits before the reader checks for a pause.
pub const POLL_SLICE: Duration = Duration::from_millis(40);

/// The longest [`ThreadInput::pause`] waits for the reader to stop (it stops within one slice).
const PAUSE_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// Asked to pause; the reader has not stopped yet.
    Pausing,
    /// The reader is parked: nothing reads the terminal.
    Paused,
    Stopped,
}

struct Control {
    state: Mutex<State>,
    changed: Condvar,
}

impl Control {
    fn set(&self, s: State) {
        if let Ok(mut g) = self.state.lock() {
            *g = s;
        }
        self.changed.notify_all();
    }
}

/// Reads one event, waiting at most the given time; `Ok(None)` when none came.
pub type Source = Box<dyn FnMut(Duration) -> io::Result<Option<Event>> + Send>;

/// The real terminal's events through crossterm's `poll` + `read`.
pub fn crossterm_source() -> Source {
    Box::new(|timeout| {
        if crossterm::event::poll(timeout)? {
            crossterm::event::read().map(Some)
        } else {
            Ok(None)
        }
    })
}

/// Terminal input read on a dedicated thread; pausable for `$EDITOR`.
pub struct ThreadInput {
    rx: mpsc::UnboundedReceiver<io::Result<Event>>,
    control: Arc<Control>,
}

impl ThreadInput {
    /// The real terminal.
    pub fn new() -> Self {
        Self::with_source(crossterm_source())
    }

    /// Any source of events (tests inject one).
    pub fn with_source(mut source: Source) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let control = Arc::new(Control {
            state: Mutex::new(State::Running),
            changed: Condvar::new(),
        });
        let c = control.clone();
        std::thread::Builder::new()
            .name("aoai-input".into())
            .spawn(move || {
                loop {
                    // Park while paused; tell the pauser once parked.
                    {
                        let Ok(mut g) = c.state.lock() else { return };
                        loop {
                            match *g {
                                State::Running => break,
                                State::Stopped => return,
                                State::Pausing | State::Paused => {
                                    if *g == State::Pausing {
                                        *g = State::Paused;
                                        c.changed.notify_all();
                                    }
                                    g = match c.changed.wait(g) {
                                        Ok(g) => g,
                                        Err(_) => return,
                                    };
                                }
                            }
                        }
                    }
                    match source(POLL_SLICE) {
                        Ok(Some(ev)) => {
                            if tx.send(Ok(ev)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
            })
            .ok();
        ThreadInput { rx, control }
    }

    /// Whether the reader is parked (nothing reads the terminal).
    pub fn is_paused(&self) -> bool {
        self.control
            .state
            .lock()
            .map(|g| *g == State::Paused)
            .unwrap_or(true)
    }
}

impl Default for ThreadInput {
    fn default() -> Self {
        Self::new()
    }
}

impl Stream for ThreadInput {
    type Item = io::Result<Event>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl Input for ThreadInput {
    /// Returns once the reader thread is parked between two polls (at most one slice later).
    fn pause(&mut self) {
        let Ok(mut g) = self.control.state.lock() else {
            return;
        };
        if *g != State::Running {
            return;
        }
        *g = State::Pausing;
        self.control.changed.notify_all();
        let deadline = std::time::Instant::now() + PAUSE_WAIT;
        while *g == State::Pausing {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            g = match self.control.changed.wait_timeout(g, left) {
                Ok((g, _)) => g,
                Err(_) => return,
            };
        }
    }

    fn resume(&mut self) {
        self.control.set(State::Running);
    }
}

impl Drop for ThreadInput {
    fn drop(&mut self) {
        self.control.set(State::Stopped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use futures_util::StreamExt;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    fn key(c: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[tokio::test]
    async fn a_paused_reader_reads_nothing_until_resumed() {
        // The fake terminal hands out keys from a queue; it records reads made while paused.
        let (keys_tx, keys_rx) = std::sync::mpsc::channel::<Event>();
        let paused = Arc::new(AtomicBool::new(false));
        let reads_while_paused = Arc::new(AtomicUsize::new(0));
        let (p, r) = (paused.clone(), reads_while_paused.clone());
        let source: Source = Box::new(move |timeout| {
            if p.load(Ordering::SeqCst) {
                r.fetch_add(1, Ordering::SeqCst);
            }
            Ok(keys_rx.recv_timeout(timeout).ok())
        });
        let mut input = ThreadInput::with_source(source);
        keys_tx.send(key('a')).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), input.next()).await;
        assert!(matches!(got, Ok(Some(Ok(e))) if e == key('a')));

        input.pause();
        assert!(input.is_paused(), "pause returns once the reader is parked");
        paused.store(true, Ordering::SeqCst);
        // Keys typed now belong to the editor: they stay in the queue.
        keys_tx.send(key('e')).unwrap();
        paused.store(false, Ordering::SeqCst);
        assert_eq!(reads_while_paused.load(Ordering::SeqCst), 0);

        input.resume();
        let got = tokio::time::timeout(Duration::from_secs(10), input.next()).await;
        assert!(matches!(got, Ok(Some(Ok(e))) if e == key('e')));
    }

    #[tokio::test]
    async fn a_read_error_ends_the_stream_with_the_error() {
        let source: Source = Box::new(|_| Err(io::Error::other("tty gone")));
        let mut input = ThreadInput::with_source(source);
        let got = tokio::time::timeout(Duration::from_secs(10), input.next()).await;
        assert!(matches!(got, Ok(Some(Err(_)))));
        let end = tokio::time::timeout(Duration::from_secs(10), input.next()).await;
        assert!(matches!(end, Ok(None)));
    }
}
