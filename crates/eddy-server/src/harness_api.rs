//! The work behind the test-suite endpoints (`POST /_eddy/api/reset`,
//! `GET /_eddy/api/idle`): reading what is pending, waiting until nothing is, and
//! resetting the store and the front's own state. The [`Harness`] they work with is
//! described in [`crate::harness`]; this module is apart from it so that the request
//! state ([`AppState`]), which holds the harness, and the code that uses both do not
//! import each other.

use std::time::{Duration, Instant};

use eddy_store::reset::ResetReport;

use crate::harness::{
    Harness, IDLE_POLL, IdleAnswer, Pending, PendingInvocation, PendingMessage, PendingQueue,
};
use crate::state::AppState;

/// Messages listed per pending queue.
const LISTED_MESSAGES: usize = 10;

/// The mapped queues that hold messages and the mappings with batches in hand; with
/// `detail`, also the first messages of each such queue.
async fn pending(state: &AppState, harness: &Harness, detail: bool) -> Result<Pending, String> {
    let mut pending = Pending::default();
    // Gauges first: a batch that finishes between the two reads has deleted its
    // messages before its gauge drops, so it is seen in one read or the other.
    for probe in &harness.mappings {
        let batches_in_hand = (probe.batches_in_hand)();
        if batches_in_hand > 0 {
            pending.invocations.push(PendingInvocation {
                queue: probe.queue.clone(),
                function: probe.function.clone(),
                batches_in_hand,
            });
        }
    }
    let snapshot = state
        .store
        .queues()
        .snapshot()
        .await
        .map_err(|e| e.to_string())?;
    let now = eddy_store::time::now_ms();
    for (queue, counts) in snapshot {
        let Some(probe) = harness.mappings.iter().find(|m| m.queue == queue.name) else {
            continue;
        };
        if counts.visible + counts.not_visible + counts.delayed == 0 {
            continue;
        }
        let messages = if detail {
            state
                .store
                .messages()
                .peek(&queue.name, LISTED_MESSAGES)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|m| PendingMessage {
                    message_id: m.message_id,
                    receive_count: m.receive_count,
                    visible: m.visible,
                    age_ms: now.saturating_sub(m.sent_ms),
                })
                .collect()
        } else {
            Vec::new()
        };
        pending.queues.push(PendingQueue {
            queue: queue.name,
            function: probe.function.clone(),
            visible: counts.visible,
            in_flight: counts.not_visible,
            delayed: counts.delayed,
            oldest_age_ms: counts.oldest_sent_ms.map_or(0, |s| now.saturating_sub(s)),
            messages,
        });
    }
    Ok(pending)
}

/// Waits until the pipeline is idle or `timeout` passes.
pub async fn wait_idle(
    state: &AppState,
    harness: &Harness,
    timeout: Duration,
) -> Result<IdleAnswer, String> {
    let started = Instant::now();
    loop {
        let now = pending(state, harness, false).await?;
        if now.is_idle() {
            return Ok(IdleAnswer {
                idle: true,
                waited_ms: started.elapsed().as_millis() as u64,
                pending: None,
            });
        }
        if started.elapsed() >= timeout {
            let detail = pending(state, harness, true).await?;
            if detail.is_idle() {
                continue;
            }
            return Ok(IdleAnswer {
                idle: false,
                waited_ms: started.elapsed().as_millis() as u64,
                pending: Some(detail),
            });
        }
        tokio::time::sleep(IDLE_POLL).await;
    }
}

/// Resets the store to its start-up configuration and forgets the front's own state
/// (the PurgeQueue rate limit, the recent files, the faults in force).
pub async fn reset(state: &AppState, harness: &Harness) -> Result<ResetReport, String> {
    let report = state
        .store
        .reset(&harness.baseline)
        .await
        .map_err(|e| eddy_store::error::report(&e))?;
    state.forget_purges();
    // Temporary credentials issued since start-up are gone with the rows that held them.
    let sessions = state
        .store
        .sts_sessions()
        .list()
        .await
        .map_err(|e| eddy_store::error::report(&e))?;
    state.sessions.replace(sessions);
    let _ = state.faults.set(Vec::new());
    state.store.telemetry().activity().clear();
    Ok(report)
}
