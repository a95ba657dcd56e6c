#!/usr/bin/env bash
# Wall-clock figures for docs/PERFORMANCE.md, taken the way the issue asks: on a quiet machine,
# every bench twice (two criterion baselines, `quiet1` and `quiet2`), with the load recorded
# before and after each run. Refuses to start when the 1-minute load average is above
# MAX_LOAD (default 0.30): figures taken under load are not evidence.
#
#   bash benches/quiet-run.sh [BENCH...]      # default: every bench of cardwire-benches
#   python3 benches/criterion_table.py        # the medians of both runs, side by side
#
# Builds first (the build is load too), waits for the load to settle, then measures.
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a criterion_args <<<"${CRITERION_ARGS:---warm-up-time 1 --measurement-time 2}"
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(tlv apdu transport link sm piv pkcs11 ccid)
log=target/criterion/quiet-run.log
mkdir -p target/criterion

# shellcheck source=benches/wait-quiet.sh
. benches/wait-quiet.sh
cargo bench -p cardwire-benches --no-run >/dev/null 2>&1
wait_for_quiet

{ echo "# quiet run $(date -u +%FT%TZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  rustc --version; } | tee "$log"
for run in quiet1 quiet2; do
  for b in "${benches[@]}"; do
    echo "$run $b start load: $(cat /proc/loadavg)" | tee -a "$log"
    cargo bench -q -p cardwire-benches --bench "$b" -- --noplot "${criterion_args[@]}" --save-baseline "$run" >"target/criterion/$run-$b.out" 2>&1
    echo "$run $b end   load: $(cat /proc/loadavg)" | tee -a "$log"
  done
done
