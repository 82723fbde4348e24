#!/usr/bin/env bash
# Runs every test of the workspace, from a fresh clone, on a machine that
# has only the Rust toolchain (rustup and cargo):
#
#   1. installs what the tests need and the machine lacks, each piece only
#      if missing (scripts/install-test-tools.sh: a C compiler, the
#      wasm32-unknown-unknown target, wasm-bindgen-cli of the pinned
#      version, Node and npm, Debian's Chromium, Debian's PostgreSQL, whose
#      programs the relay's PostgreSQL tests start throwaway clusters with,
#      `npm ci` in web-demo/);
#   2. builds the web demo (web-demo/build.sh), which the browser tests serve;
#   3. runs `cargo test` over the default workspace members (arguments are
#      passed on: `./test.sh -p concord-core`).
#
# System packages come from apt, as root or through sudo; where that is not
# possible it stops and says what to install. README.md has the measured
# times of a first and a later run.
set -euo pipefail
cd "$(dirname "$0")"

echo "./test.sh: installs what the tests need if missing (C compiler, wasm32 target,"
echo "  wasm-bindgen-cli, Node, Chromium, PostgreSQL, web-demo's npm packages), builds the web demo,"
echo "  then runs cargo test. On 2 cores a first run takes about 20 min (installing ~5,"
echo "  building ~11, testing ~3); a later run about 2 min."

echo "== test tools (each installed only if missing)"
scripts/install-test-tools.sh

echo "== web demo (web-demo/build.sh)"
web-demo/build.sh

echo "== cargo test $*"
exec cargo test "$@"
