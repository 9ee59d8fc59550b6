#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The whole test suite, from a fresh Debian 12 machine: installs what is
# missing, builds three ways and runs every suite, then prints one line
#   N passed, N failed
#  1. gcc, -Werror: unit, integration and vm (QEMU guests) suites
#  2. gcc with AddressSanitizer + UndefinedBehaviorSanitizer: the same
#  3. clang + libFuzzer under ASan/UBSan: the fuzz suite, FUZZ_SECONDS each
# Options come from the environment: FUZZ_SECONDS (default 60).
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh || exit 1
scripts/hugepages.sh 1024

fuzz_seconds=${FUZZ_SECONDS:-60}
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
logs=()

# setup DIR [meson options...]: configure DIR afresh unless it matches.
setup() {
	local dir=$1
	shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

# phase NAME DIR SUITES [meson options...]
phase() {
	local name=$1 dir=$2 suites=$3
	shift 3
	echo "=== $name" >&2
	rm -f "$dir/meson-logs/testlog.json"
	logs+=("$dir/meson-logs/testlog.json")
	if ! setup "$dir" "$@" || ! ninja -C "$dir" >/dev/null; then
		echo "=== $name: build failed" >&2
		ninja -C "$dir" 2>&1 | tail -30 >&2
		return
	fi
	local args=()
	for s in $suites; do
		args+=(--suite "$s")
	done
	meson test -C "$dir" "${args[@]}" --print-errorlogs --num-processes 2 \
		>&2 || true
}

phase "build (gcc, -Werror)" build "unit integration vm" -Dwerror=true
phase "sanitizers (ASan + UBSan)" build-asan "unit integration vm" \
	-Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
CC=clang phase "fuzz (libFuzzer, ${fuzz_seconds}s per target)" build-fuzz \
	fuzz -Dfuzz=true -Dfuzz_seconds="$fuzz_seconds" \
	-Db_sanitize=address,undefined -Db_lundef=false

python3 scripts/summarize.py "${logs[@]}"
