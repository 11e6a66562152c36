//! The consumer: `subscribe` (names or a regex) with group membership and rebalance
//! callbacks, or `assign`; `poll` hands out records fetched ahead of time, at most N per call,
//! and commits cover exactly what was handed out; commits (auto, sync, async), `seek`,
//! `seek_to_beginning/end`, `offsets_for_times`, `pause/resume`, `position`, `committed`.
//! Group protocol in [`group`], fetching in [`fetcher`], positions and fetched records in
//! [`cursor`], offset requests in [`offsets`]. Bindings hand records out from here and keep no
//! records or positions of their own.

pub mod config;
pub mod cursor;
pub mod fetcher;
pub mod group;
pub mod offsets;
pub mod types;

pub use config::{ConsumerConfig, OffsetReset};
pub use types::{
    ConsumerRecord, OffsetAndMetadata, OffsetAndTimestamp, RebalanceListener, TopicPartition,
};

use crate::api::Service;
use crate::client::assignor::RebalanceProtocol;
use crate::client::cluster::{Cluster, Endpoint};
use crate::client::error::{ClientError, ClientResult};
use fetcher::Fetcher;
use group::Membership;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Builds a [`Consumer`] from Kafka config names and an endpoint.
#[derive(Debug, Default)]
pub struct ConsumerBuilder {
    config: ConsumerConfig,
    endpoint: Option<Endpoint>,
    error: Option<ClientError>,
}

impl ConsumerBuilder {
    pub fn bootstrap(mut self, servers: &str) -> Self {
        self.config.bootstrap_servers = Some(servers.to_string());
        self
    }

    /// Where the cluster is: bootstrap servers or an embedded broker.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    pub fn in_process(mut self, service: &Service) -> Self {
        self.endpoint = Some(Endpoint::InProcess(service.clone()));
        self
    }

    /// `group.id`.
    pub fn group(self, group_id: &str) -> Self {
        self.set("group.id", group_id)
    }

    /// Any consumer setting by its Kafka name; errors surface from [`ConsumerBuilder::build`].
    pub fn set(mut self, name: &str, value: impl AsRef<str>) -> Self {
        if self.error.is_none() {
            if let Err(e) = self.config.set(name, value.as_ref()) {
                self.error = Some(e);
            }
        }
        self
    }

    pub async fn build(self) -> ClientResult<Consumer> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut config = self.config;
        config.validate()?;
        if config.group_id.is_none() {
            config.enable_auto_commit = false;
        }
        let endpoint = match (self.endpoint, &config.bootstrap_servers) {
            (Some(e), _) => e,
            (None, Some(servers)) => Endpoint::bootstrap(servers)?,
            (None, None) => {
                return Err(ClientError::Config(
                    "set bootstrap.servers, or attach the consumer to an embedded broker".into(),
                ))
            }
        };
        let config = Arc::new(config);
        let cluster = Cluster::new(endpoint, config.cluster.clone());
        Ok(Consumer {
            membership: config
                .group_id
                .clone()
                .map(|g| Membership::new(g, Arc::clone(&cluster), Arc::clone(&config))),
            fetcher: Fetcher::new(Arc::clone(&cluster), Arc::clone(&config)),
            next_auto_commit: Instant::now() + config.auto_commit_interval,
            cluster,
            config,
            subscription: Subscription::None,
            listener: None,
            protocol: RebalanceProtocol::Eager,
            pattern_checked: None,
            polled: false,
            closed: false,
        })
    }
}

#[derive(Debug)]
enum Subscription {
    None,
    Topics(BTreeSet<String>),
    Pattern(regex::Regex, BTreeSet<String>),
    Assigned,
}

/// A Kafka consumer. Like Java's, it is used from one task at a time (`&mut self`).
pub struct Consumer {
    cluster: Arc<Cluster>,
    config: Arc<ConsumerConfig>,
    membership: Option<Membership>,
    fetcher: Fetcher,
    subscription: Subscription,
    listener: Option<Box<dyn RebalanceListener>>,
    protocol: RebalanceProtocol,
    next_auto_commit: Instant,
    pattern_checked: Option<Instant>,
    /// Set by the first poll: settings can change until then.
    polled: bool,
    closed: bool,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("group", &self.config.group_id)
            .field("subscription", &self.subscription)
            .field(
                "assignment",
                &self.fetcher.cursor.assigned().collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Consumer {
    pub fn builder() -> ConsumerBuilder {
        ConsumerBuilder::default()
    }

    fn check_open(&self) -> ClientResult<()> {
        if self.closed {
            Err(ClientError::Closed("consumer"))
        } else {
            Ok(())
        }
    }

    fn group(&self) -> ClientResult<&Membership> {
        self.membership
            .as_ref()
            .ok_or_else(|| ClientError::IllegalState("this needs group.id".into()))
    }

    /// Subscribes to `topics` through the group (needs `group.id`).
    pub fn subscribe<S: AsRef<str>>(&mut self, topics: &[S]) -> ClientResult<()> {
        self.check_open()?;
        self.group()?;
        self.subscription =
            Subscription::Topics(topics.iter().map(|t| t.as_ref().to_string()).collect());
        self.request_rejoin();
        Ok(())
    }

    /// Subscribes to every topic whose whole name matches `pattern` (checked again every
    /// `metadata.max.age.ms`; a change rejoins the group).
    pub fn subscribe_pattern(&mut self, pattern: &str) -> ClientResult<()> {
        self.check_open()?;
        self.group()?;
        let anchored = format!("^(?:{pattern})$");
        let regex = regex::Regex::new(&anchored)
            .map_err(|e| ClientError::InvalidArgument(format!("bad topic pattern: {e}")))?;
        self.subscription = Subscription::Pattern(regex, BTreeSet::new());
        self.pattern_checked = None;
        self.request_rejoin();
        Ok(())
    }

    /// Sets the callbacks run around rebalances.
    pub fn set_rebalance_listener(&mut self, listener: Box<dyn RebalanceListener>) {
        self.listener = Some(listener);
    }

    /// Consumes exactly `partitions`, without group membership (commits still go to
    /// `group.id` if set).
    pub fn assign(&mut self, partitions: &[TopicPartition]) -> ClientResult<()> {
        self.check_open()?;
        self.subscription = Subscription::Assigned;
        self.fetcher.cursor.clear_queued();
        self.fetcher
            .cursor
            .set_assignment(partitions.iter().cloned());
        Ok(())
    }

    /// Drops the subscription or assignment (leaving the group on the next poll... at once).
    pub async fn unsubscribe(&mut self) -> ClientResult<()> {
        let owned = self.assignment();
        if !owned.is_empty() {
            self.revoke(&owned).await;
        }
        self.fetcher.cursor.set_assignment(Vec::new());
        self.fetcher.cursor.clear_queued();
        self.subscription = Subscription::None;
        if let Some(m) = self.membership.as_mut() {
            m.leave().await;
        }
        Ok(())
    }

    /// The partitions assigned now.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.fetcher.cursor.assigned().cloned().collect()
    }

    /// The subscribed topic names (for a pattern: the topics it matched last).
    pub fn subscription(&self) -> Vec<String> {
        match &self.subscription {
            Subscription::Topics(t) | Subscription::Pattern(_, t) => t.iter().cloned().collect(),
            _ => Vec::new(),
        }
    }

    fn request_rejoin(&self) {
        if let Some(m) = &self.membership {
            m.rejoin_needed.store(true, Ordering::Release);
        }
    }

    /// Returns the records fetched since the last call (at most `max.poll.records`), waiting up
    /// to `timeout` for some. Runs rebalances, position resets and auto-commits.
    pub async fn poll(&mut self, timeout: Duration) -> ClientResult<Vec<ConsumerRecord>> {
        self.poll_up_to(timeout, self.config.max_poll_records).await
    }

    /// [`Consumer::poll`] handing out at most `max` records (and at most `max.poll.records`).
    /// Records fetched beyond them stay in the consumer for the next call: positions, and so
    /// commits, cover exactly the records handed out.
    pub async fn poll_up_to(
        &mut self,
        timeout: Duration,
        max: usize,
    ) -> ClientResult<Vec<ConsumerRecord>> {
        self.check_open()?;
        let max = max.clamp(1, self.config.max_poll_records);
        let deadline = Instant::now() + timeout;
        if matches!(self.subscription, Subscription::None) {
            return Err(ClientError::IllegalState(
                "subscribe or assign before polling".into(),
            ));
        }
        self.polled = true;
        self.ensure_group().await?;
        self.maybe_auto_commit().await;
        loop {
            self.init_positions().await?;
            if let Some(e) = self.fetcher.take_error() {
                return Err(e);
            }
            if self.fetcher.cursor.has_deliverable() {
                let records = self.fetcher.cursor.take(max);
                self.fetcher.send_fetches();
                return Ok(records);
            }
            self.fetcher.send_fetches();
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let wait = deadline - now;
            if self.fetcher.has_in_flight() {
                self.fetcher.wait_for_fetch(wait).await;
            } else {
                // Nothing to fetch (no assignment yet, all paused): wait a little for a
                // rebalance to bring partitions.
                tokio::time::sleep(wait.min(self.config.cluster.retry_backoff)).await;
            }
            if self.rejoin_needed() {
                self.ensure_group().await?;
            }
        }
    }

    /// Up to `max` records already fetched, handed out at once without waiting, as a `poll`
    /// with no timeout would. `None` when a poll has work to do first (a rebalance, an
    /// auto-commit, a position reset, an error to report, or nothing fetched): call
    /// [`Consumer::poll_up_to`] then. Lets a binding hand out records one at a time cheaply.
    pub fn take_fetched(&mut self, max: usize) -> Option<Vec<ConsumerRecord>> {
        let auto_commit_due =
            self.config.enable_auto_commit && Instant::now() >= self.next_auto_commit;
        let poll_has_work = self.closed
            || !self.polled
            || self.rejoin_needed()
            || auto_commit_due
            || self.pattern_check_due()
            || self.fetcher.has_pending_error();
        if poll_has_work || !self.fetcher.cursor.has_deliverable() {
            return None;
        }
        let records = self
            .fetcher
            .cursor
            .take(max.clamp(1, self.config.max_poll_records));
        // Called once per record by iterating bindings: fetch ahead only when no fetch is out
        // (the next poll sends to any other idle broker).
        if !self.fetcher.has_in_flight() {
            self.fetcher.send_fetches();
        }
        Some(records)
    }

    fn pattern_check_due(&self) -> bool {
        matches!(self.subscription, Subscription::Pattern(..))
            && self
                .pattern_checked
                .is_none_or(|at| at.elapsed() >= self.config.metadata_max_age)
    }

    /// Changes a consumer setting (Kafka's name) after `build` and before the first poll, as
    /// kafkajs allows `fromBeginning` and `autoCommit` to come with `subscribe` and `run`.
    /// `bootstrap.servers` cannot change; after the first poll this refuses.
    pub fn reconfigure(&mut self, name: &str, value: &str) -> ClientResult<()> {
        self.check_open()?;
        if self.polled {
            return Err(ClientError::IllegalState(format!(
                "{name} cannot change once the consumer has polled"
            )));
        }
        if name == "bootstrap.servers" {
            return Err(ClientError::Config(
                "bootstrap.servers cannot change after the consumer is built".into(),
            ));
        }
        let mut config = ConsumerConfig::clone(&self.config);
        config.set(name, value)?;
        config.validate()?;
        if config.group_id.is_none() {
            config.enable_auto_commit = false;
        }
        let config = Arc::new(config);
        if config.group_id != self.config.group_id {
            self.membership = config
                .group_id
                .clone()
                .map(|g| Membership::new(g, Arc::clone(&self.cluster), Arc::clone(&config)));
        } else if let Some(m) = self.membership.as_mut() {
            m.set_config(Arc::clone(&config));
        }
        self.fetcher.set_config(Arc::clone(&config));
        self.next_auto_commit = Instant::now() + config.auto_commit_interval;
        self.config = config;
        Ok(())
    }

    /// Whether seeks and pauses of partitions not assigned yet wait for the group to assign
    /// them (a group subscription), rather than being refused.
    fn queues_unassigned(&self) -> bool {
        matches!(
            self.subscription,
            Subscription::Topics(_) | Subscription::Pattern(..)
        )
    }

    fn rejoin_needed(&self) -> bool {
        self.membership
            .as_ref()
            .is_some_and(|m| m.rejoin_needed.load(Ordering::Acquire))
            && !matches!(
                self.subscription,
                Subscription::Assigned | Subscription::None
            )
    }

    async fn topics_to_subscribe(&mut self) -> ClientResult<Option<BTreeSet<String>>> {
        match &mut self.subscription {
            Subscription::Topics(t) => Ok(Some(t.clone())),
            Subscription::Pattern(regex, matched) => {
                let due = self
                    .pattern_checked
                    .is_none_or(|at| at.elapsed() >= self.config.metadata_max_age);
                if due {
                    self.cluster.refresh(&[]).await?;
                    let now: BTreeSet<String> = self
                        .cluster
                        .topics()
                        .iter()
                        .filter(|t| !t.internal && regex.is_match(&t.name))
                        .map(|t| t.name.clone())
                        .collect();
                    if now != *matched {
                        *matched = now;
                        if let Some(m) = &self.membership {
                            m.rejoin_needed.store(true, Ordering::Release);
                        }
                    }
                    self.pattern_checked = Some(Instant::now());
                }
                Ok(Some(matched.clone()))
            }
            _ => Ok(None),
        }
    }

    /// Joins or rejoins the group when needed, running the rebalance callbacks.
    async fn ensure_group(&mut self) -> ClientResult<()> {
        let Some(topics) = self.topics_to_subscribe().await? else {
            return Ok(());
        };
        if !self.rejoin_needed() {
            return Ok(());
        }
        let owned: BTreeSet<TopicPartition> = self.assignment().into_iter().collect();
        if self.protocol == RebalanceProtocol::Eager && !owned.is_empty() {
            let all: Vec<TopicPartition> = owned.iter().cloned().collect();
            self.revoke(&all).await;
            self.fetcher.cursor.set_assignment(Vec::new());
        }
        let owned: BTreeSet<TopicPartition> = self.assignment().into_iter().collect();
        let topics: Vec<String> = topics.into_iter().collect();
        let deadline = Instant::now() + self.config.default_api_timeout;
        let Some(membership) = self.membership.as_mut() else {
            return Ok(());
        };
        let joined = match membership.join(&topics, &owned, deadline).await {
            Ok(j) => j,
            Err(e) => {
                if !owned.is_empty() {
                    let lost: Vec<TopicPartition> = owned.into_iter().collect();
                    self.fetcher.cursor.set_assignment(Vec::new());
                    if let Some(l) = self.listener.as_mut() {
                        l.on_partitions_lost(&lost);
                    }
                }
                return Err(e);
            }
        };
        self.protocol = joined.protocol;
        let revoked: Vec<TopicPartition> = owned.difference(&joined.assigned).cloned().collect();
        let added: Vec<TopicPartition> = joined.assigned.difference(&owned).cloned().collect();
        if !revoked.is_empty() {
            // Cooperative: give up only what moved, then rejoin so its new owner gets it.
            self.revoke(&revoked).await;
            self.request_rejoin();
        }
        self.fetcher
            .cursor
            .set_assignment(joined.assigned.iter().cloned());
        if let Some(l) = self.listener.as_mut() {
            l.on_partitions_assigned(&added);
        }
        Ok(())
    }

    /// Commits progress of `partitions` (auto-commit) and tells the listener they are gone.
    async fn revoke(&mut self, partitions: &[TopicPartition]) {
        if self.config.enable_auto_commit {
            let offsets = self.positions_of(partitions);
            if let Err(e) = self.commit_offsets(offsets).await {
                tracing::warn!(
                    "committing before the rebalance failed: {}",
                    crate::log_safe::escape(&e)
                );
            }
        }
        if let Some(l) = self.listener.as_mut() {
            l.on_partitions_revoked(partitions);
        }
    }

    fn positions_of(
        &self,
        partitions: &[TopicPartition],
    ) -> BTreeMap<TopicPartition, OffsetAndMetadata> {
        partitions
            .iter()
            .filter_map(|tp| {
                let s = self.fetcher.cursor.get(tp)?;
                Some((tp.clone(), OffsetAndMetadata::new(s.position?)))
            })
            .collect()
    }

    async fn maybe_auto_commit(&mut self) {
        if !self.config.enable_auto_commit || Instant::now() < self.next_auto_commit {
            return;
        }
        self.next_auto_commit = Instant::now() + self.config.auto_commit_interval;
        if let Ok(handle) = self.commit_async() {
            drop(handle);
        }
    }

    /// Sets the position of partitions that have none: the committed offset, else
    /// `auto.offset.reset`.
    async fn init_positions(&mut self) -> ClientResult<()> {
        let needing = self.fetcher.needing_position();
        if needing.is_empty() {
            return Ok(());
        }
        let mut committed = BTreeMap::new();
        let fresh: Vec<TopicPartition> = needing
            .iter()
            .filter(|tp| self.fetcher.cursor.get(tp).is_some_and(|s| !s.out_of_range))
            .cloned()
            .collect();
        if let (Some(group), false) = (&self.config.group_id, fresh.is_empty()) {
            committed =
                offsets::committed(&self.cluster, group, &fresh, self.config.read_committed)
                    .await?;
        }
        let mut resets = Vec::new();
        for tp in needing {
            match committed.get(&tp) {
                Some(om) => self.fetcher.cursor.seek(&tp, om.offset, false)?,
                None => match self.config.auto_offset_reset {
                    OffsetReset::Earliest => resets.push((tp, offsets::EARLIEST)),
                    OffsetReset::Latest => resets.push((tp, offsets::LATEST)),
                    OffsetReset::None => {
                        return Err(ClientError::IllegalState(format!(
                            "no committed offset for {tp} and auto.offset.reset=none"
                        )))
                    }
                },
            }
        }
        if !resets.is_empty() {
            let deadline = Instant::now() + self.config.default_api_timeout;
            let found =
                offsets::list_offsets(&self.cluster, &resets, self.config.read_committed, deadline)
                    .await?;
            for (tp, _) in resets {
                if let Some(o) = found.get(&tp) {
                    self.fetcher.cursor.seek(&tp, o.offset, false)?;
                }
            }
        }
        Ok(())
    }

    /// Commits the current positions of every assigned partition and waits.
    pub async fn commit_sync(&mut self) -> ClientResult<()> {
        self.commit_positions_except(BTreeMap::new()).await
    }

    /// Commits the positions of every assigned partition, with `delivered` in place of the
    /// positions of its partitions, and waits. For a binding that hands a poll's records on
    /// itself (Node's kafkajs-shaped delivery): what it has not delivered yet is not committed.
    pub async fn commit_positions_except(
        &mut self,
        delivered: BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> ClientResult<()> {
        let mut offsets = self.positions_of(&self.assignment());
        offsets.extend(
            delivered
                .into_iter()
                .filter(|(tp, _)| self.fetcher.cursor.is_assigned(tp)),
        );
        self.commit_offsets(offsets).await
    }

    /// Commits the given offsets (the next offset to consume, as Kafka) and waits.
    pub async fn commit_offsets(
        &mut self,
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> ClientResult<()> {
        let group = self.commit_group()?;
        let generation = self.commit_generation();
        let result = offsets::commit(
            &self.cluster,
            &group,
            &generation,
            self.config.group_instance_id.as_deref(),
            &offsets,
        )
        .await;
        if let Err(e) = &result {
            if matches!(e.kafka_code(), Some(22 | 25 | 27)) {
                self.request_rejoin();
            }
        }
        result
    }

    /// The group commits go to, refusing when closed or without `group.id`.
    fn commit_group(&self) -> ClientResult<String> {
        self.check_open()?;
        self.config
            .group_id
            .clone()
            .ok_or_else(|| ClientError::IllegalState("committing needs group.id".into()))
    }

    fn commit_generation(&self) -> group::Generation {
        match (&self.membership, &self.subscription) {
            (Some(m), Subscription::Topics(_) | Subscription::Pattern(..)) => m.current(),
            _ => group::Generation {
                member_id: String::new(),
                generation: -1,
                protocol: None,
            },
        }
    }

    /// Commits the current positions in the background; the handle tells how it went.
    pub fn commit_async(&self) -> ClientResult<tokio::task::JoinHandle<ClientResult<()>>> {
        let group = self.commit_group()?;
        let offsets = self.positions_of(&self.assignment());
        let generation = self.commit_generation();
        let cluster = Arc::clone(&self.cluster);
        let instance = self.config.group_instance_id.clone();
        Ok(tokio::spawn(async move {
            offsets::commit(&cluster, &group, &generation, instance.as_deref(), &offsets).await
        }))
    }

    /// The committed offsets of `partitions` (absent: none committed).
    pub async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> ClientResult<BTreeMap<TopicPartition, OffsetAndMetadata>> {
        let group =
            self.config.group_id.as_deref().ok_or_else(|| {
                ClientError::IllegalState("committed offsets need group.id".into())
            })?;
        offsets::committed(&self.cluster, group, partitions, self.config.read_committed).await
    }

    /// Makes the next `poll` return records of `tp` from `offset`, dropping only the records
    /// of `tp` fetched already. With a group subscription, a partition not assigned yet is
    /// sought when the group assigns it; otherwise that is an `IllegalState` error.
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> ClientResult<()> {
        if offset < 0 {
            return Err(ClientError::InvalidArgument(format!(
                "seek offset {offset} is negative"
            )));
        }
        let queue = self.queues_unassigned();
        self.fetcher.cursor.seek(tp, offset, queue)
    }

    /// Moves `partitions` (all assigned when empty) to their first offset.
    pub async fn seek_to_beginning(&mut self, partitions: &[TopicPartition]) -> ClientResult<()> {
        self.seek_to(partitions, offsets::EARLIEST).await
    }

    /// Moves `partitions` (all assigned when empty) to their end.
    pub async fn seek_to_end(&mut self, partitions: &[TopicPartition]) -> ClientResult<()> {
        self.seek_to(partitions, offsets::LATEST).await
    }

    async fn seek_to(&mut self, partitions: &[TopicPartition], spec: i64) -> ClientResult<()> {
        let list = if partitions.is_empty() {
            self.assignment()
        } else {
            partitions.to_vec()
        };
        let query: Vec<(TopicPartition, i64)> = list.into_iter().map(|tp| (tp, spec)).collect();
        let deadline = Instant::now() + self.config.default_api_timeout;
        let found =
            offsets::list_offsets(&self.cluster, &query, self.config.read_committed, deadline)
                .await?;
        for (tp, o) in found {
            self.fetcher.cursor.seek(&tp, o.offset, false)?;
        }
        Ok(())
    }

    /// The next offset `poll` will return for `tp` (initialising it if needed).
    pub async fn position(&mut self, tp: &TopicPartition) -> ClientResult<i64> {
        if !self.fetcher.cursor.is_assigned(tp) {
            return Err(ClientError::IllegalState(format!(
                "{tp} is not assigned to this consumer"
            )));
        }
        self.init_positions().await?;
        self.fetcher
            .cursor
            .get(tp)
            .and_then(|s| s.position)
            .ok_or_else(|| ClientError::IllegalState(format!("no position for {tp}")))
    }

    /// For each partition, the earliest offset whose timestamp is at or after the given one.
    pub async fn offsets_for_times(
        &self,
        query: &[(TopicPartition, i64)],
    ) -> ClientResult<BTreeMap<TopicPartition, OffsetAndTimestamp>> {
        let deadline = Instant::now() + self.config.default_api_timeout;
        offsets::list_offsets(&self.cluster, query, self.config.read_committed, deadline).await
    }

    /// First offsets of `partitions`.
    pub async fn beginning_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> ClientResult<BTreeMap<TopicPartition, i64>> {
        self.offsets_at(partitions, offsets::EARLIEST).await
    }

    /// End offsets (high watermarks, or last stable offsets with read_committed).
    pub async fn end_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> ClientResult<BTreeMap<TopicPartition, i64>> {
        self.offsets_at(partitions, offsets::LATEST).await
    }

    async fn offsets_at(
        &self,
        partitions: &[TopicPartition],
        spec: i64,
    ) -> ClientResult<BTreeMap<TopicPartition, i64>> {
        let query: Vec<_> = partitions.iter().map(|tp| (tp.clone(), spec)).collect();
        Ok(self
            .offsets_for_times(&query)
            .await?
            .into_iter()
            .map(|(tp, o)| (tp, o.offset))
            .collect())
    }

    /// Stops handing out records of `partitions` until [`Consumer::resume`]; records fetched
    /// already wait in the consumer. With a group subscription, partitions not assigned yet
    /// are paused when the group assigns them.
    pub fn pause(&mut self, partitions: &[TopicPartition]) -> ClientResult<()> {
        self.set_paused(partitions, true)
    }

    pub fn resume(&mut self, partitions: &[TopicPartition]) -> ClientResult<()> {
        self.set_paused(partitions, false)
    }

    fn set_paused(&mut self, partitions: &[TopicPartition], paused: bool) -> ClientResult<()> {
        let queue = self.queues_unassigned();
        if !queue {
            // All or nothing: refuse before changing any.
            if let Some(tp) = partitions
                .iter()
                .find(|tp| !self.fetcher.cursor.is_assigned(tp))
            {
                return Err(ClientError::IllegalState(format!(
                    "{tp} is not assigned to this consumer"
                )));
            }
        }
        partitions
            .iter()
            .try_for_each(|tp| self.fetcher.cursor.pause(tp, paused, queue))
    }

    /// Paused partitions, including those paused before the group assigned them.
    pub fn paused(&self) -> Vec<TopicPartition> {
        self.fetcher.cursor.paused()
    }

    /// Topic names the cluster has (refreshing metadata).
    pub async fn list_topics(&self) -> ClientResult<Vec<String>> {
        self.cluster.refresh(&[]).await?;
        let mut names: Vec<String> = self
            .cluster
            .topics()
            .iter()
            .map(|t| t.name.clone())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Commits (with auto-commit), leaves the group and stops.
    pub async fn close(&mut self) -> ClientResult<()> {
        if self.closed {
            return Ok(());
        }
        if self.config.enable_auto_commit && !self.assignment().is_empty() {
            if let Err(e) = self.commit_sync().await {
                tracing::warn!("final commit failed: {}", crate::log_safe::escape(&e));
            }
        }
        if let Some(m) = self.membership.as_mut() {
            m.leave().await;
        }
        self.closed = true;
        Ok(())
    }
}
