#!/usr/bin/env bash
# cardwire's CCID reader firmware logic (cardwire-ccid) as a serial reader on this machine,
# driven by pcscd's own CCID driver: `cardwire reader --serial PTY` announces itself to
# Debian's libccidtwin.so as a GemPC PinPad over a socat pseudo-terminal pair, with the virtual
# card behind a simulated UART (cardwire-link's card-side T=1, then T=0). Then real clients nobody here
# wrote — opensc-tool, scriptor, OpenSC's PKCS#11 module with pkcs11-tool, openssl — talk to the
# card through pcscd → libccid → CCID frames → cardwire-ccid → T=1 (then T=0) → the virtual card;
# and cardwire's own host side does too: `cardwire readers`, `cardwire pinpad`, `cardwire piv
# verify --pinpad` (secure PIN entry, the PIN typed on the simulated keypad) and `cardwire
# journey --reader` (all eight stages, the blocking ones with --allow-block).
#
# pcscd runs in a private mount namespace with its own tmpfs on /run/pcscd and its own
# reader.conf.d directory, so a system pcscd on the machine is not disturbed. Everything this
# script starts is stopped by PID.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
log_tail=60
require_tools "pcscd opensc pcsc-tools socat util-linux openssl" pcscd opensc-tool pkcs11-tool scriptor socat unshare openssl
driver=/usr/lib/pcsc/drivers/serial/libccidtwin.so
require_file "$driver" "the serial CCID driver" libccid
module=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
require_file "$module" "$module" opensc-pkcs11

if ! in_private_ns; then
  cargo build -q -p cardwire-cli --features pcsc
fi
enter_private_ns "$@"
# Inside the private namespace from here on.
start_work
# OpenSC keeps no file cache, and each client resets the card when it leaves, so no verified
# PIN carries over from one tool to the next (as in 65-piv-opensc.sh).
private_opensc_conf
locate_target

# One session per protocol of the virtual card: socat, cardwire reader and pcscd are started
# afresh (pcscd reads the ATR once per card insertion) and stopped by PID afterwards.
stop_session() {
  local p
  for p in "${session[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${session[@]}"; do wait "$p" 2>/dev/null || true; done
  session=()
}

run_session() { # run_session t1|t0 EXPECTED_ATR
  local proto=$1 expected_atr=$2 dir="$work/$1" rdr="cardwire CCID 00 00"
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
  start_pcscd "$dir/conf" "$work/pcscd-$proto.log" env LIBCCID_ifdLogLevel=0x000F
  session+=("$pcscd_pid")

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
    | scriptor -r "$rdr" 2>&1 | tee "$dir/scriptor.txt"
  grep -q "Using T=${proto#t} protocol" "$dir/scriptor.txt" || fail "scriptor did not use ${proto^^}"
  [ "$(grep -c "Normal processing" "$dir/scriptor.txt")" -ge 3 ] || fail "scriptor: GET RESPONSE, SELECT and READ BINARY must end 90 00"

  if [ "$proto" = t1 ]; then
    echo "--- scriptor: an extended APDU (READ BINARY of the 5010 certificate, Le 0400; libccid chains T=1 blocks through the reader)"
    printf '%s\n' "00 A4 08 0C 02 50 00" "00 A4 02 0C 02 50 10" "00 B0 00 00 00 04 00" \
      | scriptor -r "$rdr" >"$dir/extended.txt" 2>&1
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
  "$cardwire" pinpad --reader "$rdr" --select A000000308000010000100 --reference 80 \
    | tee "$dir/pinpad.txt"
  grep -q "^FEATURE_VERIFY_PIN_DIRECT" "$dir/pinpad.txt" || fail "the reader offers no PIN verification"
  grep -q "^9000" "$dir/pinpad.txt" || fail "secure PIN verification did not end 90 00"

  echo "--- cardwire piv verify --pinpad (SELECT PIV, then FEATURE_VERIFY_PIN_DIRECT: the reader builds VERIFY around the keypad's digits)"
  "$cardwire" piv --reader "$rdr" verify --pinpad 2>&1 | tee "$dir/piv-pinpad.txt"
  grep -q "^VERIFY PIN on the PIN pad: accepted" "$dir/piv-pinpad.txt" || fail "piv verify --pinpad"

  echo "--- the PIV application through OpenSC (opensc-pkcs11.so)"
  opensc-tool -r "$rdr" -n | tee "$dir/name.txt"
  grep -q 'Personal Identity Verification Card' "$dir/name.txt" || fail "OpenSC does not see a PIV card"
  pkcs11-tool --module "$module" -L >"$dir/slots.txt" 2>&1 || fail "pkcs11-tool -L: $(cat "$dir/slots.txt")"
  grep -q 'token manufacturer : piv_II' "$dir/slots.txt" || fail "no PIV token: $(cat "$dir/slots.txt")"
  # The reader's PIN pad is the token's protected authentication path.
  grep -q 'PIN pad' "$dir/slots.txt" || fail "the token shows no PIN pad: $(cat "$dir/slots.txt")"
  pkcs11-tool --module "$module" -O >"$dir/objects.txt" 2>&1 || fail "pkcs11-tool -O: $(cat "$dir/objects.txt")"
  for label in 'Certificate for PIV Authentication' 'Certificate for Digital Signature'; do
    grep -q "$label" "$dir/objects.txt" || fail "-O does not list $label"
  done
  echo "pkcs11-tool -L/-O: a PIV token with a PIN pad, $(grep -c 'Object;' "$dir/objects.txt") objects"

  echo "--- sign with 9A (SHA256-RSA-PKCS), the PIN typed on the keypad (C_Login with no PIN); openssl verifies"
  pkcs11-tool --module "$module" --read-object --type cert --id 01 -o "$dir/cert01.der" >/dev/null 2>&1 \
    || fail "read the 9A certificate"
  openssl x509 -inform DER -in "$dir/cert01.der" -pubkey -noout >"$dir/pub01.pem" || fail "the 9A certificate"
  printf 'a host challenge through a CCID reader' >"$dir/data"
  pkcs11-tool --module "$module" --login --sign --id 01 -m SHA256-RSA-PKCS -i "$dir/data" \
    -o "$dir/sig01" >"$dir/sign01.txt" 2>&1 || fail "RSA sign: $(cat "$dir/sign01.txt")"
  openssl dgst -sha256 -verify "$dir/pub01.pem" -signature "$dir/sig01" "$dir/data" \
    || fail "openssl does not verify the RSA signature"

  echo "--- cardwire journey --reader (issuance, identify, PIN, signatures, blocking, PUK, SCP03)"
  # A real reader's secrets never go on the command line: files (mode 0600) and the
  # environment (the virtual card's public test values, as in 60-vcard-vpcd.sh).
  (umask 077 && echo 123456 >"$work/pin" && echo 12345678 >"$work/puk" && echo 654321 >"$work/new-pin")
  local keys=404142434445464748494A4B4C4D4E4F
  CARDWIRE_SCP03_KEYS="$keys:$keys:$keys" \
  CARDWIRE_MANAGEMENT_KEY=010203040506070801020304050607080102030405060708 \
    "$cardwire" journey --reader "$rdr" \
    --pin-file "$work/pin" --puk-file "$work/puk" --new-pin-file "$work/new-pin" --allow-block \
    >"$dir/journey.txt" 2>&1 || { cat "$dir/journey.txt"; fail "journey through the CCID reader"; }
  sed -n '/^Summary/,$p' "$dir/journey.txt"
  grep -c ' ok ' "$dir/journey.txt" | grep -qx 8 || fail "not all 8 journey stages ok"

  stop_session
}

run_session t1 "3b:87:81:31:fe:45:80:31:e4:73:b6:01:fb:e6"
# The same card announcing T=0: TS, T0 (no interface bytes: T=0 implied, no TCK), the same
# historical bytes, extended Lc/Le (FB) included: over T=0 the hosts must still send short
# APDUs (command chaining, Le 00 and 61xx; ISO/IEC 7816-3 §12.2), as the line carries no other.
run_session t0 "3b:07:80:31:e4:73:b6:01:fb"

echo "70-ccid-serial: ok"
