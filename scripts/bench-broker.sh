#!/usr/bin/env bash
# Broker benchmark (BENCHMARKS.md, "Broker (strom serve vs Apache Kafka)"): `strom serve` and
# Apache Kafka 4.1 (single-node KRaft, through ../shared/peers/kafka-peer.sh) side by side in one
# run on this machine, with the same producers against both:
#
#   1. start-up: exec -> first accepted TCP connection (and first ApiVersions answer), fresh data
#      dir each time, strom and Kafka alternately, STARTUP_REPS times each, median reported;
#   2. idle RSS and idle CPU of both brokers (both started once and left running, no clients),
#      and a page-cache reference: kernel CPU for dd to write 1 GiB into a new file (no fsync);
#   3. a warm-up produce run on both (not reported), then for every configuration
#      {ProducerPerformance, confluent-kafka} x {100 B, 1024 B} x {acks=1, acks=all} x
#      {1, 8 partitions}: run the producer against each broker back to back, twice, in ABBA order
#      (a fresh topic for every run; the configuration's topics deleted after it). Each run
#      records the producer's records/s, the broker's CPU (utime+stime of /proc/PID/stat), its
#      RSS (VmRSS sampled every 100 ms, VmHWM), the load average and the machine's busy CPU
#      before/after. Then the same for acks=all, 1024 B, 1 partition with topic config
#      flush.messages=1 on both brokers (both fsync every append: like-for-like durability);
#   4. idle RSS and the page-cache reference again; then Markdown tables
#      (scripts/bench_broker.py report, also written to <target>/bench-broker-report.md).
#
# Bounded: fixed record counts (below), every producer run under a 120 s timeout, start-up
# polls under 120 s, the load wait under BENCH_LOAD_WAIT seconds; about 11 minutes plus the
# load wait on an otherwise quiet machine, more when other work slows the producers. Data goes
# in a fresh directory under <target>/bench-tmp (on disk, not tmpfs), each topic is deleted
# after its configuration's runs, and the brokers and the directory are removed on exit. Only
# 127.0.0.1 is used, on ports 27092 (strom), 27192-27193 (Kafka), 27300-27499 (start-up runs),
# all below the ephemeral port range.
#
# Environment (defaults in brackets):
#   BENCH_MAX_LOAD [1.5]   wait until the 1-minute load average is below this ...
#   BENCH_LOAD_WAIT [120]  ... for at most this many seconds (then measure anyway, noted)
#   STARTUP_REPS [5]       start-up repeats per broker
#   BENCH_RECORDS_SCALE [1]  multiplies every record count (table RECORDS below), e.g. 0.05
#                          for a quick check of the script
#   BENCH_DURABLE [1]      also the flush.messages=1 variant (acks=all, 1024 B, 1 partition)
#   KAFKA_PEER [../shared/peers/kafka-peer.sh]  KAFKA_HEAP [-Xmx1g] (broker and tool JVMs)
#   BENCH_ONLY_TOOLS ["pp ck"]  BENCH_ONLY_SIZES ["100 1024"]  (to run a subset)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

PY=${PYTHON:-$repo/.venv/bin/python}
HELPER=$repo/scripts/bench_broker.py
PEER=${KAFKA_PEER:-$repo/../shared/peers/kafka-peer.sh}
export KAFKA_HEAP=${KAFKA_HEAP:--Xmx1g}
MAX_LOAD=${BENCH_MAX_LOAD:-1.5}
LOAD_WAIT=${BENCH_LOAD_WAIT:-120}
REPS=${STARTUP_REPS:-5}
# Records per run (producer-partitions-size), chosen so that one run takes ~5-15 s here with
# either broker: the producer is the bottleneck, and it is faster with 8 partitions.
declare -A RECORDS=(
  [pp-1-100]=2000000 [pp-8-100]=3000000 [pp-1-1024]=300000 [pp-8-1024]=500000
  [ck-1-100]=4000000 [ck-8-100]=4000000 [ck-1-1024]=1800000 [ck-8-1024]=1800000
  [durable-pp]=150000 [durable-ck]=1800000 [warmup]=500000
)
SCALE=${BENCH_RECORDS_SCALE:-1}
records_for() { "$PY" -c "print(max(1000, int($SCALE * ${RECORDS[$1]})))"; }
DURABLE=${BENCH_DURABLE:-1}
TOOLS=${BENCH_ONLY_TOOLS:-pp ck}
SIZES=${BENCH_ONLY_SIZES:-100 1024}
STROM_PORT=27092
KAFKA_PORT=27192
PP_CLASS=org.apache.kafka.tools.ProducerPerformance

for tool in cargo java timeout ss; do
  command -v "$tool" >/dev/null || { echo "bench-broker: $tool is required" >&2; exit 1; }
done
if [ ! -x "$PEER" ]; then
  echo "bench-broker: no Kafka peer script at $PEER (set KAFKA_PEER)" >&2
  exit 1
fi
"$PY" -c 'import confluent_kafka' 2>/dev/null || {
  echo "bench-broker: $PY cannot import confluent_kafka" \
    "(scripts/test.sh sets up .venv; or set PYTHON)" >&2
  exit 1
}

target_dir=$(cargo metadata --format-version 1 --no-deps |
  "$PY" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
mkdir -p "$target_dir/bench-tmp"
work=$(mktemp -d "$target_dir/bench-tmp/broker.XXXXXX")
fs_type=$(stat -f -c %T "$work")
results=$target_dir/bench-broker-results.jsonl
report=$target_dir/bench-broker-report.md
: >"$results"

strom_pid=""
cleanup() {
  local rc=$?
  set +e
  if [ -n "$strom_pid" ]; then
    kill -TERM "$strom_pid" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$strom_pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$strom_pid" 2>/dev/null
  fi
  [ -d "$work/peer" ] && KAFKA_PEER_HOME=$work/peer "$PEER" stop >/dev/null 2>&1
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ "$fs_type" == tmpfs || "$fs_type" == ramfs ]]; then
  echo "bench-broker: $work is on $fs_type; the brokers must write to disk" >&2
  exit 1
fi
for port in $STROM_PORT $KAFKA_PORT $((KAFKA_PORT + 1)); do
  if ss -Hltn "sport = :$port" | grep -q .; then
    echo "bench-broker: 127.0.0.1:$port is already in use" >&2
    exit 1
  fi
done

echo "== build (cargo build --release --bin strom)"
timeout 1800 cargo build --release --bin strom
STROM=$target_dir/release/strom

echo "== Apache Kafka jars (kafka-peer.sh classpath; Maven Central on first use)"
kafka_cp=$(timeout 900 "$PEER" classpath)
kafka_lib=${kafka_cp%/\*}
ls "$kafka_lib"/kafka_2.13-*.jar "$kafka_lib"/kafka-tools-[0-9]*.jar | xargs -n1 basename
# A private KAFKA_PEER_HOME so that `kafka-peer.sh start/stop` use their own run directory
# (data under $work) and never touch another user's peer; the jars are shared by a symlink.
kafka_ver=$(basename "$(dirname "$kafka_lib")")
mkdir -p "$work/peer/$kafka_ver"
ln -s "$kafka_lib" "$work/peer/$kafka_ver/lib"
peer() { KAFKA_PEER_HOME=$work/peer "$PEER" "$@"; }

echo "== machine"
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
mem_gib=$(free -g | awk '/^Mem:/ { print $2 }')
echo "$(nproc) CPUs ($cpu_model), $mem_gib GiB," \
  "$(uname -sr), data in $work on $fs_type ($(df -P "$work" | awk 'NR == 2 { print $1 }'))"
tree=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- core || tree+=" + uncommitted changes in core/"
ck_ver=$("$PY" -c 'import confluent_kafka as c; v = c.version()
print(v if isinstance(v, str) else v[0], "/ librdkafka", c.libversion()[0])')
echo "strom $("$STROM" --version | cut -d' ' -f2) at $tree, Kafka $kafka_ver," \
  "$(java -version 2>&1 | head -1), confluent-kafka $ck_ver"
echo "date $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== waiting for the machine to calm down (1-min load < $MAX_LOAD, at most $LOAD_WAIT s)"
"$PY" "$HELPER" wait-load --max-load "$MAX_LOAD" --timeout "$LOAD_WAIT" --out "$results"

echo "== start-up: exec -> first accepted TCP connection, fresh data dir, $REPS each, alternating"
for ((i = 0; i < REPS; i++)); do
  "$PY" "$HELPER" startup --kind strom --reps 1 --rep-base "$i" --port 27300 \
    --workdir "$work/startup" --strom "$STROM" --out "$results"
  "$PY" "$HELPER" startup --kind kafka --reps 1 --rep-base "$i" --port 27400 \
    --workdir "$work/startup" --kafka-cp "$kafka_cp" --kafka-heap="$KAFKA_HEAP" --out "$results"
done
rm -rf "$work/startup"

echo "== starting both brokers for the load runs"
mkdir -p "$work/strom-data"
"$STROM" serve --listen "127.0.0.1:$STROM_PORT" --data-dir "$work/strom-data" \
  >"$work/strom.log" 2>&1 &
strom_pid=$!
for _ in $(seq 1 100); do grep -q "strom listening" "$work/strom.log" && break; sleep 0.1; done
head -1 "$work/strom.log"
echo "kafka: $(peer start $KAFKA_PORT)"
kafka_pid=$(cat "$work/peer/$kafka_ver/run/pid")
echo "pids: strom $strom_pid, kafka (java) $kafka_pid"
S=127.0.0.1:$STROM_PORT
K=127.0.0.1:$KAFKA_PORT

idle_both() { # phase
  "$PY" "$HELPER" idle --broker strom --pid "$strom_pid" --phase "$1" --seconds 15 \
    --out "$results" &
  local p1=$!
  "$PY" "$HELPER" idle --broker kafka --pid "$kafka_pid" --phase "$1" --seconds 15 \
    --out "$results" &
  wait $p1 $!
}

echo "== idle (15 s after start, no clients; both sampled at the same time)"
sleep 5
idle_both before-load

echo "== page-cache reference (dd 1 GiB, no fsync, 5 s after the last deletion)"
"$PY" "$HELPER" pagecache-ref --dir "$work" --phase before-load --out "$results"

# ProducerPerformance with the Java client's defaults, stated: batch.size 16384, linger.ms 5,
# no compression; acks=all leaves enable.idempotence at its default (true).
pp_cmd() { # bootstrap topic records size acks -> the array cmd
  cmd=("$PEER" tool "$PP_CLASS" --topic "$2" --num-records "$3" --record-size "$4"
    --throughput -1 --producer-props "bootstrap.servers=$1" "acks=$5" batch.size=16384
    linger.ms=5 compression.type=none)
}
# confluent-kafka: linger.ms 5, batch.size 1000000, batch.num.messages 10000 (librdkafka's
# defaults except linger, stated), no compression, idempotence off, no key.
ck_cmd() {
  cmd=("$PY" "$HELPER" produce --bootstrap "$1" --topic "$2" --count "$3" --size "$4"
    --acks "$5" --linger-ms 5 --batch-size 1000000 --batch-num-messages 10000)
}

echo "== warm-up (not reported): ProducerPerformance 100 B acks=1, 500000 records," \
  "8 partitions, each broker"
for b in strom kafka; do
  bs=$S; [ $b = kafka ] && bs=$K
  "$PY" "$HELPER" create-topic "$bs" warmup 8
  pp_cmd "$bs" warmup "$(records_for warmup)" 100 1
  timeout 120 "${cmd[@]}" 2>&1 | grep "records sent" | tail -1 | sed "s/^/  $b: /"
  "$PY" "$HELPER" delete-topic "$bs" warmup
done

# One configuration, both brokers, two repeats in ABBA order (strom kafka kafka strom, or the
# reverse for every other configuration) so that a drift in what the rest of the machine does
# hits both alike. A fresh topic for every run; the four topics are deleted together after the
# fourth run. (Deleting after each run would favour whoever runs next: strom frees a deleted
# topic's page cache at once, Kafka 60 s later (log.segment.delete.delay.ms), and on this VM
# writing into just-freed pages costs far less kernel CPU than into pages the host has taken
# back; see BENCHMARKS.md.)
idx=0
pair_runs() { # tool size acks partitions records [topic config k=v]
  local tool=$1 size=$2 acks=$3 parts=$4 records=$5 tconf=${6:-} order n=0 b rep topic bs pid
  local other
  local -a conf_args=() created=()
  [ -n "$tconf" ] && conf_args=(--config "$tconf")
  if ((idx % 2)); then order="kafka strom strom kafka"; else order="strom kafka kafka strom"; fi
  idx=$((idx + 1))
  for b in $order; do
    rep=$((n / 2 + 1)) n=$((n + 1))
    topic=$tool-$size-acks$acks-p$parts${tconf:+-durable}-r$rep
    if [ $b = strom ]; then
      bs=$S pid=$strom_pid other=$kafka_pid
    else
      bs=$K pid=$kafka_pid other=$strom_pid
    fi
    "$PY" "$HELPER" create-topic "$bs" "$topic" "$parts" "${conf_args[@]}"
    "${tool}_cmd" "$bs" "$topic" "$records" "$size" "$acks"
    "$PY" "$HELPER" measure --broker $b --pid "$pid" --other-pid "$other" --tool "$tool" \
      --size "$size" --acks "$acks" --partitions "$parts" --records "$records" --rep $rep \
      --variant "$tconf" --timeout 120 --out "$results" -- "${cmd[@]}"
    created+=("$bs $topic")
  done
  for b in "${created[@]}"; do
    "$PY" "$HELPER" delete-topic $b
  done
}

echo "== load runs (1-min load average at start -> end of each)"
for tool in $TOOLS; do
  for size in $SIZES; do
    for acks in 1 all; do
      for parts in 1 8; do
        pair_runs "$tool" "$size" "$acks" "$parts" "$(records_for "$tool-$parts-$size")"
      done
    done
  done
done

# strom answers acks=all after fsync; Kafka (one replica) answers after its in-memory append and
# leaves flushing to the OS. flush.messages=1 (a topic config both honour) makes both fsync
# every append: the like-for-like durable comparison, for 1024 B records, one partition.
if [ "$DURABLE" = 1 ]; then
  echo "== durable variant: topic config flush.messages=1 on both, acks=all, 1024 B, 1 partition"
  for tool in $TOOLS; do
    pair_runs "$tool" 1024 all 1 "$(records_for "durable-$tool")" flush.messages=1
  done
fi

echo "== idle after the load runs (topics deleted; 15 s)"
idle_both after-load
"$PY" "$HELPER" pagecache-ref --dir "$work" --phase after-load --out "$results"
echo "date $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== report (also in $report; raw figures in $results)"
"$PY" "$HELPER" report "$results" | tee "$report"
