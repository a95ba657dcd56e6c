#!/usr/bin/env bash
# Instruction counts of the hot paths (TLV walk, APDU encode/decode, the exchange engine, T=1
# blocks, secure messaging) under callgrind, against the committed baseline
# benches/icount-baseline.txt: fails when a gated path grows by more than 10 %. Counts do not
# depend on machine load (docs/PERFORMANCE.md, "Instruction counts"). Needs valgrind (Debian
# package `valgrind`, installed by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec benches/icount.sh
