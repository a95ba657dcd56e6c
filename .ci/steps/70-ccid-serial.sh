#!/usr/bin/env bash
# cardwire's CCID reader firmware logic (cardwire-ccid) as a serial reader on this machine,
# driven by pcscd's own CCID driver: `cardwire reader --serial PTY` announces itself to
# Debian's libccidtwin.so as a GemPC PinPad over a socat pseudo-terminal pair, with the virtual
# card behind a simulated UART (cardwire-link's card-side T=1, then T=0). Then real clients nobody here
# wrote — opensc-tool and scriptor — talk to the card through pcscd → libccid → CCID frames →
# cardwire-ccid → T=1 → the virtual card.
#
# pcscd runs in a private mount namespace with its own tmpfs on /run/pcscd and its own
# reader.conf.d directory, so a system pcscd on the machine is not disturbed. Everything this
# script starts is stopped by PID.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never
fail() { echo "70-ccid-serial: FAILED: $*" >&2; exit 1; }
for tool in pcscd opensc-tool scriptor socat unshare; do
  command -v "$tool" >/dev/null || fail "$tool is missing (Debian: pcscd opensc pcsc-tools socat util-linux)"
done
driver=/usr/lib/pcsc/drivers/serial/libccidtwin.so
[ -e "$driver" ] || fail "the serial CCID driver is missing (Debian: libccid)"

if [ -z "${CARDWIRE_CCID_PRIVATE_NS:-}" ]; then
  cargo build -q -p cardwire-cli --features pcsc
  # A mount namespace needs root; elsewhere a user namespace maps us to root inside it.
  ns=(unshare --mount --propagation private)
  [ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --mount --propagation private)
  exec env CARDWIRE_CCID_PRIVATE_NS=1 "${ns[@]}" bash "$self" "$@"
fi

# Inside the private namespace from here on.
mkdir -p /run/pcscd
mount -t tmpfs -o size=1m cardwire-pcscd /run/pcscd

work=$(mktemp -d /tmp/cardwire-ccid-serial.XXXXXX)
pids=()
cleanup() {
  local status=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    for log in "$work"/*.log; do [ -e "$log" ] && { echo "=== $log"; tail -n 60 "$log"; }; done
  fi
  if [ -n "${CARDWIRE_KEEP_LOGS:-}" ]; then cp "$work"/*.log "$CARDWIRE_KEEP_LOGS"/ 2>/dev/null || true; fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  local until=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$until" ] || fail "timed out after ${secs}s waiting for $what"
    sleep 0.1
  done
}

target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
cardwire="$target/debug/cardwire"

# One session per protocol of the virtual card: socat, cardwire reader and pcscd are started
# afresh (pcscd reads the ATR once per card insertion) and stopped by PID afterwards.
stop_session() {
  local p
  for p in "${session[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${session[@]}"; do wait "$p" 2>/dev/null || true; done
  session=()
}

run_session() { # run_session t1|t0 EXPECTED_ATR
  local proto=$1 expected_atr=$2 dir="$work/$1"
  mkdir -p "$dir/conf"
  session=()
  echo "=== the virtual card speaking ${proto^^} (cardwire reader --protocol $proto)"
  socat pty,raw,echo=0,link="$dir/host" pty,raw,echo=0,link="$dir/reader" 2>"$work/socat-$proto.log" &
  session+=("$!"); pids+=("$!")
  wait_for 10 "the pseudo-terminal pair" test -e "$dir/reader" -a -e "$dir/host"

  "$cardwire" reader --serial "$dir/reader" --protocol "$proto" --state "$work/card.state" \
    --keypad-pin 123456 >"$work/reader-$proto.log" 2>&1 &
  session+=("$!"); pids+=("$!")
  wait_for 20 "cardwire reader" grep -q '^cardwire CCID reader' "$work/reader-$proto.log"

  cat >"$dir/conf/cardwire-ccid" <<CONF
FRIENDLYNAME "cardwire CCID"
DEVICENAME   $dir/host:GemPCPinPad
LIBPATH      $driver
CONF
  LIBCCID_ifdLogLevel=0x000F pcscd --foreground -d -c "$dir/conf" >"$work/pcscd-$proto.log" 2>&1 &
  session+=("$!"); pids+=("$!")

  wait_for 20 "pcscd to list the reader" sh -c 'opensc-tool -l | grep -q "cardwire CCID"'
  echo "--- opensc-tool -l"
  opensc-tool -l | tee "$dir/list.txt"
  grep -q "Yes" "$dir/list.txt" || fail "the reader shows no card"

  echo "--- opensc-tool -a (the ATR through libccid's PowerOn)"
  local atr
  atr=$(opensc-tool -r 0 -a | tr -d '\r')
  echo "$atr"
  [ "$atr" = "$expected_atr" ] || fail "unexpected ATR $atr"

  echo "--- opensc-tool -s (SELECT the cardholder data DF 5000 by path, READ BINARY 5001)"
  opensc-tool -r 0 -s "00 A4 08 00 02 50 00" \
    -s "00 A4 02 0C 02 50 01" -s "00 B0 00 00 00" | tee "$dir/send.txt"
  grep -q "SW1=0x90, SW2=0x00" "$dir/send.txt" || fail "SELECT/READ BINARY did not succeed"

  echo "--- scriptor"
  # Over T=0 the short READ BINARY answer (Le 00) comes back through 6C 0C and the reader's
  # re-sent header (ISO/IEC 7816-3 §12.2.2); over T=1 directly.
  printf '%s\n' "reset" "00 A4 08 00 02 50 00" "00 C0 00 00 0C" \
    "00 A4 02 0C 02 50 02" "00 B0 00 00 00" \
    | scriptor -r "cardwire CCID 00 00" 2>&1 | tee "$dir/scriptor.txt"
  grep -q "Using T=${proto#t} protocol" "$dir/scriptor.txt" || fail "scriptor did not use ${proto^^}"
  [ "$(grep -c "Normal processing" "$dir/scriptor.txt")" -ge 3 ] || fail "scriptor: GET RESPONSE, SELECT and READ BINARY must end 90 00"

  if [ "$proto" = t1 ]; then
    echo "--- scriptor: an extended APDU (READ BINARY of the 5010 certificate, Le 0400; libccid chains T=1 blocks through the reader)"
    printf '%s\n' "00 A4 08 0C 02 50 00" "00 A4 02 0C 02 50 10" "00 B0 00 00 00 04 00" \
      | scriptor -r "cardwire CCID 00 00" >"$dir/extended.txt" 2>&1
    local answer bytes
    answer=$(sed -n '/^> 00 B0 00 00 00 04 00/,$p' "$dir/extended.txt" | sed '1d')
    echo "$answer" | tail -n 2
    # The certificate is shorter than 1 024 bytes: 62 82 (end of file reached) with all of it.
    echo "$answer" | grep -Eq "(90 00|62 82) :" || fail "extended READ BINARY did not end 90 00 / 62 82"
    bytes=$(echo "$answer" | sed 's/:.*//' | wc -w)
    [ "$bytes" -gt 258 ] || fail "extended READ BINARY returned $bytes bytes, expected more than 256 and the SW"
    echo "extended READ BINARY: $bytes bytes with the status word"
  fi

  echo "--- cardwire readers: the reader's PC/SC Part 10 features (CM_IOCTL_GET_FEATURE_REQUEST)"
  "$cardwire" readers | tee "$dir/readers.txt"
  grep -q "VERIFY_PIN_DIRECT" "$dir/readers.txt" || fail "cardwire readers lists no VERIFY_PIN_DIRECT"

  echo "--- secure PIN entry: cardwire pinpad (SCardControl FEATURE_VERIFY_PIN_DIRECT), PIN typed on the reader's keypad"
  "$cardwire" pinpad --reader "cardwire CCID 00 00" --select A000000308000010000100 --reference 80 \
    | tee "$dir/pinpad.txt"
  grep -q "^FEATURE_VERIFY_PIN_DIRECT" "$dir/pinpad.txt" || fail "the reader offers no PIN verification"
  grep -q "^9000" "$dir/pinpad.txt" || fail "secure PIN verification did not end 90 00"

  stop_session
}

run_session t1 "3b:87:81:31:fe:45:80:31:e4:73:b6:01:fb:e6"
# The same card announcing T=0: TS, T0 (no interface bytes: T=0 implied, no TCK), the
# historical bytes.
run_session t0 "3b:07:80:31:e4:73:b6:01:fb"

echo "70-ccid-serial: ok"
