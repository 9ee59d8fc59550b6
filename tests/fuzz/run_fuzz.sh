#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run one libFuzzer target for a bounded time from freshly generated seeds.
# Usage: run_fuzz.sh FUZZER SECONDS SEED_GENERATOR WORKDIR
# Exits non-zero (and keeps the crashing input in WORKDIR) on any finding.
set -euo pipefail
fuzzer=$1 seconds=$2 gen=$3 work=$4

rm -rf "$work"
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"
python3 "$gen" "$work/seeds"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# Seeds first, on their own: each must run clean.
"$fuzzer" -runs=0 "$work/seeds"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-max_len=4096 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$work/corpus" "$work/seeds"
