//! Faults on demand, to test a user's code against failures AWS allows: set at run time
//! with `POST /_eddy/api/faults` (cleared by posting an empty list, or by a reset).
//!
//! So far one family: S3 writes (PUT, POST, DELETE) addressed to a named bucket answer
//! `503 SlowDown` (`s3_slow_down`) or `500 InternalError` (`s3_internal_error`), as S3
//! may under load, before anything is stored. Each fault fires on every matching
//! request, or with a `probability` drawn from its own generator seeded with `seed`
//! (the same requests in the same order fail the same way in every run), at most
//! `count` times when a count is given. Every injected fault is logged and counted
//! (`eddy_faults_injected_total{kind}`).

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use eddy_telemetry::{FaultInjected, Telemetry};

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// `503 SlowDown` for writes to the bucket.
    S3SlowDown,
    /// `500 InternalError` for writes to the bucket.
    S3InternalError,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::S3SlowDown => "s3_slow_down",
            FaultKind::S3InternalError => "s3_internal_error",
        }
    }
}

/// One fault as the API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub kind: FaultKind,
    pub bucket: String,
    /// Chance that a matching request fails (default: every one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// The most requests it fails (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Seeds the draws of `probability`.
    #[serde(default)]
    pub seed: u64,
}

/// The body of `POST /_eddy/api/faults`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    pub faults: Vec<FaultSpec>,
}

/// A fault in force, with what it did so far.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveFault {
    #[serde(flatten)]
    pub spec: FaultSpec,
    pub injected: u64,
    #[serde(skip)]
    draws: u64,
}

/// The faults in force.
#[derive(Debug, Default)]
pub struct Faults {
    active: Mutex<Vec<ActiveFault>>,
}

/// Why a list of faults is refused.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("probability must be from 0 to 1, not {0}")]
    Probability(f64),
    #[error("a fault needs the bucket it applies to")]
    NoBucket,
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

impl Faults {
    /// Replaces the faults in force.
    pub fn set(&self, specs: Vec<FaultSpec>) -> Result<(), FaultError> {
        for spec in &specs {
            if spec.bucket.is_empty() {
                return Err(FaultError::NoBucket);
            }
            if let Some(p) = spec.probability
                && !(0.0..=1.0).contains(&p)
            {
                return Err(FaultError::Probability(p));
            }
        }
        let active = specs
            .into_iter()
            .map(|spec| ActiveFault {
                draws: spec.seed,
                spec,
                injected: 0,
            })
            .collect();
        if let Ok(mut current) = self.active.lock() {
            *current = active;
        }
        Ok(())
    }

    /// The faults in force and how often each fired.
    pub fn list(&self) -> Vec<ActiveFault> {
        self.active.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// The fault an S3 request meets, if any: `method` on `bucket`.
    pub fn s3_request(
        &self,
        method: &http::Method,
        bucket: &str,
        telemetry: &Telemetry,
    ) -> Option<FaultKind> {
        let is_write = matches!(
            *method,
            http::Method::PUT | http::Method::POST | http::Method::DELETE
        );
        if !is_write || bucket.is_empty() {
            return None;
        }
        let mut active = self.active.lock().ok()?;
        for fault in active.iter_mut().filter(|f| f.spec.bucket == bucket) {
            if fault.spec.count.is_some_and(|n| fault.injected >= n) {
                continue;
            }
            if let Some(p) = fault.spec.probability
                && draw(&mut fault.draws) >= p
            {
                continue;
            }
            fault.injected += 1;
            let kind = fault.spec.kind;
            tracing::warn!(kind = kind.name(), bucket, %method, "fault injected");
            telemetry.emit(FaultInjected { kind: kind.name() });
            return Some(kind);
        }
        None
    }
}

/// The bucket an S3 request addresses (in its host or the first segment of its path;
/// see `s3::front`), or empty; `home` is eddy's configured region.
pub fn request_bucket<B>(request: &http::Request<B>, home: &str) -> String {
    crate::s3::front::bucket_name(request, home).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(probability: Option<f64>, count: Option<u64>, seed: u64) -> FaultSpec {
        FaultSpec {
            kind: FaultKind::S3SlowDown,
            bucket: "b".into(),
            probability,
            count,
            seed,
        }
    }

    fn pattern(faults: &Faults, n: usize) -> Vec<bool> {
        let telemetry = Telemetry::default();
        (0..n)
            .map(|_| {
                faults
                    .s3_request(&http::Method::PUT, "b", &telemetry)
                    .is_some()
            })
            .collect()
    }

    #[test]
    fn a_seed_gives_the_same_failures_every_time() {
        let faults = Faults::default();
        faults.set(vec![spec(Some(0.5), None, 42)]).expect("set");
        let first = pattern(&faults, 64);
        faults.set(vec![spec(Some(0.5), None, 42)]).expect("set");
        assert_eq!(pattern(&faults, 64), first);
        let failed = first.iter().filter(|f| **f).count();
        assert!((16..=48).contains(&failed), "{failed} of 64");
    }

    #[test]
    fn a_count_limits_the_faults_and_reads_pass() {
        let faults = Faults::default();
        faults.set(vec![spec(None, Some(2), 0)]).expect("set");
        let telemetry = Telemetry::default();
        assert_eq!(faults.s3_request(&http::Method::GET, "b", &telemetry), None);
        assert_eq!(pattern(&faults, 4), [true, true, false, false]);
        assert_eq!(faults.list()[0].injected, 2);
        assert!(faults.set(vec![spec(Some(1.5), None, 0)]).is_err());
    }
}
