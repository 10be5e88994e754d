#!/usr/bin/env bash
# Command 1: builds what is needed (npm package, demo, server) and runs weft-server on 127.0.0.1
# serving the demo editor, with its embedded store in ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
WEFT_SKIP_BROWSER=1 bash scripts/setup.sh
bash scripts/build-wasm.sh
npm run build -w web-demo
cargo build --release -p weft-server --locked
exec target/release/weft-server --bind "127.0.0.1:${PORT:-8080}" --data-dir "${WEFT_DATA_DIR:-data}" \
  --static-dir web-demo/dist --pkg-dir wasm/pkg "$@"
