#!/usr/bin/env bash
# The one test command (README "Run every test"; .ci/run calls exactly this).
# Installs what it needs, then runs formatting, lints and every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== toolchain"
cargo --version
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  echo "rustfmt and clippy are required (rustup component add rustfmt clippy)" >&2
  exit 1
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test"
cargo test --workspace

# ---------------------------------------------------------------------------------------------
# Black-box tests with real Kafka clients against `strom serve` (tests/clients/).
# Installs, on a fresh machine: a venv with kafka-python, confluent-kafka and pytest
# (tests/clients/requirements.txt), kafkajs and its codecs (tests/clients/node, npm ci from the
# committed lockfile) and Debian's kcat; maturin, nbclient and ipykernel for the Python package
# (python/requirements-test.txt). Each step is skipped when already satisfied.

apt_install() {
  # Debian packages, as root (or through sudo); the index is refreshed once, with retries.
  local sudo=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
      echo "need root (or sudo) to apt-get install $*" >&2
      return 1
    fi
  fi
  local try
  for try in 1 2 3; do
    if $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; then
      return 0
    fi
    echo "apt-get install $* failed (try $try of 3)" >&2
    sleep $((try * 5))
  done
  return 1
}

echo "== client test dependencies"
if ! command -v kcat >/dev/null 2>&1; then
  apt_install kcat
fi
kcat -V 2>&1 | sed -n "s/^Version /kcat /p"
if ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv || { apt_install python3-venv && python3 -m venv .venv; }
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r tests/clients/requirements.txt \
  -r python/requirements-test.txt
node_stamp=tests/clients/node/node_modules/.strom-lock-sha256
node_lock_sum=$(sha256sum tests/clients/node/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$node_stamp" 2>/dev/null)" != "$node_lock_sum" ]; then
  # kafkajs-lz4 builds a native addon: point node-gyp at the installed headers (it cannot
  # download them here).
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
    export npm_config_nodedir=/usr
  fi
  (cd tests/clients/node && npm ci --no-audit --no-fund)
  echo "$node_lock_sum" >"$node_stamp"
fi

# Apache Kafka 4.1's own tools (tests/clients/test_kafka4.py): jars from Maven Central through
# ../shared/peers/kafka-peer.sh (cached in ~/.cache/strom-peers); needs java and mvn.
echo "== Apache Kafka tools (kafka-peer.sh classpath)"
KAFKA_PEER=${KAFKA_PEER:-$(cd .. && pwd)/shared/peers/kafka-peer.sh}
export KAFKA_PEER
bash "$KAFKA_PEER" classpath

# C ABI (bindings/c): C and C++ programs built against include/strom.h with -Werror and run
# under AddressSanitizer (installs gcc/g++ when missing; kcat, installed above, reads back).
echo "== C ABI tests (tests/c)"
bash tests/c/run.sh

echo "== cargo build --bin strom"
cargo build --bin strom
STROM_BIN="$(cargo metadata --format-version 1 --no-deps | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/strom"
export STROM_BIN

# Python package (python/ over bindings/python): a release abi3 wheel built by maturin and
# installed into .venv (skipped when its sources are unchanged). Installed before the client
# tests because its pytest plugin (strom.testing) loads in every pytest run of .venv. Its own
# tests run last: every API against an embedded broker and against `strom serve`, interop with
# kafka-python and confluent-kafka, the pytest plugin, Ctrl-C and fork, examples/*.ipynb.
echo "== Python package (build and install into .venv)"
bash scripts/python-install.sh

echo "== pytest tests/clients (kafka-python, confluent-kafka, kafkajs, kcat against strom serve)"
.venv/bin/python -m pytest tests/clients -q

echo "== pytest python/tests (strom for Python)"
.venv/bin/python -m pytest python/tests -q

# Node package (node/, the napi-rs addon of bindings/node): node:test suites against an
# embedded broker, against `strom serve` ($STROM_BIN) and with kafkajs. npm ci from the
# committed lockfile (@napi-rs/cli, kafkajs) when it changed; a debug build of the addon.
echo "== node package tests (node/)"
node_pkg_stamp=node/node_modules/.strom-lock-sha256
node_pkg_sum=$(sha256sum node/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$node_pkg_stamp" 2>/dev/null)" != "$node_pkg_sum" ]; then
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
    export npm_config_nodedir=/usr
  fi
  (cd node && npm ci --no-audit --no-fund)
  echo "$node_pkg_sum" >"$node_pkg_stamp"
fi
(cd node && npm run --silent build:debug)
node --test node/tests/
