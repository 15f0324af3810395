//! A handler in another language: the copy function written in Python, run by
//! `eddy up` through Python's Lambda runtime interface client (`awslambdaric`, from
//! PyPI) with boto3 pointed at eddy by `AWS_ENDPOINT_URL`, passing the same end-to-end
//! scenario. Skipped, with the reason printed, when awslambdaric or boto3 is missing.

mod common;
mod support;

use std::path::Path;
use std::process::Command;

use common::Eddy;
use support::{Pipeline, run_scenario};

#[tokio::test]
async fn python_handler_through_awslambdaric_passes_the_scenario() {
    let importable = Command::new("python3")
        .args(["-c", "import awslambdaric, boto3"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !importable {
        eprintln!(
            "skipped: python3 cannot import awslambdaric and boto3 (pip install awslambdaric boto3)"
        );
        return;
    }
    let handler_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python_copy");
    let eddy = Eddy::start_with_config(&format!(
        "visibility_timeout_seconds = 3\nmax_receive_count = 3\ndestination_prefix = \"copied/\"\n\n[[functions]]\nname = \"eddy-copy\"\ncommand = [\"python3\", \"-m\", \"awslambdaric\", \"app.handler\"]\nhandler = \"app.handler\"\nworking_dir = \"{}\"\ntimeout = 3\n",
        handler_dir.display()
    ));
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
    assert!(eddy.log().contains("record failed"), "{}", eddy.log());
}
