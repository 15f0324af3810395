//! The recent activity of the pipeline, kept in memory for the dashboard: for each of
//! the last files uploaded, the steps it went through (uploaded, event enqueued, batch
//! received, invocation result, copied) with their times, and the faults injected on
//! demand that concerned a file (for its trace). Only [`crate::events`] writes here;
//! the dashboard and the trace read.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// How many file journeys are kept.
const CAPACITY: usize = 200;

/// How many injected faults are kept.
const FAULT_CAPACITY: usize = 1000;

/// A fault injected on demand that concerned a file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FaultRecord {
    #[serde(skip)]
    pub bucket: String,
    #[serde(skip)]
    pub key: String,
    pub kind: String,
    pub at_ms: u64,
    pub detail: String,
}

/// The steps a file goes through, as the dashboard names them.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// A new object version was stored.
    Uploaded,
    /// Its event was enqueued (the detail names the queues).
    Enqueued,
    /// A function received the event.
    Received,
    /// The function failed the record.
    Failed,
    /// The copy is done.
    Copied,
}

/// One step of a file's way through the pipeline.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct JourneyStep {
    pub step: Step,
    pub at_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A file's way through the pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Journey {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub size: u64,
    pub steps: Vec<JourneyStep>,
}

/// The recent journeys, newest last, and the recent upload-to-copied latencies.
#[derive(Debug, Default)]
pub struct Activity {
    journeys: Mutex<VecDeque<Journey>>,
    faults: Mutex<VecDeque<FaultRecord>>,
    latencies_ms: Mutex<VecDeque<u64>>,
    copied: AtomicU64,
    failed: AtomicU64,
}

/// Totals since start.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counters {
    pub copied: u64,
    pub failed: u64,
}

/// Percentiles of the recent upload-to-copied latencies.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct LatencySummary {
    pub samples: usize,
    pub p50_ms: u64,
    pub p99_ms: u64,
}

impl Activity {
    fn with<R>(&self, f: impl FnOnce(&mut VecDeque<Journey>) -> R) -> R {
        let mut guard = match self.journeys.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// A new object version was uploaded to a bucket.
    pub(crate) fn uploaded(&self, bucket: &str, key: &str, etag: &str, size: u64, at_ms: u64) {
        self.with(|journeys| {
            if journeys.len() == CAPACITY {
                journeys.pop_front();
            }
            journeys.push_back(Journey {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                etag: etag.to_owned(),
                size,
                steps: vec![JourneyStep {
                    step: Step::Uploaded,
                    at_ms,
                    detail: None,
                }],
            });
        });
    }

    /// Adds a step to the journey of `bucket/key` at version `etag` (the newest such
    /// journey); unknown files are ignored.
    pub(crate) fn step(
        &self,
        bucket: &str,
        key: &str,
        etag: Option<&str>,
        step: Step,
        at_ms: u64,
        detail: Option<String>,
    ) {
        self.with(|journeys| {
            let found = journeys
                .iter_mut()
                .rev()
                .find(|j| j.bucket == bucket && j.key == key && etag.is_none_or(|e| e == j.etag));
            if let Some(journey) = found {
                journey.steps.push(JourneyStep {
                    step,
                    at_ms,
                    detail,
                });
            }
        });
    }

    /// The upload time of a journey, to measure upload-to-copied.
    pub(crate) fn uploaded_at(&self, bucket: &str, key: &str, etag: &str) -> Option<u64> {
        self.with(|journeys| {
            journeys
                .iter()
                .rev()
                .find(|j| j.bucket == bucket && j.key == key && j.etag == etag)
                .and_then(|j| j.steps.first().map(|s| s.at_ms))
        })
    }

    /// Keeps a fault injected on demand that concerned `bucket`/`key`.
    pub(crate) fn fault(&self, bucket: &str, key: &str, kind: &str, detail: &str, at_ms: u64) {
        let mut faults = match self.faults.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if faults.len() == FAULT_CAPACITY {
            faults.pop_front();
        }
        faults.push_back(FaultRecord {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            kind: kind.to_owned(),
            at_ms,
            detail: detail.to_owned(),
        });
    }

    /// The kept faults that concerned `bucket`/`key`, oldest first.
    pub fn faults_of(&self, bucket: &str, key: &str) -> Vec<FaultRecord> {
        let faults = match self.faults.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        faults
            .iter()
            .filter(|f| f.bucket == bucket && f.key == key)
            .cloned()
            .collect()
    }

    /// Counts records the function failed.
    pub(crate) fn records_failed(&self, count: u64) {
        self.failed.fetch_add(count, Ordering::Relaxed);
    }

    /// Copies and failures since start.
    pub fn counters(&self) -> Counters {
        Counters {
            copied: self.copied.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }

    /// Records a copy done `latency_ms` after its upload (the last 1,000 latencies are
    /// kept for percentiles).
    pub(crate) fn copied_after(&self, latency_ms: u64) {
        self.copied.fetch_add(1, Ordering::Relaxed);
        let mut latencies = match self.latencies_ms.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if latencies.len() == 1000 {
            latencies.pop_front();
        }
        latencies.push_back(latency_ms);
    }

    /// p50 and p99 of the recent upload-to-copied latencies.
    pub fn latency_summary(&self) -> LatencySummary {
        let mut sorted: Vec<u64> = match self.latencies_ms.lock() {
            Ok(guard) => guard.iter().copied().collect(),
            Err(poisoned) => poisoned.into_inner().iter().copied().collect(),
        };
        if sorted.is_empty() {
            return LatencySummary::default();
        }
        sorted.sort_unstable();
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        LatencySummary {
            samples: sorted.len(),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
        }
    }

    /// Forgets the recent journeys and faults (a reset of the store); the totals since
    /// start stay.
    pub fn clear(&self) {
        self.with(VecDeque::clear);
        match self.faults.lock() {
            Ok(mut guard) => guard.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }

    /// The recent journeys, newest first.
    pub fn recent(&self, limit: usize) -> Vec<Journey> {
        self.with(|journeys| journeys.iter().rev().take(limit).cloned().collect())
    }

    /// The kept journeys of `bucket`/`key`, oldest first (the trace of one file).
    pub fn journeys_of(&self, bucket: &str, key: &str) -> Vec<Journey> {
        self.with(|journeys| {
            journeys
                .iter()
                .filter(|j| j.bucket == bucket && j.key == key)
                .cloned()
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_steps_of_the_right_version() {
        let activity = Activity::default();
        activity.uploaded("source", "a", "e1", 1, 10);
        activity.uploaded("source", "a", "e2", 1, 20);
        activity.step("source", "a", Some("e1"), Step::Copied, 30, None);
        let recent = activity.recent(10);
        assert_eq!(recent[0].etag, "e2");
        assert_eq!(recent[0].steps.len(), 1);
        assert_eq!(recent[1].steps[1].step, Step::Copied);
        assert_eq!(activity.uploaded_at("source", "a", "e1"), Some(10));
    }

    #[test]
    fn steps_serialize_as_the_dashboard_names_them() {
        let step = JourneyStep {
            step: Step::Enqueued,
            at_ms: 1,
            detail: None,
        };
        assert_eq!(
            serde_json::to_string(&step).expect("json"),
            r#"{"step":"enqueued","at_ms":1}"#
        );
    }

    #[test]
    fn keeps_a_bounded_history() {
        let activity = Activity::default();
        for i in 0..(CAPACITY + 10) {
            activity.uploaded("b", &i.to_string(), "e", 0, i as u64);
        }
        assert_eq!(activity.recent(usize::MAX).len(), CAPACITY);
    }
}
