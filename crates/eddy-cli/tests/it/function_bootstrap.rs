//! The AWS Lambda `bootstrap` (crates/eddy-lambda), built as for AWS with
//! `cargo lambda build --output-format zip -p eddy-lambda` (the deployment adds
//! `--release`; the target, linker and glibc are the same): the binary needs no
//! glibc symbol newer than Lambda's AL2023 has (2.34), and `eddy up` runs it through the
//! Runtime API as an external function, passing the same end-to-end scenario as the
//! built-in function.
//!
//! Skipped, with the reason printed, only when cargo-lambda is not installed
//! (`pip install cargo-lambda`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::util::harness::Eddy;
use crate::util::pipeline::{Pipeline, run_scenario};

/// The highest glibc version Lambda's `provided.al2023` runtime has.
const AL2023_GLIBC: (u32, u32) = (2, 34);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the Lambda zip once per test run and extracts `bootstrap`; `None` when
/// cargo-lambda is not installed.
fn bootstrap() -> Option<PathBuf> {
    static BUILT: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let installed = Command::new("cargo")
                .args(["lambda", "--version"])
                .output()
                .is_ok_and(|o| o.status.success());
            if !installed {
                eprintln!("skipped: cargo-lambda is not installed (pip install cargo-lambda)");
                return None;
            }
            let root = workspace_root();
            let output = Command::new("cargo")
                // The dev profile: optimisation changes neither the glibc symbols the
                // binary links nor what it does, and a release build of the AWS SDK
                // would take most of CI's time. The deployment uses `--release`.
                .args([
                    "lambda",
                    "build",
                    "--output-format",
                    "zip",
                    "-p",
                    "eddy-lambda",
                ])
                .current_dir(&root)
                .output()
                .expect("run cargo lambda build");
            assert!(
                output.status.success(),
                "cargo lambda build failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let zip = root.join("target/lambda/eddy-lambda/bootstrap.zip");
            assert!(zip.exists(), "cargo lambda did not write {}", zip.display());
            let dir = tempfile::tempdir().expect("temp dir");
            let unzip = Command::new("python3")
                .args(["-m", "zipfile", "-e"])
                .arg(&zip)
                .arg(dir.path())
                .status()
                .expect("python3 -m zipfile");
            assert!(unzip.success(), "cannot extract {}", zip.display());
            let bootstrap = dir.path().join("bootstrap");
            assert!(bootstrap.exists(), "the zip holds no `bootstrap`");
            // zipfile does not keep the executable bit.
            let status = Command::new("chmod")
                .arg("+x")
                .arg(&bootstrap)
                .status()
                .expect("chmod");
            assert!(status.success());
            Some((dir, bootstrap))
        })
        .as_ref()
        .map(|(_, path)| path.clone())
}

/// Every `GLIBC_x.y[.z]` version the binary's dynamic symbols need.
fn glibc_versions(binary: &Path) -> Vec<(u32, u32, u32)> {
    let output = Command::new("objdump")
        .arg("-T")
        .arg(binary)
        .output()
        .expect("run objdump -T");
    assert!(
        output.status.success(),
        "objdump -T failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let mut versions: Vec<(u32, u32, u32)> = text
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|version| {
            let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
            Some((
                parts.next()??,
                parts.next()??,
                parts.next().flatten().unwrap_or(0),
            ))
        })
        .collect();
    versions.sort_unstable();
    versions.dedup();
    versions
}

#[test]
fn bootstrap_needs_no_glibc_newer_than_al2023() {
    let Some(bootstrap) = bootstrap() else {
        return;
    };
    let versions = glibc_versions(&bootstrap);
    assert!(
        !versions.is_empty(),
        "no GLIBC symbol versions found: is {} dynamically linked?",
        bootstrap.display()
    );
    let newest = versions.last().copied().expect("a version");
    eprintln!(
        "bootstrap needs glibc up to {}.{}.{}",
        newest.0, newest.1, newest.2
    );
    assert!(
        (newest.0, newest.1) <= AL2023_GLIBC,
        "bootstrap needs GLIBC_{}.{} but provided.al2023 has {}.{}: {versions:?}",
        newest.0,
        newest.1,
        AL2023_GLIBC.0,
        AL2023_GLIBC.1
    );
}

#[test]
fn glibc_versions_are_read_from_objdump_output() {
    // The parser itself, on this test binary (built against the host glibc).
    let this = std::env::current_exe().expect("current exe");
    let versions = glibc_versions(&this);
    assert!(versions.iter().any(|v| v.0 == 2), "{versions:?}");
}

#[tokio::test]
async fn bootstrap_run_by_eddy_up_passes_the_scenario() {
    let Some(bootstrap) = bootstrap() else {
        return;
    };
    let eddy = Eddy::process_with_config(&format!(
        "visibility_timeout_seconds = 3\nmax_receive_count = 3\ndestination_prefix = \"copied/\"\n\n[[functions]]\nname = \"eddy-copy\"\ncommand = [\"{}\"]\ntimeout = 3\nenvironment = {{ RUST_LOG = \"info\" }}\n",
        bootstrap.display()
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
    // The bootstrap's own log lines reached eddy's log, tagged with the function.
    let log = eddy.log();
    assert!(
        log.lines()
            .any(|l| l.contains("eddy::function") && l.contains("record failed")),
        "the bootstrap's output is not in eddy's log:\n{log}"
    );
}
