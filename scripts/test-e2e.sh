#!/usr/bin/env bash
# Browser end-to-end tests: a real weft-server (temporary data directory, free port) and headless
# Debian Chromium driven by playwright-core. Builds what it needs first; each step is quick when
# already done. Writes docs/demo.png.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "test-e2e: $chromium not found (scripts/setup.sh installs Debian's chromium)" >&2
  exit 1
fi

# The npm package, unless it is newer than every source it is built from.
wasm=wasm/pkg/weft_wasm_bg.wasm
if [ ! -f "$wasm" ] || [ -n "$(find crdt/src crdt/Cargo.toml wasm/src wasm/js wasm/Cargo.toml Cargo.lock -newer "$wasm" -print -quit)" ]; then
  bash scripts/build-wasm.sh
fi
npm run typecheck -w web-demo
npm run build -w web-demo
cargo build -p weft-server --locked

export WEFT_SERVER_BIN="${WEFT_SERVER_BIN:-${CARGO_TARGET_DIR:-target}/debug/weft-server}"
export CHROMIUM_PATH="$chromium"
node --test e2e/
