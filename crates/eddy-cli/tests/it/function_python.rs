//! A handler in another language: the copy function written in Python, run by
//! `eddy up` with boto3 pointed at eddy by `AWS_ENDPOINT_URL`, passing the same
//! end-to-end scenario, once through Python's Lambda runtime interface client
//! (`awslambdaric`, from PyPI) and once through the Runtime API client eddy ships
//! (`crates/eddy-runtimes/python/bootstrap.py`, standard library only). Skipped, with
//! the reason printed, when awslambdaric or boto3 is missing.

use std::path::Path;
use std::process::Command;

use crate::util::harness::Eddy;
use crate::util::pipeline::{Pipeline, run_scenario};

fn python3_can_import(modules: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test]
async fn python_handler_through_awslambdaric_passes_the_scenario() {
    if !python3_can_import("awslambdaric, boto3") {
        eprintln!(
            "skipped: python3 cannot import awslambdaric and boto3 (pip install awslambdaric boto3)"
        );
        return;
    }
    copy_scenario_with_command(r#"["python3", "-m", "awslambdaric", "app.handler"]"#).await;
}

#[tokio::test]
async fn python_handler_through_eddys_runtime_client_passes_the_scenario() {
    if !python3_can_import("boto3") {
        eprintln!("skipped: python3 cannot import boto3 (pip install boto3)");
        return;
    }
    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("../eddy-runtimes/python/bootstrap.py");
    copy_scenario_with_command(&format!(r#"["python3", "{}"]"#, client.display())).await;
}

/// Runs the end-to-end scenario with the Python copy function started by `command`.
/// Two processes at most: each imports boto3 before asking for its first event, which
/// on a busy machine can outlast the 10 s init limit when many start at once.
async fn copy_scenario_with_command(command: &str) {
    let handler_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python_copy");
    let eddy = Eddy::process_with_config(&format!(
        "visibility_timeout_seconds = 3\nmax_receive_count = 3\nmaximum_concurrency = 2\ndestination_prefix = \"copied/\"\n\n[[functions]]\nname = \"eddy-copy\"\ncommand = {command}\nhandler = \"app.handler\"\nworking_dir = \"{}\"\ntimeout = 3\n",
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
