//! Which partition a produced record goes to: Kafka's murmur2 key hash, the KIP-480 sticky
//! choice for keyless records, round robin, and the lookup of a partitioner by its config name.
//!
//! Key hashing must match the Java client bit for bit: a key produced by strom and the same key
//! produced by a Java, librdkafka (`murmur2*`) or kafka-python producer must land on the same
//! partition, or per-key ordering and compacted topics break when clients are mixed.

use parking_lot::Mutex;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

/// Returned when asked to choose among zero (or a negative number of) partitions. Kafka uses
/// -1 for "unknown partition"; sending to it fails with a clear error instead of a panic here.
pub const UNKNOWN_PARTITION: i32 = -1;

/// Apache Kafka's `Utils.murmur2` (MurmurHash2, 32-bit, seed `0x9747b28c`), as a signed int.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // Java's int arithmetic wraps; `length` is an int there too, hence the truncating cast.
    let mut h: u32 = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    // The Java switch falls through from case 3 to case 1; the multiply belongs to case 1.
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on `i32::MIN`).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition Kafka's default partitioner gives a keyed record.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    if partitions <= 0 {
        return UNKNOWN_PARTITION;
    }
    to_positive(murmur2(key)) % partitions
}

/// The hook that chooses a record's partition; implement it for a custom partitioner.
pub trait Partitioner: Send + Sync + std::fmt::Debug {
    /// The partition in `0..partitions` for a record of `topic` with this serialized key.
    /// The built-in partitioners return [`UNKNOWN_PARTITION`] when `partitions <= 0`.
    fn partition(&self, topic: &str, key: Option<&[u8]>, partitions: i32) -> i32;

    /// Called by the producer when the batch for `prev` filled up and a new one is about to
    /// start, so a sticky partitioner can move on. Stateless partitioners ignore it.
    fn on_new_batch(&self, _topic: &str, _partitions: i32, _prev: i32) {}
}

/// A small xorshift64* generator: partition choice needs spread, not cryptographic quality,
/// and this keeps the crate free of an RNG dependency.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        // RandomState is randomly keyed per process and per instance; mixing in the time and
        // thread keeps two partitioners created back to back from agreeing.
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        std::thread::current().id().hash(&mut h);
        Rng(h.finish() | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-enough pick in `0..n` (`n > 0`); the modulo bias is irrelevant at partition counts.
    fn below(&mut self, n: i32) -> i32 {
        (self.next() >> 33) as i32 % n
    }
}

/// Per-topic sticky partitions for keyless records (KIP-480).
/// Looked up once per keyless record; topic names come from the application.
type FxBuild = std::hash::BuildHasherDefault<rustc_hash::FxHasher>;

#[derive(Debug)]
struct Sticky {
    state: Mutex<(HashMap<String, i32, FxBuild>, Rng)>,
}

impl Sticky {
    fn new() -> Sticky {
        Sticky {
            state: Mutex::new((HashMap::default(), Rng::seeded())),
        }
    }

    fn partition(&self, topic: &str, partitions: i32) -> i32 {
        if partitions <= 0 {
            return UNKNOWN_PARTITION;
        }
        let mut guard = self.state.lock();
        let (map, rng) = &mut *guard;
        if let Some(&p) = map.get(topic) {
            // A partition count that went down (topic recreated) invalidates the choice.
            if p < partitions {
                return p;
            }
        }
        let p = rng.below(partitions);
        map.insert(topic.to_owned(), p);
        p
    }

    fn on_new_batch(&self, topic: &str, partitions: i32, prev: i32) {
        if partitions <= 0 {
            return;
        }
        let mut guard = self.state.lock();
        let (map, rng) = &mut *guard;
        // Like Java's StickyPartitionCache: only move if nobody moved already, so several
        // threads seeing the same full batch switch once, not once each.
        if map.get(topic).is_some_and(|&p| p != prev) {
            return;
        }
        let next = if partitions == 1 {
            0
        } else if (0..partitions).contains(&prev) {
            // Uniform over the other partitions.
            let r = rng.below(partitions - 1);
            if r >= prev {
                r + 1
            } else {
                r
            }
        } else {
            rng.below(partitions)
        };
        map.insert(topic.to_owned(), next);
    }
}

/// Kafka's default: keyed records by murmur2, keyless records sticky per topic until their
/// batch fills (KIP-480). Also librdkafka's `murmur2_random` with sticky partitioning.
#[derive(Debug)]
pub struct DefaultPartitioner {
    sticky: Sticky,
}

impl DefaultPartitioner {
    pub fn new() -> Self {
        DefaultPartitioner {
            sticky: Sticky::new(),
        }
    }
}

impl Default for DefaultPartitioner {
    fn default() -> Self {
        Self::new()
    }
}

impl Partitioner for DefaultPartitioner {
    fn partition(&self, topic: &str, key: Option<&[u8]>, partitions: i32) -> i32 {
        match key {
            Some(k) => partition_for_key(k, partitions),
            None => self.sticky.partition(topic, partitions),
        }
    }

    fn on_new_batch(&self, topic: &str, partitions: i32, prev: i32) {
        self.sticky.on_new_batch(topic, partitions, prev);
    }
}

/// Kafka's `UniformStickyPartitioner`: keys are ignored, every record is sticky.
#[derive(Debug)]
pub struct UniformStickyPartitioner {
    sticky: Sticky,
}

impl UniformStickyPartitioner {
    pub fn new() -> Self {
        UniformStickyPartitioner {
            sticky: Sticky::new(),
        }
    }
}

impl Default for UniformStickyPartitioner {
    fn default() -> Self {
        Self::new()
    }
}

impl Partitioner for UniformStickyPartitioner {
    fn partition(&self, topic: &str, _key: Option<&[u8]>, partitions: i32) -> i32 {
        self.sticky.partition(topic, partitions)
    }

    fn on_new_batch(&self, topic: &str, partitions: i32, prev: i32) {
        self.sticky.on_new_batch(topic, partitions, prev);
    }
}

/// librdkafka's `murmur2`: every record is hashed, a missing key as the empty key, so all
/// keyless records of a topic go to one fixed partition.
#[derive(Debug, Default)]
pub struct Murmur2Partitioner;

impl Partitioner for Murmur2Partitioner {
    fn partition(&self, _topic: &str, key: Option<&[u8]>, partitions: i32) -> i32 {
        partition_for_key(key.unwrap_or_default(), partitions)
    }
}

/// Kafka's `RoundRobinPartitioner`: a per-topic counter, keys ignored.
#[derive(Debug, Default)]
pub struct RoundRobinPartitioner {
    counters: Mutex<HashMap<String, i32>>,
}

impl RoundRobinPartitioner {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Partitioner for RoundRobinPartitioner {
    fn partition(&self, topic: &str, _key: Option<&[u8]>, partitions: i32) -> i32 {
        if partitions <= 0 {
            return UNKNOWN_PARTITION;
        }
        let mut counters = self.counters.lock();
        let next = match counters.get_mut(topic) {
            Some(c) => {
                let v = *c;
                *c = c.wrapping_add(1);
                v
            }
            None => {
                counters.insert(topic.to_owned(), 1);
                0
            }
        };
        // As in Java: the counter wraps, toPositive keeps the modulo non-negative.
        to_positive(next) % partitions
    }
}

/// The partitioner a `partitioner` / `partitioner.class` setting names, or `None` if unknown.
///
/// Accepted: `default`, `murmur2_random`, `sticky` and Java's
/// `org.apache.kafka.clients.producer.internals.DefaultPartitioner` → [`DefaultPartitioner`];
/// `murmur2` → [`Murmur2Partitioner`]; `round_robin` and
/// `org.apache.kafka.clients.producer.RoundRobinPartitioner` → [`RoundRobinPartitioner`];
/// `uniform_sticky` and `org.apache.kafka.clients.producer.UniformStickyPartitioner` →
/// [`UniformStickyPartitioner`].
pub fn partitioner_by_name(name: &str) -> Option<Arc<dyn Partitioner>> {
    let p: Arc<dyn Partitioner> = match name.trim() {
        "default"
        | "murmur2_random"
        | "sticky"
        | "org.apache.kafka.clients.producer.internals.DefaultPartitioner" => {
            Arc::new(DefaultPartitioner::new())
        }
        "murmur2" => Arc::new(Murmur2Partitioner),
        "round_robin" | "org.apache.kafka.clients.producer.RoundRobinPartitioner" => {
            Arc::new(RoundRobinPartitioner::new())
        }
        "uniform_sticky" | "org.apache.kafka.clients.producer.UniformStickyPartitioner" => {
            Arc::new(UniformStickyPartitioner::new())
        }
        _ => return None,
    };
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Generated with kafka-python 3.0.12's `kafka.partitioner.default.murmur2` (a line-by-line
    /// port of Java's `Utils.murmur2`; its unsigned result converted to a signed int), plus the
    /// partition for 12 partitions. The last six keys are Java's own `UtilsTest` vectors.
    const VECTORS: &[(&[u8], i32, i32)] = &[
        (b"", 275646681, 9),
        (b"a", -1563381124, 4),
        (b"ab", 316155434, 2),
        (b"abcd", -1323649548, 8),
        (b"abcde", 461995741, 1),
        (b"abcdefg", -346467175, 1),
        (b"abcdefgh", -955427363, 9),
        (b"\x80", 857690492, 8),
        (b"\xff\xfe", 1717632651, 3),
        (b"\xff\xfe\xfd", 998637092, 8),
        (b"\x80\x81\x82\x83", 1420557722, 2),
        (b"\xc3\xa9t\xc3\xa9", -2101193575, 1),
        (b"\xf0\x9f\x98\x80\xff", 779899750, 10),
        (b"key-0", 29210041, 1),
        (b"key-1", 193331640, 0),
        (b"user-42", 1459644460, 4),
        (b"21", -973932308, 0),
        (b"foobar", -790332482, 6),
        (b"a-little-bit-long-string", -985981536, 8),
        (b"a-little-bit-longer-string", -1486304829, 11),
        (
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58897971,
            5,
        ),
        (b"abc", 479470107, 3),
    ];

    #[test]
    fn murmur2_matches_the_java_client() {
        for &(key, hash, partition) in VECTORS {
            assert_eq!(murmur2(key), hash, "key {key:?}");
            assert_eq!(partition_for_key(key, 12), partition, "key {key:?}");
        }
    }

    #[test]
    fn to_positive_clears_only_the_sign_bit() {
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(5), 5);
    }

    #[test]
    fn no_partitions_is_not_a_panic() {
        assert_eq!(partition_for_key(b"k", 0), UNKNOWN_PARTITION);
        let d = DefaultPartitioner::new();
        assert_eq!(d.partition("t", None, 0), UNKNOWN_PARTITION);
        d.on_new_batch("t", 0, 0);
        assert_eq!(
            RoundRobinPartitioner::new().partition("t", None, -3),
            UNKNOWN_PARTITION
        );
    }

    #[test]
    fn default_hashes_keys_and_sticks_keyless_records() {
        let d = DefaultPartitioner::new();
        assert_eq!(d.partition("t", Some(b"foobar"), 12), 6);
        let first = d.partition("t", None, 8);
        assert!((0..8).contains(&first));
        for _ in 0..100 {
            assert_eq!(d.partition("t", None, 8), first);
        }
        // Keyed records do not disturb the sticky choice.
        d.partition("t", Some(b"abc"), 8);
        assert_eq!(d.partition("t", None, 8), first);

        // A full batch moves the topic to a different partition, every time.
        let mut prev = first;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            d.on_new_batch("t", 8, prev);
            let next = d.partition("t", None, 8);
            assert_ne!(next, prev);
            assert!((0..8).contains(&next));
            seen.insert(next);
            prev = next;
        }
        assert!(seen.len() > 4, "sticky choice should spread: {seen:?}");
    }

    #[test]
    fn stale_new_batch_notifications_do_not_move_the_sticky_partition() {
        let d = DefaultPartitioner::new();
        let p = d.partition("t", None, 8);
        d.on_new_batch("t", 8, (p + 1) % 8);
        assert_eq!(d.partition("t", None, 8), p);
        // One partition: nowhere else to go.
        let single = DefaultPartitioner::new();
        assert_eq!(single.partition("s", None, 1), 0);
        single.on_new_batch("s", 1, 0);
        assert_eq!(single.partition("s", None, 1), 0);
    }

    #[test]
    fn sticky_state_is_per_topic_and_survives_a_shrunken_count() {
        let d = DefaultPartitioner::new();
        let a = d.partition("a", None, 1000);
        let _ = d.partition("b", None, 1000);
        assert_eq!(d.partition("a", None, 1000), a);
        let p = d.partition("a", None, 1);
        assert_eq!(p, 0);
    }

    #[test]
    fn uniform_sticky_ignores_keys() {
        let u = UniformStickyPartitioner::new();
        let p = u.partition("t", Some(b"foobar"), 16);
        assert_eq!(u.partition("t", Some(b"abc"), 16), p);
        assert_eq!(u.partition("t", None, 16), p);
        u.on_new_batch("t", 16, p);
        assert_ne!(u.partition("t", Some(b"foobar"), 16), p);
    }

    #[test]
    fn murmur2_partitioner_hashes_missing_keys_as_empty() {
        let m = Murmur2Partitioner;
        assert_eq!(m.partition("t", None, 12), 9);
        assert_eq!(m.partition("t", Some(b""), 12), 9);
        assert_eq!(m.partition("t", Some(b"foobar"), 12), 6);
    }

    #[test]
    fn round_robin_cycles_per_topic_ignoring_keys() {
        let r = RoundRobinPartitioner::new();
        let a: Vec<i32> = (0..7).map(|_| r.partition("a", Some(b"k"), 3)).collect();
        assert_eq!(a, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(r.partition("b", None, 3), 0);
        assert_eq!(r.partition("a", None, 3), 1);
    }

    #[test]
    fn round_robin_counter_wraps_without_going_negative() {
        let r = RoundRobinPartitioner::new();
        r.counters.lock().insert("t".into(), i32::MAX);
        assert_eq!(r.partition("t", None, 10), i32::MAX % 10);
        assert_eq!(r.partition("t", None, 10), 0);
        assert_eq!(r.partition("t", None, 10), 1);
    }

    #[test]
    fn partitioners_by_name() {
        let keyed = |name: &str| {
            partitioner_by_name(name)
                .unwrap()
                .partition("t", Some(b"foobar"), 12)
        };
        for name in [
            "default",
            "murmur2_random",
            "sticky",
            "murmur2",
            "org.apache.kafka.clients.producer.internals.DefaultPartitioner",
        ] {
            assert_eq!(keyed(name), 6, "{name}");
        }
        let m = partitioner_by_name("murmur2").unwrap();
        assert_eq!(m.partition("t", None, 12), 9);
        for name in [
            "round_robin",
            "org.apache.kafka.clients.producer.RoundRobinPartitioner",
        ] {
            let r = partitioner_by_name(name).unwrap();
            assert_eq!(r.partition("t", Some(b"foobar"), 12), 0);
            assert_eq!(r.partition("t", Some(b"foobar"), 12), 1);
        }
        assert!(partitioner_by_name("uniform_sticky").is_some());
        assert!(partitioner_by_name("consistent_random").is_none());
        assert!(partitioner_by_name("com.example.Mine").is_none());
    }
}
