//! What an event source mapping does with one batch, following Lambda's rules:
//!
//! - FilterCriteria: records that match none of the patterns are deleted without
//!   invoking the function.
//! - With `ReportBatchItemFailures`, the response's `batchItemFailures` stay in the queue
//!   and the rest are deleted; `{}`, `null` and an empty list are full success; an entry
//!   without a usable `itemIdentifier`, an id not in the batch, or a response of the
//!   wrong shape fail the whole batch. Without it, any returned response is success.
//! - A function error or a batch that overruns the function timeout fails the whole
//!   batch: nothing (but the filtered-out records) is deleted, every message reappears
//!   after its visibility timeout, and the poller backs off.
//!
//! - A throttle injected on demand (`lambda_throttle`, see `eddy_faults`) fails the
//!   batch before the function runs, as a throttled invocation: nothing is deleted.
//!   So does a throttle by the function's reserved concurrency
//!   ([`InvokeError::Throttled`]): counted as a throttle, not as a function error.
//!
//! Each step is reported as a telemetry event, with the dashboard journeys of the files
//! the batch's S3 events announce.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use eddy_events::lambda::{SqsMessage, sqs_event};
use eddy_events::s3_event::{NotificationBody, decode_key, parse_notification};
use eddy_telemetry::activity::Step;
use eddy_telemetry::{
    FileStepReached, InvocationFinished, InvocationOutcome, InvocationStarted, InvocationThrottled,
    MappingDeleted, MappingFilteredOut, MappingPolled, RecordsFailed, Telemetry,
};
use futures::future::BoxFuture;
use tokio::time::Instant;

use crate::event_filter::{self, FilterPattern};
use crate::function::{Function, InvokeError};
use crate::poller::{BatchHandler, BatchOutcome};

/// How long past the function timeout the mapping waits for a function that does not
/// enforce its own deadline: more than the 10 s an external process may take to start.
pub const INIT_ALLOWANCE: Duration = Duration::from_secs(15);

/// The batch handler of a mapping.
pub struct Invoker {
    /// The mapping's name in telemetry and logs: its queue.
    pub mapping: String,
    /// FilterCriteria.
    pub filters: Vec<FilterPattern>,
    /// Whether FunctionResponseTypes has `ReportBatchItemFailures`.
    pub report_batch_item_failures: bool,
    pub function_timeout: Duration,
    pub function: Arc<dyn Function>,
    pub telemetry: Telemetry,
    /// Faults on demand (throttles).
    pub faults: Arc<eddy_faults::Faults>,
}

impl BatchHandler for Invoker {
    fn handle(&self, records: Vec<SqsMessage>) -> BoxFuture<'_, BatchOutcome> {
        Box::pin(self.run(records))
    }

    fn concurrency(&self) -> Option<u32> {
        self.function.concurrency()
    }
}

fn message_id(record: &SqsMessage) -> &str {
    record.message_id.as_deref().unwrap_or_default()
}

fn receive_count(record: &SqsMessage) -> &str {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .map_or("?", String::as_str)
}

impl Invoker {
    /// Filters, invokes and judges one batch.
    async fn run(&self, records: Vec<SqsMessage>) -> BatchOutcome {
        let mapping = self.mapping.as_str();
        let function = self.function.name();
        self.telemetry.emit(MappingPolled {
            mapping,
            count: records.len() as u64,
        });
        let (records, filtered_out) = self.apply_filters(records);
        self.telemetry.emit(MappingFilteredOut {
            mapping,
            count: filtered_out.len() as u64,
        });
        // Filtered-out records are done whatever the invocation does.
        let mut done = filtered_out;
        if records.is_empty() {
            return BatchOutcome {
                done,
                succeeded: true,
            };
        }
        self.journey_step(&records, Step::Received, |record| {
            format!("{function} (receive {})", receive_count(record))
        });
        let files: Vec<(String, String)> = records
            .iter()
            .filter_map(|r| r.body.as_deref())
            .flat_map(eddy_faults::files_of_event)
            .collect();
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(b, k)| (b.as_str(), k.as_str()))
            .collect();
        if self.faults.throttle(function, &files) {
            self.telemetry.emit(InvocationThrottled { function });
            return self.throttled(&records, "a fault on demand", done);
        }
        let batch_ids: HashSet<String> = records.iter().map(|r| message_id(r).to_owned()).collect();
        let timeout = self.function_timeout;
        let backstop = Instant::now() + timeout + INIT_ALLOWANCE;
        self.telemetry.emit(InvocationStarted {
            mapping,
            function,
            records: records.len() as u64,
        });
        let started = Instant::now();
        let invocation = self.function.invoke(sqs_event(records.clone()), timeout);
        let response = match tokio::time::timeout_at(backstop, invocation).await {
            Ok(result) => result,
            Err(_) => Err(InvokeError::Timeout(timeout)),
        };
        self.telemetry.emit(InvocationFinished {
            function,
            outcome: match &response {
                Ok(_) => InvocationOutcome::Succeeded,
                Err(InvokeError::Throttled(_)) => InvocationOutcome::Throttled,
                Err(_) => InvocationOutcome::Failed,
            },
            duration: started.elapsed(),
        });
        if let Err(InvokeError::Throttled(throttle)) = &response {
            return self.throttled(&records, &throttle.to_string(), done);
        }
        let verdict = match response {
            Ok(value) => judge_response(&value, &batch_ids, self.report_batch_item_failures),
            Err(error) => BatchVerdict::FailWhole(error.to_string()),
        };
        let failed = match &verdict {
            BatchVerdict::FailWhole(_) => &batch_ids,
            BatchVerdict::DeleteAllBut(failed) => failed,
        };
        let (failed_records, succeeded_records): (Vec<SqsMessage>, Vec<SqsMessage>) = records
            .into_iter()
            .partition(|r| failed.contains(message_id(r)));
        self.telemetry.emit(RecordsFailed {
            mapping,
            count: failed_records.len() as u64,
        });
        self.journey_step(&failed_records, Step::Failed, |_| match &verdict {
            BatchVerdict::FailWhole(reason) => reason.clone(),
            BatchVerdict::DeleteAllBut(_) => "reported in batchItemFailures".to_owned(),
        });
        match verdict {
            BatchVerdict::FailWhole(reason) => {
                tracing::warn!(function, queue = %mapping, messages = failed_records.len(), %reason, "batch failed; nothing deleted");
                BatchOutcome {
                    done,
                    succeeded: false,
                }
            }
            BatchVerdict::DeleteAllBut(_) => {
                if !failed_records.is_empty() {
                    let retried: BTreeMap<&str, &str> = failed_records
                        .iter()
                        .map(|r| (message_id(r), receive_count(r)))
                        .collect();
                    tracing::info!(function, failed = ?retried, "records left for retry");
                }
                self.telemetry.emit(MappingDeleted {
                    mapping,
                    count: succeeded_records.len() as u64,
                });
                done.extend(
                    succeeded_records
                        .into_iter()
                        .filter_map(|r| r.receipt_handle),
                );
                BatchOutcome {
                    done,
                    succeeded: true,
                }
            }
        }
    }

    /// A batch throttled before the handler ran (`cause` says why, the throttle is
    /// counted already): nothing of it is deleted, so its messages come back after
    /// their visibility timeout, and the poller backs off. `done` are the filtered-out
    /// records, deleted all the same.
    fn throttled(&self, records: &[SqsMessage], cause: &str, done: Vec<String>) -> BatchOutcome {
        let function = self.function.name();
        self.journey_step(records, Step::Failed, |_| {
            format!("throttled before the handler ran ({cause})")
        });
        tracing::warn!(function, queue = %self.mapping, messages = records.len(), cause, "invocation throttled; nothing deleted");
        BatchOutcome {
            done,
            succeeded: false,
        }
    }

    /// Splits off the records no filter pattern matches; returns the kept records and
    /// the receipt handles of the others.
    fn apply_filters(&self, records: Vec<SqsMessage>) -> (Vec<SqsMessage>, Vec<String>) {
        if self.filters.is_empty() {
            return (records, Vec::new());
        }
        let mut kept = Vec::with_capacity(records.len());
        let mut dropped = Vec::new();
        for record in records {
            let as_json = serde_json::to_value(&record).unwrap_or_default();
            if event_filter::any_matches(&self.filters, &as_json) {
                kept.push(record);
            } else {
                dropped.extend(record.receipt_handle);
            }
        }
        if !dropped.is_empty() {
            tracing::info!(queue = %self.mapping, filtered_out = dropped.len(), "deleting records that match no filter pattern");
        }
        (kept, dropped)
    }

    /// Adds a step to the dashboard journey of every file the records announce.
    fn journey_step(
        &self,
        records: &[SqsMessage],
        step: Step,
        detail: impl Fn(&SqsMessage) -> String,
    ) {
        let now = eddy_store::time::now_ms();
        for record in records {
            let Some(Ok(NotificationBody::Event(event))) =
                record.body.as_deref().map(parse_notification)
            else {
                continue;
            };
            for s3 in &event.records {
                let Ok(key) = decode_key(&s3.s3.object.key) else {
                    continue;
                };
                self.telemetry.emit(FileStepReached {
                    bucket: &s3.s3.bucket.name,
                    key: &key,
                    etag: s3.s3.object.e_tag.as_deref(),
                    step,
                    at_ms: now,
                    detail: detail(record),
                });
            }
        }
    }
}

/// What the mapping does with a batch after the invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchVerdict {
    /// Delete every message but these (message ids).
    DeleteAllBut(HashSet<String>),
    /// Delete nothing; the reason is logged.
    FailWhole(String),
}

/// Applies Lambda's partial batch response rules to a function's response.
pub fn judge_response(
    response: &serde_json::Value,
    batch_ids: &HashSet<String>,
    report_failures: bool,
) -> BatchVerdict {
    use serde_json::Value;
    if !report_failures {
        return BatchVerdict::DeleteAllBut(HashSet::new());
    }
    let failures = match response {
        Value::Null => return BatchVerdict::DeleteAllBut(HashSet::new()),
        Value::Object(map) => match map.get("batchItemFailures") {
            None | Some(Value::Null) => return BatchVerdict::DeleteAllBut(HashSet::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return BatchVerdict::FailWhole("batchItemFailures is not a list".into()),
        },
        _ => return BatchVerdict::FailWhole("the response is not a JSON object".into()),
    };
    let mut failed = HashSet::new();
    for item in failures {
        let id = item
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if id.is_empty() {
            return BatchVerdict::FailWhole("a batch item failure has no itemIdentifier".into());
        }
        if !batch_ids.contains(id) {
            return BatchVerdict::FailWhole(format!(
                "itemIdentifier {id} is not a message of the batch"
            ));
        }
        failed.insert(id.to_owned());
    }
    BatchVerdict::DeleteAllBut(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids() -> HashSet<String> {
        ["a", "b"]
            .iter()
            .map(std::string::ToString::to_string)
            .collect()
    }

    #[test]
    fn partial_batch_rules() {
        let all = BatchVerdict::DeleteAllBut(HashSet::new());
        assert_eq!(judge_response(&json!(null), &ids(), true), all);
        assert_eq!(judge_response(&json!({}), &ids(), true), all);
        assert_eq!(
            judge_response(&json!({"batchItemFailures": []}), &ids(), true),
            all
        );
        assert_eq!(
            judge_response(
                &json!({"batchItemFailures": [{"itemIdentifier": "a"}]}),
                &ids(),
                true
            ),
            BatchVerdict::DeleteAllBut(["a".to_string()].into_iter().collect())
        );
        for bad in [
            json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
            json!({"batchItemFailures": [{}]}),
            json!({"batchItemFailures": [{"itemIdentifier": "zzz"}]}),
            json!({"batchItemFailures": "a"}),
            json!("text"),
            json!(42),
        ] {
            assert!(
                matches!(
                    judge_response(&bad, &ids(), true),
                    BatchVerdict::FailWhole(_)
                ),
                "{bad}"
            );
        }
        // Without ReportBatchItemFailures the response is ignored.
        assert_eq!(judge_response(&json!("text"), &ids(), false), all);
    }
}
