//! A RecordBatch v2 builder that can lie in every field, for hostile-input tests: each length,
//! count, delta and checksum defaults to the truth and can be overridden, and the record
//! section can be replaced or compressed after the fact.

use strom::records::batch::HEADER_LEN;

/// A length-prefixed field: its claimed length may differ from the bytes that follow.
#[derive(Debug, Clone)]
pub enum Field {
    Null,
    Bytes(Vec<u8>),
    /// A claimed length followed by these bytes.
    Lying(i32, Vec<u8>),
}

impl Field {
    pub fn of(b: &[u8]) -> Field {
        Field::Bytes(b.to_vec())
    }

    fn put(&self, out: &mut Vec<u8>) {
        match self {
            Field::Null => varint(out, -1),
            Field::Bytes(b) => {
                varint(out, b.len() as i64);
                out.extend_from_slice(b);
            }
            Field::Lying(len, b) => {
                varint(out, i64::from(*len));
                out.extend_from_slice(b);
            }
        }
    }
}

/// One record; every field can lie.
#[derive(Debug, Clone)]
pub struct LyingRecord {
    pub attributes: i8,
    pub timestamp_delta: i64,
    /// `None`: the record's index.
    pub offset_delta: Option<i32>,
    pub key: Field,
    pub value: Field,
    pub headers: Vec<(Field, Field)>,
    /// `None`: the number of `headers`.
    pub header_count: Option<i32>,
    /// `None`: the true length of the body.
    pub length: Option<i32>,
    /// Bytes appended to the body after the headers (inside the claimed length).
    pub trailing: Vec<u8>,
}

impl LyingRecord {
    pub fn new(key: Option<&[u8]>, value: Option<&[u8]>) -> LyingRecord {
        LyingRecord {
            attributes: 0,
            timestamp_delta: 0,
            offset_delta: None,
            key: key.map_or(Field::Null, Field::of),
            value: value.map_or(Field::Null, Field::of),
            headers: Vec::new(),
            header_count: None,
            length: None,
            trailing: Vec::new(),
        }
    }

    fn encode(&self, index: usize, out: &mut Vec<u8>) {
        let mut body = vec![self.attributes as u8];
        varint(&mut body, self.timestamp_delta);
        varint(
            &mut body,
            i64::from(self.offset_delta.unwrap_or(index as i32)),
        );
        self.key.put(&mut body);
        self.value.put(&mut body);
        varint(
            &mut body,
            i64::from(self.header_count.unwrap_or(self.headers.len() as i32)),
        );
        for (k, v) in &self.headers {
            k.put(&mut body);
            v.put(&mut body);
        }
        body.extend_from_slice(&self.trailing);
        varint(out, i64::from(self.length.unwrap_or(body.len() as i32)));
        out.extend_from_slice(&body);
    }
}

/// Codec ids of the attributes' low bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

/// A whole batch; `None` fields are computed truthfully at build time.
#[derive(Debug, Clone)]
pub struct LyingBatch {
    pub base_offset: i64,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    /// Besides the codec bits, which `compress` sets.
    pub attributes: i16,
    pub last_offset_delta: Option<i32>,
    pub base_timestamp: i64,
    pub max_timestamp: Option<i64>,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: Option<i32>,
    pub records: Vec<LyingRecord>,
    /// Replaces the encoded records (before compression) with these bytes.
    pub section: Option<Vec<u8>>,
    /// Compresses the section with this codec and names it in the attributes.
    pub compress: Option<Codec>,
    /// Names this codec id in the attributes without compressing (or with another codec).
    pub codec_id: Option<i16>,
    /// Replaces the compressed payload with these bytes (the codec id stays).
    pub payload: Option<Vec<u8>>,
    pub crc: Option<u32>,
    /// Overrides batchLength.
    pub batch_length: Option<i32>,
}

impl LyingBatch {
    /// A truthful batch of these records with timestamps `ts`.
    pub fn of(records: Vec<LyingRecord>, ts: i64) -> LyingBatch {
        LyingBatch {
            base_offset: 0,
            partition_leader_epoch: -1,
            magic: 2,
            attributes: 0,
            last_offset_delta: None,
            base_timestamp: ts,
            max_timestamp: None,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            record_count: None,
            records,
            section: None,
            compress: None,
            codec_id: None,
            payload: None,
            crc: None,
            batch_length: None,
        }
    }

    /// `n` keyed records `k{i}` → `v{i}`.
    pub fn keyed(n: usize, ts: i64) -> LyingBatch {
        let records = (0..n)
            .map(|i| {
                LyingRecord::new(
                    Some(format!("k{i}").as_bytes()),
                    Some(format!("v{i}").as_bytes()),
                )
            })
            .collect();
        LyingBatch::of(records, ts)
    }

    pub fn build(&self) -> Vec<u8> {
        let section = self.section.clone().unwrap_or_else(|| {
            let mut s = Vec::new();
            for (i, r) in self.records.iter().enumerate() {
                r.encode(i, &mut s);
            }
            s
        });
        let payload = match (&self.payload, self.compress) {
            (Some(p), _) => p.clone(),
            (None, Some(c)) => compress(c, &section),
            (None, None) => section,
        };
        let codec = self
            .codec_id
            .or(self.compress.map(|c| c as i16))
            .unwrap_or(0);
        let n = self.records.len() as i32;
        let max_ts = self.max_timestamp.unwrap_or_else(|| {
            self.base_timestamp
                + self
                    .records
                    .iter()
                    .map(|r| r.timestamp_delta)
                    .max()
                    .unwrap_or(0)
        });
        let mut b = Vec::with_capacity(HEADER_LEN + payload.len());
        b.extend_from_slice(&self.base_offset.to_be_bytes());
        let len = self
            .batch_length
            .unwrap_or((HEADER_LEN - 12 + payload.len()) as i32);
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(&self.partition_leader_epoch.to_be_bytes());
        b.push(self.magic as u8);
        b.extend_from_slice(&[0; 4]); // crc, below
        b.extend_from_slice(&((self.attributes & !7) | codec).to_be_bytes());
        b.extend_from_slice(&self.last_offset_delta.unwrap_or(n - 1).to_be_bytes());
        b.extend_from_slice(&self.base_timestamp.to_be_bytes());
        b.extend_from_slice(&max_ts.to_be_bytes());
        b.extend_from_slice(&self.producer_id.to_be_bytes());
        b.extend_from_slice(&self.producer_epoch.to_be_bytes());
        b.extend_from_slice(&self.base_sequence.to_be_bytes());
        b.extend_from_slice(&self.record_count.unwrap_or(n).to_be_bytes());
        b.extend_from_slice(&payload);
        let crc = self.crc.unwrap_or_else(|| crc32c::crc32c(&b[21..]));
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }
}

fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

pub fn compress(codec: Codec, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    match codec {
        Codec::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Codec::Snappy => snap::raw::Encoder::new().compress_vec(data).unwrap(),
        Codec::Lz4 => {
            let mut e = lz4::EncoderBuilder::new().build(Vec::new()).unwrap();
            e.write_all(data).unwrap();
            let (out, r) = e.finish();
            r.unwrap();
            out
        }
        Codec::Zstd => zstd::bulk::compress(data, 3).unwrap(),
    }
}
