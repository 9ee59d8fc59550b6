#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The peer benchmark, from a fresh Debian 12 machine: installs what is
# missing (the build's packages, Open vSwitch with DPDK, matplotlib),
# builds vuswitchd optimised, reserves hugepages, and runs perf/peers.py:
# vuswitchd, dpdk-testpmd's vhost io forwarding and OVS-DPDK, each on one
# poll-mode core, alternated over rounds. Writes perf/RESULTS.md (its
# generated part) and perf/results.png. Arguments go to peers.py
# (--rounds N, --window S, --full, --only TEXT, --switches LIST).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
missing=()
for p in openvswitch-switch-dpdk python3-matplotlib; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "bench: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# The package starts its own daemons where it can; the benchmark
	# runs its own, on its own database and sockets.
	for svc in openvswitch-switch ovs-vswitchd ovsdb-server; do
		systemctl stop "$svc" 2>/dev/null || true
	done
fi
scripts/hugepages.sh 2048
if [ -d build-perf ]; then
	meson setup --reconfigure build-perf -Dbuildtype=release >/dev/null
else
	meson setup build-perf -Dbuildtype=release >/dev/null
fi
ninja -C build-perf app/vuswitchd/vuswitchd app/vuswitchctl/vuswitchctl \
	perf/core-probe >/dev/null
# Debian's python3: matplotlib is its package.
exec /usr/bin/python3 perf/peers.py --vuswitchd build-perf/app/vuswitchd/vuswitchd \
	--vuswitchctl build-perf/app/vuswitchctl/vuswitchctl \
	--probe build-perf/perf/core-probe \
	--results perf/RESULTS.md --png perf/results.png --json \
	build-perf/peers.json "$@"
