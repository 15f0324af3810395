//! How soon `wait_idle` answers after the last copy: an upload, then `wait_idle` at
//! once; the delay is from the copy's `copied` step (its time in the trace) to the
//! moment `wait_idle` returned, over 20 rounds. Printed, not asserted (timing on a
//! shared machine): `cargo test -p eddy-testing --test idle_latency -- --nocapture`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::ByteStream;
use eddy_testing::TestEddy;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[tokio::test]
async fn wait_idle_answers_soon_after_the_last_copy() {
    let eddy = TestEddy::start().expect("eddy starts");
    let s3 = eddy.s3().await;
    let mut delays = Vec::new();
    for round in 0..20 {
        let key = format!("round-{round}.txt");
        s3.put_object()
            .bucket("source")
            .key(&key)
            .body(ByteStream::from_static(b"payload"))
            .send()
            .await
            .expect("put");
        eddy.wait_idle(Duration::from_secs(10)).await.expect("idle");
        let returned = now_ms();
        let trace = eddy.trace("source", &key).await.expect("trace");
        let copied = trace.uploads[0]
            .steps
            .iter()
            .rev()
            .find(|s| s.step == eddy_telemetry::activity::Step::Copied)
            .unwrap_or_else(|| {
                panic!(
                    "{key} was not copied when idle answered: {}",
                    serde_json::to_string(&trace).unwrap_or_default()
                )
            });
        delays.push(returned.saturating_sub(copied.at_ms));
    }
    delays.sort_unstable();
    println!(
        "wait_idle after the last copy, 20 rounds: median {} ms, max {} ms (all: {delays:?})",
        delays[delays.len() / 2],
        delays[delays.len() - 1]
    );
}
