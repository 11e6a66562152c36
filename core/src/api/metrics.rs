//! [`Metrics`]: the server's counters, and their rendering in Prometheus' text format.
//!
//! Requests are counted where TCP connections dispatch them (in-process clients call the
//! handlers directly and are not counted). Counting is atomics only (relaxed: each counter is
//! read on its own, no ordering between them is promised), so the connection loop can record
//! every request without a lock. What is
//! state rather than a count — partition offsets and sizes, group lag — is read from the
//! broker and the group coordinator when the endpoint is scraped, never stored twice.
//!
//! Families (all prefixed `strom_`):
//! - `requests_total{api}`, `request_duration_seconds{api}` (histogram, from a request's
//!   arrival to its response being ready, long-poll waits included, as Kafka's
//!   `TotalTimeMs`), `requests_rejected_total` (requests that closed their connection);
//! - `network_received_bytes_total`, `network_sent_bytes_total`, `connections`,
//!   `connections_total`;
//! - `storage_errors_total` (KAFKA_STORAGE_ERROR answers, counted where errors become codes:
//!   every client of the process, in-process ones included);
//! - `housekeeping_failures_total` (partition steps of the background pass that failed);
//! - `partition_log_start_offset`, `partition_log_end_offset`, `partition_size_bytes`
//!   `{topic,partition}`;
//! - `group_committed_offset`, `group_lag` `{group,topic,partition}`.

use crate::api::Reply;
use crate::api::Service;
use crate::group::lag::lag;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Upper bounds (seconds) of the latency histogram buckets; `+Inf` is implied.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// API keys are small non-negative numbers; 128 slots cover every Kafka API with room.
const API_SLOTS: usize = 128;

/// Counts of one API.
#[derive(Debug, Default)]
struct ApiStats {
    count: AtomicU64,
    sum_micros: AtomicU64,
    /// Per bucket (not cumulative; summed when rendered), the last one is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
}

/// The server's counters. One per server; cheap to record into from any task.
#[derive(Debug)]
pub struct Metrics {
    apis: Box<[ApiStats]>,
    rejected: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    connections_open: AtomicU64,
    connections_total: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            apis: (0..API_SLOTS).map(|_| ApiStats::default()).collect(),
            rejected: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            connections_open: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// One request of `api_key` answered (or dropped) after `elapsed`.
    pub fn request(&self, api_key: i16, elapsed: Duration) {
        let Some(stats) = usize::try_from(api_key)
            .ok()
            .and_then(|slot| self.apis.get(slot))
        else {
            return;
        };
        stats.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        stats.sum_micros.fetch_add(micros, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|le| secs <= *le)
            .unwrap_or(BUCKETS.len());
        stats.buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `reply` to a request of `api_key` that arrived at `started`: at once when it is
    /// ready, and when its response is ready for a reply that waits ([`Reply::Later`]). A
    /// [`Reply::Close`] counts as rejected.
    pub fn count(self: &Arc<Self>, api_key: i16, started: Instant, reply: Reply) -> Reply {
        match reply {
            Reply::Later(pending) => {
                let metrics = Arc::clone(self);
                Reply::Later(Box::pin(async move {
                    let response = pending.await;
                    metrics.request(api_key, started.elapsed());
                    response
                }))
            }
            Reply::Close(why) => {
                self.rejected();
                Reply::Close(why)
            }
            ready => {
                self.request(api_key, started.elapsed());
                ready
            }
        }
    }

    /// A request that closed its connection instead of being answered.
    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    pub fn received(&self, bytes: usize) {
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn sent(&self, bytes: usize) {
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A connection was accepted; the guard counts it as open until dropped.
    pub fn connection(self: &std::sync::Arc<Self>) -> ConnectionGuard {
        self.connections_total.fetch_add(1, Ordering::Relaxed);
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(std::sync::Arc::clone(self))
    }

    /// Requests counted so far for `api_key` (for tests and the bench).
    pub fn requests_of(&self, api_key: i16) -> u64 {
        usize::try_from(api_key)
            .ok()
            .and_then(|slot| self.apis.get(slot))
            .map_or(0, |s| s.count.load(Ordering::Relaxed))
    }

    /// The counters, and the partitions and groups of `service`, in Prometheus text format
    /// (version 0.0.4).
    pub fn render(&self, service: Option<&Service>) -> String {
        let mut out = String::with_capacity(8 * 1024);
        self.render_requests(&mut out);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let simple = [
            (
                "requests_rejected_total",
                "counter",
                "Requests that closed their connection (malformed, unsupported, failed).",
                load(&self.rejected),
            ),
            (
                "network_received_bytes_total",
                "counter",
                "Bytes of request frames read, length prefixes included.",
                load(&self.bytes_in),
            ),
            (
                "network_sent_bytes_total",
                "counter",
                "Bytes of response frames written, length prefixes included.",
                load(&self.bytes_out),
            ),
            (
                "connections",
                "gauge",
                "Client connections open now.",
                load(&self.connections_open),
            ),
            (
                "connections_total",
                "counter",
                "Client connections accepted since start.",
                load(&self.connections_total),
            ),
            (
                "storage_errors_total",
                "counter",
                "Requests answered KAFKA_STORAGE_ERROR (disk full, I/O errors) since start.",
                crate::error::storage_errors_total(),
            ),
        ];
        for (name, kind, help, value) in simple {
            header(&mut out, name, kind, help);
            let _ = writeln!(out, "strom_{name} {value}");
        }
        if let Some(service) = service {
            let name = "housekeeping_failures_total";
            header(
                &mut out,
                name,
                "counter",
                "Housekeeping steps (retention, compaction, flush, checkpoint of one partition) that failed since start.",
            );
            let _ = writeln!(
                out,
                "strom_{name} {}",
                service.broker().housekeeping_failures()
            );
            render_partitions(&mut out, service);
            render_groups(&mut out, service);
        }
        out
    }

    fn render_requests(&self, out: &mut String) {
        let seen: Vec<(String, &ApiStats)> = self
            .apis
            .iter()
            .enumerate()
            .filter(|(_, s)| s.count.load(Ordering::Relaxed) > 0)
            .map(|(key, s)| (api_name(key), s))
            .collect();
        header(
            out,
            "requests_total",
            "counter",
            "Requests answered over TCP, by Kafka API.",
        );
        for (api, s) in &seen {
            let _ = writeln!(
                out,
                "strom_requests_total{{api=\"{api}\"}} {}",
                s.count.load(Ordering::Relaxed)
            );
        }
        header(
            out,
            "request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its response being ready (long polls included).",
        );
        for (api, s) in &seen {
            // Buckets are read one by one while requests go on: `+Inf` is their sum, so the
            // histogram stays consistent with itself even if `_count` moved meanwhile.
            let mut cumulative = 0u64;
            for (i, le) in BUCKETS.iter().enumerate() {
                cumulative += s.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "strom_request_duration_seconds_bucket{{api=\"{api}\",le=\"{le}\"}} {cumulative}"
                );
            }
            cumulative += s.buckets[BUCKETS.len()].load(Ordering::Relaxed);
            let sum = s.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "strom_request_duration_seconds_bucket{{api=\"{api}\",le=\"+Inf\"}} {cumulative}\n\
                 strom_request_duration_seconds_sum{{api=\"{api}\"}} {sum}\n\
                 strom_request_duration_seconds_count{{api=\"{api}\"}} {cumulative}"
            );
        }
    }
}

/// Keeps a connection counted as open.
#[derive(Debug)]
pub struct ConnectionGuard(std::sync::Arc<Metrics>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

fn api_name(key: usize) -> String {
    i16::try_from(key)
        .ok()
        .and_then(|k| kafka_protocol::messages::ApiKey::try_from(k).ok())
        .map_or_else(|| format!("api{key}"), |k| format!("{k:?}"))
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(
        out,
        "# HELP strom_{name} {help}\n# TYPE strom_{name} {kind}"
    );
}

/// A label value with `\`, `"` and newlines escaped, as the text format requires.
fn label(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// The per-partition gauges, in the order of [`PartitionRow::values`].
const PARTITION_FAMILIES: [(&str, &str); 3] = [
    (
        "partition_log_start_offset",
        "The first offset still in the log, by partition.",
    ),
    (
        "partition_log_end_offset",
        "The offset the next record will get, by partition.",
    ),
    (
        "partition_size_bytes",
        "Bytes of the partition's segments on disk.",
    ),
];

/// One partition's state at scrape time.
struct PartitionRow {
    topic: String,
    partition: i32,
    /// Log start offset, log end offset, size in bytes.
    values: [u64; 3],
}

fn render_partitions(out: &mut String, service: &Service) {
    let broker = service.broker();
    let mut rows = Vec::new();
    for topic in broker.topics() {
        for p in 0..topic.partitions {
            // A topic deleted between the listing and here just drops out of this scrape.
            if let Ok(log) = broker.partition(&topic.name, p) {
                let offset = |o: i64| u64::try_from(o).unwrap_or(0);
                rows.push(PartitionRow {
                    topic: label(&topic.name),
                    partition: p,
                    values: [
                        offset(log.log_start_offset()),
                        offset(log.log_end_offset()),
                        log.size_bytes(),
                    ],
                });
            }
        }
    }
    for (i, (name, help)) in PARTITION_FAMILIES.iter().enumerate() {
        header(out, name, "gauge", help);
        for r in &rows {
            let _ = writeln!(
                out,
                "strom_{name}{{topic=\"{}\",partition=\"{}\"}} {}",
                r.topic, r.partition, r.values[i]
            );
        }
    }
}

fn render_groups(out: &mut String, service: &Service) {
    let broker = service.broker();
    let committed = service.groups().committed_offsets();
    header(
        out,
        "group_committed_offset",
        "gauge",
        "The offset a group committed, by group and partition.",
    );
    let mut lags = Vec::with_capacity(committed.len());
    for (group, topic, partition, offset) in &committed {
        let labels = format!(
            "group=\"{}\",topic=\"{}\",partition=\"{partition}\"",
            label(group),
            label(topic)
        );
        let _ = writeln!(out, "strom_group_committed_offset{{{labels}}} {offset}");
        if let Ok(log) = broker.partition(topic, *partition) {
            lags.push((labels, lag(*offset, log.log_end_offset())));
        }
    }
    header(
        out,
        "group_lag",
        "gauge",
        "Records between a group's committed offset and the log end, by group and partition.",
    );
    for (labels, lag) in lags {
        let _ = writeln!(out, "strom_group_lag{{{labels}}} {lag}");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_match() {
        let m = Metrics::default();
        m.request(0, Duration::from_micros(100));
        m.request(0, Duration::from_millis(3));
        m.request(0, Duration::from_secs(60));
        m.request(-1, Duration::from_secs(1));
        m.request(i16::MAX, Duration::from_secs(1));
        m.received(10);
        m.sent(7);
        let text = m.render(None);
        assert!(text.contains("strom_requests_total{api=\"Produce\"} 3"));
        assert!(text.contains("le=\"0.0005\"} 1\n"));
        assert!(text.contains("le=\"0.005\"} 2\n"));
        assert!(text.contains("le=\"10\"} 2\n"));
        assert!(text.contains("le=\"+Inf\"} 3\n"));
        assert!(text.contains("strom_request_duration_seconds_count{api=\"Produce\"} 3"));
        assert!(text.contains("strom_network_received_bytes_total 10"));
        assert!(text.contains("strom_network_sent_bytes_total 7"));
        assert_eq!(m.requests_of(0), 3);
    }

    #[test]
    fn connections_are_counted_while_open() {
        let m = std::sync::Arc::new(Metrics::default());
        let a = m.connection();
        let b = m.connection();
        drop(a);
        let text = m.render(None);
        assert!(text.contains("strom_connections 1\n"));
        assert!(text.contains("strom_connections_total 2\n"));
        drop(b);
    }

    #[test]
    fn storage_errors_answered_are_a_counter() {
        let e = crate::Error::io("/x", std::io::Error::other("No space left on device"));
        assert_eq!(e.kafka_code(), 56);
        let text = Metrics::default().render(None);
        assert!(text.contains("# TYPE strom_storage_errors_total counter"));
        let line = text
            .lines()
            .find(|l| l.starts_with("strom_storage_errors_total "))
            .unwrap_or_default();
        let n: u64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(n >= 1, "{line}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
