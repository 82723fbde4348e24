#!/usr/bin/env bash
# Builds the web demo into web-demo/dist/: the core compiled to WebAssembly
# (wasm-bindgen --target web) plus the static page. No bundler, no npm at
# run time: the relay serves dist/ as it is (`concord-relay --web web-demo/dist`).
#
# Needs: rustup target wasm32-unknown-unknown, and wasm-bindgen-cli of exactly
# the version the crate pins (.ci/run installs both).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
dist="$here/dist"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

want=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' "$root/Cargo.toml")
if ! command -v wasm-bindgen >/dev/null 2>&1; then
  echo "error: wasm-bindgen-cli is missing: cargo install wasm-bindgen-cli --version $want --no-default-features --bin wasm-bindgen" >&2
  exit 1
fi
have=$(wasm-bindgen --version | awk '{print $2}')
if [ "$have" != "$want" ]; then
  echo "error: wasm-bindgen-cli $have, but the crate pins wasm-bindgen =$want: cargo install wasm-bindgen-cli --version $want --force --no-default-features --bin wasm-bindgen" >&2
  exit 1
fi

# Release, without debug info (the workspace's release profile keeps line
# tables for native profiling; a browser download should not carry them).
CARGO_PROFILE_RELEASE_DEBUG=0 cargo build --manifest-path "$root/Cargo.toml" \
  -p concord-web --lib --release --target wasm32-unknown-unknown

rm -rf "$dist"
mkdir -p "$dist"
wasm-bindgen --target web --out-dir "$dist" --out-name concord_web \
  "$target_dir/wasm32-unknown-unknown/release/concord_web.wasm"
cp "$here"/static/* "$dist/"
echo "built $dist ($(du -sh "$dist" | cut -f1))"
