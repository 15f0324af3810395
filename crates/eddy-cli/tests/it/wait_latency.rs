//! How soon `eddy wait --idle` returns after the last copy, as a test suite uses it:
//! an upload, then `eddy wait --idle` at once (a new process each time, as a shell or
//! pytest would run it); the delay is from the copy's `copied` step (its time in the
//! trace) to the moment the process exited, over 20 rounds. Printed, not asserted
//! (timing on a shared machine):
//! `cargo test -p eddy-cli --test it -- --nocapture wait_latency`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::util::ephemeral::{Ephemeral, call, put};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[tokio::test]
async fn eddy_wait_idle_returns_soon_after_the_last_copy() {
    let eddy = Ephemeral::start("");
    let s3 = eddy.s3().await;
    let mut delays = Vec::new();
    for round in 0..20 {
        let key = format!("round-{round}.txt");
        put(&s3, "source", &key, "payload").await;
        let output = eddy.cli(&["wait", "--idle", "--timeout", "10"]);
        let exited = now_ms();
        assert!(output.status.success(), "{output:?}");
        let (status, body) = call(
            "GET",
            &format!(
                "{}/_eddy/api/trace?bucket=source&key={key}",
                eddy.endpoint()
            ),
            false,
        )
        .await;
        assert_eq!(status, 200);
        let trace: serde_json::Value = serde_json::from_str(&body).expect("trace JSON");
        let copied = trace["uploads"][0]["steps"]
            .as_array()
            .and_then(|steps| steps.iter().find(|s| s["step"] == "copied"))
            .and_then(|s| s["at_ms"].as_u64())
            .unwrap_or_else(|| panic!("{key} was not copied when eddy wait returned: {trace}"));
        delays.push(exited.saturating_sub(copied));
    }
    delays.sort_unstable();
    println!(
        "eddy wait --idle after the last copy, 20 rounds: median {} ms, max {} ms (all: {delays:?})",
        delays[delays.len() / 2],
        delays[delays.len() - 1]
    );
}
