#!/usr/bin/env bash
# Builds the `weft-crdt` npm package into wasm/pkg/: the size-optimised wasm-release build of
# crate weft-wasm, wasm-bindgen (--target web), wasm-opt -Os when npm's binaryen is installed,
# and the package's hand-written entries and typings from wasm/js/.
set -euo pipefail
cd "$(dirname "$0")/.."

# The wasm32 target and the wasm-bindgen CLI pinned by Cargo.lock (installed once; quick after).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "wasm-bindgen CLI $want is missing (found: ${have:-none}); installing it (about 10 minutes)"
  cargo install wasm-bindgen-cli --version "$want"
fi

# Panic locations name source files; strip this machine's paths from them (the project
# directory and the registry's source directories), which also makes the module smaller.
remap="--remap-path-prefix=$PWD/="
for src in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  remap="$remap --remap-path-prefix=$src="
done

# Keep the custom sections while wasm-bindgen reads the module (it detects the enabled wasm
# features from them); wasm-opt strips them afterwards.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$remap" CARGO_PROFILE_WASM_RELEASE_STRIP=false \
  cargo build -p weft-wasm --target wasm32-unknown-unknown --profile wasm-release --locked

out=wasm/pkg
rm -f "$out"/*.js "$out"/*.d.ts "$out"/*.wasm
rm -rf "$out/snippets"
wasm-bindgen --target web --out-dir "$out" --out-name weft_wasm \
  "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/wasm-release/weft_wasm.wasm"
rm -f "$out/weft_wasm_bg.wasm.d.ts"
# The package entries (wasm/js/node.js, browser.js) initialise the module themselves; drop the
# declarations of the generated init functions, whose DOM types would burden node projects.
node -e '
  const fs = require("fs");
  const file = process.argv[1];
  const dts = fs.readFileSync(file, "utf8");
  const cut = dts.indexOf("export type InitInput");
  if (cut < 0) { console.error("build-wasm: init declarations not found in " + file); process.exit(1); }
  fs.writeFileSync(file, dts.slice(0, cut).trimEnd() + "\n");
' "$out/weft_wasm.d.ts"
cp wasm/js/*.js wasm/js/*.d.ts "$out/"

if [ -x node_modules/.bin/wasm-opt ]; then
  # The features rustc enables by default for wasm32-unknown-unknown, and nothing more.
  # --flatten --rereloop rebuilds every function's control flow before -Os, which then finds
  # more to merge; --converge repeats -Os while it still shrinks the module.
  # --low-memory-unused lets wasm-opt fold constant address offsets: it holds for Rust, which
  # never computes a pointer into the first 1 KiB by wrapping around the 4 GiB address space.
  # --reorder-functions-by-name puts the copies of one generic function next to each other,
  # which gzip compresses better (it needs the name section, stripped right after).
  # -ocimfs 30 inlines a function into its only caller only when it is small (at most 30
  # instructions; by default any size): the module grows by 2.5%, but its gzipped size
  # shrinks by about 6%, since separate functions repeat each other's byte patterns (locals
  # numbered from zero, the same prologues) where one large body does not. For the same
  # reason -Os ends up smaller than -Oz once gzipped (0.3%), though 3% larger before.
  # --strip-target-features drops the features section, which engines do not read (131 bytes).
  node_modules/.bin/wasm-opt --low-memory-unused --flatten --rereloop -Os -Os --converge \
    -ocimfs 30 --reorder-functions-by-name --strip-debug --strip-producers --strip-target-features \
    --enable-bulk-memory --enable-mutable-globals --enable-sign-ext \
    --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
    "$out/weft_wasm_bg.wasm" -o "$out/weft_wasm_bg.wasm"
else
  echo "note: node_modules/.bin/wasm-opt not found (npm ci installs it); the .wasm is not optimised further"
fi

printf 'built %s: weft_wasm_bg.wasm %s bytes, %s gzipped\n' "$out" \
  "$(wc -c < "$out/weft_wasm_bg.wasm")" "$(gzip -9c "$out/weft_wasm_bg.wasm" | wc -c)"
