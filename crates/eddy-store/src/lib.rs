//! eddy's durable state: buckets, objects and their versions, multipart uploads, bucket
//! notifications, queues and messages, with the semantics of S3 and SQS.
//!
//! A [`Store`] is opened on a data directory and handed around (it is cheap to clone).
//! Each service is a handle borrowed from it, with the operations of that service:
//!
//! - [`Store::buckets`], [`Store::bucket_configs`], [`Store::objects`], [`Store::uploads`] and
//!   [`Store::notifications`]: S3 ([`s3`]);
//! - [`Store::queues`], [`Store::messages`] and [`Store::move_tasks`]: SQS ([`sqs`]);
//! - [`Store::functions`] and [`Store::event_source_mappings`]: Lambda functions and
//!   event source mappings created through the Lambda API ([`lambda`],
//!   [`event_source_mappings`]), with their versions, aliases, queued asynchronous
//!   invocations and event invoke configurations;
//! - [`Store::logs`]: CloudWatch Logs groups, streams and events ([`logs`]);
//! - [`Store::iam_roles`], [`Store::iam_policies`] and [`Store::sts_sessions`]: IAM
//!   roles and managed policies, and the temporary credentials STS issued ([`iam`],
//!   [`sts`]);
//! - [`Store::blobs`]: receiving object bodies before they are committed ([`blobs`]);
//! - [`Store::reset`]: back to the configuration captured at start-up ([`reset`]).
//!
//! Underneath: [`db`] (SQLite in WAL mode, one writer thread with group commit, a pool
//! of readers), [`tx`] (how a transaction closure succeeds, aborts or fails), [`schema`]
//! (numbered migrations), [`blobs`] (immutable object files and inline bytes). An
//! object change and the notification messages it raises commit in one transaction
//! (the outbox), and no write is acknowledged before it is durable.
//!
//! The store reports what happens through [`eddy_telemetry`] events. It keeps the
//! configuration and code of API-created functions but runs no function, knows no
//! event source mapping and no HTTP: the pipeline and the server use it.
//! A new service gets its own module and handle, and its tables come with a new
//! migration.

pub mod blobs;
pub mod db;
mod durability;
pub mod error;
pub mod event_source_mappings;
pub mod iam;
pub mod ids;
pub mod lambda;
pub mod lambda_async;
pub mod lambda_event_config;
pub mod lambda_versions;
mod log_batch;
pub mod logs;
pub mod reset;
pub mod s3;
mod schema;
mod shared;
pub mod sqs;
pub mod sts;
pub mod time;
pub mod tx;

use std::path::Path;
use std::sync::Arc;

use eddy_telemetry::Telemetry;

use crate::blobs::Blobs;
use crate::db::Db;
use crate::error::StoreError;
use crate::shared::Shared;

pub use crate::durability::Durability;
pub use crate::shared::StoreSettings;

/// The store: cheap to clone, shared by every request handler and poller.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

impl Store {
    /// Opens the store in `data_dir`, creating it if needed: brings the database up to
    /// the current schema and recovers whatever an earlier run left unfinished.
    /// What happens is reported to `telemetry`.
    pub fn open(
        data_dir: &Path,
        settings: StoreSettings,
        telemetry: Telemetry,
    ) -> Result<Self, StoreError> {
        Self::open_with(data_dir, settings, telemetry, Durability::Full)
    }

    /// [`Store::open`] with a choice of durability ([`Durability::SkipFsync`] for a
    /// throw-away store).
    pub fn open_with(
        data_dir: &Path,
        settings: StoreSettings,
        telemetry: Telemetry,
        durability: Durability,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let db_path = data_dir.join("eddy.sqlite3");
        migrate_and_recover(&db_path)?;
        let db = Db::open(&db_path, durability)?;
        let blobs = Blobs::open(data_dir, durability)?;
        let referenced = referenced_blobs(&db_path)?;
        let removed = blobs.recover(&referenced)?;
        if removed > 0 {
            tracing::info!(removed, "removed files left by an unfinished write");
        }
        Ok(Self {
            shared: Arc::new(Shared::new(
                settings,
                data_dir.to_owned(),
                db,
                blobs,
                telemetry,
            )),
        })
    }

    /// Sets how long an S3 lifecycle day lasts (lifecycle rules' days, the days of a
    /// restored copy): a real day by default, shorter for tests
    /// (`lifecycle_day_seconds`). Applies to the restores requested afterwards.
    pub fn set_lifecycle_day(&self, day: std::time::Duration) {
        let ms = u64::try_from(day.as_millis()).unwrap_or(u64::MAX).max(1);
        self.shared
            .lifecycle_day_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long an S3 lifecycle day lasts, in milliseconds (see `set_lifecycle_day`).
    pub fn lifecycle_day_ms(&self) -> u64 {
        self.shared
            .lifecycle_day_ms
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(1)
    }

    pub fn settings(&self) -> &StoreSettings {
        &self.shared.settings
    }

    pub fn data_dir(&self) -> &Path {
        &self.shared.data_dir
    }

    /// Where the store's events go (and the dashboard's journeys live).
    pub fn telemetry(&self) -> &Telemetry {
        &self.shared.telemetry
    }

    /// The faults injected on demand: the store strikes the event and receive faults,
    /// the pipeline and the HTTP front ask it about theirs.
    pub fn faults(&self) -> &Arc<eddy_faults::Faults> {
        &self.shared.faults
    }

    /// The ARN of a queue of this store.
    pub fn queue_arn(&self, name: &str) -> String {
        self.shared.queue_arn(name)
    }

    /// Receiving object bodies (staging) before an object or part commits them.
    pub fn blobs(&self) -> &Blobs {
        &self.shared.blobs
    }

    /// S3 buckets: creation, listing, versioning and tags.
    pub fn buckets(&self) -> s3::Buckets<'_> {
        s3::Buckets::new(&self.shared)
    }

    /// Bucket configurations: CORS, lifecycle, policy, encryption and the others.
    pub fn bucket_configs(&self) -> s3::BucketConfigs<'_> {
        s3::BucketConfigs::new(&self.shared)
    }

    /// Bucket notification configurations.
    pub fn notifications(&self) -> s3::Notifications<'_> {
        s3::Notifications::new(&self.shared)
    }

    /// S3 objects and their versions: writes, reads, copies, deletes, listings, tags.
    pub fn objects(&self) -> s3::Objects<'_> {
        s3::Objects::new(&self.shared)
    }

    /// S3 multipart uploads.
    pub fn uploads(&self) -> s3::Uploads<'_> {
        s3::Uploads::new(&self.shared)
    }

    /// SQS queues: creation, attributes, tags, permissions, purges, counts.
    pub fn queues(&self) -> sqs::Queues<'_> {
        sqs::Queues::new(&self.shared)
    }

    /// SQS messages: send, receive, delete, visibility, and operators' views.
    pub fn messages(&self) -> sqs::Messages<'_> {
        sqs::Messages::new(&self.shared)
    }

    /// Lambda functions created through the API: configuration and deployment package.
    pub fn functions(&self) -> lambda::Functions<'_> {
        lambda::Functions::new(&self.shared)
    }

    /// How asynchronous invocations of API-created functions are retried and where
    /// their outcomes go (PutFunctionEventInvokeConfig).
    pub fn event_invoke_configs(&self) -> lambda_event_config::EventInvokeConfigs<'_> {
        lambda_event_config::EventInvokeConfigs::new(&self.shared)
    }

    /// Asynchronous invocations waiting to run or to be retried.
    pub fn async_invocations(&self) -> lambda_async::AsyncInvocations<'_> {
        lambda_async::AsyncInvocations::new(&self.shared)
    }

    /// Published versions of API-created functions.
    pub fn function_versions(&self) -> lambda_versions::FunctionVersions<'_> {
        lambda_versions::FunctionVersions::new(&self.shared)
    }

    /// Aliases of API-created functions.
    pub fn function_aliases(&self) -> lambda_versions::Aliases<'_> {
        lambda_versions::Aliases::new(&self.shared)
    }

    /// Lambda event source mappings created through the API.
    pub fn event_source_mappings(&self) -> event_source_mappings::EventSourceMappings<'_> {
        event_source_mappings::EventSourceMappings::new(&self.shared)
    }

    /// CloudWatch Logs: groups, streams, events, retention, tags.
    pub fn logs(&self) -> logs::Logs<'_> {
        logs::Logs::new(&self.shared)
    }

    /// IAM roles with their trust policy, tags, inline and attached policies.
    pub fn iam_roles(&self) -> iam::Roles<'_> {
        iam::Roles::new(&self.shared)
    }

    /// IAM customer managed policies and their versions.
    pub fn iam_policies(&self) -> iam::Policies<'_> {
        iam::Policies::new(&self.shared)
    }

    /// Temporary credentials issued by STS AssumeRole.
    pub fn sts_sessions(&self) -> sts::Sessions<'_> {
        sts::Sessions::new(&self.shared)
    }

    /// SQS message move tasks (dead-letter queue redrive).
    pub fn move_tasks(&self) -> sqs::MoveTasks<'_> {
        sqs::MoveTasks::new(&self.shared)
    }

    /// Flushes and closes the database: call after every request has finished.
    pub fn close(&self) {
        self.shared.db.close();
    }
}

/// Brings the database up to the current schema and recovers what a stop interrupted,
/// in one transaction: one commit, one fsync, and an interrupted start leaves nothing
/// half done.
fn migrate_and_recover(db_path: &Path) -> Result<(), StoreError> {
    let conn = rusqlite::Connection::open(db_path)?;
    // WAL first: it is a property of the file, set outside any transaction.
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; BEGIN IMMEDIATE;")?;
    let before = schema::migrate(&conn)?;
    sqs::recover_move_tasks(&conn)?;
    conn.execute_batch("COMMIT")?;
    if before != schema::current_version() {
        tracing::info!(
            from = before,
            to = schema::current_version(),
            "database schema brought up to date"
        );
    }
    Ok(())
}

/// Every blob id the database names (objects, their older versions, multipart parts).
fn referenced_blobs(db_path: &Path) -> Result<std::collections::HashSet<String>, StoreError> {
    let conn = rusqlite::Connection::open(db_path)?;
    let mut set = std::collections::HashSet::new();
    for sql in [
        "SELECT blob FROM objects",
        "SELECT blob FROM object_versions WHERE blob IS NOT NULL",
        "SELECT blob FROM parts",
    ] {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
        for row in rows {
            set.insert(row?);
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests;
