#!/usr/bin/env bash
# A long fuzz campaign in one command: every target (or the ones named) for a given time,
# N at a time, each new input that adds coverage merged into fuzz/corpus/<target>/ afterwards.
# CI keeps its short runs (.ci/run, FUZZ_SECONDS); this is for a quiet machine.
#
#   fuzz/campaign.sh [-t SECONDS] [-j JOBS] [-m] [-k] [TARGET...]
#
#   -t SECONDS  time per target (default 3600)
#   -j JOBS     targets run at once (default: number of CPUs)
#   -m          also minimise each target's corpus afterwards (cargo fuzz cmin)
#   -k          keep the campaign's scratch corpora and logs (default: logs only)
#   TARGET...   targets to run (default: every one of `cargo fuzz list`)
#
# Each target fuzzes into a scratch corpus (fuzz/campaign/<stamp>/<target>/new) with the
# committed seed corpus as a second, read-only directory; afterwards libFuzzer's -merge=1
# copies into corpus/<target> only the scratch inputs that add coverage, so the seed corpus
# stays small. Crashes land in fuzz/artifacts/<target>/ as usual. The exit status is 1 when
# any target crashed or failed, and the summary names them.
set -euo pipefail
cd "$(dirname "$0")"

seconds=3600
jobs=$(nproc 2>/dev/null || echo 2)
cmin=0
keep=0
while getopts "t:j:mkh" opt; do
  case "$opt" in
    t) seconds=$OPTARG ;;
    j) jobs=$OPTARG ;;
    m) cmin=1 ;;
    k) keep=1 ;;
    *) sed -n '2,19p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
case "$seconds$jobs" in *[!0-9]*) echo "-t and -j take whole numbers" >&2; exit 2 ;; esac
[ "$jobs" -ge 1 ] || jobs=1

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
known=$(cargo +nightly fuzz list)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$known" || { echo "unknown fuzz target: $t" >&2; exit 2; }
done

stamp=$(date +%Y%m%d-%H%M%S)
dir="campaign/$stamp"
mkdir -p "$dir"
echo "campaign $stamp: ${#targets[@]} target(s), ${seconds}s each, $jobs at a time; logs in fuzz/$dir"

# One build for all targets, so that the parallel runs do not rebuild.
build() { cargo +nightly fuzz build "$@" >>"$dir/build.log" 2>&1 || {
  tail -n 40 "$dir/build.log"; echo "build failed" >&2; exit 1; }; }
if [ "$#" -gt 0 ]; then
  for t in "${targets[@]}"; do build "$t"; done
else
  build
fi

run_one() {
  local t=$1 work="$dir/$1"
  mkdir -p "$work/new" "corpus/$t"
  local status=0
  cargo +nightly fuzz run "$t" "$work/new" "corpus/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"$work/run.log" 2>&1 || status=$?
  echo "$status" >"$work/status"
  # Merge what the run found into the seed corpus (only inputs that add coverage).
  if [ -n "$(ls -A "$work/new")" ]; then
    cargo +nightly fuzz run "$t" "corpus/$t" "$work/new" -- -merge=1 >"$work/merge.log" 2>&1 ||
      echo "merge failed" >>"$work/status"
  fi
  if [ "$cmin" -eq 1 ]; then
    cargo +nightly fuzz cmin "$t" >"$work/cmin.log" 2>&1 || echo "cmin failed" >>"$work/status"
  fi
  [ "$keep" -eq 1 ] || rm -rf "$work/new"
  echo "--- $t done (exit $status)"
}

# At most $jobs runs at a time.
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

echo
printf '%-28s %-8s %14s %10s %8s\n' target result executions new-units corpus
failed=()
for t in "${targets[@]}"; do
  work="$dir/$t"
  status=$(head -n 1 "$work/status" 2>/dev/null || echo "?")
  extra=$(tail -n +2 "$work/status" 2>/dev/null | tr '\n' ' ')
  execs=$(grep -m1 '^stat::number_of_executed_units' "$work/run.log" | awk '{print $2}' || true)
  units=$(grep -m1 '^stat::new_units_added' "$work/run.log" | awk '{print $2}' || true)
  count=$(find "corpus/$t" -type f | wc -l)
  result=ok
  if [ "$status" != 0 ] || [ -n "$extra" ]; then
    result=FAILED
    failed+=("$t")
  fi
  printf '%-28s %-8s %14s %10s %8s %s\n' "$t" "$result" "${execs:-?}" "${units:-?}" "$count" "$extra"
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo
  for t in "${failed[@]}"; do
    echo "=== $t (fuzz/$dir/$t/run.log, artifacts in fuzz/artifacts/$t/)"
    grep -E 'panicked|SUMMARY|Test unit written' "$dir/$t/run.log" | head -n 5 || true
  done
  exit 1
fi
echo "all targets ok; new corpus entries are in fuzz/corpus/ (review and commit them)"
