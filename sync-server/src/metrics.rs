//! Counters and gauges, exposed at `GET /metrics` in the Prometheus text
//! format (hand-written: a handful of atomics needs no library).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::store::CommitStats;

/// The relay's metrics. Shared by every connection.
#[derive(Debug, Default)]
pub struct Metrics {
    pub connections: AtomicI64,
    /// Accepted sockets, websockets or not (`sockets.rs`).
    pub sockets: AtomicI64,
    pub active_documents: AtomicI64,
    /// Changes committed, and the records (rows) that held them.
    pub changes_stored: AtomicU64,
    pub records_stored: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    /// From a Changes frame read to its commit reported to the connection.
    pub commit_wait: Histogram,
    /// From a commit to its changes written to a subscriber's socket.
    pub fanout_delay: Histogram,
    /// Rejected messages by reason: an `ErrorCode` name or a close reason.
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

/// Upper bounds of the latency histograms' buckets, in microseconds.
const BUCKETS_US: [u64; 12] = [
    500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000,
    5_000_000,
];

/// A latency histogram with fixed buckets (Prometheus semantics: each
/// bucket counts the observations at most its bound).
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS_US.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: std::time::Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if let Some(i) = BUCKETS_US.iter().position(|&b| us <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, n) in BUCKETS_US.iter().zip(&self.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{}.{:06}\"}} {cumulative}",
                bound / 1_000_000,
                bound % 1_000_000
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_us.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}.{:06}", sum / 1_000_000, sum % 1_000_000);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn reject(&self, reason: &'static str) {
        let mut map = self
            .rejected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry(reason).or_insert(0) += 1;
    }

    pub fn rejected(&self, reason: &str) -> u64 {
        self.rejected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(reason)
            .copied()
            .unwrap_or(0)
    }

    /// The Prometheus text exposition, with the store's commit statistics.
    pub fn render(&self, store: &CommitStats) -> String {
        let mut out = String::new();
        let mut one = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        };
        let g = |a: &AtomicI64| a.load(Ordering::Relaxed).to_string();
        let c = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        one(
            "concord_relay_connections",
            "gauge",
            "Open websocket connections.",
            g(&self.connections),
        );
        one(
            "concord_relay_sockets",
            "gauge",
            "Open sockets: websockets, HTTP requests and unfinished handshakes.",
            g(&self.sockets),
        );
        one(
            "concord_relay_active_documents",
            "gauge",
            "Documents held in memory (with subscribers).",
            g(&self.active_documents),
        );
        one(
            "concord_relay_changes_stored_total",
            "counter",
            "Changes committed to the store.",
            c(&self.changes_stored),
        );
        one(
            "concord_relay_records_stored_total",
            "counter",
            "Records (one change, or a run of typing) committed to the store.",
            c(&self.records_stored),
        );
        one(
            "concord_relay_commits_total",
            "counter",
            "Store transactions (group commits).",
            c(&store.commits),
        );
        one(
            "concord_relay_commit_seconds_total",
            "counter",
            "Time spent in store transactions (writes and fsync).",
            {
                let us = store.micros.load(Ordering::Relaxed);
                format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
            },
        );
        one(
            "concord_relay_bytes_in_total",
            "counter",
            "Websocket payload bytes received.",
            c(&self.bytes_in),
        );
        one(
            "concord_relay_bytes_out_total",
            "counter",
            "Websocket payload bytes sent.",
            c(&self.bytes_out),
        );
        self.commit_wait.render(
            &mut out,
            "concord_relay_commit_wait_seconds",
            "From a Changes frame read to its commit (what a writer waits for its Ack).",
        );
        self.fanout_delay.render(
            &mut out,
            "concord_relay_fanout_delay_seconds",
            "From a commit to its changes written to another subscriber's socket.",
        );
        let _ = writeln!(
            out,
            "# HELP concord_relay_rejected_total Messages rejected, by reason."
        );
        let _ = writeln!(out, "# TYPE concord_relay_rejected_total counter");
        let map = self
            .rejected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (reason, n) in map.iter() {
            let _ = writeln!(
                out,
                "concord_relay_rejected_total{{reason=\"{reason}\"}} {n}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.connections.fetch_add(2, Ordering::Relaxed);
        Metrics::add(&m.changes_stored, 5);
        m.reject("rate_limited");
        m.reject("rate_limited");
        let text = m.render(&CommitStats::default());
        assert!(text.contains("concord_relay_connections 2\n"));
        assert!(text.contains("concord_relay_changes_stored_total 5\n"));
        assert!(text.contains("concord_relay_rejected_total{reason=\"rate_limited\"} 2\n"));
        assert_eq!(m.rejected("rate_limited"), 2);
        m.commit_wait.observe(std::time::Duration::from_millis(3));
        let text = m.render(&CommitStats::default());
        assert!(text.contains("concord_relay_commit_wait_seconds_bucket{le=\"0.002000\"} 0\n"));
        assert!(text.contains("concord_relay_commit_wait_seconds_bucket{le=\"0.005000\"} 1\n"));
        assert!(text.contains("concord_relay_commit_wait_seconds_count 1\n"));
    }
}
