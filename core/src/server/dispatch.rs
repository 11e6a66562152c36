//! The server's request dispatch: one request frame (without its length prefix) to a
//! [`Handled`] reply. Order: header → version table → allocation guard → memory reservation →
//! decode → [`api::handle`]. Anything that fails before the handler closes the connection (that
//! is what Kafka does with a request it cannot parse). In-process clients skip all of this:
//! they hand typed requests to [`api::handle`] directly.

use crate::api::{self, api_versions, fetch, ClientInfo, Context, Reply};
use crate::log_safe;
use crate::protocol::{header, versions, ProtocolError};
use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ResponseKind};

const UNSUPPORTED_VERSION: i16 = kafka_protocol::ResponseError::UnsupportedVersion.code();

/// A reply with what is needed to frame it.
#[derive(Debug)]
pub struct Handled {
    pub api_key: ApiKey,
    /// The version to encode the response in (not always the request's: see ApiVersions).
    pub version: i16,
    pub correlation_id: i32,
    pub reply: Reply,
    /// The decoded bytes reserved for this request (`queued.max.request.bytes`): hold it
    /// until the response is ready.
    pub decoded_permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Handles one request frame (without its length prefix). `Err` means: close the connection.
/// With `decoded`, what the guard says the decoded request takes is reserved from it before
/// decoding (and handed back in [`Handled::decoded_permit`]).
pub(crate) async fn dispatch(
    ctx: &Context,
    peer: std::net::SocketAddr,
    frame: Bytes,
    decoded: Option<&crate::server::memory::Budget>,
) -> Result<Handled, ProtocolError> {
    let started = std::time::Instant::now();
    let fixed = header::fixed(&frame)?;
    if fixed.api_key == ApiKey::ApiVersions as i16
        && !versions::is_supported(ApiKey::ApiVersions, fixed.api_version)
    {
        // A newer client probing a version strom does not know: answer in v0, which every
        // client parses, with the supported ranges so it can retry (KIP-511). The header of
        // such a request may not even be parseable, so only its fixed part is used.
        ctx.metrics
            .request(ApiKey::ApiVersions as i16, started.elapsed());
        return Ok(Handled {
            api_key: ApiKey::ApiVersions,
            version: 0,
            correlation_id: fixed.correlation_id,
            reply: Reply::Now(api_versions::unsupported()),
            decoded_permit: None,
        });
    }
    // An unknown API key closes the connection, as Kafka does: there is no response schema to
    // answer in, and clients only send keys the broker listed in ApiVersions.
    let request = header::parse(frame)?;
    let (api_key, version) = (request.api_key, request.header.request_api_version);
    let correlation_id = request.header.correlation_id;
    tracing::trace!(
        api = ?api_key,
        version,
        correlation_id,
        client = %log_safe::escape(request.header.client_id.as_ref().map_or("", |c| c.as_str())),
        "request"
    );
    let Some(supported) = versions::range(api_key) else {
        return Err(ProtocolError::NotImplemented {
            api: api_key,
            correlation_id,
        });
    };
    if !(supported.min..=supported.max).contains(&version) {
        // Kafka closes the connection here too ("not enabled"); strom answers
        // UNSUPPORTED_VERSION where the response has a top-level error code to carry it.
        return match unsupported_version(api_key, version) {
            Some(body) => Ok(Handled {
                // Answered without a handler: counted here.
                reply: ctx.metrics.count(api_key as i16, started, Reply::Now(body)),
                api_key,
                version,
                correlation_id,
                decoded_permit: None,
            }),
            None => Err(ProtocolError::UnsupportedVersion {
                api: api_key,
                version,
                min: supported.min,
                max: supported.max,
            }),
        };
    }
    let client = ClientInfo {
        client_id: request
            .header
            .client_id
            .as_ref()
            .map_or_else(String::new, |c| c.to_string()),
        client_host: format!("/{}", peer.ip()),
    };
    let walked = crate::protocol::check_body(api_key, version, &request.body)?;
    let decoded_permit = match decoded {
        Some(pool) => {
            pool.acquire(walked.decoded.saturating_add(request.decoded_bytes))
                .await
        }
        None => None,
    };
    let body = crate::protocol::decode_checked(api_key, version, request.body)?;
    let reply = api::handle(ctx, version, body, client).await?;
    Ok(Handled {
        api_key,
        version,
        correlation_id,
        reply,
        decoded_permit,
    })
}

/// An UNSUPPORTED_VERSION response for a version outside the table, where one can be built
/// without decoding the request: the response must have a top-level error code and the
/// message library must know the version.
fn unsupported_version(api_key: ApiKey, version: i16) -> Option<ResponseKind> {
    let lib = api_key.valid_versions();
    if !(lib.min..=lib.max).contains(&version) {
        return None;
    }
    match api_key {
        ApiKey::Fetch if version >= 7 => Some(fetch::error_response(UNSUPPORTED_VERSION)),
        ApiKey::Metadata if version >= 13 => Some(ResponseKind::Metadata(
            kafka_protocol::messages::MetadataResponse::default()
                .with_error_code(UNSUPPORTED_VERSION),
        )),
        _ => None,
    }
}
