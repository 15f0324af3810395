//! The closed-loop load runner: N connections, each sending its next request as soon as
//! the previous response has arrived, for a fixed time or a fixed number of requests;
//! it counts items, errors and per-request latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use tokio::sync::Barrier;

use crate::http::{Api, Body, Connection, Reply};

/// Request latencies in microseconds.
#[derive(Debug, Default, Clone)]
pub struct Latencies {
    micros: Vec<u32>,
    sorted: bool,
}

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        self.micros
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        self.sorted = false;
    }

    pub fn extend(&mut self, other: Latencies) {
        self.micros.extend(other.micros);
        self.sorted = false;
    }

    pub fn len(&self) -> usize {
        self.micros.len()
    }

    pub fn is_empty(&self) -> bool {
        self.micros.is_empty()
    }

    /// The `quantile` (0..=1) by nearest rank, in milliseconds; None when empty.
    pub fn quantile_ms(&mut self, quantile: f64) -> Option<f64> {
        if self.micros.is_empty() {
            return None;
        }
        if !self.sorted {
            self.micros.sort_unstable();
            self.sorted = true;
        }
        let rank = (quantile.clamp(0.0, 1.0) * self.micros.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.micros.len()) - 1;
        Some(f64::from(self.micros[index]) / 1000.0)
    }
}

/// How long a closed-loop run lasts.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// Send requests until this much time has passed.
    For(Duration),
    /// Send exactly this many requests.
    Requests(u64),
}

/// What one request of a workload is and how many items its response counts for.
pub trait Workload: Send + Sync + 'static {
    /// The `sequence`-th request of the run (unique across connections).
    fn request(&self, api: &Api, sequence: u64) -> anyhow::Result<http::Request<Body>>;
    /// How many items (messages, objects) a successful response stands for; an error
    /// when the response is a failure.
    fn items(&self, reply: &Reply) -> anyhow::Result<u64> {
        reply.ok("request")?;
        Ok(1)
    }
}

/// The outcome of a closed-loop run.
#[derive(Debug, Default)]
pub struct RunStats {
    pub requests: u64,
    pub items: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latencies: Latencies,
    pub reconnects: u64,
    /// When each successful request's response arrived, by sequence number (only when
    /// asked for).
    pub acks: Vec<(u64, SystemTime)>,
}

impl RunStats {
    /// Items per second of wall time.
    pub fn rate(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs `workload` on `connections` fresh connections to `api` within `budget`.
pub async fn closed_loop<W: Workload>(
    api: &Arc<Api>,
    connections: usize,
    budget: Budget,
    workload: Arc<W>,
    record_acks: bool,
) -> anyhow::Result<RunStats> {
    let mut opened = Vec::with_capacity(connections);
    for _ in 0..connections {
        opened.push(Connection::open(api.clone()).await?);
    }
    let next = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(connections + 1));
    let mut tasks = tokio::task::JoinSet::new();
    for mut connection in opened {
        let workload = workload.clone();
        let next = next.clone();
        let barrier = barrier.clone();
        tasks.spawn(async move {
            let mut stats = RunStats::default();
            barrier.wait().await;
            let started = Instant::now();
            loop {
                let sequence = next.fetch_add(1, Ordering::Relaxed);
                match budget {
                    Budget::For(duration) if started.elapsed() >= duration => break,
                    Budget::Requests(total) if sequence >= total => break,
                    _ => {}
                }
                let request = match workload.request(connection.api(), sequence) {
                    Ok(request) => request,
                    Err(error) => {
                        stats.errors += 1;
                        stats.first_error.get_or_insert(format!("{error:#}"));
                        break;
                    }
                };
                let sent = Instant::now();
                let outcome = connection
                    .send(request)
                    .await
                    .and_then(|reply| workload.items(&reply));
                stats.requests += 1;
                match outcome {
                    Ok(items) => {
                        stats.latencies.record(sent.elapsed());
                        stats.items += items;
                        if record_acks {
                            stats.acks.push((sequence, SystemTime::now()));
                        }
                    }
                    Err(error) => {
                        stats.errors += 1;
                        stats.first_error.get_or_insert(format!("{error:#}"));
                    }
                }
            }
            stats.reconnects = connection.reconnects;
            stats
        });
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut total = RunStats::default();
    while let Some(joined) = tasks.join_next().await {
        let stats = joined.context("a load task panicked")?;
        total.requests += stats.requests;
        total.items += stats.items;
        total.errors += stats.errors;
        total.reconnects += stats.reconnects;
        if total.first_error.is_none() {
            total.first_error = stats.first_error;
        }
        total.latencies.extend(stats.latencies);
        total.acks.extend(stats.acks);
    }
    total.elapsed = started.elapsed();
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let mut latencies = Latencies::default();
        assert_eq!(latencies.quantile_ms(0.5), None);
        for ms in (1..=100).rev() {
            latencies.record(Duration::from_millis(ms));
        }
        assert_eq!(latencies.quantile_ms(0.5), Some(50.0));
        assert_eq!(latencies.quantile_ms(0.99), Some(99.0));
        assert_eq!(latencies.quantile_ms(1.0), Some(100.0));
        assert_eq!(latencies.quantile_ms(0.0), Some(1.0));
    }
}
