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
    let mut n = TOKENS_PER_MESSAGE + count(&m.role) + count(&m.text());
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
