//! The background sweeps of a running eddy: messages past their retention period and
//! log events past their group's retention (every 10 s), and the S3 lifecycle rules
//! (a few times a lifecycle day, at least every minute), and the completion of
//! S3 restores (every 200 ms). Each stops when the shutdown
//! signal turns true.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use eddy_store::Store;

/// Removes expired messages and log events every 10 seconds.
pub(crate) fn retention(store: Store, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(10)) => {}
                _ = shutdown.changed() => return,
            }
            match store.messages().expire().await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(expired = n, "removed messages past their retention period");
                }
                Err(error) => tracing::warn!(%error, "retention sweep failed"),
            }
            match store.logs().sweep_retention().await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(
                        deleted = n,
                        "removed log events past their group's retention"
                    );
                }
                Err(error) => tracing::warn!(%error, "log retention sweep failed"),
            }
        }
    })
}

/// Completes S3 restores of archived objects as they come due, and expires their
/// restored copies.
pub(crate) fn restores(store: Store, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(eddy_server::s3::restore::SWEEP_EVERY) => {}
                _ = shutdown.changed() => return,
            }
            eddy_server::s3::restore::complete_due(&store).await;
        }
    })
}

/// Applies the buckets' lifecycle rules, with days of `day`.
pub(crate) fn lifecycle(
    store: Store,
    day: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    // A rule's days are checked a few times a lifecycle day, at least every minute.
    let every = (day / 4).min(Duration::from_secs(60));
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
            let report = eddy_server::s3::lifecycle_sweeper::sweep(&store, day).await;
            if !report.is_empty() {
                tracing::info!(?report, "lifecycle rules applied");
            }
        }
    })
}
