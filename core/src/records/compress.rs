//! Compression of a batch's record section in the framings other Kafka clients read: the
//! producer's batches and the batches the cleaner rewrites.
//!
//! Decompression is not here: the log's bounded [`crate::records::reader::decompress`] serves
//! both broker and client, so the output limit is enforced in one place.

use crate::error::{Error, Result};
use crate::records::batch::Codec;
use std::io::Write;

/// Java's xerial `SnappyOutputStream` header: magic, then version 1 and minimum compatible
/// version 1 as big-endian ints. kafka-python only recognises the stream with exactly these.
const XERIAL_HEADER: &[u8; 16] = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";
/// The xerial stream's default block size, which the Java client uses.
const SNAPPY_BLOCK: usize = 32 * 1024;
/// Kafka's default zstd level (`compression.zstd.level`).
const ZSTD_LEVEL: i32 = 3;

fn failed(codec: Codec, e: impl std::fmt::Display) -> Error {
    Error::InvalidRecord(format!(
        "cannot compress records with {}: {e}",
        codec.name()
    ))
}

/// Compresses `data` with `codec` at its default level. `Codec::None` copies.
pub(crate) fn compress(codec: Codec, data: &[u8]) -> Result<Vec<u8>> {
    compress_at(codec, data, None)
}

/// Compresses `data` with `codec` at `level` (Kafka's `compression.gzip.level` 1–9,
/// `compression.lz4.level` 1–17, `compression.zstd.level`; `None`, or gzip's -1, is the
/// codec's default). Snappy has no levels.
pub(crate) fn compress_at(codec: Codec, data: &[u8], level: Option<i32>) -> Result<Vec<u8>> {
    match codec {
        Codec::None => Ok(data.to_vec()),
        Codec::Gzip => {
            let out = Vec::with_capacity(data.len() / 2 + 64);
            let level = match level {
                Some(l @ 1..=9) => flate2::Compression::new(l as u32),
                _ => flate2::Compression::default(),
            };
            let mut enc = flate2::write::GzEncoder::new(out, level);
            enc.write_all(data).map_err(|e| failed(codec, e))?;
            enc.finish().map_err(|e| failed(codec, e))
        }
        Codec::Snappy => snappy_xerial(data),
        Codec::Lz4 => {
            // Kafka's Lz4BlockInputStream decompresses each block on its own, so blocks must
            // be independent; 64 KiB blocks and no checksums match what the Java client writes.
            let mut builder = lz4::EncoderBuilder::new();
            // No level: liblz4's fast default, what strom's producer has always written.
            if let Some(l) = level {
                builder.level(l.clamp(1, 17) as u32);
            }
            let mut enc = builder
                .block_size(lz4::BlockSize::Max64KB)
                .block_mode(lz4::BlockMode::Independent)
                .block_checksum(lz4::liblz4::BlockChecksum::NoBlockChecksum)
                .checksum(lz4::ContentChecksum::NoChecksum)
                .build(Vec::with_capacity(data.len() / 2 + 64))
                .map_err(|e| failed(codec, e))?;
            enc.write_all(data).map_err(|e| failed(codec, e))?;
            let (out, done) = enc.finish();
            done.map_err(|e| failed(codec, e))?;
            Ok(out)
        }
        Codec::Zstd => {
            zstd::bulk::compress(data, level.unwrap_or(ZSTD_LEVEL)).map_err(|e| failed(codec, e))
        }
    }
}

fn snappy_xerial(data: &[u8]) -> Result<Vec<u8>> {
    let blocks = data.len().div_ceil(SNAPPY_BLOCK);
    let mut out = Vec::with_capacity(
        XERIAL_HEADER.len() + blocks * 4 + snap::raw::max_compress_len(data.len()),
    );
    out.extend_from_slice(XERIAL_HEADER);
    let mut enc = snap::raw::Encoder::new();
    for chunk in data.chunks(SNAPPY_BLOCK) {
        let at = out.len();
        out.resize(at + 4 + snap::raw::max_compress_len(chunk.len()), 0);
        let n = enc
            .compress(chunk, &mut out[at + 4..])
            .map_err(|e| failed(Codec::Snappy, e))?;
        // A block is at most 32 KiB of input, so its compressed length always fits in a u32.
        out[at..at + 4].copy_from_slice(&(n as u32).to_be_bytes());
        out.truncate(at + 4 + n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::reader::decompress;

    #[test]
    fn every_codec_round_trips_through_the_log_decompressor() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for codec in [
            Codec::None,
            Codec::Gzip,
            Codec::Snappy,
            Codec::Lz4,
            Codec::Zstd,
        ] {
            let c = compress(codec, &data).unwrap();
            assert_eq!(&decompress(codec, &c).unwrap()[..], &data[..], "{codec:?}");
        }
    }

    #[test]
    fn snappy_uses_xerial_framing_with_32k_blocks() {
        let data = vec![7u8; 100_000];
        let c = compress(Codec::Snappy, &data).unwrap();
        assert_eq!(&c[..16], XERIAL_HEADER);
        let mut rest = &c[16..];
        let mut blocks = 0;
        while !rest.is_empty() {
            let n = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let raw = snap::raw::decompress_len(&rest[4..4 + n]).unwrap();
            assert!(raw <= SNAPPY_BLOCK);
            rest = &rest[4 + n..];
            blocks += 1;
        }
        assert_eq!(blocks, 4);
    }

    #[test]
    fn lz4_frame_descriptor_is_what_kafka_writes() {
        let c = compress(Codec::Lz4, b"hello hello hello").unwrap();
        assert_eq!(&c[..4], [0x04, 0x22, 0x4d, 0x18]);
        // FLG: version 01, independent blocks, no checksums, no content size. BD: 64 KiB.
        assert_eq!(c[4], 0x60);
        assert_eq!(c[5], 0x40);
    }
}
