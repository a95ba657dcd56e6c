#!/usr/bin/env bash
# cardwire's CCID reader firmware logic (cardwire-ccid) as a serial reader on this machine,
# driven by pcscd's own CCID driver: `cardwire reader --serial PTY` announces itself to
# Debian's libccidtwin.so as a GemPC PinPad over a socat pseudo-terminal pair, with the virtual
# card behind a simulated UART (cardwire-link's card-side T=1). Then real clients nobody here
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
  cargo build -q -p cardwire-cli
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

socat pty,raw,echo=0,link="$work/host" pty,raw,echo=0,link="$work/reader" 2>"$work/socat.log" &
pids+=("$!")
wait_for 10 "the pseudo-terminal pair" test -e "$work/reader" -a -e "$work/host"

"$cardwire" reader --serial "$work/reader" --state "$work/card.state" --keypad-pin 123456 >"$work/reader.log" 2>&1 &
pids+=("$!")
wait_for 20 "cardwire reader" grep -q '^cardwire CCID reader' "$work/reader.log"

mkdir -p "$work/conf"
cat >"$work/conf/cardwire-ccid" <<CONF
FRIENDLYNAME "cardwire CCID"
DEVICENAME   $work/host:GemPCPinPad
LIBPATH      $driver
CONF
LIBCCID_ifdLogLevel=0x000F pcscd --foreground -d -c "$work/conf" >"$work/pcscd.log" 2>&1 &
pids+=("$!")

wait_for 20 "pcscd to list the reader" sh -c 'opensc-tool -l | grep -q "cardwire CCID"'
echo "--- opensc-tool -l"
opensc-tool -l | tee "$work/list.txt"
grep -q "Yes" "$work/list.txt" || fail "the reader shows no card"

echo "--- opensc-tool -a (the ATR through libccid's PowerOn)"
atr=$(opensc-tool -r 0 -a | tr -d '\r')
echo "$atr"
[ "$atr" = "3b:87:81:31:fe:45:80:31:e4:73:b6:01:fb:e6" ] || fail "unexpected ATR $atr"

echo "--- opensc-tool -s (SELECT the cardholder data DF 5000 by path, READ BINARY 5001)"
opensc-tool -r 0 -s "00 A4 08 00 02 50 00" \
  -s "00 A4 02 0C 02 50 01" -s "00 B0 00 00 00" | tee "$work/send.txt"
grep -q "SW1=0x90, SW2=0x00" "$work/send.txt" || fail "SELECT/READ BINARY did not succeed"

echo "--- scriptor"
printf '%s\n' "reset" "00 A4 08 00 02 50 00" "00 C0 00 00 0C" \
  "00 A4 02 0C 02 50 02" "00 B0 00 00 00" \
  | scriptor -r "cardwire CCID 00 00" 2>&1 | tee "$work/scriptor.txt"
[ "$(grep -c "Normal processing" "$work/scriptor.txt")" -ge 3 ] || fail "scriptor: GET RESPONSE, SELECT and READ BINARY must end 90 00"

echo "--- scriptor: an extended APDU (READ BINARY of the 5010 certificate, Le 0400; libccid chains T=1 blocks through the reader)"
printf '%s\n' "00 A4 08 0C 02 50 00" "00 A4 02 0C 02 50 10" "00 B0 00 00 00 04 00" \
  | scriptor -r "cardwire CCID 00 00" >"$work/extended.txt" 2>&1
answer=$(sed -n '/^> 00 B0 00 00 00 04 00/,$p' "$work/extended.txt" | sed '1d')
echo "$answer" | tail -n 2
# The certificate is shorter than 1 024 bytes: 62 82 (end of file reached) with all of it.
echo "$answer" | grep -Eq "(90 00|62 82) :" || fail "extended READ BINARY did not end 90 00 / 62 82"
bytes=$(echo "$answer" | sed 's/:.*//' | wc -w)
[ "$bytes" -gt 258 ] || fail "extended READ BINARY returned $bytes bytes, expected more than 256 and the SW"
echo "extended READ BINARY: $bytes bytes with the status word"

echo "--- secure PIN entry: SCardControl(FEATURE_VERIFY_PIN_DIRECT), PIN typed on the reader's keypad"
# A small PC/SC client of our own (the Debian tools have no SCardControl front end).
cat >"$work/pinpad.c" <<'C'
/* Secure PIN verification through PC/SC Part 10 FEATURE_VERIFY_PIN_DIRECT (PC/SC Part 10
 * v2.02.09 §2.5.2): SELECT the identity application, then VERIFY P2 80 (the PIV application PIN) with the PIN typed on
 * the reader's keypad. Prints the card's status word. */
#include <stdio.h>
#include <string.h>
#include <PCSC/winscard.h>
#include <PCSC/reader.h>

int main(int argc, char **argv) {
    SCARDCONTEXT ctx; SCARDHANDLE card; DWORD proto, len;
    unsigned char buf[512];
    if (argc < 2) return 2;
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx)) return 3;
    if (SCardConnect(ctx, argv[1], SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &card, &proto)) return 4;
    unsigned char select[] = {0x00,0xA4,0x04,0x00,0x0B,0xF0,0x63,0x61,0x72,0x64,0x77,0x69,0x72,0x65,0x49,0x44,0x00};
    len = sizeof buf;
    if (SCardTransmit(card, SCARD_PCI_T1, select, sizeof select, NULL, buf, &len)) return 5;
    len = sizeof buf;
    if (SCardControl(card, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, buf, sizeof buf, &len)) return 6;
    DWORD verify = 0;
    for (DWORD i = 0; i + 6 <= len; i += 6)
        if (buf[i] == FEATURE_VERIFY_PIN_DIRECT)
            verify = (buf[i+2] << 24) | (buf[i+3] << 16) | (buf[i+4] << 8) | buf[i+5];
    if (!verify) { printf("no FEATURE_VERIFY_PIN_DIRECT\n"); return 7; }
    printf("FEATURE_VERIFY_PIN_DIRECT 0x%08lX\n", (unsigned long)verify);
    unsigned char s[19 + 13] = {
        0x00, 0x00,       /* bTimerOut, bTimerOut2 */
        0x82, 0x08, 0x00, /* ASCII, bytes, position 0; 8-byte block; no length */
        0x08, 0x04,       /* wPINMaxExtraDigit: max 8, min 4 */
        0x02, 0x01,       /* validation key; one message */
        0x09, 0x04, 0x00, /* en-US, message 0 */
        0x00, 0x00, 0x00, /* bTeoPrologue */
        13, 0, 0, 0,      /* ulDataLength */
        0x00,0x20,0x00,0x80,0x08,0xFF,0xFF,0xFF,0xFF,0xFF,0xFF,0xFF,0xFF };
    len = sizeof buf;
    LONG rv = SCardControl(card, verify, s, sizeof s, buf, sizeof buf, &len);
    if (rv) { printf("SCardControl: %s\n", pcsc_stringify_error(rv)); return 8; }
    for (DWORD i = 0; i < len; i++) printf("%02X", buf[i]);
    printf("\n");
    SCardDisconnect(card, SCARD_LEAVE_CARD);
    SCardReleaseContext(ctx);
    return 0;
}
C
if command -v cc >/dev/null && pkg-config --exists libpcsclite; then
  cc -o "$work/pinpad" "$work/pinpad.c" $(pkg-config --cflags --libs libpcsclite)
  "$work/pinpad" "cardwire CCID 00 00" | tee "$work/pinpad.txt"
  grep -q "^FEATURE_VERIFY_PIN_DIRECT" "$work/pinpad.txt" || fail "the reader offers no PIN verification"
  [ "$(tail -n 1 "$work/pinpad.txt")" = "9000" ] || fail "secure PIN verification did not end 90 00"
else
  echo "(skipped: needs a C compiler and libpcsclite-dev)"
fi

echo "70-ccid-serial: ok"
