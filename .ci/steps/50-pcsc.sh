#!/usr/bin/env bash
# The real PC/SC stack: pcscd + vsmartcard's vpcd driver + the cardwire test card
# (crates/vpcd/examples/vpcd_testcard.rs), driven by cardwire's PC/SC backend
# (crates/pcsc/tests/pcsc_real.rs), by opensc-tool and scriptor, and by the cardwire CLI.
# See docs/PCSC.md for why it is set up this way. Needs root (pcscd writes /run/pcscd; the
# removal phase uses a private network namespace). Stops everything it starts, by PID.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

require_tools "pcscd opensc pcsc-tools" pcscd opensc-tool scriptor
require_file "$vpcd_driver" "the vpcd driver" vsmartcard-vpcd
if [ -e /run/pcscd/pcscd.pid ] && kill -0 "$(cat /run/pcscd/pcscd.pid 2>/dev/null)" 2>/dev/null; then
  fail "a pcscd is already running (pid $(cat /run/pcscd/pcscd.pid)); stop it first"
fi
start_work

say "build (cardwire-pcsc, cardwire-vpcd, the CLI with its pcsc feature)"
cargo build -q -p cardwire-vpcd --example vpcd_testcard
cargo test -q -p cardwire-pcsc --features backend --test pcsc_real --no-run
cargo build -q -p cardwire-cli --features pcsc
locate_target
pcsc_real() {
  cargo test -q -p cardwire-pcsc --features backend --test pcsc_real -- --ignored --test-threads=1 "$@"
}

say "phase 1: reversed mode (the driver connects to 127.0.0.1:35990 and :35991)"
start_testcard "$work/conf1"
start_pcscd "$work/conf1" "$work/pcscd.log"
wait_for 15 "the reader with the card" reader_has_card "cardwire vpcd 00 00"
wait_for 10 "the second slot" reader_has_card "cardwire vpcd 00 01"

say "cardwire PC/SC backend against pcscd"
pcsc_real running::

say "opensc-tool"
out=$(opensc-tool -r "cardwire vpcd 00 00" --atr)
[ "$out" = "3b:85:80:01:80:73:c0:21:80:96" ] || fail "opensc-tool --atr printed: $out"
out=$(opensc-tool -r "cardwire vpcd 00 00" -s 00A4000C022F01 -s 00B0000000 2>&1)
grep -q 'SW1=0x62, SW2=0x82' <<<"$out" && grep -q 'cardwire test ca' <<<"$out" \
  || fail "opensc-tool READ BINARY: $out"
# 600 bytes: opensc sends the GET RESPONSEs itself and prints one 600-byte answer.
out=$(opensc-tool -r "cardwire vpcd 00 00" -s 00CA010100 2>&1)
bytes=$(grep -E '^([0-9A-F]{2} )+' <<<"$out" | cut -c1-48 | wc -w)
grep -q 'SW1=0x90, SW2=0x00' <<<"$out" && [ "$bytes" -eq 600 ] \
  || fail "opensc-tool GET DATA (61xx/GET RESPONSE) gave $bytes bytes: $out"
out=$(opensc-tool -r "cardwire vpcd 00 01" -s 10DA0102020102 -s 00DA01020103 -s 00CA010200 2>&1)
grep -q '^01 02 03 ' <<<"$out" || fail "opensc-tool chaining: $out"

say "scriptor"
out=$(printf '00 A4 00 0C 02 2F 01\n00 B0 00 00 00\n' | timeout 30 scriptor -r "cardwire vpcd 00 00" 2>&1)
grep -q '< 90 00 : Normal processing' <<<"$out" && grep -q '62 82 : ' <<<"$out" \
  || fail "scriptor: $out"

say "cardwire CLI"
out=$("$cardwire" readers)
grep -q 'cardwire vpcd 00 00' <<<"$out" && grep -qi '3B858001807' <<<"$out" || fail "cardwire readers: $out"
out=$("$cardwire" send --reader "cardwire vpcd 00 00" 00A4000C022F01 00B0000000)
grep -q 'cardwire test card' <<<"$out" || grep -qi '636172647769726520746573742063617264' <<<"$out" \
  || fail "cardwire send: $out"

if [ -x benches/pcsc_roundtrip.sh ]; then
  say "round trip through pcscd (cardwire vs bare pcsc crate)"
  benches/pcsc_roundtrip.sh || echo "(bench failed; not a CI failure)"
fi

say "pcscd stopped: typed 'service not running'"
stop "$pcscd_pid"
pcsc_real stopped::
out=$("$cardwire" readers 2>&1) && fail "cardwire readers succeeded without pcscd: $out"
grep -q 'not running' <<<"$out" || fail "cardwire readers without pcscd: $out"
stop "$card_pid"

say "phase 2: removal and re-insertion (default mode in a private network namespace)"
# The driver listens on all interfaces in its default mode: keep it in a namespace of its own.
vpcd_entry "$work/conf2/cardwire-vpcd" "cardwire removable" 35963
private_net_ns
start_pcscd "$work/conf2" "$work/pcscd2.log" "${ns[@]}"
"${ns[@]}" "$testcard" --connect 35963 >"$work/testcard2.log" 2>&1 &
pids+=("$!")
wait_for 15 "the removable reader with the card" reader_has_card "cardwire removable 00 00"
CARDWIRE_PCSC_READER="cardwire removable 00 00" pcsc_real removable::

say "clippy of the CLI with its pcsc feature"
# --no-deps: the workspace-wide clippy step lints the other crates (cardwire-pcsc included).
cargo clippy -p cardwire-cli --no-deps --features pcsc --all-targets -- -D warnings

say "done in $(( $(date +%s) - t0 ))s"
