//! What eddy counts and shows: typed telemetry events, each of which knows which
//! metrics it updates and which step of a file's journey (the dashboard's recent files)
//! it records.
//!
//! The store, the pipeline and the HTTP server report what happened with one call,
//! `telemetry.emit(MessagesSent { queue, count })`, instead of touching counters
//! themselves; [`events`] is the one place that maps events onto metric names and
//! labels. The metrics go through the `metrics` facade (the binary installs a
//! Prometheus recorder; without one the calls cost nothing). The journeys live in the
//! [`Activity`] of a [`Telemetry`] handle.
//!
//! This crate owns metric names ([`names`]), events ([`events`]) and the journeys
//! ([`activity`]). It must not know the store, the pipeline or HTTP: events carry plain
//! values, and whoever emits one has already done the work it reports.

pub mod activity;
pub mod events;
pub mod names;

use std::sync::Arc;

pub use activity::Activity;
pub use events::*;

/// Where events go: the metrics recorder and this handle's journeys. Cheap to clone;
/// every clone shares the journeys.
#[derive(Debug, Clone, Default)]
pub struct Telemetry {
    activity: Arc<Activity>,
}

impl Telemetry {
    /// Records one event.
    pub fn emit(&self, event: impl Event) {
        event.emit(&self.activity);
    }

    /// The recent files' journeys and the pipeline's totals, for the dashboard.
    pub fn activity(&self) -> &Activity {
        &self.activity
    }
}
