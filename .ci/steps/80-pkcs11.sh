#!/usr/bin/env bash
# cardwire-pkcs11 under real PKCS#11 clients nobody here wrote: OpenSC's pkcs11-tool, GnuTLS's
# p11tool and OpenSSH's ssh-keygen.
#
# 1. In-process (no pcscd): the module built with `virtual-card`, CARDWIRE_PKCS11_VIRTUAL set —
#    -L, -O, --login --sign (verified with openssl), --test, SO --init-pin, --change-pin,
#    p11tool --list-all-certs and --test-sign, ssh-keygen -D equal to the certificate's key.
#    C_WaitForSlotEvent woken by C_Finalize from another thread (the example
#    `wait_slot_event`, through the `cryptoki` crate).
# 2. Through a private pcscd and `cardwire serve --vpcd` (the module built with `pcsc`): the
#    same clients against the virtual card's PIV application, and a differential check
#    against OpenSC's own module (same certificates, same public keys). This part needs the
#    PIV application of cardwire-vcard.
# 3. C_WaitForSlotEvent blocked in SCardGetStatusChange, woken by a card's removal, by its
#    insertion and by C_Finalize (SCardCancel). The card is cardwire-vpcd's test card in the
#    driver's default mode (it can leave and come back; `cardwire serve` cannot: pcscd
#    aborts when the reversed-mode driver loses its card), in a network namespace of its own
#    (the driver listens on all interfaces in that mode).
# Stops everything it starts, by PID.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
require_tools "opensc gnutls-bin openssh-client openssl pcscd" pkcs11-tool p11tool ssh-keygen openssl pcscd opensc-tool
start_work
locate_target

# sign_and_verify MODULE ID MECHANISM: pkcs11-tool signs, openssl verifies with the certificate.
sign_and_verify() {
  local module=$1 id=$2 mech=$3
  printf 'a server challenge %s' "$RANDOM" >"$work/msg"
  pkcs11-tool --module "$module" --login --pin "$PIN" --sign --id "$id" -m "$mech" \
    --signature-format openssl -i "$work/msg" -o "$work/sig" >"$work/sign.log" 2>&1 \
    || fail "pkcs11-tool --sign $mech"
  pkcs11-tool --module "$module" --read-object --type cert --id "$id" -o "$work/cert.der" >/dev/null 2>&1 \
    || fail "pkcs11-tool --read-object cert $id"
  openssl x509 -inform DER -in "$work/cert.der" -pubkey -noout >"$work/pub.pem"
  openssl dgst -sha256 -verify "$work/pub.pem" -signature "$work/sig" "$work/msg" >/dev/null \
    || fail "openssl does not verify the $mech signature of key $id"
}

# ssh_matches_cert MODULE: ssh-keygen -D lists the 9A key exactly as in its certificate.
ssh_matches_cert() {
  local module=$1
  pkcs11-tool --module "$module" --read-object --type cert --id 01 -o "$work/cert.der" >/dev/null 2>&1
  local from_cert
  from_cert=$(openssl x509 -inform DER -in "$work/cert.der" -pubkey -noout | ssh-keygen -i -m PKCS8 -f /dev/stdin)
  ssh-keygen -D "$module" 2>/dev/null | grep -qF "$from_cert" || fail "ssh-keygen -D does not list the 9A key"
}

echo "--- in-process virtual card"
cargo build -q -p cardwire-pkcs11 --features virtual-card --lib --example wait_slot_event
cp "$target/debug/libcardwire_pkcs11.so" "$work/virtual.so"
waiter="$target/debug/examples/wait_slot_event"
module="$work/virtual.so"
export CARDWIRE_PKCS11_VIRTUAL="80-pkcs11 card"
PIN=123456
pkcs11-tool --module "$module" -L | grep -q 'token model *: PIV II' || fail "pkcs11-tool -L"
out=$(pkcs11-tool --module "$module" -O)
[ "$(grep -c '^Certificate Object' <<<"$out")" = 4 ] || fail "pkcs11-tool -O: $out"
sign_and_verify "$module" 01 SHA256-RSA-PKCS
sign_and_verify "$module" 03 ECDSA-SHA256
out=$(pkcs11-tool --module "$module" --test --login --pin "$PIN" 2>&1) || fail "pkcs11-tool --test: $out"
grep -q 'No errors' <<<"$out" || fail "pkcs11-tool --test: $out"
pkcs11-tool --module "$module" --login --login-type so --so-pin 12345678 --init-pin --new-pin 654321 2>&1 \
  | grep -q 'User PIN successfully initialized' || fail "pkcs11-tool --init-pin"
pkcs11-tool --module "$module" --login --pin "$PIN" --change-pin --new-pin 654321 2>&1 \
  | grep -q 'PIN successfully changed' || fail "pkcs11-tool --change-pin"
out=$(pkcs11-tool --module "$module" --login --pin 000000 -O 2>&1) && fail "a wrong PIN was accepted"
grep -q CKR_PIN_INCORRECT <<<"$out" || fail "wrong PIN: $out"
out=$(p11tool --provider "$module" --list-all-certs 2>&1)
[ "$(grep -c 'Type: X.509 Certificate' <<<"$out")" = 4 ] || fail "p11tool --list-all-certs: $out"
token=$(sed -n 's/.*token=\([^;]*\);.*/\1/p' <<<"$out" | head -n 1)
GNUTLS_PIN=$PIN p11tool --provider "$module" --login --test-sign "pkcs11:token=$token;id=%01;type=private" 2>&1 \
  | grep -q 'Verifying against public key in the token... ok' || fail "p11tool --test-sign"
ssh_matches_cert "$module"
"$waiter" "$module" finalize | grep -qx cancelled || fail "C_Finalize does not end a blocked C_WaitForSlotEvent"
unset CARDWIRE_PKCS11_VIRTUAL

echo "--- through pcscd and cardwire serve --vpcd"
require_file "$vpcd_driver" "the vpcd driver" vsmartcard-vpcd
cargo build -q -p cardwire-cli --features pcsc
cargo build -q -p cardwire-pkcs11 --features pcsc
cp "$target/debug/libcardwire_pkcs11.so" "$work/pcsc.so"
module="$work/pcsc.so"
reader="cardwire virtual card 00 00"
serve_vcard 36091
start_pcscd "$work/conf" "$work/pcscd.log"
wait_for 20 "the reader with the virtual card" opensc-tool -r "$reader" --atr
out=$(opensc-tool -r "$reader" -s 00A4040009A00000030800001000 2>&1)
grep -q 'SW1=0x90, SW2=0x00' <<<"$out" || fail "the virtual card has no PIV application (cardwire-vcard's PIV applet is needed): $out"

export CARDWIRE_PKCS11_READERS="cardwire virtual card"
PIN=${CARDWIRE_VCARD_PIN:-123456}
pkcs11-tool --module "$module" -L | grep -q 'token model *: PIV II' || fail "pkcs11-tool -L (pcsc)"
sign_and_verify "$module" 01 SHA256-RSA-PKCS
sign_and_verify "$module" 03 ECDSA-SHA256
out=$(pkcs11-tool --module "$module" --test --login --pin "$PIN" 2>&1) || fail "pkcs11-tool --test (pcsc): $out"
ssh_matches_cert "$module"
# The vpcd driver offers two readers (two served cards), so name the token by its URL.
url=$(p11tool --provider "$module" --list-token-urls 2>/dev/null | grep -m1 'token=George%20Patel') \
  || fail "p11tool (pcsc) lists no token for the served card"
out=$(p11tool --provider "$module" --list-all-certs "$url" 2>&1) || true
[ "$(grep -c 'Type: X.509 Certificate' <<<"$out")" = 4 ] || fail "p11tool (pcsc): $out"

echo "--- differential: OpenSC's module reads the same certificates and keys"
opensc=
for f in /usr/lib/*/opensc-pkcs11.so /usr/lib/opensc-pkcs11.so; do
  if [ -e "$f" ]; then opensc=$f; break; fi
done
[ -n "$opensc" ] || fail "OpenSC's PKCS#11 module is missing (Debian: opensc-pkcs11)"
for id in 01 02 03 04; do
  ours=$(pkcs11-tool --module "$module" --read-object --type cert --id "$id" 2>/dev/null | sha256sum) || continue
  theirs=$(pkcs11-tool --module "$opensc" --read-object --type cert --id "$id" 2>/dev/null | sha256sum) \
    || fail "OpenSC does not see certificate $id"
  [ "$ours" = "$theirs" ] || fail "certificate $id differs between the two modules"
done
# Every key OpenSSH sees through OpenSC's module, it sees through ours (ours lists 9A first).
theirs=$(ssh-keygen -D "$opensc" 2>/dev/null | cut -d' ' -f1,2)
[ -n "$theirs" ] || fail "ssh-keygen -D lists no key through OpenSC's module"
ours=$(ssh-keygen -D "$module" 2>/dev/null | cut -d' ' -f1,2)
while read -r key; do
  grep -qxF "$key" <<<"$ours" || fail "OpenSC's module shows a key ours does not: $key"
done <<<"$theirs"
echo "--- C_WaitForSlotEvent through pcscd"
# pcscd first: it aborts when the reversed-mode driver loses its card.
stop "$pcscd_pid"
stop "$serve_pid"
cargo build -q -p cardwire-vpcd --example vpcd_testcard
wport=36093
vpcd_entry "$work/conf2/cardwire-vpcd" "cardwire wait" "$wport"
private_net_ns
start_pcscd "$work/conf2" "$work/pcscd2.log" "${ns[@]}"
insert_card() {
  "${ns[@]}" "$testcard" --connect "$wport" >>"$work/testcard.log" 2>&1 &
  card_pid=$!
  pids+=("$card_pid")
}
insert_card
wait_for 20 "the card in the reader" opensc-tool -r "cardwire wait 00 00" --atr
export CARDWIRE_PKCS11_READERS="cardwire wait"
# wait_event LOG: starts a waiter; returns once it blocks in C_WaitForSlotEvent.
wait_event() {
  "$waiter" "$module" event >"$1" 2>&1 &
  pids+=("$!")
  wait_for 20 "the waiter to block" grep -qx waiting "$1"
  sleep 1
  if grep -q '^slot ' "$1"; then fail "C_WaitForSlotEvent returned without an event: $(cat "$1")"; fi
}
wait_event "$work/wait-removal.log"
stop "$card_pid"
wait_for 20 "the removal event" grep -qx 'slot 0' "$work/wait-removal.log"
opensc-tool -r "cardwire wait 00 00" --atr >/dev/null 2>&1 && fail "the card is still in the reader"
wait_event "$work/wait-insertion.log"
insert_card
wait_for 20 "the insertion event" grep -qx 'slot 0' "$work/wait-insertion.log"
"$waiter" "$module" finalize | grep -qx cancelled || fail "C_Finalize does not end C_WaitForSlotEvent (SCardCancel)"
echo "80-pkcs11: ok"
