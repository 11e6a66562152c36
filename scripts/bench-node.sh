#!/usr/bin/env bash
# Node client benchmark (BENCHMARKS.md, "Node"): strom's Node Producer and Consumer against
# kafkajs 2.2.4, both on one `strom serve` in one run, 100-byte values, acks=all; then strom's
# in-process produce into an embedded broker. Release builds of strom and of the addon.
#
#   scripts/bench-node.sh [RECORDS] [RUNS]     (defaults 300000, 3; JSON in $BENCH_OUT)
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-300000}
runs=${2:-3}
target_dir=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
out=${BENCH_OUT:-$target_dir/bench-node.json}
work=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release --bin strom
if [ ! -d node/node_modules/@napi-rs/cli ]; then
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
    export npm_config_nodedir=/usr
  fi
  (cd node && npm ci --no-audit --no-fund)
fi
(cd node && npm run --silent build)

STROM_GROUP_INITIAL_REBALANCE_DELAY_MS=0 STROM_LOG=warn \
  "$target_dir/release/strom" serve --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/serve.out" && break; sleep 0.1; done
addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$work/serve.out" | head -1)
[ -n "$addr" ] || { cat "$work/serve.err" >&2; exit 1; }
echo "strom serve (release) on $addr" >&2
node scripts/bench-node.js --bootstrap "$addr" --records "$records" --runs "$runs" --json "$out"
echo "JSON: $out" >&2
