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
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
log_tail=60
require_tools "pcscd opensc util-linux iproute2" pcscd opensc-tool unshare ip
require_file "$vpcd_driver" "the vpcd driver" vsmartcard-vpcd

if ! in_private_ns; then
  cargo build -q -p cardwire-vpcd --example vpcd_testcard
  cargo test -q -p cardwire-pcsc --features backend --test pcsc_session --no-run
fi
enter_private_ns --net "$@"
# Inside the private namespaces from here on.
start_work
locate_target
session_tests() {
  cargo test -q -p cardwire-pcsc --features backend --test pcsc_session -- --ignored --test-threads=1 "$@"
}

say "phase 1: reversed mode"
start_testcard "$work/conf1"
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
  forget "$test_pid"
  cat "$work/restart-test.log"
  fail "pcscd restart test"
fi
forget "$test_pid"
cat "$work/restart-test.log"
stop "$pcscd_pid"

say "phase 2: removal and re-insertion (the driver's default mode)"
vpcd_entry "$work/conf2/cardwire-vpcd" "cardwire removable" 35963
start_pcscd "$work/conf2" "$work/pcscd2.log"
"$testcard" --connect 35963 >"$work/testcard2.log" 2>&1 &
pids+=("$!")
wait_for 15 "the removable reader with the card" reader_has_card "cardwire removable 00 00"
CARDWIRE_PCSC_READER="cardwire removable 00 00" session_tests removable::

say "done in $(( $(date +%s) - t0 ))s"
