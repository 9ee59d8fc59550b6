#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install the Debian 12 packages vuswitch's build, tests and demo need.
# Does nothing (and needs no network) when they are all there already.
set -euo pipefail

packages=(
	# build
	gcc meson ninja-build pkg-config python3
	libdpdk-dev dpdk-dev libnuma-dev libpcap-dev libjansson-dev
	# tests: unit framework, fuzzing (clang + libFuzzer runtime),
	# and DPDK's testpmd with the virtio-user front-end
	libcmocka-dev clang libclang-rt-14-dev dpdk
	# integration tests: network namespaces and veth for ethdev uplinks
	iproute2
	# vm tests: QEMU, and the guest's kernel and busybox (tests/vm)
	qemu-system-x86 linux-image-amd64 busybox-static
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
