//! The database schema, as an ordered list of numbered migrations.
//!
//! The `meta` table's `schema_version` row says which migrations a data directory has
//! had. Opening a directory runs the ones it lacks, in order, inside the caller's
//! transaction, and records the new version: an interrupted upgrade leaves nothing half
//! done, and a directory written by a newer eddy is refused rather than misread.
//!
//! Migration 1 is the schema of every release before versions were recorded: it creates
//! what is missing and adds the columns older directories lack, so any data directory
//! eddy ever wrote opens. A change to the schema is a new migration at the end of
//! [`MIGRATIONS`] (a new table for a new service, a new column, an index); released
//! migrations never change.

use rusqlite::{Connection, OptionalExtension};

use crate::error::StoreError;

/// One step of the schema's history.
pub(crate) struct Migration {
    /// Its number: the schema version a directory has once it ran.
    pub version: u32,
    /// What it changes, for the log.
    pub description: &'static str,
    pub apply: fn(&Connection) -> Result<(), StoreError>,
    /// The tables it creates, each with what a reset does to it (a test checks that
    /// every table of the schema is declared exactly once).
    pub tables: &'static [Table],
}

/// A table and what it holds, which decides what a reset does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Table {
    pub name: &'static str,
    pub kind: TableKind,
}

/// What a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TableKind {
    /// What requests write (objects, messages, logs, ...): a reset empties it.
    Data,
    /// What the pipeline is made of (buckets, queues, functions, roles, ...): a reset
    /// puts back the rows captured at start-up.
    Configuration,
    /// The store's own bookkeeping (the schema version): a reset leaves it alone.
    Kept,
}

const fn data(name: &'static str) -> Table {
    Table {
        name,
        kind: TableKind::Data,
    }
}

const fn configuration(name: &'static str) -> Table {
    Table {
        name,
        kind: TableKind::Configuration,
    }
}

/// The tables of `kind`, in the order their migrations declare them.
pub(crate) fn tables_of(kind: TableKind) -> impl Iterator<Item = &'static str> {
    MIGRATIONS
        .iter()
        .flat_map(|m| m.tables.iter())
        .filter(move |t| t.kind == kind)
        .map(|t| t.name)
}

/// Every migration, in order; the last one's version is the current schema version.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "buckets, objects, versions, uploads, queues, messages, move tasks, inline blobs",
        apply: baseline,
        tables: &[
            configuration("buckets"),
            configuration("queues"),
            // Emptied children first: parts and uploads, then versions and objects.
            data("parts"),
            data("uploads"),
            data("completed_uploads"),
            data("object_versions"),
            data("objects"),
            data("inline_blobs"),
            data("fifo_deduplication"),
            data("receive_attempts"),
            data("messages"),
            data("message_move_tasks"),
            data("deleted_queues"),
            Table {
                name: "meta",
                kind: TableKind::Kept,
            },
        ],
    },
    Migration {
        version: 2,
        description: "Lambda functions deployed through the API, with their code",
        apply: lambda_functions,
        tables: &[configuration("lambda_functions")],
    },
    Migration {
        version: 3,
        description: "Lambda event source mappings created through the API",
        apply: lambda_event_source_mappings,
        tables: &[configuration("lambda_event_source_mappings")],
    },
    Migration {
        version: 4,
        description: "Lambda function versions and aliases",
        apply: lambda_versions_and_aliases,
        tables: &[
            configuration("lambda_function_versions"),
            configuration("lambda_aliases"),
        ],
    },
    Migration {
        version: 5,
        description: "Lambda asynchronous invocations waiting to run or to be retried",
        apply: lambda_async_invocations,
        tables: &[data("lambda_async_invocations")],
    },
    Migration {
        version: 6,
        description: "bucket configurations (CORS, lifecycle, policy, encryption, ...)",
        apply: bucket_configs,
        tables: &[configuration("bucket_configs")],
    },
    Migration {
        version: 7,
        description: "message counts per queue, kept by triggers; messages indexed by send time",
        apply: message_counts,
        tables: &[
            // Kept by triggers on `messages` until migration 12, then by the statements
            // that change messages; a queue without a row counts 0.
            data("queue_message_counts"),
        ],
    },
    Migration {
        version: 8,
        description: "CloudWatch Logs: log groups, log streams and log events",
        apply: log_groups_streams_events,
        tables: &[
            data("log_events"),
            data("log_streams"),
            configuration("log_groups"),
        ],
    },
    Migration {
        version: 9,
        description: "IAM roles and managed policies; STS temporary credentials",
        apply: iam_and_sts,
        tables: &[
            configuration("iam_roles"),
            configuration("iam_policies"),
            // Credentials issued since start-up are refused after a reset.
            configuration("sts_sessions"),
        ],
    },
    Migration {
        version: 10,
        description: "Lambda event invoke configs; asynchronous invocations keep their qualifier and first queuing time",
        apply: lambda_event_invoke_configs,
        tables: &[configuration("lambda_event_invoke_configs")],
    },
    Migration {
        version: 11,
        description: "checksums of multipart parts; attributes of completed uploads",
        apply: part_checksums,
        // New columns only: `parts` and `completed_uploads` are baseline tables.
        tables: &[],
    },
    Migration {
        version: 12,
        description: "restores of archived S3 objects awaiting their completion event",
        apply: s3_restores,
        tables: &[data("s3_restores")],
    },
    Migration {
        version: 13,
        description: "message counts per queue kept by the store's statements, not by triggers",
        apply: message_counts_without_triggers,
        // Drops triggers only; `queue_message_counts` is migration 7's.
        tables: &[],
    },
    Migration {
        version: 14,
        description: "expiries of restored copies of archived S3 objects awaiting their delete event",
        apply: s3_restore_expiries,
        tables: &[data("s3_restore_expiries")],
    },
];

/// The schema version this eddy writes.
pub(crate) fn current_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Runs the migrations `conn`'s database lacks, inside the caller's transaction.
/// Returns the version it had before.
pub(crate) fn migrate(conn: &Connection) -> Result<u32, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    )?;
    let found: u32 = conn
        .query_row(
            "SELECT value FROM meta WHERE name = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let known = current_version();
    if found > known {
        return Err(StoreError::NewerSchema { found, known });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        tracing::debug!(
            version = migration.version,
            description = migration.description,
            "migrating the database"
        );
        (migration.apply)(conn)?;
        conn.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES ('schema_version', ?1)",
            [migration.version],
        )?;
    }
    Ok(found)
}

/// Migration 2: functions created through the Lambda API. `config` is the function's
/// configuration as JSON ([`crate::lambda::FunctionRecord`]); `code` is the deployment
/// package (the zip) as uploaded.
fn lambda_functions(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS lambda_functions (
            name TEXT PRIMARY KEY,
            config TEXT NOT NULL,
            code BLOB NOT NULL
        )",
    )?;
    Ok(())
}

/// Migration 3: event source mappings created through the Lambda API. `config` is the
/// mapping as JSON ([`crate::event_source_mappings::MappingRecord`]).
fn lambda_event_source_mappings(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS lambda_event_source_mappings (
            uuid TEXT PRIMARY KEY,
            config TEXT NOT NULL
        )",
    )?;
    Ok(())
}

/// Migration 4: published function versions (each with its configuration and
/// package) and aliases (`config` is [`crate::lambda_versions::AliasRecord`] as JSON).
fn lambda_versions_and_aliases(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS lambda_function_versions (
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            config TEXT NOT NULL,
            code BLOB NOT NULL,
            PRIMARY KEY (name, version)
        );
        CREATE TABLE IF NOT EXISTS lambda_aliases (
            function TEXT NOT NULL,
            name TEXT NOT NULL,
            config TEXT NOT NULL,
            PRIMARY KEY (function, name)
        )",
    )?;
    Ok(())
}

/// Migration 5: asynchronous invocations (`Invoke` with `InvocationType: Event`),
/// queued durably until they succeed or run out of retries.
fn lambda_async_invocations(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS lambda_async_invocations (
            request_id TEXT PRIMARY KEY,
            function TEXT NOT NULL,
            version INTEGER,
            payload BLOB NOT NULL,
            attempts INTEGER NOT NULL,
            due_ms INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS lambda_async_invocations_due
            ON lambda_async_invocations (due_ms)",
    )?;
    Ok(())
}

/// Migration 10: PutFunctionEventInvokeConfig's configurations (one per function and
/// qualifier, as JSON), and two columns of queued asynchronous invocations: the
/// qualifier invoked (the configuration that applies) and when it was first queued (its
/// age; `NULL` for rows queued before: their `due_ms` stands in).
fn lambda_event_invoke_configs(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS lambda_event_invoke_configs (
            function TEXT NOT NULL,
            qualifier TEXT NOT NULL,
            config TEXT NOT NULL,
            PRIMARY KEY (function, qualifier)
        );
        ALTER TABLE lambda_async_invocations ADD COLUMN qualifier TEXT;
        ALTER TABLE lambda_async_invocations ADD COLUMN enqueued_ms INTEGER;",
    )?;
    Ok(())
}

/// Migration 8: CloudWatch Logs. `tags` is the group's tags as a JSON object; events
/// are ordered by `(timestamp_ms, seq)` within a stream and within a group.
fn log_groups_streams_events(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS log_groups (
            name TEXT PRIMARY KEY,
            created_ms INTEGER NOT NULL,
            retention_days INTEGER,
            tags TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS log_streams (
            grp TEXT NOT NULL,
            name TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            first_event_ms INTEGER,
            last_event_ms INTEGER,
            last_ingestion_ms INTEGER,
            PRIMARY KEY (grp, name)
        );
        CREATE TABLE IF NOT EXISTS log_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            grp TEXT NOT NULL,
            stream TEXT NOT NULL,
            timestamp_ms INTEGER NOT NULL,
            ingestion_ms INTEGER NOT NULL,
            message TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS log_events_by_stream
            ON log_events (grp, stream, timestamp_ms, seq);
        CREATE INDEX IF NOT EXISTS log_events_by_group
            ON log_events (grp, timestamp_ms, seq)",
    )?;
    Ok(())
}

/// Migration 9: IAM roles (`config` is [`crate::iam::RoleRecord`] as JSON; names are
/// unique without regard to case, as in IAM), customer managed policies
/// ([`crate::iam::PolicyRecord`]) and the temporary credentials STS issued
/// ([`crate::sts::SessionRecord`]).
fn iam_and_sts(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS iam_roles (
            name TEXT PRIMARY KEY COLLATE NOCASE,
            config TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS iam_policies (
            arn TEXT PRIMARY KEY,
            config TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS sts_sessions (
            access_key_id TEXT PRIMARY KEY,
            expiration_ms INTEGER NOT NULL,
            config TEXT NOT NULL
        )",
    )?;
    Ok(())
}

/// Migration 1: the tables of the first releases, created when missing, and the
/// columns added to them before versions were recorded.
fn baseline(conn: &Connection) -> Result<(), StoreError> {
    // Columns first: the schema's indexes may refer to them.
    add_missing_columns(conn)?;
    conn.execute_batch(BASELINE)?;
    // Tables the schema just created get their later columns too.
    add_missing_columns(conn)
}

const BASELINE: &str = r"
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    region TEXT NOT NULL,
    notification TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL REFERENCES buckets(name),
    key TEXT NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    attrs TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS object_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL REFERENCES buckets(name),
    key TEXT NOT NULL,
    version_id TEXT,
    delete_marker INTEGER NOT NULL DEFAULT 0,
    blob TEXT,
    size INTEGER NOT NULL DEFAULT 0,
    etag TEXT NOT NULL DEFAULT '',
    last_modified_ms INTEGER NOT NULL,
    attrs TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS object_versions_by_key ON object_versions (bucket, key, seq);
CREATE TABLE IF NOT EXISTS completed_uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    etag TEXT NOT NULL,
    version_id TEXT,
    size INTEGER NOT NULL,
    completed_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL REFERENCES buckets(name),
    key TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    attrs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL REFERENCES uploads(upload_id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY,
    created_s INTEGER NOT NULL,
    modified_s INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS deleted_queues (
    name TEXT PRIMARY KEY,
    deleted_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    md5_of_body TEXT NOT NULL,
    message_attributes TEXT,
    md5_of_message_attributes TEXT,
    sent_ms INTEGER NOT NULL,
    visible_at_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_receive_ms INTEGER,
    receipt_nonce TEXT,
    received_ms INTEGER,
    dead_letter_source_arn TEXT,
    sender_id TEXT NOT NULL,
    group_id TEXT,
    deduplication_id TEXT,
    sequence_number TEXT,
    system_attributes TEXT,
    md5_of_system_attributes TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_visibility ON messages (queue, visible_at_ms);
CREATE INDEX IF NOT EXISTS messages_by_group ON messages (queue, group_id, seq);
CREATE TABLE IF NOT EXISTS fifo_deduplication (
    queue TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sequence_number TEXT,
    md5_of_body TEXT NOT NULL,
    md5_of_message_attributes TEXT,
    md5_of_system_attributes TEXT,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS receive_attempts (
    queue TEXT NOT NULL,
    attempt_id TEXT NOT NULL,
    entries TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (queue, attempt_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS message_move_tasks (
    task_id TEXT PRIMARY KEY,
    source_arn TEXT NOT NULL,
    destination_arn TEXT,
    max_per_second INTEGER,
    status TEXT NOT NULL,
    moved INTEGER NOT NULL DEFAULT 0,
    to_move INTEGER NOT NULL DEFAULT 0,
    failure_reason TEXT,
    started_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
-- The bytes of small objects (see blobs.rs): inserted with the row that names them and
-- deleted in the transaction that drops that row.
CREATE TABLE IF NOT EXISTS inline_blobs (
    id TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
";

/// Migration 6: the `bucket_configs` table (see `s3::bucket_configs`). A row per bucket,
/// kind and id (`''` for kinds a bucket has one of); a NULL document records that a
/// configuration with a default was deleted.
fn bucket_configs(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE bucket_configs (
            bucket TEXT NOT NULL REFERENCES buckets(name),
            kind TEXT NOT NULL,
            id TEXT NOT NULL DEFAULT '',
            document TEXT,
            PRIMARY KEY (bucket, kind, id)
        ) WITHOUT ROWID;",
    )?;
    Ok(())
}

/// Migration 7: each queue's number of messages, kept exact by triggers in the
/// transaction of every insert, delete and move of a message (so after a restart or a
/// kill too), and an index of messages by send time: GetQueueAttributes then reads the
/// counts and the oldest message without scanning the backlog.
/// Migration 13: the triggers of migration 7 go. A trigger on `messages` makes SQLite
/// keep a statement journal (a temporary file once it outgrows 64 KiB) for every INSERT
/// and DELETE of a message inside the group commit's savepoints, which took more time
/// than the writes themselves; the statements that add, remove or move messages keep
/// the totals (`sqs::queue_rows::add_to_count`). The totals are recounted once.
fn message_counts_without_triggers(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS messages_count_insert;
        DROP TRIGGER IF EXISTS messages_count_delete;
        DROP TRIGGER IF EXISTS messages_count_move;
        DELETE FROM queue_message_counts;
        INSERT INTO queue_message_counts (queue, messages)
            SELECT queue, COUNT(*) FROM messages GROUP BY queue;",
    )?;
    Ok(())
}

fn message_counts(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS queue_message_counts (
            queue TEXT PRIMARY KEY,
            messages INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT OR REPLACE INTO queue_message_counts (queue, messages)
            SELECT queue, COUNT(*) FROM messages GROUP BY queue;
        CREATE INDEX IF NOT EXISTS messages_by_age ON messages (queue, sent_ms);
        CREATE TRIGGER IF NOT EXISTS messages_count_insert AFTER INSERT ON messages BEGIN
            INSERT INTO queue_message_counts (queue, messages) VALUES (NEW.queue, 1)
                ON CONFLICT (queue) DO UPDATE SET messages = messages + 1;
        END;
        CREATE TRIGGER IF NOT EXISTS messages_count_delete AFTER DELETE ON messages BEGIN
            UPDATE queue_message_counts SET messages = messages - 1 WHERE queue = OLD.queue;
        END;
        CREATE TRIGGER IF NOT EXISTS messages_count_move AFTER UPDATE OF queue ON messages
        WHEN OLD.queue <> NEW.queue BEGIN
            UPDATE queue_message_counts SET messages = messages - 1 WHERE queue = OLD.queue;
            INSERT INTO queue_message_counts (queue, messages) VALUES (NEW.queue, 1)
                ON CONFLICT (queue) DO UPDATE SET messages = messages + 1;
        END;",
    )?;
    Ok(())
}

/// Migration 11: each part's checksums (a JSON object by algorithm name), which
/// completion checks and combines into the object's; and the attributes of a completed
/// upload's object (JSON), so a retried completion answers with its checksum too.
fn part_checksums(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "ALTER TABLE parts ADD COLUMN checksums TEXT NOT NULL DEFAULT '{}';
         ALTER TABLE completed_uploads ADD COLUMN attrs TEXT NOT NULL DEFAULT '{}';",
    )?;
    Ok(())
}

/// Migration 12: the restores of archived object versions whose completion is not yet
/// reported (see `s3::restores`): one row per version (`version`: its label, `null`
/// for the null version), found by when it completes.
fn s3_restores(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE s3_restores (
            bucket TEXT NOT NULL,
            key TEXT NOT NULL,
            version TEXT NOT NULL,
            completes_at_ms INTEGER NOT NULL,
            PRIMARY KEY (bucket, key, version)
        ) WITHOUT ROWID;
        CREATE INDEX s3_restores_by_time ON s3_restores (completes_at_ms);",
    )?;
    Ok(())
}

/// Migration 14: the restored copies of archived object versions whose expiry is not
/// yet reported (see `s3::restores`): one row per version (`version`: its label, `null`
/// for the null version), found by when the copy expires. Restores completed before
/// this migration have none (their expiry raises no event).
fn s3_restore_expiries(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE s3_restore_expiries (
            bucket TEXT NOT NULL,
            key TEXT NOT NULL,
            version TEXT NOT NULL,
            expires_at_ms INTEGER NOT NULL,
            PRIMARY KEY (bucket, key, version)
        ) WITHOUT ROWID;
        CREATE INDEX s3_restore_expiries_by_time ON s3_restore_expiries (expires_at_ms);",
    )?;
    Ok(())
}

/// Columns added after the first release, as (table, column, declaration). Each is
/// added when missing, so opening an older data directory upgrades it in place.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    // `Enabled` or `Suspended`; NULL for a bucket that never had versioning.
    ("buckets", "versioning", "TEXT"),
    // The bucket's tag set as a JSON object; NULL when it has none.
    ("buckets", "tags", "TEXT"),
    // The version id of the current version; NULL for the `null` version.
    ("objects", "version_id", "TEXT"),
    // FIFO queues and system attributes.
    ("messages", "group_id", "TEXT"),
    ("messages", "deduplication_id", "TEXT"),
    ("messages", "sequence_number", "TEXT"),
    ("messages", "system_attributes", "TEXT"),
    ("messages", "md5_of_system_attributes", "TEXT"),
];

/// Adds every column of [`ADDED_COLUMNS`] an existing table lacks.
fn add_missing_columns(conn: &Connection) -> Result<(), StoreError> {
    for (table, column, declaration) in ADDED_COLUMNS {
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        if !columns.is_empty() && !columns.iter().any(|name| name == column) {
            conn.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {declaration}"
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_by_one_from_one() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, index + 1);
        }
    }

    #[test]
    fn every_table_is_declared_once_by_the_migration_that_creates_it() {
        let conn = Connection::open_in_memory().expect("database");
        migrate(&conn).expect("migrations");
        let mut created: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .expect("query")
            .query_map([], |row| row.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("names");
        let mut declared: Vec<String> = MIGRATIONS
            .iter()
            .flat_map(|m| m.tables.iter())
            .map(|t| t.name.to_owned())
            .collect();
        created.sort();
        declared.sort();
        let before = declared.len();
        declared.dedup();
        assert_eq!(before, declared.len(), "a table is declared twice");
        assert_eq!(
            created, declared,
            "declare each new table in its migration's `tables`"
        );
    }

    #[test]
    fn a_new_database_gets_every_migration_once() {
        let conn = Connection::open_in_memory().expect("database");
        assert_eq!(migrate(&conn).expect("first"), 0);
        assert_eq!(migrate(&conn).expect("again"), current_version());
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE name = 'schema_version'",
            [current_version() + 1],
        )
        .expect("pretend a newer eddy wrote it");
        assert!(matches!(
            migrate(&conn),
            Err(StoreError::NewerSchema { .. })
        ));
    }
}
