//! Memory-mapped sparse indexes of a segment: the offset index (relative offset u32, position
//! u32) and the time index (timestamp i64, relative offset u32), both big-endian like Kafka's.
//!
//! An index file is preallocated to its maximum size while its segment is active, so appends
//! are stores into the map, and trimmed to its entries when the segment is sealed. Indexes are
//! never trusted blindly: [`OffsetIndex::is_sane`] / [`TimeIndex::is_sane`] reject files that a
//! crash or a bit flip left inconsistent, and the segment then rebuilds them from the log.
#![allow(unsafe_code)]

use crate::error::{Error, Result};
use memmap2::MmapMut;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// A fixed-width entry file behind an optional writable map.
#[derive(Debug)]
struct EntryFile {
    path: PathBuf,
    file: File,
    map: Option<MmapMut>,
    entry_size: usize,
    entries: usize,
    capacity: usize,
}

impl EntryFile {
    /// Opens (or creates) the file. Existing whole entries are kept; `capacity_bytes` of `None`
    /// maps the file as it is (a sealed segment), `Some(n)` preallocates room for appends.
    fn open(path: &Path, entry_size: usize, capacity_bytes: Option<usize>) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len() as usize;
        let entries = len / entry_size;
        let capacity = match capacity_bytes {
            Some(max) => (max / entry_size).max(entries),
            None => entries,
        };
        let mut this = EntryFile {
            path: path.to_path_buf(),
            file,
            map: None,
            entry_size,
            entries,
            capacity,
        };
        this.remap(capacity)?;
        Ok(this)
    }

    /// Sets the file to exactly `capacity` entries and maps it.
    fn remap(&mut self, capacity: usize) -> Result<()> {
        self.map = None;
        let bytes = (capacity * self.entry_size) as u64;
        self.file
            .set_len(bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        self.capacity = capacity;
        if capacity > 0 {
            // SAFETY: the file is owned by this segment and opened read-write; strom never
            // truncates it while this map is alive (remap drops the map first), so the mapped
            // range stays backed by the file.
            let map =
                unsafe { MmapMut::map_mut(&self.file) }.map_err(|e| Error::io(&self.path, e))?;
            self.map = Some(map);
        }
        Ok(())
    }

    fn entry(&self, i: usize) -> &[u8] {
        let start = i * self.entry_size;
        match &self.map {
            Some(m) => &m[start..start + self.entry_size],
            None => &[],
        }
    }

    fn is_full(&self) -> bool {
        self.entries >= self.capacity
    }

    fn push(&mut self, bytes: &[u8]) -> bool {
        if self.is_full() {
            return false;
        }
        let start = self.entries * self.entry_size;
        if let Some(m) = &mut self.map {
            m[start..start + self.entry_size].copy_from_slice(bytes);
            self.entries += 1;
            true
        } else {
            false
        }
    }

    fn truncate_entries(&mut self, n: usize) {
        self.entries = self.entries.min(n);
    }

    fn flush(&self) -> Result<()> {
        if let Some(m) = &self.map {
            m.flush().map_err(|e| Error::io(&self.path, e))?;
        }
        self.file.sync_all().map_err(|e| Error::io(&self.path, e))
    }

    /// Shrinks the file to its entries (a sealed segment takes no more).
    fn trim(&mut self) -> Result<()> {
        if let Some(m) = &self.map {
            m.flush().map_err(|e| Error::io(&self.path, e))?;
        }
        self.remap(self.entries)
    }

    /// Grows the file back to `capacity_bytes` for appends (reopening the active segment).
    fn grow(&mut self, capacity_bytes: usize) -> Result<()> {
        let cap = (capacity_bytes / self.entry_size).max(self.entries);
        if cap != self.capacity {
            self.remap(cap)?;
        }
        Ok(())
    }
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// Offset → file position, one entry per `index.interval.bytes` of log.
///
/// An entry records the *base* offset of the batch that starts at its position, so a lookup can
/// verify the batch it lands on and fall back to a scan if the index lied.
#[derive(Debug)]
pub struct OffsetIndex {
    inner: EntryFile,
    base_offset: i64,
}

/// One offset index entry, with the offset made absolute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetEntry {
    pub offset: i64,
    pub position: u64,
}

impl OffsetIndex {
    pub const ENTRY: usize = 8;

    pub fn open(path: &Path, base_offset: i64, capacity_bytes: Option<usize>) -> Result<Self> {
        Ok(OffsetIndex {
            inner: EntryFile::open(path, Self::ENTRY, capacity_bytes)?,
            base_offset,
        })
    }

    pub fn len(&self) -> usize {
        self.inner.entries
    }

    pub fn is_empty(&self) -> bool {
        self.inner.entries == 0
    }

    pub fn is_full(&self) -> bool {
        self.inner.is_full()
    }

    pub fn get(&self, i: usize) -> OffsetEntry {
        let e = self.inner.entry(i);
        OffsetEntry {
            offset: self.base_offset + be_u32(e, 0) as i64,
            position: be_u32(e, 4) as u64,
        }
    }

    pub fn last(&self) -> Option<OffsetEntry> {
        self.len().checked_sub(1).map(|i| self.get(i))
    }

    /// Appends an entry; false when the index is full (the segment must roll).
    pub fn append(&mut self, offset: i64, position: u64) -> bool {
        let mut e = [0u8; 8];
        e[..4].copy_from_slice(&((offset - self.base_offset) as u32).to_be_bytes());
        e[4..].copy_from_slice(&(position as u32).to_be_bytes());
        self.inner.push(&e)
    }

    /// The last entry whose offset is ≤ `target`, if any.
    pub fn lookup(&self, target: i64) -> Option<OffsetEntry> {
        let n = self.len();
        // partition_point over indices: first entry with offset > target.
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.get(mid).offset <= target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.checked_sub(1).map(|i| self.get(i))
    }

    /// Entries strictly increasing in offset and position, positions inside the log.
    pub fn is_sane(&self, log_size: u64) -> bool {
        let mut prev: Option<OffsetEntry> = None;
        for i in 0..self.len() {
            let e = self.get(i);
            if e.position == 0 || e.position >= log_size {
                return false;
            }
            if let Some(p) = prev {
                if e.offset <= p.offset || e.position <= p.position {
                    return false;
                }
            }
            prev = Some(e);
        }
        true
    }

    /// Drops entries at or after `position`.
    pub fn truncate_to_position(&mut self, position: u64) {
        let keep = (0..self.len())
            .take_while(|&i| self.get(i).position < position)
            .count();
        self.inner.truncate_entries(keep);
    }

    pub fn clear(&mut self) {
        self.inner.truncate_entries(0);
    }

    pub fn flush(&self) -> Result<()> {
        self.inner.flush()
    }

    pub fn trim(&mut self) -> Result<()> {
        self.inner.trim()
    }

    pub fn grow(&mut self, capacity_bytes: usize) -> Result<()> {
        self.inner.grow(capacity_bytes)
    }
}

/// Timestamp → offset: an entry whenever a batch raises the segment's max timestamp at an
/// index interval, plus a final entry with the segment's max timestamp when it is sealed.
#[derive(Debug)]
pub struct TimeIndex {
    inner: EntryFile,
    base_offset: i64,
}

/// One time index entry, with the offset made absolute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    pub timestamp: i64,
    pub offset: i64,
}

impl TimeIndex {
    pub const ENTRY: usize = 12;

    pub fn open(path: &Path, base_offset: i64, capacity_bytes: Option<usize>) -> Result<Self> {
        Ok(TimeIndex {
            inner: EntryFile::open(path, Self::ENTRY, capacity_bytes)?,
            base_offset,
        })
    }

    pub fn len(&self) -> usize {
        self.inner.entries
    }

    pub fn is_empty(&self) -> bool {
        self.inner.entries == 0
    }

    pub fn is_full(&self) -> bool {
        self.inner.is_full()
    }

    pub fn get(&self, i: usize) -> TimeEntry {
        let e = self.inner.entry(i);
        TimeEntry {
            timestamp: be_i64(e, 0),
            offset: self.base_offset + be_u32(e, 8) as i64,
        }
    }

    pub fn last(&self) -> Option<TimeEntry> {
        self.len().checked_sub(1).map(|i| self.get(i))
    }

    /// Appends when `timestamp` is above the last entry's; returns false only when full.
    pub fn maybe_append(&mut self, timestamp: i64, offset: i64) -> bool {
        if let Some(last) = self.last() {
            if timestamp <= last.timestamp {
                return true;
            }
        }
        let mut e = [0u8; 12];
        e[..8].copy_from_slice(&timestamp.to_be_bytes());
        e[8..].copy_from_slice(&((offset - self.base_offset) as u32).to_be_bytes());
        self.inner.push(&e)
    }

    /// The last entry whose timestamp is strictly below `target`: every batch before its
    /// offset has a max timestamp below `target`, so a search for `target` may start there.
    pub fn lookup_before(&self, target: i64) -> Option<TimeEntry> {
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.get(mid).timestamp < target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.checked_sub(1).map(|i| self.get(i))
    }

    /// Timestamps strictly increasing, offsets non-decreasing and below `next_offset`.
    pub fn is_sane(&self, next_offset: i64) -> bool {
        let mut prev: Option<TimeEntry> = None;
        for i in 0..self.len() {
            let e = self.get(i);
            if e.offset < self.base_offset || e.offset >= next_offset.max(self.base_offset + 1) {
                return false;
            }
            if let Some(p) = prev {
                if e.timestamp <= p.timestamp || e.offset < p.offset {
                    return false;
                }
            }
            prev = Some(e);
        }
        true
    }

    /// Drops entries whose offset is at or after `offset`.
    pub fn truncate_to_offset(&mut self, offset: i64) {
        let keep = (0..self.len())
            .take_while(|&i| self.get(i).offset < offset)
            .count();
        self.inner.truncate_entries(keep);
    }

    pub fn clear(&mut self) {
        self.inner.truncate_entries(0);
    }

    pub fn flush(&self) -> Result<()> {
        self.inner.flush()
    }

    pub fn trim(&mut self) -> Result<()> {
        self.inner.trim()
    }

    pub fn grow(&mut self, capacity_bytes: usize) -> Result<()> {
        self.inner.grow(capacity_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_lookup_trim_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.index");
        let mut idx = OffsetIndex::open(&p, 100, Some(80)).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 80, "preallocated");
        for i in 1..=10 {
            assert!(idx.append(100 + i * 10, i as u64 * 4096));
        }
        assert!(idx.is_full());
        assert!(!idx.append(500, 999_999));
        assert_eq!(idx.lookup(99), None);
        assert_eq!(idx.lookup(125).unwrap().offset, 120);
        assert_eq!(idx.lookup(1000).unwrap().offset, 200);
        assert!(idx.is_sane(1 << 20));
        assert!(
            !idx.is_sane(4096 * 5),
            "positions beyond the log are insane"
        );
        idx.truncate_to_position(4096 * 4);
        assert_eq!(idx.len(), 3);
        idx.trim().unwrap();
        drop(idx);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 24, "trimmed");
        let idx = OffsetIndex::open(&p, 100, None).unwrap();
        assert_eq!(idx.len(), 3);
        assert_eq!(idx.last().unwrap().position, 3 * 4096);
    }

    #[test]
    fn zero_tail_from_a_crash_is_insane() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.index");
        let mut idx = OffsetIndex::open(&p, 0, Some(800)).unwrap();
        idx.append(5, 100);
        idx.flush().unwrap();
        drop(idx);
        // Reopened without trimming: the preallocated zeros count as entries.
        let idx = OffsetIndex::open(&p, 0, Some(800)).unwrap();
        assert_eq!(idx.len(), 100);
        assert!(!idx.is_sane(1 << 20));
    }

    #[test]
    fn time_index_lookup_before() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = TimeIndex::open(&dir.path().join("0.timeindex"), 0, Some(1200)).unwrap();
        assert!(t.maybe_append(1000, 0));
        assert!(t.maybe_append(900, 5)); // not above the last: skipped
        assert!(t.maybe_append(2000, 10));
        assert!(t.maybe_append(3000, 20));
        assert_eq!(t.len(), 3);
        assert_eq!(t.lookup_before(1000), None);
        assert_eq!(t.lookup_before(1001).unwrap().offset, 0);
        assert_eq!(t.lookup_before(2500).unwrap().offset, 10);
        assert!(t.is_sane(21));
        assert!(!t.is_sane(15));
        t.truncate_to_offset(10);
        assert_eq!(t.len(), 1);
    }
}
