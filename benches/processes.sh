#!/usr/bin/env bash
# Rows of a few nanoseconds depend on the process as well as on the code: the same binary gives
# one of two times (e.g. 2.0 or 3.1 ns) from one process to the next, and keeps it for the
# whole process (the memory layout it was given). This runs one bench filter in K separate
# processes (criterion baselines proc1..procK) on a quiet machine, so that the table can give
# the median over processes and the range:
#
#   bash benches/processes.sh apdu 'command_encode/case(1|2S|4S)/' 7
#   python3 benches/criterion_table.py target/criterion apdu/command_encode \
#       --baselines=proc1,...,proc7 --ratio-to=apdu-core
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$1 filter=$2 k=${3:-7}
read -r -a criterion_args <<<"${CRITERION_ARGS:---warm-up-time 1 --measurement-time 2}"
log=target/criterion/processes.log
mkdir -p target/criterion
# shellcheck source=benches/wait-quiet.sh
. benches/wait-quiet.sh
cargo bench -p cardwire-benches --bench "$bench" --no-run >/dev/null 2>&1
wait_for_quiet
echo "# $k processes of $bench '$filter' $(date -u +%FT%TZ)" | tee "$log"
for i in $(seq 1 "$k"); do
  echo "proc$i start load: $(cat /proc/loadavg)" | tee -a "$log"
  cargo bench -q -p cardwire-benches --bench "$bench" -- --noplot "${criterion_args[@]}" \
    --save-baseline "proc$i" "$filter" >/dev/null 2>&1
  echo "proc$i end   load: $(cat /proc/loadavg)" | tee -a "$log"
done
