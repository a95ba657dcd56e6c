#!/usr/bin/env bash
# Builds the firmware examples for thumbv7em-none-eabihf at opt-level "z", prints their sizes
# and checks their flash budgets (docs/PERFORMANCE.md):
# - examples/firmware: ATR + PPS + T=1 + APDU framing, no heap; budget 16 KiB (## link).
# - examples/ccid-firmware: a USB CCID reader (cardwire-ccid's usb-device class and reader
#   engine: ATR, PPS, T=0, T=1, secure PIN entry) on an STM32F401's vector table, no heap;
#   budget and goal 32 KiB (## ccid).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
rustup target add thumbv7em-none-eabihf >/dev/null 2>&1 || true
if command -v llvm-size >/dev/null 2>&1; then sizer=llvm-size; else sizer=size; fi

check() { # check DIR BINARY BUDGET GOAL
  local dir="$root/examples/$1" bin=$2 budget=$3 goal=$4
  (cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo build --release)
  local elf="$dir/target/thumbv7em-none-eabihf/release/$bin"
  "$sizer" -A "$elf"
  local text data bss flash
  read -r text data bss _ < <("$sizer" "$elf" | awk 'NR == 2 { print $1, $2, $3 }')
  flash=$((text + data))
  echo "$bin: flash ${flash} B (text+rodata+vectors ${text}, data ${data}), static RAM $((data + bss)) B; goal ${goal} B, budget ${budget} B flash"
  if [ "$flash" -gt "$budget" ]; then
    echo "$bin: flash ${flash} B is over its ${budget} B budget" >&2
    exit 1
  fi
  if [ "$flash" -gt "$goal" ]; then
    echo "$bin: note: flash ${flash} B is above the ${goal} B goal (docs/PERFORMANCE.md)"
  fi
}

check firmware cardwire-firmware-example 16384 16384
check ccid-firmware cardwire-ccid-firmware-example 32768 32768
