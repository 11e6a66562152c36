#!/usr/bin/env bash
# The C ABI tests: builds the library (cargo build -p strom-c), installs it into a scratch
# prefix with bindings/c/install.sh (symlinked, debug), then compiles every C program in
# tests/c/ (and the C++ example) with -Wall -Wextra -Werror through pkg-config, under
# AddressSanitizer with leak detection when the compiler has it, and runs them. One program
# is also linked against the static library. Honours CARGO_TARGET_DIR; installs gcc/g++
# (build-essential) only when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v gcc >/dev/null 2>&1 || ! command -v g++ >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != "0" ]; then sudo="sudo -n"; fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    build-essential pkg-config
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/strom-c-tests.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
PROFILE=debug LINK=1 bindings/c/install.sh "$scratch/prefix"
export PKG_CONFIG_PATH="$scratch/prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
if command -v pkg-config >/dev/null 2>&1; then
  cflags=$(pkg-config --cflags strom)
  libs=$(pkg-config --libs strom)
  static_libs=$(pkg-config --libs --static strom | sed 's/-lstrom/-Wl,-Bstatic -lstrom -Wl,-Bdynamic/')
else
  # Without pkg-config, the same flags as strom.pc.
  cflags="-I$scratch/prefix/include"
  libs="-L$scratch/prefix/lib -lstrom"
  static_libs="-L$scratch/prefix/lib -Wl,-Bstatic -lstrom -Wl,-Bdynamic -lgcc_s -lutil -lrt -lpthread -lm -ldl"
fi
rpath="-Wl,-rpath,$scratch/prefix/lib"
warn="-Wall -Wextra -Werror -g"

sanitize=""
echo 'int main(void) { return 0; }' >"$scratch/probe.c"
if gcc -fsanitize=address "$scratch/probe.c" -o "$scratch/probe" 2>/dev/null && "$scratch/probe"; then
  sanitize="-fsanitize=address -fno-omit-frame-pointer"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=23${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  echo "== C tests under AddressSanitizer (leaks are failures)"
else
  echo "== C tests (no AddressSanitizer in this compiler)"
fi

passed=0
failed=0
run() {
  local name="$1"
  shift
  echo "-- $name"
  if timeout 300 "$@"; then
    passed=$((passed + 1))
  else
    echo "FAILED: $name (exit $?)" >&2
    failed=$((failed + 1))
  fi
}

for src in tests/c/*.c; do
  name=$(basename "$src" .c)
  flags="$sanitize"
  # This GCC's AddressSanitizer allocator is not fork-safe: a forked child can deadlock on an
  # allocator lock another thread of the parent held at fork(). glibc's malloc is, so the
  # fork test runs without ASan (it checks strom's fork handling, not memory errors).
  if [ "$name" = fork ]; then flags=""; fi
  # shellcheck disable=SC2086
  gcc -std=c11 $warn $flags $cflags "$src" -o "$scratch/$name" $libs $rpath
  run "$name" "$scratch/$name"
done

# shellcheck disable=SC2086
g++ -std=c++17 $warn $sanitize $cflags -Itests/c tests/c/cpp_example.cpp -o "$scratch/cpp_example" \
  $libs $rpath
run cpp_example "$scratch/cpp_example"

# The static library: no libstrom.so needed at run time.
# shellcheck disable=SC2086
gcc -std=c11 $warn $sanitize $cflags tests/c/embedded_roundtrip.c -o "$scratch/embedded_static" \
  $static_libs
if ldd "$scratch/embedded_static" | grep -q libstrom; then
  echo "embedded_static links libstrom.so dynamically" >&2
  failed=$((failed + 1))
fi
run embedded_roundtrip_static "$scratch/embedded_static"

# A C producer into the real `strom serve` binary, read back by kcat (installed by
# scripts/test.sh; skipped with a line when absent).
serve_check() {
  local serve_pid="" addr="" topic="c-to-serve"
  cargo build -q --bin strom
  local bin
  bin="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug/strom"
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$scratch/serve-data" >"$scratch/serve.out" 2>"$scratch/serve.err" &
  serve_pid=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$scratch/serve.out" && break; sleep 0.1; done
  addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$scratch/serve.out" | head -1)
  local ok=0
  if [ -n "$addr" ] && "$scratch/produce_to_serve" "$addr" "$topic"; then
    local got
    got=$(timeout 60 kcat -C -b "$addr" -t "$topic" -o beginning -e -q -f '%k=%s %h\n' | sort)
    local want
    want=$(for i in $(seq 0 299); do echo "k$i=v$i origin=c"; done | sort)
    if [ "$got" = "$want" ]; then
      echo "kcat read the 300 records back from strom serve"
      ok=1
    else
      echo "kcat read $(echo "$got" | grep -c .) records, not the 300 sent" >&2
    fi
  fi
  kill "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  [ "$ok" = 1 ]
}
gcc -std=c11 $warn $sanitize $cflags tests/c/serve/produce_to_serve.c -o "$scratch/produce_to_serve" \
  $libs $rpath
if command -v kcat >/dev/null 2>&1; then
  echo "-- produce_to_serve_read_by_kcat"
  if serve_check; then
    passed=$((passed + 1))
  else
    echo "FAILED: produce_to_serve_read_by_kcat" >&2
    failed=$((failed + 1))
  fi
else
  echo "-- produce_to_serve: skipped, kcat is not installed (scripts/test.sh installs it)"
fi

echo "c-abi: $passed passed, $failed failed"
[ "$failed" = 0 ]
