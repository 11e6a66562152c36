// Types of the `strom` package (hand-written over the generated native.d.ts; the code is in
// lib/). Offsets and timestamps are 64-bit: they come back as decimal strings, exact past 2^53,
// and go in as strings, BigInts or numbers up to 2^53 (Number.MAX_SAFE_INTEGER; a larger number
// is refused with an InvalidArgumentError rather than rounded).
/// <reference types="node" />
import { EventEmitter } from 'node:events'

/** Kafka config names and values: `{ 'linger.ms': 5, acks: 'all' }`. */
export type KafkaConfig = Record<string, string | number | boolean | bigint | string[]>

/** A 64-bit integer given to the package: a decimal string, a BigInt, or a number up to 2^53. */
export type Int64 = string | bigint | number

// -- errors ----------------------------------------------------------------------------------

/** Base class of every error this package throws or rejects with. */
export class StromError extends Error {
  /** Kafka's error code when the failure has one, else null. */
  code: number | null
  /** Whether the same call may succeed when tried again. */
  retriable: boolean
}
/** A broker refused the call: `name` is Kafka's error name (UNKNOWN_TOPIC_OR_PARTITION, ...). */
export class KafkaError extends StromError {
  code: number
}
export class ConfigError extends StromError {}
export class ClosedError extends StromError {}
export class TimeoutError extends StromError {}
export class NetworkError extends StromError {}
export class IllegalStateError extends StromError {}
export class InvalidArgumentError extends StromError {}
export class ProtocolError extends StromError {}
export class StorageError extends StromError {}
/** Earlier names of NetworkError, IllegalStateError and StorageError. */
export { NetworkError as ConnectionError, IllegalStateError as StateError, StorageError as IoError }

// -- broker ----------------------------------------------------------------------------------

export interface BrokerTopic {
  name: string
  id: string
  partitions: number
  configs: Record<string, string>
}

/** An embedded broker storing its data in a directory. */
export class Broker {
  /** `config`: Kafka's broker setting names, every one `strom serve` takes. */
  static open (path: string, config?: KafkaConfig): Promise<Broker>
  readonly path: string
  readonly closed: boolean
  /** The addresses the Kafka listeners are bound to. */
  readonly listeners: string[]
  createTopic (name: string, options?: number | { partitions?: number, numPartitions?: number, configs?: KafkaConfig }): Promise<BrokerTopic>
  listTopics (): Promise<string[]>
  describeTopics (): Promise<BrokerTopic[]>
  deleteTopic (name: string): Promise<void>
  /** Serves the Kafka protocol until close(); resolves to the bound "host:port". */
  serve (listen?: string): Promise<string>
  /** Serves Prometheus text metrics (GET /metrics) until close(); resolves to "host:port". */
  serveMetrics (listen?: string): Promise<string>
  close (): Promise<void>
}

/** Where a client connects: a cluster over TCP, or an embedded broker in this process. */
export type ClientOptions =
  | { bootstrapServers: string | string[], clientId?: string }
  | { brokers: string[], clientId?: string }
  | { broker: Broker, clientId?: string }

// -- producer --------------------------------------------------------------------------------

export type Bytes = Buffer | Uint8Array | string

export interface Message {
  key?: Bytes | null
  value: Bytes | null
  headers?: Record<string, Bytes | Bytes[]>
  partition?: number
  /** Milliseconds since the epoch (number, numeric string, BigInt or Date). */
  timestamp?: Int64 | Date
}

/** Where one message landed. Offsets and timestamps are strings, as in kafkajs. */
export interface RecordMetadata {
  topicName: string
  partition: number
  errorCode: number
  /** The message's offset ('-1' with acks=0). */
  offset: string
  /** Same as `offset`: metadata is per message here, not per partition. */
  baseOffset: string
  timestamp: string
}

export class Producer {
  constructor (options: ClientOptions, config?: KafkaConfig)
  connect (): Promise<void>
  send (record: { topic: string, messages: Message[] }): Promise<RecordMetadata[]>
  sendBatch (batch: { topicMessages: Array<{ topic: string, messages: Message[] }> }): Promise<RecordMetadata[]>
  flush (): Promise<void>
  disconnect (): Promise<void>
}

// -- consumer --------------------------------------------------------------------------------

export interface KafkaMessage {
  key: Buffer | null
  value: Buffer | null
  timestamp: string
  /** Bit 3: the timestamp is the broker's (LogAppendTime). */
  attributes: number
  offset: string
  headers: Record<string, Buffer | null | Array<Buffer | null>>
}

export interface EachMessagePayload {
  topic: string
  partition: number
  message: KafkaMessage
  heartbeat (): Promise<void>
  /** Pauses this partition; returns a function that resumes it. */
  pause (): () => void
}

export interface Batch {
  topic: string
  partition: number
  messages: KafkaMessage[]
  isEmpty (): boolean
  firstOffset (): string | null
  lastOffset (): string | null
}

export interface EachBatchPayload {
  batch: Batch
  resolveOffset (offset: string): void
  heartbeat (): Promise<void>
  commitOffsetsIfNecessary (offsets?: TopicPartitionOffset[]): Promise<void>
  uncommittedOffsets (): { topics: [] }
  isRunning (): boolean
  isStale (): boolean
  pause (): () => void
}

export interface TopicPartition {
  topic: string
  partition: number
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: Int64
  metadata?: string | null
}

export interface ConsumerCrashEvent {
  id: number
  type: 'consumer.crash'
  timestamp: number
  payload: { error: Error, groupId: string | null, restart: boolean }
}

/** `max.poll.records` defaults to 2000 here (Kafka's is 500). */
export type ConsumerOptions = ClientOptions & { groupId?: string }

/** What `for await (... of consumer)` yields. */
export interface ConsumedMessage {
  topic: string
  partition: number
  message: KafkaMessage
}

export class Consumer extends EventEmitter implements AsyncIterable<ConsumedMessage> {
  static readonly events: { readonly CRASH: 'consumer.crash', readonly DISCONNECT: 'consumer.disconnect' }
  readonly events: typeof Consumer.events
  constructor (options: ConsumerOptions, config?: KafkaConfig)
  readonly groupId: string | null
  connect (): Promise<void>
  /**
   * `fromBeginning` sets auto.offset.reset; like run's `autoCommit` and `autoCommitInterval` it
   * can change until the consumer first polls (then an IllegalStateError).
   */
  subscribe (subscription: { topics?: Array<string | RegExp>, topic?: string | RegExp, fromBeginning?: boolean }): Promise<void>
  /** Consumes exactly these partitions, without group membership. */
  assign (partitions: TopicPartition[]): Promise<void>
  run (config: {
    eachMessage?: (payload: EachMessagePayload) => Promise<void>
    eachBatch?: (payload: EachBatchPayload) => Promise<void>
    eachBatchAutoResolve?: boolean
    autoCommit?: boolean
    autoCommitInterval?: number
  }): Promise<void>
  [Symbol.asyncIterator] (): AsyncIterator<ConsumedMessage>
  commitOffsets (offsets: TopicPartitionOffset[]): Promise<void>
  /**
   * Commits the position of every assigned partition: after the messages delivered (in the run
   * loop, those whose handler resolved), also when called inside a poll's messages.
   */
  commit (): Promise<void>
  /**
   * Consuming of the partition goes on from `offset`. With a group subscription, a partition
   * not assigned yet (seek between subscribe and run) is sought when the group assigns it.
   */
  seek (target: { topic: string, partition: number, offset: Int64 }): Promise<void>
  /**
   * Stops consuming the partitions (without `partitions`: those of the topic assigned now)
   * until resumed. With a group subscription, partitions not assigned yet are paused once they are.
   */
  pause (topics: Array<{ topic: string, partitions?: number[] }>): Promise<void>
  resume (topics: Array<{ topic: string, partitions?: number[] }>): Promise<void>
  /** Paused partitions, including those to be paused once assigned (synchronous, as kafkajs's). */
  paused (): Array<{ topic: string, partitions: number[] }>
  assignment (): Promise<TopicPartition[]>
  disconnect (): Promise<void>
  on (event: 'consumer.crash', listener: (event: ConsumerCrashEvent) => void): this
  on (event: 'consumer.disconnect', listener: (event: { type: string, timestamp: number }) => void): this
}

// -- admin -----------------------------------------------------------------------------------

export interface ITopicConfig {
  topic: string
  numPartitions?: number
  replicationFactor?: number
  configEntries?: Array<{ name: string, value: string }>
}

export interface PartitionMetadata {
  partitionErrorCode: number
  partitionId: number
  leader: number
  replicas: number[]
  isr: number[]
  offlineReplicas: number[]
}

export interface GroupDescription {
  errorCode: number
  groupId: string
  state: string
  protocolType: string
  protocol: string
  coordinator: number
  members: Array<{
    memberId: string
    groupInstanceId: string | null
    clientId: string
    clientHost: string
    assignment: Array<{ topic: string, partitions: number[] }>
  }>
}

export class Admin {
  constructor (options: ClientOptions, config?: KafkaConfig)
  connect (): Promise<void>
  createTopics (options: { topics: ITopicConfig[], validateOnly?: boolean }): Promise<boolean>
  deleteTopics (options: { topics: string[] }): Promise<void>
  listTopics (): Promise<string[]>
  fetchTopicMetadata (options?: { topics?: string[] }): Promise<{
    topics: Array<{ name: string, topicId: string, isInternal: boolean, partitions: PartitionMetadata[] }>
  }>
  listGroups (): Promise<{ groups: Array<{ groupId: string, protocolType: string, state: string | null }> }>
  describeGroups (groupIds: string[]): Promise<{ groups: GroupDescription[] }>
  fetchOffsets (options: { groupId: string, topics?: string[] }): Promise<Array<{
    topic: string
    partitions: Array<{ partition: number, offset: string, metadata: string | null }>
  }>>
  deleteGroups (groupIds: string[]): Promise<Array<{ groupId: string, errorCode: number }>>
  disconnect (): Promise<void>
}
