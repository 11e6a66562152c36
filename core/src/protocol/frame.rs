//! Kafka framing: every request and response is a 4-byte big-endian length and that many bytes.
//!
//! The length is checked against `socket.request.max.bytes` before any memory is reserved for
//! the frame, and the buffer then grows with the bytes that actually arrive (at most doubling),
//! so a peer that announces 100 MiB and sends nothing costs nothing.

use super::ProtocolError;
use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Kafka's default `socket.request.max.bytes`.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 104_857_600;
/// Bytes of the length prefix.
pub const LEN_BYTES: usize = 4;
/// What one read asks for at least; small frames share one buffer and one syscall.
const READ_CHUNK: usize = 64 * 1024;

/// Reads length-prefixed frames from one connection.
///
/// Cancel-safe: all progress lives in `buf`, so a `read_frame` dropped at an `.await` (idle
/// timeout, shutdown) loses nothing and the next call continues where it stopped.
#[derive(Debug)]
pub struct FrameReader<R> {
    reader: R,
    buf: BytesMut,
    max_frame: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(reader: R, max_frame: usize) -> Self {
        FrameReader {
            reader,
            buf: BytesMut::with_capacity(4 * 1024),
            max_frame,
        }
    }

    /// The next frame without its length prefix; `None` when the peer closed the connection
    /// between frames.
    pub async fn read_frame(&mut self) -> Result<Option<Bytes>, ProtocolError> {
        loop {
            if let Some(frame) = self.parse_frame()? {
                return Ok(Some(frame));
            }
            if self.reader.read_buf(&mut self.buf).await? == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(ProtocolError::Truncated {
                    received: self.buf.len().saturating_sub(LEN_BYTES),
                    expected: self.announced().unwrap_or(0),
                });
            }
        }
    }

    /// The length the next frame announces, checked against the limit, without taking the
    /// frame: what the server reserves memory for before the body arrives. `None` when the
    /// peer closed the connection between frames. Cancel-safe like [`Self::read_frame`].
    pub async fn next_len(&mut self) -> Result<Option<usize>, ProtocolError> {
        loop {
            if self.buf.len() >= LEN_BYTES {
                return self.checked_len().map(Some);
            }
            self.buf.reserve(LEN_BYTES);
            if self.reader.read_buf(&mut self.buf).await? == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                // Within the length prefix itself.
                return Err(ProtocolError::Truncated {
                    received: self.buf.len(),
                    expected: LEN_BYTES,
                });
            }
        }
    }

    /// The announced length of the buffered prefix (which must be complete), if allowed.
    fn checked_len(&self) -> Result<usize, ProtocolError> {
        let mut prefix = [0u8; LEN_BYTES];
        prefix.copy_from_slice(&self.buf[..LEN_BYTES]);
        let len = i32::from_be_bytes(prefix);
        let size = usize::try_from(len).map_err(|_| ProtocolError::NegativeLength(len))?;
        if size > self.max_frame {
            return Err(ProtocolError::FrameTooLarge {
                size,
                limit: self.max_frame,
            });
        }
        Ok(size)
    }

    /// The length the buffered prefix announces, if the whole prefix is there.
    fn announced(&self) -> Option<usize> {
        let prefix: [u8; LEN_BYTES] = self.buf.get(..LEN_BYTES)?.try_into().ok()?;
        usize::try_from(i32::from_be_bytes(prefix)).ok()
    }

    /// Splits a complete frame off the buffer, or reserves room for the rest of it.
    fn parse_frame(&mut self) -> Result<Option<Bytes>, ProtocolError> {
        if self.buf.len() < LEN_BYTES {
            self.buf.reserve(LEN_BYTES);
            return Ok(None);
        }
        let size = self.checked_len()?;
        let have = self.buf.len() - LEN_BYTES;
        if have >= size {
            self.buf.advance(LEN_BYTES);
            return Ok(Some(self.buf.split_to(size).freeze()));
        }
        // Grow with what has arrived, never straight to the announced size.
        let missing = size - have;
        let spare = self.buf.capacity() - self.buf.len();
        if spare < missing {
            let step = missing.min(self.buf.len().max(READ_CHUNK));
            self.buf.reserve(step);
        }
        Ok(None)
    }
}

/// Prepends the length prefix to an encoded message.
pub fn with_length_prefix(body: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(LEN_BYTES + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out.freeze()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn frames(input: Vec<u8>, max: usize) -> Vec<Result<Option<Bytes>, String>> {
        let mut r = FrameReader::new(&input[..], max);
        let mut out = Vec::new();
        for _ in 0..10 {
            let f = r.read_frame().await.map_err(|e| e.to_string());
            let stop = !matches!(f, Ok(Some(_)));
            out.push(f);
            if stop {
                break;
            }
        }
        out
    }

    #[tokio::test]
    async fn splits_frames_and_refuses_bad_lengths() {
        let mut input = Vec::new();
        input.extend_from_slice(&with_length_prefix(b"abc"));
        input.extend_from_slice(&with_length_prefix(b""));
        let got = frames(input, 10).await;
        assert_eq!(got[0].as_ref().unwrap().as_deref(), Some(&b"abc"[..]));
        assert_eq!(got[1].as_ref().unwrap().as_deref(), Some(&b""[..]));
        assert!(got[2].as_ref().unwrap().is_none());

        let got = frames((-5i32).to_be_bytes().to_vec(), 10).await;
        assert!(got[0].as_ref().unwrap_err().contains("negative"));
        let got = frames(11i32.to_be_bytes().to_vec(), 10).await;
        assert!(got[0].as_ref().unwrap_err().contains("exceeds"));
        let mut torn = 8i32.to_be_bytes().to_vec();
        torn.extend_from_slice(b"abc");
        let got = frames(torn, 10).await;
        assert!(got[0].as_ref().unwrap_err().contains("3 of 8"));
    }

    #[tokio::test]
    async fn announcing_a_huge_frame_reserves_little() {
        let input = (100_000_000i32).to_be_bytes().to_vec();
        let mut r = FrameReader::new(&input[..], DEFAULT_MAX_REQUEST_BYTES);
        assert!(r.read_frame().await.is_err());
        assert!(r.buf.capacity() < 1024 * 1024, "{}", r.buf.capacity());
    }
}
