//! Deterministic assistant-like markdown: short paragraphs, sometimes a heading, a bullet
//! list or a fenced code block. The same seed gives the same text.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::fleet::fnv;

const OPENERS: &[&str] = &[
    "Sure, here is a concise overview.",
    "Good question, and there are a few parts to it.",
    "Here is how I would approach this.",
    "Let me break this down step by step.",
    "Short answer: it depends on your workload, but the trade-offs are clear.",
];

const SENTENCES: &[&str] = &[
    "Start with the simplest configuration that works and measure before you tune anything.",
    "Latency is dominated by time to first token, so keep prompts short and reuse cached prefixes.",
    "Rate limits apply per deployment, which means splitting traffic across deployments raises the ceiling.",
    "Each request is estimated up front from the prompt and the maximum output you ask for.",
    "Streaming does not make generation faster, but it makes the first words appear much sooner.",
    "When a call is throttled, honour the retry-after header instead of retrying immediately.",
    "Provisioned throughput gives predictable latency once utilisation stays below one hundred percent.",
    "Logging the request id of every call makes support cases far easier to resolve.",
    "A smaller model is often good enough for classification, extraction and routing.",
    "Keep the system message stable so that the prompt cache can do its work.",
    "Set a sensible maximum token budget; an unbounded answer costs more and blocks quota.",
    "Measure tokens per second separately from end-to-end time, because they fail differently.",
    "Retries should back off exponentially and add jitter so clients do not synchronise.",
    "The content filter runs on both the prompt and the completion, in near real time.",
    "Structured outputs reduce parsing errors when another program consumes the answer.",
    "Regional deployments keep data in one geography, while global ones route for capacity.",
    "Batch jobs are cheaper when the results are not needed within the hour.",
    "Tool calls let the model ask your code for facts instead of guessing them.",
];

const HEADINGS: &[&str] = &[
    "## Overview",
    "## Key points",
    "### Recommended setup",
    "## Trade-offs",
    "### Next steps",
    "## Example",
];

const TERMS: &[&str] = &[
    "Throughput",
    "Latency",
    "Cost",
    "Reliability",
    "Quota",
    "Caching",
    "Observability",
    "Security",
];

const CODE: &[&str] = &[
    "```python\nfrom openai import AzureOpenAI\n\nclient = AzureOpenAI(api_version=\"2024-10-21\")\nresp = client.chat.completions.create(\n    model=\"gpt-4o\",\n    messages=[{\"role\": \"user\", \"content\": \"Hello\"}],\n)\nprint(resp.choices[0].message.content)\n```",
    "```bash\ncurl -s \"$ENDPOINT/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21\" \\\n  -H \"api-key: $KEY\" -H \"content-type: application/json\" \\\n  -d '{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}'\n```",
    "```rust\nlet delay = retry_after.unwrap_or(Duration::from_millis(500));\ntokio::time::sleep(delay).await;\n```",
    "```json\n{\"max_completion_tokens\": 512, \"stream\": true, \"stream_options\": {\"include_usage\": true}}\n```",
];

const CLOSERS: &[&str] = &[
    "Let me know if you want me to go deeper on any of these.",
    "I hope this helps; happy to refine it for your case.",
    "If you share more details, I can tailor the recommendation.",
];

/// A text generator seeded from the request seed (or a per-request value) and deployment.
pub fn rng_for(seed: u64, deployment: &str) -> SmallRng {
    SmallRng::seed_from_u64(seed ^ fnv(deployment.as_bytes()))
}

fn pick<'a>(rng: &mut SmallRng, items: &'a [&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// One of the generator's sentences (structured-output strings use them).
pub fn sentence(rng: &mut SmallRng) -> &'static str {
    SENTENCES[rng.random_range(0..SENTENCES.len())]
}

fn paragraph(rng: &mut SmallRng, out: &mut String) {
    let n = rng.random_range(1..=3);
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(pick(rng, SENTENCES));
    }
}

/// Markdown of roughly `target_tokens` tokens (estimated at 4 bytes per token).
pub fn generate(rng: &mut SmallRng, target_tokens: u64) -> String {
    let target_bytes = (target_tokens as usize).saturating_mul(4);
    let mut out = String::with_capacity(target_bytes + 256);
    out.push_str(pick(rng, OPENERS));
    let mut used_code = false;
    while out.len() < target_bytes {
        out.push_str("\n\n");
        let remaining = target_bytes - out.len().min(target_bytes);
        match rng.random_range(0..10) {
            0 | 1 if remaining > 200 => {
                out.push_str(pick(rng, HEADINGS));
                out.push_str("\n\n");
                paragraph(rng, &mut out);
            }
            2..=4 if remaining > 150 => {
                let items = rng.random_range(2..=4);
                for i in 0..items {
                    if i > 0 {
                        out.push('\n');
                    }
                    out.push_str("- **");
                    out.push_str(pick(rng, TERMS));
                    out.push_str("**: ");
                    out.push_str(pick(rng, SENTENCES));
                }
            }
            5 if !used_code && remaining > 250 => {
                used_code = true;
                out.push_str(pick(rng, CODE));
            }
            _ => paragraph(rng, &mut out),
        }
    }
    out.push_str("\n\n");
    out.push_str(pick(rng, CLOSERS));
    out
}

/// Natural length drawn from `[min, max]`.
pub fn target_length(rng: &mut SmallRng, range: [u64; 2]) -> u64 {
    rng.random_range(range[0]..=range[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens;

    #[test]
    fn same_seed_same_text() {
        let a = generate(&mut rng_for(42, "gpt-4o"), 200);
        let b = generate(&mut rng_for(42, "gpt-4o"), 200);
        let c = generate(&mut rng_for(43, "gpt-4o"), 200);
        let d = generate(&mut rng_for(42, "gpt-4o-mini"), 200);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn length_is_roughly_the_target() {
        for seed in 0..20 {
            let t = generate(&mut rng_for(seed, "x"), 150);
            let n = tokens::count(&t);
            assert!((60..=400).contains(&n), "seed {seed}: {n} tokens");
        }
    }

    #[test]
    fn looks_like_markdown() {
        let all: String = (0..30)
            .map(|s| generate(&mut rng_for(s, "x"), 300))
            .collect();
        assert!(all.contains("\n- **"));
        assert!(all.contains("\n## ") || all.contains("\n### "));
        assert!(all.contains("```"));
    }
}
