//! Shared simulator state: the fleet at run time, ids, the request log, the prompt cache.
//! Locks are held only for short synchronous sections, never across an await.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use http::HeaderValue;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::config::{DeploymentConfig, SimConfig};
use super::faults::FaultKind;
use super::fleet::{self, DeploymentInfo};
use super::limits::{Limiter, TokenBucket};
use super::sse::FirstTokenSink;
use crate::tokens;
use crate::wire::ChatMessage;

const CACHE_CAPACITY: usize = 200_000;

/// One request as the simulator saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRequestLog {
    /// The `apim-request-id` header value sent back.
    pub request_id: String,
    pub method: String,
    pub path: String,
    pub deployment: Option<String>,
    pub status: u16,
    pub stream: bool,
    pub received_at: Instant,
    /// Just before the bytes of the first content delta were handed to hyper.
    pub first_token_at: Option<Instant>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Locks a mutex, recovering from poisoning (state stays usable after a panicking test).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One deployment at run time.
pub struct DeploymentRt {
    pub cfg: DeploymentConfig,
    pub info: DeploymentInfo,
    pub limiter: Mutex<Limiter>,
    cache: Mutex<HashSet<u64>>,
    pub fingerprint: String,
    pub session: HeaderValue,
    pub name_header: HeaderValue,
    pub faults: Vec<(FaultKind, f64)>,
}

impl DeploymentRt {
    fn new(cfg: DeploymentConfig) -> Self {
        let info = DeploymentInfo::of(&cfg);
        let faults = cfg
            .faults
            .iter()
            .filter_map(|(k, p)| k.parse::<FaultKind>().ok().map(|k| (k, *p)))
            .collect();
        Self {
            limiter: Mutex::new(Limiter::new(&info.limits)),
            cache: Mutex::new(HashSet::new()),
            fingerprint: fleet::system_fingerprint(&cfg),
            session: HeaderValue::from_str(&fleet::model_session(&cfg))
                .unwrap_or(HeaderValue::from_static("d000-0")),
            name_header: HeaderValue::from_str(&cfg.name)
                .unwrap_or(HeaderValue::from_static("unknown")),
            faults,
            info,
            cfg,
        }
    }

    /// `model` as the service reports it: `{model}-{version}`.
    pub fn model_version(&self) -> String {
        format!("{}-{}", self.cfg.model, self.cfg.version)
    }

    /// Cached prompt tokens: prefixes of >= 1024 tokens seen before on this deployment, in
    /// 128-token steps. Records this prompt's prefixes.
    pub fn cached_tokens(&self, messages: &[ChatMessage], prompt_tokens: u64) -> u64 {
        if prompt_tokens < 1024 {
            return 0;
        }
        let mut text = String::new();
        for m in messages {
            text.push_str(&m.role);
            text.push('\n');
            text.push_str(&m.text());
            text.push('\n');
        }
        let ids = tokens::encode(&text);
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut checkpoints = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            for b in id.to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            let n = i + 1;
            if n >= 1024 && (n - 1024) % 128 == 0 {
                checkpoints.push((n as u64, h));
            }
        }
        let mut cache = lock(&self.cache);
        let best = checkpoints
            .iter()
            .filter(|(_, h)| cache.contains(h))
            .map(|(n, _)| *n)
            .max()
            .unwrap_or(0);
        if cache.len() + checkpoints.len() > CACHE_CAPACITY {
            cache.clear();
        }
        cache.extend(checkpoints.iter().map(|(_, h)| *h));
        best.min(prompt_tokens)
    }
}

/// A log entry; `first_token_at` is filled in by the body stream.
pub struct LogEntry {
    pub fixed: SimRequestLog,
    pub first_token_at: OnceLock<Instant>,
}

impl FirstTokenSink for LogEntry {
    fn first_token(&self, at: Instant) {
        let _ = self.first_token_at.set(at);
    }
}

/// Ids for one request.
pub struct Ids {
    pub request_id: String,
    pub completion_id: String,
    /// Per-request randomness (faults, text without a seed, jitter).
    pub rng: SmallRng,
}

pub struct Shared {
    pub cfg: SimConfig,
    pub base_url: String,
    pub deployments: HashMap<String, Arc<DeploymentRt>>,
    /// Deployment names in config order.
    pub order: Vec<String>,
    pub region: HeaderValue,
    counter: AtomicU64,
    /// TCP connections accepted so far (connection reuse is visible in tests and benches).
    pub connections: AtomicU64,
    rng_base: u64,
    log: Mutex<VecDeque<Arc<LogEntry>>>,
    pub arm_bucket: Mutex<TokenBucket>,
    epoch: Instant,
}

const BASE62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

impl Shared {
    pub fn new(cfg: SimConfig, base_url: String) -> Self {
        let deployments = cfg
            .deployments
            .iter()
            .map(|d| (d.name.clone(), Arc::new(DeploymentRt::new(d.clone()))))
            .collect();
        let order = cfg.deployments.iter().map(|d| d.name.clone()).collect();
        let rng_base = if cfg.deterministic {
            cfg.seed
        } else {
            let u = uuid::Uuid::new_v4().as_u64_pair();
            u.0 ^ u.1
        };
        Self {
            region: HeaderValue::from_str(&cfg.account.region)
                .unwrap_or(HeaderValue::from_static("unknown")),
            arm_bucket: Mutex::new(TokenBucket::new(
                cfg.arm.read_bucket,
                cfg.arm.read_refill_per_s,
            )),
            deployments,
            order,
            counter: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            rng_base,
            log: Mutex::new(VecDeque::with_capacity(1024)),
            epoch: Instant::now(),
            base_url,
            cfg,
        }
    }

    /// Time since start, for the limiters.
    pub fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    pub fn deployment(&self, name: &str) -> Option<Arc<DeploymentRt>> {
        self.deployments.get(name).cloned()
    }

    pub fn next_ids(&self) -> Ids {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let mut rng =
            SmallRng::seed_from_u64(self.rng_base ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        if self.cfg.deterministic {
            Ids {
                request_id: format!("00000000-0000-4000-8000-{n:012x}"),
                completion_id: format!("chatcmpl-SIM{n:026}"),
                rng,
            }
        } else {
            let bytes: [u8; 16] = rng.random();
            let request_id = uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string();
            let mut completion_id = String::with_capacity(38);
            completion_id.push_str("chatcmpl-");
            for _ in 0..29 {
                completion_id.push(BASE62[rng.random_range(0..BASE62.len())] as char);
            }
            Ids {
                request_id,
                completion_id,
                rng,
            }
        }
    }

    /// `created` for a response.
    pub fn created(&self) -> u64 {
        if self.cfg.deterministic {
            self.cfg.fixed_created
        } else {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        }
    }

    pub fn push_log(&self, fixed: SimRequestLog) -> Arc<LogEntry> {
        let entry = Arc::new(LogEntry {
            fixed,
            first_token_at: OnceLock::new(),
        });
        let mut log = lock(&self.log);
        if log.len() >= self.cfg.request_log.max(1) {
            log.pop_front();
        }
        log.push_back(entry.clone());
        entry
    }

    pub fn log_snapshot(&self) -> Vec<SimRequestLog> {
        let log = lock(&self.log);
        log.iter()
            .map(|e| SimRequestLog {
                first_token_at: e.first_token_at.get().copied(),
                ..e.fixed.clone()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_ids() {
        let s = Shared::new(SimConfig::instant(), "http://x".into());
        let a = s.next_ids();
        assert_eq!(a.request_id, "00000000-0000-4000-8000-000000000001");
        assert_eq!(a.completion_id, "chatcmpl-SIM00000000000000000000000001");
        assert_eq!(a.completion_id.len(), "chatcmpl-".len() + 29);
    }

    #[test]
    fn random_ids_have_the_azure_shape() {
        let s = Shared::new(SimConfig::default_fleet(), "http://x".into());
        let a = s.next_ids();
        assert_eq!(a.completion_id.len(), 38);
        assert!(uuid::Uuid::parse_str(&a.request_id).is_ok());
        assert_ne!(a.request_id, s.next_ids().request_id);
    }

    #[test]
    fn prompt_cache_reports_128_token_steps() {
        let s = Shared::new(SimConfig::instant(), "http://x".into());
        let d = s.deployment("gpt-4o").unwrap();
        let long: String = (0..1500).map(|i| format!("w{i} ")).collect();
        let msgs = vec![ChatMessage::new("user", &long)];
        let n = tokens::count_messages(&msgs) as u64;
        assert!(n > 1300);
        assert_eq!(d.cached_tokens(&msgs, n), 0);
        let c = d.cached_tokens(&msgs, n);
        assert!(c >= 1024 && (c - 1024).is_multiple_of(128) && c <= n, "{c}");
        // Same prefix, different tail.
        let msgs2 = vec![ChatMessage::new("user", &format!("{long} and more"))];
        assert!(d.cached_tokens(&msgs2, n + 3) >= 1024);
        // Short prompts never cache.
        let short = vec![ChatMessage::new("user", "hi")];
        assert_eq!(d.cached_tokens(&short, 9), 0);
    }
}
