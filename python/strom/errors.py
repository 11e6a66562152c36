"""strom's exceptions: one class per Kafka error family, all under :class:`StromError`.

Every exception carries ``code`` (the Kafka error code, or ``None`` for client-side failures
without one), ``name`` (Kafka's upper-case name of the code, e.g.
``"UNKNOWN_TOPIC_OR_PARTITION"``) and ``retriable`` (whether trying again may succeed).

Where Python has a matching built-in, the class also derives from it, so generic handlers
work: :class:`TimeoutError` is a ``builtins.TimeoutError``, :class:`NetworkError` a
``ConnectionError``, :class:`ConfigError` and :class:`InvalidArgumentError` are
``ValueError``\\ s.

>>> try:
...     broker.delete_topic("nope")
... except strom.errors.UnknownTopicError as e:
...     print(e.code, e.name)
3 UNKNOWN_TOPIC_OR_PARTITION
"""

from __future__ import annotations

import builtins
from typing import Optional

__all__ = [
    "StromError",
    "KafkaError",
    "ConfigError",
    "ClosedError",
    "TimeoutError",
    "NetworkError",
    "ProtocolError",
    "InvalidArgumentError",
    "IllegalStateError",
    "StorageError",
    "StateError",
    "IoError",
    "UnknownTopicError",
    "TopicExistsError",
    "InvalidTopicError",
    "MessageTooLargeError",
    "CorruptRecordError",
    "OffsetOutOfRangeError",
    "NotLeaderError",
    "PartitionsError",
    "GroupError",
    "RebalanceInProgressError",
    "AuthorizationError",
    "ProducerStateError",
    "InvalidRequestError",
    "error_for_code",
    "KAFKA_ERROR_NAMES",
]


class StromError(Exception):
    """Base of every strom exception."""

    #: The Kafka error code, or None.
    code: Optional[int]
    #: Kafka's name of ``code`` ("MESSAGE_TOO_LARGE"), or the class's kind.
    name: str
    #: Whether trying again (after a metadata refresh) may succeed.
    retriable: bool

    #: The codes whose errors are instances of this class (by default).
    codes: tuple[int, ...] = ()
    #: Whether errors of this class are retriable when the code does not say.
    default_retriable = False

    def __init__(self, message: str = "", code: Optional[int] = None, retriable: Optional[bool] = None):
        super().__init__(message)
        self.message = message
        self.code = code if code is not None else (self.codes[0] if self.codes else None)
        self.retriable = self.default_retriable if retriable is None else retriable
        self.name = KAFKA_ERROR_NAMES.get(self.code, type(self).__name__) if self.code is not None else type(self).__name__

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return (type(self), (self.message, self.code, self.retriable))


class KafkaError(StromError):
    """A broker answered with a Kafka error code not covered by a more specific class."""


class ConfigError(StromError, ValueError):
    """An unknown configuration name or a bad value (INVALID_CONFIG, 40)."""

    codes = (40,)


class ClosedError(StromError):
    """The producer, consumer, admin client or broker was closed."""


class TimeoutError(StromError, builtins.TimeoutError):
    """An operation did not finish in its time limit (REQUEST_TIMED_OUT, 7)."""

    codes = (7,)
    default_retriable = True


class NetworkError(StromError, ConnectionError):
    """No connection could be made to a broker, or one broke (NETWORK_EXCEPTION, 13)."""

    codes = (13,)
    default_retriable = True


class ProtocolError(StromError):
    """The broker broke the Kafka protocol, or lacks an API version a call needs."""

    codes = (35,)


class InvalidArgumentError(StromError, ValueError):
    """An argument that cannot be used as given."""


class IllegalStateError(StromError):
    """A call that does not fit the object's state: polling before subscribe or assign,
    committing without ``group.id``, an object used after ``fork()``."""


class StorageError(StromError):
    """Disk trouble in the broker (KAFKA_STORAGE_ERROR, 56)."""

    codes = (56,)


class UnknownTopicError(KafkaError):
    """The topic or partition does not exist (UNKNOWN_TOPIC_OR_PARTITION, 3;
    UNKNOWN_TOPIC_ID, 100)."""

    codes = (3, 100)
    default_retriable = True


class TopicExistsError(KafkaError):
    """The topic exists already (TOPIC_ALREADY_EXISTS, 36)."""

    codes = (36,)


class InvalidTopicError(KafkaError):
    """A topic name Kafka refuses (INVALID_TOPIC_EXCEPTION, 17)."""

    codes = (17,)


class MessageTooLargeError(KafkaError):
    """A record or batch larger than ``max.request.size`` or the topic's
    ``max.message.bytes`` (MESSAGE_TOO_LARGE, 10; RECORD_LIST_TOO_LARGE, 18)."""

    codes = (10, 18)


class CorruptRecordError(KafkaError):
    """A record batch that fails its CRC or is malformed (CORRUPT_MESSAGE, 2;
    INVALID_RECORD, 87)."""

    codes = (2, 87)


class OffsetOutOfRangeError(KafkaError):
    """An offset before the log start or past its end (OFFSET_OUT_OF_RANGE, 1)."""

    codes = (1,)


class NotLeaderError(KafkaError):
    """The partition's leader moved or is not available (retriable)."""

    codes = (6, 5, 9, 8, 74, 75)
    default_retriable = True


class PartitionsError(KafkaError):
    """A partition count, replication factor or replica assignment that is not possible."""

    codes = (37, 38, 39)


class GroupError(KafkaError):
    """A consumer group refusal: coordinator moves, unknown members, fenced instances, a
    group that is not empty..."""

    codes = (14, 15, 16, 22, 23, 24, 25, 26, 68, 69, 79, 82, 84)


class RebalanceInProgressError(GroupError):
    """The group is rebalancing (REBALANCE_IN_PROGRESS, 27): poll again to rejoin."""

    codes = (27,)
    default_retriable = True


class AuthorizationError(KafkaError):
    """Not authorized for a topic, group, cluster or transactional id."""

    codes = (29, 30, 31, 53)


class ProducerStateError(KafkaError):
    """An idempotent or transactional producer's sequence or epoch was refused."""

    codes = (45, 46, 47, 59, 90)


class InvalidRequestError(KafkaError):
    """A request the broker considers malformed (INVALID_REQUEST, 42) and related refusals."""

    codes = (42, 21, 43, 44)


# Kafka's names of its error codes (the protocol guide's table), for messages and `.name`.
KAFKA_ERROR_NAMES: dict[int, str] = {
    -1: "UNKNOWN_SERVER_ERROR",
    0: "NONE",
    1: "OFFSET_OUT_OF_RANGE",
    2: "CORRUPT_MESSAGE",
    3: "UNKNOWN_TOPIC_OR_PARTITION",
    4: "INVALID_FETCH_SIZE",
    5: "LEADER_NOT_AVAILABLE",
    6: "NOT_LEADER_OR_FOLLOWER",
    7: "REQUEST_TIMED_OUT",
    8: "BROKER_NOT_AVAILABLE",
    9: "REPLICA_NOT_AVAILABLE",
    10: "MESSAGE_TOO_LARGE",
    11: "STALE_CONTROLLER_EPOCH",
    12: "OFFSET_METADATA_TOO_LARGE",
    13: "NETWORK_EXCEPTION",
    14: "COORDINATOR_LOAD_IN_PROGRESS",
    15: "COORDINATOR_NOT_AVAILABLE",
    16: "NOT_COORDINATOR",
    17: "INVALID_TOPIC_EXCEPTION",
    18: "RECORD_LIST_TOO_LARGE",
    19: "NOT_ENOUGH_REPLICAS",
    20: "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    21: "INVALID_REQUIRED_ACKS",
    22: "ILLEGAL_GENERATION",
    23: "INCONSISTENT_GROUP_PROTOCOL",
    24: "INVALID_GROUP_ID",
    25: "UNKNOWN_MEMBER_ID",
    26: "INVALID_SESSION_TIMEOUT",
    27: "REBALANCE_IN_PROGRESS",
    28: "INVALID_COMMIT_OFFSET_SIZE",
    29: "TOPIC_AUTHORIZATION_FAILED",
    30: "GROUP_AUTHORIZATION_FAILED",
    31: "CLUSTER_AUTHORIZATION_FAILED",
    32: "INVALID_TIMESTAMP",
    33: "UNSUPPORTED_SASL_MECHANISM",
    34: "ILLEGAL_SASL_STATE",
    35: "UNSUPPORTED_VERSION",
    36: "TOPIC_ALREADY_EXISTS",
    37: "INVALID_PARTITIONS",
    38: "INVALID_REPLICATION_FACTOR",
    39: "INVALID_REPLICA_ASSIGNMENT",
    40: "INVALID_CONFIG",
    41: "NOT_CONTROLLER",
    42: "INVALID_REQUEST",
    43: "UNSUPPORTED_FOR_MESSAGE_FORMAT",
    44: "POLICY_VIOLATION",
    45: "OUT_OF_ORDER_SEQUENCE_NUMBER",
    46: "DUPLICATE_SEQUENCE_NUMBER",
    47: "INVALID_PRODUCER_EPOCH",
    48: "INVALID_TXN_STATE",
    49: "INVALID_PRODUCER_ID_MAPPING",
    50: "INVALID_TRANSACTION_TIMEOUT",
    51: "CONCURRENT_TRANSACTIONS",
    52: "TRANSACTION_COORDINATOR_FENCED",
    53: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
    54: "SECURITY_DISABLED",
    55: "OPERATION_NOT_ATTEMPTED",
    56: "KAFKA_STORAGE_ERROR",
    57: "LOG_DIR_NOT_FOUND",
    58: "SASL_AUTHENTICATION_FAILED",
    59: "UNKNOWN_PRODUCER_ID",
    60: "REASSIGNMENT_IN_PROGRESS",
    67: "DUPLICATE_RESOURCE",
    68: "NON_EMPTY_GROUP",
    69: "GROUP_ID_NOT_FOUND",
    70: "FETCH_SESSION_ID_NOT_FOUND",
    71: "INVALID_FETCH_SESSION_EPOCH",
    72: "LISTENER_NOT_FOUND",
    73: "TOPIC_DELETION_DISABLED",
    74: "FENCED_LEADER_EPOCH",
    75: "UNKNOWN_LEADER_EPOCH",
    76: "UNSUPPORTED_COMPRESSION_TYPE",
    77: "STALE_BROKER_EPOCH",
    78: "OFFSET_NOT_AVAILABLE",
    79: "MEMBER_ID_REQUIRED",
    80: "PREFERRED_LEADER_NOT_AVAILABLE",
    81: "GROUP_MAX_SIZE_REACHED",
    82: "FENCED_INSTANCE_ID",
    84: "GROUP_SUBSCRIBED_TO_TOPIC",
    87: "INVALID_RECORD",
    90: "PRODUCER_FENCED",
    100: "UNKNOWN_TOPIC_ID",
}

# Retriable codes per Kafka's RetriableException subclasses, for codes without a class.
_RETRIABLE = {5, 6, 7, 8, 9, 13, 14, 15, 16, 19, 20, 27, 51, 56, 57, 70, 71, 74, 75, 78, 100}

# Earlier Node names of the same classes (the Node package exports both spellings too).
StateError = IllegalStateError
IoError = StorageError

# Core's `ErrorKind` names (core/src/error_kind.rs); Node maps the same kinds to classes of
# the same names.
_BY_KIND: dict[str, type[StromError]] = {
    "kafka": KafkaError,
    "network": NetworkError,
    "timeout": TimeoutError,
    "config": ConfigError,
    "closed": ClosedError,
    "protocol": ProtocolError,
    "invalid_argument": InvalidArgumentError,
    "illegal_state": IllegalStateError,
    "io": StorageError,
    "internal": StromError,
}


def _classes() -> list[type[StromError]]:
    out, todo = [], [StromError]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.__subclasses__())
    return out


_BY_CODE: dict[int, type[StromError]] = {}
for _cls in _classes():
    for _code in _cls.codes:
        # The most derived class wins (subclasses are visited after their bases).
        _BY_CODE[_code] = _cls


def error_for_code(code: int) -> type[StromError]:
    """The exception class for a Kafka error code (:class:`KafkaError` when none is more
    specific)."""
    return _BY_CODE.get(code, KafkaError)


def _from_native(kind: str, code: Optional[int], retriable: bool, message: str) -> StromError:
    """Called by ``strom._native`` for every failure: picks the class by what happened."""
    if kind in ("kafka", "io") and code is not None:
        cls = error_for_code(code)
        if cls is KafkaError and kind == "io":
            cls = StorageError
    else:
        cls = _BY_KIND.get(kind, StromError)
    if kind == "closed":
        cls = ClosedError
    return cls(message, code, retriable)
