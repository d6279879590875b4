//! Token usage of one call: prompt, completion, cached (a part of prompt) and reasoning
//! (a part of completion) tokens.

use serde::{Deserialize, Serialize};

use crate::wire::WireUsage;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub total_tokens: u64,
}

impl From<&WireUsage> for Usage {
    fn from(w: &WireUsage) -> Self {
        let total = if w.total_tokens > 0 {
            w.total_tokens
        } else {
            w.prompt_tokens + w.completion_tokens
        };
        Usage {
            prompt_tokens: w.prompt_tokens,
            completion_tokens: w.completion_tokens,
            cached_tokens: w
                .prompt_tokens_details
                .as_ref()
                .map_or(0, |d| d.cached_tokens),
            reasoning_tokens: w
                .completion_tokens_details
                .as_ref()
                .map_or(0, |d| d.reasoning_tokens),
            total_tokens: total,
        }
    }
}

impl Usage {
    /// Prompt tokens billed at the full input price.
    pub fn uncached_prompt_tokens(&self) -> u64 {
        self.prompt_tokens.saturating_sub(self.cached_tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{CompletionTokensDetails, PromptTokensDetails};

    #[test]
    fn from_wire() {
        let w = WireUsage {
            completion_tokens: 34,
            completion_tokens_details: Some(CompletionTokensDetails {
                reasoning_tokens: 20,
                ..Default::default()
            }),
            prompt_tokens: 2048,
            prompt_tokens_details: Some(PromptTokensDetails {
                cached_tokens: 1024,
                audio_tokens: 0,
            }),
            total_tokens: 0,
        };
        let u = Usage::from(&w);
        assert_eq!(u.total_tokens, 2082);
        assert_eq!(u.cached_tokens, 1024);
        assert_eq!(u.reasoning_tokens, 20);
        assert_eq!(u.uncached_prompt_tokens(), 1024);
    }
}
