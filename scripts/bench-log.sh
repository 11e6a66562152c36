#!/usr/bin/env bash
# Storage benchmarks (BENCHMARKS.md, "Storage (criterion)"): measures the machine's fdatasync
# bandwidth with dd, runs `cargo bench -p strom --bench log`, measures dd again, and prints the
# figures with their ratios to the machine limits measured in the same run.
#
# Bounded: dd writes 256 MiB twice (file deleted each time); the bench keeps at most ~350 MiB
# of logs on disk at once and runs for about 2-3 minutes on a 2-core machine. Every step runs
# under `timeout`.
#
# Environment:
#   STROM_BENCH_DIR   where logs and the dd file go (default: <target dir>/bench-tmp); must be
#                     on the disk being measured, not tmpfs.
#   BUILD_TIMEOUT     seconds for the release build (default 1800)
#   BENCH_TIMEOUT     seconds for each of the two bench invocations (default 600)
# Extra arguments replace the two default invocations with one, passed to criterion (e.g. a
# filter such as `append_fsync`); the summary then shows "not run" for what was filtered out.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in cargo dd python3 timeout stat df; do
  command -v "$tool" >/dev/null || { echo "bench-log: $tool is required" >&2; exit 1; }
done

target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bench_dir=${STROM_BENCH_DIR:-$target_dir/bench-tmp}
mkdir -p "$bench_dir"
bench_dir=$(cd "$bench_dir" && pwd)
export STROM_BENCH_DIR=$bench_dir

fs_type=$(stat -f -c %T "$bench_dir")
if [[ "$fs_type" == tmpfs || "$fs_type" == ramfs ]]; then
  echo "bench-log: $bench_dir is on $fs_type; set STROM_BENCH_DIR to a directory on disk" >&2
  exit 1
fi
avail_kib=$(df -Pk "$bench_dir" | awk 'NR == 2 { print $4 }')
if (( avail_kib < 2 * 1024 * 1024 )); then
  echo "bench-log: less than 2 GiB free under $bench_dir" >&2
  exit 1
fi

dd_file="$bench_dir/dd-fdatasync.$$"
trap 'rm -f "$dd_file"' EXIT

# 256 MiB of zeros, one fdatasync at the end: the disk's sequential durable-write bandwidth.
# Prints bytes per second.
dd_bandwidth() {
  local out
  out=$(timeout 120 dd if=/dev/zero of="$dd_file" bs=1M count=256 conv=fdatasync 2>&1)
  rm -f "$dd_file"
  # "268435456 bytes (268 MB, 256 MiB) copied, 1.12251 s, 239 MB/s"
  echo "$out" | tail -n 1 | python3 -c '
import re, sys
m = re.match(r"(\d+) bytes .* copied, ([0-9.,]+) s", sys.stdin.read())
print(int(m.group(1)) / float(m.group(2).replace(",", ".")))'
}

echo "== build (cargo bench -p strom --bench log --no-run)"
timeout "${BUILD_TIMEOUT:-1800}" cargo bench -p strom --bench log --no-run

echo "== machine"
machine="$(nproc) CPUs, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), bench dir $bench_dir on $fs_type ($(df -P "$bench_dir" | awk 'NR == 2 { print $1 }'))"
echo "$machine"

# What else the machine is doing: load average and, where the kernel has PSI, the share of
# the last minute in which some task stalled on CPU or IO.
contention() {
  local psi=""
  for r in cpu io; do
    if [[ -r /proc/pressure/$r ]]; then
      psi+=" $r-stall60=$(awk '/^some/ { sub("avg60=", "", $3); print $3 "%" }' /proc/pressure/$r)"
    fi
  done
  echo "load $(cut -d' ' -f1-3 /proc/loadavg)$psi"
}

stamp=$(mktemp "$target_dir/.bench-log-start.XXXXXX")
trap 'rm -f "$dd_file" "$stamp"' EXIT
log="$target_dir/bench-log.txt"
: >"$log"
run_bench() {
  echo "== cargo bench -p strom --bench log -- $*" | tee -a "$log"
  timeout "${BENCH_TIMEOUT:-600}" cargo bench -p strom --bench log -- "$@" 2>&1 | tee -a "$log"
}

# dd right before and right after the fsync benches, so the disk limit is measured under the
# same conditions as the figures it is compared with; then everything that stays in memory.
contention_start=$(contention)
echo "== dd fdatasync limit (before the fsync benches)"
dd_before=$(dd_bandwidth)
echo "dd: $dd_before B/s"
if (($# > 0)); then
  run_bench "$@"
else
  run_bench '^append_fsync/'
fi
echo "== dd fdatasync limit (after the fsync benches)"
dd_after=$(dd_bandwidth)
echo "dd: $dd_after B/s"
if (($# == 0)); then
  run_bench '^(memcpy|append_unsynced|read_sequential|index_lookup)/'
fi
contention_end=$(contention)

echo
echo "== summary"
python3 - "$target_dir/criterion" "$stamp" "$dd_before" "$dd_after" "$machine" "$contention_start" "$contention_end" <<'EOF'
import json, os, sys

root, stamp, dd_before, dd_after, machine, contention_start, contention_end = sys.argv[1:]
fresh_after = os.path.getmtime(stamp)
dd_before, dd_after = float(dd_before), float(dd_after)
dd = (dd_before + dd_after) / 2


def result(bench_id):
    """(units per second, low, high, unit) from this run's criterion output, or None."""
    d = os.path.join(root, *bench_id.split("/"), "new")
    est = os.path.join(d, "estimates.json")
    if not os.path.exists(est) or os.path.getmtime(est) < fresh_after:
        return None
    e = json.load(open(est))
    # criterion prints the slope when it has one (linear sampling), else the mean.
    typical = e.get("slope") or e["mean"]
    ns = typical["point_estimate"]
    lo_ns = typical["confidence_interval"]["lower_bound"]
    hi_ns = typical["confidence_interval"]["upper_bound"]
    t = json.load(open(os.path.join(d, "benchmark.json")))["throughput"]
    (unit, amount), = t.items()
    per = lambda x: amount / (x * 1e-9)
    return per(ns), per(hi_ns), per(lo_ns), unit


def fmt(v, unit):
    if unit == "Bytes":
        return f"{v / 2**30:.2f} GiB/s" if v >= 2**30 else f"{v / 2**20:.0f} MiB/s"
    return f"{v / 1e3:.0f} k lookups/s"


rows = [
    ("memcpy/64MiB", "memcpy 64 MiB (limit)"),
    ("memcpy/16KiB_chunks_into_64MiB", "memcpy 16 KiB chunks into 64 MiB (limit)"),
    ("append_unsynced/raw_write_16KiB", "raw write(2) 16 KiB to a fresh file (reference)"),
    ("append_unsynced/strom_100B_records", "append unsynced, 100 B records, 16 KiB batches"),
    ("append_unsynced/strom_1KiB_records", "append unsynced, 1 KiB records, 16 KiB batches"),
    ("append_fsync/raw_write_fdatasync_16KiB", "raw write 16 KiB + fdatasync (reference: no sharing)"),
    ("append_fsync/raw_write_fdatasync_128KiB", "raw write 128 KiB + fdatasync (reference: 8-way sharing)"),
    ("append_fsync/strom_8_appenders", "append + wait_durable, 8 appenders, 16 KiB batches"),
    ("read_sequential/pread_1MiB_reused_buf", "raw pread 1 MiB, reused buffer (reference)"),
    ("read_sequential/pread_1MiB_fresh_zeroed_buf", "raw pread 1 MiB, fresh zeroed buffer (reference)"),
    ("read_sequential/strom_read_1MiB", "sequential read, 256 MiB log, 1 MiB steps"),
    ("index_lookup/strom_read_one_batch/16KiB_batches", "random read(offset, 1), 16 segments, 16 KiB batches"),
    ("index_lookup/strom_read_one_batch/1KiB_batches", "random read(offset, 1), 16 segments, 1 KiB batches"),
]
r = {k: result(k) for k, _ in rows}

print(f"machine: {machine}")
print(f"contention at start: {contention_start}")
print(f"contention at end:   {contention_end}")
print(f"dd bs=1M count=256 conv=fdatasync: before {dd_before / 2**20:.0f} MiB/s, "
      f"after {dd_after / 2**20:.0f} MiB/s, mean {dd / 2**20:.0f} MiB/s (limit)")
print()
print("| benchmark | criterion id | throughput [95% CI] |")
print("|---|---|---|")
for k, label in rows:
    if r[k] is None:
        print(f"| {label} | `{k}` | not run |")
        continue
    v, lo, hi, unit = r[k]
    extra = f" ({1e6 / v:.1f} µs/lookup)" if unit == "Elements" else ""
    print(f"| {label} | `{k}` | {fmt(v, unit)} [{fmt(lo, unit)} – {fmt(hi, unit)}]{extra} |")

print()
print("| ratio | value | goal | verdict |")
print("|---|---|---|---|")


def ratio(label, num, den, goal=None):
    if num is None or den is None:
        print(f"| {label} | n/a | {'' if goal is None else f'≥ {goal:.0%}'} | not run |")
        return
    q = num / den
    verdict = "" if goal is None else ("met" if q >= goal else "**missed**")
    print(f"| {label} | {q:.0%} | {'—' if goal is None else f'≥ {goal:.0%}'} | {verdict} |")


v = lambda k: r[k][0] if r[k] else None
ratio("append 100 B / memcpy 64 MiB", v("append_unsynced/strom_100B_records"), v("memcpy/64MiB"), 0.5)
ratio("append 1 KiB / memcpy 64 MiB", v("append_unsynced/strom_1KiB_records"), v("memcpy/64MiB"), 0.5)
ratio("append 100 B / memcpy 16 KiB chunks", v("append_unsynced/strom_100B_records"), v("memcpy/16KiB_chunks_into_64MiB"))
ratio("append 1 KiB / memcpy 16 KiB chunks", v("append_unsynced/strom_1KiB_records"), v("memcpy/16KiB_chunks_into_64MiB"))
ratio("append 1 KiB / raw write(2)", v("append_unsynced/strom_1KiB_records"), v("append_unsynced/raw_write_16KiB"))
ratio("fsync'd append, 8 appenders / dd", v("append_fsync/strom_8_appenders"), dd, 0.8)
ratio("raw 128 KiB + fdatasync / dd", v("append_fsync/raw_write_fdatasync_128KiB"), dd)
ratio("fsync'd append, 8 appenders / raw 128 KiB + fdatasync", v("append_fsync/strom_8_appenders"), v("append_fsync/raw_write_fdatasync_128KiB"))
ratio("sequential read / memcpy 64 MiB", v("read_sequential/strom_read_1MiB"), v("memcpy/64MiB"), 0.5)
ratio("sequential read / raw pread reused buffer", v("read_sequential/strom_read_1MiB"), v("read_sequential/pread_1MiB_reused_buf"))
EOF
rmdir "$bench_dir" 2>/dev/null || true
