//! The AWS Lambda `bootstrap` (crates/eddy-lambda), linked as `cargo lambda build` links
//! it for AWS: by cargo-lambda's zig, against the glibc of Lambda's `provided.al2023`
//! (2.34). The binary needs no glibc symbol newer than that, and `eddy up` runs it through
//! the Runtime API as an external function, passing the same end-to-end scenario as the
//! built-in function.
//!
//! The bootstrap is compiled for the host target from the crates the workspace's test
//! build has already compiled (`cargo rustc -p eddy-lambda --features
//! workspace-features`, see crates/eddy-lambda/Cargo.toml) and only its final link goes
//! through zig. `cargo lambda build` would compile the AWS SDK and everything under it a
//! second time for an explicit target, which was the longest part of CI's test run. What
//! the deployment adds (`--release`, the zip) changes neither the glibc symbols the binary
//! needs nor what it does.
//!
//! The bootstrap is also zipped where `cargo lambda build --output-format zip` writes
//! it, for the Python deploy scenario, which runs after these tests.
//!
//! Skipped, with the reason printed, only when cargo-lambda is not installed
//! (`pip install cargo-lambda`).

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::util::harness::Eddy;
use crate::util::pipeline::{Pipeline, run_scenario};

/// The highest glibc version Lambda's `provided.al2023` runtime has.
const AL2023_GLIBC: (u32, u32) = (2, 34);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One line of `cargo --message-format=json`: the part that names a built executable.
#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    #[serde(default)]
    executable: Option<PathBuf>,
    /// The package built (`name version (source)`).
    #[serde(default)]
    package_id: String,
    /// Whether cargo found the artifact current.
    #[serde(default)]
    fresh: bool,
}

/// A linker for rustc: cargo-lambda's `zig cc`, linking against Lambda's glibc for the
/// host's architecture (x86_64 and arm64 both run `provided.al2023`).
fn write_zig_linker(dir: &Path) -> PathBuf {
    let linker = dir.join("zig-cc-al2023");
    let target = format!(
        "{}-linux-gnu.{}.{}",
        std::env::consts::ARCH,
        AL2023_GLIBC.0,
        AL2023_GLIBC.1
    );
    std::fs::write(
        &linker,
        format!("#!/bin/sh\nexec cargo-lambda zig cc -- -target {target} \"$@\"\n"),
    )
    .expect("write the linker script");
    std::fs::set_permissions(&linker, std::fs::Permissions::from_mode(0o755))
        .expect("make the linker script executable");
    linker
}

/// Zips `bootstrap` where `cargo lambda build --output-format zip` puts it,
/// `<target>/lambda/eddy-lambda/bootstrap.zip` (`built` is `<target>/debug/eddy-lambda`):
/// the Python deploy scenario (tests/python/test_deploy_scenario.py) deploys that zip
/// with the AWS CLI as `provided.al2023`.
fn write_deployment_zip(built: &Path, bootstrap: &Path) {
    use std::io::Write as _;
    let target = built
        .parent()
        .and_then(Path::parent)
        .expect("the bootstrap is built under <target>/<profile>/");
    let dir = target.join("lambda").join("eddy-lambda");
    std::fs::create_dir_all(&dir).expect("create the zip's directory");
    let file = std::fs::File::create(dir.join("bootstrap.zip")).expect("create bootstrap.zip");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options).expect("zip entry");
    zip.write_all(&std::fs::read(bootstrap).expect("read the bootstrap"))
        .expect("zip the bootstrap");
    zip.finish().expect("finish bootstrap.zip");
}

/// Builds the bootstrap once per test run and copies it out of the target directory;
/// `None` when cargo-lambda is not installed.
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
            let dir = tempfile::tempdir().expect("temp dir");
            let linker = write_zig_linker(dir.path());
            // The same environment as the test build (profile, RUSTC_WORKSPACE_WRAPPER),
            // so its compiled crates are found current. Without what `cargo test` adds
            // for this test process (CARGO_MANIFEST_DIR, CARGO_PKG_NAME, ...): build
            // scripts such as ring's rerun when those change, and the next `cargo test`
            // would then rebuild them back.
            let mut cargo = Command::new("cargo");
            for (name, _) in std::env::vars_os() {
                let name_text = name.to_string_lossy();
                if name_text.starts_with("CARGO_PKG_")
                    || name_text.starts_with("CARGO_MANIFEST_")
                    || name_text.starts_with("CARGO_BIN_")
                    || ["CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE", "OUT_DIR"]
                        .contains(&name_text.as_ref())
                {
                    cargo.env_remove(&name);
                }
            }
            let output = cargo
                .args([
                    "rustc",
                    "--locked",
                    "-p",
                    "eddy-lambda",
                    "--bin",
                    "eddy-lambda",
                    "--features",
                    "workspace-features",
                    "--message-format=json-render-diagnostics",
                    "--",
                    "-C",
                ])
                .arg(format!("linker={}", linker.display()))
                .current_dir(workspace_root())
                .output()
                .expect("run cargo rustc");
            assert!(
                output.status.success(),
                "building the bootstrap failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let artifacts: Vec<CargoMessage> = output
                .stdout
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| serde_json::from_str::<CargoMessage>(&line).ok())
                .filter(|message| message.reason == "compiler-artifact")
                .collect();
            // Only eddy-lambda itself should compile; more means `workspace-features`
            // no longer matches the workspace's features (slower, still correct).
            let compiled: Vec<&str> = artifacts
                .iter()
                .filter(|artifact| !artifact.fresh && !artifact.package_id.contains("eddy-lambda"))
                .map(|artifact| artifact.package_id.as_str())
                .collect();
            if !compiled.is_empty() {
                eprintln!(
                    "the bootstrap's build compiled {} crates the test build had not \
                     (update eddy-lambda's workspace-features): {compiled:?}",
                    compiled.len()
                );
            }
            let built = artifacts
                .into_iter()
                .find_map(|artifact| artifact.executable)
                .expect("cargo named no executable for eddy-lambda");
            // A copy: later builds of the workspace may replace the target's file.
            let bootstrap = dir.path().join("bootstrap");
            std::fs::copy(&built, &bootstrap).expect("copy the bootstrap");
            write_deployment_zip(&built, &bootstrap);
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
