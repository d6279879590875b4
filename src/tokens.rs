//! Token counting with the real o200k tokenizer (tiktoken-rs), shared by the simulator (to
//! bill exactly what the service would) and the client (prompt-shape estimates). Pure; the
//! vocabulary loads once, lazily.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

use crate::wire::ChatMessage;

fn bpe() -> &'static CoreBPE {
    static BPE: OnceLock<CoreBPE> = OnceLock::new();
    // The o200k vocabulary ships inside the tiktoken-rs crate; failing to build it is a
    // packaging bug, not an input error.
    BPE.get_or_init(|| tiktoken_rs::o200k_base().expect("bundled o200k_base vocabulary loads"))
}

/// Loads the vocabulary now (it takes a few hundred ms) instead of on the first request.
pub fn warm_up() {
    let _ = bpe();
}

/// Token ids of `text` (ordinary text: special tokens are not recognised).
pub fn encode(text: &str) -> Vec<u32> {
    bpe().encode_ordinary(text)
}

pub fn count(text: &str) -> usize {
    bpe().encode_ordinary(text).len()
}

/// Tokens of `text` in cl100k_base, the vocabulary of the embeddings models
/// (text-embedding-3-*, ada-002): what Azure bills as an embeddings call's `prompt_tokens`.
pub fn count_cl100k(text: &str) -> usize {
    static BPE: OnceLock<CoreBPE> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::cl100k_base().expect("bundled cl100k_base vocabulary loads"))
        .encode_ordinary(text)
        .len()
}

/// A cut position `p` in `text` that is always a boundary of the o200k pre-split: an ASCII
/// letter followed by an ASCII space. A pre-split piece that contains a letter ends with a
/// letter, a mark or a contraction (`'s`…), never with a space, and the pattern has no
/// look-behind and its only look-ahead (`\s+(?!\S)`) cannot end on a letter; so
/// `encode(text) == encode(&text[..p]) ++ encode(&text[p..])`.
fn boundary_at_or_after(text: &str, from: usize) -> Option<usize> {
    let b = text.as_bytes();
    (from.max(1)..b.len()).find(|&p| b[p] == b' ' && b[p - 1].is_ascii_alphabetic())
}

/// Texts at least this long are counted as a short head plus a cached tail.
const SPLIT_COUNT_MIN: usize = 160;
/// Where the tail starts looking for a boundary: past the part that usually varies
/// (a per-request prefix), so identical bodies behind different prefixes share a tail.
const SPLIT_COUNT_AT: usize = 64;
/// Bound on remembered tails (the cache is cleared when full).
const TAIL_CACHE_MAX: usize = 256;

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `count(text)`, exactly, with the token count of a long text's tail remembered (per
/// thread, bounded, keyed by the tail's full text): prompts that share a long body behind a
/// short varying prefix only tokenize the prefix part.
pub fn count_cached(text: &str) -> usize {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static TAILS: RefCell<HashMap<u64, (Box<str>, usize)>> = RefCell::new(HashMap::new());
    }
    if text.len() < SPLIT_COUNT_MIN {
        return count(text);
    }
    let Some(p) = boundary_at_or_after(text, SPLIT_COUNT_AT) else {
        return count(text);
    };
    let (head, tail) = text.split_at(p);
    let key = fnv1a(tail.as_bytes());
    let hit = TAILS.with(|c| {
        c.borrow()
            .get(&key)
            .and_then(|(t, n)| (**t == *tail).then_some(*n))
    });
    let tail_n = match hit {
        Some(n) => n,
        None => {
            let n = count(tail);
            TAILS.with(|c| {
                let mut c = c.borrow_mut();
                if c.len() >= TAIL_CACHE_MAX {
                    c.clear();
                }
                c.insert(key, (tail.into(), n));
            });
            n
        }
    };
    count(head) + tail_n
}

/// The first `max` pieces of `split(text)`, and whether `split(text)` has more than `max`.
/// Only a prefix of the text is tokenized when that is enough (cut at a pre-split boundary,
/// so the pieces are exactly those of the whole text).
pub fn split_first(text: &str, max: usize) -> (Vec<String>, bool) {
    // ~8 bytes per token is generous for prose; grow if not.
    let mut guess = max.saturating_mul(8).max(32);
    while guess < text.len() {
        let Some(p) = boundary_at_or_after(text, guess) else {
            break;
        };
        let mut pieces = split(&text[..p]);
        if pieces.len() > max {
            pieces.truncate(max);
            return (pieces, true);
        }
        guess = guess.saturating_mul(2);
    }
    let mut pieces = split(text);
    let more = pieces.len() > max;
    pieces.truncate(max);
    (pieces, more)
}

/// Splits `text` into the pieces one token each decodes to, as a service streams them.
/// Pieces that are not valid UTF-8 on their own are merged with the next piece.
pub fn split(text: &str) -> Vec<String> {
    let ids = bpe().encode_ordinary(text);
    let mut out = Vec::with_capacity(ids.len());
    let mut pending: Vec<u8> = Vec::new();
    for id in ids {
        if let Ok(bytes) = bpe().decode_bytes(&[id]) {
            pending.extend_from_slice(&bytes);
        }
        if let Ok(s) = std::str::from_utf8(&pending) {
            out.push(s.to_string());
            pending.clear();
        }
    }
    if !pending.is_empty() {
        out.push(String::from_utf8_lossy(&pending).into_owned());
    }
    out
}

/// Per-message overhead of the chat format (OpenAI cookbook "counting tokens for chat
/// completions" for gpt-4o-family models): 3 tokens per message, 1 per `name`, 3 priming.
pub const TOKENS_PER_MESSAGE: usize = 3;
pub const TOKENS_PER_NAME: usize = 1;
pub const REPLY_PRIMING: usize = 3;

/// Prompt tokens of one message as billed (content + role + framing).
pub fn count_message(m: &ChatMessage) -> usize {
    let role = match m.role.as_str() {
        // Each of these is one o200k token (checked in the tests).
        "user" | "system" | "assistant" | "developer" | "tool" => 1,
        other => count(other),
    };
    let content = match &m.content {
        serde_json::Value::String(s) => count_cached(s),
        _ => count_cached(&m.text()),
    };
    let mut n = TOKENS_PER_MESSAGE + role + content;
    if let Some(name) = &m.name {
        n += TOKENS_PER_NAME + count(name);
    }
    if let Some(tc) = &m.tool_calls {
        n += count(&tc.to_string());
    }
    n
}

/// Prompt tokens of a whole request's messages, as `usage.prompt_tokens` reports them.
pub fn count_messages(messages: &[ChatMessage]) -> usize {
    messages.iter().map(count_message).sum::<usize>() + REPLY_PRIMING
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_with_o200k() {
        // "hello world" is two o200k tokens.
        assert_eq!(count("hello world"), 2);
        assert_eq!(split("hello world"), vec!["hello", " world"]);
    }

    #[test]
    fn split_rejoins_to_the_text() {
        let t = "Grüße, 世界! ```rust\nfn main() {}\n```";
        assert_eq!(split(t).concat(), t);
    }

    #[test]
    fn role_names_are_one_token() {
        for r in ["user", "system", "assistant", "developer", "tool"] {
            assert_eq!(count(r), 1, "{r}");
        }
    }

    fn sample_texts() -> Vec<String> {
        let mut out = Vec::new();
        let bits = [
            " river",
            "Hello",
            " world",
            "!",
            "\n\n",
            "  ",
            "## Heading",
            " 12345",
            "don't",
            " Grüße",
            " 世界",
            "```rust\n",
            "\t",
            " a",
            "x",
            "--",
            " ",
            "\r\n",
            "'s",
            "é",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..400 {
            let mut t = String::new();
            let n = 20 + (x % 120) as usize;
            for _ in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                t.push_str(bits[(x % bits.len() as u64) as usize]);
            }
            out.push(t);
        }
        out
    }

    #[test]
    fn cached_count_equals_count() {
        let texts = sample_texts();
        for _ in 0..2 {
            for t in &texts {
                assert_eq!(count_cached(t), count(t), "{t:?}");
                let shared = format!(" stone{t}");
                assert_eq!(count_cached(&shared), count(&shared), "{shared:?}");
            }
        }
    }

    #[test]
    fn split_first_equals_split_prefix() {
        for t in sample_texts() {
            let all = split(&t);
            for max in [0, 1, 5, 16, 40, 1000] {
                let (p, more) = split_first(&t, max);
                assert_eq!(p, all[..all.len().min(max)], "{t:?} {max}");
                assert_eq!(more, all.len() > max);
            }
        }
    }

    #[test]
    fn message_framing() {
        let msgs = vec![
            ChatMessage::new("system", "You are terse."),
            ChatMessage::new("user", "hi"),
        ];
        let expect =
            (3 + count("system") + count("You are terse.")) + (3 + count("user") + count("hi")) + 3;
        assert_eq!(count_messages(&msgs), expect);
    }
}
