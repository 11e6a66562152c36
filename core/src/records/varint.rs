//! Protobuf-style zigzag varints, the framing of every field inside a v2 record.
//!
//! Writing goes straight into the caller's buffer; reading is bounds-checked and turns every
//! malformed varint into [`Error::CorruptBatch`], since the bytes come from the network.

use crate::error::{Error, Result};
use bytes::{BufMut, BytesMut};

/// Zigzag-encodes a signed value. For values in `i32` range this is also the 32-bit zigzag
/// encoding, so one writer serves Kafka's varint and varlong fields.
#[inline]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Bytes the zigzag varint of `v` takes.
#[inline]
pub(crate) fn len(v: i64) -> usize {
    let z = zigzag(v) | 1;
    (64 - z.leading_zeros() as usize).div_ceil(7)
}

/// Appends the zigzag varint of `v`.
#[inline]
pub(crate) fn put(buf: &mut BytesMut, v: i64) {
    let mut z = zigzag(v);
    if z < 0x80 {
        buf.put_u8(z as u8);
        return;
    }
    let mut tmp = [0u8; 10];
    let mut n = 0;
    while z >= 0x80 {
        tmp[n] = (z as u8) | 0x80;
        z >>= 7;
        n += 1;
    }
    tmp[n] = z as u8;
    buf.extend_from_slice(&tmp[..=n]);
}

#[inline]
fn read_unsigned(buf: &[u8], pos: &mut usize, max_bytes: usize) -> Result<u64> {
    let mut value = 0u64;
    let mut shift = 0u32;
    for _ in 0..max_bytes {
        let Some(&b) = buf.get(*pos) else {
            return Err(Error::CorruptBatch("record ends inside a varint".into()));
        };
        *pos += 1;
        // Like Java's ByteUtils, bits beyond the type's width in the last byte are dropped.
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
    }
    Err(Error::CorruptBatch(format!(
        "varint longer than {max_bytes} bytes"
    )))
}

/// Reads a zigzag varint (at most 5 bytes) at `*pos`, advancing it.
#[inline]
pub(crate) fn read_i32(buf: &[u8], pos: &mut usize) -> Result<i32> {
    if let Some(&b) = buf.get(*pos) {
        if b < 0x80 {
            *pos += 1;
            return Ok(i32::from(b >> 1) ^ -i32::from(b & 1));
        }
    }
    let z = read_unsigned(buf, pos, 5)? as u32;
    Ok((z >> 1) as i32 ^ -((z & 1) as i32))
}

/// Reads a zigzag varlong (at most 10 bytes) at `*pos`, advancing it.
#[inline]
pub(crate) fn read_i64(buf: &[u8], pos: &mut usize) -> Result<i64> {
    // Most timestamp deltas in a batch are small: one byte.
    if let Some(&b) = buf.get(*pos) {
        if b < 0x80 {
            *pos += 1;
            return Ok(i64::from(b >> 1) ^ -i64::from(b & 1));
        }
    }
    let z = read_unsigned(buf, pos, 10)?;
    Ok((z >> 1) as i64 ^ -((z & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_lengths() {
        let values = [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            -65,
            300,
            -300,
            i32::MAX as i64,
            i32::MIN as i64,
            i64::MAX,
            i64::MIN,
        ];
        for v in values {
            let mut b = BytesMut::new();
            put(&mut b, v);
            assert_eq!(b.len(), len(v), "{v}");
            let mut pos = 0;
            assert_eq!(read_i64(&b, &mut pos).unwrap(), v);
            assert_eq!(pos, b.len());
            if let Ok(small) = i32::try_from(v) {
                let mut pos = 0;
                assert_eq!(read_i32(&b, &mut pos).unwrap(), small);
            }
        }
        // Protobuf's documented encodings.
        let mut b = BytesMut::new();
        put(&mut b, 150);
        assert_eq!(&b[..], [0xac, 0x02]);
        assert_eq!(len(-1), 1);
        assert_eq!(len(i64::MIN), 10);
    }

    #[test]
    fn malformed_varints_are_errors() {
        let mut pos = 0;
        assert!(read_i32(&[0x80, 0x80], &mut pos).is_err());
        let mut pos = 0;
        assert!(read_i32(&[0xff; 6], &mut pos).is_err());
        let mut pos = 0;
        assert!(read_i64(&[0xff; 11], &mut pos).is_err());
        let mut pos = 3;
        assert!(read_i64(&[1, 2], &mut pos).is_err());
    }
}
