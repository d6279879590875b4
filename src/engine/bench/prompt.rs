//! Token-exact synthetic prompts, built once per shape and varied per request by a short
//! prefix so that neither the service's prompt cache nor ours distorts the figures.
//!
//! Every word used is a single o200k token with its leading space (" river"), and the
//! tokenizer's pre-split keeps such words apart, so token counts add up word by word: a
//! request's prompt is `prefix (4 words) + instruction + filler (k words)`, with `k` chosen
//! so `tokens::count_messages` gives exactly the asked size. The prefix is request `n`
//! written in base-K digits (K ≈ 200 words), first digit first, so consecutive requests
//! differ in their very first token (no shared prefix for a cache to match).

use crate::domain::params::MaxTokensField;
use crate::tokens;
use crate::wire::{ChatMessage, ChatRequest};

const WORDS: &str = "time year people way day man thing woman life child world school state \
family student group country problem hand part place case week company system program \
question work government number night point home water room mother area money story fact \
month lot right study book eye job word business issue side kind head house service friend \
father power hour game line end member law car city community name president team minute \
idea kid body information back parent face others level office door health person art war \
history party result change morning reason research girl guy moment air teacher force \
education foot boy age policy music market sense nation plan college interest death \
experience effect use class control care field development role effort rate heart drug \
show leader light voice wife police mind price report decision son view relationship town \
road arm difference value building action model season society tax director position \
player record paper space ground form event official matter center couple site project \
activity star table need court oil situation cost industry figure street image phone data \
picture practice piece land product doctor wall patient worker news test movie north love \
support technology step baby computer type attention film tree source organization hair \
window evidence population site river stone garden cloud bridge harbor forest island \
mountain valley ocean desert winter summer spring autumn silver golden copper iron glass";

/// How many digits the varying prefix has.
pub const PREFIX_WORDS: usize = 4;

/// The one-token words, deduplicated, in a fixed order.
fn vocabulary() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in WORDS.split_whitespace() {
        let t = format!(" {w}");
        if !out.contains(&t) && tokens::count(&t) == 1 {
            out.push(t);
        }
    }
    out
}

/// A shape's prompt, ready to be stamped per request.
#[derive(Debug, Clone)]
pub struct PromptTemplate {
    words: Vec<String>,
    /// Instruction + filler, after the prefix.
    body: String,
    /// Billed prompt tokens of every request (framing included).
    pub prompt_tokens: u64,
    pub max_tokens: u32,
    /// The body field the budget goes in (`max_completion_tokens` unless told otherwise).
    pub max_tokens_field: MaxTokensField,
}

impl PromptTemplate {
    /// Builds a template of `prompt_tokens` billed tokens (the chat framing of one user
    /// message counts too); below the smallest possible size, the smallest is used.
    pub fn new(prompt_tokens: u32, max_tokens: u32) -> Self {
        let words = vocabulary();
        let instruction = format!(" Write an essay of at least {max_tokens} words about:");
        let measure = |body: &str| -> usize {
            let prefix: String = words[..PREFIX_WORDS].concat();
            tokens::count_messages(&[ChatMessage::new("user", &format!("{prefix}{body}"))])
        };
        let with_instruction = measure(&instruction);
        let base = if (prompt_tokens as usize) < with_instruction {
            String::new()
        } else {
            instruction
        };
        let mut filler = (prompt_tokens as usize).saturating_sub(measure(&base));
        let mut body = String::new();
        // Additivity makes the first try exact; a few corrections guard against surprises.
        for _ in 0..4 {
            body = base.clone();
            for i in 0..filler {
                body.push_str(&words[(i * 7 + 3) % words.len()]);
            }
            let got = measure(&body);
            if got == prompt_tokens as usize || (got > prompt_tokens as usize && filler == 0) {
                break;
            }
            filler = (filler as isize + prompt_tokens as isize - got as isize).max(0) as usize;
        }
        let measured = measure(&body) as u64;
        PromptTemplate {
            words,
            body,
            prompt_tokens: measured,
            max_tokens,
            max_tokens_field: MaxTokensField::default(),
        }
    }

    /// The prefix of request `n`.
    pub fn prefix(&self, n: u64) -> String {
        let k = self.words.len() as u64;
        let mut out = String::with_capacity(PREFIX_WORDS * 10);
        let mut x = n;
        for _ in 0..PREFIX_WORDS {
            out.push_str(&self.words[(x % k) as usize]);
            x /= k;
        }
        out
    }

    /// The request body of request `n`.
    pub fn request(&self, n: u64) -> ChatRequest {
        let mut content = self.prefix(n);
        content.push_str(&self.body);
        let mut message = ChatMessage::new("user", "");
        message.content = serde_json::Value::String(content);
        let mut req = ChatRequest {
            messages: vec![message],
            ..Default::default()
        };
        self.max_tokens_field.apply(&mut req, Some(self.max_tokens));
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_token_exact_for_every_shape() {
        for (p, c) in [
            (500, 1000),
            (500, 500),
            (2000, 200),
            (7000, 150),
            (64, 16),
            (30, 8),
        ] {
            let t = PromptTemplate::new(p, c);
            assert_eq!(t.prompt_tokens, u64::from(p), "shape {p}/{c}");
            for n in [0, 1, 199, 123_456_789] {
                let r = t.request(n);
                assert_eq!(tokens::count_messages(&r.messages), p as usize, "n={n}");
                assert_eq!((r.max_tokens, r.max_completion_tokens), (None, Some(c)));
            }
        }
    }

    #[test]
    fn tiny_prompts_use_the_smallest_size() {
        let t = PromptTemplate::new(1, 5);
        assert!(
            t.prompt_tokens > 1 && t.prompt_tokens <= 20,
            "{}",
            t.prompt_tokens
        );
        assert_eq!(
            tokens::count_messages(&t.request(9).messages) as u64,
            t.prompt_tokens
        );
    }

    #[test]
    fn consecutive_requests_differ_in_their_first_token() {
        let t = PromptTemplate::new(2000, 10);
        let a = tokens::encode(&t.request(41).messages[0].text());
        let b = tokens::encode(&t.request(42).messages[0].text());
        assert_ne!(a[0], b[0]);
        assert_eq!(a[PREFIX_WORDS..], b[PREFIX_WORDS..]);
        assert!(t.words.len() >= 150, "vocabulary of {}", t.words.len());
    }
}
