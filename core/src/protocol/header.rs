//! Request headers: the API key, version, correlation id and client id in front of every
//! request body, decoded with the header version the API and version call for (v1, or v2 with
//! tagged fields for flexible versions).
//!
//! The fixed eight bytes are read by hand first: `kafka-protocol`'s own header helper indexes
//! the buffer without checking its length, and the correlation id is needed even when the rest
//! of the header is unreadable (an ApiVersions request from a newer client must still be
//! answered).

use super::ProtocolError;
use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::Decodable;

/// api key (2) + api version (2) + correlation id (4).
pub const FIXED_BYTES: usize = 8;

/// A request split into its header and its still-encoded body.
#[derive(Debug, Clone)]
pub struct Request {
    pub api_key: ApiKey,
    pub header: RequestHeader,
    pub body: Bytes,
    /// A lower bound of what the decoded header takes beyond the frame (its unknown tagged
    /// fields), from the allocation guard.
    pub decoded_bytes: usize,
}

/// The fixed fields every request starts with, readable even when nothing else is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

/// Reads the fixed part of a frame's header.
pub fn fixed(frame: &[u8]) -> Result<Fixed, ProtocolError> {
    let Some(b) = frame.get(..FIXED_BYTES) else {
        return Err(ProtocolError::Malformed {
            what: "request header".into(),
            reason: format!("frame of {} bytes is shorter than a header", frame.len()),
        });
    };
    Ok(Fixed {
        api_key: i16::from_be_bytes([b[0], b[1]]),
        api_version: i16::from_be_bytes([b[2], b[3]]),
        correlation_id: i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
    })
}

/// Decodes the header of `frame`; the rest is the body.
pub fn parse(mut frame: Bytes) -> Result<Request, ProtocolError> {
    let f = fixed(&frame)?;
    let api_key = ApiKey::try_from(f.api_key).map_err(|()| ProtocolError::UnknownApiKey {
        api_key: f.api_key,
        correlation_id: f.correlation_id,
    })?;
    let header_version = api_key.request_header_version(f.api_version);
    let malformed = |reason: String| ProtocolError::Malformed {
        what: format!("{api_key:?} v{} request header", f.api_version),
        reason,
    };
    // The header's tagged fields are decoded into a map like any body's: the same guard.
    let walked =
        super::guard::walk_header(header_version, &frame).map_err(|e| malformed(e.to_string()))?;
    let header =
        RequestHeader::decode(&mut frame, header_version).map_err(|e| malformed(e.to_string()))?;
    Ok(Request {
        api_key,
        header,
        body: frame,
        decoded_bytes: walked.decoded,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    #[test]
    fn parses_v1_and_v2_headers_and_refuses_short_or_unknown() {
        for (key, version) in [(ApiKey::Metadata, 1), (ApiKey::ApiVersions, 3)] {
            let mut h = RequestHeader::default();
            h.request_api_key = key as i16;
            h.request_api_version = version;
            h.correlation_id = 7;
            h.client_id = Some(StrBytes::from_static_str("c"));
            let mut buf = BytesMut::new();
            h.encode(&mut buf, key.request_header_version(version))
                .unwrap();
            buf.extend_from_slice(b"body");
            let r = parse(buf.freeze()).unwrap();
            assert_eq!(r.header.correlation_id, 7);
            assert_eq!(&r.body[..], b"body");
        }
        assert!(parse(Bytes::from_static(b"\0\x03\0")).is_err());
        let unknown = parse(Bytes::from_static(b"\x7f\x00\x00\x00\x00\x00\x00\x09")).unwrap_err();
        assert!(matches!(
            unknown,
            ProtocolError::UnknownApiKey {
                api_key: 0x7f00,
                correlation_id: 9
            }
        ));
        // A client id longer than the frame.
        assert!(parse(Bytes::from_static(b"\0\x03\0\x01\0\0\0\x01\x00\x50ab")).is_err());
    }
}
