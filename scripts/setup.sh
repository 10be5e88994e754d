#!/usr/bin/env bash
# Installs everything Weft's build and tests need on a bare Debian machine that has the Rust
# toolchain, node and npm. Each step is skipped quickly when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# 1. The wasm32 target (rustup does not install targets on demand here).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "installing the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 2. wasm-bindgen CLI at exactly the library version pinned in Cargo.lock.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ -z "$want" ]; then echo "error: wasm-bindgen not found in Cargo.lock" >&2; exit 1; fi
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  step "installing wasm-bindgen-cli $want (about 10 minutes on 2 cores)"
  # Not --locked: the locked build fails on one dependency's index entry on these machines.
  cargo install wasm-bindgen-cli --version "$want"
fi

# 3. npm dependencies, reinstalled only when package-lock.json changes.
stamp=node_modules/.weft-lock-sha256
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  step "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
  echo "$lock_sum" > "$stamp"
fi

# 4. Chromium for the browser tests (Debian's package; never a downloaded browser).
if [ "${WEFT_SKIP_BROWSER:-0}" != "1" ] && ! command -v chromium >/dev/null 2>&1; then
  step "installing Debian's chromium and chromium-driver"
  sudo_cmd=""
  if [ "$(id -u)" != "0" ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium chromium-driver
fi
