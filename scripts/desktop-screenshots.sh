#!/usr/bin/env bash
# Takes the README's screenshots of the desktop app from the real window,
# under Xvfb: assets/screenshots/desktop.png (two devices on a note
# through a --dev relay), calendar-week.png (the demo week) and
# calendar-editor.png (an event's editor with the date picker open).
#
#   scripts/desktop-screenshots.sh [OUT_DIR]    (default: assets/screenshots)
#
# Needs (Debian): xvfb xdotool imagemagick and the Mesa GL libraries the
# README lists. Builds the debug `concord` and `concord-relay` (set
# CARGO_TARGET_DIR to share a build). The clicks are at fixed points of
# the 1100x720 window; look at the pictures before committing them.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$repo/assets/screenshots}")
mkdir -p "$out"
cd "$repo"
cargo build --quiet -p concord-desktop -p concord-relay --bins
bin="${CARGO_TARGET_DIR:-$repo/target}/debug"
concord="$bin/concord"

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# Times as a reader in Berlin sees them (the demo week is in that zone).
export TZ=Europe/Berlin

display=90
while [ -e "/tmp/.X$display-lock" ]; do display=$((display + 1)); done
export DISPLAY=":$display"
Xvfb "$DISPLAY" -screen 0 2400x800x24 >"$tmp/xvfb.log" 2>&1 &
pids+=($!)
sleep 1

"$bin/concord-relay" --dev --listen 127.0.0.1:0 --data "$tmp/relay" >"$tmp/relay.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
    addr=$(sed -n 's/^listening on //p' "$tmp/relay.log")
    [ -n "$addr" ] && break
    sleep 0.2
done
relay="ws://$addr"

# Starts the window on store $1: its process in $pid, its X window in
# $win once it is there.
window() {
    "$concord" --data "$tmp/$1" --relay "$relay" >"$tmp/$1.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    win=$(timeout 60 xdotool search --sync --pid "$pid" | head -1)
}

# The laptop's first start makes the demo calendar; then notes from the
# command line, shared with a second device.
laptop() { "$concord" --data "$tmp/laptop" --relay "$relay" "$@"; }
window laptop
sleep 4
kill "$pid"
wait "$pid" || true
id=$(laptop doc new "Meeting notes 3 Dec")
laptop doc append "$id" "Present: Ada, Grace, Alan

- Release on the 15th; Grace writes the notes.
- Calendar import: test files from three calendar apps.
- Next meeting: Thursday, 10:00." >/dev/null
id=$(laptop doc new "Reading list")
laptop doc append "$id" "The Left Hand of Darkness
Invisible Cities
Gödel, Escher, Bach (again)" >/dev/null
id=$(laptop doc new "Trip to Lisbon")
laptop doc append "$id" "Trip to Lisbon — plan

Flights: Thu 08:40 from Berlin, back Sunday evening.
Hotel: Alfama, two rooms, breakfast included.

Day 1: Castelo de São Jorge, tram 28, dinner in Bairro Alto.
Day 2: Belém (tower, monastery, pastéis), MAAT in the afternoon.
Day 3: Sintra — Pena palace; take the 9:10 train from Rossio.

Open questions:
- Who books the Sintra tickets?
- Budget per person: 450 € including flights?" >/dev/null
laptop sync --once >/dev/null
"$concord" --data "$tmp/phone" --relay "$relay" doc open "$(laptop doc share "$id")" >/dev/null
"$concord" --data "$tmp/phone" --relay "$relay" sync --once >/dev/null

# Both windows on the note (the phone's out of the picture): synced, and
# each sees the other.
window phone
xdotool windowmove "$win" 1250 0
window laptop
sleep 8
import -window "$win" "$out/desktop.png"
echo "wrote $out/desktop.png"

# The demo week on a new device: its first start opens it. Select the
# Monday stand-up (09:30); then open Weekly planning (Monday 10:00) and
# its start date's picker.
window calendar
xdotool windowmove "$win" 0 0
sleep 6
xdotool mousemove --window "$win" 356 245 click 1
sleep 2
import -window "$win" "$out/calendar-week.png"
echo "wrote $out/calendar-week.png"
xdotool mousemove --window "$win" 356 285 click --repeat 2 --delay 80 1
sleep 2
xdotool mousemove --window "$win" 852 236 click 1
sleep 2
import -window "$win" "$out/calendar-editor.png"
echo "wrote $out/calendar-editor.png"
