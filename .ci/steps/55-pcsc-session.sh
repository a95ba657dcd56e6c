#!/usr/bin/env bash
# Session guarantees through a real pcscd (crates/pcsc/tests/pcsc_session.rs): transactions
# that hold, the reset after a verified PIN, a reset by another client (a second connection,
# and opensc-tool as a second process) mid-session, pcscd stopped and restarted mid-session,
# the card removed and re-inserted mid-session. Each must give the documented outcome
# (docs/ARCHITECTURE.md, "Session guarantees") and never a wrong answer.
#
# pcscd runs in a private mount namespace (its own tmpfs on /run/pcscd, so its socket and pid
# file are its own) and a private network namespace (the vpcd driver's TCP ports are its own),
# so a pcscd elsewhere on the machine is neither disturbed nor used. Everything this script
# starts is stopped by PID.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never
fail() { echo "55-pcsc-session: FAILED: $*" >&2; exit 1; }
for tool in pcscd opensc-tool unshare ip; do
  command -v "$tool" >/dev/null || fail "$tool is missing (Debian: pcscd opensc util-linux iproute2)"
done
driver=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
[ -e "$driver" ] || fail "the vpcd driver is missing (Debian: vsmartcard-vpcd)"

if [ -z "${CARDWIRE_PCSC_SESSION_NS:-}" ]; then
  cargo build -q -p cardwire-vpcd --example vpcd_testcard
  cargo test -q -p cardwire-pcsc --features backend --test pcsc_session --no-run
  # Namespaces need root; elsewhere a user namespace maps us to root inside them.
  ns=(unshare --mount --net --propagation private)
  [ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --mount --net --propagation private)
  exec env CARDWIRE_PCSC_SESSION_NS=1 "${ns[@]}" bash "$self" "$@"
fi

# Inside the private namespaces from here on.
ip link set lo up
mkdir -p /run/pcscd
mount -t tmpfs -o size=1m cardwire-pcscd /run/pcscd
unset PCSCLITE_CSOCK_NAME

t0=$(date +%s)
say() { echo "--- [$(( $(date +%s) - t0 ))s] $*"; }
work=$(mktemp -d /tmp/cardwire-pcsc-session.XXXXXX)
pids=()
cleanup() {
  local status=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    for log in "$work"/*.log; do [ -e "$log" ] && { echo "=== $log"; tail -n 60 "$log"; }; done
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
stop() { # stop PID: stops one process we started and forgets it
  local pid=$1 rest=()
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${pids[@]}"; do [ "$p" = "$pid" ] || rest+=("$p"); done
  pids=("${rest[@]}")
}
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  local until=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$until" ] || fail "timed out after ${secs}s waiting for $what"
    sleep 0.1
  done
}
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
testcard="$target/debug/examples/vpcd_testcard"
session_tests() {
  cargo test -q -p cardwire-pcsc --features backend --test pcsc_session -- --ignored --test-threads=1 "$@"
}
start_pcscd() { # start_pcscd CONFDIR LOG
  pcscd --foreground -d -c "$1" >>"$2" 2>&1 &
  pcscd_pid=$!
  pids+=("$pcscd_pid")
}
reader_has_card() { opensc-tool -r "$1" --atr; }

say "phase 1: reversed mode"
mkdir -p "$work/conf1"
"$testcard" 35990 --conf "$work/conf1/cardwire-vpcd" >"$work/testcard.log" 2>&1 &
pids+=("$!")
wait_for 10 "the test card server" grep -q '^ready' "$work/testcard.log"
start_pcscd "$work/conf1" "$work/pcscd.log"
wait_for 15 "the reader with the card" reader_has_card "cardwire vpcd 00 00"
session_tests shared::

say "pcscd stopped and restarted mid-session"
sync_dir="$work/sync"; mkdir -p "$sync_dir"
CARDWIRE_PCSC_SYNC="$sync_dir" session_tests restart:: >"$work/restart-test.log" 2>&1 &
test_pid=$!; pids+=("$test_pid")
wait_for 60 "the test to ask for the stop" test -e "$sync_dir/want-stop"
stop "$pcscd_pid"
touch "$sync_dir/done-stop"
wait_for 60 "the test to ask for the start" test -e "$sync_dir/want-start"
start_pcscd "$work/conf1" "$work/pcscd.log"
wait_for 15 "the reader with the card after the restart" reader_has_card "cardwire vpcd 00 00"
touch "$sync_dir/done-start"
if ! wait "$test_pid"; then
  pids=("${pids[@]/$test_pid}")
  cat "$work/restart-test.log"
  fail "pcscd restart test"
fi
pids=("${pids[@]/$test_pid}")
cat "$work/restart-test.log"
stop "$pcscd_pid"

say "phase 2: removal and re-insertion (the driver's default mode)"
mkdir -p "$work/conf2"
printf 'FRIENDLYNAME "cardwire removable"\nDEVICENAME   /dev/null:35963\nLIBPATH      %s\n' \
  "$driver" >"$work/conf2/cardwire-vpcd"
start_pcscd "$work/conf2" "$work/pcscd2.log"
"$testcard" --connect 35963 >"$work/testcard2.log" 2>&1 &
pids+=("$!")
wait_for 15 "the removable reader with the card" reader_has_card "cardwire removable 00 00"
CARDWIRE_PCSC_READER="cardwire removable 00 00" session_tests removable::

say "done in $(( $(date +%s) - t0 ))s"
