#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The main job on its default configuration, from a fresh Debian 12
# machine: install what is missing, build, and run it. Until vuswitchd
# exists this runs lib/vhost-user's example back-end with two vhost-user
# ports and attaches two DPDK virtio-user front-ends (one dpdk-testpmd),
# shows what they negotiated, and stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/hugepages.sh 1024
if [ -d build ]; then
	meson setup --reconfigure build >/dev/null
else
	meson setup build >/dev/null
fi
ninja -C build app/vhu-example/vhu-example-backend >/dev/null
exec python3 scripts/demo.py build/app/vhu-example/vhu-example-backend
