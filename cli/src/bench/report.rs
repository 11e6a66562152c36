//! Bench results: counts, rates and an HdrHistogram of latencies, printed as text or JSON;
//! and the progress bar shown while a bench runs on a terminal.

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// What one bench measured.
#[derive(Debug)]
pub struct Report {
    pub mode: &'static str,
    /// "strom" over TCP, "strom-in-process" on an embedded broker.
    pub client: &'static str,
    pub records: u64,
    pub bytes: u64,
    pub elapsed: Duration,
    pub errors: u64,
    /// Latencies in microseconds, if the mode measures them.
    pub latency: Option<Histogram<u64>>,
    pub json: bool,
}

impl Report {
    pub fn records_per_sec(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / 1_048_576.0 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn percentiles_ms(&self) -> Option<[(&'static str, f64); 4]> {
        let h = self.latency.as_ref().filter(|h| !h.is_empty())?;
        let ms = |v: u64| v as f64 / 1000.0;
        Some([
            ("p50", ms(h.value_at_quantile(0.50))),
            ("p99", ms(h.value_at_quantile(0.99))),
            ("p99.9", ms(h.value_at_quantile(0.999))),
            ("max", ms(h.max())),
        ])
    }

    pub fn print(&self) {
        let percentiles = self.percentiles_ms();
        if self.json {
            let mut out = serde_json::json!({
                "mode": self.mode,
                "client": self.client,
                "records": self.records,
                "bytes": self.bytes,
                "seconds": self.elapsed.as_secs_f64(),
                "records_per_sec": self.records_per_sec(),
                "mb_per_sec": self.mb_per_sec(),
                "errors": self.errors,
            });
            if let (Some(p), Some(map)) = (percentiles, out.as_object_mut()) {
                for (name, value) in p {
                    map.insert(format!("latency_ms_{name}"), value.into());
                }
            }
            println!("{out}");
            return;
        }
        println!(
            "{} ({}): {} records in {:.2} s: {:.0} records/s, {:.1} MB/s, {} errors",
            self.mode,
            self.client,
            self.records,
            self.elapsed.as_secs_f64(),
            self.records_per_sec(),
            self.mb_per_sec(),
            self.errors
        );
        if let Some(p) = percentiles {
            let parts: Vec<String> = p.iter().map(|(n, v)| format!("{n} {v:.2} ms")).collect();
            println!("latency: {}", parts.join(", "));
        }
    }
}

/// A latency histogram from 1 µs to 10 minutes at 3 significant digits.
pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 600_000_000, 3)?)
}

/// A progress bar on a terminal (hidden otherwise, and with `--json`).
pub fn progress(total: u64, json: bool) -> ProgressBar {
    if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}
