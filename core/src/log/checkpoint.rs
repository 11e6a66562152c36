//! Small per-partition checkpoint files (`recovery-point`, `log-start-offset`,
//! `cleaner-offset-checkpoint`): one decimal
//! number, replaced atomically (write to a temp file, fsync, rename, fsync the directory).

use crate::error::{Error, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub const RECOVERY_POINT: &str = "recovery-point";
pub const LOG_START_OFFSET: &str = "log-start-offset";
/// The first offset compaction has not cleaned yet (Kafka keeps one per log directory under
/// the same name); what the dirty ratio is measured from.
pub const CLEANER_OFFSET: &str = "cleaner-offset-checkpoint";

/// Reads a checkpoint; a missing or unreadable file is `None` (the caller falls back to the
/// conservative value), never an error that would keep the partition offline.
pub fn read(dir: &Path, name: &str) -> Option<i64> {
    let path = dir.join(name);
    let text = fs::read_to_string(&path).ok()?;
    match text.trim().parse() {
        Ok(v) => Some(v),
        Err(_) => {
            tracing::warn!(path = %path.display(), "ignoring unreadable checkpoint");
            None
        }
    }
}

/// A temp file name for replacing `name`, unique within the process: two writers of the same
/// file must not rename each other's half-written temp file.
pub fn temp_path(dir: &Path, name: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("{name}.{n}.tmp"))
}

pub fn write(dir: &Path, name: &str, value: i64) -> Result<()> {
    let tmp = temp_path(dir, name);
    let path = dir.join(name);
    let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(format!("{value}\n").as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    sync_dir(dir)
}

/// fsyncs a directory so that renames and removals in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}
