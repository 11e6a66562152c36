#!/usr/bin/env bash
# Builds the Python package (python/ over bindings/python) as a release abi3 wheel with maturin
# and installs it into .venv, unless the sources are unchanged since the last install.
# Used by scripts/test.sh and scripts/bench-python.sh; expects .venv with
# python/requirements-test.txt installed (maturin comes from there).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=$(cargo metadata --format-version 1 --no-deps | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
stamp=.venv/.strom-python-sha256
# Everything the wheel is built from (tracked and new files; tests excluded).
sum=$(git ls-files -co --exclude-standard -- Cargo.toml Cargo.lock core bindings/python python \
  | grep -v '^python/tests/' | sort | while read -r f; do if [ -f "$f" ]; then echo "$f"; fi; done \
  | xargs sha256sum | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ] && .venv/bin/python -c 'import strom' 2>/dev/null; then
  echo "strom Python package up to date"
  exit 0
fi
wheels="$target_dir/wheels"
rm -rf "$wheels"
(cd python && ../.venv/bin/maturin build --release --quiet -o "$wheels" -i ../.venv/bin/python)
.venv/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/strom-*.whl
echo "$sum" >"$stamp"
