#!/usr/bin/env bash
# Builds the web demo into web-demo/dist/: the core compiled to WebAssembly
# (wasm-bindgen --target web) plus the static page. No bundler, no npm at
# run time: the relay serves dist/ as it is (`concord-relay --web web-demo/dist`).
#
# Needs the wasm32-unknown-unknown target and wasm-bindgen-cli of exactly the
# version the crate pins; installs them first if missing
# (scripts/install-test-tools.sh: seconds for the target, ~4 min for the CLI).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
dist="$here/dist"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

"$root/scripts/install-test-tools.sh" cc wasm-target wasm-bindgen

# The `wasm` profile (Cargo.toml): release built for size, without debug
# info; the function-name section is left out too (a browser download
# should not carry what only a debugger reads).
cargo build --manifest-path "$root/Cargo.toml" \
  -p concord-web --lib --profile wasm --target wasm32-unknown-unknown

rm -rf "$dist"
mkdir -p "$dist"
wasm-bindgen --target web --remove-name-section --remove-producers-section \
  --out-dir "$dist" --out-name concord_web \
  "$target_dir/wasm32-unknown-unknown/wasm/concord_web.wasm"
cp "$here"/static/* "$dist/"
echo "built $dist ($(du -sh "$dist" | cut -f1))"
