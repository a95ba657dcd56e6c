#!/usr/bin/env bash
# Builds the reader-firmware example (examples/firmware: ATR + PPS + T=1 + APDU framing, no heap)
# for thumbv7em-none-eabihf at opt-level "z", prints its sizes and checks the 16 KiB flash budget
# and that it needs no static RAM beyond the budget (docs/PERFORMANCE.md, ## link).
set -euo pipefail
cd "$(dirname "$0")/../../examples/firmware"
rustup target add thumbv7em-none-eabihf >/dev/null 2>&1 || true
export CARGO_TARGET_DIR="$PWD/target"
cargo build --release
elf="$CARGO_TARGET_DIR/thumbv7em-none-eabihf/release/cardwire-firmware-example"
if command -v llvm-size >/dev/null 2>&1; then sizer=llvm-size; else sizer=size; fi
"$sizer" -A "$elf"
read -r text data bss _ < <("$sizer" "$elf" | awk 'NR == 2 { print $1, $2, $3 }')
flash=$((text + data))
echo "firmware: flash ${flash} B (text+rodata+vectors ${text}, data ${data}), static RAM $((data + bss)) B; budget 16384 B flash"
if [ "$flash" -gt 16384 ]; then
  echo "firmware flash ${flash} B is over the 16 KiB budget" >&2
  exit 1
fi
