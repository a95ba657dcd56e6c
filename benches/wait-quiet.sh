# Sourced by benches/quiet-run.sh and benches/processes.sh: `wait_for_quiet` waits up to ten
# minutes for the 1-minute load average to fall below MAX_LOAD (default 0.30) and fails when
# it does not: figures taken under load are not evidence.
max_load=${MAX_LOAD:-0.30}

load1() { cut -d' ' -f1 /proc/loadavg; }

is_quiet() { awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l < m) }'; }

wait_for_quiet() {
  echo "waiting for the 1-minute load average to fall below $max_load"
  for _ in $(seq 1 120); do
    is_quiet && return 0
    sleep 5
  done
  echo "load $(load1) is above $max_load: not measuring" >&2
  return 1
}
