//! The bytes of Kafka's consumer protocol: `ConsumerProtocolSubscription` (a member's JoinGroup
//! metadata) and `ConsumerProtocolAssignment` (its SyncGroup assignment), each an `int16`
//! version followed by the struct, as Java's `ConsumerProtocol` writes them.
//!
//! Encoding goes through `kafka-protocol`'s generated encoders, so the layout is Kafka's by
//! construction. Decoding is hand-written: `kafka-protocol` 0.18 sizes `Vec::with_capacity`
//! straight from wire counts (see `protocol::guard`), and that guard is keyed by request API,
//! while these two structs are five fields each. The parser checks every count against the
//! bytes left, times the smallest encoding of one element, before anything is allocated (Java's
//! generated readers make the same check), and turns every malformation into an
//! [`AssignorError`].
//!
//! Versions: the schemas only ever append fields (subscription v1 owned partitions, v2
//! generation, v3 rack; assignment v1-v3 are identical to v0), and every client reads a newer
//! version by its newest known layout and ignores the trailing bytes: Java clamps the version
//! (`checkSubscriptionVersion`), kafka-python 3.x clamps (`min(version, max_version)`), older
//! kafka-python and librdkafka read the fields they know. The decoder here does the same. So we
//! write subscription v3 ([`SUBSCRIPTION_VERSION`], what Java writes): everyone reads at least
//! its topics and user data, and cooperative leaders also get owned partitions and generation.
//! Assignments are written as v0 ([`ASSIGNMENT_VERSION`]): the body is the same in every
//! version, and v0 is the one every parser ever shipped accepts.

use super::{Assignment, AssignorError, MemberSubscription};
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    consumer_protocol_assignment, consumer_protocol_subscription, ConsumerProtocolAssignment,
    ConsumerProtocolSubscription, TopicName,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use std::collections::{BTreeMap, BTreeSet};

/// The subscription version strom writes.
pub const SUBSCRIPTION_VERSION: i16 = 3;
/// The newest subscription layout known; newer versions are read as this one.
pub const MAX_SUBSCRIPTION_VERSION: i16 = 3;
/// The assignment version strom writes.
pub const ASSIGNMENT_VERSION: i16 = 0;
/// The newest assignment layout known (all are the same body).
pub const MAX_ASSIGNMENT_VERSION: i16 = 3;

/// Encodes a subscription at `version` (0..=3). Fields the version lacks are left out, as
/// Kafka's ignorable fields are.
pub fn encode_subscription(
    topics: &[String],
    user_data: Option<&Bytes>,
    owned: &[(String, Vec<i32>)],
    generation_id: i32,
    rack_id: Option<&str>,
    version: i16,
) -> Result<Bytes, AssignorError> {
    const WHAT: &str = "subscription";
    if !(0..=MAX_SUBSCRIPTION_VERSION).contains(&version) {
        return Err(AssignorError::UnsupportedVersion {
            what: WHAT,
            version,
        });
    }
    let data = ConsumerProtocolSubscription::default()
        .with_topics(topics.iter().map(|t| str_bytes(t)).collect())
        .with_user_data(user_data.cloned())
        .with_owned_partitions(
            owned
                .iter()
                .map(|(t, ps)| {
                    consumer_protocol_subscription::TopicPartition::default()
                        .with_topic(TopicName(str_bytes(t)))
                        .with_partitions(ps.clone())
                })
                .collect(),
        )
        .with_generation_id(generation_id)
        .with_rack_id(rack_id.map(str_bytes));
    versioned(WHAT, version, &data)
}

/// Encodes an assignment at [`ASSIGNMENT_VERSION`].
pub fn encode_assignment(a: &Assignment) -> Result<Bytes, AssignorError> {
    let data = ConsumerProtocolAssignment::default()
        .with_assigned_partitions(
            a.partitions
                .iter()
                .map(|(t, ps)| {
                    consumer_protocol_assignment::TopicPartition::default()
                        .with_topic(TopicName(str_bytes(t)))
                        .with_partitions(ps.clone())
                })
                .collect(),
        )
        .with_user_data(a.user_data.clone());
    versioned("assignment", ASSIGNMENT_VERSION, &data)
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// `int16 version` then the body, as Java's `MessageUtil.toVersionPrefixedByteBuffer`.
fn versioned<M: Encodable>(
    what: &'static str,
    version: i16,
    data: &M,
) -> Result<Bytes, AssignorError> {
    let fail = |e: anyhow::Error| AssignorError::Encode {
        what,
        reason: e.to_string(),
    };
    let size = data.compute_size(version).map_err(fail)?;
    let mut buf = BytesMut::with_capacity(2 + size);
    buf.put_i16(version);
    data.encode(&mut buf, version).map_err(fail)?;
    Ok(buf.freeze())
}

/// Decodes a member's JoinGroup metadata. Trailing bytes are ignored, as every client does:
/// a newer version's extra fields sit there.
pub fn decode_subscription(
    member_id: &str,
    group_instance_id: Option<&str>,
    metadata: &[u8],
) -> Result<MemberSubscription, AssignorError> {
    let mut r = Reader::new(metadata);
    let version = r.i16("subscription version")?;
    if version < 0 {
        return Err(AssignorError::UnsupportedVersion {
            what: "subscription",
            version,
        });
    }
    let version = version.min(MAX_SUBSCRIPTION_VERSION);
    // A string takes at least its two length bytes.
    let count = r.array_len("subscription topics", 2)?;
    let mut topics = Vec::with_capacity(count);
    for _ in 0..count {
        topics.push(r.string("subscription topic")?);
    }
    let user_data = r.nullable_bytes("subscription user data")?;
    let owned_partitions = if version >= 1 {
        r.topic_partitions("owned partitions")?
    } else {
        Vec::new()
    };
    let generation_id = if version >= 2 {
        r.i32("generation id")?
    } else {
        -1
    };
    let rack_id = if version >= 3 {
        r.nullable_string("rack id")?
    } else {
        None
    };
    Ok(MemberSubscription {
        member_id: member_id.to_string(),
        group_instance_id: group_instance_id.map(str::to_string),
        topics,
        user_data,
        owned_partitions,
        generation_id,
        rack_id,
    })
}

/// Decodes a SyncGroup assignment. Empty bytes are an empty assignment: the broker sends those
/// to members the leader left out. Topics listed twice are merged; partitions come out sorted
/// and deduplicated.
pub fn decode_assignment(bytes: &[u8]) -> Result<Assignment, AssignorError> {
    if bytes.is_empty() {
        return Ok(Assignment::default());
    }
    let mut r = Reader::new(bytes);
    let version = r.i16("assignment version")?;
    if version < 0 {
        return Err(AssignorError::UnsupportedVersion {
            what: "assignment",
            version,
        });
    }
    let assigned = r.topic_partitions("assigned partitions")?;
    let user_data = r.nullable_bytes("assignment user data")?;
    let mut sets: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for (topic, partitions) in assigned {
        sets.entry(topic).or_default().extend(partitions);
    }
    Ok(Assignment {
        partitions: sets
            .into_iter()
            .map(|(t, ps)| (t, ps.into_iter().collect()))
            .collect(),
        user_data,
    })
}

/// A bounds-checked cursor over the classic (non-flexible) Kafka encoding.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], AssignorError> {
        let at = self.pos;
        let end = at
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or(AssignorError::Truncated { field, at })?;
        self.pos = end;
        Ok(&self.buf[at..end])
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, AssignorError> {
        let b = self.take(2, field)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, AssignorError> {
        let b = self.take(4, field)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A length prefix (int16 for strings, int32 for bytes and arrays); `None` for -1 (null).
    fn length(&mut self, wide: bool, field: &'static str) -> Result<Option<usize>, AssignorError> {
        let at = self.pos;
        let len = if wide {
            self.i32(field)?
        } else {
            i32::from(self.i16(field)?)
        };
        match len {
            -1 => Ok(None),
            n if n < 0 => Err(AssignorError::NegativeLength { field, len: n, at }),
            // Non-negative i32 always fits in usize on the platforms strom builds for.
            n => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        }
    }

    /// A non-nullable array's count, refused unless `count` elements of at least `min_size`
    /// bytes each fit in what is left.
    fn array_len(&mut self, field: &'static str, min_size: usize) -> Result<usize, AssignorError> {
        let at = self.pos;
        let count = self
            .length(true, field)?
            .ok_or(AssignorError::UnexpectedNull { field, at })?;
        let left = self.left();
        if count.saturating_mul(min_size) > left {
            return Err(AssignorError::ArrayTooLong {
                field,
                count,
                at,
                left,
            });
        }
        Ok(count)
    }

    fn nullable_string(&mut self, field: &'static str) -> Result<Option<String>, AssignorError> {
        let Some(len) = self.length(false, field)? else {
            return Ok(None);
        };
        let at = self.pos;
        let raw = self.take(len, field)?;
        std::str::from_utf8(raw)
            .map(|s| Some(s.to_string()))
            .map_err(|_| AssignorError::InvalidUtf8 { field, at })
    }

    fn string(&mut self, field: &'static str) -> Result<String, AssignorError> {
        let at = self.pos;
        self.nullable_string(field)?
            .ok_or(AssignorError::UnexpectedNull { field, at })
    }

    fn nullable_bytes(&mut self, field: &'static str) -> Result<Option<Bytes>, AssignorError> {
        match self.length(true, field)? {
            None => Ok(None),
            Some(len) => Ok(Some(Bytes::copy_from_slice(self.take(len, field)?))),
        }
    }

    /// `[topic string, partitions [int32]]`, the TopicPartition struct of both messages.
    fn topic_partitions(
        &mut self,
        field: &'static str,
    ) -> Result<Vec<(String, Vec<i32>)>, AssignorError> {
        // One element is at least a string length (2) and an array count (4).
        let count = self.array_len(field, 6)?;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let topic = self.string(field)?;
            let n = self.array_len(field, 4)?;
            let mut partitions = Vec::with_capacity(n);
            for _ in 0..n {
                partitions.push(self.i32(field)?);
            }
            out.push((topic, partitions));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::protocol::Decodable;
    use proptest::prelude::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn owned(list: &[(&str, &[i32])]) -> Vec<(String, Vec<i32>)> {
        list.iter()
            .map(|(t, ps)| (t.to_string(), ps.to_vec()))
            .collect()
    }

    #[test]
    fn subscription_round_trips_at_every_version() {
        let topics = vec!["orders".to_string(), "payments".to_string()];
        let user = Bytes::from_static(b"\x00\x00\x00\x07");
        let own = owned(&[("orders", &[0, 3]), ("payments", &[])]);
        for version in 0..=3 {
            let bytes = encode_subscription(&topics, Some(&user), &own, 7, Some("rack-a"), version)
                .unwrap();
            assert_eq!(&bytes[..2], &version.to_be_bytes());
            let got = decode_subscription("m-1", Some("static-1"), &bytes).unwrap();
            assert_eq!(got.member_id, "m-1");
            assert_eq!(got.group_instance_id.as_deref(), Some("static-1"));
            assert_eq!(got.topics, topics);
            assert_eq!(got.user_data.as_ref(), Some(&user));
            assert_eq!(
                got.owned_partitions,
                if version >= 1 { own.clone() } else { vec![] }
            );
            assert_eq!(got.generation_id, if version >= 2 { 7 } else { -1 });
            let rack = (version >= 3).then(|| "rack-a".to_string());
            assert_eq!(got.rack_id, rack);
        }
        let none = encode_subscription(&topics, None, &[], -1, None, SUBSCRIPTION_VERSION).unwrap();
        let got = decode_subscription("m", None, &none).unwrap();
        assert_eq!(
            (got.user_data, got.rack_id, got.generation_id),
            (None, None, -1)
        );
    }

    #[test]
    fn subscription_version_out_of_range_is_refused() {
        for v in [-1, 4] {
            assert!(matches!(
                encode_subscription(&[], None, &[], -1, None, v),
                Err(AssignorError::UnsupportedVersion { .. })
            ));
        }
        assert!(matches!(
            decode_subscription("m", None, &[0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
            Err(AssignorError::UnsupportedVersion { version: -1, .. })
        ));
    }

    #[test]
    fn newer_subscription_versions_read_as_v3_ignoring_trailing_fields() {
        let v3 = encode_subscription(&["t".into()], None, &owned(&[("t", &[1])]), 4, Some("r"), 3)
            .unwrap();
        let mut v9 = v3.to_vec();
        v9[..2].copy_from_slice(&9i16.to_be_bytes());
        v9.extend_from_slice(b"some future field");
        let got = decode_subscription("m", None, &v9).unwrap();
        assert_eq!(got, decode_subscription("m", None, &v3).unwrap());
        assert_eq!(got.rack_id.as_deref(), Some("r"));
    }

    #[test]
    fn assignment_round_trips() {
        let mut a = Assignment::from_pairs([("t0", 2), ("t0", 0), ("t1", 5)]);
        let bytes = encode_assignment(&a).unwrap();
        assert_eq!(&bytes[..2], &ASSIGNMENT_VERSION.to_be_bytes());
        assert_eq!(decode_assignment(&bytes).unwrap(), a);
        a.user_data = Some(Bytes::from_static(b"hello"));
        assert_eq!(
            decode_assignment(&encode_assignment(&a).unwrap()).unwrap(),
            a
        );
        let empty = encode_assignment(&Assignment::default()).unwrap();
        // The same bytes the broker substitutes for a member the leader left out.
        assert_eq!(&empty[..], &[0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(decode_assignment(&empty).unwrap(), Assignment::default());
    }

    #[test]
    fn empty_assignment_bytes_are_an_empty_assignment() {
        assert_eq!(decode_assignment(&[]).unwrap(), Assignment::default());
    }

    #[test]
    fn assignment_merges_duplicate_topics_and_sorts() {
        // v1, [t: [3, 1], t: [1, 0]], user data null
        let bytes = unhex(concat!(
            "0001", "00000002", "000174", "00000002", "00000003", "00000001", "000174", "00000002",
            "00000001", "00000000", "ffffffff"
        ));
        let a = decode_assignment(&bytes).unwrap();
        assert_eq!(a.partitions["t"], vec![0, 1, 3]);
        assert_eq!(a.user_data, None);
    }

    // Fixtures produced by kafka-python 3.0.12 (`kafka.protocol.consumer.metadata`), with:
    //   S(version=0, topics=['orders','payments'], user_data=b'').encode()
    //   S(version=1, topics=['t0'], user_data=b'',
    //     owned_partitions=[TP(topic='t0', partitions=[0,2])]).encode()
    //   S(version=3, topics=['t0','t1'], user_data=None, owned_partitions=[TP(topic='t1',
    //     partitions=[1])], generation_id=7, rack_id='rack-a').encode()
    //   A(version=0, assigned_partitions=[ATP(topic='t0', partitions=[0,1]),
    //     ATP(topic='t1', partitions=[2])], user_data=b'').encode()
    //   A(version=3, assigned_partitions=[], user_data=None).encode()
    // (S/A = ConsumerProtocolSubscription/Assignment, TP/ATP their TopicPartition.)
    const PY_SUB_V0: &str = "00000000000200066f726465727300087061796d656e747300000000";
    const PY_SUB_V1: &str = "00010000000100027430000000000000000100027430000000020000000000000002";
    const PY_SUB_V3: &str = concat!(
        "0003000000020002743000027431ffffffff00000001000274310000000100000001",
        "0000000700067261636b2d61"
    );
    const PY_ASG_V0: &str =
        "0000000000020002743000000002000000000000000100027431000000010000000200000000";
    const PY_ASG_V3: &str = "000300000000ffffffff";

    #[test]
    fn decodes_kafka_python_subscriptions() {
        let v0 = decode_subscription("a", None, &unhex(PY_SUB_V0)).unwrap();
        assert_eq!(v0.topics, ["orders", "payments"]);
        assert_eq!(v0.user_data, Some(Bytes::new()));
        assert_eq!((v0.owned_partitions.len(), v0.generation_id), (0, -1));

        let v1 = decode_subscription("b", None, &unhex(PY_SUB_V1)).unwrap();
        assert_eq!(v1.topics, ["t0"]);
        assert_eq!(v1.owned_partitions, owned(&[("t0", &[0, 2])]));
        assert_eq!(v1.generation_id, -1);

        let v3 = decode_subscription("c", None, &unhex(PY_SUB_V3)).unwrap();
        assert_eq!(v3.topics, ["t0", "t1"]);
        assert_eq!(v3.user_data, None);
        assert_eq!(v3.owned_partitions, owned(&[("t1", &[1])]));
        assert_eq!(v3.generation_id, 7);
        assert_eq!(v3.rack_id.as_deref(), Some("rack-a"));
    }

    #[test]
    fn writes_what_kafka_python_writes() {
        let s = encode_subscription(
            &["t0".into(), "t1".into()],
            None,
            &owned(&[("t1", &[1])]),
            7,
            Some("rack-a"),
            3,
        )
        .unwrap();
        assert_eq!(&s[..], &unhex(PY_SUB_V3)[..]);
        let mut a = Assignment::from_pairs([("t0", 0), ("t0", 1), ("t1", 2)]);
        a.user_data = Some(Bytes::new());
        assert_eq!(&encode_assignment(&a).unwrap()[..], &unhex(PY_ASG_V0)[..]);
    }

    #[test]
    fn decodes_kafka_python_assignments() {
        let a = decode_assignment(&unhex(PY_ASG_V0)).unwrap();
        assert_eq!(a.partitions["t0"], vec![0, 1]);
        assert_eq!(a.partitions["t1"], vec![2]);
        assert_eq!(a.user_data, Some(Bytes::new()));
        assert_eq!(
            decode_assignment(&unhex(PY_ASG_V3)).unwrap(),
            Assignment::default()
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let sub = unhex(PY_SUB_V3);
        for n in 0..sub.len() {
            assert!(
                decode_subscription("m", None, &sub[..n]).is_err(),
                "prefix {n}"
            );
        }
        let asg = unhex(PY_ASG_V0);
        for n in 1..asg.len() {
            assert!(decode_assignment(&asg[..n]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn huge_counts_are_refused_before_allocating() {
        let err = decode_subscription("m", None, &unhex("00007fffffff")).unwrap_err();
        assert!(
            matches!(
                err,
                AssignorError::ArrayTooLong {
                    count: 0x7fff_ffff,
                    ..
                }
            ),
            "{err}"
        );
        // Owned partitions: one topic "t" claiming 2^31-1 partitions.
        let err = decode_subscription(
            "m",
            None,
            &unhex(concat!(
                "0001", "00000000", "ffffffff", "00000001", "000174", "7fffffff"
            )),
        )
        .unwrap_err();
        assert!(matches!(err, AssignorError::ArrayTooLong { .. }), "{err}");
        let err = decode_assignment(&unhex("00007ffffff0")).unwrap_err();
        assert!(matches!(err, AssignorError::ArrayTooLong { .. }), "{err}");
        // A count that fits the bytes but not as whole elements (3 strings need 6 bytes).
        let err = decode_subscription("m", None, &unhex("00000000000300000000")).unwrap_err();
        assert!(matches!(err, AssignorError::ArrayTooLong { .. }), "{err}");
    }

    #[test]
    fn malformed_fields_are_typed_errors() {
        // null topic array
        let err = decode_subscription("m", None, &unhex("0000ffffffff")).unwrap_err();
        assert!(matches!(err, AssignorError::UnexpectedNull { .. }), "{err}");
        // null topic name
        let err = decode_subscription("m", None, &unhex("000000000001ffffffffffff")).unwrap_err();
        assert!(matches!(err, AssignorError::UnexpectedNull { .. }), "{err}");
        // topic length -2
        let err = decode_subscription("m", None, &unhex("000000000001fffe00000000")).unwrap_err();
        assert!(
            matches!(err, AssignorError::NegativeLength { len: -2, .. }),
            "{err}"
        );
        // user data length -7
        let err = decode_subscription("m", None, &unhex("000000000000fffffff9")).unwrap_err();
        assert!(
            matches!(err, AssignorError::NegativeLength { len: -7, .. }),
            "{err}"
        );
        // topic name not UTF-8
        let err = decode_subscription("m", None, &unhex("0000000000010001ffffffffff")).unwrap_err();
        assert!(matches!(err, AssignorError::InvalidUtf8 { .. }), "{err}");
        let err = decode_assignment(&unhex("8000")).unwrap_err();
        assert!(
            matches!(err, AssignorError::UnsupportedVersion { .. }),
            "{err}"
        );
    }

    fn arb_name() -> impl Strategy<Value = String> {
        "[a-z0-9._-]{1,12}"
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_subscription("m", None, &bytes);
            let _ = decode_assignment(&bytes);
        }

        #[test]
        fn random_bytes_after_a_valid_prefix_never_panic(
            version in 0i16..6,
            tail in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            // Steer past the version so the fuzz reaches the later fields.
            let mut bytes = version.to_be_bytes().to_vec();
            bytes.extend_from_slice(&tail);
            let _ = decode_subscription("m", None, &bytes);
            let _ = decode_assignment(&bytes);
        }

        #[test]
        fn encode_decode_agrees_with_kafka_protocol(
            topics in proptest::collection::vec(arb_name(), 0..4),
            user in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
            own in proptest::collection::vec(
                (arb_name(), proptest::collection::vec(any::<i32>(), 0..4)), 0..3),
            generation in any::<i32>(),
            rack in proptest::option::of(arb_name()),
            version in 0i16..=3,
        ) {
            let user = user.map(Bytes::from);
            let bytes = encode_subscription(&topics, user.as_ref(), &own, generation,
                rack.as_deref(), version).unwrap();
            let ours = decode_subscription("m", None, &bytes).unwrap();
            let mut body = bytes.slice(2..);
            let theirs = ConsumerProtocolSubscription::decode(&mut body, version).unwrap();
            prop_assert!(body.is_empty());
            let their_topics: Vec<String> = theirs.topics.iter().map(|t| t.to_string()).collect();
            prop_assert_eq!(&ours.topics, &their_topics);
            prop_assert_eq!(&ours.topics, &topics);
            prop_assert_eq!(&ours.user_data, &theirs.user_data);
            let their_owned: Vec<(String, Vec<i32>)> = theirs.owned_partitions.iter()
                .map(|tp| (tp.topic.to_string(), tp.partitions.clone())).collect();
            prop_assert_eq!(&ours.owned_partitions, &their_owned);
            prop_assert_eq!(ours.generation_id, theirs.generation_id);
            prop_assert_eq!(ours.rack_id, theirs.rack_id.map(|r| r.to_string()));
        }
    }
}
