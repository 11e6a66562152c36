//! Sending one admin request the way Kafka's admin client does: to the right broker (any, the
//! controller, one node, a group's coordinator), in the version the connection speaks, and
//! again after errors that only mean "ask elsewhere or a little later" — until
//! `default.api.timeout.ms`. Also the small helpers every API family shares.

use super::Admin;
use crate::client::error::{ClientError, ClientResult};
use crate::client::transport::Connection;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Request, StrBytes};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A topic and partition, the key of per-partition results.
pub type TopicPartition = (String, i32);

/// Where a request goes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target<'a> {
    /// Any broker.
    Any,
    /// The controller named by metadata. KRaft brokers forward such requests to the real
    /// controller; older clusters answer NOT_CONTROLLER when metadata was stale.
    Controller,
    /// One broker by node id.
    Node(i32),
    /// The coordinator of a group.
    Coordinator(&'a str),
}

/// Codes after which the same request may succeed once the client has re-learned where to
/// send it (fresh metadata, a new coordinator lookup) or the broker finished loading.
const RETRY_CODES: [ResponseError; 6] = [
    ResponseError::LeaderNotAvailable,
    ResponseError::NotLeaderOrFollower,
    ResponseError::CoordinatorLoadInProgress,
    ResponseError::CoordinatorNotAvailable,
    ResponseError::NotCoordinator,
    ResponseError::NotController,
];

pub(super) fn should_retry(code: i16) -> bool {
    RETRY_CODES.iter().any(|e| e.code() == code)
}

/// Failures before an answer that a second attempt may not repeat.
fn retriable_failure(e: &ClientError) -> bool {
    match e {
        ClientError::Connect { .. } | ClientError::Disconnected { .. } => true,
        ClientError::Timeout(_) => true,
        // FindCoordinator's own refusals while the coordinator moves or loads.
        ClientError::Kafka { code, .. } => should_retry(*code),
        _ => false,
    }
}

pub(super) use crate::client::exchange::FromKind;

/// `Ok(())` for code 0, else the Kafka error with the broker's message and `context`.
pub(super) fn check(
    code: i16,
    message: Option<&StrBytes>,
    context: impl FnOnce() -> String,
) -> ClientResult<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(ClientError::kafka(
            code,
            context(),
            message.map(|m| m.to_string()),
        ))
    }
}

pub(super) fn str(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub(super) fn topic_name(s: &str) -> TopicName {
    TopicName(str(s))
}

/// Per-partition items grouped by topic, partitions in order: the shape of every
/// partition-addressed request.
pub(super) fn by_topic<V: Clone>(
    items: impl IntoIterator<Item = (TopicPartition, V)>,
) -> BTreeMap<String, Vec<(i32, V)>> {
    let mut out: BTreeMap<String, Vec<(i32, V)>> = BTreeMap::new();
    for ((topic, partition), v) in items {
        out.entry(topic).or_default().push((partition, v));
    }
    for partitions in out.values_mut() {
        partitions.sort_by_key(|(p, _)| *p);
    }
    out
}

/// The deadline of one admin call and the backoff between its attempts.
pub(super) struct Backoff {
    deadline: Instant,
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(super) fn new(admin: &Admin) -> Backoff {
        Backoff {
            deadline: Instant::now() + admin.api_timeout,
            next: admin.cluster.options().retry_backoff,
            max: admin.retry_backoff_max,
        }
    }

    pub(super) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Sleeps before the next attempt (`retry.backoff.ms`, doubling up to
    /// `retry.backoff.max.ms`); `false` when that attempt would start after the deadline.
    pub(super) async fn wait(&mut self) -> bool {
        if Instant::now() + self.next >= self.deadline {
            return false;
        }
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.max);
        true
    }
}

impl Admin {
    /// Sends `request` to `target` and returns the answer. While the connection fails or
    /// `retry_code` finds a code of [`RETRY_CODES`] in the answer, the client re-learns where
    /// to send (forgets the coordinator, refreshes metadata) and tries again, until
    /// `default.api.timeout.ms`. The last answer is then returned as it is: callers turn its
    /// error codes into errors that say what they were doing.
    pub(super) async fn call<Q>(
        &self,
        target: Target<'_>,
        request: Q,
        retry_code: impl Fn(&Q::Response) -> Option<i16>,
    ) -> ClientResult<Q::Response>
    where
        Q: Request + Clone + Into<RequestKind>,
        Q::Response: FromKind,
    {
        self.call_with(target, |_| Ok(request.clone()), retry_code)
            .await
    }

    /// [`Admin::call`] with the request built for the version the connection speaks, for
    /// requests that some versions in the client's range cannot express.
    pub(super) async fn call_with<Q>(
        &self,
        target: Target<'_>,
        build: impl Fn(i16) -> ClientResult<Q>,
        retry_code: impl Fn(&Q::Response) -> Option<i16>,
    ) -> ClientResult<Q::Response>
    where
        Q: Request + Into<RequestKind>,
        Q::Response: FromKind,
    {
        self.call_until(target, build, retry_code, &mut Backoff::new(self))
            .await
    }

    /// [`Admin::call_with`] within the deadline of `backoff`, for calls that are one step
    /// of a larger operation.
    pub(super) async fn call_until<Q>(
        &self,
        target: Target<'_>,
        build: impl Fn(i16) -> ClientResult<Q>,
        retry_code: impl Fn(&Q::Response) -> Option<i16>,
        backoff: &mut Backoff,
    ) -> ClientResult<Q::Response>
    where
        Q: Request + Into<RequestKind>,
        Q::Response: FromKind,
    {
        let api = ApiKey::try_from(Q::KEY)
            .map_err(|_| ClientError::Unsupported(format!("API key {}", Q::KEY)))?;
        loop {
            let attempt = tokio::time::timeout_at(
                backoff.deadline().into(),
                self.send::<Q>(target, api, &build),
            )
            .await
            .unwrap_or_else(|_| Err(self.timed_out(api)));
            let retry = match &attempt {
                Ok(response) => retry_code(response).is_some_and(should_retry),
                Err(e) => retriable_failure(e),
            };
            if !retry || !backoff.wait().await {
                return attempt;
            }
            self.recover(target, backoff.deadline()).await;
        }
    }

    /// Refreshes metadata of `topics` (all when empty), giving up at `deadline`.
    pub(super) async fn refresh(&self, topics: &[String], deadline: Instant) -> ClientResult<()> {
        tokio::time::timeout_at(deadline.into(), self.cluster.refresh(topics))
            .await
            .unwrap_or_else(|_| Err(self.timed_out(ApiKey::Metadata)))
    }

    pub(super) fn timed_out(&self, api: ApiKey) -> ClientError {
        ClientError::Timeout(format!(
            "{api:?} did not succeed within default.api.timeout.ms ({:?})",
            self.api_timeout
        ))
    }

    async fn send<Q>(
        &self,
        target: Target<'_>,
        api: ApiKey,
        build: &impl Fn(i16) -> ClientResult<Q>,
    ) -> ClientResult<Q::Response>
    where
        Q: Request + Into<RequestKind>,
        Q::Response: FromKind,
    {
        let conn = self.connection(target).await?;
        let version = conn.version(api)?;
        let request: RequestKind = build(version)?.into();
        let kind = conn.send(request, version).await?.await?;
        crate::client::exchange::expect::<Q>(kind)
    }

    async fn connection(&self, target: Target<'_>) -> ClientResult<Arc<dyn Connection>> {
        let node = match target {
            Target::Any => return self.cluster.any_connection().await,
            Target::Node(node) => node,
            Target::Coordinator(group) => self.cluster.coordinator(group).await?,
            Target::Controller => match self.cluster.controller() {
                // No controller known (Kafka reports -1 while electing): anyone forwards.
                node if node < 0 => return self.cluster.any_connection().await,
                node => node,
            },
        };
        self.cluster.connection(node).await
    }

    /// Forgets what a retriable error proved stale.
    async fn recover(&self, target: Target<'_>, deadline: Instant) {
        match target {
            Target::Coordinator(group) => self.cluster.forget_coordinator(group),
            Target::Any | Target::Controller | Target::Node(_) => {
                // A failed refresh leaves the old view; the next attempt reports the problem.
                let _ = tokio::time::timeout_at(deadline.into(), self.cluster.refresh(&[])).await;
            }
        }
    }
}
