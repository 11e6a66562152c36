//! Response encoding: length prefix, response header in the version the API and version call
//! for, then the body.
//!
//! ApiVersions responses always carry header v0 (no tagged fields), whatever the request
//! version: a client parses them before it knows what the broker speaks. `kafka-protocol`'s
//! `response_header_version` already says so; the unit test pins it.

use super::frame::LEN_BYTES;
use super::ProtocolError;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Encodable;

/// Encodes one response frame, length prefix included.
pub fn encode(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<Bytes, ProtocolError> {
    let fail = |e: anyhow::Error| ProtocolError::Encode {
        api: api_key,
        version,
        reason: e.to_string(),
    };
    let mut buf = BytesMut::with_capacity(256);
    buf.put_u32(0);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, api_key.response_header_version(version))
        .map_err(fail)?;
    body.encode(&mut buf, version).map_err(fail)?;
    let len = u32::try_from(buf.len() - LEN_BYTES).map_err(|_| ProtocolError::Encode {
        api: api_key,
        version,
        reason: format!("{} bytes do not fit a frame", buf.len()),
    })?;
    buf[..LEN_BYTES].copy_from_slice(&len.to_be_bytes());
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kafka_protocol::messages::{ApiVersionsResponse, MetadataResponse};

    #[test]
    fn header_versions() {
        for v in 0..=4 {
            let frame = encode(
                ApiKey::ApiVersions,
                v,
                9,
                &ResponseKind::ApiVersions(ApiVersionsResponse::default()),
            )
            .unwrap();
            // length, correlation id, then straight into the body: error code 0.
            assert_eq!(&frame[4..8], &9i32.to_be_bytes());
            assert_eq!(&frame[8..10], &[0, 0]);
        }
        // Flexible Metadata (v9+) has header v1: one tagged-field count byte after the id.
        let frame = encode(
            ApiKey::Metadata,
            12,
            1,
            &ResponseKind::Metadata(MetadataResponse::default()),
        )
        .unwrap();
        assert_eq!(frame[8], 0);
        let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(len, frame.len() - 4);
    }
}
