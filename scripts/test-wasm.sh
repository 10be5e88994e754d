#!/usr/bin/env bash
# Tests the built npm package `weft-crdt` (wasm/pkg) with node's test runner: API, convergence,
# events, UTF-16, errors, memory, typings (tsc), packaging (plain node ESM, a Vite build), the
# README examples and the size bar. Builds the package first when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f wasm/pkg/weft_wasm_bg.wasm ] || bash scripts/build-wasm.sh
node --test --expose-gc wasm/test/*.test.mjs
