#!/usr/bin/env bash
# acks=all latency at a fixed rate (BENCHMARKS.md, "acks=all latency"): Apache Kafka 4.1's
# ProducerPerformance sends RECORDS records of 100 B at RATE records/s to an 8-partition topic
# with acks=all, against `strom serve` (release build; fsyncs before it answers acks=all) and
# Apache Kafka 4.1 (single-node KRaft through ../shared/peers/kafka-peer.sh; answers acks=all
# without an fsync), and against Kafka with the topic config flush.messages=1 (it fsyncs every
# append: the same durability as strom). Runs in ABAB order, REPS times each, fresh topic per
# run, and prints one line per run: p50, p99, p99.9 and max latency in ms as the tool reports.
#
# Bounded: each producer run under a 180 s timeout; brokers on 127.0.0.1:27092 (strom) and
# 27192-27193 (Kafka), data under target/bench-latency (removed on exit).
#
# Environment: RATE [50000] RECORDS [500000] REPS [2] KAFKA_PEER [../shared/peers/kafka-peer.sh]
#   STROM_BIN [the release build]  ONLY_STROM [unset: also Kafka]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
RATE=${RATE:-50000}
RECORDS=${RECORDS:-500000}
REPS=${REPS:-2}
PEER=${KAFKA_PEER:-$repo/../shared/peers/kafka-peer.sh}
PY=${PYTHON:-$repo/.venv/bin/python}
target=$(cargo metadata --format-version 1 --no-deps | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
work=$target/bench-latency
export KAFKA_HEAP=${KAFKA_HEAP:--Xmx1g}
mkdir -p "$work"

# STROM_BIN: another strom binary to measure (e.g. an older build); default the release build.
if [ -z "${STROM_BIN:-}" ]; then
  cargo build --release --bin strom >&2
  STROM_BIN=$target/release/strom
fi
strom_pid=""
cleanup() {
  [ -n "$strom_pid" ] && kill "$strom_pid" 2>/dev/null || true
  bash "$PEER" stop >/dev/null 2>&1 || true
  rm -rf "$work/strom-data"
}
trap cleanup EXIT
rm -rf "$work/strom-data" && mkdir -p "$work/strom-data"
"$STROM_BIN" serve --listen 127.0.0.1:27092 --data-dir "$work/strom-data" >"$work/strom.log" 2>&1 &
strom_pid=$!
# kafka-peer.sh fetches the jars into its home on first use (Maven Central).
kafka=$(bash "$PEER" start 27192)
echo "strom 127.0.0.1:27092 (pid $strom_pid), kafka $kafka" >&2

tool() { timeout 180 bash "$PEER" tool "$@" 2>&1 | grep -v '^SLF4J'; }
create() { # bootstrap topic [config]
  tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$1" --create --topic "$2" \
    --partitions 8 --replication-factor 1 ${3:+--config "$3"} >/dev/null
}
run() { # label bootstrap [topic config]
  local topic="lat-$RANDOM$RANDOM"
  create "$2" "$topic" "${3:-}"
  local line
  line=$(tool org.apache.kafka.tools.ProducerPerformance --topic "$topic" --num-records "$RECORDS" \
    --record-size 100 --throughput "$RATE" \
    --producer-props bootstrap.servers="$2" acks=all | tail -1)
  # "... ms avg latency, M ms max latency, P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th."
  echo "$line" | "$PY" -c '
import re, sys
label = sys.argv[1]
line = sys.stdin.read()
m = re.search(r"([\d.]+) records/sec.*?([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th", line)
if not m:
    print(f"{label}: could not parse: {line.strip()}"); sys.exit(0)
rate, avg, mx, p50, p95, p99, p999 = m.groups()
print(f"{label:<28} {float(rate):>10.0f} rec/s  p50 {p50:>4} ms  p99 {p99:>4} ms  p99.9 {p999:>4} ms  max {float(mx):>6.0f} ms")
' "$1"
}

for rep in $(seq 1 "$REPS"); do
  run "strom (fsync)" 127.0.0.1:27092
  [ -n "${ONLY_STROM:-}" ] && continue
  run "kafka (no fsync)" "$kafka"
  run "kafka flush.messages=1" "$kafka" flush.messages=1
done
