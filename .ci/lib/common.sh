# shellcheck shell=bash disable=SC2034 # the variables set here are for the steps
# What the .ci/steps/*.sh scripts share: sourced first thing by each of them, after
# `set -euo pipefail`. It lives outside .ci/steps/ because .ci/run runs every *.sh there.
#
# On sourcing: `step_name` (the script's name without .sh, e.g. 50-pcsc) and `step_self` (its
# absolute path, for re-running it in private namespaces) are set, the shell changes to the
# repository root and `say`/`fail` are ready. Everything else is a function the script calls:
#   require_tools HINT TOOL...      fail unless every TOOL is on PATH (HINT: the Debian packages)
#   require_file PATH WHAT HINT     fail unless PATH exists
#   enter_private_ns [--net] ARGS   re-run the script in private namespaces (see there)
#   in_private_ns                   true in that re-run
#   start_work                      the work directory, the `pids` list and the cleanup trap
#   stop PID / forget PID           stop a process we started / just drop it from `pids`
#   wait_for SECS WHAT COMMAND...   poll COMMAND every 0.1 s
#   locate_target                   `target`, `cardwire` and `testcard` (paths of what cargo built)
#   start_pcscd CONFDIR LOG [PREFIX...]   pcscd with a socket of its own; sets `pcscd_pid`
#   private_net_ns                  `ns`: the nsenter prefix of a network namespace of our own
#   reader_has_card READER          true when opensc-tool reads an ATR in READER
#   start_testcard CONFDIR          vpcd's test card, reversed mode; sets `card_pid`
#   vpcd_entry FILE NAME PORT       a reader.conf.d entry for the vpcd driver's default mode
#   private_opensc_conf             OPENSC_CONF without a file cache, resetting on disconnect
#   serve_vcard PORT [ARG...]       `cardwire serve --vpcd` and its reader.conf.d entry
# Set `log_tail` (lines of each log shown on failure, default 40) before start_work to change it.
# With CARDWIRE_KEEP_LOGS=DIR the step's *.log files are copied to DIR when it ends.

step_self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
step_name=$(basename "$0" .sh)
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
export CARGO_TERM_COLOR=never
vpcd_driver=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
t0=$(date +%s)

say() { echo "--- [$(( $(date +%s) - t0 ))s] $*"; }
fail() { echo "$step_name: FAILED: $*" >&2; exit 1; }

require_tools() { # require_tools "DEBIAN PACKAGES" TOOL...
  local hint=$1 tool; shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || fail "$tool is missing (Debian: $hint)"
  done
}

require_file() { # require_file PATH WHAT "DEBIAN PACKAGE"
  [ -e "$1" ] || fail "$2 is missing (Debian: $3)"
}

# enter_private_ns [--net] "$@": the first call re-runs the script (exec, with the same
# arguments) in a private mount namespace, and with --net a private network namespace with
# its loopback up; as root directly, elsewhere in a user namespace that maps us to root. In
# the re-run the call returns, with a tmpfs of our own on /run/pcscd (so pcscd's socket and pid
# file are ours and a pcscd elsewhere on the machine is neither disturbed nor used). Build
# before the call, under `if ! in_private_ns`.
in_private_ns() { [ "${CARDWIRE_PRIVATE_NS:-}" = "$step_name" ]; }
enter_private_ns() {
  local net=()
  if [ "${1:-}" = --net ]; then net=(--net); shift; fi
  if ! in_private_ns; then
    local ns=(unshare --mount "${net[@]}" --propagation private)
    [ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --mount "${net[@]}" --propagation private)
    exec env CARDWIRE_PRIVATE_NS="$step_name" "${ns[@]}" bash "$step_self" "$@"
  fi
  if [ "${#net[@]}" -gt 0 ]; then ip link set lo up; fi
  mkdir -p /run/pcscd
  mount -t tmpfs -o size=1m cardwire-pcscd /run/pcscd
  unset PCSCLITE_CSOCK_NAME
}

# start_work: `work`, a fresh directory for logs and configuration; `pids`, the processes to
# stop at the end. On exit every process in `pids` is stopped; on failure the tail of every
# log is shown; the directory is removed.
start_work() {
  work=$(mktemp -d "/tmp/cardwire-${step_name#*-}.XXXXXX")
  pids=()
  trap cleanup EXIT
}
cleanup() {
  local status=$? p log
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    for log in "$work"/*.log; do [ -e "$log" ] && { echo "=== $log"; tail -n "${log_tail:-40}" "$log"; }; done
  fi
  if [ -n "${CARDWIRE_KEEP_LOGS:-}" ]; then
    { mkdir -p "$CARDWIRE_KEEP_LOGS" && cp "$work"/*.log "$CARDWIRE_KEEP_LOGS"/; } 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
forget() { # forget PID: drops a process from `pids` (it ended, or the caller waits for it)
  local p rest=()
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || rest+=("$p"); done
  pids=("${rest[@]}")
}
stop() { # stop PID: stops one process we started and forgets it
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget "$1"
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s
  local secs=$1 what=$2; shift 2
  local until=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$until" ] || fail "timed out after ${secs}s waiting for $what"
    sleep 0.1
  done
}

# locate_target: cargo's target directory and, in it, the CLI and vpcd's test card (build
# them first: `cargo build -p cardwire-cli --features pcsc`, `-p cardwire-vpcd --example
# vpcd_testcard`).
locate_target() {
  target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  [ -n "$target" ] || fail "cargo metadata names no target directory"
  cardwire="$target/debug/cardwire"
  testcard="$target/debug/examples/vpcd_testcard"
}

# start_pcscd CONFDIR LOG [PREFIX...]: pcscd in the foreground with the reader.conf.d entries
# in CONFDIR, its output appended to LOG, run under PREFIX (e.g. nsenter, env); its PID in
# `pcscd_pid` and in `pids`. In private namespaces (enter_private_ns) /run/pcscd is ours
# already. Elsewhere pcscd gets a private client socket, $work/pcscd.comm, when
# systemd-socket-activate can hand it one (pcscd 1.9 reads no PCSCLITE_CSOCK_NAME itself;
# clients do), and otherwise uses the default /run/pcscd/pcscd.comm.
start_pcscd() {
  local conf=$1 log=$2; shift 2
  if ! in_private_ns && command -v systemd-socket-activate >/dev/null; then
    export PCSCLITE_CSOCK_NAME="$work/pcscd.comm"
    rm -f "$PCSCLITE_CSOCK_NAME"
    "$@" systemd-socket-activate -l "$PCSCLITE_CSOCK_NAME" pcscd --foreground -d -c "$conf" >>"$log" 2>&1 &
  else
    "$@" pcscd --foreground -d -c "$conf" >>"$log" 2>&1 &
  fi
  pcscd_pid=$!
  pids+=("$pcscd_pid")
}

# private_net_ns: `ns`, the prefix (nsenter) that runs a command in a network namespace of
# our own with its loopback up, held by a `sleep` in `pids`; or an empty prefix, with a
# warning, where no network namespace can be made. For the vpcd driver's default mode, which
# listens on all interfaces.
private_net_ns() {
  ns=()
  if unshare --net true 2>/dev/null; then
    unshare --net sleep 600 &
    local holder=$!
    pids+=("$holder")
    sleep 0.1
    nsenter -t "$holder" -n ip link set lo up
    ns=(nsenter -t "$holder" -n)
  else
    echo "WARNING: no network namespace (unshare --net failed): vpcd listens on all interfaces for this part"
  fi
}

reader_has_card() { opensc-tool -r "$1" --atr; }

# start_testcard CONFDIR: cardwire-vpcd's test card (locate_target) as the server of the vpcd
# driver's reversed mode on 127.0.0.1:35990 (the driver connects to :35990 and :35991, two
# readers "cardwire vpcd 00 00" and "... 00 01"); its reader.conf.d entry in CONFDIR, its
# output in $work/testcard.log, its PID in `card_pid` and `pids`.
start_testcard() {
  mkdir -p "$1"
  "$testcard" 35990 --conf "$1/cardwire-vpcd" >"$work/testcard.log" 2>&1 &
  card_pid=$!
  pids+=("$card_pid")
  wait_for 10 "the test card server" grep -q '^ready' "$work/testcard.log"
}

# vpcd_entry FILE NAME PORT: a reader.conf.d entry for the vpcd driver in its default mode,
# where it listens on PORT (on all interfaces: see private_net_ns) for a card to connect.
vpcd_entry() {
  mkdir -p "$(dirname "$1")"
  printf 'FRIENDLYNAME "%s"\nDEVICENAME   /dev/null:%s\nLIBPATH      %s\n' "$2" "$3" "$vpcd_driver" >"$1"
}

# private_opensc_conf: OpenSC's own configuration stays out of the way: no file cache; and
# every client resets the card when it disconnects, so no security state (a verified PIN, the
# management key's authentication) carries over from one tool to the next. OpenSC otherwise
# deliberately keeps it: it recognises a PIV card that is still selected by GET DATA of the
# discovery object, without a SELECT that would end the authentications.
private_opensc_conf() {
  cat >"$work/opensc.conf" <<'CONF'
app default {
  reader_driver pcsc { disconnect_action = reset; }
  framework pkcs15 { use_file_caching = no; }
}
CONF
  export OPENSC_CONF="$work/opensc.conf"
}

# serve_vcard PORT [ARG...]: `cardwire serve --vpcd 127.0.0.1:PORT` (the virtual card, state
# in $work/card.state, output in $work/serve.log, PID in `serve_pid` and `pids`) and the
# reader.conf.d entry it prints, in $work/conf/cardwire-vcard, for start_pcscd "$work/conf".
serve_vcard() {
  local port=$1; shift
  mkdir -p "$work/conf"
  "$cardwire" serve --vpcd "127.0.0.1:$port" --state "$work/card.state" "$@" >"$work/serve.log" 2>&1 &
  serve_pid=$!
  pids+=("$serve_pid")
  wait_for 20 "cardwire serve" grep -q '^serving on' "$work/serve.log"
  sed -n '/^reader.conf.d entry:/,/^serving/p' "$work/serve.log" | sed '1d;$d' >"$work/conf/cardwire-vcard"
  grep -q DEVICENAME "$work/conf/cardwire-vcard" || fail "serve printed no reader.conf.d entry"
}
