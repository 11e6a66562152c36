//! One segment of a partition log: the `.log` file of RecordBatch v2 bytes plus its offset and
//! time indexes. A segment knows how to append whole batches, find the batch holding an offset
//! or a timestamp, read byte ranges, and rescan itself after a crash.

use crate::error::{Error, Result};
use crate::log::index::{OffsetIndex, TimeIndex};
use crate::log::segment_file::SegmentFile;
use crate::records::batch::{BatchHeader, HEADER_LEN};
use bytes::{Bytes, BytesMut};
use std::fs::File;
use std::io::{IoSlice, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Segment file names: the base offset zero-padded to 20 digits, as Kafka names them.
pub fn file_stem(base_offset: i64) -> String {
    format!("{base_offset:020}")
}

/// Tunables a segment needs from its topic config.
#[derive(Debug, Clone, Copy)]
pub struct SegmentSettings {
    /// `segment.index.bytes`: most bytes each index of the active segment holds; the segment
    /// rolls when one is full.
    pub index_max_bytes: usize,
    /// `index.interval.bytes`: log bytes between offset index entries.
    pub index_interval_bytes: u64,
}

/// What an append tells the segment about each batch it writes, in order.
#[derive(Debug, Clone, Copy)]
pub struct PendingBatch {
    pub len: usize,
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
}

/// The outcome of a full rescan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rescan {
    /// Bytes cut from the end of the file because they were torn or corrupt.
    pub truncated_bytes: u64,
}

#[derive(Debug)]
pub struct Segment {
    base_offset: i64,
    log_path: PathBuf,
    index_path: PathBuf,
    time_index_path: PathBuf,
    log: SegmentFile,
    size: u64,
    next_offset: i64,
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    /// Max timestamp of the first batch: what `segment.ms` is measured from, as in Kafka.
    rolling_timestamp: Option<i64>,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    bytes_since_index: u64,
    settings: SegmentSettings,
}

impl Segment {
    fn paths(dir: &Path, base_offset: i64) -> (PathBuf, PathBuf, PathBuf) {
        let stem = file_stem(base_offset);
        (
            dir.join(format!("{stem}.log")),
            dir.join(format!("{stem}.index")),
            dir.join(format!("{stem}.timeindex")),
        )
    }

    /// Creates a new, empty active segment (replacing any leftovers with the same name).
    pub fn create(dir: &Path, base_offset: i64, settings: SegmentSettings) -> Result<Segment> {
        let (log_path, index_path, time_index_path) = Self::paths(dir, base_offset);
        for p in [&log_path, &index_path, &time_index_path] {
            match std::fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(p, e)),
            }
        }
        Self::open_files(
            log_path,
            index_path,
            time_index_path,
            base_offset,
            settings,
            true,
        )
    }

    fn open_files(
        log_path: PathBuf,
        index_path: PathBuf,
        time_index_path: PathBuf,
        base_offset: i64,
        settings: SegmentSettings,
        active: bool,
    ) -> Result<Segment> {
        let log = SegmentFile::open(log_path.clone())?;
        let size = log
            .get()?
            .metadata()
            .map_err(|e| Error::io(&log_path, e))?
            .len();
        let cap = active.then_some(settings.index_max_bytes);
        let offset_index = OffsetIndex::open(&index_path, base_offset, cap)?;
        let time_index = TimeIndex::open(&time_index_path, base_offset, cap)?;
        Ok(Segment {
            base_offset,
            log_path,
            index_path,
            time_index_path,
            log,
            size,
            next_offset: base_offset,
            max_timestamp: -1,
            offset_of_max_timestamp: base_offset,
            rolling_timestamp: None,
            offset_index,
            time_index,
            bytes_since_index: 0,
            settings,
        })
    }

    /// Opens an existing segment. With `rescan`, every batch is CRC-checked and the indexes are
    /// rebuilt (crash recovery); without, the indexes are trusted if they pass a sanity check
    /// and only the tail after the last index entry is walked. Either way a torn tail is cut.
    pub fn open(
        dir: &Path,
        base_offset: i64,
        settings: SegmentSettings,
        active: bool,
        rescan: bool,
    ) -> Result<(Segment, Rescan)> {
        let (log_path, index_path, time_index_path) = Self::paths(dir, base_offset);
        let mut seg = Self::open_files(
            log_path,
            index_path,
            time_index_path,
            base_offset,
            settings,
            active,
        )?;
        let outcome = if rescan || !seg.load_from_indexes()? {
            seg.rescan(true)?
        } else {
            Rescan { truncated_bytes: 0 }
        };
        if !active {
            seg.seal()?;
            // Recovered sealed data is on disk: its descriptor is opened again when read.
            seg.log.close();
        }
        Ok((seg, outcome))
    }

    /// Fast open: trust sane indexes, walk batch headers after the last index entry. Returns
    /// false if anything does not add up, in which case the caller rescans.
    fn load_from_indexes(&mut self) -> Result<bool> {
        if !self.offset_index.is_sane(self.size) {
            tracing::warn!(path = %self.index_path.display(), "offset index failed its sanity check; rebuilding");
            return Ok(false);
        }
        let start = match self.offset_index.last() {
            Some(e) => {
                match self.header_at(e.position).ok().flatten() {
                    Some(h) if h.base_offset == e.offset => {}
                    _ => {
                        tracing::warn!(path = %self.index_path.display(), "offset index points at no batch; rebuilding");
                        return Ok(false);
                    }
                }
                e.position
            }
            None => 0,
        };
        let mut pos = start;
        self.next_offset = self
            .offset_index
            .last()
            .map_or(self.base_offset, |e| e.offset);
        if let Some(t) = self.time_index.last() {
            self.max_timestamp = t.timestamp;
            self.offset_of_max_timestamp = t.offset;
        }
        while pos < self.size {
            let h = match self.header_at(pos) {
                Ok(Some(h)) if pos + h.total_len() as u64 <= self.size => h,
                _ => return Ok(false),
            };
            self.next_offset = h.last_offset() + 1;
            if h.max_timestamp > self.max_timestamp {
                self.max_timestamp = h.max_timestamp;
                self.offset_of_max_timestamp = h.last_offset();
            }
            pos += h.total_len() as u64;
            self.bytes_since_index += h.total_len() as u64;
        }
        if !self.time_index.is_sane(self.next_offset) {
            tracing::warn!(path = %self.time_index_path.display(), "time index failed its sanity check; rebuilding");
            return Ok(false);
        }
        if self.size > 0 {
            self.rolling_timestamp = self.header_at(0)?.map(|h| h.max_timestamp);
        }
        Ok(true)
    }

    /// Walks every batch from the start, rebuilding both indexes; with `verify_crc`, cuts the
    /// file at the first batch that is torn, corrupt, or out of offset order.
    pub fn rescan(&mut self, verify_crc: bool) -> Result<Rescan> {
        // A sealed index holds only the entries it had; a rebuild may need room for more.
        self.offset_index.grow(self.settings.index_max_bytes)?;
        self.time_index.grow(self.settings.index_max_bytes)?;
        self.offset_index.clear();
        self.time_index.clear();
        self.next_offset = self.base_offset;
        self.max_timestamp = -1;
        self.offset_of_max_timestamp = self.base_offset;
        self.rolling_timestamp = None;
        self.bytes_since_index = 0;
        let mut pos = 0u64;
        let mut chunk = Vec::new();
        let mut problem: Option<String> = None;
        while pos < self.size {
            let h = match self.header_at(pos) {
                Ok(Some(h)) => h,
                Ok(None) => {
                    problem = Some("torn batch header".into());
                    break;
                }
                Err(e) => {
                    problem = Some(e.to_string());
                    break;
                }
            };
            let total = h.total_len() as u64;
            if pos + total > self.size {
                problem = Some(format!("torn batch: {total} bytes claimed"));
                break;
            }
            if h.base_offset < self.next_offset || h.last_offset_delta < 0 {
                problem = Some(format!(
                    "batch base offset {} is below the expected {}",
                    h.base_offset, self.next_offset
                ));
                break;
            }
            if verify_crc && !self.crc_ok(pos, &h, &mut chunk)? {
                problem = Some("CRC-32C mismatch".into());
                break;
            }
            self.index_batch(
                pos,
                &PendingBatch {
                    len: total as usize,
                    base_offset: h.base_offset,
                    last_offset: h.last_offset(),
                    max_timestamp: h.max_timestamp,
                },
            );
            pos += total;
        }
        let truncated = self.size - pos;
        if let Some(why) = problem {
            tracing::warn!(
                segment = %self.log_path.display(),
                position = pos,
                cut_bytes = truncated,
                "recovery truncated the segment: {why}"
            );
            self.log
                .get()?
                .set_len(pos)
                .map_err(|e| Error::io(&self.log_path, e))?;
            self.size = pos;
        }
        Ok(Rescan {
            truncated_bytes: truncated,
        })
    }

    /// Streams the batch through CRC-32C in bounded chunks: a corrupt length cannot make
    /// recovery allocate more than a megabyte.
    fn crc_ok(&self, pos: u64, h: &BatchHeader, chunk: &mut Vec<u8>) -> Result<bool> {
        const CHUNK: usize = 1 << 20;
        let mut crc = 0u32;
        let mut at = pos + 21;
        let end = pos + h.total_len() as u64;
        while at < end {
            let n = ((end - at) as usize).min(CHUNK);
            chunk.resize(n, 0);
            self.log
                .get()?
                .read_exact_at(chunk, at)
                .map_err(|e| Error::io(&self.log_path, e))?;
            crc = crc32c::crc32c_append(crc, chunk);
            at += n as u64;
        }
        Ok(crc == h.crc)
    }

    /// The header of the batch at `pos`, `None` if fewer than a header's bytes remain.
    pub fn header_at(&self, pos: u64) -> Result<Option<BatchHeader>> {
        if pos + HEADER_LEN as u64 > self.size {
            return Ok(None);
        }
        let mut buf = [0u8; HEADER_LEN];
        self.log
            .get()?
            .read_exact_at(&mut buf, pos)
            .map_err(|e| Error::io(&self.log_path, e))?;
        BatchHeader::parse(&buf).map(Some)
    }

    fn index_batch(&mut self, pos: u64, b: &PendingBatch) {
        if b.max_timestamp > self.max_timestamp {
            self.max_timestamp = b.max_timestamp;
            self.offset_of_max_timestamp = b.last_offset;
        }
        if self.bytes_since_index >= self.settings.index_interval_bytes && pos > 0 {
            // Both indexes have room until `is_full`, which makes the log roll first.
            self.offset_index.append(b.base_offset, pos);
            self.time_index
                .maybe_append(self.max_timestamp, self.offset_of_max_timestamp);
            self.bytes_since_index = 0;
        }
        if self.rolling_timestamp.is_none() {
            self.rolling_timestamp = Some(b.max_timestamp);
        }
        self.bytes_since_index += b.len as u64;
        self.next_offset = b.last_offset + 1;
    }

    /// Appends whole batches (already validated, offsets assigned) with one vectored write.
    pub fn append(&mut self, data: &[IoSlice<'_>], batches: &[PendingBatch]) -> Result<()> {
        let start = self.size;
        if let Err(e) = write_all_vectored(&*self.log.get()?, data) {
            // Leave no partial batch behind: the log must stay a sequence of whole batches.
            if let Ok(f) = self.log.get() {
                let _ = f.set_len(start);
            }
            return Err(Error::io(&self.log_path, e));
        }
        let mut pos = start;
        for b in batches {
            self.index_batch(pos, b);
            pos += b.len as u64;
        }
        self.size = pos;
        Ok(())
    }

    /// Position and header of the first batch whose last offset is ≥ `offset`.
    pub fn find(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>> {
        let mut pos = 0;
        if let Some(e) = self.offset_index.lookup(offset) {
            // An index entry that does not land on its batch is damage, not an error for the
            // reader: fall back to scanning the segment from its start.
            match self.header_at(e.position).ok().flatten() {
                // The header just read is the first the scan would read: use it.
                Some(h) if h.base_offset == e.offset && h.last_offset() >= offset => {
                    return Ok(Some((e.position, h)));
                }
                Some(h) if h.base_offset == e.offset => pos = e.position + h.total_len() as u64,
                _ => tracing::warn!(
                    path = %self.index_path.display(),
                    "index entry does not match the log; scanning from the segment start"
                ),
            }
        }
        self.scan_from(pos, |h| h.last_offset() >= offset)
    }

    /// Position and header of the first batch with a max timestamp ≥ `timestamp`.
    pub fn find_by_timestamp(&self, timestamp: i64) -> Result<Option<(u64, BatchHeader)>> {
        let start = match self.time_index.lookup_before(timestamp) {
            Some(e) => self.find(e.offset)?.map_or(self.size, |(p, _)| p),
            None => 0,
        };
        self.scan_from(start, |h| h.max_timestamp >= timestamp)
    }

    /// Headers of every batch whose last offset is ≥ `offset`, in order.
    pub fn headers_from(&self, offset: i64) -> Result<Vec<BatchHeader>> {
        let mut out = Vec::new();
        let Some((mut pos, _)) = self.find(offset)? else {
            return Ok(out);
        };
        while let Some(h) = self.header_at(pos)? {
            pos += h.total_len() as u64;
            out.push(h);
        }
        Ok(out)
    }

    fn scan_from(
        &self,
        mut pos: u64,
        hit: impl Fn(&BatchHeader) -> bool,
    ) -> Result<Option<(u64, BatchHeader)>> {
        while let Some(h) = self.header_at(pos)? {
            if hit(&h) {
                return Ok(Some((pos, h)));
            }
            pos += h.total_len() as u64;
        }
        Ok(None)
    }

    /// Reads up to `max_bytes` of whole batches starting at `pos`; at least one whole batch
    /// even if it is larger, so a consumer always makes progress (Kafka does the same).
    pub fn read(&self, pos: u64, max_bytes: usize) -> Result<Bytes> {
        self.read_batches(pos, max_bytes, HEADER_LEN)
    }

    /// [`Self::read`] when the caller knows the first batch is `first_len` bytes: one pread.
    pub fn read_batches(&self, pos: u64, max_bytes: usize, first_len: usize) -> Result<Bytes> {
        if pos >= self.size {
            return Ok(Bytes::new());
        }
        let avail = (self.size - pos) as usize;
        let want = avail.min(max_bytes.max(first_len).max(HEADER_LEN));
        let mut buf = BytesMut::zeroed(want);
        self.log
            .get()?
            .read_exact_at(&mut buf, pos)
            .map_err(|e| Error::io(&self.log_path, e))?;
        let mut end = 0usize;
        while end + HEADER_LEN <= buf.len() {
            let h = BatchHeader::parse(&buf[end..])?;
            if end + h.total_len() > buf.len() {
                break;
            }
            end += h.total_len();
        }
        if end == 0 {
            let h = BatchHeader::parse(&buf)?;
            let total = h.total_len().min(avail);
            let mut whole = BytesMut::zeroed(total);
            self.log
                .get()?
                .read_exact_at(&mut whole, pos)
                .map_err(|e| Error::io(&self.log_path, e))?;
            return Ok(whole.freeze());
        }
        buf.truncate(end);
        Ok(buf.freeze())
    }

    /// Cuts the segment so that it ends before the batch holding `offset`.
    pub fn truncate_to(&mut self, offset: i64) -> Result<()> {
        if let Some((pos, _)) = self.find(offset)? {
            self.log
                .get()?
                .set_len(pos)
                .map_err(|e| Error::io(&self.log_path, e))?;
            self.size = pos;
            self.offset_index.truncate_to_position(pos);
            self.rescan(false)?;
        }
        Ok(())
    }

    /// Seals the segment: final time index entry, indexes trimmed to their entries.
    pub fn seal(&mut self) -> Result<()> {
        if self.max_timestamp >= 0 {
            self.time_index
                .maybe_append(self.max_timestamp, self.offset_of_max_timestamp);
        }
        self.offset_index.trim()?;
        self.time_index.trim()
    }

    /// Makes a sealed segment writable again (it became the active one after a reopen).
    pub fn activate(&mut self) -> Result<()> {
        self.offset_index.grow(self.settings.index_max_bytes)?;
        self.time_index.grow(self.settings.index_max_bytes)
    }

    /// fsyncs the data. The indexes are written and fsync'd when the segment is sealed. Those
    /// of the active segment need not be: after a crash, recovery rescans the segment holding
    /// the recovery point and every later one, and the active segment is always among them.
    pub fn flush(&self) -> Result<()> {
        self.log
            .get()?
            .sync_data()
            .map_err(|e| Error::io(&self.log_path, e))
    }

    /// Removes the segment's files.
    pub fn delete(self) -> Result<()> {
        Self::delete_files(
            self.log_path.parent().unwrap_or(Path::new(".")),
            self.base_offset,
        )
    }

    /// Removes the files of the segment at `base_offset` in `dir`, without opening them.
    pub fn delete_files(dir: &Path, base_offset: i64) -> Result<()> {
        let (log, index, time_index) = Self::paths(dir, base_offset);
        for p in [&log, &index, &time_index] {
            match std::fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(p, e)),
            }
        }
        Ok(())
    }

    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
    pub fn rolling_timestamp(&self) -> Option<i64> {
        self.rolling_timestamp
    }
    pub fn indexes_full(&self) -> bool {
        self.offset_index.is_full() || self.time_index.is_full()
    }
    pub fn log_file(&self) -> Result<Arc<File>> {
        self.log.get()
    }

    /// Closes the `.log` descriptor if nothing read it since the last call; see
    /// [`SegmentFile`]. The caller only asks for sealed segments with no unflushed data.
    pub fn close_file_if_idle(&self) -> bool {
        self.log.close_if_idle()
    }

    pub fn file_is_open(&self) -> bool {
        self.log.is_open()
    }
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }
    pub fn settings(&self) -> SegmentSettings {
        self.settings
    }
    pub fn set_settings(&mut self, settings: SegmentSettings) {
        self.settings = settings;
    }
}

/// `write_all` for vectored writes (std's is unstable): loops over partial writes.
fn write_all_vectored(mut file: &File, data: &[IoSlice<'_>]) -> std::io::Result<()> {
    let mut owned: Vec<IoSlice<'_>> = data.to_vec();
    let mut slices = &mut owned[..];
    while !slices.is_empty() {
        let n = file.write_vectored(slices)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, n);
    }
    Ok(())
}
