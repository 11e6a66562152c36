//! Sparse indexes of a segment: the offset index (relative offset u32, position u32) and the
//! time index (timestamp i64, relative offset u32), both big-endian like Kafka's.
//!
//! The indexes of the active segment live in memory and reach their files only through
//! ordinary writes (when the segment is flushed or sealed). They used to be preallocated sparse
//! files written through a memory map, and on a full filesystem the first store into a page
//! that could not be allocated raised SIGBUS and killed the broker without a log line; a write
//! fails with ENOSPC instead, which the caller reports as a storage error and can retry.
//! A sealed index is mapped read-only: its bytes are on disk, so reading it needs no new
//! blocks, and strom never writes or truncates a file while a map of it exists. Neither state
//! keeps the file open, so an index costs no file descriptor.
//!
//! Indexes are never trusted blindly: [`OffsetIndex::is_sane`] / [`TimeIndex::is_sane`] reject
//! files that a crash or a bit flip left inconsistent, and the segment then rebuilds them from
//! the log.
#![allow(unsafe_code)]

use crate::error::{Error, Result};
use memmap2::Mmap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Where the entries are.
#[derive(Debug)]
enum Entries {
    /// A sealed index: a read-only map of the file (`None` when it has no entries).
    Mapped(Option<Mmap>),
    /// A writable index: exactly the entries, in memory.
    Owned(Vec<u8>),
}

/// A fixed-width entry file.
#[derive(Debug)]
struct EntryFile {
    path: PathBuf,
    data: Entries,
    entry_size: usize,
    entries: usize,
    capacity: usize,
    /// Length of the file on disk, `None` after a failed write left it unknown.
    file_len: Option<u64>,
    /// Leading entries that are in the file exactly as they are here.
    clean: usize,
}

impl EntryFile {
    /// Opens (or creates) the file. Existing whole entries are kept; `capacity_bytes` of `None`
    /// maps the file as it is (a sealed segment), `Some(n)` reads it into memory with room for
    /// `n` bytes of entries (the active segment).
    fn open(path: &Path, entry_size: usize, capacity_bytes: Option<usize>) -> Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let entries = usize::try_from(len)
            .map_err(|_| Error::io(path, std::io::Error::other("index file too large")))?
            / entry_size;
        let mut this = EntryFile {
            path: path.to_path_buf(),
            data: Entries::Mapped(None),
            entry_size,
            entries,
            capacity: entries,
            file_len: Some(len),
            clean: entries,
        };
        match capacity_bytes {
            Some(max) => {
                let mut buf = Vec::with_capacity(entries * entry_size);
                (&mut file)
                    .take((entries * entry_size) as u64)
                    .read_to_end(&mut buf)
                    .map_err(|e| Error::io(path, e))?;
                // A file that shrank under us: keep what was read.
                this.entries = buf.len() / entry_size;
                this.clean = this.entries;
                buf.truncate(this.entries * entry_size);
                this.data = Entries::Owned(buf);
                this.capacity = (max / entry_size).max(this.entries);
            }
            None => this.data = Entries::Mapped(map(&file, path, entries)?),
        }
        Ok(this)
    }

    fn bytes(&self) -> &[u8] {
        match &self.data {
            Entries::Mapped(Some(m)) => m,
            Entries::Mapped(None) => &[],
            Entries::Owned(v) => v,
        }
    }

    fn entry(&self, i: usize) -> &[u8] {
        let start = i * self.entry_size;
        self.bytes()
            .get(start..start + self.entry_size)
            .unwrap_or(&[])
    }

    fn is_full(&self) -> bool {
        self.entries >= self.capacity
    }

    /// Moves the entries into memory (dropping any map): every change happens there.
    fn owned(&mut self) -> &mut Vec<u8> {
        if let Entries::Mapped(_) = self.data {
            let end = self.entries * self.entry_size;
            let copy = self.bytes()[..end].to_vec();
            self.data = Entries::Owned(copy);
        }
        match &mut self.data {
            Entries::Owned(v) => v,
            Entries::Mapped(_) => unreachable!("converted above"),
        }
    }

    fn push(&mut self, bytes: &[u8]) -> bool {
        if self.is_full() {
            return false;
        }
        self.owned().extend_from_slice(bytes);
        self.entries += 1;
        true
    }

    fn truncate_entries(&mut self, n: usize) {
        self.entries = self.entries.min(n);
        self.clean = self.clean.min(self.entries);
        let end = self.entries * self.entry_size;
        if let Entries::Owned(v) = &mut self.data {
            v.truncate(end);
            // An index read from an old preallocated file can be megabytes of zeros.
            if v.capacity() > 2 * v.len() + 4096 {
                v.shrink_to_fit();
            }
        }
    }

    fn is_dirty(&self) -> bool {
        self.clean < self.entries || self.file_len != Some((self.entries * self.entry_size) as u64)
    }

    /// Brings the file up to the entries with plain writes and fsyncs it. A full disk fails
    /// here with an error, and nothing is lost: the entries stay in memory for the next try.
    fn write_out(&mut self) -> Result<()> {
        if !self.is_dirty() {
            return Ok(());
        }
        let path = self.path.clone();
        let (size, clean) = (self.entry_size, self.clean);
        let want = (self.entries * size) as u64;
        let file_len = self.file_len;
        // Never write a file that is mapped: drop the map first.
        let data = self.owned();
        let written = (|| {
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?;
            file.write_all_at(&data[clean * size..], (clean * size) as u64)?;
            if file_len.is_none_or(|l| l > want) {
                file.set_len(want)?;
            }
            file.sync_data()
        })();
        match written {
            Ok(()) => {
                self.clean = self.entries;
                self.file_len = Some(want);
                Ok(())
            }
            Err(e) => {
                // A partial write may have grown the file: cut it to size next time.
                self.file_len = None;
                Err(Error::io(&path, e))
            }
        }
    }

    fn flush(&mut self) -> Result<()> {
        self.write_out()
    }

    /// Writes the file out at exactly its entries and maps it read-only (a sealed segment
    /// takes no more entries and keeps no memory or descriptor for them).
    fn trim(&mut self) -> Result<()> {
        self.write_out()?;
        if let Entries::Owned(_) = self.data {
            let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
            self.data = Entries::Mapped(map(&file, &self.path, self.entries)?);
        }
        self.capacity = self.entries;
        Ok(())
    }

    /// Makes room for `capacity_bytes` of entries (reopening or rebuilding a segment).
    fn grow(&mut self, capacity_bytes: usize) -> Result<()> {
        self.owned();
        self.capacity = (capacity_bytes / self.entry_size).max(self.entries);
        Ok(())
    }
}

/// A read-only map of the first `entries` entries' file, `None` for an empty index.
fn map(file: &File, path: &Path, entries: usize) -> Result<Option<Mmap>> {
    if entries == 0 {
        return Ok(None);
    }
    // SAFETY: the map is read-only and only ever covers bytes already in the file, so reading
    // it allocates nothing and cannot fault on a full disk. strom changes an index file only
    // through `EntryFile::write_out`, which drops the map first; segment deletion unlinks the
    // file, which leaves a live map's pages intact.
    let m = unsafe { Mmap::map(file) }.map_err(|e| Error::io(path, e))?;
    Ok(Some(m))
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

    /// Writes and fsyncs entries not yet on disk (a no-op when there are none).
    pub fn flush(&mut self) -> Result<()> {
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

    /// Writes and fsyncs entries not yet on disk (a no-op when there are none).
    pub fn flush(&mut self) -> Result<()> {
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
        assert_eq!(
            std::fs::metadata(&p).unwrap().len(),
            0,
            "no sparse preallocation: nothing a page fault could fail to back"
        );
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
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 24, "trimmed");
        assert!(idx.is_full(), "a sealed index takes no more entries");
        assert_eq!(idx.lookup(125).unwrap().offset, 120, "read through the map");
        drop(idx);
        let idx = OffsetIndex::open(&p, 100, None).unwrap();
        assert_eq!(idx.len(), 3);
        assert_eq!(idx.last().unwrap().position, 3 * 4096);
    }

    #[test]
    fn active_entries_reach_the_file_on_flush_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.index");
        let mut idx = OffsetIndex::open(&p, 0, Some(8000)).unwrap();
        for i in 1..=5 {
            idx.append(i * 10, i as u64 * 100);
        }
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 0, "in memory only");
        idx.flush().unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 40);
        // Truncation and new entries rewrite only the tail.
        idx.truncate_to_position(300);
        idx.append(25, 250);
        idx.flush().unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 24);
        drop(idx);
        let mut idx = OffsetIndex::open(&p, 0, Some(8000)).unwrap();
        assert_eq!(idx.len(), 3);
        assert_eq!(idx.last().unwrap().offset, 25);
        assert!(idx.is_sane(1 << 20));
        // A sealed index reopened as the active one takes appends again.
        idx.trim().unwrap();
        idx.grow(8000).unwrap();
        assert!(idx.append(40, 400));
        idx.trim().unwrap();
        drop(idx);
        let idx = OffsetIndex::open(&p, 0, None).unwrap();
        assert_eq!(idx.len(), 4);
        assert_eq!(idx.lookup(39).unwrap().offset, 25);
    }

    #[test]
    fn a_failed_write_out_keeps_the_entries_for_the_next_try() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("gone");
        std::fs::create_dir(&sub).unwrap();
        let p = sub.join("0.index");
        let mut idx = OffsetIndex::open(&p, 0, Some(8000)).unwrap();
        idx.append(10, 100);
        // The directory vanishes: the write fails with an error, not a signal.
        std::fs::remove_dir_all(&sub).unwrap();
        let e = idx.trim().unwrap_err();
        assert_eq!(e.kafka_code(), 56, "{e}");
        assert_eq!(idx.len(), 1);
        std::fs::create_dir(&sub).unwrap();
        idx.trim().unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 8);
    }

    #[test]
    fn zero_tail_from_a_crash_is_insane() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.index");
        let mut idx = OffsetIndex::open(&p, 0, Some(800)).unwrap();
        idx.append(5, 100);
        idx.flush().unwrap();
        drop(idx);
        // Older strom versions preallocated the active index: a crash left zeros after the
        // entries, and those count as entries.
        let f = OpenOptions::new().write(true).open(&p).unwrap();
        f.set_len(800).unwrap();
        drop(f);
        let mut idx = OffsetIndex::open(&p, 0, Some(800)).unwrap();
        assert_eq!(idx.len(), 100);
        assert!(!idx.is_sane(1 << 20));
        // The rebuild clears them and the file shrinks to the real entries.
        idx.clear();
        idx.append(5, 100);
        idx.trim().unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 8);
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
