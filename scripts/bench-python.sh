#!/usr/bin/env bash
# Python package benchmark (BENCHMARKS.md, "Python package"): in one run, against one
# `strom serve`, 100-byte values, acks=1, linger.ms=5, batch.size=1 MiB:
#   strom.Producer.send per record vs confluent-kafka's Producer.produce (records/s),
#   strom.Consumer.poll vs confluent-kafka's Consumer.consume on the same topic;
# then in this process: send_batch (and send, poll) into an embedded strom.Broker, and
# strom.Broker(tmp).serve() until a TCP connection is accepted, on fresh directories.
# Runs alternate between the clients; the report takes medians.
#
#   scripts/bench-python.sh [RECORDS] [RUNS]     (defaults 1000000, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
runs=${2:-3}
out=${BENCH_OUT:-target/bench-python.jsonl}
work=$(mktemp -d)
server_pid=""
trap '[ -n "$server_pid" ] && kill $server_pid 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release --bin strom
strom="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/strom"
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r tests/clients/requirements.txt \
  -r python/requirements-test.txt
bash scripts/python-install.sh
py=.venv/bin/python
mkdir -p "$(dirname "$out")"

"$strom" serve --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/serve.out" && break; sleep 0.1; done
addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$work/serve.out" | head -1)
echo "strom serve on $addr; $records records of 100 B per run, $runs runs; results in $out" >&2
: >"$out"
log() { tee -a "$out" >&2; }

for run in $(seq 1 "$runs"); do
  t=py-$run
  $py scripts/bench_python.py strom-produce "$addr" "$t-strom" "$records" 100 | log
  $py scripts/bench_python.py confluent-produce "$addr" "$t-ck" "$records" 100 | log
  # Both consumers read the topic confluent-kafka wrote.
  $py scripts/bench_python.py strom-consume "$addr" "$t-ck" "$records" 1 | log
  $py scripts/bench_python.py confluent-consume "$addr" "$t-ck" "$records" 1 | log
  $py scripts/bench_python.py embedded "$records" 100 | log
done
$py scripts/bench_python.py ready 20 | log
$py scripts/bench_python.py report "$out"
