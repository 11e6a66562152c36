//! The group coordinator: consumer groups with the classic rebalance protocol, committed
//! offsets, and their persistence in `__consumer_offsets`.
//!
//! All groups live behind one mutex; no I/O wait happens under it. Requests that must wait
//! (JoinGroup until the rebalance completes, SyncGroup until the leader's assignment arrives)
//! park a oneshot sender in the member and await it. A ticker (see [`GroupCoordinator::tick`])
//! expires sessions and completes rebalances whose deadline passed.

pub mod admin;
pub mod consumer;
mod join;
pub mod lag;
pub mod membership;
pub mod offsets;
pub mod state;
pub mod store;

use crate::broker::Broker;
use crate::clock::Clock;
use crate::error::Result;
use crate::log_safe;
use parking_lot::Mutex;
use state::{Group, GroupState, Member};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use store::{OffsetStore, StoreKey, StoreValue, StoredGroup, StoredMember};

/// Broker settings of the coordinator, under Kafka's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms`
    pub initial_rebalance_delay_ms: i64,
    /// `group.min.session.timeout.ms`
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`
    pub max_session_timeout_ms: i32,
    /// `offsets.retention.minutes`, in milliseconds.
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms`: how often expired offsets are removed and
    /// Empty groups without offsets forgotten. Until then such a group stays (Empty), as in
    /// Kafka, so deleting its last offset does not make the group vanish under a tool.
    pub offsets_retention_check_interval_ms: i64,
    /// `offset.metadata.max.bytes`
    pub offset_metadata_max_bytes: usize,
    /// `group.max.size`: members plus member ids handed out and not joined yet. Kafka's
    /// default is unbounded (`Integer.MAX_VALUE`); strom's is 10,000, far above any real
    /// consumer group, so that one group's members and pending ids (a few hundred bytes each)
    /// stay within a few MiB.
    pub max_size: usize,
    /// What pending members of all groups may take (strom's; see [`MAX_PENDING_BYTES`]).
    pub max_pending_bytes: usize,
    /// `group.consumer.session.timeout.ms`: a consumer-protocol member silent this long is
    /// removed.
    pub consumer_session_timeout_ms: i64,
    /// `group.consumer.heartbeat.interval.ms`: how often consumer-protocol members heartbeat.
    pub consumer_heartbeat_interval_ms: i32,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay_ms: 3_000,
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            offsets_retention_check_interval_ms: 600_000,
            offset_metadata_max_bytes: 4096,
            max_size: 10_000,
            max_pending_bytes: MAX_PENDING_BYTES,
            consumer_session_timeout_ms: 45_000,
            consumer_heartbeat_interval_ms: 5_000,
        }
    }
}

/// Largest member metadata or assignment accepted (bytes). Oversized ones are refused.
pub const MAX_MEMBER_BYTES: usize = 1 << 20;

/// The default of [`GroupConfig::max_pending_bytes`]: what member ids handed out by
/// MEMBER_ID_REQUIRED and not joined yet may take in all groups together (strom's; Kafka has
/// no such bound). Each costs its member id and group id
/// plus [`PENDING_OVERHEAD_BYTES`], so this is ~150,000 pending members with real ids, or
/// ~2,000 with 32 KiB group ids. Beyond it JoinGroup answers COORDINATOR_NOT_AVAILABLE,
/// which clients retry, until ids expire (after their session timeout) or join.
pub const MAX_PENDING_BYTES: usize = 64 << 20;
/// What a pending member takes beyond its ids: its map entry, deadline and charge.
pub const PENDING_OVERHEAD_BYTES: usize = 96;
/// How much of a client id the coordinator keeps (in member ids, which embed it as Kafka's
/// do, and in member descriptions). Real client ids are short (`rdkafka`,
/// `consumer-group-1`), while a Kafka string may hold 32767 bytes, which would then be
/// stored per member, persisted at every rebalance and echoed in every group response.
pub const MAX_CLIENT_ID_KEPT: usize = 256;

#[derive(Debug, Clone)]
pub struct GroupCoordinator {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) broker: Broker,
    pub(crate) config: GroupConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) groups: Mutex<HashMap<String, Group>>,
    pub(crate) store: OffsetStore,
    /// Bytes taken by pending members of all groups (see [`MAX_PENDING_BYTES`]).
    pub(crate) pending_bytes: Arc<std::sync::atomic::AtomicUsize>,
    /// When [`GroupCoordinator::tick`] next expires offsets and forgets empty groups.
    pub(crate) next_cleanup_ms: std::sync::atomic::AtomicI64,
}

impl GroupCoordinator {
    /// Opens the coordinator on a broker, reloading groups and offsets from
    /// `__consumer_offsets`.
    pub fn open(broker: Broker, config: GroupConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        let store = OffsetStore::open(&broker)?;
        let now = clock.now_ms();
        let mut groups: HashMap<String, Group> = HashMap::new();
        for (key, value) in store.replay()? {
            match (key, value) {
                (
                    StoreKey::Offset {
                        group,
                        topic,
                        partition,
                    },
                    Some(StoreValue::Offset(c)),
                ) => {
                    groups
                        .entry(group.clone())
                        .or_insert_with(|| Group::new(&group, now))
                        .offsets
                        .insert((topic, partition), c);
                }
                (
                    StoreKey::Offset {
                        group,
                        topic,
                        partition,
                    },
                    None,
                ) => {
                    if let Some(g) = groups.get_mut(&group) {
                        g.offsets.remove(&(topic, partition));
                    }
                }
                (StoreKey::Group { group }, Some(StoreValue::Group(s))) => {
                    let g = groups
                        .entry(group.clone())
                        .or_insert_with(|| Group::new(&group, now));
                    restore(g, s, now);
                }
                (StoreKey::Group { group }, None) => {
                    groups.remove(&group);
                }
                (k, v) => tracing::warn!(
                    k = %log_safe::escape(format!("{k:?}")),
                    v = %log_safe::escape(format!("{v:?}")),
                    "ignoring mismatched __consumer_offsets record"
                ),
            }
        }
        Ok(GroupCoordinator {
            inner: Arc::new(Inner {
                broker,
                clock,
                groups: Mutex::new(groups),
                store,
                pending_bytes: Arc::default(),
                next_cleanup_ms: std::sync::atomic::AtomicI64::new(
                    now.saturating_add(config.offsets_retention_check_interval_ms),
                ),
                config,
            }),
        })
    }

    /// Expires sessions and completes rebalances whose time has come. Call regularly.
    pub fn tick(&self) {
        let now = self.inner.clock.now_ms();
        // Topic metadata (for consumer groups whose members time out) is read before the
        // groups' lock is taken: the broker's lock is never taken under it.
        let has_consumer_groups = self
            .inner
            .groups
            .lock()
            .values()
            .any(|g| g.consumer.is_some());
        let topics =
            has_consumer_groups.then(|| consumer::topic_metas(&self.inner.broker.topics()));
        let mut groups = self.inner.groups.lock();
        for g in groups.values_mut() {
            match (&mut g.consumer, &topics) {
                (Some(cg), Some(topics)) => {
                    let overdue = cg.overdue(now, self.inner.config.consumer_session_timeout_ms);
                    for id in &overdue {
                        tracing::info!(
                            group = %log_safe::escape(&g.id),
                            member = %log_safe::escape(id),
                            "consumer group member timed out or did not revoke in time; removing it"
                        );
                        cg.remove(id);
                    }
                    if !overdue.is_empty() {
                        cg.maybe_rebalance(true, topics);
                    }
                    consumer::heartbeat::settle_state(g, now);
                }
                _ => {
                    self.inner.expire_members(g, now);
                    self.inner.try_complete_join(g, now);
                }
            }
        }
        let next = &self.inner.next_cleanup_ms;
        if now < next.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let interval = self.inner.config.offsets_retention_check_interval_ms;
        next.store(
            now.saturating_add(interval),
            std::sync::atomic::Ordering::Relaxed,
        );
        // Old offsets of empty groups expire; Empty groups with no offsets left are then
        // forgotten, with a tombstone so that a restart does not bring them back.
        let retention = self.inner.config.offsets_retention_ms;
        let mut changes: Vec<(StoreKey, Option<StoreValue>)> = Vec::new();
        for g in groups.values_mut() {
            if g.state == GroupState::Empty && now.saturating_sub(g.empty_since_ms) > retention {
                for (topic, partition) in std::mem::take(&mut g.offsets).into_keys() {
                    let group = g.id.clone();
                    let key = StoreKey::Offset {
                        group,
                        topic,
                        partition,
                    };
                    changes.push((key, None));
                }
            }
        }
        groups.retain(|_, g| {
            let forget =
                g.state == GroupState::Empty && g.offsets.is_empty() && g.pending.is_empty();
            if forget {
                let group = g.id.clone();
                changes.push((StoreKey::Group { group }, None));
            }
            !forget
        });
        drop(groups);
        if !changes.is_empty() {
            if let Err(e) = self.inner.store.append(&changes, now) {
                tracing::warn!(
                    "could not record expired offsets and groups: {}",
                    log_safe::escape(&e)
                );
            }
        }
    }

    /// Member ids handed out and not joined yet, over all groups, and the bytes they take.
    pub fn pending_members(&self) -> (usize, usize) {
        let count = self
            .inner
            .groups
            .lock()
            .values()
            .map(|g| g.pending.len())
            .sum();
        let bytes = self
            .inner
            .pending_bytes
            .load(std::sync::atomic::Ordering::SeqCst);
        (count, bytes)
    }

    /// Runs [`Self::tick`] every `interval` until `shutdown` resolves.
    pub async fn run_ticker(
        self,
        interval: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut every = tokio::time::interval(interval);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = every.tick() => self.tick(),
            }
        }
    }
}

fn restore(g: &mut Group, s: StoredGroup, now: i64) {
    g.protocol_type = s.protocol_type;
    g.protocol = s.protocol;
    g.generation = s.generation;
    g.leader = s.leader;
    g.members.clear();
    g.static_members.clear();
    for m in s.members {
        g.add_member(Member {
            id: m.id,
            instance_id: m.instance_id,
            client_id: m.client_id,
            client_host: m.client_host,
            session_timeout_ms: m.session_timeout_ms,
            rebalance_timeout_ms: m.rebalance_timeout_ms,
            protocols: m
                .protocols
                .into_iter()
                .map(|(n, b)| (n, b.into()))
                .collect(),
            assignment: m.assignment.into(),
            // Sessions restart from the reload: members get a full timeout to reconnect.
            last_heartbeat_ms: now,
            join_waiter: None,
            sync_waiter: None,
        });
    }
    g.state = if g.members.is_empty() {
        GroupState::Empty
    } else {
        GroupState::Stable
    };
    g.empty_since_ms = now;
}

impl Inner {
    /// The group's membership as persisted after a rebalance.
    pub(crate) fn stored(g: &Group) -> StoredGroup {
        StoredGroup {
            protocol_type: g.protocol_type.clone(),
            protocol: g.protocol.clone(),
            generation: g.generation,
            leader: g.leader.clone(),
            members: g
                .members
                .values()
                .map(|m| StoredMember {
                    id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    session_timeout_ms: m.session_timeout_ms,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    protocols: m
                        .protocols
                        .iter()
                        .map(|(n, b)| (n.clone(), b.to_vec()))
                        .collect(),
                    assignment: m.assignment.to_vec(),
                })
                .collect(),
        }
    }

    /// Records the group's membership (appended now; durability is the log's flush policy,
    /// as for Kafka's group metadata: losing it only costs a rebalance).
    pub(crate) fn persist_group(&self, g: &Group, now: i64) {
        let change = (
            StoreKey::Group {
                group: g.id.clone(),
            },
            Some(StoreValue::Group(Self::stored(g))),
        );
        if let Err(e) = self.store.append(&[change], now) {
            tracing::warn!(
                group = %log_safe::escape(&g.id),
                "could not persist group metadata: {}",
                log_safe::escape(&e)
            );
        }
    }
}
