//! Broker-side compression (a topic's `compression.type` other than `producer`): a batch in
//! another codec is rewritten in the topic's, record bytes unchanged, as Kafka's log validator
//! recompresses. Header fields (timestamps, producer id, epoch and sequence, attributes other
//! than the codec) stay; count, length and CRC are recomputed. A batch already in the topic's
//! codec is kept as the producer sent it, as in Kafka (whatever level it was written at).

use super::batch::{self, BatchHeader, Codec, HEADER_LEN};
use super::builder::codec_bits;
use super::compress;
use super::stored::walk_stored;
use super::varint;
use crate::error::{Error, Result};
use bytes::BytesMut;

/// The codec bits of a batch's attributes.
const CODEC_MASK: i16 = 0x7;
/// Where the attributes field is in a batch.
const ATTRIBUTES_AT: usize = 21;

/// `batch` (one whole, validated batch) in `codec` at `level`, or `None` when it already is.
pub fn recompress(
    h: &BatchHeader,
    batch: &[u8],
    codec: Codec,
    level: Option<i32>,
) -> Result<Option<Vec<u8>>> {
    if h.codec() == Some(codec) {
        return Ok(None);
    }
    let mut section = BytesMut::new();
    let count = walk_stored(h, batch, |r| {
        varint::put(&mut section, r.raw.len() as i64);
        section.extend_from_slice(r.raw);
        Ok(())
    })?;
    let payload = compress::compress_at(codec, &section, level)?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(
        batch
            .get(..HEADER_LEN)
            .ok_or_else(|| Error::CorruptBatch("a batch shorter than its header".into()))?,
    );
    let attributes = i16::from_be_bytes([out[ATTRIBUTES_AT], out[ATTRIBUTES_AT + 1]]);
    let attributes = (attributes & !CODEC_MASK) | codec_bits(codec);
    out[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
    out.extend_from_slice(&payload);
    batch::rewrite_count_and_length(&mut out, count)?;
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::stored::{decode_batch, encode_batch, SimpleRecord};

    #[test]
    fn every_codec_to_every_other_keeps_the_records() {
        let records: Vec<SimpleRecord> = (0..50)
            .map(|i| {
                SimpleRecord::new(
                    Some(format!("k{i}").as_bytes()),
                    Some(format!("value-{i}-{}", "x".repeat(i)).as_bytes()),
                    1_000 + i as i64,
                )
            })
            .collect();
        let all = [
            Codec::None,
            Codec::Gzip,
            Codec::Snappy,
            Codec::Lz4,
            Codec::Zstd,
        ];
        for from in all {
            let original =
                encode_batch(&records, crate::records::stored::compression_of(from)).unwrap();
            let h = BatchHeader::parse(&original).unwrap();
            let want = decode_batch(&original).unwrap();
            for to in all {
                for level in [None, Some(1)] {
                    match recompress(&h, &original, to, level).unwrap() {
                        None => assert_eq!(from, to),
                        Some(out) => {
                            let nh = BatchHeader::parse(&out).unwrap();
                            nh.validate(&out).unwrap();
                            assert_eq!(nh.codec(), Some(to));
                            assert_eq!(
                                (nh.record_count, nh.max_timestamp, nh.last_offset_delta),
                                (h.record_count, h.max_timestamp, h.last_offset_delta)
                            );
                            assert_eq!(decode_batch(&out).unwrap(), want, "{from:?} -> {to:?}");
                        }
                    }
                }
            }
        }
    }
}
