//! Reading a response body as what it is. A stream is recognised by its first bytes, not by
//! its `content-type` (recorders, gateways and other simulators drop or change the header),
//! and the event stream is normalised before `eventsource-stream` parses it: servers we did
//! not write end with a bare `[DONE]` line, with no `data: ` prefix and no final newline.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// A response body as a stream of chunks.
pub(crate) type Body = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// What the first bytes of a body look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// An SSE field line (`data:`, `event:`, `id:`, `retry:`), a comment (`:`), or a bare
    /// `[DONE]`.
    Sse,
    /// A JSON value.
    Json,
    /// Neither (HTML, text, too short to tell).
    Unknown,
}

/// Classifies the start of a body. Leading whitespace and a UTF-8 byte-order mark are skipped.
pub(crate) fn sniff(first: &[u8]) -> Sniffed {
    let b = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let b = &b[start..];
    match b.first() {
        Some(b'{') | Some(b'[') if !b.starts_with(b"[DONE]") => Sniffed::Json,
        Some(b':') => Sniffed::Sse,
        Some(_) => {
            const FIELDS: [&[u8]; 5] = [b"data:", b"event:", b"id:", b"retry:", b"[DONE]"];
            if FIELDS.iter().any(|f| b.starts_with(f)) {
                Sniffed::Sse
            } else {
                Sniffed::Unknown
            }
        }
        None => Sniffed::Unknown,
    }
}

const DONE: &[u8] = b"[DONE]";

/// The event stream `eventsource-stream` is given: each chunk cut after every blank line (see
/// [`split_after_blank_lines`]), a line that is exactly `[DONE]` rewritten as `data: [DONE]`,
/// and a blank line added at the end when the body did not end with one, so its last event is
/// dispatched rather than dropped.
pub(crate) fn normalized(body: Body) -> impl Stream<Item = Result<Bytes, reqwest::Error>> + Send {
    let state = Normalizer {
        body: Some(body),
        line_start: true,
        held: BytesMut::new(),
        tail: [0, 0],
    };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            match st.body.as_mut()?.next().await {
                Some(Ok(chunk)) => {
                    let out = st.push(chunk);
                    if !out.is_empty() {
                        return Some((Ok(out), st));
                    }
                }
                Some(Err(e)) => {
                    st.body = None;
                    return Some((Err(e), st));
                }
                None => {
                    st.body = None;
                    let out = st.finish();
                    if out.is_empty() {
                        return None;
                    }
                    return Some((Ok(out), st));
                }
            }
        }
    })
    .flat_map(|item| {
        let pieces: Vec<Result<Bytes, reqwest::Error>> = match item {
            Ok(b) => split_after_blank_lines(b).into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        futures_util::stream::iter(pieces)
    })
}

/// The events of a body that arrived in `reads`, parsed as the client parses a stream
/// ([`normalized`], then `eventsource-stream`), up to the first that does not parse, with its
/// error as text. Synchronous, since every read is already there: the fuzz targets and the
/// property tests check the client's reading of bytes with it, no server needed.
pub fn read_events<'a>(
    reads: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<eventsource_stream::Event>, Option<String>) {
    use eventsource_stream::Eventsource;
    use std::task::{Context, Poll, Waker};
    let reads: Vec<Result<Bytes, reqwest::Error>> = reads
        .into_iter()
        .map(|r| Ok(Bytes::copy_from_slice(r)))
        .collect();
    let body: Body = Box::pin(futures_util::stream::iter(reads));
    let mut events = Box::pin(normalized(body).eventsource());
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    loop {
        match events.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(Ok(ev))) => out.push(ev),
            Poll::Ready(Some(Err(e))) => return (out, Some(e.to_string())),
            Poll::Ready(None) => return (out, None),
            Poll::Pending => unreachable!("an in-memory body is never pending"),
        }
    }
}

struct Normalizer {
    body: Option<Body>,
    /// The next byte starts a line.
    line_start: bool,
    /// Bytes at the start of a line that may yet turn out to be a bare `[DONE]`.
    held: BytesMut,
    /// The last two bytes passed on (to tell whether the body ended with a blank line).
    tail: [u8; 2],
}

impl Normalizer {
    fn push(&mut self, bytes: Bytes) -> Bytes {
        if self.held.is_empty() && !self.needs_rewrite(&bytes) {
            // The common case: nothing to rewrite, pass the chunk on without a copy.
            if let Some(&last) = bytes.last() {
                self.line_start = last == b'\n';
            }
            self.note_tail(&bytes);
            return bytes;
        }
        let chunk = &bytes[..];
        let mut out = BytesMut::with_capacity(chunk.len() + self.held.len() + 8);
        let mut i = 0;
        while i < chunk.len() {
            if self.line_start || !self.held.is_empty() {
                // Compare what is held plus what comes with `[DONE]`.
                let need = DONE.len() - self.held.len();
                let take = need.min(chunk.len() - i);
                let candidate = &chunk[i..i + take];
                if DONE[self.held.len()..self.held.len() + take] == *candidate {
                    self.held.extend_from_slice(candidate);
                    i += take;
                    self.line_start = false;
                    if self.held.len() == DONE.len() {
                        // A whole `[DONE]` at a line start: the rest of the line decides. When
                        // the read ends here, it stays held until the next byte (or the end of
                        // the body) tells.
                        let Some(next) = chunk.get(i) else {
                            continue;
                        };
                        if *next == b'\n' || *next == b'\r' {
                            out.extend_from_slice(b"data: ");
                        }
                        out.extend_from_slice(&self.held);
                        self.held.clear();
                    }
                    continue;
                }
                out.extend_from_slice(&self.held);
                self.held.clear();
                self.line_start = false;
            }
            // Pass through up to and including the next newline.
            match memchr::memchr(b'\n', &chunk[i..]) {
                Some(off) => {
                    out.extend_from_slice(&chunk[i..=i + off]);
                    i += off + 1;
                    self.line_start = true;
                }
                None => {
                    out.extend_from_slice(&chunk[i..]);
                    i = chunk.len();
                }
            }
        }
        self.note_tail(&out);
        out.freeze()
    }

    /// Whether `chunk` (with nothing held) has a bare `[DONE]` at a line start, or ends with
    /// the beginning of one.
    fn needs_rewrite(&self, chunk: &[u8]) -> bool {
        let at_line_start = |p: usize| {
            if p == 0 {
                self.line_start
            } else {
                chunk[p - 1] == b'\n'
            }
        };
        if memchr::memmem::find_iter(chunk, DONE).any(at_line_start) {
            return true;
        }
        let last_line = memchr::memrchr(b'\n', chunk).map_or(0, |p| p + 1);
        let tail = &chunk[last_line..];
        !tail.is_empty() && at_line_start(last_line) && DONE.starts_with(tail)
    }

    fn finish(&mut self) -> Bytes {
        let mut out = BytesMut::new();
        if !self.held.is_empty() {
            if self.held[..] == *DONE {
                out.extend_from_slice(b"data: ");
            }
            out.extend_from_slice(&self.held);
            self.held.clear();
        }
        self.note_tail(&out);
        if self.tail != [b'\n', b'\n'] && self.tail != [0, 0] {
            out.extend_from_slice(if self.tail[1] == b'\n' {
                b"\n"
            } else {
                b"\n\n"
            });
        }
        out.freeze()
    }

    fn note_tail(&mut self, out: &[u8]) {
        match out.len() {
            0 => {}
            1 => self.tail = [self.tail[1], out[0]],
            n => self.tail = [out[n - 2], out[n - 1]],
        }
    }
}

/// The most bytes one event may hold (from the end of the last blank line): far above any
/// real one (a Responses `response.completed` carries the whole answer, well under a MiB),
/// and what the client buffers at most for an upstream that never ends its event.
pub(crate) const MAX_EVENT: usize = 16 << 20;

/// `body`, ended early once one event passes `max` bytes; `over` is then set, so the reader
/// can tell that end from the server's. The chunk that crosses the limit is not passed on.
pub(crate) fn capped(body: Body, max: usize, over: Arc<AtomicBool>) -> Body {
    let state = (body, EventSize::default());
    Box::pin(futures_util::stream::unfold(Some(state), move |st| {
        let over = over.clone();
        async move {
            let (mut body, mut size) = st?;
            let item = body.next().await?;
            if let Ok(chunk) = &item
                && size.add(chunk) > max
            {
                over.store(true, Ordering::SeqCst);
                return None;
            }
            Some((item, Some((body, size))))
        }
    }))
}

/// Bytes of the event being read: its finished lines plus the line under way (`\r` not
/// counted, so a `\r\n` blank line counts as blank).
#[derive(Default)]
struct EventSize {
    event: usize,
    line: usize,
}

impl EventSize {
    /// Takes in `chunk`; the size of the event under way after it.
    fn add(&mut self, chunk: &[u8]) -> usize {
        let visible = |s: &[u8]| s.len() - memchr::memchr_iter(b'\r', s).count();
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            self.line += visible(&chunk[start..nl]);
            if self.line == 0 {
                self.event = 0;
            } else {
                self.event += self.line + 1;
            }
            self.line = 0;
            start = nl + 1;
        }
        self.line += visible(&chunk[start..]);
        self.event + self.line
    }
}

/// Cuts a chunk after every blank line (`\n\n` or `\n\r\n`), so that `eventsource-stream`
/// sees about one event per chunk. Its parser copies the unparsed rest of its buffer after
/// every line, which is quadratic when a whole stream arrives in one read; any cut is valid
/// for an SSE parser (and a cut after `\n` never splits a UTF-8 character or a CRLF), so the
/// events are the same. The pieces share the chunk's memory.
pub(crate) fn split_after_blank_lines(mut b: Bytes) -> Vec<Bytes> {
    let mut out = Vec::new();
    loop {
        let s = &b[..];
        let mut cut = None;
        let mut i = 0;
        while let Some(off) = memchr::memchr(b'\n', &s[i..]) {
            let at = i + off;
            if s.get(at + 1) == Some(&b'\n') {
                cut = Some(at + 2);
                break;
            }
            if s.get(at + 1) == Some(&b'\r') && s.get(at + 2) == Some(&b'\n') {
                cut = Some(at + 3);
                break;
            }
            i = at + 1;
        }
        match cut {
            Some(c) if c < b.len() => out.push(b.split_to(c)),
            _ => {
                out.push(b);
                return out;
            }
        }
    }
}

/// How long the end of a body after `data: [DONE]` is awaited before the call returns,
/// and how long a background task then goes on waiting for it (see [`finish_body`]).
const DRAIN_INLINE: Duration = Duration::from_millis(100);
const DRAIN_AFTER_DONE: Duration = Duration::from_secs(2);

/// Reads what follows `data: [DONE]` (normally nothing but the end of the chunked body) so
/// that hyper sees the body end and returns the connection to the pool: a response dropped
/// before its last chunk has been read closes its connection, and under load the next
/// request then opens a new one — which, at thousands of calls per second, snowballed into
/// thousands of connects. The call's end time is taken at `[DONE]`, before this wait (which
/// is microseconds against a well-behaved server); a server that keeps the body open after
/// `[DONE]` costs at most [`DRAIN_INLINE`], the rest is awaited in the background.
pub(crate) async fn finish_body<S>(mut events: S)
where
    S: Stream + Unpin + Send + 'static,
{
    if tokio::time::timeout(DRAIN_INLINE, async {
        while events.next().await.is_some() {}
    })
    .await
    .is_err()
    {
        tokio::spawn(async move {
            let _ = tokio::time::timeout(DRAIN_AFTER_DONE, async {
                while events.next().await.is_some() {}
            })
            .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_measured_from_the_last_blank_line() {
        let mut s = EventSize::default();
        assert_eq!(s.add(b"data: ab\r\n"), 9);
        assert_eq!(s.add(b"data: c"), 16);
        assert_eq!(s.add(b"\r\n\r\ndata"), 4);
        assert_eq!(s.add(b": x\n\n"), 0);
    }

    fn run(chunks: &[&[u8]]) -> String {
        let owned: Vec<Result<Bytes, reqwest::Error>> = chunks
            .iter()
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let body: Body = Box::pin(futures_util::stream::iter(owned));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let parts: Vec<_> = normalized(body).collect().await;
            let bytes: Vec<u8> = parts
                .into_iter()
                .flat_map(|p| p.unwrap().to_vec())
                .collect();
            String::from_utf8(bytes).unwrap()
        })
    }

    /// Found by fuzzing (fuzz/regressions/sse_responses/done-then-more): a read that ended
    /// just after a bare `[DONE]` at a line start had it rewritten as an event, though the
    /// line went on in the next read (and so is no `[DONE]`).
    #[test]
    fn a_bare_done_cut_before_the_rest_of_its_line_is_not_an_event() {
        let whole = run(&[b"{\n[DONE]   }\n"]);
        assert_eq!(whole, "{\n[DONE]   }\n\n");
        assert_eq!(run(&[b"{\n[DONE]", b"   }\n"]), whole);
        assert_eq!(run(&[b"{\n[DO", b"NE]", b"   }\n"]), whole);
        // A bare `[DONE]` that does end its line is still one, however it is cut.
        assert_eq!(run(&[b"[DONE]", b"\n"]), "data: [DONE]\n\n");
        assert_eq!(run(&[b"[DONE]"]), "data: [DONE]\n\n");
    }

    #[test]
    fn blank_line_cuts_keep_every_byte() {
        let body = Bytes::from_static(b"data: a\n\ndata: b\r\n\r\n: c\n\ndata: [DONE]\n\ntail");
        let parts = split_after_blank_lines(body.clone());
        assert_eq!(parts.len(), 5);
        assert_eq!(parts[1], &b"data: b\r\n\r\n"[..]);
        assert_eq!(parts.concat(), body.to_vec());
        assert_eq!(split_after_blank_lines(Bytes::new()).len(), 1);
    }

    #[test]
    fn a_bare_done_without_newline_becomes_an_event() {
        assert_eq!(
            run(&[b"data: {}\n\n[DONE]"]),
            "data: {}\n\ndata: [DONE]\n\n"
        );
        // Split anywhere, even inside `[DONE]`.
        assert_eq!(
            run(&[b"data: {}\n\n[DO", b"NE]"]),
            "data: {}\n\ndata: [DONE]\n\n"
        );
        assert_eq!(
            run(&[b"data: {}\n\n[DONE]\n\n"]),
            "data: {}\n\ndata: [DONE]\n\n"
        );
    }

    #[test]
    fn well_formed_streams_pass_unchanged() {
        let s = "data: {\"a\":\"[DONE]\"}\n\ndata: [DONE]\n\n";
        assert_eq!(run(&[s.as_bytes()]), s);
        // `[DONE]` not alone on its line, or not at a line start, is left as it is.
        assert_eq!(run(&[b"x [DONE]\n\n"]), "x [DONE]\n\n");
        assert_eq!(run(&[b"[DONE]x\n\n"]), "[DONE]x\n\n");
        assert_eq!(run(&[b"[DO\n\n"]), "[DO\n\n");
    }

    #[test]
    fn a_missing_final_blank_line_is_added() {
        assert_eq!(run(&[b"data: {}"]), "data: {}\n\n");
        assert_eq!(run(&[b"data: {}\n"]), "data: {}\n\n");
        assert_eq!(run(&[]), "");
    }

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"data: {}"), Sniffed::Sse);
        assert_eq!(sniff(b"\xEF\xBB\xBF\n event: x"), Sniffed::Sse);
        assert_eq!(sniff(b": keep-alive\n\n"), Sniffed::Sse);
        assert_eq!(sniff(b"[DONE]"), Sniffed::Sse);
        assert_eq!(sniff(b"  {\"id\":1}"), Sniffed::Json);
        assert_eq!(sniff(b"<html>"), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Unknown);
    }
}
