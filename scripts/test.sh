#!/usr/bin/env bash
# Command 2: every check and test Weft has. Installs what it needs first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

stage() { printf '\n=== %s\n' "$*"; }
start=$(date +%s)

stage "setup"
bash scripts/setup.sh

stage "cargo fmt --check"
cargo fmt --all --check

stage "cargo clippy (every crate and target, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

stage "cargo clippy (wasm32 target of the npm package crate)"
cargo clippy -p weft-wasm --target wasm32-unknown-unknown --locked -- -D warnings

stage "Rust unit, integration and doc tests"
cargo test --workspace --exclude weft-bench --locked
cargo test -p weft-bench --lib --locked

stage "npm package: build and node tests"
npm run build:wasm
npm run test:wasm

stage "browser end-to-end tests (headless Chromium)"
npm run test:e2e

printf '\nall stages passed in %ss\n' "$(( $(date +%s) - start ))"
