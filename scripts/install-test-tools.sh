#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, each piece
# only when it is missing (a warm machine pays a second or two):
#
#   cc           a C compiler and libc headers, to link and to build SQLite (apt: gcc libc6-dev)
#   kill         /usr/bin/kill, which the relay tests send SIGTERM with   (apt: procps)
#   wasm-target  the wasm32-unknown-unknown target, for the web demo      (rustup target add)
#   wasm-bindgen wasm-bindgen-cli of exactly the version Cargo.toml pins  (cargo install, ~4 min once)
#   node         Node 20 or newer and npm, for the browser tests          (apt: nodejs npm)
#   chromium     the browser the web demo's tests drive                   (apt: chromium, ~1 min once)
#   postgresql   PostgreSQL's programs; the relay's PostgreSQL tests start
#                throwaway clusters with them (initdb, pg_ctl)             (apt: postgresql, ~30 s once)
#   npm          playwright-core in web-demo/node_modules                 (npm ci, seconds)
#
#   scripts/install-test-tools.sh            # all of them, in this order
#   scripts/install-test-tools.sh wasm-target wasm-bindgen
#
# System packages come from apt (Debian, Ubuntu), as root or through sudo.
# Where something can't be installed (no apt, no root and no sudo, a too
# old Node) it stops and says what to install by hand. `./test.sh` runs this
# first; it never downloads a browser or a toolchain from anywhere else.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

say() { echo "test tools: $*"; }
fail() {
  echo "test tools: error: $*" >&2
  exit 1
}

# --- apt, as root or through sudo -----------------------------------------

apt_updated=""
apt_install() {
  # apt_install WHAT PACKAGE...: installs Debian packages or says why it can't.
  local what="$1"
  shift
  if ! command -v apt-get >/dev/null 2>&1; then
    fail "$what is missing, and there is no apt-get here to install it: install the packages '$*' (Debian names) with your system's package manager, then run this again"
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      fail "$what is missing; installing it needs root, and sudo is not here: as root run 'apt-get update && apt-get install $*', then run this again"
    fi
    sudo=(sudo)
    say "installing $what needs root: asking sudo"
  fi
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    "${sudo[@]}" apt-get update -qq || fail "apt-get update failed (network? root?): install '$*' by hand, then run this again"
    apt_updated=1
  fi
  say "installing $what (apt-get install $*)"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null \
    || fail "apt-get install $* failed: install it by hand, then run this again"
}

# --- each tool ---------------------------------------------------------------

need_cc() {
  if command -v cc >/dev/null 2>&1; then
    say "ok: C compiler ($(command -v cc))"
    return
  fi
  apt_install "a C compiler" gcc libc6-dev
  command -v cc >/dev/null 2>&1 || fail "still no 'cc' after installing gcc"
}

need_kill() {
  if type -P kill >/dev/null 2>&1; then
    say "ok: kill ($(type -P kill))"
    return
  fi
  apt_install "the kill program" procps
}

need_wasm_target() {
  local sysroot
  sysroot="$(rustc --print sysroot)"
  if [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib" ]; then
    say "ok: Rust target wasm32-unknown-unknown"
    return
  fi
  if ! command -v rustup >/dev/null 2>&1; then
    fail "the Rust target wasm32-unknown-unknown is missing from $sysroot and there is no rustup to add it: install the target for this toolchain (its rust-std for wasm32-unknown-unknown), then run this again"
  fi
  say "installing the Rust target wasm32-unknown-unknown (rustup target add; under a minute)"
  rustup target add wasm32-unknown-unknown \
    || fail "rustup target add wasm32-unknown-unknown failed: the web demo cannot be built without it"
}

wasm_bindgen_pinned() {
  sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' "$root/Cargo.toml"
}

need_wasm_bindgen() {
  local want have
  want="$(wasm_bindgen_pinned)"
  [ -n "$want" ] || fail "no 'wasm-bindgen = \"=X.Y.Z\"' line in Cargo.toml to read the pinned version from"
  have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
  if [ "$have" = "$want" ]; then
    say "ok: wasm-bindgen-cli $want"
    return
  fi
  if [ -n "$have" ]; then
    say "wasm-bindgen-cli is $have, the crate pins $want: replacing it"
  fi
  # Only the `wasm-bindgen` binary, without TLS (it downloads nothing):
  # about a minute less than the default install. Not --locked: that fails.
  say "installing wasm-bindgen-cli $want (cargo install; about 4 minutes on 2 cores, once)"
  cargo install wasm-bindgen-cli --version "$want" --force --quiet \
    --no-default-features --bin wasm-bindgen \
    || fail "cargo install wasm-bindgen-cli --version $want failed"
  # cargo puts it in $CARGO_HOME/bin; say so if that is not on PATH.
  if ! command -v wasm-bindgen >/dev/null 2>&1; then
    fail "wasm-bindgen-cli is installed in ${CARGO_HOME:-$HOME/.cargo}/bin, which is not on PATH: add it to PATH, then run this again"
  fi
}

need_node() {
  local missing=()
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    apt_install "Node.js (${missing[*]})" "${missing[@]}"
  fi
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -lt 20 ]; then
    fail "Node $(node --version) is too old: playwright-core (web-demo/package-lock.json) needs Node 20 or newer (Debian 12's own nodejs is 18; Debian 13 has 20). Install Node 20+ and run this again"
  fi
  say "ok: Node $(node --version), npm $(npm --version)"
}

need_chromium() {
  local chromium="${CONCORD_CHROMIUM:-/usr/bin/chromium}"
  if [ -x "$chromium" ]; then
    say "ok: Chromium ($chromium)"
    return
  fi
  if [ -n "${CONCORD_CHROMIUM:-}" ]; then
    fail "CONCORD_CHROMIUM=$CONCORD_CHROMIUM is not an executable: point it at a Chromium, or unset it to use Debian's /usr/bin/chromium"
  fi
  apt_install "Chromium (the web demo's tests drive it; about 350 MB, a minute)" chromium
  [ -x /usr/bin/chromium ] \
    || fail "the chromium package did not provide /usr/bin/chromium (on Ubuntu it is a snap): set CONCORD_CHROMIUM to a Chromium binary, then run this again"
}

need_postgresql() {
  # The tests run initdb/pg_ctl from Debian's /usr/lib/postgresql/VERSION/bin
  # (or CONCORD_PG_BIN) as an unprivileged user; no server is left running.
  if [ -n "${CONCORD_PG_BIN:-}" ]; then
    [ -x "$CONCORD_PG_BIN/initdb" ] \
      || fail "CONCORD_PG_BIN=$CONCORD_PG_BIN has no initdb: point it at PostgreSQL's bin directory, or unset it"
    say "ok: PostgreSQL ($CONCORD_PG_BIN)"
    return
  fi
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -n "$bin" ] && [ -x "$bin/initdb" ]; then
    say "ok: PostgreSQL ($bin)"
    return
  fi
  # Only the programs: Debian's postgresql package makes a cluster and
  # starts it where services run; the tests never use that one.
  apt_install "PostgreSQL (the relay's PostgreSQL tests start throwaway clusters)" postgresql
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  [ -n "$bin" ] && [ -x "$bin/initdb" ] \
    || fail "the postgresql package did not provide /usr/lib/postgresql/*/bin/initdb: install PostgreSQL and set CONCORD_PG_BIN to its bin directory"
}

need_npm_packages() {
  # Up to date when every package of the lock file is installed at its
  # locked version; otherwise `npm ci` (never downloads a browser).
  if (cd "$root/web-demo" && node -e '
      const lock = require("./package-lock.json");
      for (const [path, entry] of Object.entries(lock.packages)) {
        if (!path) continue;
        let installed;
        try { installed = require("./" + path + "/package.json").version; } catch { process.exit(1); }
        if (installed !== entry.version) process.exit(1);
      }') 2>/dev/null; then
    say "ok: web-demo/node_modules matches package-lock.json"
    return
  fi
  say "installing web-demo's Node packages (npm ci; playwright-core, no browser download)"
  (cd "$root/web-demo" && npm ci --no-audit --no-fund --loglevel=error) \
    || fail "npm ci in web-demo/ failed"
}

# ------------------------------------------------------------------------------

all=(cc kill wasm-target wasm-bindgen node chromium postgresql npm)
[ $# -gt 0 ] || set -- "${all[@]}"
for tool in "$@"; do
  case "$tool" in
    cc) need_cc ;;
    kill) need_kill ;;
    wasm-target) need_wasm_target ;;
    wasm-bindgen) need_wasm_bindgen ;;
    node) need_node ;;
    chromium) need_chromium ;;
    postgresql) need_postgresql ;;
    npm)
      command -v node >/dev/null 2>&1 || need_node
      need_npm_packages
      ;;
    *) fail "unknown tool '$tool' (known: ${all[*]})" ;;
  esac
done
