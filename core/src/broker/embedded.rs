//! [`Broker`]: the embedded broker. Opens a data directory, replays the metadata log, opens
//! every partition log, runs housekeeping, and offers topic admin plus append and read. The
//! network server and the in-process client transport both sit on this API.

use crate::broker::housekeeping::{self, HousekeepingReport, HousekeepingState};
use crate::broker::metadata::{MetadataLog, MetadataRecord, METADATA_DIR};
use crate::broker::topic_name;
use crate::broker::topics::{
    parse_partition_dir, partition_dir_name, NewPartitions, Topic, TopicDescription,
};
use crate::clock::{self, Clock};
use crate::error::{Error, Result};
use crate::fd_budget;
use crate::log::checkpoint::sync_dir;
use crate::log::{AppendInfo, LogConfig, OpenOptions, PartitionLog, ReadResult, TopicConfigs};
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;
use uuid::Uuid;

/// Marker written last by a clean shutdown and removed first at start.
pub const CLEAN_SHUTDOWN: &str = ".clean-shutdown";
const LOCK_FILE: &str = ".lock";
/// Kafka's file for the directory's identity; strom keeps the cluster id there.
const META_PROPERTIES: &str = "meta.properties";
const PARTITION_METADATA: &str = "partition.metadata";
/// Producer ids reserved per metadata record.
const PRODUCER_ID_BLOCK: i64 = 1000;
/// Most partitions one topic may have; guards against a typo creating a million directories.
pub const MAX_PARTITIONS: i32 = 10_000;

/// Broker-wide settings (Kafka's broker config names in the docs of each field).
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `num.partitions`: partitions of a topic created without a count.
    pub default_partitions: i32,
    /// `log.retention.check.interval.ms`: how often housekeeping runs; `None` disables the
    /// background thread (tests call [`Broker::run_housekeeping`] themselves).
    pub housekeeping_interval: Option<Duration>,
    /// `log.cleaner.dedupe.buffer.size`: bytes for compaction's key map (Kafka's default
    /// 128 MiB). Bounds the cleaner's memory whatever the data holds.
    pub cleaner_dedupe_buffer_size: usize,
    pub clock: Arc<dyn Clock>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            default_partitions: 1,
            housekeeping_interval: Some(Duration::from_millis(300_000)),
            cleaner_dedupe_buffer_size: crate::log::cleaner::DEFAULT_DEDUPE_BUFFER_BYTES,
            clock: clock::system(),
        }
    }
}

/// An embedded broker over one data directory. Clones share the same broker.
#[derive(Debug, Clone)]
pub struct Broker {
    inner: Arc<BrokerInner>,
}

#[derive(Debug)]
pub(crate) struct BrokerInner {
    dir: PathBuf,
    pub(crate) config: BrokerConfig,
    cluster_id: String,
    /// Serializes admin changes: each is one metadata record, applied in log order.
    metadata: Mutex<MetadataLog>,
    topics: RwLock<HashMap<String, Arc<Topic>>>,
    /// Next producer id to hand out, and the end of the block reserved in the metadata log.
    producer_ids: Mutex<(i64, i64)>,
    housekeeper: Mutex<Option<(Sender<()>, JoinHandle<()>)>>,
    housekeeping_pass: Mutex<HousekeepingState>,
    /// Failed housekeeping steps since open (a metric; readable while a pass runs).
    housekeeping_failures: AtomicU64,
    closed: AtomicBool,
    /// Held until the broker is closed: a second broker on the same directory is refused.
    /// Released by a successful close, so the directory can be opened again while handles
    /// to the closed broker (clients of an embedded one) still exist.
    lock: Mutex<Option<File>>,
}

impl Broker {
    /// Opens (or creates) a broker in `dir` with default settings.
    pub fn open(dir: impl AsRef<Path>) -> Result<Broker> {
        Self::open_with(dir, BrokerConfig::default())
    }

    pub fn open_with(dir: impl AsRef<Path>, config: BrokerConfig) -> Result<Broker> {
        let dir = dir.as_ref().to_path_buf();
        // Every partition holds a descriptor: start with as many as the hard limit allows.
        fd_budget::raise_nofile_limit();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
        if lock.try_lock().is_err() {
            return Err(Error::io(
                &dir,
                std::io::Error::other("the data directory is in use by another strom broker"),
            ));
        }
        let marker = dir.join(CLEAN_SHUTDOWN);
        let clean = marker.exists();
        if clean {
            // Gone before anything is written, so a crash from here on is seen as one.
            std::fs::remove_file(&marker).map_err(|e| Error::io(&marker, e))?;
            sync_dir(&dir)?;
        } else if dir.join(METADATA_DIR).exists() {
            tracing::warn!(dir = %dir.display(), "no clean shutdown marker: recovering logs");
        }
        let cluster_id = load_or_create_cluster_id(&dir)?;
        let metadata = MetadataLog::open(&dir, Arc::clone(&config.clock), clean)?;
        let mut registry: BTreeMap<String, (Uuid, i32, TopicConfigs)> = BTreeMap::new();
        let mut reserved_ids = 0i64;
        for change in metadata.replay()? {
            if let MetadataRecord::ProducerIdsReserved { end } = change {
                reserved_ids = reserved_ids.max(end);
            } else {
                apply(&mut registry, change);
            }
        }
        remove_stale_dirs(&dir, &registry)?;
        let mut topics = HashMap::new();
        for (name, (id, partitions, configs)) in registry {
            let log_config = LogConfig::from_stored(&name, &configs);
            let logs = (0..partitions)
                .map(|p| {
                    let pdir = dir.join(partition_dir_name(&name, p));
                    open_partition(&pdir, id, &log_config, &config.clock, clean)
                })
                .collect::<Result<Vec<_>>>()
                .map_err(explain_emfile)?;
            topics.insert(
                name.clone(),
                Arc::new(Topic {
                    name,
                    id,
                    configs,
                    partitions: logs,
                }),
            );
        }
        let inner = Arc::new(BrokerInner {
            dir,
            config,
            cluster_id,
            metadata: Mutex::new(metadata),
            topics: RwLock::new(topics),
            // Ids of a block reserved before a restart are never reused.
            producer_ids: Mutex::new((reserved_ids, reserved_ids)),
            housekeeper: Mutex::new(None),
            housekeeping_pass: Mutex::new(HousekeepingState::default()),
            housekeeping_failures: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            lock: Mutex::new(Some(lock)),
        });
        if let Some(interval) = inner.config.housekeeping_interval {
            let (tx, rx) = std::sync::mpsc::channel();
            let weak: Weak<BrokerInner> = Arc::downgrade(&inner);
            let handle = std::thread::Builder::new()
                .name("strom-housekeeping".into())
                .spawn(move || housekeeping::run(weak, rx, interval))
                .map_err(|e| Error::io(&inner.dir, e))?;
            *inner.housekeeper.lock() = Some((tx, handle));
        }
        Ok(Broker { inner })
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The cluster id, created with the data directory and kept in `meta.properties`.
    pub fn cluster_id(&self) -> &str {
        &self.inner.cluster_id
    }

    /// A new producer id for InitProducerId. Ids are reserved in blocks through the metadata
    /// log, so none is handed out twice, even across restarts.
    pub fn allocate_producer_id(&self) -> Result<i64> {
        self.inner.check_open()?;
        let mut ids = self.inner.producer_ids.lock();
        if ids.0 >= ids.1 {
            let end = ids.1 + PRODUCER_ID_BLOCK;
            self.inner
                .metadata
                .lock()
                .append(&MetadataRecord::ProducerIdsReserved { end })?;
            ids.1 = end;
        }
        let id = ids.0;
        ids.0 += 1;
        Ok(id)
    }

    /// The topic with this id (Fetch v13+ and DeleteTopics v6 address topics by id).
    pub fn topic_by_id(&self, id: Uuid) -> Option<TopicDescription> {
        self.inner
            .topics
            .read()
            .values()
            .find(|t| t.id == id)
            .map(|t| t.describe())
    }

    /// Creates a topic; `partitions` of `None` uses `num.partitions`.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: Option<i32>,
        configs: TopicConfigs,
    ) -> Result<TopicDescription> {
        self.inner.check_open()?;
        let meta = self.inner.metadata.lock();
        let (partitions, log_config) = self.validate_new_topic(name, partitions, &configs)?;
        let id = Uuid::new_v4();
        // All or nothing: the partitions exist before the record that creates them, and a
        // failure on either side undoes them (dropping `created` removes them).
        let created = NewPartitions::create(&self.inner.dir, name, 0..partitions, |pdir, _| {
            open_partition(pdir, id, &log_config, &self.inner.config.clock, true)
        })?;
        meta.append(&MetadataRecord::TopicCreated {
            name: name.to_string(),
            topic_id: id,
            partitions,
            configs: configs.clone(),
        })?;
        let topic = Arc::new(Topic {
            name: name.to_string(),
            id,
            configs,
            partitions: created.commit(),
        });
        let description = topic.describe();
        self.inner.topics.write().insert(name.to_string(), topic);
        Ok(description)
    }

    /// Every check `create_topic` makes, without creating anything (CreateTopics with
    /// `validate_only`). Returns the partition count and the parsed config.
    pub fn validate_new_topic(
        &self,
        name: &str,
        partitions: Option<i32>,
        configs: &TopicConfigs,
    ) -> Result<(i32, LogConfig)> {
        topic_name::validate(name)?;
        let partitions = partitions.unwrap_or(self.inner.config.default_partitions);
        check_partition_count(partitions)?;
        let log_config = LogConfig::from_overrides(configs)?;
        let topics = self.inner.topics.read();
        if topics.contains_key(name) {
            return Err(Error::TopicExists(name.to_string()));
        }
        if topics.keys().any(|t| topic_name::collides(t, name)) {
            return Err(Error::InvalidTopic {
                name: name.to_string(),
                reason: "collides with an existing topic that differs only in '.' vs '_'",
            });
        }
        drop(topics);
        fd_budget::check_new_partitions(partitions as u64)?;
        Ok((partitions, log_config))
    }

    /// `num.partitions`.
    pub fn default_partitions(&self) -> i32 {
        self.inner.config.default_partitions
    }

    /// Every topic, sorted by name.
    pub fn topics(&self) -> Vec<TopicDescription> {
        let mut all: Vec<_> = self
            .inner
            .topic_snapshot()
            .iter()
            .map(|t| t.describe())
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    pub fn topic(&self, name: &str) -> Option<TopicDescription> {
        self.inner.topics.read().get(name).map(|t| t.describe())
    }

    /// Deletes a topic and its data.
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        self.inner.check_open()?;
        let meta = self.inner.metadata.lock();
        let topic = self.inner.get_topic(name)?;
        meta.append(&MetadataRecord::TopicDeleted {
            name: name.to_string(),
            topic_id: topic.id,
        })?;
        self.inner.topics.write().remove(name);
        for (p, log) in topic.partitions.iter().enumerate() {
            // Renamed first, so a crash mid-delete leaves a `-delete` dir that start-up removes
            // rather than a half-deleted partition under the topic's name.
            let doomed = self.inner.dir.join(format!(
                "{}.{}-delete",
                partition_dir_name(name, p as i32),
                topic.id.simple()
            ));
            std::fs::rename(log.dir(), &doomed).map_err(|e| Error::io(log.dir(), e))?;
            std::fs::remove_dir_all(&doomed).map_err(|e| Error::io(&doomed, e))?;
        }
        sync_dir(&self.inner.dir)
    }

    /// Grows a topic to `total` partitions (Kafka never shrinks one).
    pub fn create_partitions(&self, name: &str, total: i32) -> Result<TopicDescription> {
        self.inner.check_open()?;
        let meta = self.inner.metadata.lock();
        let topic = self.inner.get_topic(name)?;
        let current = topic.partitions.len() as i32;
        if total <= current {
            return Err(Error::InvalidPartitions(format!(
                "topic {name} has {current} partitions; the new count {total} must be larger"
            )));
        }
        check_partition_count(total)?;
        fd_budget::check_new_partitions((total - current) as u64)?;
        let log_config = LogConfig::from_stored(name, &topic.configs);
        let created = NewPartitions::create(&self.inner.dir, name, current..total, |pdir, _| {
            open_partition(pdir, topic.id, &log_config, &self.inner.config.clock, true)
        })?;
        meta.append(&MetadataRecord::PartitionsCreated {
            name: name.to_string(),
            total,
        })?;
        let mut next = (*topic).clone();
        next.partitions.extend(created.commit());
        Ok(self.inner.publish(next))
    }

    /// Replaces all overrides of a topic (Kafka's AlterConfigs semantics).
    pub fn set_topic_configs(&self, name: &str, configs: TopicConfigs) -> Result<TopicDescription> {
        self.inner.check_open()?;
        let meta = self.inner.metadata.lock();
        let topic = self.inner.get_topic(name)?;
        let log_config = LogConfig::from_overrides(&configs)?;
        meta.append(&MetadataRecord::TopicConfigsReplaced {
            name: name.to_string(),
            configs: configs.clone(),
        })?;
        for log in &topic.partitions {
            log.set_config(log_config.clone());
        }
        let mut next = (*topic).clone();
        next.configs = configs;
        Ok(self.inner.publish(next))
    }

    /// Sets (`Some`) or removes (`None`) individual overrides (IncrementalAlterConfigs).
    pub fn update_topic_configs(
        &self,
        name: &str,
        changes: impl IntoIterator<Item = (String, Option<String>)>,
    ) -> Result<TopicDescription> {
        let mut configs = self.inner.get_topic(name)?.configs.clone();
        for (k, v) in changes {
            match v {
                Some(v) => configs.insert(k, v),
                None => configs.remove(&k),
            };
        }
        self.set_topic_configs(name, configs)
    }

    /// The log of one partition.
    pub fn partition(&self, topic: &str, partition: i32) -> Result<Arc<PartitionLog>> {
        self.inner.partition(topic, partition)
    }

    /// Appends producer batches to a partition.
    pub fn append(&self, topic: &str, partition: i32, batches: &[u8]) -> Result<AppendInfo> {
        self.inner.check_open()?;
        self.inner.partition(topic, partition)?.append(batches)
    }

    /// Reads whole batches from `offset`, up to `max_bytes` (at least one batch).
    pub fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
    ) -> Result<ReadResult> {
        self.inner.check_open()?;
        self.inner
            .partition(topic, partition)?
            .read(offset, max_bytes)
    }

    /// Housekeeping steps (retention, compaction, flush, checkpoint of one partition) that
    /// failed since the broker opened.
    pub fn housekeeping_failures(&self) -> u64 {
        self.inner.housekeeping_failures.load(Ordering::Relaxed)
    }

    /// Runs one retention/compaction/flush/checkpoint pass now.
    pub fn run_housekeeping(&self) -> Result<HousekeepingReport> {
        self.inner.check_open()?;
        housekeeping::pass(self.inner.as_ref())
    }

    /// Flushes every log, writes the clean-shutdown marker and stops housekeeping. Further
    /// calls fail with `ShutDown`. Dropping the last handle does the same.
    pub fn close(&self) -> Result<()> {
        self.inner.close()
    }
}

impl BrokerInner {
    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::ShutDown);
        }
        Ok(())
    }

    /// The id of the live topic called `name`, if any.
    pub(crate) fn topic_id(&self, name: &str) -> Option<uuid::Uuid> {
        self.topics.read().get(name).map(|t| t.id)
    }

    pub(crate) fn topic_snapshot(&self) -> Vec<Arc<Topic>> {
        self.topics.read().values().cloned().collect()
    }

    fn get_topic(&self, name: &str) -> Result<Arc<Topic>> {
        self.topics
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::UnknownTopicOrPartition {
                topic: name.to_string(),
                partition: -1,
            })
    }

    fn partition(&self, topic: &str, partition: i32) -> Result<Arc<PartitionLog>> {
        let topics = self.topics.read();
        topics
            .get(topic)
            .and_then(|t| {
                usize::try_from(partition)
                    .ok()
                    .and_then(|p| t.partitions.get(p))
            })
            .cloned()
            .ok_or_else(|| Error::UnknownTopicOrPartition {
                topic: topic.to_string(),
                partition,
            })
    }

    fn publish(&self, topic: Topic) -> TopicDescription {
        let d = topic.describe();
        self.topics
            .write()
            .insert(topic.name.clone(), Arc::new(topic));
        d
    }

    pub(crate) fn metadata_checkpoint(&self) -> Result<()> {
        self.metadata.lock().checkpoint()
    }

    fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        if let Some((stop, handle)) = self.housekeeper.lock().take() {
            drop(stop);
            // The housekeeping thread may itself drop the last handle; never join oneself.
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
        for topic in self.topic_snapshot() {
            for log in &topic.partitions {
                log.close()?;
            }
        }
        self.metadata.lock().close()?;
        let marker = self.dir.join(CLEAN_SHUTDOWN);
        File::create(&marker)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(&marker, e))?;
        sync_dir(&self.dir)?;
        self.lock.lock().take();
        Ok(())
    }
}

impl Drop for BrokerInner {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!(dir = %self.dir.display(), "closing the broker failed: {e}");
        }
    }
}

fn check_partition_count(n: i32) -> Result<()> {
    if !(1..=MAX_PARTITIONS).contains(&n) {
        return Err(Error::InvalidPartitions(format!(
            "partition count {n} must be between 1 and {MAX_PARTITIONS}"
        )));
    }
    Ok(())
}

fn apply(registry: &mut BTreeMap<String, (Uuid, i32, TopicConfigs)>, change: MetadataRecord) {
    match change {
        MetadataRecord::TopicCreated {
            name,
            topic_id,
            partitions,
            configs,
        } => {
            registry.insert(name, (topic_id, partitions, configs));
        }
        MetadataRecord::PartitionsCreated { name, total } => {
            if let Some(t) = registry.get_mut(&name) {
                t.1 = t.1.max(total);
            }
        }
        MetadataRecord::TopicConfigsReplaced { name, configs } => {
            if let Some(t) = registry.get_mut(&name) {
                t.2 = configs;
            }
        }
        MetadataRecord::TopicDeleted { name, topic_id } => {
            if registry.get(&name).is_some_and(|t| t.0 == topic_id) {
                registry.remove(&name);
            }
        }
        MetadataRecord::ProducerIdsReserved { .. } => {}
    }
}

/// Start-up ran out of descriptors: say which limit and what to do, not only "Too many open
/// files" (a data directory written under a higher limit, or one from before strom checked).
fn explain_emfile(e: Error) -> Error {
    match e {
        Error::Io { path, source }
            if source.raw_os_error() == Some(rustix::io::Errno::MFILE.raw_os_error()) =>
        {
            let msg = format!(
                "{source}: the open file limit is {} and each partition's segments hold a \
                 descriptor; raise it (ulimit -n, LimitNOFILE=)",
                fd_budget::nofile_limit().map_or("unlimited".to_string(), |l| l.to_string())
            );
            Error::io(path, std::io::Error::new(source.kind(), msg))
        }
        other => other,
    }
}

fn open_partition(
    pdir: &Path,
    id: Uuid,
    config: &LogConfig,
    clock: &Arc<dyn Clock>,
    clean_shutdown: bool,
) -> Result<Arc<PartitionLog>> {
    let log = PartitionLog::open(
        pdir,
        OpenOptions {
            config: config.clone(),
            clock: Arc::clone(clock),
            clean_shutdown,
        },
    )?;
    let meta = pdir.join(PARTITION_METADATA);
    if !meta.exists() {
        std::fs::write(&meta, format!("version: 0\ntopic_id: {id}\n"))
            .map_err(|e| Error::io(&meta, e))?;
    }
    Ok(Arc::new(log))
}

/// Reads `cluster.id` from `meta.properties`, creating the file with a new id if needed.
fn load_or_create_cluster_id(dir: &Path) -> Result<String> {
    let path = dir.join(META_PROPERTIES);
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Some(id) = text
            .lines()
            .find_map(|l| l.strip_prefix("cluster.id="))
            .map(str::trim)
            .filter(|id| !id.is_empty())
        {
            return Ok(id.to_string());
        }
    }
    // Kafka's cluster ids are 16 random bytes in URL-safe base64 (22 characters); the simple
    // hex form of a UUID is just as unique and safe in every client.
    let id = Uuid::new_v4().simple().to_string();
    std::fs::write(&path, format!("version=1\ncluster.id={id}\nnode.id=1\n"))
        .map_err(|e| Error::io(&path, e))?;
    Ok(id)
}

/// The topic id a partition directory belongs to, from its `partition.metadata`.
fn dir_topic_id(pdir: &Path) -> Option<Uuid> {
    let text = std::fs::read_to_string(pdir.join(PARTITION_METADATA)).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("topic_id: "))
        .and_then(|id| id.trim().parse().ok())
}

/// Removes partition directories that no live topic owns: leftovers of a deletion that a
/// crash interrupted, or of an earlier topic with the same name.
fn remove_stale_dirs(
    dir: &Path,
    registry: &BTreeMap<String, (Uuid, i32, TopicConfigs)>,
) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == METADATA_DIR {
            continue;
        }
        let stale = if name.ends_with("-delete") {
            true
        } else if let Some((topic, p)) = parse_partition_dir(&name) {
            match registry.get(topic) {
                Some((id, partitions, _)) => {
                    p >= *partitions || dir_topic_id(&path).is_some_and(|d| d != *id)
                }
                None => true,
            }
        } else {
            false
        };
        if stale {
            tracing::warn!(dir = %path.display(), "removing partition directory no topic owns");
            std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

impl housekeeping::Kept for BrokerInner {
    fn topic_snapshot(&self) -> Vec<Arc<Topic>> {
        BrokerInner::topic_snapshot(self)
    }

    fn still_serves(&self, topic: &Arc<Topic>) -> bool {
        self.topic_id(&topic.name) == Some(topic.id)
    }

    fn dedupe_buffer_size(&self) -> usize {
        self.config.cleaner_dedupe_buffer_size
    }

    fn pass_state(&self) -> &Mutex<HousekeepingState> {
        &self.housekeeping_pass
    }

    fn count_failures(&self, failures: u64) {
        self.housekeeping_failures
            .fetch_add(failures, Ordering::Relaxed);
    }

    fn metadata_checkpoint(&self) -> Result<()> {
        BrokerInner::metadata_checkpoint(self)
    }
}
