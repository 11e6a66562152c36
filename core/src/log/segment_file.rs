//! A segment's `.log` file, whose descriptor is held only while the segment is in use.
//!
//! A broker with many partitions has many more sealed segments than it reads at once; Kafka
//! keeps a descriptor open for every one and asks for a huge `RLIMIT_NOFILE`. strom opens a
//! sealed segment's file when it is read and lets housekeeping close it again once a whole
//! pass went by without a read ([`SegmentFile::close_if_idle`]), so descriptors follow the
//! partitions in use, not the data kept.
//!
//! Only files without unflushed writes are closed: a writeback error is reported to the
//! descriptors open when it happened, so closing one before its fsync could hide it.

use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug)]
pub struct SegmentFile {
    path: PathBuf,
    file: Mutex<Option<Arc<File>>>,
    /// Set by every use, cleared by every idle check.
    used: AtomicBool,
}

impl SegmentFile {
    /// Opens (creating if needed) the file at `path` for reading and appending.
    pub fn open(path: PathBuf) -> Result<SegmentFile> {
        let file = Self::open_file(&path, true)?;
        Ok(SegmentFile {
            path,
            file: Mutex::new(Some(Arc::new(file))),
            used: AtomicBool::new(true),
        })
    }

    fn open_file(path: &Path, create: bool) -> Result<File> {
        OpenOptions::new()
            .read(true)
            .append(true)
            .create(create)
            .open(path)
            .map_err(|e| Error::io(path, e))
    }

    /// The open file, reopened if it was closed while idle.
    pub fn get(&self) -> Result<Arc<File>> {
        self.used.store(true, Ordering::Relaxed);
        let mut slot = self.file.lock();
        if let Some(f) = slot.as_ref() {
            return Ok(Arc::clone(f));
        }
        let f = Arc::new(Self::open_file(&self.path, false)?);
        *slot = Some(Arc::clone(&f));
        Ok(f)
    }

    /// Closes the descriptor if the file was not used since the last call (readers holding
    /// the `Arc` finish first). Returns whether it was closed now.
    pub fn close_if_idle(&self) -> bool {
        if self.used.swap(false, Ordering::Relaxed) {
            return false;
        }
        self.file.lock().take().is_some()
    }

    /// Closes the descriptor now (a freshly opened sealed segment nobody reads yet).
    pub fn close(&self) {
        self.used.store(false, Ordering::Relaxed);
        self.file.lock().take();
    }

    pub fn is_open(&self) -> bool {
        self.file.lock().is_some()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::FileExt;

    #[test]
    fn closes_only_after_an_idle_round_and_reopens_on_use() {
        let dir = tempfile::tempdir().unwrap();
        let f = SegmentFile::open(dir.path().join("x.log")).unwrap();
        f.get().unwrap().write_all_at(b"hello", 0).unwrap();
        assert!(!f.close_if_idle(), "used since the last check");
        assert!(f.close_if_idle(), "idle for a whole round");
        assert!(!f.is_open());
        let mut buf = [0u8; 5];
        f.get().unwrap().read_exact_at(&mut buf, 0).unwrap();
        assert_eq!(&buf, b"hello");
        assert!(f.is_open());
    }
}
