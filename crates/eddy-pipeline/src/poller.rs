//! The one poller loop of eddy, shared by event source mappings (over the store) and
//! `eddy worker` (over any SQS endpoint, through the AWS SDK):
//!
//! receive a batch → hand it to a [`BatchHandler`] → delete the messages it is done
//! with, backing off after failures, until shutdown.
//!
//! - The queue side is a [`MessageQueue`]: receive, delete, change visibility. Messages
//!   arrive as the records of the Lambda SQS event ([`SqsMessage`]).
//! - A batch is up to `batch_size` messages, gathered for at most `batching_window`
//!   (a window of 0 hands over what one long poll returns), optionally cut to a payload
//!   limit (messages cut off are released at once).
//! - While a handler runs, an optional heartbeat extends its messages' visibility.
//! - The pool starts `initial_pollers`, adds one each time a poller finds work while
//!   below `maximum_pollers`, and lets the added ones go when the queue is empty.
//! - A receive error or a failed batch backs the poller off (250 ms doubling to 10 s);
//!   a successful receive ends a back-off that receive errors caused, a successful
//!   batch ends any.
//! - Shutdown stops receiving (a receive in progress is abandoned: what it took becomes
//!   visible again after its visibility timeout), lets batches in hand finish and
//!   delete what they processed, and deletes nothing else.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use eddy_events::lambda::SqsMessage;
use futures::future::BoxFuture;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// Why a queue operation failed.
pub type QueueError = Box<dyn std::error::Error + Send + Sync>;

/// The queue side of a poller.
pub trait MessageQueue: Send + Sync + 'static {
    /// Receives up to `max_messages` (1 to 10), waiting up to `wait` for the first one.
    fn receive(
        &self,
        max_messages: u32,
        wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<SqsMessage>, QueueError>>;

    /// Deletes messages by receipt handle.
    fn delete(&self, receipt_handles: Vec<String>) -> BoxFuture<'_, Result<(), QueueError>>;

    /// Makes messages visible again after `timeout` (zero: at once).
    fn change_visibility(
        &self,
        receipt_handles: Vec<String>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), QueueError>>;
}

/// What a handler did with a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Receipt handles of the messages it is done with: they are deleted.
    pub done: Vec<String>,
    /// Whether the batch as a whole succeeded (a failure backs the poller off).
    pub succeeded: bool,
}

/// What processes the batches of a poller.
pub trait BatchHandler: Send + Sync + 'static {
    fn handle(&self, records: Vec<SqsMessage>) -> BoxFuture<'_, BatchOutcome>;

    /// The most batches the handler can run at once now (a function's processes), or
    /// `None` for no limit: the pool never has more pollers, so no poller holds a batch
    /// while it waits for the handler.
    fn concurrency(&self) -> Option<u32> {
        None
    }
}

/// How a pool of pollers receives.
#[derive(Debug, Clone)]
pub struct PollerSettings {
    /// Names the pollers in logs (their queue).
    pub name: String,
    /// The most messages in a batch.
    pub batch_size: u32,
    /// How long to keep gathering a batch after its first messages.
    pub batching_window: Duration,
    /// The most payload bytes a batch may have (see [`payload_bytes`]); `None`: no limit.
    pub max_payload_bytes: Option<usize>,
    /// While a batch is processed, its messages' visibility is extended to this timeout
    /// every half of it.
    pub heartbeat: Option<Duration>,
    /// Pollers started at once.
    pub initial_pollers: u32,
    /// The most pollers (concurrent batches).
    pub maximum_pollers: u32,
}

/// A running pool of pollers.
pub struct Pollers {
    shutdown: watch::Sender<bool>,
    pool: Arc<Pool>,
}

struct Pool {
    queue: Arc<dyn MessageQueue>,
    handler: Arc<dyn BatchHandler>,
    settings: PollerSettings,
    watcher: watch::Receiver<bool>,
    /// Pollers alive now.
    alive: AtomicU32,
    /// Batches being handled now, and the most ever at once.
    handling: AtomicU32,
    peak_handling: AtomicU32,
    stopped: Notify,
}

/// Starts a pool of pollers.
pub fn start(
    queue: Arc<dyn MessageQueue>,
    handler: Arc<dyn BatchHandler>,
    settings: PollerSettings,
) -> Pollers {
    let (shutdown, watcher) = watch::channel(false);
    let initial = settings
        .initial_pollers
        .clamp(1, maximum_pollers(&settings, handler.as_ref()));
    let pool = Arc::new(Pool {
        queue,
        handler,
        settings,
        watcher,
        alive: AtomicU32::new(0),
        handling: AtomicU32::new(0),
        peak_handling: AtomicU32::new(0),
        stopped: Notify::new(),
    });
    for _ in 0..initial {
        spawn_poller(&pool, true);
    }
    Pollers { shutdown, pool }
}

/// How many batches a pool of pollers is handling now; cheap to clone, usable after the
/// pool stopped (it then reads 0).
#[derive(Clone)]
pub struct BatchGauge {
    pool: Arc<Pool>,
}

impl BatchGauge {
    /// Batches received and not yet finished (handled and deleted or released).
    pub fn in_hand(&self) -> u32 {
        self.pool.handling.load(Ordering::SeqCst)
    }
}

impl Pollers {
    /// Reads how many batches this pool is handling.
    pub fn gauge(&self) -> BatchGauge {
        BatchGauge {
            pool: self.pool.clone(),
        }
    }

    /// Stops receiving, lets the batches in hand finish, and waits for the pollers.
    /// Returns the most batches that were ever handled at once.
    pub async fn stop(self) -> u32 {
        let _ = self.shutdown.send(true);
        loop {
            let stopped = self.pool.stopped.notified();
            if self.pool.alive.load(Ordering::SeqCst) == 0 {
                break;
            }
            stopped.await;
        }
        self.pool.peak_handling.load(Ordering::SeqCst)
    }
}

/// The most pollers now: the settings' maximum, bounded by what the handler can run at
/// once (at least one).
fn maximum_pollers(settings: &PollerSettings, handler: &dyn BatchHandler) -> u32 {
    settings
        .maximum_pollers
        .min(handler.concurrency().unwrap_or(u32::MAX))
        .max(1)
}

/// Starts one more poller unless the maximum is reached; returns whether it did.
/// A permanent poller runs until shutdown; another one ends at the first empty receive.
fn spawn_poller(pool: &Arc<Pool>, permanent: bool) -> bool {
    let maximum = maximum_pollers(&pool.settings, pool.handler.as_ref());
    let claimed = pool
        .alive
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |alive| {
            (alive < maximum).then_some(alive + 1)
        });
    let Ok(number) = claimed else {
        return false;
    };
    if !permanent {
        tracing::debug!(queue = %pool.settings.name, pollers = number + 1, "scaling up");
    }
    let pool = pool.clone();
    tokio::spawn(async move {
        poll_loop(&pool, number, permanent).await;
        pool.alive.fetch_sub(1, Ordering::SeqCst);
        pool.stopped.notify_waiters();
    });
    true
}

/// How long a poller waits before its next receive.
#[derive(Debug, Default)]
struct Backoff {
    delay: Duration,
    /// Whether receive errors (not failed batches) caused the delay.
    after_receive_error: bool,
}

impl Backoff {
    fn failed(&mut self, receiving: bool) {
        self.delay = if self.delay.is_zero() {
            Duration::from_millis(250)
        } else {
            (self.delay * 2).min(Duration::from_secs(10))
        };
        self.after_receive_error = receiving;
    }

    fn received(&mut self) {
        if self.after_receive_error {
            *self = Self::default();
        }
    }

    fn batch_done(&mut self, succeeded: bool) {
        if succeeded {
            *self = Self::default();
        } else {
            self.failed(false);
        }
    }
}

async fn poll_loop(pool: &Arc<Pool>, poller: u32, permanent: bool) {
    let settings = &pool.settings;
    let mut shutdown = pool.watcher.clone();
    let mut backoff = Backoff::default();
    loop {
        if *shutdown.borrow() {
            return;
        }
        if !backoff.delay.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(backoff.delay) => {}
                _ = shutdown.changed() => return,
            }
        }
        let batch = tokio::select! {
            batch = gather_batch(pool.queue.as_ref(), settings) => batch,
            _ = shutdown.changed() => return,
        };
        let records = match batch {
            Ok(records) if records.is_empty() && !permanent => return,
            Ok(records) => {
                backoff.received();
                if records.is_empty() {
                    continue;
                }
                records
            }
            Err(error) => {
                tracing::warn!(queue = %settings.name, poller, error = %eddy_store::error::report(&*error), "receive failed");
                backoff.failed(true);
                continue;
            }
        };
        // The queue has work: add a poller while below the maximum.
        spawn_poller(pool, false);
        let now = pool.handling.fetch_add(1, Ordering::SeqCst) + 1;
        pool.peak_handling.fetch_max(now, Ordering::SeqCst);
        let succeeded = run_batch(pool, records).await;
        pool.handling.fetch_sub(1, Ordering::SeqCst);
        backoff.batch_done(succeeded);
    }
}

/// Hands a batch to the handler (with the heartbeat, if any) and deletes what it is
/// done with. Returns whether the batch succeeded.
async fn run_batch(pool: &Pool, records: Vec<SqsMessage>) -> bool {
    let settings = &pool.settings;
    let outcome = match settings.heartbeat {
        None => pool.handler.handle(records).await,
        Some(timeout) => {
            let handles = receipt_handles(&records);
            let (done_tx, done_rx) = watch::channel(false);
            let work = async {
                let outcome = pool.handler.handle(records).await;
                let _ = done_tx.send(true);
                outcome
            };
            let beat = heartbeat(pool.queue.as_ref(), settings, handles, timeout, done_rx);
            tokio::join!(work, beat).0
        }
    };
    if !outcome.done.is_empty()
        && let Err(error) = pool.queue.delete(outcome.done).await
    {
        tracing::warn!(queue = %settings.name, error = %eddy_store::error::report(&*error), "could not delete processed messages");
    }
    outcome.succeeded
}

/// Extends the visibility of a batch's messages to `timeout` every half of it, until
/// `done`.
async fn heartbeat(
    queue: &dyn MessageQueue,
    settings: &PollerSettings,
    handles: Vec<String>,
    timeout: Duration,
    mut done: watch::Receiver<bool>,
) {
    let period = (timeout / 2).max(Duration::from_millis(500));
    loop {
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = done.changed() => return,
        }
        match queue.change_visibility(handles.clone(), timeout).await {
            Ok(()) => tracing::debug!(messages = handles.len(), "visibility extended"),
            Err(error) => {
                tracing::warn!(queue = %settings.name, error = %eddy_store::error::report(&*error), "could not extend visibility");
            }
        }
    }
}

/// The receipt handles of records.
pub fn receipt_handles(records: &[SqsMessage]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| r.receipt_handle.clone())
        .collect()
}

/// What a record adds to an invocation payload: its body plus room for its other
/// fields.
pub fn payload_bytes(record: &SqsMessage) -> usize {
    let attributes: usize = record
        .message_attributes
        .iter()
        .map(|(name, value)| {
            name.len()
                + value.string_value.as_ref().map_or(0, String::len)
                + value
                    .binary_value
                    .as_ref()
                    .map_or(0, |b| b.len() * 4 / 3 + 4)
                + 64
        })
        .sum();
    record.body.as_ref().map_or(0, String::len)
        + record.receipt_handle.as_ref().map_or(0, String::len)
        + attributes
        + 512
}

/// Receives one batch: waits (long poll) for the first messages, then, with a batching
/// window, keeps gathering until the batch is full, reaches the payload limit, or the
/// window closes. Receives are never cut short by the window: a receive abandoned
/// midway could take messages (and count a receive) that nobody processes.
async fn gather_batch(
    queue: &dyn MessageQueue,
    settings: &PollerSettings,
) -> Result<Vec<SqsMessage>, QueueError> {
    let want = settings.batch_size.max(1) as usize;
    let limit = settings.max_payload_bytes.unwrap_or(usize::MAX);
    let mut batch = queue
        .receive(want.min(10) as u32, Duration::from_secs(20))
        .await?;
    if !batch.is_empty() && !settings.batching_window.is_zero() {
        let window_end = Instant::now() + settings.batching_window;
        let mut bytes: usize = batch.iter().map(payload_bytes).sum();
        while batch.len() < want && bytes < limit {
            let remaining = window_end.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break;
            }
            // Long polls wait whole seconds; the last fraction of a second is polled.
            let wait = remaining.as_secs().min(20);
            let records = queue
                .receive(
                    (want - batch.len()).min(10) as u32,
                    Duration::from_secs(wait),
                )
                .await?;
            if records.is_empty() && wait == 0 {
                tokio::time::sleep(remaining.min(Duration::from_millis(50))).await;
            }
            bytes += records.iter().map(payload_bytes).sum::<usize>();
            batch.extend(records);
        }
    }
    if settings.max_payload_bytes.is_some() {
        batch = release_beyond_payload_limit(queue, settings, batch, limit).await;
    }
    Ok(batch)
}

/// Cuts a batch to the payload limit (always keeping its first message) and makes the
/// messages cut off visible again at once.
async fn release_beyond_payload_limit(
    queue: &dyn MessageQueue,
    settings: &PollerSettings,
    mut batch: Vec<SqsMessage>,
    limit: usize,
) -> Vec<SqsMessage> {
    let mut bytes = 0usize;
    let keep = batch
        .iter()
        .position(|record| {
            bytes += payload_bytes(record);
            bytes > limit
        })
        .unwrap_or(batch.len())
        .max(1);
    let released = receipt_handles(&batch.split_off(keep.min(batch.len())));
    if !released.is_empty()
        && let Err(error) = queue.change_visibility(released, Duration::ZERO).await
    {
        tracing::warn!(queue = %settings.name, error = %eddy_store::error::report(&*error), "could not release messages beyond the payload limit");
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use eddy_store::sqs::SendRequest;
    use eddy_store::{Store, StoreSettings};

    use crate::store_queue::StoreQueue;

    /// A store in `dir` with queue `q` holding one message of each body.
    async fn store_with_queue(
        dir: &std::path::Path,
        bodies: impl IntoIterator<Item = String>,
    ) -> Store {
        let settings = StoreSettings {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            access_key_id: "test".into(),
        };
        let store = Store::open(dir, settings, Default::default()).expect("store");
        store
            .queues()
            .create("q".into(), Default::default(), Default::default())
            .await
            .expect("queue");
        for body in bodies {
            let request = SendRequest {
                body,
                ..SendRequest::default()
            };
            store.messages().send("q", request).await.expect("send");
        }
        store
    }

    /// Takes every record whose body starts with `ok`, leaves the others.
    #[derive(Default)]
    struct TakeOk {
        seen: Mutex<Vec<String>>,
    }

    impl BatchHandler for TakeOk {
        fn handle(&self, records: Vec<SqsMessage>) -> BoxFuture<'_, BatchOutcome> {
            Box::pin(async move {
                let mut done = Vec::new();
                for record in records {
                    let body = record.body.unwrap_or_default();
                    if body.starts_with("ok") {
                        done.extend(record.receipt_handle);
                    }
                    self.seen.lock().expect("seen").push(body);
                }
                BatchOutcome {
                    done,
                    succeeded: true,
                }
            })
        }
    }

    /// The loop over a real store: every message is handed over, what the handler is
    /// done with is deleted, the rest stays in flight; stop waits for the pollers.
    #[tokio::test]
    async fn pollers_over_the_store_delete_what_is_done() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = store_with_queue(dir.path(), ["ok-1", "keep", "ok-2"].map(String::from)).await;
        let handler = Arc::new(TakeOk::default());
        let pollers = start(
            Arc::new(StoreQueue::new(store.clone(), "q".into())),
            handler.clone(),
            PollerSettings {
                name: "q".into(),
                batch_size: 10,
                batching_window: Duration::ZERO,
                max_payload_bytes: None,
                heartbeat: None,
                initial_pollers: 2,
                maximum_pollers: 2,
            },
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let counts = store.queues().snapshot().await.expect("counts")[0].1;
            let seen = handler.seen.lock().expect("seen").len();
            if seen == 3 && counts.visible + counts.not_visible == 1 {
                break;
            }
            assert!(Instant::now() < deadline, "seen {seen}, counts {counts:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(pollers.stop().await >= 1);
        let left = store.messages().peek("q", 10).await.expect("peek");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].body, "keep");
        assert!(!left[0].visible, "the message left is in flight");
        store.close();
    }

    /// Takes every record, slowly, and can run `limit` batches at once.
    struct Slow {
        limit: u32,
        running: AtomicU32,
        most: AtomicU32,
        handled: AtomicU32,
    }

    impl BatchHandler for Slow {
        fn handle(&self, records: Vec<SqsMessage>) -> BoxFuture<'_, BatchOutcome> {
            Box::pin(async move {
                let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
                self.most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(15)).await;
                self.running.fetch_sub(1, Ordering::SeqCst);
                self.handled
                    .fetch_add(records.len() as u32, Ordering::SeqCst);
                BatchOutcome {
                    done: records
                        .into_iter()
                        .filter_map(|r| r.receipt_handle)
                        .collect(),
                    succeeded: true,
                }
            })
        }

        fn concurrency(&self) -> Option<u32> {
            Some(self.limit)
        }
    }

    /// A handler that runs two batches at once gets two pollers, never more, though the
    /// settings start five and allow ten: no batch waits in hand for the handler.
    #[tokio::test]
    async fn pollers_are_bounded_by_what_the_handler_runs_at_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = store_with_queue(dir.path(), (0..30).map(|i| format!("m{i}"))).await;
        let handler = Arc::new(Slow {
            limit: 2,
            running: AtomicU32::new(0),
            most: AtomicU32::new(0),
            handled: AtomicU32::new(0),
        });
        let pollers = start(
            Arc::new(StoreQueue::new(store.clone(), "q".into())),
            handler.clone(),
            PollerSettings {
                name: "q".into(),
                batch_size: 1,
                batching_window: Duration::ZERO,
                max_payload_bytes: None,
                heartbeat: None,
                initial_pollers: 5,
                maximum_pollers: 10,
            },
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while handler.handled.load(Ordering::SeqCst) < 30 {
            let counts = store.queues().snapshot().await.expect("counts")[0].1;
            assert!(counts.not_visible <= 2, "{counts:?} in hand");
            assert!(Instant::now() < deadline, "not every message was handled");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(pollers.stop().await, 2);
        assert_eq!(handler.most.load(Ordering::SeqCst), 2);
        store.close();
    }

    #[test]
    fn back_off_doubles_and_ends_as_its_cause_says() {
        let mut backoff = Backoff::default();
        backoff.failed(true);
        assert_eq!(backoff.delay, Duration::from_millis(250));
        backoff.failed(true);
        assert_eq!(backoff.delay, Duration::from_millis(500));
        backoff.received();
        assert!(backoff.delay.is_zero(), "a receive ends a receive back-off");
        backoff.batch_done(false);
        backoff.batch_done(false);
        backoff.received();
        assert_eq!(
            backoff.delay,
            Duration::from_millis(500),
            "a receive does not end a failed-batch back-off"
        );
        for _ in 0..10 {
            backoff.batch_done(false);
        }
        assert_eq!(backoff.delay, Duration::from_secs(10));
        backoff.batch_done(true);
        assert!(backoff.delay.is_zero());
    }
}
