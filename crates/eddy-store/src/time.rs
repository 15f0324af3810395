//! Clock helpers: epoch milliseconds, and the timestamp formats AWS uses.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `2026-01-01T00:00:00.123Z`: ISO-8601 UTC with milliseconds, as in S3 events.
pub fn iso8601_millis(ms: u64) -> String {
    let dt = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_millis() {
        assert_eq!(
            super::iso8601_millis(1_767_225_600_123),
            "2026-01-01T00:00:00.123Z"
        );
    }
}
