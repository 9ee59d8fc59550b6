#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds the small Linux guest the vm tests boot: Debian's kernel
# (linux-image-amd64) and an initramfs holding busybox (busybox-static),
# the virtio-net modules, vmstream (vmstream.c, linked statically) and an
# init that brings eth0 up with an IPv6 link-local address and then serves
# a shell on the serial console.
#
# Usage: build-guest.sh [CACHE-DIR]
# Prints two lines, "kernel PATH" and "initrd PATH". The initramfs is
# cached in CACHE-DIR (default ~/.cache/vuswitch/vm), under a name made
# from the kernel version and a hash of this script, and rebuilt only
# when either changes. Nothing it makes belongs in the repository.
set -euo pipefail

cache=${1:-${VUSWITCH_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vuswitch/vm}}
busybox=$(command -v busybox || true)

# The newest installed kernel whose modules include virtio_net.
kernel="" kver=""
for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
	v=${k#/boot/vmlinuz-}
	if [ -n "$(find "/lib/modules/$v" -name 'virtio_net.ko*' 2>/dev/null)" ]
	then
		kernel=$k kver=$v
		break
	fi
done
if [ -z "$kernel" ]; then
	echo "build-guest: no /boot/vmlinuz-* with a virtio_net module" \
	     "(install linux-image-amd64)" >&2
	exit 1
fi
if ! "$busybox" --list 2>/dev/null | grep -x nc >/dev/null; then
	echo "build-guest: no usable busybox (install busybox-static)" >&2
	exit 1
fi

# Loaded in this order: each needs the ones before it.
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
	 virtio_pci failover net_failover virtio_net"

here=$(cd "$(dirname "$0")" && pwd)
tag=$(cat "$0" "$here/vmstream.c" "$busybox" | sha256sum | cut -c1-12)
initrd="$cache/initrd-$kver-$tag.cpio.gz"
if [ ! -s "$initrd" ]; then
	mkdir -p "$cache"
	root=$(mktemp -d "$cache/root.XXXXXX")
	trap 'rm -rf "$root"' EXIT
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,lib/modules}
	cp "$busybox" "$root/bin/busybox"
	for a in $("$busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
	done
	for m in $modules; do
		f=$(find "/lib/modules/$kver" -name "$m.ko*" | head -1)
		if [ -z "$f" ]; then
			echo "build-guest: module $m missing in $kver" >&2
			exit 1
		fi
		case $f in
		*.ko.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
		*.ko.zst) zstd -qdc "$f" >"$root/lib/modules/$m.ko" ;;
		*.ko.gz) gzip -dc "$f" >"$root/lib/modules/$m.ko" ;;
		*) cp "$f" "$root/lib/modules/$m.ko" ;;
		esac
	done
	${CC_GUEST:-gcc} -static -O2 -o "$root/bin/vmstream" "$here/vmstream.c"
	cat >"$root/init" <<INIT
#!/bin/sh
# vuswitch test guest: network up, then a shell on the console.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
echo 1 > /proc/sys/kernel/printk
# No duplicate-address detection: link-local addresses usable at once.
echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad
echo 0 > /proc/sys/net/ipv6/conf/default/router_solicitations
for m in $(echo $modules); do
	insmod /lib/modules/\$m.ko || echo "guest: insmod \$m failed"
done
ip link set lo up
for d in /sys/class/net/eth*; do
	[ -e "\$d" ] && ip link set "\${d##*/}" up
done
# Ready means eth0 has its carrier and its link-local address.
i=0
while [ \$i -lt 200 ]; do
	ip -6 addr show dev eth0 2>/dev/null | grep -q 'inet6 fe80' && break
	sleep 0.1
	i=\$((i + 1))
done
stty -echo -onlcr 2>/dev/null
export PS1=
echo "vuswitch-guest: ready \$(uname -r)"
while true; do sh; done
INIT
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) \
		>"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
fi
echo "kernel $kernel"
echo "initrd $initrd"
