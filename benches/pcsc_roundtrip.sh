#!/usr/bin/env bash
# PC/SC round trip through a running pcscd: cardwire vs the bare `pcsc` crate, same run.
# Needs pcscd with a card in READER (default: the vpcd test card of .ci/steps/50-pcsc.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
reader="${1:-cardwire vpcd 00 00}"
cargo run -q --release -p cardwire-pcsc --features backend --example pcsc_roundtrip -- "$reader" "${2:-30}"
