//! The in-process transport: requests go to the embedded broker's handlers as structs, through
//! the same [`crate::api::handle`] the TCP server calls after decoding, so the
//! semantics are the network path's without sockets or encoding.

use super::{client_range, BoxFuture, Connection, Connector, Pending};
use crate::api::Service;
use crate::api::{self, ClientInfo, Context, Reply};
use crate::client::error::{ClientError, ClientResult};
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use std::sync::Arc;

/// What Metadata calls the embedded broker's address.
pub const IN_PROCESS_HOST: &str = "in-process";

/// Connects every address to one embedded broker.
#[derive(Debug, Clone)]
pub struct InProcessConnector {
    connection: Arc<InProcessConnection>,
}

impl InProcessConnector {
    pub fn new(service: &Service, client_id: &str) -> Self {
        let ctx = service.context(
            IN_PROCESS_HOST.into(),
            0,
            service.auto_create_topics(),
            service.stopped(),
        );
        InProcessConnector {
            connection: Arc::new(InProcessConnection {
                ctx: Arc::new(ctx),
                service: service.clone(),
                client_id: client_id.to_string(),
            }),
        }
    }
}

impl Connector for InProcessConnector {
    fn connect<'a>(
        &'a self,
        _address: &'a str,
    ) -> BoxFuture<'a, ClientResult<Arc<dyn Connection>>> {
        let conn: Arc<dyn Connection> = self.connection.clone();
        Box::pin(async move { Ok(conn) })
    }

    fn is_in_process(&self) -> bool {
        true
    }
}

/// The one "connection" to an embedded broker.
#[derive(Debug)]
pub struct InProcessConnection {
    ctx: Arc<Context>,
    service: Service,
    client_id: String,
}

impl Connection for InProcessConnection {
    fn version(&self, api: ApiKey) -> ClientResult<i16> {
        // The embedded broker serves every version the client builds (a unit test of the
        // version table checks it), so the newest one is used.
        client_range(api)
            .map(|r| r.max)
            .ok_or_else(|| ClientError::Unsupported(format!("the client does not send {api:?}")))
    }

    fn send(&self, request: RequestKind, version: i16) -> BoxFuture<'_, ClientResult<Pending>> {
        Box::pin(async move {
            if self.service.is_stopped() {
                return Err(ClientError::Disconnected {
                    addr: IN_PROCESS_HOST.into(),
                    reason: "the embedded broker is stopped".into(),
                });
            }
            let client = ClientInfo {
                client_id: self.client_id.clone(),
                client_host: format!("/{IN_PROCESS_HOST}"),
            };
            let reply = api::handle(&self.ctx, version, request, client)
                .await
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
            let pending: Pending = match reply {
                Reply::Now(response) => Box::pin(async move { Ok(response) }),
                Reply::Later(later) => Box::pin(async move { Ok(later.await) }),
                Reply::Nothing => Box::pin(async { Ok(ResponseKind::Produce(Default::default())) }),
                Reply::Close(reason) => {
                    return Err(ClientError::Disconnected {
                        addr: IN_PROCESS_HOST.into(),
                        reason,
                    })
                }
            };
            Ok(pending)
        })
    }

    fn is_alive(&self) -> bool {
        !self.service.is_stopped()
    }

    fn address(&self) -> &str {
        IN_PROCESS_HOST
    }
}
