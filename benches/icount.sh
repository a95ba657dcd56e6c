#!/usr/bin/env bash
# Instruction counts of the hot paths (benches/benches/icount.rs) under callgrind, compared
# with the committed baseline benches/icount-baseline.txt. Fails when a gated path costs more
# than 10 % over its baseline. Counts do not depend on machine load, so this runs anywhere;
# they do depend on the compiler, so update the baseline together with the toolchain.
#
#   benches/icount.sh            measure and compare (CI)
#   benches/icount.sh --update   measure and rewrite the baseline
#
# Each path runs n times inside one call of `icount::measured`; callgrind collects only that
# function and dumps after each call, so part k of the profile is path k. The count printed
# is per repetition, minus the loop's own cost (the `noop` path).
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=benches/icount-baseline.txt
threshold="${ICOUNT_THRESHOLD:-10}"

command -v valgrind >/dev/null || { echo "icount: valgrind is not installed" >&2; exit 1; }

cargo bench -p cardwire-benches --bench icount --no-run
exe=$(cargo bench -p cardwire-benches --bench icount --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -x "$exe" ] || { echo "icount: could not build the harness" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$exe" --list >"$work/list"
valgrind --tool=callgrind --collect-atstart=no \
  --toggle-collect='icount::measured' --dump-after='icount::measured' \
  --callgrind-out-file="$work/cg.out" "$exe" --run >/dev/null 2>"$work/valgrind.log" || {
  cat "$work/valgrind.log" >&2
  exit 1
}

# totals of part k, in the order of --list
paths=$(wc -l <"$work/list")
: >"$work/totals"
for k in $(seq 1 "$paths"); do
  f="$work/cg.out.$k"
  [ -f "$f" ] || { echo "icount: missing profile part $k" >&2; exit 1; }
  sed -n 's/^totals: *\([0-9]*\).*/\1/p; s/^summary: *\([0-9]*\).*/\1/p' "$f" | head -n 1 >>"$work/totals"
done

paste -d' ' "$work/list" "$work/totals" | awk -v base="$baseline" -v update="${1:-}" \
  -v threshold="$threshold" '
  BEGIN {
    while ((getline line < base) > 0) {
      if (line ~ /^#/ || line == "") continue
      split(line, f, " "); old[f[1]] = f[2]
    }
  }
  # name n gate total
  {
    per = $4 / $2
    if ($1 == "noop") { loop = per; cost = per } else { cost = per - loop }
    name[NR] = $1; gate[NR] = $3; value[NR] = cost
  }
  END {
    fail = 0
    if (update == "--update") {
      print "# Instructions per repetition of each hot path (benches/icount.sh --update)," > base
      print "# minus the loop (noop). ref = a peer crate, listed but never gated." >> base
      for (i = 1; i <= NR; i++) printf "%s %.1f %s\n", name[i], value[i], gate[i] >> base
      print "icount: baseline written to " base
      exit 0
    }
    printf "%-52s %12s %12s %8s\n", "path", "baseline", "now", "change"
    for (i = 1; i <= NR; i++) {
      n = name[i]
      if (!(n in old)) {
        printf "%-52s %12s %12.1f %8s\n", n, "-", value[i], "new"
        continue
      }
      change = old[n] > 0 ? 100 * (value[i] - old[n]) / old[n] : 0
      mark = ""
      if (gate[i] == "gated" && change > threshold && value[i] - old[n] > 2) {
        mark = "  FAIL"; fail = 1
      } else if (gate[i] != "gated") {
        mark = "  (ref)"
      }
      printf "%-52s %12.1f %12.1f %+7.1f%%%s\n", n, old[n], value[i], change, mark
    }
    if (fail) {
      print "icount: a hot path grew by more than " threshold " % over " base
      print "(if the growth is intended, rerun with --update and commit the new baseline)"
      exit 1
    }
    print "icount: every gated path within " threshold " % of " base
  }'
