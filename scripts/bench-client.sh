#!/usr/bin/env bash
# Client benchmark (BENCHMARKS.md, "Client"): strom's Rust client against librdkafka (a C
# program like rdkafka_performance: scripts/rdkafka_bench.c), confluent-kafka and kafka-python,
# all against one `strom serve` in one run, 100-byte values, acks=1, linger.ms=5,
# batch.size=1 MiB, no compression and lz4; then strom's send_batch (1000 records a call) over
# TCP and strom in-process (embedded broker), one by one and with send_batch.
# Runs alternate between clients; the report takes medians.
#
#   scripts/bench-client.sh [RECORDS] [RUNS]     (defaults 2000000, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-2000000}
runs=${2:-3}
kp_records=$(( records / 10 ))
out=${BENCH_OUT:-target/bench-client.jsonl}
work=$(mktemp -d)
server_pid=""
trap '[ -n "$server_pid" ] && kill $server_pid 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release --bin strom
if [ ! -f /usr/include/librdkafka/rdkafka.h ]; then
  apt-get update -q && apt-get install -y -q librdkafka-dev
fi
gcc -O2 -o "$work/rdkafka_bench" scripts/rdkafka_bench.c -lrdkafka
[ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install -q -r tests/clients/requirements.txt; }
py=.venv/bin/python
strom=target/release/strom

"$strom" serve --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/serve.out" && break; sleep 0.1; done
addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$work/serve.out" | head -1)
echo "strom serve on $addr; results in $out" >&2
: >"$out"
props=(--property acks=1 --property linger.ms=5 --property batch.size=1048576)
tag() { sed "s/}\$/,\"codec\":\"$1\"}/" >>"$out"; tail -1 "$out" >&2; }

for run in $(seq 1 "$runs"); do
  for codec in none lz4; do
    t=b-$run-$codec
    "$strom" bench produce --bootstrap "$addr" --topic "$t-strom" --records "$records" \
      "${props[@]}" --property compression.type=$codec --json | tag $codec
    "$work/rdkafka_bench" produce "$addr" "$t-rdk" "$records" 100 $codec 1 | tag $codec
    $py scripts/bench_client.py confluent-produce "$addr" "$t-ck" "$records" 100 $codec 1 | tag $codec
    $py scripts/bench_client.py kafka-python-produce "$addr" "$t-kp" "$kp_records" 100 $codec 1 | tag $codec
    # Every consumer reads the same topic (written by librdkafka).
    "$strom" bench consume --bootstrap "$addr" --topic "$t-rdk" --records "$records" --json | tag $codec
    "$work/rdkafka_bench" consume "$addr" "$t-rdk" "$records" 1 | tag $codec
    $py scripts/bench_client.py confluent-consume "$addr" "$t-rdk" "$records" 1 | tag $codec
    $py scripts/bench_client.py kafka-python-consume "$addr" "$t-rdk" "$kp_records" 1 | tag $codec
  done
  "$strom" bench produce --bootstrap "$addr" --topic "b-$run-batch" --records "$records" \
    --batch 1000 "${props[@]}" --json | sed 's/"client":"strom"/"client":"strom send_batch"/' | tag none
  "$strom" bench produce --in-process --records "$records" "${props[@]}" --json \
    | tag none
  "$strom" bench produce --in-process --records "$records" --batch 1000 "${props[@]}" --json \
    | sed 's/"client":"strom-in-process"/"client":"strom-in-process send_batch"/' | tag none
  "$strom" bench consume --in-process --records "$records" --json \
    | tag none
done
$py scripts/bench_client.py report "$out"
