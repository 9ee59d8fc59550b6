#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Reserve 2 MB hugepages and mount hugetlbfs, if this user may. Never fails:
# without hugepages vuswitch and the tests run with --no-huge instead.
# Usage: hugepages.sh [PAGES]   (default 1024 = 2 GiB)
pages=${1:-1024}
if [ "$(id -u)" != 0 ]; then
	echo "hugepages: not root; running without hugepages" >&2
	exit 0
fi
if ! grep -qs ' hugetlbfs ' /proc/mounts; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null ||
		echo "hugepages: cannot mount hugetlbfs" >&2
fi
nr=/proc/sys/vm/nr_hugepages
if [ -w "$nr" ] && [ "$(cat $nr)" -lt "$pages" ]; then
	echo "$pages" > "$nr" 2>/dev/null || true
fi
echo "hugepages: $(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0) free of $(cat $nr 2>/dev/null || echo 0)" >&2
exit 0
