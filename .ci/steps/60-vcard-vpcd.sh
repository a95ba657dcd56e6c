#!/usr/bin/env bash
# The virtual reference card (cardwire-vcard) in a real pcscd: `cardwire serve --vpcd` in the vpcd
# driver's reversed mode, then real clients nobody here wrote — OpenSC's opensc-tool and
# pcsc-tools' scriptor — select the PIV application and read its CHUID, and `cardwire journey
# --reader` walks all eight stages through PC/SC (issuance with --management-key). Stops
# everything it starts, by PID. OpenSC's PIV middleware itself: 65-piv-opensc.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
require_tools "pcscd opensc pcsc-tools" pcscd opensc-tool scriptor
require_file "$vpcd_driver" "the vpcd driver" vsmartcard-vpcd
start_work

cargo build -q -p cardwire-cli --features pcsc
locate_target
reader="cardwire virtual card 00 00"
serve_vcard 36090 --export-csca "$work/csca.pem"
start_pcscd "$work/conf" "$work/pcscd.log"
wait_for 20 "the reader with the virtual card" opensc-tool -r "$reader" --atr

echo "--- pcscd restarted: cardwire serve takes the driver's new connection"
stop "$pcscd_pid"
start_pcscd "$work/conf" "$work/pcscd.log"
wait_for 20 "the reader after the pcscd restart" opensc-tool -r "$reader" --atr

echo "--- opensc-tool"
out=$(opensc-tool -r "$reader" --atr)
[ "$out" = "3b:87:81:31:fe:45:80:31:e4:73:b6:01:fb:e6" ] || fail "opensc-tool --atr printed: $out"
out=$(opensc-tool -r "$reader" -s 00A4040009A0000003080000100000 -s 00CB3FFF055C035FC10200 2>&1)
grep -q 'SW1=0x90, SW2=0x00' <<<"$out" || fail "opensc-tool SELECT PIV + GET DATA CHUID: $out"
grep -q '^61 ' <<<"$out" || fail "opensc-tool: no application property template: $out"
grep -q '^53 3B 30 19 D4 E7 39 DA' <<<"$out" || fail "opensc-tool read no CHUID: $out"

echo "--- scriptor"
out=$(printf '00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00\n00 CB 3F FF 03 5C 01 7E 00\n' | timeout 30 scriptor -r "$reader" 2>&1)
grep -q '90 00 : Normal processing' <<<"$out" && grep -q '^< 7E 12 4F 0B A0 00 00 03 08' <<<"$out" || fail "scriptor: $out"

echo "--- cardwire journey --reader"
# A real reader's secrets never go on the command line: files (mode 0600) and the environment.
(umask 077 && echo 123456 >"$work/pin" && echo 12345678 >"$work/puk" && echo 654321 >"$work/new-pin")
keys=404142434445464748494A4B4C4D4E4F
CARDWIRE_SCP03_KEYS="$keys:$keys:$keys" \
CARDWIRE_MANAGEMENT_KEY=010203040506070801020304050607080102030405060708 \
  "$cardwire" journey --reader "$reader" \
  --pin-file "$work/pin" --puk-file "$work/puk" --new-pin-file "$work/new-pin" --allow-block \
  >"$work/journey.log" 2>&1 || { cat "$work/journey.log"; fail "journey through pcscd"; }
grep -c ' ok ' "$work/journey.log" | grep -qx 8 || { cat "$work/journey.log"; fail "not all 8 stages ok"; }

echo "--- cardwire emrtd read --reader: PACE-CAM with the printed CAN (EF.CardSecurity and EF.SOD under the exported test CSCA), AA"
# OpenSSL, not cardwire, checks the exported CSCA is a well-formed certificate.
openssl x509 -in "$work/csca.pem" -noout -subject | grep -q 'cardwire TEST CSCA' || fail "serve --export-csca wrote no CSCA"
can=$(sed -n 's/.*eMRTD application [0-9A-F]*: CAN \([0-9]*\),.*/\1/p' "$work/serve.log")
[ -n "$can" ] || fail "serve printed no CAN"
"$cardwire" emrtd read --reader "$reader" --can "$can" --trust "$work/csca.pem" --out "$work/emrtd" \
  >"$work/emrtd.log" 2>&1 \
  || { cat "$work/emrtd.log"; fail "emrtd read through pcscd"; }
for want in '^PACE: authenticated with the CAN.*(PACE-CAM, P-256)' \
  '^PACE-CAM: passed (chip authenticated by PACE-CAM: it proved it holds chip key 12 of EF.CardSecurity.* under the CSCA CN=cardwire TEST CSCA' \
  '^chip authentication: not done (skipped: the chip was authenticated by PACE-CAM' \
  '^active authentication: passed' '^passive authentication, DG1 hash: passed' \
  '^passive authentication, DG2 hash: passed' \
  '^passive authentication, EF.SOD signature: passed (signed by CN=cardwire TEST Document Signer.* under the CSCA CN=cardwire TEST CSCA'; do
  grep -q "$want" "$work/emrtd.log" || { cat "$work/emrtd.log"; fail "emrtd read: no line matching $want"; }
done
find "$work/emrtd" -mindepth 1 -maxdepth 1 -iname '*jp*' | grep -q . || fail "emrtd read --out saved no face image: $(ls "$work/emrtd")"
if "$cardwire" emrtd read --reader "$reader" --can 000000 >"$work/emrtd-wrong.log" 2>&1; then
  fail "emrtd read with a wrong CAN succeeded"
fi
grep -q '6300' "$work/emrtd-wrong.log" || { cat "$work/emrtd-wrong.log"; fail "a wrong CAN: no 6300 in the message"; }
echo "60-vcard-vpcd: ok"
