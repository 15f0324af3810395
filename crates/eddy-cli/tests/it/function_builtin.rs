//! The end-to-end scenario (upload, copy, poison message to the DLQ after
//! maxReceiveCount, test event dropped, key with spaces and unicode, a stale event never
//! copying a newer version) with the built-in copy function inside `eddy up`.

use crate::util::harness::Eddy;
use crate::util::pipeline::{Pipeline, run_scenario};

#[tokio::test]
async fn builtin_function_in_eddy_up_passes_the_scenario() {
    let eddy = Eddy::start_with_config(
        "visibility_timeout_seconds = 1\nfunction_timeout_seconds = 1\nmax_receive_count = 3\ndestination_prefix = \"copied/\"\n",
    );
    let s3 = eddy.s3().await;
    let sqs = eddy.sqs().await;
    s3.create_bucket()
        .bucket("side")
        .send()
        .await
        .expect("create side bucket");
    run_scenario(&Pipeline {
        s3: &s3,
        sqs: &sqs,
        source_bucket: "source",
        destination_bucket: "destination",
        destination_prefix: "copied/",
        queue_url: &eddy.queue_url("file-events"),
        dlq_url: &eddy.queue_url("file-events-dlq"),
        max_receive_count: 3,
        side_bucket: "side",
        region: "us-east-1",
        honours_copy_source_if_match: true,
    })
    .await;
}
