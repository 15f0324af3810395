//! Faults on demand, to test a user's code against the failures AWS allows: set in
//! `eddy.toml` (`[faults]`, kept across resets) and at run time with
//! `POST /_eddy/api/faults` (replaced by the next post, cleared by posting an empty
//! list or by a reset, which brings back the configured ones).
//!
//! - [`spec`]: what a fault is ([`FaultKind`], [`FaultSpec`]) and the checks that refuse
//!   one that cannot mean anything.
//! - [`Faults`]: the faults in force, and one question per place a fault can strike,
//!   asked by the part of eddy that owns that place: the store (duplicate and delayed
//!   events, early redelivery), the pipeline (throttled invocations: a mapping's, an
//!   asynchronous one; the built-in copy function's writes, which meet the S3 errors
//!   and latency of their destination bucket: [`Faults::copy_into`]) and the HTTP
//!   front (S3 errors, latency; SQS latency by the queue a call addresses).
//!
//! Each fault fires on every matching occasion, or with a `probability` drawn from its
//! own splitmix64 generator seeded with `seed` (the same occasions in the same order are
//! faulted the same way in every run), at most `count` times when a count is given.
//! Every injected fault is logged (`fault injected`, at WARN), counted
//! (`eddy_faults_injected_total{kind}`, every kind at 0 from the start) and kept for
//! the trace of the files it concerned.

pub mod spec;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use eddy_events::s3_event::{NotificationBody, decode_key, parse_notification};
use eddy_telemetry::{FaultInjected, FaultKindKnown, Telemetry};

pub use spec::{FaultError, FaultKind, FaultSpec};

/// A fault in force, with what it did so far.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveFault {
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// How many times it fired.
    pub injected: u64,
    /// The state of its generator.
    #[serde(skip)]
    draws: u64,
}

impl ActiveFault {
    fn new(spec: FaultSpec) -> Self {
        Self {
            draws: spec.seed,
            spec,
            injected: 0,
        }
    }

    /// Whether this occasion is faulted: the count is not used up and the draw (if
    /// any) falls under the probability.
    fn fires(&mut self) -> bool {
        if self.spec.count.is_some_and(|n| self.injected >= n) {
            return false;
        }
        if let Some(p) = self.spec.probability
            && draw(&mut self.draws) >= p
        {
            return false;
        }
        self.injected += 1;
        true
    }
}

/// The next draw in [0, 1) of a splitmix64 generator at `state`.
fn draw(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The S3 error a write meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3WriteFault {
    /// `503 SlowDown`.
    SlowDown,
    /// `500 InternalError`.
    InternalError,
}

impl S3WriteFault {
    /// S3's error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::SlowDown => "SlowDown",
            Self::InternalError => "InternalError",
        }
    }

    /// S3's message for it.
    pub fn message(self) -> &'static str {
        match self {
            Self::SlowDown => "Please reduce your request rate.",
            Self::InternalError => "We encountered an internal error. Please try again.",
        }
    }
}

/// What a copy eddy makes itself (the built-in copy function writes through the store,
/// not over HTTP) meets: what a `CopyObject` request to its destination bucket would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CopyFaults {
    /// How much longer the copy takes (`s3_latency`).
    pub latency: Option<Duration>,
    /// The error it answers (`s3_slow_down`, `s3_internal_error`).
    pub error: Option<S3WriteFault>,
}

/// The faults in force, for one running eddy.
#[derive(Debug)]
pub struct Faults {
    telemetry: Telemetry,
    /// The faults of `eddy.toml`: in force from the start and after every reset.
    configured: Mutex<Vec<FaultSpec>>,
    active: Mutex<Vec<ActiveFault>>,
    /// How many faults are in force: 0 skips the lock on every request.
    in_force: AtomicUsize,
}

impl Faults {
    /// No fault in force; registers `eddy_faults_injected_total` of every kind at 0.
    pub fn new(telemetry: Telemetry) -> Self {
        for kind in FaultKind::ALL {
            telemetry.emit(FaultKindKnown { kind: kind.name() });
        }
        Self {
            telemetry,
            configured: Mutex::new(Vec::new()),
            active: Mutex::new(Vec::new()),
            in_force: AtomicUsize::new(0),
        }
    }

    fn lock_active(&self) -> std::sync::MutexGuard<'_, Vec<ActiveFault>> {
        match self.active.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The faults of the configuration: in force now and after every reset.
    pub fn configure(&self, specs: Vec<FaultSpec>) -> Result<(), FaultError> {
        self.set(specs.clone())?;
        match self.configured.lock() {
            Ok(mut configured) => *configured = specs,
            Err(poisoned) => *poisoned.into_inner() = specs,
        }
        Ok(())
    }

    /// Replaces the faults in force (an empty list clears them).
    pub fn set(&self, specs: Vec<FaultSpec>) -> Result<(), FaultError> {
        for spec in &specs {
            spec.validate()?;
        }
        let mut active = self.lock_active();
        *active = specs.into_iter().map(ActiveFault::new).collect();
        self.in_force.store(active.len(), Ordering::Release);
        Ok(())
    }

    /// Back to the configured faults, with their counts and generators from the start.
    pub fn reset(&self) {
        let configured = match self.configured.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        // Validated when configured.
        let _ = self.set(configured);
    }

    /// Whether any fault is in force: one atomic load, for the callers that would
    /// otherwise work out what a request addresses only to ask about it.
    pub fn any_in_force(&self) -> bool {
        self.in_force.load(Ordering::Acquire) != 0
    }

    /// The faults in force and how often each fired.
    pub fn list(&self) -> Vec<ActiveFault> {
        self.lock_active().clone()
    }

    /// Asks each fault of `kinds` that `applies`, in order, whether it fires; the first
    /// that does is logged, counted and kept for the trace of `files`.
    fn strike(
        &self,
        kinds: &[FaultKind],
        applies: impl Fn(&FaultSpec) -> bool,
        files: &[(&str, &str)],
        detail: impl FnOnce(&FaultSpec) -> String,
    ) -> Option<FaultSpec> {
        if !self.any_in_force() {
            return None;
        }
        let fired = self
            .lock_active()
            .iter_mut()
            .filter(|f| kinds.contains(&f.spec.kind) && applies(&f.spec))
            .find_map(|f| f.fires().then(|| f.spec.clone()))?;
        let detail = detail(&fired);
        let kind = fired.kind.name();
        tracing::warn!(kind, files = ?files, %detail, "fault injected");
        self.telemetry.emit(FaultInjected {
            kind,
            files,
            detail: &detail,
            at_ms: now_ms(),
        });
        Some(fired)
    }

    /// The error an S3 write (`PUT`, `POST`, `DELETE`) to `bucket` meets, if any.
    pub fn s3_write(&self, bucket: &str, key: Option<&str>) -> Option<S3WriteFault> {
        let files: Vec<(&str, &str)> = key.map(|k| (bucket, k)).into_iter().collect();
        self.s3_write_of(bucket, &files)
    }

    /// The error a write to `bucket` meets, kept for the trace of `files`.
    fn s3_write_of(&self, bucket: &str, files: &[(&str, &str)]) -> Option<S3WriteFault> {
        let fired = self.strike(
            &[FaultKind::S3SlowDown, FaultKind::S3InternalError],
            |f| f.bucket.as_deref() == Some(bucket),
            files,
            |f| match f.kind {
                FaultKind::S3SlowDown => format!("a write to {bucket} answered 503 SlowDown"),
                _ => format!("a write to {bucket} answered 500 InternalError"),
            },
        )?;
        Some(match fired.kind {
            FaultKind::S3SlowDown => S3WriteFault::SlowDown,
            _ => S3WriteFault::InternalError,
        })
    }

    /// The latency an S3 call to `bucket` (empty: the service) is given, if any.
    pub fn s3_latency(&self, bucket: &str, key: Option<&str>) -> Option<Duration> {
        let files: Vec<(&str, &str)> = key.map(|k| (bucket, k)).into_iter().collect();
        self.s3_latency_of(bucket, &files)
    }

    /// The latency an S3 call to `bucket` is given, kept for the trace of `files`.
    fn s3_latency_of(&self, bucket: &str, files: &[(&str, &str)]) -> Option<Duration> {
        self.strike(
            &[FaultKind::S3Latency],
            |f| f.bucket.as_deref().is_none_or(|b| b == bucket),
            files,
            |f| format!("an S3 call took {} ms longer", f.latency_ms.unwrap_or(0)),
        )
        .map(|f| Duration::from_millis(f.latency_ms.unwrap_or(0)))
    }

    /// What a copy of `source` (bucket, key) to `destination` made by eddy itself
    /// meets, asked as the HTTP front asks for a `CopyObject` request to the
    /// destination bucket (the latency, then the error); kept for the trace of both
    /// files.
    pub fn copy_into(&self, source: (&str, &str), destination: (&str, &str)) -> CopyFaults {
        let files = [destination, source];
        CopyFaults {
            latency: self.s3_latency_of(destination.0, &files),
            error: self.s3_write_of(destination.0, &files),
        }
    }

    /// The latency an SQS call addressing `queue` (its name; `None`: a call that
    /// addresses no queue) is given, if any. A fault narrowed to a queue delays only
    /// the calls that address it.
    pub fn sqs_latency(&self, queue: Option<&str>) -> Option<Duration> {
        self.strike(
            &[FaultKind::SqsLatency],
            |f| f.queue_name().is_none_or(|q| Some(q) == queue),
            &[],
            |f| match queue {
                Some(queue) => format!(
                    "an SQS call to {queue} took {} ms longer",
                    f.latency_ms.unwrap_or(0)
                ),
                None => format!("an SQS call took {} ms longer", f.latency_ms.unwrap_or(0)),
            },
        )
        .map(|f| Duration::from_millis(f.latency_ms.unwrap_or(0)))
    }

    /// Whether the event of `bucket`/`key` going to `queue` is delivered twice.
    pub fn event_duplicate(&self, bucket: &str, key: &str, queue: &str) -> bool {
        self.strike(
            &[FaultKind::S3EventDuplicate],
            |f| f.bucket.as_deref().is_none_or(|b| b == bucket),
            &[(bucket, key)],
            |_| format!("the event was delivered twice to {queue}"),
        )
        .is_some()
    }

    /// How late the event of `bucket`/`key` going to `queue` arrives, if it is delayed.
    pub fn event_delay(&self, bucket: &str, key: &str, queue: &str) -> Option<u32> {
        self.strike(
            &[FaultKind::S3EventDelay],
            |f| f.bucket.as_deref().is_none_or(|b| b == bucket),
            &[(bucket, key)],
            |f| {
                format!(
                    "the event reaches {queue} {} s late",
                    f.delay_seconds.unwrap_or(0)
                )
            },
        )
        .and_then(|f| f.delay_seconds)
    }

    /// Whether a message of `queue` just received (`body`, its message id) becomes
    /// visible again at once.
    pub fn early_redelivery(&self, queue: &str, message_id: &str, body: &str) -> bool {
        let files = files_of_event(body);
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(b, k)| (b.as_str(), k.as_str()))
            .collect();
        self.strike(
            &[FaultKind::SqsEarlyRedelivery],
            |f| f.queue_name().is_none_or(|q| q == queue),
            &files,
            |_| format!("message {message_id} of {queue} is visible again before its visibility timeout ends"),
        )
        .is_some()
    }

    /// Whether an invocation of `function` with a batch announcing `files` is throttled.
    pub fn throttle(&self, function: &str, files: &[(&str, &str)]) -> bool {
        self.strike(
            &[FaultKind::LambdaThrottle],
            |f| f.function.as_deref().is_none_or(|n| n == function),
            files,
            |_| format!("the invocation of {function} was throttled before its handler ran"),
        )
        .is_some()
    }
}

/// The files (bucket, decoded key) an SQS message body's S3 event announces.
pub fn files_of_event(body: &str) -> Vec<(String, String)> {
    let Ok(NotificationBody::Event(event)) = parse_notification(body) else {
        return Vec::new();
    };
    event
        .records
        .iter()
        .filter_map(|r| {
            decode_key(&r.s3.object.key)
                .ok()
                .map(|key| (r.s3.bucket.name.clone(), key))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow_down(probability: Option<f64>, count: Option<u64>, seed: u64) -> FaultSpec {
        FaultSpec {
            bucket: Some("b".into()),
            probability,
            count,
            seed,
            ..FaultSpec::new(FaultKind::S3SlowDown)
        }
    }

    fn pattern(faults: &Faults, n: usize) -> Vec<bool> {
        (0..n)
            .map(|_| faults.s3_write("b", Some("k")).is_some())
            .collect()
    }

    #[test]
    fn a_seed_gives_the_same_faults_every_time() {
        let faults = Faults::new(Telemetry::default());
        faults
            .set(vec![slow_down(Some(0.5), None, 42)])
            .expect("set");
        let first = pattern(&faults, 64);
        faults
            .set(vec![slow_down(Some(0.5), None, 42)])
            .expect("set");
        assert_eq!(pattern(&faults, 64), first);
        let failed = first.iter().filter(|f| **f).count();
        assert!((16..=48).contains(&failed), "{failed} of 64");
    }

    #[test]
    fn a_count_limits_the_faults_and_other_buckets_pass() {
        let telemetry = Telemetry::default();
        let faults = Faults::new(telemetry.clone());
        faults.set(vec![slow_down(None, Some(2), 0)]).expect("set");
        assert_eq!(faults.s3_write("other", Some("k")), None);
        assert_eq!(pattern(&faults, 4), [true, true, false, false]);
        assert_eq!(faults.list()[0].injected, 2);
        let kept = telemetry.activity().faults_of("b", "k");
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].kind, "s3_slow_down");
        assert!(faults.set(vec![slow_down(Some(1.5), None, 0)]).is_err());
    }

    #[test]
    fn a_reset_brings_back_the_configured_faults_from_the_start() {
        let faults = Faults::new(Telemetry::default());
        let throttle = FaultSpec {
            count: Some(1),
            ..FaultSpec::new(FaultKind::LambdaThrottle)
        };
        faults.configure(vec![throttle]).expect("configure");
        assert!(faults.throttle("f", &[]));
        assert!(!faults.throttle("f", &[]));
        faults
            .set(vec![FaultSpec {
                latency_ms: Some(5),
                ..FaultSpec::new(FaultKind::SqsLatency)
            }])
            .expect("set");
        assert!(!faults.throttle("f", &[]));
        assert_eq!(faults.sqs_latency(None), Some(Duration::from_millis(5)));
        faults.reset();
        assert_eq!(faults.sqs_latency(None), None);
        assert!(faults.throttle("f", &[]));
    }

    #[test]
    fn targets_narrow_a_fault_and_the_event_files_are_read_from_the_body() {
        let faults = Faults::new(Telemetry::default());
        faults
            .set(vec![
                FaultSpec {
                    queue: Some("q".into()),
                    ..FaultSpec::new(FaultKind::SqsEarlyRedelivery)
                },
                FaultSpec {
                    bucket: Some("src".into()),
                    delay_seconds: Some(3),
                    ..FaultSpec::new(FaultKind::S3EventDelay)
                },
            ])
            .expect("set");
        assert!(!faults.early_redelivery("other", "m", "{}"));
        assert!(faults.early_redelivery("q", "m", "{}"));
        assert_eq!(faults.event_delay("dst", "k", "q"), None);
        assert_eq!(faults.event_delay("src", "k", "q"), Some(3));
        assert!(!faults.event_duplicate("src", "k", "q"));
        let body = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-01-01T00:00:00.000Z","eventName":"ObjectCreated:Put","userIdentity":{"principalId":"x"},"requestParameters":{"sourceIPAddress":"127.0.0.1"},"responseElements":{"x-amz-request-id":"r","x-amz-id-2":"h"},"s3":{"s3SchemaVersion":"1.0","configurationId":"c","bucket":{"name":"src","ownerIdentity":{"principalId":"x"},"arn":"arn:aws:s3:::src"},"object":{"key":"a+b.txt","size":1,"eTag":"e","sequencer":"1"}}}]}"#;
        assert_eq!(
            files_of_event(body),
            [("src".to_owned(), "a b.txt".to_owned())]
        );
    }

    #[test]
    fn sqs_latency_narrowed_to_a_queue_by_name_or_url_delays_only_its_calls() {
        let faults = Faults::new(Telemetry::default());
        for queue in ["work", "http://127.0.0.1:4566/000000000000/work"] {
            faults
                .set(vec![FaultSpec {
                    queue: Some(queue.to_owned()),
                    latency_ms: Some(7),
                    ..FaultSpec::new(FaultKind::SqsLatency)
                }])
                .expect("set");
            assert_eq!(faults.sqs_latency(Some("other")), None);
            assert_eq!(faults.sqs_latency(None), None, "ListQueues addresses none");
            assert_eq!(
                faults.sqs_latency(Some("work")),
                Some(Duration::from_millis(7))
            );
            assert_eq!(faults.list()[0].injected, 1);
        }
    }

    #[test]
    fn a_copy_meets_the_faults_of_its_destination_bucket_and_both_files_keep_them() {
        let telemetry = Telemetry::default();
        let faults = Faults::new(telemetry.clone());
        faults
            .set(vec![
                FaultSpec {
                    bucket: Some("dst".into()),
                    latency_ms: Some(9),
                    count: Some(1),
                    ..FaultSpec::new(FaultKind::S3Latency)
                },
                FaultSpec {
                    bucket: Some("dst".into()),
                    count: Some(1),
                    ..FaultSpec::new(FaultKind::S3InternalError)
                },
            ])
            .expect("set");
        assert_eq!(
            faults.copy_into(("src", "k"), ("other", "k")),
            CopyFaults::default(),
            "a copy to another bucket"
        );
        assert_eq!(
            faults.copy_into(("src", "k"), ("dst", "k")),
            CopyFaults {
                latency: Some(Duration::from_millis(9)),
                error: Some(S3WriteFault::InternalError),
            }
        );
        assert_eq!(
            faults.copy_into(("src", "k"), ("dst", "k")),
            CopyFaults::default()
        );
        let kinds = |bucket, key| {
            telemetry
                .activity()
                .faults_of(bucket, key)
                .into_iter()
                .map(|f| f.kind)
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds("src", "k"), ["s3_latency", "s3_internal_error"]);
        assert_eq!(kinds("dst", "k"), ["s3_latency", "s3_internal_error"]);
    }
}
