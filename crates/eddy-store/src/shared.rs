//! What every service handle of the store works with: the settings, the database, the
//! blob files, the telemetry, and the in-memory coordination of one running store (the
//! notifiers long-polling receives wait on, the event sequencer).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use eddy_telemetry::Telemetry;
use tokio::sync::Notify;

use crate::blobs::Blobs;
use crate::db::Db;
use crate::time;

/// Identity settings of the store: what ARNs, URLs and events carry.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub region: String,
    pub account_id: String,
    /// Used as principal id in events and as SenderId of messages.
    pub access_key_id: String,
}

/// The state one open store shares between its handles.
pub(crate) struct Shared {
    pub settings: StoreSettings,
    pub data_dir: PathBuf,
    pub db: Db,
    pub blobs: Blobs,
    pub telemetry: Telemetry,
    /// The faults injected on demand (duplicate and delayed events, early redelivery).
    pub faults: Arc<eddy_faults::Faults>,
    /// Long-polling receivers wait on their queue's notifier; sends wake them.
    queue_wakers: Mutex<HashMap<String, Arc<Notify>>>,
    /// Source of event sequencers: strictly increasing, across restarts too.
    sequencer: AtomicU64,
    /// Function log events waiting for their flush (see `Logs::append`).
    log_buffer: Mutex<Vec<crate::log_batch::LogBatch>>,
    /// The region of each bucket looked up since the last change of the bucket set
    /// (S3 checks it on every request; a bucket's region never changes).
    bucket_regions: Mutex<HashMap<String, String>>,
    /// Held by a flush of the log buffer while it writes, so a flush that finds the
    /// buffer empty still returns only after the events taken before it are stored.
    pub(crate) log_flush: tokio::sync::Mutex<()>,
    /// Notified when asynchronous invocations are queued (the invoker waits on it).
    pub invocations_waker: Notify,
    /// No restore of `s3_restores` completes before this time (ms since the epoch; 0:
    /// unknown), so the restore sweep, which runs every 200 ms, reads nothing before
    /// then. Written only by closures on the writer thread, in the order of their
    /// writes: lowered by each restore recorded, set by the sweep from the table.
    pub(crate) restores_due_ms: AtomicU64,
}

impl Shared {
    pub fn new(
        settings: StoreSettings,
        data_dir: PathBuf,
        db: Db,
        blobs: Blobs,
        telemetry: Telemetry,
    ) -> Self {
        Self {
            settings,
            data_dir,
            db,
            blobs,
            faults: Arc::new(eddy_faults::Faults::new(telemetry.clone())),
            telemetry,
            queue_wakers: Mutex::new(HashMap::new()),
            sequencer: AtomicU64::new(time::now_ms().saturating_mul(1_000_000)),
            log_buffer: Mutex::new(Vec::new()),
            bucket_regions: Mutex::new(HashMap::new()),
            log_flush: tokio::sync::Mutex::new(()),
            invocations_waker: Notify::new(),
            restores_due_ms: AtomicU64::new(0),
        }
    }

    /// The function log events waiting to be written.
    pub fn lock_log_buffer(&self) -> std::sync::MutexGuard<'_, Vec<crate::log_batch::LogBatch>> {
        match self.log_buffer.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The ARN of a queue of this store.
    pub fn queue_arn(&self, name: &str) -> String {
        crate::sqs::regions::key_arn(&self.settings.region, &self.settings.account_id, name)
    }

    /// The next event sequencer: increasing for every event of the store.
    pub fn next_sequencer(&self) -> String {
        let floor = time::now_ms().saturating_mul(1_000_000);
        let mut current = self.sequencer.load(Ordering::Relaxed);
        loop {
            let next = current.max(floor) + 1;
            match self.sequencer.compare_exchange(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return format!("{next:016X}"),
                Err(actual) => current = actual,
            }
        }
    }

    /// The cached regions of buckets (see [`crate::s3::Buckets::region`]).
    pub fn bucket_regions(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        match self.bucket_regions.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The notifier long-polling receives of `queue` wait on.
    pub fn queue_waker(&self, queue: &str) -> Arc<Notify> {
        let mut wakers = match self.queue_wakers.lock() {
            Ok(wakers) => wakers,
            Err(poisoned) => poisoned.into_inner(),
        };
        wakers.entry(queue.to_owned()).or_default().clone()
    }

    /// Wakes the receivers waiting on `queue`.
    pub fn wake_queue(&self, queue: &str) {
        self.queue_waker(queue).notify_waiters();
    }

    /// Wakes the receivers waiting on each of `queues`.
    pub fn wake_queues(&self, queues: &[String]) {
        for queue in queues {
            self.wake_queue(queue);
        }
    }
}
