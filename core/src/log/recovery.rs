//! Recovery on open: what a partition directory holds, made consistent before the log serves
//! it. Leftovers of interrupted writes are removed; without a clean shutdown every segment from
//! the one holding the recovery point on is rescanned, and a torn or corrupt batch cuts its
//! segment there and removes every later segment (each cut logged); segments that do not
//! continue their predecessor are dropped; the log start offset comes from its checkpoint; the
//! idempotent producers' state is rebuilt from its snapshot and the batch headers after it.

use crate::error::{Error, Result};
use crate::log::checkpoint;
use crate::log::config::LogConfig;
use crate::log::partition_log::settings_of;
use crate::log::producer_state::{self, ProducerState};
use crate::log::segment::Segment;
use std::collections::BTreeMap;
use std::path::Path;

/// A partition directory, recovered.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub segments: BTreeMap<i64, Segment>,
    pub log_start_offset: i64,
    pub log_end: i64,
    pub producers: ProducerState,
    /// The offset below which everything is known to be on disk.
    pub durable: i64,
}

/// Recovers the log in `dir` (creating it if needed).
pub(crate) fn load(
    dir: &Path,
    config: &LogConfig,
    clean_shutdown: bool,
    now: i64,
) -> Result<Loaded> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let bases = list_segments(dir)?;
    let settings = settings_of(config);
    let recovery_point = if clean_shutdown {
        i64::MAX
    } else {
        checkpoint::read(dir, checkpoint::RECOVERY_POINT).unwrap_or(0)
    };
    // Rescan from the segment holding the recovery point: the last base at or below it.
    let rescan_from = bases
        .iter()
        .copied()
        .filter(|b| *b <= recovery_point)
        .max()
        .unwrap_or(i64::MIN);
    let mut segments = BTreeMap::new();
    let mut expected_next = i64::MIN;
    for (i, &base) in bases.iter().enumerate() {
        let is_last = i + 1 == bases.len();
        let (seg, outcome) = Segment::open(dir, base, settings, is_last, base >= rescan_from)?;
        // Rolls, retention and compaction all keep each sealed segment ending exactly where
        // the next begins; anything else means the predecessor lost its tail or this
        // segment is misplaced, and nothing from here on can be trusted to be in order.
        if i > 0 && base != expected_next {
            tracing::warn!(
                dir = %dir.display(),
                base,
                expected = expected_next,
                "segment does not continue its predecessor; dropping it and everything after"
            );
            seg.delete()?;
            drop_segments(dir, &bases[i + 1..])?;
            break;
        }
        expected_next = seg.next_offset();
        segments.insert(base, seg);
        if outcome.truncated_bytes > 0 && !is_last {
            drop_segments(dir, &bases[i + 1..])?;
            break;
        }
    }
    let stored_start = checkpoint::read(dir, checkpoint::LOG_START_OFFSET);
    if segments.is_empty() {
        let base = stored_start.unwrap_or(0).max(0);
        segments.insert(base, Segment::create(dir, base, settings)?);
    } else if let Some(last) = segments.values_mut().next_back() {
        last.activate()?;
    }
    let first_base = segments.keys().next().copied().unwrap_or(0);
    let log_end = segments
        .values()
        .next_back()
        .map_or(0, Segment::next_offset);
    let log_start_offset = stored_start
        .unwrap_or(first_base)
        .max(first_base)
        .min(log_end);
    let producers = rebuild_producer_state(dir, &segments, log_start_offset, log_end, now)?;
    let durable = if clean_shutdown {
        log_end
    } else {
        recovery_point.min(log_end)
    };
    Ok(Loaded {
        segments,
        log_start_offset,
        log_end,
        producers,
        durable,
    })
}

/// The snapshot if usable, brought up to the log end from batch headers; without one, the
/// whole log's headers (no record is decoded either way).
fn rebuild_producer_state(
    dir: &Path,
    segments: &BTreeMap<i64, Segment>,
    log_start: i64,
    log_end: i64,
    now: i64,
) -> Result<ProducerState> {
    let (from, mut state) = producer_state::read_snapshot(dir, log_end)
        .unwrap_or((log_start, ProducerState::default()));
    let floor = segments
        .range(..=from)
        .next_back()
        .map_or(i64::MIN, |(b, _)| *b);
    for seg in segments.range(floor..).map(|(_, s)| s) {
        for h in seg.headers_from(from)? {
            if h.base_offset >= from {
                state.record(&h, h.base_offset, now);
            }
        }
    }
    Ok(state)
}

/// Base offsets of the `.log` files in `dir`, sorted; removes leftovers of interrupted
/// compaction and checkpoint writes.
fn list_segments(dir: &Path) -> Result<Vec<i64>> {
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".cleaned") || name.ends_with(".tmp") {
            tracing::info!(file = %entry.path().display(), "removing leftover of an interrupted write");
            let _ = std::fs::remove_file(entry.path());
            continue;
        }
        if let Some(stem) = name.strip_suffix(".log") {
            if let Ok(base) = stem.parse::<i64>() {
                bases.push(base);
            }
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

fn drop_segments(dir: &Path, bases: &[i64]) -> Result<()> {
    for &base in bases {
        tracing::warn!(dir = %dir.display(), base, "removing segment after a recovery cut");
        Segment::delete_files(dir, base)?;
    }
    Ok(())
}
