//! Tests of sending, receiving and expiring messages, on a store and on a bare
//! connection with the schema.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};

use super::*;
use crate::sqs::fifo::DEDUPLICATION_WINDOW_MS;
use crate::sqs::model::Queue;
use crate::sqs::queue_rows::counts;
use crate::sqs::queues::create_queue;
use crate::sqs::receive::MAX_IN_FLIGHT;
use crate::tx::TxResult;
use crate::{Store, StoreSettings};

const ARN: &str = "arn:aws:sqs:us-east-1:000000000000:q";

fn test_connection() -> Connection {
    let conn = Connection::open_in_memory().expect("in-memory database");
    crate::schema::migrate(&conn).expect("schema");
    conn
}

fn create(conn: &Connection, name: &str, attributes: &BTreeMap<String, String>) -> Queue {
    let created: TxResult<Queue, SqsError> =
        create_queue(conn, ARN, name, attributes, &BTreeMap::new(), 0);
    created.map_err(|_| "create").expect("create")
}

fn fifo_send(body: &str, dedup: &str) -> SendRequest {
    SendRequest {
        body: body.into(),
        message_group_id: Some("g".into()),
        message_deduplication_id: Some(dedup.into()),
        ..SendRequest::default()
    }
}

#[test]
fn deduplication_ends_after_five_minutes() {
    let conn = test_connection();
    let attributes = BTreeMap::from([("FifoQueue".to_owned(), "true".to_owned())]);
    let queue = create(&conn, "q.fifo", &attributes);
    let start = 1_000_000;
    let send = |body: &str, at: u64| {
        entry_outcome(insert_message(
            &conn,
            &queue,
            &fifo_send(body, "d"),
            "test",
            at,
        ))
        .expect("store")
        .expect("valid")
    };
    let first = send("one", start);
    let inside = send("two", start + DEDUPLICATION_WINDOW_MS - 1);
    assert_eq!(inside.message_id, first.message_id);
    let after = send("three", start + DEDUPLICATION_WINDOW_MS);
    assert_ne!(after.message_id, first.message_id);
    let stored: i64 = conn
        .query_row("SELECT COUNT(*) FROM messages", [], |row| row.get(0))
        .expect("count");
    assert_eq!(stored, 2);
}

#[test]
fn counts_leave_out_messages_past_retention() {
    let conn = test_connection();
    let attributes = BTreeMap::from([("MessageRetentionPeriod".to_owned(), "60".to_owned())]);
    let queue = create(&conn, "short", &attributes);
    let request = SendRequest {
        body: "x".into(),
        ..SendRequest::default()
    };
    entry_outcome(insert_message(&conn, &queue, &request, "test", 1_000))
        .expect("store")
        .expect("valid");
    assert_eq!(counts(&conn, &queue, 60_999).expect("counts").visible, 1);
    assert_eq!(counts(&conn, &queue, 61_000).expect("counts").visible, 0);
    assert_eq!(expire(&conn, 61_000).expect("expire"), 1);
}

/// A message past the retention period is gone at once, in flight or not: receives
/// skip it, its receipt handle no longer changes it, the sweep deletes it.
#[test]
fn retention_period_ends_messages_in_flight_or_not() {
    let conn = test_connection();
    let attributes = BTreeMap::from([("MessageRetentionPeriod".to_owned(), "60".to_owned())]);
    let queue = create(&conn, "short", &attributes);
    for body in ["in flight", "waiting"] {
        let request = SendRequest {
            body: body.into(),
            ..SendRequest::default()
        };
        entry_outcome(insert_message(&conn, &queue, &request, "test", 1_000))
            .expect("store")
            .expect("valid");
    }
    let one = ReceiveRequest {
        max_messages: 1,
        visibility_timeout: Some(600),
        ..ReceiveRequest::default()
    };
    let receive_at = |now: u64| {
        receive(&conn, "short", &one, None, "us-east-1", "000000000000", now)
            .map_err(|_| "receive")
            .expect("receive")
            .messages
    };
    let received = receive_at(2_000);
    assert_eq!(received[0].body, "in flight");
    let handle = received[0].receipt_handle.clone();
    let change = |now: u64| {
        entry_outcome(visibility::change_visibility(
            &conn, "short", &handle, 600, 60_000, now,
        ))
        .expect("store")
    };
    assert!(change(60_999).is_ok(), "still retained");
    let gone = change(61_000).expect_err("past retention");
    assert_eq!(gone.kind, SqsErrorKind::InvalidParameterValue);
    assert!(receive_at(61_000).is_empty());
    assert_eq!(
        expire(&conn, 61_000).expect("expire"),
        1,
        "the in-flight one"
    );
}

/// The counts GetQueueAttributes reads (a kept total and index ranges) against a count
/// of every row, through sends, receives, deletes, moves to a dead-letter queue, the
/// retention sweep, a move back to the source (move tasks, redrive) and a purge.
#[test]
fn kept_counts_match_a_count_of_every_row() {
    let conn = test_connection();
    let dlq = create(&conn, "dlq", &BTreeMap::new());
    let policy =
        r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":1}"#;
    let attributes = BTreeMap::from([
        ("MessageRetentionPeriod".to_owned(), "60".to_owned()),
        ("RedrivePolicy".to_owned(), policy.to_owned()),
    ]);
    let source = create(&conn, "source", &attributes);
    let by_rows = |queue: &Queue, now: u64| -> (u64, u64, u64) {
        let retention = queue.attributes.message_retention_period * 1000;
        conn.query_row(
            "SELECT COALESCE(SUM(visible_at_ms <= ?2), 0),
                    COALESCE(SUM(visible_at_ms > ?2 AND receive_count > 0), 0),
                    COALESCE(SUM(visible_at_ms > ?2 AND receive_count = 0), 0)
             FROM messages WHERE queue = ?1 AND sent_ms + ?3 > ?2",
            params![queue.name, now, retention],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .expect("count rows")
    };
    let check = |now: u64| {
        for queue in [&source, &dlq] {
            let kept = counts(&conn, queue, now).expect("counts");
            assert_eq!(
                (kept.visible, kept.not_visible, kept.delayed),
                by_rows(queue, now),
                "{} at {now}",
                queue.name
            );
        }
    };
    for (i, delay) in [None, None, None, Some(30)].into_iter().enumerate() {
        let request = SendRequest {
            body: format!("m{i}"),
            delay_seconds: delay,
            ..SendRequest::default()
        };
        entry_outcome(insert_message(
            &conn,
            &source,
            &request,
            "test",
            1_000 + i as u64,
        ))
        .expect("store")
        .expect("valid");
    }
    check(2_000);
    let two = ReceiveRequest {
        max_messages: 2,
        visibility_timeout: Some(5),
        ..ReceiveRequest::default()
    };
    let receive_at = |now: u64| {
        receive(
            &conn,
            "source",
            &two,
            None,
            "us-east-1",
            "000000000000",
            now,
        )
        .map_err(|_| "receive")
        .expect("receive")
    };
    let received = receive_at(3_000).messages;
    check(3_000);
    assert_eq!(received.len(), 2);
    entry_outcome(visibility::delete(
        &conn,
        "source",
        &received[0].receipt_handle,
        false,
        3_500,
    ))
    .expect("store")
    .expect("delete");
    check(3_500);
    // The second receive of m1 moves it to the dead-letter queue.
    let outcome = receive_at(9_000);
    assert_eq!(outcome.moved_to, ["dlq"]);
    check(9_000);
    check(61_001);
    expire(&conn, 61_002).expect("expire");
    check(61_002);
    // Send two more; the second receive of one moves it to the dead-letter queue,
    // from where it is moved back.
    for i in 0..2 {
        let request = SendRequest {
            body: format!("late{i}"),
            ..SendRequest::default()
        };
        entry_outcome(insert_message(&conn, &source, &request, "test", 62_000))
            .expect("store")
            .expect("valid");
    }
    receive_at(63_000);
    assert_eq!(receive_at(69_000).moved_to, ["dlq"]);
    check(69_000);
    let number = |sql: &str| -> i64 {
        conn.query_row(sql, [], |row| row.get(0))
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
    };
    let newest_in_dlq =
        number("SELECT seq FROM messages WHERE queue = 'dlq' ORDER BY seq DESC LIMIT 1");
    requeue_moved_message(&conn, newest_in_dlq, "source", 70_000).expect("move back");
    check(70_000);
    receive_at(80_000);
    assert_eq!(receive_at(86_000).moved_to, ["dlq"]);
    let in_dlq = number("SELECT COUNT(*) FROM messages WHERE queue = 'dlq'") as u64;
    assert!(in_dlq >= 2);
    assert_eq!(
        crate::sqs::queues::purge_messages(&conn, "dlq").expect("purge"),
        in_dlq
    );
    check(86_001);
    // No trigger is left to keep the totals behind the statements' backs.
    assert_eq!(
        number("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'"),
        0
    );
}

#[test]
fn too_many_in_flight_messages() {
    let conn = test_connection();
    let now = 1_000_000u64;
    let standard = create(&conn, "std", &BTreeMap::new());
    let fifo_attributes = BTreeMap::from([("FifoQueue".to_owned(), "true".to_owned())]);
    let fifo = create(&conn, "f.fifo", &fifo_attributes);
    let request = ReceiveRequest {
        max_messages: 1,
        ..ReceiveRequest::default()
    };
    for queue in [&standard, &fifo] {
        conn.execute_batch("BEGIN").expect("begin");
        let mut insert = conn
            .prepare(
                "INSERT INTO messages (queue, message_id, body, md5_of_body, sent_ms, visible_at_ms,
                                       receive_count, receipt_nonce, sender_id, group_id)
                 VALUES (?1, ?2, 'x', '', ?3, ?4, 1, 'n', 'test', ?2)",
            )
            .expect("prepare");
        for i in 0..MAX_IN_FLIGHT {
            insert
                .execute(params![queue.name, i.to_string(), now, now + 60_000])
                .expect("insert");
        }
        insert
            .execute(params![queue.name, "visible", now, now])
            .expect("insert");
        conn.execute_batch("COMMIT").expect("commit");
    }
    let receive_now = |queue: &str| {
        receive(
            &conn,
            queue,
            &request,
            None,
            "us-east-1",
            "000000000000",
            now,
        )
    };
    let Err(crate::tx::TxError::Abort(error)) = receive_now("std") else {
        panic!("OverLimit expected");
    };
    assert_eq!(error.kind, SqsErrorKind::OverLimit);
    let outcome = receive_now("f.fifo")
        .map_err(|_| "receive")
        .expect("FIFO queues answer without an error");
    assert!(outcome.messages.is_empty());
    // One fewer in flight: the visible message is delivered again.
    conn.execute(
        "DELETE FROM messages WHERE queue = 'std' AND message_id = '0'",
        [],
    )
    .expect("delete");
    let outcome = receive_now("std").map_err(|_| "receive").expect("receive");
    assert_eq!(outcome.messages.len(), 1);
}

/// The messages table as the first release created it, before the FIFO columns.
const OLD_MESSAGES: &str = "
    CREATE TABLE queues (name TEXT PRIMARY KEY, created_s INTEGER NOT NULL, modified_s INTEGER NOT NULL,
                         attributes TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '{}');
    CREATE TABLE messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, message_id TEXT NOT NULL,
        body TEXT NOT NULL, md5_of_body TEXT NOT NULL, message_attributes TEXT,
        md5_of_message_attributes TEXT, sent_ms INTEGER NOT NULL, visible_at_ms INTEGER NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0, first_receive_ms INTEGER, receipt_nonce TEXT,
        received_ms INTEGER, dead_letter_source_arn TEXT, sender_id TEXT NOT NULL);
    INSERT INTO queues VALUES ('old', 0, 0, '{}', '{}');
    INSERT INTO messages (queue, message_id, body, md5_of_body, sent_ms, visible_at_ms, sender_id)
    VALUES ('old', 'm1', 'kept', '', 9999999999999, 0, 'test');";

#[tokio::test]
async fn opens_a_data_dir_of_the_first_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = rusqlite::Connection::open(dir.path().join("eddy.sqlite3")).expect("open");
    conn.execute_batch(OLD_MESSAGES).expect("old schema");
    drop(conn);
    let settings = StoreSettings {
        region: "us-east-1".into(),
        account_id: "000000000000".into(),
        access_key_id: "test".into(),
    };
    let store = Store::open(dir.path(), settings, Default::default())
        .expect("the store opens the old data dir");
    let received = store
        .messages()
        .receive(
            "old",
            ReceiveRequest {
                max_messages: 1,
                ..ReceiveRequest::default()
            },
        )
        .await
        .expect("receive");
    assert_eq!(received[0].body, "kept");
    store
        .messages()
        .send(
            "old",
            SendRequest {
                body: "new".into(),
                ..SendRequest::default()
            },
        )
        .await
        .expect("send after the migration");
    // Migration 6 counted the message the old directory held; the triggers the new one.
    let snapshot = store.queues().snapshot().await.expect("snapshot");
    let (_, counts) = &snapshot[0];
    assert_eq!((counts.visible, counts.not_visible), (1, 1));
    store.close();
}
