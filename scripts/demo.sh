#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The main job on its default configuration, from a fresh Debian 12
# machine: install what is missing, build, and run it: vuswitchd with
# config/vuswitch.conf (two vhost-user ports), two DPDK virtio-user
# front-ends (one dpdk-testpmd) sending traffic through it, vuswitchctl
# showing the counters while it runs; then everything stops.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/hugepages.sh 1024
if [ -d build ]; then
	meson setup --reconfigure build >/dev/null
else
	meson setup build >/dev/null
fi
ninja -C build app/vuswitchd/vuswitchd app/vuswitchctl/vuswitchctl >/dev/null
exec python3 scripts/demo.py build/app/vuswitchd/vuswitchd \
	build/app/vuswitchctl/vuswitchctl
