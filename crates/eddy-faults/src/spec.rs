//! What a fault is: its kind, what it applies to (a bucket, a queue, a function), how
//! often it fires (a probability drawn from a seeded generator, at most a count of
//! times) and its size (the delay of an event, the latency of a call), with the checks
//! that refuse a fault that cannot mean anything. The same shape is read from
//! `eddy.toml` and from `POST /_eddy/api/faults`.

use serde::{Deserialize, Serialize};

/// The longest delay an event can be given, in seconds (SQS's DelaySeconds limit).
pub const MAX_EVENT_DELAY_SECONDS: u32 = 900;

/// The most latency a call can be given, in milliseconds.
pub const MAX_LATENCY_MS: u64 = 60_000;

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// An S3 event is delivered twice (two messages with the same event), as S3's
    /// at-least-once delivery allows.
    S3EventDuplicate,
    /// An S3 event reaches its queue `delay_seconds` late.
    S3EventDelay,
    /// A received message becomes visible again at once, before its visibility timeout
    /// ends, as a standard queue may redeliver it.
    SqsEarlyRedelivery,
    /// An event source mapping's invocation fails before the handler runs, as a
    /// throttle does: the batch counts as a failed receive and comes back after its
    /// visibility timeout. A synchronous Invoke answers 429 TooManyRequestsException;
    /// an asynchronous invocation goes back to its queue and is tried again later.
    LambdaThrottle,
    /// S3 writes (PUT, POST, DELETE, and the built-in function's copies) to the bucket
    /// answer `503 SlowDown`.
    S3SlowDown,
    /// S3 writes to the bucket answer `500 InternalError`.
    S3InternalError,
    /// S3 calls (to the bucket, or to any; the built-in function's copies into it
    /// included) take `latency_ms` longer.
    S3Latency,
    /// SQS calls (that address the queue, or any) take `latency_ms` longer.
    SqsLatency,
}

impl FaultKind {
    /// Every kind, in the order the metrics list them.
    pub const ALL: [FaultKind; 8] = [
        FaultKind::S3EventDuplicate,
        FaultKind::S3EventDelay,
        FaultKind::SqsEarlyRedelivery,
        FaultKind::LambdaThrottle,
        FaultKind::S3SlowDown,
        FaultKind::S3InternalError,
        FaultKind::S3Latency,
        FaultKind::SqsLatency,
    ];

    /// The kind's name in the API, `eddy.toml`, logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::S3EventDuplicate => "s3_event_duplicate",
            FaultKind::S3EventDelay => "s3_event_delay",
            FaultKind::SqsEarlyRedelivery => "sqs_early_redelivery",
            FaultKind::LambdaThrottle => "lambda_throttle",
            FaultKind::S3SlowDown => "s3_slow_down",
            FaultKind::S3InternalError => "s3_internal_error",
            FaultKind::S3Latency => "s3_latency",
            FaultKind::SqsLatency => "sqs_latency",
        }
    }

    /// The field naming what the fault applies to, and whether it is required.
    fn target(self) -> (Target, bool) {
        match self {
            FaultKind::S3SlowDown | FaultKind::S3InternalError => (Target::Bucket, true),
            FaultKind::S3EventDuplicate | FaultKind::S3EventDelay | FaultKind::S3Latency => {
                (Target::Bucket, false)
            }
            FaultKind::SqsEarlyRedelivery | FaultKind::SqsLatency => (Target::Queue, false),
            FaultKind::LambdaThrottle => (Target::Function, false),
        }
    }
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Bucket,
    Queue,
    Function,
}

impl Target {
    fn field(self) -> &'static str {
        match self {
            Target::Bucket => "bucket",
            Target::Queue => "queue",
            Target::Function => "function",
        }
    }
}

/// One fault, as `eddy.toml` and the API give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// The bucket it applies to (S3 kinds; required for `s3_slow_down` and
    /// `s3_internal_error`; the others apply to every bucket without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// The queue it applies to (`sqs_early_redelivery`, `sqs_latency`; every queue
    /// without it): its name or its URL (whose last path segment is the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The function it applies to (`lambda_throttle`; every function without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Chance that a matching occasion is faulted (default: every one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// The most occasions it faults (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Seeds the draws of `probability`: the same occasions in the same order are
    /// faulted the same way in every run.
    #[serde(default)]
    pub seed: u64,
    /// How late the event arrives (`s3_event_delay`, 1 to 900).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<u32>,
    /// How much longer the call takes (`s3_latency`, `sqs_latency`, 1 to 60000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
}

impl FaultSpec {
    /// A fault of `kind` on every occasion, with nothing else set.
    pub fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            bucket: None,
            queue: None,
            function: None,
            probability: None,
            count: None,
            seed: 0,
            delay_seconds: None,
            latency_ms: None,
        }
    }

    /// The name of the queue it applies to: `queue` as given, or the last path segment
    /// of a queue URL.
    pub fn queue_name(&self) -> Option<&str> {
        self.queue.as_deref().map(queue_name_of)
    }

    /// Refuses a fault that cannot mean anything, saying why.
    pub fn validate(&self) -> Result<(), FaultError> {
        let kind = self.kind;
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(FaultError::Probability { kind, value: p });
        }
        let (target, required) = kind.target();
        for (field, value) in [
            (Target::Bucket, &self.bucket),
            (Target::Queue, &self.queue),
            (Target::Function, &self.function),
        ] {
            match value {
                Some(_) if target != field => {
                    return Err(FaultError::NotApplicable {
                        kind,
                        field: field.field(),
                    });
                }
                Some(name)
                    if name.is_empty()
                        || (field == Target::Queue && queue_name_of(name).is_empty()) =>
                {
                    return Err(FaultError::Empty {
                        kind,
                        field: field.field(),
                    });
                }
                _ => {}
            }
        }
        if required && self.bucket.is_none() {
            return Err(FaultError::Missing {
                kind,
                field: target.field(),
                what: "the bucket whose writes fail",
            });
        }
        match (kind, self.delay_seconds) {
            (FaultKind::S3EventDelay, None) => {
                return Err(FaultError::Missing {
                    kind,
                    field: "delay_seconds",
                    what: "how late the event arrives, 1 to 900",
                });
            }
            (FaultKind::S3EventDelay, Some(s)) if !(1..=MAX_EVENT_DELAY_SECONDS).contains(&s) => {
                return Err(FaultError::Range {
                    kind,
                    field: "delay_seconds",
                    value: u64::from(s),
                    max: u64::from(MAX_EVENT_DELAY_SECONDS),
                });
            }
            (FaultKind::S3EventDelay, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(FaultError::NotApplicable {
                    kind,
                    field: "delay_seconds",
                });
            }
        }
        let latency_kind = matches!(kind, FaultKind::S3Latency | FaultKind::SqsLatency);
        match (latency_kind, self.latency_ms) {
            (true, None) => Err(FaultError::Missing {
                kind,
                field: "latency_ms",
                what: "how much longer each call takes, 1 to 60000",
            }),
            (true, Some(ms)) if !(1..=MAX_LATENCY_MS).contains(&ms) => Err(FaultError::Range {
                kind,
                field: "latency_ms",
                value: ms,
                max: MAX_LATENCY_MS,
            }),
            (false, Some(_)) => Err(FaultError::NotApplicable {
                kind,
                field: "latency_ms",
            }),
            _ => Ok(()),
        }
    }
}

/// The queue name of a queue name or URL: the last segment of its path (without a query).
fn queue_name_of(queue: &str) -> &str {
    let without_query = queue.split('?').next().unwrap_or(queue);
    let path = match without_query.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => without_query,
    };
    path.split('/')
        .rfind(|segment| !segment.is_empty())
        .unwrap_or_default()
}

/// Why a fault is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    #[error("fault {kind}: probability must be from 0 to 1, not {value}")]
    Probability { kind: FaultKind, value: f64 },
    #[error("fault {kind} needs `{field}`: {what}")]
    Missing {
        kind: FaultKind,
        field: &'static str,
        what: &'static str,
    },
    #[error("fault {kind} takes no `{field}`")]
    NotApplicable {
        kind: FaultKind,
        field: &'static str,
    },
    #[error("fault {kind}: `{field}` must not be empty")]
    Empty {
        kind: FaultKind,
        field: &'static str,
    },
    #[error("fault {kind}: `{field}` must be from 1 to {max}, not {value}")]
    Range {
        kind: FaultKind,
        field: &'static str,
        value: u64,
        max: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> FaultSpec {
        serde_json::from_str(json).expect("fault JSON")
    }

    #[test]
    fn each_kind_says_what_it_misses_or_does_not_take() {
        let message = |json: &str| {
            parse(json)
                .validate()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            message(r#"{"kind": "s3_slow_down"}"#),
            "fault s3_slow_down needs `bucket`: the bucket whose writes fail"
        );
        assert_eq!(
            message(r#"{"kind": "s3_event_delay"}"#),
            "fault s3_event_delay needs `delay_seconds`: how late the event arrives, 1 to 900"
        );
        assert_eq!(
            message(r#"{"kind": "s3_event_delay", "delay_seconds": 901}"#),
            "fault s3_event_delay: `delay_seconds` must be from 1 to 900, not 901"
        );
        assert_eq!(
            message(r#"{"kind": "lambda_throttle", "bucket": "b"}"#),
            "fault lambda_throttle takes no `bucket`"
        );
        assert_eq!(
            message(r#"{"kind": "sqs_latency"}"#),
            "fault sqs_latency needs `latency_ms`: how much longer each call takes, 1 to 60000"
        );
        assert_eq!(
            message(r#"{"kind": "s3_event_duplicate", "latency_ms": 5}"#),
            "fault s3_event_duplicate takes no `latency_ms`"
        );
        assert_eq!(
            message(r#"{"kind": "sqs_early_redelivery", "probability": 1.5}"#),
            "fault sqs_early_redelivery: probability must be from 0 to 1, not 1.5"
        );
        assert_eq!(
            message(r#"{"kind": "sqs_early_redelivery", "queue": ""}"#),
            "fault sqs_early_redelivery: `queue` must not be empty"
        );
        for good in [
            r#"{"kind": "s3_event_duplicate"}"#,
            r#"{"kind": "s3_event_delay", "bucket": "b", "delay_seconds": 2}"#,
            r#"{"kind": "sqs_early_redelivery", "queue": "q", "count": 1}"#,
            r#"{"kind": "lambda_throttle", "function": "f", "probability": 0.5, "seed": 3}"#,
            r#"{"kind": "s3_internal_error", "bucket": "b"}"#,
            r#"{"kind": "s3_latency", "latency_ms": 20}"#,
            r#"{"kind": "sqs_latency", "latency_ms": 20}"#,
            r#"{"kind": "sqs_latency", "queue": "q", "latency_ms": 20}"#,
        ] {
            assert_eq!(parse(good).validate(), Ok(()), "{good}");
        }
        assert!(serde_json::from_str::<FaultSpec>(r#"{"kind": "nope"}"#).is_err());
        assert!(serde_json::from_str::<FaultSpec>(r#"{"kind": "sqs_latency", "x": 1}"#).is_err());
    }

    #[test]
    fn a_queue_is_named_by_its_name_or_its_url() {
        let named = |queue: &str| {
            let spec = FaultSpec {
                queue: Some(queue.to_owned()),
                latency_ms: Some(1),
                ..FaultSpec::new(FaultKind::SqsLatency)
            };
            spec.validate()
                .map(|()| spec.queue_name().map(str::to_owned))
        };
        assert_eq!(named("work"), Ok(Some("work".to_owned())));
        assert_eq!(
            named("http://127.0.0.1:4566/000000000000/work"),
            Ok(Some("work".to_owned()))
        );
        assert_eq!(
            named("http://sqs.us-east-1.localhost:4566/000000000000/work/?x=1"),
            Ok(Some("work".to_owned()))
        );
        assert!(named("http://127.0.0.1:4566/").is_err());
    }

    #[test]
    fn every_kind_is_listed_once_with_its_name() {
        for kind in FaultKind::ALL {
            let json = serde_json::to_string(&kind).expect("kind JSON");
            assert_eq!(json, format!("\"{}\"", kind.name()));
        }
    }
}
