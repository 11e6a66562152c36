//! The one reader of the records inside a RecordBatch v2. Every field of every record is
//! parsed with its length checked against the bytes actually present, so hostile or damaged
//! bytes become an error, never a panic and never an allocation sized by a claim.
//!
//! Producers' batches are checked with it ([`crate::log::validate`]), stored batches are decoded
//! with it ([`crate::records::stored::decode_batch`]: the cleaner, offsets by time, the replay of
//! internal topics) and the client's fetch reader slices records with it. Sections in memory are
//! walked in place; compressed sections are walked as a stream, one record in memory at a time,
//! and never past [`MAX_DECOMPRESSED_BYTES`] of output (a decompression bomb stops there).
//!
//! Record layout (lengths and deltas are zigzag varints):
//!
//! ```text
//! length  attributes:i8  timestampDelta:varlong  offsetDelta  keyLength  key  valueLength  value
//! headerCount  [headerKeyLength headerKey headerValueLength headerValue]...
//! ```
//!
//! Only -1 means null for a length; any other negative value is malformed (Java's reader would
//! read it as null and other clients refuse it, so storing it would split the clients).

use crate::error::{Error, Result};
use crate::records::batch::{BatchHeader, Codec, HEADER_LEN};
use crate::records::varint;
use std::io::{BufRead, BufReader, Read};

/// Largest decompressed record section strom reads for one batch.
pub const MAX_DECOMPRESSED_BYTES: usize = 64 * 1024 * 1024;
/// The smallest encoding of one record: length, attributes, timestamp delta, offset delta,
/// key length, value length and header count, one byte each.
pub const MIN_RECORD_BYTES: usize = 7;
/// The smallest header: key length and value length, one byte each.
const MIN_HEADER_BYTES: usize = 2;

/// One record's fields, borrowed from the bytes it was parsed from.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    pub attributes: i8,
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// The record's whole body as stored (without its length varint), for copying it
    /// unchanged into another batch.
    pub raw: &'a [u8],
    header_count: usize,
    header_bytes: &'a [u8],
}

impl<'a> RecordRef<'a> {
    pub fn header_count(&self) -> usize {
        self.header_count
    }

    /// The headers as (key, value); already checked by [`parse_record`].
    pub fn headers(&self) -> Headers<'a> {
        Headers {
            bytes: self.header_bytes,
            pos: 0,
            left: self.header_count,
        }
    }
}

/// Iterator over a parsed record's headers.
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    bytes: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> Iterator for Headers<'a> {
    type Item = (&'a [u8], Option<&'a [u8]>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // parse_record checked these bytes; an error here cannot happen, and ends iteration.
        let key = read_field(self.bytes, &mut self.pos, "header key").ok()??;
        let value = read_field(self.bytes, &mut self.pos, "header value").ok()?;
        Some((key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::CorruptBatch(format!("malformed record: {what}"))
}

/// Reads a length-prefixed nullable field of `rec` at `*pos`.
fn read_field<'a>(rec: &'a [u8], pos: &mut usize, what: &str) -> Result<Option<&'a [u8]>> {
    let len = varint::read_i32(rec, pos)?;
    if len == -1 {
        return Ok(None);
    }
    let n = usize::try_from(len).map_err(|_| corrupt(format!("{what} length {len}")))?;
    let end = pos
        .checked_add(n)
        .filter(|&e| e <= rec.len())
        .ok_or_else(|| {
            corrupt(format!(
                "{what} of {n} bytes runs past the end of its record"
            ))
        })?;
    let field = &rec[*pos..end];
    *pos = end;
    Ok(Some(field))
}

/// Parses one record's body: exactly the bytes its length varint announced.
pub fn parse_record(rec: &[u8]) -> Result<RecordRef<'_>> {
    let Some(&attributes) = rec.first() else {
        return Err(corrupt("empty record"));
    };
    let mut pos = 1;
    let timestamp_delta = varint::read_i64(rec, &mut pos)?;
    let offset_delta = varint::read_i32(rec, &mut pos)?;
    let key = read_field(rec, &mut pos, "key")?;
    let value = read_field(rec, &mut pos, "value")?;
    let claimed = varint::read_i32(rec, &mut pos)?;
    let header_count =
        usize::try_from(claimed).map_err(|_| corrupt(format!("header count {claimed}")))?;
    if header_count > (rec.len() - pos) / MIN_HEADER_BYTES {
        return Err(corrupt(format!(
            "header count {header_count} cannot fit in the {} bytes left",
            rec.len() - pos
        )));
    }
    let headers_start = pos;
    for _ in 0..header_count {
        if read_field(rec, &mut pos, "header key")?.is_none() {
            return Err(corrupt("null header key"));
        }
        read_field(rec, &mut pos, "header value")?;
    }
    if pos != rec.len() {
        return Err(corrupt(format!(
            "record length says {} bytes, its fields end after {pos}",
            rec.len()
        )));
    }
    Ok(RecordRef {
        attributes: attributes as i8,
        timestamp_delta,
        offset_delta,
        key,
        value,
        raw: rec,
        header_count,
        header_bytes: &rec[headers_start..],
    })
}

/// A record length varint, checked to be a possible record length.
fn record_len(len: i32) -> Result<usize> {
    usize::try_from(len)
        .ok()
        .filter(|&n| n >= MIN_RECORD_BYTES - 1)
        .ok_or_else(|| corrupt(format!("record length {len}")))
}

/// Calls `f(index, record)` for every record of a record section held in memory, up to its
/// end. Returns how many records there were.
pub fn walk_section<'a>(
    section: &'a [u8],
    mut f: impl FnMut(usize, RecordRef<'a>) -> Result<()>,
) -> Result<usize> {
    let mut pos = 0;
    let mut n = 0;
    while pos < section.len() {
        let len = record_len(varint::read_i32(section, &mut pos)?)?;
        let end = pos
            .checked_add(len)
            .filter(|&e| e <= section.len())
            .ok_or_else(|| corrupt(format!("record of {len} bytes runs past the batch")))?;
        f(n, parse_record(&section[pos..end])?)?;
        pos = end;
        n += 1;
    }
    Ok(n)
}

fn decompress_error(e: std::io::Error) -> Error {
    Error::CorruptBatch(format!("cannot decompress records: {e}"))
}

fn too_big(limit: usize) -> Error {
    Error::CorruptBatch(format!("records decompress to more than {limit} bytes"))
}

/// Reads one varint byte by byte from a stream; `None` at a clean end before its first byte.
fn read_stream_varint(r: &mut impl BufRead) -> Result<Option<(i32, usize)>> {
    let mut bytes = [0u8; 5];
    let mut n = 0;
    loop {
        let buf = r.fill_buf().map_err(decompress_error)?;
        let Some(&b) = buf.first() else {
            return match n {
                0 => Ok(None),
                _ => Err(corrupt("records end inside a varint")),
            };
        };
        r.consume(1);
        bytes[n] = b;
        n += 1;
        if b & 0x80 == 0 {
            let mut pos = 0;
            return varint::read_i32(&bytes[..n], &mut pos).map(|v| Some((v, n)));
        }
        if n == bytes.len() {
            return Err(corrupt("varint longer than 5 bytes"));
        }
    }
}

/// Like [`walk_section`], for a section read from `reader` (a decompressor): one record is in
/// memory at a time, and reading stops with an error past `limit` bytes of section.
pub fn walk_stream(
    reader: impl Read,
    limit: usize,
    mut f: impl FnMut(usize, RecordRef<'_>) -> Result<()>,
) -> Result<usize> {
    let mut r = BufReader::with_capacity(16 * 1024, reader);
    let mut scratch = Vec::new();
    let mut consumed = 0usize;
    let mut n = 0;
    while let Some((claimed, varint_len)) = read_stream_varint(&mut r)? {
        let len = record_len(claimed)?;
        consumed = consumed.saturating_add(varint_len).saturating_add(len);
        if consumed > limit {
            return Err(too_big(limit));
        }
        scratch.clear();
        // `take` bounds the read by the bytes really produced, so a lying length costs only
        // what the decompressor actually delivers.
        (&mut r)
            .take(len as u64)
            .read_to_end(&mut scratch)
            .map_err(decompress_error)?;
        if scratch.len() != len {
            return Err(corrupt(format!(
                "record of {len} bytes is cut off after {}",
                scratch.len()
            )));
        }
        f(n, parse_record(&scratch)?)?;
        n += 1;
    }
    Ok(n)
}

/// Calls `f(index, record)` for every record of one whole batch (`batch` is exactly the batch
/// `header` describes), decompressing as a stream within [`MAX_DECOMPRESSED_BYTES`]. Returns
/// the number of records found; comparing it with the header's count is the caller's choice.
pub fn for_each_record(
    header: &BatchHeader,
    batch: &[u8],
    f: impl FnMut(usize, RecordRef<'_>) -> Result<()>,
) -> Result<usize> {
    let codec = header.codec().ok_or_else(|| {
        Error::CorruptBatch(format!(
            "unknown compression codec id {}",
            header.attributes & 7
        ))
    })?;
    let section = batch
        .get(HEADER_LEN..)
        .ok_or_else(|| Error::CorruptBatch("batch shorter than its header".into()))?;
    let limit = MAX_DECOMPRESSED_BYTES;
    // The payload must be exactly the compressed stream: every gzip member (Java's and
    // Python's readers read them all), and no bytes a decoder left unread, so that every
    // client finds the records strom counted.
    let mut input = std::io::Cursor::new(section);
    let found = match codec {
        Codec::None => return walk_section(section, f),
        // Snappy blocks decompress whole; the block decoder checks the announced length
        // against the limit before allocating, and the framing covers the whole payload.
        Codec::Snappy => return walk_section(&snappy_decompress(section, limit)?, f),
        Codec::Gzip => walk_stream(flate2::read::MultiGzDecoder::new(&mut input), limit, f)?,
        Codec::Zstd => walk_stream(
            zstd::stream::read::Decoder::new(&mut input).map_err(decompress_error)?,
            limit,
            f,
        )?,
        Codec::Lz4 => walk_stream(
            lz4::Decoder::new(&mut input).map_err(decompress_error)?,
            limit,
            f,
        )?,
    };
    if input.position() != section.len() as u64 {
        return Err(Error::CorruptBatch(format!(
            "{} bytes after the compressed records",
            section.len() as u64 - input.position()
        )));
    }
    Ok(found)
}

/// Decompresses a whole record section, refusing output beyond [`MAX_DECOMPRESSED_BYTES`].
pub fn decompress(codec: Codec, input: &[u8]) -> Result<Vec<u8>> {
    let limit = MAX_DECOMPRESSED_BYTES;
    match codec {
        Codec::None => Ok(input.to_vec()),
        Codec::Gzip => read_bounded(flate2::read::GzDecoder::new(input), limit),
        Codec::Zstd => read_bounded(
            zstd::stream::read::Decoder::new(input).map_err(decompress_error)?,
            limit,
        ),
        Codec::Lz4 => read_bounded(lz4::Decoder::new(input).map_err(decompress_error)?, limit),
        Codec::Snappy => snappy_decompress(input, limit),
    }
}

fn read_bounded(reader: impl Read, limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(decompress_error)?;
    if out.len() > limit {
        return Err(too_big(limit));
    }
    Ok(out)
}

/// The Java client's snappy framing (xerial): a 16-byte magic header, then blocks of
/// `u32 length` + raw snappy. Without the header the payload is one raw snappy block.
const XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;

fn snappy_decompress(input: &[u8], limit: usize) -> Result<Vec<u8>> {
    let bad = |e: snap::Error| Error::CorruptBatch(format!("bad snappy block: {e}"));
    let raw = |block: &[u8], out: &mut Vec<u8>| -> Result<()> {
        let len = snap::raw::decompress_len(block).map_err(bad)?;
        if out.len() + len > limit {
            return Err(too_big(limit));
        }
        let start = out.len();
        out.resize(start + len, 0);
        snap::raw::Decoder::new()
            .decompress(block, &mut out[start..])
            .map_err(bad)?;
        Ok(())
    };
    let mut out = Vec::new();
    if !input.starts_with(XERIAL_MAGIC) {
        raw(input, &mut out)?;
        return Ok(out);
    }
    let mut rest = input.get(XERIAL_HEADER_LEN..).unwrap_or_default();
    while !rest.is_empty() {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(Error::CorruptBatch("truncated snappy block length".into()));
        };
        let len = u32::from_be_bytes(*len) as usize;
        let block = tail
            .get(..len)
            .ok_or_else(|| Error::CorruptBatch("truncated snappy block".into()))?;
        raw(block, &mut out)?;
        rest = &tail[len..];
    }
    Ok(out)
}
